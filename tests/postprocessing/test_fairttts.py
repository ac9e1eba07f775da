"""FairTTTS / TTTS (fairkit.postprocessing._fairttts).

The oracle for the exact mode is a per-sample brute-force enumeration of every root-to-leaf
path, written here independently from the vectorised engine (scalar Python, rules coded
from the TTTS / FairTTTS papers' formulas). For the per-row boost rule (the default) the
oracle is a scalar recursion returning each subtree's value for the row: the boost at a
protected split applies iff the other child's value has the larger favourable fraction.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.tree import DecisionTreeClassifier

from fairkit.postprocessing import FairTTTSClassifier, TTTSClassifier


# ------------------------------------------------------------------------------------
# data and oracle
# ------------------------------------------------------------------------------------
def _data(n=400, seed=0, scale=1000.0):
    """sex (0 = unprivileged) in column 0, an income-like column with a large scale."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    z1 = rng.normal(size=n)
    income = rng.normal(size=n) * scale
    X = np.column_stack([sex, z1, income])
    y = (z1 + 0.8 * sex + income / scale * 0.5 + rng.normal(scale=0.6, size=n) > 0.6)
    return X, y.astype(int)


def _rule_p(tree, node, x, depth, rule, p_max, mean, std):
    f, t = tree.feature[node], tree.threshold[node]
    if rule == "fixed":
        p = p_max / 2
    elif rule == "depth":
        p = min(p_max / 2 * depth, 2 * p_max)
    elif rule == "agreement":
        v = tree.value[node, 0]
        p = min(1 - v.max() / v.sum(), 5 * p_max)
    elif rule == "confidence":
        p = max(p_max - abs(float(np.float32(x[f])) - mean[f]) / std[f], 0.0)
    else:
        internal = tree.children_left >= 0
        D = np.abs(tree.threshold[internal]).max()
        p = max(p_max - abs(float(np.float32(x[f])) - t) / D, 0.0)
    return min(p, 0.5)


def _walk(tree, frac, x, node, mass, depth, ctx):
    """Sum of mass * leaf fractions over every path below ``node`` (one sample)."""
    left, right = tree.children_left[node], tree.children_right[node]
    if left < 0:
        return mass * frac[node]
    f, t = tree.feature[node], tree.threshold[node]
    p = _rule_p(tree, node, x, depth, ctx["rule"], ctx["p_max"], ctx["mean"], ctx["std"])
    goes_left = np.float32(x[f]) <= t
    if ctx["unpriv"] and f in ctx["prot"] and ctx.get("boost_rule", "node") == "row":
        near, far = (left, right) if goes_left else (right, left)
        v_near = _walk(tree, frac, x, near, 1.0, depth + 1, ctx)
        v_far = _walk(tree, frac, x, far, 1.0, depth + 1, ctx)
        if v_far[ctx["pos"]] > v_near[ctx["pos"]]:
            p = min(ctx["alpha"] * p, 0.5)
        return mass * ((1 - p) * v_near + p * v_far)
    if ctx["unpriv"] and f in ctx["prot"]:
        fl, fr = frac[left, ctx["pos"]], frac[right, ctx["pos"]]
        if fl != fr and (fl < fr) == goes_left:
            p = min(ctx["alpha"] * p, 0.5)
    near, far = (left, right) if goes_left else (right, left)
    return (_walk(tree, frac, x, near, mass * (1 - p), depth + 1, ctx)
            + _walk(tree, frac, x, far, mass * p, depth + 1, ctx))


def _brute_force(model, X, *, rule, p_max, alpha=1.0, unpriv=None, prot=(), pos=1,
                 mean=None, std=None, boost_rule="node"):
    trees = [model.tree_] if hasattr(model, "tree_") else [e.tree_ for e in model.estimators_]
    out = np.zeros((len(X), trees[0].value.shape[2]))
    for i, x in enumerate(X):
        ctx = dict(rule=rule, p_max=p_max, alpha=alpha, prot=prot, pos=pos, mean=mean,
                   std=std, unpriv=unpriv is not None and unpriv[i], boost_rule=boost_rule)
        for tree in trees:
            frac = tree.value[:, 0, :] / tree.value[:, 0, :].sum(axis=1, keepdims=True)
            out[i] += _walk(tree, frac, x, 0, 1.0, 0, ctx)
        out[i] /= len(trees)
    return out


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def small_tree(data):
    X, y = data
    return DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def small_forest(data):
    X, y = data
    return RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y)


# ------------------------------------------------------------------------------------
# exact mode = brute force
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["fixed", "depth", "agreement", "confidence", "distance"])
@pytest.mark.parametrize("which", ["tree", "forest"])
@pytest.mark.parametrize("boost_rule", ["row", "node"])
def test_exact_equals_brute_force(data, small_tree, small_forest, rule, which, boost_rule):
    X, y = data
    model = small_tree if which == "tree" else small_forest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # confidence: the boost cannot act (tested below)
        est = FairTTTSClassifier(
            model, prot_attr=0, priv_group=1, prefit=True, prob_type=rule, p_max=0.15,
            alpha=9.0, boost_rule=boost_rule, tol=0.0).fit(X)
    assert est.n_protected_splits_ > 0
    Xs = X[:60]
    got = est.predict_proba(Xs)
    mean = X.astype(np.float32).mean(axis=0, dtype=np.float64)
    std = X.astype(np.float32).std(axis=0, dtype=np.float64) + 1e-9
    expected = _brute_force(
        model, Xs, rule=rule, p_max=0.15, alpha=9.0, unpriv=Xs[:, 0] == 0, prot=(0,),
        mean=mean, std=std, boost_rule=boost_rule,
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # plain TTTS against the same oracle without the boost
    ttts = TTTSClassifier(model, prefit=True, prob_type=rule, p_max=0.15, tol=0.0).fit(X)
    plain = _brute_force(model, Xs, rule=rule, p_max=0.15, mean=mean, std=std)
    plain_got = ttts.predict_proba(Xs)
    np.testing.assert_allclose(plain_got, plain, rtol=0, atol=1e-12)
    # the boost changes something for the unprivileged rows only
    assert np.abs(got - plain_got)[Xs[:, 0] == 1].max() == 0.0
    if rule == "confidence":
        # |sex - 0.5| / 0.5 = 1 > p_max: base p = 0 at sex splits, so nothing to boost
        # (the per-row rule sums the same terms bottom up: equal to rounding)
        assert np.abs(got - plain_got).max() <= 1e-15
    else:
        assert np.abs(got - plain_got)[Xs[:, 0] == 0].max() > 1e-3


def test_exact_multiclass_brute_force():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.integers(0, 3, 300), rng.normal(size=(300, 2)) * 50])
    y = (X[:, 1] > 0).astype(int) + (X[:, 0] == 2) + (X[:, 2] > 30)
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    est = FairTTTSClassifier(tree, prot_attr=0, unpriv_group=[0, 1], pos_label=2,
                             prefit=True).fit(X)
    expected = _brute_force(tree, X[:50], rule="distance", p_max=0.1, alpha=9.0,
                            unpriv=X[:50, 0] < 2, prot=(0,), pos=2, boost_rule="row")
    np.testing.assert_allclose(est.predict_proba(X[:50]), expected, rtol=0, atol=1e-12)
    assert est.predict_proba(X).shape == (300, 4)


def test_hand_computed_stump():
    # One split on sex (threshold 0.5). Left (sex=0): 1 of 4 positive, right: 3 of 4.
    X = np.array([[0.0]] * 4 + [[1.0]] * 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    stump = DecisionTreeClassifier(max_depth=1).fit(X, y)
    kw = dict(prot_attr=0, priv_group=1, prefit=True, prob_type="fixed", p_max=0.1)
    fair = FairTTTSClassifier(stump, **kw).fit(X)
    proba = fair.predict_proba(np.array([[0.0], [1.0]]))[:, 1]
    # unprivileged, default child is the unfavourable one: p = min(9 * 0.05, 0.5) = 0.45
    # privileged, default child favourable: p = 0.05
    np.testing.assert_allclose(proba, [0.55 * 0.25 + 0.45 * 0.75, 0.95 * 0.75 + 0.05 * 0.25],
                               atol=1e-15)
    ttts = TTTSClassifier(stump, prefit=True, prob_type="fixed", p_max=0.1).fit(X)
    np.testing.assert_allclose(ttts.predict_proba(np.array([[0.0]]))[:, 1],
                               [0.95 * 0.25 + 0.05 * 0.75], atol=1e-15)
    # the cap: alpha=20 gives min(20 * 0.05, 0.5) = 0.5
    capped = FairTTTSClassifier(stump, alpha=20.0, **kw).fit(X)
    np.testing.assert_allclose(capped.predict_proba(np.array([[0.0]]))[:, 1], [0.5],
                               atol=1e-15)
    # unpriv_group=0 is the same as priv_group=1
    alt = FairTTTSClassifier(stump, prot_attr=0, unpriv_group=0, prefit=True,
                             prob_type="fixed").fit(X)
    np.testing.assert_array_equal(alt.predict_proba(X), fair.predict_proba(X))


def test_distance_rule_hand_value():
    # income in {1000, 3000}, sex in {0, 1}; positives per cell of 4 rows:
    # (1000, F) 0, (1000, M) 1, (3000, F) 3, (3000, M) 4. The depth-2 tree splits on income
    # at 2000 (so D = 2000), then on sex at 0.5 in both children.
    income = np.repeat([1000.0, 1000.0, 3000.0, 3000.0], 4)
    sex = np.tile(np.repeat([0.0, 1.0], 4), 2)
    y = np.array([0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1])
    X = np.column_stack([sex, income])
    tree = DecisionTreeClassifier(max_depth=2).fit(X, y)
    assert tree.tree_.feature[0] == 1 and tree.tree_.threshold[0] == 2000.0
    est = FairTTTSClassifier(tree, prot_attr=0, priv_group=1, prefit=True).fit(X)
    proba = est.predict_proba(np.array([[0.0, 1000.0], [1.0, 1000.0]]))[:, 1]
    # root: |1000 - 2000| / 2000 = 0.5 > 0.1, so p = 0. Sex split: p = 0.1 - 0.5 / 2000 =
    # 0.09975; the woman heads to the unfavourable leaf (0/4) -> min(9 p, 0.5) = 0.5.
    p = 0.1 - 0.5 / 2000
    np.testing.assert_allclose(proba, [0.5 * 0.0 + 0.5 * 0.25, (1 - p) * 0.25 + p * 0.0],
                               rtol=0, atol=1e-15)
    ttts = TTTSClassifier(tree, prefit=True).fit(X).predict_proba(np.array([[0.0, 1000.0]]))
    np.testing.assert_allclose(ttts[:, 1], [p * 0.25], rtol=0, atol=1e-15)


def test_distance_scale_is_per_tree_in_a_forest():
    # The reference code (nuritci/FairTTTS, FairTTTSRF.py) takes D per tree: the largest
    # |threshold| of that tree's internal nodes. Two stumps on income, thresholds 2000 and
    # 4000, put into one forest; every leaf is pure so each tree's P(y=1) is the reach
    # probability of its right leaf.
    X1 = np.array([[1000.0], [1500.0], [2500.0], [3000.0]])
    X2 = np.array([[3000.0], [3500.0], [4500.0], [5000.0]])
    y = np.array([0, 0, 1, 1])
    stumps = [DecisionTreeClassifier(max_depth=1).fit(X1, y),
              DecisionTreeClassifier(max_depth=1).fit(X2, y)]
    assert [s.tree_.threshold[0] for s in stumps] == [2000.0, 4000.0]
    forest = RandomForestClassifier(n_estimators=2).fit(X1, y)
    forest.estimators_ = stumps
    est = TTTSClassifier(forest, prefit=True).fit(X1)
    # x = 1900: tree 1 goes left, p = 0.1 - 100 / 2000 = 0.05 -> P(y=1) = 0.05;
    # tree 2 goes left, p = 0.1 - 2100 / 4000 < 0 -> 0. Forest mean 0.025 (a forest-wide
    # D = 4000 would give p = 0.075 in tree 1 instead).
    # x = 3800: tree 1 goes right, |1800| / 2000 = 0.9 -> p = 0: P = 1; tree 2 goes left,
    # p = 0.1 - 200 / 4000 = 0.05 -> P = 0.05. Mean 0.525.
    proba = est.predict_proba(np.array([[1900.0], [3800.0]]))[:, 1]
    np.testing.assert_allclose(proba, [0.025, 0.525], rtol=0, atol=1e-15)


# ------------------------------------------------------------------------------------
# untreated model, leaf normalisation
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["exact", "sample"])
@pytest.mark.parametrize(
    "model",
    [
        DecisionTreeClassifier(random_state=0),
        RandomForestClassifier(n_estimators=7, random_state=0),
        ExtraTreesClassifier(n_estimators=7, random_state=0),
    ],
    ids=["tree", "forest", "extra"],
)
def test_p_max_zero_is_untreated_model(data, model, method):
    X, y = data
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))  # weighted leaves
    model = model.fit(X, y, sample_weight=w)
    for est in (
        FairTTTSClassifier(model, prot_attr=0, priv_group=1, p_max=0.0, prefit=True,
                           method=method, n_simulations=3, random_state=0),
        TTTSClassifier(model, p_max=0.0, prefit=True, method=method, n_simulations=3),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(X)
        np.testing.assert_array_equal(est.predict_proba(X), model.predict_proba(X))
        np.testing.assert_array_equal(est.predict(X), model.predict(X))


class _CountTree:
    """A tree_ look-alike storing weighted counts in value (scikit-learn < 1.4)."""

    def __init__(self, tree, counts):
        for name in ("children_left", "children_right", "feature", "threshold", "node_count"):
            setattr(self, name, getattr(tree, name))
        self.value = tree.value * counts[:, None, None]


def test_leaf_values_normalised_from_counts(data, small_tree):
    from fairkit.postprocessing._fairttts_engines import Simulation, _ForestArrays, _simulate

    X, _ = data
    t = small_tree.tree_
    a_frac = _ForestArrays([t], 1)
    a_count = _ForestArrays([_CountTree(t, t.weighted_n_node_samples * 3.0)], 1)
    np.testing.assert_allclose(a_count.value, a_frac.value, rtol=1e-14)
    np.testing.assert_array_equal(a_count.unfavourable_left, a_frac.unfavourable_left)
    kw = dict(prob_type="agreement", p_max=0.1, alpha=9.0, method="exact", n_simulations=1,
              tol=0.0, feature_mean=None, feature_scale=None, random_state=None)
    unpriv = X[:, 0] == 0
    Z = X.astype(np.float32)
    np.testing.assert_allclose(
        _simulate(Simulation(a_count, protected_split=a_count.splits_on([0]), **kw), Z, unpriv),
        _simulate(Simulation(a_frac, protected_split=a_frac.splits_on([0]), **kw), Z, unpriv),
        rtol=0, atol=1e-13,
    )


# ------------------------------------------------------------------------------------
# Monte-Carlo mode
# ------------------------------------------------------------------------------------
def test_sampling_converges_like_inverse_sqrt(data, small_tree):
    X, _ = data
    kw = dict(prot_attr=0, priv_group=1, prefit=True, p_max=0.3, prob_type="fixed")
    exact = FairTTTSClassifier(small_tree, **kw).fit(X).predict_proba(X)[:, 1]
    rmse = {}
    for S in (16, 256):
        errs = [
            FairTTTSClassifier(small_tree, method="sample", n_simulations=S, random_state=r,
                               **kw).fit(X).predict_proba(X)[:, 1] - exact
            for r in range(3)
        ]
        rmse[S] = float(np.sqrt(np.mean(np.square(errs))))
    # 16x more simulations -> 4x smaller error (1/sqrt(S)); allow sampling noise
    ratio = rmse[16] / rmse[256]
    assert 3.2 < ratio < 5.0, (rmse, ratio)
    # the error itself matches the binomial standard error sqrt(mean(q(1-q))/S)
    # for the 0/1-leaf parts; here leaves are fractions so it is an upper bound
    assert rmse[256] < np.sqrt(0.25 / 256)


def test_sample_mode_deterministic_given_seed(data, small_forest):
    X, _ = data
    make = lambda seed: FairTTTSClassifier(  # noqa: E731
        small_forest, prot_attr=0, priv_group=1, prefit=True, method="sample",
        n_simulations=4, random_state=seed,
    ).fit(X)
    a, b, c = make(1), make(1), make(2)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))
    assert np.abs(a.predict_proba(X) - c.predict_proba(X)).max() > 0


def test_tol_bounds_error(data, small_forest):
    X, _ = data
    kw = dict(prot_attr=0, priv_group=1, prefit=True, prob_type="fixed", p_max=0.2)
    exact = FairTTTSClassifier(small_forest, **kw).fit(X).predict_proba(X)
    approx = FairTTTSClassifier(small_forest, tol=1e-3, **kw).fit(X).predict_proba(X)
    diff = np.abs(exact - approx).max()
    assert 0 < diff < 0.02


# ------------------------------------------------------------------------------------
# protected attribute handling
# ------------------------------------------------------------------------------------
def _frame(seed=0, n=400):
    X, y = _data(n=n, seed=seed)
    rng = np.random.default_rng(seed + 10)
    df = pd.DataFrame({"z1": X[:, 1], "sex": X[:, 0], "income": X[:, 2],
                       "race": rng.choice(["a", "b"], n)})
    df["race_b"] = (df["race"] == "b").astype(float)
    y = y | ((df["race_b"].to_numpy() == 1) & (X[:, 1] > 0)).astype(int)
    return df, y


def test_dataframe_column_among_several(data):
    df, y = _frame()
    num = df[["z1", "sex", "income", "race_b"]]
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(num, y)
    est = FairTTTSClassifier(tree, prot_attr="sex", priv_group=1, prefit=True).fit(num)
    np.testing.assert_array_equal(est.boosted_features_, [1])
    arr = FairTTTSClassifier(tree, prot_attr=1, priv_group=1, prefit=True).fit(num.to_numpy())
    np.testing.assert_array_equal(est.predict_proba(num), arr.predict_proba(num.to_numpy()))
    # sensitive_features route: protected features found as functions of the group
    sf = FairTTTSClassifier(tree, priv_group=1, prefit=True).fit(num, sensitive_features=num["sex"])
    np.testing.assert_array_equal(sf.boosted_features_, [1])
    np.testing.assert_array_equal(
        sf.predict_proba(num, sensitive_features=num["sex"]), est.predict_proba(num)
    )


def test_intersectional_groups():
    df, y = _frame()
    num = df[["z1", "sex", "income", "race_b"]]
    forest = RandomForestClassifier(n_estimators=5, max_depth=5, random_state=0).fit(num, y)
    est = FairTTTSClassifier(forest, prot_attr=["sex", "race_b"], priv_group=(1.0, 0.0),
                             prefit=True, tol=0.0).fit(num)
    np.testing.assert_array_equal(est.boosted_features_, [1, 3])
    assert est.groups_ == [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    np.testing.assert_array_equal(est.privileged_groups_, [False, False, True, False])
    assert est.prot_attr_names_ == ["sex", "race_b"]
    Xs = num.to_numpy()[:40]
    unpriv = ~((Xs[:, 1] == 1) & (Xs[:, 3] == 0))
    expected = _brute_force(forest, Xs, rule="distance", p_max=0.1, alpha=9.0,
                            unpriv=unpriv, prot=(1, 3), boost_rule="row")
    np.testing.assert_allclose(est.predict_proba(num.iloc[:40]), expected, atol=1e-12)
    # wildcard: every woman unprivileged, whatever the race
    wild = FairTTTSClassifier(forest, prot_attr=["sex", "race_b"], unpriv_group=(0.0, None),
                              prefit=True).fit(num)
    np.testing.assert_array_equal(wild.privileged_groups_, [False, False, True, True])


def test_pipeline_with_one_hot_encoding():
    df, y = _frame()
    raw = df.assign(sex=np.where(df["sex"] == 1, "Male", "Female"))[["z1", "sex", "income",
                                                                       "race"]]
    pre = ColumnTransformer([("oh", OneHotEncoder(), ["sex", "race"])],
                            remainder="passthrough", verbose_feature_names_out=False)
    pipe = Pipeline([("pre", pre), ("rf", RandomForestClassifier(5, max_depth=5,
                                                                 random_state=0))])
    est = FairTTTSClassifier(pipe, prot_attr="sex", priv_group="Male").fit(raw, y)
    names = est.estimator_[:-1].get_feature_names_out()
    assert [names[j] for j in est.boosted_features_] == ["sex_Female", "sex_Male"]
    # same numbers as wrapping the bare forest on the encoded matrix
    Z = est.estimator_[:-1].transform(raw)
    bare = FairTTTSClassifier(est.estimator_[-1], prot_attr=[0, 1], unpriv_group=(1.0, 0.0),
                              prefit=True).fit(Z)
    np.testing.assert_allclose(est.predict_proba(raw), bare.predict_proba(Z), atol=1e-15)


def test_warns_and_reduces_to_ttts_without_protected_split(data):
    X, y = data
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X[:, 1:], y)
    X2 = np.column_stack([X[:, 1:], X[:, 0]])  # sex appended, never used by the tree
    with pytest.raises(ValueError, match="features"):
        FairTTTSClassifier(tree, prot_attr=2, priv_group=1, prefit=True).fit(X2)
    tree2 = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X2, y)
    assert 2 not in tree2.tree_.feature
    with pytest.warns(UserWarning, match="No tree of the model splits on the protected"):
        est = FairTTTSClassifier(tree2, prot_attr=2, priv_group=1, prefit=True).fit(X2)
    assert est.n_protected_splits_ == 0
    np.testing.assert_array_equal(
        est.predict_proba(X2), TTTSClassifier(tree2, prefit=True).fit(X2).predict_proba(X2)
    )


# ------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------
def test_errors(data, small_tree):
    X, y = data
    with pytest.raises(TypeError, match="LogisticRegression"):
        FairTTTSClassifier(LogisticRegression(), prot_attr=0, priv_group=1).fit(X, y)
    df = pd.DataFrame(X, columns=["sex", "z1", "income"])
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['gender'\] not found"):
        FairTTTSClassifier(prot_attr="gender", priv_group=1).fit(df, y)
    est = FairTTTSClassifier(small_tree, prot_attr=0, priv_group=1, prefit=True).fit(X)
    X_new = X[:5].copy()
    X_new[0, 0] = 2.0
    with pytest.raises(ValueError, match="Group 2.0 of the protected attribute was not seen"):
        est.predict_proba(X_new)
    with pytest.raises(ValueError, match=r"needs priv_group, .* Pass "
                                         r"priv_group=<label of the privileged group>"):
        FairTTTSClassifier(small_tree, prot_attr=0, prefit=True).fit(X)
    with pytest.raises(ValueError, match="exactly one of priv_group and unpriv_group"):
        FairTTTSClassifier(small_tree, prot_attr=0, priv_group=1, unpriv_group=0,
                           prefit=True).fit(X)
    with pytest.raises(ValueError, match="priv_group=5 does not occur"):
        FairTTTSClassifier(small_tree, prot_attr=0, priv_group=5, prefit=True).fit(X)
    with pytest.raises(ValueError, match="unpriv_group=5 does not occur"):
        FairTTTSClassifier(small_tree, prot_attr=0, unpriv_group=5, prefit=True).fit(X)
    with pytest.raises(ValueError, match="pos_label='yes' is not one of the classes"):
        FairTTTSClassifier(small_tree, prot_attr=0, priv_group=1, pos_label="yes",
                           prefit=True).fit(X)
    with pytest.raises(NotFittedError):
        FairTTTSClassifier(DecisionTreeClassifier(), prot_attr=0, priv_group=1,
                           prefit=True).fit(X)
    with pytest.raises(ValueError, match="prob_type"):
        FairTTTSClassifier(small_tree, prot_attr=0, priv_group=1, prob_type="bayes",
                           prefit=True).fit(X)
    with pytest.raises(ValueError, match="p_max"):
        TTTSClassifier(small_tree, p_max=0.7, prefit=True).fit(X)
    with pytest.raises(ValueError, match="requires y to be passed"):
        TTTSClassifier(DecisionTreeClassifier()).fit(X)
    multi = DecisionTreeClassifier(max_depth=2).fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="single-output"):
        TTTSClassifier(multi, prefit=True).fit(X)


# ------------------------------------------------------------------------------------
# scikit-learn integration
# ------------------------------------------------------------------------------------
def _disparate_impact_scorer(estimator, X, y):
    pred = estimator.predict(X)
    rate_u, rate_p = pred[X[:, 0] == 0].mean(), pred[X[:, 0] == 1].mean()
    return -abs(1.0 - rate_u / rate_p)


def test_grid_search_over_alpha_and_pickle(data):
    X, y = data
    est = FairTTTSClassifier(
        DecisionTreeClassifier(max_depth=6, random_state=0), prot_attr=0, priv_group=1
    )
    search = GridSearchCV(est, {"alpha": [1.0, 9.0]}, scoring=_disparate_impact_scorer,
                          cv=3).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # the same scores from the brute-force oracle on GridSearchCV's folds (stratified
    # 3-fold, no shuffle): |1 - DI| = 0.410 with alpha=1 (plain TTTS), 0.293 with alpha=9
    from sklearn.model_selection import StratifiedKFold

    expected = np.zeros(2)
    for tr, te in StratifiedKFold(3).split(X, y):
        tree = DecisionTreeClassifier(max_depth=6, random_state=0).fit(X[tr], y[tr])
        for k, alpha in enumerate([1.0, 9.0]):
            proba = _brute_force(tree, X[te], rule="distance", p_max=0.1, alpha=alpha,
                                 unpriv=X[te, 0] == 0, prot=(0,), boost_rule="row")
            pred = proba.argmax(axis=1)
            u = X[te, 0] == 0
            expected[k] -= abs(1.0 - pred[u].mean() / pred[~u].mean()) / 3
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    assert expected[1] > expected[0] + 0.1
    assert search.best_params_ == {"alpha": 9.0}
    clone_back = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(clone_back.predict_proba(X),
                                  search.best_estimator_.predict_proba(X))


def test_direction_on_compas_fold():
    """The fairness boost moves disparate impact (race) toward 1 on COMPAS.

    Fold 0 of the benchmark's reproduction (``benchmarks/bench_fairttts.py``, paper
    protocol): the unfiltered COMPAS two-year file, the authors' 10 columns, race
    African-American = 0 unprivileged, favourable class 0 (no recidivism), categorical
    columns target-encoded by an encoder fitted on the training fold only; 5-fold
    stratified CV (seed 42), RandomForest with 100 trees (random_state=111), alpha=9,
    p_max=0.1, distance rule, exact mode (tol=1e-3).

    What this pins, on this fold: FairTTTS has a higher disparate impact than plain TTTS
    (alpha=1) on the same forest (in the benchmark: 5/5 folds on each of the three tasks),
    and than the untreated forest, with accuracy not below the untreated forest's minus
    one point. Across the 5 folds the gain over the untreated forest was +0.018 (4/5
    folds, paired t-test p=0.19), on Adult (sex) +0.006 (3/5) and on Adult (race) -0.001
    (2/5): the boost's gain is largely cancelled by the TTTS smoothing, which lowers
    disparate impact. Nor is the boost's direction a property of every forest: it lowered
    disparate impact against TTTS on Adult (sex) under the earlier integer-code
    preparation (5-fold, -0.020 sampled) and on a 20-tree forest on an 8,000-row Adult
    slice. Those numbers were measured with the papers' node rule (``boost_rule="node"``:
    the boost sends unprivileged rows toward the child whose node-average favourable
    fraction is higher, which can lower a row whose own path below differs); the default
    per-row rule cannot lower an unprivileged row (tests/postprocessing/
    test_fairttts_direction.py).
    """
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    from fairkit.datasets import load_compas

    compas = load_compas(filter=False)
    cols = ["sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count",
            "priors_count", "c_charge_degree", "score_text", "v_score_text"]
    cat = ["sex", "age_cat", "c_charge_degree", "score_text", "v_score_text"]
    X = compas.data[cols].copy()
    for c in cat:
        X[c] = X[c].astype(str)
    X["race"] = (X["race"].astype(str) != "African-American").astype(float)
    y = np.asarray(compas.target).astype(int)
    assert X.notna().all().all() and len(X) == 7214
    tr, te = next(StratifiedKFold(5, shuffle=True, random_state=42).split(X, y))
    Xtr, Xte = X.iloc[tr].copy(), X.iloc[te].copy()
    enc = TargetEncoder(target_type="binary", random_state=0).fit(Xtr[cat], y[tr])
    Xtr[cat], Xte[cat] = enc.transform(Xtr[cat]), enc.transform(Xte[cat])
    Xtr, Xte = Xtr.astype(np.float32), Xte.astype(np.float32)
    forest = RandomForestClassifier(n_estimators=100, random_state=111).fit(Xtr, y[tr])
    kw = dict(prot_attr="race", priv_group=1.0, pos_label=0, prefit=True, tol=1e-3)
    fair = FairTTTSClassifier(forest, **kw).fit(Xtr)
    ttts = FairTTTSClassifier(forest, alpha=1.0, **kw).fit(Xtr)
    yt, r = y[te], Xte["race"].to_numpy()

    def di(pred):
        return (pred[r == 0] == 0).mean() / (pred[r == 1] == 0).mean()

    base, p_fair, p_ttts = forest.predict(Xte), fair.predict(Xte), ttts.predict(Xte)
    assert di(p_ttts) + 0.05 < di(p_fair) < 1.0
    assert di(base) + 0.01 < di(p_fair)
    assert (p_fair == yt).mean() > (base == yt).mean() - 0.01


# ------------------------------------------------------------------------------------
# compiled (numba) engine against the numpy reference engine
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["fixed", "depth", "agreement", "confidence", "distance"])
@pytest.mark.parametrize("tol", [0.0, 1e-3])
def test_numba_exact_equals_numpy_engine(data, rule, tol):
    X, y = data
    forest = RandomForestClassifier(n_estimators=6, max_depth=8, random_state=1).fit(X, y)
    kw = dict(prot_attr=0, priv_group=1, prefit=True, prob_type=rule, p_max=0.15, tol=tol)
    ref = FairTTTSClassifier(forest, engine="numpy", **kw).fit(X).predict_proba(X)
    fast = FairTTTSClassifier(forest, engine="numba", **kw).fit(X).predict_proba(X)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-12)
    # threads over row blocks give the same numbers
    X4 = np.tile(X, (3, 1))
    par = FairTTTSClassifier(forest, engine="numba", n_jobs=2, **kw).fit(X)
    np.testing.assert_array_equal(par.predict_proba(X4), np.tile(fast, (3, 1)))
    plain_ref = TTTSClassifier(forest, prefit=True, prob_type=rule, p_max=0.15, tol=tol,
                               engine="numpy").fit(X).predict_proba(X)
    plain = TTTSClassifier(forest, prefit=True, prob_type=rule, p_max=0.15, tol=tol,
                           engine="numba").fit(X).predict_proba(X)
    np.testing.assert_allclose(plain, plain_ref, rtol=0, atol=1e-12)
    if rule != "confidence":  # confidence: p = 0 at sex splits (see above)
        assert np.abs(fast - plain).max() > 1e-3


def _leaf_reach(tree, x, unpriv, alpha, p_max=0.1):
    """Exact probability of reaching each leaf of ``tree`` (distance rule), by recursion."""
    t = tree.tree_
    frac = t.value[:, 0, :] / t.value[:, 0, :].sum(axis=1, keepdims=True)
    D = np.abs(t.threshold[t.children_left >= 0]).max()
    reach = np.zeros(t.node_count)

    def walk(node, mass):
        left, right = t.children_left[node], t.children_right[node]
        if left < 0:
            reach[node] += mass
            return
        f, thr = t.feature[node], t.threshold[node]
        goes_left = np.float32(x[f]) <= thr
        p = min(max(p_max - abs(float(np.float32(x[f])) - thr) / D, 0.0), 0.5)
        if unpriv and f == 0 and frac[left, 1] != frac[right, 1]:
            if (frac[left, 1] < frac[right, 1]) == goes_left:
                p = min(alpha * p, 0.5)
        near, far = (left, right) if goes_left else (right, left)
        walk(near, mass * (1 - p))
        walk(far, mass * p)

    walk(0, 1.0)
    return reach


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_sample_leaf_frequencies_match_exact_reach(engine):
    """Both engines draw leaves with the exact reach probabilities (chi-square test).

    One-hot leaf values turn predict_proba into leaf frequencies: each leaf of the tree
    gets its own class, so the class distribution of S traversals is the empirical leaf
    distribution, tested against the recursion above with a chi-square goodness of fit.
    """
    from scipy import stats

    X = np.array([[0.0, 0.2, 150.0]])
    Xtr, ytr = _data(n=200, seed=5)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(Xtr, ytr)
    est = FairTTTSClassifier(tree, prot_attr=0, priv_group=1, prefit=True, method="sample",
                             n_simulations=40_000, random_state=3, engine=engine).fit(Xtr)
    reach = _leaf_reach(tree, X[0], True, 9.0)
    leaves = np.flatnonzero(tree.tree_.children_left < 0)
    assert reach[leaves].sum() == pytest.approx(1.0, abs=1e-12)
    # replace the leaf values by one-hot leaf indicators
    onehot = np.zeros((est.arrays_.value.shape[0], len(leaves)))
    onehot[leaves, np.arange(len(leaves))] = 1.0
    est.arrays_.value = onehot
    freq = est.predict_proba(X)[0] * 40_000
    expected = reach[leaves] * 40_000
    live = expected > 0
    assert freq[~live].sum() == 0
    chi2 = stats.chisquare(freq[live], expected[live])
    assert chi2.pvalue > 1e-3, (freq, expected)
    assert (expected[live] > 5).sum() >= 4  # enough populated leaves for the test to bite


# ------------------------------------------------------------------------------------
# the estimator contract: validation, priv_group, keyword-only metadata, sample_weight
# ------------------------------------------------------------------------------------
def test_string_feature_column_named_in_error():
    df, y = _frame()
    # "race" holds strings: a bare tree model cannot split on it
    raw = df[["z1", "sex", "race", "income"]]
    tree = DecisionTreeClassifier(max_depth=4, random_state=0)
    with pytest.raises(ValueError, match=r"FairTTTSClassifier needs numeric features, but "
                                         r"column 'race' of X has dtype"):
        FairTTTSClassifier(tree, prot_attr="sex", priv_group=1).fit(raw, y)
    with pytest.raises(ValueError, match=r"TTTSClassifier needs numeric features, but "
                                         r"column 'race' of X"):
        TTTSClassifier(tree).fit(raw, y)
    # an object array names the column by its index
    arr = raw.to_numpy(dtype=object)
    with pytest.raises(ValueError, match=r"column 2 of X holds non-numeric values \(e.g. '[ab]'\)"):
        TTTSClassifier(tree).fit(arr, y)
    # at predict too, against a model fitted on the numeric columns
    num = df[["z1", "sex", "income"]]
    est = FairTTTSClassifier(tree, prot_attr="sex", priv_group=1).fit(num, y)
    bad = num.assign(income=num["income"].astype(str))
    with pytest.raises(ValueError, match=r"column 'income' of X has dtype"):
        est.predict(bad)


def test_priv_group_required(small_tree, data):
    X, _ = data
    est = FairTTTSClassifier(small_tree, prot_attr=0, prefit=True)
    assert est.priv_group is None and est.unpriv_group is None
    with pytest.raises(ValueError) as info:
        est.fit(X)
    msg = str(info.value)
    assert msg.startswith("FairTTTSClassifier needs priv_group, to know which samples get "
                          "the fairness boost; got priv_group=None, unpriv_group=None.")
    assert "Pass priv_group=<label of the privileged group> (or unpriv_group=" in msg
    assert not hasattr(est, "groups_")  # refused before anything is fitted


def test_keyword_only_arguments(small_tree, data):
    X, _ = data
    with pytest.raises(TypeError):
        FairTTTSClassifier(small_tree, 0)  # prot_attr is keyword-only
    est = FairTTTSClassifier(small_tree, priv_group=1, prefit=True)
    sf = X[:, 0]
    with pytest.raises(TypeError):
        est.fit(X, None, sf)
    est.fit(X, sensitive_features=sf)
    with pytest.raises(TypeError):
        est.predict(X, sf)
    with pytest.raises(TypeError):
        est.predict_proba(X, sf)
    np.testing.assert_array_equal(
        est.predict_proba(X, sensitive_features=sf),
        FairTTTSClassifier(small_tree, prot_attr=0, priv_group=1, prefit=True).fit(X)
        .predict_proba(X),
    )
    # fitted attributes per the naming standard
    assert est.groups_ == [0.0, 1.0] and est.prot_attr_names_ == ["sensitive_feature"]
    np.testing.assert_array_equal(est.privileged_groups_, [False, True])
    assert est.pos_label_ == 1
    for old in ("unprivileged_groups_", "protected_features_"):
        assert not hasattr(est, old)


@pytest.mark.parametrize("cls", [TTTSClassifier, FairTTTSClassifier])
def test_integer_sample_weight_equals_repeated_rows(data, cls):
    # the confidence rule reads the feature means and standard deviations of fit, so
    # those must be weighted as well as the tree's fit
    X, y = data
    w = np.random.default_rng(1).integers(0, 4, len(y))
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    kw = dict(prob_type="confidence", p_max=0.4)
    if cls is FairTTTSClassifier:
        kw.update(prot_attr=0, priv_group=1)
    tree = DecisionTreeClassifier(max_depth=4, random_state=0)
    weighted = cls(tree, **kw).fit(X, y, sample_weight=w)
    repeated = cls(tree, **kw).fit(Xr, yr)
    np.testing.assert_array_equal(weighted.estimator_.tree_.threshold,
                                  repeated.estimator_.tree_.threshold)
    np.testing.assert_allclose(weighted.feature_mean_, repeated.feature_mean_, rtol=1e-12)
    np.testing.assert_allclose(weighted.feature_scale_, repeated.feature_scale_, rtol=1e-12)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X),
                               rtol=0, atol=1e-12)
    # the weights matter: unweighted stats differ
    unweighted = cls(tree, **kw).fit(X, y)
    assert np.abs(unweighted.feature_mean_ - weighted.feature_mean_).max() > 1e-3
    # prefit: the weights still weight the feature statistics (nothing else is fitted)
    pre = cls(repeated.estimator_, prefit=True, **kw).fit(X, sample_weight=w)
    np.testing.assert_allclose(pre.predict_proba(X), repeated.predict_proba(X),
                               rtol=0, atol=1e-12)


def test_sample_weight_reaches_the_pipeline_model():
    df, y = _frame()
    raw = df[["z1", "sex", "income", "race"]]
    pre = ColumnTransformer([("oh", OneHotEncoder(), ["race"])], remainder="passthrough")
    pipe = Pipeline([("pre", pre), ("tree", DecisionTreeClassifier(max_depth=3,
                                                                    random_state=0))])
    w = np.random.default_rng(2).integers(0, 3, len(y))
    est = FairTTTSClassifier(pipe, prot_attr="sex", priv_group=1).fit(raw, y, sample_weight=w)
    direct = pipe.fit(raw, y, tree__sample_weight=w)[-1]
    np.testing.assert_array_equal(est.estimator_[-1].tree_.threshold, direct.tree_.threshold)


def test_bad_sample_weight_and_prefit_fit_params(small_tree, data):
    X, y = data
    est = TTTSClassifier(DecisionTreeClassifier(max_depth=2))
    with pytest.raises(ValueError, match=r"TTTSClassifier: sample_weight must be non-negative "
                                         r"with a positive sum; got a weight of -1\.0"):
        est.fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(y) - 1)])
    # scikit-learn's own check of the weights comes first here
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample_weight"):
        est.fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"prefit=True does not fit the model, so the fit "
                                         r"parameters \['check_input'\] would be ignored"):
        FairTTTSClassifier(small_tree, prot_attr=0, priv_group=1, prefit=True).fit(
            X, check_input=True)


# ------------------------------------------------------------------------------------
# distance_scale="feature": the distance rule in units of each feature's fit distribution
# ------------------------------------------------------------------------------------
def _feature_rule_p(x, f, t, X_fit, w_fit, p_max):
    """Oracle: p_max minus the weighted fraction of fit rows strictly between x and t."""
    col = X_fit[:, f].astype(np.float32).astype(np.float64)
    xv = float(np.float32(x[f]))
    lo, hi = min(xv, t), max(xv, t)
    d = w_fit[(col > lo) & (col < hi)].sum() / w_fit.sum()
    return min(max(p_max - d, 0.0), 0.5)


def _brute_force_feature(model, X, X_fit, *, p_max, alpha=1.0, unpriv=None, prot=(),
                         w_fit=None, boost_rule="row"):
    w_fit = np.ones(len(X_fit)) if w_fit is None else np.asarray(w_fit, float)
    trees = [model.tree_] if hasattr(model, "tree_") else [e.tree_ for e in model.estimators_]
    out = np.zeros((len(X), trees[0].value.shape[2]))

    def walk(tree, frac, x, node, mass, up):
        left, right = tree.children_left[node], tree.children_right[node]
        if left < 0:
            return mass * frac[node]
        f, t = tree.feature[node], tree.threshold[node]
        p = _feature_rule_p(x, f, t, X_fit, w_fit, p_max)
        goes_left = np.float32(x[f]) <= t
        near, far = (left, right) if goes_left else (right, left)
        if up and f in prot and boost_rule == "row":  # towards the better child, this row
            v_near = walk(tree, frac, x, near, 1.0, up)
            v_far = walk(tree, frac, x, far, 1.0, up)
            if v_far[1] > v_near[1]:
                p = min(alpha * p, 0.5)
            return mass * ((1 - p) * v_near + p * v_far)
        if up and f in prot:
            fl, fr = frac[left, 1], frac[right, 1]
            if fl != fr and (fl < fr) == goes_left:
                p = min(alpha * p, 0.5)
        near, far = (left, right) if goes_left else (right, left)
        return (walk(tree, frac, x, near, mass * (1 - p), up)
                + walk(tree, frac, x, far, mass * p, up))

    for i, x in enumerate(X):
        up = unpriv is not None and unpriv[i]
        for tree in trees:
            frac = tree.value[:, 0, :] / tree.value[:, 0, :].sum(axis=1, keepdims=True)
            out[i] += walk(tree, frac, x, 0, 1.0, up)
        out[i] /= len(trees)
    return out


def test_feature_distance_hand_values_on_a_stump():
    # x = 1..10, y = x > 5: one stump at 5.5 with pure leaves, so P(y=1) is the reach
    # probability of the right leaf. p = p_max - (fraction of fit rows strictly between
    # x and 5.5); p_max = 0.3.
    X = np.arange(1.0, 11.0)[:, None]
    y = (X[:, 0] > 5).astype(int)
    stump = DecisionTreeClassifier(max_depth=1).fit(X, y)
    assert stump.tree_.threshold[0] == 5.5
    Xt = np.array([[3.0], [5.0], [5.2], [8.0], [10.0]])
    # x=3: {4, 5} between -> d = 0.2, p = 0.1; x=5 or 5.2: none -> p = 0.3 (goes left);
    # x=8: {6, 7} -> p = 0.1, stays right with 0.9; x=10: {6..9} -> d = 0.4, p = 0.
    expected = [0.1, 0.3, 0.3, 0.9, 1.0]
    for engine in ("numpy", "numba"):
        est = TTTSClassifier(stump, prefit=True, p_max=0.3, distance_scale="feature",
                             engine=engine).fit(X)
        np.testing.assert_allclose(est.predict_proba(Xt)[:, 1], expected, rtol=0,
                                   atol=1e-15)
    # weight 2 on x = 4 (total 11): x=3 -> d = 3/11, p = 0.3 - 3/11 = 0.3/11
    w = np.ones(10)
    w[3] = 2.0
    est = TTTSClassifier(stump, prefit=True, p_max=0.3, distance_scale="feature").fit(
        X, sample_weight=w)
    np.testing.assert_allclose(est.predict_proba(Xt[:1])[:, 1], [0.3 / 11], rtol=0,
                               atol=1e-15)


def test_feature_distance_binary_split_hand_value():
    # The tree of test_distance_rule_hand_value: income at 2000, then sex at 0.5. Under
    # distance_scale="feature" no fit row lies strictly between a 0/1 value and 0.5, nor
    # between income 1000 (or 3000) and 2000, so every base p is p_max = 0.1 whatever
    # the units of income.
    income = np.repeat([1000.0, 1000.0, 3000.0, 3000.0], 4)
    sex = np.tile(np.repeat([0.0, 1.0], 4), 2)
    y = np.array([0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1])
    X = np.column_stack([sex, income])
    tree = DecisionTreeClassifier(max_depth=2).fit(X, y)
    est = FairTTTSClassifier(tree, prot_attr=0, priv_group=1, prefit=True,
                             distance_scale="feature").fit(X)
    proba = est.predict_proba(np.array([[0.0, 1000.0], [1.0, 1000.0]]))[:, 1]
    # woman: 0.9 * (0.5 * 0 + 0.5 * 1/4) + 0.1 * (0.5 * 3/4 + 0.5 * 1) = 0.2 (boost 9 * 0.1
    # capped at 0.5 at both sex splits, where she heads to the lower leaf);
    # man: 0.9 * (0.9 * 1/4 + 0.1 * 0) + 0.1 * (0.9 * 1 + 0.1 * 3/4) = 0.3.
    np.testing.assert_allclose(proba, [0.2, 0.3], rtol=0, atol=1e-15)


@pytest.mark.parametrize("which", ["tree", "forest"])
def test_feature_distance_exact_equals_brute_force(data, small_tree, small_forest, which):
    X, _ = data
    model = small_tree if which == "tree" else small_forest
    Xt = X[:40]
    unpriv = Xt[:, 0] != 1
    ref = _brute_force_feature(model, Xt, X, p_max=0.15, alpha=9.0, unpriv=unpriv, prot=(0,))
    for engine in ("numpy", "numba"):
        est = FairTTTSClassifier(model, prot_attr=0, priv_group=1, prefit=True, p_max=0.15,
                                 distance_scale="feature", engine=engine, tol=0.0).fit(X)
        np.testing.assert_allclose(est.predict_proba(Xt), ref, rtol=0, atol=1e-12)
    ref_plain = _brute_force_feature(model, Xt, X, p_max=0.15)
    plain = TTTSClassifier(model, prefit=True, p_max=0.15, distance_scale="feature",
                           tol=0.0).fit(X)
    np.testing.assert_allclose(plain.predict_proba(Xt), ref_plain, rtol=0, atol=1e-12)


def _scaling_data(n, frac_unpriv, seed):
    """Raw features on very different scales (a 0/1 attribute, an age-like and an
    income-like column); imbalance of the group set by ``frac_unpriv``."""
    rng = np.random.default_rng(seed)
    sex = (rng.random(n) >= frac_unpriv).astype(float)  # 1 = privileged
    # continuous values: with integer ages a row can sit exactly on a midpoint threshold
    # (33 | 35 -> 34.0) and float32 rounding of the scaled copy then sends it the other way
    age = 40 + 12 * rng.normal(size=n)
    income = np.exp(10 + 0.5 * rng.normal(size=n))
    score = (age - 40) / 12 + 2 * (np.log(income) - 10) + 1.0 * sex
    y = (score + rng.normal(scale=0.8, size=n) > 0.7).astype(int)
    X = np.column_stack([sex, age, income])
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)  # the standard-scaled copy
    return X, Xs, y


@pytest.mark.parametrize("n, frac_unpriv, seed", [(300, 0.5, 0), (2000, 0.15, 1),
                                                  (800, 0.3, 2)])
def test_feature_scale_is_invariant_to_standard_scaling(n, frac_unpriv, seed):
    X, Xs, y = _scaling_data(n, frac_unpriv, seed)
    kw = dict(n_estimators=15, max_depth=6, random_state=seed)
    f_raw = RandomForestClassifier(**kw).fit(X, y)
    f_std = RandomForestClassifier(**kw).fit(Xs, y)
    # the same forest: the same splits (features and partitions of the rows) on both copies
    for a, b in zip(f_raw.estimators_, f_std.estimators_, strict=False):
        np.testing.assert_array_equal(a.tree_.feature, b.tree_.feature)
        np.testing.assert_array_equal(a.apply(X), b.apply(Xs))
    assert any((e.tree_.feature == 0).any() for e in f_raw.estimators_)
    priv_std = Xs[:, 0].max()
    fair = dict(prot_attr=0, alpha=9.0, prefit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the boost acts on both copies: no warning
        raw = FairTTTSClassifier(f_raw, priv_group=1.0, distance_scale="feature",
                                 **fair).fit(X)
        std = FairTTTSClassifier(f_std, priv_group=priv_std, distance_scale="feature",
                                 **fair).fit(Xs)
    p_raw, p_std = raw.predict_proba(X), std.predict_proba(Xs)
    np.testing.assert_allclose(p_raw, p_std, rtol=0, atol=1e-12)
    plain = TTTSClassifier(f_raw, prefit=True, distance_scale="feature").fit(X)
    np.testing.assert_allclose(plain.predict_proba(X),
                               TTTSClassifier(f_std, prefit=True, distance_scale="feature")
                               .fit(Xs).predict_proba(Xs), rtol=0, atol=1e-12)
    # the boost acts: it changes the unprivileged rows and raises their mean favourable
    # probability over plain TTTS
    unpriv = X[:, 0] == 0
    assert np.abs(p_raw[unpriv, 1] - plain.predict_proba(X)[unpriv, 1]).max() > 0.01
    assert p_raw[unpriv, 1].mean() > plain.predict_proba(X)[unpriv, 1].mean()
    np.testing.assert_array_equal(p_raw[~unpriv], plain.predict_proba(X)[~unpriv])

    # The paper's rule: D is the tree's largest |threshold|. On the standard-scaled copy a
    # 0/1 split sits d0 = 0.5 / std(sex) >= 1 from every value, so p = max(0.1 - d0 / D, 0)
    # is 0 at every protected split when D <= 10 d0 (here D < 10 in every tree): the boost
    # cannot act, and it warns naming alpha and p_max.
    d0 = 0.5 / X[:, 0].std()
    for e in f_std.estimators_:
        D = np.abs(e.tree_.threshold[e.tree_.children_left >= 0]).max()
        assert d0 >= 1 and D < 10 <= 10 * d0
    with pytest.warns(UserWarning, match=r"alpha=9\.0 cannot act.*p_max=0\.1"):
        paper_std = FairTTTSClassifier(f_std, priv_group=priv_std, **fair).fit(Xs)
    # (equal to rounding: the per-row rule sums the same terms bottom up)
    np.testing.assert_allclose(
        paper_std.predict_proba(Xs),
        TTTSClassifier(f_std, prefit=True).fit(Xs).predict_proba(Xs), rtol=0, atol=1e-15)
    # on the raw copy (D is an income threshold, ~1e4 or more) the paper rule does act
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paper_raw = FairTTTSClassifier(f_raw, priv_group=1.0, **fair).fit(X)
    assert np.abs(paper_raw.predict_proba(X)[unpriv, 1]
                  - TTTSClassifier(f_raw, prefit=True).fit(X).predict_proba(X)[unpriv, 1]
                  ).max() > 0.01


def test_boost_cannot_act_warns_for_other_rules(data, small_forest):
    X, _ = data
    # confidence rule on a 0/1 attribute: |x - mean| / std >= 1 > p_max, so p = 0 there
    with pytest.warns(UserWarning, match=r"alpha=9\.0 cannot act.*'confidence'"):
        FairTTTSClassifier(small_forest, prot_attr=0, priv_group=1, prefit=True,
                           prob_type="confidence").fit(X)
    # no warning when the boost is off (alpha=1) or the rule acts ("fixed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FairTTTSClassifier(small_forest, prot_attr=0, priv_group=1, prefit=True,
                           prob_type="confidence", alpha=1.0).fit(X)
        FairTTTSClassifier(small_forest, prot_attr=0, priv_group=1, prefit=True,
                           prob_type="fixed").fit(X)
    with pytest.raises(ValueError, match="distance_scale"):
        TTTSClassifier(small_forest, prefit=True, distance_scale="tree").fit(X)
