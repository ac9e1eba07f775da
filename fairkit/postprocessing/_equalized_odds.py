"""Equalized-odds post-processing of a classifier's hard predictions (Hardt et al. 2016)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from sklearn.utils._param_validation import StrOptions

from ..base import BasePostProcessor
from ..utils._docstring import fair_docstring

__all__ = ["EqualizedOddsPostprocessor"]


def equalized_odds_lp(counts, objective="accuracy"):
    r"""Solve Hardt et al.'s linear program for the mixing probabilities.

    Parameters
    ----------
    counts : ndarray of shape (n_groups, 2, 2)
        ``counts[g, y, h]``: number (or weight) of samples of group ``g`` with true label
        ``y`` and original prediction ``h`` (1 = favourable).
    objective : {"accuracy", "balanced_accuracy"}

    Returns
    -------
    mix : ndarray of shape (n_groups, 2)
        ``mix[g, h]`` = P(new prediction = 1 | original prediction = h, group g).
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_groups = counts.shape[0]
    n_pos = counts[:, 1, :].sum(axis=1)
    n_neg = counts[:, 0, :].sum(axis=1)
    # rates as linear functions of the 2 * n_groups variables p[g, h] (row-major)
    tpr = np.zeros((n_groups, 2 * n_groups))
    fpr = np.zeros((n_groups, 2 * n_groups))
    for g in range(n_groups):
        tpr[g, 2 * g:2 * g + 2] = counts[g, 1] / n_pos[g]
        fpr[g, 2 * g:2 * g + 2] = counts[g, 0] / n_neg[g]
    if objective == "accuracy":
        # expected 0-1 loss: sum_g,h  p[g,h] * (n[g,0,h] - n[g,1,h]) / n  (+ constant)
        cost = (counts[:, 0, :] - counts[:, 1, :]).ravel() / counts.sum()
    else:
        # mean over groups of (FPR_g + FNR_g) / 2 = 1 - balanced accuracy (+ constant)
        cost = (fpr - tpr).sum(axis=0) / (2 * n_groups)
    a_eq = np.vstack([tpr[1:] - tpr[0], fpr[1:] - fpr[0]])
    if n_groups == 2:
        x = _two_group_vertex_search(cost, a_eq)
        if x is not None:
            return x.reshape(2, 2)
    res = linprog(cost, A_eq=a_eq, b_eq=np.zeros(len(a_eq)), bounds=(0.0, 1.0),
                  method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible (p = constant)
        raise RuntimeError(f"equalized-odds linear program failed: {res.message}")
    return np.clip(res.x, 0.0, 1.0).reshape(n_groups, 2)


def _two_group_vertex_search(cost, a_eq, tol=1e-9):
    """Exact LP optimum for two groups by enumerating basic feasible solutions.

    With 4 variables in [0, 1] and 2 equality rows of full rank, every vertex has 2 basic
    variables and 2 at a bound: 6 x 4 candidates, each a 2 x 2 solve. This avoids the fixed
    cost of a general LP solver call (a few ms) on the common two-group case. Returns None
    (caller falls back to HiGHS) if the rows are rank deficient.
    """
    if np.linalg.matrix_rank(a_eq, tol=1e-12) < 2:
        return None
    best, best_x = np.inf, None
    for basic in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)):
        B = a_eq[:, basic]
        if abs(np.linalg.det(B)) < 1e-12:
            continue
        other = [j for j in range(4) if j not in basic]
        for bounds in ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)):
            x = np.empty(4)
            x[other] = bounds
            x[list(basic)] = np.linalg.solve(B, -a_eq[:, other] @ np.asarray(bounds))
            if np.all(x >= -tol) and np.all(x <= 1 + tol):
                value = cost @ x
                if value < best - 1e-12:
                    best, best_x = value, np.clip(x, 0.0, 1.0)
    return best_x


@fair_docstring
class EqualizedOddsPostprocessor(BasePostProcessor):
    r"""Equalized odds by randomly flipping a classifier's predictions per group.

    Hardt et al. (2016) derive a predictor :math:`\tilde Y` from the hard predictions
    :math:`\hat Y` of a fitted model and the group :math:`A`: with probability
    :math:`p_{a,h} = P(\tilde Y = 1 \mid \hat Y = h, A = a)` the output is favourable. The
    rates of :math:`\tilde Y` are linear in :math:`p`,

    .. math::

        \mathrm{TPR}_a(p) = p_{a,1}\,\mathrm{TPR}_a + p_{a,0}\,(1 - \mathrm{TPR}_a), \qquad
        \mathrm{FPR}_a(p) = p_{a,1}\,\mathrm{FPR}_a + p_{a,0}\,(1 - \mathrm{FPR}_a),

    so the mixing probabilities solve the linear program

    .. math::

        \min_{p \in [0,1]^{2k}} \ \mathcal{L}(p) \quad \text{s.t.} \quad
        \mathrm{TPR}_a(p) = \mathrm{TPR}_{a'}(p), \ \mathrm{FPR}_a(p) = \mathrm{FPR}_{a'}(p)
        \quad \forall a, a',

    with :math:`\mathcal{L}` the expected 0-1 loss on the fitting data
    (``objective="accuracy"``, Hardt et al.'s choice) or the mean over groups of
    :math:`(\mathrm{FPR}_a + \mathrm{FNR}_a)/2` (``"balanced_accuracy"``, AIF360's
    ``EqOddsPostprocessing`` objective). Any number of groups is handled (AIF360: two).
    The LP is solved with HiGHS (``scipy.optimize.linprog``); for two groups its vertices
    are enumerated directly (24 candidate bases), which gives the same optimum without the
    solver's fixed cost.

    Parameters
    ----------
    {estimator}
    {prot_attr}
    objective : {"accuracy", "balanced_accuracy"}, default="accuracy"
        The LP's loss: expected 0-1 loss, or 1 - mean over groups of balanced accuracy.
    {prefit}
    {cv}
    {memory}
    {pos_label}
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    estimator_ : classifier
    mixing_rates_ : ndarray of shape (n_groups - len(groups_left_out_), 2)
        ``mixing_rates_[g, h]`` = P(predict favourable | original prediction ``h``, group
        ``g``), ``h`` = 0 (unfavourable) or 1 (favourable); the groups are those of
        ``groups_`` in order, less ``groups_left_out_``.
    {cv_}
    groups_ : list
        Group labels seen in ``fit``, in code order.
    groups_left_out_ : list
        Groups with one label among their fitting rows (their TPR or FPR is undefined):
        they are left out of the LP and get ``estimator_``'s own decisions (a
        ``GroupLeftOutWarning`` names each).
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    ``predict_proba`` returns :math:`p_{a,\hat y}` (the probability that the randomised rule
    outputs each class), so rates computed from it are equal across groups up to the LP's
    tolerance; ``predict`` draws the flips. ``sample_weight`` in ``fit`` weights the
    (group, label, prediction) counts of the LP: without cross-fitting (``cv=None`` or
    ``prefit=True``) a weighted fit equals a fit on rows repeated by their weight. By
    default (``cv="auto"``, ``prefit=False``) the counts are of out-of-fold predictions,
    so on the fitting data the rates are equal only approximately (exactly on the
    out-of-fold predictions). A group with one label in the fitting data has no TPR or
    FPR: it is left out of the LP (``groups_left_out_``, with a ``GroupLeftOutWarning``)
    and its rows get the wrapped model's own decisions; a group unseen in ``fit`` raises a
    ``ValueError`` at predict time. Mixing rates that give every fitting row the same
    decision (e.g. a model whose predictions are unrelated to ``y``) warn
    (``ConstantFitWarning``).

    References
    ----------
    .. [1] M. Hardt, E. Price, N. Srebro, "Equality of Opportunity in Supervised Learning",
       NeurIPS 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.postprocessing import EqualizedOddsPostprocessor
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 1000); x = rng.normal(size=1000) + a
    >>> y = (x + rng.normal(size=1000) > 0.5).astype(int)
    >>> eo = EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0,
    ...                                 random_state=0).fit(np.c_[a, x], y)
    >>> eo.mixing_rates_.shape
    (2, 2)
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "prot_attr": "no_validation",
        "objective": [StrOptions({"accuracy", "balanced_accuracy"})],
        **BasePostProcessor._cross_fit_constraints,
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, objective="accuracy", prefit=False,
                 cv="auto", memory=None,
                 pos_label=None, drop_prot_attr=False, random_state=None):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.objective = objective
        self.prefit = prefit
        self.cv = cv
        self.memory = memory
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    _estimator_output = "label"  # Hardt et al. post-process hard decisions
    _constant_fit_params = ("estimator", "objective")

    def _fit_rule(self, X_model, y01, codes, sample_weight):
        # the layer hands over only groups with both labels (of positive weight), so every
        # group's TPR and FPR are defined
        h = self._model_output(X_model)
        counts = np.zeros((len(self._rule_groups), 2, 2))
        weight = 1.0 if sample_weight is None else sample_weight
        np.add.at(counts, (codes, y01, h), weight)
        self.mixing_rates_ = equalized_odds_lp(counts, self.objective)

    def _positive_probability(self, X_model, codes):
        return self.mixing_rates_[codes, self._model_output(X_model)]
