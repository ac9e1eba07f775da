"""Choosing the penalty weight :math:`\\lambda` of the distance-covariance models.

:func:`calibrate_lambda` fits a model over a grid of :math:`\\lambda` and scores each fit
on validation data with task loss and fairness measures; the trade-off curve is drawn by
:func:`fairkit.plotting._lambda.plot_lambda_calibration`.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.special import xlogy
from sklearn.base import ClassifierMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _num_samples

from .._protected import resolve_protected
from ..metrics.dependence import (
    concatenated_distance_covariance,
    distance_correlation,
    encode_protected_attributes,
    jensen_shannon_divergence,
    joint_distance_covariance,
    unfairness_ratio,
)
from ..utils._dataframe import to_pandas

__all__ = ["calibrate_lambda"]


def _band_groups(values: pd.DataFrame, kinds, n_bins, edges=None):
    """Protected attributes as discrete subgroups: continuous ones cut into quantile bands."""
    out = {}
    new_edges = {}
    for col, kind in zip(values.columns, kinds, strict=True):
        if kind == "continuous":
            x = values[col].to_numpy(dtype=float)
            e = edges[col] if edges is not None else np.unique(
                np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1])
            )
            new_edges[col] = e
            out[col] = np.searchsorted(e, x, side="right")
        else:
            out[col] = values[col].astype(str).to_numpy()
    return pd.DataFrame(out), new_edges


def _fit_and_score(estimator, lam, X_tr, y_tr, sf_tr, X_val, y_val, s_val, groups_val, fit_kw):
    est = clone(estimator).set_params(lam=lam)
    est.fit(X_tr, y_tr, sensitive_features=sf_tr, **fit_kw)
    row = {"lam": lam}
    if isinstance(est, ClassifierMixin):
        out = est.predict_proba(X_val)[:, 1]
        y01 = (np.asarray(y_val) == est.classes_[1]).astype(float)
        p = np.clip(out, 1e-15, 1 - 1e-15)
        row["task_loss"] = float(-np.mean(y01 * np.log(p) + (1 - y01) * np.log(1 - p)))
        row["accuracy"] = float(np.mean(est.predict(X_val) == np.asarray(y_val)))
    else:
        out = est.predict_rate(X_val)
        yv = np.asarray(y_val, dtype=float)
        if est.loss == "poisson":
            row["task_loss"] = float(np.mean(2 * (xlogy(yv, yv) - xlogy(yv, out) - yv + out)))
        else:
            row["task_loss"] = float(np.mean((yv - out) ** 2))
        row["rmse"] = float(np.sqrt(np.mean((yv - est.predict(X_val)) ** 2)))
    # s_val already carries the training kinds (see _as_training_kinds)
    kw = {
        "sensitive_features": s_val,
        "categorical": False,
        "continuous_scaling": est.continuous_scaling,
    }
    row["jsd"] = jensen_shannon_divergence(None, out, sensitive_features=groups_val)
    row["uf"] = unfairness_ratio(None, out, sensitive_features=groups_val)
    row["ccdcov"] = concatenated_distance_covariance(None, out, **kw)
    row["dcor"] = distance_correlation(None, out, **kw)
    from ..inprocessing._dcov_kernels import MAX_DENSE  # here: inprocessing imports this module

    row["jdcov"] = (
        joint_distance_covariance(None, out, **kw) if len(out) <= MAX_DENSE else np.nan
    )
    return row


def _elbow(loss, jsd):
    """Point of the (loss, JSD) curve farthest from the chord joining its end points, after
    scaling both axes to [0, 1] (the "kneedle" rule)."""
    x, y = np.asarray(loss, float), np.asarray(jsd, float)
    if len(x) < 3:
        return int(np.argmin(y))
    xs = (x - x.min()) / (np.ptp(x) or 1.0)
    ys = (y - y.min()) / (np.ptp(y) or 1.0)
    p0, p1 = np.array([xs[0], ys[0]]), np.array([xs[-1], ys[-1]])
    d = p1 - p0
    norm = np.hypot(*d) or 1.0
    dist = np.abs(d[0] * (ys - p0[1]) - d[1] * (xs - p0[0])) / norm
    return int(np.argmax(dist))


def calibrate_lambda(
    estimator,
    X,
    y,
    *,
    lams,
    sensitive_features=None,
    validation_data=None,
    validation_fraction=0.3,
    n_bins=3,
    n_jobs=None,
    random_state=None,
    fit_params=None,
    tolerance=None,
):
    """Train ``estimator`` over a grid of ``lam`` and measure fairness on validation data.

    For each :math:`\\lambda` a clone of ``estimator`` is fitted (in parallel through
    joblib, so ``joblib.parallel_backend("dask")`` spreads the grid over a cluster) and
    scored on validation data: task loss, generalised Jensen-Shannon divergence (JSD) and
    UF across the intersectional subgroups of all protected attributes (continuous ones cut
    into ``n_bins`` quantile bands of the training data), CCdCov, dCor and JdCov
    (V-statistics, :mod:`fairkit.metrics.dependence`), and accuracy (classifier) or RMSE
    (regressor). The elbow of task loss vs JSD (farthest point from the chord, both axes
    scaled to [0, 1]) is the suggested :math:`\\lambda` (Lee et al. 2025 pick the elbow
    of this trade-off curve). The elbow is a property of the curve's shape alone, so it
    tends to be conservative when the curve bends early; ``tolerance`` adds a second,
    explicit rule: the lowest validation JSD among the :math:`\\lambda` that cost at most
    ``tolerance`` of validation accuracy (RMSE, relative, for regressors).

    Parameters
    ----------
    estimator : DCovRegularizedClassifier or DCovRegularizedRegressor
    X, y : training data
    lams : sequence of float
        The grid; include 0 for the unregularised reference.
    sensitive_features : array-like, optional
        Protected attributes for ``X`` if ``estimator`` has no ``prot_attr``.
    validation_data : tuple, optional
        ``(X_val, y_val)`` or ``(X_val, y_val, sensitive_features_val)``; default: a
        ``validation_fraction`` split of ``X`` (stratified for classifiers).
    validation_fraction : float, default=0.3
    n_bins : int, default=3
        Quantile bands for continuous attributes in the JSD / UF subgroups.
    n_jobs : int, optional
        joblib parallelism over the grid.
    random_state : int, optional
        Split seed.
    fit_params : dict, optional
        Extra ``fit`` arguments (e.g. ``exposure``), training rows only.
    tolerance : float, optional
        If given, also select the :math:`\\lambda` with the lowest validation JSD among
        those whose accuracy is at most ``tolerance`` below the accuracy at the smallest
        :math:`\\lambda` of the grid (classifiers; 0.02 = 2 points), or whose RMSE is at
        most ``(1 + tolerance)`` times it (regressors). Not used by default.

    Returns
    -------
    DataFrame
        One row per lambda (columns ``lam, task_loss, jsd, uf, ccdcov, dcor, jdcov`` and
        ``accuracy`` or ``rmse``) and a boolean column ``elbow``; ``table.attrs["elbow_lam"]``
        holds the suggested value. With ``tolerance``, also a boolean column
        ``tolerance_pick`` and ``table.attrs["tolerance_lam"]``.
    """
    lams = [float(v) for v in lams]
    if not lams or any(v < 0 for v in lams):
        raise ValueError(f"lams must be a non-empty sequence of values >= 0, got {lams!r}.")
    if tolerance is not None and not (isinstance(tolerance, Real) and tolerance >= 0):
        raise ValueError(f"tolerance must be a number >= 0 or None, got {tolerance!r}.")
    fit_params = dict(fit_params or {})
    prot_attr = getattr(estimator, "prot_attr", None)
    n = _num_samples(X)
    if validation_data is None:
        idx = np.arange(n)
        strat = np.asarray(y) if isinstance(estimator, ClassifierMixin) else None
        tr, va = train_test_split(
            idx, test_size=validation_fraction, random_state=random_state, stratify=strat
        )
        X_tr, X_val = _rows(X, tr), _rows(X, va)
        y_tr, y_val = np.asarray(y)[tr], np.asarray(y)[va]
        sf_tr = None if sensitive_features is None else _rows(sensitive_features, tr)
        sf_val = None if sensitive_features is None else _rows(sensitive_features, va)
        fit_params = {k: np.asarray(v)[tr] for k, v in fit_params.items()}
    else:
        X_tr, y_tr, sf_tr = X, y, sensitive_features
        X_val, y_val = validation_data[0], validation_data[1]
        sf_val = validation_data[2] if len(validation_data) > 2 else None
    prot_tr = resolve_protected(
        X_tr, prot_attr=prot_attr, sensitive_features=sf_tr, require_groups=False
    )
    prot_val = resolve_protected(
        X_val, prot_attr=prot_attr, sensitive_features=sf_val, require_groups=False
    )
    kinds = encode_protected_attributes(
        prot_tr.values,
        categorical=estimator.categorical,
        continuous_scaling=estimator.continuous_scaling,
    ).kinds
    _, edges = _band_groups(prot_tr.values, kinds, n_bins)
    groups_val, _ = _band_groups(prot_val.values, kinds, n_bins, edges)
    s_val = _as_training_kinds(prot_val.values, kinds)
    rows = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_score)(
            estimator, lam, X_tr, y_tr, sf_tr, X_val, y_val, s_val, groups_val,
            fit_params,
        )
        for lam in lams
    )
    table = pd.DataFrame(rows)
    pick = _elbow(table["task_loss"], table["jsd"])
    table["elbow"] = np.arange(len(table)) == pick
    table.attrs["elbow_lam"] = float(table["lam"].iloc[pick])
    if tolerance is not None:
        ref = int(np.argmin(table["lam"].to_numpy()))
        if "accuracy" in table:
            ok = table["accuracy"] >= table["accuracy"].iloc[ref] - tolerance - 1e-12
        else:
            ok = table["rmse"] <= table["rmse"].iloc[ref] * (1.0 + tolerance) + 1e-12
        ok.iloc[ref] = True  # the reference itself always qualifies
        best = int(np.nanargmin(table["jsd"].where(ok).to_numpy()))
        table["tolerance_pick"] = np.arange(len(table)) == best
        table.attrs["tolerance_lam"] = float(table["lam"].iloc[best])
    return table


def _as_training_kinds(values, kinds):
    """The validation attributes, typed so that encoding them with ``categorical=False``
    gives the kinds found on the training data: a small validation set has few distinct
    ages, and the level-count rule would otherwise turn a continuous age into groups."""
    out = values.copy()
    for col, kind in zip(values.columns, kinds, strict=True):
        if kind != "continuous":
            out[col] = values[col].astype(str)
    return out


def _rows(data, idx):
    data = to_pandas(data)  # polars / pyarrow: sliced as pandas, column names kept
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[idx]
    return np.asarray(data)[idx]

