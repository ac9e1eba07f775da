"""A fit that ends constant warns (``fairkit.base.warn_if_constant``), and one that learns
does not: synthetic data of several sizes, scalings and class balances."""

import contextlib
import warnings

import numpy as np
import pytest
from fairlearn.reductions import DemographicParity, GridSearch
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from fairkit.base import ConstantFitWarning, warn_if_constant
from fairkit.inprocessing import (
    DCovRegularizedClassifier,
    DCovRegularizedRegressor,
    ExponentiatedGradientReduction,
    GridSearchReduction,
    PrejudiceRemover,
    SEPConstrainedClassifier,
)
from fairkit.preprocessing import LearnedFairRepresentations


def _majority(y):
    return max(np.mean(y), 1 - np.mean(y))


@contextlib.contextmanager
def _no_constant_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFitWarning)
        yield


# ---------------------------------------------------------------------------------------
# the helper itself, on hand-made numbers
# ---------------------------------------------------------------------------------------

def test_helper_constant_class_reports_accuracy_and_majority_rate():
    est = LogisticRegression(C=3.0)
    with pytest.warns(ConstantFitWarning) as rec:
        assert warn_if_constant(est, [0.3, 0.3, 0.3], y=[0, 1, 1], predictions=[1, 1, 1],
                                params=("C",), advice="Try X.")
    msg = str(rec[0].message)
    # 2 of 3 right; the majority class (1) holds 2 of 3 rows
    assert msg.startswith("LogisticRegression: the fit ended with a constant model")
    assert "predicts class 1 for every training row" in msg
    assert "Training accuracy 0.6667 against a majority-class rate of 0.6667" in msg
    assert "C=3.0" in msg and msg.endswith("Try X.")


def test_helper_weights_enter_accuracy_and_majority_rate():
    # weights 2, 1, 1: accuracy (1 + 1) / 4 = 0.5, class 0 weighs 2 of 4 -> majority 0.5
    with pytest.warns(ConstantFitWarning, match="accuracy 0.5000 against a majority-class "
                                                 "rate of 0.5000"):
        warn_if_constant(LogisticRegression(), y=[0, 1, 1], predictions=[1, 1, 1],
                         sample_weight=[2, 1, 1])


def test_helper_relative_spread_threshold():
    est = LogisticRegression()
    base = np.full(5, 0.7)
    with pytest.warns(ConstantFitWarning, match="spread of its training scores is 1e-12"):
        warn_if_constant(est, base + np.r_[0, 0, 0, 0, 1e-12])
    with _no_constant_warning():
        # 1e-6 / 0.7 is far above 1e-9: not constant
        assert not warn_if_constant(est, base + np.r_[0, 0, 0, 0, 1e-6])
        # two predicted classes: not constant
        assert not warn_if_constant(est, y=[0, 1, 1], predictions=[0, 1, 1])


def test_helper_silent_when_the_target_is_constant():
    est = LogisticRegression()
    with _no_constant_warning():
        assert not warn_if_constant(est, [0.9, 0.9], y=[1, 1], predictions=[1, 1])
        assert not warn_if_constant(est, [2.0, 2.0], y=[2.0, 2.0])


def test_helper_regression_reports_value_and_mean():
    # mean of y = (1 + 2 + 4.5) / 3 = 2.5
    with pytest.warns(ConstantFitWarning, match=r"predicts 2.5 for every training row "
                                                 r"\(mean of y: 2.5\)"):
        warn_if_constant(LogisticRegression(), [2.5, 2.5, 2.5], y=[1.0, 2.0, 4.5])


# ---------------------------------------------------------------------------------------
# dCov: one feature, itself a proxy of the group, so a large lam can only zero its weight
# (with several proxies their contrasts are independent of the group and a large lam
# keeps them: the fit starts from the unpenalised GLM and does not end constant)
# ---------------------------------------------------------------------------------------

def _one_proxy_data(n, scale, pos=0.5, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = 1.5 * a + rng.normal(size=n)
    logit = x - 0.75 + np.log(pos / (1 - pos))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.c_[a, x * scale], y, x + rng.normal(size=n)


def _proxy_data(n, scale, pos=0.5, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = 1.5 * a[:, None] + rng.normal(size=(n, 3))
    logit = x.sum(1) - 2.25 + np.log(pos / (1 - pos))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.c_[a, x * scale], y, x.sum(1) + rng.normal(size=n)


DCOV_CASES = [(300, 1.0, 0.5), (3000, 1.0, 0.5), (1000, 50.0, 0.5), (1000, 1.0, 0.25)]


@pytest.mark.parametrize("n, scale, pos", DCOV_CASES)
def test_dcov_classifier_large_lam_warns_constant(n, scale, pos):
    X, y, _ = _one_proxy_data(n, scale, pos)
    with pytest.warns(ConstantFitWarning, match=r"DCovRegularizedClassifier.*lam=100") as rec:
        m = DCovRegularizedClassifier(prot_attr=0, lam=100, random_state=0).fit(X, y)
    assert len(np.unique(m.predict(X))) == 1
    # the warning's accuracy is the majority-class rate, counted from y by hand
    assert m.score(X, y) == pytest.approx(_majority(y))
    assert f"majority-class rate of {_majority(y):.4f}" in str(rec[0].message)


@pytest.mark.parametrize("n, scale, pos", DCOV_CASES)
def test_dcov_classifier_lam0_learns_without_warning(n, scale, pos):
    X, y, _ = _proxy_data(n, scale, pos)
    with _no_constant_warning():
        m = DCovRegularizedClassifier(prot_attr=0, lam=0, random_state=0).fit(X, y)
    # y depends on the features with log-odds slope 1 per unit: far above majority
    assert m.score(X, y) > _majority(y) + 0.2


def test_dcov_regressor_warns_at_large_lam_only():
    X, _, yr = _one_proxy_data(1000, 1.0)
    with pytest.warns(ConstantFitWarning, match=r"DCovRegularizedRegressor.*lam=100"):
        m = DCovRegularizedRegressor(prot_attr=0, lam=100, random_state=0).fit(X, yr)
    assert np.ptp(m.predict(X)) < 1e-9 * np.abs(m.predict(X)).max()
    with _no_constant_warning():
        DCovRegularizedRegressor(prot_attr=0, lam=0, random_state=0).fit(X, yr)


# ---------------------------------------------------------------------------------------
# LFR: an easy problem (label shifts both features by 3 sd); the group is independent
# ---------------------------------------------------------------------------------------

def _easy_data(n, scale, pos, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    y = (rng.random(n) < pos).astype(int)
    x = 3.0 * y[:, None] + rng.normal(size=(n, 2))
    return np.c_[a, x * scale], y


LFR_CASES = [(300, 0.1, 0.5), (300, 0.1, 0.3), (400, 1.0, 0.5), (400, 0.1, 0.3)]


@pytest.mark.parametrize("n, scale, pos", LFR_CASES)
def test_lfr_aif360_weights_collapse_and_warn(n, scale, pos):
    # AIF360's weights on unscaled features (the defaults before normalize=True)
    X, y = _easy_data(n, scale, pos)
    with pytest.warns(ConstantFitWarning, match=r"LearnedFairRepresentations.*"
                                                 r"fairness_weight=50\.0"):
        m = LearnedFairRepresentations(prot_attr=0, priv_group=1, reconstruct_weight=0.01,
                                       fairness_weight=50.0, normalize=False,
                                       random_state=0).fit(X, y)
    assert len(np.unique(m.predict(X))) == 1


@pytest.mark.parametrize("n, scale, pos", [(300, 0.1, 0.5), (400, 1.0, 0.5),
                                           (300, 1.0, 0.3), (800, 10.0, 0.3)])
def test_lfr_without_fairness_term_learns_without_warning(n, scale, pos):
    X, y = _easy_data(n, scale, pos)
    with _no_constant_warning():
        m = LearnedFairRepresentations(prot_attr=0, priv_group=1, fairness_weight=0,
                                       random_state=0).fit(X, y)
    # the classes are 3 sd apart: a threshold gets ~0.98; majority is at most 0.7
    assert m.score(X, y) > 0.9


def test_lfr_small_feature_spread_collapses_even_without_fairness_term():
    # features of spread ~0.1: all distances to the prototypes are small, the memberships
    # nearly uniform, and the fit stops at the majority class (0.74 of the rows)
    # (normalize=False: unscaled features, AIF360's reconstruction weight)
    X, y = _easy_data(300, 0.1, 0.3)
    with pytest.warns(ConstantFitWarning, match="fairness_weight=0.*standardise"):
        m = LearnedFairRepresentations(prot_attr=0, priv_group=1, fairness_weight=0,
                                       reconstruct_weight=0.01, normalize=False,
                                       random_state=0).fit(X, y)
    assert _majority(y) == pytest.approx(0.74)
    assert m.score(X, y) == pytest.approx(0.74)


# ---------------------------------------------------------------------------------------
# SEP, PrejudiceRemover: one feature, itself a proxy of the group
# ---------------------------------------------------------------------------------------

def _one_proxy(n=600, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = 2.0 * a + rng.normal(size=n)
    y = (x + rng.normal(size=n) > 1).astype(int)
    return np.c_[a, x], y


def test_sep_epsilon0_on_a_proxy_is_constant_and_warns():
    # equal mean scores of the two groups with one feature that differs by 2 in mean
    # forces its weight to 0: the decision is the intercept alone
    X, y = _one_proxy()
    with pytest.warns(ConstantFitWarning, match=r"SEPConstrainedClassifier.*epsilon=0"):
        m = SEPConstrainedClassifier(prot_attr=0, priv_group=1, epsilon=0,
                                     bound_unit="score",
                                     constraint="demographic_parity").fit(X, y)
    assert m.score(X, y) == pytest.approx(_majority(y))
    with _no_constant_warning():
        m = SEPConstrainedClassifier(prot_attr=0, priv_group=1, epsilon=np.inf,
                                     constraint="demographic_parity").fit(X, y)
    assert m.score(X, y) > _majority(y) + 0.2


@pytest.mark.parametrize("eta", [0.0, 1.0, 100.0])
def test_prejudice_remover_that_learns_does_not_warn(eta):
    X, y = _one_proxy()
    with _no_constant_warning():
        m = PrejudiceRemover(prot_attr=0, eta=eta).fit(X, y)
    assert len(np.unique(m.predict(X))) == 2


# ---------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------

def test_reductions_with_a_constant_learner_warn():
    X, y = _one_proxy()
    dummy = DummyClassifier(strategy="most_frequent")
    with pytest.warns(ConstantFitWarning, match="ExponentiatedGradientReduction.*every row"):
        ExponentiatedGradientReduction(dummy, prot_attr=0, max_iter=5,
                                       random_state=0).fit(X, y)
    with pytest.warns(ConstantFitWarning, match="GridSearchReduction.*every training row"):
        GridSearchReduction(dummy, prot_attr=0, grid_size=5).fit(X, y)


def test_reductions_that_learn_do_not_warn_constant():
    X, y = _one_proxy()
    with _no_constant_warning():
        ExponentiatedGradientReduction(LogisticRegression(), prot_attr=0, max_iter=10,
                                       difference_bound=0.2, random_state=0).fit(X, y)
        GridSearchReduction(LogisticRegression(), prot_attr=0, grid_size=10).fit(X, y)


def _two_features(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + a[:, None]
    y = (x.sum(1) + rng.normal(size=n) > 1).astype(int)
    return np.c_[a, x], y, a


def test_grid_search_constraint_weight_range_matches_fairlearn_selection():
    X, y, a = _two_features()
    gs = GridSearchReduction(LogisticRegression(), prot_attr=0, constraint_weight=0.5,
                             grid_size=10).fit(X, y)
    lo, hi = gs.constraint_weight_range_
    assert 0.0 < lo < 0.5 < hi <= 1.0
    # fairlearn's own GridSearch on the same data (drop_prot_attr=False: the learner sees
    # the group column too) and grid, refitted at weights either side of the
    # break point: inside the interval the same grid point, below it another one
    def best(w):
        return GridSearch(LogisticRegression(), DemographicParity(), constraint_weight=w,
                          grid_size=10).fit(X, y, sensitive_features=a).best_idx_
    assert best(lo + 1e-3) == best(0.5) == gs.reduction_.best_idx_
    assert best(lo - 1e-3) != gs.reduction_.best_idx_
    # the break point is where (1 - w) e + w d ties for the two predictors
    red = gs.reduction_
    e, d = np.asarray(red.objectives_), red.gammas_.max(axis=0).to_numpy()
    j = best(lo - 1e-3)
    b = red.best_idx_
    assert lo == pytest.approx((e[b] - e[j]) / ((e[b] - e[j]) + (d[j] - d[b])))


def test_grid_search_warns_when_constraint_weight_cannot_act():
    # 3 grid points (multipliers -2, 0, 2): both non-zero ones overshoot, so the
    # unconstrained predictor has the lowest error and the lowest disparity
    X, y, a = _two_features()
    with pytest.warns(UserWarning, match="constraint_weight=0.5 cannot act"):
        gs = GridSearchReduction(LogisticRegression(), prot_attr=0, grid_size=3).fit(X, y)
    assert gs.constraint_weight_range_ == (0.0, 1.0)
    picks = {GridSearch(LogisticRegression(), DemographicParity(), constraint_weight=w,
                        grid_size=3).fit(X, y, sensitive_features=a).best_idx_
             for w in np.linspace(0, 1, 11)}
    assert picks == {gs.reduction_.best_idx_}
