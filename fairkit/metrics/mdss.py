"""Multi-dimensional subset scan (MDSS) for the subgroup a model fits worst.

:func:`bias_scan` searches the subgroups defined by a conjunction of attribute values
(``sex in {F}`` and ``age_cat in {<25, 25-45}`` and ...) for the one whose observed
outcomes deviate most from the model's predicted probabilities, in one direction: a
group the model *over*-predicts (observed positives fewer than predicted) or one it
*under*-predicts. It is the bias scan of Zhang & Neill (2016) [1]_ and of AIF360's
``aif360.detectors.bias_scan``, whose search (start subset, random restarts, order of the
coordinate steps, bisection tolerances, rounding of the score) it follows, so that for
the same ``random_state=0`` both return the same subgroup and score.

Scoring
-------
For a subset :math:`S` of rows with outcomes :math:`y_i \\in \\{0, 1\\}` and predicted
probabilities :math:`p_i`, the Bernoulli score is the log-likelihood ratio of "the odds of
every row of :math:`S` are multiplied by :math:`q`" against :math:`q = 1`:

.. math::

    F(S) = \\max_q \\sum_{i \\in S} \\left[ y_i \\log q - \\log(1 - p_i + q p_i) \\right]
           - \\lambda \\, |S|_{values},

with :math:`q \\le 1` searched for over-prediction (``overpredicted=True``) and
:math:`q \\ge 1` for under-prediction, and a penalty :math:`\\lambda` (``penalty``) per
attribute value that the subgroup's definition restricts (an attribute left free costs
nothing). The Berk-Jones score [3]_ is the non-parametric alternative for a constant
expectation :math:`\\alpha` (e.g. the base rate):
:math:`F(S) = N_S \\, \\mathrm{KL}(Y_S / N_S \\,\\|\\, \\alpha)` restricted to
:math:`Y_S / N_S \\ge \\alpha` (outcomes flipped for over-prediction).

Search
------
Both scores have the additive linear-time subset scanning property [2]_: for a fixed
:math:`q` a value of an attribute belongs to the best subset exactly when its own
contribution is positive, so the best subset of values of one attribute (all others
fixed) is found among at most :math:`2m` candidate intervals of :math:`q` for an
attribute with :math:`m` values. The scan maximises over one attribute at a time, in
random order, until no attribute improves the score, starting once from all rows and
``num_iters - 1`` times from a random subgroup (a restart keeps an attribute restriction
only if at least 10 rows remain).

A restriction to every value of an attribute present in the current rows selects the
same rows as leaving the attribute free; with a negligible penalty (the default 1e-17)
the two scores differ only by rounding of sums, and the reference implementation's choice
is decided by its summation order, which is reproduced here for that case. A result may
therefore list every value of a column; any penalty above about 1e-9 prefers the free
column.

Implementation: the rows are reduced once to distinct (attribute values, predicted
probability) cells with their counts and outcome sums; the cells of a coordinate step are
grouped by value (one compiled pass), so that a candidate subset is a few runs of
consecutive cells and a sum over it needs no copy of them; and a coordinate step, a
function of the attribute and the other restrictions, is computed once and looked up when
the ascent or a restart repeats it. The reference implementation finds each ``q`` (the
maximiser and the two zeros of every value's score, the maximiser of every candidate) by
bisection, a sum over the rows at each of 20 or more steps. Here each root is found to
about 1e-12 in :math:`\\log q` by Halley's (or Newton's) method in two or three passes over
the cells, and the bisection is then replayed on it: a step goes up exactly where its
midpoint lies below the root, so the replay gives the bisection's own end point. A step
whose midpoint lies so close to the root that the rounding of the bisection's sums could
decide its sign (bounded from the derivative at the root and the number of terms) is left
to the plain bisection of that value, so the results are the plain bisection's, bit for
bit. The sums and the searches are compiled with numba (:mod:`._mdss_kernels`) on the
first scan after an install (about 5 s, once); numba keeps the machine code on disk, so a
later process only loads it (about 0.5 s on its first scan, with numba's own import).

References
----------
.. [1] Z. Zhang, D. B. Neill, "Identifying Significant Predictive Bias in Classifiers",
   FATML workshop, 2016 (arXiv:1611.08292).
.. [2] S. Speakman, S. Somanchi, E. McFowland III, D. B. Neill, "Penalized fast subset
   scanning", Journal of Computational and Graphical Statistics 25(2), 2016.
.. [3] D. B. Neill, J. Lingwall, "A nonparametric scan statistic for multivariate disease
   surveillance", Advances in Disease Surveillance 4, 2007.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._protected import _param_repr, is_continuous_attribute
from ..utils._dataframe import to_pandas

__all__ = ["BiasScanResult", "bias_scan", "bias_scan_counts"]

_SCORINGS = ("Bernoulli", "BerkJones")
#: Width at which the bisections for q stop (as in the reference implementation).
_Q_TOL = 1e-3
_Q_LOW, _Q_HIGH = 1e-3, 1e3
#: A restart keeps an attribute restriction only if this many rows remain.
_MIN_RESTART_ROWS = 10
#: Decimals kept of a subgroup's penalised score (the search compares rounded scores).
_SCORE_DECIMALS = 4
#: Copies of the cells in each attribute's order are kept up to this many numbers (128 MiB).
_PRESORT_MAX = 2**24


class BiasScanResult(NamedTuple):
    """Result of :func:`bias_scan`: unpacks as ``subgroup, score``.

    Attributes
    ----------
    subgroup : dict
        Column name -> list of the values the subgroup keeps (sorted). A column absent
        from the dict is not restricted; an empty dict is the whole data.
    score : float
        Penalised score of the subgroup (rounded to 4 decimals); 0 or less means no
        subgroup deviates in the scanned direction.
    """

    subgroup: dict
    score: float

    def mask(self, X):
        """Boolean mask of the rows of ``X`` (a DataFrame) that belong to the subgroup.

        Parameters
        ----------
        X : DataFrame or 2-d array
            Data holding the subgroup's columns (an array's columns are named 0, 1, ...).

        Returns
        -------
        mask : ndarray of shape (n_samples,), dtype bool
        """
        X = to_pandas(X)
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X))
        keep = np.ones(len(X), dtype=bool)
        for col, values in self.subgroup.items():
            keep &= np.asarray(X[col].isin(values))
        return keep


# ---------------------------------------------------------------------------------------
# scoring functions, vectorised over several candidate subsets at once
# ---------------------------------------------------------------------------------------


class _Segments:
    """Cells grouped into ``n`` (possibly overlapping) candidate subsets: subset ``i`` is
    the runs of consecutive cells ``starts[r]:ends[r]`` for r in ``ptr[i]:ptr[i + 1]``,
    so that a subset made of several values' cells needs no copy of them. The sums over
    a subset's cells are taken in that order by one compiled function
    (:func:`._mdss_kernels.seg_sums`)."""

    __slots__ = ("p", "w", "starts", "ends", "ptr", "n")

    def __init__(self, p, w, starts, ends, ptr=None):
        # w None: every cell is one row (no weighting needed)
        self.p, self.w = p, w
        self.starts = np.asarray(starts, dtype=np.intp)
        self.ends = np.asarray(ends, dtype=np.intp)
        self.n = len(self.starts) if ptr is None else len(ptr) - 1
        self.ptr = np.arange(self.n + 1) if ptr is None else np.asarray(ptr, dtype=np.intp)

    def sums(self, q, which=None, mode=0):
        """Rows (4, len(which)): at q[k] in subset ``which[k]``, the sums over its rows of
        t = q p / (1 - p + q p), t (1 - t), t (1 - t) (1 - 2 t) (``mode`` 0 or 1) and of
        log(1 - p + q p) (``mode`` 1 or 2); a sum not asked for is 0."""
        which = np.arange(self.n) if which is None else which
        q = np.ascontiguousarray(q, dtype=float)
        return _kernels().sums_at(q, which, *self.arrays(), mode)

    def arrays(self):
        """The arguments describing the segments to a kernel of :mod:`._mdss_kernels`."""
        w = _NO_WEIGHTS if self.w is None else self.w
        return self.ptr, self.starts, self.ends, self.p, w

    def restrict(self, which):
        """The segments ``which`` (indices) alone, their cells in the same order (so every
        sum is the same as in the whole)."""
        which = np.asarray(which, dtype=np.intp)
        lo, hi = self.ptr[which], self.ptr[which + 1]
        runs = np.concatenate([np.arange(i, j) for i, j in zip(lo, hi, strict=True)])
        runs = runs.astype(np.intp)
        ptr = np.concatenate([[0], np.cumsum(hi - lo)])
        return _Segments(self.p, self.w, self.starts[runs], self.ends[runs], ptr)


_NO_WEIGHTS = np.zeros(0)


def _kernels():
    """The compiled kernels (imported, and compiled or loaded from numba's disk cache, on
    the first scan)."""
    from . import _mdss_kernels

    return _mdss_kernels


class _Bernoulli:
    """Bernoulli log-likelihood ratio (observed sum ``Y``, predicted probabilities)."""

    def __init__(self, direction):
        self.direction = direction
        self.q_floor = _Q_LOW
        self.q_ceiling = _Q_HIGH

    def score(self, Y, N, q, penalty, segs):
        return Y * np.log(q) - segs.sums(q, mode=2)[3] - penalty

    def qmle(self, Y, N, segs):
        q = _qmle_fast(Y, N, segs) if _FAST else self._qmle_bisection(Y, segs)
        if self.direction == "positive":
            return np.where(q < 1, 1.0, q)
        return np.where(q > 1, 1.0, q)

    @staticmethod
    def _qmle_bisection(Y, segs):
        # bisection on q * dF/dq = Y - sum_i q p_i / (1 - p_i + q p_i), decreasing in q;
        # every segment starts on the same bracket, so all take the same number of steps
        return _kernels().qmle_plain(np.asarray(Y, dtype=float), *segs.arrays())

    def clip_roots(self, exist, q_min, q_max):
        if self.direction == "positive":
            exist = exist & ~(q_max < 1)
            q_min = np.where(exist & (q_min < 1), 1.0, q_min)
        else:
            exist = exist & ~(q_min > 1)
            q_max = np.where(exist & (q_max > 1), 1.0, q_max)
        return exist, q_min, q_max

    def exact(self, observed_sum, expectations, penalty, weights=None):
        """Score of one subset summed in the given order, of rows or of cells with
        ``weights`` rows each (ties decided as the reference implementation decides
        them)."""
        lo, hi = _Q_LOW, _Q_HIGH
        e = expectations

        def total(values):
            return values.sum() if weights is None else (weights * values).sum()

        while abs(hi - lo) > _Q_TOL:
            mid = (lo + hi) / 2
            if np.sign(observed_sum - total(mid * e / (1 - e + mid * e))) > 0:
                lo = lo + (hi - lo) / 2
            else:
                hi = hi - (hi - lo) / 2
        q = (lo + hi) / 2
        if (self.direction == "positive" and q < 1) or (self.direction == "negative" and q > 1):
            q = 1
        return observed_sum * np.log(q) - total(np.log(1 - e + q * e)) - penalty


class _BerkJones:
    """Berk-Jones statistic: depends on the counts only (constant expectation alpha)."""

    def __init__(self, direction, alpha):
        self.direction = direction
        self.alpha = 1 - alpha if direction == "negative" else alpha
        self.q_floor = self.alpha
        self.q_ceiling = 1.0

    def score(self, Y, N, q, penalty, segs=None):
        alpha = self.alpha
        q = np.maximum(q, alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = Y * np.log(q / alpha)
            b = (N - Y) * np.log((1 - q) / (1 - alpha))
        return np.where(q == 1, a, a + b) - penalty

    def qmle(self, Y, N, segs=None):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(N > 0, Y / np.where(N > 0, N, 1), 0.0)
        return np.where((N > 0) & (q < self.alpha), self.alpha, q)

    def clip_roots(self, exist, q_min, q_max):
        return exist, q_min, q_max


def _roots(scorer, Y, N, penalty, segs, lo, hi, left, peak):
    """Bisection for the zeros of the scores on [lo, hi]: below q_mle where ``left`` (the
    score increases there), above it elsewhere."""
    if _FAST and isinstance(scorer, _Bernoulli):
        return _roots_fast(scorer, Y, N, penalty, segs, lo, hi, left, peak)
    return _roots_bisection(scorer, Y, N, penalty, segs, lo, hi, left)


def _roots_bisection(scorer, Y, N, penalty, segs, lo, hi, left):
    if isinstance(scorer, _Bernoulli):
        pen = np.broadcast_to(np.asarray(penalty, dtype=float), (len(Y),)).copy()
        return _kernels().roots_plain(
            np.asarray(Y, dtype=float), pen, lo, hi, np.asarray(left), *segs.arrays()
        )
    while True:
        active = np.abs(hi - lo) > _Q_TOL
        if not active.any():
            break
        raise_lo = (scorer.score(Y, N, (lo + hi) / 2, penalty, segs) > 0) != left
        half = (hi - lo) / 2
        lo = lo + half * (active & raise_lo)
        hi = hi - half * (active & ~raise_lo)
    return (lo + hi) / 2


# ---------------------------------------------------------------------------------------
# fast path (Bernoulli): Halley's method finds each root, the bisection is replayed on it
# ---------------------------------------------------------------------------------------

#: True: the bisections for q are replayed on roots found by Halley's method (a few
#: passes over the cells instead of 20 or more); False: the plain bisections.
_FAST = True


def _qmle_fast(Y, N, segs):
    """The result of :meth:`_Bernoulli._qmle_bisection`, bit for bit, in a few passes
    (:func:`._mdss_kernels.qmle_fast`)."""
    Y, N = np.asarray(Y, dtype=float), np.asarray(N, dtype=float)
    return _kernels().qmle_fast(Y, N, *segs.arrays())


def _roots_fast(scorer, Y, N, penalty, segs, lo, hi, left, peak):
    """The result of :func:`_roots_bisection` for the Bernoulli score, bit for bit, in a
    few passes (:func:`._mdss_kernels.roots_fast`). ``peak``: the score at q_mle
    (positive where a zero is sought)."""
    k = len(Y)
    pen = np.broadcast_to(np.asarray(penalty, dtype=float), (k,)).copy()
    Y, N = np.asarray(Y, dtype=float), np.asarray(N, dtype=float)
    peak = np.broadcast_to(np.asarray(peak, dtype=float), (k,)).copy()
    return _kernels().roots_fast(Y, N, pen, lo, hi, np.asarray(left), peak, *segs.arrays())


# ---------------------------------------------------------------------------------------
# the scan
# ---------------------------------------------------------------------------------------


def _stable_order(codes, n_levels):
    """Stable argsort of small integer codes (a radix sort where they fit in 16 bits)."""
    if n_levels <= 2**16:
        codes = codes.astype(np.uint8 if n_levels <= 2**8 else np.uint16)
    return np.argsort(codes, kind="stable")


def _key(subset):
    return tuple(sorted((j, tuple(sorted(v))) for j, v in subset.items()))


class _Scanner:
    def __init__(self, codes, n_levels, weights, ysum, p, scorer, penalty, rows):
        # (n_cells, d) codes in sorted-level order, in the smallest integer type that
        # holds them (a coordinate step reads them in the order of another attribute)
        top = int(max(n_levels)) if len(n_levels) else 1
        small = np.uint8 if top <= 2**8 else np.uint16 if top <= 2**16 else np.intp
        self.codes = np.asfortranarray(codes, dtype=small)
        self.n_levels = n_levels
        self.w = weights
        self.ysum = ysum
        self.p = p
        self.scorer = scorer
        self.penalty = penalty
        self.raw = rows  # (codes, y, p) of the original rows, in their order
        self._raw_orders = {}
        # every cell one row: no weights in the sums
        self._w = None if weights.min() == 1 and weights.max() == 1 else weights
        self._orders = [_stable_order(codes[:, j], n_levels[j]) for j in range(codes.shape[1])]
        # the cells of value v of attribute j: _orders[j][_bounds[j][v]:_bounds[j][v + 1]]
        self._bounds = [
            np.concatenate([[0], np.cumsum(np.bincount(codes[:, j], minlength=n_levels[j]))])
            for j in range(codes.shape[1])
        ]
        # p, outcome sums and weights in each attribute's order, read in sequence by a
        # coordinate step, where the copies take little memory
        small = 3 * len(self._orders) * len(p) <= _PRESORT_MAX
        self._by_value = [
            (p[o], ysum[o], None if self._w is None else self._w[o]) if small else None
            for o in self._orders
        ]
        self._steps = {}  # (attribute, other restrictions) -> (levels, score)
        self._q = {}  # restrictions -> q_mle of the subset they define

    def _restriction(self, subset, skip=None):
        """The attributes ``subset`` restricts (but ``skip``) and, for each, which of
        its codes it keeps (``allowed[r, code]``), as the kernels take them."""
        cols = np.array([j for j in subset if j != skip], dtype=np.intp)
        allowed = np.zeros((len(cols), max(self.n_levels)), dtype=np.uint8)
        for r, j in enumerate(cols):
            allowed[r, subset[j]] = 1
        return cols, allowed

    def _keep(self, codes, subset, skip=None):
        """Boolean mask of the rows of ``codes`` in ``subset`` (the attribute ``skip``
        left free)."""
        cols, allowed = self._restriction(subset, skip)
        if not len(cols):
            return np.ones(len(codes), dtype=bool)
        return _kernels().keep_mask(codes, cols, allowed).view(bool)

    def _one(self, rows):
        w, p = self.w[rows], self.p[rows]
        segs = _Segments(p, None if self._w is None else w, [0], [len(p)])
        return np.array([self.ysum[rows].sum()]), np.array([w.sum()]), segs

    def score_subset(self, subset, q=None):
        Y, N, segs = self._one(self._keep(self.codes, subset))
        if q is None:
            q = self.scorer.qmle(Y, N, segs)
        total_penalty = self.penalty * sum(len(v) for v in subset.values())
        return float(np.round(self.scorer.score(Y, N, q, total_penalty, segs)[0], _SCORE_DECIMALS))

    def best_values(self, subset, j, q_all=None):
        """Best levels of attribute ``j`` given the others (None: leave it free), the
        q_mle of the subset they give and its penalised score (rounded).
        ``q_all``: the q_mle of ``subset`` if known."""
        scorer, penalty = self.scorer, self.penalty
        others = penalty * sum(len(v) for i, v in subset.items() if i != j)
        m = self.n_levels[j]
        # the kept cells grouped by value of j (stably), in one pass
        cols, allowed = self._restriction(subset, skip=j)
        p_j, ys_j, w_j = self._by_value[j] or (self.p, self.ysum, self._w)
        p, w, counts, Y, N = _kernels().gather_cells(
            self._orders[j],
            self._bounds[j],
            self.codes,
            cols,
            allowed,
            p_j,
            ys_j,
            _NO_WEIGHTS if w_j is None else w_j,
            self._by_value[j] is not None,
        )
        w = None if self._w is None else w
        # the cells of value v: vs[v]:ve[v]; every value together: 0:len(p)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        vs, ve = bounds[:-1], bounds[1:]

        # q_mle of every value of the attribute, and of all values together (segment m)
        Y1, N1 = np.append(Y, Y.sum()), np.append(N, N.sum())
        segs1 = _Segments(p, w, np.append(vs, 0), np.append(ve, len(p)))
        if q_all is None:
            q1 = scorer.qmle(Y1, N1, segs1)
        else:  # the rows of all values are the subset, whose q_mle is known
            q1 = np.append(scorer.qmle(Y, N, segs1.restrict(np.arange(m))), q_all)
        score1 = scorer.score(Y1, N1, q1, np.append(np.full(m, penalty), 0.0), segs1)
        q_mle, q_all, all_score = q1[:m], q1[m:], score1[m]
        exist = (N > 0) & (score1[:m] > 0)

        best_score, best, best_q = 0.0, None, None
        if exist.any():
            # the interval of q where each value's own contribution is positive
            # (only the rows of values with a positive score take part)
            es, ee = np.where(exist, vs, 0), np.where(exist, ve, 0)
            segs2 = _Segments(p, w, np.tile(es, 2), np.tile(ee, 2))
            q2 = np.tile(q_mle, 2)
            lo = np.where(np.tile(exist, 2), np.append(np.full(m, scorer.q_floor), q_mle), q2)
            hi = np.where(np.tile(exist, 2), np.append(q_mle, np.full(m, scorer.q_ceiling)), q2)
            left = np.arange(2 * m) < m
            Y2, N2, peak = np.tile(Y, 2), np.tile(N, 2), np.tile(score1[:m], 2)
            r = _roots(scorer, Y2, N2, penalty, segs2, lo, hi, left, peak)
            exist, q_min, q_max = scorer.clip_roots(exist, r[:m], r[m:])
            thresholds = np.unique(np.concatenate([q_min[exist], q_max[exist]]))
            if len(thresholds) > 1:
                mids = (thresholds[:-1] + thresholds[1:]) / 2
                inside = exist[:, None] & (q_min[:, None] < mids) & (q_max[:, None] > mids)
                inside = inside[:, inside.any(axis=0)]
                k = inside.shape[1]
                if k:
                    # each candidate: the cells of its values, one value after the other
                    cand, val = np.nonzero(inside.T)
                    ptr = np.searchsorted(cand, np.arange(k + 1))
                    segs3 = _Segments(p, w, vs[val], ve[val], ptr)
                    Y3, N3 = Y @ inside, N @ inside
                    q3 = scorer.qmle(Y3, N3, segs3)
                    score3 = scorer.score(Y3, N3, q3, penalty * inside.sum(axis=0), segs3)
                    top = int(np.argmax(score3))
                    if score3[top] > 0:
                        best_score, best = score3[top], np.flatnonzero(inside[:, top])
                        best_q = q3[top : top + 1]
                        best_segs, best_Y, best_N = segs3.restrict([top]), Y3[top], N3[top]
        if (
            best is not None
            and isinstance(scorer, _Bernoulli)
            and len(best) == np.count_nonzero(N)
            and abs(all_score - best_score) <= 1e-9 * (1 + abs(best_score))
        ):
            # the best interval holds every value present, as leaving the attribute free
            # does: a tie up to rounding, decided by the sums in the reference order
            all_score, best_score = self._exact_tie(subset, j, best)
        if best is None or all_score > best_score:
            # the rows of all values in the same order: score1[m] without the penalty
            score = score1[m] - others
            return None, q_all, float(np.round(score, _SCORE_DECIMALS))
        total = others + penalty * len(best)
        score = scorer.score(np.array([best_Y]), np.array([best_N]), best_q, total, best_segs)
        return best, best_q, float(np.round(score[0], _SCORE_DECIMALS))

    def _exact_tie(self, subset, j, best):
        codes, y, e = self.raw
        if j not in self._raw_orders:
            self._raw_orders[j] = _stable_order(codes[:, j], self.n_levels[j])
        order = self._raw_orders[j]
        keep = self._keep(codes, subset, skip=j)
        grouped = order[keep[order]]  # kept rows, by value of j, stably
        cj = codes[grouped, j]
        bounds = np.flatnonzero(np.diff(cj)) + 1
        observed = 0.0
        for part in np.split(y[grouped], bounds):
            observed += part.sum()
        interval = self.scorer.exact(observed, e[grouped], self.penalty * len(best))
        free = self.scorer.exact(y[keep].sum(), e[keep], 0.0)
        return free, interval

    def random_subset(self, rng, prob, first_seen, n_cols):
        subset = {}
        for j in rng.permutation(n_cols):
            levels = first_seen[j]
            keep = rng.rand(len(levels)) < prob
            if keep.sum() < len(levels):
                subset[j] = levels[keep]
                if self.w[self._keep(self.codes, subset)].sum() < _MIN_RESTART_ROWS:
                    del subset[j]
        return subset

    def scan(self, num_iters, rng, first_seen):
        d = self.codes.shape[1]
        best_subset, best_score = {}, -1e10
        for it in range(num_iters):
            flags = np.zeros(d, dtype=bool)
            if it == 0:
                subset = {}
            else:
                prob = rng.rand(1).item()
                subset = self.random_subset(rng, prob, first_seen, d)
            score = self.score_subset(subset, self._q.get(_key(subset)))
            while not flags.all():
                j = rng.choice(d)
                while flags[j]:
                    j = rng.choice(d)
                subset.pop(j, None)
                # a step is a function of (attribute, other restrictions): the coordinate
                # ascent and the restarts often repeat one, so its outcome is kept
                others = _key(subset)
                key = (j, others)
                if key not in self._steps:
                    values, q, candidate_score = self.best_values(subset, j, self._q.get(others))
                    candidate = dict(subset)
                    if values is not None:
                        candidate[j] = values
                    self._q[_key(candidate)] = q
                    self._steps[key] = (values, candidate_score)
                values, candidate_score = self._steps[key]
                candidate = dict(subset)
                if values is not None:
                    candidate[j] = values
                if candidate_score > score + 1e-6:
                    flags[:] = False
                flags[j] = True
                subset, score = candidate, candidate_score
            if score > best_score:
                best_subset, best_score = dict(subset), score
        return best_subset, best_score


# ---------------------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------------------


def _as_vector(values, name, n):
    values = to_pandas(values)
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}.")
    if len(arr) != n:
        raise ValueError(
            f"{name} has {len(arr)} entries but X has {n} rows; they must have the same length."
        )
    return arr


def _check_search(X, overpredicted, penalty, num_iters):
    """The checks :func:`bias_scan` and :func:`bias_scan_counts` share: the attribute
    frame (rows, columns, no missing value) and the search's parameters."""
    if len(X) == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}.")
    if X.isna().any().any():
        bad = [c for c in X.columns if X[c].isna().any()]
        raise ValueError(
            f"X has missing values in column(s) {_param_repr(bad)}; "
            "encode them as a value of their own before scanning."
        )
    if not isinstance(overpredicted, (bool, np.bool_)):
        raise ValueError(f"overpredicted must be a bool; got {_param_repr(overpredicted)}.")
    if (
        not isinstance(penalty, Real)
        or isinstance(penalty, bool)
        or not np.isfinite(penalty)
        or penalty < 0
    ):
        raise ValueError(f"penalty must be a finite number >= 0; got {_param_repr(penalty)}.")
    if not isinstance(num_iters, Integral) or isinstance(num_iters, bool) or num_iters < 1:
        raise ValueError(f"num_iters must be a positive integer; got {_param_repr(num_iters)}.")


def _encode(X):
    """Each column's codes in sorted-level order ((n, d) array), its levels, its codes in
    order of first appearance (the order of the random restarts) and its number of
    levels; a warning for a numeric column with many levels."""
    codes = np.empty(X.shape, dtype=np.intp)
    levels, first_seen, n_levels = [], [], []
    for j, col in enumerate(X.columns):
        series = X[col]
        try:
            c, uniq = pd.factorize(series, sort=True)
        except TypeError:
            raise ValueError(f"column {col!r} of X mixes types that cannot be sorted.") from None
        if is_continuous_attribute(series, len(uniq)):
            warnings.warn(
                f"column {col!r} of X is numeric with {len(uniq)} levels; the scan "
                "treats each value as a category (bin it first, e.g. with pandas.cut).",
                UserWarning,
                stacklevel=3,
            )
        codes[:, j] = c
        levels.append(np.asarray(uniq, dtype=object))
        first_seen.append(pd.unique(c))
        n_levels.append(len(uniq))
    return codes, levels, first_seen, n_levels


def _run(scanner, X, levels, first_seen, num_iters, random_state):
    """The scan, and its subset of codes as a :class:`BiasScanResult` of values."""
    subset, score = scanner.scan(int(num_iters), check_random_state(random_state), first_seen)
    subgroup = {X.columns[j]: levels[j][np.sort(v)].tolist() for j, v in sorted(subset.items())}
    return BiasScanResult(subgroup, score)


def _check_columns(X, columns):
    if columns is None:
        return X
    cols = [columns] if isinstance(columns, (str, Integral)) else list(columns)
    missing = [c for c in cols if c not in X.columns]
    if missing or not cols:
        raise ValueError(
            f"columns={_param_repr(columns)} names columns absent from X: "
            f"{_param_repr(missing)}; X has {_param_repr(list(X.columns))}."
        )
    return X[cols]


def _cells(prob, codes, n_levels):
    """The distinct rows (probability, codes), sorted by probability then codes: the
    first row of each, and each row's cell."""
    distinct, key = np.unique(prob, return_inverse=True)
    key = key.ravel()
    if len(distinct) == len(key):  # every probability distinct: a cell per row, by probability
        first = np.empty(len(key), dtype=np.intp)
        first[key] = np.arange(len(key))
        return first, key
    size = int(key.max()) + 1 if len(key) else 1
    for j in range(codes.shape[1]):  # one integer per distinct row
        if size * int(n_levels[j]) >= 2**62:  # re-code to keep it small
            _, key = np.unique(key, return_inverse=True)
            key = key.ravel()
            size = int(key.max()) + 1
        key = key * n_levels[j] + codes[:, j]
        size *= int(n_levels[j])
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def bias_scan(
    X,
    y_true,
    y_prob=None,
    *,
    pos_label=None,
    overpredicted=True,
    scoring="Bernoulli",
    alpha=None,
    penalty=1e-17,
    num_iters=10,
    columns=None,
    random_state=None,
):
    """Find the subgroup whose observed outcomes deviate most from the predictions (MDSS).

    Multi-dimensional subset scanning [1]_ over conjunctions of attribute values; see the
    module :mod:`fairkit.metrics.bias_scan` for the score and the search. With
    ``random_state=0`` the result equals AIF360's ``bias_scan`` (binary mode).

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_attributes)
        The attributes whose values define subgroups (categorical, or numeric with few
        levels; bin a continuous column first). A 2-d array's columns are named 0, 1, ...
    y_true : array-like of shape (n_samples,)
        Observed binary outcomes.
    y_prob : array-like of shape (n_samples,), default=None
        Predicted probabilities of ``pos_label``, in [0, 1]. None means a constant
        prediction, the rate of ``pos_label`` in ``y_true``.
    pos_label : scalar, default=None
        The outcome counted as 1; None means the greater of the two values.
    overpredicted : bool, default=True
        True scans for a subgroup whose predictions are systematically higher than its
        observed outcomes; False for one whose predictions are lower.
    scoring : {"Bernoulli", "BerkJones"}, default="Bernoulli"
        Scan statistic. "BerkJones" needs a constant expectation (``y_prob`` constant or
        None).
    alpha : float in (0, 1), default=None
        Expected rate of the Berk-Jones score; None means the constant value of
        ``y_prob``. Ignored (with an error if given) for "Bernoulli".
    penalty : float, default=1e-17
        Non-negative penalty per attribute value restricting the subgroup: larger values
        return simpler subgroups.
    num_iters : int, default=10
        Number of starts of the coordinate ascent: all rows, then ``num_iters - 1``
        random subgroups.
    columns : list of column labels, default=None
        Columns of ``X`` to scan; None means all.
    random_state : int, RandomState instance or None, default=None
        Seed of the random restarts and of the order of the coordinate steps; an int
        gives the same result on every call (0 gives AIF360's result).

    Returns
    -------
    result : BiasScanResult
        Named tuple ``(subgroup, score)``: ``subgroup`` maps each restricted column to
        the sorted list of its kept values, ``score`` is the penalised score (rounded to
        4 decimals, as the search compares rounded scores).

    Examples
    --------
    >>> import pandas as pd
    >>> from fairkit.metrics import bias_scan
    >>> X = pd.DataFrame({"a": ["x", "y"] * 50, "b": ["u"] * 50 + ["v"] * 50})
    >>> y = [0] * 50 + [1, 1] * 25
    >>> subgroup, score = bias_scan(X, y, [0.5] * 100, penalty=0.01, random_state=0)
    >>> subgroup, round(score, 2)
    ({'b': ['u']}, 34.57)

    References
    ----------
    .. [1] Z. Zhang, D. B. Neill, "Identifying Significant Predictive Bias in Classifiers",
       FATML workshop, 2016 (arXiv:1611.08292).
    """
    X = to_pandas(X)
    if not isinstance(X, pd.DataFrame):
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"X must be two-dimensional; got shape {arr.shape}.")
        X = pd.DataFrame(arr)
    X = _check_columns(X, columns)
    n = len(X)
    _check_search(X, overpredicted, penalty, num_iters)
    if scoring not in _SCORINGS:
        raise ValueError(f"scoring must be one of {_SCORINGS}; got {_param_repr(scoring)}.")

    y = _as_vector(y_true, "y_true", n)
    labels = pd.unique(y)
    if pd.isna(labels).any():
        raise ValueError("y_true has missing values.")
    if len(labels) > 2:
        raise ValueError(
            f"y_true must be binary; got {len(labels)} values "
            f"{_param_repr(sorted(labels.tolist()))}."
        )
    if pos_label is None:
        pos_label = max(labels.tolist())
    elif pos_label not in labels.tolist():
        raise ValueError(
            f"pos_label={_param_repr(pos_label)} is not a value of y_true "
            f"{_param_repr(sorted(labels.tolist()))}."
        )
    y01 = (y == pos_label).astype(float)

    if y_prob is None:
        prob = np.full(n, y01.mean())
    else:
        prob = _as_vector(y_prob, "y_prob", n)
        try:
            prob = prob.astype(float)
        except (TypeError, ValueError):
            raise ValueError("y_prob must hold numbers (probabilities in [0, 1]).") from None
        if not np.all(np.isfinite(prob)) or prob.min() < 0 or prob.max() > 1:
            raise ValueError(
                "y_prob must hold probabilities in [0, 1]; got values in "
                f"[{np.nanmin(prob):.4g}, {np.nanmax(prob):.4g}]"
                + (" and non-finite values." if not np.all(np.isfinite(prob)) else ".")
            )

    direction = "negative" if overpredicted else "positive"
    if scoring == "BerkJones":
        if np.ptp(prob) != 0:
            raise ValueError(
                "scoring='BerkJones' needs a constant expectation (y_prob "
                "constant or None); use scoring='Bernoulli' for model scores."
            )
        if alpha is None:
            alpha = float(prob[0])
        if not isinstance(alpha, Real) or isinstance(alpha, bool) or not 0 < alpha < 1:
            raise ValueError(f"alpha must be a number in (0, 1); got {_param_repr(alpha)}.")
        scorer = _BerkJones(direction, float(alpha))
        if direction == "negative":
            y01 = 1 - y01
    else:
        if alpha is not None:
            raise ValueError(
                f"alpha={_param_repr(alpha)} only acts with "
                "scoring='BerkJones'; leave it None for 'Bernoulli'."
            )
        scorer = _Bernoulli(direction)

    codes, levels, first_seen, n_levels = _encode(X)

    # one cell per distinct (attribute codes, probability): counts and outcome sums
    first, inverse = _cells(prob, codes, n_levels)
    weights = np.bincount(inverse).astype(float)
    ysum = np.bincount(inverse, weights=y01)
    scanner = _Scanner(
        codes[first],
        np.array(n_levels),
        weights,
        ysum,
        prob[first],
        scorer,
        float(penalty),
        (codes, y01, prob),
    )
    return _run(scanner, X, levels, first_seen, num_iters, random_state)


class _CellScanner(_Scanner):
    """The scan of aggregated rows: a tie between leaving an attribute free and keeping
    every value present (the same rows) is scored on the cells, weighted by their counts,
    instead of on the rows in file order."""

    def _exact_tie(self, subset, j, best):
        keep = self._keep(self.codes, subset, skip=j)
        observed = self.ysum[keep].sum()
        free = self.scorer.exact(observed, self.p[keep], 0.0, self.w[keep])
        return free, free - self.penalty * len(best)


def bias_scan_counts(
    X,
    n_rows,
    n_positive,
    y_prob,
    *,
    overpredicted=True,
    penalty=1e-17,
    num_iters=10,
    random_state=None,
):
    """Bernoulli bias scan of aggregated rows: one row per (attribute values, probability).

    The Bernoulli score of a subgroup depends on its rows only through the number of rows
    and of positive outcomes at each distinct predicted probability, so a data set too
    large for memory can be scanned from those counts (accumulated over chunks). With
    the rows of ``X`` in order of first appearance in the data (the order in which
    :func:`bias_scan` draws its random restarts), the result equals
    :func:`bias_scan` on the rows themselves, except where ``bias_scan`` decides a
    tie between leaving a column free and keeping every value present by the rounding
    of sums in row order; any ``penalty`` above about 1e-9 leaves no such tie.

    Parameters
    ----------
    X : DataFrame of shape (n_cells, n_attributes)
        The attribute values of each cell (bin continuous columns first).
    n_rows : array-like of shape (n_cells,)
        Number of rows in each cell (positive).
    n_positive : array-like of shape (n_cells,)
        Number of those rows with a positive outcome (0 <= n_positive <= n_rows).
    y_prob : array-like of shape (n_cells,)
        The predicted probability shared by the rows of each cell, in [0, 1].
    overpredicted : bool, default=True
        As in :func:`bias_scan`.
    penalty : float, default=1e-17
        As in :func:`bias_scan`.
    num_iters : int, default=10
        As in :func:`bias_scan`.
    random_state : int, RandomState instance or None, default=None
        As in :func:`bias_scan`.

    Returns
    -------
    result : BiasScanResult
        As :func:`bias_scan` returns.
    """
    X = to_pandas(X)
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"X must be a DataFrame of cells; got {type(X).__name__}.")
    n = len(X)
    _check_search(X, overpredicted, penalty, num_iters)
    w = _as_vector(n_rows, "n_rows", n).astype(float)
    ys = _as_vector(n_positive, "n_positive", n).astype(float)
    prob = _as_vector(y_prob, "y_prob", n).astype(float)
    if not np.all(np.isfinite(w)) or w.min() <= 0:
        raise ValueError("n_rows must hold positive counts.")
    if not np.all(np.isfinite(ys)) or ys.min() < 0 or np.any(ys > w):
        raise ValueError("n_positive must lie between 0 and n_rows in every cell.")
    if not np.all(np.isfinite(prob)) or prob.min() < 0 or prob.max() > 1:
        raise ValueError("y_prob must hold probabilities in [0, 1].")

    codes, levels, first_seen, n_levels = _encode(X)

    # the cells of bias_scan, in its order (sorted probability, then codes)
    first, inverse = _cells(prob, codes, n_levels)
    scanner = _CellScanner(
        codes[first],
        np.array(n_levels),
        np.bincount(inverse, weights=w),
        np.bincount(inverse, weights=ys),
        prob[first],
        _Bernoulli("negative" if overpredicted else "positive"),
        float(penalty),
        None,
    )
    return _run(scanner, X, levels, first_seen, num_iters, random_state)
