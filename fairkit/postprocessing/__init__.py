"""fairkit.postprocessing."""
