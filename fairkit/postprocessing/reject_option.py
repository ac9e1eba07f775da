"""fairkit.postprocessing.reject_option (not yet implemented)."""

__all__: list[str] = []
