"""BoundTunedClassifierCV: the choice is the one an independent out-of-fold computation
(scikit-learn's cross_val_predict, fairlearn's metrics) gives, it holds on held-out rows,
and a bound that cannot be met, or a constant pick, is said out loud."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairkit.base import ConstantFitWarning
from fairkit.model_selection import (
    BoundTunedClassifierCV,
    FairnessBoundWarning,
    gap_with_interval,
)
from fairkit.preprocessing import CorrelationRemover


def biased(n, seed, scale=1.0):
    rng = np.random.RandomState(seed)
    g = (rng.uniform(size=n) < 0.4).astype(int)
    x1 = rng.normal(size=n) + 1.0 * g
    x2 = rng.normal(size=n)
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.8, size=n) > 0.7).astype(int)
    return pd.DataFrame({"g": g, "x1": x1 * scale, "x2": x2 * scale}), y


def model():
    # CorrelationRemover's alpha moves the trade-off; the attribute is dropped from X
    return make_pipeline(CorrelationRemover(prot_attr="g", drop_prot_attr=True),
                         StandardScaler(), LogisticRegression())


ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]
GRID = {"correlationremover__alpha": ALPHAS}


def test_choice_matches_an_independent_out_of_fold_computation():
    X, y = biased(1200, 0)
    tuner = BoundTunedClassifierCV(model(), GRID, prot_attr="g", bound=0.1,
                                   confidence=None, cv=4).fit(X, y)
    # the same folds: StratifiedKFold on the (label, group) cells
    cells = y * 2 + X["g"].to_numpy()
    splits = list(StratifiedKFold(4).split(X, cells))
    acc, gap = [], []
    for a in ALPHAS:
        pred = cross_val_predict(model().set_params(correlationremover__alpha=a), X, y,
                                 cv=splits)
        acc.append(np.mean(pred == y))
        # the mean over folds of each held-out fold's gap
        gap.append(np.mean([demographic_parity_difference(
            y[test], pred[test], sensitive_features=X["g"].iloc[test])
            for _, test in splits]))
    np.testing.assert_allclose(tuner.cv_results_["score"], acc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tuner.cv_results_["gap"], gap, rtol=0, atol=1e-12)
    ok = np.asarray(gap) <= 0.1
    assert ok.any() and not ok.all()  # the bound really selects on this data
    expected = int(np.flatnonzero(ok)[np.argmax(np.asarray(acc)[ok])])
    assert tuner.best_index_ == expected
    assert tuner.best_params_ == {"correlationremover__alpha": ALPHAS[expected]}
    assert tuner.bound_met_
    # refitted on all rows with the chosen setting
    ref = model().set_params(correlationremover__alpha=ALPHAS[expected]).fit(X, y)
    np.testing.assert_array_equal(tuner.predict(X), ref.predict(X))
    np.testing.assert_allclose(tuner.predict_proba(X), ref.predict_proba(X))


def test_equalized_odds_gap_matches_fairlearn():
    X, y = biased(900, 1)
    tuner = BoundTunedClassifierCV(model(), GRID, prot_attr="g", bound=0.2,
                                   metric="equalized_odds_difference", confidence=None,
                                   cv=3).fit(X, y)
    splits = list(StratifiedKFold(3).split(X, y * 2 + X["g"].to_numpy()))
    for a, gap in zip(ALPHAS, tuner.cv_results_["gap"], strict=False):
        pred = cross_val_predict(model().set_params(correlationremover__alpha=a), X, y,
                                 cv=splits)
        assert gap == pytest.approx(np.mean([equalized_odds_difference(
            y[test], pred[test], sensitive_features=X["g"].iloc[test])
            for _, test in splits]), abs=1e-12)


def test_upper_limit_is_a_bootstrap_percentile_above_the_point():
    X, y = biased(1000, 2)
    tuner = BoundTunedClassifierCV(model(), GRID, prot_attr="g", bound=0.1,
                                   confidence=0.9, n_bootstrap=300, random_state=0,
                                   cv=3).fit(X, y)
    res = tuner.cv_results_
    assert np.all(res["gap_upper"] >= res["gap"] - 0.02)
    # judged at the upper limit, not the point estimate
    np.testing.assert_array_equal(res["meets_bound"], res["gap_upper"] <= 0.1)
    # the upper limit computed by hand: resample the rows of each held-out fold, average
    # the folds' gaps, take the 90th percentile
    splits = list(StratifiedKFold(3).split(X, y * 2 + X["g"].to_numpy()))
    pred = cross_val_predict(model().set_params(correlationremover__alpha=1.0), X, y,
                             cv=splits)
    rng = np.random.RandomState(5)
    g = X["g"].to_numpy()
    boot = []
    for _ in range(2000):
        fold_gaps = []
        for _, test in splits:
            i = test[rng.randint(0, len(test), len(test))]
            fold_gaps.append(abs(pred[i][g[i] == 1].mean() - pred[i][g[i] == 0].mean()))
        boot.append(np.mean(fold_gaps))
    assert res["gap_upper"][-1] == pytest.approx(np.quantile(boot, 0.9), abs=0.006)


def test_bound_holds_on_held_out_rows():
    # tuned on one sample, measured on a fresh one from the same source, three seeds
    for seed in (3, 4, 5):
        X, y = biased(5000, seed)
        X_new, y_new = biased(6000, seed + 100)
        tuner = BoundTunedClassifierCV(model(), GRID, prot_attr="g", bound=0.06,
                                       random_state=0, cv=3).fit(X, y)
        pred = tuner.predict(X_new)
        held_out = demographic_parity_difference(y_new, pred, sensitive_features=X_new["g"])
        unmitigated = model().set_params(correlationremover__alpha=0.0).fit(X, y)
        base_gap = demographic_parity_difference(
            y_new, unmitigated.predict(X_new), sensitive_features=X_new["g"])
        assert tuner.bound_met_
        assert base_gap > 0.15  # the bound is active on this data
        assert held_out <= 0.06


def test_unreachable_bound_warns_and_keeps_the_closest():
    X, y = biased(600, 6)
    grid = {"correlationremover__alpha": [0.0, 0.1]}
    with pytest.warns(FairnessBoundWarning, match="no setting of param_grid meets bound=0.01"):
        tuner = BoundTunedClassifierCV(model(), grid, prot_attr="g", bound=0.01,
                                       cv=3).fit(X, y)
    assert not tuner.bound_met_
    assert tuner.best_index_ == int(np.argmin(tuner.cv_results_["gap_upper"]))


def test_constant_pick_warns():
    X, y = biased(600, 7)
    # a huge penalty makes the logistic model predict the majority class everywhere
    est = make_pipeline(StandardScaler(), LogisticRegression(C=1e-9))
    with pytest.warns(ConstantFitWarning, match="constant predictor meets any parity bound"):
        tuner = BoundTunedClassifierCV(est, None, prot_attr="g", bound=0.05, cv=3).fit(X, y)
    assert tuner.cv_results_["positive_rate"][0] in (0.0, 1.0)


def test_routed_sensitive_features_give_the_same_choice():
    X, y = biased(800, 8)
    g = X["g"].to_numpy()
    by_column = BoundTunedClassifierCV(model(), GRID, prot_attr="g", bound=0.1,
                                       confidence=None, cv=3).fit(X, y)
    routed_model = make_pipeline(StandardScaler(), LogisticRegression())
    routed = BoundTunedClassifierCV(routed_model, {"logisticregression__C": [1.0, 1e-3]},
                                    bound=0.5, confidence=None, cv=3)
    routed.fit(X.drop(columns="g"), y, sensitive_features=g)
    assert list(routed.groups_) == [0, 1] == list(by_column.groups_)


def test_min_group_size_leaves_tiny_groups_out():
    X, y = biased(900, 9)
    X = X.assign(g=np.where(np.arange(len(X)) < 6, 2, X["g"]))
    tuner = BoundTunedClassifierCV(model(), {"correlationremover__alpha": [1.0]},
                                   prot_attr="g", bound=0.5, min_group_size=30,
                                   confidence=None, cv=3)
    # CorrelationRemover needs numeric groups only; the 3-group attribute is fine
    tuner.fit(X, y)
    assert tuner.gap_groups_ == [0, 1]


@pytest.mark.parametrize("params, match", [
    ({"bound": -0.1}, "bound"),
    ({"bound": 1.5}, "bound"),
    ({"metric": "accuracy"}, "metric"),
    ({"confidence": 1.0}, "confidence"),
    ({"scoring": "f1"}, "scoring"),
    ({"min_group_size": 0}, "min_group_size"),
    ({"min_group_size": 10_000}, "min_group_size=10000"),
])
def test_bad_parameters_name_themselves(params, match):
    X, y = biased(300, 10)
    with pytest.raises(ValueError, match=match):
        BoundTunedClassifierCV(model(), GRID, prot_attr="g", **params).fit(X, y)


def test_sample_weight_is_refused_by_name():
    X, y = biased(300, 11)
    with pytest.raises(ValueError, match="sample_weight"):
        BoundTunedClassifierCV(model(), GRID, prot_attr="g").fit(
            X, y, sample_weight=np.ones(len(y)))


def test_gap_with_interval_on_hand_counts():
    # group 0: 100 rows, 30 predicted favourable; group 1: 100 rows, 60: SPD = 0.3
    C = np.zeros((2, 2, 2))
    C[0, 0, 1], C[0, 0, 0] = 30, 70
    C[1, 0, 1], C[1, 0, 0] = 60, 40
    gap, lo, hi = gap_with_interval(C, "statistical_parity_difference", confidence=0.95,
                                    n_bootstrap=4000, random_state=0)
    assert gap == pytest.approx(0.3)
    # normal approximation: sd = sqrt(.3*.7/100 + .6*.4/100) = 0.0671; one-sided 95%
    # limits at 0.3 -/+ 1.645 * 0.0671 (the multinomial resample lets group sizes vary,
    # which widens it slightly)
    assert lo == pytest.approx(0.3 - 1.645 * 0.0671, abs=0.015)
    assert hi == pytest.approx(0.3 + 1.645 * 0.0671, abs=0.015)
    # a ratio's distance from parity: 1 - 0.3/0.6 = 0.5
    assert gap_with_interval(C, "disparate_impact_ratio", confidence=None)[0] == \
        pytest.approx(0.5)
