"""Pareto fronts and hypervolumes of fairness-accuracy trade-offs.

A candidate (a model, a hyper-parameter setting) *dominates* another when it is at least as
good on every objective and strictly better on one. The Pareto front is the set of
candidates nobody dominates. The hypervolume of a front is the area (volume) it dominates
up to a reference point: one number to compare whole fronts of different methods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["pareto_front", "pareto_mask", "hypervolume"]


def _objectives(objectives):
    if isinstance(objectives, dict):
        items = list(objectives.items())
    else:
        raise ValueError(
            f"objectives must be a dict {{column: 'max' | 'min'}}, got {objectives!r}."
        )
    if not items:
        raise ValueError("objectives is empty; name at least one column to optimise.")
    for col, sense in items:
        if sense not in ("max", "min"):
            raise ValueError(
                f"objectives[{col!r}] must be 'max' or 'min', got {sense!r}."
            )
    return items


def _as_frame(results) -> pd.DataFrame:
    if isinstance(results, pd.DataFrame):
        return results
    if isinstance(results, dict):  # a GridSearchCV cv_results_
        return pd.DataFrame(results)
    raise ValueError(
        "results must be a DataFrame or a cv_results_ dict, got " f"{type(results).__name__}."
    )


def _to_minimisation(frame: pd.DataFrame, items) -> np.ndarray:
    cols = []
    for col, sense in items:
        if col not in frame.columns:
            raise ValueError(
                f"objective column {col!r} not found; available: {list(frame.columns)}."
            )
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        cols.append(-values if sense == "max" else values)
    return np.column_stack(cols)


def pareto_mask(points, maximize=None) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (n_points, n_objectives).

    ``maximize`` is a sequence of booleans (default: minimise every column). Rows with a
    NaN never belong to the front. Duplicated optimal rows are all kept.
    """
    P = np.asarray(points, dtype=float)
    if P.ndim != 2:
        raise ValueError(f"points must be 2-D (n_points, n_objectives), got shape {P.shape}.")
    if maximize is not None:
        sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
        if sign.shape != (P.shape[1],):
            raise ValueError(
                f"maximize has {sign.size} entries but points has {P.shape[1]} objectives."
            )
        P = P * sign
    finite = np.isfinite(P).all(axis=1)
    mask = finite.copy()
    idx = np.flatnonzero(finite)
    Q = P[idx]
    # Vectorised over candidates: row i is dominated if some row is <= everywhere and < once.
    for k, i in enumerate(idx):
        le = (Q <= Q[k]).all(axis=1)
        lt = (Q < Q[k]).any(axis=1)
        if (le & lt).any():
            mask[i] = False
    return mask


def pareto_front(results, objectives) -> pd.DataFrame:
    """Return the non-dominated rows of a results table.

    Parameters
    ----------
    results : DataFrame or dict
        A table with one row per candidate, e.g. ``pd.DataFrame(search.cv_results_)`` or
        the table of :func:`fairkit.model_selection.compare_mitigators`.
    objectives : dict
        ``{column: "max" | "min"}``, e.g.
        ``{"mean_test_accuracy": "max", "mean_test_spd": "min"}``. For a fairness gap that
        can be negative, optimise its absolute value (add an ``abs`` column first).

    Returns
    -------
    DataFrame
        The rows of ``results`` on the Pareto front, sorted by the first objective (best
        first), original index kept.
    """
    frame = _as_frame(results)
    items = _objectives(objectives)
    mask = pareto_mask(_to_minimisation(frame, items))
    front = frame.loc[mask]
    first, sense = items[0]
    return front.sort_values(first, ascending=(sense == "min"), kind="stable")


def hypervolume(points, reference, maximize=None) -> float:
    """Hypervolume dominated by ``points`` up to ``reference``.

    Parameters
    ----------
    points : array-like of shape (n_points, n_objectives)
        Objective values (need not be a front: dominated points add nothing).
    reference : array-like of shape (n_objectives,)
        The worst corner: for a minimised objective a value larger than every point's, for
        a maximised one a smaller value. Points not strictly better than the reference on
        every objective add nothing.
    maximize : sequence of bool, optional
        Which objectives are maximised (default: all minimised).

    Returns
    -------
    float

    Notes
    -----
    Exact: a sweep in two dimensions, recursive slicing over the first objective in more.
    Fronts from hyper-parameter searches hold tens of points, for which this is instant.
    """
    P = np.asarray(points, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if P.ndim == 1:
        P = P[None, :]
    if ref.shape != (P.shape[1],):
        raise ValueError(
            f"reference has shape {ref.shape} but points have {P.shape[1]} objectives."
        )
    if maximize is not None:
        sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
        P, ref = P * sign, ref * sign
    P = P[np.isfinite(P).all(axis=1) & (P < ref).all(axis=1)]
    if len(P) == 0:
        return 0.0
    return float(_hv_min(P, ref))


def _hv_min(P: np.ndarray, ref: np.ndarray) -> float:
    if P.shape[1] == 1:
        return ref[0] - P[:, 0].min()
    if P.shape[1] == 2:
        order = np.lexsort((P[:, 1], P[:, 0]))
        volume, best_y = 0.0, ref[1]
        for x, y in P[order]:
            if y < best_y:
                volume += (ref[0] - x) * (best_y - y)
                best_y = y
        return volume
    # Slice along the first objective: between consecutive x values the dominated region's
    # cross-section is the hypervolume of the points with x at most that value.
    xs = np.unique(P[:, 0])
    bounds = np.append(xs[1:], ref[0])
    volume = 0.0
    for x, upper in zip(xs, bounds, strict=True):
        section = P[P[:, 0] <= x][:, 1:]
        volume += (upper - x) * _hv_min(section, ref[1:])
    return volume
