"""Test helpers: discovery of fairkit's public estimators and the one instance table.

``tests/test_common.py`` runs scikit-learn's common checks and fairkit's own contract checks
on every estimator listed here, and ``tests/test_docstrings.py`` checks their docstrings. A
new public estimator must get an entry in :data:`INSTANCES` (a test fails until it has one),
so no estimator escapes the checks.

Group specs: scikit-learn's check data put continuous floats in column 0. Reading column 0
as the protected attribute makes every row its own group, which a group method rightly
refuses; :data:`CHECK_GROUPS` cuts that column into two real, interleaved groups instead
(:class:`StripedGroups`).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .._protected import Binned

__all__ = ["CHECK_GROUPS", "CHECK_PRIV", "INSTANCES", "all_estimators", "make_instance",
           "takes_prot_attr"]


class StripedGroups(Binned):
    """Two interleaved groups of a numeric column, for scikit-learn's check data.

    The group of a value ``x`` is the parity of ``floor(scale * x) + floor((x - 1) / 2)``
    (``scale`` an even integer). On continuous data the first term makes thin stripes of
    width ``1 / scale`` labelled ``"a"``, ``"b"``, ``"a"``, ..., so every kind of data the
    common checks use (standardised blobs, uniform ``[0, 1)`` and ``[0, 3)``, iris, data
    around 100) gives two groups of similar size spread over the whole range, each holding
    both labels. On integers the first term is even and the second puts 1, 2 in one group
    and 3, 4 in the other: the sample-weight checks' column 0 takes the values 1..3 or 1..4
    with labels tied to them (1, 2, mixed) or (1, 2, 1, 2), and this is the split that
    leaves both labels in both groups. A picklable, clonable :class:`Binned` (so the
    contract accepts it wherever ``prot_attr`` is taken).
    """

    def __init__(self, column, scale=20):
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "edges", (float(scale),))
        object.__setattr__(self, "labels", ("a", "b"))
        object.__setattr__(self, "right", False)

    def __repr__(self):
        return f"StripedGroups({self.column!r}, scale={self.edges[0]:g})"

    def __reduce__(self):
        return (type(self), (self.column, self.edges[0]))

    def __deepcopy__(self, memo):
        return type(self)(self.column, self.edges[0])

    def with_column(self, column):
        return type(self)(column, self.edges[0])

    def interval_labels(self):
        return ["a", "b"]

    def cut(self, values, *, name="prot_attr"):
        series = pd.to_numeric(pd.Series(values), errors="coerce")
        arr = series.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            stripe = np.floor(arr * self.edges[0]) + np.floor((arr - 1.0) / 2.0)
        codes = np.where(np.isfinite(arr), stripe % 2, -1)
        return pd.Categorical.from_codes(codes.astype(int), categories=["a", "b"])


#: The protected attribute used on scikit-learn's check data: column 0 in two interleaved
#: groups.
CHECK_GROUPS = StripedGroups(0)
#: The privileged group on the check data, for the methods that need one.
CHECK_PRIV = "b"

_SUBPACKAGES_SKIPPED = {"datasets", "plotting"}  # no estimators there; importing them is slow


def all_estimators():
    """``[(name, class)]`` of every public estimator class of fairkit's subpackages.

    Public means listed in a subpackage's ``__all__``; abstract templates (``Base*``) and
    classes imported from elsewhere (scikit-learn's) are left out.
    """
    import fairkit

    found = {}
    for info in pkgutil.iter_modules(fairkit.__path__):
        if not info.ispkg or info.name.startswith("_") or info.name in _SUBPACKAGES_SKIPPED:
            continue
        module = importlib.import_module(f"fairkit.{info.name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and obj.__module__.startswith("fairkit.")
                and not name.startswith("Base")
                and not inspect.isabstract(obj)
            ):
                found[name] = obj
    return sorted(found.items())


def takes_prot_attr(cls) -> bool:
    return "prot_attr" in inspect.signature(cls.__init__).parameters


def _lr():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def _linreg():
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def _tree():
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=3, random_state=0)


def _cls(module, name):
    return getattr(importlib.import_module(f"fairkit.{module}"), name)


# One small, fast instance per estimator, built from the protected attribute ``prot_attr``
# and the label of the privileged group ``priv`` (ignored by methods that take none).
# Settings are the cheapest that still exercise the method (few iterations, small grids).
INSTANCES = {
    # a deterministic mitigator whose trade-off parameter is tuned; every setting meets
    # bound=1, so the choice is the most accurate one
    "BoundTunedClassifierCV": lambda prot_attr, priv: _cls(
        "model_selection", "BoundTunedClassifierCV")(
        _cls("inprocessing", "PrejudiceRemover")(prot_attr=prot_attr, max_iter=100),
        {"eta": [0.0, 1.0]}, prot_attr=prot_attr, bound=1.0, cv=3, n_bootstrap=50,
        random_state=0),
    "AdversarialDebiasingClassifier": lambda prot_attr, priv: _cls(
        "inprocessing", "AdversarialDebiasingClassifier")(
        prot_attr=prot_attr, max_iter=20, random_state=0),
    "AranyaniClassifier": lambda prot_attr, priv: _cls("inprocessing", "AranyaniClassifier")(
        prot_attr=prot_attr, random_state=0),
    "DCovRegularizedClassifier": lambda prot_attr, priv: _cls(
        "inprocessing", "DCovRegularizedClassifier")(prot_attr=prot_attr, max_iter=50),
    "DCovRegularizedRegressor": lambda prot_attr, priv: _cls(
        "inprocessing", "DCovRegularizedRegressor")(prot_attr=prot_attr, max_iter=50),
    # no LP step and two iterations: the check data are small and the result is not judged
    "ExponentiatedGradientReduction": lambda prot_attr, priv: _cls(
        "inprocessing", "ExponentiatedGradientReduction")(
        _lr(), prot_attr=prot_attr, max_iter=2, run_linprog_step=False, random_state=0),
    "AdversarialDebiasingRegressor": lambda prot_attr, priv: _cls(
        "inprocessing", "AdversarialDebiasingRegressor")(
        prot_attr=prot_attr, max_iter=20, learning_rate=0.05, random_state=0),
    "GerryFairClassifier": lambda prot_attr, priv: _cls(
        "inprocessing", "GerryFairClassifier")(prot_attr=prot_attr, max_iters=5),
    "MetaFairClassifier": lambda prot_attr, priv: _cls(
        "inprocessing", "MetaFairClassifier")(prot_attr=prot_attr, random_state=0),
    "GridSearchReduction": lambda prot_attr, priv: _cls("inprocessing", "GridSearchReduction")(
        _lr(), prot_attr=prot_attr, grid_size=3),
    "PrejudiceRemover": lambda prot_attr, priv: _cls("inprocessing", "PrejudiceRemover")(
        prot_attr=prot_attr, max_iter=100),
    # demographic parity needs no SES attribute; the unprivileged group is the other one;
    # epsilon bounds the training selection-rate gap (bound_unit="rate")
    "SEPConstrainedClassifier": lambda prot_attr, priv: _cls(
        "inprocessing", "SEPConstrainedClassifier")(
        prot_attr=prot_attr, priv_group=priv, constraint="demographic_parity",
        epsilon=0.05),
    "CalibratedEqualizedOdds": lambda prot_attr, priv: _cls(
        "postprocessing", "CalibratedEqualizedOdds")(
        _lr(), prot_attr=prot_attr, random_state=0),
    "EqualizedOddsPostprocessor": lambda prot_attr, priv: _cls(
        "postprocessing", "EqualizedOddsPostprocessor")(
        _lr(), prot_attr=prot_attr, random_state=0),
    "FairTTTSClassifier": lambda prot_attr, priv: _cls("postprocessing", "FairTTTSClassifier")(
        _tree(), prot_attr=prot_attr, priv_group=priv, random_state=0),
    "LinearProgramPostprocessor": lambda prot_attr, priv: _cls(
        "postprocessing", "LinearProgramPostprocessor")(_lr(), prot_attr=prot_attr,
                                                        random_state=0),
    "RejectOptionClassifier": lambda prot_attr, priv: _cls(
        "postprocessing", "RejectOptionClassifier")(
        _lr(), prot_attr=prot_attr, priv_group=priv, n_thresholds=5, n_margins=3),
    "TTTSClassifier": lambda prot_attr, priv: _cls("postprocessing", "TTTSClassifier")(
        _tree(), random_state=0),
    "ThresholdOptimizer": lambda prot_attr, priv: _cls("postprocessing", "ThresholdOptimizer")(
        _lr(), prot_attr=prot_attr, grid_size=20, random_state=0),
    "WassersteinFairRegressor": lambda prot_attr, priv: _cls(
        "postprocessing", "WassersteinFairRegressor")(_linreg(), prot_attr=prot_attr),
    "CorrelationRemover": lambda prot_attr, priv: _cls("preprocessing", "CorrelationRemover")(
        prot_attr=prot_attr),
    "DisparateImpactRemover": lambda prot_attr, priv: _cls(
        "preprocessing", "DisparateImpactRemover")(prot_attr=prot_attr, n_quantiles=50),
    "LearnedFairRepresentations": lambda prot_attr, priv: _cls(
        "preprocessing", "LearnedFairRepresentations")(
        prot_attr=prot_attr, priv_group=priv, max_iter=10, random_state=0),
    "OptimizedPreprocessing": lambda prot_attr, priv: _cls(
        "preprocessing", "OptimizedPreprocessing")(
        prot_attr=prot_attr, n_bins=2, epsilon=0.5, random_state=0),
    "OptimizedPreprocessingSampler": lambda prot_attr, priv: _cls(
        "preprocessing", "OptimizedPreprocessingSampler")(
        prot_attr=prot_attr, n_bins=2, epsilon=0.5, random_state=0),
    "Reweighing": lambda prot_attr, priv: _cls("preprocessing", "Reweighing")(
        prot_attr=prot_attr),
    "ReweighingClassifier": lambda prot_attr, priv: _cls(
        "preprocessing", "ReweighingClassifier")(_lr(), prot_attr=prot_attr),
    "ReweighingSampler": lambda prot_attr, priv: _cls("preprocessing", "ReweighingSampler")(
        prot_attr=prot_attr, random_state=0),
}

#: Estimators whose protected attribute may be continuous (a dependence penalty): on the
#: check data they read column 0 as it is, no groups needed.
CONTINUOUS_OK = {"DCovRegularizedClassifier", "DCovRegularizedRegressor"}


#: Estimators whose model keeps the protected column as an input (no ``drop_prot_attr``):
#: with routed ``sensitive_features`` the column stays in ``X`` to give the same model.
KEEPS_PROT_COLUMN = {"AranyaniClassifier", "GerryFairClassifier", "ReweighingClassifier"}
#: Estimators whose output passes the protected column through (as column 0 of the
#: contract data): with routed ``sensitive_features`` it is not in ``X`` nor the output.
PASSES_PROT_COLUMN = {"ReweighingSampler", "OptimizedPreprocessing",
                      "OptimizedPreprocessingSampler"}


def make_instance(name, prot_attr=None, priv=None):
    """A fresh instance of the estimator ``name`` from :data:`INSTANCES`."""
    if name not in INSTANCES:
        raise KeyError(
            f"{name} has no entry in fairkit.utils._testing.INSTANCES; add a small, fast "
            "instance there so the common and contract checks cover it."
        )
    return INSTANCES[name](prot_attr, priv)


def check_instance(name):
    """The instance run through scikit-learn's common checks."""
    if name in CONTINUOUS_OK:
        return make_instance(name, 0, None)
    return make_instance(name, CHECK_GROUPS, CHECK_PRIV)
