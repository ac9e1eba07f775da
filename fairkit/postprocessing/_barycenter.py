"""Fair regression by the Wasserstein barycenter of the groups' prediction distributions
(Chzhen, Denis, Hebiri, Oneto & Pontil 2020; Le Gouic, Loubes & Rigollet 2020)."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, is_classifier
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
)

from .._validation import check_weights_nonnegative
from ..base import CrossFitMixin, FairEstimatorMixin, FairRegressorMixin, warn_if_constant
from ..utils._docstring import fair_docstring
from ..utils._outputs import fit_or_check_estimator

__all__ = ["WassersteinFairRegressor"]

#: A group with fewer rule-fitting rows than this gets a warning: its empirical quantile
#: function, and so the mapping of its rows, is noisy.
MIN_GROUP_ROWS = 20

# the levels of two groups' ECDFs are compared after floating-point division; a level
# within this of a jump counts as reaching it (k/n and j/m that are equal as fractions)
_LEVEL_TOL = 1e-12
# predictions within this fraction of the fitting predictions' magnitude count as equal:
# the same row predicted in another batch (or by a model refitted on repeated rows)
# differs by round-off, and must not land on the other side of an ECDF jump
_TIE_RTOL = 1e-9


def _label(lab):
    return lab.item() if isinstance(lab, np.generic) else lab


_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z):
    """The splitmix64 finaliser, elementwise on a uint64 array (arithmetic mod 2^64)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z ^ (z >> np.uint64(30))
        z = z * _MIX1
        z = z ^ (z >> np.uint64(27))
        z = z * _MIX2
        return z ^ (z >> np.uint64(31))


def _numeric_row_hash(values, cols, rows, n_rows, n_cols, key):
    """Sum over the row's non-zero entries of mix(bits(value) ^ key of its column): the
    same for a dense row and its sparse form (explicit zeros and -0.0 count as 0)."""
    values = np.asarray(values, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    with np.errstate(over="ignore"):
        col_keys = _mix64(np.arange(n_cols, dtype=np.uint64)
                          + _GOLDEN * np.full(n_cols, key + 1, dtype=np.uint64))
        terms = _mix64(values.view(np.uint64) ^ col_keys[cols])
    terms[values == 0] = 0
    out = np.zeros(n_rows, dtype=np.uint64)
    np.add.at(out, rows, terms)
    return out


def _row_hash(X, key):
    """A uint64 per row of ``X`` that depends only on that row's values and ``key``."""
    import scipy.sparse as sp

    if sp.issparse(X):
        A = sp.csr_matrix(X)
        A.sum_duplicates()
        rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
        return _numeric_row_hash(A.data, A.indices, rows, A.shape[0], A.shape[1], key)
    if hasattr(X, "iloc"):  # a DataFrame
        import pandas as pd

        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in X.dtypes):
            X = X.to_numpy(dtype=np.float64)
        else:
            h = pd.util.hash_pandas_object(X, index=False).to_numpy(dtype=np.uint64)
            return _mix64(h ^ _mix64(np.full(len(h), key, dtype=np.uint64)))
    A = np.asarray(X)
    if A.dtype.kind not in "biuf":
        import pandas as pd

        return _row_hash(pd.DataFrame(A.reshape(len(A), -1)).astype(object), key)
    A = A.reshape(len(A), -1).astype(np.float64)
    n, d = A.shape
    return _numeric_row_hash(A.ravel(), np.tile(np.arange(d), n), np.repeat(np.arange(n), d),
                             n, d, key)


def _fold_key(random_state):
    """A non-negative int keying the fold assignment: 0 for None, else from the seed."""
    if random_state is None:
        return 0
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2 ** 31 - 1))
    return int(random_state)


@fair_docstring
class WassersteinFairRegressor(FairEstimatorMixin, FairRegressorMixin, CrossFitMixin,
                               MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    r"""Demographic parity for a regressor: each group's predictions mapped onto the
    Wasserstein barycenter of the groups' prediction distributions.

    Chzhen et al. (2020) and Le Gouic et al. (2020): among all predictors whose
    distribution is the same in every group (demographic parity in distribution), the one
    closest in squared error to a regression function :math:`f(x, s)` is, with
    :math:`F_s` and :math:`Q_s = F_s^{-1}` the CDF and quantile function of :math:`f` in
    group :math:`s` and :math:`p_s` the share of group :math:`s`,

    .. math::

        g(x, s) = \sum_{s'} p_{s'}\, Q_{s'}\big(F_s(f(x, s))\big),

    the monotone map of each group onto the barycenter of the groups' distributions in
    the 2-Wasserstein space. Its squared-error cost is the barycenter's spread,
    :math:`E\,(f - g)^2 = \sum_s p_s W_2^2(\nu_s, \nu^*)` (for Gaussian groups that
    differ only by their means :math:`m_s`, the variance :math:`\sum_s p_s (m_s -
    \bar m)^2` of the group means).

    ``fit`` learns :math:`F_s`, :math:`Q_s` (empirical, of the model's out-of-fold
    predictions by default, see ``cv``) and :math:`p_s` from the fitting rows; ``predict``
    returns

    .. math::

        (1 - \alpha)\, f(x, s) + \alpha\, g(x, s),

    where, cross-fitted with ``predict_with="fold_models"`` (the default), :math:`f =
    f_k` is the fold model :math:`k = k(x)` assigned to the row and :math:`F_s` in
    :math:`g` is :math:`F_{s,k}`, the ECDF of fold :math:`k`'s held-out predictions in
    group :math:`s`: :math:`g(x, s) = \sum_{s'} p_{s'} Q_{s'}(F_{s,k}(f_k(x, s)))`, with
    :math:`Q_{s'}` and :math:`p_{s'}` still those of all out-of-fold predictions (one
    common barycenter).

    so ``alpha`` moves along the Wasserstein geodesic from the model (``alpha=0``, its
    predictions exactly) to the fully fair predictor (``alpha=1``): each group's
    distribution moves the share ``alpha`` of the way to the barycenter, its
    2-Wasserstein distance to the barycenter shrinks by the factor ``1 - alpha`` (the
    squared-distance unfairness by :math:`(1-\alpha)^2`) and the squared-error cost of
    fairness is :math:`\alpha^2` times that of ``alpha=1``: the optimal risk-fairness
    trade-off of Chzhen & Schreuder (2022), whose relative-improvement level is
    :math:`(1 - \alpha)^2` here.

    Parameters
    ----------
    {estimator}
        It must be a regressor (a classifier raises ``ValueError``) whose ``predict``
        gives one number per row.
    {prot_attr}
        A continuous attribute (more than 100 numeric levels) is refused; cut it into
        groups with ``fairkit.Binned`` (e.g. ``Binned("age", [25, 45])``); the map is then
        fair between the bins, not within them. Any number of groups (and intersections of
        several attributes) is fine.
    alpha : float in [0, 1], default=1.0
        Share of the way from the model's predictions to the barycenter map (``0``: the
        model unchanged, with ``predict_with="fold_models"`` each row's fold model;
        ``1``: full demographic parity).
    tie_breaking : {"none", "random"}, default="none"
        How a prediction that ties with fitting predictions of its group is ranked.
        ``"none"``: the right-continuous ECDF, so tied predictions keep one value (a
        model with a few distinct outputs, a tree, keeps a point mass the barycenter
        cannot split, and the groups' distributions then match only approximately).
        ``"random"``: Chzhen et al.'s randomisation, the rank drawn uniformly in the
        tie's ECDF jump :math:`(F_s(f^-), F_s(f)]` with ``random_state``, which splits
        point masses so the mapped distributions match; ``predict`` then depends on the
        row order (one draw per row, in row order).
    {prefit}
    {cv}
    {memory}
        Here the folds are stratified on the groups alone (the target is continuous).
    predict_with : {{"fold_models", "refit"}}, default="fold_models"
        How a cross-fitted map (``cv`` not None) is applied at predict time.
        ``"fold_models"``: the fold models are kept, each row is predicted by ONE of them,
        chosen by a keyed hash of the row's values (uniform over the folds, the same row
        always gets the same fold, whatever the batch), and mapped through that fold's own
        held-out distribution per group, :math:`F_{{s,k}}` of the out-of-fold predictions of
        fold :math:`k`, onto the common barycenter (built from all out-of-fold
        predictions): the map is applied to predictions distributed exactly like those it
        was learnt from. ``"refit"``: the map learnt from the pooled out-of-fold
        predictions is applied to the model refitted on all rows (``estimator_``), whose
        predictions are distributed like the out-of-fold ones only for a stable model.
        The default is ``"fold_models"`` because a flexible model refitted on all rows is
        not distributed like its fold models, and the map then misses parity by more
        than sampling noise, increasingly so as the data grow. Measured
        (``benchmarks/bench_regression.py``; held-out KS between the groups after the map
        over its Kolmogorov noise floor, medians over 4 seeds): on synthetic data (70/30
        groups, non-linear target, 1,000 / 4,000 / 16,000 rows, raw and standardised
        features) ``"fold_models"`` stays at 0.84-1.24 with linear models, boosting and
        deep trees, while ``"refit"`` with a deep tree rises to 1.10 / 1.38 / 1.63; on
        Adult hours-per-week with gradient boosting ``"refit"`` is at 1.3-1.5 times the
        floor, ``"fold_models"`` at 0.8-0.9 (COMPAS, 5,000 rows: 1.04 and 0.97). With a
        linear model the two agree. The
        price is accuracy where the learning curve is still steep, as each row is
        predicted by a model fitted on (k-1)/k of the rows: RMSE +4-8% with boosting or
        deep trees at 1,000-4,000 rows, under 1.5% at 16,000 rows, 0.3-0.4% on Adult
        (30,000 fitting rows) and 0.7% on COMPAS; use ``"refit"`` (or more folds) for a
        small data set and a stable model. Ignored (no cross-fitting) with
        ``prefit=True`` or ``cv=None``.
    {random_state}
        Used with ``tie_breaking="random"`` (the tie draws) and with
        ``predict_with="fold_models"`` (it keys the hash that assigns each row its fold
        model; ``None`` uses a fixed key, so ``predict`` is still deterministic).
    {drop_prot_attr}

    Attributes
    ----------
    estimator_ : regressor
        The fitted model (``estimator`` itself with ``prefit=True``); when cross-fitted,
        refitted on all rows (the model ``predict`` uses with ``predict_with="refit"``).
    fold_estimators_ : list of regressor or None
        With ``predict_with="fold_models"`` and cross-fitting, the fold models (in split
        order), each fitted without its fold; else None.
    fold_group_predictions_ : list of list of ndarray or None
        Per fold model, per group, the sorted out-of-fold predictions of that fold's
        held-out rows: the distribution each fold's map starts from (an empty group in a
        fold, possible only with a ``cv`` that is not stratified on the groups, uses the
        group's pooled distribution); None when ``fold_estimators_`` is.
    fold_group_levels_ : list of list of ndarray or None
        Their ECDF levels, as ``group_levels_``.
    group_weights_ : ndarray of shape (n_groups,)
        :math:`p_s`: the (weighted) share of each group among the fitting rows.
    group_predictions_ : list of ndarray
        Per group (order of ``groups_``), the sorted model predictions the distribution
        functions are learned from (out-of-fold ones when cross-fitted).
    group_levels_ : list of ndarray
        Per group, the ECDF at each of ``group_predictions_`` (the cumulative weight share;
        the last is 1).
    barycenter_cost_ : float
        Weighted mean of :math:`(f - g)^2` over the fitting predictions: the squared-error
        price of full fairness (``alpha=1``, ties not broken) measured on them, an
        estimate of
        :math:`\sum_s p_s W_2^2(\nu_s, \nu^*)`.
    {cv_}
    groups_ : list
        Group labels seen in ``fit``, in code order.
    prot_attr_names_ : list of str
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    Every group seen at predict time must have been seen in ``fit`` (an unseen group
    raises ``ValueError`` naming it): there is no quantile function to map it with. A group
    with fewer than 20 fitting rows warns, as its quantile function is noisy. The
    quantile function is the left-continuous inverse of the ECDF,
    :math:`Q_s(u) = \min\{t : F_s(t) \ge u\}` (``numpy.quantile(method="inverted_cdf")``),
    with :math:`Q_s(0)` the group's smallest prediction; the map is a step function of
    the prediction, fitted exactly: with equal group sizes and no ties, the ``k``-th
    smallest prediction of every group goes to the mean of the groups' ``k``-th
    smallest. A prediction within :math:`10^{-9}` times the largest fitting prediction's
    magnitude of a fitting prediction counts as equal to it (the same row predicted in
    another batch differs by round-off and must not fall on the other side of a step).
    ``sample_weight`` weights the ECDFs and :math:`p_s` (a weighted fit equals a
    fit on repeated rows without cross-fitting; with it, the copies of a row fall in
    different folds) and is passed to the wrapped model's ``fit`` (routed under metadata
    routing). The fairness guarantee is in distribution on the data the map was fitted
    on; on new data the groups' distributions match up to sampling error (of order
    :math:`1/\sqrt{n_s}`). Cross-fitted, the predictions it maps on new data come from
    the models whose held-out predictions it was learnt from with
    ``predict_with="fold_models"`` (each fold's map from its own held-out rows, so the
    match holds whatever the model); with ``"refit"`` it holds only to the extent that
    the refitted model's predictions are distributed like the out-of-fold ones.
    ``predict_with="fold_models"`` assigns a row its fold model by a hash of the row's
    values (splitmix64 of each non-zero value's bits and its column; a DataFrame with
    non-numeric columns by pandas' row hash), keyed by ``random_state``: uniform over the
    folds and independent of the prediction, yet the same for the same row in any batch
    or order (a dense, sparse or DataFrame form of it alike), so ``predict`` is
    deterministic and row-wise even with ``random_state=None``. Identical rows share a
    fold model. The fold models are kept (``fold_estimators_``): the fitted estimator
    holds ``k + 1`` models.

    References
    ----------
    .. [1] E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil, "Fair regression with
       Wasserstein barycenters", NeurIPS 2020.
    .. [2] T. Le Gouic, J.-M. Loubes, P. Rigollet, "Projection to fairness in statistical
       learning", NeurIPS 2020.
    .. [3] E. Chzhen, N. Schreuder, "A minimax framework for quantifying risk-fairness
       trade-off in regression", Annals of Statistics 50(4), 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from fairkit.postprocessing import WassersteinFairRegressor
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 2000); x = rng.normal(size=2000) + s
    >>> y = x + rng.normal(size=2000)
    >>> fair = WassersteinFairRegressor(LinearRegression(), prot_attr=0).fit(np.c_[s, x], y)
    >>> pred = fair.predict(np.c_[s, x])
    >>> bool(abs(pred[s == 1].mean() - pred[s == 0].mean()) < 0.05)
    True
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "prot_attr": "no_validation",
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "tie_breaking": [StrOptions({"none", "random"})],
        **CrossFitMixin._cross_fit_constraints,
        "predict_with": [StrOptions({"fold_models", "refit"})],
        "random_state": ["random_state"],
        "drop_prot_attr": ["boolean"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, alpha=1.0, tie_breaking="none",
                 prefit=False, cv="auto", memory=None, predict_with="fold_models",
                 random_state=None, drop_prot_attr=False):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.alpha = alpha
        self.tie_breaking = tie_breaking
        self.prefit = prefit
        self.cv = cv
        self.memory = memory
        self.predict_with = predict_with
        self.random_state = random_state
        self.drop_prot_attr = drop_prot_attr

    # -- fit ----------------------------------------------------------------------------
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the wrapped model (unless ``prefit``) and each group's distribution function.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Continuous target.
        sensitive_features : array-like, default=None
            Protected attribute(s) given apart from ``X``; used when ``prot_attr`` is None.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the groups' distribution functions and shares; also passed to the
            wrapped model's ``fit`` (routed under metadata routing).
        **fit_params : dict
            Passed to ``estimator.fit`` (routed when metadata routing is enabled).

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_estimator()
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, sample_weight=sample_weight,
            reset=True, min_groups=2, drop=self.drop_prot_attr, target="continuous",
            accept_sparse=("csr", "csc"),
        )
        y_arr = np.asarray(data.y)
        if y_arr.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} post-processes one continuous target; y has shape "
                f"{y_arr.shape}.")
        w = data.sample_weight
        check_weights_nonnegative(self, w)
        codes = np.asarray(data.codes)
        est_params = self._estimator_fit_params(sample_weight, fit_params)
        cv = self._resolve_cross_fit(codes, lambda g: f"group {_label(self.groups_[g])!r}",
                                     "map", stacklevel=3)
        folds = None
        self.fold_estimators_ = None
        self.fold_group_predictions_ = self.fold_group_levels_ = None
        if cv is not None:
            pred, models, folds = self._out_of_fold(
                data.X, y, codes, est_params, cv, self._model_predictions,
                return_models=True)
            pred = pred.astype(np.float64)
            self.estimator_ = fit_or_check_estimator(self, data.X, y, est_params)
        else:
            self.estimator_ = fit_or_check_estimator(self, data.X, y, est_params)
            pred = self._model_predictions(self.estimator_, data.X)
        self._fit_distributions(pred, codes, w)
        self.cv_ = cv
        if cv is not None and self.predict_with == "fold_models":
            self.fold_estimators_ = models
            self._fold_key_ = _fold_key(self.random_state)
            self._fit_fold_distributions(pred, codes, w, folds)
            fair = self._fold_map(pred, codes, folds, unif=None)
        else:
            fair = self._barycenter_map(pred, codes, rng=None)
        ww = np.ones(len(pred)) if w is None else w
        self.barycenter_cost_ = float(np.average((fair - pred) ** 2, weights=ww)) if \
            ww.sum() > 0 else float("nan")
        warn_if_constant(self, self._blend(pred, fair), y=y_arr, sample_weight=w,
                         params=("estimator",),
                         advice="The wrapped model's own predictions are constant: there is "
                                "nothing to map.", where="fit", stacklevel=3)
        return self

    def _check_estimator(self):
        name = type(self).__name__
        if self.estimator is None:
            raise ValueError(f"{name} needs an estimator; got estimator=None.")
        if is_classifier(self.estimator):
            raise ValueError(
                f"{name} post-processes a regressor's predictions, but "
                f"estimator={self.estimator!r} is a classifier; for classifiers use "
                "ThresholdOptimizer or the other fairkit.postprocessing classifiers.")
        if not hasattr(self.estimator, "predict"):
            raise ValueError(
                f"{name}: estimator={self.estimator!r} has no predict method.")

    def _model_predictions(self, estimator, X_model):
        pred = np.asarray(estimator.predict(X_model), dtype=np.float64)
        if pred.ndim == 2 and pred.shape[1] == 1:
            pred = pred.ravel()
        if pred.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} maps one prediction per row; "
                f"{type(estimator).__name__}.predict returned shape {pred.shape}.")
        if not np.all(np.isfinite(pred)):
            raise ValueError(
                f"{type(self).__name__}: {type(estimator).__name__}.predict returned "
                "non-finite values (NaN or inf); they have no rank to map.")
        return pred

    def _fit_distributions(self, pred, codes, w):
        name = type(self).__name__
        k = len(self.groups_)
        ww = np.ones(len(pred)) if w is None else np.asarray(w, dtype=np.float64)
        self.group_predictions_, self.group_levels_ = [], []
        totals = np.zeros(k)
        for g in range(k):
            rows = np.flatnonzero((codes == g) & (ww > 0))
            label = _label(self.groups_[g])
            if len(rows) == 0:
                raise ValueError(
                    f"{name}: group {label!r} has no fitting row of positive sample_weight; "
                    "its distribution cannot be estimated.")
            if len(rows) < MIN_GROUP_ROWS:
                warnings.warn(
                    f"{name}: group {label!r} has {len(rows)} fitting row(s), fewer than "
                    f"{MIN_GROUP_ROWS}; its quantile function, and so the map of its rows "
                    "and the barycenter, is noisy. Merge it with another group or use more "
                    "data.", UserWarning, stacklevel=3)
            order = np.argsort(pred[rows], kind="stable")
            values, weights = pred[rows][order], ww[rows][order]
            cum = np.cumsum(weights)
            totals[g] = cum[-1]
            levels = cum / cum[-1]
            levels[-1] = 1.0
            self.group_predictions_.append(values)
            self.group_levels_.append(levels)
        self.group_weights_ = totals / totals.sum()
        self._tie_tol = _TIE_RTOL * float(np.max(np.abs(pred))) if len(pred) else 0.0

    def _fit_fold_distributions(self, pred, codes, w, folds):
        """Per fold, per group: the sorted held-out predictions and their ECDF levels."""
        ww = np.ones(len(pred)) if w is None else np.asarray(w, dtype=np.float64)
        self.fold_group_predictions_, self.fold_group_levels_ = [], []
        for k in range(len(self.fold_estimators_)):
            values_k, levels_k = [], []
            for g in range(len(self.groups_)):
                rows = np.flatnonzero((folds == k) & (codes == g) & (ww > 0))
                if len(rows) == 0:  # a cv not stratified on the groups: the pooled ECDF
                    values_k.append(self.group_predictions_[g])
                    levels_k.append(self.group_levels_[g])
                    continue
                order = np.argsort(pred[rows], kind="stable")
                cum = np.cumsum(ww[rows][order])
                levels = cum / cum[-1]
                levels[-1] = 1.0
                values_k.append(pred[rows][order])
                levels_k.append(levels)
            self.fold_group_predictions_.append(values_k)
            self.fold_group_levels_.append(levels_k)

    # -- the map ------------------------------------------------------------------------
    def _ecdf(self, values, sorted_g, levels, unif):
        """The ECDF (``sorted_g``, ``levels``) at ``values``; with ``unif`` (uniforms on
        [0, 1), one per value) a draw in the ECDF's jump instead (random ties)."""
        lv = np.r_[0.0, levels]
        tol = self._tie_tol
        upper = lv[np.searchsorted(sorted_g, values + tol, side="right")]
        if unif is None:
            return upper
        lower = lv[np.searchsorted(sorted_g, values - tol, side="left")]
        # uniform on (lower, upper]: 1 - U is in (0, 1]
        return lower + (1.0 - unif) * (upper - lower)

    def _ranks(self, values, g, rng):
        """:math:`F_g` at ``values`` (a draw in the ECDF's jump with random ties)."""
        unif = None if rng is None else rng.random_sample(len(values))
        return self._ecdf(values, self.group_predictions_[g], self.group_levels_[g], unif)

    def _quantile(self, u, g):
        """:math:`Q_g(u) = \\min\\{t : F_g(t) \\ge u\\}`, :math:`Q_g(0)` the minimum."""
        levels = self.group_levels_[g]
        idx = np.searchsorted(levels, u - _LEVEL_TOL, side="left")
        return self.group_predictions_[g][np.minimum(idx, len(levels) - 1)]

    def _barycenter_map(self, pred, codes, rng):
        out = np.empty(len(pred), dtype=np.float64)
        for g in range(len(self.groups_)):
            rows = np.flatnonzero(codes == g)
            if len(rows) == 0:
                continue
            u = self._ranks(pred[rows], g, rng)
            out[rows] = sum(p * self._quantile(u, h)
                            for h, p in enumerate(self.group_weights_))
        return out

    def _fold_map(self, pred, codes, folds, unif):
        """The map of each row through its fold's ECDF of its group onto the barycenter."""
        out = np.empty(len(pred), dtype=np.float64)
        for k in range(len(self.fold_group_predictions_)):
            for g in range(len(self.groups_)):
                rows = np.flatnonzero((folds == k) & (codes == g))
                if len(rows) == 0:
                    continue
                u = self._ecdf(pred[rows], self.fold_group_predictions_[k][g],
                               self.fold_group_levels_[k][g],
                               None if unif is None else unif[rows])
                out[rows] = sum(p * self._quantile(u, h)
                                for h, p in enumerate(self.group_weights_))
        return out

    def _blend(self, pred, fair):
        alpha = float(self.alpha)
        if alpha == 0.0:
            return pred.copy()
        if alpha == 1.0:
            return fair
        return (1.0 - alpha) * pred + alpha * fair

    # -- predict ------------------------------------------------------------------------
    def predict(self, X, *, sensitive_features=None):
        """Post-processed predictions :math:`(1-\\alpha) f + \\alpha g`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Protected attribute(s) given apart from ``X``; used when ``prot_attr`` is None.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        data = self._validate_fair_data(
            X, sensitive_features=sensitive_features, reset=False, drop=self.drop_prot_attr,
            accept_sparse=("csr", "csc"),
        )
        codes = np.asarray(data.codes)
        rng = check_random_state(self.random_state) if self.tie_breaking == "random" else None
        if getattr(self, "fold_estimators_", None) is not None:
            folds = self._assign_folds(data.X)
            pred = np.empty(len(codes), dtype=np.float64)
            for k, model in enumerate(self.fold_estimators_):
                rows = np.flatnonzero(folds == k)
                if len(rows):
                    pred[rows] = self._model_predictions(model, _safe_indexing(data.X, rows))
            if float(self.alpha) == 0.0:
                return pred
            unif = None if rng is None else rng.random_sample(len(pred))
            return self._blend(pred, self._fold_map(pred, codes, folds, unif))
        pred = self._model_predictions(self.estimator_, data.X)
        if float(self.alpha) == 0.0:
            return pred
        return self._blend(pred, self._barycenter_map(pred, codes, rng))

    def _assign_folds(self, X_model):
        """Each row's fold model: a hash of its values keyed by ``random_state``."""
        h = _mix64(_row_hash(X_model, self._fold_key_))
        return (h % np.uint64(len(self.fold_estimators_))).astype(np.intp)

    # -- routing and tags ---------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.estimator is not None:
            try:
                inner = self.estimator.__sklearn_tags__()
            except AttributeError:  # a learner that does not derive from BaseEstimator
                inner = None
            if inner is not None:
                tags.input_tags.sparse = inner.input_tags.sparse
                tags.input_tags.allow_nan = inner.input_tags.allow_nan
        # the map gives up training fit for demographic parity by design
        tags.regressor_tags.poor_score = True
        return tags
