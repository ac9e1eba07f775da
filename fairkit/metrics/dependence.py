"""fairkit.metrics.dependence (not yet implemented)."""

__all__: list[str] = []
