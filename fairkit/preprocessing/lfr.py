"""fairkit.preprocessing.lfr (not yet implemented)."""

__all__: list[str] = []
