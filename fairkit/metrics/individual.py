"""fairkit.metrics.individual (not yet implemented)."""

__all__: list[str] = []
