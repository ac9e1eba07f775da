"""Tests for fairkit.postprocessing._calibrated_equalized_odds (Pleiss et al. 2017).

Mixing rates are checked on a case worked out by hand and against AIF360's sklearn
CalibratedEqualizedOdds; calibration and the equalised cost are measured on the output.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from fairkit.postprocessing import CalibratedEqualizedOdds
from fairkit.postprocessing._calibrated_equalized_odds import CostUnreachableWarning


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """Test double: column 1 of X is the probability of class 1."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        s = np.asarray(X, dtype=float)[:, 1]
        return np.c_[1 - s, s]

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


def test_mix_rates_by_hand():
    # group a: y 0 0 1 1, scores .2 .4 .6 .8 -> GFPR .3, base rate .5 (trivial GFPR .5)
    # group b: y 0 0 0 1, scores .5 .5 .2 .9 -> GFPR .4, base rate .25
    # target .4: alpha_a = (.4 - .3) / (.5 - .3) = .5, alpha_b = 0
    X = np.c_[[0, 0, 0, 0, 1, 1, 1, 1], [.2, .4, .6, .8, .5, .5, .2, .9]]
    y = np.array([0, 0, 1, 1, 0, 0, 0, 1])
    ceo = CalibratedEqualizedOdds(ScoreColumn().fit(X, y), prot_attr=0, prefit=True,
                                  cost_constraint="fpr").fit(X, y)
    np.testing.assert_allclose(ceo.costs_, [0.3, 0.4])
    np.testing.assert_allclose(ceo.base_rates_, [0.5, 0.25])
    np.testing.assert_allclose(ceo.mix_rates_, [0.5, 0.0])


def calibrated_data(n=40000, seed=0):
    # scores drawn per group, labels ~ Bernoulli(score): calibrated within each group.
    # Beta(a, b) scores give GFPR = a / (a + b + 1) and base rate a / (a + b): group 0
    # (uniform) has GFPR 1/3 and group 1 (Beta(4, 4)) 4/9, both base rates 1/2 >= 4/9, so
    # group 0 can be raised to group 1's cost (alpha = (4/9 - 1/3) / (1/2 - 1/3) = 2/3).
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    s = np.where(a == 0, rng.beta(1, 1, n), rng.beta(4, 4, n))
    y = (rng.random(n) < s).astype(int)
    return np.c_[a, s], y


@pytest.mark.parametrize("cost", ["fpr", "fnr", "weighted"])
def test_mix_rates_match_aif360(cost):
    from aif360.sklearn.postprocessing import CalibratedEqualizedOdds as AifCEO

    X, y = calibrated_data(n=5000, seed=1)
    ours = CalibratedEqualizedOdds(ScoreColumn().fit(X, y), prot_attr=0, prefit=True,
                                   cost_constraint=cost).fit(X, y)
    idx = pd.Index(X[:, 0], name="a")
    probas = pd.DataFrame(np.c_[1 - X[:, 1], X[:, 1]], index=idx)
    aif = AifCEO(prot_attr="a", cost_constraint=cost).fit(probas, pd.Series(y, index=idx))
    np.testing.assert_allclose(ours.mix_rates_, aif.mix_rates_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.base_rates_, aif.base_rates_, rtol=1e-12)


def _gfpr_gfnr(p, y, a):
    return np.array([[p[(a == g) & (y == 0)].mean(), (1 - p[(a == g) & (y == 1)]).mean()]
                     for g in (0, 1)])


def _calibration_error(p, y, bins=10):
    # mean |mean(y) - mean(p)| over equal-width score bins, weighted by bin size
    edges = np.minimum((p * bins).astype(int), bins - 1)
    err = 0.0
    for b in np.unique(edges):
        m = edges == b
        err += m.mean() * abs(y[m].mean() - p[m].mean())
    return err


@pytest.mark.parametrize("cost, col", [("fpr", 0), ("fnr", 1)])
def test_keeps_calibration_and_equalises_cost(cost, col):
    X, y = calibrated_data()
    a = X[:, 0]
    before = _gfpr_gfnr(X[:, 1], y, a)
    assert abs(before[0, col] - before[1, col]) > 0.08  # population gap 4/9 - 1/3
    ceo = CalibratedEqualizedOdds(ScoreColumn().fit(X, y), prot_attr=0, prefit=True,
                                  cost_constraint=cost, random_state=0).fit(X, y)
    p = ceo.predict_proba(X)[:, 1]
    after = _gfpr_gfnr(p, y, a)
    assert abs(after[0, col] - after[1, col]) < 0.01
    for g in (0, 1):
        m = a == g
        assert _calibration_error(X[m, 1], y[m]) < 0.02
        assert _calibration_error(p[m], y[m]) < 0.02
    # only the lower-cost group 0 is mixed, close to the population value 2/3
    assert ceo.mix_rates_[1] == 0 and ceo.mix_rates_[0] == pytest.approx(2 / 3, abs=0.05)
    np.testing.assert_array_equal(ceo.predict(X), (p >= 0.5).astype(int))


def test_with_fitted_model_and_pickle():
    X, y = calibrated_data(n=3000, seed=2)
    ceo = CalibratedEqualizedOdds(LogisticRegression(), prot_attr=0, random_state=3).fit(X, y)
    again = pickle.loads(pickle.dumps(ceo))
    np.testing.assert_array_equal(again.predict_proba(X), ceo.predict_proba(X))
    b = CalibratedEqualizedOdds(LogisticRegression(), random_state=3).fit(
        X, y, sensitive_features=X[:, 0])
    np.testing.assert_allclose(b.mix_rates_, ceo.mix_rates_)


def test_three_groups_raised_to_highest_cost():
    rng = np.random.default_rng(4)
    n = 30000
    a = rng.integers(0, 3, n)
    s = np.choose(a, [rng.beta(1, 1, n), rng.beta(4, 4, n), rng.beta(2, 2, n)])
    y = (rng.random(n) < s).astype(int)
    X = np.c_[a, s]
    ceo = CalibratedEqualizedOdds(ScoreColumn().fit(X, y), prot_attr=0, prefit=True,
                                  cost_constraint="fpr").fit(X, y)
    expected = (1 - ceo.mix_rates_) * ceo.costs_ + ceo.mix_rates_ * ceo.trivial_costs_
    np.testing.assert_allclose(expected, ceo.costs_.max())
    # the trivial predictor's GFPR is the base rate, counted directly
    np.testing.assert_allclose(ceo.trivial_costs_, [y[a == g].mean() for g in range(3)])


def test_bad_input():
    X, y = calibrated_data(n=500, seed=5)
    with pytest.raises(ValueError, match="no predict_proba"):
        CalibratedEqualizedOdds(LinearSVC(), prot_attr=0).fit(X, y)
    # one group with one label leaves one group for the rule: too few to compare
    n0 = int((X[:, 0] == 0).sum())
    with pytest.raises(ValueError, match=rf"only 1 group\(s\) have both labels.*0\.0 "
                                         rf"\(label 0: {n0} row\(s\), label 1: 0 row\(s\)\)"):
        CalibratedEqualizedOdds(LogisticRegression(), prot_attr=0).fit(
            X, np.where(X[:, 0] == 0, 0, y))
    with pytest.raises(ValueError, match="Only binary classification"):
        CalibratedEqualizedOdds(LogisticRegression(), prot_attr=0).fit(X, np.arange(500) % 3)
    with pytest.raises(ValueError, match="at least 2"):
        CalibratedEqualizedOdds(LogisticRegression(), prot_attr=0).fit(
            np.c_[np.ones(500), X[:, 1]], y)
    with pytest.raises(ValueError, match="cost_constraint"):
        CalibratedEqualizedOdds(LogisticRegression(), prot_attr=0, cost_constraint="tpr").fit(
            X, y)
    ceo = CalibratedEqualizedOdds(LogisticRegression(), prot_attr=0).fit(X, y)
    with pytest.raises(ValueError, match="not seen during fit"):
        ceo.predict(np.c_[np.full(500, 7.0), X[:, 1]])


def test_unreachable_cost_warns_and_caps_at_one():
    # group 1's trivial FNR (1 - base rate = .2) is below group 0's FNR: cannot be reached
    X = np.c_[[0] * 4 + [1] * 5, [.1, .2, .3, .9, .9, .9, .9, .9, .1]]
    y = np.array([0, 1, 1, 1, 1, 1, 1, 1, 0])
    # group 0: y 0 1 1 1, scores .1 .2 .3 .9 -> GFNR (.8 + .7 + .1) / 3 = .5333
    # group 1: y 1 1 1 1 0, scores .9 x4, .1 -> GFNR .1, trivial 1 - .8 = .2
    # the gap falls from .5333 - .1 = .4333 to .5333 - .2 = .3333 (23% less)
    with pytest.warns(CostUnreachableWarning,
                      match=r"\[1\.0\] cannot reach the highest fnr cost 0\.5333.*cost: 0\.2\).*"
                            r"rate is set to 1, .*from 0\.4333 to 0\.3333 \(23% less\)"):
        ceo = CalibratedEqualizedOdds(ScoreColumn().fit(X, y), prot_attr=0, prefit=True,
                                      cost_constraint="fnr").fit(X, y)
    np.testing.assert_allclose(ceo.mix_rates_, [0.0, 1.0])
    assert issubclass(CostUnreachableWarning, UserWarning)


def test_trivial_predictor_cheaper_than_the_model_is_not_mixed_in():
    # group 1's model is worse than its base rate: y 1 1 0 0, scores .1 .2 .9 .8 ->
    # GFNR (.9 + .8) / 2 = .85, trivial GFNR 1 - .5 = .5 < .85: mixing would LOWER its
    # cost. Group 0: y 0 1 1 1, scores .1 .2 .3 .9 -> GFNR .5333 < .85, the target, and its
    # trivial GFNR 1 - .75 = .25 is lower still (gain < 0): rate 0, not 1 (1 would move
    # the cost from .5333 to .25, away from .85); the gap stays .85 - .5333 = .3167.
    X = np.c_[[0] * 4 + [1] * 4, [.1, .2, .3, .9, .1, .2, .9, .8]]
    y = np.array([0, 1, 1, 1, 1, 1, 0, 0])
    with pytest.warns(CostUnreachableWarning, match=r"\[0\.0\] cannot reach.*rate is set to "
                                                    r"0, .*from 0\.3167 to 0\.3167"):
        ceo = CalibratedEqualizedOdds(ScoreColumn().fit(X, y), prot_attr=0, prefit=True,
                                      cost_constraint="fnr").fit(X, y)
    np.testing.assert_allclose(ceo.costs_, [1.6 / 3, 0.85])
    np.testing.assert_allclose(ceo.trivial_costs_, [0.25, 0.5])
    np.testing.assert_allclose(ceo.mix_rates_, [0.0, 0.0])
