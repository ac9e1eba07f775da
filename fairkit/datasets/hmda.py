"""fairkit.datasets.hmda (not yet implemented)."""

__all__: list[str] = []
