"""fairkit.plotting."""
