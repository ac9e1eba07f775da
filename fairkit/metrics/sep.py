"""Socio-Economic Parity (SEP) and conditional SEP (CSEP).

SEP (Roy et al., 2025) asks that people who belong to an unprivileged protected group
*and* are socio-economically underprivileged receive the favourable outcome at least as
often as the population does. With ``G`` that subgroup (unprivileged protected value and an
SES attribute below its threshold),

.. math::

    \\Delta_{SEP} = P(\\hat y = 1) - P(\\hat y = 1 \\mid G).

Conditional SEP restricts both terms to people who show effort within their control
(``E``: an effort attribute at least its threshold, e.g. hours worked per week):

.. math::

    \\Delta_{CSEP} = P(\\hat y = 1 \\mid E) - P(\\hat y = 1 \\mid G, E).

A positive gap means the subgroup is under-served. The paper's code is not public: these
definitions (signed gap, population reference, ``<`` for SES and ``>=`` for effort) are
fairkit's reading of the paper, documented in ``shared/design/ALGORITHMS.md``.

The attributes can be given as arrays of values, as boolean masks, as callables applied to
``X``, or, when ``X`` is given, as column names / indices of ``X`` (which is how scorers in a
grid search use these functions).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd

from .._protected import MAX_GROUP_LEVELS, _param_repr, as_frame, encode_groups, privileged_mask
from ..utils._dataframe import to_pandas
from ..utils._docstring import Substitution

__all__ = [
    "socio_economic_parity_difference",
    "socio_economic_parity_ratio",
    "conditional_socio_economic_parity_difference",
    "conditional_socio_economic_parity_ratio",
    "socio_economic_parity_rates",
]


# --------------------------------------------------------------------------------------
# Building the boolean conditions (shared with fairkit.inprocessing._sep)
# --------------------------------------------------------------------------------------


def _is_column_key(spec) -> bool:
    return isinstance(spec, str) or (isinstance(spec, Integral) and not isinstance(spec, bool))


def _attribute_values(spec, *, X, n_samples, name):
    """Values of an attribute given as a column of ``X``, a callable of ``X`` or an array."""
    if callable(spec):
        if X is None:
            raise ValueError(f"{name} is a callable, which needs X; pass X=.")
        values = spec(X)
        where = f"{name}(X)"
    elif _is_column_key(spec):
        if X is None:
            raise ValueError(
                f"{name}={spec!r} names a column, but X was not given; pass X= or give the "
                "attribute's values."
            )
        values = _column(X, spec, name=name)
        where = f"column {spec!r} of X"
    else:
        values = spec
        where = name
    values = np.asarray(values)
    if values.ndim != 1:
        values = values.squeeze() if values.ndim == 2 and 1 in values.shape else values
    if values.ndim != 1:
        raise ValueError(f"{where} must be 1-D, got shape {values.shape}.")
    if n_samples is not None and len(values) != n_samples:
        raise ValueError(
            f"{where} has {len(values)} values but there are {n_samples} samples; they must "
            "have the same length."
        )
    if pd.isna(pd.Series(values)).any():
        raise ValueError(f"{where} contains missing values; SES and effort must be complete.")
    return values


def _column(X, key, *, name):
    X = to_pandas(X)  # a polars / pyarrow table: its columns by name, as pandas
    if isinstance(X, pd.DataFrame):
        if key in X.columns:
            return X[key].to_numpy()
        if isinstance(key, Integral) and not any(isinstance(c, Integral) for c in X.columns):
            if -X.shape[1] <= key < X.shape[1]:
                return X.iloc[:, key].to_numpy()
            raise ValueError(f"{name} index {key} is out of range for X with {X.shape[1]} columns.")
        raise ValueError(
            f"{name}={key!r} is not a column of X; available columns: "
            f"{_param_repr(list(X.columns), 200)}."
        )
    if isinstance(key, str):
        raise ValueError(
            f"{name}={key!r} names a column, but X is not a DataFrame; pass X as a pandas "
            "DataFrame or give an integer column index."
        )
    n_features = X.shape[1] if np.ndim(X) == 2 else 0
    if not -n_features <= key < n_features:
        raise ValueError(f"{name} index {key} is out of range for X with {n_features} columns.")
    if hasattr(X, "toarray"):
        return np.asarray(X[:, [key]].toarray()).ravel()
    return np.asarray(X)[:, key]


def _threshold_mask(values, threshold, *, name, threshold_name, below):
    """``values < threshold`` (below) or ``values >= threshold``; a boolean array as is."""
    if values.dtype == bool:
        if threshold is not None:
            raise ValueError(
                f"{name} is a boolean mask, so {threshold_name} must be None "
                f"(got {threshold_name}={threshold!r})."
            )
        return values
    if threshold is None:
        raise ValueError(
            f"{threshold_name} is required when {name} is not a boolean mask "
            f"(its values have dtype {values.dtype})."
        )
    if not isinstance(threshold, Real) or isinstance(threshold, bool) or np.isnan(threshold):
        raise ValueError(f"{threshold_name} must be a number, got {threshold!r}.")
    if not np.issubdtype(values.dtype, np.number):
        try:
            values = values.astype(float)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be numeric to compare with {threshold_name}={threshold!r}; "
                f"got values such as {_param_repr(values[:3].tolist())}. Pass a boolean mask "
                "instead."
            ) from None
    return values < threshold if below else values >= threshold


def condition_mask(spec, threshold, *, X=None, n_samples=None, name, threshold_name, below):
    """Boolean mask of an SES (``below=True``) or effort (``below=False``) condition."""
    values = _attribute_values(spec, X=X, n_samples=n_samples, name=name)
    return _threshold_mask(
        values, threshold, name=name, threshold_name=threshold_name, below=below
    ).astype(bool)


def unprivileged_mask(values: pd.DataFrame, *, priv_group=None, unpriv_group=None, name):
    """Boolean mask over samples of the unprivileged protected group(s).

    Exactly one of ``priv_group`` (every other group is unprivileged) and ``unpriv_group``
    is given; either is a group label, a list of labels, or a callable taking the protected
    values (1-D array for one attribute, DataFrame for several) and returning a mask.
    """
    if (priv_group is None) == (unpriv_group is None):
        raise ValueError(
            "Give exactly one of unpriv_group (the unprivileged value(s) of the protected "
            "attribute) and priv_group (the privileged value(s); every other value is "
            f"unprivileged); got priv_group={priv_group!r}, unpriv_group={unpriv_group!r}."
        )
    spec, param = (unpriv_group, "unpriv_group") if unpriv_group is not None else (
        priv_group,
        "priv_group",
    )
    if callable(spec):
        arg = values.iloc[:, 0].to_numpy() if values.shape[1] == 1 else values
        mask = np.asarray(spec(arg))
        if mask.dtype != bool or mask.shape != (len(values),):
            raise ValueError(
                f"{param} callable must return a boolean mask of shape ({len(values)},), got "
                f"dtype {mask.dtype} and shape {mask.shape}."
            )
    else:
        groups = encode_groups(values, name=name)
        try:
            group_mask = privileged_mask(groups, spec)
        except ValueError as err:
            raise ValueError(str(err).replace("priv_group=", f"{param}=", 1)) from None
        mask = group_mask[groups.codes]
    if unpriv_group is None:
        mask = ~mask
    if mask.all() or not mask.any():
        raise ValueError(
            f"{param}={_param_repr(spec)} makes {'every' if mask.all() else 'no'} sample "
            "unprivileged; there is nothing to compare."
        )
    return mask


def _weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({n},).")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    return w


def _outcome(y_true, y_pred, pos_label):
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 1:
        y_pred = y_pred.ravel() if y_pred.ndim == 2 and y_pred.shape[1] == 1 else y_pred
    if y_pred.ndim != 1:
        raise ValueError(f"y_pred must be 1-D, got shape {y_pred.shape}.")
    if y_true is not None and len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} values and y_pred {len(y_pred)}; they must match."
        )
    if pos_label is None:  # scores or probabilities: mean value instead of positive rate
        try:
            return y_pred.astype(float)
        except (TypeError, ValueError):
            raise ValueError(
                "pos_label=None means y_pred holds numeric scores, but y_pred is not numeric."
            ) from None
    seen = pd.unique(
        np.concatenate([np.asarray(y_true, dtype=object).ravel(), y_pred.astype(object)])
        if y_true is not None
        else y_pred.astype(object)
    )
    if len(seen) >= 2 and not any(_same(v, pos_label) for v in seen):
        raise ValueError(
            f"pos_label={pos_label!r} is not among the label values "
            f"({_param_repr(sorted(seen.tolist(), key=str), 120)})."
        )
    return (y_pred == pos_label).astype(float)


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _rate(outcome, weights, mask, *, what):
    total = weights[mask].sum()
    if not mask.any() or total <= 0:
        raise ValueError(f"No sample (with positive weight) is {what}; the rate is undefined.")
    return float(np.dot(outcome[mask], weights[mask]) / total)


def _sep_rates(
    y_true,
    y_pred,
    *,
    sensitive_features,
    ses,
    ses_threshold,
    effort,
    effort_threshold,
    priv_group,
    unpriv_group,
    X,
    pos_label,
    sample_weight,
    conditional,
):
    outcome = _outcome(y_true, y_pred, pos_label)
    n = len(outcome)
    weights = _weights(sample_weight, n)
    if sensitive_features is None:
        raise ValueError("sensitive_features is required (the protected attribute values).")
    keys = None
    if _is_column_key(sensitive_features):
        keys = [sensitive_features]
    elif (
        isinstance(to_pandas(X), pd.DataFrame)
        and isinstance(sensitive_features, list)
        and 0 < len(sensitive_features) < n
        and all(isinstance(k, str) and k in X.columns for k in sensitive_features)
    ):
        keys = sensitive_features
    if keys is not None:
        if X is None:
            raise ValueError(
                f"sensitive_features={sensitive_features!r} names a column, but X was not given."
            )
        sf = pd.DataFrame({str(k): _column(X, k, name="sensitive_features") for k in keys})
    else:
        sf = sensitive_features
    values = as_frame(sf, name="sensitive_features", n_samples=n)
    unpriv = unprivileged_mask(
        values, priv_group=priv_group, unpriv_group=unpriv_group, name="sensitive_features"
    )
    low_ses = condition_mask(
        ses, ses_threshold, X=X, n_samples=n, name="ses", threshold_name="ses_threshold",
        below=True,
    )
    group = unpriv & low_ses
    reference = np.ones(n, dtype=bool)
    condition = ""
    if conditional:
        if effort is None:
            raise ValueError("effort is required for the conditional SEP metrics.")
        reference = condition_mask(
            effort, effort_threshold, X=X, n_samples=n, name="effort",
            threshold_name="effort_threshold", below=False,
        )
        condition = " and has effort at or above effort_threshold"
    ref_rate = _rate(outcome, weights, reference, what="in the reference population" + condition)
    group_rate = _rate(
        outcome, weights, group & reference,
        what="unprivileged with SES below ses_threshold" + condition,
    )
    return ref_rate, group_rate


_DOC_PARAMS = """\
Parameters
----------
y_true : array-like of shape (n_samples,) or None
    Ignored except for checking ``pos_label``; accepted so the function works as a
    scikit-learn scorer metric.
y_pred : array-like of shape (n_samples,)
    Predicted labels (or scores when ``pos_label=None``).
sensitive_features : array-like, DataFrame, or column name(s) of ``X``
    Protected attribute(s).
ses : array-like, boolean mask, callable or column of ``X``
    Socio-economic status attribute. Numeric values are compared with ``ses_threshold``
    (``ses < ses_threshold`` is underprivileged); a boolean mask marks the
    underprivileged directly; a callable is applied to ``X`` and must return either.
ses_threshold : float, optional
    Required unless ``ses`` is a boolean mask.
unpriv_group, priv_group : label, list of labels or callable
    Give exactly one: the unprivileged value(s) of the protected attribute, or the
    privileged value(s) (every other value is then unprivileged). A callable receives
    the protected values and returns a boolean mask of the unprivileged.
X : DataFrame or array, optional
    Data to read column names / indices or callables from.
pos_label : label or None, default=1
    Favourable label. None means ``y_pred`` holds numeric scores and the mean score
    replaces the positive rate.
sample_weight : array-like of shape (n_samples,), optional
    Weights of the rates."""

_DOC_EFFORT = """\
effort : array-like, boolean mask, callable or column of ``X``
    Effort attribute; ``effort >= effort_threshold`` (or the mask) marks high effort.
effort_threshold : float, optional
    Required unless ``effort`` is a boolean mask."""


def socio_economic_parity_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    ses,
    ses_threshold=None,
    unpriv_group=None,
    priv_group=None,
    X=None,
    pos_label=1,
    sample_weight=None,
):
    r"""Socio-economic parity gap: overall positive rate minus that of the SES-underprivileged
    unprivileged group.

    .. math::

        \Delta_{SEP} = P(\hat y = 1) - P(\hat y = 1 \mid s \in U,\ x_p < \tau_p)

    0 is parity; a positive value means the subgroup receives the favourable outcome less
    often than the population. When the SES condition selects the whole unprivileged group
    this is :math:`P(s \notin U)` times the demographic parity difference
    :math:`P(\hat y=1 \mid s \notin U) - P(\hat y=1 \mid s \in U)`.
    {params}

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Mismatched lengths, missing values, a group that does not occur, both or neither of
        ``priv_group`` / ``unpriv_group``, a missing threshold, or an empty subgroup.

    See Also
    --------
    conditional_socio_economic_parity_difference, socio_economic_parity_rates

    References
    ----------
    .. [1] A. Roy, A. Rizou, S. Papadopoulos, E. Ntoutsi, "Achieving Socio-Economic Parity
       through the Lens of EU AI Act", arXiv:2503.23056, 2025.

    Examples
    --------
    >>> from fairkit.metrics import socio_economic_parity_difference
    >>> y_pred = [1, 1, 0, 1, 0, 0]
    >>> sex = ["M", "M", "M", "F", "F", "F"]
    >>> education = [9, 13, 12, 14, 8, 9]
    >>> socio_economic_parity_difference(
    ...     None, y_pred, sensitive_features=sex, ses=education, ses_threshold=10,
    ...     unpriv_group="F")
    0.5
    """
    ref, group = _sep_rates(
        y_true, y_pred, sensitive_features=sensitive_features, ses=ses,
        ses_threshold=ses_threshold, effort=None, effort_threshold=None,
        priv_group=priv_group, unpriv_group=unpriv_group, X=X, pos_label=pos_label,
        sample_weight=sample_weight, conditional=False,
    )
    return ref - group


def socio_economic_parity_ratio(
    y_true,
    y_pred,
    *,
    sensitive_features,
    ses,
    ses_threshold=None,
    unpriv_group=None,
    priv_group=None,
    X=None,
    pos_label=1,
    sample_weight=None,
):
    r"""Socio-economic parity ratio: positive rate of the SES-underprivileged unprivileged
    group divided by the overall positive rate.

    .. math::

        \frac{P(\hat y = 1 \mid s \in U,\ x_p < \tau_p)}{P(\hat y = 1)}

    1 is parity, below 1 the subgroup is under-served. When no one receives the
    favourable outcome both rates are 0 and the ratio is defined as 1.
    {params}

    Returns
    -------
    float

    See Also
    --------
    socio_economic_parity_difference
    """
    ref, group = _sep_rates(
        y_true, y_pred, sensitive_features=sensitive_features, ses=ses,
        ses_threshold=ses_threshold, effort=None, effort_threshold=None,
        priv_group=priv_group, unpriv_group=unpriv_group, X=X, pos_label=pos_label,
        sample_weight=sample_weight, conditional=False,
    )
    return _ratio(group, ref)


def _ratio(group, ref):
    if ref == 0:
        return 1.0 if group == 0 else float("inf")
    return group / ref


def conditional_socio_economic_parity_difference(
    y_true,
    y_pred,
    *,
    sensitive_features,
    ses,
    effort,
    ses_threshold=None,
    effort_threshold=None,
    unpriv_group=None,
    priv_group=None,
    X=None,
    pos_label=1,
    sample_weight=None,
):
    r"""Conditional socio-economic parity gap (CSEP): the SEP gap among high-effort people.

    .. math::

        \Delta_{CSEP} = P(\hat y = 1 \mid x_e \ge \tau_e)
            - P(\hat y = 1 \mid s \in U,\ x_p < \tau_p,\ x_e \ge \tau_e)

    with :math:`x_e` an effort attribute within the person's control (on Adult, hours
    worked per week). Positive: underprivileged high-effort people are under-served.
    {params}
    {effort}

    Returns
    -------
    float

    See Also
    --------
    socio_economic_parity_difference, socio_economic_parity_rates

    References
    ----------
    .. [1] A. Roy, A. Rizou, S. Papadopoulos, E. Ntoutsi, "Achieving Socio-Economic Parity
       through the Lens of EU AI Act", arXiv:2503.23056, 2025.

    Examples
    --------
    >>> from fairkit.metrics import conditional_socio_economic_parity_difference
    >>> conditional_socio_economic_parity_difference(
    ...     None, [1, 1, 0, 1, 1, 0], sensitive_features=["M", "M", "M", "F", "F", "F"],
    ...     ses=[9, 13, 12, 14, 8, 9], ses_threshold=10,
    ...     effort=[40, 45, 20, 50, 30, 60], effort_threshold=40, unpriv_group="F")
    0.75
    """
    ref, group = _sep_rates(
        y_true, y_pred, sensitive_features=sensitive_features, ses=ses,
        ses_threshold=ses_threshold, effort=effort, effort_threshold=effort_threshold,
        priv_group=priv_group, unpriv_group=unpriv_group, X=X, pos_label=pos_label,
        sample_weight=sample_weight, conditional=True,
    )
    return ref - group


def conditional_socio_economic_parity_ratio(
    y_true,
    y_pred,
    *,
    sensitive_features,
    ses,
    effort,
    ses_threshold=None,
    effort_threshold=None,
    unpriv_group=None,
    priv_group=None,
    X=None,
    pos_label=1,
    sample_weight=None,
):
    r"""Conditional socio-economic parity ratio: the SEP ratio among high-effort people.

    .. math::

        \frac{P(\hat y = 1 \mid s \in U,\ x_p < \tau_p,\ x_e \ge \tau_e)}
             {P(\hat y = 1 \mid x_e \ge \tau_e)}
    {params}
    {effort}

    Returns
    -------
    float

    See Also
    --------
    conditional_socio_economic_parity_difference
    """
    ref, group = _sep_rates(
        y_true, y_pred, sensitive_features=sensitive_features, ses=ses,
        ses_threshold=ses_threshold, effort=effort, effort_threshold=effort_threshold,
        priv_group=priv_group, unpriv_group=unpriv_group, X=X, pos_label=pos_label,
        sample_weight=sample_weight, conditional=True,
    )
    return _ratio(group, ref)


_sep_docstring = Substitution(params=_DOC_PARAMS, effort=_DOC_EFFORT)
for _f in (socio_economic_parity_difference, socio_economic_parity_ratio,
           conditional_socio_economic_parity_difference, conditional_socio_economic_parity_ratio):
    _sep_docstring(_f)


# --------------------------------------------------------------------------------------
# Per-subgroup rates over several SES levels
# --------------------------------------------------------------------------------------


def _ses_levels(values, ses_threshold):
    """Codes and labels of SES levels: cut points, a boolean mask, or discrete values."""
    if values.dtype == bool:
        if ses_threshold is not None:
            raise ValueError("ses is a boolean mask, so ses_threshold must be None.")
        return np.where(values, 0, 1), ["low SES", "not low SES"]
    if ses_threshold is None:
        codes, uniques = pd.factorize(pd.Series(values), sort=True)
        if len(uniques) > MAX_GROUP_LEVELS:
            raise ValueError(
                f"ses has {len(uniques)} distinct values and no ses_threshold; give cut "
                "points in ses_threshold to form SES levels."
            )
        return codes, [str(u) for u in uniques]
    cuts = np.atleast_1d(np.asarray(ses_threshold, dtype=float))
    if cuts.ndim != 1 or np.isnan(cuts).any() or np.any(np.diff(cuts) <= 0):
        raise ValueError(
            f"ses_threshold must be a number or strictly increasing cut points, got "
            f"{ses_threshold!r}."
        )
    try:
        numeric = values.astype(float)
    except (TypeError, ValueError):
        raise ValueError("ses must be numeric to be cut at ses_threshold.") from None
    codes = np.searchsorted(cuts, numeric, side="right")
    labels = [f"ses < {cuts[0]:g}"]
    labels += [f"{lo:g} <= ses < {hi:g}" for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    labels += [f"ses >= {cuts[-1]:g}"]
    return codes, labels


def socio_economic_parity_rates(
    y_true,
    y_pred,
    *,
    sensitive_features,
    ses,
    ses_threshold=None,
    effort=None,
    effort_threshold=None,
    X=None,
    pos_label=1,
    sample_weight=None,
):
    r"""Positive rate of every (protected group, SES level) subgroup and its gap to the
    population.

    The disaggregated view behind SEP: one row per protected group and SES level present,
    with the subgroup's positive rate, the reference rate (the whole population, or the
    high-effort population when ``effort`` is given, as in CSEP), their difference
    ``reference_rate - positive_rate`` (the SEP / CSEP gap of that subgroup) and ratio.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or None
        Ignored except for checking ``pos_label``.
    y_pred : array-like of shape (n_samples,)
        Predicted labels (or scores when ``pos_label=None``).
    sensitive_features : array-like or DataFrame
        Protected attribute(s); several attributes give intersectional groups.
    ses : array-like, boolean mask, callable or column of ``X``
        SES attribute.
    ses_threshold : float or sequence of float, optional
        One threshold gives two levels (``ses < t`` and ``ses >= t``); increasing cut points
        ``t_1 < ... < t_k`` give ``k + 1`` levels. None: a boolean ``ses`` gives the levels
        "low SES" / "not low SES", a discrete ``ses`` one level per value.
    effort, effort_threshold : optional
        When given, every rate is computed among people with ``effort >= effort_threshold``.
    X, pos_label, sample_weight
        As in :func:`socio_economic_parity_difference`.

    Returns
    -------
    DataFrame
        Indexed by (protected group, SES level), columns ``count`` (samples), ``weight``
        (sum of weights), ``positive_rate``, ``reference_rate``, ``difference``, ``ratio``.

    Examples
    --------
    >>> from fairkit.metrics import socio_economic_parity_rates
    >>> rates = socio_economic_parity_rates(
    ...     None, [1, 1, 0, 1, 0, 0], sensitive_features=["M", "M", "M", "F", "F", "F"],
    ...     ses=[9, 13, 12, 14, 8, 9], ses_threshold=[10, 13])
    >>> rates["positive_rate"].round(3).tolist()
    [0.0, 1.0, 1.0, 0.0, 1.0]
    """
    outcome = _outcome(y_true, y_pred, pos_label)
    n = len(outcome)
    weights = _weights(sample_weight, n)
    groups = encode_groups(sensitive_features, n_samples=n, name="sensitive_features")
    values = _attribute_values(ses, X=X, n_samples=n, name="ses")
    level_codes, level_labels = _ses_levels(values, ses_threshold)
    keep = np.ones(n, dtype=bool)
    if effort is not None:
        keep = condition_mask(
            effort, effort_threshold, X=X, n_samples=n, name="effort",
            threshold_name="effort_threshold", below=False,
        )
    elif effort_threshold is not None:
        raise ValueError("effort_threshold was given without effort.")
    reference = _rate(outcome, weights, keep, what="in the reference population")
    n_levels = len(level_labels)
    cell = groups.codes * n_levels + level_codes
    size = groups.n_groups * n_levels
    k, o, wk = cell[keep], outcome[keep], weights[keep]
    count = np.bincount(k, minlength=size)
    weight = np.bincount(k, weights=wk, minlength=size)
    positive = np.bincount(k, weights=wk * o, minlength=size)
    rows = []
    for g, glabel in enumerate(groups.labels):
        for level, llabel in enumerate(level_labels):
            c = g * n_levels + level
            if count[c] == 0:
                continue
            rate = positive[c] / weight[c] if weight[c] > 0 else np.nan
            rows.append(
                (glabel, llabel, int(count[c]), weight[c], rate, reference, reference - rate,
                 _ratio(rate, reference) if weight[c] > 0 else np.nan)
            )
    name = groups.names[0] if len(groups.names) == 1 else "group"
    frame = pd.DataFrame(
        rows,
        columns=[name, "ses_level", "count", "weight", "positive_rate", "reference_rate",
                 "difference", "ratio"],
    )
    return frame.set_index([name, "ses_level"])
