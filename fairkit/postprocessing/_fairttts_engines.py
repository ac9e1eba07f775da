"""The two TTTS engines behind :mod:`fairkit.postprocessing._fairttts`.

Both read a fitted model's trees from :class:`_ForestArrays` (every tree's ``tree_`` arrays
flattened into one set of node arrays) and the settings of one prediction from a
:class:`Simulation`; :func:`simulate` picks the engine.

* numpy (:func:`_simulate`, the reference): vectorised over samples and trees; every
  "particle" (sample, tree, node, probability mass) of one tree level is advanced by a
  handful of numpy operations, so there is no Python loop over samples.
* numba (:func:`_simulate_numba`): compiled per-sample kernels that walk each tree depth
  first, one per flip-probability rule (the rule is a compile-time constant), each built
  on its first use (never at import); the default when numba is installed and tested
  against the numpy engine and a plain-Python reference.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils import check_random_state

PROB_TYPES = ("fixed", "depth", "agreement", "confidence", "distance")

#: Units of the ``"distance"`` rule: the paper's (|x - t| / D, D the tree's largest
#: |threshold|) or the scale-free one (the weighted fraction of fit rows between x and t).
DISTANCE_SCALES = ("paper", "feature")

#: Which child of a protected split gets the FairTTTS boost: ``"row"`` decides for each row
#: from the favourable probability that row would get through each child (the boost then
#: never lowers it); ``"node"`` is the papers' rule (the child whose own class fractions give
#: the favourable class the smaller weight, one choice per node for every row).
BOOST_RULES = ("row", "node")

#: Upper bound on every flip probability (base or boosted), as in the reference code.
P_CAP = 0.5

#: Target number of live particles per batch (bounds memory, not results).
_BATCH_PARTICLES = 1 << 16


# --------------------------------------------------------------------------------------
# Tree arrays
# --------------------------------------------------------------------------------------
class _ForestArrays:
    """All trees of a model flattened into one set of node arrays (global node ids).

    ``value`` holds each node's class distribution normalised to fractions exactly the way
    ``DecisionTreeClassifier.predict_proba`` normalises leaf values (scikit-learn < 1.4
    stores weighted counts in ``tree_.value``, >= 1.4 stores fractions; both give the same
    fractions here).
    """

    def __init__(self, trees, pos_index):
        lefts, rights, feats, thrs, vals, depths, scales, roots = [], [], [], [], [], [], [], []
        offset = 0
        for tree in trees:
            n = tree.node_count
            left = tree.children_left.astype(np.intp)
            right = tree.children_right.astype(np.intp)
            is_leaf = left < 0
            lefts.append(np.where(is_leaf, -1, left + offset))
            rights.append(np.where(is_leaf, -1, right + offset))
            feat = tree.feature.astype(np.intp)
            feats.append(np.where(is_leaf, -1, feat))
            thr = tree.threshold.astype(np.float64)
            thrs.append(thr)
            if tree.value.shape[1] != 1:
                raise ValueError("FairTTTS supports single-output classifiers only.")
            v = np.array(tree.value[:, 0, :], dtype=np.float64)
            norm = v.sum(axis=1)[:, np.newaxis]
            norm[norm == 0.0] = 1.0
            vals.append(v / norm)
            depth = np.zeros(n, dtype=np.intp)
            for k in range(n):  # parents precede children in scikit-learn's node order
                if left[k] >= 0:
                    depth[left[k]] = depth[right[k]] = depth[k] + 1
            depths.append(depth)
            internal_thr = np.abs(thr[~is_leaf])
            scale = internal_thr.max() if internal_thr.size and internal_thr.max() > 0 else 1.0
            scales.append(np.full(n, scale))
            roots.append(offset)
            offset += n
        self.left = np.concatenate(lefts)
        self.right = np.concatenate(rights)
        self.feature = np.concatenate(feats)
        self.threshold = np.concatenate(thrs)
        self.value = np.concatenate(vals)
        self.depth = np.concatenate(depths)
        self.distance_scale = np.concatenate(scales)
        self.roots = np.asarray(roots, dtype=np.intp)
        self.n_trees = len(roots)
        self.max_depth = int(self.depth.max()) if self.depth.size else 0
        internal = self.left >= 0
        self.majority = self.value.max(axis=1)
        # unfavourable_left: 1 if the left child is U_k (lower favourable fraction), 0 if the
        # right child is, -1 on ties and at leaves (no fairness boost there).
        unfav = np.full(self.left.shape, -1, dtype=np.int8)
        if pos_index is not None:
            fl = np.where(internal, self.value[self.left, pos_index], 0.0)
            fr = np.where(internal, self.value[self.right, pos_index], 0.0)
            unfav[internal & (fl < fr)] = 1
            unfav[internal & (fr < fl)] = 0
        self.unfavourable_left = unfav
        # favourable-class fraction of every node: what the per-row boost rule compares
        # (kept apart from ``value`` so that the decisions do not depend on what is averaged)
        self.favourable = (None if pos_index is None
                           else np.ascontiguousarray(self.value[:, pos_index]))

    def favourable_spread(self):
        """Per node: max minus min favourable fraction over the leaves below it (0 at leaves).

        A split whose spread is 0 has the same favourable value below both children for
        every row, so the per-row boost rule can never act there.
        """
        lo = self.favourable.copy()
        hi = self.favourable.copy()
        internal = self.left >= 0
        for d in range(self.max_depth - 1, -1, -1):  # children are one level deeper
            at = np.flatnonzero(internal & (self.depth == d))
            lo[at] = np.minimum(lo[self.left[at]], lo[self.right[at]])
            hi[at] = np.maximum(hi[self.left[at]], hi[self.right[at]])
        return hi - lo

    def splits_on(self, features):
        """Boolean mask over nodes: internal nodes splitting on one of ``features``."""
        return np.isin(self.feature, np.asarray(features, dtype=np.intp)) & (self.left >= 0)


class Simulation(NamedTuple):
    """Everything one prediction needs besides the rows: the one argument both engines take.

    ``protected_split`` (bool per node: splits on a protected feature) and ``alpha`` are
    the FairTTTS boost; with ``protected_split=None`` the engines compute plain TTTS.
    ``feature_mean`` / ``feature_scale`` are read by the ``"confidence"`` rule only.
    """

    arrays: _ForestArrays
    prob_type: str = "distance"
    p_max: float = 0.1
    alpha: float = 1.0
    method: str = "exact"
    n_simulations: int = 1
    tol: float = 0.0
    feature_mean: np.ndarray | None = None
    feature_scale: np.ndarray | None = None
    protected_split: np.ndarray | None = None
    random_state: object = None
    distance_scale: str = "paper"
    #: ``distance_scale="feature"`` only: weighted fit-data CDF at each node's threshold
    #: (:math:`F(t_k)`, one per node), and per row and feature the fractions of fit weight
    #: strictly below (``rank_lo``) and at or below (``rank_hi``) the row's value.
    threshold_cdf: np.ndarray | None = None
    rank_lo: np.ndarray | None = None
    rank_hi: np.ndarray | None = None
    #: Which child of a protected split gets the boost (see :data:`BOOST_RULES`).
    boost_rule: str = "row"


def feature_distance(xv, thr, thr_cdf, lo, hi):
    """Fraction of fit weight strictly between x and the threshold (x's own value excluded).

    ``lo`` / ``hi`` are the fit weight fractions below / at-or-below x, ``thr_cdf`` the
    fraction at or below the threshold. Invariant to any increasing transform of the feature.
    """
    d = np.where(xv <= thr, thr_cdf - hi, lo - thr_cdf)
    return np.maximum(d, 0.0)


def simulate(sim, X, unprivileged=None, *, engine="auto", n_jobs=None):
    """Class distribution of the rows of ``X`` under ``sim``, by the chosen engine.

    ``X`` is the float32 model matrix the trees see; ``unprivileged`` a bool per row (None
    for plain TTTS). ``engine="auto"`` is numba when it is installed.
    """
    if engine == "auto":
        engine = "numba" if _numba_available() else "numpy"
    if engine == "numba":
        if not _numba_available():
            raise ImportError("engine='numba' requires numba (pip install numba).")
        return _simulate_numba(sim, X, unprivileged, n_jobs=n_jobs)
    return _simulate(sim, X, unprivileged)


# --------------------------------------------------------------------------------------
# The numpy engine (reference)
# --------------------------------------------------------------------------------------
def _flip_probability(sim, node, xv, sample=None):
    """Base flip probability of each particle (before the fairness boost), capped at 0.5.

    ``sample`` (the particles' rows) is read by the ``"feature"`` distance scale only.
    """
    arrays, prob_type, p_max = sim.arrays, sim.prob_type, sim.p_max
    if prob_type == "fixed":
        p = np.full(node.shape, p_max / 2.0)
    elif prob_type == "depth":
        p = np.minimum(p_max / 2.0 * arrays.depth[node], 2.0 * p_max)
    elif prob_type == "agreement":
        p = np.minimum(1.0 - arrays.majority[node], 5.0 * p_max)
    elif prob_type == "confidence":
        f = arrays.feature[node]
        p = np.maximum(p_max - np.abs(xv - sim.feature_mean[f]) / sim.feature_scale[f], 0.0)
    elif sim.distance_scale == "feature":
        f = arrays.feature[node]
        d = feature_distance(xv, arrays.threshold[node], sim.threshold_cdf[node],
                             sim.rank_lo[sample, f], sim.rank_hi[sample, f])
        p = np.maximum(p_max - d, 0.0)
    else:  # distance, paper scale
        p = np.maximum(
            p_max - np.abs(xv - arrays.threshold[node]) / arrays.distance_scale[node], 0.0
        )
    return np.minimum(p, P_CAP)


def _simulate(sim, X, unprivileged=None):
    """Expected (``method="exact"``) or Monte-Carlo (``"sample"``) class distribution.

    ``X`` is the float32 model matrix the trees see; ``unprivileged`` a bool per sample (or
    None: plain TTTS). Returns an array of shape (n_samples, n_classes): the average over
    trees of each tree's distribution, summed tree by tree in order as scikit-learn's
    forests do, so that ``p_max=0`` reproduces ``predict_proba`` bit for bit.

    Rows that get no boost (privileged rows, ``alpha=1``, plain TTTS) and every row under
    the papers' ``boost_rule="node"`` are walked top down, pushing reach probabilities.
    Under ``boost_rule="row"`` the exact value of an unprivileged row is computed bottom up
    (:func:`_exact_subtree`), because its boost at a protected split depends on what the
    row gets below each child; in sample mode those choices come from the same exact
    subtree values (:func:`_row_prefers_other`), so the Monte-Carlo mean converges to the
    exact value.
    """
    n = X.shape[0]
    boosting = (unprivileged is not None and sim.protected_split is not None
                and sim.alpha != 1.0 and bool(sim.protected_split.any()))
    if not boosting:
        return _mass_walk(sim, X, np.arange(n, dtype=np.intp), None)
    unprivileged = np.asarray(unprivileged, dtype=bool)
    if sim.boost_rule == "node" or sim.method == "sample":
        return _mass_walk(sim, X, np.arange(n, dtype=np.intp), unprivileged)
    out = np.empty((n, sim.arrays.value.shape[1]), dtype=np.float64)
    rows = np.flatnonzero(~unprivileged)
    out[rows] = _mass_walk(sim, X, rows, None)
    rows = np.flatnonzero(unprivileged)
    out[rows] = _exact_rows(sim, X, rows)
    return out


def _mass_walk(sim, X, rows, unprivileged):
    """Top-down walk of ``X[rows]`` (reach probabilities, or Monte-Carlo traversals)."""
    arrays, method, n_simulations = sim.arrays, sim.method, sim.n_simulations
    protected_split, alpha, tol = sim.protected_split, sim.alpha, sim.tol
    boosting = unprivileged is not None and protected_split is not None
    per_row = boosting and sim.boost_rule == "row"
    n, n_classes = rows.shape[0], arrays.value.shape[1]
    n_trees = arrays.n_trees
    reps = n_trees * (n_simulations if method == "sample" else 1)
    batch = max(1, _BATCH_PARTICLES // reps)
    rng = check_random_state(sim.random_state) if method == "sample" else None
    Xd = X  # float32; comparisons below promote to float64 like the trees' C code
    out = np.zeros((n, n_classes), dtype=np.float64)
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        nb = stop - start
        # one particle per (tree, simulation, sample); slot = tree * nb + sample
        sims = n_simulations if method == "sample" else 1
        local = np.tile(np.arange(nb, dtype=np.intp), n_trees * sims)
        sample = rows[start:stop][local]
        slot = np.repeat(np.arange(n_trees, dtype=np.intp), sims * nb) * nb + local
        node = np.repeat(arrays.roots, sims * nb)
        mass = np.ones(node.shape, dtype=np.float64)
        acc = np.zeros((n_trees * nb, n_classes), dtype=np.float64)
        while node.size:
            leaf = arrays.left[node] < 0
            if leaf.any():
                ls, ln, lm = slot[leaf], node[leaf], mass[leaf]
                for c in range(n_classes):
                    acc[:, c] += np.bincount(
                        ls, weights=lm * arrays.value[ln, c], minlength=acc.shape[0]
                    )
                keep = ~leaf
                sample, slot, node, mass = sample[keep], slot[keep], node[keep], mass[keep]
                if not node.size:
                    break
            feat = arrays.feature[node]
            xv = Xd[sample, feat].astype(np.float64)
            go_left = xv <= arrays.threshold[node]
            p = _flip_probability(sim, node, xv, sample)
            if boosting:
                boost = protected_split[node] & unprivileged[sample]
                if per_row:  # sample mode: towards the child better for this row
                    at = np.flatnonzero(boost & (p > 0))
                    boost[:] = False
                    if at.size:
                        boost[at] = _row_prefers_other(sim, X, sample[at], node[at],
                                                       go_left[at])
                else:
                    boost &= arrays.unfavourable_left[node] == go_left
                if boost.any():
                    p[boost] = np.minimum(alpha * p[boost], P_CAP)
            default = np.where(go_left, arrays.left[node], arrays.right[node])
            other = np.where(go_left, arrays.right[node], arrays.left[node])
            if method == "sample":
                flip = rng.random_sample(node.shape[0]) < p
                node = np.where(flip, other, default)
            else:
                flip_mass = mass * p
                split = flip_mass > tol
                # a branch not walked (reach <= tol) gets the class fractions of the node
                # it would enter: the training distribution of that subtree
                cut = np.flatnonzero(~split & (flip_mass > 0))
                if cut.size:
                    for c in range(n_classes):
                        acc[:, c] += np.bincount(
                            slot[cut], weights=flip_mass[cut] * arrays.value[other[cut], c],
                            minlength=acc.shape[0])
                node = np.concatenate([default, other[split]])
                mass = np.concatenate([mass - flip_mass, flip_mass[split]])
                sample = np.concatenate([sample, sample[split]])
                slot = np.concatenate([slot, slot[split]])
        if method == "sample":
            acc /= sims
        block = np.zeros((nb, n_classes), dtype=np.float64)
        for t in range(n_trees):  # same summation order as ForestClassifier.predict_proba
            block += acc[t * nb : (t + 1) * nb]
        out[start:stop] = block
    out /= n_trees
    return out


#: Start pairs (row, node) per batch of the bottom-up evaluation (it keeps every level).
_BATCH_PAIRS = 1 << 12


def _exact_rows(sim, X, rows):
    """Exact boosted distribution of the unprivileged ``X[rows]`` under the per-row rule."""
    arrays = sim.arrays
    n_trees, n_classes = arrays.n_trees, arrays.value.shape[1]
    out = np.zeros((rows.shape[0], n_classes), dtype=np.float64)
    batch = max(1, _BATCH_PAIRS // n_trees)
    for start in range(0, rows.shape[0], batch):
        r = rows[start : start + batch]
        nb = r.shape[0]
        vals, _ = _exact_subtree(sim, X, np.tile(r, n_trees), np.repeat(arrays.roots, nb),
                                 sim.tol)
        block = np.zeros((nb, n_classes), dtype=np.float64)
        for t in range(n_trees):  # trees summed in order, as in _mass_walk
            block += vals[t * nb : (t + 1) * nb]
        out[start : start + nb] = block
    return out / n_trees


def _exact_subtree(sim, X, rows, starts, tol):
    """Exact distribution (and favourable value) of the subtree at ``starts[m]`` for the
    unprivileged row ``rows[m]``, boosted by the per-row rule, bottom up.

    Every level of the expansion is kept; the backward pass gives each internal particle
    ``V = (1 - q) V_default + q V_other`` with ``q`` the boosted flip probability when the
    particle's node splits on a protected feature and ``V_other`` has the higher
    favourable value, the base one otherwise. With ``tol > 0`` a branch is opened when its
    largest possible reach (the boosted or base probability, whichever is larger) exceeds
    ``tol``; a branch not opened gets the class fractions of the node it would enter
    (``value``, the training distribution of that subtree) in place of its walked value.
    """
    arrays, alpha, prot = sim.arrays, sim.alpha, sim.protected_split
    node = np.asarray(starts, dtype=np.intp)
    sample = np.asarray(rows, dtype=np.intp)
    mass = np.ones(node.shape, dtype=np.float64)
    levels = []
    while node.size:
        ii = np.flatnonzero(arrays.left[node] >= 0)
        n_i, s_i, m_i = node[ii], sample[ii], mass[ii]
        xv = X[s_i, arrays.feature[n_i]].astype(np.float64)
        go_left = xv <= arrays.threshold[n_i]
        p = _flip_probability(sim, n_i, xv, s_i)
        pb = np.where(prot[n_i], np.minimum(alpha * p, P_CAP), p)
        lo, hi = np.minimum(p, pb), np.maximum(p, pb)
        opened = (p > 0) & (m_i * hi > tol)
        oi = np.flatnonzero(opened)
        default = np.where(go_left, arrays.left[n_i], arrays.right[n_i])
        other = np.where(go_left, arrays.right[n_i], arrays.left[n_i])
        levels.append((node, ii, p, pb, other, oi))
        node = np.concatenate([default, other[oi]])
        sample = np.concatenate([s_i, s_i[oi]])
        mass = np.concatenate([np.where(p > 0, m_i - m_i * lo, m_i), (m_i * hi)[oi]])
    vals = favs = None
    for node, ii, p, pb, other, oi in reversed(levels):
        V = arrays.value[node].copy()
        F = arrays.favourable[node].copy()
        if ii.size:
            k = ii.size
            vd, fd = vals[:k], favs[:k]
            # a branch not walked: the class fractions of the node it would enter
            vo, fo = arrays.value[other], arrays.favourable[other].copy()
            vo[oi], fo[oi] = vals[k:], favs[k:]
            q = np.where(p > 0, np.where(fo > fd, pb, p), 0.0)
            V[ii] = (1.0 - q)[:, None] * vd + q[:, None] * vo
            F[ii] = (1.0 - q) * fd + q * fo
        vals, favs = V, F
    return vals, favs


def _row_prefers_other(sim, X, rows, nodes, go_left):
    """Per (row, protected node): does the row's exact boosted favourable value through
    the other child exceed the one through its default child? (sample mode)"""
    arrays = sim.arrays
    key = rows.astype(np.int64) * arrays.left.shape[0] + nodes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    r, nd, gl = rows[first], nodes[first], go_left[first]
    default = np.where(gl, arrays.left[nd], arrays.right[nd])
    other = np.where(gl, arrays.right[nd], arrays.left[nd])
    m = r.shape[0]
    _, fav = _exact_subtree(sim, X, np.concatenate([r, r]),
                            np.concatenate([default, other]), 0.0)
    return (fav[m:] > fav[:m])[inverse.ravel()]


# --------------------------------------------------------------------------------------
# Compiled engine (numba), built lazily on first use
# --------------------------------------------------------------------------------------
_PROB_CODES = {name: i for i, name in enumerate(PROB_TYPES)}
_FEATURE_DISTANCE_CODE = len(PROB_TYPES)  # "distance" with distance_scale="feature"
_NUMBA_KERNELS = None

#: Rows per task when ``n_jobs > 1`` splits a batch over threads.
_ROWS_PER_TASK = 512


def _numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba comes with dcor
        return False
    return True


class _NodeColumns(NamedTuple):
    """The node arrays the compiled kernels read, one array per field (struct of arrays)."""

    left: np.ndarray  # int64, -1 at leaves
    right: np.ndarray  # int64
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    scale: np.ndarray  # float64, D of the node's tree (paper) or F(t_k) (feature scale)
    base_p: np.ndarray  # float64, flip probability of the rules that ignore x
    side: np.ndarray  # int8: protected splits: unfavourable_left (node rule) or 2 (row
    # rule); -1 elsewhere
    fav: np.ndarray  # float64, favourable fraction of each node (per-row rule)


def _node_columns(sim):
    """Node fields of ``sim.arrays`` for the compiled kernels, each in its own contiguous
    array.

    ``base_p`` holds the flip probability for the rules that do not depend on x (fixed,
    depth, agreement; capped at 0.5 as in :func:`_flip_probability`), zero otherwise;
    ``side`` is ``unfavourable_left`` at protected splits under ``boost_rule="node"``, 2
    there under ``"row"`` (the kernels decide per row), and -1 elsewhere (no boost).
    Separate integer arrays (rather than one float64 row per node) keep the walk free of
    float-to-int conversions (``benchmarks/bench_fairttts.py`` times the walk).
    """
    arrays = sim.arrays
    base_p = np.zeros(arrays.left.shape[0], dtype=np.float64)
    if sim.prob_type in ("fixed", "depth", "agreement"):
        all_nodes = np.arange(arrays.left.shape[0])
        base_p = _flip_probability(sim, all_nodes, None)
    side = arrays.unfavourable_left.astype(np.int8)
    if sim.protected_split is None:
        side[:] = -1
    else:
        if sim.boost_rule == "row":
            side[:] = 2
        side[~sim.protected_split] = -1
    fav = np.zeros(arrays.left.shape[0]) if arrays.favourable is None else arrays.favourable
    return _NodeColumns(
        np.ascontiguousarray(arrays.left, dtype=np.int64),
        np.ascontiguousarray(arrays.right, dtype=np.int64),
        np.ascontiguousarray(arrays.feature, dtype=np.int64),
        np.ascontiguousarray(arrays.threshold, dtype=np.float64),
        np.ascontiguousarray(
            sim.threshold_cdf if sim.prob_type == "distance" and sim.distance_scale == "feature"
            else arrays.distance_scale, dtype=np.float64),
        np.ascontiguousarray(base_p, dtype=np.float64),
        side,
        np.ascontiguousarray(fav, dtype=np.float64),
    )


def _build_numba_kernels():
    """Compile the per-sample kernels (on first use only, never at import).

    Both kernels walk each tree depth first, one sample at a time, with ``nogil`` so that
    threads can run them side by side on row blocks. They compute the quantities of
    :func:`_simulate`, which stays the reference implementation the tests compare them to.
    Returns ``(exact_for, sample_for)``: each maps a flip-probability rule's code to its
    kernel, compiled for that rule on its first use.
    """
    global _NUMBA_KERNELS
    if _NUMBA_KERNELS is not None:
        return _NUMBA_KERNELS
    from numba import njit

    # ----------------------------------------------------------------------------------
    # exact mode
    #
    # One (row, tree) at a time, tree-major. Everything the walk reads about the row is
    # taken once per row as 1-d views (x, and the fit-rank fractions lo / hi of the
    # feature-scale distance rule); each tree's contribution is summed in a local
    # accumulator and added to the row's output once, in tree order. The plain walk (no
    # per-row boost) is top down with an explicit stack of (node, reach) branches; the
    # per-row rule is the bottom-up walk of ``row_value`` with the child not taken kept on
    # the stack (no second read of x when a frame is popped).
    # ----------------------------------------------------------------------------------
    def make_exact(CODE):
        """The exact kernel for one flip-probability rule: ``CODE`` is a compile-time
        constant, so the rule's branch is resolved when the kernel is compiled (a run-time
        ``code`` test inside the walk made it about four times slower)."""

        @njit(nogil=True, inline="always")
        def base_flip(code, node, f, xv, thr, scale, base_p, p_max, fmean, fscale, lo, hi):
            """``flip_p`` with the row's rank fractions as 1-d views."""
            if CODE == 5:
                if xv <= thr:
                    d = scale[node] - hi[f]
                else:
                    d = lo[f] - scale[node]
                return p_max - max(d, 0.0)
            if CODE == 4:
                return p_max - abs(xv - thr) / scale[node]
            if CODE == 3:
                return p_max - abs(xv - fmean[f]) / fscale[f]
            return base_p[node]

        @njit(nogil=True)
        def walk_tree(x, lo, hi, up, root, left, right, feature, threshold, scale, base_p,
                      side, value, code, p_max, alpha, tol, fmean, fscale, st_node, st_mass,
                      acc):
            """Top-down exact walk of one tree for one row: adds its distribution to acc."""
            n_classes = value.shape[1]
            st_node[0] = root
            st_mass[0] = 1.0
            top = 1
            while top > 0:
                top -= 1
                node = st_node[top]
                mass = st_mass[top]
                while True:
                    lft = left[node]
                    if lft < 0:
                        break
                    rgt = right[node]
                    f = feature[node]
                    xv = np.float64(x[f])
                    thr = threshold[node]
                    go_left = xv <= thr
                    p = base_flip(code, node, f, xv, thr, scale, base_p, p_max, fmean, fscale,
                                  lo, hi)
                    if p > 0.0:
                        p = min(p, 0.5)
                        if up:  # node rule: boost rows headed to the unfavourable side
                            s = side[node]
                            if (s == 0 or s == 1) and (s == 1) == go_left:
                                p = min(alpha * p, 0.5)
                        flip_mass = mass * p
                        other = rgt if go_left else lft
                        if flip_mass > tol:
                            st_node[top] = other
                            st_mass[top] = flip_mass
                            top += 1
                        else:  # not walked: the class fractions of the node entered
                            for c in range(n_classes):
                                acc[c] += flip_mass * value[other, c]
                        mass = mass - flip_mass
                    node = lft if go_left else rgt
                for c in range(n_classes):
                    acc[c] += mass * value[node, c]

        @njit(nogil=True)
        def row_tree(x, lo, hi, root, left, right, feature, threshold, scale, base_p, side,
                     fav, value, code, p_max, alpha, tol, fmean, fscale, st_other, st_mass,
                     st_p, st_pb, st_stage, st_vd, st_fd, ret):
            """Per-row rule: ``row_value`` of one tree for one row (into ret), bottom up."""
            n_classes = value.shape[1]
            top = 0
            node = root
            mass = 1.0
            while True:
                while True:
                    lft = left[node]
                    if lft < 0:
                        break
                    rgt = right[node]
                    f = feature[node]
                    xv = np.float64(x[f])
                    thr = threshold[node]
                    go_left = xv <= thr
                    p = base_flip(code, node, f, xv, thr, scale, base_p, p_max, fmean, fscale,
                                  lo, hi)
                    if p > 0.0:
                        p = min(p, 0.5)
                        pb = min(alpha * p, 0.5) if side[node] == 2 else p
                        st_other[top] = rgt if go_left else lft
                        st_mass[top] = mass
                        st_p[top] = p
                        st_pb[top] = pb
                        # 0: the other branch is walked; 2: its reach is at most tol and the
                        # node it would enter stands in with its class fractions
                        st_stage[top] = 0 if mass * max(p, pb) > tol else 2
                        top += 1
                        mass = mass - mass * min(p, pb)
                    node = lft if go_left else rgt
                for c in range(n_classes):
                    ret[c] = value[node, c]
                retf = fav[node]
                descended = False
                while top > 0:
                    k = top - 1
                    stage = st_stage[k]
                    if stage == 2:  # default child done, other branch not walked
                        o = st_other[k]
                        q = st_pb[k] if fav[o] > retf else st_p[k]
                        for c in range(n_classes):
                            ret[c] = (1.0 - q) * ret[c] + q * value[o, c]
                        retf = (1.0 - q) * retf + q * fav[o]
                        top -= 1
                        continue
                    if stage == 0:  # default child done: walk the other one
                        for c in range(n_classes):
                            st_vd[k, c] = ret[c]
                        st_fd[k] = retf
                        st_stage[k] = 1
                        node = st_other[k]
                        mass = st_mass[k] * max(st_p[k], st_pb[k])
                        descended = True
                        break
                    q = st_pb[k] if retf > st_fd[k] else st_p[k]
                    for c in range(n_classes):
                        ret[c] = (1.0 - q) * st_vd[k, c] + q * ret[c]
                    retf = (1.0 - q) * st_fd[k] + q * retf
                    top -= 1
                if not descended:
                    return retf

        @njit(nogil=True, cache=False)
        def exact(X, unpriv, left, right, feature, threshold, scale, base_p, side, fav, value,
                  roots, max_depth, code, p_max, alpha, tol, fmean, fscale, rlo, rhi, row_rule):
            n = X.shape[0]
            n_classes = value.shape[1]
            n_trees = roots.shape[0]
            out = np.zeros((n, n_classes))
            size = max_depth + 2
            st_node = np.empty(size, np.int64)
            st_mass = np.empty(size, np.float64)
            st_p = np.empty(size, np.float64)
            st_pb = np.empty(size, np.float64)
            st_stage = np.empty(size, np.int8)
            st_vd = np.empty((size, n_classes), np.float64)
            st_fd = np.empty(size, np.float64)
            acc = np.empty(n_classes, np.float64)
            feature_rank = rlo.shape[0] == n  # rank views per row (feature distance only)
            # tree-major order (like scikit-learn's forests): one tree stays in cache while
            # every row walks it; per row, trees are summed in order
            for t in range(n_trees):
                root = roots[t]
                for i in range(n):
                    x = X[i]
                    r = i if feature_rank else 0
                    lo = rlo[r]
                    hi = rhi[r]
                    up = unpriv[i]
                    if up and row_rule:
                        row_tree(x, lo, hi, root, left, right, feature, threshold, scale,
                                 base_p, side, fav, value, code, p_max, alpha, tol, fmean,
                                 fscale, st_node, st_mass, st_p, st_pb, st_stage, st_vd, st_fd,
                                 acc)
                    else:
                        acc[:] = 0.0
                        walk_tree(x, lo, hi, up, root, left, right, feature, threshold, scale,
                                  base_p, side, value, code, p_max, alpha, tol, fmean, fscale,
                                  st_node, st_mass, acc)
                    for c in range(n_classes):
                        out[i, c] += acc[c]
            out /= n_trees
            return out

        return exact

    exact_kernels = {}

    def exact_for(code):
        """The compiled exact kernel of ``code`` (built on first use of that rule)."""
        if code not in exact_kernels:
            exact_kernels[code] = make_exact(code)
        return exact_kernels[code]

    def make_sample(CODE):
        """The Monte-Carlo kernel (and its per-row-rule helper ``row_value``) for one
        flip-probability rule, ``CODE`` a compile-time constant as in ``make_exact``."""

        @njit(nogil=True, inline="always")
        def flip_p(code, node, f, xv, thr, scale, base_p, p_max, fmean, fscale, i, rlo, rhi):
            """Base flip probability before the boost; <= 0 means the walk never flips here."""
            if CODE == 5:  # distance, feature scale (scale holds F(t) per node)
                if xv <= thr:
                    d = scale[node] - rhi[i, f]
                else:
                    d = rlo[i, f] - scale[node]
                return p_max - max(d, 0.0)
            if CODE == 4:  # distance
                return p_max - abs(xv - thr) / scale[node]
            if CODE == 3:  # confidence
                return p_max - abs(xv - fmean[f]) / fscale[f]
            return base_p[node]  # fixed, depth, agreement: precomputed per node

        @njit(nogil=True, inline="always")
        def boosted(p, up, s, go_left, alpha):
            """Cap at 0.5; node rule (s = side 0 or 1): boost unprivileged rows headed to the
            unfavourable side. The row rule (s = 2) is decided by the callers."""
            p = min(p, 0.5)
            if up and (s == 0 or s == 1) and (s == 1) == go_left:
                p = min(alpha * p, 0.5)
            return p

        @njit(nogil=True)
        def row_value(i, start, X, left, right, feature, threshold, scale, base_p, side, fav,
                      value, code, p_max, alpha, tol, fmean, fscale, rlo, rhi, st_node,
                      st_mass, st_p, st_pb, st_stage, st_vd, st_fd, ret):
            """Per-row rule, unprivileged row ``i``: exact distribution of the subtree at
            ``start`` (into ``ret``) and its favourable value (returned), bottom up.

            An iterative post-order walk: a frame is pushed at every node where the row may
            flip; its other branch is walked when its largest possible reach exceeds ``tol``,
            else the node it would enter stands in with its class fractions. When both are
            known, ``V = (1 - q) V_default + q V_other`` with ``q`` boosted at a protected
            split (side 2) iff ``V_other`` has the higher favourable value.
            """
            n_classes = value.shape[1]
            top = 0
            node = start
            mass = 1.0
            while True:
                while left[node] >= 0:
                    f = feature[node]
                    xv = np.float64(X[i, f])
                    thr = threshold[node]
                    go_left = xv <= thr
                    p = flip_p(code, node, f, xv, thr, scale, base_p, p_max, fmean, fscale, i,
                               rlo, rhi)
                    if p > 0.0:
                        p = min(p, 0.5)
                        pb = min(alpha * p, 0.5) if side[node] == 2 else p
                        st_node[top] = node
                        st_mass[top] = mass
                        st_p[top] = p
                        st_pb[top] = pb
                        # 0: the other branch is walked; 2: its reach is at most tol and the
                        # node it would enter stands in with its class fractions
                        st_stage[top] = 0 if mass * max(p, pb) > tol else 2
                        top += 1
                        mass = mass - mass * min(p, pb)
                    node = left[node] if go_left else right[node]
                for c in range(n_classes):
                    ret[c] = value[node, c]
                retf = fav[node]
                descended = False
                while top > 0:
                    k = top - 1
                    if st_stage[k] == 2:  # default child done, other branch not walked
                        nd = st_node[k]
                        go_left = np.float64(X[i, feature[nd]]) <= threshold[nd]
                        o = right[nd] if go_left else left[nd]
                        q = st_pb[k] if fav[o] > retf else st_p[k]
                        for c in range(n_classes):
                            ret[c] = (1.0 - q) * ret[c] + q * value[o, c]
                        retf = (1.0 - q) * retf + q * fav[o]
                        top -= 1
                        continue
                    if st_stage[k] == 0:  # default child done: walk the other one
                        for c in range(n_classes):
                            st_vd[k, c] = ret[c]
                        st_fd[k] = retf
                        st_stage[k] = 1
                        nd = st_node[k]
                        go_left = np.float64(X[i, feature[nd]]) <= threshold[nd]
                        node = right[nd] if go_left else left[nd]
                        mass = st_mass[k] * max(st_p[k], st_pb[k])
                        descended = True
                        break
                    q = st_pb[k] if retf > st_fd[k] else st_p[k]
                    for c in range(n_classes):
                        ret[c] = (1.0 - q) * st_vd[k, c] + q * ret[c]
                    retf = (1.0 - q) * st_fd[k] + q * retf
                    top -= 1
                if not descended:
                    return retf

        golden = np.uint64(0x9E3779B97F4A7C15)
        m1 = np.uint64(0xBF58476D1CE4E5B9)
        m2 = np.uint64(0x94D049BB133111EB)
        s30, s27, s31, s11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
        inv53 = 1.0 / 9007199254740992.0

        @njit(nogil=True, inline="always")
        def mix(z):  # SplitMix64 output function (Steele, Lea, Flood 2014)
            z = (z ^ (z >> s30)) * m1
            z = (z ^ (z >> s27)) * m2
            return z ^ (z >> s31)

        @njit(nogil=True, cache=False)
        def sample(X, unpriv, left, right, feature, threshold, scale, base_p, side, fav, value,
                   roots, max_depth, row0, n_sims, seed, code, p_max, alpha, fmean, fscale, rlo,
                   rhi, row_rule):
            n = X.shape[0]
            n_classes = value.shape[1]
            n_trees = roots.shape[0]
            out = np.zeros((n, n_classes))
            tree_acc = np.empty(n_classes, np.float64)
            # per-row rule: work arrays of row_value, and each (row, tree)'s decision at a
            # protected node cached under a stamp (no reset between rows)
            st_node = np.empty(max_depth + 2, np.int64)
            st_mass = np.empty(max_depth + 2, np.float64)
            st_p = np.empty(max_depth + 2, np.float64)
            st_pb = np.empty(max_depth + 2, np.float64)
            st_stage = np.empty(max_depth + 2, np.int8)
            st_vd = np.empty((max_depth + 2, n_classes), np.float64)
            st_fd = np.empty(max_depth + 2, np.float64)
            ret = np.empty(n_classes, np.float64)
            n_nodes = left.shape[0] if row_rule else 1
            stamp = np.zeros(n_nodes, np.int64)
            prefers_other = np.zeros(n_nodes, np.bool_)
            for t in range(n_trees):  # tree-major, as in the exact kernel
                for i in range(n):
                    up = unpriv[i]
                    tree_acc[:] = 0.0
                    for s in range(n_sims):
                        # one SplitMix64 stream per (row, tree, simulation): a row's draws do
                        # not depend on how rows are split into blocks or threads
                        key = (np.uint64(row0 + i) * np.uint64(n_trees) + np.uint64(t)) * (
                            np.uint64(n_sims)) + np.uint64(s)
                        state = mix(seed ^ mix(key + golden))
                        node = roots[t]
                        while left[node] >= 0:
                            f = feature[node]
                            xv = np.float64(X[i, f])
                            thr = threshold[node]
                            go_left = xv <= thr
                            p = flip_p(code, node, f, xv, thr, scale, base_p, p_max, fmean,
                                       fscale, i, rlo, rhi)
                            flip = False
                            if p > 0.0:
                                p = boosted(p, up, side[node], go_left, alpha)
                                if up and row_rule and side[node] == 2:
                                    key1 = np.int64(i) * n_trees + t + 1
                                    if stamp[node] != key1:
                                        d = left[node] if go_left else right[node]
                                        o = right[node] if go_left else left[node]
                                        fd = row_value(
                                            i, d, X, left, right, feature, threshold, scale,
                                            base_p, side, fav, value, code, p_max, alpha, 0.0,
                                            fmean, fscale, rlo, rhi, st_node, st_mass, st_p,
                                            st_pb, st_stage, st_vd, st_fd, ret)
                                        fo = row_value(
                                            i, o, X, left, right, feature, threshold, scale,
                                            base_p, side, fav, value, code, p_max, alpha, 0.0,
                                            fmean, fscale, rlo, rhi, st_node, st_mass, st_p,
                                            st_pb, st_stage, st_vd, st_fd, ret)
                                        stamp[node] = key1
                                        prefers_other[node] = fo > fd
                                    if prefers_other[node]:
                                        p = min(alpha * p, 0.5)
                                state += golden
                                flip = np.float64(mix(state) >> s11) * inv53 < p
                            node = left[node] if flip != go_left else right[node]
                        for c in range(n_classes):
                            tree_acc[c] += value[node, c]
                    for c in range(n_classes):
                        out[i, c] += tree_acc[c] / n_sims
            out /= n_trees
            return out

        return sample

    sample_kernels = {}

    def sample_for(code):
        """The compiled Monte-Carlo kernel of ``code`` (built on first use of that rule)."""
        if code not in sample_kernels:
            sample_kernels[code] = make_sample(code)
        return sample_kernels[code]

    _NUMBA_KERNELS = (exact_for, sample_for)
    return _NUMBA_KERNELS


def _simulate_numba(sim, X, unprivileged=None, n_jobs=1):
    """Same contract as :func:`_simulate`, computed by the compiled kernels.

    ``method="exact"`` gives :func:`_simulate`'s numbers up to floating-point summation
    order; ``method="sample"`` draws from the same distribution with a different random
    stream (counter-based, so a row's result does not depend on ``n_jobs``).
    """
    exact_for, sample_for = _build_numba_kernels()
    n = X.shape[0]
    X = np.ascontiguousarray(X, dtype=np.float32)
    if unprivileged is None:
        unprivileged = np.zeros(n, dtype=np.bool_)
    unprivileged = np.ascontiguousarray(unprivileged, dtype=np.bool_)
    arrays, method = sim.arrays, sim.method
    cols = _node_columns(sim)
    n_features = X.shape[1]
    fmean = np.zeros(n_features) if sim.feature_mean is None else \
        np.asarray(sim.feature_mean, float)
    fscale = np.ones(n_features) if sim.feature_scale is None else \
        np.asarray(sim.feature_scale, float)
    code, p_max, alpha = _PROB_CODES[sim.prob_type], float(sim.p_max), float(sim.alpha)
    if sim.prob_type == "distance" and sim.distance_scale == "feature":
        code = _FEATURE_DISTANCE_CODE
        rlo = np.ascontiguousarray(sim.rank_lo, dtype=np.float64)
        rhi = np.ascontiguousarray(sim.rank_hi, dtype=np.float64)
    else:
        rlo = rhi = np.zeros((n, 1))
    tol, n_simulations = float(sim.tol), int(sim.n_simulations)
    row_rule = (sim.boost_rule == "row" and sim.protected_split is not None
                and alpha != 1.0 and arrays.favourable is not None
                and bool(sim.protected_split.any()))
    if method == "exact":
        exact = exact_for(code)  # compiled for this rule on its first use
    else:
        sample = sample_for(code)
        seed = np.uint64(
            check_random_state(sim.random_state).randint(0, 2**63 - 1, dtype=np.int64)
        )

    def run(lo, hi):
        Xb, ub, rl, rh = X[lo:hi], unprivileged[lo:hi], rlo[lo:hi], rhi[lo:hi]
        if method == "exact":
            return exact(Xb, ub, *cols, arrays.value, arrays.roots, arrays.max_depth, code,
                         p_max, alpha, tol, fmean, fscale, rl, rh, row_rule)
        return sample(Xb, ub, *cols, arrays.value, arrays.roots, arrays.max_depth, lo,
                      n_simulations, seed, code, p_max, alpha, fmean, fscale, rl, rh,
                      row_rule)

    n_jobs = effective_n_jobs(n_jobs)
    if n_jobs == 1 or n <= _ROWS_PER_TASK:
        return run(0, n)
    bounds = list(range(0, n, _ROWS_PER_TASK)) + [n]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        parts = list(pool.map(run, bounds[:-1], bounds[1:]))
    return np.concatenate(parts, axis=0)
