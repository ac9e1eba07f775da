"""fairkit.preprocessing.optimized_preprocessing (not yet implemented)."""

__all__: list[str] = []
