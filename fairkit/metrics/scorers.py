"""fairkit.metrics.scorers (not yet implemented)."""

__all__: list[str] = []
