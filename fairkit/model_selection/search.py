"""fairkit.model_selection.search (not yet implemented)."""

__all__: list[str] = []
