"""Tests of the fast paths of fairkit.inprocessing._expgrad (issue 18).

The loop works per stratum (group, label): signed weights, errors and constraint values
come from per-stratum quantities, and the Newton best response runs on rows sorted by
stratum, with a subsampled Hessian on large data and a reused (BFGS-updated) Hessian where
one costs several gradients. Each is checked against an independent computation:
fairlearn's moments, scikit-learn's ``LogisticRegression`` solved to 1e-10, fairlearn's
``ExponentiatedGradient``.
"""

import numpy as np
import pandas as pd
import pytest
from fairlearn.reductions import (
    BoundedGroupLoss,
    DemographicParity,
    EqualizedOdds,
    ErrorRate,
    ErrorRateParity,
    ExponentiatedGradient,
    FalsePositiveRateParity,
    TruePositiveRateParity,
    ZeroOneLoss,
)
from sklearn.linear_model import LogisticRegression

import fairkit.inprocessing._expgrad as eg_mod
from fairkit.inprocessing import ExponentiatedGradientReduction
from fairkit.inprocessing._expgrad import (
    _BestResponses,
    _NewtonLogistic,
    exponentiated_gradient,
    moments_from_fairlearn,
)

FL_MOMENTS = {
    "demographic_parity": DemographicParity,
    "equalized_odds": EqualizedOdds,
    "true_positive_rate_parity": TruePositiveRateParity,
    "false_positive_rate_parity": FalsePositiveRateParity,
    "error_rate_parity": ErrorRateParity,
}


def _data(n, seed, k=3, d=3, p_group=None, base=-0.4):
    rng = np.random.default_rng(seed)
    a = rng.choice(k, n, p=p_group)
    X = rng.normal(size=(n, d)) + 0.5 * a[:, None]
    logit = X @ np.linspace(1.0, -0.5, d) + base + 0.5 * rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * logit))).astype(int)
    return X, y, a


@pytest.mark.parametrize("name", list(FL_MOMENTS))
@pytest.mark.parametrize("ratio", [1.0, 0.8])
def test_stratum_moments_equal_fairlearn(name, ratio):
    # signed weights, error and constraint values computed per (group, label) stratum
    # against fairlearn's row-wise moments, for 0/1 and fractional predictions
    X, y, a = _data(700, 0, k=3, p_group=[0.6, 0.3, 0.1])
    fl = FL_MOMENTS[name](ratio_bound=ratio, ratio_bound_slack=0.01)
    fl.load_data(X, y, sensitive_features=pd.Series(a))
    obj = ErrorRate()
    obj.load_data(X, y, sensitive_features=pd.Series(a))
    ours = moments_from_fairlearn(fl).load(y, a, [0, 1, 2])
    rng = np.random.default_rng(1)
    for pred in [(rng.random(len(y)) < 0.4).astype(float), rng.random(len(y))]:
        error, gamma = ours.evaluate(pred)
        theirs = fl.gamma(lambda _X, p=pred: p)
        np.testing.assert_allclose(gamma, theirs.loc[ours.index].to_numpy(), atol=1e-12)
        assert error == pytest.approx(float(obj.gamma(lambda _X, p=pred: p).iloc[0]),
                                      abs=1e-12)
    lam = pd.Series(rng.random(len(fl.index)) * 5, index=fl.index)
    sw = obj.signed_weights() + fl.signed_weights(lam)
    np.testing.assert_allclose(ours.signed_weights(lam.loc[ours.index].to_numpy()),
                               sw.to_numpy(), atol=1e-12)


def _sklearn_optimum(X, y, w, C=1.0):
    return LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y, sample_weight=w)


@pytest.mark.parametrize("d,hessian_rows", [
    (3, None),    # every row in the Hessian, recomputed each step
    (3, 300),     # a stratified subsample of the rows in the Hessian (2 x 300 < 1500 rows)
    (12, None),   # many columns: the Hessian is reused across steps and solves (BFGS)
])
def test_newton_on_strata_is_the_weighted_logistic_optimum(monkeypatch, d, hessian_rows):
    if hessian_rows is not None:
        monkeypatch.setattr(eg_mod, "_HESSIAN_ROWS", hessian_rows)
    X, y, a = _data(1500, 2, k=2, d=d, p_group=[0.7, 0.3])
    X[:, 0] *= 4.0  # raw scales
    stratum = 2 * a + y
    # tol=1e-8: each solution is then the optimum to ~1e-7 whatever the path to it
    nt = _NewtonLogistic(LogisticRegression(C=0.5, tol=1e-8), X, stratum, 4)
    assert (nt.sub is not None) == (hessian_rows is not None)
    assert nt.reuse_hessian == (d == 12)
    rng = np.random.default_rng(3)
    beta, parts = None, None
    for _ in range(4):  # a chain of warm starts, as in the loop
        ry = np.array([0.0, 1.0, 1.0, 0.0]) if rng.random() < 0.5 else np.array(
            [0.0, 1.0, 0.0, 1.0])
        w = rng.uniform(0.2, 3.0, 4)
        beta, z, it, parts, _ = nt.solve(ry, w, beta, parts if nt.reuse_hessian else None)
        ref = _sklearn_optimum(X, ry[stratum], w[stratum], C=0.5)
        est = nt.fitted(beta, it)
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6, atol=1e-6)
        # the per-stratum counts of predicted ones and the training predictions (in the
        # caller's row order) are scikit-learn's predictions of these coefficients
        pred = est.predict(X)
        counts = np.bincount(stratum, weights=pred, minlength=4)
        np.testing.assert_array_equal(nt.positive_counts(z), counts)
        np.testing.assert_array_equal(nt.train_predictions(beta), pred)


def test_train_predictions_of_the_loop_are_the_predictors_outputs():
    # predictions are not stored per predictor: those of the predictors in Q are computed
    # once at the end, and equal each predictor's predict on the training rows
    X, y, a = _data(2000, 4, k=2)
    moments = moments_from_fairlearn(DemographicParity()).load(y, a, [0, 1])
    responses = _BestResponses(LogisticRegression(), X, "sample_weight", True)
    res = exponentiated_gradient(moments, responses, y, eps=0.01, max_iter=50, nu=None,
                                 eta0=2.0, run_linprog_step=True)
    assert responses.mode == "newton"
    used = 0
    for h, w, pred in zip(res["predictors"], res["weights"], res["train_predictions"],
                          strict=True):
        assert len(pred) == len(y)
        if w > 0:
            np.testing.assert_array_equal(pred, h.predict(X))
            used += 1
    assert used >= 1
    # nu from the 0/1 deviations of the first predictor, as np.std(|h(x) - y|, ddof=1)
    dev = np.abs(res["predictors"][0].predict(X) - y)
    assert res["nu"] == pytest.approx(0.5 * np.std(dev, ddof=1) / np.sqrt(len(y)),
                                      rel=1e-12)


def _acc_disp(p, y, a):
    acc = float(np.mean(np.where(y == 1, p, 1 - p)))
    rates = [p[a == g].mean() for g in np.unique(a)]
    return acc, max(rates) - min(rates)


@pytest.mark.parametrize("n,k,d,p_group,base,hessian_rows", [
    (4000, 2, 3, [0.8, 0.2], 1.0, 500),    # subsampled Hessian, 75% positives
    (2500, 3, 14, [0.5, 0.3, 0.2], -1.0, None),  # reused Hessian, 3 groups
])
def test_fast_paths_same_accuracy_and_disparity_as_fairlearn(monkeypatch, n, k, d,
                                                            p_group, base, hessian_rows):
    if hessian_rows is not None:
        monkeypatch.setattr(eg_mod, "_HESSIAN_ROWS", hessian_rows)
    X, y, a = _data(n, 5, k=k, d=d, p_group=p_group, base=base)
    ours = ExponentiatedGradientReduction(LogisticRegression()).fit(
        X, y, sensitive_features=a)
    assert ours.best_response_ == "newton"
    theirs = ExponentiatedGradient(LogisticRegression(), DemographicParity()).fit(
        X, y, sensitive_features=a)
    acc, disp = _acc_disp(ours.predict_proba(X, sensitive_features=a)[:, 1], y, a)
    acc_fl, disp_fl = _acc_disp(theirs._pmf_predict(X)[:, 1], y, a)
    assert abs(acc - acc_fl) <= 0.002
    assert abs(disp - disp_fl) <= 0.002


def test_bounded_group_loss_zero_one_with_newton_same_as_fairlearn():
    # bounded group loss of 0/1 labels: the Newton path on strata (the learner's labels
    # are y, its weights per group); fairlearn's mean loss per group and overall
    X, y, a = _data(1500, 6, k=2, p_group=[0.7, 0.3])
    ours = ExponentiatedGradientReduction(LogisticRegression(),
                                          constraints="bounded_group_loss",
                                          loss="zero_one", upper_bound=0.3).fit(
        X, y, sensitive_features=a)
    assert ours.best_response_ == "newton"
    theirs = ExponentiatedGradient(LogisticRegression(),
                                   BoundedGroupLoss(ZeroOneLoss(), upper_bound=0.3)).fit(
        X, y, sensitive_features=a)

    def losses(pmf):  # expected 0/1 loss overall and per group of the mixture
        p = pmf @ np.asarray(weights)
        err = np.where(y == 1, 1 - p, p)
        return [err.mean()] + [err[a == g].mean() for g in (0, 1)]

    weights = ours.weights_
    mine = losses(ours._pmf_predict(X))
    weights = theirs.weights_.to_numpy()
    fl = losses(theirs._pmf_predict(X))
    np.testing.assert_allclose(mine, fl, atol=0.002)
