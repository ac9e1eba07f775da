"""Group-fair post-processing of class probabilities by a linear program (Xian & Zhao)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.spatial import cKDTree
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_features, check_is_fitted

from .._groups import scalar as _scalar
from .._validation import check_weights_nonnegative, same_label, validate_fair_data
from ..base import CrossFitMixin, FairClassifierMixin, FairEstimatorMixin
from ..utils._docstring import fair_docstring
from ..utils._outputs import fit_clone, fit_or_check_estimator

__all__ = ["LinearProgramPostprocessor", "fair_linear_program"]

_CONSTRAINTS = ("demographic_parity", "equal_opportunity", "equalized_odds")

#: Cells of the simplex grid aimed at per group by ``n_bins="auto"``.
_AUTO_CELLS = 4096

#: Attribute-blind mode: below this out-of-fold AUC of the group model for the true
#: groups, ``fit`` warns that the parity constraint cannot act.
_BLIND_MIN_AUC = 0.55


def _plain(label):
    return label.item() if isinstance(label, np.generic) else label


def _auto_bins(n_classes):
    # the exact root when it is an integer (4096 ** (1/3) is 15.999... in floating point)
    return max(4, int(np.floor(_AUTO_CELLS ** (1.0 / (n_classes - 1)) + 1e-9)))


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
    group : ndarray of int of shape (n_cells,), or of float of shape (n_cells, n_groups)
        Group code (``0 .. n_groups - 1``) of each cell; or (attribute-blind) the expected
        weight of each group in each cell, ``group[c, a] = sum_{i in c} w_i Pr(A = a |
        x_i)``, with which the rates are expected group rates (``"demographic_parity"``
        only).
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
    group = np.asarray(group)
    n_cells, n_classes = scores.shape
    membership = None
    if group.ndim == 2:
        if constraints != "demographic_parity":
            raise ValueError(
                "group membership weights (attribute-blind rates) support "
                f"constraints='demographic_parity' only; got constraints={constraints!r}."
            )
        membership = group.astype(np.float64)
        n_groups = membership.shape[1]
    else:
        group = group.astype(np.intp)
        n_groups = int(group.max()) + 1
    n_pi = n_cells * n_classes
    total = mass.sum()
    # variables: policy (row-major, cell by class), then one free level r per constraint
    # row: r <= rate_a <= r + tol for every group a, i.e. max_a rate_a - min_a rate_a <= tol
    rows = []  # (group a, weights over cells (n_cells,), class k predicted, denominator)
    for a in range(n_groups):
        if constraints == "demographic_parity":
            w = membership[:, a] if membership is not None else np.where(group == a, mass, 0.0)
            for k in range(n_classes):
                rows.append((a, w, k))
            continue
        in_a = group == a
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
    FairEstimatorMixin,
    FairClassifierMixin,
    CrossFitMixin,
    MetaEstimatorMixin,
    ClassifierMixin,
    BaseEstimator,
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

    **Attribute-blind mode** (``group_model`` set; Xian et al. 2023, Sec. 4): the group is
    not needed at predict time. A second model :math:`q(a \mid x)` of the group given the
    features (the protected column(s) left out) is fitted, and the rule reads both
    outputs: the cells :math:`c` are a grid over :math:`(p(\cdot \mid x), q(\cdot \mid x))`
    (``n_bins`` steps on each of the first ``n_classes - 1`` class probabilities and the
    first ``n_groups - 1`` group probabilities), one rule for all rows. The rates are the
    *expected* group rates, with :math:`Q_{c,a} = \sum_{i \in c} w_i\, q(a \mid x_i)`:

    .. math::

        R_{a,k}(\pi) = \frac{\sum_c \pi_{c,k}\, Q_{c,a}}{\sum_c Q_{c,a}}
        \;\approx\; \Pr(\hat Y = k \mid A = a),

    which equal the true group rates in expectation when :math:`q` is the calibrated
    posterior of :math:`A` (the decision depends on :math:`x` alone, so
    :math:`E[\pi(X)\,1\{A = a\}] = E[\pi(X)\, q(a \mid X)]`). Only
    ``"demographic_parity"`` has this form (the label-conditional criteria would need the
    joint :math:`p(y, a \mid x)`). The parity reached on the true groups is as good as
    :math:`q` is calibrated; how far :math:`q` tells the groups apart bounds how much
    disparity the rule can remove: with :math:`q` constant every rule has equal expected
    rates and the constraint cannot act (``fit`` warns when the out-of-fold AUC of
    :math:`q` for the groups is below 0.55).

    Parameters
    ----------
    {estimator}
    {prot_attr}
    constraints : {"demographic_parity", "equal_opportunity", "equalized_odds"}, \
default="demographic_parity"
        The fairness criterion (see above); ``"demographic_parity"`` only in the
        attribute-blind mode.
    tol : float, default=0.0
        Largest gap between two groups' rates (each rate of the criterion); 0 is exact
        parity on the fitting data.
    n_bins : int or "auto", default="auto"
        Grid steps per coordinate (cells of width ``1 / n_bins``). ``"auto"`` is
        ``floor(4096 ** (1 / d))`` (at least 4) for ``d`` coordinates: ``d = n_classes -
        1`` (4096 bins in the binary case, 64 per coordinate with 3 classes), and ``d =
        n_classes + n_groups - 2`` in the attribute-blind mode (64 per coordinate for a
        binary target and two groups).
    group_model : None, "auto" or classifier, default=None
        None: attribute-aware (the group is read at predict time, one rule per group).
        Otherwise attribute-blind (see above): the model of :math:`\Pr(A \mid X)`, a
        classifier with ``predict_proba`` fitted here on the features without the
        protected column(s) and the group codes ``0 .. n_groups - 1`` (with the fit's
        ``sample_weight`` as ``sample_weight``); it is cross-fitted with the folds of
        ``cv`` (with ``prefit=True`` and ``cv="auto"`` it is still cross-fitted, with the
        folds ``cv="auto"`` would use without ``prefit``; ``cv=None`` fits it in-sample).
        ``"auto"`` is a ``HistGradientBoostingClassifier`` with early stopping at every
        size (30 rounds when a group has fewer than 20 rows; scale-free; categorical and
        string columns ordinal-encoded and given to it as categorical, at most 250 levels
        each; missing values allowed), or a ``MaxAbsScaler`` + ``LogisticRegression`` on
        sparse input. ``estimator`` then also
        sees ``X`` without the protected column(s) (``drop_prot_attr`` is not read).
    {prefit}
    {cv}
    {memory}
    pos_label : scalar, default=None
        The favourable label (None: the greatest class); read only by
        ``constraints="equal_opportunity"`` with two classes.
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    estimator_ : classifier
        The wrapped model fitted on all the data (or ``estimator`` with ``prefit=True``).
    group_model_ : classifier or None
        The group model fitted on all the data (attribute-blind mode), else None.
    policy_ : ndarray of shape (n_cells, n_classes)
        Probability of predicting each class (order of ``classes_``) in each cell.
    cell_groups_ : ndarray of shape (n_cells,)
        Group code of each cell (-1 in the attribute-blind mode: a cell holds every group).
    cell_group_proba_ : ndarray of shape (n_cells, n_groups) or None
        Attribute-blind mode: the mean group probability :math:`Q_{c,a} / m_c` of each
        cell (the weights of the expected rates); else None.
    cell_keys_ : ndarray of shape (n_cells, n_coordinates)
        Grid coordinates of each cell (``floor(n_bins * p)`` of the first ``n_classes -
        1`` class probabilities, then in the attribute-blind mode of the first ``n_groups
        - 1`` group probabilities).
    n_bins_ : int
        ``n_bins`` resolved.
    objective_ : float
        Expected accuracy of the rule on the fitting data under the model's probabilities.
    group_auc_ : float or None
        Attribute-blind mode: the AUC of the group model's (out-of-fold) probabilities for
        the true groups on the fitting rows (one-vs-rest, weighted by group size, with
        more than two groups); 0.5 means it cannot tell them apart. Else None.
    group_gap_ : float or None
        Attribute-blind mode: the largest gap between the groups' rates of a class under
        the rule on the fitting rows, counted on their true groups (each row in the cell of
        its out-of-fold outputs). The expected-rate gap is at most ``tol`` by construction;
        this shows how far the group model carries it to the true groups (it is as close
        as the group probabilities are calibrated within the cells). Else None.
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
    involve labels and holds exactly on the fitting rows (attribute-aware; in the
    attribute-blind mode it holds exactly for the expected rates, and on the true groups
    as far as the group model is calibrated). By default the probabilities are
    out-of-fold (``cv="auto"``). At predict time a row falls in its cell (attribute-aware:
    its group's); a cell not seen in ``fit`` takes the rule of the nearest seen cell (of
    the group; by the mean coordinates of the cell). ``predict_proba`` returns the rule's
    probabilities; ``predict`` draws from them with ``random_state``. ``sample_weight``
    weights the cells (without cross-fitting a weighted fit equals a fit on repeated rows)
    and is passed to the wrapped model's ``fit`` (and the group model's).

    How ``X`` is read at predict time in the attribute-blind mode: the protected
    column(s) may be present (in their fitted place; they are dropped, their values not
    read, and ``sensitive_features`` is not read either) or absent (``X`` then has the
    other columns, in the fitted order and with the fitted names). A DataFrame is read as
    holding them when it has the fitted protected column names; an array when it has
    ``n_features_in_`` columns. When the attribute was given in ``fit`` through
    ``sensitive_features``, ``X`` is the same columns as in ``fit``.

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
        "group_model": [None, StrOptions({"auto"}), HasMethods(["fit", "predict_proba"])],
        **CrossFitMixin._cross_fit_constraints,
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
        group_model=None,
        prefit=False,
        cv="auto",
        memory=None,
        pos_label=None,
        drop_prot_attr=False,
        random_state=None,
    ):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.constraints = constraints
        self.tol = tol
        self.n_bins = n_bins
        self.group_model = group_model
        self.prefit = prefit
        self.cv = cv
        self.memory = memory
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    # the layer's routing (this post-processor's own fit sends the rest to the model)

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the wrapped model (unless ``prefit``), the group model (attribute-blind
        mode) and the rule on ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the cells (and of the wrapped model's fit, unless metadata routing
            is enabled, in which case they go where requested; and of the group model's).
        **fit_params : dict
            Passed to ``estimator.fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        blind = self.group_model is not None
        if blind and self.constraints != "demographic_parity":
            raise ValueError(
                f"{type(self).__name__}: the attribute-blind mode (group_model="
                f"{self.group_model!r}) has expected group rates for "
                "constraints='demographic_parity' only; got constraints="
                f"{self.constraints!r} (use group_model=None, attribute-aware, for it)."
            )
        data = self._validate_fair_data(
            X,
            y,
            sensitive_features=sensitive_features,
            sample_weight=sample_weight,
            reset=True,
            min_groups=2,
            drop=self.drop_prot_attr or blind,
            target="classification",
            accept_sparse=True,
        )
        if blind and len(data.feature_idx) == 0:
            raise ValueError(
                f"{type(self).__name__} (attribute-blind, group_model={self.group_model!r}) "
                "needs at least one feature besides the protected column(s) "
                f"{list(data.prot_idx)!r}; X has {self.n_features_in_} feature(s)."
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
        n_groups = len(self.groups_)
        # the protected columns of X and the columns the models read, for predict in the
        # attribute-blind mode (X with or without the protected columns)
        self._prot_columns = [] if data.protected is None else list(data.protected.columns)
        names = getattr(self, "feature_names_in_", None)
        self._model_layout = _ModelLayout(
            len(data.feature_idx), None if names is None else names[data.feature_idx]
        )
        est_params = self._estimator_fit_params(sample_weight, fit_params)
        cells = y_idx * n_groups + codes
        k = n_groups

        def describe(c):
            return (
                f"the cell of group {_scalar(self.groups_[c % k])!r} with "
                f"label {_scalar(self.classes_[c // k])!r}"
            )

        cv = self._resolve_cross_fit(cells, describe, "rule", stacklevel=3)
        if self.estimator is None:
            raise ValueError(f"{type(self).__name__} needs an estimator; got estimator=None.")
        if cv is not None:
            proba = self._out_of_fold(data.X, y, cells, est_params, cv, self._proba)
        self.estimator_ = fit_or_check_estimator(self, data.X, y, est_params)
        if cv is None:
            proba = self._proba(self.estimator_, data.X)
        self.group_model_, self.group_auc_, self.cell_group_proba_ = None, None, None
        gproba = None
        if blind:
            gproba = self._fit_group_model(data, codes, cells, w, cv, describe)
        n_coords = n_classes - 1 + (n_groups - 1 if blind else 0)
        self.n_bins_ = _auto_bins(n_coords + 1) if self.n_bins == "auto" else int(self.n_bins)
        weight = np.ones(len(y_idx)) if w is None else w
        # rows of zero weight make no cell (as if absent: a weighted fit is a fit on
        # repeated rows); at predict time they fall in the nearest cell like any new row
        keep = weight > 0
        proba, codes, weight = proba[keep], codes[keep], weight[keep]
        present = np.bincount(codes, minlength=n_groups)
        if (present == 0).any():
            empty = [self.groups_[g] for g in np.flatnonzero(present == 0)]
            raise ValueError(
                f"{type(self).__name__}: the group(s) {empty!r} have no "
                "positive sample_weight; give them weight or leave them out."
            )
        coords = self._coordinates(proba, None if gproba is None else gproba[keep])
        cell_codes = np.zeros_like(codes) if blind else codes
        uniq, inverse = self._unique_cells(coords, cell_codes)
        n_cells = len(uniq)
        mass = np.bincount(inverse, weights=weight, minlength=n_cells)

        def per_cell(values):
            return np.column_stack(
                [
                    np.bincount(inverse, weights=weight * values[:, j], minlength=n_cells)
                    for j in range(values.shape[1])
                ]
            )

        scores = per_cell(proba)
        pos_index = None
        if n_classes == 2 and self.constraints == "equal_opportunity":
            pos_index = int(
                np.flatnonzero([same_label(c, self.pos_label_) for c in self.classes_])[0]
            )
        if blind:
            membership = per_cell(gproba[keep])
            self.cell_group_proba_ = membership / mass[:, None]
            cell_group = np.full(n_cells, -1, dtype=np.intp)
            lp_groups = membership
        else:
            cell_group = uniq[:, 0].astype(np.intp)
            lp_groups = cell_group
        self.policy_, self.objective_ = fair_linear_program(
            mass,
            scores,
            lp_groups,
            constraints=self.constraints,
            tol=float(self.tol),
            pos_index=pos_index,
        )
        self.cell_groups_ = cell_group
        self.cell_keys_ = uniq[:, 1:]
        self.group_gap_ = None
        if blind:
            self._check_true_groups(self.policy_[inverse], codes, weight)
        centroid = per_cell(coords) / mass[:, None]
        self._trees = {}
        for g in np.unique(uniq[:, 0]):
            idx = np.flatnonzero(uniq[:, 0] == g)
            self._trees[int(g)] = (idx, cKDTree(centroid[idx]))
        self._cell_packed = self._pack(uniq)
        self._warn_if_constant(proba, codes, inverse)
        self.cv_ = cv
        return self

    # -- attribute-blind mode ----------------------------------------------------------
    def _fit_group_model(self, data, codes, cells, w, cv, describe):
        """Fit ``group_model_`` on the features and the group codes; return its
        (out-of-fold) group probabilities on the fitting rows and record ``group_auc_``."""
        from sklearn.base import clone
        from sklearn.utils.validation import has_fit_parameter

        n_groups = len(self.groups_)
        if isinstance(self.group_model, str):  # "auto"
            model, weight_key = _auto_group_model(
                data.X, self.random_state, int(np.bincount(codes).min())
            )
        else:
            model, weight_key = clone(self.group_model), "sample_weight"
            if w is not None and not has_fit_parameter(model, "sample_weight"):
                raise ValueError(
                    f"{type(self).__name__}: group_model={self.group_model!r} takes no "
                    "sample_weight in fit, but the fit is weighted; use a group model that "
                    "does (or a Pipeline under group_model='auto')."
                )
        params = {} if w is None else {weight_key: w}
        gcv = cv
        if cv is None and self.prefit and isinstance(self.cv, str):
            # prefit: the class model was fitted elsewhere, the group model is fitted here
            gcv = self._resolve_cross_fit(cells, describe, "group model", stacklevel=4,
                                          prefit=False)
        if gcv is not None:
            gproba = self._out_of_fold(data.X, codes, cells, params, gcv, self._group_proba,
                                       estimator=model)
        self.group_model_ = fit_clone(self, data.X, codes, params, estimator=model)
        if gcv is None:
            gproba = self._group_proba(self.group_model_, data.X)
        from sklearn.metrics import roc_auc_score

        keep = np.ones(len(codes), bool) if w is None else w > 0
        sw = None if w is None else w[keep]
        if n_groups == 2:
            self.group_auc_ = float(roc_auc_score(codes[keep], gproba[keep, 1], sample_weight=sw))
        else:
            self.group_auc_ = float(
                roc_auc_score(
                    codes[keep],
                    gproba[keep],
                    multi_class="ovr",
                    average="weighted",
                    labels=np.arange(n_groups),
                    sample_weight=sw,
                )
            )
        if self.group_auc_ < _BLIND_MIN_AUC:
            warnings.warn(
                f"{type(self).__name__}: the group model (group_model="
                f"{self.group_model!r}) cannot tell the groups {self.groups_!r} apart "
                f"from the features: its out-of-fold AUC for them is "
                f"{self.group_auc_:.3f} (below {_BLIND_MIN_AUC}). The expected group rates "
                "of any rule are then (nearly) equal, so the parity constraint cannot act "
                f"(tol={self.tol!r}): the rule keeps the model's decisions, or, where the "
                "group probabilities still vary a little, is pushed towards constant "
                "decisions, and the parity on the true groups is not controlled. Give the "
                "attribute at predict time (group_model=None) or features that predict it.",
                UserWarning,
                stacklevel=3,
            )
        return gproba

    def _check_true_groups(self, rule, codes, weight):
        """``group_gap_``: the rule's gap on the true groups of the fitting rows; warn when
        it exceeds ``tol`` by more than three standard errors of a gap between two group
        rates (the expected rates are then not what the true groups get)."""
        n_groups = len(self.groups_)
        rates, n_eff = [], []
        for g in range(n_groups):
            wg = weight[codes == g]
            rates.append(np.average(rule[codes == g], axis=0, weights=wg))
            n_eff.append(wg.sum() ** 2 / (wg**2).sum())
        rates, n_eff = np.array(rates), np.array(n_eff)
        gaps = np.ptp(rates, axis=0)
        k = int(np.argmax(gaps))
        self.group_gap_ = float(gaps[k])
        hi, lo = int(np.argmax(rates[:, k])), int(np.argmin(rates[:, k]))
        se = np.sqrt(sum(rates[g, k] * (1 - rates[g, k]) / n_eff[g] for g in (hi, lo)))
        if self.group_gap_ > self.tol + 3 * se:
            warnings.warn(
                f"{type(self).__name__}: on the fitting rows the rule's rate of class "
                f"{_plain(self.classes_[k])!r} differs by {self.group_gap_:.4f} between "
                f"the true groups {_plain(self.groups_[hi])!r} and "
                f"{_plain(self.groups_[lo])!r} (more than tol={self.tol!r} plus three "
                f"standard errors, {3 * se:.4f}), although the expected rates under the "
                f"group model (group_model={self.group_model!r}, out-of-fold AUC "
                f"{self.group_auc_:.3f}) are within tol: its group probabilities are not "
                "calibrated within the rule's cells (the class probabilities carry group "
                "information they lack), so the parity holds for the expected rates only. "
                "A better or calibrated group model, fewer cells (n_bins), or "
                "group_model=None (the attribute read at predict time) would hold it.",
                UserWarning,
                stacklevel=3,
            )

    def _group_proba(self, model, X_model):
        """Group probabilities of ``model`` in code order (a code the model did not see
        gets probability 0)."""
        n_groups = len(self.groups_)
        p = np.asarray(model.predict_proba(X_model), dtype=np.float64)
        seen = np.asarray(getattr(model, "classes_", np.arange(p.shape[1])))
        if p.ndim != 2 or p.shape[1] != len(seen) or not np.isin(seen, np.arange(n_groups)).all():
            raise ValueError(
                f"{type(self).__name__}: group_model={self.group_model!r} must return one "
                f"probability column per group code 0 .. {n_groups - 1} it was fitted on; "
                f"it returned shape {p.shape} for the classes {seen.tolist()!r}."
            )
        out = np.zeros((p.shape[0], n_groups))
        out[:, seen.astype(np.intp)] = p
        return np.clip(out, 0.0, 1.0)

    def _model_input_blind(self, X):
        """The model matrix at predict time in the attribute-blind mode: ``X`` without the
        protected column(s), whether they are in ``X`` or not (see the Notes)."""
        from ..utils._dataframe import to_pandas

        X = to_pandas(X)
        prot_cols = getattr(self, "_prot_columns", [])
        if not prot_cols:  # the attribute came through sensitive_features: X as in fit
            return self._validate_fair_data(X, reset=False, protected="none", accept_sparse=True).X
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in prot_cols):
            present = all(c in X.columns for c in prot_cols)
        else:
            try:
                present = _num_features(X) == self.n_features_in_
            except (TypeError, ValueError):  # 1-D input and the like: the layer's message
                present = True
        if present:
            return self._validate_fair_data(
                X, reset=False, protected="columns", drop=True, map_groups=False, accept_sparse=True
            ).X
        layout = self._model_layout
        try:
            return validate_fair_data(
                layout, X, reset=False, protected="none", accept_sparse=True
            ).X
        except ValueError as exc:
            raise ValueError(
                f"{type(self).__name__} (attribute-blind) reads X with the protected "
                f"column(s) {prot_cols!r} ({self.n_features_in_} columns) or without them "
                f"({layout.n_features_in_} columns): {exc}"
            ) from None

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

    @staticmethod
    def _coordinates(proba, gproba):
        """The coordinates the cells cut: the first ``n_classes - 1`` class probabilities,
        then (attribute-blind) the first ``n_groups - 1`` group probabilities."""
        if gproba is None:
            return proba[:, :-1]
        return np.c_[proba[:, :-1], gproba[:, :-1]]

    def _grid(self, coords):
        cells = np.floor(coords * self.n_bins_)
        return np.clip(cells, 0, self.n_bins_ - 1).astype(np.int64)

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

    def _unique_cells(self, coords, codes):
        """The distinct (group, grid cell) rows, sorted, and each row's index among them."""
        rows = np.c_[codes, self._grid(coords)]
        packed = self._pack(rows)
        if packed is None:
            uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
            return uniq, inverse.ravel()
        _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
        return rows[first], inverse.ravel()

    def _cells_of(self, coords, codes):
        """Index into ``policy_`` of each row's cell; an unseen cell takes the nearest seen
        cell of its group (by the cells' mean coordinates)."""
        uniq, inverse = self._unique_cells(coords, codes)
        if self._cell_packed is not None:
            keys = self._pack(uniq)
            pos = np.minimum(np.searchsorted(self._cell_packed, keys), len(self._cell_packed) - 1)
            found = self._cell_packed[pos] == keys
            cell_of_uniq = np.where(found, pos, -1)
        else:
            first_col = np.maximum(self.cell_groups_, 0)  # -1 (blind) is code 0 here
            index = {tuple(r): i for i, r in enumerate(np.c_[first_col, self.cell_keys_].tolist())}
            cell_of_uniq = np.array([index.get(tuple(r), -1) for r in uniq.tolist()], dtype=np.intp)
        missing = np.flatnonzero(cell_of_uniq < 0)
        if len(missing):
            # a representative row of each unseen cell
            first = np.full(len(uniq), -1, dtype=np.intp)
            first[inverse[::-1]] = np.arange(len(inverse))[::-1]
            for g in np.unique(uniq[missing, 0]):
                these = missing[uniq[missing, 0] == g]
                idx, tree = self._trees[int(g)]
                cell_of_uniq[these] = idx[tree.query(coords[first[these]])[1]]
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
        if self.group_model_ is not None:
            X_model = self._model_input_blind(X)
            proba = self._proba(self.estimator_, X_model)
            gproba = self._group_proba(self.group_model_, X_model)
            coords = self._coordinates(proba, gproba)
            return self.policy_[self._cells_of(coords, np.zeros(len(proba), np.intp))]
        data = self._validate_fair_data(
            X,
            sensitive_features=sensitive_features,
            reset=False,
            drop=self.drop_prot_attr,
            accept_sparse=True,
        )
        proba = self._proba(self.estimator_, data.X)
        return self.policy_[self._cells_of(self._coordinates(proba, None), np.asarray(data.codes))]

    def predict_proba(self, X, *, sensitive_features=None):
        """Probability of each class (order of ``classes_``) under the randomised rule.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            In the attribute-blind mode the protected column(s) may be left out (see the
            Notes).
        sensitive_features : array-like, default=None
            Not read in the attribute-blind mode.

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
            In the attribute-blind mode the protected column(s) may be left out (see the
            Notes).
        sensitive_features : array-like, default=None
            Not read in the attribute-blind mode.

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


class _ModelLayout:
    """The columns the models read (``X`` without the protected ones), for the layer's
    feature checks when the protected columns are left out of ``X`` at predict time."""

    def __init__(self, n_features, names):
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = names


def _auto_group_model(X, random_state, smallest_group):
    """``group_model="auto"``: gradient-boosted trees on the raw columns (categorical ones
    ordinal-encoded), or a scaled logistic regression on sparse input; and the name its
    ``fit`` takes ``sample_weight`` under."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MaxAbsScaler, OrdinalEncoder

    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    if sparse.issparse(X):
        model = Pipeline([("scale", MaxAbsScaler()), ("model", LogisticRegression(max_iter=1000))])
        return model, "model__sample_weight"
    if isinstance(X, pd.DataFrame):
        kinds = list(X.dtypes)
        categorical = [
            j
            for j, d in enumerate(kinds)
            if not (pd.api.types.is_numeric_dtype(d) or pd.api.types.is_bool_dtype(d))
        ]
    else:
        arr = np.asarray(X)
        categorical = []
        if arr.dtype.kind in "OUSb":
            for j in range(arr.shape[1]):
                try:
                    np.asarray(arr[:, j], dtype=np.float64)
                except (TypeError, ValueError):
                    categorical.append(j)
    # early stopping on a held-out tenth at every size (scikit-learn's default stops only
    # above 10,000 rows): 100 unchecked rounds overfit the group probabilities, and the
    # expected rates are only as right as those probabilities are calibrated
    # (its stratified tenth needs every group in it: with fewer than 20 rows in a group, 30
    # unchecked rounds instead)
    if smallest_group >= 20:
        trees = HistGradientBoostingClassifier(early_stopping=True, random_state=random_state)
    else:
        trees = HistGradientBoostingClassifier(
            max_iter=30, early_stopping=False, random_state=random_state
        )
    if not categorical:
        return Pipeline([("model", trees)]), "model__sample_weight"
    numeric = [j for j in range(X.shape[1]) if j not in categorical]
    encode = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    max_categories=250,
                ),
                categorical,
            ),
            ("num", "passthrough", numeric),
        ],
        remainder="drop",
    )
    trees.set_params(categorical_features=list(range(len(categorical))))
    return Pipeline([("encode", encode), ("model", trees)]), "model__sample_weight"
