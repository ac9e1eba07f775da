"""``GroupMetricFrame``: any metric, overall and per group, at the speed of the counts.

The frame offers what fairlearn's ``MetricFrame`` offers (the same constructor keywords,
accessors and result types, so code written for one runs on the other) and computes it in
two ways, chosen per metric:

* **Counts.** A metric known to be a function of the weighted confusion counts (scikit-learn's
  ``accuracy_score``, ``precision_score``, ``recall_score``, ``f1_score``,
  ``balanced_accuracy_score``; fairlearn's ``selection_rate``, ``true_positive_rate``,
  ``true_negative_rate``, ``false_positive_rate``, ``false_negative_rate`` and ``count``;
  fairkit's ``selection_rate``, ``negative_predictive_value`` and ``count``),
  called on labels with at most two distinct values and keyword arguments whose meaning the
  counts reproduce (``pos_label``, ``sample_weight``, ``zero_division``, ...), is computed
  for every group from one :func:`numpy.bincount` over ``4 * cell + 2 * true + pred``
  (:class:`~fairkit.metrics.GroupCounts`' layout); all such metrics sharing ``pos_label``
  and weights share that one pass. Anything else takes the general path below, so the
  result never depends on which path ran.
* **Ranks.** ``roc_auc_score`` on binary labels and finite scores, with default arguments
  (and optionally ``sample_weight``), is computed for every group from one sort of the
  scores: within each group the area is the Mann-Whitney sum with ties counting one half,
  which is the trapezoidal area ``roc_auc_score`` computes.
* **Slices.** Every other callable (ROC AUC on scores, errors of a regression, the user's
  own function) is called once per group on contiguous slices of the rows reordered by one
  stable sort of the integer group codes, with the rows of each group in their original
  order (what ``MetricFrame`` passes it too). ``n_jobs`` spreads those calls over joblib
  workers.

Groups are the cells of the product of the levels of the control and sensitive features;
a cell without rows holds ``nan`` (fairlearn's rule).

The frame is fairkit's one disaggregation path: :func:`~fairkit.metrics.fairness_report`
and ``fairkit audit`` (per chunk) take their groups and confusion counts from
:meth:`GroupMetricFrame.group_counts`, the report its resampled counts from
:meth:`GroupMetricFrame.bootstrap_group_counts`, and
:func:`~fairkit.plotting.plot_group_metrics` draws a frame's ``by_group``.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import check_random_state

from .._groups import check_discrete, column_values, encode
from .._protected import _param_repr, as_frame
from ..utils._dataframe import to_pandas
from ..utils._docstring import fair_docstring
from ._labels import check_label_predictions
from .group import count as _count_metric
from .streaming import GroupCounts, _divide, _is_pos

__all__ = ["GroupMetricFrame"]

_METHODS = ("between_groups", "to_overall")
# Rows of the (B, ...) bootstrap arrays are built in blocks of at most this many index draws.
_BLOCK_DRAWS = 4_000_000
_ERRORS = ("raise", "coerce")

# ------------------------------------------------------------------------------------------
# Metrics recognised as functions of the confusion counts
# ------------------------------------------------------------------------------------------

#: (module, name) -> kind. Identity is checked against the module's attribute, so a user
#: function that happens to share a name is never mistaken for one of these.
_KNOWN = {
    ("sklearn.metrics._classification", "accuracy_score"): "accuracy",
    ("sklearn.metrics._classification", "precision_score"): "precision",
    ("sklearn.metrics._classification", "recall_score"): "recall",
    ("sklearn.metrics._classification", "f1_score"): "f1",
    ("sklearn.metrics._classification", "balanced_accuracy_score"): "balanced_accuracy",
    ("fairlearn.metrics._base_metrics", "selection_rate"): "selection_rate",
    ("fairlearn.metrics._base_metrics", "true_positive_rate"): "fl_tpr",
    ("fairlearn.metrics._base_metrics", "true_negative_rate"): "fl_tnr",
    ("fairlearn.metrics._base_metrics", "false_positive_rate"): "fl_fpr",
    ("fairlearn.metrics._base_metrics", "false_negative_rate"): "fl_fnr",
    ("fairlearn.metrics._base_metrics", "count"): "count",
    ("sklearn.metrics._ranking", "roc_auc_score"): "roc_auc",
    ("fairkit.metrics.group", "count"): "count",
    ("fairkit.metrics.group", "selection_rate"): "fk_selection_rate",
    ("fairkit.metrics.group", "negative_predictive_value"): "fk_npv",
}
#: fairkit's own rate functions: one-vs-rest for any labels, nan where undefined, and an
#: error for a group in which pos_label occurs in neither y_true nor y_pred.
_FAIRKIT_RATES = ("fk_selection_rate", "fk_npv")

_SKLEARN_PRF = ("precision", "recall", "f1")
_FAIRLEARN_RATES = ("fl_tpr", "fl_tnr", "fl_fpr", "fl_fnr")
_ZERO_DIVISION_VALUES = ("warn", 0, 1, 0.0, 1.0)


def _known_kind(func):
    """(kind, keyword arguments) of a recognised metric, or None."""
    keywords = {}
    if type(func).__name__ == "partial" and hasattr(func, "func"):
        if func.args:
            return None
        keywords = dict(func.keywords)
        func = func.func
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    name = getattr(func, "__name__", None)
    kind = _KNOWN.get((getattr(func, "__module__", None), name))
    if kind is None or module is None or getattr(module, name, None) is not func:
        return None
    return kind, keywords


def _count_spec(kind, keywords, params):
    """The counts a recognised metric needs: dict or None when its arguments are not ones
    the counts reproduce. Keys: ``pos_label`` (None: any label present), ``fairlearn_pos``
    (fairlearn's rule for ``pos_label=None``), ``zero_division``, ``weight``."""
    params = {k: v for k, v in params.items() if v is not None}
    if set(params) - {"sample_weight"} or (kind == "count" and params):
        return None
    spec = {"kind": kind, "weight": params.get("sample_weight"), "pos_label": None,
            "zero_division": None, "fairlearn_pos": False}
    allowed = {
        "accuracy": {"normalize": (True,)},
        "balanced_accuracy": {"adjusted": (False,)},
        "selection_rate": {},
        "count": {},
    }
    if kind in _SKLEARN_PRF:
        kw = dict(keywords)
        if kw.pop("average", "binary") != "binary" or kw.pop("labels", None) is not None:
            return None
        spec["pos_label"] = kw.pop("pos_label", 1)
        zd = kw.pop("zero_division", "warn")
        if not (any(_same_value(zd, v) for v in _ZERO_DIVISION_VALUES)
                or (isinstance(zd, float) and math.isnan(zd))):
            return None
        spec["zero_division"] = zd
        return spec if not kw else None
    if kind in _FAIRLEARN_RATES:
        kw = dict(keywords)
        pos = kw.pop("pos_label", None)
        spec["pos_label"] = pos
        spec["fairlearn_pos"] = pos is None
        return spec if not kw else None
    if kind == "selection_rate" or kind in _FAIRKIT_RATES:
        kw = dict(keywords)
        spec["pos_label"] = kw.pop("pos_label", 1)
        if kind == "fk_npv":
            zd = kw.pop("zero_division", np.nan)
            if not isinstance(zd, (numbers.Real, np.number)) or isinstance(zd, bool):
                return None
            spec["zero_division"] = float(zd)
        if kind in _FAIRKIT_RATES and kw.pop("sensitive_features", None) is not None:
            return None
        return spec if not kw else None
    for key, value in keywords.items():
        if key not in allowed[kind] or not any(_same_value(value, v)
                                               for v in allowed[kind][key]):
            return None
    return spec


def _same_value(a, b):
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _rates_from_counts(C, kind, zero_division):
    """Value of ``kind`` for counts ``C`` of shape (..., 2, 2) = [true_pos, pred_pos];
    returns (values, ill-defined mask or None)."""
    tn, fp, fn, tp = C[..., 0, 0], C[..., 0, 1], C[..., 1, 0], C[..., 1, 1]
    total = tn + fp + fn + tp
    if kind == "accuracy":
        return _divide(tn + tp, total, np.nan), None
    if kind in ("selection_rate", "fk_selection_rate"):
        return _divide(fp + tp, total, np.nan), None
    if kind == "fk_npv":
        return _divide(tn, tn + fn, zero_division), None
    if kind in _SKLEARN_PRF:
        num, den = {"precision": (tp, fp + tp), "recall": (tp, fn + tp),
                    "f1": (2 * tp, 2 * tp + fp + fn)}[kind]
        value = 0.0 if isinstance(zero_division, str) else float(zero_division)
        return _divide(num, den, value), den == 0
    if kind == "balanced_accuracy":
        both = np.stack([_divide(tp, tp + fn, np.nan), _divide(tn, tn + fp, np.nan)])
        n_def = (~np.isnan(both)).sum(axis=0)
        return _divide(np.nansum(both, axis=0), n_def, np.nan), None
    num, den = {"fl_tpr": (tp, tp + fn), "fl_fnr": (fn, tp + fn),
                "fl_fpr": (fp, tn + fp), "fl_tnr": (tn, tn + fp)}[kind]
    return _divide(num, den, 0.0), None  # fairlearn: confusion matrix nan_to_num -> 0


_PRF_WARNING = {
    "precision": "Precision is ill-defined and being set to 0.0 due to no predicted samples",
    "recall": "Recall is ill-defined and being set to 0.0 due to no true samples",
    "f1": "F-score is ill-defined and being set to 0.0 due to no true nor predicted samples",
}

# ------------------------------------------------------------------------------------------
# ROC AUC of every group from one sort of the scores
# ------------------------------------------------------------------------------------------


def _auc_by_cell(score_order, scores, positive, weight, codes, n_cells):
    r"""Area under the ROC curve of every cell, ties counting one half (Mann-Whitney):

    .. math:: AUC_g = \frac{\sum_{i \in P_g} w_i (W^-_{<s_i} + W^-_{=s_i} / 2)}
              {W^+_g W^-_g}

    Rows are ordered by score once (``score_order``) and then, stably, by cell (a radix
    sort of the narrow codes), so each cell's rows are in score order. Returns
    ``(auc, positive weight, negative weight)`` per cell; unweighted sums are exact
    integers."""
    if codes is None:  # one cell: all rows
        order, codes = score_order, np.zeros(len(score_order), dtype=np.intp)
    else:
        order = score_order[np.argsort(_narrow(codes[score_order], n_cells), kind="stable")]
    c, s_, pos = codes[order], scores[order], positive[order]
    n = len(order)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(c[1:], c[:-1], out=new[1:])
    new[1:] |= s_[1:] != s_[:-1]  # a new block of tied scores
    starts = np.flatnonzero(new)
    if weight is None:
        pos_block = np.add.reduceat(pos.astype(np.int64), starts)
        neg_block = np.diff(np.append(starts, n)) - pos_block
    else:
        w = weight[order]
        pos_block = np.add.reduceat(np.where(pos, w, 0.0), starts)
        neg_block = np.add.reduceat(np.where(pos, 0.0, w), starts)
    cell_block = c[starts]
    cell_start = np.flatnonzero(np.r_[True, cell_block[1:] != cell_block[:-1]])
    below = np.cumsum(neg_block) - neg_block  # negatives before the block, all cells
    below -= np.repeat(below[cell_start], np.diff(np.append(cell_start, len(starts))))
    twice = pos_block * (2 * below + neg_block)  # exact in int64 when unweighted
    present = cell_block[cell_start]
    num, wp, wn = (np.zeros(n_cells) for _ in range(3))
    num[present] = np.add.reduceat(twice, cell_start)
    wp[present] = np.add.reduceat(pos_block, cell_start)
    wn[present] = np.add.reduceat(neg_block, cell_start)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = num / (2 * wp * wn)
    return auc, wp, wn


# ------------------------------------------------------------------------------------------
# Bootstrap of confusion counts
# ------------------------------------------------------------------------------------------


def _bootstrap_counts_unweighted(counts, n_bootstrap, rng):
    """Resampling n rows with replacement = multinomial draw of the cell counts."""
    flat = counts.ravel()
    n = int(round(flat.sum()))
    draws = rng.multinomial(n, flat / flat.sum(), size=n_bootstrap)
    return draws.astype(float).reshape(n_bootstrap, *counts.shape)


def _bootstrap_counts_weighted(cell, w, n_groups, n_bootstrap, rng):
    """Resample row indices in blocks; one bincount per block over (resample, cell)."""
    n = len(cell)
    n_cells = 4 * n_groups
    block = max(1, _BLOCK_DRAWS // max(n, 1))
    out = np.empty((n_bootstrap, n_cells))
    for start in range(0, n_bootstrap, block):
        b = min(block, n_bootstrap - start)
        idx = rng.randint(0, n, size=(b, n))
        flat = (np.arange(b)[:, None] * n_cells + cell[idx]).ravel()
        out[start:start + b] = np.bincount(flat, weights=w[idx].ravel(),
                                           minlength=b * n_cells).reshape(b, n_cells)
    return out.reshape(n_bootstrap, n_groups, 2, 2)


# ------------------------------------------------------------------------------------------
# Features -> integer cell codes
# ------------------------------------------------------------------------------------------


class _Features:
    """Sensitive features already checked by :func:`fairkit._protected.as_frame` (fairkit's
    names, missing and infinite values refused), grouped by fairkit's rules: a column's
    levels are checked to be discrete as soon as it is factorized (before any product of
    levels is formed), and categorical columns keep their category order. How
    :func:`fairness_report` and ``fairkit audit`` hand their groups to the frame."""

    def __init__(self, frame, param):
        self.frame, self.param = frame, param

    def columns(self):
        return [(col, column_values(self.frame[col])) for col in self.frame.columns]

    def check(self, j, n_levels):
        col = self.frame.columns[j]
        check_discrete(self.param, col, self.frame[col], n_levels)


def _values(series):
    """A user's column as an array: strings stay pandas' string array (factorized as they
    are, several times faster than as Python objects, same levels), the rest numpy."""
    return series.array if isinstance(series.dtype, pd.StringDtype) else series.to_numpy()


def _feature_columns(features, base, n_samples, param):
    """[(name, values)] of the sensitive or control features, named as fairlearn names
    them (``sensitive_feature_0``, ... when the input carries no names)."""
    if isinstance(features, _Features):
        return features.columns()
    features = to_pandas(features)
    if isinstance(features, pd.Series):
        name = features.name
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{param} is a Series named {name!r}; its name must be a string "
                             "(or None).")
        columns = [(name if name is not None else f"{base}0", _values(features))]
    elif isinstance(features, pd.DataFrame):
        columns = []
        for i, col in enumerate(features.columns):
            if not isinstance(col, str):
                raise ValueError(f"{param} column names must be strings; column {i} is named "
                                 f"{col!r} ({type(col).__name__}).")
            columns.append((col, _values(features.iloc[:, i])))
    elif isinstance(features, dict):
        columns = []
        for key, value in features.items():
            if not isinstance(key, str):
                raise ValueError(f"{param} keys must be strings, got {key!r}.")
            arr = np.asarray(to_pandas(value))
            if arr.ndim != 1:
                raise ValueError(f"{param}[{key!r}] must be 1-D, got shape {arr.shape}.")
            columns.append((key, arr))
    else:
        arr = np.asarray(features)
        if isinstance(features, list) and arr.dtype.kind == "O" and arr.ndim != 1:
            arr = np.asarray(features, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim == 1:
            columns = [(f"{base}0", arr)]
        elif arr.ndim == 2:
            columns = [(f"{base}{j}", arr[:, j]) for j in range(arr.shape[1])]
        else:
            raise ValueError(f"{param} must be 1-D or 2-D, got an array of shape {arr.shape}.")
    if not columns:
        raise ValueError(f"{param} has no columns.")
    for name, values in columns:
        if len(values) != n_samples:
            raise ValueError(f"{param} {name!r} has {len(values)} rows but y_true has "
                             f"{n_samples}; they must have the same length.")
        if values.dtype.kind in "fcOUSmM" and pd.isna(values).any():
            raise ValueError(f"{param} {name!r} contains missing values (NaN/None); fill or "
                             "drop them first.")
    return columns


def _index(levels, names):
    """Index of the product of ``levels`` (first level slowest), as fairlearn's reindex."""
    if len(levels) == 1:
        return pd.Index(levels[0], name=names[0])
    sizes = [len(u) for u in levels]
    codes, inner = [], int(np.prod(sizes))
    outer = 1
    for size in sizes:  # built from codes: from_product factorizes every level again
        inner //= size
        codes.append(np.tile(np.repeat(np.arange(size), inner), outer))
        outer *= size
    return pd.MultiIndex(levels=[pd.Index(u) for u in levels], codes=codes, names=names,
                         verify_integrity=False)


def _narrow(codes, n_cells):
    """Codes in the narrowest unsigned type: numpy's stable sort is a radix sort there."""
    for dtype in (np.uint8, np.uint16):
        if n_cells <= np.iinfo(dtype).max + 1:
            return codes.astype(dtype)
    return codes


class _Cells:
    """Rows grouped by integer cell code: one stable sort, contiguous slices per cell."""

    def __init__(self, codes, n_cells):
        self.codes, self.n_cells = codes, n_cells
        self._layout = None
        self._gathered = {}

    @property
    def layout(self):
        if self._layout is None:
            sizes = np.bincount(self.codes, minlength=self.n_cells)
            order = np.argsort(_narrow(self.codes, self.n_cells), kind="stable")
            bounds = np.zeros(self.n_cells + 1, dtype=np.intp)
            np.cumsum(sizes, out=bounds[1:])
            self._layout = (order, sizes, bounds)
        return self._layout

    def gather(self, arr):
        key = id(arr)
        if key not in self._gathered:
            self._gathered[key] = (arr, arr[self.layout[0]])
        return self._gathered[key][1]

    def evaluate(self, func, args, kwargs, n_jobs=None):
        """``func`` on every non-empty cell -> list (None for empty cells)."""
        _, sizes, bounds = self.layout
        args = [self.gather(a) for a in args]
        kwargs = {k: self.gather(v) for k, v in kwargs.items()}
        cells = np.flatnonzero(sizes)

        def call(c):
            s = slice(bounds[c], bounds[c + 1])
            return func(*(a[s] for a in args), **{k: v[s] for k, v in kwargs.items()})

        if n_jobs in (None, 1) or len(cells) < 2:
            results = [call(c) for c in cells]
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=n_jobs)(
                delayed(func)(*(a[bounds[c]:bounds[c + 1]] for a in args),
                              **{k: v[bounds[c]:bounds[c + 1]] for k, v in kwargs.items()})
                for c in cells)
        out = [None] * self.n_cells
        for c, value in zip(cells, results, strict=True):
            out[c] = value
        return out


def _as_values(results):
    """List of per-cell results (None: no rows) -> float array, or object array when a
    result is not a real number (NaN for the empty cells either way)."""
    if all(r is None or (np.isscalar(r) and isinstance(r, (numbers.Real, np.bool_)))
           for r in results):
        return np.array([np.nan if r is None else float(r) for r in results], dtype=float)
    out = np.empty(len(results), dtype=object)
    for i, r in enumerate(results):
        out[i] = np.nan if r is None else r
    return out


def _as_1d_target(y, name):
    y = to_pandas(y)
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 0:
        raise ValueError(f"{name} must be array-like, got {_param_repr(y)}.")
    return arr


def _label_set(y):
    """(kind, set of values) when ``y`` holds at most two distinct labels, else None."""
    if y.ndim != 1:
        return None
    k = y.dtype.kind
    if k == "b":
        return "num", {v for v in (False, True) if (y == v).any()}
    if k == "f":
        if not np.isfinite(y).all() or not (y == np.round(y)).all():
            return None
    if k in "iuf":
        if len(y) == 0:
            return "num", set()
        lo, hi = y.min(), y.max()
        if lo != hi and hi - lo > 1 and np.count_nonzero((y == lo) | (y == hi)) != len(y):
            return None
        return "num", {lo.item(), hi.item()}
    if k in "US":
        uniques = pd.unique(y)
        return ("str", set(uniques.tolist())) if len(uniques) <= 2 else None
    if k == "O":
        uniques = pd.unique(y)
        if len(uniques) > 2:
            return None
        if all(isinstance(v, str) for v in uniques):
            return "str", set(uniques)
        if all(isinstance(v, (numbers.Integral, np.bool_)) or (
                isinstance(v, (float, np.floating)) and math.isfinite(v) and v == round(v))
                for v in uniques):
            return "num", set(uniques)
    return None


# ------------------------------------------------------------------------------------------
# The frame
# ------------------------------------------------------------------------------------------


@fair_docstring
class GroupMetricFrame:
    r"""Any metric overall and per group, with differences, ratios, minima and maxima.

    fairkit's disaggregation frame: it takes the arguments of fairlearn's ``MetricFrame``
    and returns the same values with the same types, computed metric by metric either from
    one count of confusion cells (metrics that are functions of the confusion counts) or by
    one call per group on slices of rows sorted once by group (any other callable).

    Parameters
    ----------
    metrics : callable or dict of str to callable
        Metric(s) called as ``metric(y_true, y_pred, **sample_params)``; fix other
        arguments with :func:`functools.partial`. A single callable gives scalar / Series
        results, a dict gives Series / DataFrame results with one entry per key (also for
        a dict of one metric), as in fairlearn.
    y_true : array-like of shape (n_samples,)
        True labels or target values (numpy, list, pandas, polars or pyarrow).
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predicted labels, scores or values; 2-D (class probabilities) is passed through to
        the metric, sliced by rows.
    sensitive_features : array-like, dict of 1-D arrays or DataFrame
        Feature(s) defining the groups; several give intersectional groups, one per
        combination of levels (combinations without rows hold ``nan``). Names come from
        the Series name, column names or dict keys (strings), otherwise
        ``sensitive_feature_0``, ``sensitive_feature_1``, ...
    control_features : array-like, dict of 1-D arrays or DataFrame, optional
        Features that split the rows like the sensitive features but over which nothing is
        aggregated: ``overall``, ``group_min()``, ``difference()``, ... hold one value per
        level of the control features. Default names ``control_feature_0``, ...
    sample_params : dict, optional
        Per-row arguments sliced with the rows and passed to the metric, e.g.
        ``{"sample_weight": w}``; for a dict of metrics, a dict of such dicts keyed by
        metric name.
    n_boot : int, optional
        Number of bootstrap resamples of the rows for the ``*_ci`` accessors (with
        ``ci_quantiles``).
    ci_quantiles : list of float, optional
        Quantiles in (0, 1) of the bootstrap distribution to report, e.g.
        ``[0.025, 0.975]``.
    {random_state}
        It seeds the bootstrap.
    n_jobs : int, optional
        joblib workers for the per-group calls of metrics that are not count-based (worth
        it for expensive callables only); None or 1 runs them in this process.

    Attributes
    ----------
    overall : scalar, Series or DataFrame
        Metric(s) on all rows (per level of the control features, if any).
    by_group : Series or DataFrame
        Metric(s) per group, indexed by the levels of the control and sensitive features.
    sensitive_levels : list of str
        Names of the sensitive features in the index of ``by_group``.
    control_levels : list of str or None
        Names of the control features, None without control features.
    group_sizes : Series
        Rows per group (0 for combinations without rows), indexed like ``by_group``.
    count_based_metrics : tuple of str
        The metrics that were computed from the confusion counts.
    metric_paths : dict of str to str
        How each metric was computed: ``"counts"``, ``"ranks"`` (ROC AUC from one sort of
        the scores) or ``"calls"`` (called once per group).
    n_boot, ci_quantiles
        The bootstrap settings.

    See Also
    --------
    fairkit.metrics.fairness_report : Per-group rates and gaps as one table.
    fairkit.metrics.GroupCounts : Mergeable per-group confusion counts.

    Notes
    -----
    For group values :math:`m_g` and all-rows value :math:`m` (per control level),

    .. math::

        \text{difference} = \max_g m_g - \min_g m_g \;\text{or}\; \max_g |m_g - m|,
        \qquad
        \text{ratio} = \frac{\min_g m_g}{\max_g m_g} \;\text{or}\;
        \min_g \rho\!\left(\frac{m_g}{m}\right),\;
        \rho(x) = \begin{cases} 1/x & x > 1 \\ x & \text{otherwise}\end{cases}

    for ``method="between_groups"`` and ``"to_overall"``; groups whose value is ``nan``
    are skipped (fairlearn's rules, so one defined group gives a difference of 0).

    A metric goes through the counts only when the counts give exactly what calling it
    would: labels with at most two distinct values (of one kind, numbers or strings) in
    ``y_true`` and ``y_pred``, ``pos_label`` among them (or fairlearn's default rule),
    ``sample_weight`` the only sample parameter (finite, non-negative, every group of
    positive total), and keyword arguments the counts reproduce (``pos_label``,
    ``zero_division``, ``average="binary"``); ``zero_division="warn"`` warns once per
    metric instead of once per group. Any other case calls the metric, with its own
    checks and errors. ``roc_auc_score`` goes through the ranks under the same rule (no
    keyword arguments, two labels, finite numeric scores, both labels of positive weight
    in every group; the greater label is positive, as in scikit-learn).

    Per-group confusion counts for other uses: :meth:`group_counts`, and their bootstrap
    resamples: :meth:`bootstrap_group_counts`.

    Bootstrap intervals (``n_boot`` and ``ci_quantiles``): for count-based metrics a
    resample of the rows is drawn as a multinomial draw of the cell counts (unweighted) or
    as row indices counted in one bincount per block (weighted), so no metric call per
    resample; other metrics are called per group on each resample. Intervals are per
    metric (count-based metrics are not resampled jointly with the others); ROC AUC is
    called per group on each resample. Quantiles skip
    resamples in which a value is undefined (``numpy.nanquantile``).

    Examples
    --------
    >>> from sklearn.metrics import accuracy_score
    >>> from fairkit.metrics import GroupMetricFrame
    >>> y_true = [1, 1, 1, 1, 1, 0, 0, 1, 1, 0]
    >>> y_pred = [0, 1, 1, 1, 1, 0, 0, 0, 1, 1]
    >>> sex = ["Female"] * 5 + ["Male"] * 5
    >>> frame = GroupMetricFrame(metrics={"accuracy": accuracy_score}, y_true=y_true,
    ...                          y_pred=y_pred, sensitive_features=sex)
    >>> frame.by_group["accuracy"].to_dict()
    {'Female': 0.8, 'Male': 0.6}
    >>> round(float(frame.difference()["accuracy"]), 3), round(float(frame.ratio()["accuracy"]), 3)
    (0.2, 0.75)
    >>> frame.count_based_metrics
    ('accuracy',)
    """

    def __init__(self, *, metrics, y_true, y_pred, sensitive_features, control_features=None,
                 sample_params=None, n_boot=None, ci_quantiles=None, random_state=None,
                 n_jobs=None):
        y_true = _as_1d_target(y_true, "y_true")
        y_pred = _as_1d_target(y_pred, "y_pred")
        n = len(y_true)
        if len(y_pred) != n:
            raise ValueError(f"y_pred has {len(y_pred)} samples but y_true has {n}; they "
                             "must have the same length.")
        if n == 0:
            raise ValueError("y_true is empty; a metric frame needs at least one row.")
        self._y_true, self._y_pred, self._n = y_true, y_pred, n
        self._single = not isinstance(metrics, dict)
        self._funcs, self._params = self._check_metrics(metrics, sample_params, n)
        self._n_jobs = n_jobs
        self._n_boot, self._ci_quantiles = n_boot, ci_quantiles
        self._ci = None
        asked = n_boot is not None, ci_quantiles is not None and len(ci_quantiles) > 0
        if any(asked) and not all(asked):
            raise ValueError(f"n_boot={n_boot!r} and ci_quantiles={ci_quantiles!r}: give both "
                             "(a positive number of resamples and a list of quantiles) or "
                             "neither.")
        if all(asked):
            if not isinstance(n_boot, numbers.Integral) or isinstance(n_boot, bool) \
                    or n_boot < 1:
                raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}.")
            bad = [q for q in ci_quantiles
                   if not isinstance(q, (float, np.floating)) or not 0 < q < 1]
            if bad:
                raise ValueError(f"ci_quantiles must be floats in (0, 1), got "
                                 f"{_param_repr(list(ci_quantiles))}.")

        sf = _feature_columns(sensitive_features, "sensitive_feature_", n, "sensitive_features")
        cf = (None if control_features is None else
              _feature_columns(control_features, "control_feature_", n, "control_features"))
        self._sf_names = [name for name, _ in sf]
        self._cf_names = None if cf is None else [name for name, _ in cf]
        names = (self._cf_names or []) + self._sf_names
        duplicated = sorted({x for x in names if names.count(x) > 1})
        if duplicated:
            raise ValueError(f"feature name(s) {duplicated} occur more than once among "
                             "sensitive_features and control_features; names must be unique.")
        sf_codes, sf_levels, n_sf = encode(
            [values for _, values in sf],
            sensitive_features.check if isinstance(sensitive_features, _Features) else None)
        if cf is None:
            codes, levels, n_cf, cf_codes = sf_codes, sf_levels, 1, None
        else:
            cf_codes, cf_levels, n_cf = encode([values for _, values in cf])
            codes = cf_codes * n_sf + sf_codes
            levels = cf_levels + sf_levels
        self._n_sf, self._n_cf = n_sf, n_cf
        self._cells = _Cells(codes, n_cf * n_sf)
        self._cf_cells = None if cf is None else _Cells(cf_codes, n_cf)
        self._index_parts = (levels, names, None if cf is None else cf_levels)
        self._indexes = None

        self._count_cache = {}
        self._weights = []
        self._specs = {}
        self._paths = {}
        self._score_order = None
        self._n_rows = None
        self._label_facts = {}
        self._by_cell, self._overall, self._count_based = {}, {}, []
        for name, func in self._funcs.items():
            spec = self._count_path(func, self._params[name])
            ranked = None if spec is not None else self._from_ranks(func, self._params[name])
            if spec is not None:
                self._by_cell[name], self._overall[name] = self._from_counts(name, spec)
                self._count_based.append(name)
                self._specs[name] = spec
                self._paths[name] = "counts"
            elif ranked is not None:
                self._by_cell[name], self._overall[name] = ranked
                self._paths[name] = "ranks"
            else:
                self._paths[name] = "calls"
                self._by_cell[name], self._overall[name] = self._from_calls(
                    func, self._params[name], self._cells, self._cf_cells)

        if all(asked):
            self._ci = self._bootstrap(int(n_boot), list(ci_quantiles),
                                       check_random_state(random_state))

    @property
    def _group_index(self):
        return self._built_indexes()[0]

    @property
    def _cf_index(self):
        return self._built_indexes()[1]

    def _built_indexes(self):
        if self._indexes is None:  # built when a result is first read
            levels, names, cf_levels = self._index_parts
            self._indexes = (_index(levels, names),
                             None if cf_levels is None else _index(cf_levels, self._cf_names))
        return self._indexes

    # -- checking --------------------------------------------------------------------------
    @staticmethod
    def _check_metrics(metrics, sample_params, n):
        if sample_params is not None and not isinstance(sample_params, dict):
            raise ValueError(f"sample_params must be a dict, got {_param_repr(sample_params)}.")
        sample_params = sample_params or {}
        if isinstance(metrics, dict):
            if not metrics:
                raise ValueError("metrics is an empty dict; give at least one metric.")
            unknown = sorted(set(sample_params) - set(metrics), key=str)
            if unknown:
                raise ValueError(f"sample_params has keys {unknown} that are not metric names "
                                 f"({list(metrics)}).")
            funcs = dict(metrics)
            params = {}
            for name, p in ((k, sample_params.get(k, {})) for k in funcs):
                if not isinstance(p, dict):
                    raise ValueError(f"sample_params[{name!r}] must be a dict of per-row "
                                     f"arrays, got {_param_repr(p)}.")
                params[name] = p
        else:
            name = getattr(metrics, "__name__", None)
            if name is None and callable(metrics):
                warnings.warn("The metric has no __name__ (e.g. a functools.partial); it is "
                              "called 'metric' in the results.", UserWarning, stacklevel=3)
                name = "metric"
            funcs = {name: metrics}
            params = {name: sample_params}
        for name, func in funcs.items():
            if func is None or not callable(func):
                where = "metrics" if len(funcs) == 1 and not isinstance(metrics, dict) \
                    else f"metrics[{name!r}]"
                raise ValueError(f"{where}={_param_repr(func)} is not callable; give a "
                                 "function metric(y_true, y_pred, **sample_params).")
        checked = {}
        for name, p in params.items():
            checked[name] = {}
            for key, value in p.items():
                if value is None:
                    continue
                arr = np.asarray(to_pandas(value))
                if arr.ndim == 0 or len(arr) != n:
                    raise ValueError(
                        f"sample_params {key!r} of metric {name!r} has "
                        f"{'no length' if arr.ndim == 0 else len(arr)} rows but y_true has "
                        f"{n}; per-row parameters must have the same length.")
                checked[name][key] = arr
        return funcs, checked

    # -- the count path --------------------------------------------------------------------
    def _labels(self):
        """(kind, set) of the labels in y_true and y_pred together, or None."""
        if "both" not in self._label_facts:
            t, p = _label_set(self._y_true), _label_set(self._y_pred)
            facts = None
            if t is not None and p is not None and t[0] == p[0]:
                union = t[1] | p[1]
                if len(union) <= 2:
                    facts = (t[0], union)
            self._label_facts["both"] = facts
        return self._label_facts["both"]

    def _count_path(self, func, params):
        known = _known_kind(func)
        if known is None:
            return None
        spec = _count_spec(*known, params)
        if spec is None:
            return None
        kind = spec["kind"]
        if kind == "count":
            spec["pos_label"] = None
            return spec
        if self._y_pred.ndim != 1:
            return None
        if kind in _FAIRKIT_RATES and not self._fairkit_rate_applies(spec["pos_label"]):
            return None
        if kind != "selection_rate" and kind not in _FAIRKIT_RATES:
            facts = self._labels()
            if facts is None:
                return None
            union = facts[1]
            pos = spec["pos_label"]
            if spec["fairlearn_pos"]:
                if not (union <= {0, 1} or union <= {-1, 1}):
                    return None
                pos = 1
            elif pos is None or (len(union) == 2 and not any(_same_label(pos, u)
                                                              for u in union)):
                if kind in _SKLEARN_PRF or kind in _FAIRLEARN_RATES:
                    return None  # the metric itself raises: let it
                pos = None
            if pos is None:  # accuracy, balanced accuracy: any label present will do
                pos = self._any_label(union)
            spec["pos_label"] = pos
        w = spec["weight"]
        if w is not None:
            try:
                w = np.asarray(w, dtype=float)
            except (TypeError, ValueError):
                return None
            if w.ndim != 1 or not np.isfinite(w).all() or (w < 0).any():
                return None
            w = self._canonical_weight(w)
            spec["weight"] = w
            C = self._counts(spec["pos_label"], w)
            weight = C.sum(axis=(1, 2))
            if ((weight == 0) & (self._rows() > 0)).any():
                return None  # a group of weight 0: the metric's own rule decides
        return spec

    def _fairkit_rate_applies(self, pos_label):
        """fairkit's rate functions count any labels one-vs-rest but refuse scores, missing
        labels and a group where ``pos_label`` occurs in neither y_true nor y_pred: those
        cases are left to the function itself (its error)."""
        if self._y_true.ndim != 1:
            return False
        for y in (self._y_true, self._y_pred):
            if y.dtype.kind in "fO" and pd.isna(y).any():
                return False
        try:
            check_label_predictions(self._y_pred)
        except ValueError:
            return False
        C = self._counts(pos_label, None)
        seen = C[:, 1, :].sum(axis=1) + C[:, 0, 1]
        return not ((seen == 0) & (self._rows() > 0)).any()

    def _any_label(self, union):
        """A label of ``union`` for metrics indifferent to it: one already counted if any."""
        for key in self._count_cache:
            if any(_same_label(key[0], u) for u in union):
                return key[0]
        if any(_same_label(1, u) for u in union):
            return 1
        return sorted(union, key=str)[0] if union else 1

    def _canonical_weight(self, w):
        """The same weights given to several metrics are counted once."""
        for known in self._weights:
            if known is w or (known.shape == w.shape and np.array_equal(known, w)):
                return known
        self._weights.append(w)
        return w

    def _rows(self):
        if self._n_rows is None:
            self._n_rows = np.bincount(self._cells.codes, minlength=self._cells.n_cells)
        return self._n_rows

    def _count_key(self, pos_label, w):
        """Key of the counts for ``pos_label`` (an equal label already counted reuses its
        entry) and weights ``w``."""
        key = (pos_label, None if w is None else id(w))
        for k in self._count_cache:
            if _same_label(k[0], key[0]) and k[1] == key[1]:
                return k
        return key

    def _counts(self, pos_label, w):
        """Counts (n_cells, 2, 2) for ``pos_label`` and weights ``w``: one bincount."""
        key = self._count_key(pos_label, w)
        if key in self._count_cache:
            return self._count_cache[key][0]
        t, p = self._y_true, self._y_pred
        t = _is_pos(t, pos_label) if t.ndim == 1 else np.zeros(self._n, dtype=bool)
        p = _is_pos(p, pos_label)
        # 4 * cell + 2 * t + p, with the small part in one byte (fewer wide passes)
        small = t.view(np.int8) * np.int8(2)
        small += p.view(np.int8)
        cell = self._cells.codes * 4
        cell += small
        C = np.bincount(cell, weights=w, minlength=4 * self._cells.n_cells)
        C = C.astype(float, copy=False).reshape(self._cells.n_cells, 2, 2)
        if w is None:
            self._n_rows = C.sum(axis=(1, 2))
        self._count_cache[key] = (C, cell, w, bool(t.any() or p.any()))
        return C

    def _values_from_counts(self, name, spec, C, rows, warn=False):
        """Per-cell values from counts (..., n_cells, 2, 2) and row counts (..., n_cells)."""
        kind = spec["kind"]
        if kind == "count":
            return np.where(rows > 0, rows, np.nan)
        values, undefined = _rates_from_counts(C, kind, spec["zero_division"])
        present = rows > 0
        if warn and undefined is not None and spec["zero_division"] == "warn":
            n_bad = int((undefined & present).sum())
            if n_bad:
                warnings.warn(f"{_PRF_WARNING[kind]} in {n_bad} group(s) of metric {name!r}. "
                              "Use `zero_division` parameter to control this behavior.",
                              UndefinedMetricWarning, stacklevel=4)
        if warn and kind == "balanced_accuracy":
            tn, fp, fn, tp = (C[..., 0, 0], C[..., 0, 1], C[..., 1, 0], C[..., 1, 1])
            missing = ((tp + fn == 0) & (tp + fp > 0)) | ((tn + fp == 0) & (tn + fn > 0))
            if (missing & present).any():
                warnings.warn(f"y_pred contains classes not in y_true (metric {name!r}, "
                              f"{int((missing & present).sum())} group(s)).", UserWarning,
                              stacklevel=4)
        return np.where(present, values, np.nan)

    def _from_counts(self, name, spec):
        if spec["kind"] == "count":
            rows = self._rows()
            rows_cf = rows.reshape(self._n_cf, self._n_sf).sum(axis=1)
            return np.where(rows > 0, rows, np.nan), rows_cf.astype(float)
        C = self._counts(spec["pos_label"], spec["weight"])
        rows = self._rows()
        by_cell = self._values_from_counts(name, spec, C, rows, warn=True)
        C_cf = C.reshape(self._n_cf, self._n_sf, 2, 2).sum(axis=1)
        rows_cf = rows.reshape(self._n_cf, self._n_sf).sum(axis=1)
        overall = self._values_from_counts(name, spec, C_cf, rows_cf, warn=True)
        return by_cell, overall

    # -- the rank path (ROC AUC) ------------------------------------------------------------
    def _from_ranks(self, func, params):
        """Per-cell and overall ROC AUC from one sort of the scores, or None when
        ``roc_auc_score`` would not compute the plain binary AUC (other arguments, labels
        not binary, scores not finite numbers, a group with one class)."""
        known = _known_kind(func)
        params = {k: v for k, v in params.items() if v is not None}
        if known is None or known[0] != "roc_auc" or known[1] or set(params) - {"sample_weight"}:
            return None
        facts = _label_set(self._y_true)
        scores = self._y_pred
        if facts is None or len(facts[1]) != 2 or scores.ndim != 1 \
                or scores.dtype.kind not in "iuf":
            return None
        scores = scores.astype(float, copy=False)
        if not np.isfinite(scores).all():
            return None
        w = params.get("sample_weight")
        if w is not None:
            try:
                w = np.asarray(w, dtype=float)
            except (TypeError, ValueError):
                return None
            if w.ndim != 1 or not np.isfinite(w).all() or (w < 0).any():
                return None
        positive = _is_pos(self._y_true, sorted(facts[1])[-1])  # the greater label
        if self._score_order is None:
            self._score_order = np.argsort(scores, kind="stable")
        order, rows = self._score_order, self._rows()
        auc, wp, wn = _auc_by_cell(order, scores, positive, w, self._cells.codes,
                                   self._cells.n_cells)
        present = rows > 0
        if ((wp == 0) | (wn == 0))[present].any():
            return None  # one class in a group: roc_auc_score's own error or warning
        cf_codes = None if self._cf_cells is None else self._cf_cells.codes
        overall, wp, wn = _auc_by_cell(order, scores, positive, w, cf_codes, self._n_cf)
        if ((wp == 0) | (wn == 0)).any():
            return None
        return np.where(present, auc, np.nan), overall

    # -- the slice path --------------------------------------------------------------------
    def _from_calls(self, func, params, cells, cf_cells, y_true=None, y_pred=None):
        y_true = self._y_true if y_true is None else y_true
        y_pred = self._y_pred if y_pred is None else y_pred
        by_cell = _as_values(cells.evaluate(func, [y_true, y_pred], params, self._n_jobs))
        if cf_cells is None:
            overall = _as_values([func(y_true, y_pred, **params)])
        else:
            overall = _as_values(cf_cells.evaluate(func, [y_true, y_pred], params,
                                                   self._n_jobs))
        return by_cell, overall

    # -- reductions ------------------------------------------------------------------------
    def _numeric(self, name, errors):
        """by_cell values as floats (n_cf, n_sf); non-scalar results raise or become nan."""
        values = self._by_cell[name]
        overall = self._overall[name]
        if values.dtype == object or overall.dtype == object:
            values, overall = (_coerce(v, name, errors) for v in (values, overall))
        return values.reshape(self._n_cf, self._n_sf), overall

    def _reduce(self, what, method, errors):
        out = {}
        for name in self._funcs:
            values, overall = self._numeric(name, errors)
            out[name] = _reduce(values, overall, what, method)
        return self._shape_reduced(out)

    def _shape_reduced(self, out):
        if self._cf_names is None:
            if self._single:
                return next(iter(out.values()))[0]
            return pd.Series({k: v[0] for k, v in out.items()}, dtype=float)
        frame = pd.DataFrame(out, index=self._cf_index)
        return frame.iloc[:, 0] if self._single else frame

    # -- public API --------------------------------------------------------------------------
    @property
    def overall(self):
        """Metric(s) on all rows: a scalar (one callable), a Series indexed by metric (a
        dict), or per control level a Series (one callable) / DataFrame (a dict)."""
        if self._cf_names is None:
            if self._single:
                return next(iter(self._overall.values()))[0]
            return pd.Series({k: v[0] for k, v in self._overall.items()})
        frame = pd.DataFrame(dict(self._overall), index=self._cf_index)
        return frame.iloc[:, 0] if self._single else frame

    @property
    def by_group(self):
        """Metric(s) per group: a Series (one callable) or DataFrame (a dict), indexed by
        the levels of the control and sensitive features; ``nan`` for combinations without
        rows."""
        frame = pd.DataFrame(dict(self._by_cell), index=self._group_index)
        return frame.iloc[:, 0] if self._single else frame

    @property
    def group_sizes(self):
        """Number of rows (unweighted) of every group: a Series indexed like
        :attr:`by_group`, 0 for the combinations of levels without rows (the ones whose
        values are ``nan`` because there is nothing to compute them on)."""
        return pd.Series(self._rows().astype(np.int64), index=self._group_index,
                         name="n_rows")

    @property
    def sensitive_levels(self):
        """Names of the sensitive features (levels of the ``by_group`` index)."""
        return list(self._sf_names)

    @property
    def control_levels(self):
        """Names of the control features, or None."""
        return None if self._cf_names is None else list(self._cf_names)

    @property
    def count_based_metrics(self):
        """Names of the metrics computed from the confusion counts."""
        return tuple(self._count_based)

    @property
    def metric_paths(self):
        """How each metric was computed: ``"counts"`` (one bincount of confusion cells),
        ``"ranks"`` (ROC AUC from one sort of the scores) or ``"calls"`` (the metric called
        once per group)."""
        return dict(self._paths)

    @property
    def n_boot(self):
        """Number of bootstrap resamples (None without bootstrap)."""
        return self._n_boot

    @property
    def ci_quantiles(self):
        """Quantiles reported by the ``*_ci`` accessors (None without bootstrap)."""
        return self._ci_quantiles

    def group_min(self, errors="raise"):
        """Smallest group value of each metric (per control level).

        Parameters
        ----------
        errors : {"raise", "coerce"}, default="raise"
            A metric with non-scalar results (e.g. a confusion matrix) raises
            ``ValueError`` (``"raise"``) or counts as ``nan`` (``"coerce"``).

        Returns
        -------
        scalar, Series or DataFrame
            Shaped like :attr:`overall`.
        """
        return self._reduce("min", None, _check_errors(errors))

    def group_max(self, errors="raise"):
        """Largest group value of each metric (per control level).

        Parameters
        ----------
        errors : {"raise", "coerce"}, default="raise"
            As in :meth:`group_min`.

        Returns
        -------
        scalar, Series or DataFrame
            Shaped like :attr:`overall`.
        """
        return self._reduce("max", None, _check_errors(errors))

    def difference(self, method="between_groups", errors="coerce"):
        """Largest gap between groups (``"between_groups"``: max - min) or of a group to
        all rows (``"to_overall"``: max |group - overall|), per metric.

        Parameters
        ----------
        method : {"between_groups", "to_overall"}, default="between_groups"
        errors : {"raise", "coerce"}, default="coerce"
            As in :meth:`group_min`.

        Returns
        -------
        scalar, Series or DataFrame
            Shaped like :attr:`overall`.
        """
        return self._reduce("difference", _check_method(method), _check_errors(errors))

    def ratio(self, method="between_groups", errors="coerce"):
        """Smallest ratio between groups (``"between_groups"``: min / max) or of a group to
        all rows (``"to_overall"``, each taken as a number <= 1), per metric.

        Parameters
        ----------
        method : {"between_groups", "to_overall"}, default="between_groups"
        errors : {"raise", "coerce"}, default="coerce"
            As in :meth:`group_min`.

        Returns
        -------
        scalar, Series or DataFrame
            Shaped like :attr:`overall`.
        """
        return self._reduce("ratio", _check_method(method), _check_errors(errors))

    def group_counts(self, pos_label=1, sample_weight=None):
        """Weighted confusion counts of every non-empty group, from the frame's cell codes.

        The counts a count-based metric of the frame used for the same ``pos_label`` and
        weights are returned without counting again; any other combination costs one
        :func:`numpy.bincount`. Every group metric of :class:`GroupCounts` (gaps with a
        privileged group, equalized odds, ...) then reads them.

        Parameters
        ----------
        pos_label : scalar, default=1
            Label counted as positive in ``y_true`` and ``y_pred``.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the rows (e.g. the ``sample_weight`` of ``sample_params``).

        Returns
        -------
        GroupCounts
            One group per non-empty combination of control and sensitive levels, labelled
            by a value (one feature) or a tuple (several), named like ``by_group``'s index.
        """
        w = self._checked_weight(sample_weight)
        C = self._counts(pos_label, w)
        seen = self._count_cache[self._count_key(pos_label, w)][3]
        rows = self._rows()
        present = self._present_cells()
        labels = list(self._group_index[present])
        labels = [tuple(_item(v) for v in lab) if isinstance(lab, tuple) else _item(lab)
                  for lab in labels]
        return GroupCounts(C[present], labels, names=list(self._group_index.names),
                           pos_label=pos_label, n_rows=rows[present], pos_label_seen=seen)

    def bootstrap_group_counts(self, n_boot, random_state=None, *, pos_label=1,
                               sample_weight=None):
        """Confusion counts of every non-empty group in ``n_boot`` resamples of the rows.

        A resample draws ``n_samples`` rows with replacement. Unweighted, that is one
        multinomial draw of the cell counts of :meth:`group_counts` per resample (exact,
        no pass over the rows); weighted, the row indices are drawn in blocks and counted
        with one :func:`numpy.bincount` per block. These are the draws behind
        :func:`~fairkit.metrics.fairness_report`'s intervals and the frame's own ``*_ci``
        accessors for count-based metrics.

        Parameters
        ----------
        n_boot : int
            Number of resamples (positive).
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.
        pos_label : scalar, default=1
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of shape (n_boot, n_groups, 2, 2)
            Groups in the order of :meth:`group_counts`.
        """
        if not isinstance(n_boot, numbers.Integral) or isinstance(n_boot, bool) or n_boot < 1:
            raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}.")
        rng = check_random_state(random_state)
        w = self._checked_weight(sample_weight)
        C = self._counts(pos_label, w)
        present = self._present_cells()
        if w is None:
            return _bootstrap_counts_unweighted(C[present], int(n_boot), rng)
        cell = self._count_cache[self._count_key(pos_label, w)][1]
        n_cells = self._cells.n_cells
        if len(present) < n_cells:  # empty cells out: codes of the non-empty groups
            table = np.zeros(4 * n_cells, dtype=np.intp)
            table.reshape(n_cells, 4)[present] = (4 * np.arange(len(present))[:, None]
                                                  + np.arange(4))
            cell = table[cell]
        return _bootstrap_counts_weighted(cell, w, len(present), int(n_boot), rng)

    def _checked_weight(self, sample_weight):
        if sample_weight is None:
            return None
        w = np.asarray(to_pandas(sample_weight), dtype=float)
        if w.shape != (self._n,):
            raise ValueError(f"sample_weight has shape {w.shape} but y_true has "
                             f"{self._n} samples; they must have the same length.")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("sample_weight must be finite and non-negative.")
        return self._canonical_weight(w)

    def _present_cells(self):
        return np.flatnonzero(self._rows())

    # -- bootstrap ---------------------------------------------------------------------------
    def _bootstrap(self, n_boot, quantiles, rng):
        boot = {}
        for name in self._funcs:
            if name in self._count_based:
                boot[name] = self._bootstrap_counts(name, self._specs[name], n_boot, rng)
            else:
                boot[name] = None
        generic = [name for name in self._funcs if boot[name] is None]
        if generic:
            draws = {name: ([], []) for name in generic}
            for _ in range(n_boot):
                idx = rng.randint(0, self._n, size=self._n)
                cells = _Cells(self._cells.codes[idx], self._cells.n_cells)
                cf_cells = (None if self._cf_cells is None
                            else _Cells(self._cf_cells.codes[idx], self._n_cf))
                yt, yp = self._y_true[idx], self._y_pred[idx]
                for name in generic:
                    params = {k: v[idx] for k, v in self._params[name].items()}
                    b, o = self._from_calls(self._funcs[name], params, cells, cf_cells, yt, yp)
                    if b.dtype == object or o.dtype == object:
                        raise ValueError(f"metric {name!r} returns non-scalar values; the "
                                         "bootstrap needs scalar metrics.")
                    draws[name][0].append(b)
                    draws[name][1].append(o)
            for name in generic:
                boot[name] = (np.stack(draws[name][0]), np.stack(draws[name][1]))
        return {"quantiles": quantiles, "draws": boot}

    def _bootstrap_counts(self, name, spec, n_boot, rng):
        n_cells = self._cells.n_cells
        if spec["kind"] == "count":
            rows = _bootstrap_counts_unweighted(
                self._rows().astype(float).reshape(n_cells, 1, 1), n_boot, rng)[..., 0, 0]
            rows_cf = rows.reshape(n_boot, self._n_cf, self._n_sf).sum(axis=2)
            return np.where(rows > 0, rows, np.nan), rows_cf
        C = self._counts(spec["pos_label"], spec["weight"])
        if spec["weight"] is None:
            draws = _bootstrap_counts_unweighted(C, n_boot, rng)
            rows = draws.sum(axis=(-2, -1))
        else:
            key = next(k for k in self._count_cache
                       if _same_label(k[0], spec["pos_label"]) and k[1] == id(spec["weight"]))
            _, cell, w = self._count_cache[key][:3]
            draws = _bootstrap_counts_weighted(cell, w, n_cells, n_boot, rng)
            # a resampled cell whose rows all weigh 0 is undefined, like an empty one
            rows = np.where(draws.sum(axis=(-2, -1)) > 0, 1.0, 0.0)
        by_cell = self._values_from_counts(name, spec, draws, rows)
        C_cf = draws.reshape(n_boot, self._n_cf, self._n_sf, 2, 2).sum(axis=2)
        rows_cf = rows.reshape(n_boot, self._n_cf, self._n_sf).sum(axis=2)
        return by_cell, self._values_from_counts(name, spec, C_cf, rows_cf)

    def _check_bootstrap(self):
        if self._ci is None:
            raise ValueError("No bootstrap intervals: pass n_boot and ci_quantiles to "
                             "GroupMetricFrame to compute them.")

    def _ci_of(self, reducer):
        """Quantiles of ``reducer(by_cell (B, n_cf, n_sf), overall (B, n_cf))`` per metric,
        each shaped like the point accessor."""
        self._check_bootstrap()
        q = self._ci["quantiles"]
        per_metric = {}
        for name, (b, o) in self._ci["draws"].items():
            B = b.shape[0]
            values = reducer(b.reshape(B, self._n_cf, self._n_sf), o)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                per_metric[name] = np.nanquantile(values, q, axis=0)
        return per_metric

    @property
    def overall_ci(self):
        """Bootstrap quantiles of :attr:`overall`: a list, one entry per quantile."""
        per = self._ci_of(lambda b, o: o)
        return [self._shape_overall_like({k: v[i] for k, v in per.items()})
                for i in range(len(self._ci["quantiles"]))]

    @property
    def by_group_ci(self):
        """Bootstrap quantiles of :attr:`by_group`: a list, one entry per quantile."""
        per = self._ci_of(lambda b, o: b.reshape(b.shape[0], -1))
        out = []
        for i in range(len(self._ci["quantiles"])):
            frame = pd.DataFrame({k: v[i] for k, v in per.items()}, index=self._group_index)
            out.append(frame.iloc[:, 0] if self._single else frame)
        return out

    def group_min_ci(self):
        """Bootstrap quantiles of :meth:`group_min`: a list, one entry per quantile."""
        return self._reduced_ci("min", None)

    def group_max_ci(self):
        """Bootstrap quantiles of :meth:`group_max`: a list, one entry per quantile."""
        return self._reduced_ci("max", None)

    def difference_ci(self, method="between_groups"):
        """Bootstrap quantiles of :meth:`difference`: a list, one entry per quantile.

        Parameters
        ----------
        method : {"between_groups", "to_overall"}, default="between_groups"
        """
        return self._reduced_ci("difference", _check_method(method))

    def ratio_ci(self, method="between_groups"):
        """Bootstrap quantiles of :meth:`ratio`: a list, one entry per quantile.

        Parameters
        ----------
        method : {"between_groups", "to_overall"}, default="between_groups"
        """
        return self._reduced_ci("ratio", _check_method(method))

    def _reduced_ci(self, what, method):
        per = self._ci_of(lambda b, o: _reduce(b, o, what, method))
        return [self._shape_reduced({k: v[i] for k, v in per.items()})
                for i in range(len(self._ci["quantiles"]))]

    def _shape_overall_like(self, out):
        if self._cf_names is None:
            if self._single:
                return next(iter(out.values()))[0]
            return pd.Series({k: v[0] for k, v in out.items()}, dtype=float)
        frame = pd.DataFrame(out, index=self._cf_index)
        return frame.iloc[:, 0] if self._single else frame

    def __repr__(self):
        return (f"GroupMetricFrame(metrics={list(self._funcs)}, "
                f"sensitive_levels={self._sf_names}, control_levels={self._cf_names}, "
                f"n_groups={int((self._rows() > 0).sum())})")


def _reduce(values, overall, what, method):
    """Reduce group values (..., n_cf, n_sf) to (..., n_cf), skipping nan (fairlearn)."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan slices give nan
        lo, hi = np.nanmin(values, axis=-1), np.nanmax(values, axis=-1)
        if what == "min":
            return lo
        if what == "max":
            return hi
        if method == "between_groups":
            return hi - lo if what == "difference" else np.true_divide(lo, hi)
        if what == "difference":
            return np.nanmax(np.abs(values - overall[..., None]), axis=-1)
        r = np.true_divide(values, overall[..., None])
        r = np.where(r > 1, 1 / r, r)
        return np.nanmin(r, axis=-1)


def _coerce(values, name, errors):
    out = np.empty(len(values), dtype=float)
    for i, v in enumerate(values):
        if np.isscalar(v) and isinstance(v, (numbers.Real, np.bool_)):
            out[i] = float(v)
        elif errors == "raise":
            raise ValueError(f"metric {name!r} returns non-scalar values (e.g. "
                             f"{_param_repr(v)}); use errors='coerce' to treat them as nan.")
        else:
            out[i] = np.nan
    return out


def _check_errors(errors):
    if errors not in _ERRORS:
        raise ValueError(f"errors={_param_repr(errors)} is not valid; choose 'raise' or "
                         "'coerce'.")
    return errors


def _check_method(method):
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method={_param_repr(method)} is not a comparison method; choose "
                         "'between_groups' or 'to_overall'.")
    return method


def _item(value):
    return value.item() if isinstance(value, np.generic) else value


def _same_label(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, str) is not isinstance(b, str):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _fairkit_group_frame(y_true, y_pred, sensitive_features, *, param="sensitive_features",
                         min_groups=1):
    """The frame of ``sensitive_features`` under fairkit's group rules, for the group
    metrics' own callers (:func:`fairness_report`, ``fairkit audit``).

    The groups are the frame's (one cell per observed combination of levels, in sorted
    level order); what differs from a frame built by a user is only the input checking
    and naming of :func:`fairkit._protected.as_frame` (``sensitive_feature`` for an
    unnamed column, missing and infinite values refused with the row count), the refusal
    of continuous columns, categorical columns in category order, and ``min_groups``.
    ``y_true`` and ``y_pred`` are 1-D arrays already checked by the caller.
    """
    features = _Features(as_frame(sensitive_features, name=param, n_samples=len(y_true)),
                         param)
    if not len(y_true) and min_groups:
        raise ValueError(f"{param} has only 0 group(s) ([]); at least {min_groups} are "
                         "needed to compare groups.")
    frame = GroupMetricFrame(metrics={"n_rows": _count_metric}, y_true=y_true,
                             y_pred=y_pred, sensitive_features=features)
    n_groups = len(frame._present_cells())
    if n_groups < min_groups:
        labels = frame.group_counts().labels
        raise ValueError(f"{param} has only {n_groups} group(s) ({labels}); at least "
                         f"{min_groups} are needed to compare groups.")
    return frame
