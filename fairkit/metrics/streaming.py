"""fairkit.metrics.streaming (not yet implemented)."""

__all__: list[str] = []
