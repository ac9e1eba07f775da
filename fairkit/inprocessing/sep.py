"""fairkit.inprocessing.sep (not yet implemented)."""

__all__: list[str] = []
