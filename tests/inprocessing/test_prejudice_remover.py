"""Tests for fairkit.inprocessing._prejudice_remover (Kamishima et al. 2012).

The objective is checked against Kamishima's own code (shipped inside AIF360 as
``kamfadm-2012ecmlpkdd``), the gradient against finite differences, the eta = 0 case against
scikit-learn's LogisticRegression, and the fairness effect by counting selection rates.
"""

import os
import pickle
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from sklearn.linear_model import LogisticRegression

from fairkit.inprocessing import PrejudiceRemover
from fairkit.inprocessing._prejudice_remover import prejudice_remover_objective


def synthetic(n=600, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + a[:, None]
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n) > 0.8).astype(int)
    return np.c_[a, x], y


def kamishima():
    import aif360.algorithms.inprocessing as inproc

    path = os.path.join(os.path.dirname(inproc.__file__), "kamfadm-2012ecmlpkdd")
    if path not in sys.path:
        sys.path.insert(0, path)
    from fadm.lr.pr import LRwPRType4

    return LRwPRType4


def _design(X):
    return np.c_[X[:, 1:], np.ones(len(X))], X[:, 0].astype(int)


def test_objective_equals_kamishima_loss():
    X, y = synthetic(n=300)
    Xd, s = _design(X)
    counts = np.bincount(s).astype(float)
    model = kamishima()(eta=5.0, C=2.0)
    model.n_sfv_, model.n_features_, model.n_samples_, model.c_s_ = 2, 3, len(y), counts
    rng = np.random.default_rng(1)
    for _ in range(3):
        coef = rng.normal(scale=0.5, size=6)
        ours, _ = prejudice_remover_objective(coef, Xd, y.astype(float), s, counts, 5.0, 2.0)
        assert ours == pytest.approx(model.loss(coef, Xd, y, s), rel=1e-10)


def test_gradient_matches_finite_differences():
    X, y = synthetic(n=300, seed=2)
    Xd, s = _design(X)
    counts = np.bincount(s).astype(float)
    coef = np.random.default_rng(3).normal(scale=0.5, size=6)

    def loss(c):
        return prejudice_remover_objective(c, Xd, y.astype(float), s, counts, 7.0, 1.0)[0]

    _, grad = prejudice_remover_objective(coef, Xd, y.astype(float), s, counts, 7.0, 1.0)
    np.testing.assert_allclose(grad, approx_fprime(coef, loss, 1e-6), rtol=1e-5, atol=1e-4)


def test_reaches_lower_objective_than_kamishima_code():
    # Same objective, same start (per-group regularised LR). Kamishima's grad_loss does not
    # match finite differences of its own loss, so its conjugate gradient stops early.
    X, y = synthetic(n=300, seed=4)
    ref = kamishima()(eta=5.0, C=1.0)
    ref.fit(np.c_[X[:, 1:], X[:, 0]], y, 1, itype=3)
    ours = PrejudiceRemover(eta=5.0, alpha=1.0, prot_attr=0).fit(X, y)
    assert ours.objective_ <= ref.f_loss_ + 1e-8
    Xd, s = _design(X)
    W = np.c_[ours.coef_, ours.intercept_].ravel()
    assert ours.objective_ == pytest.approx(ref.loss(W, Xd, y, s), rel=1e-10)


def test_eta_zero_is_per_group_logistic_regression():
    X, y = synthetic(n=400, seed=5)
    pr = PrejudiceRemover(eta=0.0, alpha=2.0, prot_attr=0, fit_intercept=False,
                          tol=1e-10).fit(np.c_[X, np.ones(len(X))], y)
    for g in (0, 1):
        m = X[:, 0] == g
        # sklearn: 0.5 ||w||^2 + C sum(loss)  ==  sum(loss) + alpha / 2 ||w||^2 with C = 1/alpha
        lr = LogisticRegression(C=0.5, fit_intercept=False, tol=1e-10).fit(
            np.c_[X[m, 1:], np.ones(m.sum())], y[m])
        np.testing.assert_allclose(pr.coef_[g], lr.coef_[0], rtol=1e-4, atol=1e-5)


def test_eta_reduces_selection_rate_gap():
    X, y = synthetic(n=1000)
    a = X[:, 0]
    gaps = []
    for eta in (0.0, 5.0, 25.0):
        p = PrejudiceRemover(eta=eta, prot_attr=0).fit(X, y).predict(X)
        gaps.append(p[a == 1].mean() - p[a == 0].mean())
    # measured: 0.45, 0.13, 0.04
    assert gaps[0] > 0.4 and gaps[1] < 0.2 and gaps[2] < 0.07


def test_string_groups_routing_and_pickle():
    X, y = synthetic(n=400, seed=6)
    frame = pd.DataFrame({"x1": X[:, 1], "sex": np.where(X[:, 0] == 1, "M", "F"),
                          "x2": X[:, 2]})
    labels = np.where(y == 1, "yes", "no")
    pr = PrejudiceRemover(eta=3.0, prot_attr="sex").fit(frame, labels)
    assert pr.groups_ == ["F", "M"] and pr.coef_.shape == (2, 2)
    routed = PrejudiceRemover(eta=3.0).fit(frame[["x1", "x2"]], labels,
                                           sensitive_features=frame["sex"])
    np.testing.assert_allclose(routed.coef_, pr.coef_)
    np.testing.assert_allclose(
        routed.predict_proba(frame[["x1", "x2"]], sensitive_features=frame["sex"]),
        pr.predict_proba(frame))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pr)).predict(frame),
                                  pr.predict(frame))
    proba = pr.predict_proba(frame)[:, 1]
    np.testing.assert_array_equal(pr.predict(frame) == "yes", proba > 0.5)


def test_bad_input():
    X, y = synthetic(n=200, seed=7)
    with pytest.raises(ValueError, match="at least 2"):
        PrejudiceRemover(prot_attr=0).fit(np.c_[np.zeros(200), X[:, 1:]], y)
    with pytest.raises(ValueError, match="Only binary classification"):
        PrejudiceRemover(prot_attr=0).fit(X, np.arange(200) % 3)
    with pytest.raises(ValueError, match="eta"):
        PrejudiceRemover(eta=-1.0, prot_attr=0).fit(X, y)
    with pytest.raises(ValueError, match="prot_attr index 5 is out of range"):
        PrejudiceRemover(prot_attr=5).fit(X, y)
    pr = PrejudiceRemover(prot_attr=0).fit(X, y)
    with pytest.raises(ValueError, match=r"Group 2\.0 .*not seen during fit"):
        pr.predict(np.c_[np.full(200, 2.0), X[:, 1:]])
    frame = pd.DataFrame({"sex": ["F", "M"] * 100, "x": ["a"] * 200})
    with pytest.raises(ValueError, match="needs numeric features, but column 'x'"):
        PrejudiceRemover(prot_attr="sex").fit(frame, y)
    with pytest.raises(ValueError, match="sample_weight must be non-negative; got .*-1"):
        PrejudiceRemover(prot_attr=0).fit(X, y, sample_weight=np.r_[-1.0, np.ones(199)])
    with pytest.raises(ValueError, match=r"sample_weight sums to 0 over group 1\.0"):
        PrejudiceRemover(prot_attr=0).fit(X, y, sample_weight=(X[:, 0] == 0).astype(float))
    with pytest.raises(TypeError):
        PrejudiceRemover(1.0, 1.0, 0)  # prot_attr is keyword-only


def test_sample_weight_equals_repeated_rows():
    X, y = synthetic(n=120, seed=8)
    w = np.random.default_rng(9).integers(0, 4, len(y))
    kw = dict(eta=5.0, alpha=1.0, prot_attr=0, tol=1e-10)
    weighted = PrejudiceRemover(**kw).fit(X, y, sample_weight=w)
    repeated = PrejudiceRemover(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-5, atol=1e-7)
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-9)
    # the weighted objective at any point is the repeated-rows objective at that point
    Xd, s = _design(X)
    Xr, sr = _design(np.repeat(X, w, axis=0))
    coef = np.random.default_rng(10).normal(scale=0.5, size=6)
    lw, gw = prejudice_remover_objective(coef, Xd, y.astype(float), s,
                                         np.bincount(s, weights=w), 5.0, 1.0, w.astype(float))
    lr, gr = prejudice_remover_objective(coef, Xr, np.repeat(y, w).astype(float), sr,
                                         np.bincount(sr).astype(float), 5.0, 1.0)
    assert lw == pytest.approx(lr, rel=1e-12)
    np.testing.assert_allclose(gw, gr, rtol=1e-10, atol=1e-10)


def test_score_takes_routed_sensitive_features():
    X, y = synthetic(n=300, seed=11)
    pr = PrejudiceRemover(eta=2.0).fit(X[:, 1:], y, sensitive_features=X[:, 0])
    expected = np.mean(pr.predict(X[:, 1:], sensitive_features=X[:, 0]) == y)
    assert pr.score(X[:, 1:], y, sensitive_features=X[:, 0]) == expected
    assert 0.6 < expected <= 1


def synthetic_groups(n=600, k=3, seed=12):
    # k groups in shuffled row order, a binary label driven by the features and the group
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    x = rng.normal(size=(n, 3)) + 0.5 * a[:, None]
    y = (x @ [1.0, -0.5, 0.3] + 0.4 * a + rng.normal(size=n) > 1.0).astype(int)
    return x, a, y


@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences_three_groups(weighted):
    # rows of the groups interleaved (the objective sorts them) and sample weights
    x, a, y = synthetic_groups()
    Xd = np.c_[x, np.ones(len(x))]
    w = np.random.default_rng(13).uniform(0.2, 3.0, len(y)) if weighted else None
    counts = np.bincount(a, weights=w).astype(float)
    coef = np.random.default_rng(14).normal(scale=0.4, size=3 * Xd.shape[1])

    def loss(c):
        return prejudice_remover_objective(c, Xd, y.astype(float), a, counts, 4.0, 0.5, w)[0]

    _, grad = prejudice_remover_objective(coef, Xd, y.astype(float), a, counts, 4.0, 0.5, w)
    np.testing.assert_allclose(grad, approx_fprime(coef, loss, 1e-6), rtol=1e-5, atol=1e-4)


def test_objective_by_hand_from_its_definition():
    # the objective written out row by row (log-loss + eta * PI + alpha / 2 * ||W||^2)
    x, a, y = synthetic_groups(n=200, seed=15)
    Xd = np.c_[x, np.ones(len(x))]
    coef = np.random.default_rng(16).normal(scale=0.5, size=3 * Xd.shape[1])
    W = coef.reshape(3, -1)
    p = 1.0 / (1.0 + np.exp(-np.sum(Xd * W[a], axis=1)))
    q = np.array([p[a == g].mean() for g in range(3)])[a]
    r = p.mean()
    nll = -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    pi = np.sum(p * np.log(q / r) + (1 - p) * np.log((1 - q) / (1 - r)))
    expected = nll + 2.5 * pi + 0.5 * 0.7 * np.sum(coef ** 2)
    got, _ = prejudice_remover_objective(coef, Xd, y.astype(float), a,
                                         np.bincount(a).astype(float), 2.5, 0.7)
    assert got == pytest.approx(expected, rel=1e-12)


def test_row_order_does_not_change_the_fit():
    x, a, y = synthetic_groups(n=500, seed=17)
    X = np.c_[a, x]
    perm = np.random.default_rng(18).permutation(len(y))
    kw = dict(eta=5.0, prot_attr=0, tol=1e-10)
    ref = PrejudiceRemover(**kw).fit(X, y)
    shuffled = PrejudiceRemover(**kw).fit(X[perm], y[perm])
    np.testing.assert_allclose(shuffled.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(shuffled.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)
    assert shuffled.objective_ == pytest.approx(ref.objective_, rel=1e-10)


def test_constant_fit_warns():
    # 20 positives in 400 rows and a penalty that shrinks every weight towards 0: the
    # scores all fall just below 0 and every training row is predicted negative.
    rng = np.random.default_rng(19)
    n = 400
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2))
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, 20, replace=False)] = 1
    from fairkit.base import ConstantFitWarning

    with pytest.warns(ConstantFitWarning, match=r"predicts class 0 for every training row.*"
                      r"Training accuracy 0\.9500 against a majority-class rate of 0\.9500"
                      r".*eta=1\.0.*alpha=10000"):
        pr = PrejudiceRemover(eta=1.0, alpha=1e4, prot_attr=0).fit(np.c_[a, x], y)
    assert (pr.predict(np.c_[a, x]) == 0).all()


def test_no_constant_warning_on_a_fit_that_separates():
    from fairkit.base import ConstantFitWarning

    X, y = synthetic(n=400, seed=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFitWarning)
        pr = PrejudiceRemover(eta=25.0, prot_attr=0).fit(X, y)
    assert 0 < pr.predict(X).mean() < 1


def test_columns_on_very_different_scales_reach_the_minimum():
    # income-like (~1e4), a 0/1 indicator and a ratio (~1e-3): at eta = 0 the fit is the
    # per-group L2 logistic regression, solved by scikit-learn's Newton solver (which does
    # not depend on the columns' scales).
    rng = np.random.default_rng(21)
    n = 2000
    a = rng.integers(0, 2, n)
    u = rng.normal(size=(n, 3))
    y = (u @ [1.0, 0.8, -0.6] + 0.5 * a + rng.logistic(size=n) > 0.3).astype(int)
    feats = np.c_[3e4 + 1e4 * u[:, 0], (u[:, 1] > 0).astype(float), 1e-3 * u[:, 2]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning either
        pr = PrejudiceRemover(eta=0.0, alpha=1.0, prot_attr=0).fit(np.c_[a, feats], y)
    for g in (0, 1):
        m = a == g
        lr = LogisticRegression(C=1.0, fit_intercept=False, solver="newton-cholesky",
                                tol=1e-12, max_iter=200).fit(np.c_[feats[m], np.ones(m.sum())],
                                                             y[m])
        np.testing.assert_allclose(np.r_[pr.coef_[g], pr.intercept_[g]], lr.coef_[0],
                                   rtol=1e-4, atol=1e-9)


def test_iteration_limit_warns():
    from sklearn.exceptions import ConvergenceWarning

    X, y = synthetic(n=300, seed=22)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=2 iterations on the eta = 0 start"):
        PrejudiceRemover(eta=5.0, prot_attr=0, max_iter=2).fit(X, y)


def test_standardised_coordinates_give_the_same_objective():
    # the optimiser's change of variables: f_v(v) == f(w(v)), and its gradient is the
    # finite difference of f_v
    from fairkit.inprocessing._prejudice_remover import _Objective

    rng = np.random.default_rng(23)
    x, a, y = synthetic_groups(n=300, seed=24)
    feats = np.c_[5e3 + 2e3 * x[:, 0], x[:, 1], 1e-2 * x[:, 2]]
    Xd = np.c_[feats, np.ones(len(y))]
    w = rng.uniform(0.5, 2.0, len(y))
    counts = np.bincount(a, weights=w)
    scale = np.r_[feats.std(axis=0), 1.0]
    shift = np.r_[feats.mean(axis=0), 0.0]
    f_v = _Objective(Xd, y.astype(float), a, counts, w, scale=scale, shift=shift, intercept=3)
    v = rng.normal(scale=0.3, size=3 * 4)
    W = f_v.to_w(v)
    # by hand: w_j = v_j / scale_j, intercept = v_b - sum_j shift_j v_j / scale_j
    V = v.reshape(3, 4)
    np.testing.assert_allclose(W[:, :3], V[:, :3] / scale[:3], rtol=1e-14)
    np.testing.assert_allclose(W[:, 3], V[:, 3] - V[:, :3] @ (shift[:3] / scale[:3]),
                               rtol=1e-12)
    direct, _ = prejudice_remover_objective(W.ravel(), Xd, y.astype(float), a, counts, 3.0,
                                            0.8, w)
    value, grad = f_v(v, 3.0, 0.8)
    assert value == pytest.approx(direct, rel=1e-12)
    fd = approx_fprime(v, lambda c: f_v(c, 3.0, 0.8)[0], 1e-6)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-4)
