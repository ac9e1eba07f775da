"""Group rates when the protected attribute is missing for some rows.

Loan files record race or sex only where the applicant gave it (HMDA's "not provided");
a vendor's data may record it for nobody. :func:`inferred_group_rates` estimates each
group's rates and the gap between groups from *membership probabilities*
:math:`p_{ia} = \\Pr(A_i = a \\mid x_i)` -- given as a matrix (e.g. BISG, Bayesian
Improved Surname Geocoding), read from a fitted classifier, or fitted here on the rows whose
attribute is known, cross-fitted -- and states how far those estimates can be trusted: the
group model's quality on the known rows, bootstrap intervals and, optionally, bounds that do
not assume the outcome is independent of the group given the proxy features.

Every estimator is a table of *soft* confusion counts: a row adds ``w_i * m_ia`` to group
``a``'s cell ``[y_true == pos_label, y_pred == pos_label]``, with ``m_ia`` the row's
membership of ``a`` under that estimator (one-hot for a known attribute, ``p_ia`` for an
inferred one). The tables are :class:`~fairkit.metrics.GroupCounts`, so every group metric
of fairkit reads them (``result.counts["weighted"].equalized_odds_difference()``).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from .._groups import check_discrete, column_values, factorize, scalar, user_stacklevel
from .._protected import GroupEncoding, _param_repr, privileged_mask
from ..utils._dataframe import to_pandas
from ..utils._docstring import fair_docstring
from ._labels import check_label_predictions
from .streaming import (
    RATE_NAMES,
    GroupCounts,
    _as_1d,
    _check_weight,
    _compare,
    _divide,
    _is_pos,
    _pool,
    group_rate,
    resolve_method,
)

__all__ = ["inferred_group_rates", "InferredGroupRates"]

#: The estimators, in the order of the result's tables.
ESTIMATORS = ("observed", "weighted", "combined", "missing", "threshold")
#: Rates whose denominator is every row of the group (so the bounds below apply).
_BOUNDED_RATES = {"selection_rate": "pred", "base_rate": "true"}
#: Row sums of a membership matrix may differ from 1 by this much (float rounding).
_SUM_TOL = 1e-6
#: Below these the group model is called near-uninformative (a warning is raised).
_MIN_AUC, _MIN_PSEUDO_R2 = 0.6, 0.02
_BLOCK = 4_000_000  # entries of one block of bootstrap row counts


@dataclass
class InferredGroupRates:
    """What :func:`inferred_group_rates` returns.

    Attributes
    ----------
    rates : DataFrame
        One row per (estimator, group): ``membership`` (the group's total weight under the
        estimator, :math:`\\sum_i w_i m_{ia}`) and, per rate, its estimate and bootstrap
        interval (``<rate>``, ``<rate>_low``, ``<rate>_high``), plus the identification
        bounds ``<rate>_bound_low`` / ``<rate>_bound_high`` when ``bounds=True``.
    gaps : DataFrame
        One row per estimator: per rate the gap ``<rate>_difference`` (by ``method`` /
        ``priv_group``), its interval ``_low`` / ``_high`` and, with ``bounds=True``, the
        bounds ``_bound_low`` / ``_bound_high`` and the interval covering them
        (``_bound_ci_low`` / ``_bound_ci_high``).
    counts : dict of str -> GroupCounts
        The soft confusion counts of each estimator.
    groups : list
        Group labels, in the column order of ``membership``.
    membership : ndarray of shape (n_samples, n_groups)
        The probabilities used, :math:`\\Pr(A = a \\mid x)` for every row.
    missing_mask : ndarray of shape (n_samples,)
        True where the attribute is missing.
    group_model : dict
        Where ``membership`` came from (``source``) and its quality on the rows whose
        attribute is known: ``log_loss``, ``baseline_log_loss`` (predicting the groups'
        shares), ``pseudo_r2`` (:math:`1 - \\text{log\\_loss} / \\text{baseline}`),
        ``auc`` (mean one-vs-rest ROC AUC), ``calibration`` (mean probability vs share of
        each group), ``n_observed``, ``n_missing``, ``informative``.
    confidence : float
    n_boot : int
    """

    rates: pd.DataFrame
    gaps: pd.DataFrame
    counts: dict
    groups: list
    membership: np.ndarray = field(repr=False)
    missing_mask: np.ndarray = field(repr=False)
    group_model: dict = field(default_factory=dict)
    confidence: float = 0.95
    n_boot: int = 0

    def __repr__(self):
        q = self.group_model
        return (f"InferredGroupRates(groups={self.groups}, n_observed={q.get('n_observed')}, "
                f"n_missing={q.get('n_missing')}, source={q.get('source')!r}, "
                f"auc={q.get('auc', np.nan):.3f})\n{self.gaps.to_string()}")


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _attribute(sensitive_features, n, missing):
    """(series, missing mask) of the 1-D attribute; ``missing`` labels checked."""
    sf = to_pandas(sensitive_features)
    if isinstance(sf, pd.DataFrame):
        if sf.shape[1] != 1:
            raise ValueError(
                f"sensitive_features must be one column, got {sf.shape[1]} columns "
                f"({_param_repr(list(sf.columns))}); combine intersectional attributes "
                "into one column of labels first.")
        sf = sf.iloc[:, 0]
    if not isinstance(sf, pd.Series):
        arr = np.asarray(sf)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"sensitive_features must be 1-D, got an array of shape "
                             f"{arr.shape}.")
        sf = pd.Series(arr, name="sensitive_feature", dtype=arr.dtype if arr.dtype.kind != "U"
                       else object)
    sf = sf.reset_index(drop=True)
    if sf.name is None:
        sf = sf.rename("sensitive_feature")
    if len(sf) != n:
        raise ValueError(f"sensitive_features has {len(sf)} rows but y_pred has {n} samples; "
                         "they must have the same length.")
    mask = np.array(sf.isna().to_numpy(), dtype=bool)
    labels = [] if missing is None else (list(missing) if isinstance(missing, (list, tuple,
                                                                                  set))
                                         else [missing])
    categories = (list(sf.cat.categories) if isinstance(sf.dtype, pd.CategoricalDtype)
                  else [])
    present = pd.unique(sf[~mask].astype(object)) if (~mask).any() else []
    for label in labels:
        hit = np.asarray(sf.astype(object) == label, dtype=bool) if len(sf) else \
            np.zeros(0, bool)
        if not hit.any() and not any(_same(label, c) for c in categories):
            raise ValueError(
                f"missing={_param_repr(label)} does not occur in sensitive_features "
                f"(values: {_param_repr(sorted(map(str, present)), 160)}); pass the label "
                "that marks a missing attribute, e.g. missing='Not provided', or None.")
        mask |= hit
    return sf, mask


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _encode_observed(sf, mask):
    """Codes (-1 where missing) and labels of the observed attribute values."""
    codes = np.full(len(sf), -1, dtype=np.intp)
    if not (~mask).any():
        return codes, []
    observed = sf[~mask]
    if isinstance(observed.dtype, pd.CategoricalDtype):
        observed = observed.cat.remove_unused_categories()
    c, levels = factorize(column_values(observed))
    check_discrete("sensitive_features", sf.name, observed, len(levels))
    codes[~mask] = c
    return codes, [scalar(v) for v in levels]


def _match_columns(columns, observed_labels, where):
    """Map observed labels onto membership columns; raise naming a label with no column."""
    index = []
    for lab in observed_labels:
        hit = [j for j, c in enumerate(columns) if _same(c, lab) or str(c) == str(lab)]
        if not hit:
            raise ValueError(
                f"{where} has no column for the group {lab!r} of sensitive_features "
                f"(columns: {_param_repr(list(columns), 160)}).")
        index.append(hit[0])
    return np.asarray(index, dtype=np.intp)


def _check_membership_matrix(P, n, n_cols=None):
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != n or (n_cols is not None and P.shape[1] != n_cols):
        want = f"({n}, {n_cols})" if n_cols is not None else f"({n}, n_groups)"
        raise ValueError(f"membership must have shape {want}, got {P.shape}.")
    if not np.isfinite(P).all():
        i = int(np.argwhere(~np.isfinite(P))[0][0])
        raise ValueError(f"membership contains non-finite values (row {i}: {P[i]}).")
    if (P < 0).any():
        i, j = np.argwhere(P < 0)[0]
        raise ValueError(f"membership must be non-negative probabilities; row {i}, column "
                         f"{j} is {P[i, j]:.6g}.")
    sums = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1) > _SUM_TOL)
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"membership rows must sum to 1 (probabilities over the groups); {len(bad)} "
            f"row(s) do not, e.g. row {i} sums to {sums[i]:.6g}. If a column is missing "
            "(e.g. 'other'), add it, or renormalise the rows.")
    return P


# ------------------------------------------------------------------------------------------
# The group model
# ------------------------------------------------------------------------------------------


def default_group_model():
    """The ``membership="auto"`` model: multinomial logistic regression on numeric columns
    (median-imputed with missing indicators, standardised) and one-hot encoded
    non-numeric columns. Logistic regression is chosen for its probabilities, which are
    close to calibrated, not for its accuracy; the weighted estimator needs the former."""
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                          keep_empty_features=True), StandardScaler())
    other = OneHotEncoder(handle_unknown="ignore")
    columns = ColumnTransformer(
        [("numeric", numeric, make_column_selector(dtype_include="number")),
         ("other", other, make_column_selector(dtype_exclude="number"))],
        sparse_threshold=0,
    )
    return make_pipeline(columns, LogisticRegression(max_iter=2000))


def _as_model_input(X, n, frame=True):
    """``X`` checked for length; an array becomes a DataFrame only when ``frame`` (the
    models built here select columns by dtype), a user's model gets it as given."""
    if X is None:
        raise ValueError("membership='auto' or a classifier needs X, the features the "
                         "group model reads (e.g. geography, surname scores).")
    X = to_pandas(X)
    if isinstance(X, pd.DataFrame):
        if len(X) != n:
            raise ValueError(f"X has {len(X)} rows but y_pred has {n} samples; they must "
                             "have the same length.")
        return X.reset_index(drop=True)
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D, got an array of shape {arr.shape}.")
    if len(arr) != n:
        raise ValueError(f"X has {len(arr)} rows but y_pred has {n} samples; they must have "
                         "the same length.")
    if not frame:
        return arr
    return pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])])


def _take(X, rows):
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def _fit(model, X, y, w):
    if w is None:
        return model.fit(X, y)
    last = model.steps[-1][0] if hasattr(model, "steps") else None
    if last is not None and has_fit_parameter(model.steps[-1][1], "sample_weight"):
        return model.fit(X, y, **{f"{last}__sample_weight": w})
    if last is None and has_fit_parameter(model, "sample_weight"):
        return model.fit(X, y, sample_weight=w)
    warnings.warn(f"group model {type(model).__name__} does not take sample_weight; it is "
                  "fitted unweighted (the rates themselves are weighted).", UserWarning,
                  stacklevel=user_stacklevel())
    return model.fit(X, y)


def _cross_fit(model, X, codes, mask, w, cv, rng, n_labels):
    """Out-of-fold probabilities on the observed rows; the missing rows are scored by a
    model fitted on every observed row. Returns (P (n, n_labels), model fitted on all)."""
    obs = np.flatnonzero(~mask)
    y = codes[obs]
    sizes = np.bincount(y, minlength=n_labels)
    if sizes.min() < cv:
        raise ValueError(
            f"cv={cv} folds need at least {cv} observed rows per group, but a group has "
            f"{int(sizes.min())}; lower cv or pass membership probabilities.")
    P = np.zeros((len(codes), n_labels))
    folds = StratifiedKFold(n_splits=cv, shuffle=True,
                            random_state=rng.randint(np.iinfo(np.int32).max))
    for train, test in folds.split(np.zeros(len(obs)), y):
        m = _fit(clone(model), _take(X, obs[train]), y[train],
                 None if w is None else w[obs[train]])
        P[obs[test]] = _aligned(m, _take(X, obs[test]), n_labels)
    full = _fit(clone(model), _take(X, obs), y, None if w is None else w[obs])
    if mask.any():
        P[mask] = _aligned(full, _take(X, np.flatnonzero(mask)), n_labels)
    return P, full


def _aligned(model, X, n_labels):
    P = np.zeros((len(X), n_labels))
    raw = np.asarray(model.predict_proba(X), dtype=float)
    P[:, np.asarray(model.classes_, dtype=np.intp)] = raw
    return P


def _quality(P, codes, mask, w, labels):
    """Log-loss, pseudo-R^2, AUC and calibration of P on the observed rows."""
    from sklearn.metrics import roc_auc_score

    obs = ~mask
    out = {"n_observed": int(obs.sum()), "n_missing": int(mask.sum())}
    nan = float("nan")
    out.update(log_loss=nan, baseline_log_loss=nan, pseudo_r2=nan, auc=nan,
               calibration=None, informative=None)
    y = codes[obs]
    present = np.unique(y)
    if len(present) < 2:
        return out
    Po = P[obs]
    wo = np.ones(len(y)) if w is None else w[obs]
    if wo.sum() <= 0:
        return out
    ll = -np.average(np.log(np.clip(Po[np.arange(len(y)), y], 1e-15, None)), weights=wo)
    share = np.bincount(y, weights=wo, minlength=P.shape[1]) / wo.sum()
    ll0 = -np.average(np.log(np.clip(share[y], 1e-15, None)), weights=wo)
    aucs = [roc_auc_score(y == a, Po[:, a], sample_weight=wo) for a in present]
    out.update(log_loss=float(ll), baseline_log_loss=float(ll0),
               pseudo_r2=float(1 - ll / ll0) if ll0 > 0 else nan, auc=float(np.mean(aucs)))
    out["calibration"] = pd.DataFrame(
        {"mean_probability": np.average(Po, axis=0, weights=wo), "observed_share": share},
        index=pd.Index(labels, name="group"))
    out["informative"] = bool(out["auc"] >= _MIN_AUC and out["pseudo_r2"] >= _MIN_PSEUDO_R2)
    return out


# ------------------------------------------------------------------------------------------
# Counting and bounds
# ------------------------------------------------------------------------------------------


def _weights(estimator, P, codes, mask):
    """Membership m_ia of every row under ``estimator``: (n, G)."""
    n, G = P.shape
    onehot = np.zeros((n, G))
    obs = np.flatnonzero(~mask)
    onehot[obs, codes[obs]] = 1.0
    if estimator == "observed":
        return onehot
    if estimator == "weighted":
        return P
    if estimator == "combined":
        return np.where(mask[:, None], P, onehot)
    if estimator == "missing":
        return np.where(mask[:, None], P, 0.0)
    hard = np.zeros((n, G))
    hard[np.arange(n), P.argmax(axis=1)] = 1.0
    return hard


def _bootstrap_row_counts(n, n_boot, rng):
    """Blocks of (b, n) row multiplicities of resamples of n rows with replacement."""
    step = max(1, _BLOCK // max(n, 1))
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        idx = rng.randint(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)


def _soft_counts(K, W, cell):
    """(B, E*G, 4) counts: rows of K (B, n) times the weights W (n, E*G) per cell."""
    out = np.zeros((K.shape[0], W.shape[1], 4))
    for c in range(4):
        rows = cell == c
        if rows.any():
            out[:, :, c] = K[:, rows] @ W[rows]
    return out


def _gap(C, rate, method, priv):
    """Gap of ``rate`` over the groups of counts C (..., G, 2, 2)."""
    if method == "privileged":
        return _compare(group_rate(_pool(C, priv), rate), "difference", method, np.nan)
    values = group_rate(C, rate)
    overall = group_rate(C.sum(axis=-3), rate) if method == "to_overall" else None
    return _compare(values, "difference", method, np.nan, overall)


def _rate_bounds(Kw, P, q, event, rows_bounded, M):
    """Bounds (L, U), each (B, G), on every group's rate of ``event`` given row weights
    Kw (B, n), membership P (n, G), q = Pr(event | x) (n,) and the rows' known membership
    M (n, G) off ``rows_bounded``.

    On a bounded row the membership given the realised event is unknown: by Bayes and the
    Frechet bounds on Pr(A = a, event | x),
    Pr(A = a | x, event) lies in [max(0, p + q - 1) / q, min(p, q) / q] and
    Pr(A = a | x, no event) in [max(0, p - q) / (1 - q), min(p, 1 - q) / (1 - q)]
    (both contain p). The rate N1 / (N1 + N0) rises with the event mass N1 and falls with
    the other mass N0, so its extremes pair the extremes of N1 and N0."""
    q = np.clip(q, 1e-9, 1 - 1e-9)[:, None]
    b = rows_bounded[:, None]
    lo1 = np.where(b, np.maximum(0.0, P + q - 1) / q, M)
    hi1 = np.where(b, np.minimum(P, q) / q, M)
    lo0 = np.where(b, np.maximum(0.0, P - q) / (1 - q), M)
    hi0 = np.where(b, np.minimum(P, 1 - q) / (1 - q), M)
    e = event.astype(float)[:, None]
    n1_lo, n1_hi = Kw @ (e * lo1), Kw @ (e * hi1)
    n0_lo, n0_hi = Kw @ ((1 - e) * lo0), Kw @ ((1 - e) * hi0)
    return _divide(n1_lo, n1_lo + n0_hi, np.nan), _divide(n1_hi, n1_hi + n0_lo, np.nan)


def _gap_bounds(L, U, overall, method, priv):
    """Outer bounds on the gap given per-group rate bounds (..., G): every group's rate
    lies in its own interval, so max - min lies in [max(0, max L_a - U_b), max U_a - L_b]
    (valid, not always sharp)."""
    if method == "privileged":
        raise AssertionError  # handled by pooling before the call
    G = L.shape[-1]
    if method == "between_groups":
        diff_hi = U[..., :, None] - L[..., None, :]
        diff_lo = L[..., :, None] - U[..., None, :]
        off = ~np.eye(G, dtype=bool)
        hi = np.where(off, diff_hi, -np.inf).max(axis=(-2, -1))
        lo = np.maximum(0.0, np.where(off, diff_lo, -np.inf).max(axis=(-2, -1)))
        return lo, hi
    o = overall[..., None]
    hi = np.maximum(U - o, o - L).max(axis=-1)
    lo = np.maximum(0.0, np.maximum(L - o, o - U)).max(axis=-1)
    return lo, hi


def _features(X):
    """The numeric matrix of :func:`default_group_model`'s preprocessing, fitted on every
    row: it never sees the attribute or the outcome, so fitting it once (instead of per
    fold or resample) leaks nothing and only the logistic regression is refitted."""
    return np.asarray(default_group_model()[0].fit_transform(X), dtype=float)


def _outcome_model(X, event, w, cv, rng):
    """Cross-fitted Pr(event | x) on every row (logistic regression, as the group model)."""
    q = np.zeros(len(event))
    if event.all() or not event.any():
        return event.astype(float)
    k = int(min(cv, np.bincount(event.astype(int)).min()))
    if k < 2:
        return event.astype(float)
    folds = StratifiedKFold(n_splits=k, shuffle=True,
                            random_state=rng.randint(np.iinfo(np.int32).max))
    for train, test in folds.split(np.zeros(len(event)), event):
        m = _fit(clone(default_group_model()[-1]), _take(X, train), event[train],
                 None if w is None else w[train])
        q[test] = m.predict_proba(_take(X, test))[:, list(m.classes_).index(True)]
    return q


# ------------------------------------------------------------------------------------------
# The function
# ------------------------------------------------------------------------------------------


def _check_params(estimators, rates, n_boot, confidence, cv, y_true):
    if isinstance(estimators, str):
        estimators = (estimators,)
    estimators = tuple(estimators)
    for e in estimators:
        if e not in ESTIMATORS:
            raise ValueError(f"estimators contains {e!r}; choose from {list(ESTIMATORS)}.")
    if not estimators:
        raise ValueError(f"estimators is empty; choose from {list(ESTIMATORS)}.")
    if isinstance(rates, str):
        rates = (rates,)
    rates = tuple(rates)
    for r in rates:
        if r not in RATE_NAMES:
            raise ValueError(f"rates contains {r!r}; choose from {list(RATE_NAMES)}.")
        if r != "selection_rate" and y_true is None:
            raise ValueError(f"rate {r!r} needs y_true; pass y_true or use "
                             "rates=('selection_rate',).")
    if not rates:
        raise ValueError(f"rates is empty; choose from {list(RATE_NAMES)}.")
    if not isinstance(n_boot, numbers.Integral) or isinstance(n_boot, bool) or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}.")
    if not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    if not (cv == "prefit" or (isinstance(cv, numbers.Integral) and not isinstance(cv, bool)
                               and cv >= 2)):
        raise ValueError(f"cv must be an integer >= 2 or 'prefit', got {cv!r}.")
    return estimators, rates


@fair_docstring
def inferred_group_rates(y_pred, *, sensitive_features, membership="auto", X=None,
                         y_true=None, missing=None, rates=("selection_rate",),
                         priv_group=None, method=None, pos_label=1, estimators=ESTIMATORS,
                         outcome_in_group_model=False, bounds=False, cv=5, n_boot=200,
                         bootstrap="auto", confidence=0.95, sample_weight=None,
                         random_state=None):
    """Group rates and gaps when the protected attribute is missing for some rows.

    Each group's rate is estimated in up to five ways from membership probabilities
    :math:`p_{ia} = \\Pr(A_i = a \\mid x_i)` (``membership``); the result states the
    group model's quality on the rows whose attribute is known, a bootstrap interval of
    every estimate, and optionally bounds that hold without the assumption the weighted
    estimator needs. For the selection rate (decision :math:`d_i`, weights :math:`w_i`):

    .. math::

        \\hat r_a = \\frac{\\sum_i w_i\\, m_{ia}\\, d_i}{\\sum_i w_i\\, m_{ia}}

    with the membership :math:`m_{ia}` of each estimator:

    * ``"observed"``: :math:`m_{ia} = 1[A_i = a]` on the rows whose attribute is known,
      0 on the others (complete-case analysis);
    * ``"weighted"``: :math:`m_{ia} = p_{ia}` on every row, ignoring the known attribute:
      the BISG-weighted estimator of fair-lending practice (Chen et al. 2019). Compared
      with ``"observed"`` on the known rows it shows what the proxy alone would report;
    * ``"combined"``: the known attribute where there is one, :math:`p_{ia}` elsewhere: the
      estimate for the whole population;
    * ``"missing"``: :math:`p_{ia}` on the rows whose attribute is missing, 0 elsewhere: the
      rates among the applicants who did not give the attribute;
    * ``"threshold"``: :math:`m_{ia} = 1[a = \\arg\\max_b p_{ib}]` on every row
      (max-probability assignment).

    Other rates (``rates=``, e.g. ``"true_positive_rate"`` with ``y_true``) use the same
    soft counts of the cells ``[y_true == pos_label, y_pred == pos_label]``.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Decisions (labels, not scores).
    sensitive_features : array-like of shape (n_samples,)
        The protected attribute, missing (NaN/None, or a ``missing`` label) where unknown.
    membership : "auto", classifier or array-like of shape (n_samples, n_groups), \
default="auto"
        :math:`\\Pr(A = a \\mid x)` for every row (missing or not). A matrix: a DataFrame
        whose columns name the groups, or an array whose columns are the known groups in
        sorted order; rows must sum to 1. A classifier with ``predict_proba``: fitted
        here on the known rows of ``X``, cross-fitted (``cv``), or used as fitted with
        ``cv="prefit"``. ``"auto"``: logistic regression
        (:func:`fairkit.metrics.inferred.default_group_model`) cross-fitted on the known
        rows. Cross-fitting: every known row is scored by a model
        that did not see it (that is the quality reported); missing rows by the model
        fitted on all known rows.
    X : array-like of shape (n_samples, n_features), default=None
        Features of the group model (e.g. geography, surname scores); needed unless
        ``membership`` is a matrix and ``bounds`` is False.
    y_true : array-like of shape (n_samples,), default=None
        True labels, needed for rates other than ``"selection_rate"``.
    missing : scalar or list, default=None
        Label(s) of ``sensitive_features`` that mean "unknown" (e.g. ``"Not provided"``),
        in addition to NaN/None. A label that does not occur raises (a typo would
        otherwise turn the missing rows into a group).
    rates : str or tuple of str, default=("selection_rate",)
        Rates to estimate: any of ``GroupCounts.by_group``'s rates.
    {priv_group}
        Given: the gap is unprivileged (pooled) minus privileged.
    method : {None, "between_groups", "to_overall", "privileged"}, default=None
        How the gap is formed, as in :mod:`fairkit.metrics.group`.
    pos_label : scalar, default=1
        The label counted in ``y_pred`` (and ``y_true``): the selection rate is the share of
        ``y_pred == pos_label`` (pass the "denied" label to estimate denial rates).
    estimators : tuple of str, default=("observed", "weighted", "combined", "missing", \
"threshold")
        Which estimators to compute.
    outcome_in_group_model : bool, default=False
        Give the group model fitted here the decision (and ``y_true``) as extra features,
        so that it estimates :math:`\\Pr(A = a \\mid x, d)` on the known rows. The known
        rows hold the outcome, so this removes the weighted estimator's bias from the
        decision depending on the group beyond ``x`` (assumption (ii) in the Notes), at the
        price of assuming the attribute is missing at random given ``x`` and the outcome.
        Not the BISG estimator any more; only with ``membership="auto"`` or an unfitted
        classifier.
    bounds : bool, default=False
        Also report bounds on ``selection_rate`` and ``base_rate`` and their gaps that hold
        when the event (decision or label) depends on the group beyond the features (the
        weighted estimator's failure case). On a row whose membership is inferred, the
        membership given the realised event is only known to lie in the Frechet-Bayes
        interval :math:`[\\max(0, p_{ia} + q_i - 1) / q_i, \\min(p_{ia}, q_i) / q_i]` (event)
        or :math:`[\\max(0, p_{ia} - q_i) / (1 - q_i), \\min(p_{ia}, 1 - q_i) / (1 - q_i)]`
        (no event), with :math:`q_i = \\Pr(\\text{event} \\mid x_i)` from a cross-fitted
        logistic regression on ``X``; the rate's extremes follow. Gap bounds are outer
        bounds from the groups' intervals. Needs ``X``.
    cv : int or "prefit", default=5
        Folds of the cross-fitting of the group model (and of the outcome model of
        ``bounds``); ``"prefit"`` uses a fitted ``membership`` classifier as it is.
    n_boot : int, default=200
        Bootstrap resamples of the rows (0: no intervals).
    bootstrap : {"auto", "rows", "refit"}, default="auto"
        ``"rows"``: resample rows with their membership probabilities held fixed (fast;
        covers sampling noise only). ``"refit"``: in every resample also refit the group
        model on the resampled known rows and score every row with it, so the interval
        covers the group model's own estimation error too (``n_boot`` fits; only for a
        group model fitted here). ``"auto"``: ``"refit"`` when the group model is fitted
        here, else ``"rows"``. Bounds are always resampled by rows.
    confidence : float, default=0.95
        Level of the percentile intervals.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights of every estimate and of the quality measures; passed to the group
        model's fit when it takes them.
    {random_state}

    Returns
    -------
    InferredGroupRates
        ``rates``, ``gaps``, ``counts`` (one :class:`GroupCounts` per estimator),
        ``group_model`` (source and quality), ``membership``, ``missing_mask``.

    Warns
    -----
    UserWarning
        When the group model is near-uninformative on the known rows (mean one-vs-rest AUC
        below 0.6 or pseudo-R^2 below 0.02): weighted estimates then shrink every group's
        rate towards the pooled one, so gaps are biased towards 0.

    Raises
    ------
    ValueError
        On a membership matrix of the wrong shape, with negative or non-finite entries,
        rows not summing to 1, a column with zero total membership, no column for a
        known group; a ``missing`` label that does not occur; scores in ``y_pred``; no
        known rows for ``membership="auto"``; a rate that needs ``y_true`` without it.

    Notes
    -----
    What the intervals do and do not cover. The bootstrap resamples rows; with
    ``bootstrap="rows"`` (the default for a given matrix or prefit model) the membership
    probabilities are held fixed, so the interval covers sampling noise but not the error
    of the group model, and intervals of the model-based estimators come out too narrow;
    ``"refit"`` (the default for a model fitted here) refits the model in every resample
    and covers most of it (see ``benchmarks/bench_inferred.py``).

    What the estimators assume. The weighted estimator is consistent only if (i) the
    probabilities are calibrated and (ii) the decision is independent of the group given
    the features the group model reads; otherwise its bias is the within-feature
    covariance of the decision with the true membership (Chen et al. 2019) and it tends to
    understate gaps (with an uninformative model every gap shrinks to 0). The threshold
    estimator's bias is generally upward and depends on the threshold (same paper).
    Applying a model fitted on the known rows to the missing ones assumes the attribute is
    missing at random given ``X`` (and the outcome, with ``outcome_in_group_model``): if
    applicants who decline to state their race differ from those who state it with the
    same features, no estimator here can tell. ``bounds=True`` drops assumption (ii), in
    the spirit of Kallus et al. (2022), but keeps (i) and missing at random.

    References
    ----------
    .. [1] Chen, J., Kallus, N., Mao, X., Svacha, G. & Udell, M. (2019). Fairness Under
       Unawareness: Assessing Disparity When Protected Class Is Unobserved. FAT* 2019.
    .. [2] Elliott, M. N. et al. (2009). Using the Census Bureau's surname list to improve
       estimates of race/ethnicity and associated disparities. Health Services and
       Outcomes Research Methodology 9(2), 69-83.
    .. [3] Kallus, N., Mao, X. & Zhou, A. (2022). Assessing algorithmic fairness with
       unobserved protected class using data combination. Management Science 68(3).

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.metrics import inferred_group_rates
    >>> a = np.array(["x", "x", None, "y", "y", None])
    >>> d = np.array([1, 0, 1, 0, 0, 1])
    >>> P = np.array([[.9, .1], [.8, .2], [.5, .5], [.2, .8], [.1, .9], [.4, .6]])
    >>> res = inferred_group_rates(d, sensitive_features=a, membership=P, n_boot=0)
    >>> res.rates.loc["observed", "selection_rate"].tolist()
    [0.5, 0.0]
    >>> round(float(res.rates.loc[("combined", "x"), "selection_rate"]), 4)  # 1.9 / 2.9
    0.6552
    """
    y_pred = _as_1d(y_pred, "y_pred")
    n = len(y_pred)
    check_label_predictions(y_pred)
    if y_true is not None:
        y_true = _as_1d(y_true, "y_true", n)
    estimators, rates = _check_params(estimators, rates, n_boot, confidence, cv, y_true)
    method = resolve_method(method, priv_group)
    w = _check_weight(sample_weight, n)
    rng = check_random_state(random_state)
    sf, mask = _attribute(sensitive_features, n, missing)
    codes, observed_labels = _encode_observed(sf, mask)

    # membership -> P (n, G) over `groups`, observed codes re-indexed onto its columns
    if isinstance(membership, str):
        if membership != "auto":
            raise ValueError(f"membership={membership!r} is not valid; pass 'auto', a "
                             "classifier or a probability matrix.")
        model, source = default_group_model(), "auto"
    elif hasattr(membership, "predict_proba"):
        model, source = membership, "classifier"
    else:
        model, source = None, "matrix"
    if bootstrap not in ("auto", "rows", "refit"):
        raise ValueError(f"bootstrap={_param_repr(bootstrap)} is not valid; choose 'auto', "
                         "'rows' or 'refit'.")
    if bootstrap == "auto":
        bootstrap = "rows" if model is None or cv == "prefit" else "refit"
    if bootstrap == "refit" and (model is None or cv == "prefit"):
        raise ValueError("bootstrap='refit' refits the group model and needs one fitted "
                         "here (membership='auto' or an unfitted classifier, cv an integer).")
    if outcome_in_group_model and (model is None or cv == "prefit"):
        raise ValueError("outcome_in_group_model=True needs a group model fitted here "
                         "(membership='auto' or an unfitted classifier, cv an integer).")
    if model is not None:
        Xf = _features(_as_model_input(X, n)) if source == "auto" or bounds else None
        if source == "auto":  # the unsupervised preprocessing is fitted once, on every row
            Xm, model = Xf, default_group_model()[-1]
        else:
            Xm = _as_model_input(X, n, frame=False)
        if outcome_in_group_model:
            extra = {"__decision__": _is_pos(y_pred, pos_label).astype(float)}
            if y_true is not None:
                extra["__label__"] = _is_pos(y_true, pos_label).astype(float)
            Xm = (Xm.assign(**extra) if isinstance(Xm, pd.DataFrame)
                  else np.column_stack([Xm, *extra.values()]))
        if cv == "prefit":
            check_is_fitted(model)
            if not is_classifier(model):
                raise ValueError("membership must be a classifier with predict_proba.")
            groups = [scalar(c) for c in model.classes_]
            col = _match_columns(groups, observed_labels, "membership (classes_)")
            P = _check_membership_matrix(model.predict_proba(Xm), n, len(groups))
            source = "prefit"
        else:
            if len(observed_labels) < 2:
                raise ValueError(
                    f"membership={'auto' if source == 'auto' else 'a classifier'} fits the "
                    f"group model on the rows whose attribute is known, but they hold "
                    f"{len(observed_labels)} group(s) ({observed_labels}); at least 2 are "
                    "needed. Pass membership probabilities instead.")
            P, _ = _cross_fit(model, Xm, codes, mask, w, int(cv), rng,
                              len(observed_labels))
            P = _check_membership_matrix(P, n, len(observed_labels))
            groups, col = list(observed_labels), np.arange(len(observed_labels))
            source = (f"cross-fitted ({source}, {int(cv)} folds"
                      f"{', outcome as feature' if outcome_in_group_model else ''})")
    else:
        frame = to_pandas(membership)
        if isinstance(frame, pd.DataFrame):
            groups = [scalar(c) for c in frame.columns]
            P = _check_membership_matrix(frame.to_numpy(dtype=float), n, len(groups))
            col = _match_columns(groups, observed_labels, "membership")
        else:
            arr = np.asarray(frame)
            if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] != len(observed_labels):
                raise ValueError(
                    f"membership has {arr.shape[1]} columns but sensitive_features has "
                    f"{len(observed_labels)} known groups ({_param_repr(observed_labels)}); "
                    "pass a DataFrame whose columns name the groups.")
            P = _check_membership_matrix(arr, n, len(observed_labels))
            groups, col = list(observed_labels), np.arange(len(observed_labels))
        Xf = None if X is None or not bounds else _features(_as_model_input(X, n))
    G = len(groups)
    obs_codes = np.where(mask, -1, col[np.maximum(codes, 0)] if len(col) else -1)
    total = P.sum(axis=0) if w is None else w @ P
    zero = [groups[j] for j in np.flatnonzero(total <= 0)]
    if zero:
        raise ValueError(
            f"membership gives the group {zero[0]!r} zero total membership (the sum of "
            f"Pr(A={zero[0]!r} | x) over the rows is 0); its rates are undefined. Drop "
            "that column (and renormalise) or check the group model.")
    if G < 2:
        raise ValueError(f"membership covers only {G} group(s) ({groups}); at least 2 are "
                         "needed to compare groups.")

    quality = _quality(P, obs_codes, mask, w, groups)
    quality["source"] = source
    if quality["informative"] is False:
        scores = (f"mean one-vs-rest AUC {quality['auc']:.3f}, log-loss "
                  f"{quality['log_loss']:.3f} vs {quality['baseline_log_loss']:.3f} for the "
                  "groups' shares")
        if quality["auc"] < _MIN_AUC:
            text = (f"membership barely predicts sensitive_features on the "
                    f"{quality['n_observed']} rows where it is known ({scores}): the weighted "
                    "estimates shrink every group's rate towards the pooled rate, so their "
                    "gaps are biased towards 0.")
        else:
            text = (f"membership ranks the groups but its probabilities are no better than "
                    f"the groups' shares on the {quality['n_observed']} rows where "
                    f"sensitive_features is known ({scores}): they look miscalibrated "
                    "(e.g. near 0/1), and the weighted estimator needs calibrated "
                    "probabilities.")
        warnings.warn(text, UserWarning, stacklevel=user_stacklevel())
    priv = None
    if method == "privileged":
        priv = privileged_mask(GroupEncoding(np.empty(0, np.intp), groups), priv_group)

    # soft counts of every estimator at once: W (n, E*G), cells 2 * true + pred
    t = _is_pos(y_pred if y_true is None else y_true, pos_label)
    p = _is_pos(y_pred, pos_label)
    if not (t.any() or p.any()):
        raise ValueError(f"pos_label={pos_label!r} occurs in neither y_true nor y_pred.")
    cell = 2 * t.astype(np.intp) + p
    Ws = [_weights(e, P, obs_codes, mask) for e in estimators]
    W = np.concatenate(Ws, axis=1)
    if w is not None:
        W = W * w[:, None]
    E = len(estimators)

    def counts_of(K):
        return _soft_counts(K, W, cell).reshape(K.shape[0], E, G, 2, 2)

    C = counts_of(np.ones((1, n)))[0]
    boot = None
    if n_boot and bootstrap == "refit":
        boot = _refit_bootstrap(model, Xm, codes, col, mask, w, cell, estimators, n, G,
                                n_boot, rng)
    elif n_boot:
        boot = np.concatenate([counts_of(K) for K in _bootstrap_row_counts(n, n_boot, rng)])
    qs = ((1 - confidence) / 2, (1 + confidence) / 2)

    def interval(values):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanquantile(values, qs, axis=0)

    index = pd.MultiIndex.from_product([list(estimators), groups],
                                       names=["estimator", "group"])
    table = {"membership": C.sum(axis=(-2, -1)).ravel()}
    gap_table = {}
    for r in rates:
        table[r] = group_rate(C, r).ravel()
        gap_table[f"{r}_difference"] = _gap(C, r, method, priv)
        if boot is not None:
            lo, hi = interval(group_rate(boot, r))
            table[f"{r}_low"], table[f"{r}_high"] = lo.ravel(), hi.ravel()
            glo, ghi = interval(_gap(boot, r, method, priv))
            gap_table[f"{r}_difference_low"] = glo
            gap_table[f"{r}_difference_high"] = ghi
    if bounds:
        _add_bounds(table, gap_table, rates, estimators, P, mask, obs_codes, t, p, w, Xf,
                    cv, rng, n, n_boot, method, priv, interval, outcome_in_group_model)
    rates_frame = pd.DataFrame(table, index=index)
    gaps_frame = pd.DataFrame(gap_table, index=pd.Index(list(estimators), name="estimator"))
    names = [str(sf.name)]
    counts = {e: GroupCounts(C[k], groups, names=names, pos_label=pos_label,
                             n_rows=C[k].sum(axis=(-2, -1)), pos_label_seen=True)
              for k, e in enumerate(estimators)}
    return InferredGroupRates(rates=rates_frame, gaps=gaps_frame, counts=counts,
                              groups=list(groups), membership=P, missing_mask=mask,
                              group_model=quality, confidence=float(confidence),
                              n_boot=int(n_boot))


def _refit_bootstrap(model, Xm, codes, col, mask, w, cell, estimators, n, G, n_boot, rng):
    """(n_boot, E, G, 2, 2) counts of resamples in which the group model is refitted on
    the resampled known rows; a resample missing a group is drawn again (up to 10 times
    in a row, then its counts are nan)."""
    out = np.full((n_boot, len(estimators), G, 2, 2), np.nan)
    obs_codes = np.where(mask, -1, col[np.maximum(codes, 0)])
    for b in range(n_boot):
        for _ in range(10):
            idx = rng.randint(0, n, size=n)
            known = idx[~mask[idx]]
            if len(np.unique(codes[known])) == G:
                break
        else:
            continue
        k = np.bincount(idx, minlength=n).astype(float)
        m = _fit(clone(model), _take(Xm, known), codes[known],
                 None if w is None else w[known])
        Pb = _aligned(m, Xm, G)
        W = np.concatenate([_weights(e, Pb, obs_codes, mask) for e in estimators], axis=1)
        if w is not None:
            W = W * w[:, None]
        out[b] = _soft_counts(k[None], W, cell).reshape(len(estimators), G, 2, 2)
    return out


def _add_bounds(table, gap_table, rates, estimators, P, mask, obs_codes, t, p, w, Xf, cv,
                rng, n, n_boot, method, priv, interval, outcome_known=False):
    if Xf is None:
        raise ValueError("bounds=True needs X: the bounds use Pr(decision | x) from a model "
                         "of the decision on the group model's features.")
    folds = 5 if cv == "prefit" else int(cv)
    G = P.shape[1]
    onehot = np.zeros_like(P)
    obs = np.flatnonzero(~mask)
    onehot[obs, obs_codes[obs]] = 1.0
    # which rows carry inferred membership under each estimator
    inferred = {"weighted": np.ones(n, bool), "combined": mask, "missing": mask}
    base = {"weighted": P, "combined": np.where(mask[:, None], P, onehot),
            "missing": np.where(mask[:, None], P, 0.0)}
    nan_rows = np.full(len(estimators) * G, np.nan)
    ks = [k for k, e in enumerate(estimators) if e in inferred]
    ww = np.ones(n) if w is None else w
    K_all = [np.ones((1, n))]
    if n_boot:
        K_all.append(np.concatenate(list(_bootstrap_row_counts(n, n_boot, rng))))
    for r in rates:
        gap_cols = {s: np.full(len(estimators), np.nan) for s in
                    ("bound_low", "bound_high", "bound_ci_low", "bound_ci_high")}
        if r not in _BOUNDED_RATES:
            table[f"{r}_bound_low"] = table[f"{r}_bound_high"] = nan_rows
            for s, v in gap_cols.items():
                gap_table[f"{r}_difference_{s}"] = v
            continue
        event = p if _BOUNDED_RATES[r] == "pred" else t
        # membership given the outcome: the joint is known, the bounds are the estimate
        q = event.astype(float) if outcome_known else _outcome_model(Xf, event, w, folds, rng)
        lo_rows, hi_rows = nan_rows.copy(), nan_rows.copy()
        for k in ks:
            e = estimators[k]
            results = []
            for K in K_all:
                L, U = _rate_bounds(K * ww, base[e], q, event, inferred[e], base[e])
                if method == "privileged":
                    pool = np.stack([base[e][:, ~priv].sum(1), base[e][:, priv].sum(1)], 1)
                    Lp, Up = _rate_bounds(K * ww, pool, q, event, inferred[e], pool)
                    glo, ghi = Lp[:, 0] - Up[:, 1], Up[:, 0] - Lp[:, 1]
                else:
                    overall = _divide(K @ (ww * event), K @ ww, np.nan) \
                        if e != "missing" else _divide(K @ (ww * event * mask),
                                                       K @ (ww * mask), np.nan)
                    glo, ghi = _gap_bounds(L, U, overall, method, priv)
                results.append((L, U, glo, ghi))
            L, U, glo, ghi = results[0]
            lo_rows[k * G:(k + 1) * G], hi_rows[k * G:(k + 1) * G] = L[0], U[0]
            gap_cols["bound_low"][k], gap_cols["bound_high"][k] = glo[0], ghi[0]
            if n_boot:
                _, _, blo, bhi = results[1]
                gap_cols["bound_ci_low"][k] = interval(blo)[0]
                gap_cols["bound_ci_high"][k] = interval(bhi)[1]
        # the known attribute needs no bounds; the threshold estimator has none
        for k, e in enumerate(estimators):
            if e == "observed":
                lo_rows[k * G:(k + 1) * G] = table[r][k * G:(k + 1) * G]
                hi_rows[k * G:(k + 1) * G] = table[r][k * G:(k + 1) * G]
                gap_cols["bound_low"][k] = gap_cols["bound_high"][k] = \
                    gap_table[f"{r}_difference"][k]
        table[f"{r}_bound_low"], table[f"{r}_bound_high"] = lo_rows, hi_rows
        for s, v in gap_cols.items():
            gap_table[f"{r}_difference_{s}"] = v
