r"""Optimized pre-processing (Calmon et al., 2017): a randomised, convex-optimal data map.

Features :math:`X` (discrete), label :math:`Y` and protected group :math:`D` are mapped to
:math:`(\hat X, \hat Y)` by a conditional distribution
:math:`P(\hat x, \hat y \mid d, x, y)` learned from the empirical joint distribution of the
training data as the solution of a convex program (a linear program for the default
total-variation loss), solved with cvxpy (:mod:`fairkit.preprocessing._optimized_program`).
:class:`OptimizedPreprocessing` maps features (a transformer);
:class:`OptimizedPreprocessingSampler` maps features and labels of the training data (an
imbalanced-learn sampler).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._protected import check_pos_label
from ..base import FairEstimatorMixin, FairTransformerMixin
from ..utils._docstring import fair_docstring
from ._optimized_program import (
    _apply,
    _column,
    _encode_feature,
    check_bounds,
    learn_program,
)

__all__ = ["OptimizedPreprocessing", "OptimizedPreprocessingSampler"]

_FITTED = ("mapping_rows_", "observed_", "objective_", "group_label_rates_",
           "distortion_matrix_", "joint_", "cells_", "feature_levels_", "bin_edges_",
           "groups_", "classes_", "solver_status_")


class _OptimizedPreprocessingBase(FairEstimatorMixin, BaseEstimator):
    """Parameters, ``fit`` (the program) and the fitted map, shared by the transformer and
    the sampler."""

    _parameter_constraints = {
        "prot_attr": "no_validation",
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "discrimination": [StrOptions({"ratio", "difference"})],
        "utility_loss": [StrOptions({"tv", "kl"})],
        "distortion": [callable, "array-like", None],
        "max_distortion": [Interval(Real, 0, None, closed="left"), None],
        "distortion_bounds": [list, tuple, None],
        "pos_label": "no_validation",
        "n_bins": [Interval(Integral, 2, None, closed="left"), None],
        "solver": [str],
        "random_state": ["random_state"],
    }

    def __init__(self, *, prot_attr=None, epsilon=0.05, discrimination="ratio",
                 utility_loss="tv", distortion=None, max_distortion=1.0,
                 distortion_bounds=None, pos_label=None, n_bins=None, solver="CLARABEL",
                 random_state=None):
        self.prot_attr = prot_attr
        self.epsilon = epsilon
        self.discrimination = discrimination
        self.utility_loss = utility_loss
        self.distortion = distortion
        self.max_distortion = max_distortion
        self.distortion_bounds = distortion_bounds
        self.pos_label = pos_label
        self.n_bins = n_bins
        self.solver = solver
        self.random_state = random_state

    def fit(self, X, y, *, sensitive_features=None):
        """Learn the optimal mapping from the empirical joint distribution of ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Protected column(s) and discrete features.
        y : array-like of shape (n_samples,)
            Discrete labels.
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For bad input, or when the program is infeasible (the message names the
            solver status).
        """
        self._validate_params()
        for name in _FITTED:  # a failed refit must not leave the previous model behind
            if name in self.__dict__:
                delattr(self, name)
        bounds = check_bounds(self.distortion_bounds)
        X, data, feat_cols = self._check_input(X, y, sensitive_features, reset=True)
        y = data.y
        if pd.isna(y).any():
            raise ValueError("y contains missing values (NaN/None); labels must be complete.")
        classes, y_codes = np.unique(y, return_inverse=True)
        pos_label = classes[-1] if self.pos_label is None else self.pos_label
        check_pos_label(y, pos_label, name="y")
        pos_code = int(np.flatnonzero(classes == pos_label)[0])
        fitted = learn_program(self, X, feat_cols, data.codes, data.groups.n_groups, classes,
                               y_codes, pos_code, bounds)
        for name, value in fitted.items():
            setattr(self, name, value)
        self._prot_idx = list(data.prot_idx)
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "mapping_rows_")

    @property
    def mapping_(self):
        n_groups, n_cells = self.joint_.shape
        out = np.broadcast_to(np.eye(n_cells), (n_groups, n_cells, n_cells)).copy()
        out[self.observed_[:, 0], self.observed_[:, 1]] = self.mapping_rows_
        return out

    @property
    def feature_mapping_(self):
        n_groups, n_x = len(self.groups_), math.prod(self._dims[:-1])
        out = np.broadcast_to(np.eye(n_x), (n_groups, n_x, n_x)).copy().reshape(-1, n_x)
        seen = self._frow_of >= 0
        out[seen] = self._frows[self._frow_of[seen]]
        return out.reshape(n_groups, n_x, n_x)

    # ------------------------------------------------------------------ input handling
    def _check_input(self, X, y, sensitive_features, *, reset):
        """Validate ``X`` (and ``y`` in fit); return ``(X, data, feature columns)``.

        Features are discrete and may be strings, so they are passed through (not
        converted to float); missing values are refused per column.
        """
        if y is not None and not isinstance(y, (pd.Series, np.ndarray)):
            y = np.asarray(y)
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, reset=reset, drop=True,
            target="classification" if reset else None,
        )
        X = data.input if isinstance(data.input, pd.DataFrame) else np.asarray(X)
        if isinstance(X, pd.DataFrame):
            feat_cols = [X.columns[j] for j in data.feature_idx]
        else:
            feat_cols = list(data.feature_idx)
        if not feat_cols:
            raise ValueError(
                f"{type(self).__name__} needs at least one feature besides the protected "
                f"column(s) {data.protected.columns}; X has {X.shape[1]} feature(s)."
            )
        for col in feat_cols:
            v = _column(X, col)
            if pd.isna(v).any():
                raise ValueError(f"Feature {col!r} of X contains NaN; impute or drop those "
                                 "rows, or give missing values a level of their own.")
            if v.dtype.kind in "fc" and not np.isfinite(v).all():
                raise ValueError(f"Feature {col!r} of X contains inf.")
        return X, data, feat_cols

    def _encode(self, X, sensitive_features):
        check_is_fitted(self)
        X, data, feat_cols = self._check_input(X, None, sensitive_features, reset=False)
        codes = [
            _encode_feature(_column(X, col), col, lev, edge)
            for col, lev, edge in zip(feat_cols, self.feature_levels_, self.bin_edges_,
                                      strict=True)
        ]
        return X, data.codes, codes

    # ------------------------------------------------------------------ applying
    def _resample(self, X, y, sensitive_features):
        """Features *and* labels drawn from the fitted :math:`P(\\hat x, \\hat y|d, x, y)`."""
        X, groups, codes = self._encode(X, sensitive_features)
        y_arr = column_or_1d(y)
        y_code = pd.Index(self.classes_).get_indexer(y_arr)
        if (y_code < 0).any():
            bad = sorted({str(v) for v in np.asarray(y_arr)[y_code < 0]})
            raise ValueError(f"y contains label(s) {bad} not seen in fit "
                             f"(classes_={self.classes_.tolist()}).")
        n_cells = math.prod(self._dims)
        cell = np.ravel_multi_index(tuple(codes) + (y_code,), self._dims)
        new = _apply(self.mapping_rows_, self._row_of, groups * n_cells + cell, cell,
                     check_random_state(self.random_state))
        parts = np.unravel_index(new, self._dims)
        y_new = self.classes_[parts[-1]]
        if isinstance(y, pd.Series):
            y_new = pd.Series(y_new, index=y.index, name=y.name).astype(y.dtype)
        return self._output(X, parts[:-1]), y_new

    def _output(self, X, feature_codes):
        values = [lev[c] for lev, c in zip(self.feature_levels_, feature_codes, strict=True)]
        if isinstance(X, pd.DataFrame):
            out = X.copy()
            for col, v, edge in zip(self._feat_cols, values, self.bin_edges_, strict=True):
                s = pd.Series(v, index=X.index, name=col)
                out[col] = s if edge is not None else s.astype(X[col].dtype)
            return out
        arr = np.asarray(X)
        numeric = arr.dtype.kind in "biuf"
        out = arr.astype(np.float64 if numeric else object, copy=True)
        for col, v in zip(self._feat_cols, values, strict=True):
            out[:, col] = v
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = False
        return tags


@fair_docstring
class OptimizedPreprocessing(FairTransformerMixin, _OptimizedPreprocessingBase):
    r"""Randomised map of (features, label) that limits discrimination and distortion.

    Let :math:`p(d, x, y)` be the empirical joint distribution of group, discrete feature
    vector and label in the training data. The method learns a conditional distribution
    (the *mapping*) :math:`P(\hat x, \hat y \mid d, x, y)` that solves

    .. math::

        \min_{P}\; \Delta\big(p_{\hat X \hat Y},\, p_{XY}\big) \quad\text{s.t.}\quad
        \begin{cases}
        \big| p_{\hat Y \mid D}(\hat y \mid d) / p_{\hat Y}(\hat y) - 1 \big|
            \le \epsilon & \forall d, \hat y \quad\text{(discrimination)}\\
        \mathbb{E}\big[\delta((x, y), (\hat X, \hat Y)) \mid d, x, y\big] \le c
            & \forall (d, x, y) \quad\text{(distortion)}\\
        P\big(\delta((x, y), (\hat X, \hat Y)) \ge c_i \mid d, x, y\big) \le q_i
            & \forall (d, x, y),\, i \quad\text{(distortion levels)}\\
        P(\cdot \mid d, x, y) \text{ a probability distribution}
        \end{cases}

    where :math:`p_{\hat X \hat Y}(\hat x, \hat y) = \sum_{d,x,y} p(d,x,y)
    P(\hat x,\hat y \mid d,x,y)`, :math:`p_{\hat Y \mid D}` and :math:`p_{\hat Y}` are its
    label marginals per group and overall, and :math:`\delta` is the distortion between an
    original and a new (feature, label) pair. Every constraint is linear in the mapping
    (the ratio constraint is multiplied out by :math:`p_{\hat Y}`), so the problem is
    convex and its optimum is global.

    Choices made here (the paper leaves them open):

    - Discrimination (``discrimination="ratio"``, default): the paper's probability-ratio
      measure :math:`J(p, q) = |p/q - 1|` with the target distribution taken as the
      transformed label marginal :math:`p_{\hat Y}`. ``"difference"`` instead bounds
      :math:`|p_{\hat Y|D}(\hat y|d) - p_{\hat Y|D}(\hat y|d')| \le \epsilon` for every pair
      of groups, the formulation of the authors' code and of AIF360's ``OptimPreproc``.
    - Utility loss :math:`\Delta` (``utility_loss``): ``"tv"`` (default) the total
      variation :math:`\tfrac12 \sum |p_{\hat X\hat Y} - p_{XY}|`, as in AIF360 (a linear
      program); ``"kl"`` the divergence :math:`\mathrm{KL}(p_{XY} \,\|\, p_{\hat X \hat Y})`
      (an exponential-cone program).
    - Distortion is controlled per :math:`(d, x, y)` as in the paper: an expected
      distortion bound ``max_distortion`` and/or per-level probability bounds
      ``distortion_bounds`` (AIF360 instead bounds the levels per :math:`(x, y)` averaged
      over groups, which is looser).

    The protected attribute :math:`D` itself is never changed. Training combinations
    :math:`(d, x, y)` define the optimisation; a combination absent from the training
    data is left unchanged by the mapping.

    Features must be discrete: every non-protected column is treated as categorical (its
    distinct training values are its levels; strings allowed). Bin continuous features
    first (``sklearn.preprocessing.KBinsDiscretizer``, ``pandas.cut``), or set ``n_bins``
    to have numeric columns with more than ``n_bins`` distinct values cut at their
    training quantiles (such a feature comes out as the median training value of its
    bin). The output space is the product of all feature levels and labels, so its size
    grows multiplicatively with the number of features: a few coarse features, as in the
    paper, keep the program small.

    Two estimators share the program (solved by the same code, same result for the same
    parameters and data): this transformer, whose :meth:`transform` maps features only,
    with the paper's test-time map :math:`P(\hat x \mid d, x) = \sum_y p(y \mid d, x)
    \sum_{\hat y} P(\hat x, \hat y \mid d, x, y)`; and
    :class:`OptimizedPreprocessingSampler`, whose ``fit_resample`` maps features *and*
    labels of the training data (imbalanced-learn's sampler protocol, so it can be a step of
    an ``imblearn.pipeline.Pipeline``). Draws are independent per row and reproducible
    with ``random_state`` (every call restarts the generator).

    Parameters
    ----------
    {prot_attr}
        The protected columns are passed through unchanged.
    epsilon : float >= 0, default=0.05
        Discrimination bound :math:`\epsilon`.
    discrimination : {"ratio", "difference"}, default="ratio"
        Form of the discrimination constraint (see above).
    utility_loss : {"tv", "kl"}, default="tv"
        :math:`\Delta`, the distance between the transformed and original joint
        distributions of (features, label).
    distortion : callable, array-like or None, default=None
        :math:`\delta`. A callable ``distortion(x, y, x_new, y_new) -> float`` where ``x``
        and ``x_new`` are dicts ``{feature name: value}`` (feature names are the
        non-protected column names of ``X``, or their integer positions for arrays); or
        a matrix of shape ``(n_cells, n_cells)`` over the cells in the order of
        ``cells_`` (features in column order, each with its sorted levels, the label
        last and varying fastest). ``np.inf`` forbids a move. The distortion of a cell to
        itself must be 0. None: the number of changed features, plus 1 for a change of
        label to ``pos_label`` (or between two other labels) and ``DEMOTION_COST = 3`` for
        a change away from ``pos_label``.
    max_distortion : float >= 0 or None, default=1.0
        :math:`c`, bound on the expected distortion of every :math:`(d, x, y)`; None for
        no bound.
    distortion_bounds : list of (level, probability) pairs or None, default=None
        Pairs :math:`(c_i, q_i)`: the probability that the distortion of any
        :math:`(d, x, y)` reaches ``level`` (> 0) is at most ``probability`` (0 forbids
        such moves). E.g. AIF360's Adult setting ``[(0.99, 0.1), (1.99, 0.05),
        (2.99, 0.0)]``.
    pos_label : scalar or None, default=None
        Favourable label, used by the default distortion; None means the greatest class.
    n_bins : int >= 2 or None, default=None
        Quantile-bin numeric features with more distinct values than this (see above).
        None: refuse features with more than 100 distinct values.
    solver : str, default="CLARABEL"
        cvxpy solver name.
    {random_state}
        Seeds the random draws of ``transform`` / ``fit_resample``.

    Attributes
    ----------
    groups_ : list
        Group labels seen in ``fit``.
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray
        Labels seen in ``fit``.
    feature_levels_ : list of ndarray
        Levels of each non-protected feature, in column order (bin medians for binned
        features).
    bin_edges_ : list of (ndarray or None)
        Inner bin edges of each binned feature; None for features used as they are.
    cells_ : DataFrame of shape (n_cells, n_features + 1)
        The (features, label) cells: one column per feature, the label in column
        ``"label"``.
    joint_ : ndarray of shape (n_groups, n_cells)
        Empirical :math:`p(d, (x, y))`.
    distortion_matrix_ : ndarray of shape (n_cells, n_cells)
        :math:`\delta` between cells (old in rows, new in columns).
    observed_ : ndarray of shape (n_observed, 2)
        The (group index, cell index) pairs present in the training data: the rows of
        the optimisation.
    mapping_rows_ : ndarray of shape (n_observed, n_cells)
        :math:`P(\hat x, \hat y \mid d, x, y)` for those pairs (compact storage).
    mapping_ : ndarray of shape (n_groups, n_cells, n_cells)
        The whole map, built from ``mapping_rows_`` on access; every row sums to 1 (rows
        of combinations absent from the training data are the identity).
    feature_mapping_ : ndarray of shape (n_groups, n_feature_cells, n_feature_cells)
        Test-time map :math:`P(\hat x \mid d, x)` over the feature cells (``cells_``
        without the label, same order), built on access.
    group_label_rates_ : ndarray of shape (n_groups, n_classes)
        :math:`p_{\hat Y|D}(\hat y \mid d)` under the mapping.
    objective_ : float
        Optimal utility loss :math:`\Delta`.
    solver_status_ : str
        cvxpy status of the solve (``"optimal"`` or ``"optimal_inaccurate"``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    OptimizedPreprocessingSampler : the same program, mapping features and labels.
    Reweighing : reweights instead of changing the data.
    DisparateImpactRemover : repairs continuous features, leaves labels alone.

    Notes
    -----
    The objective depends on the transformed joint distribution only, so the optimal
    mapping is usually not unique; the constraints (which the tests check on the
    returned ``mapping_``) are what is guaranteed. Solver round-off is removed by
    clipping negative probabilities and renormalising each row. An infeasible problem
    (``epsilon`` too small for the distortion allowed) raises ``ValueError`` naming the
    solver status, and leaves the estimator unfitted.

    References
    ----------
    .. [1] F. P. Calmon, D. Wei, B. Vinzamuri, K. Natesan Ramamurthy and K. R. Varshney,
       "Optimized Pre-Processing for Discrimination Prevention", NeurIPS 2017.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairkit.preprocessing import OptimizedPreprocessing
    >>> X = pd.DataFrame({"sex": ["F"] * 4 + ["M"] * 4, "edu": ["lo", "hi"] * 4})
    >>> y = [0, 0, 0, 1, 0, 1, 1, 1]
    >>> op = OptimizedPreprocessing(prot_attr="sex", epsilon=0.1, random_state=0)
    >>> Xt = op.fit(X, y).transform(X)
    >>> rates = op.group_label_rates_  # p(y_hat | d): rows F, M; columns y_hat = 0, 1
    >>> bool(abs(rates / rates.mean(axis=0) - 1).max() <= 0.1 + 1e-6)  # equal-sized groups
    True
    >>> round(op.objective_, 6)  # label swaps within each edu level keep p(x, y) intact
    0.0
    >>> list(Xt.columns)
    ['sex', 'edu']
    """

    def transform(self, X, *, sensitive_features=None):
        """Map the features of ``X`` with the test-time map :math:`P(\\hat x \\mid d, x)`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.

        Returns
        -------
        ndarray or DataFrame
            Same layout as ``X`` (a DataFrame for a DataFrame ``X``, same index and
            column dtypes), protected columns unchanged; a DataFrame also for an array
            ``X`` under ``set_output(transform="pandas")``.
        """
        X, groups, codes = self._encode(X, sensitive_features)
        x_dims = self._dims[:-1]
        cell = np.ravel_multi_index(tuple(codes), x_dims)
        n_x = math.prod(x_dims)
        new = _apply(self._frows, self._frow_of, groups * n_x + cell, cell,
                     check_random_state(self.random_state))
        return self._output(X, np.unravel_index(new, x_dims))

    def fit_transform(self, X, y, *, sensitive_features=None):
        """Fit, then :meth:`transform` ``X`` (features only; labels are mapped by
        :class:`OptimizedPreprocessingSampler`)."""
        return self.fit(X, y, sensitive_features=sensitive_features).transform(
            X, sensitive_features=sensitive_features)


@fair_docstring
class OptimizedPreprocessingSampler(_OptimizedPreprocessingBase):
    r"""Optimized pre-processing of the training data: features *and* labels are mapped.

    The same program as :class:`OptimizedPreprocessing` (same parameters, same solver
    code, same fitted attributes); ``fit_resample(X, y)`` draws, for every training row,
    a new (features, label) pair from the fitted :math:`P(\hat x, \hat y \mid d, x, y)`.
    It follows imbalanced-learn's sampler protocol (``fit_resample`` and no
    ``transform``), so it can be a step of an ``imblearn.pipeline.Pipeline``: applied when
    the pipeline is fitted, skipped at predict time. To also map the features of test
    rows with the paper's test-time map, use :class:`OptimizedPreprocessing` with the same
    parameters on the same training data (the program and its solution are the same).

    Parameters
    ----------
    {prot_attr}
    epsilon : float >= 0, default=0.05
    discrimination : {"ratio", "difference"}, default="ratio"
    utility_loss : {"tv", "kl"}, default="tv"
    distortion : callable, array-like or None, default=None
    max_distortion : float >= 0 or None, default=1.0
    distortion_bounds : list of (level, probability) pairs or None, default=None
    pos_label : scalar or None, default=None
    n_bins : int >= 2 or None, default=None
    solver : str, default="CLARABEL"
        All as in :class:`OptimizedPreprocessing`.
    {random_state}
        Seeds the draws of ``fit_resample``.

    Attributes
    ----------
    groups_, prot_attr_names_, classes_, mapping_, group_label_rates_, objective_ :
        As in :class:`OptimizedPreprocessing` (all its fitted attributes are set).

    Examples
    --------
    >>> import pandas as pd
    >>> from fairkit.preprocessing import OptimizedPreprocessingSampler
    >>> X = pd.DataFrame({"sex": ["F"] * 4 + ["M"] * 4, "edu": ["lo", "hi"] * 4})
    >>> y = [0, 0, 0, 1, 0, 1, 1, 1]
    >>> Xt, yt = OptimizedPreprocessingSampler(prot_attr="sex", epsilon=0.1,
    ...                                        random_state=0).fit_resample(X, y)
    >>> list(Xt.columns), len(yt)
    (['sex', 'edu'], 8)
    """

    def fit_resample(self, X, y, *, sensitive_features=None):
        """Fit the program, then draw new features and labels for the training rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.

        Returns
        -------
        X_new : ndarray or DataFrame
            Same layout as ``X``, protected columns unchanged.
        y_new : ndarray or Series
            A Series (same index and name) when ``y`` is one.
        """
        self.fit(X, y, sensitive_features=sensitive_features)
        return self._resample(X, y, sensitive_features)
