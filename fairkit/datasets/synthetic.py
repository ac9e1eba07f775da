"""fairkit.datasets.synthetic (not yet implemented)."""

__all__: list[str] = []
