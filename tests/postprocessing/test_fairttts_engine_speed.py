"""The compiled exact kernel of FairTTTS (issue #18) against a plain-Python reference.

The kernel was rewritten for speed (one compiled kernel per flip-probability rule, row
views, a per-tree accumulator); its numbers must stay those of the definition. The
reference below reads scikit-learn's ``tree_`` arrays directly and walks every (row, tree)
recursively, written from the formulas of the TTTS / FairTTTS papers and the ``tol`` rule
of the class docstring, sharing no code with :mod:`fairkit.postprocessing._fairttts_engines`:

* node flip probability ``p`` (capped at 0.5; no flip where ``p <= 0``);
* plain walk / node rule: an unprivileged row headed at a protected split into the child
  with the lower favourable fraction gets ``min(alpha p, 0.5)``; a branch whose reach
  ``mass * p`` is at most ``tol`` is not walked and the child it would enter contributes
  its class fractions;
* per-row rule (unprivileged rows): ``V = (1 - q) V_default + q V_other`` with ``q`` the
  boosted probability when ``V_other`` has the higher favourable value; the default child
  gets reach ``mass (1 - min(p, pb))``, the other one is walked when ``mass max(p, pb)``
  exceeds ``tol``.
"""

import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from fairkit.postprocessing import FairTTTSClassifier, TTTSClassifier
from fairkit.postprocessing._fairttts_engines import _build_numba_kernels

pytest.importorskip("numba")

P_MAX = 0.2


def _data(n, seed, n_classes=2):
    """Column 0: group (1 privileged, 40% unprivileged); 3 raw-scale features, one of them
    a 4-level code; labels depend on the group."""
    rng = np.random.default_rng(seed)
    a = (rng.random(n) >= 0.4).astype(float)
    z = rng.normal(size=(n, 3)) * [1.0, 50.0, 1.0]
    z[:, 2] = rng.integers(0, 4, n)
    s = z[:, 0] + z[:, 1] / 50 + 0.5 * z[:, 2] + a + rng.normal(0, 0.7, n)
    y = np.digitize(s, np.quantile(s, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return np.column_stack([a, z]), y


class _Tree:
    """One fitted tree as plain Python lists (values normalised to fractions)."""

    def __init__(self, tree, X_fit, prob_type, pos):
        self.left = tree.children_left.tolist()
        self.right = tree.children_right.tolist()
        self.feature = tree.feature.tolist()
        self.thr = tree.threshold.tolist()
        v = tree.value[:, 0, :]
        self.value = [list(r / r.sum()) for r in v]
        internal = [t for t, lft in zip(self.thr, self.left, strict=True) if lft >= 0]
        self.D = max(abs(t) for t in internal) if internal else 1.0
        self.depth = [0] * len(self.left)
        for k, lft in enumerate(self.left):
            if lft >= 0:
                self.depth[lft] = self.depth[self.right[k]] = self.depth[k] + 1
        self.prob_type = prob_type
        self.X_fit = X_fit
        self.pos = pos

    def fav(self, k):
        return self.value[k][self.pos]

    def p(self, k, x):
        """Base flip probability at node k for row x (float64 values of float32 input)."""
        f, t = self.feature[k], self.thr[k]
        if self.prob_type == "fixed":
            p = P_MAX / 2
        elif self.prob_type == "depth":
            p = min(P_MAX / 2 * self.depth[k], 2 * P_MAX)
        elif self.prob_type == "paper":
            p = P_MAX - abs(x[f] - t) / self.D
        else:  # feature scale: fit fraction strictly between x and t
            col = self.X_fit[:, f]
            F_t = float(np.mean(col <= t))
            if x[f] <= t:
                d = F_t - float(np.mean(col <= x[f]))
            else:
                d = float(np.mean(col < x[f])) - F_t
            p = P_MAX - max(d, 0.0)
        return min(p, 0.5) if p > 0 else 0.0


def _walk(tr, k, x, mass, boost, alpha, tol, prot):
    """Plain walk / node rule: the reach-weighted class distribution of subtree k."""
    if tr.left[k] < 0:
        return [mass * v for v in tr.value[k]]
    go_left = x[tr.feature[k]] <= tr.thr[k]
    d, o = (tr.left[k], tr.right[k]) if go_left else (tr.right[k], tr.left[k])
    p = tr.p(k, x)
    if p == 0.0:
        return _walk(tr, d, x, mass, boost, alpha, tol, prot)
    # node rule: boosted when the row heads into the child with the strictly lower
    # favourable fraction
    if boost and tr.feature[k] in prot and tr.fav(d) < tr.fav(o):
        p = min(alpha * p, 0.5)
    flip = mass * p
    if flip > tol:
        other = _walk(tr, o, x, flip, boost, alpha, tol, prot)
    else:
        other = [flip * v for v in tr.value[o]]
    rest = _walk(tr, d, x, mass - flip, boost, alpha, tol, prot)
    return [a + b for a, b in zip(rest, other, strict=True)]


def _row_rule(tr, k, x, mass, alpha, tol, prot):
    """Per-row rule: (class distribution, favourable value) of subtree k, bottom up."""
    if tr.left[k] < 0:
        return list(tr.value[k]), tr.fav(k)
    go_left = x[tr.feature[k]] <= tr.thr[k]
    d, o = (tr.left[k], tr.right[k]) if go_left else (tr.right[k], tr.left[k])
    p = tr.p(k, x)
    if p == 0.0:
        return _row_rule(tr, d, x, mass, alpha, tol, prot)
    pb = min(alpha * p, 0.5) if tr.feature[k] in prot else p
    vd, fd = _row_rule(tr, d, x, mass * (1 - min(p, pb)), alpha, tol, prot)
    if mass * max(p, pb) > tol:
        vo, fo = _row_rule(tr, o, x, mass * max(p, pb), alpha, tol, prot)
    else:
        vo, fo = list(tr.value[o]), tr.fav(o)
    q = pb if fo > fd else p
    return [(1 - q) * a + q * b for a, b in zip(vd, vo, strict=True)], (1 - q) * fd + q * fo


def _reference(forest, X_fit, X, unpriv, prob_type, alpha, tol, rule, prot=(0,), pos=1):
    Xf = np.asarray(X_fit, dtype=np.float32).astype(np.float64)
    Xp = np.asarray(X, dtype=np.float32).astype(np.float64)
    trees = [_Tree(e.tree_, Xf, prob_type, pos) for e in forest.estimators_]
    out = np.zeros((len(Xp), forest.n_classes_))
    for i, x in enumerate(Xp):
        for tr in trees:
            if unpriv[i] and rule == "row" and alpha != 1.0:
                out[i] += _row_rule(tr, 0, x, 1.0, alpha, tol, prot)[0]
            else:
                out[i] += _walk(tr, 0, x, 1.0, bool(unpriv[i]), alpha, tol, prot)
    return out / len(trees)


_KW = {
    "paper": dict(prob_type="distance"),
    "feature": dict(prob_type="distance", distance_scale="feature"),
    "fixed": dict(prob_type="fixed"),
    "depth": dict(prob_type="depth"),
}


@pytest.mark.parametrize("max_depth", [3, 6, None])
@pytest.mark.parametrize("prob_type", ["feature", "paper", "fixed", "depth"])
@pytest.mark.parametrize("tol", [0.0, 5e-3])
@pytest.mark.parametrize("rule", ["row", "node"])
def test_numba_exact_equals_python_reference(max_depth, prob_type, tol, rule):
    X, y = _data(300, seed=3)
    forest = RandomForestClassifier(
        n_estimators=4, max_depth=max_depth, min_samples_leaf=3, random_state=max_depth or 0
    ).fit(X, y)
    X_te = _data(60, seed=4)[0]
    unpriv = X_te[:, 0] == 0
    for alpha in (1.0, 9.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = FairTTTSClassifier(
                forest,
                prot_attr=0,
                priv_group=1.0,
                prefit=True,
                alpha=alpha,
                boost_rule=rule,
                p_max=P_MAX,
                tol=tol,
                engine="numba",
                **_KW[prob_type],
            ).fit(X)
        assert est.n_protected_splits_ > 0
        ref = _reference(forest, X, X_te, unpriv, prob_type, alpha, tol, rule)
        np.testing.assert_allclose(est.predict_proba(X_te), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("tol", [0.0, 5e-3])
def test_protected_feature_not_in_the_trees(tol):
    """Trees fitted with the protected column constant never split on it: FairTTTS is
    plain TTTS for every row (and both equal the reference without any boost)."""
    X, y = _data(300, seed=5)
    X_const = X.copy()
    X_const[:, 0] = 1.0
    forest = RandomForestClassifier(n_estimators=4, max_depth=6, random_state=0).fit(X_const, y)
    X_te = _data(60, seed=6)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = FairTTTSClassifier(
            forest,
            prot_attr=0,
            priv_group=1.0,
            prefit=True,
            tol=tol,
            p_max=P_MAX,
            distance_scale="feature",
            engine="numba",
        ).fit(X)
    assert est.n_protected_splits_ == 0
    # fit fractions are those of the rows FairTTTS was fitted on (X)
    ref = _reference(forest, X, X_te, np.zeros(len(X_te), bool), "feature", 1.0, tol, "row")
    np.testing.assert_allclose(est.predict_proba(X_te), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("tol", [0.0, 5e-3])
def test_three_classes_plain_ttts(tol):
    X, y = _data(300, seed=7, n_classes=3)
    forest = RandomForestClassifier(n_estimators=3, max_depth=5, random_state=1).fit(X, y)
    X_te = _data(40, seed=8)[0]
    est = TTTSClassifier(
        forest, prefit=True, p_max=P_MAX, tol=tol, engine="numba", prob_type="distance"
    ).fit(X)
    ref = _reference(forest, X, X_te, np.zeros(len(X_te), bool), "paper", 1.0, tol, "row")
    np.testing.assert_allclose(est.predict_proba(X_te), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref.sum(axis=1), 1.0, atol=1e-12)


def test_one_compiled_kernel_per_rule():
    """Each kernel is compiled once per flip-probability rule and reused."""
    exact_for, sample_for = _build_numba_kernels()
    assert exact_for(4) is exact_for(4)
    assert exact_for(4) is not exact_for(5)
    assert sample_for(4) is sample_for(4)
    assert sample_for(4) is not sample_for(5)
