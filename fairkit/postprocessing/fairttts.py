"""Tree Test Time Simulation (TTTS) and its fairness-aware variant FairTTTS.

Both post-process an already fitted scikit-learn decision tree or tree ensemble: at test
time a sample may take the "wrong" branch at an internal node with a small probability, and
the prediction is the expected (or Monte-Carlo averaged) leaf class distribution. FairTTTS
raises that probability for unprivileged samples headed to the unfavourable side of a split
on the protected attribute. Nothing is retrained.

The engine works on the trees' ``tree_`` arrays directly and is vectorised over samples and
trees: every "particle" (sample, tree, node, probability mass) of one tree level is advanced
by a handful of numpy operations, so there is no Python loop over samples. A compiled
engine (numba, built on first use, never at import) walks each tree depth first per
sample instead and is the default when numba is installed; the numpy engine is the
reference it is tested against.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.exceptions import DataConversionWarning
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._protected import privileged_mask
from ..base import ProtectedAttributeMixin, map_to_fitted_groups

__all__ = ["FairTTTSClassifier", "TTTSClassifier"]

PROB_TYPES = ("fixed", "depth", "agreement", "confidence", "distance")

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

    def splits_on(self, features):
        """Boolean mask over nodes: internal nodes splitting on one of ``features``."""
        return np.isin(self.feature, np.asarray(features, dtype=np.intp)) & (self.left >= 0)


# --------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------
def _flip_probability(arrays, node, xv, prob_type, p_max, feature_mean, feature_scale):
    """Base flip probability of each particle (before the fairness boost), capped at 0.5."""
    if prob_type == "fixed":
        p = np.full(node.shape, p_max / 2.0)
    elif prob_type == "depth":
        p = np.minimum(p_max / 2.0 * arrays.depth[node], 2.0 * p_max)
    elif prob_type == "agreement":
        p = np.minimum(1.0 - arrays.majority[node], 5.0 * p_max)
    elif prob_type == "confidence":
        f = arrays.feature[node]
        p = np.maximum(p_max - np.abs(xv - feature_mean[f]) / feature_scale[f], 0.0)
    else:  # distance
        p = np.maximum(
            p_max - np.abs(xv - arrays.threshold[node]) / arrays.distance_scale[node], 0.0
        )
    return np.minimum(p, P_CAP)


def _simulate(
    arrays,
    X,
    unprivileged,
    protected_split,
    *,
    prob_type,
    p_max,
    alpha,
    method,
    n_simulations,
    tol,
    feature_mean,
    feature_scale,
    random_state,
):
    """Expected (``method="exact"``) or Monte-Carlo (``"sample"``) class distribution.

    ``X`` is the float32 model matrix the trees see; ``unprivileged`` a bool per sample (or
    None: plain TTTS). Returns an array of shape (n_samples, n_classes): the average over
    trees of each tree's distribution, summed tree by tree in order as scikit-learn's
    forests do, so that ``p_max=0`` reproduces ``predict_proba`` bit for bit.
    """
    n, n_classes = X.shape[0], arrays.value.shape[1]
    n_trees = arrays.n_trees
    reps = n_trees * (n_simulations if method == "sample" else 1)
    batch = max(1, _BATCH_PARTICLES // reps)
    rng = check_random_state(random_state) if method == "sample" else None
    Xd = X  # float32; comparisons below promote to float64 like the trees' C code
    out = np.zeros((n, n_classes), dtype=np.float64)
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        nb = stop - start
        # one particle per (tree, simulation, sample); slot = tree * nb + sample
        sims = n_simulations if method == "sample" else 1
        sample = np.tile(np.arange(start, stop, dtype=np.intp), n_trees * sims)
        slot = np.repeat(np.arange(n_trees, dtype=np.intp), sims * nb) * nb + (sample - start)
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
            p = _flip_probability(
                arrays, node, xv, prob_type, p_max, feature_mean, feature_scale
            )
            if unprivileged is not None:
                boost = (
                    protected_split[node]
                    & unprivileged[sample]
                    & (arrays.unfavourable_left[node] == go_left)
                )
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
                node = np.concatenate([default, other[split]])
                mass = np.concatenate([np.where(split, mass - flip_mass, mass), flip_mass[split]])
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


# --------------------------------------------------------------------------------------
# Compiled engine (numba), built lazily on first use
# --------------------------------------------------------------------------------------
_PROB_CODES = {name: i for i, name in enumerate(PROB_TYPES)}
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
    scale: np.ndarray  # float64, distance scale D of the node's tree
    base_p: np.ndarray  # float64, flip probability of the rules that ignore x
    side: np.ndarray  # int8: unfavourable_left at protected splits, -1 elsewhere


def _node_columns(arrays, prob_type, p_max, protected_split):
    """Node fields for the compiled kernels, each in its own contiguous array.

    ``base_p`` holds the flip probability for the rules that do not depend on x (fixed,
    depth, agreement; capped at 0.5 as in :func:`_flip_probability`), zero otherwise;
    ``side`` is ``unfavourable_left`` at protected splits and -1 elsewhere (no boost).
    Separate integer arrays (rather than one float64 row per node) keep the walk free of
    float-to-int conversions; it ran about 2.5x faster on a 100-tree Adult forest.
    """
    base_p = np.zeros(arrays.left.shape[0], dtype=np.float64)
    if prob_type in ("fixed", "depth", "agreement"):
        all_nodes = np.arange(arrays.left.shape[0])
        base_p = _flip_probability(arrays, all_nodes, None, prob_type, p_max, None, None)
    side = arrays.unfavourable_left.astype(np.int8)
    if protected_split is None:
        side[:] = -1
    else:
        side[~protected_split] = -1
    return _NodeColumns(
        np.ascontiguousarray(arrays.left, dtype=np.int64),
        np.ascontiguousarray(arrays.right, dtype=np.int64),
        np.ascontiguousarray(arrays.feature, dtype=np.int64),
        np.ascontiguousarray(arrays.threshold, dtype=np.float64),
        np.ascontiguousarray(arrays.distance_scale, dtype=np.float64),
        np.ascontiguousarray(base_p, dtype=np.float64),
        side,
    )


def _build_numba_kernels():
    """Compile the per-sample kernels (on first use only: a few seconds, never at import).

    Both kernels walk each tree depth first, one sample at a time, with ``nogil`` so that
    threads can run them side by side on row blocks. They compute the quantities of
    :func:`_simulate`, which stays the reference implementation the tests compare them to.
    """
    global _NUMBA_KERNELS
    if _NUMBA_KERNELS is not None:
        return _NUMBA_KERNELS
    from numba import njit

    @njit(nogil=True, inline="always")
    def flip_p(code, node, f, xv, thr, scale, base_p, p_max, fmean, fscale):
        """Base flip probability before the boost; <= 0 means the walk never flips here."""
        if code == 4:  # distance
            return p_max - abs(xv - thr) / scale[node]
        if code == 3:  # confidence
            return p_max - abs(xv - fmean[f]) / fscale[f]
        return base_p[node]  # fixed, depth, agreement: precomputed per node

    @njit(nogil=True, inline="always")
    def boosted(p, up, s, go_left, alpha):
        """Cap at 0.5; boost unprivileged rows headed to the unfavourable side (s = side)."""
        p = min(p, 0.5)
        if up and s >= 0 and (s == 1) == go_left:
            p = min(alpha * p, 0.5)
        return p

    @njit(nogil=True, cache=False)
    def exact(X, unpriv, left, right, feature, threshold, scale, base_p, side, value, roots,
              max_depth, code, p_max, alpha, tol, fmean, fscale):
        n = X.shape[0]
        n_classes = value.shape[1]
        n_trees = roots.shape[0]
        out = np.zeros((n, n_classes))
        stack_node = np.empty(max_depth + 2, np.int64)
        stack_mass = np.empty(max_depth + 2, np.float64)
        # tree-major order (like scikit-learn's forests): one tree stays in cache while
        # every row walks it; per row, trees are still summed in order
        for t in range(n_trees):
            for i in range(n):
                up = unpriv[i]
                stack_node[0] = roots[t]
                stack_mass[0] = 1.0
                top = 1
                while top > 0:
                    top -= 1
                    node = stack_node[top]
                    mass = stack_mass[top]
                    while left[node] >= 0:
                        f = feature[node]
                        xv = np.float64(X[i, f])
                        thr = threshold[node]
                        go_left = xv <= thr
                        p = flip_p(code, node, f, xv, thr, scale, base_p, p_max, fmean,
                                   fscale)
                        if p > 0.0:
                            flip_mass = mass * boosted(p, up, side[node], go_left, alpha)
                            if flip_mass > tol:
                                stack_node[top] = right[node] if go_left else left[node]
                                stack_mass[top] = flip_mass
                                top += 1
                                mass = mass - flip_mass
                        node = left[node] if go_left else right[node]
                    for c in range(n_classes):
                        out[i, c] += mass * value[node, c]
        out /= n_trees
        return out

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
    def sample(X, unpriv, left, right, feature, threshold, scale, base_p, side, value, roots,
               row0, n_sims, seed, code, p_max, alpha, fmean, fscale):
        n = X.shape[0]
        n_classes = value.shape[1]
        n_trees = roots.shape[0]
        out = np.zeros((n, n_classes))
        tree_acc = np.empty(n_classes, np.float64)
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
                                   fscale)
                        flip = False
                        if p > 0.0:
                            p = boosted(p, up, side[node], go_left, alpha)
                            state += golden
                            flip = np.float64(mix(state) >> s11) * inv53 < p
                        node = left[node] if flip != go_left else right[node]
                    for c in range(n_classes):
                        tree_acc[c] += value[node, c]
                for c in range(n_classes):
                    out[i, c] += tree_acc[c] / n_sims
        out /= n_trees
        return out

    _NUMBA_KERNELS = (exact, sample)
    return _NUMBA_KERNELS


def _simulate_numba(
    arrays,
    X,
    unprivileged,
    protected_split,
    *,
    prob_type,
    p_max,
    alpha,
    method,
    n_simulations,
    tol,
    feature_mean,
    feature_scale,
    random_state,
    n_jobs=1,
):
    """Same contract as :func:`_simulate`, computed by the compiled kernels.

    ``method="exact"`` gives :func:`_simulate`'s numbers up to floating-point summation
    order; ``method="sample"`` draws from the same distribution with a different random
    stream (counter-based, so a row's result does not depend on ``n_jobs``).
    """
    exact, sample = _build_numba_kernels()
    n = X.shape[0]
    X = np.ascontiguousarray(X, dtype=np.float32)
    if unprivileged is None:
        unprivileged = np.zeros(n, dtype=np.bool_)
    unprivileged = np.ascontiguousarray(unprivileged, dtype=np.bool_)
    cols = _node_columns(arrays, prob_type, p_max, protected_split)
    n_features = X.shape[1]
    fmean = np.zeros(n_features) if feature_mean is None else np.asarray(feature_mean, float)
    fscale = np.ones(n_features) if feature_scale is None else np.asarray(feature_scale, float)
    code, p_max, alpha = _PROB_CODES[prob_type], float(p_max), float(alpha)
    if method == "sample":
        seed = np.uint64(check_random_state(random_state).randint(0, 2**63 - 1, dtype=np.int64))

    def run(lo, hi):
        Xb, ub = X[lo:hi], unprivileged[lo:hi]
        if method == "exact":
            return exact(Xb, ub, *cols, arrays.value, arrays.roots, arrays.max_depth, code,
                         p_max, alpha, float(tol), fmean, fscale)
        return sample(Xb, ub, *cols, arrays.value, arrays.roots, lo, int(n_simulations),
                      seed, code, p_max, alpha, fmean, fscale)

    n_jobs = effective_n_jobs(n_jobs)
    if n_jobs == 1 or n <= _ROWS_PER_TASK:
        return run(0, n)
    bounds = list(range(0, n, _ROWS_PER_TASK)) + [n]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        parts = list(pool.map(run, bounds[:-1], bounds[1:]))
    return np.concatenate(parts, axis=0)


# --------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------
_TREE_MODELS = (DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier)


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _trees_of(model):
    if isinstance(model, DecisionTreeClassifier):
        return [model.tree_]
    trees = []
    for est in model.estimators_:
        if not isinstance(est, DecisionTreeClassifier):
            raise TypeError(
                f"estimator's sub-estimators must be decision trees, got {type(est).__name__}."
            )
        trees.append(est.tree_)
    return trees


class TTTSClassifier(ClassifierMixin, BaseEstimator):
    r"""Tree Test Time Simulation (TTTS) for a fitted decision tree or tree ensemble.

    At every internal node :math:`k` (feature :math:`j_k`, threshold :math:`t_k`) a sample
    normally goes left iff :math:`x_{j_k} \le t_k`; under TTTS it takes the other branch with
    probability :math:`p_k(x)`. The prediction is the expected leaf class distribution,

    .. math::

        \hat P(y \mid x) = \frac{1}{T} \sum_{t=1}^{T} \sum_{\ell \in \mathrm{leaves}(t)}
            \pi_\ell(x)\, v_\ell, \qquad
        \pi_\ell(x) = \prod_{k \in \mathrm{path}(\ell)} q_k(x),

    where :math:`v_\ell` is the leaf's class-fraction vector, :math:`T` the number of trees
    and :math:`q_k(x)` is :math:`1-p_k(x)` on the default branch and :math:`p_k(x)` on the
    other one. ``method="exact"`` computes this sum by pushing reach probabilities
    :math:`\pi` down the trees; ``method="sample"`` averages ``n_simulations`` Monte-Carlo
    traversals per tree, as in the paper.

    Flip-probability rules (``prob_type``); ``p_max`` scales every rule so that the default
    ``p_max=0.1`` gives exactly the constants of the TTTS paper and ``p_max=0`` gives the
    untreated model:

    ============  =====================================================  ===============
    rule          :math:`p_k(x)` before the cap at 0.5                    at p_max = 0.1
    ============  =====================================================  ===============
    fixed         :math:`p_{max}/2`                                       0.05
    depth         :math:`\min(d_k\, p_{max}/2,\ 2 p_{max})`               min(0.05 d, 0.2)
    agreement     :math:`\min(1 - m_k,\ 5 p_{max})`                       min(1 - m, 0.5)
    confidence    :math:`\max(p_{max} - |x_j - \mu_j| / \sigma_j,\ 0)`
    distance      :math:`\max(p_{max} - |x_j - t_k| / D,\ 0)`
    ============  =====================================================  ===============

    :math:`d_k` is the node depth (root 0), :math:`m_k` the majority-class fraction at the
    node, :math:`\mu_j, \sigma_j` the mean and standard deviation of feature :math:`j` on
    the data passed to ``fit`` (the reference code uses the batch being predicted, which
    makes a prediction depend on the other rows), and :math:`D = \max_k |t_k|` over the
    tree's internal nodes.

    Parameters
    ----------
    estimator : DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier or \
            Pipeline, default=None
        The tree model (or a Pipeline whose last step is one). None means
        ``DecisionTreeClassifier()``.
    p_max : float in [0, 0.5], default=0.1
        Scale of the flip probabilities (see the table).
    prob_type : {"fixed", "depth", "agreement", "confidence", "distance"}, default="distance"
        Flip-probability rule.
    method : {"exact", "sample"}, default="exact"
        Expected value by reach-probability propagation, or Monte-Carlo traversals.
    n_simulations : int, default=100
        Monte-Carlo traversals per tree and sample (``method="sample"`` only). The authors'
        forest code uses one traversal per tree (``n_simulations=1``).
    tol : float, default=0.0
        ``method="exact"`` only: a branch whose reach probability would be at most ``tol``
        is not opened; its mass stays on the default branch. 0 gives the exact expectation;
        a small value (1e-4) makes deep, fully grown forests much faster, and each sample's
        probability vector then moves by at most the total mass of unopened branches. On a
        100-tree forest fitted to Adult, ``tol=1e-3`` moved P(>50K) by 0.006 on average
        (0.013 at most) and ``tol=1e-2`` by 0.037 (0.083), about as much as one Monte-Carlo
        traversal per tree (``benchmarks/bench_fairttts.py`` prints the times).
    prefit : bool, default=False
        If True, ``estimator`` is already fitted and used as is; ``fit`` only reads ``X``.
    random_state : int, RandomState instance or None, default=None
        Seed of the Monte-Carlo traversals (a fixed seed gives the same output on every
        ``predict`` call). The two engines draw different random streams from it.
    engine : {"auto", "numba", "numpy"}, default="auto"
        ``"numba"``: compiled per-sample kernels (depth-first walk of each tree; compiled
        on the first prediction of a process, which takes a few seconds; numba is never
        imported by ``import fairkit``). ``"numpy"``: the vectorised reference engine
        (all samples of a tree level advanced together). ``"auto"``: numba if it is
        installed. Exact mode gives the same numbers with both engines (to rounding,
        about 1e-15); sample mode the same distribution from different random streams.
    n_jobs : int, default=None
        Threads for the numba engine (row blocks of 512; ``None`` means 1, -1 all cores).
        Results do not depend on it.

    Attributes
    ----------
    estimator_ : estimator
        The fitted tree model (the given one if ``prefit``, else a fitted clone).
    classes_ : ndarray
        Class labels.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    FairTTTSClassifier : TTTS with a fairness boost for unprivileged samples.

    References
    ----------
    .. [1] S. Cohen, O. Arbili, Y. Mirsky, L. Rokach, "TTTS: Tree Test Time Simulation for
       Enhancing Decision Tree Robustness Against Adversarial Examples", AAAI 2024.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from fairkit.postprocessing import TTTSClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = TTTSClassifier(DecisionTreeClassifier(max_depth=3, random_state=0)).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> untreated = TTTSClassifier(clf.estimator_, p_max=0.0, prefit=True).fit(X, y)
    >>> bool((untreated.predict_proba(X) == clf.estimator_.predict_proba(X)).all())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "p_max": [Interval(Real, 0, P_CAP, closed="both")],
        "prob_type": [StrOptions(set(PROB_TYPES))],
        "method": [StrOptions({"exact", "sample"})],
        "n_simulations": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 1, closed="left")],
        "prefit": ["boolean"],
        "random_state": ["random_state"],
        "engine": [StrOptions({"auto", "numba", "numpy"})],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        p_max=0.1,
        prob_type="distance",
        method="exact",
        n_simulations=100,
        tol=0.0,
        prefit=False,
        random_state=None,
        engine="auto",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.p_max = p_max
        self.prob_type = prob_type
        self.method = method
        self.n_simulations = n_simulations
        self.tol = tol
        self.prefit = prefit
        self.random_state = random_state
        self.engine = engine
        self.n_jobs = n_jobs

    # -- fitting -----------------------------------------------------------------------
    def _fit_estimator(self, X, y, **fit_params):
        estimator = DecisionTreeClassifier() if self.estimator is None else self.estimator
        model = _final_step(estimator)
        if not isinstance(model, _TREE_MODELS):
            raise TypeError(
                "estimator must be a DecisionTreeClassifier, RandomForestClassifier or "
                "ExtraTreesClassifier (or a Pipeline ending in one), got "
                f"{type(model).__name__}."
            )
        if self.prefit:
            check_is_fitted(estimator)
            return estimator
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None "
                "(set prefit=True to wrap a fitted model without labels)."
            )
        return clone(estimator).fit(X, y, **fit_params)

    def _model_matrix(self, X):
        """The float32 matrix the trees see (after the Pipeline's transformers)."""
        if isinstance(self.estimator_, Pipeline):
            Z = self.estimator_[:-1].transform(X)
        else:
            Z = X
        Z = check_array(Z, dtype=np.float32, input_name="X")
        n_model = _final_step(self.estimator_).n_features_in_
        if Z.shape[1] != n_model:
            raise ValueError(
                f"X has {Z.shape[1]} features but the wrapped model expects {n_model}."
            )
        return Z

    def _validate_input(self, X, reset):
        if isinstance(self.estimator if reset else self.estimator_, Pipeline):
            validate_data(self, X, skip_check_array=True, reset=reset)
            return X
        X = validate_data(
            self, X, reset=reset, dtype=np.float32, skip_check_array=isinstance(X, pd.DataFrame)
        )
        return X

    def _fit_common(self, X, y, fit_params):
        if not isinstance(X, pd.DataFrame) and not isinstance(self.estimator, Pipeline):
            X = check_array(X, dtype=np.float32, input_name="X")
        self._validate_input(X, reset=True)
        if y is not None and not self.prefit:
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                warnings.warn(
                    "A column-vector y was passed when a 1d array was expected.",
                    DataConversionWarning,
                    stacklevel=3,
                )
                y = y.ravel()
        self.estimator_ = self._fit_estimator(X, y, **fit_params)
        model = _final_step(self.estimator_)
        if getattr(model, "n_outputs_", 1) != 1:
            raise ValueError("FairTTTS supports single-output classifiers only.")
        self.classes_ = model.classes_
        Z = self._model_matrix(X)
        self.feature_mean_ = Z.mean(axis=0, dtype=np.float64)
        std = Z.std(axis=0, dtype=np.float64)
        self.feature_scale_ = np.where(std > 0, std, 1.0) + 1e-9
        return X, Z, model

    def fit(self, X, y=None, **fit_params):
        """Fit (or, with ``prefit=True``, wrap) the tree model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional when ``prefit=True``
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        X, Z, model = self._fit_common(X, y, fit_params)
        self.arrays_ = _ForestArrays(_trees_of(model), None)
        return self

    # -- prediction --------------------------------------------------------------------
    def _predict_arrays(self, Z, unprivileged=None, protected_split=None, alpha=1.0):
        engine = self.engine
        if engine == "auto":
            engine = "numba" if _numba_available() else "numpy"
        if engine == "numba":
            if not _numba_available():
                raise ImportError("engine='numba' requires numba (pip install numba).")
            kwargs = {"n_jobs": self.n_jobs}
            simulate = _simulate_numba
        else:
            kwargs = {}
            simulate = _simulate
        return simulate(
            self.arrays_,
            Z,
            unprivileged,
            protected_split,
            prob_type=self.prob_type,
            p_max=float(self.p_max),
            alpha=float(alpha),
            method=self.method,
            n_simulations=self.n_simulations,
            tol=float(self.tol),
            feature_mean=self.feature_mean_,
            feature_scale=self.feature_scale_,
            random_state=self.random_state,
            **kwargs,
        )

    def predict_proba(self, X):
        """Expected class distribution under test-time simulation.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return self._predict_arrays(self._model_matrix(X))

    def predict(self, X):
        """Class with the highest :meth:`predict_proba` (ties go to the first class)."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class FairTTTSClassifier(ProtectedAttributeMixin, TTTSClassifier):
    r"""FairTTTS: fairness-aware tree test-time simulation for fitted trees and forests.

    TTTS (see :class:`TTTSClassifier`, whose parameters and rules it shares) plus a
    fairness boost. For each internal node :math:`k`, :math:`U_k` is the child whose class
    fractions give the favourable class ``pos_label`` the smaller weight (for two classes:
    the child leaning to the unfavourable class; on a tie there is none). If node :math:`k`
    splits on a protected feature, the sample is unprivileged and its default child is
    :math:`U_k`, the flip probability becomes

    .. math::

        p_k(x) \leftarrow \min(\alpha\, p_k(x),\ 0.5).

    With a 0/1 protected feature (threshold 0.5) and the distance rule,
    :math:`p_k = 0.1 - 0.5/D` which, for large :math:`D`, is boosted to the 0.5 cap: an
    unprivileged sample headed to the unfavourable side goes either way with probability
    1/2. ``alpha=1`` is plain TTTS.

    Which samples are unprivileged: those whose protected group does not match
    ``priv_group`` (or, if ``unpriv_group`` is given instead, those that match it). With
    several protected attributes (``prot_attr=["sex", "race"]``) groups are intersectional
    tuples such as ``("Female", "Black")``; ``priv_group`` / ``unpriv_group`` may list
    several tuples or use ``None`` wildcards (``("Male", None)``). The boost then applies
    at every split on any of the protected features.

    Which tree features are protected (``protected_features_``): when ``estimator`` is a bare
    tree model and ``prot_attr`` names columns of ``X``, those columns. Otherwise (a
    Pipeline that encodes the attribute, or an attribute routed as ``sensitive_features``):
    every input feature of the tree model that, on the data passed to ``fit``, is a
    non-constant function of the protected group (e.g. the one-hot columns of ``sex``).
    If no tree splits on a protected feature, FairTTTS equals TTTS and a warning says so.

    Parameters
    ----------
    estimator : DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier or \
            Pipeline, default=None
        The tree model; its input features must include the protected attribute.
    prot_attr : str, int or list, default=None
        Protected column(s) of ``X`` (names of a DataFrame, or integer indices). Or pass
        ``sensitive_features`` to ``fit`` and ``predict``.
    priv_group : scalar, tuple or list, default=None
        Privileged group(s). Give this or ``unpriv_group``.
    unpriv_group : scalar, tuple or list, default=None
        Unprivileged group(s); everything else is privileged.
    pos_label : scalar, default=None
        The favourable class; None means ``classes_[-1]`` (1 for 0/1 labels).
    alpha : float >= 0, default=9.0
        Boost factor (paper: 9).
    p_max, prob_type, method, n_simulations, tol, prefit, random_state, engine, n_jobs
        As in :class:`TTTSClassifier`.

    Attributes
    ----------
    estimator_ : estimator
    classes_ : ndarray
    groups_ : list
        Group labels seen in ``fit``.
    unprivileged_groups_ : ndarray of bool
        Which of ``groups_`` get the boost.
    protected_features_ : ndarray of int
        Input features of the tree model treated as protected.
    n_protected_splits_ : int
        Internal nodes (over all trees) that split on a protected feature.

    See Also
    --------
    TTTSClassifier : the same simulation without the fairness boost.

    References
    ----------
    .. [1] N. Cohen-Inger, L. Rokach, B. Shapira, S. Cohen, "FairTTTS: A Tree Test Time
       Simulation Method for Fairness-Aware Classification", arXiv:2501.08155, 2025.
    .. [2] S. Cohen, O. Arbili, Y. Mirsky, L. Rokach, "TTTS: Tree Test Time Simulation for
       Enhancing Decision Tree Robustness Against Adversarial Examples", AAAI 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from fairkit.postprocessing import FairTTTSClassifier, TTTSClassifier
    >>> rng = np.random.default_rng(0)
    >>> sex = rng.integers(0, 2, 400)
    >>> income = 1000 * rng.normal(size=400)
    >>> X = np.column_stack([sex, income])
    >>> y = (income / 1000 + sex + rng.normal(scale=0.5, size=400) > 0.5).astype(int)
    >>> tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    >>> fair = FairTTTSClassifier(tree, prot_attr=0, priv_group=1, prefit=True).fit(X)
    >>> p_fair = fair.predict_proba(X)[:, 1]
    >>> p_ttts = TTTSClassifier(tree, prefit=True).fit(X).predict_proba(X)[:, 1]
    >>> bool(p_fair[sex == 0].mean() > p_ttts[sex == 0].mean())
    True
    """

    _parameter_constraints: dict = {
        **TTTSClassifier._parameter_constraints,
        "prot_attr": "no_validation",
        "priv_group": "no_validation",
        "unpriv_group": "no_validation",
        "pos_label": "no_validation",
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        prot_attr=None,
        priv_group=None,
        unpriv_group=None,
        pos_label=None,
        alpha=9.0,
        p_max=0.1,
        prob_type="distance",
        method="exact",
        n_simulations=100,
        tol=0.0,
        prefit=False,
        random_state=None,
        engine="auto",
        n_jobs=None,
    ):
        super().__init__(
            estimator,
            p_max=p_max,
            prob_type=prob_type,
            method=method,
            n_simulations=n_simulations,
            tol=tol,
            prefit=prefit,
            random_state=random_state,
            engine=engine,
            n_jobs=n_jobs,
        )
        self.prot_attr = prot_attr
        self.priv_group = priv_group
        self.unpriv_group = unpriv_group
        self.pos_label = pos_label
        self.alpha = alpha

    def fit(self, X, y=None, sensitive_features=None, **fit_params):
        """Fit (or wrap) the tree model and record the protected groups.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional when ``prefit=True``
        sensitive_features : array-like, optional
            Protected attribute(s), if not given by ``prot_attr``.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        if (self.priv_group is None) == (self.unpriv_group is None):
            raise ValueError(
                "Give exactly one of priv_group and unpriv_group (got "
                f"priv_group={self.priv_group!r}, unpriv_group={self.unpriv_group!r})."
            )
        X = self._check_raw(X, self.estimator)
        prot = self._resolve_protected(X, sensitive_features)
        X, Z, model = self._fit_common(X, y, fit_params)
        self.groups_ = list(prot.groups.labels)
        if self.unpriv_group is not None:
            try:
                self.unprivileged_groups_ = privileged_mask(prot.groups, self.unpriv_group)
            except ValueError as exc:
                raise ValueError(str(exc).replace("priv_group", "unpriv_group")) from None
        else:
            self.unprivileged_groups_ = ~privileged_mask(prot.groups, self.priv_group)
        pos_label = self.classes_[-1] if self.pos_label is None else self.pos_label
        matches = [i for i, c in enumerate(self.classes_) if c == pos_label]
        if not matches:
            raise ValueError(
                f"pos_label={self.pos_label!r} is not one of the classes "
                f"{list(self.classes_)!r}."
            )
        self.pos_label_ = pos_label
        self.protected_features_ = self._protected_features(X, Z, prot)
        self.arrays_ = _ForestArrays(_trees_of(model), matches[0])
        self.protected_split_ = self.arrays_.splits_on(self.protected_features_)
        self.n_protected_splits_ = int(self.protected_split_.sum())
        if self.n_protected_splits_ == 0:
            warnings.warn(
                f"No tree of the model splits on the protected feature(s) "
                f"{self.protected_features_.tolist()}; FairTTTS reduces to plain TTTS.",
                UserWarning,
                stacklevel=2,
            )
        return self

    @staticmethod
    def _check_raw(X, estimator):
        """Arrays (not DataFrames, not Pipeline input) are checked before the protected
        columns are read, so that sparse, 1-D, empty or NaN input gets scikit-learn's
        usual message."""
        if isinstance(X, pd.DataFrame) or isinstance(estimator, Pipeline):
            return X
        return check_array(X, dtype="numeric", input_name="X")

    def _protected_features(self, X, Z, prot):
        if prot.columns and not isinstance(self.estimator_, Pipeline):
            if isinstance(X, pd.DataFrame):
                return np.asarray([X.columns.get_loc(c) for c in prot.columns], dtype=np.intp)
            return np.asarray(prot.columns, dtype=np.intp)
        # A feature is protected iff it is a non-constant function of the group.
        codes = prot.groups.codes
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        Zs = Z[order]
        within_min = np.minimum.reduceat(Zs, starts, axis=0)
        within_max = np.maximum.reduceat(Zs, starts, axis=0)
        constant_in_groups = (within_min == within_max).all(axis=0)
        varies = Z.min(axis=0) < Z.max(axis=0)
        return np.flatnonzero(constant_in_groups & varies).astype(np.intp)

    def predict_proba(self, X, sensitive_features=None):
        """Expected class distribution under fairness-aware test-time simulation.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, optional
            Protected attribute(s), if not given by ``prot_attr``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._check_raw(X, self.estimator_)
        prot = self._resolve_protected(X, sensitive_features)
        codes = map_to_fitted_groups(prot.groups, self.groups_)
        X = self._validate_input(X, reset=False)
        return self._predict_arrays(
            self._model_matrix(X),
            self.unprivileged_groups_[codes],
            self.protected_split_,
            self.alpha,
        )

    def predict(self, X, sensitive_features=None):
        """Class with the highest :meth:`predict_proba` (ties go to the first class)."""
        proba = self.predict_proba(X, sensitive_features=sensitive_features)
        return self.classes_[np.argmax(proba, axis=1)]

