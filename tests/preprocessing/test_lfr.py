"""Tests for fairkit.preprocessing.LearnedFairRepresentations."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from fairkit.preprocessing import LearnedFairRepresentations, lfr_objective


def test_objective_by_hand_on_tiny_problem():
    # x = 0 (privileged, y=1) and x = 2 (unprivileged, y=0); prototypes 0 and 2; w = (1, 0)
    X = np.array([[0.0], [2.0]])
    y = np.array([1, 0])
    priv = np.array([1, 0])  # sample 0 privileged
    params = np.array([1.0, 0.0, 0.0, 2.0])  # w then V
    loss, _, (L_x, L_y, L_z) = lfr_objective(params, X, y, priv, 2, 1)
    a = 1 / (1 + math.exp(-2))  # membership in the near prototype: softmax(-0, -2)
    b = 1 - a
    assert L_x == pytest.approx(((2 * b) ** 2 + (2 * b) ** 2) / 2, rel=1e-12)  # x_hat = 2b, 2a
    assert L_y == pytest.approx(-(math.log(a) + math.log(1 - b)) / 2, rel=1e-12)
    assert L_z == pytest.approx(a - b, rel=1e-12)  # |a - b| for each prototype, averaged
    assert loss == pytest.approx(0.01 * L_x + 1.0 * L_y + 50.0 * L_z, rel=1e-12)


def _loops_objective(params, X, y, priv, K, C, ax, ay, az):
    """The objective written with explicit loops (independent of the vectorised code)."""
    n, d = X.shape
    w = params[: K * C].reshape(K, C)
    V = params[K * C:].reshape(K, d)
    M = np.zeros((n, K))
    for i in range(n):
        e = [math.exp(-math.sqrt(sum((X[i, j] - V[k, j]) ** 2 for j in range(d))))
             for k in range(K)]
        M[i] = np.array(e) / sum(e)
    Lx = sum((sum(M[i, k] * V[k, j] for k in range(K)) - X[i, j]) ** 2
             for i in range(n) for j in range(d)) / (n * d)
    if C == 1:
        Ly = -sum(math.log(sum(M[i, k] * w[k, 0] for k in range(K))) if y[i] == 1 else
                  math.log(1 - sum(M[i, k] * w[k, 0] for k in range(K))) for i in range(n)) / n
    else:
        Ly = 0.0
        for i in range(n):
            z = [sum(M[i, k] * w[k, c] for k in range(K)) for c in range(C)]
            Ly -= z[y[i]] - math.log(sum(math.exp(v) for v in z))
        Ly /= n
    Lz = sum(abs(M[priv, k].mean() - M[~priv, k].mean()) for k in range(K)) / K
    return ax * Lx + ay * Ly + az * Lz


@pytest.mark.parametrize("n_classes", [2, 3])
def test_objective_and_gradient_match_loops_and_finite_differences(n_classes):
    rng = np.random.default_rng(0)
    n, d, K = 12, 3, 4
    C = 1 if n_classes == 2 else n_classes
    X = rng.normal(size=(n, d))
    y = rng.integers(0, n_classes, n)
    priv = rng.random(n) < 0.5
    params = np.r_[rng.uniform(0.1, 0.9, K * C), rng.normal(size=K * d)]
    args = (X, y, priv.astype(int), K, C, 0.3, 1.0, 5.0)
    loss, grad, _ = lfr_objective(params, *args)
    assert loss == pytest.approx(_loops_objective(params, X, y, priv, K, C, 0.3, 1.0, 5.0),
                                 rel=1e-12)
    fd = approx_fprime(params, lambda p: lfr_objective(p, *args)[0], 1e-7)
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=1e-6)
    # three groups, each against the rest (averaged), checked the same two ways
    g3 = rng.integers(0, 3, n)
    args3 = (X, y, g3, K, C, 0.3, 1.0, 5.0)
    loss3, grad3, (_, _, Lz3) = lfr_objective(params, *args3)
    per_group = [_loops_objective(params, X, y, g3 == g, K, C, 0.0, 0.0, 1.0)
                 for g in range(3)]
    assert Lz3 == pytest.approx(np.mean(per_group), rel=1e-12)
    fd3 = approx_fprime(params, lambda p: lfr_objective(p, *args3)[0], 1e-7)
    np.testing.assert_allclose(grad3, fd3, rtol=1e-4, atol=1e-6)


def biased(n=400, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 3)) + np.c_[1.5 * s, 0.5 * s, 0 * s]
    y = (x[:, 0] + x[:, 2] + rng.normal(scale=0.5, size=n) > 1).astype(int)
    return pd.DataFrame({"sex": np.where(s == 1, "M", "F"), "a": x[:, 0], "b": x[:, 1],
                         "c": x[:, 2]}), y


# AIF360's weights on the raw features (the defaults before normalize=True), passed
# explicitly: loss_ is then lfr_objective at its own default weights
AIF = dict(reconstruct_weight=0.01, target_weight=1.0, fairness_weight=50.0, normalize=False)


def test_fit_decreases_objective_and_is_deterministic():
    X, y = biased()
    lfr = LearnedFairRepresentations(prot_attr="sex", priv_group="M", random_state=1,
                                     max_iter=100, **AIF).fit(X, y)
    curve = np.array(lfr.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-12) and curve[-1] < 0.5 * curve[0]
    assert lfr.loss_ == pytest.approx(curve[-1])
    again = LearnedFairRepresentations(prot_attr="sex", priv_group="M", random_state=1,
                                       max_iter=100, **AIF).fit(X, y)
    np.testing.assert_array_equal(lfr.prototypes_, again.prototypes_)
    # loss_ is the objective at the fitted parameters
    s = (X["sex"] == "M").to_numpy()
    p = np.r_[lfr.coef_.ravel(), lfr.prototypes_.ravel()]
    Xf = X[["a", "b", "c"]].to_numpy()
    assert lfr_objective(p, Xf, y, s, 5, 1)[0] == pytest.approx(lfr.loss_, rel=1e-12)
    # outputs: representation, memberships, classifier
    Xt = lfr.set_output(transform="pandas").transform(X)
    assert list(Xt.columns) == ["a", "b", "c"] and Xt.index.equals(X.index)
    M = lfr.prototype_membership(X)
    np.testing.assert_allclose(M.sum(axis=1), 1.0)
    np.testing.assert_allclose(Xt.to_numpy(), M @ lfr.prototypes_)
    proba = lfr.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], (M @ lfr.coef_)[:, 0])
    np.testing.assert_array_equal(lfr.predict(X), lfr.classes_[proba.argmax(1)])


def test_fairness_weight_lowers_prediction_gap():
    X, y = biased()
    s = (X["sex"] == "M").to_numpy()

    def gap(est):
        p = est.predict(X)
        return abs(p[s].mean() - p[~s].mean())

    weak = LearnedFairRepresentations(prot_attr="sex", priv_group="M", random_state=0,
                                      max_iter=150, **{**AIF, "fairness_weight": 0.0}).fit(X, y)
    strong = LearnedFairRepresentations(prot_attr="sex", priv_group="M", random_state=0,
                                        max_iter=150, **AIF).fit(X, y)
    assert gap(strong) < gap(weak) - 0.2


def test_pipeline_grid_search_and_routing():
    X, y = biased(300)

    def neg_spd(est, X, y):
        p = est.predict(X)
        s = (X["sex"] == "M").to_numpy()
        return -abs(p[s].mean() - p[~s].mean())

    pipe = make_pipeline(LearnedFairRepresentations(prot_attr="sex", priv_group="M",
                                                    random_state=0,
                                                    max_iter=50),
                         LogisticRegression())
    gs = GridSearchCV(pipe, {"learnedfairrepresentations__fairness_weight": [0.0, 50.0]},
                      scoring=neg_spd, cv=2, n_jobs=2).fit(X, y)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    routed = LearnedFairRepresentations(priv_group="M", random_state=0, max_iter=50).fit(
        X[["a", "b", "c"]], y, sensitive_features=X["sex"])
    by_col = LearnedFairRepresentations(prot_attr="sex", priv_group="M", random_state=0,
                                        max_iter=50).fit(X, y)
    np.testing.assert_allclose(routed.transform(X[["a", "b", "c"]]), by_col.transform(X))


def test_bad_inputs():
    X, y = biased(100)
    lfr = LearnedFairRepresentations(prot_attr="sex", priv_group="M", random_state=0, max_iter=5)
    with pytest.warns(Warning):
        lfr.fit(X, y)
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['sex'\] not found"):
        lfr.transform(X.drop(columns="sex"))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        lfr.transform(X.assign(a=np.nan))
    with pytest.raises(ValueError, match="priv_group='X' does not occur"):
        LearnedFairRepresentations(prot_attr="sex", priv_group="X").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 are needed"):
        LearnedFairRepresentations(prot_attr="sex", priv_group="M").fit(X.assign(sex="M"), y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LearnedFairRepresentations(prot_attr="sex", priv_group="M").fit(X, np.ones(100))
    # priv_group=None means "no privileged group given": L_z needs one, so fit asks for it
    with pytest.raises(ValueError, match="needs priv_group.*got priv_group=None"):
        LearnedFairRepresentations(prot_attr="sex").fit(X, y)
    with pytest.raises(ValueError, match="needs numeric features, but column 'b' of X"):
        LearnedFairRepresentations(prot_attr="sex", priv_group="M").fit(X.assign(b="t"), y)
    # kept as a feature, the protected column must be numeric too
    with pytest.raises(ValueError, match="column 'sex' of X has dtype"):
        LearnedFairRepresentations(prot_attr="sex", priv_group="M",
                                   drop_prot_attr=False).fit(X, y)
    with pytest.raises(TypeError, match="positional"):
        LearnedFairRepresentations("sex")


def test_keep_protected_column_as_feature():
    X, y = biased(200)
    Xn = X.assign(sex=(X["sex"] == "M").astype(float))
    lfr = LearnedFairRepresentations(prot_attr="sex", priv_group=1.0, drop_prot_attr=False,
                                     random_state=0, max_iter=20, **AIF).fit(Xn, y)
    assert lfr.prototypes_.shape == (5, 4)
    assert lfr.get_feature_names_out().tolist() == ["sex", "a", "b", "c"]
    assert lfr.groups_ == [0.0, 1.0] and lfr.privileged_groups_.tolist() == [False, True]
    # the fitted loss is the objective on all four columns, privileged side = sex == 1
    p = np.r_[lfr.coef_.ravel(), lfr.prototypes_.ravel()]
    loss = lfr_objective(p, Xn.to_numpy(), y, Xn["sex"].to_numpy().astype(int), 5, 1)[0]
    assert loss == pytest.approx(lfr.loss_, rel=1e-12)
