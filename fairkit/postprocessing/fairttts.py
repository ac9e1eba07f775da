"""fairkit.postprocessing.fairttts (not yet implemented)."""

__all__: list[str] = []
