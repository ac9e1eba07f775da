"""Group-specific thresholds (Hardt et al. 2016), computed by fairkit: per-group
trade-off curves from one sort of the scores, their convex hulls and the optimal
randomised thresholds in O(n log n) (``_threshold_curves``), giving fairlearn's
``ThresholdOptimizer``'s thresholds and predictions."""

from __future__ import annotations

from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions

from .._validation import random_sample
from ..base import BasePostProcessor
from ..utils._docstring import fair_docstring
from ..utils._outputs import BinarizedEstimator, class_index
from ._threshold_curves import (
    OBJECTIVES,
    OBJECTIVES_EQUALIZED_ODDS,
    SIMPLE_CONSTRAINTS,
    fit_thresholds,
    positive_probability,
)

__all__ = ["ThresholdOptimizer"]

#: One deterministic rule of a group: favourable when ``score > threshold``
#: (``operator=">"``) or ``score < threshold`` (``"<"``, a flipped rule).
ThresholdRule = namedtuple("ThresholdRule", ["operator", "threshold"])


def _soft_scores(estimator, X, predict_method, pos_label):
    """The scores the thresholds act on, from ``estimator`` seen as a 0/1 classifier whose
    class 1 is ``pos_label`` (as :class:`~fairkit.utils._outputs.BinarizedEstimator`):
    ``predict_method`` (``"auto"``: the first it has of predict_proba, decision_function,
    predict); predict_proba's ``pos_label`` column, the decision function oriented towards
    ``pos_label``, or ``predict`` (a classifier's labels as 0/1, other outputs as they
    are)."""
    method = predict_method
    if method == "auto":
        method = next(m for m in ("predict_proba", "decision_function", "predict")
                      if m == "predict" or hasattr(estimator, m))
    if not hasattr(estimator, method):
        raise ValueError(
            f"predict_method={predict_method!r}: the estimator {type(estimator).__name__} "
            f"has no {method}.")
    if method == "predict_proba":
        proba = np.asarray(estimator.predict_proba(X))
        return proba[:, class_index(estimator, pos_label)].astype(np.float64)
    if method == "decision_function":
        out = np.asarray(estimator.decision_function(X), dtype=np.float64)
        return out if class_index(estimator, pos_label) == 1 else -out
    return BinarizedEstimator(estimator, pos_label).predict(X)


@fair_docstring
class ThresholdOptimizer(BasePostProcessor):
    r"""Group-specific (randomised) thresholds on a model's scores (Hardt et al. 2016).

    For every group :math:`a` it picks a threshold rule on the model's score :math:`R`,
    randomising between two thresholds where needed, so that

    .. math::

        \max_{\{t_a\}} \ \text{objective}(\tilde Y) \quad \text{s.t.} \quad
        \text{constraint metric}(\tilde Y \mid A = a) \text{ equal for all } a,

    e.g. equal selection rates (``"demographic_parity"``) or equal true- and false-positive
    rates (``"equalized_odds"``). It reads group membership from ``X`` (``prot_attr``) or
    from routed ``sensitive_features`` in both ``fit`` and ``predict``, accepts any binary
    labels (``pos_label``) and drops into a ``Pipeline`` or ``GridSearchCV``.

    The computation is fairkit's, in :math:`O(n \log n)`: one sort of each group's scores
    gives the (constraint metric, objective) point of every threshold ``R > t`` (and, with
    ``flip``, ``R < t``); the upper convex hull of a group's points is the set of its
    randomised rules worth keeping (for ``"equalized_odds"`` the ROC hull, FPR against
    TPR); each hull is read at the ``grid_size + 1`` values :math:`x_j = j / \text{grid\_size}`
    of the constraint metric, where mixing the two hull points around :math:`x_j` attains
    it exactly, and the grid value with the best group-size-weighted objective is chosen
    (with ``tol``: one value per group, within ``tol`` of each other). For equalized odds
    every group's ROC point at the chosen FPR :math:`x` is moved down to the lowest of the
    groups' TPRs :math:`y^*` by replacing its decision, with probability
    :math:`p_a = (y_a - y^*) / (y_a - x)`, by a draw with probability :math:`x`. The
    thresholds, mixing probabilities and predictions are those of fairlearn's
    ``ThresholdOptimizer`` with the same parameters (fairlearn is the reference in the
    tests; ties are broken the same way).

    Parameters
    ----------
    {estimator}
    {prot_attr}
    constraints : str, default="demographic_parity"
        ``"demographic_parity"`` (= ``"selection_rate_parity"``), ``"equalized_odds"``,
        ``"true_positive_rate_parity"``, ``"false_positive_rate_parity"``,
        ``"true_negative_rate_parity"`` or ``"false_negative_rate_parity"``.
    objective : str, default="accuracy_score"
        ``"accuracy_score"``, ``"balanced_accuracy_score"``, ``"selection_rate"``,
        ``"true_positive_rate"`` or ``"true_negative_rate"`` (the last three not with
        equalized odds).
    grid_size : int, default=1000
        The constraint metric is searched on ``grid_size + 1`` equally spaced values in
        [0, 1] (for equalized odds, the false-positive rate).
    flip : bool, default=False
        Also allow rules ``score < t`` (decisions that flip the score's direction).
    {prefit}
    {cv}
    {memory}
    predict_method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        Which method of ``estimator`` gives the scores (``"auto"``: the first it has of
        ``predict_proba``, ``decision_function``, ``predict``). With ``"predict"`` a
        classifier's labels are read as 0/1 (1 = ``pos_label``) and any other output (a
        regressor's values, a scorer's scores) is thresholded as it is.
    tol : float or None, default=None
        Relaxed constraints: the constraint metric may differ by up to ``tol`` across
        groups (None or 0: equal). Not for ``"equalized_odds"``.
    {pos_label}
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    estimator_ : estimator
        The fitted model (``estimator`` itself with ``prefit=True``).
    interpolation_dict_ : dict
        Group label -> :class:`~sklearn.utils.Bunch` of the group's rule: with probability
        ``p0`` the decision of ``operation0``, with probability ``p1`` that of
        ``operation1`` (each a ``ThresholdRule(operator, threshold)``: favourable when the
        score is ``>`` or ``<`` the threshold); with equalized odds also ``p_ignore`` and
        ``prediction_constant``: with probability ``p_ignore`` the decision is instead
        favourable with probability ``prediction_constant``. Groups of
        ``groups_left_out_`` have none.
    thresholds_ : ndarray of shape (n_rule_groups, 2)
        The same rules as arrays, one row per group of ``interpolation_dict_`` (the order
        of ``groups_`` less ``groups_left_out_``): the thresholds of ``operation0`` and
        ``operation1``.
    flipped_ : ndarray of bool of shape (n_rule_groups, 2)
        Whether each of the two is a ``score < threshold`` rule.
    rule_weights_ : ndarray of shape (n_rule_groups, 2)
        ``p0`` and ``p1``.
    p_ignore_ : ndarray of shape (n_rule_groups,) or None
        ``p_ignore`` with equalized odds, None otherwise.
    prediction_constant_ : float or None
        Equalized odds: the chosen false-positive rate (None otherwise).
    constraint_values_ : ndarray of shape (n_rule_groups,)
        The constraint metric each group's rule attains on the fitting rows (all equal
        unless ``tol``; for equalized odds the false-positive rate).
    objective_value_ : float
        The objective attained on the fitting rows.
    {cv_}
    groups_ : list
        Group labels seen in ``fit``, in code order.
    groups_left_out_ : list
        Groups with one label among their fitting rows: they have no thresholds and get
        ``estimator_``'s own decisions (a ``GroupLeftOutWarning`` names each).
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    ``sample_weight`` is refused: the threshold search has no weighted form (as
    fairlearn's). By default (``cv="auto"``, ``prefit=False``) the thresholds are searched
    on 5-fold out-of-fold scores, not on the scores of the model's own training rows
    (``cv=None`` gives the in-sample fit, fairlearn's). A group that does not occur in
    ``fit`` has no thresholds: ``predict`` raises a ``ValueError`` naming it. The search
    needs both labels in every group: a group with one label is left out of the search
    (``groups_left_out_``, with a ``GroupLeftOutWarning``) and its rows get the wrapped
    model's own ``predict`` and ``predict_proba``. Thresholds that give every fitting row
    the same decision warn (``ConstantFitWarning``). Scores must be finite. ``predict``
    draws ``u ~ U[0, 1)`` for each row of the rule's groups from ``random_state`` and
    gives the favourable label where ``u <=`` its probability (fairlearn's draw);
    ``predict_proba`` gives that probability.

    References
    ----------
    .. [1] M. Hardt, E. Price, N. Srebro, "Equality of Opportunity in Supervised Learning",
       NeurIPS 2016.
    .. [2] fairlearn, ``fairlearn.postprocessing.ThresholdOptimizer`` (the reference of the
       tests).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.postprocessing import ThresholdOptimizer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"sex": rng.choice(["F", "M"], 400), "x": rng.normal(size=400)})
    >>> y = (X["x"] + (X["sex"] == "M") + rng.normal(size=400) > 0.5).astype(int)
    >>> to = ThresholdOptimizer(LogisticRegression(), prot_attr="sex", drop_prot_attr=True,
    ...                         random_state=0).fit(X, y)
    >>> to.predict(X).shape
    (400,)
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "prot_attr": "no_validation",
        "constraints": [StrOptions({*SIMPLE_CONSTRAINTS, "equalized_odds"})],
        "objective": [StrOptions(set(OBJECTIVES))],
        "grid_size": [Interval(Integral, 1, None, closed="left")],
        "flip": ["boolean"],
        **BasePostProcessor._cross_fit_constraints,
        "predict_method": [StrOptions({"auto", "predict_proba", "decision_function",
                                       "predict"})],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, constraints="demographic_parity",
                 objective="accuracy_score", grid_size=1000, flip=False, prefit=False,
                 cv="auto", memory=None,
                 predict_method="auto", tol=None, pos_label=None, drop_prot_attr=False,
                 random_state=None):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.constraints = constraints
        self.objective = objective
        self.grid_size = grid_size
        self.flip = flip
        self.prefit = prefit
        self.cv = cv
        self.memory = memory
        self.predict_method = predict_method
        self.tol = tol
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    _estimator_output = None  # the rule reads the scores through predict_method
    _constant_fit_params = ("constraints", "objective", "tol")
    # the threshold search has no weighted form
    _rule_accepts_sample_weight = False

    def _check_params(self):
        if self.constraints == "equalized_odds":
            if self.objective not in OBJECTIVES_EQUALIZED_ODDS:
                raise ValueError(
                    f"objective={self.objective!r} is not available with "
                    "constraints='equalized_odds'; use one of "
                    f"{list(OBJECTIVES_EQUALIZED_ODDS)}.")
            if self.tol is not None:
                raise ValueError(
                    f"tol={self.tol!r}: relaxed constraints are not available with "
                    "constraints='equalized_odds'; use tol=None.")

    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Fit the model (unless ``prefit``) and the group thresholds.

        ``sample_weight`` is refused (the threshold search has no weighted form); route
        weights to the wrapped model alone with metadata routing.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        **fit_params : dict
            Passed to ``estimator.fit`` (routed when metadata routing is enabled).

        Returns
        -------
        self
        """
        try:
            return super().fit(X, y, sensitive_features=sensitive_features, **fit_params)
        finally:
            self.__dict__.pop("_fit_scores", None)

    def _scores(self, estimator, X_model):
        s = np.asarray(_soft_scores(estimator, X_model, self.predict_method,
                                    self.pos_label_))
        if s.ndim != 1:
            raise ValueError(
                f"predict_method={self.predict_method!r} gives output of shape {s.shape}; "
                "the thresholds need one score per row.")
        try:
            s = s.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"predict_method={self.predict_method!r} gives non-numeric scores "
                f"(dtype {s.dtype}).") from exc
        if not np.all(np.isfinite(s)):
            raise ValueError(
                f"predict_method={self.predict_method!r} gives non-finite scores (e.g. "
                f"{s[~np.isfinite(s)][0]!r}); the thresholds need finite scores.")
        return s

    def _fit_rule(self, X_model, y01, codes, sample_weight):
        oof = getattr(self, "_oof_output", None)
        # cross-fitted: the thresholds are searched on the out-of-fold scores; predict
        # reads the final model's scores
        if oof is None:
            scores = self._scores(self.estimator_, X_model)
            # kept for the constant-rule check on the same rows (dropped at the end of fit)
            self._fit_scores = (X_model, scores)
        else:
            scores = oof
        codes = np.asarray(codes, dtype=np.intp)
        k = len(self._rule_groups)
        rule = fit_thresholds(
            scores, np.asarray(y01, dtype=np.int64), codes, k,
            constraints=self.constraints, objective=self.objective,
            grid_size=self.grid_size, flip=self.flip, tol=self.tol)
        self.thresholds_ = rule["thresholds"]
        self.flipped_ = rule["flipped"]
        self.rule_weights_ = rule["weights"]
        self.p_ignore_ = rule["p_ignore"]
        self.prediction_constant_ = rule["prediction_constant"]
        self.constraint_values_ = rule["constraint_values"]
        self.objective_value_ = rule["objective_value"]
        self.interpolation_dict_ = {}
        for g, label in enumerate(self._rule_groups):
            label = label.item() if isinstance(label, np.generic) else label
            ops = [ThresholdRule("<" if self.flipped_[g, j] else ">",
                                 float(self.thresholds_[g, j])) for j in (0, 1)]
            entry = Bunch(p0=float(self.rule_weights_[g, 0]), operation0=ops[0],
                          p1=float(self.rule_weights_[g, 1]), operation1=ops[1])
            if self.p_ignore_ is not None:
                entry.p_ignore = float(self.p_ignore_[g])
                entry.prediction_constant = self.prediction_constant_
            self.interpolation_dict_[label] = entry

    def _warn_if_constant_rule(self, X_model, y01, codes, sample_weight):
        # the layer's check reads the model again (scores and decisions); a rule whose
        # probabilities clearly vary over the fitting rows is not constant, so it is only
        # called when they do not
        cached = getattr(self, "_fit_scores", None)
        if cached is not None and cached[0] is X_model:
            p = positive_probability(cached[1], np.asarray(codes, dtype=np.intp),
                                     self.thresholds_, self.flipped_, self.rule_weights_,
                                     self.p_ignore_, self.prediction_constant_)
            if len(p) and np.ptp(p) > 1e-6 * np.max(np.abs(p)):
                return False
        return super()._warn_if_constant_rule(X_model, y01, codes, sample_weight)

    def _fold_output(self, estimator, X_model):
        # the scores the rule reads through predict_method, from a fold's model
        return self._scores(estimator, X_model)

    def _positive_probability(self, X_model, codes):
        return positive_probability(
            self._scores(self.estimator_, X_model), np.asarray(codes, dtype=np.intp),
            self.thresholds_, self.flipped_, self.rule_weights_, self.p_ignore_,
            self.prediction_constant_)

    def _predict01(self, X_model, codes):
        # favourable where p >= u, u ~ U[0, 1) from random_state (fairlearn's draw)
        p = self._positive_probability(X_model, codes)
        return p >= random_sample(self.random_state, len(p))
