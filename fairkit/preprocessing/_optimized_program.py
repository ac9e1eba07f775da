"""The convex program of optimized pre-processing (Calmon et al., 2017), apart from the
estimators that use it.

:func:`learn_program` builds the empirical joint distribution of (group, features, label),
the distortion matrix and the cvxpy program, solves it and returns the fitted mapping;
:class:`~fairkit.preprocessing.OptimizedPreprocessing` (features at test time) and
:class:`~fairkit.preprocessing.OptimizedPreprocessingSampler` (features and labels at
training time) share it, so the solver code exists once.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd

from .._protected import MAX_GROUP_LEVELS

__all__: list[str] = []


#: Default cost of turning the favourable label into an unfavourable one (a feature change
#: or a promotion to the favourable label costs 1).
DEMOTION_COST = 3.0

#: Refuse problems with more mapping variables than this (observed (d, x, y) cells times
#: output (x, y) cells): they would take minutes to hours to solve.
MAX_VARIABLES = 2_000_000

#: Refuse output spaces with more (features, label) cells than this: the distortion matrix
#: and the mapping are dense arrays of this size squared.
MAX_CELLS = 2048


def check_bounds(distortion_bounds):
    """``distortion_bounds`` as a list of ``(level, probability)`` float pairs."""
    if distortion_bounds is None:
        return []
    out = []
    for pair in distortion_bounds:
        try:
            level, prob = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(
                f"distortion_bounds must be a list of (level, probability) pairs; got "
                f"{distortion_bounds!r}."
            ) from None
        if not (level > 0 and np.isfinite(level)) or not 0 <= prob <= 1:
            raise ValueError(
                f"distortion_bounds entry {tuple(pair)!r}: the level must be a finite "
                "number > 0 and the probability in [0, 1]."
            )
        out.append((level, prob))
    return out


def distortion_matrix(dist, feat_cols, levels, classes, unravel, pos_code):
    """:math:`\\delta` between all (features, label) cells (old in rows, new in columns)."""
    n_cells = len(unravel[-1])
    if dist is None:
        delta = np.zeros((n_cells, n_cells))
        for u in unravel[:-1]:
            delta += u[:, None] != u[None, :]
        yo, yn = unravel[-1][:, None], unravel[-1][None, :]
        delta += np.where(yo == yn, 0.0, np.where(yo == pos_code, DEMOTION_COST, 1.0))
        return delta
    if callable(dist):
        xs = [{c: lev[u[k]] for c, lev, u in zip(feat_cols, levels, unravel[:-1],
                                                 strict=True)}
              for k in range(n_cells)]
        ys = classes[unravel[-1]]
        delta = np.empty((n_cells, n_cells))
        for a, b in itertools.product(range(n_cells), repeat=2):
            delta[a, b] = float(dist(xs[a], ys[a], xs[b], ys[b]))
        where = "returned by the distortion callable"
    else:
        delta = np.asarray(dist, dtype=np.float64)
        if delta.shape != (n_cells, n_cells):
            raise ValueError(
                f"The distortion matrix has shape {delta.shape}; the fitted data has "
                f"{n_cells} (features, label) cells, so it must be ({n_cells}, "
                f"{n_cells}) in the order of cells_."
            )
        where = "in the distortion matrix"
    if np.isnan(delta).any() or (delta < 0).any():
        raise ValueError(f"Distortions must be >= 0 (np.inf allowed); found NaN or a "
                         f"negative value {where}.")
    if np.any(np.diag(delta) != 0):
        k = int(np.flatnonzero(np.diag(delta) != 0)[0])
        raise ValueError(
            f"The distortion of a cell to itself must be 0; {where} it is "
            f"{delta[k, k]} for cell {k}."
        )
    return delta


def _describe_constraints(est):
    return (f"epsilon={est.epsilon!r} ({est.discrimination}), max_distortion="
            f"{est.max_distortion!r}, distortion_bounds={est.distortion_bounds!r}")


def learn_program(est, X, feat_cols, group_codes, n_groups, classes, y_codes, pos_code,
                  bounds):
    """Solve the program for the training data; return the fitted attributes as a dict.

    ``est`` supplies the parameters (``n_bins``, ``distortion``, ``epsilon``, ...).
    """
    n = X.shape[0]
    levels, edges, codes = [], [], []
    for col in feat_cols:
        lev, edge, code = _fit_feature(_column(X, col), col, est.n_bins)
        levels.append(lev)
        edges.append(edge)
        codes.append(code)
    dims = tuple(len(lev) for lev in levels) + (len(classes),)
    n_cells = math.prod(dims)
    if n_cells > MAX_CELLS:
        raise ValueError(
            f"The (features, label) space has {n_cells} cells (feature levels "
            f"{[len(lev) for lev in levels]} x {len(classes)} labels), more than "
            f"{MAX_CELLS}. Use fewer features or coarser levels (bin them first, or set "
            "n_bins)."
        )
    cell = np.ravel_multi_index(tuple(codes) + (y_codes,), dims)
    joint = np.bincount(group_codes * n_cells + cell,
                        minlength=n_groups * n_cells).reshape(n_groups, n_cells) / n
    observed = np.argwhere(joint > 0)
    if len(observed) * n_cells > MAX_VARIABLES:
        raise ValueError(
            f"The mapping would have {len(observed)} observed (group, features, label) "
            f"cells x {n_cells} output cells = {len(observed) * n_cells} variables, more "
            f"than {MAX_VARIABLES}. Use fewer features or coarser levels (feature "
            f"levels: {[len(lev) for lev in levels]}), e.g. with n_bins."
        )
    unravel = np.unravel_index(np.arange(n_cells), dims)
    delta = distortion_matrix(est.distortion, feat_cols, levels, classes, unravel,
                              pos_code)

    mapping_obs, status = _solve(
        joint, observed, delta, unravel[-1], len(classes), float(est.epsilon),
        est.discrimination, est.utility_loss, est.max_distortion, bounds,
        est.solver, _describe_constraints(est),
    )
    # test-time map P(x_hat | d, x) on the observed (d, x): average over
    # y ~ p(y | d, x), sum over y_hat
    n_c = len(classes)
    n_x = n_cells // n_c
    w = joint[observed[:, 0], observed[:, 1]]
    gx = observed[:, 0] * n_x + observed[:, 1] // n_c
    gx_seen, gx_row = np.unique(gx, return_inverse=True)
    frows = np.zeros((len(gx_seen), n_x))
    np.add.at(frows, gx_row, w[:, None] * mapping_obs.reshape(-1, n_x, n_c).sum(axis=2))
    frows /= frows.sum(axis=1, keepdims=True)
    row_of = np.full(n_groups * n_cells, -1, dtype=np.intp)
    row_of[observed[:, 0] * n_cells + observed[:, 1]] = np.arange(len(observed))
    frow_of = np.full(n_groups * n_x, -1, dtype=np.intp)
    frow_of[gx_seen] = np.arange(len(gx_seen))
    out_joint = np.zeros((n_groups, n_cells))
    np.add.at(out_joint, observed[:, 0], w[:, None] * mapping_obs)

    cells = {(str(c) if not isinstance(c, str) else c): lev[u]
             for c, lev, u in zip(feat_cols, levels, unravel[:-1], strict=True)}
    cells["label"] = classes[unravel[-1]]
    return {
        "classes_": classes,
        "feature_levels_": levels,
        "bin_edges_": edges,
        "cells_": pd.DataFrame(cells),
        "joint_": joint,
        "distortion_matrix_": delta,
        "observed_": observed,
        "mapping_rows_": mapping_obs,
        "group_label_rates_": np.stack(
            [out_joint[:, unravel[-1] == c].sum(axis=1) for c in range(n_c)], axis=1
        ) / joint.sum(axis=1, keepdims=True),
        "objective_": _utility(joint.sum(axis=0), out_joint.sum(axis=0), est.utility_loss),
        "solver_status_": status,
        "_feat_cols": feat_cols,
        "_dims": dims,
        "_row_of": row_of,
        "_frows": frows,
        "_frow_of": frow_of,
    }
def _column(X, col):
    if isinstance(X, pd.DataFrame):
        return X[col].to_numpy()
    return np.asarray(X)[:, col]


def _fit_feature(v, col, n_bins):
    """Levels, inner bin edges (or None) and training codes of one feature."""
    numeric = v.dtype.kind in "biuf" or (
        v.dtype == object and pd.api.types.infer_dtype(v, skipna=False)
        in ("integer", "floating", "mixed-integer-float"))
    uniques = pd.unique(v)
    if numeric and n_bins is not None and len(uniques) > n_bins:
        v = v.astype(np.float64)
        edges = np.unique(np.quantile(v, np.linspace(0, 1, n_bins + 1))[1:-1])
        codes = np.searchsorted(edges, v, side="right")
        present = np.unique(codes)
        lookup = np.zeros(len(edges) + 1, dtype=np.intp)
        lookup[present] = np.arange(len(present))
        codes = lookup[codes]
        # keep only the edges between occupied bins
        edges = edges[present[1:] - 1] if len(present) > 1 else edges[:0]
        medians = np.array([np.median(v[codes == k]) for k in range(len(present))])
        return medians, edges, codes
    if len(uniques) > MAX_GROUP_LEVELS:
        raise ValueError(
            f"Feature {col!r} has {len(uniques)} distinct values (more than "
            f"{MAX_GROUP_LEVELS}); OptimizedPreprocessing needs discrete features. Bin it "
            "first (KBinsDiscretizer, pandas.cut) or set n_bins."
        )
    try:
        codes, levels = pd.factorize(v, sort=True)
    except TypeError:
        codes, levels = pd.factorize(v, sort=False)
    return np.asarray(levels), None, np.asarray(codes, dtype=np.intp)


def _encode_feature(v, col, levels, edges):
    if edges is not None:
        try:
            v = v.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"Feature {col!r} was binned in fit but is not numeric "
                             "now.") from None
        return np.searchsorted(edges, v, side="right")
    codes = pd.Index(levels).get_indexer(v)
    if (codes < 0).any():
        bad = sorted({str(x) for x in np.asarray(v)[codes < 0]})[:5]
        raise ValueError(f"Feature {col!r} has value(s) {bad} not seen in fit; the mapping "
                         f"is defined on the fitted levels {list(levels)[:10]}.")
    return codes


def _draw(prob_rows, row_index, rng):
    """One draw per sample from ``prob_rows[row_index[i]]`` (vectorised inverse CDF)."""
    u = rng.random(len(row_index))
    used, inv = np.unique(row_index, return_inverse=True)
    cum = np.cumsum(prob_rows[used], axis=1)
    cum /= cum[:, -1:]
    k = cum.shape[1]
    offset = 2.0 * np.arange(len(used))  # rows live in disjoint intervals [2r, 2r + 1]
    pos = np.searchsorted((cum + offset[:, None]).ravel(), u + offset[inv], side="right")
    return np.minimum(pos - inv * k, k - 1)


def _apply(rows, row_of, key, cell, rng):
    """New cell of each sample: drawn from its row of the map, or kept if it has none."""
    idx = row_of[key]
    new = np.array(cell, dtype=np.intp, copy=True)
    has = idx >= 0
    if has.any():
        new[has] = _draw(rows, idx[has], rng)
    return new


def _utility(p, q, loss):
    """Delta(q, p) between the transformed (q) and original (p) cell distributions."""
    if loss == "tv":
        return float(0.5 * np.abs(q - p).sum())
    s = p > 0
    return float(np.sum(p[s] * np.log(p[s] / q[s])))


def _solve(joint, observed, delta, label_of_cell, n_classes, eps, discrimination, loss,
           max_distortion, bounds, solver, describe):
    """Solve the program over the observed rows; returns (rows of the mapping, status)."""
    import cvxpy as cp
    import scipy.sparse as sp

    n_groups, n_cells = joint.shape
    g_of_row, k_of_row = observed[:, 0], observed[:, 1]
    w = joint[g_of_row, k_of_row]
    n_rows = len(observed)
    d_rows = delta[k_of_row]  # (n_rows, n_cells)
    allowed = np.isfinite(d_rows)
    for level, prob in bounds:
        if prob == 0:
            allowed &= ~(d_rows >= level)
    r_e, c_e = np.nonzero(allowed)
    n_var = len(r_e)
    d_e = d_rows[r_e, c_e]
    cols = np.arange(n_var)

    def sparse(values, rows, n_out):
        return sp.csr_matrix((values, (rows, cols)), shape=(n_out, n_var))

    z = cp.Variable(n_var, nonneg=True)
    cons = [sparse(np.ones(n_var), r_e, n_rows) @ z == 1]
    p = joint.sum(axis=0)
    # the marginals are variables of their own: each dense sum over the mapping then
    # appears in one equality row instead of in every constraint that uses it, which keeps
    # the interior-point factorisations small
    q = cp.Variable(n_cells)
    cons.append(sparse(w[r_e], c_e, n_cells) @ z == q)
    if loss == "tv":
        objective = 0.5 * cp.norm1(q - p)
    else:
        s = np.flatnonzero(p > 0)
        objective = cp.sum(cp.rel_entr(p[s], q[s]))
    # p(y_hat | d) for every (d, y_hat): rows d * n_classes + y_hat
    p_d = joint.sum(axis=1)
    g_e, y_e = g_of_row[r_e], label_of_cell[c_e]
    rate = cp.Variable(n_groups * n_classes)
    cons.append(sparse(w[r_e] / p_d[g_e], g_e * n_classes + y_e, n_groups * n_classes) @ z
                == rate)
    rate_m = cp.reshape(rate, (n_groups, n_classes), order="C")
    if discrimination == "ratio":
        marginal = p_d @ rate_m  # p(y_hat) = sum_d p(d) p(y_hat | d)
        spread = np.ones((n_groups, 1)) @ cp.reshape(marginal, (1, n_classes), order="C")
        cons += [rate_m <= (1 + eps) * spread, rate_m >= (1 - eps) * spread]
    elif n_groups > 1:
        pairs = [(a, b) for a in range(n_groups) for b in range(a + 1, n_groups)]
        sel_a = sp.csr_matrix(
            (np.ones(len(pairs) * n_classes),
             (np.arange(len(pairs) * n_classes),
              [a * n_classes + c for a, _ in pairs for c in range(n_classes)])),
            shape=(len(pairs) * n_classes, n_groups * n_classes))
        sel_b = sp.csr_matrix(
            (np.ones(len(pairs) * n_classes),
             (np.arange(len(pairs) * n_classes),
              [b * n_classes + c for _, b in pairs for c in range(n_classes)])),
            shape=(len(pairs) * n_classes, n_groups * n_classes))
        diff = (sel_a - sel_b) @ rate
        cons += [diff <= eps, -diff <= eps]
    if max_distortion is not None:
        cons.append(sparse(d_e, r_e, n_rows) @ z <= float(max_distortion))
    for level, prob in bounds:
        if prob > 0:
            hit = d_e >= level
            cons.append(sparse(hit.astype(float), r_e, n_rows) @ z <= prob)
    problem = cp.Problem(cp.Minimize(objective), cons)
    try:
        problem.solve(solver=solver)
    except cp.error.SolverError as exc:
        raise RuntimeError(f"OptimizedPreprocessing: solver {solver!r} failed ({exc}).") from exc
    status = problem.status
    if status in ("infeasible", "infeasible_inaccurate"):
        raise ValueError(
            f"OptimizedPreprocessing: the optimisation problem is infeasible (solver "
            f"{solver!r} status {status!r}): {describe}. Loosen epsilon or allow more "
            "distortion."
        )
    if status not in ("optimal", "optimal_inaccurate") or z.value is None:
        raise RuntimeError(f"OptimizedPreprocessing: solver {solver!r} ended with status "
                           f"{status!r}; no mapping was learned ({describe}).")
    if status == "optimal_inaccurate":
        warnings.warn(f"Solver {solver!r} reports status 'optimal_inaccurate'; the "
                      "constraints may hold only approximately.", RuntimeWarning,
                      stacklevel=3)
    rows = np.zeros((n_rows, n_cells))
    rows[r_e, c_e] = np.clip(z.value, 0.0, None)
    rows /= rows.sum(axis=1, keepdims=True)
    return rows, status
