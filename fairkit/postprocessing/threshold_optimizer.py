"""fairkit.postprocessing.threshold_optimizer (not yet implemented)."""

__all__: list[str] = []
