"""fairkit.inprocessing.dcov (not yet implemented)."""

__all__: list[str] = []
