"""Mergeable per-group confusion counts: the one implementation behind every group metric.

Every group classification metric in fairkit is a function of four weighted counts per
group, :math:`TN_g, FP_g, FN_g, TP_g`. :class:`GroupCounts` holds them as an array of shape
``(n_groups, 2, 2)`` indexed ``[group, y_true == pos_label, y_pred == pos_label]``, built
from a chunk of rows with a single :func:`numpy.bincount`. Counts add up exactly, so the
same object serves an in-memory array, a chunked CSV (sum the chunks' counts), the
partitions of a Dask DataFrame and an online stream (:meth:`GroupCounts.update_one`).

:mod:`fairkit.metrics.group` builds a :class:`GroupCounts` and asks it for the metric, so the
count-to-metric math below exists once.

Rules for undefined values
--------------------------
* A rate whose denominator is zero (TPR of a group without positives, precision of a group
  with no positive predictions, ...) is ``zero_division`` (default ``nan``). Pass
  ``zero_division=0`` to reproduce fairlearn and AIF360, which return 0 there.
* A group with no rows (total weight 0) has every rate ``nan`` whatever ``zero_division``.
* Balanced accuracy is the mean of TPR and TNR over those of the two that are defined
  (scikit-learn's rule); ``nan`` if neither is.
* Three ways to compare groups, chosen by ``method`` (fairlearn's ``between_groups`` and
  ``to_overall``, AIF360's privileged comparison):

  - ``method="between_groups"`` (the default without ``priv_group``): a difference is
    ``max - min`` over the groups whose rate is not ``nan`` (fairlearn skips NaN too) and
    is ``nan`` when fewer than two groups have a defined rate; a ratio is ``min / max``
    and ``zero_division`` when ``max == 0``.
  - ``method="to_overall"``: a difference is ``max_g |r_g - r_all|``, the largest gap of a
    group to the rate of all rows pooled; a ratio is ``min_g rho(r_g / r_all)`` with
    ``rho(x) = 1 / x`` for ``x > 1`` and ``x`` otherwise (fairlearn's
    ``MetricFrame.difference/ratio(method="to_overall")``). Groups with a ``nan`` rate are
    skipped and the result is ``nan`` when fewer than two groups have a defined rate; a
    group ratio whose denominator ``r_all`` is 0 is ``zero_division``.
  - ``priv_group`` given (``method=None`` or ``"privileged"``): the groups are pooled
    into unprivileged (all non-privileged groups) and privileged (AIF360's convention);
    a difference is the signed ``unpriv - priv``, a ratio ``unpriv / priv`` and
    ``zero_division`` when ``priv == 0``.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .._protected import GroupEncoding, _param_repr, encode_groups, privileged_mask
from ..utils._dataframe import to_pandas
from ..utils._docstring import fair_docstring
from ._labels import check_label_predictions

__all__ = ["GroupCounts", "GROUP_METRICS", "COMPARE_METHODS"]

# ------------------------------------------------------------------------------------------
# Per-group rates from counts of shape (..., G, 2, 2) = [..., group, true_pos, pred_pos]
# ------------------------------------------------------------------------------------------

#: Per-group rates: name -> (numerator cells, denominator cells) as (true, pred) pairs.
_RATE_CELLS = {
    "selection_rate": (((0, 1), (1, 1)), ((0, 0), (0, 1), (1, 0), (1, 1))),
    "base_rate": (((1, 0), (1, 1)), ((0, 0), (0, 1), (1, 0), (1, 1))),
    "true_positive_rate": (((1, 1),), ((1, 0), (1, 1))),
    "false_negative_rate": (((1, 0),), ((1, 0), (1, 1))),
    "false_positive_rate": (((0, 1),), ((0, 0), (0, 1))),
    "true_negative_rate": (((0, 0),), ((0, 0), (0, 1))),
    "precision": (((1, 1),), ((0, 1), (1, 1))),
    "accuracy": (((0, 0), (1, 1)), ((0, 0), (0, 1), (1, 0), (1, 1))),
}
RATE_NAMES = (*_RATE_CELLS, "balanced_accuracy")
# Rates read by the predictive-value metrics only (not columns of GroupCounts.by_group)
_RATE_CELLS["negative_predictive_value"] = (((0, 0),), ((0, 0), (1, 0)))
_RATE_CELLS["false_omission_rate"] = (((1, 0),), ((0, 0), (1, 0)))


def _divide(num, den, zero_division):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(num, den)
    return np.where(den == 0, zero_division, out)


def _cell_sum(C, cells):
    out = C[..., cells[0][0], cells[0][1]]
    for t, p in cells[1:]:
        out = out + C[..., t, p]
    return out


def group_rate(C, name, zero_division=np.nan):
    """Rate ``name`` of every group of counts ``C`` (shape (..., G, 2, 2)) -> (..., G)."""
    total = C.sum(axis=(-2, -1))
    if name == "balanced_accuracy":
        tpr = group_rate(C, "true_positive_rate")
        tnr = group_rate(C, "true_negative_rate")
        both = np.stack([tpr, tnr])
        n_def = (~np.isnan(both)).sum(axis=0)
        value = _divide(np.nansum(both, axis=0), n_def, np.nan)
    else:
        try:
            num_cells, den_cells = _RATE_CELLS[name]
        except KeyError:
            raise ValueError(
                f"Unknown rate {name!r}; choose one of {list(RATE_NAMES)}."
            ) from None
        value = _divide(_cell_sum(C, num_cells), _cell_sum(C, den_cells), zero_division)
    return np.where(total > 0, value, np.nan)


def _pool(C, priv):
    """Pool groups into [unprivileged, privileged]: (..., G, 2, 2) -> (..., 2, 2, 2)."""
    return np.stack([C[..., ~priv, :, :].sum(axis=-3), C[..., priv, :, :].sum(axis=-3)], axis=-3)


#: The values of ``method=``: how group values are reduced to one gap.
COMPARE_METHODS = ("between_groups", "to_overall", "privileged")


def resolve_method(method, priv_group):
    """The comparison a metric computes for ``method`` and ``priv_group``.

    ``method=None`` keeps the historical default: ``"between_groups"`` without
    ``priv_group`` and ``"privileged"`` (AIF360's signed form) with it. A privileged group
    only has a meaning for ``"privileged"``, so it cannot be combined with the two
    fairlearn methods, and ``"privileged"`` cannot run without one.
    """
    if method is None:
        return "between_groups" if priv_group is None else "privileged"
    if not isinstance(method, str) or method not in COMPARE_METHODS:
        raise ValueError(
            f"method={_param_repr(method)} is not a comparison method; choose None, "
            "'between_groups', 'to_overall' or 'privileged'."
        )
    if method == "privileged" and priv_group is None:
        raise ValueError(
            "method='privileged' compares the unprivileged groups with the privileged "
            "one(s) and needs priv_group; pass priv_group=<privileged label(s)>, or use "
            "method='between_groups' or 'to_overall', which need no privileged group."
        )
    if method != "privileged" and priv_group is not None:
        raise ValueError(
            f"priv_group={_param_repr(priv_group)} cannot be combined with "
            f"method={method!r}: a privileged group selects the signed unprivileged-vs-"
            f"privileged comparison. Pass priv_group=None for method={method!r}, or "
            "method=None/'privileged' to compare against the privileged group."
        )
    return method


def _compare(values, kind, method, zero_division, overall=None):
    """Reduce per-group values (..., G) to a gap by ``method`` (see ``COMPARE_METHODS``).

    For ``"privileged"`` ``values[..., 0]`` is unprivileged and ``values[..., 1]``
    privileged; ``"to_overall"`` needs ``overall`` (...,), the value of all rows pooled.
    """
    if method == "privileged":
        u, p = values[..., 0], values[..., 1]
        if kind == "difference":
            return u - p
        return _divide(u, p, zero_division)
    valid = ~np.isnan(values)
    n_valid = valid.sum(axis=-1)
    if method == "to_overall":
        overall = np.asarray(overall)[..., None]
        if kind == "difference":
            gaps = np.abs(values - overall)
            out = np.where(valid, gaps, -np.inf).max(axis=-1)
        else:
            ratios = _divide(values, overall, zero_division)
            with np.errstate(divide="ignore"):
                # fairlearn expresses each group's ratio as a number <= 1
                ratios = np.where(ratios > 1, 1 / ratios, ratios)
            defined = valid & ~np.isnan(ratios)
            out = np.where(defined, ratios, np.inf).min(axis=-1)
            out = np.where(defined.any(axis=-1), out, np.nan)
        return np.where(n_valid >= 2, out, np.nan)
    hi = np.where(valid, values, -np.inf).max(axis=-1)
    lo = np.where(valid, values, np.inf).min(axis=-1)
    out = hi - lo if kind == "difference" else _divide(lo, hi, zero_division)
    return np.where(n_valid >= 2, out, np.nan)


def _compare_rate(C, rate, kind, method, zero_division):
    """Gap of per-group ``rate`` of counts ``C`` (..., G, 2, 2) by ``method``."""
    values = group_rate(C, rate, zero_division)
    overall = (group_rate(C.sum(axis=-3), rate, zero_division)
               if method == "to_overall" else None)
    return _compare(values, kind, method, zero_division, overall)


def _rate_gap(rate, kind):
    def compute(C, method, zero_division, **_):
        return _compare_rate(C, rate, kind, method, zero_division)

    return compute


def _odds_parts(C, method, zero_division, kind):
    return [
        _compare_rate(C, r, kind, method, zero_division)
        for r in ("true_positive_rate", "false_positive_rate")
    ]


def _equalized_odds_difference(C, method, zero_division, agg="worst_case"):
    d_tpr, d_fpr = (np.abs(d) for d in _odds_parts(C, method, zero_division, "difference"))
    return np.maximum(d_tpr, d_fpr) if agg == "worst_case" else (d_tpr + d_fpr) / 2


def _equalized_odds_ratio(C, method, zero_division, agg="worst_case"):
    parts = _odds_parts(C, method, zero_division, "ratio")
    if method == "privileged":  # unpriv / priv may exceed 1: fold onto [0, 1] like the others
        with np.errstate(divide="ignore"):
            parts = [np.minimum(r, 1 / r) for r in parts]
    r_tpr, r_fpr = parts
    return np.minimum(r_tpr, r_fpr) if agg == "worst_case" else (r_tpr + r_fpr) / 2


def _average_odds_difference(C, method, zero_division, **_):
    d_tpr, d_fpr = _odds_parts(C, method, zero_division, "difference")
    return (d_tpr + d_fpr) / 2


def _average_odds_error(C, method, zero_division, **_):
    d_tpr, d_fpr = (np.abs(d) for d in _odds_parts(C, method, zero_division, "difference"))
    return (d_tpr + d_fpr) / 2


def _average_predictive_value_difference(C, method, zero_division, **_):
    d_ppv, d_for = (
        _compare_rate(C, r, "difference", method, zero_division)
        for r in ("precision", "false_omission_rate")
    )
    return (d_ppv + d_for) / 2


#: Every group metric GroupCounts computes: name -> (function, one-line formula).
#: ``r_u``/``r_p`` are the pooled unprivileged/privileged rates (``priv_group`` given),
#: ``max_g``/``min_g`` run over groups (no ``priv_group``).
GROUP_METRICS = {
    "statistical_parity_difference": (
        _rate_gap("selection_rate", "difference"),
        "difference of selection rates P(yhat = pos | group)",
    ),
    "disparate_impact_ratio": (
        _rate_gap("selection_rate", "ratio"),
        "ratio of selection rates P(yhat = pos | group)",
    ),
    "equal_opportunity_difference": (
        _rate_gap("true_positive_rate", "difference"),
        "difference of true positive rates (recall) P(yhat = pos | y = pos, group)",
    ),
    "equal_opportunity_ratio": (
        _rate_gap("true_positive_rate", "ratio"),
        "ratio of true positive rates (recall) P(yhat = pos | y = pos, group)",
    ),
    "average_odds_difference": (
        _average_odds_difference,
        "(TPR difference + FPR difference) / 2; between groups (range TPR + range FPR) / 2",
    ),
    "equalized_odds_difference": (
        _equalized_odds_difference,
        "max(|TPR difference|, |FPR difference|) (agg='mean': their mean); always >= 0",
    ),
    "equalized_odds_ratio": (
        _equalized_odds_ratio,
        "min(TPR ratio, FPR ratio), each folded to min(r, 1/r) (agg='mean': their mean)",
    ),
    "predictive_parity_difference": (
        _rate_gap("precision", "difference"),
        "difference of precisions P(y = pos | yhat = pos, group)",
    ),
    "predictive_parity_ratio": (
        _rate_gap("precision", "ratio"),
        "ratio of precisions P(y = pos | yhat = pos, group)",
    ),
    "accuracy_difference": (_rate_gap("accuracy", "difference"), "difference of accuracies"),
    "accuracy_ratio": (_rate_gap("accuracy", "ratio"), "ratio of accuracies"),
    "balanced_accuracy_difference": (
        _rate_gap("balanced_accuracy", "difference"),
        "difference of balanced accuracies (TPR + TNR) / 2",
    ),
    "balanced_accuracy_ratio": (
        _rate_gap("balanced_accuracy", "ratio"),
        "ratio of balanced accuracies (TPR + TNR) / 2",
    ),
}
for _rate, _short in [
    ("true_positive_rate", "TP / (TP + FN)"),
    ("true_negative_rate", "TN / (TN + FP)"),
    ("false_positive_rate", "FP / (FP + TN)"),
    ("false_negative_rate", "FN / (FN + TP)"),
    ("selection_rate", "(TP + FP) / n"),
]:
    for _kind in ("difference", "ratio"):
        GROUP_METRICS[f"{_rate}_{_kind}"] = (_rate_gap(_rate, _kind), f"{_kind} of {_short}")
# fairlearn's names
GROUP_METRICS["demographic_parity_difference"] = GROUP_METRICS["statistical_parity_difference"]
GROUP_METRICS["demographic_parity_ratio"] = GROUP_METRICS["disparate_impact_ratio"]

# AIF360's predictive-value and absolute-odds metrics
GROUP_METRICS["negative_predictive_value_difference"] = (
    _rate_gap("negative_predictive_value", "difference"),
    "difference of negative predictive values P(y != pos | yhat != pos, group) = TN / (TN + FN)",
)
GROUP_METRICS["negative_predictive_value_ratio"] = (
    _rate_gap("negative_predictive_value", "ratio"),
    "ratio of negative predictive values P(y != pos | yhat != pos, group) = TN / (TN + FN)",
)
GROUP_METRICS["average_predictive_value_difference"] = (
    _average_predictive_value_difference,
    "(precision difference + false omission rate difference) / 2, FOR = FN / (FN + TN); "
    "between groups (range precision + range FOR) / 2",
)
GROUP_METRICS["average_odds_error"] = (
    _average_odds_error,
    "(|TPR difference| + |FPR difference|) / 2; always >= 0",
)

_AGG_METRICS = {"equalized_odds_difference", "equalized_odds_ratio"}


def _check_metric_name(name):
    if name not in GROUP_METRICS:
        raise ValueError(
            f"Unknown group metric {name!r}; choose one of {sorted(GROUP_METRICS)}."
        )


def metric_from_counts(C, name, *, priv=None, method=None, zero_division=np.nan,
                       agg="worst_case"):
    """Compute metric ``name`` from counts ``C`` of shape (..., G, 2, 2).

    ``priv`` is a boolean mask over the G groups (AIF360 pooling, ``method`` None or
    ``"privileged"``) or None (``method`` None, ``"between_groups"`` or ``"to_overall"``).
    Leading axes are kept, which is how bootstrap replicates are computed in one call.
    """
    _check_metric_name(name)
    if agg not in ("worst_case", "mean"):
        raise ValueError(f"agg must be 'worst_case' or 'mean', got {agg!r}.")
    method = resolve_method(method, priv)
    func = GROUP_METRICS[name][0]
    kwargs = {"agg": agg} if name in _AGG_METRICS else {}
    if method == "privileged":
        return func(_pool(C, priv), method, zero_division, **kwargs)
    return func(C, method, zero_division, **kwargs)


# ------------------------------------------------------------------------------------------
# Input checking and the bincount
# ------------------------------------------------------------------------------------------


def _as_1d(y, name, n_samples=None):
    arr = np.asarray(to_pandas(y))  # polars / pyarrow columns as pandas reads them
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}.")
    if n_samples is not None and len(arr) != n_samples:
        raise ValueError(
            f"{name} has {len(arr)} samples but y_true has {n_samples}; "
            "they must have the same length."
        )
    if arr.dtype.kind == "f":
        if np.isnan(arr).any():
            raise ValueError(f"{name} contains NaN.")
    elif arr.dtype.kind == "O" and pd.isna(arr).any():
        raise ValueError(f"{name} contains missing values (NaN/None).")
    return arr


def _check_weight(sample_weight, n, rescale=True):
    """Validated weights. Rates do not change when every weight is multiplied by one
    number, so weights whose total overflows float64 (e.g. near 1e308) are divided by a
    power of two (exact) that brings the largest to below 1; with ``rescale=False``
    (counts that may later be merged with others, which a private scale would corrupt)
    such weights raise instead."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=float)
    if w.ndim != 1 or len(w) != n:
        raise ValueError(
            f"sample_weight has shape {w.shape} but y_true has {n} samples; "
            "they must have the same length."
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    with np.errstate(over="ignore"):
        total = w.sum()
    if not np.isfinite(total):
        if not rescale:
            raise ValueError(
                f"sample_weight sums to more than float64 holds (largest weight "
                f"{w.max():.3g}); divide the weights by one common number (rates do not "
                "change) before counting them."
            )
        w = np.ldexp(w, -np.frexp(w.max())[1])
    return w


def _is_pos(y, pos_label):
    if y.dtype.kind == "b" and isinstance(pos_label, (bool, np.bool_, numbers.Integral)):
        if pos_label in (0, 1):
            return y if pos_label else ~y
        return np.zeros(len(y), dtype=bool)
    out = y == pos_label
    if not isinstance(out, np.ndarray):  # numpy refused the comparison (e.g. str vs int)
        out = np.zeros(len(y), dtype=bool)
    return out


def _cell_codes(codes, t, p):
    """Cell index ``4 * group + 2 * true_pos + pred_pos`` of every row."""
    cell = codes * 4
    np.add(cell, t, out=cell, casting="unsafe")  # adding t twice beats building 2 * t
    np.add(cell, t, out=cell, casting="unsafe")
    np.add(cell, p, out=cell, casting="unsafe")
    return cell


def _bincount_cells(codes, t, p, sample_weight, n_groups):
    """One bincount over (group, true_pos, pred_pos) -> (n_groups, 2, 2)."""
    cell = _cell_codes(codes, t, p)
    counts = np.bincount(cell, weights=sample_weight, minlength=4 * n_groups)
    return counts.astype(float, copy=False).reshape(n_groups, 2, 2)


def prepare_arrays(y_true, y_pred, sensitive_features, sample_weight, min_groups=1,
                   rescale_weights=True):
    """Validate inputs shared by group metrics; return (y_true, y_pred, groups, weights)."""
    y_true = _as_1d(y_true, "y_true")
    n = len(y_true)
    y_pred = _as_1d(y_pred, "y_pred", n)
    sample_weight = _check_weight(sample_weight, n, rescale=rescale_weights)
    groups = encode_groups(sensitive_features, n_samples=n, min_groups=min_groups)
    return y_true, y_pred, groups, sample_weight


def _sort_labels(labels):
    try:
        return sorted(labels)
    except TypeError:
        return list(labels)


# ------------------------------------------------------------------------------------------
# GroupCounts
# ------------------------------------------------------------------------------------------


class GroupCounts:
    """Weighted per-group confusion counts that merge exactly.

    Build with :meth:`from_arrays` (one chunk of rows), add more rows with :meth:`update`
    or :meth:`update_one` (one sample, for online streams), merge with ``a + b`` or
    ``sum([...])``, and read any group metric with :meth:`metric` or the method of the same
    name (``counts.statistical_parity_difference(priv_group="Male")``,
    ``counts.equalized_odds_ratio(method="to_overall")``). The per-group table is
    :meth:`by_group`.

    Parameters
    ----------
    counts : array-like of shape (n_groups, 2, 2)
        Weighted counts indexed ``[group, y_true == pos_label, y_pred == pos_label]``,
        i.e. ``[[TN, FP], [FN, TP]]`` per group.
    labels : list
        Group labels in the order of ``counts`` (a value, or a tuple of values for
        intersectional groups).
    names : list of str, optional
        Names of the protected attributes.
    pos_label : scalar, default=1
        The favourable label the counts were built for.
    n_rows : array-like of shape (n_groups,), optional
        Unweighted number of rows per group (defaults to the summed counts).
    pos_label_seen : bool, default=True
        Whether ``pos_label`` occurred in ``y_true`` or ``y_pred`` of any merged chunk.

    Attributes
    ----------
    counts, labels, names, pos_label, n_rows, pos_label_seen

    Notes
    -----
    Merging aligns groups by label: chunks may contain different subsets of groups, in any
    order. Groups are kept in sorted label order where labels sort (as
    :func:`fairkit._protected.encode_groups` orders them). Two counts merge only if they
    share ``pos_label`` and attribute ``names``.

    Counting rows in which ``pos_label`` never occurs is allowed (a stream may not have
    seen a positive yet), but :meth:`metric` then raises ``ValueError``, as the array
    functions in :mod:`fairkit.metrics.group` do: every gap would be 0 or undefined.
    Predictions that are scores (non-integer numbers) are refused when counted.
    The rules for undefined values are in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.metrics import GroupCounts
    >>> a = GroupCounts.from_arrays([1, 0, 1, 1], [1, 0, 0, 1], sensitive_features=list("aabb"))
    >>> b = GroupCounts.from_arrays([0, 1], [1, 1], sensitive_features=["c", "a"])
    >>> total = a + b
    >>> total.labels
    ['a', 'b', 'c']
    >>> float(total.statistical_parity_difference())  # max - min selection rate
    0.5
    >>> round(total.statistical_parity_difference(priv_group="c"), 3)  # (a, b) minus c
    -0.4
    >>> # rates a 2/3, b 1/2, c 1, all rows 4/6: largest |group - overall| is c's 1/3
    >>> round(total.statistical_parity_difference(method="to_overall"), 3)
    0.333
    """

    def __init__(self, counts, labels, *, names=None, pos_label=1, n_rows=None,
                 pos_label_seen=True):
        counts = np.asarray(counts, dtype=float)
        labels = list(labels)
        if counts.shape != (len(labels), 2, 2):
            raise ValueError(
                f"counts must have shape (n_groups, 2, 2) = ({len(labels)}, 2, 2) for "
                f"{len(labels)} labels, got {counts.shape}."
            )
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be unique, got {_param_repr(labels)}.")
        self.counts = counts
        self.labels = labels
        self.names = list(names) if names is not None else ["sensitive_feature"]
        self.pos_label = pos_label
        self.n_rows = (
            counts.sum(axis=(1, 2)) if n_rows is None else np.asarray(n_rows, dtype=float)
        )
        self.pos_label_seen = bool(pos_label_seen)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, y_true, y_pred, *, sensitive_features, pos_label=1,
                    sample_weight=None):
        """Count one chunk of rows with a single :func:`numpy.bincount`.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples,)
            True and predicted labels; anything other than ``pos_label`` is negative
            (one-vs-rest for multiclass targets).
        sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
            Protected attribute(s); several columns give intersectional groups.
        pos_label : scalar, default=1
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        GroupCounts
        """
        y_true, y_pred, groups, w = prepare_arrays(
            y_true, y_pred, sensitive_features, sample_weight, rescale_weights=False
        )
        check_label_predictions(y_pred)
        return cls._from_encoded(y_true, y_pred, groups, pos_label, w)

    @classmethod
    def _from_encoded(cls, y_true, y_pred, groups: GroupEncoding, pos_label, w):
        t = _is_pos(y_true, pos_label)
        p = _is_pos(y_pred, pos_label)
        counts = _bincount_cells(groups.codes, t, p, w, groups.n_groups)
        n_rows = None if w is None else np.bincount(groups.codes, minlength=groups.n_groups)
        seen = bool(t.any() or p.any())
        return cls(counts, groups.labels, names=groups.names, pos_label=pos_label,
                   n_rows=n_rows, pos_label_seen=seen)

    def copy(self):
        return GroupCounts(self.counts.copy(), list(self.labels), names=self.names,
                           pos_label=self.pos_label, n_rows=self.n_rows.copy(),
                           pos_label_seen=self.pos_label_seen)

    # -- merging ------------------------------------------------------------------------
    def _check_compatible(self, other):
        if not isinstance(other, GroupCounts):
            raise TypeError(f"can only add GroupCounts to GroupCounts, not {type(other)}.")
        if not _same(self.pos_label, other.pos_label):
            raise ValueError(
                f"cannot merge counts built for pos_label={self.pos_label!r} and "
                f"pos_label={other.pos_label!r}."
            )
        if list(self.names) != list(other.names):
            raise ValueError(
                f"cannot merge counts over different protected attributes: {self.names} "
                f"and {other.names}."
            )

    def __add__(self, other):
        if isinstance(other, numbers.Number) and other == 0:  # sum() starts from 0
            return self.copy()
        self._check_compatible(other)
        labels = _sort_labels(dict.fromkeys([*self.labels, *other.labels]))
        index = {lab: i for i, lab in enumerate(labels)}
        counts = np.zeros((len(labels), 2, 2))
        n_rows = np.zeros(len(labels))
        for part in (self, other):
            pos = np.array([index[lab] for lab in part.labels], dtype=np.intp)
            counts[pos] += part.counts
            n_rows[pos] += part.n_rows
        return GroupCounts(counts, labels, names=self.names, pos_label=self.pos_label,
                           n_rows=n_rows,
                           pos_label_seen=self.pos_label_seen or other.pos_label_seen)

    __radd__ = __add__

    def __iadd__(self, other):
        merged = self + other
        self.counts, self.labels, self.n_rows = merged.counts, merged.labels, merged.n_rows
        self.pos_label_seen = merged.pos_label_seen
        self._index = None
        return self

    def update(self, y_true, y_pred, *, sensitive_features, sample_weight=None):
        """Add the counts of another chunk of rows in place; returns ``self``."""
        self += GroupCounts.from_arrays(
            y_true, y_pred, sensitive_features=sensitive_features, pos_label=self.pos_label,
            sample_weight=sample_weight,
        )
        return self

    def update_one(self, group, y_true, y_pred, sample_weight=1.0):
        """Add one sample in O(1) (a new group is inserted in label order); returns ``self``.

        ``group`` is the sample's group label: a value, or a tuple of values for
        intersectional groups.
        """
        if isinstance(y_pred, (float, np.floating)):  # cheap: labels are rarely floats
            check_label_predictions([y_pred])
        index = getattr(self, "_index", None)
        if index is None:
            index = self._index = {lab: i for i, lab in enumerate(self.labels)}
        if group not in index:
            if group is None or (isinstance(group, float) and np.isnan(group)):
                raise ValueError("group is missing (None/NaN); protected attributes "
                                 "must be complete.")
            self += GroupCounts(np.zeros((1, 2, 2)), [group], names=self.names,
                                pos_label=self.pos_label, n_rows=[0.0],
                                pos_label_seen=False)
            index = self._index = {lab: i for i, lab in enumerate(self.labels)}
        t = bool(_same(y_true, self.pos_label))
        p = bool(_same(y_pred, self.pos_label))
        g = index[group]
        self.counts[g, int(t), int(p)] += sample_weight
        self.n_rows[g] += 1
        self.pos_label_seen = self.pos_label_seen or t or p
        return self

    # -- reading ------------------------------------------------------------------------
    @property
    def n_groups(self):
        return len(self.labels)

    def _index_obj(self):
        if len(self.names) > 1:
            return pd.MultiIndex.from_tuples(self.labels, names=self.names)
        return pd.Index(self.labels, name=self.names[0], dtype=object)

    def by_group(self, zero_division=np.nan):
        """Per-group table: rows, weight, TN/FP/FN/TP and every rate.

        Columns: ``n_rows`` (unweighted), ``weight`` (sum of sample weights), ``tn``,
        ``fp``, ``fn``, ``tp`` and the rates ``selection_rate``, ``base_rate``,
        ``true_positive_rate``, ``false_negative_rate``, ``false_positive_rate``,
        ``true_negative_rate``, ``precision``, ``accuracy``, ``balanced_accuracy``.
        """
        C = self.counts
        data = {
            "n_rows": self.n_rows,
            "weight": C.sum(axis=(1, 2)),
            "tn": C[:, 0, 0], "fp": C[:, 0, 1], "fn": C[:, 1, 0], "tp": C[:, 1, 1],
        }
        for rate in RATE_NAMES:
            data[rate] = group_rate(C, rate, zero_division)
        return pd.DataFrame(data, index=self._index_obj())

    def overall(self, zero_division=np.nan):
        """Every rate over all rows (groups pooled), as a Series."""
        C = self.counts.sum(axis=0)[None]
        return pd.Series({rate: float(group_rate(C, rate, zero_division)[0])
                          for rate in RATE_NAMES})

    def privileged_mask(self, priv_group):
        """Boolean mask over ``labels`` marking ``priv_group`` (see ``privileged_mask``)."""
        enc = GroupEncoding(codes=np.empty(0, dtype=np.intp), labels=self.labels,
                            names=self.names)
        return privileged_mask(enc, priv_group)

    def _check_two_groups(self):
        weight = self.counts.sum(axis=(1, 2))
        present = [lab for lab, w in zip(self.labels, weight, strict=True) if w > 0]
        if len(present) < 2:
            raise ValueError(
                f"sensitive_features has only {len(present)} group(s) with data "
                f"({_param_repr(present)}); at least 2 are needed to compare groups."
            )

    def metric(self, name, *, priv_group=None, method=None, zero_division=np.nan,
               agg="worst_case"):
        """Group metric ``name`` (a key of ``GROUP_METRICS``) as a float.

        Parameters
        ----------
        name : str
            E.g. ``"statistical_parity_difference"``, ``"equalized_odds_ratio"``.
        {priv_group}
            Given: AIF360's signed comparison, unprivileged minus (or over) privileged,
            the non-privileged groups pooled.
        method : {None, "between_groups", "to_overall", "privileged"}, default=None
            ``"between_groups"``: worst gap between two groups (``max - min``, ratio
            ``min / max``); ``"to_overall"``: largest gap of a group to all rows pooled;
            ``"privileged"``: the signed comparison with ``priv_group``. None means
            ``"privileged"`` if ``priv_group`` is given, else ``"between_groups"``.
        zero_division : float, default=nan
            Value of a rate or ratio whose denominator is zero.
        agg : {"worst_case", "mean"}
            Only for the equalized-odds metrics (fairlearn's ``agg``).

        Raises
        ------
        ValueError
            For an unknown ``name`` or ``method``, ``priv_group`` given together with
            ``method="between_groups"``/``"to_overall"``, ``method="privileged"`` without
            ``priv_group``, a ``priv_group`` that does not occur, fewer than two groups
            with data, or a ``pos_label`` that occurred in no counted row.
        """
        _check_metric_name(name)
        method = resolve_method(method, priv_group)
        self._check_two_groups()
        if not self.pos_label_seen:
            raise ValueError(
                f"pos_label={self.pos_label!r} occurs in neither y_true nor y_pred of the "
                "counted rows; set pos_label to the favourable label."
            )
        priv = None if priv_group is None else self.privileged_mask(priv_group)
        return float(metric_from_counts(self.counts, name, priv=priv, method=method,
                                        zero_division=zero_division, agg=agg))

    metric = fair_docstring(metric)

    def __repr__(self):
        return (f"GroupCounts(n_groups={self.n_groups}, names={self.names}, "
                f"pos_label={self.pos_label!r}, n_rows={int(self.n_rows.sum())})")


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _install_metric_methods():
    def make(name, formula):
        def compute(self, *, priv_group=None, method=None, zero_division=np.nan,
                    agg="worst_case"):
            return self.metric(name, priv_group=priv_group, method=method,
                               zero_division=zero_division, agg=agg)

        compute.__name__ = compute.__qualname__ = name
        compute.__doc__ = (
            f"{formula[0].upper()}{formula[1:]}.\n\n"
            f"Same as ``metric({name!r}, ...)``; see :meth:`GroupCounts.metric` for "
            "``priv_group`` and ``method``."
        )
        return compute

    for name, (_, formula) in GROUP_METRICS.items():
        setattr(GroupCounts, name, make(name, formula))


_install_metric_methods()


# ------------------------------------------------------------------------------------------
# Multiclass: one (G, K, K) bincount, collapsed one-vs-rest per class
# ------------------------------------------------------------------------------------------


def per_class_counts(y_true, y_pred, *, sensitive_features, sample_weight=None, classes=None):
    """One-vs-rest :class:`GroupCounts` for every class, from a single bincount.

    Returns a dict ``{class: GroupCounts}`` in class order. ``classes`` defaults to the
    sorted union of the values of ``y_true`` and ``y_pred``.
    """
    y_true, y_pred, groups, w = prepare_arrays(y_true, y_pred, sensitive_features,
                                               sample_weight)
    if classes is None:
        classes = np.unique(np.concatenate([y_true, y_pred]))
    classes = np.asarray(classes)
    k = len(classes)
    index = {c: i for i, c in enumerate(classes.tolist())}
    codes_true = pd.Index(classes).get_indexer(y_true)
    codes_pred = pd.Index(classes).get_indexer(y_pred)
    for arr, name in ((codes_true, "y_true"), (codes_pred, "y_pred")):
        if (arr < 0).any():
            raise ValueError(f"{name} contains values not in classes={classes.tolist()}.")
    cell = (groups.codes * k + codes_true) * k + codes_pred
    M = np.bincount(cell, weights=w, minlength=groups.n_groups * k * k).astype(float)
    M = M.reshape(groups.n_groups, k, k)
    n_rows = None if w is None else np.bincount(groups.codes, minlength=groups.n_groups)
    total = M.sum(axis=(1, 2))
    out = {}
    for c, i in index.items():
        tp = M[:, i, i]
        fn = M[:, i, :].sum(axis=1) - tp
        fp = M[:, :, i].sum(axis=1) - tp
        tn = total - tp - fn - fp
        C = np.stack([np.stack([tn, fp], axis=-1), np.stack([fn, tp], axis=-1)], axis=-2)
        seen = bool((codes_true == i).any() or (codes_pred == i).any())
        out[c] = GroupCounts(C, groups.labels, names=groups.names, pos_label=c,
                             n_rows=n_rows, pos_label_seen=seen)
    return out
