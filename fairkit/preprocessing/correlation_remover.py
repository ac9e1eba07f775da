"""fairkit.preprocessing.correlation_remover (not yet implemented)."""

__all__: list[str] = []
