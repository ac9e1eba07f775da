"""Group fairness metrics for classification (and mean-prediction gaps for regression).

Every function takes ``(y_true, y_pred, *, sensitive_features, priv_group=None,
method=None, pos_label=1, sample_weight=None)`` and reduces the data to weighted per-group confusion
counts with one :func:`numpy.bincount` (:class:`fairkit.metrics.GroupCounts`), then computes
the metric from those counts. There is no Python loop over rows or groups' rows.

Comparing groups
----------------
``method`` names the quantity; fairlearn's two methods and AIF360's one:

* ``method="between_groups"`` (fairlearn's default): the worst gap between any two
  groups, :math:`\\max_g r_g - \\min_g r_g` (so always >= 0), and for ratios
  :math:`\\min_g r_g / \\max_g r_g` (so in [0, 1]).
* ``method="to_overall"`` (fairlearn's ``to_overall``): the largest gap between a group and
  all rows pooled, :math:`\\max_g |r_g - r_{all}|`, and for ratios
  :math:`\\min_g \\rho(r_g / r_{all})` with :math:`\\rho(x) = \\min(x, 1/x)` (so in [0, 1]).
* ``priv_group`` given (``method=None`` or ``"privileged"``, AIF360's convention): the
  privileged group(s) against all other groups pooled. A difference is the signed
  :math:`r_{unpriv} - r_{priv}`, a ratio :math:`r_{unpriv} / r_{priv}`.

``method=None`` means ``"privileged"`` when ``priv_group`` is given and
``"between_groups"`` otherwise. ``priv_group`` together with ``"between_groups"`` or
``"to_overall"``, and ``"privileged"`` without ``priv_group``, raise ``ValueError``.

Several columns in ``sensitive_features`` give intersectional groups (one group per
observed combination); ``priv_group`` may then be a tuple such as ``("Male", "White")``, a
tuple with ``None`` wildcards (``("Male", None)``: all men) or a list of labels.

Multiclass targets: a metric is computed one-vs-rest for the class ``pos_label``; all other
values count as negative. :func:`per_class` returns the metric for every class at once.

Undefined values: a rate with a zero denominator (e.g. TPR of a group without positives)
is ``zero_division`` (default ``nan``; fairlearn and AIF360 use 0, so pass
``zero_division=0`` to reproduce them exactly). Groups whose rate is ``nan`` are skipped
in the between-groups gap, which is ``nan`` when fewer than two groups have a defined
rate. A ratio with a zero denominator is ``zero_division``. See
:mod:`fairkit.metrics.streaming` for the full rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._protected import _param_repr, encode_groups, privileged_mask
from ..utils._dataframe import to_pandas
from ..utils._docstring import fair_docstring
from ._labels import check_label_predictions
from .streaming import (
    _AGG_METRICS,
    GROUP_METRICS,
    GroupCounts,
    _as_1d,
    _check_weight,
    _compare,
    _divide,
    _is_pos,
    group_rate,
    per_class_counts,
    prepare_arrays,
    resolve_method,
)

__all__ = [
    "selection_rate",
    "statistical_parity_difference",
    "disparate_impact_ratio",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "average_odds_difference",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "true_positive_rate_difference",
    "true_positive_rate_ratio",
    "true_negative_rate_difference",
    "true_negative_rate_ratio",
    "false_positive_rate_difference",
    "false_positive_rate_ratio",
    "false_negative_rate_difference",
    "false_negative_rate_ratio",
    "selection_rate_difference",
    "selection_rate_ratio",
    "predictive_parity_difference",
    "predictive_parity_ratio",
    "accuracy_difference",
    "accuracy_ratio",
    "balanced_accuracy_difference",
    "balanced_accuracy_ratio",
    "mean_prediction_difference",
    "mean_prediction_ratio",
    "per_class",
    "group_counts",
    # AIF360's metrics and fairlearn's per-sample functions
    "class_imbalance",
    "negative_predictive_value",
    "negative_predictive_value_difference",
    "negative_predictive_value_ratio",
    "average_predictive_value_difference",
    "average_odds_error",
    "generalized_false_positive_rate",
    "generalized_false_negative_rate",
    "generalized_false_positive_rate_difference",
    "generalized_false_negative_rate_difference",
    "smoothed_base_rate",
    "count",
    "mean_prediction",
]


def _check_pos_label_present(y_true, y_pred, pos_label, counts):
    if counts.pos_label_seen:
        return
    seen = pd.unique(np.concatenate([pd.unique(y_true), pd.unique(y_pred)]).astype(object))
    raise ValueError(
        f"pos_label={pos_label!r} occurs in neither y_true nor y_pred (values: "
        f"{_param_repr(sorted(seen.tolist(), key=str), 120)}); set pos_label to the "
        "favourable label."
    )


def group_counts(y_true, y_pred, *, sensitive_features, pos_label=1, sample_weight=None):
    """Validated :class:`GroupCounts` of a whole data set (needs two groups and pos_label).

    Like :meth:`GroupCounts.from_arrays`, but raises ``ValueError`` when
    ``sensitive_features`` has fewer than two groups or ``pos_label`` occurs in neither
    ``y_true`` nor ``y_pred``, the checks every group metric applies.
    """
    y_true, y_pred, groups, w = prepare_arrays(
        y_true, y_pred, sensitive_features, sample_weight, min_groups=2
    )
    check_label_predictions(y_pred)
    counts = GroupCounts._from_encoded(y_true, y_pred, groups, pos_label, w)
    _check_pos_label_present(y_true, y_pred, pos_label, counts)
    return counts


_PARAMS_DOC = """
    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.{y_true_note}
    y_pred : array-like of shape (n_samples,)
        Predicted labels.{y_pred_note}
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Protected attribute(s): array, list, Series, 2-D array or DataFrame. Several columns
        give intersectional groups.
    {priv_group}
        Given: unprivileged (all other groups pooled) compared with privileged, AIF360's
        signed form (``method="privileged"``).
    method : {{None, "between_groups", "to_overall", "privileged"}}, default=None
        Which gap is computed. ``"between_groups"``: largest minus smallest group value
        (ratio: smallest over largest); ``"to_overall"``: largest absolute gap of a group
        to the value on all rows (ratio: smallest group/overall ratio, each taken <= 1),
        as fairlearn's ``method``; ``"privileged"``: unprivileged minus (over)
        privileged, needs ``priv_group``. None: ``"privileged"`` if ``priv_group`` is
        given, else ``"between_groups"``.
    pos_label : scalar, default=1
        Favourable label; for multiclass targets the class compared one-vs-rest.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative sample weights.
    zero_division : float, default=nan
        Value of a rate or ratio whose denominator is zero (fairlearn/AIF360: 0).{agg_doc}

    Returns
    -------
    float
        The gap of the comparison ``method`` names: for rates >= 0 (difference) or in
        [0, 1] (ratio) with ``"between_groups"``/``"to_overall"``; signed unprivileged
        minus (over) privileged with ``"privileged"`` (the equalized-odds metrics fold
        it, see their Notes).

    Raises
    ------
    ValueError
        On a length mismatch, missing values in ``sensitive_features``, fewer than two
        groups, ``y_pred`` holding scores (non-integer numbers) instead of labels, a
        ``priv_group`` that does not occur, a ``pos_label`` that occurs in
        neither ``y_true`` nor ``y_pred``, an unknown ``method``, ``priv_group`` together
        with ``method="between_groups"``/``"to_overall"``, or ``method="privileged"``
        without ``priv_group``.
"""

_AGG_DOC = """
    agg : {"worst_case", "mean"}, default="worst_case"
        Combine the TPR and FPR parts by their worst case or their mean (fairlearn's
        ``agg``)."""


def _docstring(name, summary, math, notes, see_also, base_rates_ok, examples=""):
    y_true_note = " Ignored unless ``y_pred`` is None." if base_rates_ok else ""
    y_pred_note = (
        " If None, ``y_true`` is used, giving the gap in base rates of the data (as AIF360)."
        if base_rates_ok else ""
    )
    params = _PARAMS_DOC.format(
        y_true_note=y_true_note, y_pred_note=y_pred_note,
        agg_doc=_AGG_DOC if name in _AGG_METRICS else "",
        priv_group="{priv_group}",
    )
    doc = f"""{summary}

    .. math::

        {math}
{params}"""
    if see_also:
        doc += f"""
    See Also
    --------
    {see_also}
"""
    if notes:
        doc += f"""
    Notes
    -----
    {notes}
"""
    doc += """
    References
    ----------
    .. [1] R. K. E. Bellamy et al., "AI Fairness 360: An Extensible Toolkit for Detecting
       and Mitigating Algorithmic Bias", IBM J. Res. Dev. 63(4/5), 2019.
    .. [2] H. Weerts et al., "Fairlearn: Assessing and Improving Fairness of AI Systems",
       JMLR 24(257), 2023.
"""
    if examples:
        doc += f"""
    Examples
    --------{examples}"""
    return doc


def _make(name, summary, math, *, notes="", see_also="", base_rates_ok=False, examples=""):
    if name in _AGG_METRICS:

        def metric(y_true, y_pred, *, sensitive_features, priv_group=None, method=None,
                   pos_label=1, sample_weight=None, zero_division=np.nan, agg="worst_case"):
            resolve_method(method, priv_group)  # a bad combination fails before any work
            counts = group_counts(y_true, y_pred, sensitive_features=sensitive_features,
                                  pos_label=pos_label, sample_weight=sample_weight)
            return counts.metric(name, priv_group=priv_group, method=method,
                                 zero_division=zero_division, agg=agg)

    elif base_rates_ok:

        def metric(y_true, y_pred=None, *, sensitive_features, priv_group=None, method=None,
                   pos_label=1, sample_weight=None, zero_division=np.nan):
            resolve_method(method, priv_group)
            if y_pred is None:
                y_pred = y_true
            counts = group_counts(y_true, y_pred, sensitive_features=sensitive_features,
                                  pos_label=pos_label, sample_weight=sample_weight)
            return counts.metric(name, priv_group=priv_group, method=method,
                                 zero_division=zero_division)

    else:

        def metric(y_true, y_pred, *, sensitive_features, priv_group=None, method=None,
                   pos_label=1, sample_weight=None, zero_division=np.nan):
            resolve_method(method, priv_group)
            counts = group_counts(y_true, y_pred, sensitive_features=sensitive_features,
                                  pos_label=pos_label, sample_weight=sample_weight)
            return counts.metric(name, priv_group=priv_group, method=method,
                                 zero_division=zero_division)

    metric.__name__ = metric.__qualname__ = name
    metric.__module__ = __name__
    metric.__doc__ = _docstring(name, summary, math, notes, see_also, base_rates_ok, examples)
    return fair_docstring(metric)


# between_groups; to_overall; privileged
_DIFF = (
    r"\max_g r_g - \min_g r_g;\quad \max_g |r_g - r_{{all}}|;\quad "
    r"r_{{unpriv}} - r_{{priv}}"
)
_RATIO = (
    r"\frac{{\min_g r_g}}{{\max_g r_g}};\quad "
    r"\min_g \min\Big(\frac{{r_g}}{{r_{{all}}}}, \frac{{r_{{all}}}}{{r_g}}\Big);\quad "
    r"\frac{{r_{{unpriv}}}}{{r_{{priv}}}}"
)


def _rate_pair(rate, rate_math, label, *, see_also_diff="", see_also_ratio="", notes=""):
    diff = _make(
        f"{rate}_difference",
        f"Difference of {label} between groups.",
        _DIFF.format() + rf", \quad r = {rate_math}",
        see_also=see_also_diff, notes=notes,
    )
    ratio = _make(
        f"{rate}_ratio",
        f"Ratio of {label} between groups.",
        _RATIO.format() + rf", \quad r = {rate_math}",
        see_also=see_also_ratio, notes=notes,
    )
    return diff, ratio


_SR = r"P(\hat Y = pos \mid G)"
statistical_parity_difference = _make(
    "statistical_parity_difference",
    "Statistical parity (demographic parity) difference: gap in selection rates.",
    _DIFF.format() + rf", \quad r = {_SR}",
    see_also="disparate_impact_ratio, demographic_parity_difference (same function)",
    notes="Equals AIF360's ``statistical_parity_difference`` with ``priv_group`` and "
    "fairlearn's ``demographic_parity_difference(method=...)`` with ``method`` "
    "``'between_groups'`` (the default without ``priv_group``) or ``'to_overall'``. A "
    "value of 0 is parity.",
    base_rates_ok=True,
    examples="""
    >>> from fairkit.metrics import statistical_parity_difference
    >>> y_true = [1, 0, 1, 0, 1, 0]
    >>> y_pred = [1, 1, 0, 0, 0, 1]
    >>> sex = ["M", "M", "M", "F", "F", "F"]
    >>> round(statistical_parity_difference(y_true, y_pred, sensitive_features=sex,
    ...                                     priv_group="M"), 4)  # 1/3 - 2/3
    -0.3333
    >>> round(statistical_parity_difference(y_true, y_pred, sensitive_features=sex), 4)
    0.3333
    >>> round(statistical_parity_difference(y_true, y_pred, sensitive_features=sex,
    ...                                     method="to_overall"), 4)  # |1/3 - 1/2|
    0.1667
""",
)
disparate_impact_ratio = _make(
    "disparate_impact_ratio",
    "Disparate impact: ratio of selection rates.",
    _RATIO.format() + rf", \quad r = {_SR}",
    see_also="statistical_parity_difference, demographic_parity_ratio (same function)",
    notes="Equals AIF360's ``disparate_impact_ratio`` with ``priv_group`` and fairlearn's "
    "``demographic_parity_ratio(method=...)`` with ``method`` ``'between_groups'`` or "
    "``'to_overall'``. The US 'four-fifths rule' flags values below 0.8 (of the "
    "``'between_groups'`` or ``'privileged'`` ratio).",
    base_rates_ok=True,
)
demographic_parity_difference = _make(
    "demographic_parity_difference",
    "fairlearn's name for :func:`statistical_parity_difference`.",
    _DIFF.format() + rf", \quad r = {_SR}",
    base_rates_ok=True,
)
demographic_parity_ratio = _make(
    "demographic_parity_ratio",
    "fairlearn's name for :func:`disparate_impact_ratio`.",
    _RATIO.format() + rf", \quad r = {_SR}",
    base_rates_ok=True,
)
selection_rate_difference, selection_rate_ratio = _rate_pair(
    "selection_rate", _SR, "selection rates (fairlearn's name)"
)
_TPR = r"P(\hat Y = pos \mid Y = pos, G) = \frac{TP}{TP + FN}"
equal_opportunity_difference = _make(
    "equal_opportunity_difference",
    "Equal opportunity difference: gap in true positive rates (recall).",
    _DIFF.format() + rf", \quad r = {_TPR}",
    see_also="true_positive_rate_difference (same values), equalized_odds_difference",
    notes="Hardt, Price and Srebro (2016), 'Equality of opportunity in supervised learning'.",
)
equal_opportunity_ratio = _make(
    "equal_opportunity_ratio",
    "Equal opportunity ratio: ratio of true positive rates (recall).",
    _RATIO.format() + rf", \quad r = {_TPR}",
)
true_positive_rate_difference, true_positive_rate_ratio = _rate_pair(
    "true_positive_rate", _TPR, "true positive rates"
)
true_negative_rate_difference, true_negative_rate_ratio = _rate_pair(
    "true_negative_rate", r"\frac{TN}{TN + FP}", "true negative rates (specificity)"
)
false_positive_rate_difference, false_positive_rate_ratio = _rate_pair(
    "false_positive_rate", r"\frac{FP}{FP + TN}", "false positive rates"
)
false_negative_rate_difference, false_negative_rate_ratio = _rate_pair(
    "false_negative_rate", r"\frac{FN}{FN + TP}", "false negative rates"
)
average_odds_difference = _make(
    "average_odds_difference",
    "Average odds difference: mean of the TPR gap and the FPR gap.",
    r"\tfrac12\big[\Delta TPR + \Delta FPR\big], \quad \Delta r = \max_g r_g - \min_g r_g;"
    r"\quad \max_g |r_g - r_{all}|; \quad r_u - r_p",
    notes="With ``priv_group`` this is AIF360's signed ``average_odds_difference``; "
    "with ``method='between_groups'`` or ``'to_overall'`` it equals fairlearn's "
    "``equalized_odds_difference(agg='mean', method=...)``.",
)
equalized_odds_difference = _make(
    "equalized_odds_difference",
    "Equalized odds difference: the larger of the TPR gap and the FPR gap (>= 0).",
    r"\max\big(|\Delta TPR|, |\Delta FPR|\big), \quad \Delta r = \max_g r_g - \min_g r_g;"
    r"\quad \max_g |r_g - r_{all}|; \quad r_u - r_p",
    notes="With ``method='between_groups'`` (the default without ``priv_group``) or "
    "``'to_overall'`` this is fairlearn's ``equalized_odds_difference(method=...)``. "
    "With ``priv_group`` the two gaps are unprivileged minus privileged, taken in absolute "
    "value, so the result is >= 0 either way. Hardt, Price and Srebro (2016).",
)
equalized_odds_ratio = _make(
    "equalized_odds_ratio",
    "Equalized odds ratio: the smaller of the TPR ratio and the FPR ratio (in [0, 1]).",
    r"\min\big(\rho(TPR), \rho(FPR)\big), \quad \rho(r) = \min_g r_g / \max_g r_g;"
    r"\quad \min_g \min(r_g / r_{all}, r_{all} / r_g); \quad \min(r_u / r_p, r_p / r_u)",
    notes="With ``method='between_groups'`` (the default without ``priv_group``) or "
    "``'to_overall'`` this is fairlearn's ``equalized_odds_ratio(method=...)``. With "
    "``priv_group`` each ratio unpriv/priv is folded to min(r, 1/r) so 1 means parity and "
    "smaller is worse, as without it.",
)
predictive_parity_difference, predictive_parity_ratio = _rate_pair(
    "predictive_parity",
    r"P(Y = pos \mid \hat Y = pos, G) = \frac{TP}{TP + FP}",
    "precision (positive predictive value)",
    notes="Chouldechova (2017), 'Fair prediction with disparate impact'.",
)
accuracy_difference, accuracy_ratio = _rate_pair(
    "accuracy", r"\frac{TP + TN}{n}", "accuracies"
)
balanced_accuracy_difference, balanced_accuracy_ratio = _rate_pair(
    "balanced_accuracy", r"\tfrac12 (TPR + TNR)", "balanced accuracies",
    notes="A group with only one true class gets the rate of that class (scikit-learn's "
    "rule).",
)


def selection_rate(y_true, y_pred, *, sensitive_features=None, pos_label=1,
                   sample_weight=None):
    r"""Selection rate :math:`P(\hat Y = pos)`, overall or per group.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or None
        Only used to check ``pos_label`` (kept for the common signature, like fairlearn's
        ``selection_rate``): a ``pos_label`` in neither ``y_true`` nor ``y_pred`` raises
        ``ValueError``. None skips that check.
    y_pred : array-like of shape (n_samples,)
        Predicted labels; scores (non-integer numbers) raise ``ValueError``.
    sensitive_features : array-like, optional
        If given, the rate of every group is returned as a Series indexed by group.
    pos_label : scalar, default=1
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    float or pandas.Series
        Overall selection rate, or per-group rates (nan for a group of total weight 0).
    """
    overall = sensitive_features is None
    if overall:
        y_pred = np.asarray(y_pred).ravel()
        sensitive_features = np.zeros(len(y_pred), dtype=np.int8)
    truth = y_pred if y_true is None else y_true
    counts = GroupCounts.from_arrays(truth, y_pred, sensitive_features=sensitive_features,
                                     pos_label=pos_label, sample_weight=sample_weight)
    if y_true is not None:
        # a model may select nobody (rate 0 is then right), but a pos_label absent from the
        # target as well is a wrong label (e.g. 1 on "yes"/"no" data)
        _check_pos_label_present(np.asarray(truth).ravel(), np.asarray(y_pred).ravel(),
                                 pos_label, counts)
    if overall:
        return float(counts.overall()["selection_rate"])
    return counts.by_group()["selection_rate"].rename("selection_rate")


def per_class(metric, y_true, y_pred, *, sensitive_features, priv_group=None, method=None,
              sample_weight=None, classes=None, zero_division=np.nan, **kwargs):
    """A group metric for every class of a multiclass target, one-vs-rest.

    All classes come from one bincount over (group, true class, predicted class).

    Parameters
    ----------
    metric : callable or str
        One of this module's group metrics (e.g. :func:`equal_opportunity_difference`)
        or its name.
    y_true, y_pred : array-like of shape (n_samples,)
    sensitive_features, priv_group, method, sample_weight, zero_division
        As in the group metrics.
    classes : array-like, optional
        Classes to report, default the sorted union of ``y_true`` and ``y_pred`` values.
        Each must occur in ``y_true`` or ``y_pred`` (as ``pos_label`` must).
    **kwargs
        ``agg`` for the equalized-odds metrics.

    Returns
    -------
    pandas.Series
        The metric per class (index: class), named after the metric.

    Examples
    --------
    >>> from fairkit.metrics import per_class, statistical_parity_difference
    >>> y = ["a", "b", "c", "a", "b", "c"]
    >>> yhat = ["a", "a", "c", "b", "b", "c"]
    >>> per_class(statistical_parity_difference, y, yhat,
    ...           sensitive_features=[0, 0, 0, 1, 1, 1]).round(3).tolist()
    [0.667, 0.667, 0.0]
    """
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", None)
    if name not in GROUP_METRICS:
        raise ValueError(
            f"metric={_param_repr(metric)} is not a fairkit group metric; choose one of "
            f"{sorted(GROUP_METRICS)}."
        )
    resolve_method(method, priv_group)
    by_class = per_class_counts(y_true, y_pred, sensitive_features=sensitive_features,
                                sample_weight=sample_weight, classes=classes)
    unseen = [c for c, counts in by_class.items() if not counts.pos_label_seen]
    if unseen:
        raise ValueError(
            f"classes={_param_repr(list(by_class), 120)} includes "
            f"{_param_repr(unseen, 120)}, which occur(s) in neither y_true nor y_pred; "
            "a metric for an absent class is meaningless, so leave it out of classes."
        )
    values = {
        c: counts.metric(name, priv_group=priv_group, method=method,
                         zero_division=zero_division, **kwargs)
        for c, counts in by_class.items()
    }
    return pd.Series(values, name=name, dtype=float)


def _mean_prediction_gap(kind, y_true, y_pred, sensitive_features, priv_group, method,
                         sample_weight, zero_division):
    method = resolve_method(method, priv_group)
    y_true, y_pred, groups, w = prepare_arrays(
        y_true, y_pred, sensitive_features, sample_weight, min_groups=2
    )
    try:
        y_pred = y_pred.astype(float)
    except (TypeError, ValueError):
        raise ValueError("y_pred must be numeric for mean-prediction metrics.") from None
    w = np.ones(len(y_pred)) if w is None else w
    num = np.bincount(groups.codes, weights=w * y_pred, minlength=groups.n_groups)
    den = np.bincount(groups.codes, weights=w, minlength=groups.n_groups)
    overall = num.sum() / den.sum() if den.sum() > 0 else np.nan
    if method == "privileged":
        priv = privileged_mask(groups, priv_group)
        num = np.array([num[~priv].sum(), num[priv].sum()])
        den = np.array([den[~priv].sum(), den[priv].sum()])
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(den > 0, num / den, np.nan)
    return float(_compare(means, kind, method, zero_division, overall))


def mean_prediction_difference(y_true, y_pred, *, sensitive_features, priv_group=None,
                               method=None, sample_weight=None, zero_division=np.nan):
    r"""Regression: gap in (weighted) mean prediction between groups.

    .. math::

        \max_g \bar{\hat y}_g - \min_g \bar{\hat y}_g;\quad
        \max_g |\bar{\hat y}_g - \bar{\hat y}_{all}|;\quad
        \bar{\hat y}_{unpriv} - \bar{\hat y}_{priv}

    for ``method="between_groups"``, ``"to_overall"`` and ``"privileged"`` (see
    :func:`statistical_parity_difference`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Checked for length, otherwise ignored.
    y_pred : array-like of shape (n_samples,)
        Numeric predictions (or scores).
    sensitive_features, priv_group, method, sample_weight
        As in the classification metrics.
    zero_division : float, default=nan
        Unused for differences; kept for a uniform signature.

    Returns
    -------
    float
    """
    return _mean_prediction_gap("difference", y_true, y_pred, sensitive_features, priv_group,
                                method, sample_weight, zero_division)


def mean_prediction_ratio(y_true, y_pred, *, sensitive_features, priv_group=None,
                          method=None, sample_weight=None, zero_division=np.nan):
    r"""Regression: ratio of (weighted) mean predictions between groups.

    .. math::

        \min_g \bar{\hat y}_g / \max_g \bar{\hat y}_g;\quad
        \min_g \min(\bar{\hat y}_g / \bar{\hat y}_{all},
        \bar{\hat y}_{all} / \bar{\hat y}_g);\quad
        \bar{\hat y}_{unpriv} / \bar{\hat y}_{priv}

    for ``method="between_groups"``, ``"to_overall"`` and ``"privileged"``.

    Meaningful for non-negative predictions (amounts, scores). A zero denominator gives
    ``zero_division``. Parameters as :func:`mean_prediction_difference`.

    Returns
    -------
    float
    """
    return _mean_prediction_gap("ratio", y_true, y_pred, sensitive_features, priv_group,
                                method, sample_weight, zero_division)


# ------------------------------------------------------------------------------------------
# AIF360's metrics missing above, and fairlearn's per-sample count / mean_prediction
# ------------------------------------------------------------------------------------------

_NPV = r"P(Y \ne pos \mid \hat Y \ne pos, G) = \frac{TN}{TN + FN}"
negative_predictive_value_difference, negative_predictive_value_ratio = _rate_pair(
    "negative_predictive_value", _NPV, "negative predictive values",
    see_also_diff="negative_predictive_value, average_predictive_value_difference",
    see_also_ratio="negative_predictive_value, negative_predictive_value_difference",
    notes="With ``priv_group`` and ``zero_division=0`` this equals AIF360's "
    "``ClassificationMetric.difference(negative_predictive_value)`` (resp. ``ratio``).",
)
average_predictive_value_difference = _make(
    "average_predictive_value_difference",
    "Average predictive value difference: mean of the precision gap and the false "
    "omission rate gap.",
    r"\tfrac12\big[\Delta PPV + \Delta FOR\big], \quad PPV = \frac{TP}{TP + FP}, \quad "
    r"FOR = \frac{FN}{FN + TN} = 1 - NPV, \quad \Delta r = \max_g r_g - \min_g r_g;"
    r"\quad \max_g |r_g - r_{all}|; \quad r_u - r_p",
    see_also="predictive_parity_difference, negative_predictive_value_difference",
    notes="With ``priv_group`` this is AIF360's signed "
    "``average_predictive_value_difference`` (``ClassificationMetric`` and "
    "``aif360.sklearn.metrics``; they return 0 for an undefined precision or false "
    "omission rate, as ``zero_division=0`` does here). AIF360 defines it with the false "
    "omission rate, so the negative-predictive-value gap enters with a minus sign: "
    r":math:`\tfrac12[\Delta PPV - \Delta NPV]`. 0 means both predictive values are "
    "equal across groups only when each gap is 0 (the two gaps may cancel); "
    "Chouldechova (2017), 'Fair prediction with disparate impact'.",
)
average_odds_error = _make(
    "average_odds_error",
    "Average odds error: mean of the absolute TPR gap and the absolute FPR gap (>= 0).",
    r"\tfrac12\big[|\Delta TPR| + |\Delta FPR|\big], \quad "
    r"\Delta r = \max_g r_g - \min_g r_g;\quad \max_g |r_g - r_{all}|; \quad r_u - r_p",
    see_also="average_odds_difference (signed), equalized_odds_difference",
    notes="With ``priv_group`` this is AIF360's ``average_odds_error`` "
    "(``aif360.sklearn.metrics``), which is ``ClassificationMetric."
    "average_abs_odds_difference``: unlike :func:`average_odds_difference` the two gaps "
    "cannot cancel. Without ``priv_group`` (``method='between_groups'``) each gap is "
    "already >= 0, so it equals ``average_odds_difference`` and fairlearn's "
    "``equalized_odds_difference(agg='mean')``; for two groups it equals AIF360's value "
    "with either group privileged.",
)


def _group_index(groups):
    if len(groups.names) > 1:
        return pd.MultiIndex.from_tuples(groups.labels, names=groups.names)
    return pd.Index(groups.labels, name=groups.names[0], dtype=object)


def _n_rows(y):
    y = np.asarray(to_pandas(y))
    return y.shape[0] if y.ndim else 0


def negative_predictive_value(y_true, y_pred, *, sensitive_features=None, pos_label=1,
                              sample_weight=None, zero_division=np.nan):
    r"""Negative predictive value :math:`TN / (TN + FN)`, overall or per group.

    .. math::

        NPV = P(Y \ne pos \mid \hat Y \ne pos) = \frac{TN}{TN + FN}

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; anything other than ``pos_label`` is negative.
    y_pred : array-like of shape (n_samples,)
        Predicted labels; scores (non-integer numbers) raise ``ValueError``.
    sensitive_features : array-like, optional
        If given, the value of every group is returned as a Series indexed by group.
    pos_label : scalar, default=1
        Favourable label.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative sample weights.
    zero_division : float, default=nan
        Value where nothing is predicted negative (AIF360: 0).

    Returns
    -------
    float or pandas.Series
        Overall value, or per-group values (nan for a group of total weight 0).

    Raises
    ------
    ValueError
        On a length mismatch, scores in ``y_pred``, or a ``pos_label`` in neither
        ``y_true`` nor ``y_pred``.

    See Also
    --------
    negative_predictive_value_difference, average_predictive_value_difference

    Examples
    --------
    >>> from fairkit.metrics import negative_predictive_value
    >>> negative_predictive_value([0, 1, 0, 1], [0, 0, 0, 1])  # TN = 2, FN = 1
    0.6666666666666666
    """
    overall = sensitive_features is None
    if overall:
        sensitive_features = np.zeros(_n_rows(y_true), dtype=np.int8)
    counts = GroupCounts.from_arrays(y_true, y_pred, sensitive_features=sensitive_features,
                                     pos_label=pos_label, sample_weight=sample_weight)
    _check_pos_label_present(np.asarray(y_true).ravel(), np.asarray(y_pred).ravel(),
                             pos_label, counts)
    values = group_rate(counts.counts, "negative_predictive_value", zero_division)
    if overall:
        return float(values[0])
    return pd.Series(values, index=counts._index_obj(), name="negative_predictive_value")


# ---- generalized (score-weighted) error rates ---------------------------------------------

def _check_scores(y_pred):
    try:
        scores = np.asarray(y_pred, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "y_pred must hold numeric scores in [0, 1] (probabilities of pos_label) for a "
            "generalized rate; it holds non-numeric values."
        ) from None
    outside = (scores < 0) | (scores > 1)
    if outside.any():
        bad = scores[outside]
        raise ValueError(
            f"y_pred holds {bad.size} score(s) outside [0, 1] (from {bad.min():.4g} to "
            f"{bad.max():.4g}); a generalized rate weights each row by its probability of "
            "pos_label, e.g. predict_proba(X)[:, 1] (map decision_function values to "
            "probabilities first)."
        )
    return scores


def _generalized_parts(rate, y_true, y_pred, sensitive_features, pos_label, sample_weight,
                       min_groups):
    """Per group: score mass of the rate's errors, weight of its true class, total weight."""
    y_true, y_pred, groups, w = prepare_arrays(y_true, y_pred, sensitive_features,
                                               sample_weight, min_groups=min_groups)
    scores = _check_scores(y_pred)
    positive = _is_pos(y_true, pos_label)
    if not positive.any():
        seen = pd.unique(y_true.astype(object))
        raise ValueError(
            f"pos_label={pos_label!r} does not occur in y_true (values: "
            f"{_param_repr(sorted(seen.tolist(), key=str), 120)}); set pos_label to the "
            "favourable label."
        )
    if rate == "false_positive_rate":  # GFP = sum of scores over true negatives
        col, mass = 0, scores
    else:  # GFN = sum of (1 - score) over true positives
        col, mass = 1, 1.0 - scores
    n = groups.n_groups
    cell = groups.codes * 2 + positive  # (group, true class) of every row
    num = np.bincount(cell, weights=mass if w is None else w * mass, minlength=2 * n)
    size = np.bincount(cell, weights=w, minlength=2 * n).astype(float).reshape(n, 2)
    return groups, num.reshape(n, 2)[:, col], size[:, col], size.sum(axis=1)


def _generalized_rate(rate, y_true, y_pred, sensitive_features, pos_label, sample_weight,
                      zero_division):
    overall = sensitive_features is None
    if overall:
        sensitive_features = np.zeros(_n_rows(y_true), dtype=np.int8)
    groups, num, den, total = _generalized_parts(rate, y_true, y_pred, sensitive_features,
                                                 pos_label, sample_weight, min_groups=1)
    values = np.where(total > 0, _divide(num, den, zero_division), np.nan)
    if overall:
        return float(values[0])
    return pd.Series(values, index=_group_index(groups), name=f"generalized_{rate}")


def _generalized_gap(rate, y_true, y_pred, sensitive_features, priv_group, method, pos_label,
                     sample_weight, zero_division):
    method = resolve_method(method, priv_group)
    groups, num, den, total = _generalized_parts(rate, y_true, y_pred, sensitive_features,
                                                 pos_label, sample_weight, min_groups=2)
    overall = _divide(num.sum(), den.sum(), zero_division)
    if method == "privileged":
        priv = privileged_mask(groups, priv_group)
        num, den, total = (np.array([a[~priv].sum(), a[priv].sum()])
                           for a in (num, den, total))
    values = np.where(total > 0, _divide(num, den, zero_division), np.nan)
    return float(_compare(values, "difference", method, zero_division, overall))


_GEN_DOC = {
    "false_positive_rate": (
        "false positive rate",
        r"GFPR = \frac{\sum_{i: y_i \ne pos} w_i s_i}{\sum_{i: y_i \ne pos} w_i}",
        "negatives",
        "generalized_false_positive_rate",
    ),
    "false_negative_rate": (
        "false negative rate",
        r"GFNR = \frac{\sum_{i: y_i = pos} w_i (1 - s_i)}{\sum_{i: y_i = pos} w_i}",
        "positives",
        "generalized_false_negative_rate",
    ),
}

_GEN_RATE_DOC = """Generalized (score-weighted) {label}, overall or per group.

    Each row counts by its score :math:`s_i \\in [0, 1]`, the predicted probability of
    ``pos_label``, instead of a hard prediction:

    .. math::

        {math}

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; anything other than ``pos_label`` is negative.
    y_pred : array-like of shape (n_samples,)
        Scores in [0, 1]: probabilities of ``pos_label`` (e.g. ``predict_proba(X)[:, 1]``).
    sensitive_features : array-like, optional
        If given, the value of every group is returned as a Series indexed by group.
    pos_label : scalar, default=1
        Favourable label; it must occur in ``y_true``.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative sample weights :math:`w_i` (default 1).
    zero_division : float, default=nan
        Value for a group without true {true_class} (AIF360's ``aif360.sklearn``: 0).

    Returns
    -------
    float or pandas.Series
        Overall value, or per-group values (nan for a group of total weight 0).

    Raises
    ------
    ValueError
        On a length mismatch, scores outside [0, 1] or non-numeric ``y_pred``, or a
        ``pos_label`` that does not occur in ``y_true``.

    See Also
    --------
    {name}_difference

    Notes
    -----
    AIF360's ``ClassificationMetric.{name}`` (scores from the predicted data set's
    ``scores``) and ``aif360.sklearn.metrics.{short}``.

    References
    ----------
    .. [1] T. Speicher et al., "A Unified Approach to Quantifying Algorithmic Unfairness",
       KDD 2018 (generalized error rates).
    .. [2] R. K. E. Bellamy et al., "AI Fairness 360: An Extensible Toolkit for Detecting
       and Mitigating Algorithmic Bias", IBM J. Res. Dev. 63(4/5), 2019.
"""

_GEN_GAP_DOC = """Gap in generalized (score-weighted) {label} between groups.

    .. math::

        \\max_g r_g - \\min_g r_g;\\quad \\max_g |r_g - r_{{all}}|;\\quad
        r_{{unpriv}} - r_{{priv}}, \\qquad r = {math}

    for ``method="between_groups"``, ``"to_overall"`` and ``"privileged"`` (see
    :func:`statistical_parity_difference`); :math:`s_i \\in [0, 1]` is the score of row
    :math:`i`, :math:`w_i` its weight.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; anything other than ``pos_label`` is negative.
    y_pred : array-like of shape (n_samples,)
        Scores in [0, 1]: probabilities of ``pos_label`` (e.g. ``predict_proba(X)[:, 1]``).
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Protected attribute(s); several columns give intersectional groups.
    {{priv_group}}
        Given: unprivileged (all other groups pooled) minus privileged, AIF360's signed
        form (``method="privileged"``).
    method : {{None, "between_groups", "to_overall", "privileged"}}, default=None
        As in :func:`statistical_parity_difference`.
    pos_label : scalar, default=1
        Favourable label; it must occur in ``y_true``.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative sample weights.
    zero_division : float, default=nan
        Rate of a group without true {true_class} (AIF360: 0).

    Returns
    -------
    float
        >= 0 for ``"between_groups"``/``"to_overall"``; signed unprivileged minus
        privileged with ``"privileged"``.

    Raises
    ------
    ValueError
        On a length mismatch, fewer than two groups, scores outside [0, 1] or
        non-numeric ``y_pred``, a ``pos_label`` that does not occur in ``y_true``, a
        ``priv_group`` that does not occur, or an invalid ``method`` / ``priv_group``
        combination.

    See Also
    --------
    {name}

    Notes
    -----
    With ``priv_group`` this is AIF360's
    ``ClassificationMetric.difference(ClassificationMetric.{name})``.

    References
    ----------
    .. [1] T. Speicher et al., "A Unified Approach to Quantifying Algorithmic Unfairness",
       KDD 2018 (generalized error rates).
    .. [2] R. K. E. Bellamy et al., "AI Fairness 360: An Extensible Toolkit for Detecting
       and Mitigating Algorithmic Bias", IBM J. Res. Dev. 63(4/5), 2019.
"""


def _make_generalized(rate):
    label, math, true_class, name = _GEN_DOC[rate]
    short = "generalized_fpr" if rate == "false_positive_rate" else "generalized_fnr"

    def per_group(y_true, y_pred, *, sensitive_features=None, pos_label=1,
                  sample_weight=None, zero_division=np.nan):
        return _generalized_rate(rate, y_true, y_pred, sensitive_features, pos_label,
                                 sample_weight, zero_division)

    def gap(y_true, y_pred, *, sensitive_features, priv_group=None, method=None,
            pos_label=1, sample_weight=None, zero_division=np.nan):
        return _generalized_gap(rate, y_true, y_pred, sensitive_features, priv_group,
                                method, pos_label, sample_weight, zero_division)

    for func, func_name, doc in (
        (per_group, name, _GEN_RATE_DOC.format(label=label, math=math, name=name,
                                               short=short, true_class=true_class)),
        (gap, f"{name}_difference", _GEN_GAP_DOC.format(label=label + "s", math=math,
                                                        name=name, true_class=true_class)),
    ):
        func.__name__ = func.__qualname__ = func_name
        func.__module__ = __name__
        func.__doc__ = doc
    return per_group, fair_docstring(gap)


generalized_false_positive_rate, generalized_false_positive_rate_difference = (
    _make_generalized("false_positive_rate")
)
generalized_false_negative_rate, generalized_false_negative_rate_difference = (
    _make_generalized("false_negative_rate")
)


# ---- data-set metrics ---------------------------------------------------------------------

@fair_docstring
def class_imbalance(y_true, y_pred=None, *, sensitive_features, priv_group=None,
                    sample_weight=None):
    r"""Class imbalance: relative size gap between unprivileged and privileged rows.

    .. math::

        CI = \frac{N_{unpriv} - N_{priv}}{N_{unpriv} + N_{priv}}

    with :math:`N` the (weighted) number of rows; in [-1, 1], positive when the
    unprivileged groups (pooled) have more rows. It describes the data, not a model.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Only its length is used (kept for the common signature).
    y_pred : array-like of shape (n_samples,), optional
        Ignored apart from its length.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Protected attribute(s); several columns give intersectional groups.
    {priv_group}
        Required: there is no between-groups form of this metric.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative sample weights; :math:`N` is then the summed weight.

    Returns
    -------
    float
        nan when every weight is 0.

    Raises
    ------
    ValueError
        Without ``priv_group``, or for a ``priv_group`` that does not occur or covers
        every group, a length mismatch or fewer than two groups.

    Notes
    -----
    AIF360's ``class_imbalance`` (``aif360.sklearn.metrics``), sign included.

    References
    ----------
    .. [1] R. K. E. Bellamy et al., "AI Fairness 360: An Extensible Toolkit for Detecting
       and Mitigating Algorithmic Bias", IBM J. Res. Dev. 63(4/5), 2019.

    Examples
    --------
    >>> from fairkit.metrics import class_imbalance
    >>> class_imbalance([1, 0, 1, 0, 1], sensitive_features=list("MMMFF"), priv_group="M")
    -0.2
    """
    if priv_group is None:
        raise ValueError(
            "class_imbalance compares the unprivileged groups' size with the privileged "
            "one(s) and needs priv_group; pass priv_group=<privileged label(s)>."
        )
    y_true = np.asarray(to_pandas(y_true))
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true.ravel()
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got an array of shape {y_true.shape}.")
    n = len(y_true)
    if y_pred is not None and _n_rows(y_pred) != n:
        raise ValueError(
            f"y_pred has {_n_rows(y_pred)} samples but y_true has {n}; they must have the "
            "same length."
        )
    w = _check_weight(sample_weight, n)
    groups = encode_groups(sensitive_features, n_samples=n, min_groups=2)
    size = np.bincount(groups.codes, weights=w, minlength=groups.n_groups)
    priv = privileged_mask(groups, priv_group)
    n_u, n_p = size[~priv].sum(), size[priv].sum()
    return float(_divide(n_u - n_p, n_u + n_p, np.nan))


def smoothed_base_rate(y_true, y_pred=None, *, sensitive_features=None, concentration=1.0,
                       pos_label=1, sample_weight=None):
    r"""Dirichlet-smoothed base rate :math:`P(Y = pos)`, overall or per group.

    .. math::

        \frac{P + \alpha / 2}{N + \alpha}

    with :math:`P` the (weighted) number of rows whose label is ``pos_label``, :math:`N`
    the (weighted) number of rows and :math:`\alpha` = ``concentration``: a symmetric
    Dirichlet prior of :math:`\alpha / 2` pseudo-rows on each of the two outcomes
    (``pos_label`` and the rest), so small groups are pulled towards 1/2.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; anything other than ``pos_label`` is negative.
    y_pred : array-like of shape (n_samples,), optional
        Ignored apart from its length (kept for the common signature).
    sensitive_features : array-like, optional
        If given, the value of every group is returned as a Series indexed by group.
    concentration : float, default=1.0
        Dirichlet concentration :math:`\alpha >= 0`; 0 gives the plain base rate.
    pos_label : scalar, default=1
        Favourable label; it must occur in ``y_true``.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative sample weights; they count as that many rows (the prior does not
        scale with them).

    Returns
    -------
    float or pandas.Series
        Overall value, or per-group values (nan for a group of total weight 0 with
        ``concentration=0``).

    Raises
    ------
    ValueError
        For a negative or non-finite ``concentration``, a length mismatch or a
        ``pos_label`` that does not occur in ``y_true``.

    Notes
    -----
    The per-group rates are AIF360's ``BinaryLabelDatasetMetric`` smoothed base rates
    (behind ``smoothed_empirical_differential_fairness``, Foulds et al.). The function
    ``aif360.sklearn.metrics.smoothed_base_rate`` divides ``concentration`` by the number
    of distinct labels of the rows it is given, so on a group holding one label only it
    adds :math:`\alpha` instead of :math:`\alpha / 2`; here the target is always the two
    outcomes ``pos_label`` / not ``pos_label``.

    References
    ----------
    .. [1] J. R. Foulds, R. Islam, K. N. Keya and S. Pan, "An Intersectional Definition
       of Fairness", ICDE 2020.

    Examples
    --------
    >>> from fairkit.metrics import smoothed_base_rate
    >>> smoothed_base_rate([1, 1, 0, 1])  # (3 + 0.5) / (4 + 1)
    0.7
    """
    if (isinstance(concentration, bool) or not isinstance(concentration, (int, float, np.number))
            or not np.isfinite(concentration) or concentration < 0):
        raise ValueError(
            f"concentration={_param_repr(concentration)} must be a finite number >= 0 "
            "(the Dirichlet prior's total pseudo-count)."
        )
    y_true_arr = _as_1d(y_true, "y_true")
    n = len(y_true_arr)
    if y_pred is not None and _n_rows(y_pred) != n:
        raise ValueError(
            f"y_pred has {_n_rows(y_pred)} samples but y_true has {n}; they must have the "
            "same length."
        )
    overall = sensitive_features is None
    if overall:
        sensitive_features = np.zeros(n, dtype=np.int8)
    _, _, groups, w = prepare_arrays(y_true_arr, y_true_arr, sensitive_features,
                                     sample_weight, rescale_weights=False)
    positive = _is_pos(y_true_arr, pos_label)
    if not positive.any():
        seen = pd.unique(y_true_arr.astype(object))
        raise ValueError(
            f"pos_label={pos_label!r} does not occur in y_true (values: "
            f"{_param_repr(sorted(seen.tolist(), key=str), 120)}); set pos_label to the "
            "favourable label."
        )
    w = np.ones(n) if w is None else w
    pos = np.bincount(groups.codes, weights=w * positive, minlength=groups.n_groups)
    tot = np.bincount(groups.codes, weights=w, minlength=groups.n_groups)
    alpha = float(concentration)
    values = _divide(pos + alpha / 2, tot + alpha, np.nan)
    if overall:
        return float(values[0])
    return pd.Series(values, index=_group_index(groups), name="smoothed_base_rate")


# ---- fairlearn's per-sample functions, for a metric frame ---------------------------------

def count(y_true, y_pred):
    """Number of rows (fairlearn's ``count``), for per-group sizes in a metric frame.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Rows to count.
    y_pred : array-like of shape (n_samples,)
        Ignored apart from its length (kept for the common signature).

    Returns
    -------
    int
        ``len(y_true)``, unweighted.

    Raises
    ------
    ValueError
        If ``y_pred`` and ``y_true`` differ in length.

    Examples
    --------
    >>> from fairkit.metrics import count
    >>> count([0, 1, 1], [1, 1, 0])
    3
    """
    n, m = _n_rows(y_true), _n_rows(y_pred)
    if n != m:
        raise ValueError(
            f"y_pred has {m} samples but y_true has {n}; they must have the same length."
        )
    return int(n)


def mean_prediction(y_true, y_pred, *, sample_weight=None):
    r"""Weighted mean of the predictions (fairlearn's ``mean_prediction``).

    .. math::

        \frac{\sum_i w_i \hat y_i}{\sum_i w_i}

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Checked for length, otherwise ignored.
    y_pred : array-like of shape (n_samples,)
        Numeric predictions, labels 0/1 or scores.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative sample weights (default 1).

    Returns
    -------
    float
        nan when the weights sum to 0.

    Raises
    ------
    ValueError
        On a length mismatch, non-numeric or NaN ``y_pred``, or negative or non-finite
        ``sample_weight``.

    Examples
    --------
    >>> from fairkit.metrics import mean_prediction
    >>> mean_prediction([0, 1, 1], [0.2, 0.6, 1.0])
    0.6
    """
    n = _n_rows(y_true)
    pred = _as_1d(y_pred, "y_pred", n)
    try:
        pred = pred.astype(float)
    except (TypeError, ValueError):
        raise ValueError("y_pred must be numeric for mean_prediction.") from None
    w = _check_weight(sample_weight, n)
    w = np.ones(n) if w is None else w
    total = w.sum()
    if total == 0:
        return float("nan")
    return float(np.dot(pred, w) / total)
