"""Group-fair post-processing of class probabilities by a linear program (Xian & Zhao)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from scipy.optimize import linprog
from scipy.spatial import cKDTree
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
)

from .._groups import scalar as _scalar
from .._validation import check_weights_nonnegative, same_label
from ..base import CrossFitMixin, FairClassifierMixin, FairEstimatorMixin
from ..utils._docstring import fair_docstring
from ..utils._outputs import fit_or_check_estimator

__all__ = ["LinearProgramPostprocessor", "fair_linear_program"]

_CONSTRAINTS = ("demographic_parity", "equal_opportunity", "equalized_odds")

#: Cells of the simplex grid aimed at per group by ``n_bins="auto"``.
_AUTO_CELLS = 4096


def _plain(label):
    return label.item() if isinstance(label, np.generic) else label


def _auto_bins(n_classes):
    return max(4, int(np.floor(_AUTO_CELLS ** (1.0 / (n_classes - 1)))))


def fair_linear_program(
    mass, scores, group, *, constraints="demographic_parity", tol=0.0, pos_index=None
):
    r"""Solve the group-fair linear program on a set of weighted cells.

    Parameters
    ----------
    mass : ndarray of shape (n_cells,)
        Total weight of each cell (non-negative).
    scores : ndarray of shape (n_cells, n_classes)
        ``scores[c, y]``: the weight in cell ``c`` of class ``y``, i.e. the sum over its
        rows of ``weight * p(y | x)`` (rows summing to ``mass``).
    group : ndarray of int of shape (n_cells,)
        Group code (``0 .. n_groups - 1``) of each cell.
    constraints : {"demographic_parity", "equal_opportunity", "equalized_odds"}
    tol : float
        Largest gap allowed between two groups' rates.
    pos_index : int or None
        With ``"equal_opportunity"``, the only class whose recall is equalised (binary
        case); None equalises every class's recall.

    Returns
    -------
    policy : ndarray of shape (n_cells, n_classes)
        ``policy[c, k]``: probability of predicting class ``k`` in cell ``c``.
    value : float
        The optimal objective, ``sum(policy * scores) / sum(mass)`` (expected accuracy).
    """
    mass = np.asarray(mass, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    group = np.asarray(group, dtype=np.intp)
    n_cells, n_classes = scores.shape
    n_groups = int(group.max()) + 1
    n_pi = n_cells * n_classes
    total = mass.sum()
    # variables: policy (row-major, cell by class), then one free level r per constraint
    # row: r <= rate_a <= r + tol for every group a, i.e. max_a rate_a - min_a rate_a <= tol
    rows = []  # (group a, weights over cells (n_cells,), class k predicted, denominator)
    for a in range(n_groups):
        in_a = group == a
        if constraints == "demographic_parity":
            for k in range(n_classes):
                rows.append((a, np.where(in_a, mass, 0.0), k))
        else:
            labels = range(n_classes)
            if constraints == "equal_opportunity" and pos_index is not None:
                labels = [pos_index]
            for y in labels:
                w = np.where(in_a, scores[:, y], 0.0)
                ks = [y] if constraints == "equal_opportunity" else range(n_classes)
                for k in ks:
                    rows.append((a, w, k))
    # one level per (k, y) pattern: rows come per group in the same order
    per_group = len(rows) // n_groups
    n_var = n_pi + per_group
    data, ri, ci = [], [], []
    n_row = 0
    for idx, (_, w, k) in enumerate(rows):
        den = w.sum()
        level = n_pi + idx % per_group
        if den <= 0:
            continue  # a rate with no mass in this group: nothing to equalise
        cells = np.flatnonzero(w > 0)
        coef = w[cells] / den
        # rate - r <= tol   and   r - rate <= 0
        cols = np.r_[cells * n_classes + k, level]
        data.extend(np.r_[coef, -1.0])
        data.extend(np.r_[-coef, 1.0])
        ri.extend([n_row] * len(cols) + [n_row + 1] * len(cols))
        ci.extend(np.r_[cols, cols])
        n_row += 2
    a_ub = sparse.csr_matrix((data, (ri, ci)), shape=(n_row, n_var))
    b_ub = np.tile([tol, 0.0], n_row // 2)
    a_eq = sparse.hstack(
        [
            sparse.kron(sparse.identity(n_cells, format="csr"), np.ones((1, n_classes))),
            sparse.csr_matrix((n_cells, per_group)),
        ]
    ).tocsr()
    cost = np.r_[-(scores / total).ravel(), np.zeros(per_group)]
    bounds = np.c_[
        np.r_[np.zeros(n_pi), np.full(per_group, -np.inf)],
        np.r_[np.ones(n_pi), np.full(per_group, np.inf)],
    ]
    res = linprog(
        cost,
        A_ub=a_ub if n_row else None,
        b_ub=b_ub if n_row else None,
        A_eq=a_eq,
        b_eq=np.ones(n_cells),
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - feasible: a constant rule meets every constraint
        raise RuntimeError(f"fair linear program failed: {res.message}")
    policy = np.clip(res.x[:n_pi].reshape(n_cells, n_classes), 0.0, None)
    policy /= policy.sum(axis=1, keepdims=True)
    return policy, -res.fun


@fair_docstring
class LinearProgramPostprocessor(
    FairEstimatorMixin, FairClassifierMixin, CrossFitMixin, MetaEstimatorMixin,
    ClassifierMixin, BaseEstimator
):
    r"""Group-fair randomised decisions from class probabilities by a linear program.

    Xian & Zhao (2023, 2024) show that the most accurate classifier satisfying statistical
    parity, equal opportunity or equalized odds (each up to a tolerance) is obtained from
    the class probabilities :math:`s(x) = (p(y \mid x))_{y}` of a model by a *linear*
    post-processing: a randomised rule :math:`\pi_a(k \mid s)` per group. On the fitting
    data the scores of group :math:`a` are cut into cells :math:`c` of the probability
    simplex (a grid of ``n_bins`` steps per coordinate; bins of :math:`p(1 \mid x)` in the
    binary case) and the rule is constant on a cell, :math:`\pi_{c,k}`. With
    :math:`m_c` the weight of cell :math:`c`, :math:`S_{c,y} = \sum_{i \in c} w_i\, p(y
    \mid x_i)` and :math:`W_a` the weight of group :math:`a`, every quantity is linear in
    :math:`\pi`:

    .. math::

        \max_{\pi \ge 0,\ \sum_k \pi_{c,k} = 1} \ \sum_{c,k} \pi_{c,k} S_{c,k}
        \quad\text{s.t.}\quad r_j \le R_{a,j}(\pi) \le r_j + \text{tol}
        \quad \forall a, j,

    where :math:`r_j` are free levels (so :math:`\max_a R_{a,j} - \min_a R_{a,j} \le
    \text{tol}`, the gap fairkit's metrics report) and :math:`R_{a,j}` is, for
    ``"demographic_parity"``, :math:`\Pr(\hat Y = k \mid A = a) = \sum_{c \in a}
    \pi_{c,k} m_c / W_a` for every class :math:`k`; for ``"equalized_odds"``,
    :math:`\Pr(\hat Y = k \mid Y = y, A = a) = \sum_{c \in a} \pi_{c,k} S_{c,y} / \sum_{c
    \in a} S_{c,y}` for every :math:`k, y`; for ``"equal_opportunity"`` the same with
    :math:`k = y` (every class's recall; in the binary case only the favourable class's,
    the true-positive rate). The objective is the expected accuracy under the model's
    probabilities, so the rule is a group-wise threshold (argmax of shifted scores) with
    randomisation at the boundary. The program is solved with HiGHS
    (``scipy.optimize.linprog``); its size is the number of occupied cells times the number
    of classes (at most ``n_bins ** (n_classes - 1)`` cells per group, not the number of
    rows), so it stays small for millions of rows.

    Parameters
    ----------
    {estimator}
    {prot_attr}
    constraints : {"demographic_parity", "equal_opportunity", "equalized_odds"}, \
default="demographic_parity"
        The fairness criterion (see above).
    tol : float, default=0.0
        Largest gap between two groups' rates (each rate of the criterion); 0 is exact
        parity on the fitting data.
    n_bins : int or "auto", default="auto"
        Grid steps per coordinate of the probability simplex (cells of width
        ``1 / n_bins``). ``"auto"`` is ``floor(4096 ** (1 / (n_classes - 1)))`` (at least
        4): 4096 bins in the binary case, 64 per coordinate with 3 classes.
    {prefit}
    {cv}
    pos_label : scalar, default=None
        The favourable label (None: the greatest class); read only by
        ``constraints="equal_opportunity"`` with two classes.
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    estimator_ : classifier
        The wrapped model fitted on all the data (or ``estimator`` with ``prefit=True``).
    policy_ : ndarray of shape (n_cells, n_classes)
        Probability of predicting each class (order of ``classes_``) in each cell.
    cell_groups_ : ndarray of shape (n_cells,)
        Group code of each cell.
    cell_keys_ : ndarray of shape (n_cells, n_classes - 1)
        Grid coordinates of each cell (``floor(n_bins * p)`` of the first
        ``n_classes - 1`` class probabilities).
    n_bins_ : int
        ``n_bins`` resolved.
    objective_ : float
        Expected accuracy of the rule on the fitting data under the model's probabilities.
    {cv_}
    groups_ : list
        Group labels seen in ``fit``, in code order.
    prot_attr_names_ : list of str
    classes_ : ndarray of shape (n_classes,)
    pos_label_ : scalar
        The favourable label (the greater class when ``pos_label`` is None).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    The program uses the model's probabilities, not the labels, for both the objective and
    the label-conditional rates (as in the paper): the constraints hold on the fitting
    data under those probabilities, and on the labels as far as the model is calibrated
    (wrap it in ``CalibratedClassifierCV`` if it is not). Statistical parity does not
    involve labels and holds exactly on the fitting rows. By default the probabilities
    are out-of-fold (``cv="auto"``). At predict time a row falls in its group's cell; a
    cell not seen in ``fit`` takes the rule of the group's nearest seen cell (by the mean
    scores of the cell). ``predict_proba`` returns the rule's probabilities; ``predict``
    draws from them with ``random_state``. ``sample_weight`` weights the cells (without
    cross-fitting a weighted fit equals a fit on repeated rows) and is passed to the
    wrapped model's ``fit``. Only the attribute-aware form is implemented: the group is
    needed at predict time.

    References
    ----------
    .. [1] R. Xian, L. Yin, H. Zhao, "Fair and Optimal Classification via Post-Processing",
       ICML 2023.
    .. [2] R. Xian, H. Zhao, "Optimal Group Fair Classifiers from Linear Post-Processing",
       arXiv:2405.04025, 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.postprocessing import LinearProgramPostprocessor
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 1000); x = rng.normal(size=1000) + a
    >>> y = (x + rng.normal(size=1000) > 0.5).astype(int)
    >>> lp = LinearProgramPostprocessor(LogisticRegression(), prot_attr=0,
    ...                                 random_state=0).fit(np.c_[a, x], y)
    >>> p = lp.predict_proba(np.c_[a, x])[:, 1]
    >>> bool(abs(p[a == 0].mean() - p[a == 1].mean()) < 0.01)  # out-of-fold fit: near 0
    True
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "prot_attr": "no_validation",
        "constraints": [StrOptions(set(_CONSTRAINTS))],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_bins": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "prefit": ["boolean"],
        "cv": ["cv_object", StrOptions({"auto"})],
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        prot_attr=None,
        constraints="demographic_parity",
        tol=0.0,
        n_bins="auto",
        prefit=False,
        cv="auto",
        pos_label=None,
        drop_prot_attr=False,
        random_state=None,
    ):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.constraints = constraints
        self.tol = tol
        self.n_bins = n_bins
        self.prefit = prefit
        self.cv = cv
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    # the layer's routing (this post-processor's own fit sends the rest to the model)

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the wrapped model (unless ``prefit``) and the group rule on ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the cells (and of the wrapped model's fit, unless metadata routing
            is enabled, in which case they go where requested).
        **fit_params : dict
            Passed to ``estimator.fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        data = self._validate_fair_data(
            X,
            y,
            sensitive_features=sensitive_features,
            sample_weight=sample_weight,
            reset=True,
            min_groups=2,
            drop=self.drop_prot_attr,
            target="classification",
            accept_sparse=True,
        )
        y_arr = np.asarray(data.y)
        self.classes_, y_idx = np.unique(y_arr, return_inverse=True)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__}: y has only one class ({self.classes_[0]!r}); "
                "a classifier needs at least two."
            )
        if self.pos_label is None:
            self.pos_label_ = self.classes_[-1]
        else:
            match = [c for c in self.classes_ if same_label(c, self.pos_label)]
            if not match:
                raise ValueError(
                    f"pos_label={self.pos_label!r} is not a class of y; classes "
                    f"are {list(self.classes_)!r}."
                )
            self.pos_label_ = match[0]
        w = data.sample_weight
        check_weights_nonnegative(self, w)
        codes = np.asarray(data.codes)
        est_params = self._estimator_fit_params(sample_weight, fit_params)
        cells = y_idx * len(self.groups_) + codes
        k = len(self.groups_)
        cv = self._resolve_cross_fit(
            cells, lambda c: (f"the cell of group {_scalar(self.groups_[c % k])!r} with "
                              f"label {_scalar(self.classes_[c // k])!r}"),
            "rule", stacklevel=3)
        if self.estimator is None:
            raise ValueError(f"{type(self).__name__} needs an estimator; got estimator=None.")
        if cv is not None:
            proba = self._out_of_fold(data.X, y, cells, est_params, cv, self._proba)
        self.estimator_ = fit_or_check_estimator(self, data.X, y, est_params)
        if cv is None:
            proba = self._proba(self.estimator_, data.X)
        self.n_bins_ = _auto_bins(n_classes) if self.n_bins == "auto" else int(self.n_bins)
        weight = np.ones(len(y_idx)) if w is None else w
        # rows of zero weight make no cell (as if absent: a weighted fit is a fit on
        # repeated rows); at predict time they fall in the nearest cell like any new row
        keep = weight > 0
        proba, codes, weight = proba[keep], codes[keep], weight[keep]
        uniq, inverse = self._unique_cells(proba, codes)
        n_cells = len(uniq)
        mass = np.bincount(inverse, weights=weight, minlength=n_cells)
        scores = np.column_stack(
            [
                np.bincount(inverse, weights=weight * proba[:, k], minlength=n_cells)
                for k in range(n_classes)
            ]
        )
        pos_index = None
        if n_classes == 2 and self.constraints == "equal_opportunity":
            pos_index = int(
                np.flatnonzero([same_label(c, self.pos_label_) for c in self.classes_])[0]
            )
        cell_group = uniq[:, 0].astype(np.intp)
        present = np.bincount(cell_group[mass > 0], minlength=len(self.groups_))
        if (present == 0).any():
            empty = [self.groups_[g] for g in np.flatnonzero(present == 0)]
            raise ValueError(
                f"{type(self).__name__}: the group(s) {empty!r} have no "
                "positive sample_weight; give them weight or leave them out."
            )
        self.policy_, self.objective_ = fair_linear_program(
            mass,
            scores,
            cell_group,
            constraints=self.constraints,
            tol=float(self.tol),
            pos_index=pos_index,
        )
        self.cell_groups_ = cell_group
        self.cell_keys_ = uniq[:, 1:]
        centroid = scores / np.maximum(mass, np.finfo(float).tiny)[:, None]
        self._trees = {}
        for g in range(len(self.groups_)):
            idx = np.flatnonzero(cell_group == g)
            self._trees[g] = (idx, cKDTree(centroid[idx, :-1]))
        self._cell_packed = self._pack(uniq)
        self._warn_if_constant(proba, codes, inverse)
        self.cv_ = cv
        return self

    # -- helpers ---------------------------------------------------------------------
    def _proba(self, estimator, X_model):
        """Class probabilities of ``estimator`` in the order of ``classes_`` (a class the
        estimator does not know gets probability 0)."""
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"{type(self).__name__} needs class probabilities: the estimator "
                f"{type(estimator).__name__} has no predict_proba."
            )
        p = np.asarray(estimator.predict_proba(X_model), dtype=np.float64)
        out = np.zeros((p.shape[0], len(self.classes_)))
        for j, c in enumerate(getattr(estimator, "classes_", self.classes_)):
            k = [i for i, d in enumerate(self.classes_) if same_label(c, d)]
            if not k:
                raise ValueError(
                    f"{type(self).__name__}: the estimator's class {c!r} is not "
                    f"a class of y ({list(self.classes_)!r})."
                )
            out[:, k[0]] = p[:, j]
        return np.clip(out, 0.0, 1.0)

    def _grid(self, proba):
        cells = np.floor(proba[:, :-1] * self.n_bins_)
        return np.minimum(cells, self.n_bins_ - 1).astype(np.int64)

    def _pack(self, rows):
        """One int64 per (group, grid cell) row, in the rows' lexicographic order; None
        when the grid is too large to pack (then rows are compared whole)."""
        base = self.n_bins_
        if np.log2(len(self.groups_)) + (rows.shape[1] - 1) * np.log2(base) >= 62:
            return None
        key = rows[:, 0].astype(np.int64)
        for j in range(1, rows.shape[1]):
            key = key * base + rows[:, j]
        return key

    def _unique_cells(self, proba, codes):
        """The distinct (group, grid cell) rows, sorted, and each row's index among them."""
        rows = np.c_[codes, self._grid(proba)]
        packed = self._pack(rows)
        if packed is None:
            uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
            return uniq, inverse.ravel()
        _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        return rows[first], inverse.ravel()

    def _cells_of(self, proba, codes):
        """Index into ``policy_`` of each row's cell; an unseen cell takes the nearest seen
        cell of its group (by the cells' mean scores)."""
        uniq, inverse = self._unique_cells(proba, codes)
        if self._cell_packed is not None:
            keys = self._pack(uniq)
            pos = np.minimum(np.searchsorted(self._cell_packed, keys), len(self._cell_packed) - 1)
            found = self._cell_packed[pos] == keys
            cell_of_uniq = np.where(found, pos, -1)
        else:
            index = {
                tuple(r): i
                for i, r in enumerate(np.c_[self.cell_groups_, self.cell_keys_].tolist())
            }
            cell_of_uniq = np.array([index.get(tuple(r), -1) for r in uniq.tolist()], dtype=np.intp)
        missing = np.flatnonzero(cell_of_uniq < 0)
        if len(missing):
            # a representative row of each unseen cell
            first = np.full(len(uniq), -1, dtype=np.intp)
            first[inverse[::-1]] = np.arange(len(inverse))[::-1]
            for g in np.unique(uniq[missing, 0]):
                these = missing[uniq[missing, 0] == g]
                idx, tree = self._trees[int(g)]
                cell_of_uniq[these] = idx[tree.query(proba[first[these], :-1])[1]]
        return cell_of_uniq[inverse]

    def _warn_if_constant(self, proba, codes, inverse):
        from ..base import ConstantFitWarning

        hard = self.policy_.argmax(axis=1)
        decided = np.all(self.policy_.max(axis=1) > 1 - 1e-9)
        if decided and len(np.unique(hard[inverse])) == 1 and len(self.classes_) > 1:
            warnings.warn(
                f"{type(self).__name__}: the rule predicts class "
                f"{_plain(self.classes_[hard[inverse[0]]])!r} for every training row (constraints="
                f"{self.constraints!r}, tol={self.tol!r}); the model's probabilities may "
                "carry no signal the constraint allows to keep.",
                ConstantFitWarning,
                stacklevel=3,
            )

    # -- prediction --------------------------------------------------------------------
    def _policy_rows(self, X, sensitive_features):
        check_is_fitted(self)
        data = self._validate_fair_data(
            X,
            sensitive_features=sensitive_features,
            reset=False,
            drop=self.drop_prot_attr,
            accept_sparse=True,
        )
        proba = self._proba(self.estimator_, data.X)
        return self.policy_[self._cells_of(proba, np.asarray(data.codes))]

    def predict_proba(self, X, *, sensitive_features=None):
        """Probability of each class (order of ``classes_``) under the randomised rule.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._policy_rows(X, sensitive_features)

    def predict(self, X, *, sensitive_features=None):
        """Labels drawn from the rule (an int ``random_state`` gives the same draws on
        every call).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        p = self._policy_rows(X, sensitive_features)
        rng = check_random_state(self.random_state)
        u = rng.random_sample(len(p))
        k = (np.cumsum(p, axis=1) < u[:, None]).sum(axis=1)
        return self.classes_[np.minimum(k, len(self.classes_) - 1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        if self.estimator is not None:
            try:
                inner = self.estimator.__sklearn_tags__()
                tags.input_tags.sparse = inner.input_tags.sparse
                tags.input_tags.allow_nan = inner.input_tags.allow_nan
            except AttributeError:
                pass
        return tags
