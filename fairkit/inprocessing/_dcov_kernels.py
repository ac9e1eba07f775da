"""Kernels of the distance-covariance penalty: sorting primitives and signed sums.

For a kernel matrix ``F`` on the protected attributes and predictions ``x``, a kernel
object gives ``sum_j sign(x_k - x_j) F_kj`` for every ``k`` (``signed_sum``), its row sums
and its diagonal, without building ``F`` when the attributes allow it: per level when
``F`` depends only on a few levels of the attributes (:class:`_LevelKernel`), by a merge
sort or a Fenwick tree when the attribute is 1-D (:class:`_AbsKernel`), and as an explicit
n x n matrix otherwise (:class:`_DenseKernel`, small batches only). The algebra that turns
these sums into the penalty is in :mod:`fairkit.inprocessing._dcov_penalty`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

#: An attribute block with at most this many distinct rows uses the per-level fast path
#: (O(levels x n) time, O(n + levels^2) memory) ...
MAX_LEVELS = 64
#: ... and so does one with up to n / 2 distinct rows, capped here (the level table is
#: levels^2 floats). Per entry the level path does far less work than the n x n path, so
#: it is also the exact route for, e.g., sex x race x integer age on COMPAS.
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
    """Compile, on first use only (compilation is slow), the two signed-sum kernels.

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
    (O(levels) per row, no n-sized temporaries);
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
    ``"numba"``: a compiled Fenwick tree, one pass instead of log2(n);
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

