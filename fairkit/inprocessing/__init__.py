"""fairkit.inprocessing."""
