"""fairkit.datasets.lar (not yet implemented)."""

__all__: list[str] = []
