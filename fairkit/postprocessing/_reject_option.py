"""Reject option classification (Kamiran, Karim & Zhang 2012)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from .._protected import GroupEncoding, privileged_mask
from .._validation import check_priv_group
from ..base import BasePostProcessor
from ..utils._docstring import fair_docstring

__all__ = ["RejectOptionClassifier"]


def _favourable_weight(sorted_scores, sorted_weights, cuts):
    """Total weight of the scores strictly above each cut (``scores > cut``)."""
    # cumulative weights from the bottom: with unit weights these are exact integer counts,
    # so the unweighted search is unchanged
    below = np.r_[0.0, np.cumsum(sorted_weights)]
    return below[-1] - below[np.searchsorted(sorted_scores, cuts, side="right")]


def _no_probability(self):
    raise AttributeError(
        f"{type(self).__name__} has no predict_proba: its decision is a deterministic cut "
        "of the model's score per group, not a probability; use decision_function."
    )


@fair_docstring
class RejectOptionClassifier(BasePostProcessor):
    r"""Flip decisions in a critical region around the threshold in favour of the deprived.

    Kamiran, Karim & Zhang (2012): with :math:`s(x)` the model's probability of the
    favourable label, a threshold :math:`t` and a half-width :math:`m`, samples in the
    critical region :math:`t - m < s(x) \le t + m` get the favourable label if they belong to
    an unprivileged group and the unfavourable one if privileged; outside it the decision is
    :math:`s(x) > t`. Equivalently, the favourable label goes to

    .. math::

        s(x) > t + m \ \text{(privileged)}, \qquad s(x) > t - m \ \text{(unprivileged)}.

    As in AIF360's ``RejectOptionClassification``, :math:`(t, m)` is searched on a grid
    (``n_thresholds`` values of :math:`t` in ``threshold_range``, ``n_margins`` values of
    :math:`m` in :math:`[0, \min(t, 1-t)]`) for the highest balanced accuracy among the
    pairs whose fairness metric lies in ``[metric_lb, metric_ub]`` (``objective``: balanced
    accuracy, as AIF360, or accuracy). The search is vectorised:
    each pair costs four binary searches in the sorted scores of the four (group, label)
    cells instead of a prediction pass over the data.

    Parameters
    ----------
    {estimator}
        It needs ``predict_proba``.
    {prot_attr}
    {priv_group}
        Required (``fit`` raises a ValueError without it); every other group is
        unprivileged.
    metric : {"statistical_parity", "average_odds", "equal_opportunity"}, \
            default="statistical_parity"
        Fairness metric bounded during the search, unprivileged minus privileged:
        selection rate (SPD), mean of FPR and TPR differences (AOD), TPR difference (EOD).
    metric_lb, metric_ub : float, default=-0.05, 0.05
        Bounds on the metric.
    threshold_range : tuple of float, default=(0.01, 0.99)
        Range of the thresholds searched.
    n_thresholds : int, default=100
        Number of thresholds in the grid.
    n_margins : int, default=50
        Number of margins per threshold.
    {prefit}
        AIF360 searches on a validation split: fit the model on training data, then this
        post-processor with ``prefit=True`` on validation data.
    {cv}
    {memory}
    objective : {"balanced_accuracy", "accuracy"}, default="balanced_accuracy"
        What the search maximises among the pairs that meet the bound: balanced accuracy
        :math:`(\mathrm{TPR} + \mathrm{TNR}) / 2` (AIF360's choice) or accuracy. On
        imbalanced data balanced accuracy favours the minority label and can give an
        accuracy far below the majority-class predictor's; ``"accuracy"`` does not. Both
        are weighted by ``sample_weight``.
    {pos_label}
    {drop_prot_attr}

    Attributes
    ----------
    estimator_ : classifier
    threshold_ : float
        Chosen classification threshold :math:`t`.
    margin_ : float
        Chosen half-width :math:`m` of the critical region.
    balanced_accuracy_ : float
    accuracy_ : float
    metric_value_ : float
        Balanced accuracy, accuracy and fairness metric at the chosen pair on the fitting
        data (whichever ``objective`` was maximised); cross-fitted, of the out-of-fold
        scores.
    search_results_ : dict of ndarray
        ``threshold``, ``margin``, ``balanced_accuracy``, ``accuracy``, ``metric`` for every
        grid pair, in AIF360's order (threshold-major). Cross-fitted, they are rates of
        the out-of-fold scores.
    {cv_}
    privileged_groups_ : ndarray of bool
        Which of ``groups_`` are privileged.
    groups_ : list
        Group labels seen in ``fit``, in code order.
    groups_left_out_ : list
        Always empty: the search pools the groups (see Notes).
    prot_attr_names_ : list of str
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    If no pair meets the bound a warning is issued and the pair whose metric is closest to
    ``[metric_lb, metric_ub]`` is used (AIF360 takes the smallest signed metric instead).
    Ties in the objective go to the first pair in grid order, as in AIF360.
    ``sample_weight`` in ``fit`` weights the rates of the search (without cross-fitting,
    ``cv=None`` or ``prefit=True``, a weighted fit equals a fit on repeated rows). By
    default (``cv="auto"``, ``prefit=False``) the search runs on 5-fold out-of-fold
    scores; AIF360 searches on the scores it is given (``cv=None`` with ``prefit=False``
    searches on the model's in-sample scores). There is no ``predict_proba``: the rule is a
    deterministic cut. Unlike the per-group post-processors, no group with one label is
    left out: the search pools the rows into privileged and unprivileged ones, so such a
    group still counts in its side's rates and gets its side's cut (a side without the
    label(s) its ``metric`` needs raises). A cut that gives every fitting row the same
    decision warns (``ConstantFitWarning``).

    References
    ----------
    .. [1] F. Kamiran, A. Karim, X. Zhang, "Decision Theory for Discrimination-Aware
       Classification", ICDM 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.postprocessing import RejectOptionClassifier
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 1000); x = rng.normal(size=1000) + a
    >>> y = (x + rng.normal(size=1000) > 0.5).astype(int)
    >>> roc = RejectOptionClassifier(LogisticRegression(), prot_attr=0, priv_group=1,
    ...                              metric_lb=-0.05, metric_ub=0.05).fit(np.c_[a, x], y)
    >>> bool(-0.05 <= roc.metric_value_ <= 0.05)
    True
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "prot_attr": "no_validation",
        "priv_group": "no_validation",
        "metric": [StrOptions({"statistical_parity", "average_odds", "equal_opportunity"})],
        "metric_lb": [Real],
        "metric_ub": [Real],
        "threshold_range": [tuple, list],
        "n_thresholds": [Interval(Integral, 1, None, closed="left")],
        "n_margins": [Interval(Integral, 1, None, closed="left")],
        **BasePostProcessor._cross_fit_constraints,
        "objective": [StrOptions({"balanced_accuracy", "accuracy"})],
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, priv_group=None,
                 metric="statistical_parity", metric_lb=-0.05, metric_ub=0.05,
                 threshold_range=(0.01, 0.99), n_thresholds=100, n_margins=50, prefit=False,
                 cv="auto", memory=None, objective="balanced_accuracy", pos_label=None,
                 drop_prot_attr=False):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.priv_group = priv_group
        self.metric = metric
        self.metric_lb = metric_lb
        self.metric_ub = metric_ub
        self.threshold_range = threshold_range
        self.n_thresholds = n_thresholds
        self.n_margins = n_margins
        self.prefit = prefit
        self.cv = cv
        self.memory = memory
        self.objective = objective
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr

    _estimator_output = "proba"
    _randomized = False
    _constant_fit_params = ("objective", "metric", "metric_lb", "metric_ub",
                            "threshold_range")
    # the rule pools the groups into privileged vs unprivileged rows: a group with one
    # label still counts in its side's rates (``_metric`` checks the cells the metric
    # needs), so no group is left out
    _rule_needs_both_labels_per_group = False

    def _check_params(self):
        check_priv_group(self, "the group(s) whose decisions in the critical region go "
                         "against them")
        rng = self.threshold_range
        if (len(rng) != 2 or not all(isinstance(v, Real) for v in rng)
                or not 0.0 <= rng[0] < rng[1] <= 1.0):
            raise ValueError(
                f"threshold_range must be (low, high) with 0 <= low < high <= 1; got {rng!r}."
            )
        if self.metric_lb > self.metric_ub:
            raise ValueError(
                f"metric_lb={self.metric_lb!r} is greater than metric_ub={self.metric_ub!r}."
            )

    def _fit_rule(self, X_model, y01, codes, sample_weight):
        # the mask is over every group seen in fit; the rule's codes index the groups it
        # covers (groups_ less groups_left_out_)
        self.privileged_groups_ = privileged_mask(
            GroupEncoding(codes=np.arange(len(self.groups_)), labels=self.groups_),
            self.priv_group)
        self._rule_privileged = self.privileged_groups_[self._rule_code >= 0]
        for side, missing in (("privileged", ~self._rule_privileged.any()),
                              ("unprivileged", self._rule_privileged.all())):
            if missing:
                mask = self.privileged_groups_ if side == "privileged" else (
                    ~self.privileged_groups_)
                out = [g for g, m in zip(self.groups_, mask, strict=True) if m]
                raise ValueError(
                    f"{type(self).__name__}: every {side} group ({out!r}; "
                    f"priv_group={self.priv_group!r}) has only one label among its fitting "
                    f"rows and was left out of the rule, so the rule has no {side} group to "
                    f"compare; the {side} group cannot be left out. Give it rows with both "
                    "labels (more data, or merge groups) or choose another priv_group.")
        scores = self._model_output(X_model)
        self._search(scores, y01, self._rule_privileged[codes], sample_weight)

    def _search(self, scores, y01, priv, sample_weight=None):
        lo, hi = self.threshold_range
        t = np.linspace(lo, hi, self.n_thresholds)
        m = np.linspace(0.0, np.where(t <= 0.5, t, 1.0 - t)[:, None], self.n_margins,
                        axis=1)[..., 0]  # shape (n_thresholds, n_margins)
        t = np.broadcast_to(t[:, None], m.shape)
        w = np.ones(len(scores)) if sample_weight is None else sample_weight
        # favourable weight in the four (privileged?, label) cells
        fav, size = {}, {}
        for p, cut in ((True, t + m), (False, t - m)):
            for label in (0, 1):
                in_cell = (priv == p) & (y01 == label)
                order = np.argsort(scores[in_cell], kind="stable")
                cell, cell_w = scores[in_cell][order], w[in_cell][order]
                fav[p, label] = _favourable_weight(cell, cell_w, cut.ravel()).reshape(cut.shape)
                size[p, label] = cell_w.sum()
        n_pos = size[True, 1] + size[False, 1]
        n_neg = size[True, 0] + size[False, 0]
        tpr = (fav[True, 1] + fav[False, 1]) / n_pos
        tnr = 1.0 - (fav[True, 0] + fav[False, 0]) / n_neg
        bal_acc = 0.5 * (tpr + tnr)
        # weight of correct decisions over the total weight
        acc = (fav[True, 1] + fav[False, 1] + n_neg - fav[True, 0] - fav[False, 0]) / (
            n_pos + n_neg)
        score = bal_acc if self.objective == "balanced_accuracy" else acc
        metric = self._metric(fav, size)
        feasible = (metric >= self.metric_lb) & (metric <= self.metric_ub)
        if feasible.any():
            best = np.argmax(np.where(feasible, score, -np.inf).ravel())
        else:
            gap = np.abs(metric - np.clip(metric, self.metric_lb, self.metric_ub))
            best = np.argmin(gap.ravel())
            warnings.warn(
                f"No (threshold, margin) pair meets {self.metric_lb} <= {self.metric} <= "
                f"{self.metric_ub} on the fitting data; using the closest one "
                f"({self.metric} = {metric.ravel()[best]:.4f}).",
                UserWarning, stacklevel=4,
            )
        self.search_results_ = {"threshold": t.ravel().copy(), "margin": m.ravel(),
                                "balanced_accuracy": bal_acc.ravel(),
                                "accuracy": acc.ravel(), "metric": metric.ravel()}
        self.threshold_ = float(t.ravel()[best])
        self.margin_ = float(m.ravel()[best])
        self.balanced_accuracy_ = float(bal_acc.ravel()[best])
        self.accuracy_ = float(acc.ravel()[best])
        self.metric_value_ = float(metric.ravel()[best])

    def _metric(self, fav, size):
        def rate(p, labels):
            num = sum(fav[p, lab] for lab in labels)
            den = sum(size[p, lab] for lab in labels)
            if den == 0:
                who = "privileged" if p else "unprivileged"
                raise ValueError(
                    f"metric={self.metric!r} needs {who} samples with label(s) "
                    f"{[self.pos_label_ if lab else 'negative' for lab in labels]} in the "
                    "fitting data; there are none."
                )
            return num / den

        if self.metric == "statistical_parity":
            return rate(False, (0, 1)) - rate(True, (0, 1))
        tpr_diff = rate(False, (1,)) - rate(True, (1,))
        if self.metric == "equal_opportunity":
            return tpr_diff
        return 0.5 * (rate(False, (0,)) - rate(True, (0,)) + tpr_diff)

    def decision_function(self, X, *, sensitive_features=None):
        """Score minus the sample's group cut (``t + m`` privileged, ``t - m`` otherwise);
        positive means the favourable label.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X_model, codes = self._predict_input(X, sensitive_features)
        return self._by_rule(X_model, codes, self._margin, self._unmitigated_margin)

    def _unmitigated_margin(self, X_model):
        # a left-out group's rows: the model's own score against its own cut of 0.5
        return self._model_output(X_model) - 0.5

    def _margin(self, X_model, codes):
        scores = self._model_output(X_model)
        priv = self._rule_privileged[codes]
        cut = np.where(priv, self.threshold_ + self.margin_, self.threshold_ - self.margin_)
        return scores - cut

    def _predict01(self, X_model, codes):
        # AIF360's predict: favourable strictly above the group's cut
        return self._margin(X_model, codes) > 0

    predict_proba = available_if(_no_probability)(BasePostProcessor.predict_proba)
