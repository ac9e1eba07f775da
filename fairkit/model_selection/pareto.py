"""fairkit.model_selection.pareto (not yet implemented)."""

__all__: list[str] = []
