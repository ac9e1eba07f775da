"""fairkit.preprocessing.disparate_impact_remover (not yet implemented)."""

__all__: list[str] = []
