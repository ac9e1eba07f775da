"""fairkit.datasets.adult (not yet implemented)."""

__all__: list[str] = []
