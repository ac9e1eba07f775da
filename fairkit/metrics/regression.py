"""``regression_fairness_report``: how a regressor's predictions are distributed per group.

Demographic parity for a regressor is a statement about whole distributions (the same
distribution of predictions in every group), of which a gap in mean predictions
(:func:`fairkit.metrics.mean_prediction_difference`) is one summary. The report gives the
per-group means, errors and quantiles, the Kolmogorov-Smirnov and 1-Wasserstein distances
between every pair of groups and from each group to all rows pooled, and bootstrap
percentile intervals for all of them.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._protected import _param_repr
from .group import mean_prediction_difference
from .streaming import prepare_arrays

__all__ = ["RegressionFairnessReport", "regression_fairness_report", "ks_wasserstein"]

#: Quantile levels reported by default.
DEFAULT_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def ks_wasserstein(a, b):
    r"""Two-sample Kolmogorov-Smirnov statistic and 1-Wasserstein distance.

    .. math::

        \mathrm{KS} = \sup_t |F_a(t) - F_b(t)|, \qquad
        W_1 = \int |F_a(t) - F_b(t)|\, dt,

    with :math:`F_a`, :math:`F_b` the empirical CDFs: the statistics of
    ``scipy.stats.ks_2samp`` and ``scipy.stats.wasserstein_distance``, computed together
    from one merge of the sorted samples.

    Parameters
    ----------
    a, b : array-like of shape (n_a,), (n_b,)
        Non-empty samples of finite numbers.

    Returns
    -------
    (float, float)
        The KS statistic and the 1-Wasserstein distance.
    """
    a = np.sort(np.asarray(a, dtype=np.float64).ravel())
    b = np.sort(np.asarray(b, dtype=np.float64).ravel())
    if len(a) == 0 or len(b) == 0:
        raise ValueError("ks_wasserstein needs two non-empty samples.")
    return _ks_w1_sorted(a, b)


def _ks_w1_sorted(a, b):
    both = np.concatenate([a, b])
    both.sort(kind="mergesort")
    fa = np.searchsorted(a, both, side="right") / len(a)
    fb = np.searchsorted(b, both, side="right") / len(b)
    gap = np.abs(fa - fb)
    return float(gap.max()), float(np.sum(gap[:-1] * np.diff(both)))


@dataclass
class RegressionFairnessReport:
    """What :func:`regression_fairness_report` returns.

    Attributes
    ----------
    groups : pandas.DataFrame
        One row per group (index: group label as text). Columns ``n_rows``,
        ``mean_prediction``, ``mean_true``, ``rmse``, ``mae``, ``q<level>`` (the
        prediction quantiles, e.g. ``q0.5``), ``ks_to_pooled`` and
        ``wasserstein_to_pooled`` (the group's predictions against all rows'), each
        followed by ``<column>_lower`` / ``<column>_upper`` with ``n_bootstrap > 0``.
    pairs : pandas.DataFrame
        One row per pair of groups (columns ``group_a``, ``group_b``): ``ks``,
        ``wasserstein`` and ``mean_difference`` (mean prediction of ``group_a`` minus
        ``group_b``), with their intervals.
    summary : pandas.DataFrame
        One row each for ``mean_prediction_difference`` (largest minus smallest group
        mean prediction, :func:`fairkit.metrics.mean_prediction_difference`),
        ``max_ks`` and ``max_wasserstein`` (the largest pairwise distances), and
        ``rmse`` / ``rmse_difference`` (over all rows; largest minus smallest group
        RMSE). Columns ``value`` and, with ``n_bootstrap > 0``, ``lower`` / ``upper``.
    attrs : dict
        ``n_bootstrap``, ``confidence``, ``quantiles``, ``attribute_names``.
    """

    groups: pd.DataFrame
    pairs: pd.DataFrame
    summary: pd.DataFrame
    attrs: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"RegressionFairnessReport(\n{self.summary!r}\n\n{self.groups!r}\n\n"
                f"{self.pairs!r}\n)")


def _statistics(y_true, y_pred, codes, n_groups, levels):
    """Every number of the report for one (re)sample, as flat dict of arrays."""
    sorted_by_group = []
    out = {"mean_prediction": np.empty(n_groups), "mean_true": np.empty(n_groups),
           "rmse": np.empty(n_groups), "mae": np.empty(n_groups),
           "quantiles": np.empty((n_groups, len(levels))),
           "ks_to_pooled": np.empty(n_groups), "wasserstein_to_pooled": np.empty(n_groups)}
    pooled = np.sort(y_pred)
    for g in range(n_groups):
        rows = codes == g
        p, t = y_pred[rows], y_true[rows]
        err = p - t
        out["mean_prediction"][g] = p.mean()
        out["mean_true"][g] = t.mean()
        out["rmse"][g] = np.sqrt(np.mean(err ** 2))
        out["mae"][g] = np.mean(np.abs(err))
        ps = np.sort(p)
        sorted_by_group.append(ps)
        out["quantiles"][g] = np.quantile(ps, levels) if len(levels) else []
        out["ks_to_pooled"][g], out["wasserstein_to_pooled"][g] = _ks_w1_sorted(ps, pooled)
    pairs = [(i, j) for i in range(n_groups) for j in range(i + 1, n_groups)]
    ks = np.empty(len(pairs))
    w1 = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        ks[k], w1[k] = _ks_w1_sorted(sorted_by_group[i], sorted_by_group[j])
    means = out["mean_prediction"]
    out["pair_ks"], out["pair_wasserstein"] = ks, w1
    out["pair_mean_difference"] = np.array([means[i] - means[j] for i, j in pairs])
    out["summary"] = np.array([
        means.max() - means.min(), ks.max(), w1.max(),
        np.sqrt(np.mean((y_pred - y_true) ** 2)), out["rmse"].max() - out["rmse"].min(),
    ])
    return out


def regression_fairness_report(y_true, y_pred, *, sensitive_features, quantiles=None,
                               n_bootstrap=0, confidence=0.95, random_state=None):
    r"""Per-group prediction distributions of a regressor and the distances between them.

    Demographic parity of a regressor asks for the same distribution of predictions in
    every group. The report measures how far from it the predictions are: per group the
    mean prediction, the error (RMSE, MAE) and quantiles; between groups the
    Kolmogorov-Smirnov statistic :math:`\sup_t |F_a(t) - F_b(t)|` (the largest gap in
    the share of the two groups predicted at most :math:`t`) and the 1-Wasserstein
    distance :math:`\int |F_a - F_b|\,dt` (the mean shift, in the units of the target,
    needed to move one distribution onto the other), pairwise and from each group to all
    rows pooled (as ``scipy.stats.ks_2samp`` and ``scipy.stats.wasserstein_distance``).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The target (for the per-group errors).
    y_pred : array-like of shape (n_samples,)
        Numeric predictions.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Protected attribute(s); several columns give intersectional groups. A continuous
        attribute is refused: cut it into groups first (e.g. with ``pandas.cut``).
    quantiles : sequence of float in [0, 1], default=None
        Quantile levels of the predictions reported per group (``numpy.quantile``'s
        linear interpolation); None means ``(0.1, 0.25, 0.5, 0.75, 0.9)``.
    n_bootstrap : int, default=0
        Number of bootstrap resamples for percentile intervals (0: none). The rows are
        resampled within each group (group sizes fixed), so every resample holds every
        group; the intervals describe sampling noise of the predictions given the groups'
        sizes.
    confidence : float in (0, 1), default=0.95
        Coverage of the percentile intervals.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.

    Returns
    -------
    RegressionFairnessReport
        ``groups``, ``pairs`` and ``summary`` DataFrames (see
        :class:`RegressionFairnessReport`).

    Notes
    -----
    Sample weights are not supported (the distances here are those of the rows as
    drawn). The KS statistic and the 1-Wasserstein distance are biased upwards on small
    groups (two samples of one distribution are never at distance 0; the KS statistic of
    two samples of sizes :math:`n, m` is of order :math:`\sqrt{(n+m)/(nm)}`), so compare
    them with their intervals, not with 0. A bootstrap interval of a distance does not
    cover that bias either: a percentile interval of a statistic whose true value is at
    the edge of its range (0) sits above it.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.metrics.regression import regression_fairness_report
    >>> rep = regression_fairness_report([1, 2, 3, 4], [1.0, 2.0, 3.5, 4.5],
    ...                                  sensitive_features=["a", "a", "b", "b"])
    >>> float(rep.summary.loc["mean_prediction_difference", "value"])
    2.5
    >>> float(rep.pairs.loc[0, "wasserstein"])
    2.5
    """
    levels = np.asarray(DEFAULT_QUANTILES if quantiles is None else quantiles,
                        dtype=np.float64).ravel()
    if not np.all((levels >= 0) & (levels <= 1)):
        raise ValueError(f"quantiles={_param_repr(quantiles)} must lie in [0, 1].")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, numbers.Integral) or \
            n_bootstrap < 0:
        raise ValueError(
            f"n_bootstrap={_param_repr(n_bootstrap)} must be a non-negative integer.")
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real) or \
            not 0 < confidence < 1:
        raise ValueError(f"confidence={_param_repr(confidence)} must be in (0, 1).")
    y_true, y_pred, groups, _ = prepare_arrays(y_true, y_pred, sensitive_features, None,
                                               min_groups=2)
    arrays = {}
    for name, v in (("y_true", y_true), ("y_pred", y_pred)):
        try:
            v = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric for a regression report.") from None
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} holds NaN or inf; the report needs finite values.")
        arrays[name] = v
    y_true, y_pred = arrays["y_true"], arrays["y_pred"]
    codes, k = np.asarray(groups.codes), groups.n_groups
    labels = groups.display_labels
    point = _statistics(y_true, y_pred, codes, k, levels)
    # the gap in mean predictions is fairkit's own group metric: reuse it
    point["summary"][0] = mean_prediction_difference(
        y_true, y_pred, sensitive_features=sensitive_features, method="between_groups")

    boot = None
    if n_bootstrap:
        rng = check_random_state(random_state)
        members = [np.flatnonzero(codes == g) for g in range(k)]
        reps = []
        for _ in range(n_bootstrap):
            idx = np.concatenate([m[rng.randint(0, len(m), len(m))] for m in members])
            reps.append(_statistics(y_true[idx], y_pred[idx], codes[idx], k, levels))
        tail = (1.0 - confidence) / 2.0 * 100.0

        def interval(key):
            stacked = np.stack([r[key] for r in reps])
            return (np.percentile(stacked, tail, axis=0),
                    np.percentile(stacked, 100.0 - tail, axis=0))

        boot = interval

    def with_interval(frame, column, key, sub=None):
        frame[column] = point[key] if sub is None else point[key][:, sub]
        if boot is not None:
            lo, hi = boot(key)
            frame[f"{column}_lower"] = lo if sub is None else lo[:, sub]
            frame[f"{column}_upper"] = hi if sub is None else hi[:, sub]

    index = pd.Index(labels, name=", ".join(groups.names) if groups.names else None)
    by_group = pd.DataFrame(index=index)
    by_group["n_rows"] = np.bincount(codes, minlength=k)
    for col in ("mean_prediction", "mean_true", "rmse", "mae"):
        with_interval(by_group, col, col)
    for j, q in enumerate(levels):
        with_interval(by_group, f"q{q:g}", "quantiles", sub=j)
    with_interval(by_group, "ks_to_pooled", "ks_to_pooled")
    with_interval(by_group, "wasserstein_to_pooled", "wasserstein_to_pooled")

    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    by_pair = pd.DataFrame({"group_a": [labels[i] for i, _ in pairs],
                            "group_b": [labels[j] for _, j in pairs]})
    with_interval(by_pair, "ks", "pair_ks")
    with_interval(by_pair, "wasserstein", "pair_wasserstein")
    with_interval(by_pair, "mean_difference", "pair_mean_difference")

    summary = pd.DataFrame(
        {"value": point["summary"]},
        index=pd.Index(["mean_prediction_difference", "max_ks", "max_wasserstein", "rmse",
                        "rmse_difference"], name="metric"))
    if boot is not None:
        summary["lower"], summary["upper"] = boot("summary")
    return RegressionFairnessReport(
        groups=by_group, pairs=by_pair, summary=summary,
        attrs={"n_bootstrap": int(n_bootstrap), "confidence": float(confidence),
               "quantiles": levels.tolist(), "attribute_names": list(groups.names)})
