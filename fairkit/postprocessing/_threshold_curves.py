"""Per-group trade-off curves and optimal randomised thresholds (Hardt et al. 2016).

The computation behind :class:`fairkit.postprocessing.ThresholdOptimizer`, in
O(n log n): one sort of each group's scores gives every achievable (constraint metric,
objective metric) point of a threshold rule; the upper convex hull of those points is the
set of randomised rules worth keeping; the hull is read on a grid of the constraint metric
and the best grid point is chosen across groups.

It reproduces the arithmetic of fairlearn's ``ThresholdOptimizer`` (fairlearn 0.15) step
for step, so that the thresholds, mixing probabilities and predictions are the same to the
last bit: the points are taken in the same order (decreasing threshold, the flipped rule
after the plain one), sorted stably by (x, y), the hull drops a middle point when the
cross product says it is on or below the chord, the grid is ``linspace(0, 1, grid_size +
1)``, and ties are broken as fairlearn breaks them (first maximum of the pooled curve,
last minimum of the spread under a tolerance).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_thresholds", "positive_probability", "SIMPLE_CONSTRAINTS"]

#: Constraint -> the metric that must be equal (within ``tol``) across groups.
SIMPLE_CONSTRAINTS = {
    "selection_rate_parity": "selection_rate",
    "demographic_parity": "selection_rate",
    "false_positive_rate_parity": "false_positive_rate",
    "false_negative_rate_parity": "false_negative_rate",
    "true_positive_rate_parity": "true_positive_rate",
    "true_negative_rate_parity": "true_negative_rate",
}
OBJECTIVES = ("accuracy_score", "balanced_accuracy_score", "selection_rate",
              "true_positive_rate", "true_negative_rate")
#: Objectives allowed with equalized odds: non-decreasing in the true positives.
OBJECTIVES_EQUALIZED_ODDS = ("accuracy_score", "balanced_accuracy_score")

#: From this many curve points of a group on, the hull runs as compiled (numba) code.
NUMBA_MIN_POINTS = 2_000
_NUMBA_HULL = None


def _metric(name, tp, fp, tn, fn):
    """A rate of the confusion counts ``tp, fp, tn, fn`` (arrays of counts or of expected
    counts), with the derived totals summed in one fixed order."""
    if name == "selection_rate":
        return (tp + fp) / (tp + tn + fp + fn)
    if name == "false_positive_rate":
        return fp / (tn + fp)
    if name == "false_negative_rate":
        return fn / (tp + fn)
    if name == "true_positive_rate":
        return tp / (tp + fn)
    if name == "true_negative_rate":
        return tn / (tn + fp)
    if name == "accuracy_score":
        return (tp + tn) / (tp + tn + fp + fn)
    if name == "balanced_accuracy_score":
        return 0.5 * tp / (tp + fn) + 0.5 * tn / (tn + fp)
    raise ValueError(f"unknown metric {name!r}")  # pragma: no cover - checked by the caller


# ------------------------------------------------------------------------------------------
# Upper convex hull (monotone chain)
# ------------------------------------------------------------------------------------------
def _hull_python(x, y):
    xs, ys = x.tolist(), y.tolist()
    keep = []
    for j in range(len(xs)):
        xj, yj = xs[j], ys[j]
        while len(keep) >= 2:
            i1, i0 = keep[-1], keep[-2]
            # drop the middle point when it is on or below the chord from i0 to j
            if (ys[i1] - ys[i0]) * (xj - xs[i0]) <= (yj - ys[i0]) * (xs[i1] - xs[i0]):
                keep.pop()
            else:
                break
        keep.append(j)
    return np.asarray(keep, dtype=np.intp)


def _numba_hull():
    """The same chain, compiled on first use (cached on disk where numba can)."""
    global _NUMBA_HULL
    if _NUMBA_HULL is None:
        from numba import njit

        def hull(x, y):
            m = x.shape[0]
            keep = np.empty(m, np.intp)
            top = 0
            for j in range(m):
                while top >= 2:
                    i1 = keep[top - 1]
                    i0 = keep[top - 2]
                    if (y[i1] - y[i0]) * (x[j] - x[i0]) <= (y[j] - y[i0]) * (x[i1] - x[i0]):
                        top -= 1
                    else:
                        break
                keep[top] = j
                top += 1
            return keep[:top].copy()

        try:
            _NUMBA_HULL = njit(cache=True, nogil=True)(hull)
            _NUMBA_HULL(np.zeros(3), np.zeros(3))
        except Exception:  # pragma: no cover - no writable cache location
            _NUMBA_HULL = njit(cache=False, nogil=True)(hull)
    return _NUMBA_HULL


def upper_hull(x, y):
    """Indices of the upper convex hull of points sorted by (x, y): a point on or below the
    chord of its neighbours is dropped (a later duplicate replaces an earlier one)."""
    if len(x) >= NUMBA_MIN_POINTS:
        return _numba_hull()(np.ascontiguousarray(x, dtype=np.float64),
                             np.ascontiguousarray(y, dtype=np.float64))
    return _hull_python(x, y)


# ------------------------------------------------------------------------------------------
# One group's curve
# ------------------------------------------------------------------------------------------
def _stable_order_xy(x, y):
    """Stable sort by (x, y); skips the sort when the points already come in order, or
    in reverse order without duplicates (the common cases without ``flip``)."""
    m = len(x)
    if m < 2:
        return np.arange(m)
    dx, dy = np.diff(x), np.diff(y)
    if np.all((dx > 0) | ((dx == 0) & (dy >= 0))):
        return np.arange(m)
    if np.all((dx < 0) | ((dx == 0) & (dy < 0))):
        return np.arange(m)[::-1]
    return np.lexsort((y, x))


def group_curve(s_desc, y_desc, x_metric, y_metric, flip):
    """The hull of one group's threshold rules.

    ``s_desc`` are the group's scores in decreasing order and ``y_desc`` their 0/1 labels.
    The rules are "score > t" for t = +inf and for the midpoint between each distinct score
    and the next smaller one (-inf after the smallest), and with ``flip`` also "score < t".
    Returns the hull's x, y, thresholds and flipped flags (True for "<"), in x order.
    """
    n = len(s_desc)
    n_pos = int(y_desc.sum())
    n_neg = n - n_pos
    if n > 1:
        run_end = np.flatnonzero(s_desc[1:] != s_desc[:-1])
        run_end = np.append(run_end, n - 1)
    else:
        run_end = np.array([n - 1])
    values = s_desc[run_end]
    nxt = np.append(values[1:], -np.inf)
    thresholds = np.concatenate(([np.inf], (values + nxt) / 2))
    tp = np.concatenate(([0], np.cumsum(y_desc, dtype=np.int64)[run_end]))
    fp = np.concatenate(([0], run_end + 1 - tp[1:]))
    tn, fn = n_neg - fp, n_pos - tp
    xs = _metric(x_metric, tp, fp, tn, fn)
    ys = _metric(y_metric, tp, fp, tn, fn)
    r = len(thresholds)
    if flip:
        # the flipped rule "score < t" swaps the decisions: tp <-> fn, fp <-> tn
        xf = _metric(x_metric, fn, tn, fp, tp)
        yf = _metric(y_metric, fn, tn, fp, tp)
        xs = np.column_stack((xs, xf)).ravel()
        ys = np.column_stack((ys, yf)).ravel()
        thr = np.repeat(thresholds, 2)
        flipped = np.tile(np.array([False, True]), r)
    else:
        thr = thresholds
        flipped = np.zeros(r, dtype=bool)
    order = _stable_order_xy(xs, ys)
    xs, ys = xs[order], ys[order]
    keep = upper_hull(xs, ys)
    return xs[keep], ys[keep], thr[order][keep], flipped[order][keep]


def interpolate(hx, hy, grid):
    """Read the hull on the grid: for each grid value the two hull points around it (the
    left one strictly below it, except at the first grid value), their weights and y."""
    idx = np.searchsorted(hx, grid, side="right") - 1
    idx[1:] = np.where(grid[1:] == hx[idx[1:]], idx[1:] - 1, idx[1:])
    p0 = (hx[idx + 1] - grid) / (hx[idx + 1] - hx[idx])
    p1 = 1 - p0
    yg = p0 * hy[idx] + p1 * hy[idx + 1]
    return idx, p0, p1, yg


# ------------------------------------------------------------------------------------------
# Across groups
# ------------------------------------------------------------------------------------------
def _sorted_groups(scores, y01, codes, n_groups):
    """Each group's scores (decreasing) and labels: the rows of each group (a mask per
    group when there are few, else one stable counting sort of the codes), then one sort
    of that group's scores."""
    if n_groups <= 8:
        parts = [np.flatnonzero(codes == g) for g in range(n_groups)]
    else:
        small = np.uint8 if n_groups <= 256 else (np.uint16 if n_groups <= 65536 else np.intp)
        by_group = np.argsort(codes.astype(small, copy=False), kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=n_groups))))
        parts = [by_group[bounds[g]:bounds[g + 1]] for g in range(n_groups)]
    out = []
    for rows in parts:
        s = scores[rows]
        o = np.argsort(s)[::-1]
        out.append((s[o], y01[rows[o]]))
    return out


def _window_argmax_last(y, start):
    """For each end e, the last index of the maximum of ``y[start[e] .. e]`` (sparse
    table of range-argmax, ties to the larger index)."""
    g = len(y)
    ends = np.arange(g)

    def better(a, b):
        return np.where((y[a] > y[b]) | ((y[a] == y[b]) & (a > b)), a, b)

    table = [ends]
    step = 1
    while 2 * step <= g:
        prev = table[-1]
        table.append(better(prev[: g - 2 * step + 1], prev[step: g - step + 1]))
        step *= 2
    length = ends - start + 1
    level = np.floor(np.log2(length)).astype(np.intp)
    # guard against log2 rounding at exact powers of two
    level = np.where((1 << (level + 1)) <= length, level + 1, level)
    level = np.where((1 << level) > length, level - 1, level)
    res = np.empty(g, dtype=np.intp)
    for lv in np.unique(level):
        m = level == lv
        t = table[lv]
        a = t[start[m]]
        b = t[ends[m] - (1 << lv) + 1]
        res[m] = better(a, b)
    return res


def _best_with_tolerance(grid, weighted_y, tol):
    """Per-group grid indices maximising the pooled objective while the groups' constraint
    values span at most ``tol``; among the best, the smallest spread, the last such window.
    """
    g = len(grid)
    ends = np.arange(g)
    # first start with grid[e] - grid[start] <= tol (monotone in e); searchsorted, then
    # fixed up to the exact floating-point test
    start = np.searchsorted(grid, grid - tol, side="left").astype(np.intp)
    start = np.minimum(start, ends)
    for _ in range(8):
        down = (start > 0) & (grid - grid[np.maximum(start - 1, 0)] <= tol)
        up = grid - grid[start] > tol
        if not (down.any() or up.any()):
            break
        start = np.where(down, start - 1, np.where(up, start + 1, start))
    best = [_window_argmax_last(wy, start) for wy in weighted_y]
    objective = 0
    for wy, b in zip(weighted_y, best, strict=True):
        objective = objective + wy[b]
    xs = np.stack([grid[b] for b in best])
    spread = xs.max(axis=0) - xs.min(axis=0)
    top = objective.max()
    cand = np.flatnonzero(objective == top)
    v = spread[cand]
    e = cand[np.flatnonzero(v == v.min())[-1]]
    return [int(b[e]) for b in best], float(objective[e])


def fit_thresholds(scores, y01, codes, n_groups, *, constraints, objective, grid_size,
                   flip, tol):
    """Optimal randomised group thresholds.

    Parameters
    ----------
    scores : ndarray of float64, finite
    y01 : ndarray of int, 0/1 (both labels in every group)
    codes : ndarray of int in ``0 .. n_groups - 1``
    n_groups : int
    constraints, objective, grid_size, flip, tol
        As in :class:`~fairkit.postprocessing.ThresholdOptimizer`.

    Returns
    -------
    dict
        ``thresholds`` (k, 2), ``flipped`` (k, 2) bool (True for "score < t"), ``weights``
        (k, 2) (the probabilities of the two rules), ``p_ignore`` (k,) or None and
        ``prediction_constant`` (equalized odds: with probability ``p_ignore`` the decision
        is instead a draw with this probability), ``constraint_values`` (k,) (the
        constraint metric each group's rule attains) and ``objective_value``.
    """
    grid = np.linspace(0, 1, grid_size + 1)
    groups = _sorted_groups(scores, y01, codes, n_groups)
    equalized_odds = constraints == "equalized_odds"
    if equalized_odds:
        x_metric, y_metric = "false_positive_rate", "true_positive_rate"
    else:
        x_metric, y_metric = SIMPLE_CONSTRAINTS[constraints], objective
    curves = []
    for s, y in groups:
        hx, hy, hthr, hflip = group_curve(s, y, x_metric, y_metric, flip)
        idx, p0, p1, yg = interpolate(hx, hy, grid)
        curves.append((idx, p0, p1, yg, hthr, hflip))

    n = len(scores)
    k = n_groups
    if equalized_odds:
        y_min = np.min(np.stack([c[3] for c in curves]), axis=0)
        n_pos = int(np.sum(y01))
        n_neg = n - n_pos
        values = np.round(_metric(objective, n_pos * y_min, n_neg * grid,
                                  n_neg * (1.0 - grid), n_pos * (1.0 - y_min)), 15)
        i_best = int(np.argmax(values))
        chosen = [i_best] * k
        objective_value = float(values[i_best])
    elif not tol:
        overall = 0 * grid
        for (s, _), c in zip(groups, curves, strict=True):
            overall = overall + (len(s) / n) * c[3]
        i_best = int(np.argmax(overall))
        chosen = [i_best] * k
        objective_value = float(overall[i_best])
    else:
        weighted = [c[3] * (len(s) / n) for (s, _), c in zip(groups, curves, strict=True)]
        chosen, objective_value = _best_with_tolerance(grid, weighted, tol)

    thresholds = np.empty((k, 2))
    flipped = np.empty((k, 2), dtype=bool)
    weights = np.empty((k, 2))
    p_ignore = np.zeros(k) if equalized_odds else None
    for g, (c, i) in enumerate(zip(curves, chosen, strict=True)):
        idx, p0, p1, yg, hthr, hflip = c
        j = idx[i]
        thresholds[g] = hthr[j], hthr[j + 1]
        flipped[g] = hflip[j], hflip[j + 1]
        weights[g] = p0[i], p1[i]
        if equalized_odds:
            x_g, y_g, y_best = grid[i], yg[i], y_min[i]
            # mix with the constant rule on the ROC diagonal down to the common TPR
            p_ignore[g] = 0.0 if y_g == x_g else (y_g - y_best) / (y_g - x_g)
    return {
        "thresholds": thresholds,
        "flipped": flipped,
        "weights": weights,
        "p_ignore": p_ignore,
        "prediction_constant": float(grid[chosen[0]]) if equalized_odds else None,
        "constraint_values": grid[np.asarray(chosen)],
        "objective_value": objective_value,
    }


def positive_probability(scores, codes, thresholds, flipped, weights, p_ignore=None,
                         prediction_constant=None):
    """Probability of the favourable decision of each row under its group's rule."""
    s = np.asarray(scores, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.intp)
    p = None
    for j in (0, 1):
        t = thresholds[:, j].take(codes)
        if flipped[:, j].any():
            # "s < t" is "-s > -t" (negation is exact)
            sign = np.where(flipped[:, j], -1.0, 1.0).take(codes)
            d = s * sign > t * sign
        else:
            d = s > t
        term = weights[:, j].take(codes) * d
        p = term if p is None else p + term
    if p_ignore is not None:
        pi = p_ignore.take(codes)
        p = pi * prediction_constant + (1 - pi) * p
    return p
