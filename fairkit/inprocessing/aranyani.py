"""fairkit.inprocessing.aranyani (not yet implemented)."""

__all__: list[str] = []
