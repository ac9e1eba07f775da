"""fairkit.model_selection."""
