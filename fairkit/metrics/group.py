"""fairkit.metrics.group (not yet implemented)."""

__all__: list[str] = []
