"""fairkit.plotting.figures (not yet implemented)."""

__all__: list[str] = []
