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
probability) cells with their counts and outcome sums; the bisections for ``q`` of all
values of an attribute (and of all candidate intervals) run together in numpy; and a
coordinate step, a function of the attribute and the other restrictions, is computed once
and looked up when the ascent or a restart repeats it.

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


def _bisection_steps(lo, hi):
    steps = 0
    while abs(hi - lo) > _Q_TOL:
        lo, steps = lo + (hi - lo) / 2, steps + 1
    return steps


_QMLE_STEPS = _bisection_steps(_Q_LOW, _Q_HIGH)


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
    """Cells grouped into ``n`` (possibly overlapping) candidate subsets."""

    __slots__ = ("seg", "w", "p", "a", "n")

    def __init__(self, seg, w, p, n):
        # w None: every cell is one row (no weighting needed)
        self.seg, self.p, self.a, self.n = seg, p, 1 - p, n
        self.w = None if w is None or (len(w) and w.min() == 1 and w.max() == 1) else w

    def total(self, values):
        if self.w is not None:
            values = self.w * values
        return np.bincount(self.seg, weights=values, minlength=self.n)


class _Bernoulli:
    """Bernoulli log-likelihood ratio (observed sum ``Y``, predicted probabilities)."""

    def __init__(self, direction):
        self.direction = direction
        self.q_floor = _Q_LOW
        self.q_ceiling = _Q_HIGH

    def score(self, Y, N, q, penalty, segs):
        qc = q[segs.seg]
        return Y * np.log(q) - segs.total(np.log(segs.a + qc * segs.p)) - penalty

    def qmle(self, Y, N, segs):
        # bisection on q * dF/dq = Y - sum_i q p_i / (1 - p_i + q p_i), decreasing in q;
        # every segment starts on the same bracket, so all take the same number of steps
        lo = np.full(len(Y), _Q_LOW)
        hi = np.full(len(Y), _Q_HIGH)
        p, a, seg = segs.p, segs.a, segs.seg
        for _ in range(_QMLE_STEPS):
            qp = ((lo + hi) / 2)[seg] * p
            up = segs.total(qp / (a + qp)) < Y
            half = (hi - lo) / 2
            lo += half * up  # moves only where up (adding 0 elsewhere is exact)
            hi -= half * ~up
        q = (lo + hi) / 2
        if self.direction == "positive":
            return np.where(q < 1, 1.0, q)
        return np.where(q > 1, 1.0, q)

    def clip_roots(self, exist, q_min, q_max):
        if self.direction == "positive":
            exist = exist & ~(q_max < 1)
            q_min = np.where(exist & (q_min < 1), 1.0, q_min)
        else:
            exist = exist & ~(q_min > 1)
            q_max = np.where(exist & (q_max > 1), 1.0, q_max)
        return exist, q_min, q_max

    def exact(self, observed_sum, expectations, penalty):
        """Score of one subset summed in the given row order (ties decided as the
        reference implementation decides them)."""
        lo, hi = _Q_LOW, _Q_HIGH
        e = expectations
        while abs(hi - lo) > _Q_TOL:
            mid = (lo + hi) / 2
            if np.sign(observed_sum - (mid * e / (1 - e + mid * e)).sum()) > 0:
                lo = lo + (hi - lo) / 2
            else:
                hi = hi - (hi - lo) / 2
        q = (lo + hi) / 2
        if (self.direction == "positive" and q < 1) or (self.direction == "negative" and q > 1):
            q = 1
        return observed_sum * np.log(q) - np.log(1 - e + q * e).sum() - penalty


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


def _roots(scorer, Y, N, penalty, segs, lo, hi, left):
    """Bisection for the zeros of the scores on [lo, hi]: below q_mle where ``left`` (the
    score increases there), above it elsewhere."""
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
# the scan
# ---------------------------------------------------------------------------------------


def _key(subset):
    return tuple(sorted((j, tuple(sorted(v))) for j, v in subset.items()))


class _Scanner:
    def __init__(self, codes, n_levels, weights, ysum, p, scorer, penalty, rows):
        self.codes = codes  # (n_cells, d) codes in sorted-level order
        self.n_levels = n_levels
        self.w = weights
        self.ysum = ysum
        self.p = p
        self.scorer = scorer
        self.penalty = penalty
        self.raw = rows  # (codes, y, p) of the original rows, in their order
        self._steps = {}  # (attribute, other restrictions) -> (levels, score)
        self._q = {}  # restrictions -> q_mle of the subset they define

    def _keep(self, codes, subset, skip=None):
        keep = np.ones(len(codes), dtype=bool)
        for j, levels in subset.items():
            if j != skip:
                allowed = np.zeros(self.n_levels[j], dtype=bool)
                allowed[levels] = True
                keep &= allowed[codes[:, j]]
        return keep

    def _one(self, rows):
        w, p = self.w[rows], self.p[rows]
        segs = _Segments(np.zeros(len(w), dtype=np.intp), w, p, 1)
        return np.array([self.ysum[rows].sum()]), np.array([w.sum()]), segs

    def score_subset(self, subset, q=None):
        Y, N, segs = self._one(self._keep(self.codes, subset))
        if q is None:
            q = self.scorer.qmle(Y, N, segs)
        total_penalty = self.penalty * sum(len(v) for v in subset.values())
        return float(np.round(self.scorer.score(Y, N, q, total_penalty, segs)[0], _SCORE_DECIMALS))

    def best_values(self, subset, j, q_all=None):
        """Best levels of attribute ``j`` given the others (None: leave it free), and the
        q_mle of the subset they give. ``q_all``: the q_mle of ``subset`` if known."""
        scorer, penalty = self.scorer, self.penalty
        rows = self._keep(self.codes, subset, skip=j)
        cj = self.codes[rows, j]
        w, p, ys = self.w[rows], self.p[rows], self.ysum[rows]
        m = self.n_levels[j]
        Y = np.bincount(cj, weights=ys, minlength=m)
        N = np.bincount(cj, weights=w, minlength=m)

        # q_mle of every value of the attribute, and of all values together (segment m)
        Y1, N1 = np.append(Y, Y.sum()), np.append(N, N.sum())
        w2, p2 = np.concatenate([w, w]), np.concatenate([p, p])
        segs1 = _Segments(np.concatenate([cj, np.full(len(cj), m)]), w2, p2, m + 1)
        if q_all is None:
            q1 = scorer.qmle(Y1, N1, segs1)
        else:  # the rows of all values are the subset, whose q_mle is known
            q1 = np.append(scorer.qmle(Y, N, _Segments(cj, w, p, m)), q_all)
        score1 = scorer.score(Y1, N1, q1, np.append(np.full(m, penalty), 0.0), segs1)
        q_mle, q_all, all_score = q1[:m], q1[m:], score1[m]
        exist = (N > 0) & (score1[:m] > 0)

        best_score, best, best_q = 0.0, None, None
        if exist.any():
            # the interval of q where each value's own contribution is positive
            # (only the rows of values with a positive score take part)
            on = exist[cj]
            ce, we, pe = cj[on], w[on], p[on]
            segs2 = _Segments(
                np.concatenate([ce, ce + m]),
                np.concatenate([we, we]),
                np.concatenate([pe, pe]),
                2 * m,
            )
            q2 = np.tile(q_mle, 2)
            lo = np.where(np.tile(exist, 2), np.append(np.full(m, scorer.q_floor), q_mle), q2)
            hi = np.where(np.tile(exist, 2), np.append(q_mle, np.full(m, scorer.q_ceiling)), q2)
            left = np.arange(2 * m) < m
            r = _roots(scorer, np.tile(Y, 2), np.tile(N, 2), penalty, segs2, lo, hi, left)
            exist, q_min, q_max = scorer.clip_roots(exist, r[:m], r[m:])
            thresholds = np.unique(np.concatenate([q_min[exist], q_max[exist]]))
            if len(thresholds) > 1:
                mids = (thresholds[:-1] + thresholds[1:]) / 2
                inside = exist[:, None] & (q_min[:, None] < mids) & (q_max[:, None] > mids)
                inside = inside[:, inside.any(axis=0)]
                k = inside.shape[1]
                if k:
                    cell, seg = np.nonzero(inside[cj])
                    segs3 = _Segments(seg, w[cell], p[cell], k)
                    Y3, N3 = Y @ inside, N @ inside
                    q3 = scorer.qmle(Y3, N3, segs3)
                    score3 = scorer.score(Y3, N3, q3, penalty * inside.sum(axis=0), segs3)
                    top = int(np.argmax(score3))
                    if score3[top] > 0:
                        best_score, best = score3[top], np.flatnonzero(inside[:, top])
                        best_q = q3[top : top + 1]
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
            return None, q_all
        return best, best_q

    def _exact_tie(self, subset, j, best):
        codes, y, e, orders = self.raw
        keep = self._keep(codes, subset, skip=j)
        grouped = orders[j][keep[orders[j]]]  # kept rows, by value of j, stably
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
            score = self.score_subset(subset)
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
                    values, q = self.best_values(subset, j, self._q.get(others))
                    candidate = dict(subset)
                    if values is not None:
                        candidate[j] = values
                    self._q[_key(candidate)] = q
                    self._steps[key] = (values, self.score_subset(candidate, q))
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
    if n == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}.")
    if X.isna().any().any():
        bad = [c for c in X.columns if X[c].isna().any()]
        raise ValueError(
            f"X has missing values in column(s) {_param_repr(bad)}; "
            "encode them as a value of their own before scanning."
        )

    if scoring not in _SCORINGS:
        raise ValueError(f"scoring must be one of {_SCORINGS}; got {_param_repr(scoring)}.")
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

    # encode attribute columns: sorted levels, and levels in order of first appearance
    d = X.shape[1]
    codes = np.empty((n, d), dtype=np.intp)
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
                stacklevel=2,
            )
        codes[:, j] = c
        levels.append(np.asarray(uniq, dtype=object))
        _, first = np.unique(c, return_index=True)
        first_seen.append(c[np.sort(first)])
        n_levels.append(len(uniq))

    # one cell per distinct (attribute codes, probability): counts and outcome sums
    _, key = np.unique(prob, return_inverse=True)
    for j in range(d):  # one integer per distinct row, kept small by re-coding
        _, key = np.unique(key.ravel() * n_levels[j] + codes[:, j], return_inverse=True)
    inverse = key.ravel()
    first = np.unique(inverse, return_index=True)[1]
    cells = np.column_stack([codes[first], prob[first]])
    weights = np.bincount(inverse).astype(float)
    ysum = np.bincount(inverse, weights=y01)
    scanner = _Scanner(
        cells[:, :d].astype(np.intp),
        np.array(n_levels),
        weights,
        ysum,
        cells[:, d],
        scorer,
        float(penalty),
        (codes, y01, prob, [np.argsort(c, kind="stable") for c in codes.T]),
    )
    rng = check_random_state(random_state)
    subset, score = scanner.scan(int(num_iters), rng, first_seen)
    subgroup = {X.columns[j]: levels[j][np.sort(v)].tolist() for j, v in sorted(subset.items())}
    return BiasScanResult(subgroup, score)


class _CellScanner(_Scanner):
    """The scan of aggregated rows: a tie between leaving an attribute free and keeping
    every value present (the same rows) is scored on the cells, weighted by their counts,
    instead of on the rows in file order."""

    def _exact_tie(self, subset, j, best):
        keep = self._keep(self.codes, subset, skip=j)
        w, e, observed = self.w[keep], self.p[keep], self.ysum[keep].sum()
        lo, hi = _Q_LOW, _Q_HIGH
        while abs(hi - lo) > _Q_TOL:
            mid = (lo + hi) / 2
            if np.sign(observed - (w * (mid * e / (1 - e + mid * e))).sum()) > 0:
                lo = lo + (hi - lo) / 2
            else:
                hi = hi - (hi - lo) / 2
        q = (lo + hi) / 2
        direction = self.scorer.direction
        if (direction == "positive" and q < 1) or (direction == "negative" and q > 1):
            q = 1
        free = observed * np.log(q) - (w * np.log(1 - e + q * e)).sum()
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
    if n == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}.")
    if X.isna().any().any():
        bad = [c for c in X.columns if X[c].isna().any()]
        raise ValueError(f"X has missing values in column(s) {_param_repr(bad)}.")
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
    w = _as_vector(n_rows, "n_rows", n).astype(float)
    ys = _as_vector(n_positive, "n_positive", n).astype(float)
    prob = _as_vector(y_prob, "y_prob", n).astype(float)
    if not np.all(np.isfinite(w)) or w.min() <= 0:
        raise ValueError("n_rows must hold positive counts.")
    if not np.all(np.isfinite(ys)) or ys.min() < 0 or np.any(ys > w):
        raise ValueError("n_positive must lie between 0 and n_rows in every cell.")
    if not np.all(np.isfinite(prob)) or prob.min() < 0 or prob.max() > 1:
        raise ValueError("y_prob must hold probabilities in [0, 1].")

    d = X.shape[1]
    codes = np.empty((n, d), dtype=np.intp)
    levels, first_seen, n_levels = [], [], []
    for j, col in enumerate(X.columns):
        try:
            c, uniq = pd.factorize(X[col], sort=True)
        except TypeError:
            raise ValueError(f"column {col!r} of X mixes types that cannot be sorted.") from None
        codes[:, j] = c
        levels.append(np.asarray(uniq, dtype=object))
        _, first = np.unique(c, return_index=True)
        first_seen.append(c[np.sort(first)])
        n_levels.append(len(uniq))

    # the cells of bias_scan, in its order (sorted probability, then codes)
    _, key = np.unique(prob, return_inverse=True)
    for j in range(d):
        _, key = np.unique(key.ravel() * n_levels[j] + codes[:, j], return_inverse=True)
    inverse = key.ravel()
    first = np.unique(inverse, return_index=True)[1]
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
    subset, score = scanner.scan(int(num_iters), check_random_state(random_state), first_seen)
    subgroup = {X.columns[j]: levels[j][np.sort(v)].tolist() for j, v in sorted(subset.items())}
    return BiasScanResult(subgroup, score)
