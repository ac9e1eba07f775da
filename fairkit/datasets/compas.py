"""fairkit.datasets.compas (not yet implemented)."""

__all__: list[str] = []
