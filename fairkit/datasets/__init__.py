"""fairkit.datasets."""
