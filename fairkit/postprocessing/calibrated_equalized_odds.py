"""Calibrated equalized odds post-processing (Pleiss et al. 2017)."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import ProtectedAttributeMixin
from ._meta import (
    binary_target,
    check_input,
    classifier_tags,
    fit_or_check_estimator,
    labels_from01,
    positive_scores,
    proba_columns,
    resolve_groups,
)

__all__ = ["CalibratedEqualizedOdds"]


def generalized_cost(y01, scores, codes, n_groups, cost_constraint):
    r"""Per-group generalised cost of probabilistic predictions.

    ``"fpr"``: :math:`c_a = E[h(X) \mid Y=0, A=a]` (generalised false-positive rate);
    ``"fnr"``: :math:`c_a = E[1 - h(X) \mid Y=1, A=a]`;
    ``"weighted"``: :math:`c_a = \tfrac12\big((1-\mu_a)\,\mathrm{GFPR}_a + \mu_a\,
    \mathrm{GFNR}_a\big)` with :math:`\mu_a` the group's base rate (Pleiss et al.'s
    equal-weight cost, as in their code and AIF360).

    Returns an array of shape (n_groups,).
    """
    y01 = np.asarray(y01)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = np.bincount(codes, weights=y01, minlength=n_groups)
    n_all = np.bincount(codes, minlength=n_groups).astype(np.float64)
    n_neg = n_all - n_pos
    gfpr = np.bincount(codes, weights=scores * (1 - y01), minlength=n_groups) / n_neg
    gfnr = np.bincount(codes, weights=(1.0 - scores) * y01, minlength=n_groups) / n_pos
    if cost_constraint == "fpr":
        return gfpr
    if cost_constraint == "fnr":
        return gfnr
    base = n_pos / n_all
    return 0.5 * ((1.0 - base) * gfpr + base * gfnr)


class CalibratedEqualizedOdds(ProtectedAttributeMixin, MetaEstimatorMixin, ClassifierMixin,
                              BaseEstimator):
    r"""Equalise a generalised error rate across groups while keeping calibration.

    Pleiss et al. (2017): given calibrated scores :math:`h(x) = P(Y=1 \mid h)` per group,
    the only way to equalise a cost across groups without losing calibration is to
    withhold information from the group with the lower cost. With probability
    :math:`\alpha_a` a sample's score is replaced by its group's base rate :math:`\mu_a`
    (the trivial, still calibrated, predictor); costs are linear in :math:`\alpha`, so

    .. math::

        \alpha_a = \frac{c^\star - c_a(h)}{c_a(\mu_a) - c_a(h)}, \qquad
        c^\star = \max_{a'} c_{a'}(h),

    where :math:`c_a` is the generalised false-positive rate (``cost_constraint="fpr"``),
    false-negative rate (``"fnr"``), or their base-rate weighted mean (``"weighted"``).
    With two groups this is Pleiss et al.'s Algorithm 1 (the higher-cost group keeps
    :math:`\alpha = 0`); with more groups every group is raised to the highest cost, which is
    possible when each group's trivial cost :math:`c_a(\mu_a)` reaches :math:`c^\star` (if
    not, :math:`\alpha_a = 1` and a warning is issued).

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        Should be calibrated within groups (e.g. wrap it in ``CalibratedClassifierCV``).
    prot_attr : str, int or list, default=None
    cost_constraint : {"fpr", "fnr", "weighted"}, default="weighted"
    threshold : float, default=0.5
        ``predict`` outputs the favourable label where the mixed score is ``>= threshold``.
    prefit : bool, default=False
    pos_label : scalar, default=None
        The favourable label; None means the greater of the two classes.
    drop_prot_attr : bool, default=False
    random_state : int, RandomState or None, default=None
        Seed of the random replacements; an int gives the same output on every call.

    Attributes
    ----------
    estimator_ : classifier
    base_rates_ : ndarray of shape (n_groups,)
        :math:`\mu_a`, share of ``pos_label`` per group in the fitting data.
    costs_ : ndarray of shape (n_groups,)
        :math:`c_a(h)` before mixing.
    trivial_costs_ : ndarray of shape (n_groups,)
        :math:`c_a(\mu_a)`.
    mix_rates_ : ndarray of shape (n_groups,)
        :math:`\alpha_a`.
    groups_, classes_, pos_label_, n_features_in_, feature_names_in_

    Notes
    -----
    ``predict_proba`` is randomised: the drawn samples of group :math:`a` get
    :math:`\mu_a`, the others keep :math:`h(x)`. In expectation the generalised cost of group
    :math:`a` is :math:`(1-\alpha_a)c_a(h) + \alpha_a c_a(\mu_a) = c^\star`. An unseen group
    at predict time raises a ``ValueError``.

    References
    ----------
    .. [1] G. Pleiss, M. Raghavan, F. Wu, J. Kleinberg, K. Q. Weinberger, "On Fairness and
       Calibration", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.postprocessing import CalibratedEqualizedOdds
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 1000); x = rng.normal(size=1000) + a
    >>> y = (x + rng.normal(size=1000) > 0.5).astype(int)
    >>> ceo = CalibratedEqualizedOdds(LogisticRegression(), prot_attr=0, cost_constraint="fnr",
    ...                               random_state=0).fit(np.c_[a, x], y)
    >>> int((ceo.mix_rates_ > 0).sum())
    1
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "prot_attr": "no_validation",
        "cost_constraint": [StrOptions({"fpr", "fnr", "weighted"})],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "prefit": ["boolean"],
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, cost_constraint="weighted",
                 threshold=0.5, prefit=False, pos_label=None, drop_prot_attr=False,
                 random_state=None):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.cost_constraint = cost_constraint
        self.threshold = threshold
        self.prefit = prefit
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    def fit(self, X, y, sensitive_features=None, **fit_params):
        """Fit the model (unless ``prefit``) and compute the mixing rates on ``(X, y)``.

        Returns
        -------
        self
        """
        self._validate_params()
        X = check_input(self, X, reset=True)
        self.classes_, self.pos_label_, y01 = binary_target(self, y, self.pos_label)
        X_model, codes = resolve_groups(self, X, sensitive_features, fit=True, y=y01)
        self.estimator_ = fit_or_check_estimator(self, X_model, y, fit_params)
        scores = positive_scores(self, self.estimator_, X_model, self.pos_label_)
        k = len(self.groups_)
        n_pos = np.bincount(codes, weights=y01, minlength=k)
        n_all = np.bincount(codes, minlength=k)
        for g, lab in enumerate(self.groups_):
            if n_pos[g] == 0 or n_pos[g] == n_all[g]:
                raise ValueError(
                    f"Group {lab!r} has only one label in the fitting data; its generalised "
                    "false-positive/negative rates are undefined. CalibratedEqualizedOdds "
                    "needs both labels in every group."
                )
        self.base_rates_ = n_pos / n_all
        self.costs_ = generalized_cost(y01, scores, codes, k, self.cost_constraint)
        self.trivial_costs_ = generalized_cost(y01, self.base_rates_[codes], codes, k,
                                               self.cost_constraint)
        target = self.costs_.max()
        gain = self.trivial_costs_ - self.costs_
        with np.errstate(divide="ignore", invalid="ignore"):
            mix = np.where(self.costs_ >= target, 0.0, (target - self.costs_) / gain)
        short = (mix > 1) | (mix < 0) | ~np.isfinite(mix)
        if short.any():
            warnings.warn(
                f"Groups {[self.groups_[g] for g in np.flatnonzero(short)]} cannot reach the "
                f"highest {self.cost_constraint} cost {target:.4g} even with their trivial "
                "predictor; their mixing rate is set to 1.",
                UserWarning, stacklevel=2,
            )
            mix = np.where(short, 1.0, mix)
        self.mix_rates_ = mix
        return self

    def _mixed_scores(self, X, sensitive_features):
        check_is_fitted(self)
        X = check_input(self, X, reset=False)
        X_model, codes = resolve_groups(self, X, sensitive_features, fit=False)
        scores = positive_scores(self, self.estimator_, X_model, self.pos_label_)
        rng = check_random_state(self.random_state)
        replace = rng.random_sample(len(scores)) < self.mix_rates_[codes]
        return np.where(replace, self.base_rates_[codes], scores)

    def predict_proba(self, X, sensitive_features=None):
        """Mixed scores: the group base rate for the drawn samples, the model's otherwise."""
        p = self._mixed_scores(X, sensitive_features)
        return proba_columns(self.classes_, self.pos_label_, p)

    def predict(self, X, sensitive_features=None):
        """Favourable label where the mixed score is ``>= threshold``."""
        p = self._mixed_scores(X, sensitive_features)
        return labels_from01(self.classes_, self.pos_label_, p >= self.threshold)

    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__(), self.estimator)
