"""fairkit.metrics."""
