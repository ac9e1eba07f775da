"""fairkit.inprocessing.meta_fair (not yet implemented)."""

__all__: list[str] = []
