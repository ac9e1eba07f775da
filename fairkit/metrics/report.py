"""fairkit.metrics.report (not yet implemented)."""

__all__: list[str] = []
