"""fairkit.inprocessing.prejudice_remover (not yet implemented)."""

__all__: list[str] = []
