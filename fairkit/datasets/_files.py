"""fairkit.datasets._files (not yet implemented)."""

__all__: list[str] = []
