"""Distance-covariance regularised models: dCov, JdCov and CCdCov penalties.

Lee, Antonio, Avanzi, Marchi & Zhou (2025) train a model on

.. math::

    \\min_\\theta \\; L(y, \\hat y_\\theta) + \\lambda \\, R(\\hat y_\\theta, S)

where :math:`L` is the task loss, :math:`\\hat y` the model output (probability, mean or
Poisson rate) and :math:`R` a distance-covariance measure of dependence between the output
and the protected attributes :math:`S = (S_1, \\dots, S_d)` of mixed types, which are not
model inputs. This module implements the penalty and its gradient in numpy (O(n log n)
without any n x n matrix when each attribute is 1-D or takes few distinct values), linear /
GLM and small multilayer-perceptron models trained with analytic gradients (L-BFGS full
batch, Adam mini-batches), and a helper that calibrates :math:`\\lambda`.

Penalty algebra
---------------
For a symmetric kernel matrix :math:`F` on the attributes (distances for dCov), let
:math:`M` be its double-centred (V) or U-centred (U) version. With
:math:`\\sigma_{kj} = \\mathrm{sign}(\\hat y_k - \\hat y_j)` and

.. math::

    g_k = \\sum_j \\sigma_{kj} M_{kj},

the penalty :math:`\\frac{1}{n^2}\\sum_{k,j} |\\hat y_k - \\hat y_j| M_{kj}` equals
:math:`\\frac{2}{n^2} \\hat y^\\top g` and its gradient is :math:`\\frac{2}{n^2} g`
(:math:`\\frac{2}{n(n-3)}` for the U-statistic). Writing
:math:`M_{kj} = F_{kj} - u_k - u_j + w`, :math:`g` needs only signed sums
:math:`\\sum_j \\sigma_{kj} F_{kj}`, :math:`\\sum_j \\sigma_{kj} u_j` and the counts
:math:`\\sum_j \\sigma_{kj}`, which sorting :math:`\\hat y` gives in O(n log n): per level when
:math:`F` depends only on a few levels of :math:`S` (categorical or intersectional), and by
a Fenwick tree over the ranks of :math:`S` (compiled with numba, which comes with dcor; a
vectorised merge-sort count below ``NUMBA_MIN_ROWS`` rows) when :math:`S` is 1-D continuous.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.optimize import minimize
from scipy.spatial.distance import cdist
from scipy.special import expit, xlogy
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _num_samples,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._protected import _drop_columns, resolve_protected
from ..base import ProtectedAttributeMixin
from ..metrics.dependence import (
    concatenated_distance_covariance,
    distance_correlation,
    encode_protected_attributes,
    jensen_shannon_divergence,
    joint_distance_covariance,
    unfairness_ratio,
)

__all__ = [
    "DCovRegularizedClassifier",
    "DCovRegularizedRegressor",
    "dcov_penalty",
    "calibrate_lambda",
    "plot_lambda_calibration",
]

#: An attribute block with at most this many distinct rows uses the per-level fast path
#: (O(levels x n) time, O(n + levels^2) memory) ...
MAX_LEVELS = 64
#: ... and so does one with up to n / 2 distinct rows, capped here (the level table is
#: levels^2 floats). Per entry the level path is ~10x cheaper than the n x n path, so this
#: is also the faster exact route for, e.g., sex x race x integer age on COMPAS.
MAX_LEVELS_LARGE = 2048
#: Largest batch for which the n x n path is allowed (memory ~ 8 n^2 bytes per matrix).
MAX_DENSE = 6000


def _level_limit(n):
    return max(MAX_LEVELS, min(n // 2, MAX_LEVELS_LARGE))


# --------------------------------------------------------------------------------------
# Sorting primitives
# --------------------------------------------------------------------------------------
class _Order:
    """Sort of the predictions with tie groups: everything signed sums need.

    ``lo[k]`` is the number of predictions strictly below ``x[k]`` and ``hi[k]`` is ``n``
    minus the number strictly above, both indexed like ``x``: for any ``c``, with
    ``C`` the running sums of ``c`` along the sort, ``sum_j sign(x_k - x_j) c_j =
    C[lo_k] + C[hi_k] - C[n]``, whatever order the sort leaves ties in (so the fast
    unstable sort serves).
    """

    def __init__(self, x):
        self.x = x
        self.n = n = len(x)
        self.order = order = np.argsort(x)
        xs = x[order]
        new = np.empty(n, dtype=bool)
        new[:1] = True
        np.not_equal(xs[1:], xs[:-1], out=new[1:])
        lo = np.empty(n, dtype=np.intp)
        if new.all():  # no ties: the usual case for continuous predictions
            lo[order] = np.arange(n)
            hi = lo + 1
        else:
            starts = np.flatnonzero(new)
            group = np.cumsum(new) - 1
            ends = np.r_[starts[1:], n]
            hi = np.empty(n, dtype=np.intp)
            lo[order] = starts[group]
            hi[order] = ends[group]
        self.lo, self.hi = lo, hi
        self.cnt = (lo + hi - n).astype(float)

    def running(self, c_sorted):
        """Running sums ``C`` (length n + 1) of values already in sorted order."""
        cum = np.empty(self.n + 1)
        cum[0] = 0.0
        np.cumsum(c_sorted, out=cum[1:])
        return cum

    def signed_sum(self, c):
        """``sum_j sign(x_k - x_j) c_j`` for every k."""
        cum = self.running(c[self.order])
        return cum[self.lo] + cum[self.hi] - cum[-1]


def _prefix_abs_sums(v):
    """``P_p = sum_{q<p} |v_p - v_q|`` for all p, in O(n log n) vectorised numpy.

    Bottom-up merge sort over positions: at width w, each element of a right block counts
    the elements of its left partner block with a smaller value (and sums them). Blocks are
    kept sorted by (block, value); the left and right halves are each sorted, so one stable
    argsort of their concatenation is a linear two-run merge (timsort), and an element's
    place in the merge tells how many left elements precede it.
    """
    n = len(v)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(v, kind="stable")] = np.arange(n)
    cnt = np.zeros(n)
    ssum = np.zeros(n)
    perm = np.arange(n, dtype=np.int64)
    w = 1
    while w < n:
        is_left = (perm // w) % 2 == 0
        left, right = perm[is_left], perm[~is_left]
        both = np.concatenate([left, right])
        merged = np.argsort((both // (2 * w)) * n + rank[both], kind="stable")
        place = np.empty(n, dtype=np.int64)
        place[merged] = np.arange(n)
        n_left = len(left)
        rblk = right // (2 * w)
        left_before = np.r_[0, np.cumsum(np.bincount(left // (2 * w), minlength=rblk[-1] + 1))]
        lstart = left_before[rblk] if len(right) else rblk
        hi = place[n_left:] - np.arange(len(right))
        lcum = np.r_[0.0, np.cumsum(v[left])]
        cnt[right] += hi - lstart
        ssum[right] += lcum[hi] - lcum[lstart]
        perm = both[merged]
        w *= 2
    before = np.r_[0.0, np.cumsum(v)[:-1]]
    return v * (2 * cnt - np.arange(n)) - 2 * ssum + before


def _abs_row_sums(s):
    """``sum_j |s_k - s_j|`` for every k, by sorting."""
    n = len(s)
    order = np.argsort(s, kind="stable")
    w = s[order]
    cum = np.r_[0.0, np.cumsum(w)]
    r = np.arange(n)
    sums = w * r - cum[:-1] + (cum[-1] - cum[1:]) - w * (n - r - 1)
    out = np.empty(n)
    out[order] = sums
    return out


# --------------------------------------------------------------------------------------
# Kernels F on the attributes: signed sums, row sums, diagonal
# --------------------------------------------------------------------------------------
#: From this many rows on, the penalty kernels run compiled (numba) code.
NUMBA_MIN_ROWS = 20_000
_NUMBA_KERNELS = None


def _numba_kernels():
    """Compile, on first use only (a second or two), the two signed-sum kernels.

    Both walk the predictions in sorted order, one tie group at a time, and return
    ``sum_j sign(x_k - x_j) F_kj = 2 below_k + tie_k - tot_k``, where ``below_k`` sums
    ``F_kj`` over ``x_j < x_k``, ``tie_k`` over ``x_j = x_k`` and ``tot_k`` over all j.

    * ``"abs"`` (``F_kj = |s_k - s_j|``, 1-D continuous attribute): a Fenwick tree over
      the ranks of ``s`` holds the count and the sum of the ``s`` values passed so far, so
      ``below_k`` costs O(log n); within a tie group the sums come from sorting the group.
    * ``"level"`` (``F_kj = T[c_k, c_j]``): a vector ``V[a] = sum_{passed j} T[a, c_j]``
      updated row by row (O(levels)), so ``below_k = V[c_k]`` before the group and
      ``tie_k`` its increase over the group.
    """
    global _NUMBA_KERNELS
    if _NUMBA_KERNELS is None:
        from numba import njit

        @njit(cache=False, nogil=True)
        def signed_abs_sum(order, x, s, rank, tot):
            n = order.shape[0]
            cnt_tree = np.zeros(n + 1, np.int64)
            sum_tree = np.zeros(n + 1)
            out = np.empty(n)
            seen, seen_sum = 0, 0.0
            i = 0
            while i < n:
                j = i + 1
                while j < n and x[order[j]] == x[order[i]]:
                    j += 1
                for t in range(i, j):
                    k = order[t]
                    c, sm, q = 0, 0.0, rank[k]
                    while q > 0:
                        c += cnt_tree[q]
                        sm += sum_tree[q]
                        q -= q & -q
                    vk = s[k]
                    below = vk * c - sm + (seen_sum - sm) - vk * (seen - c)
                    out[k] = 2.0 * below - tot[k]
                if j - i > 1:
                    g = j - i
                    vals = np.empty(g)
                    for t in range(g):
                        vals[t] = s[order[i + t]]
                    so = np.argsort(vals)
                    total_g = vals.sum()
                    prefix = 0.0
                    for m in range(g):
                        vk = vals[so[m]]
                        out[order[i + so[m]]] += (
                            vk * m - prefix + (total_g - prefix - vk) - vk * (g - m - 1)
                        )
                        prefix += vk
                for t in range(i, j):
                    k = order[t]
                    q = rank[k] + 1
                    while q <= n:
                        cnt_tree[q] += 1
                        sum_tree[q] += s[k]
                        q += q & -q
                    seen += 1
                    seen_sum += s[k]
                i = j
            return out

        @njit(cache=False, nogil=True)
        def level_signed_sum(order, x, codes, table, tot):
            n = order.shape[0]
            n_levels = table.shape[0]
            passed = np.zeros(n_levels)
            out = np.empty(n)
            i = 0
            while i < n:
                j = i + 1
                while j < n and x[order[j]] == x[order[i]]:
                    j += 1
                for t in range(i, j):
                    k = order[t]
                    out[k] = passed[codes[k]]
                for t in range(i, j):
                    row = table[codes[order[t]]]  # T symmetric: T[a, m] = T[m, a]
                    for a in range(n_levels):
                        passed[a] += row[a]
                for t in range(i, j):
                    k = order[t]
                    below = out[k]
                    out[k] = below + passed[codes[k]] - tot[k]  # 2 below + tie - tot
                i = j
            return out

        _NUMBA_KERNELS = {"abs": signed_abs_sum, "level": level_signed_sum}
    return _NUMBA_KERNELS


class _LevelKernel:
    """``F_kj = T[codes_k, codes_j]`` (``diag`` overrides ``F_kk``), ``T`` symmetric.

    ``engine="numpy"``: one running sum per level; ``"numba"``: one compiled pass that
    keeps, for every level ``a``, the sum of ``T[a, c_j]`` over the rows passed so far
    (O(levels) per row, no n-sized temporaries; ~5x faster on 1M rows);
    ``"auto"``: numba from :data:`NUMBA_MIN_ROWS` rows on when it is importable.
    """

    def __init__(self, codes, table, diag=None, engine="auto"):
        self.codes = codes
        self.table = np.ascontiguousarray(table, dtype=float)
        counts = np.bincount(codes, minlength=len(table)).astype(float)
        own = self.table[codes, codes]
        self.diag = own if diag is None else np.broadcast_to(float(diag), codes.shape)
        self.full_sums = (self.table @ counts)[codes]  # sum_j T[c_k, c_j], j = k included
        self.row_sums = self.full_sums - own + self.diag
        if engine == "auto":
            engine = "numba" if len(codes) >= NUMBA_MIN_ROWS and _numba_available() else "numpy"
        self.engine = engine

    def signed_sum(self, order: _Order):
        if self.engine == "numba":
            return _numba_kernels()["level"](
                order.order, order.x, self.codes.astype(np.int64, copy=False), self.table,
                self.full_sums)
        # For sample k of level a: sum_{x_j < x_k} T[a, c_j] - sum_{x_j > x_k} T[a, c_j],
        # read off the running sums of T[a, c] along the sorted predictions. One level at a
        # time: O(n) memory, and each running sum is read only at that level's rows.
        codes_sorted = self.codes[order.order]
        out = np.empty(order.n)
        for a, rows in enumerate(self._rows_by_level()):
            if len(rows):
                cum = order.running(self.table[a][codes_sorted])
                out[rows] = cum[order.lo[rows]] + cum[order.hi[rows]] - cum[-1]
        return out

    def _rows_by_level(self):
        if not hasattr(self, "_rows"):
            order = np.argsort(self.codes, kind="stable")
            bounds = np.r_[0, np.cumsum(np.bincount(self.codes, minlength=len(self.table)))]
            self._rows = [order[bounds[a]:bounds[a + 1]] for a in range(len(self.table))]
        return self._rows


def _numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba comes with dcor
        return False
    return True


class _AbsKernel:
    """``F_kj = |s_k - s_j|`` for a 1-D attribute.

    ``engine="numpy"``: a vectorised merge sort (:func:`_prefix_abs_sums`), log2(n) passes;
    ``"numba"``: a compiled Fenwick tree, one pass (about 8x faster on 1M rows);
    ``"auto"``: numba from :data:`NUMBA_MIN_ROWS` rows on when it is importable.
    """

    def __init__(self, s, engine="auto"):
        self.s = s
        self.row_sums = _abs_row_sums(s)
        self.diag = np.zeros(len(s))
        if engine == "auto":
            engine = "numba" if len(s) >= NUMBA_MIN_ROWS and _numba_available() else "numpy"
        self.engine = engine
        if engine == "numba":
            self.rank = np.empty(len(s), dtype=np.int64)
            self.rank[np.argsort(s, kind="stable")] = np.arange(len(s))

    def signed_sum(self, order: _Order):
        if self.engine == "numba":
            return _numba_kernels()["abs"](order.order, order.x, self.s, self.rank,
                                           self.row_sums)
        x, s, n = order.x, self.s, order.n
        o = np.lexsort((s, x))  # ties in x broken by s, so within a tie s ascends
        xs, v = x[o], s[o]
        before = _prefix_abs_sums(v)
        tot = self.row_sums[o]
        new = np.r_[True, xs[1:] != xs[:-1]]
        starts = np.flatnonzero(new)
        group = np.cumsum(new) - 1
        pos = np.arange(n)
        cum = np.r_[0.0, np.cumsum(v)]
        ends = np.r_[starts[1:], n]
        g_start, g_end = starts[group], ends[group]
        n_before = pos - g_start
        n_after = g_end - pos - 1
        tie_before = n_before * v - (cum[pos] - cum[g_start])
        tie_after = (cum[g_end] - cum[pos + 1]) - n_after * v
        acc = 2 * before - tot - tie_before + tie_after
        out = np.empty(n)
        out[o] = acc
        return out


class _DenseKernel:
    """An explicit n x n kernel (small batches only)."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.row_sums = matrix.sum(axis=1)
        self.diag = np.diag(matrix).copy()

    def signed_sum(self, order: _Order):
        x = order.x
        return (np.sign(x[:, None] - x[None, :]) * self.matrix).sum(axis=1)


def _pairwise(block):
    if block.shape[1] == 1:
        return np.abs(block - block.T)
    return cdist(block, block)


def _unique_rows(block):
    """Distinct rows and the code of each row (column-wise factorisation, fast for big n)."""
    combined = np.zeros(len(block), dtype=np.int64)
    for j in range(block.shape[1]):
        col_codes = np.unique(block[:, j], return_inverse=True)[1].ravel()
        combined = combined * (col_codes.max() + 1) + col_codes
        if j < block.shape[1] - 1 and combined.max() > 2**40:  # keep the key small
            combined = np.unique(combined, return_inverse=True)[1].ravel().astype(np.int64)
    _, first, codes = np.unique(combined, return_index=True, return_inverse=True)
    return block[first], codes.ravel()


def _check_dense(n, method):
    if n > MAX_DENSE:
        raise ValueError(
            f"This penalty needs an n x n matrix here (attributes with many distinct "
            f"multi-column values, or method={method!r}) and n_samples = {n} exceeds "
            f"{MAX_DENSE}; train with solver='adam' and a smaller batch_size, bin the "
            "continuous attribute, or use penalty='dcov' (one 1-D/categorical term per "
            "attribute, always O(n log n))."
        )


def _distance_kernel(block, method):
    """Kernel of Euclidean distances within one encoded block, fastest exact form."""
    n = len(block)
    if method in ("auto", "fast"):
        uniques, codes = _unique_rows(block)
        if len(uniques) <= _level_limit(n):
            return _LevelKernel(codes, _pairwise(uniques))
        if block.shape[1] == 1:
            return _AbsKernel(block[:, 0].astype(float))
        if method == "fast":
            raise ValueError(
                "method='fast' needs each attribute block to be 1-D or to take at most "
                f"max({MAX_LEVELS}, min(n/2, {MAX_LEVELS_LARGE})) = {_level_limit(n)} "
                f"distinct values; this one has {len(uniques)} distinct rows in "
                f"{block.shape[1]} columns."
            )
    _check_dense(n, method)
    return _DenseKernel(_pairwise(block))


def _centred_table(dist, counts, n, statistic):
    """Minus the centred distance table at the level of distinct values."""
    r = dist @ counts
    if statistic == "v":
        rm = r / n
        return -(dist - rm[:, None] - rm[None, :] + counts @ rm / n)
    return -(dist - r[:, None] / (n - 2) - r[None, :] / (n - 2) + counts @ r / ((n - 1) * (n - 2)))


def _centred_dense(dist, statistic):
    n = len(dist)
    if statistic == "v":
        r = dist.mean(axis=1)
        return -(dist - r[:, None] - r[None, :] + r.mean())
    r = dist.sum(axis=1)
    out = -(dist - r[:, None] / (n - 2) - r[None, :] / (n - 2) + r.sum() / ((n - 1) * (n - 2)))
    np.fill_diagonal(out, 0.0)
    return out


def _joint_kernel(blocks, statistic, c, method):
    """Kernel ``F = prod_i (U_i + c)`` of Chakraborty & Zhang's JdCov over the attributes."""
    n = len(blocks[0])
    d = len(blocks)
    joint = np.hstack(blocks)
    if method in ("auto", "fast"):
        uniques, codes = _unique_rows(joint)
        if len(uniques) <= _level_limit(n):
            counts = np.bincount(codes, minlength=len(uniques)).astype(float)
            table = np.ones((len(uniques), len(uniques)))
            start = 0
            for block in blocks:
                part = uniques[:, start : start + block.shape[1]]
                start += block.shape[1]
                table *= _centred_table(_pairwise(part), counts, n, statistic) + c
            return _LevelKernel(codes, table, diag=None if statistic == "v" else c**d)
        if method == "fast":
            raise ValueError(
                "method='fast' for penalty='jdcov' with several attributes needs their "
                f"combination to take at most {_level_limit(n)} distinct values; it takes "
                f"{len(uniques)}."
            )
    _check_dense(n, method)
    prod = np.ones((n, n))
    for block in blocks:
        prod *= _centred_dense(_pairwise(block), statistic) + c
    return _DenseKernel(prod)


class _Term:
    """One penalty term ``sign * (1/n^2) sum |x_k - x_j| M_kj + const``."""

    def __init__(self, kernel, statistic, sign=1.0, const=0.0):
        self.kernel, self.statistic, self.sign, self.const = kernel, statistic, sign, const

    def _centring(self, n):
        # u_k and w of M_kj = F_kj - u_k - u_j + w depend on the attributes only
        if not hasattr(self, "_uw"):
            k = self.kernel
            if self.statistic == "v":
                u = k.row_sums / n
                w = u.sum() / n
                scale = 2.0 / n**2
            else:
                rs = k.row_sums - k.diag
                u = rs / (n - 2)
                w = rs.sum() / ((n - 1) * (n - 2))
                scale = 2.0 / (n * (n - 3))
            self._uw = u, u - w, self.sign * scale
        return self._uw

    def value_and_grad(self, order: _Order):
        u, u_minus_w, scale = self._centring(order.n)
        g = self.kernel.signed_sum(order)
        g -= u_minus_w * order.cnt
        g -= order.signed_sum(u)
        g *= scale
        return float(order.x @ g) + self.const, g


def _build_terms(blocks, penalty, statistic, c, method):
    n = len(blocks[0])
    if penalty == "ccdcov" or (penalty in ("dcov", "jdcov") and len(blocks) == 1):
        return [_Term(_distance_kernel(np.hstack(blocks), method), statistic)]
    if penalty == "dcov":
        return [_Term(_distance_kernel(b, method), statistic) for b in blocks]
    kernel = _joint_kernel(blocks, statistic, c, method)
    d1 = len(blocks) + 1
    if statistic == "v":
        const = c * kernel.row_sums.sum() / n**2 - c**d1
    else:
        const = (c * (kernel.row_sums.sum() - kernel.diag.sum()) - n * (n - 1) * c**d1) / (
            n * (n - 3)
        )
    return [_Term(kernel, statistic, sign=-1.0, const=const)]


class _Penalty:
    """The penalty over a fixed set of rows: value and gradient w.r.t. predictions."""

    def __init__(self, blocks, penalty="dcov", statistic="u", c=1.0, method="auto"):
        n = len(blocks[0])
        if statistic == "u" and n < 4:
            raise ValueError(
                f"The U-statistic penalty needs at least 4 samples per batch, got "
                f"n_samples = {n}; use statistic='v' or a larger batch."
            )
        self.terms = _build_terms(blocks, penalty, statistic, c, method)

    def __call__(self, x):
        order = _Order(np.asarray(x, dtype=float))
        value, grad = 0.0, np.zeros(len(x))
        for term in self.terms:
            v, g = term.value_and_grad(order)
            value += v
            grad += g
        return value, grad


def dcov_penalty(
    y_pred,
    sensitive_features,
    *,
    penalty="dcov",
    statistic="u",
    c=1.0,
    method="auto",
    categorical="auto",
    continuous_scaling="std",
):
    """Value and gradient (w.r.t. ``y_pred``) of the training penalty.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like
        Protected attribute(s), encoded by
        :func:`fairkit.metrics.encode_protected_attributes`.
    penalty : {"dcov", "jdcov", "ccdcov"}, default="dcov"
        ``"dcov"``: :math:`\\sum_i \\mathrm{dCov}^2(\\hat y, S_i)`, one term per attribute;
        ``"ccdcov"``: :math:`\\mathrm{dCov}^2(\\hat y, [S_1|\\dots|S_d])`;
        ``"jdcov"``: :math:`\\mathrm{JdCov}^2(\\hat y, S_1, \\dots, S_d; c)`. All three equal
        :math:`\\mathrm{dCov}^2(\\hat y, S_1)` for one attribute.
    statistic : {"u", "v"}, default="u"
    c : float, default=1.0
        JdCov constant.
    method : {"auto", "fast", "dense"}, default="auto"
        ``"auto"`` uses the O(n log n) sort-based path for attribute blocks that are 1-D or
        take at most ``max(MAX_LEVELS, min(n / 2, MAX_LEVELS_LARGE))`` distinct values
        (64, 2048) and the n x n path otherwise;
        ``"fast"`` refuses the n x n path; ``"dense"`` always builds n x n matrices.

    Returns
    -------
    value : float
    grad : ndarray of shape (n_samples,)
        Where predictions tie, the penalty has a kink; the gradient returned there is the
        subgradient with :math:`\\mathrm{sign}(0) = 0`. Constant predictions give value 0
        and a zero gradient.

    Examples
    --------
    >>> import numpy as np
    >>> value, grad = dcov_penalty(np.array([0.1, 0.4, 0.35, 0.8, 0.9]),
    ...                            ["a", "a", "b", "b", "b"], statistic="v")
    >>> round(value, 6), grad.shape
    (0.05824, (5,))
    """
    y = np.asarray(y_pred, dtype=float).ravel()
    enc = encode_protected_attributes(
        sensitive_features,
        categorical=categorical,
        continuous_scaling=continuous_scaling,
        n_samples=len(y),
    )
    _check_choice("penalty", penalty, ("dcov", "jdcov", "ccdcov"))
    _check_choice("statistic", statistic, ("u", "v"))
    _check_choice("method", method, ("auto", "fast", "dense"))
    return _Penalty(enc.blocks, penalty, statistic, c, method)(y)


def _check_choice(name, value, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")


# --------------------------------------------------------------------------------------
# Model: GLM (no hidden layer) or small MLP, analytic gradients
# --------------------------------------------------------------------------------------
_ACTIVATIONS = ("relu", "tanh")


def _init_params(n_in, hidden, rng):
    sizes = [n_in, *hidden, 1]
    params = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        if i == len(sizes) - 2 and not hidden:
            weights = np.zeros((a, b))  # GLM: start from the intercept-only model
        else:
            bound = np.sqrt(6.0 / (a + b))
            weights = rng.uniform(-bound, bound, size=(a, b))
        params.append([weights, np.zeros(b)])
    return params


def _pack(params):
    return np.concatenate([np.r_[w.ravel(), b] for w, b in params])


def _unpack(theta, template):
    out, i = [], 0
    for w, b in template:
        W = theta[i : i + w.size].reshape(w.shape)
        i += w.size
        B = theta[i : i + b.size]
        i += b.size
        out.append([W, B])
    return out


def _forward(params, X, activation, dropout=0.0, rng=None):
    hs, masks = [X], []
    h = X
    for W, b in params[:-1]:
        z = h @ W + b
        h = np.maximum(z, 0.0) if activation == "relu" else np.tanh(z)
        mask = None
        if dropout > 0 and rng is not None:
            mask = (rng.random(h.shape) >= dropout) / (1.0 - dropout)
            h = h * mask
        hs.append(h)
        masks.append(mask)
    W, b = params[-1]
    return (h @ W)[:, 0] + b[0], hs, masks


def _backward(params, hs, masks, d_eta, activation, alpha):
    grads = [None] * len(params)
    delta = d_eta[:, None]
    for layer in range(len(params) - 1, -1, -1):
        W, _ = params[layer]
        h_in = hs[layer]
        grads[layer] = [h_in.T @ delta + alpha * W, delta.sum(axis=0)]
        if layer == 0:
            break
        delta = delta @ W.T
        h = hs[layer]
        mask = masks[layer - 1]
        if mask is not None:
            delta = delta * mask
            h = np.where(mask > 0, h / np.where(mask > 0, mask, 1.0), 0.0)
        delta = delta * ((h > 0) if activation == "relu" else (1.0 - h**2))
    return grads


def _task(loss, eta, y, offset):
    """Mean task loss, its gradient w.r.t. eta, the penalised output and d output / d eta."""
    n = len(y)
    if loss == "log_loss":
        p = expit(eta)
        # log(1 + e^eta) = max(eta, 0) + log1p(e^-|eta|): stable, and 4x faster than logaddexp
        softplus = np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta)))
        value = float(np.mean(softplus) - y @ eta / n)
        return value, (p - y) / n, p, p * (1.0 - p)
    if loss == "squared_error":
        r = eta - y
        return 0.5 * float(np.mean(r**2)), r / n, eta, np.ones(n)
    rate = np.exp(np.minimum(eta, 700.0))
    mu = rate * np.exp(offset) if offset is not None else rate
    value = float(np.mean(2.0 * (xlogy(y, y) - xlogy(y, mu) - y + mu)))
    return value, 2.0 * (mu - y) / n, rate, rate


class _Objective:
    """Task loss + lam * penalty + L2 on a fixed set of rows."""

    def __init__(self, est, X, y, offset, blocks, template):
        self.est, self.X, self.y, self.offset, self.template = est, X, y, offset, template
        self.penalty = (
            _Penalty(blocks, est.penalty, est.statistic, est.c) if est.lam > 0 else None
        )

    def __call__(self, theta, rng=None):
        est = self.est
        params = _unpack(theta, self.template)
        dropout = est.dropout if rng is not None else 0.0
        eta, hs, masks = _forward(params, self.X, est.activation, dropout, rng)
        if self.offset is not None and est._loss != "poisson":
            eta = eta + self.offset
        value, d_eta, out, d_out = _task(est._loss, eta, self.y, self.offset)
        if self.penalty is not None:
            pen, g = self.penalty(out)
            value += est.lam * pen
            d_eta = d_eta + est.lam * g * d_out
        l2 = sum(float((W**2).sum()) for W, _ in params)
        value += 0.5 * est.alpha * l2
        grads = _backward(params, hs, masks, d_eta, est.activation, est.alpha)
        return value, _pack(grads)


class _BaseDCov(ProtectedAttributeMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "prot_attr": "no_validation",
        "lam": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"dcov", "jdcov", "ccdcov"})],
        "statistic": [StrOptions({"u", "v"})],
        "c": [Interval(Real, 0, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"lbfgs", "adam"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "categorical": "no_validation",
        "continuous_scaling": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def _check_settings(self):
        hidden = tuple(int(h) for h in np.atleast_1d(self.hidden_layer_sizes))
        if any(h < 1 for h in hidden):
            raise ValueError(
                "hidden_layer_sizes must contain positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        if self.dropout > 0 and self.solver != "adam":
            raise ValueError(
                f"dropout={self.dropout} needs solver='adam' (L-BFGS needs a deterministic "
                "objective)."
            )
        if self.dropout > 0 and not hidden:
            raise ValueError("dropout needs at least one hidden layer (hidden_layer_sizes).")
        if self.solver == "adam" and self.statistic == "u" and self.batch_size < 4 and self.lam > 0:
            raise ValueError(
                f"batch_size={self.batch_size} is too small for the U-statistic penalty, which "
                "needs at least 4 samples per batch; use batch_size >= 4 or statistic='v'."
            )
        return hidden

    def _model_matrix(self, X, reset, sensitive_features=None):
        if not isinstance(X, pd.DataFrame):
            # shape, sparse and finiteness checks; protected columns may hold strings
            X = check_array(X, dtype=None, ensure_all_finite=not reset)
        validate_data(self, X, reset=reset, skip_check_array=True)
        if reset:
            prot = None
            if self.prot_attr is not None or sensitive_features is not None:
                try:
                    prot = resolve_protected(
                        X,
                        prot_attr=self.prot_attr,
                        sensitive_features=sensitive_features,
                        drop=self.drop_prot_attr,
                        require_groups=False,
                    )
                except TypeError as exc:
                    raise TypeError(
                        "Protected attribute values: argument must be a string or a number "
                        f"(hashable scalars); {exc}"
                    ) from exc
            else:
                raise ValueError(
                    "No protected attribute given: set prot_attr (column name(s) or "
                    "index(es) of X) or pass sensitive_features to fit."
                )
            self._prot_columns = list(prot.columns) if self.drop_prot_attr else []
            Xm = prot.X
        else:
            Xm = _drop_columns(X, self._prot_columns) if self._prot_columns else X
        Xm = check_array(Xm, dtype=np.float64, ensure_min_features=0)
        return (Xm, prot) if reset else Xm

    def _fit(self, X, y, sensitive_features, offset):
        hidden = self._check_settings()
        Xm, prot = self._model_matrix(X, True, sensitive_features)
        if len(y) != Xm.shape[0]:
            raise ValueError(f"y has {len(y)} values but X has {Xm.shape[0]} samples.")
        enc = encode_protected_attributes(
            prot.values,
            categorical=self.categorical,
            continuous_scaling=self.continuous_scaling,
            name="sensitive_features" if self.prot_attr is None else "prot_attr",
        )
        n = Xm.shape[0]
        min_n = 4 if self.statistic == "u" and self.lam > 0 else 1
        if n < min_n:
            raise ValueError(
                f"The U-statistic penalty needs at least 4 samples, got n_samples = {n}."
            )
        rng = np.random.default_rng(
            self.random_state
            if not isinstance(self.random_state, np.random.RandomState)
            else self.random_state.randint(2**31)
        )
        idx_train, idx_val = np.arange(n), None
        if self.early_stopping:
            stratify = y if self._loss == "log_loss" else None
            idx_train, idx_val = train_test_split(
                np.arange(n),
                test_size=self.validation_fraction,
                random_state=int(rng.integers(2**31)),
                stratify=stratify,
            )
            if len(idx_val) < min_n or len(idx_train) < min_n:
                raise ValueError(
                    f"early_stopping with validation_fraction={self.validation_fraction} "
                    f"leaves too few samples (n_samples = {n})."
                )
        params = _init_params(Xm.shape[1], hidden, rng)
        params[-1][1][0] = self._initial_intercept(y, offset)
        template = [[w.copy(), b.copy()] for w, b in params]

        def objective_on(rows):
            return _Objective(
                self,
                Xm[rows],
                y[rows],
                None if offset is None else offset[rows],
                [b[rows] for b in enc.blocks],
                template,
            )

        val_obj = objective_on(idx_val) if idx_val is not None else None
        theta = _pack(params)
        if self.solver == "lbfgs":
            theta = self._fit_lbfgs(objective_on(idx_train), val_obj, theta)
        else:
            theta = self._fit_adam(objective_on, idx_train, val_obj, theta, rng)
        fitted = _unpack(theta, template)
        self.coefs_ = [w for w, _ in fitted]
        self.intercepts_ = [b for _, b in fitted]
        if not hidden:
            self.coef_ = self.coefs_[0][:, 0].copy()
            self.intercept_ = float(self.intercepts_[0][0])
        self.n_layers_ = len(hidden) + 2
        return self

    def _fit_lbfgs(self, obj, val_obj, theta):
        tracker = _EarlyStopping(val_obj, self.n_iter_no_change, self.tol)

        def callback(intermediate_result):
            if tracker.update(intermediate_result.x):
                raise StopIteration

        result = minimize(
            obj,
            theta,
            jac=True,
            method="L-BFGS-B",
            callback=callback if val_obj is not None else None,
            options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-8},
        )
        self.n_iter_ = int(result.nit)
        self.converged_ = bool(result.success)
        self.loss_ = float(result.fun)
        return tracker.best_theta if tracker.best_theta is not None else result.x

    def _fit_adam(self, objective_on, idx_train, val_obj, theta, rng):
        m, v = np.zeros_like(theta), np.zeros_like(theta)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        tracker = _EarlyStopping(val_obj, self.n_iter_no_change, self.tol)
        n = len(idx_train)
        step, prev = 0, np.inf
        no_improve = 0
        for epoch in range(self.max_iter):
            perm = rng.permutation(idx_train)
            bounds = list(range(0, n, self.batch_size)) + [n]
            if len(bounds) > 2 and bounds[-1] - bounds[-2] < 4:
                bounds.pop(-2)  # fold a tail shorter than 4 into the previous batch
            total = 0.0
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                obj = objective_on(perm[a:b])
                value, grad = obj(theta, rng=rng if self.dropout > 0 else None)
                step += 1
                m = beta1 * m + (1 - beta1) * grad
                v = beta2 * v + (1 - beta2) * grad**2
                mhat = m / (1 - beta1**step)
                vhat = v / (1 - beta2**step)
                theta = theta - self.learning_rate * mhat / (np.sqrt(vhat) + eps)
                total += value * (b - a) / n
            self.n_iter_ = epoch + 1
            self.loss_ = total
            if val_obj is not None:
                if tracker.update(theta):
                    break
            else:
                no_improve = no_improve + 1 if total > prev - self.tol else 0
                prev = min(prev, total)
                if no_improve >= self.n_iter_no_change:
                    break
        self.converged_ = self.n_iter_ < self.max_iter
        return tracker.best_theta if tracker.best_theta is not None else theta

    def _eta(self, X, offset=None):
        check_is_fitted(self)
        Xm = self._model_matrix(X, False)
        params = list(zip(self.coefs_, self.intercepts_, strict=True))
        eta, _, _ = _forward(params, Xm, self.activation)
        if offset is not None:
            eta = eta + _check_offset(offset, len(eta), "offset")
        return eta


def _check_y_given(est, y):
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None."
        )


def _check_offset(offset, n, name):
    arr = column_or_1d(np.asarray(offset, dtype=float))
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} values but X has {n} samples.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


class _EarlyStopping:
    """Track the validation objective; keep the best parameters."""

    def __init__(self, val_obj, patience, tol):
        self.val_obj, self.patience, self.tol = val_obj, patience, tol
        self.best, self.best_theta, self.bad = np.inf, None, 0
        self.history = []

    def update(self, theta):
        if self.val_obj is None:
            return False
        value = self.val_obj(theta)[0]
        self.history.append(value)
        if value < self.best - self.tol:
            self.best, self.best_theta, self.bad = value, theta.copy(), 0
        else:
            self.bad += 1
        return self.bad >= self.patience


_SHARED_PARAMS_DOC = """
    prot_attr : str, int or list, default=None
        Protected column(s) of ``X`` (names of a DataFrame or integer indices). May be of
        any type: categorical (strings), binary or continuous (e.g. age). Alternatively pass
        ``sensitive_features`` to ``fit``.
    lam : float, default=1.0
        Weight :math:`\\lambda` of the penalty; 0 gives the unregularised model. Calibrate
        it with :func:`calibrate_lambda`.
    penalty : {"dcov", "jdcov", "ccdcov"}, default="ccdcov"
        ``"dcov"``: :math:`\\sum_i \\mathrm{dCov}^2(\\hat y, S_i)` (each attribute alone);
        ``"ccdcov"``: :math:`\\mathrm{dCov}^2(\\hat y, [S_1|\\dots|S_d])` (all attributes
        jointly, so intersections count); ``"jdcov"``: joint distance covariance
        (Chakraborty & Zhang 2019) of :math:`(\\hat y, S_1, \\dots, S_d)`. The same for one
        attribute.
    statistic : {"u", "v"}, default="u"
        U-statistic (unbiased, needs >= 4 samples per batch, as in the authors' code) or
        V-statistic.
    c : float, default=1.0
        JdCov constant.
    hidden_layer_sizes : tuple of int, default=()
        Empty: a linear model / GLM. Otherwise a multilayer perceptron.
    activation : {"relu", "tanh"}, default="relu"
    dropout : float, default=0.0
        Dropout rate on hidden layers (``solver="adam"`` only).
    alpha : float, default=1e-4
        L2 penalty :math:`\\frac{\\alpha}{2}\\|W\\|^2` on the weights (not the intercepts).
    solver : {"lbfgs", "adam"}, default="lbfgs"
        Full-batch L-BFGS (scipy) or Adam on mini-batches.
    batch_size : int, default=256
        Adam mini-batch size; the penalty is evaluated on each mini-batch. A last batch of
        fewer than 4 rows is merged into the previous one.
    learning_rate : float, default=1e-3
        Adam step size.
    max_iter : int, default=200
        L-BFGS iterations or Adam epochs.
    tol : float, default=1e-6
        L-BFGS ``ftol``; minimum improvement for early stopping / Adam convergence.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classification) and stop when its objective has not improved for
        ``n_iter_no_change`` iterations; the best parameters are kept.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    categorical, continuous_scaling
        Encoding of the protected attributes, see
        :func:`fairkit.metrics.encode_protected_attributes` (one-hot at distance
        :math:`\\sqrt2`, binary 0/1, continuous z-scored by default).
    drop_prot_attr : bool, default=True
        Remove the ``prot_attr`` columns from the model inputs.
    random_state : int, RandomState or None, default=None
"""


class DCovRegularizedClassifier(ClassifierMixin, _BaseDCov):
    __doc__ = """Binary classifier with a distance-covariance fairness penalty.

    Minimises

    .. math::

        \\frac1n \\sum_i \\ell(y_i, p_i) + \\lambda\\, R(p, S) + \\frac{\\alpha}{2}\\|W\\|^2,
        \\qquad p_i = \\sigma(f_\\theta(x_i)),

    with :math:`\\ell` the log-loss, :math:`f_\\theta` a linear model or an MLP on the
    non-protected features, and :math:`R` the dCov, CCdCov or JdCov between the predicted
    probabilities and the protected attributes (Lee et al. 2025). The penalty and its
    gradient take O(n log n) when each attribute is binary, categorical, a combination
    with few levels, or 1-D continuous (see :func:`dcov_penalty`).

    Parameters
    ----------""" + _SHARED_PARAMS_DOC + """
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coefs_, intercepts_ : list of ndarray
        Layer weights and biases.
    coef_ : ndarray of shape (n_model_features,)
        Linear model only.
    intercept_ : float
        Linear model only.
    n_iter_ : int
    loss_ : float
        Final training objective.
    n_features_in_, feature_names_in_

    See Also
    --------
    DCovRegularizedRegressor, calibrate_lambda, fairkit.metrics.distance_covariance

    References
    ----------
    .. [1] H. Lee, K. Antonio, B. Avanzi, L. Marchi, R. Zhou, "Machine Learning with
       Multitype Protected Attributes: Intersectional Fairness through Regularisation",
       arXiv 2509.08163, 2025.
    .. [2] S. Chakraborty, X. Zhang, "Distance metrics for measuring joint dependence with
       application to causal inference", JASA 114(528), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import DCovRegularizedClassifier
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 400)
    >>> X = np.c_[s, rng.normal(size=400) + s]
    >>> y = (X[:, 1] + rng.normal(size=400) > 0.5).astype(int)
    >>> clf = DCovRegularizedClassifier(prot_attr=0, lam=5.0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (400, 2)
    """

    def __init__(
        self,
        prot_attr=None,
        *,
        lam=1.0,
        penalty="ccdcov",
        statistic="u",
        c=1.0,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        alpha=1e-4,
        solver="lbfgs",
        batch_size=256,
        learning_rate=1e-3,
        max_iter=200,
        tol=1e-6,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        categorical="auto",
        continuous_scaling="std",
        drop_prot_attr=True,
        random_state=None,
    ):
        self.prot_attr = prot_attr
        self.lam = lam
        self.penalty = penalty
        self.statistic = statistic
        self.c = c
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.categorical = categorical
        self.continuous_scaling = continuous_scaling
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    _loss = "log_loss"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary target.
        sensitive_features : array-like, optional
            Protected attributes, if not given through ``prot_attr``.

        Returns
        -------
        self
        """
        _check_y_given(self, y)
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None), warn=True)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) > 2:
            raise ValueError(
                f"Only binary classification is supported. The type of the target is "
                f"{type_of_target(y)} ({len(classes)} classes: {classes.tolist()[:10]})."
            )
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs exactly 2 classes in y (binary), got 1 class: "
                f"{classes.tolist()}."
            )
        self.classes_ = classes
        y01 = (y == self.classes_[1]).astype(float)
        return self._fit(X, y01, sensitive_features, None)

    def _initial_intercept(self, y, offset):
        p = np.clip(y.mean(), 1e-6, 1 - 1e-6)
        return float(np.log(p / (1 - p)))

    def decision_function(self, X):
        """Log-odds of ``classes_[1]``."""
        return self._eta(X)

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order."""
        p = expit(self._eta(X))
        return np.c_[1.0 - p, p]

    def predict(self, X):
        """Predicted class (probability of ``classes_[1]`` above 0.5)."""
        positive = self._eta(X) > 0
        return self.classes_[positive.astype(int)]


class DCovRegularizedRegressor(RegressorMixin, _BaseDCov):
    __doc__ = """Regressor (squared error or Poisson) with a distance-covariance fairness penalty.

    Minimises

    .. math::

        \\frac1n \\sum_i \\ell(y_i, \\mu_i) + \\lambda\\, R(\\hat y, S)
        + \\frac{\\alpha}{2}\\|W\\|^2

    with, for ``loss="squared_error"``, :math:`\\ell = \\frac12 (y - \\mu)^2`,
    :math:`\\mu = \\hat y = f_\\theta(x)`; for ``loss="poisson"``, the Poisson deviance
    :math:`\\ell = 2(y \\log(y/\\mu) - y + \\mu)` with :math:`\\mu = e \\cdot \\hat y`,
    :math:`\\hat y = \\exp f_\\theta(x)` the rate per unit exposure :math:`e` (or
    :math:`\\log e` given as ``offset``); the penalty acts on the rate :math:`\\hat y`, as in
    Lee et al. (2025). :math:`R` is dCov, CCdCov or JdCov; continuous protected attributes
    (age) are accepted directly, with no binning.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
""" + _SHARED_PARAMS_DOC + """
    Attributes
    ----------
    coefs_, intercepts_, coef_, intercept_, n_iter_, loss_
        As in :class:`DCovRegularizedClassifier`.

    References
    ----------
    .. [1] H. Lee, K. Antonio, B. Avanzi, L. Marchi, R. Zhou, arXiv 2509.08163, 2025.
    """

    _parameter_constraints: dict = {
        **_BaseDCov._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        prot_attr=None,
        *,
        loss="squared_error",
        lam=1.0,
        penalty="ccdcov",
        statistic="u",
        c=1.0,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        alpha=1e-4,
        solver="lbfgs",
        batch_size=256,
        learning_rate=1e-3,
        max_iter=200,
        tol=1e-6,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        categorical="auto",
        continuous_scaling="std",
        drop_prot_attr=True,
        random_state=None,
    ):
        self.prot_attr = prot_attr
        self.loss = loss
        self.lam = lam
        self.penalty = penalty
        self.statistic = statistic
        self.c = c
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.categorical = categorical
        self.continuous_scaling = continuous_scaling
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    @property
    def _loss(self):
        return self.loss

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None, exposure=None, offset=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Target; non-negative counts for ``loss="poisson"``.
        sensitive_features : array-like, optional
            Protected attributes, if not given through ``prot_attr``.
        exposure : array-like of shape (n_samples,), optional
            Poisson exposure (> 0); the mean is ``exposure * rate``.
        offset : array-like of shape (n_samples,), optional
            Added to the linear predictor (``log(exposure)`` for Poisson). Give at most
            one of ``exposure`` and ``offset``.

        Returns
        -------
        self
        """
        _check_y_given(self, y)
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=np.float64), warn=True)
        n = len(y)
        off = self._offset(exposure, offset, n)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' needs a non-negative target y.")
        return self._fit(X, y, sensitive_features, off)

    def _offset(self, exposure, offset, n):
        if exposure is not None and offset is not None:
            raise ValueError("Give at most one of exposure and offset.")
        if exposure is not None:
            e = _check_offset(exposure, n, "exposure")
            if np.any(e <= 0):
                raise ValueError("exposure must be strictly positive.")
            if self.loss != "poisson":
                raise ValueError("exposure is only meaningful with loss='poisson'.")
            return np.log(e)
        return None if offset is None else _check_offset(offset, n, "offset")

    def _initial_intercept(self, y, offset):
        if self.loss == "poisson":
            expo = np.exp(offset).sum() if offset is not None else len(y)
            return float(np.log(max(y.sum(), 1e-12) / expo))
        return float(np.mean(y - (offset if offset is not None else 0.0)))

    def predict(self, X, *, exposure=None, offset=None):
        """Predicted mean: ``f(x) (+ offset)``, or ``exposure * rate`` for Poisson."""
        off = self._offset(exposure, offset, _num_rows(X))
        eta = self._eta(X, off)
        return np.exp(np.minimum(eta, 700.0)) if self.loss == "poisson" else eta

    def predict_rate(self, X):
        """Poisson rate per unit exposure (the penalised output); the mean otherwise."""
        eta = self._eta(X)
        return np.exp(np.minimum(eta, 700.0)) if self.loss == "poisson" else eta


def _num_rows(X):
    return _num_samples(X)


# --------------------------------------------------------------------------------------
# Lambda calibration
# --------------------------------------------------------------------------------------
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
    kw = {
        "sensitive_features": s_val,
        "categorical": est.categorical,
        "continuous_scaling": est.continuous_scaling,
    }
    row["jsd"] = jensen_shannon_divergence(None, out, sensitive_features=groups_val)
    row["uf"] = unfairness_ratio(None, out, sensitive_features=groups_val)
    row["ccdcov"] = concatenated_distance_covariance(None, out, **kw)
    row["dcor"] = distance_correlation(None, out, **kw)
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
    n = _num_rows(X)
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
    rows = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_score)(
            estimator, lam, X_tr, y_tr, sf_tr, X_val, y_val, prot_val.values, groups_val,
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


def _rows(data, idx):
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[idx]
    return np.asarray(data)[idx]


def plot_lambda_calibration(table, *, ax=None, annotate=True):
    """Plot task loss against JSD for a :func:`calibrate_lambda` table.

    Each point is one :math:`\\lambda` (labelled), the elbow pick is circled and the
    ``tolerance`` pick (if the table has one) boxed. Returns the matplotlib Axes (no
    ``plt.show``).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    ax.plot(table["jsd"], table["task_loss"], "o-", color="C0")
    if annotate:
        for lam, x, yv in zip(table["lam"], table["jsd"], table["task_loss"], strict=True):
            ax.annotate(f"{lam:g}", (x, yv), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
    if "elbow" in table:
        pick = table[table["elbow"]]
        ax.plot(pick["jsd"], pick["task_loss"], "o", ms=12, mfc="none", mec="C3",
                label=f"elbow: lambda = {pick['lam'].iloc[0]:g}")
    if "tolerance_pick" in table:
        pick = table[table["tolerance_pick"]]
        ax.plot(pick["jsd"], pick["task_loss"], "s", ms=12, mfc="none", mec="C2",
                label=f"tolerance rule: lambda = {pick['lam'].iloc[0]:g}")
    if "elbow" in table or "tolerance_pick" in table:
        ax.legend()
    ax.set_xlabel("JSD across protected subgroups")
    ax.set_ylabel("validation task loss")
    ax.set_title("lambda calibration")
    return ax
