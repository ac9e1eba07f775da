"""``fairness_report``: per-group metrics, the gaps between groups and bootstrap intervals.

The groups and their confusion counts come from :class:`~fairkit.metrics.GroupMetricFrame`
(one bincount over its cell codes, :meth:`~fairkit.metrics.GroupMetricFrame.group_counts`),
every rate and gap is computed from them, and bootstrap replicates are drawn as counts
(:meth:`~fairkit.metrics.GroupMetricFrame.bootstrap_group_counts`; no Python loop over
resamples of the data).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._protected import _param_repr
from ..utils._docstring import fair_docstring
from ._labels import check_label_predictions
from .frame import (  # noqa: F401  (the bootstrap draws are imported from here elsewhere)
    _bootstrap_counts_unweighted,
    _bootstrap_counts_weighted,
    _fairkit_group_frame,
)
from .group import _check_pos_label_present
from .streaming import (
    RATE_NAMES,
    _as_1d,
    _check_weight,
    _compare,
    _divide,
    _pool,
    group_rate,
    resolve_method,
)

__all__ = ["fairness_report", "DEFAULT_REPORT_METRICS"]

#: Rates reported when ``metrics=None``.
DEFAULT_REPORT_METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision",
    "accuracy",
    "balanced_accuracy",
)


@fair_docstring
def fairness_report(y_true, y_pred, *, sensitive_features, priv_group=None, method=None,
                    pos_label=1, sample_weight=None, metrics=None, n_bootstrap=0,
                    confidence=0.95, random_state=None, zero_division=np.nan):
    r"""Per-group metrics and the gaps between groups, in one DataFrame.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels (one-vs-rest for ``pos_label`` if multiclass). Scores
        (non-integer numbers in ``y_pred``) raise ``ValueError``: threshold them first. A
        ``pos_label`` that occurs in neither raises ``ValueError`` too.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Protected attribute(s); several columns give intersectional groups.
    {priv_group}
        Given: the gap rows are unprivileged (other groups pooled) minus / over
        privileged (AIF360, ``method="privileged"``).
    method : {None, "between_groups", "to_overall", "privileged"}, default=None
        The gap in the ``difference`` and ``ratio`` rows, as in the group metrics
        (:mod:`fairkit.metrics.group`): ``"between_groups"`` is ``max - min`` and
        ``min / max`` over groups, ``"to_overall"`` the largest ``|group - all rows|`` and
        the smallest group/all-rows ratio (each taken <= 1), both as fairlearn's
        ``MetricFrame.difference/ratio(method=...)``; ``"privileged"`` needs
        ``priv_group``. None: ``"privileged"`` if ``priv_group`` is given, else
        ``"between_groups"``.
    pos_label : scalar, default=1
        Favourable label.
    sample_weight : array-like of shape (n_samples,), optional
    metrics : list of str, optional
        Rates to report, from ``selection_rate``, ``base_rate``, ``true_positive_rate``,
        ``false_negative_rate``, ``false_positive_rate``, ``true_negative_rate``,
        ``precision``, ``accuracy``, ``balanced_accuracy``. Default
        :data:`DEFAULT_REPORT_METRICS`.
    n_bootstrap : int, default=0
        Number of bootstrap resamples of the rows for percentile confidence intervals
        (0: none). Unweighted data are resampled exactly and cheaply as multinomial draws of
        the ``4 * n_groups`` cell counts; weighted data by drawing row indices in blocks.
    confidence : float, default=0.95
        Coverage of the percentile intervals.
    random_state : int, RandomState or None
        Seed for the bootstrap.
    zero_division : float, default=nan
        Value of a rate or ratio with a zero denominator (see :mod:`fairkit.metrics.group`).

    Returns
    -------
    pandas.DataFrame
        One row per group (index: the group label as text, ``"Female, Black"`` for
        intersectional groups; index name: the attribute names) followed by two rows
        ``"difference"`` and ``"ratio"`` holding the gap of each rate. Columns:

        * ``n_rows``: unweighted group size (``<NA>`` on the gap rows), so small-group noise
          is visible; ``method``: on the two gap rows, the comparison they hold
          (``"between_groups"``, ``"to_overall"`` or ``"privileged"``; ``<NA>`` on the group
          rows); ``weight``: sum of sample weights (only if ``sample_weight`` given);
          ``privileged``: whether the group is privileged (only if ``priv_group`` given);
        * one column per rate;
        * with ``n_bootstrap > 0``, ``<rate>_lower`` and ``<rate>_upper`` after each rate:
          the percentile interval of the group's rate or of the gap (see *Gap intervals*
          below). Resamples in which a rate is undefined (e.g. a small group drew no
          positives) are left out of its interval.

        ``report.attrs`` records ``priv_group``, ``pos_label``, ``method`` (as in the
        ``method`` column), ``comparison`` (``"between_groups"``, ``"to_overall"`` or
        ``"unprivileged_vs_privileged"``), ``n_bootstrap`` and ``confidence``; for
        ``"between_groups"`` also ``gap_pairs``: ``{rate: (largest group, smallest
        group)}``, the two groups each gap row compares (None if fewer than two groups
        have the rate defined).

    Notes
    -----
    Gap intervals. ``max_g r_g - min_g r_g`` is biased upward under resampling (noise
    always widens a range), so its own percentile interval sits above the estimate and
    never reaches 0: two groups with rates 0.302 and 0.303 would get ``0.001 [0.001,
    0.043]``, which reads as a significant gap. For ``"between_groups"`` the interval is
    therefore that of the *pair* named in ``attrs["gap_pairs"]``, fixed from the point
    estimate: the percentile interval of ``r_a - r_b`` (``difference`` row) and of
    ``r_b / r_a`` (``ratio`` row) over the resamples, which may include 0 (or 1). It
    describes that pair; it does not account for the pair having been picked as the
    extremes among more than two groups. ``"to_overall"`` and ``"privileged"`` keep the
    percentile interval of the gap as defined (the privileged form is already a fixed,
    signed contrast).

    Examples
    --------
    >>> from fairkit.metrics import fairness_report
    >>> y = [1, 1, 0, 0, 1, 0, 1, 0]
    >>> yhat = [1, 0, 0, 1, 1, 0, 0, 0]
    >>> sex = ["F", "F", "F", "F", "M", "M", "M", "M"]
    >>> report = fairness_report(y, yhat, sensitive_features=sex, metrics=["selection_rate"])
    >>> report["selection_rate"].round(3).to_dict()
    {'F': 0.5, 'M': 0.25, 'difference': 0.25, 'ratio': 0.5}
    >>> report.loc["difference", "method"]
    'between_groups'
    >>> # all rows select 3/8: |1/2 - 3/8| = 1/8, ratios (3/8)/(1/2) and (1/4)/(3/8)
    >>> overall = fairness_report(y, yhat, sensitive_features=sex, method="to_overall",
    ...                           metrics=["selection_rate"])
    >>> overall["selection_rate"].round(4).to_dict()
    {'F': 0.5, 'M': 0.25, 'difference': 0.125, 'ratio': 0.6667}
    """
    metrics = list(DEFAULT_REPORT_METRICS if metrics is None else metrics)
    bad = [m for m in metrics if m not in RATE_NAMES]
    if bad or not metrics:
        raise ValueError(
            f"metrics={_param_repr(metrics)} must be a non-empty list of rates from "
            f"{list(RATE_NAMES)}; unknown: {bad}."
        )
    if not isinstance(n_bootstrap, numbers.Integral) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    method = resolve_method(method, priv_group)

    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred", len(y_true))
    w = _check_weight(sample_weight, len(y_true))
    # the groups, their names and the confusion counts: the metric frame's
    frame = _fairkit_group_frame(y_true, y_pred, sensitive_features, min_groups=2)
    check_label_predictions(y_pred)
    counts = frame.group_counts(pos_label, sample_weight=w)
    n_groups = counts.n_groups
    _check_pos_label_present(y_true, y_pred, pos_label, counts)
    priv = None if priv_group is None else counts.privileged_mask(priv_group)

    values = _rates_and_gaps(counts.counts, metrics, priv, method, zero_division)
    intervals = None
    if n_bootstrap:
        boot = frame.bootstrap_group_counts(n_bootstrap, check_random_state(random_state),
                                            pos_label=pos_label, sample_weight=w)
        boot_values = _rates_and_gaps(boot, metrics, priv, method, zero_division)
        if method == "between_groups":
            for m in metrics:
                pair = extreme_pair(values[m][:n_groups])
                if pair is not None:
                    boot_values[m][:, -2:] = np.stack(
                        [pair_gap(boot_values[m][:, :-2], pair, kind, zero_division)
                         for kind in ("difference", "ratio")], axis=-1)
        alpha = (1 - confidence) / 2
        intervals = {}
        for m in metrics:
            with warnings.catch_warnings():  # "All-NaN slice": undefined in every resample
                warnings.simplefilter("ignore", RuntimeWarning)
                intervals[m] = np.nanquantile(boot_values[m], [alpha, 1 - alpha], axis=0)

    labels = [", ".join(str(v) for v in lab) if isinstance(lab, tuple) else str(lab)
              for lab in counts.labels]
    index = pd.Index([*labels, "difference", "ratio"], name=", ".join(counts.names))
    data = {"n_rows": pd.array([*counts.n_rows.astype(np.int64), None, None], dtype="Int64")}
    if w is not None:
        data["weight"] = [*counts.counts.sum(axis=(1, 2)), np.nan, np.nan]
    if priv is not None:
        data["privileged"] = pd.array([*priv, None, None], dtype="boolean")
    data["method"] = pd.array([None] * n_groups + [method, method], dtype="string")
    for m in metrics:
        data[m] = values[m]
        if intervals is not None:
            data[f"{m}_lower"] = intervals[m][0]
            data[f"{m}_upper"] = intervals[m][1]
    report = pd.DataFrame(data, index=index)
    report.attrs.update(
        priv_group=priv_group, pos_label=pos_label, n_bootstrap=int(n_bootstrap),
        confidence=confidence, method=method,
        comparison="unprivileged_vs_privileged" if method == "privileged" else method,
    )
    if method == "between_groups":
        pairs = {m: extreme_pair(values[m][:n_groups]) for m in metrics}
        report.attrs["gap_pairs"] = {m: None if pr is None else (labels[pr[0]], labels[pr[1]])
                                     for m, pr in pairs.items()}
    return report


def extreme_pair(rates):
    """Indices (largest, smallest) of the defined per-group ``rates``; None if < 2 defined.

    The two are always distinct groups, so a tie (every rate equal) still names a pair
    whose difference can be resampled, instead of one group against itself.
    """
    rates = np.asarray(rates, dtype=float)
    defined = np.flatnonzero(~np.isnan(rates))
    if len(defined) < 2:
        return None
    hi = defined[np.argmax(rates[defined])]
    rest = defined[defined != hi]
    return int(hi), int(rest[np.argmin(rates[rest])])


def pair_gap(rates, pair, kind, zero_division=np.nan):
    """Signed gap of a fixed pair (a, b) of groups in ``rates`` (..., G).

    ``"difference"``: rate(a) - rate(b); ``"ratio"``: rate(b) / rate(a). With (a, b) the
    largest and smallest group of the point estimate these are the between-groups gaps;
    on resampled rates they may cross 0 (or 1), which ``max - min`` never can.
    """
    a, b = pair
    if kind == "difference":
        return rates[..., a] - rates[..., b]
    return _divide(rates[..., b], rates[..., a], zero_division)


def _rates_and_gaps(C, metrics, priv, method, zero_division):
    """For counts (..., G, 2, 2): {rate: (..., G + 2) per-group values, difference, ratio}."""
    source = _pool(C, priv) if method == "privileged" else C
    out = {}
    for m in metrics:
        rates = group_rate(C, m, zero_division)
        compared = group_rate(source, m, zero_division)
        overall = (group_rate(C.sum(axis=-3), m, zero_division)
                   if method == "to_overall" else None)
        diff = _compare(compared, "difference", method, zero_division, overall)
        ratio = _compare(compared, "ratio", method, zero_division, overall)
        out[m] = np.concatenate([rates, diff[..., None], ratio[..., None]], axis=-1)
    return out
