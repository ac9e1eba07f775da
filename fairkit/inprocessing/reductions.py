"""fairkit.inprocessing.reductions (not yet implemented)."""

__all__: list[str] = []
