"""Compiled kernels of the Bernoulli bias scan (:mod:`fairkit.metrics.mdss`).

Imported on the first scan only (compiling takes a few seconds; numba keeps the
machine code on disk where it can, so later sessions load it).

A *segment* is a candidate subset of cells: the runs ``starts[r]:ends[r]`` of the cell
arrays for r in ``ptr[i]:ptr[i + 1]``. Every sum over a segment's cells is taken by
:func:`seg_sums`, in the same order with the same operations, so the plain bisections and
the fast path, which both call it, see the same rounding.

The bisections for q are those of the reference implementation (AIF360's ``bias_scan``):
q_mle by 20 halvings of [1e-3, 1e3] on the sign of ``Y - sum t``, the zeros of a score by
halvings until the bracket is at most 1e-3 wide, on the sign of the score. The fast path
finds each root by a safeguarded Halley iteration in s = log q (two or three passes over
the cells), then replays the bisection on it: a step goes up exactly where its midpoint
lies below the root. A step whose midpoint lies so close to the root that the rounding
of the plain sums could decide its sign (bounded from the derivative at the root and the
number of terms) is left to the plain bisection, so both give the same result bit for bit.
"""

import numpy as np

from .mdss import _Q_HIGH, _Q_LOW, _Q_TOL

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency

    def njit(**_):
        return lambda f: f


def _jit(func):
    # error_model="numpy": no zero-division checks (inf and nan as NumPy gives them)
    try:
        return njit(cache=True, nogil=True, error_model="numpy")(func)
    except Exception:  # pragma: no cover - no writable cache location
        return njit(cache=False, nogil=True, error_model="numpy")(func)


# the reference implementation's bracket for q and the width at which its bisections stop
Q_LOW, Q_HIGH, Q_TOL = _Q_LOW, _Q_HIGH, _Q_TOL


def _bisection_steps(lo, hi):
    steps = 0
    while abs(hi - lo) > Q_TOL:
        lo, steps = lo + (hi - lo) / 2, steps + 1
    return steps


QMLE_STEPS = _bisection_steps(Q_LOW, Q_HIGH)  # halvings of [1e-3, 1e3] to width 1e-3
EPS = np.finfo(float).eps
NEWTON_TOL = 1e-12  # error in log q of a root
NEWTON_ITERS = 60


#: Cells of one row: log(1 - p + q p) is summed as the log of products of this many
#: factors (each in [min(1, q), max(1, q)], q in [1e-3, 1e3]: no overflow), one log per
#: product; the rounding stays within a few units of eps per cell.
LOG_BLOCK = 16


@_jit
def seg_sums(q, i, ptr, starts, ends, p, w, mode):
    """At q, over the rows of segment ``i`` (``w`` empty: every cell one row), with
    t = q p / (1 - p + q p): the sums of t, t (1 - t) and t (1 - t) (1 - 2 t) (``mode``
    0 or 1, else 0) and of log(1 - p + q p) (``mode`` 1 or 2, else 0). Each sum is the
    same whatever the mode."""
    weighted = len(w) > 0
    with_t, with_log = mode != 2, mode != 0
    g0 = g1 = g2 = lg = 0.0
    prod, in_prod = 1.0, 0
    for r in range(ptr[i], ptr[i + 1]):
        for c in range(starts[r], ends[r]):
            qp = q * p[c]
            u = (1.0 - p[c]) + qp
            wc = w[c] if weighted else 1.0  # times 1: exact
            if with_t:
                t = qp / u
                v = t * (1.0 - t)
                g0 += wc * t
                g1 += wc * v
                g2 += wc * (v * (1.0 - 2.0 * t))
            if with_log:
                if wc == 1.0:
                    prod *= u
                    in_prod += 1
                    if in_prod == LOG_BLOCK:
                        lg += np.log(prod)
                        prod, in_prod = 1.0, 0
                else:
                    lg += wc * np.log(u)
    if in_prod:
        lg += np.log(prod)
    return g0, g1, g2, lg


@_jit
def sums_at(q, which, ptr, starts, ends, p, w, mode):
    """:func:`seg_sums` of segment ``which[k]`` at ``q[k]``, as rows (4, len(which))."""
    out = np.zeros((4, len(which)))
    for k in range(len(which)):
        g0, g1, g2, lg = seg_sums(q[k], which[k], ptr, starts, ends, p, w, mode)
        out[0, k], out[1, k], out[2, k], out[3, k] = g0, g1, g2, lg
    return out


@_jit
def _size(i, ptr, starts, ends):
    n = 0
    for r in range(ptr[i], ptr[i + 1]):
        n += ends[r] - starts[r]
    return n


@_jit
def _qmle_plain(i, Yi, ptr, starts, ends, p, w):
    lo, hi = Q_LOW, Q_HIGH
    for _ in range(QMLE_STEPS):
        mid = (lo + hi) / 2
        up = seg_sums(mid, i, ptr, starts, ends, p, w, 0)[0] < Yi
        half = (hi - lo) / 2
        if up:
            lo = lo + half
        else:
            hi = hi - half
    return (lo + hi) / 2


@_jit
def qmle_plain(Y, ptr, starts, ends, p, w):
    """q_mle of each segment by the plain bisection on ``sum t = Y`` (before clipping to
    the scanned direction)."""
    out = np.empty(len(Y))
    for i in range(len(Y)):
        out[i] = _qmle_plain(i, Y[i], ptr, starts, ends, p, w)
    return out


@_jit
def _score_plain(q, i, Yi, pen, ptr, starts, ends, p, w):
    lg = seg_sums(q, i, ptr, starts, ends, p, w, 2)[3]
    return Yi * np.log(q) - lg - pen


@_jit
def _root_plain(i, Yi, pen, lo, hi, left, ptr, starts, ends, p, w):
    while abs(hi - lo) > Q_TOL:
        mid = (lo + hi) / 2
        raise_lo = (_score_plain(mid, i, Yi, pen, ptr, starts, ends, p, w) > 0) != left
        half = (hi - lo) / 2
        if raise_lo:
            lo = lo + half
        else:
            hi = hi - half
    return (lo + hi) / 2


@_jit
def roots_plain(Y, pen, lo, hi, left, ptr, starts, ends, p, w):
    """Zeros of each segment's score by the plain bisection on [lo, hi]: below q_mle
    where ``left`` (the score increases there), above it elsewhere."""
    out = np.empty(len(Y))
    for i in range(len(Y)):
        out[i] = _root_plain(i, Y[i], pen[i], lo[i], hi[i], left[i], ptr, starts, ends, p, w)
    return out


@_jit
def _newton(mode, i, Yi, pen, sg, s, slo, shi, open_lo, open_hi, ptr, starts, ends, p, w):
    """Safeguarded Halley / Newton iteration for the root of an increasing function g of
    s = log q on [slo, shi]; an open end may lie on either side of the root, a closed
    one is known to lie on its side. ``mode`` 0: g = sum t - Y (q_mle); 1: g = sg * score.

    Returns the root (-inf / +inf where g keeps its sign over the bracket, nan where not
    found), g' there, and |g| at the bracket's end where the root lies outside."""
    slo0, shi0 = slo, shi
    lo_seen, hi_seen = not open_lo, not open_hi
    for _ in range(NEWTON_ITERS):
        g0, g1, g2, lg = seg_sums(np.exp(s), i, ptr, starts, ends, p, w, mode)
        if mode == 0:  # G' = sum t (1 - t), G'' = sum t (1 - t) (1 - 2 t); |G'''| <= G'
            gi, d1, d2, d3 = g0 - Yi, g1, g2, g1
        else:  # score = Y s - sum log(1 - p + q p) - penalty; -score'' = D; |score'''| <= D
            gi, d1, d2, d3 = sg * (Yi * s - lg - pen), sg * (Yi - g0), -sg * g1, g1
        neg = gi < 0
        if (s == slo0 and not neg) or (s == shi0 and neg):
            # g keeps its sign up to an end of the bracket
            return (np.inf if neg else -np.inf), 0.0, abs(gi)
        if d1 != 0:
            h = gi / d1
            c2 = abs(d2 / (2 * d1))
            denom = 1 - gi * d2 / (2 * d1 * d1)
            if denom > 0.5:  # Halley: error after the step ~ (g3 / 6 g1 + c2^2) h^3
                h /= denom
                err = 2 * (d3 / (6 * abs(d1)) + c2 * c2) * abs(h) ** 3
            else:  # Newton: error after the step ~ c2 h^2
                err = 2 * c2 * h * h
            new = s - h
            if d1 > 0 and err < NEWTON_TOL:
                return new, d1, 0.0
        else:
            new = np.inf if neg else -np.inf
        if neg:
            slo, lo_seen = s, True
        else:
            shi, hi_seen = s, True
        if d1 > 0 and slo < new < shi:
            s = new
        elif new >= shi and not hi_seen:
            s = shi0  # a step leaving the bracket: to an end not yet evaluated
        elif new <= slo and not lo_seen:
            s = slo0
        elif lo_seen and hi_seen and shi - slo < NEWTON_TOL:
            return (slo + shi) / 2, d1, 0.0
        else:
            s = (slo + shi) / 2
    return np.nan, 0.0, 0.0


@_jit
def _nanmin(x, y):
    # as np.minimum: nan if either is nan
    if np.isnan(x) or np.isnan(y):
        return np.nan
    return x if x < y else y


@_jit
def qmle_fast(Y, N, ptr, starts, ends, p, w):
    """The result of :func:`qmle_plain`, replayed on the root of ``sum t = Y`` (which
    increases with q) found by :func:`_newton`."""
    out = np.empty(len(Y))
    weighted = len(w) > 0
    slo, shi = np.log(Q_LOW), np.log(Q_HIGH)
    for i in range(len(Y)):
        Yi, Ni = Y[i], N[i]
        P = 0.0  # start from the odds ratio of observed to expected
        for r in range(ptr[i], ptr[i + 1]):
            for c in range(starts[r], ends[r]):
                P += w[c] * p[c] if weighted else p[c]
        s0 = np.log(Yi / (Ni - Yi)) - np.log(P / (Ni - P))
        s0 = min(max(s0, slo + 1e-3), shi - 1e-3) if np.isfinite(s0) else 0.0
        root, slope, end = _newton(
            0, i, Yi, 0.0, 1.0, s0, slo, shi, True, True, ptr, starts, ends, p, w
        )
        # replay: up exactly where the midpoint lies below the root; the distance of the
        # nearest midpoint to the root decides whether the replay can be trusted
        rq = np.exp(root)
        lo, hi, d = Q_LOW, Q_HIGH, np.inf
        for _ in range(QMLE_STEPS):
            mid = (lo + hi) / 2
            d = min(d, abs(np.log(mid) - root))
            half = (hi - lo) / 2
            if mid < rq:
                lo = lo + half
            else:
                hi = hi - half
        # |G - Y| at distance d from the root: G' = sum t (1 - t) shrinks at most e-fold
        # per unit of log q. A step is decided by the comparison where this exceeds the
        # rounding of the plain sum (terms in [0, 1]); d > 1e-10 covers exp's rounding.
        tol = 4 * EPS * (_size(i, ptr, starts, ends) + 4) * (Ni + Yi + 1)
        bound = 0.3 * min(d - 1e-10, 1.0) * slope if np.isfinite(root) else end
        if bound > tol:
            out[i] = (lo + hi) / 2
        else:
            out[i] = _qmle_plain(i, Yi, ptr, starts, ends, p, w)
    return out


@_jit
def roots_fast(Y, N, pen, lo0, hi0, left, peak, ptr, starts, ends, p, w):
    """The result of :func:`roots_plain`, replayed on the zeros found by :func:`_newton`
    (the score is concave in s = log q). ``peak``: the score at q_mle (positive where a
    zero is sought)."""
    out = np.empty(len(Y))
    for i in range(len(Y)):
        lo, hi = lo0[i], hi0[i]
        if not abs(hi - lo) > Q_TOL:
            out[i] = (lo + hi) / 2
            continue
        Yi, Ni, pi = Y[i], N[i], pen[i]
        sg = 1.0 if left[i] else -1.0  # g = sg * score increases through the zero
        slo, shi = np.log(lo), np.log(hi)
        s_mle = shi if left[i] else slo
        # the score is -penalty at q = 1: one zero lies near s = 0; the other, on the
        # far side of q_mle, near 2 s_mle (as for a parabola)
        s0 = 0.0 if (s_mle > 0) == left[i] else 2 * s_mle
        s0 = min(max(s0, slo), shi)
        root, slope, end = _newton(
            1, i, Yi, pi, sg, s0, slo, shi, left[i], not left[i], ptr, starts, ends, p, w
        )
        unsure = np.isnan(root)
        # concave: |score| >= d * min(tangent slope at the zero, chord slope to the peak)
        rate = _nanmin(slope, peak[i] / abs(s_mle - root))
        n_cells = _size(i, ptr, starts, ends)
        rq = np.exp(root)
        while abs(hi - lo) > Q_TOL:
            mid = (lo + hi) / 2
            sm = np.log(mid)
            if np.isfinite(root):
                bound = (abs(sm - root) - 1e-10) * rate
            else:
                bound = _nanmin(end, peak[i])
            # rounding of the plain score at this q: n sums of terms |log u| <= |log q|,
            # and a few roundings of each term (of size eps each, times its count)
            tol = 4 * EPS * ((n_cells + 4) * (Ni + Yi) * abs(sm) + 4 * (n_cells + Ni) + pi + 1)
            if not bound > tol:
                unsure = True
                break
            half = (hi - lo) / 2
            if mid < rq:
                lo = lo + half
            else:
                hi = hi - half
        if unsure:
            out[i] = _root_plain(i, Yi, pi, lo0[i], hi0[i], left[i], ptr, starts, ends, p, w)
        else:
            out[i] = (lo + hi) / 2
    return out


@_jit
def keep_mask(codes, cols, allowed):
    """1 for the rows of ``codes`` whose code in each attribute ``cols[r]`` is allowed
    (``allowed[r, code]``), else 0 (a pass in sequence per attribute, without branches)."""
    n = codes.shape[0]
    keep = np.ones(n, np.uint8)
    for r in range(len(cols)):
        col = cols[r]
        for c in range(n):
            keep[c] &= allowed[r, codes[c, col]]
    return keep


@_jit
def gather_cells(order, bounds, codes, cols, allowed, p, ys, w, presorted):
    """The cells of ``order`` (grouped by the values of an attribute: value v at
    ``order[bounds[v]:bounds[v + 1]]``) whose codes in the attributes ``cols`` are
    allowed (``allowed[r, code]`` for ``cols[r]``), in that order: their p and weight
    (``w`` empty: every cell one row, none returned), and per value the number of cells
    kept, their outcome sum and number of rows. ``presorted``: ``p``, ``ys`` and ``w``
    are already in the order of ``order`` (read in sequence)."""
    n, m = len(order), len(bounds) - 1
    weighted = len(w) > 0
    restricted = len(cols) > 0
    keep = keep_mask(codes, cols, allowed) if restricted else np.ones(0, np.uint8)
    out_p = np.empty(n)
    out_w = np.empty(n if weighted else 0)
    counts = np.zeros(m, np.intp)
    Y, N = np.zeros(m), np.zeros(m)
    k = 0
    for v in range(m):
        k0 = k
        y_sum = n_sum = 0.0
        for i in range(bounds[v], bounds[v + 1]):
            c = order[i]
            ok = keep[c] if restricted else 1
            at = i if presorted else c
            # written whether kept or not (the next kept cell overwrites a dropped one)
            out_p[k] = p[at]
            wc = 1.0
            if weighted:
                wc = w[at]
                out_w[k] = wc
            y_sum += ys[at] * ok  # adding 0 leaves a sum unchanged
            n_sum += wc * ok
            k += ok
        counts[v], Y[v], N[v] = k - k0, y_sum, n_sum
    return out_p[:k], out_w[: k if weighted else 0], counts, Y, N
