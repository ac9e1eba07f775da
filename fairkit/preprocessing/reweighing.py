"""fairkit.preprocessing.reweighing (not yet implemented)."""

__all__: list[str] = []
