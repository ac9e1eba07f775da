"""Reject option classification (Kamiran, Karim & Zhang 2012)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._protected import GroupEncoding, privileged_mask
from ..base import ProtectedAttributeMixin
from ._meta import (
    binary_target,
    check_input,
    classifier_tags,
    fit_or_check_estimator,
    labels_from01,
    positive_scores,
    resolve_groups,
)

__all__ = ["RejectOptionClassifier"]


def _favourable_counts(sorted_scores, cuts):
    """Number of scores strictly above each cut (``scores > cut``)."""
    return len(sorted_scores) - np.searchsorted(sorted_scores, cuts, side="right")


class RejectOptionClassifier(ProtectedAttributeMixin, MetaEstimatorMixin, ClassifierMixin,
                             BaseEstimator):
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
    pairs whose fairness metric lies in ``[metric_lb, metric_ub]``. The search is vectorised:
    each pair costs four binary searches in the sorted scores of the four (group, label)
    cells instead of a prediction pass over the data.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
    prot_attr : str, int or list, default=None
    priv_group : scalar, tuple or list, default=1
        Privileged group(s) (see :func:`fairkit._protected.privileged_mask`); all other groups
        are unprivileged.
    metric : {"statistical_parity", "average_odds", "equal_opportunity"}, \
            default="statistical_parity"
        Fairness metric bounded during the search, unprivileged minus privileged:
        selection rate (SPD), mean of FPR and TPR differences (AOD), TPR difference (EOD).
    metric_lb, metric_ub : float, default=-0.05, 0.05
        Bounds on the metric.
    threshold_range : tuple of float, default=(0.01, 0.99)
    n_thresholds : int, default=100
    n_margins : int, default=50
    prefit : bool, default=False
        Use ``estimator`` as already fitted; then ``fit`` searches on the data it is given
        (AIF360 searches on a validation split: fit the model on training data, then this
        post-processor with ``prefit=True`` on validation data).
    pos_label : scalar, default=None
        Favourable label; None means the greater of the two classes.
    drop_prot_attr : bool, default=False

    Attributes
    ----------
    estimator_ : classifier
    threshold_ : float
        Chosen classification threshold :math:`t`.
    margin_ : float
        Chosen half-width :math:`m` of the critical region.
    balanced_accuracy_ : float
    metric_value_ : float
        Balanced accuracy and fairness metric at the chosen pair on the fitting data.
    search_results_ : dict of ndarray
        ``threshold``, ``margin``, ``balanced_accuracy``, ``metric`` for every grid pair, in
        AIF360's order (threshold-major).
    privileged_groups_ : ndarray of bool
        Which of ``groups_`` are privileged.
    groups_, classes_, pos_label_, n_features_in_, feature_names_in_

    Notes
    -----
    If no pair meets the bound a warning is issued and the pair whose metric is closest to
    ``[metric_lb, metric_ub]`` is used (AIF360 takes the smallest signed metric instead).
    Ties in balanced accuracy go to the first pair in grid order, as in AIF360.

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
        "prefit": ["boolean"],
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, priv_group=1,
                 metric="statistical_parity", metric_lb=-0.05, metric_ub=0.05,
                 threshold_range=(0.01, 0.99), n_thresholds=100, n_margins=50, prefit=False,
                 pos_label=None, drop_prot_attr=False):
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
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr

    def _check_grid(self):
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

    def fit(self, X, y, sensitive_features=None, **fit_params):
        """Fit the model (unless ``prefit``) and search ``(threshold, margin)`` on ``(X, y)``.

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_grid()
        X = check_input(self, X, reset=True)
        self.classes_, self.pos_label_, y01 = binary_target(self, y, self.pos_label)
        X_model, codes = resolve_groups(self, X, sensitive_features, fit=True, y=y01)
        self.privileged_groups_ = privileged_mask(
            GroupEncoding(codes=codes, labels=self.groups_), self.priv_group)
        self.estimator_ = fit_or_check_estimator(self, X_model, y, fit_params)
        scores = positive_scores(self, self.estimator_, X_model, self.pos_label_)
        self._search(scores, y01, self.privileged_groups_[codes])
        return self

    def _search(self, scores, y01, priv):
        lo, hi = self.threshold_range
        t = np.linspace(lo, hi, self.n_thresholds)
        m = np.linspace(0.0, np.where(t <= 0.5, t, 1.0 - t)[:, None], self.n_margins,
                        axis=1)[..., 0]  # shape (n_thresholds, n_margins)
        t = np.broadcast_to(t[:, None], m.shape)
        # favourable counts in the four (privileged?, label) cells
        fav, size = {}, {}
        for p, cut in ((True, t + m), (False, t - m)):
            for label in (0, 1):
                cell = np.sort(scores[(priv == p) & (y01 == label)])
                fav[p, label] = _favourable_counts(cell, cut.ravel()).reshape(cut.shape)
                size[p, label] = len(cell)
        n_pos = size[True, 1] + size[False, 1]
        n_neg = size[True, 0] + size[False, 0]
        tpr = (fav[True, 1] + fav[False, 1]) / n_pos
        tnr = 1.0 - (fav[True, 0] + fav[False, 0]) / n_neg
        bal_acc = 0.5 * (tpr + tnr)
        metric = self._metric(fav, size)
        feasible = (metric >= self.metric_lb) & (metric <= self.metric_ub)
        if feasible.any():
            best = np.argmax(np.where(feasible, bal_acc, -np.inf).ravel())
        else:
            gap = np.abs(metric - np.clip(metric, self.metric_lb, self.metric_ub))
            best = np.argmin(gap.ravel())
            warnings.warn(
                f"No (threshold, margin) pair meets {self.metric_lb} <= {self.metric} <= "
                f"{self.metric_ub} on the fitting data; using the closest one "
                f"({self.metric} = {metric.ravel()[best]:.4f}).",
                UserWarning, stacklevel=3,
            )
        self.search_results_ = {"threshold": t.ravel().copy(), "margin": m.ravel(),
                                "balanced_accuracy": bal_acc.ravel(),
                                "metric": metric.ravel()}
        self.threshold_ = float(t.ravel()[best])
        self.margin_ = float(m.ravel()[best])
        self.balanced_accuracy_ = float(bal_acc.ravel()[best])
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

    def decision_function(self, X, sensitive_features=None):
        """Score minus the sample's group cut (``t + m`` privileged, ``t - m`` otherwise);
        positive means the favourable label."""
        check_is_fitted(self)
        X = check_input(self, X, reset=False)
        X_model, codes = resolve_groups(self, X, sensitive_features, fit=False)
        scores = positive_scores(self, self.estimator_, X_model, self.pos_label_)
        priv = self.privileged_groups_[codes]
        cut = np.where(priv, self.threshold_ + self.margin_, self.threshold_ - self.margin_)
        return scores - cut

    def predict(self, X, sensitive_features=None):
        """Favourable label above the group's cut, as in AIF360's ``predict``."""
        favourable = self.decision_function(X, sensitive_features) > 0
        return labels_from01(self.classes_, self.pos_label_, favourable)

    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__(), self.estimator)
