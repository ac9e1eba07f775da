"""fairkit: bias measurement and mitigation for scikit-learn users.

Subpackages
-----------
metrics          group, individual, dependence and socio-economic parity metrics, scorers
datasets         Adult, COMPAS and HMDA loaders (offline, checksummed) and synthetic data
preprocessing    mitigators that transform the data
inprocessing     mitigators that change the training objective
postprocessing   mitigators that adjust a trained model's outputs
model_selection  fairness-accuracy trade-off search and Pareto fronts
plotting         matplotlib figures
"""

__version__ = "0.1.0"

__all__ = [
    "Binned",
    "__version__",
    "datasets",
    "inprocessing",
    "metrics",
    "model_selection",
    "plotting",
    "postprocessing",
    "preprocessing",
]


def __getattr__(name):
    # Subpackages load on first use so `import fairkit` stays fast.
    if name == "Binned":
        from ._protected import Binned

        return Binned
    if name in __all__ and name != "__version__":
        import importlib

        return importlib.import_module(f"fairkit.{name}")
    raise AttributeError(f"module 'fairkit' has no attribute {name!r}")
