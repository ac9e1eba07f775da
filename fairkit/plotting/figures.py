"""Matplotlib figures for fairness-accuracy trade-offs and per-group metrics.

Every function draws on ``ax`` (a new figure's axes when None) and returns the Axes; none
calls ``plt.show()``, so they work the same in notebooks, scripts and reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.frame import GroupMetricFrame
from ..model_selection.pareto import pareto_mask

__all__ = ["plot_pareto_front", "plot_group_metrics", "plot_sweep"]

_MARKERS = "osD^vP*Xhp<>"


def _method_style(k):
    """Colour and marker of the k-th method.

    tab20's dark half (the tab10 colours) comes first, then its light half: 20 distinct
    colours. With 12 markers the (colour, marker) pair repeats only after lcm(20, 12) = 60
    methods, and the style does not depend on the axes' colour cycle.
    """
    import matplotlib

    tab20 = matplotlib.colormaps["tab20"].colors
    colors = tab20[0::2] + tab20[1::2]
    return colors[k % len(colors)], _MARKERS[k % len(_MARKERS)]


def _axes(ax, figsize=(6.4, 4.4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _require(frame, *cols):
    missing = [c for c in cols if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found; available: {list(frame.columns)}.")


def plot_pareto_front(
    results,
    *,
    x="accuracy",
    y="statistical_parity_difference",
    method="method",
    maximize_x=True,
    absolute_y=True,
    ax=None,
):
    """Scatter candidates (one marker per method) and highlight the Pareto front.

    Parameters
    ----------
    results : DataFrame
        One row per candidate, e.g. ``compare_mitigators(...).table``.
    x : str
        Accuracy-type column (maximised when ``maximize_x``).
    y : str
        Fairness-gap column, minimised (its absolute value when ``absolute_y``).
    method : str or None
        Column naming each candidate's method; one marker and colour per method (distinct
        colours for up to 20 methods, distinct colour-marker pairs for up to 60).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    frame = pd.DataFrame(results)
    _require(frame, x, y, method)
    ax = _axes(ax)
    xs = frame[x].to_numpy(dtype=float)
    ys = frame[y].to_numpy(dtype=float)
    if absolute_y:
        ys = np.abs(ys)
    groups = frame[method].astype(str) if method else pd.Series(["candidates"] * len(frame))
    for k, name in enumerate(pd.unique(groups)):
        sel = (groups == name).to_numpy()
        color, marker = _method_style(k)
        ax.scatter(xs[sel], ys[sel], color=color, marker=marker, s=42, alpha=0.8, label=name)
    on_front = pareto_mask(np.column_stack([xs, ys]), maximize=[maximize_x, False])
    order = np.argsort(xs[on_front])
    ax.plot(
        xs[on_front][order],
        ys[on_front][order],
        color="black",
        lw=1.2,
        ls="--",
        marker="o",
        mfc="none",
        ms=11,
        label="Pareto front",
    )
    ax.set_xlabel(x)
    ax.set_ylabel(f"|{y}|" if absolute_y else y)
    ax.set_title("Fairness-accuracy trade-off (lower right is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    return ax


def plot_group_metrics(report, *, metrics=None, ax=None):
    """Grouped bars of per-group metrics (rows: groups, columns: metrics).

    Parameters
    ----------
    report : DataFrame or GroupMetricFrame
        Per-group table, e.g. :func:`fairkit.metrics.fairness_report`'s output: one row per
        group, one numeric column per metric. The report's gap rows (``difference``,
        ``ratio``: those with a ``method``) are not groups and are left out; its
        ``<metric>_lower``/``<metric>_upper`` bootstrap columns are drawn as error bars on
        ``<metric>``, not as bars of their own.
        Or a :class:`~fairkit.metrics.GroupMetricFrame`: its ``by_group`` values, one bar
        per group with rows (combinations of levels without rows are not drawn), with the
        outermost of its bootstrap quantiles (``by_group_ci``) as error bars.
    metrics : list of str, optional
        Columns to draw (default: every numeric column whose values lie in [0, 1], other
        than the interval bounds and the ``n_rows``/``weight`` counts; for a frame, every
        metric with real-number values).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from_frame = isinstance(report, GroupMetricFrame)
    frame = _frame_table(report) if from_frame else pd.DataFrame(report)
    if "method" in frame.columns and not from_frame:
        # fairness_report marks its gap rows with the comparison method; a gap is not a
        # group and would be drawn as one
        frame = frame[frame["method"].isna().to_numpy()]
    if frame.empty:
        raise ValueError("report has no group rows to plot.")
    bounds = {
        c for c in frame.columns
        for suffix in ("_lower", "_upper")
        if isinstance(c, str) and c.endswith(suffix) and c[: -len(suffix)] in frame.columns
    }
    if metrics is None:
        numeric = frame.select_dtypes("number").drop(
            columns=[c for c in (*bounds, *(() if from_frame else ("n_rows", "weight")))
                     if c in frame.columns]
        )
        # an undefined rate (NaN for a group without positives) must not hide the column
        metrics = [c for c in numeric.columns if numeric[c].notna().any()
                   and (from_frame or numeric[c].dropna().between(0, 1).all())]
    _require(frame, *metrics)
    if not metrics:
        raise ValueError("no metric columns to plot; pass metrics=[...].")
    ax = _axes(ax, figsize=(max(6.4, 1.2 * len(metrics) * max(1, len(frame)) / 2), 4.4))
    width = 0.8 / len(frame)
    positions = np.arange(len(metrics))
    for k, label in enumerate(frame.index):
        values = frame.loc[label, metrics].to_numpy(dtype=float)
        yerr = _interval_errors(frame, label, metrics, values)
        ax.bar(positions + k * width, values, width, label=str(label), yerr=yerr,
               capsize=3 if yerr is not None else 0)
    ax.set_xticks(positions + width * (len(frame) - 1) / 2)
    ax.set_xticklabels(metrics, rotation=20, ha="right")
    ax.set_ylabel("value" if from_frame else "rate")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title=frame.index.name or "group", fontsize="small")
    return ax


def _frame_table(frame):
    """A GroupMetricFrame as plot_group_metrics' table: one row per group with rows (label
    as text, ``"F, a"`` for several features, like fairness_report's index), one column
    per metric, ``<metric>_lower/_upper`` from the outermost bootstrap quantiles."""
    def table(values):
        values = values.to_frame() if isinstance(values, pd.Series) else values
        return values[frame.group_sizes.to_numpy() > 0]

    out = table(frame.by_group)
    out = out[[c for c in out.columns if out[c].dtype.kind in "fiub"]]
    if frame.n_boot is not None and len(frame.ci_quantiles) >= 2:
        ci = frame.by_group_ci
        i_lo, i_hi = int(np.argmin(frame.ci_quantiles)), int(np.argmax(frame.ci_quantiles))
        lower, upper = table(ci[i_lo]), table(ci[i_hi])
        for m in list(out.columns):
            out[f"{m}_lower"], out[f"{m}_upper"] = lower[m], upper[m]
    names = [str(n) for n in out.index.names]
    out.index = pd.Index([", ".join(map(str, lab)) if isinstance(lab, tuple) else str(lab)
                          for lab in out.index], name=", ".join(names))
    return out


def _interval_errors(frame, label, metrics, values):
    """(2, n_metrics) distances below/above each value to its interval, or None."""
    if not any(f"{m}_lower" in frame.columns and f"{m}_upper" in frame.columns
               for m in metrics):
        return None
    err = np.full((2, len(metrics)), np.nan)
    for j, m in enumerate(metrics):
        if f"{m}_lower" in frame.columns and f"{m}_upper" in frame.columns:
            err[0, j] = values[j] - float(frame.loc[label, f"{m}_lower"])
            err[1, j] = float(frame.loc[label, f"{m}_upper"]) - values[j]
    # a percentile interval can sit entirely on one side of a zero_division value; matplotlib
    # refuses negative lengths, and NaN (no interval) simply draws no bar
    return np.clip(err, 0, None)


def plot_sweep(results, *, param, metrics, logx=None, ax=None):
    """Metric curves against one hyper-parameter (a lambda or alpha sweep).

    Parameters
    ----------
    results : DataFrame
        One row per parameter value.
    param : str
        Column holding the swept parameter (x axis).
    metrics : list of str
        Columns to draw, one line each.
    logx : bool, optional
        Log-scale x axis; default: when all values are positive and span over two decades.

    Returns
    -------
    matplotlib.axes.Axes
    """
    frame = pd.DataFrame(results)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    _require(frame, param, *metrics)
    frame = frame.sort_values(param)
    ax = _axes(ax)
    xs = frame[param].to_numpy(dtype=float)
    for k, m in enumerate(metrics):
        ax.plot(xs, frame[m].to_numpy(dtype=float), marker=_MARKERS[k % len(_MARKERS)], label=m)
    if logx is None:
        positive = xs[xs > 0]
        logx = len(positive) == len(xs) and positive.max() / positive.min() > 100
    if logx:
        ax.set_xscale("log")
    elif (xs > 0).sum() > 1 and xs.min() == 0 and xs[xs > 0].max() / xs[xs > 0].min() > 100:
        ax.set_xscale("symlog", linthresh=xs[xs > 0].min())
    ax.set_xlabel(param)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax
