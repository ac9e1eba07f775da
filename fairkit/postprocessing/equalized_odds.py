"""fairkit.postprocessing.equalized_odds (not yet implemented)."""

__all__: list[str] = []
