"""Internal utilities shared by fairkit's estimators (docstring fragments)."""
