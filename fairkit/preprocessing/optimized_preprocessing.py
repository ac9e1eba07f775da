r"""Optimized pre-processing (Calmon et al., 2017): a randomised, convex-optimal data map.

Features :math:`X` (discrete), label :math:`Y` and protected group :math:`D` are mapped to
:math:`(\hat X, \hat Y)` by a conditional distribution
:math:`P(\hat x, \hat y \mid d, x, y)` learned from the empirical joint distribution of the
training data as the solution of a convex program (a linear program for the default
total-variation loss), solved with cvxpy.
"""

from __future__ import annotations

import itertools
import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names,
    _check_feature_names_in,
    _check_n_features,
    check_array,
    check_is_fitted,
    column_or_1d,
)

from .._protected import MAX_GROUP_LEVELS, check_pos_label
from ..base import ProtectedAttributeMixin, map_to_fitted_groups

__all__ = ["OptimizedPreprocessing"]

#: Default cost of turning the favourable label into an unfavourable one (a feature change
#: or a promotion to the favourable label costs 1).
DEMOTION_COST = 3.0

#: Refuse problems with more mapping variables than this (observed (d, x, y) cells times
#: output (x, y) cells): they would take minutes to hours to solve.
MAX_VARIABLES = 2_000_000

#: Refuse output spaces with more (features, label) cells than this: the distortion matrix
#: and the mapping are dense arrays of this size squared.
MAX_CELLS = 2048

_FITTED = ("mapping_rows_", "observed_", "objective_", "group_label_rates_",
           "distortion_matrix_", "joint_", "cells_", "feature_levels_", "bin_edges_",
           "groups_", "classes_", "solver_status_")


class OptimizedPreprocessing(ProtectedAttributeMixin, TransformerMixin, BaseEstimator):
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

    Use at training time :meth:`fit_resample` (or :meth:`resample`), which maps features
    *and* labels; at test time :meth:`transform`, which maps features only, with the
    paper's test-time map :math:`P(\hat x \mid d, x) = \sum_y p(y \mid d, x)
    \sum_{\hat y} P(\hat x, \hat y \mid d, x, y)`. Draws are independent per row and
    reproducible with ``random_state`` (every call restarts the generator).

    Parameters
    ----------
    prot_attr : str, int or list, default=None
        Protected column(s) of ``X`` (several give intersectional groups); passed through
        unchanged. Or None with ``sensitive_features`` passed to ``fit`` / ``transform``.
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
    random_state : int, RandomState or None, default=None
        Seed of the random draws in :meth:`transform` / :meth:`resample`.

    Attributes
    ----------
    groups_ : list
        Group labels seen in ``fit``.
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
    >>> Xt, yt = op.fit_resample(X, y)
    >>> rates = op.group_label_rates_  # p(y_hat | d): rows F, M; columns y_hat = 0, 1
    >>> bool(abs(rates / rates.mean(axis=0) - 1).max() <= 0.1 + 1e-6)  # equal-sized groups
    True
    >>> round(op.objective_, 6)  # label swaps within each edu level keep p(x, y) intact
    0.0
    >>> list(Xt.columns)
    ['sex', 'edu']
    """

    _parameter_constraints = {
        "prot_attr": [str, Integral, list, tuple, None],
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

    def __init__(self, prot_attr=None, epsilon=0.05, discrimination="ratio",
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

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sensitive_features=None):
        """Learn the optimal mapping from the empirical joint distribution of ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Protected column(s) and discrete features.
        y : array-like of shape (n_samples,)
            Discrete labels.
        sensitive_features : array-like, optional
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
        bounds = self._check_bounds()
        X, prot, feat_cols = self._split(X, sensitive_features, reset=True)
        n = X.shape[0]
        y = column_or_1d(y, warn=True)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} samples but X has {n}; they must match.")
        if pd.isna(y).any():
            raise ValueError("y contains missing values (NaN/None); labels must be complete.")
        check_classification_targets(y)
        classes, y_codes = np.unique(y, return_inverse=True)
        pos_label = classes[-1] if self.pos_label is None else self.pos_label
        check_pos_label(y, pos_label, name="y")
        pos_code = int(np.flatnonzero(classes == pos_label)[0])

        levels, edges, codes = [], [], []
        for col in feat_cols:
            lev, edge, code = _fit_feature(_column(X, col), col, self.n_bins)
            levels.append(lev)
            edges.append(edge)
            codes.append(code)
        dims = tuple(len(lev) for lev in levels) + (len(classes),)
        n_cells = math.prod(dims)
        if n_cells > MAX_CELLS:
            raise ValueError(
                f"The (features, label) space has {n_cells} cells (feature levels "
                f"{[len(lev) for lev in levels]} x {len(classes)} labels), more than "
                f"{MAX_CELLS}. Use fewer features or coarser levels (bin them first, or set "
                "n_bins)."
            )
        n_groups = prot.groups.n_groups
        cell = np.ravel_multi_index(tuple(codes) + (y_codes,), dims)
        joint = np.bincount(prot.groups.codes * n_cells + cell,
                            minlength=n_groups * n_cells).reshape(n_groups, n_cells) / n
        observed = np.argwhere(joint > 0)
        if len(observed) * n_cells > MAX_VARIABLES:
            raise ValueError(
                f"The mapping would have {len(observed)} observed (group, features, label) "
                f"cells x {n_cells} output cells = {len(observed) * n_cells} variables, more "
                f"than {MAX_VARIABLES}. Use fewer features or coarser levels (feature "
                f"levels: {[len(lev) for lev in levels]}), e.g. with n_bins."
            )
        unravel = np.unravel_index(np.arange(n_cells), dims)
        delta = self._distortion_matrix(feat_cols, levels, classes, unravel, pos_code)

        mapping_obs, status = _solve(
            joint, observed, delta, unravel[-1], len(classes), float(self.epsilon),
            self.discrimination, self.utility_loss, self.max_distortion, bounds,
            self.solver, self._describe_constraints(),
        )
        # test-time map P(x_hat | d, x) on the observed (d, x): average over
        # y ~ p(y | d, x), sum over y_hat
        n_c = len(classes)
        n_x = n_cells // n_c
        w = joint[observed[:, 0], observed[:, 1]]
        gx = observed[:, 0] * n_x + observed[:, 1] // n_c
        gx_seen, gx_row = np.unique(gx, return_inverse=True)
        frows = np.zeros((len(gx_seen), n_x))
        np.add.at(frows, gx_row, w[:, None] * mapping_obs.reshape(-1, n_x, n_c).sum(axis=2))
        frows /= frows.sum(axis=1, keepdims=True)
        row_of = np.full(n_groups * n_cells, -1, dtype=np.intp)
        row_of[observed[:, 0] * n_cells + observed[:, 1]] = np.arange(len(observed))
        frow_of = np.full(n_groups * n_x, -1, dtype=np.intp)
        frow_of[gx_seen] = np.arange(len(gx_seen))
        out_joint = np.zeros((n_groups, n_cells))
        np.add.at(out_joint, observed[:, 0], w[:, None] * mapping_obs)

        cells = {(str(c) if not isinstance(c, str) else c): lev[u]
                 for c, lev, u in zip(feat_cols, levels, unravel[:-1], strict=True)}
        cells["label"] = classes[unravel[-1]]
        self.groups_ = list(prot.groups.labels)
        self.classes_ = classes
        self.feature_levels_ = levels
        self.bin_edges_ = edges
        self.cells_ = pd.DataFrame(cells)
        self.joint_ = joint
        self.distortion_matrix_ = delta
        self.observed_ = observed
        self.mapping_rows_ = mapping_obs
        self.group_label_rates_ = np.stack(
            [out_joint[:, unravel[-1] == c].sum(axis=1) for c in range(n_c)], axis=1
        ) / joint.sum(axis=1, keepdims=True)
        self.objective_ = _utility(joint.sum(axis=0), out_joint.sum(axis=0),
                                   self.utility_loss)
        self.solver_status_ = status
        self._feat_cols = feat_cols
        self._dims = dims
        self._row_of, self._frows, self._frow_of = row_of, frows, frow_of
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

    def _check_bounds(self):
        if self.distortion_bounds is None:
            return []
        out = []
        for pair in self.distortion_bounds:
            try:
                level, prob = (float(v) for v in pair)
            except (TypeError, ValueError):
                raise ValueError(
                    f"distortion_bounds must be a list of (level, probability) pairs; got "
                    f"{self.distortion_bounds!r}."
                ) from None
            if not (level > 0 and np.isfinite(level)) or not 0 <= prob <= 1:
                raise ValueError(
                    f"distortion_bounds entry {tuple(pair)!r}: the level must be a finite "
                    "number > 0 and the probability in [0, 1]."
                )
            out.append((level, prob))
        return out

    def _describe_constraints(self):
        return (f"epsilon={self.epsilon!r} ({self.discrimination}), max_distortion="
                f"{self.max_distortion!r}, distortion_bounds={self.distortion_bounds!r}")

    def _distortion_matrix(self, feat_cols, levels, classes, unravel, pos_code):
        n_cells = len(unravel[-1])
        dist = self.distortion
        if dist is None:
            delta = np.zeros((n_cells, n_cells))
            for u in unravel[:-1]:
                delta += u[:, None] != u[None, :]
            yo, yn = unravel[-1][:, None], unravel[-1][None, :]
            delta += np.where(yo == yn, 0.0, np.where(yo == pos_code, DEMOTION_COST, 1.0))
            return delta
        if callable(dist):
            xs = [{c: lev[u[k]] for c, lev, u in zip(feat_cols, levels, unravel[:-1],
                                                     strict=True)}
                  for k in range(n_cells)]
            ys = classes[unravel[-1]]
            delta = np.empty((n_cells, n_cells))
            for a, b in itertools.product(range(n_cells), repeat=2):
                delta[a, b] = float(dist(xs[a], ys[a], xs[b], ys[b]))
            where = "returned by the distortion callable"
        else:
            delta = np.asarray(dist, dtype=np.float64)
            if delta.shape != (n_cells, n_cells):
                raise ValueError(
                    f"The distortion matrix has shape {delta.shape}; the fitted data has "
                    f"{n_cells} (features, label) cells, so it must be ({n_cells}, "
                    f"{n_cells}) in the order of cells_."
                )
            where = "in the distortion matrix"
        if np.isnan(delta).any() or (delta < 0).any():
            raise ValueError(f"Distortions must be >= 0 (np.inf allowed); found NaN or a "
                             f"negative value {where}.")
        if np.any(np.diag(delta) != 0):
            k = int(np.flatnonzero(np.diag(delta) != 0)[0])
            raise ValueError(
                f"The distortion of a cell to itself must be 0; {where} it is "
                f"{delta[k, k]} for cell {k}."
            )
        return delta

    # ------------------------------------------------------------------ input handling
    def _split(self, X, sensitive_features, *, reset):
        if not hasattr(X, "iloc"):
            X = check_array(X, dtype=None, ensure_all_finite=False, estimator=self)
        elif X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a "
                             f"minimum of 1 is required by {type(self).__name__}.")
        prot = self._resolve_protected(X, sensitive_features)
        for col in prot.values.columns:
            v = prot.values[col]
            if pd.api.types.is_numeric_dtype(v) and not np.isfinite(v.to_numpy(float)).all():
                raise ValueError(f"The protected attribute {col!r} contains inf; protected "
                                 "values must be finite.")
        _check_feature_names(self, X, reset=reset)
        _check_n_features(self, X, reset=reset)
        if isinstance(X, pd.DataFrame):
            feat_cols = [c for c in X.columns if c not in set(prot.columns)]
        else:
            feat_cols = [j for j in range(X.shape[1]) if j not in set(prot.columns)]
        if not feat_cols:
            raise ValueError(
                f"{type(self).__name__} needs at least one feature besides the protected "
                f"column(s) {prot.columns}; X has {X.shape[1]} feature(s)."
            )
        for col in feat_cols:
            v = _column(X, col)
            if pd.isna(v).any():
                raise ValueError(f"Feature {col!r} of X contains NaN; impute or drop those "
                                 "rows, or give missing values a level of their own.")
            if v.dtype.kind in "fc" and not np.isfinite(v).all():
                raise ValueError(f"Feature {col!r} of X contains inf.")
        return X, prot, feat_cols

    def _encode(self, X, sensitive_features):
        check_is_fitted(self)
        X, prot, feat_cols = self._split(X, sensitive_features, reset=False)
        groups = map_to_fitted_groups(prot.groups, self.groups_, where="transform")
        codes = [
            _encode_feature(_column(X, col), col, lev, edge)
            for col, lev, edge in zip(feat_cols, self.feature_levels_, self.bin_edges_,
                                      strict=True)
        ]
        return X, groups, codes

    # ------------------------------------------------------------------ applying
    def transform(self, X, sensitive_features=None):
        """Map the features of ``X`` with the test-time map :math:`P(\\hat x \\mid d, x)`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, optional

        Returns
        -------
        ndarray or DataFrame
            Same layout as ``X`` (a DataFrame for a DataFrame ``X``, same index and
            column dtypes), protected columns unchanged.
        """
        X, groups, codes = self._encode(X, sensitive_features)
        x_dims = self._dims[:-1]
        cell = np.ravel_multi_index(tuple(codes), x_dims)
        n_x = math.prod(x_dims)
        new = _apply(self._frows, self._frow_of, groups * n_x + cell, cell,
                     check_random_state(self.random_state))
        return self._output(X, np.unravel_index(new, x_dims))

    def fit_transform(self, X, y, sensitive_features=None):
        """Fit, then :meth:`transform` ``X`` (features only; see :meth:`fit_resample`)."""
        return self.fit(X, y, sensitive_features=sensitive_features).transform(
            X, sensitive_features=sensitive_features)

    def resample(self, X, y, sensitive_features=None):
        """Map features *and* labels with the fitted :math:`P(\\hat x, \\hat y|d, x, y)`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels among ``classes_``.
        sensitive_features : array-like, optional

        Returns
        -------
        X_new : ndarray or DataFrame
            As from :meth:`transform`.
        y_new : ndarray or Series
            A Series (same index and name) when ``y`` is one.
        """
        X, groups, codes = self._encode(X, sensitive_features)
        y_arr = column_or_1d(y)
        if len(y_arr) != X.shape[0]:
            raise ValueError(f"y has {len(y_arr)} samples but X has {X.shape[0]}; they "
                             "must match.")
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

    def fit_resample(self, X, y, sensitive_features=None):
        """Fit, then :meth:`resample` the training data (imbalanced-learn's protocol)."""
        return self.fit(X, y, sensitive_features=sensitive_features).resample(
            X, y, sensitive_features=sensitive_features)

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

    def get_feature_names_out(self, input_features=None):
        """Input feature names (the protected columns are kept)."""
        check_is_fitted(self)
        return np.asarray(_check_feature_names_in(self, input_features), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.non_deterministic = False
        return tags


# ---------------------------------------------------------------------- helpers
def _column(X, col):
    if isinstance(X, pd.DataFrame):
        return X[col].to_numpy()
    return np.asarray(X)[:, col]


def _fit_feature(v, col, n_bins):
    """Levels, inner bin edges (or None) and training codes of one feature."""
    numeric = v.dtype.kind in "biuf" or (
        v.dtype == object and pd.api.types.infer_dtype(v, skipna=False)
        in ("integer", "floating", "mixed-integer-float"))
    uniques = pd.unique(v)
    if numeric and n_bins is not None and len(uniques) > n_bins:
        v = v.astype(np.float64)
        edges = np.unique(np.quantile(v, np.linspace(0, 1, n_bins + 1))[1:-1])
        codes = np.searchsorted(edges, v, side="right")
        present = np.unique(codes)
        lookup = np.zeros(len(edges) + 1, dtype=np.intp)
        lookup[present] = np.arange(len(present))
        codes = lookup[codes]
        # keep only the edges between occupied bins
        edges = edges[present[1:] - 1] if len(present) > 1 else edges[:0]
        medians = np.array([np.median(v[codes == k]) for k in range(len(present))])
        return medians, edges, codes
    if len(uniques) > MAX_GROUP_LEVELS:
        raise ValueError(
            f"Feature {col!r} has {len(uniques)} distinct values (more than "
            f"{MAX_GROUP_LEVELS}); OptimizedPreprocessing needs discrete features. Bin it "
            "first (KBinsDiscretizer, pandas.cut) or set n_bins."
        )
    try:
        codes, levels = pd.factorize(v, sort=True)
    except TypeError:
        codes, levels = pd.factorize(v, sort=False)
    return np.asarray(levels), None, np.asarray(codes, dtype=np.intp)


def _encode_feature(v, col, levels, edges):
    if edges is not None:
        try:
            v = v.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"Feature {col!r} was binned in fit but is not numeric "
                             "now.") from None
        return np.searchsorted(edges, v, side="right")
    codes = pd.Index(levels).get_indexer(v)
    if (codes < 0).any():
        bad = sorted({str(x) for x in np.asarray(v)[codes < 0]})[:5]
        raise ValueError(f"Feature {col!r} has value(s) {bad} not seen in fit; the mapping "
                         f"is defined on the fitted levels {list(levels)[:10]}.")
    return codes


def _draw(prob_rows, row_index, rng):
    """One draw per sample from ``prob_rows[row_index[i]]`` (vectorised inverse CDF)."""
    u = rng.random(len(row_index))
    used, inv = np.unique(row_index, return_inverse=True)
    cum = np.cumsum(prob_rows[used], axis=1)
    cum /= cum[:, -1:]
    k = cum.shape[1]
    offset = 2.0 * np.arange(len(used))  # rows live in disjoint intervals [2r, 2r + 1]
    pos = np.searchsorted((cum + offset[:, None]).ravel(), u + offset[inv], side="right")
    return np.minimum(pos - inv * k, k - 1)


def _apply(rows, row_of, key, cell, rng):
    """New cell of each sample: drawn from its row of the map, or kept if it has none."""
    idx = row_of[key]
    new = np.array(cell, dtype=np.intp, copy=True)
    has = idx >= 0
    if has.any():
        new[has] = _draw(rows, idx[has], rng)
    return new


def _utility(p, q, loss):
    """Delta(q, p) between the transformed (q) and original (p) cell distributions."""
    if loss == "tv":
        return float(0.5 * np.abs(q - p).sum())
    s = p > 0
    return float(np.sum(p[s] * np.log(p[s] / q[s])))


def _solve(joint, observed, delta, label_of_cell, n_classes, eps, discrimination, loss,
           max_distortion, bounds, solver, describe):
    """Solve the program over the observed rows; returns (rows of the mapping, status)."""
    import cvxpy as cp
    import scipy.sparse as sp

    n_groups, n_cells = joint.shape
    g_of_row, k_of_row = observed[:, 0], observed[:, 1]
    w = joint[g_of_row, k_of_row]
    n_rows = len(observed)
    d_rows = delta[k_of_row]  # (n_rows, n_cells)
    allowed = np.isfinite(d_rows)
    for level, prob in bounds:
        if prob == 0:
            allowed &= ~(d_rows >= level)
    r_e, c_e = np.nonzero(allowed)
    n_var = len(r_e)
    d_e = d_rows[r_e, c_e]
    cols = np.arange(n_var)

    def sparse(values, rows, n_out):
        return sp.csr_matrix((values, (rows, cols)), shape=(n_out, n_var))

    z = cp.Variable(n_var, nonneg=True)
    cons = [sparse(np.ones(n_var), r_e, n_rows) @ z == 1]
    p = joint.sum(axis=0)
    # the marginals are variables of their own: each dense sum over the mapping then
    # appears in one equality row instead of in every constraint that uses it, which keeps
    # the interior-point factorisations small
    q = cp.Variable(n_cells)
    cons.append(sparse(w[r_e], c_e, n_cells) @ z == q)
    if loss == "tv":
        objective = 0.5 * cp.norm1(q - p)
    else:
        s = np.flatnonzero(p > 0)
        objective = cp.sum(cp.rel_entr(p[s], q[s]))
    # p(y_hat | d) for every (d, y_hat): rows d * n_classes + y_hat
    p_d = joint.sum(axis=1)
    g_e, y_e = g_of_row[r_e], label_of_cell[c_e]
    rate = cp.Variable(n_groups * n_classes)
    cons.append(sparse(w[r_e] / p_d[g_e], g_e * n_classes + y_e, n_groups * n_classes) @ z
                == rate)
    rate_m = cp.reshape(rate, (n_groups, n_classes), order="C")
    if discrimination == "ratio":
        marginal = p_d @ rate_m  # p(y_hat) = sum_d p(d) p(y_hat | d)
        spread = np.ones((n_groups, 1)) @ cp.reshape(marginal, (1, n_classes), order="C")
        cons += [rate_m <= (1 + eps) * spread, rate_m >= (1 - eps) * spread]
    elif n_groups > 1:
        pairs = [(a, b) for a in range(n_groups) for b in range(a + 1, n_groups)]
        sel_a = sp.csr_matrix(
            (np.ones(len(pairs) * n_classes),
             (np.arange(len(pairs) * n_classes),
              [a * n_classes + c for a, _ in pairs for c in range(n_classes)])),
            shape=(len(pairs) * n_classes, n_groups * n_classes))
        sel_b = sp.csr_matrix(
            (np.ones(len(pairs) * n_classes),
             (np.arange(len(pairs) * n_classes),
              [b * n_classes + c for _, b in pairs for c in range(n_classes)])),
            shape=(len(pairs) * n_classes, n_groups * n_classes))
        diff = (sel_a - sel_b) @ rate
        cons += [diff <= eps, -diff <= eps]
    if max_distortion is not None:
        cons.append(sparse(d_e, r_e, n_rows) @ z <= float(max_distortion))
    for level, prob in bounds:
        if prob > 0:
            hit = d_e >= level
            cons.append(sparse(hit.astype(float), r_e, n_rows) @ z <= prob)
    problem = cp.Problem(cp.Minimize(objective), cons)
    try:
        problem.solve(solver=solver)
    except cp.error.SolverError as exc:
        raise RuntimeError(f"OptimizedPreprocessing: solver {solver!r} failed ({exc}).") from exc
    status = problem.status
    if status in ("infeasible", "infeasible_inaccurate"):
        raise ValueError(
            f"OptimizedPreprocessing: the optimisation problem is infeasible (solver "
            f"{solver!r} status {status!r}): {describe}. Loosen epsilon or allow more "
            "distortion."
        )
    if status not in ("optimal", "optimal_inaccurate") or z.value is None:
        raise RuntimeError(f"OptimizedPreprocessing: solver {solver!r} ended with status "
                           f"{status!r}; no mapping was learned ({describe}).")
    if status == "optimal_inaccurate":
        warnings.warn(f"Solver {solver!r} reports status 'optimal_inaccurate'; the "
                      "constraints may hold only approximately.", RuntimeWarning,
                      stacklevel=3)
    rows = np.zeros((n_rows, n_cells))
    rows[r_e, c_e] = np.clip(z.value, 0.0, None)
    rows /= rows.sum(axis=1, keepdims=True)
    return rows, status
