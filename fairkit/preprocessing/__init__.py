"""fairkit.preprocessing."""
