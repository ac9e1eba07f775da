"""Calibrated equalized odds post-processing (Pleiss et al. 2017)."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BasePostProcessor
from ..utils._docstring import fair_docstring

__all__ = ["CalibratedEqualizedOdds", "CostUnreachableWarning"]


class CostUnreachableWarning(UserWarning):
    """Some groups cannot reach the highest generalised cost even with their trivial
    predictor, so the rule leaves part of the cost gap in place."""


def generalized_cost(y01, scores, codes, n_groups, cost_constraint, sample_weight=None):
    r"""Per-group generalised cost of probabilistic predictions.

    ``"fpr"``: :math:`c_a = E[h(X) \mid Y=0, A=a]` (generalised false-positive rate);
    ``"fnr"``: :math:`c_a = E[1 - h(X) \mid Y=1, A=a]`;
    ``"weighted"``: :math:`c_a = \tfrac12\big((1-\mu_a)\,\mathrm{GFPR}_a + \mu_a\,
    \mathrm{GFNR}_a\big)` with :math:`\mu_a` the group's base rate (Pleiss et al.'s
    equal-weight cost, as in their code and AIF360).

    Expectations are weighted by ``sample_weight`` when given (a weighted cost equals the
    cost on rows repeated by their weight). Returns an array of shape (n_groups,).
    """
    y01 = np.asarray(y01)
    scores = np.asarray(scores, dtype=np.float64)
    w = np.ones(len(y01)) if sample_weight is None else np.asarray(sample_weight, float)
    n_pos = np.bincount(codes, weights=y01 * w, minlength=n_groups)
    n_all = np.bincount(codes, weights=w, minlength=n_groups)
    n_neg = n_all - n_pos
    gfpr = np.bincount(codes, weights=scores * (1 - y01) * w, minlength=n_groups) / n_neg
    gfnr = np.bincount(codes, weights=(1.0 - scores) * y01 * w, minlength=n_groups) / n_pos
    if cost_constraint == "fpr":
        return gfpr
    if cost_constraint == "fnr":
        return gfnr
    base = n_pos / n_all
    return 0.5 * ((1.0 - base) * gfpr + base * gfnr)


@fair_docstring
class CalibratedEqualizedOdds(BasePostProcessor):
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
    possible when each group's trivial cost :math:`c_a(\mu_a)` reaches :math:`c^\star`. If
    not, the group gets as close as mixing allows -- :math:`\alpha_a = 1` when
    :math:`c_a(h) < c_a(\mu_a) < c^\star`, :math:`\alpha_a = 0` when the trivial cost is
    not above the model's (mixing would lower the group's cost; AIF360's negative rate
    draws no sample either) -- and a ``CostUnreachableWarning`` (a ``UserWarning``) gives
    the cost gap that remains on the fitting rows. With the weighted cost the trivial cost
    is :math:`\mu_a(1 - \mu_a)`, so on imbalanced data a group with a low base rate often
    cannot reach a higher-base-rate group's cost.

    Parameters
    ----------
    {estimator}
        It needs ``predict_proba`` and should be calibrated within groups (e.g. wrap it in
        ``CalibratedClassifierCV``).
    {prot_attr}
    cost_constraint : {"fpr", "fnr", "weighted"}, default="weighted"
        The generalised cost equalised across groups.
    threshold : float, default=0.5
        ``predict`` outputs the favourable label where the mixed score is ``>= threshold``.
    {prefit}
    {cv}
    {memory}
    {pos_label}
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    estimator_ : classifier
    base_rates_ : ndarray of shape (n_groups - len(groups_left_out_),)
        :math:`\mu_a`, share of ``pos_label`` per group in the fitting data; the groups
        (here and below) are those of ``groups_`` in order, less ``groups_left_out_``.
    costs_ : ndarray of shape (n_groups - len(groups_left_out_),)
        :math:`c_a(h)` before mixing.
    trivial_costs_ : ndarray of shape (n_groups - len(groups_left_out_),)
        :math:`c_a(\mu_a)`.
    mix_rates_ : ndarray of shape (n_groups - len(groups_left_out_),)
        :math:`\alpha_a`.
    {cv_}
    groups_ : list
        Group labels seen in ``fit``, in code order.
    groups_left_out_ : list
        Groups with one label among their fitting rows (their generalised rates are
        undefined): they are left out of the rule and get ``estimator_``'s own scores and
        decisions (a ``GroupLeftOutWarning`` names each).
    prot_attr_names_ : list of str
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    ``predict_proba`` is randomised: the drawn samples of group :math:`a` get
    :math:`\mu_a`, the others keep :math:`h(x)`. In expectation the generalised cost of group
    :math:`a` is :math:`(1-\alpha_a)c_a(h) + \alpha_a c_a(\mu_a) = c^\star`. An unseen group
    at predict time raises a ``ValueError``. ``sample_weight`` in ``fit`` weights the base
    rates and the generalised costs (without cross-fitting, ``cv=None`` or ``prefit=True``,
    a weighted fit equals a fit on repeated rows). By default (``cv="auto"``,
    ``prefit=False``) the costs :math:`c_a(h)` are of out-of-fold scores. A group with one
    label in the fitting data is left out (``groups_left_out_``): its rows get the wrapped
    model's own ``predict`` and ``predict_proba``. A rule whose decisions are the same on
    every fitting row warns (``ConstantFitWarning``).

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
        **BasePostProcessor._cross_fit_constraints,
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, cost_constraint="weighted",
                 threshold=0.5, prefit=False, cv="auto", memory=None, pos_label=None,
                 drop_prot_attr=False,
                 random_state=None):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.cost_constraint = cost_constraint
        self.threshold = threshold
        self.prefit = prefit
        self.cv = cv
        self.memory = memory
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    _estimator_output = "proba"
    # predict thresholds the randomised scores rather than drawing from them
    _randomized = False
    _constant_fit_params = ("threshold", "cost_constraint")

    def _fit_rule(self, X_model, y01, codes, sample_weight):
        # the layer hands over only groups with both labels (of positive weight), so every
        # group's generalised false-positive and false-negative rates are defined
        scores = self._model_output(X_model)
        k = len(self._rule_groups)
        w = np.ones(len(y01)) if sample_weight is None else sample_weight
        n_pos = np.bincount(codes, weights=y01 * w, minlength=k)
        n_all = np.bincount(codes, weights=w, minlength=k)
        self.base_rates_ = n_pos / n_all
        self.costs_ = generalized_cost(y01, scores, codes, k, self.cost_constraint,
                                       sample_weight)
        self.trivial_costs_ = generalized_cost(y01, self.base_rates_[codes], codes, k,
                                               self.cost_constraint, sample_weight)
        target = self.costs_.max()
        gain = self.trivial_costs_ - self.costs_
        below = self.costs_ < target
        with np.errstate(divide="ignore", invalid="ignore"):
            mix = np.where(below & (gain > 0), (target - self.costs_) / gain, 0.0)
        # short of the target: the trivial predictor's cost is below it (mix > 1: go all the
        # way, rate 1), or not above the group's own cost (mixing would lower its cost or
        # change nothing: rate 0)
        short = below & ((gain <= 0) | (mix > 1))
        if short.any():
            mix = np.clip(mix, 0.0, 1.0)
            # the costs the rule reaches on the fitting rows (linear in the mixing rate)
            reached = self.costs_ + mix * gain
            before, after = np.ptp(self.costs_), np.ptp(reached)
            names = [self._rule_groups[g] for g in np.flatnonzero(short)]
            names = [g.item() if isinstance(g, np.generic) else g for g in names]
            trivial = ", ".join(f"{self.trivial_costs_[g]:.4g}" for g in np.flatnonzero(short))
            weighted = (" (a group's trivial weighted cost is mu * (1 - mu) for its base "
                        "rate mu, small for a base rate near 0 or 1; cost_constraint='fpr' "
                        "or 'fnr' equalises one of the two rates instead)"
                        if self.cost_constraint == "weighted" else "")
            warnings.warn(
                f"CalibratedEqualizedOdds: group(s) {names} cannot reach the highest "
                f"{self.cost_constraint} cost {target:.4g} even with their trivial predictor "
                f"(its cost: {trivial}){weighted}; their mixing rate is set to "
                f"{', '.join(f'{mix[g]:g}' for g in np.flatnonzero(short))}, so the "
                f"cost gap on the fitting rows falls only from {before:.4g} to {after:.4g} "
                f"({100 * (1 - after / before):.0f}% less), not to 0.",
                CostUnreachableWarning, stacklevel=self._stacklevel(1),
            )
        self.mix_rates_ = mix

    def _positive_probability(self, X_model, codes):
        """Mixed scores: the group base rate for the drawn samples, the model's otherwise."""
        scores = self._model_output(X_model)
        rng = check_random_state(self.random_state)
        replace = rng.random_sample(len(scores)) < self.mix_rates_[codes]
        return np.where(replace, self.base_rates_[codes], scores)

    def _predict01(self, X_model, codes):
        return self._positive_probability(X_model, codes) >= self.threshold
