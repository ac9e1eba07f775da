"""fairkit.postprocessing.calibrated_equalized_odds (not yet implemented)."""

__all__: list[str] = []
