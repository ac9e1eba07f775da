"""The machinery behind :mod:`fairkit.postprocessing._fairttts`'s estimators.

:class:`_TTTSBase` checks the input (through :func:`fairkit._validation.validate_fair_data`),
fits or checks the tree model, builds the matrix the trees read and runs the engines of
:mod:`fairkit.postprocessing._fairttts_engines`; the public classes add their parameters,
documentation and the FairTTTS group rule.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import check_array, check_is_fitted

from .._validation import check_weights_nonnegative
from ..base import FairEstimatorMixin
from ..utils._docstring import DOC_FRAGMENTS, Substitution
from ._fairttts_engines import DISTANCE_SCALES, P_CAP, PROB_TYPES, Simulation, simulate

_TREE_MODELS = (DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)

#: The parameters TTTSClassifier and FairTTTSClassifier share, worded once.
_TTTS_PARAMS = """\
p_max : float in [0, 0.5], default=0.1
    Scale of the flip probabilities (see the table of :class:`TTTSClassifier`).
prob_type : {"fixed", "depth", "agreement", "confidence", "distance"}, default="distance"
    Flip-probability rule.
distance_scale : {"paper", "feature"}, default="paper"
    Units of the ``"distance"`` rule. ``"paper"``: :math:`|x_j - t_k| / D` with :math:`D`
    the tree's largest :math:`|t_k|`, as in the papers; it depends on how the features are
    scaled (on standard-scaled features :math:`D` is a few units and a 0/1 feature's
    flip probability :math:`p_{max} - 0.5/D` is 0). ``"feature"``: the weighted fraction
    of the rows passed to ``fit`` whose feature-:math:`j` value lies strictly between
    :math:`x_j` and :math:`t_k`; invariant to any increasing transform of each feature
    (scaling, centring, log), and :math:`p_{max}` at a split on a 0/1 feature (the
    papers' large-:math:`D` limit). Stores each feature's distinct fit values.
method : {"exact", "sample"}, default="exact"
    Expected value by reach-probability propagation, or Monte-Carlo traversals.
n_simulations : int, default=100
    Monte-Carlo traversals per tree and sample (``method="sample"`` only). The authors'
    forest code uses one traversal per tree (``n_simulations=1``).
tol : float, default=5e-3
    ``method="exact"`` only: a branch whose reach probability would be at most ``tol``
    is not walked; the node it would enter stands in for it with its class fractions
    (the training distribution of that subtree). ``tol=0`` walks every branch and gives
    the exact expectation (on a fully grown 100-tree forest several hundred times the
    forest's ``predict_proba``; the papers' settings flip at almost every node). The
    default 5e-3 walks the branches with one flip and the likeliest with two: on Adult
    and synthetic data with 100 fully grown trees its favourable probabilities are
    within 0.002-0.004 of ``tol=0`` on average (at most 0.011 for a row) at 3-8 times
    the forest's ``predict_proba``; 1e-2 (one flip per branch) is about twice as fast
    at 0.005-0.008. Each sample's probability vector moves by at most the total reach
    of the branches not walked (``benchmarks/bench_fairttts.py --defaults`` prints the
    error and the time).
""" + DOC_FRAGMENTS["prefit"] + """
""" + DOC_FRAGMENTS["random_state"] + """
    Used by ``method="sample"``; the two engines draw different random streams from it.
engine : {"auto", "numba", "numpy"}, default="auto"
    ``"numba"``: compiled per-sample kernels (depth-first walk of each tree; compiled
    on the first prediction of a process; numba is never imported by
    ``import fairkit``). ``"numpy"``: the vectorised reference engine (all samples of a
    tree level advanced together). ``"auto"``: numba if it is installed. Exact mode gives
    the same numbers with both engines (to rounding, about 1e-15); sample mode the same
    distribution from different random streams.
n_jobs : int, default=None
    Threads for the numba engine (row blocks of 512; ``None`` means 1, -1 all cores).
    Results do not depend on it."""

_TREE_ESTIMATOR = """\
estimator : DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier or \
Pipeline, default=None
    The tree model (or a Pipeline whose last step is one). None means
    ``DecisionTreeClassifier()``."""

_fair_docstring = Substitution(**DOC_FRAGMENTS, ttts_params=_TTTS_PARAMS,
                               tree_estimator=_TREE_ESTIMATOR)


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _trees_of(model):
    if isinstance(model, DecisionTreeClassifier):
        return [model.tree_]
    trees = []
    for est in model.estimators_:
        if not isinstance(est, DecisionTreeClassifier):
            raise TypeError(
                f"estimator's sub-estimators must be decision trees, got {type(est).__name__}."
            )
        trees.append(est.tree_)
    return trees


def _weighted_moments(Z, sample_weight):
    """Per-feature mean and standard deviation (population form) of the float32 matrix."""
    if sample_weight is None:
        # unweighted path kept exactly as before (float64 accumulation of float32 values)
        return Z.mean(axis=0, dtype=np.float64), Z.std(axis=0, dtype=np.float64)
    Zd = Z.astype(np.float64)
    mean = np.average(Zd, axis=0, weights=sample_weight)
    var = np.average((Zd - mean) ** 2, axis=0, weights=sample_weight)
    return mean, np.sqrt(var)


def _boosted_features(estimator_, Z, data):
    """Input features of the tree model whose splits get the FairTTTS boost."""
    if data.prot_idx and not isinstance(estimator_, Pipeline):
        # a bare tree model reads X's columns, the protected ones among them
        return np.asarray(data.prot_idx, dtype=np.intp)
    # A feature is protected iff it is a non-constant function of the group.
    codes = data.codes
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    Zs = Z[order]
    within_min = np.minimum.reduceat(Zs, starts, axis=0)
    within_max = np.maximum.reduceat(Zs, starts, axis=0)
    constant_in_groups = (within_min == within_max).all(axis=0)
    varies = Z.min(axis=0) < Z.max(axis=0)
    return np.flatnonzero(constant_in_groups & varies).astype(np.intp)


def _feature_cdfs(Z, sample_weight):
    """Per feature: the distinct fit values and the weight fraction at or below each."""
    out = []
    w = np.ones(Z.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    total = w.sum()
    for f in range(Z.shape[1]):
        vals, inv = np.unique(Z[:, f].astype(np.float64), return_inverse=True)
        cum = np.cumsum(np.bincount(inv.ravel(), weights=w, minlength=vals.size)) / total
        out.append((vals, cum))
    return out


def _cdf(vals, cum, v, side):
    """Fit weight fraction below (``side="left"``) or at or below (``"right"``) each v."""
    idx = np.searchsorted(vals, v, side=side) - 1
    return np.where(idx >= 0, cum[np.maximum(idx, 0)], 0.0)


class _TTTSBase(FairEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Validation, model fitting and prediction shared by the TTTS estimators."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "p_max": [Interval(Real, 0, P_CAP, closed="both")],
        "prob_type": [StrOptions(set(PROB_TYPES))],
        "distance_scale": [StrOptions(set(DISTANCE_SCALES))],
        "method": [StrOptions({"exact", "sample"})],
        "n_simulations": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 1, closed="left")],
        "prefit": ["boolean"],
        "random_state": ["random_state"],
        "engine": [StrOptions({"auto", "numba", "numpy"})],
        "n_jobs": [Integral, None],
    }

    #: What ``validate_fair_data`` resolves of the protected attribute: nothing for TTTS.
    _protected_kind = "none"

    # -- fitting -----------------------------------------------------------------------
    def _validate(self, X, y=None, *, sensitive_features=None, sample_weight=None, reset):
        pipeline = isinstance(self.estimator if reset else self.estimator_, Pipeline)
        # y matters only when the model is fitted here; without it the model must be prefit
        check_y = reset and y is not None and not self.prefit
        return self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, sample_weight=sample_weight,
            reset=reset, protected=self._protected_kind,
            # the attribute is not dropped: the trees split on it
            min_groups=2 if reset else 1, drop=False,
            # a Pipeline encodes raw columns itself; a bare tree model reads floats
            features="passthrough" if pipeline else "numeric",
            target="classification" if check_y else None,
        )

    def _fit_estimator(self, X, y, sample_weight, fit_params):
        estimator = DecisionTreeClassifier() if self.estimator is None else self.estimator
        model = _final_step(estimator)
        if not isinstance(model, _TREE_MODELS):
            raise TypeError(
                "estimator must be a DecisionTreeClassifier, RandomForestClassifier or "
                "ExtraTreesClassifier (or a Pipeline ending in one), got "
                f"{type(model).__name__}."
            )
        if self.prefit:
            if fit_params:
                raise ValueError(
                    f"{type(self).__name__} with prefit=True does not fit the model, so the "
                    f"fit parameters {sorted(fit_params)} would be ignored; pass them when "
                    "fitting the model, or set prefit=False."
                )
            check_is_fitted(estimator)
            return estimator
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None "
                "(set prefit=True to wrap a fitted model without labels)."
            )
        fit_params = dict(fit_params)
        if sample_weight is not None:
            # a Pipeline takes step-prefixed parameters unless metadata routing is on
            key = "sample_weight"
            if isinstance(estimator, Pipeline) and not _routing_enabled():
                key = f"{estimator.steps[-1][0]}__sample_weight"
            fit_params[key] = sample_weight
        return clone(estimator).fit(X, y, **fit_params)

    def _model_matrix(self, X):
        """The float32 matrix the trees see (after the Pipeline's transformers)."""
        if isinstance(self.estimator_, Pipeline):
            Z = self.estimator_[:-1].transform(X)
        else:
            Z = X
        Z = check_array(Z, dtype=np.float32, input_name="X")
        n_model = _final_step(self.estimator_).n_features_in_
        if Z.shape[1] != n_model:
            raise ValueError(
                f"X has {Z.shape[1]} features but the wrapped model expects {n_model}."
            )
        return Z

    def _fit_common(self, X, data, fit_params):
        """Fit (or check) the model; return the model matrix ``Z`` and the tree model."""
        w = data.sample_weight
        check_weights_nonnegative(self, w, positive_sum=True)
        # a DataFrame (or a polars / pyarrow table, read as one) goes to the model as given,
        # so that it records the feature names
        X_fit = data.input if isinstance(data.input, pd.DataFrame) else data.X
        self.estimator_ = self._fit_estimator(X_fit, data.y, w, fit_params)
        model = _final_step(self.estimator_)
        if getattr(model, "n_outputs_", 1) != 1:
            raise ValueError(
                f"{type(self).__name__} supports single-output classifiers only; the model "
                f"has n_outputs_={model.n_outputs_}."
            )
        self.classes_ = model.classes_
        Z = self._model_matrix(data.X)
        mean, std = _weighted_moments(Z, w)
        self.feature_mean_ = mean
        self.feature_scale_ = np.where(std > 0, std, 1.0) + 1e-9
        self.feature_cdf_ = (_feature_cdfs(Z, w) if self._feature_distance() else None)
        return Z, model

    def _feature_distance(self):
        return self.prob_type == "distance" and self.distance_scale == "feature"

    def _rank_inputs(self, Z):
        """``threshold_cdf`` per node and ``rank_lo`` / ``rank_hi`` per row and feature."""
        if not self._feature_distance():
            return {}
        if getattr(self, "feature_cdf_", None) is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with distance_scale="
                "'paper' or another prob_type; refit it to use distance_scale='feature'."
            )
        arrays = self.arrays_
        thr_cdf = np.zeros(arrays.threshold.shape[0])
        internal = arrays.left >= 0
        lo = np.zeros(Z.shape, dtype=np.float64)
        hi = np.zeros(Z.shape, dtype=np.float64)
        for f, (vals, cum) in enumerate(self.feature_cdf_):
            at = internal & (arrays.feature == f)
            if at.any():
                thr_cdf[at] = _cdf(vals, cum, arrays.threshold[at], "right")
            col = Z[:, f].astype(np.float64)
            lo[:, f] = _cdf(vals, cum, col, "left")
            hi[:, f] = _cdf(vals, cum, col, "right")
        return dict(threshold_cdf=thr_cdf, rank_lo=lo, rank_hi=hi)

    # -- prediction --------------------------------------------------------------------
    def _simulate(self, Z, unprivileged=None, protected_split=None, alpha=1.0,
                  boost_rule="row", *, method=None, tol=None):
        """Run the engine on ``Z``; ``method`` / ``tol`` override the parameters."""
        sim = Simulation(
            self.arrays_,
            boost_rule=boost_rule,
            distance_scale=self.distance_scale,
            **self._rank_inputs(Z),
            prob_type=self.prob_type,
            p_max=float(self.p_max),
            alpha=float(alpha),
            method=self.method if method is None else method,
            n_simulations=self.n_simulations,
            tol=float(self.tol if tol is None else tol),
            feature_mean=self.feature_mean_,
            feature_scale=self.feature_scale_,
            protected_split=protected_split,
            random_state=self.random_state,
        )
        return simulate(sim, Z, unprivileged, engine=self.engine, n_jobs=self.n_jobs)

    def _predict_matrix(self, X):
        check_is_fitted(self)
        return self._model_matrix(self._validate(X, reset=False).X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
