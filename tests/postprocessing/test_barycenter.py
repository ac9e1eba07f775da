"""WassersteinFairRegressor: the barycenter map by hand, distributions against scipy, the
cost against the 2-Wasserstein theory, and the estimator contract."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
import sklearn.compose
import sklearn.preprocessing
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from fairkit._protected import Binned
from fairkit.postprocessing._barycenter import WassersteinFairRegressor


def _identity_model(values):
    """A fitted regressor whose prediction is column 0 of X (coefficient 1, intercept 0)."""
    v = np.asarray(values, dtype=float)
    return LinearRegression().fit(v[:, None], v)


def _prefit(values, groups, **kw):
    x = np.asarray(values, dtype=float)
    est = WassersteinFairRegressor(_identity_model(x), prefit=True, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny groups
        return est.fit(x[:, None], x, sensitive_features=groups)


def _shifted(n, seed=0, shifts=(0.0, 1.0, 2.5), probs=None, scale=1.0):
    """y = x + group shift + noise; the feature x carries the group (x ~ N(shift, 1))."""
    rng = np.random.default_rng(seed)
    s = rng.choice(len(shifts), size=n, p=probs)
    x = rng.normal(size=n) * scale + np.asarray(shifts)[s]
    y = x + rng.normal(scale=0.5, size=n)
    return np.c_[s, x], y, s


# -- the map by hand -------------------------------------------------------------------
def test_hand_example_unequal_groups():
    # group 0: 1, 2, 3, 4 (p = 2/3); group 1: 10, 20 (p = 1/3).
    # F_0 at 1, 2, 3, 4 is 1/4, 1/2, 3/4, 1; F_1 at 10, 20 is 1/2, 1.
    # Q_0(u) = min{t : F_0(t) >= u}: Q_0(1/4) = 1, Q_0(1/2) = 2, Q_0(3/4) = 3, Q_0(1) = 4;
    # Q_1(1/4) = Q_1(1/2) = 10, Q_1(3/4) = Q_1(1) = 20. So
    #   g(1) = 2/3 * 1 + 1/3 * 10 = 4,    g(2) = 2/3 * 2 + 10/3 = 14/3,
    #   g(3) = 2/3 * 3 + 20/3 = 26/3,    g(4) = 8/3 + 20/3 = 28/3,
    #   group 1: g(10) = 2/3 * Q_0(1/2) + 10/3 = 14/3, g(20) = 8/3 + 20/3 = 28/3.
    est = _prefit([1, 2, 3, 4, 10, 20], [0, 0, 0, 0, 1, 1])
    np.testing.assert_allclose(est.group_weights_, [2 / 3, 1 / 3])
    pred = est.predict(np.c_[[1, 2, 3, 4, 10, 20.0]], sensitive_features=[0, 0, 0, 0, 1, 1])
    np.testing.assert_allclose(pred, [4, 14 / 3, 26 / 3, 28 / 3, 14 / 3, 28 / 3])
    # new predictions: 0 is below group 0 (F_0 = 0, Q(0) = each group's minimum: 2/3 + 10/3),
    # 2.5 has F_0 = 1/2, 25 has F_0 = 1 (above all), 15 in group 1 has F_1 = 1/2
    new = est.predict(np.c_[[0, 2.5, 25, 15.0]], sensitive_features=[0, 0, 0, 1])
    np.testing.assert_allclose(new, [4, 14 / 3, 28 / 3, 14 / 3])
    # the squared move of the six fitting predictions, averaged: the barycenter cost
    moves = np.array([4 - 1, 14 / 3 - 2, 26 / 3 - 3, 28 / 3 - 4, 14 / 3 - 10, 28 / 3 - 20])
    assert est.barycenter_cost_ == pytest.approx(np.mean(moves ** 2))


def test_hand_example_partial_fairness():
    # equal groups: k-th of each group -> mean of the k-th: (1+5)/2 = 3, (3+9)/2 = 6
    est = _prefit([1, 3, 5, 9], [0, 0, 1, 1], alpha=0.25)
    pred = est.predict(np.c_[[1, 3, 5, 9.0]], sensitive_features=[0, 0, 1, 1])
    np.testing.assert_allclose(pred, [0.75 * 1 + 0.25 * 3, 0.75 * 3 + 0.25 * 6,
                                      0.75 * 5 + 0.25 * 3, 0.75 * 9 + 0.25 * 6])


def test_weighted_ecdf_by_hand():
    # group 0: 1 (weight 3), 2 (weight 1) -> F_0(1) = 3/4; group 1: 5, 6 (weight 1 each).
    # p = (4/6, 2/6). Q_1(3/4) = 6, so g(1) = 4/6 * 1 + 2/6 * 6 = 8/3;
    # g(2): F_0 = 1 -> 4/6 * 2 + 2/6 * 6 = 10/3; g(5): F_1 = 1/2, Q_0(1/2) = 1 -> 4/6 + 5/3.
    x = np.array([1, 2, 5, 6.0])
    est = WassersteinFairRegressor(_identity_model(x), prefit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x[:, None], x, sensitive_features=[0, 0, 1, 1], sample_weight=[3, 1, 1, 1])
    np.testing.assert_allclose(est.group_weights_, [4 / 6, 2 / 6])
    pred = est.predict(x[:, None], sensitive_features=[0, 0, 1, 1])
    np.testing.assert_allclose(pred, [8 / 3, 10 / 3, 4 / 6 + 5 / 3, 10 / 3])


# -- distributions after the map ---------------------------------------------------------
def test_full_fairness_equal_groups_makes_training_distributions_identical():
    X, y, s = _shifted(1200, shifts=(0.0, 2.0))
    keep = np.r_[np.flatnonzero(s == 0)[:500], np.flatnonzero(s == 1)[:500]]
    X, y, s = X[keep], y[keep], s[keep]
    model = LinearRegression().fit(X, y)
    est = WassersteinFairRegressor(model, prot_attr=0, prefit=True).fit(X, y)
    pred = est.predict(X)
    before = model.predict(X)
    assert ks_2samp(before[s == 0], before[s == 1]).statistic > 0.5
    assert ks_2samp(pred[s == 0], pred[s == 1]).statistic == 0.0
    assert wasserstein_distance(pred[s == 0], pred[s == 1]) == pytest.approx(0, abs=1e-12)


def test_full_fairness_unequal_groups_up_to_discretisation():
    X, y, s = _shifted(900, seed=1, probs=(0.6, 0.3, 0.1))
    model = LinearRegression().fit(X, y)
    est = WassersteinFairRegressor(model, prot_attr=0, prefit=True).fit(X, y)
    pred = est.predict(X)
    n_min = np.bincount(s).min()
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        # the map sends the k-th of n_s to level k / n_s: the groups' ECDFs differ by less
        # than one step of the smaller group
        assert ks_2samp(pred[s == a], pred[s == b]).statistic <= 1.0 / n_min + 1e-12


@pytest.mark.parametrize("n, probs", [(600, (1 / 3, 1 / 3, 1 / 3)),
                                      (3000, (0.7, 0.2, 0.1)),
                                      (20000, (0.5, 0.3, 0.2))])
def test_held_out_ks_drops(n, probs):
    X, y, s = _shifted(2 * n, seed=2, probs=probs)
    tr, te = slice(0, n), slice(n, None)
    est = WassersteinFairRegressor(Ridge(), prot_attr=0).fit(X[tr], y[tr])
    pred, base = est.predict(X[te]), est.estimator_.predict(X[te])
    st = s[te]
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        na, nb = (st == a).sum(), (st == b).sum()
        # the sampling noise of a KS statistic of two samples of one distribution, plus
        # that of the fitted ECDFs (about the same again)
        noise = 2 * 1.36 * np.sqrt((na + nb) / (na * nb))
        assert ks_2samp(base[st == a], base[st == b]).statistic > 0.35
        assert ks_2samp(pred[st == a], pred[st == b]).statistic < noise


def test_continuous_attribute_binned():
    rng = np.random.default_rng(3)
    n = 2000
    age = rng.uniform(18, 80, n)
    x = rng.normal(size=n)
    y = x + 0.05 * age + rng.normal(scale=0.3, size=n)
    X = pd.DataFrame({"age": age, "x": x})
    with pytest.raises(ValueError, match="continuous"):
        WassersteinFairRegressor(LinearRegression(), prot_attr="age").fit(X, y)
    est = WassersteinFairRegressor(LinearRegression(), prot_attr=Binned("age", [30, 50]))
    pred = est.fit(X, y).predict(X)
    assert est.groups_ == ["<30", "[30, 50)", ">=50"]
    band = np.digitize(age, [30, 50])
    base = est.estimator_.predict(X)
    assert ks_2samp(base[band == 0], base[band == 2]).statistic > 0.5
    assert ks_2samp(pred[band == 0], pred[band == 2]).statistic < 0.1


def test_intersectional_groups():
    rng = np.random.default_rng(4)
    n = 2000
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    x = rng.normal(size=n) + a + 2 * b
    y = x + rng.normal(size=n)
    X = np.c_[a, b, x]
    est = WassersteinFairRegressor(LinearRegression(), prot_attr=[0, 1], prefit=False,
                                   cv=None).fit(X, y)
    assert len(est.groups_) == 4
    pred = est.predict(X)
    cells = 2 * a + b
    n_min = np.bincount(cells).min()
    assert ks_2samp(pred[cells == 0], pred[cells == 3]).statistic <= 1.0 / n_min + 1e-12


def test_alpha_zero_returns_model_predictions_exactly():
    X, y, _ = _shifted(700, seed=5)
    est = WassersteinFairRegressor(Ridge(), prot_attr=0, alpha=0.0,
                                   predict_with="refit").fit(X, y)
    np.testing.assert_array_equal(est.predict(X), est.estimator_.predict(X))
    # with the fold models (the default), each row's own fold model, unchanged
    est = WassersteinFairRegressor(Ridge(), prot_attr=0, alpha=0.0).fit(X, y)
    folds = est._assign_folds(X)
    expected = np.choose(folds, [m.predict(X) for m in est.fold_estimators_])
    np.testing.assert_array_equal(est.predict(X), expected)


@pytest.mark.parametrize("alpha", [0.3, 0.8])
def test_partial_fairness_shrinks_the_distance_by_one_minus_alpha(alpha):
    # equal groups, in-sample: the k-th of each group moves to (1 - alpha) v_k + alpha b_k
    # with a common b_k, so the sorted pairs' differences, hence W1, scale by 1 - alpha
    X, y, s = _shifted(1400, seed=6, shifts=(0.0, 1.5))
    keep = np.r_[np.flatnonzero(s == 0)[:600], np.flatnonzero(s == 1)[:600]]
    X, y, s = X[keep], y[keep], s[keep]
    model = LinearRegression().fit(X, y)
    est = WassersteinFairRegressor(model, prot_attr=0, prefit=True, alpha=alpha).fit(X, y)
    base, pred = model.predict(X), est.predict(X)
    assert wasserstein_distance(pred[s == 0], pred[s == 1]) == pytest.approx(
        (1 - alpha) * wasserstein_distance(base[s == 0], base[s == 1]), rel=1e-9)
    # the squared move is alpha^2 times that of full fairness
    assert np.mean((pred - base) ** 2) == pytest.approx(alpha ** 2 * est.barycenter_cost_)


def test_cost_equals_wasserstein_theory():
    # predictions ~ N(m_s, sd) per group with m = (0, 2), p = (1/2, 1/2): the barycenter is
    # N(1, sd) and the cost sum_s p_s W2^2 = sum_s p_s (m_s - 1)^2 = 1. With the true
    # regression function as the model, the excess MSE of the fair predictor equals it.
    X, y, s = _shifted(40000, seed=7, shifts=(0.0, 2.0), probs=(0.5, 0.5))
    tr, te = slice(0, 20000), slice(20000, None)
    est = WassersteinFairRegressor(LinearRegression(), prot_attr=0).fit(X[tr], y[tr])
    assert est.barycenter_cost_ == pytest.approx(1.0, rel=0.05)
    excess = (np.mean((y[te] - est.predict(X[te])) ** 2)
              - np.mean((y[te] - est.estimator_.predict(X[te])) ** 2))
    assert excess == pytest.approx(1.0, rel=0.08)


def test_random_tie_breaking_splits_point_masses():
    # a depth-2 tree has 4 outputs: with ties kept the groups cannot match
    X, y, s = _shifted(4000, seed=8, shifts=(0.0, 1.0))
    tree = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, y)
    plain = WassersteinFairRegressor(tree, prot_attr=0, prefit=True).fit(X, y)
    rand = WassersteinFairRegressor(tree, prot_attr=0, prefit=True, tie_breaking="random",
                                    random_state=0).fit(X, y)
    ks_plain = ks_2samp(*(plain.predict(X)[s == g] for g in (0, 1))).statistic
    ks_rand = ks_2samp(*(rand.predict(X)[s == g] for g in (0, 1))).statistic
    assert ks_rand < 0.05 < ks_plain
    np.testing.assert_array_equal(rand.predict(X), rand.predict(X))  # int seed


def test_cross_fitted_distributions_are_out_of_fold_predictions():
    X, y, s = _shifted(600, seed=9)
    est = WassersteinFairRegressor(Ridge(), prot_attr=0).fit(X, y)
    assert est.cv_ == 5
    oof = cross_val_predict(Ridge(), X, y, cv=StratifiedKFold(5).split(X, s))
    for g in range(3):
        np.testing.assert_allclose(est.group_predictions_[g], np.sort(oof[s == g]))
    # prefit: no cross-fitting
    model = Ridge().fit(X, y)
    pre = WassersteinFairRegressor(model, prot_attr=0, prefit=True).fit(X, y)
    assert pre.cv_ is None
    np.testing.assert_allclose(pre.group_predictions_[0], np.sort(model.predict(X)[s == 0]))


def test_integer_weights_equal_repeated_rows():
    X, y, _ = _shifted(300, seed=10)
    w = np.random.default_rng(0).integers(0, 4, len(y))
    rows = np.repeat(np.arange(len(y)), w)
    a = WassersteinFairRegressor(LinearRegression(), prot_attr=0, cv=None).fit(
        X, y, sample_weight=w)
    b = WassersteinFairRegressor(LinearRegression(), prot_attr=0, cv=None).fit(X[rows], y[rows])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.group_weights_, b.group_weights_)


# -- warnings and bad input ---------------------------------------------------------------
def test_tiny_group_warns():
    X, y, s = _shifted(400, seed=11, probs=(0.6, 0.37, 0.03))
    assert 0 < (s == 2).sum() < 20 <= min((s == 0).sum(), (s == 1).sum())
    with pytest.warns(UserWarning, match=r"group 2(\.0)? has \d+ fitting row"):
        WassersteinFairRegressor(LinearRegression(), prot_attr=0, cv=None).fit(X, y)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, "one"])
def test_alpha_outside_unit_interval_raises(alpha):
    X, y, _ = _shifted(200)
    with pytest.raises(ValueError, match="alpha"):
        WassersteinFairRegressor(LinearRegression(), prot_attr=0, alpha=alpha).fit(X, y)


def test_classifier_raises():
    X, y, _ = _shifted(200)
    with pytest.raises(ValueError, match="estimator=LogisticRegression.*classifier"):
        WassersteinFairRegressor(LogisticRegression(), prot_attr=0).fit(X, y > 1)
    with pytest.raises(ValueError, match="estimator=None"):
        WassersteinFairRegressor(prot_attr=0).fit(X, y)


def test_unknown_group_at_predict_raises():
    X, y, _ = _shifted(300)
    est = WassersteinFairRegressor(LinearRegression(), prot_attr=0).fit(X, y)
    X_new = X.copy()
    X_new[0, 0] = 7
    with pytest.raises(ValueError, match=r"Group 7.* not seen during fit"):
        est.predict(X_new)


def test_other_bad_parameters_raise():
    X, y, _ = _shifted(300)
    with pytest.raises(ValueError, match="tie_breaking"):
        WassersteinFairRegressor(LinearRegression(), prot_attr=0, tie_breaking="x").fit(X, y)
    model = LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="cv=3"):
        WassersteinFairRegressor(model, prot_attr=0, prefit=True, cv=3).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        WassersteinFairRegressor(LinearRegression(), prot_attr=0, cv=None).fit(
            X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="group"):
        WassersteinFairRegressor(LinearRegression()).fit(
            X, y, sensitive_features=np.zeros(len(y)))


def test_constant_model_warns():
    from fairkit.base import ConstantFitWarning

    X, y, _ = _shifted(300)
    model = Ridge(alpha=1e12).fit(X, np.zeros(len(y)))
    with pytest.warns(ConstantFitWarning, match="estimator"):
        WassersteinFairRegressor(model, prot_attr=0, prefit=True).fit(X, y)


# -- estimator contract -------------------------------------------------------------------
def test_pipeline_as_estimator_and_in_pipeline_with_routing():
    X, y, s = _shifted(600, seed=12)
    frame = pd.DataFrame({"g": s, "x": X[:, 1]})
    est = WassersteinFairRegressor(make_pipeline(StandardScaler(), Ridge()), prot_attr="g",
                                   drop_prot_attr=True, cv=None).fit(frame, y)
    direct = est.predict(frame)
    with sklearn.config_context(enable_metadata_routing=True):
        inner = WassersteinFairRegressor(Ridge(), cv=None)
        inner.set_fit_request(sensitive_features=True).set_predict_request(
            sensitive_features=True)
        pipe = Pipeline([("scale", StandardScaler()), ("fair", inner)])
        pipe.fit(frame[["x"]], y, sensitive_features=s)
        routed = pipe.predict(frame[["x"]], sensitive_features=s)
    np.testing.assert_allclose(routed, direct, rtol=1e-9, atol=1e-9)


def test_pickle_round_trip():
    X, y, _ = _shifted(500, seed=13)
    est = WassersteinFairRegressor(Ridge(), prot_attr=0, alpha=0.6).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_grid_search_over_alpha():
    X, y, _ = _shifted(900, seed=14)
    search = GridSearchCV(WassersteinFairRegressor(Ridge(), prot_attr=0),
                          {"alpha": [0.0, 0.5, 1.0]}, cv=3, error_score="raise").fit(X, y)
    r2 = search.cv_results_["mean_test_score"]
    # the groups carry much of y, so R^2 falls as alpha moves to full parity
    assert r2[0] > r2[1] > r2[2]
    assert search.best_params_ == {"alpha": 0.0}


def test_round_off_does_not_move_a_prediction_across_a_step():
    # 1 + 1e-15 is the prediction 1 up to round-off: it maps as 1 does (F_0 = 1/2, not 1/2
    # from below); 1 - 1e-15 too, not to the level below
    est = _prefit([0, 1, 5, 7], [0, 0, 1, 1])
    same = est.predict(np.c_[[1.0, 1 + 1e-15, 1 - 1e-15]], sensitive_features=[0, 0, 0])
    np.testing.assert_array_equal(same, [(1 + 7) / 2] * 3)


def test_polars_and_pandas_input_agree():
    pl = pytest.importorskip("polars")
    X, y, s = _shifted(500, seed=15)
    frame = pd.DataFrame({"g": s, "x": X[:, 1]})
    a = WassersteinFairRegressor(Ridge(), prot_attr="g").fit(frame, y)
    b = WassersteinFairRegressor(Ridge(), prot_attr="g").fit(pl.from_pandas(frame), y)
    np.testing.assert_allclose(b.predict(pl.from_pandas(frame)), a.predict(frame))
    assert list(b.feature_names_in_) == ["g", "x"]


# -- predict_with="fold_models": each row through one fold model and that fold's map -------

def _hand_fold_map(X, y, s, X_new, s_new, folds_new, n_folds=5):
    """The fold-model map computed with scikit-learn and integer arithmetic: the fold
    models are Ridge fitted on StratifiedKFold(5) training rows (stratified on the groups,
    as cv=5 is); fold k's map of group g sends f to the pooled barycenter quantiles at
    u = #(fold k's held-out predictions of group g <= f) / #(them), with
    Q_h(c / m) = the ceil(c n_h / m)-th smallest pooled out-of-fold prediction of group h
    (the first for c = 0) and p_h the share of group h."""
    splits = list(StratifiedKFold(n_folds).split(X, s))
    models = [Ridge().fit(X[tr], y[tr]) for tr, _ in splits]
    oof = np.empty(len(y))
    fold_of = np.empty(len(y), dtype=int)
    for k, (_, te) in enumerate(splits):
        oof[te] = models[k].predict(X[te])
        fold_of[te] = k
    groups = np.unique(s)
    pooled = {h: np.sort(oof[s == h]) for h in groups}
    share = {h: np.mean(s == h) for h in groups}
    out = np.empty(len(s_new))
    for i in range(len(s_new)):
        k, g = folds_new[i], s_new[i]
        f = models[k].predict(X_new[i:i + 1])[0]
        held = oof[(fold_of == k) & (s == g)]
        c, m = int(np.sum(held <= f)), len(held)
        out[i] = sum(share[h] * pooled[h][max(-(-c * len(pooled[h]) // m) - 1, 0)]
                     for h in groups)
    return out, models


def test_fold_maps_equal_hand_quantile_maps():
    X, y, s = _shifted(600, seed=21, probs=(0.5, 0.3, 0.2))
    X_new, _, s_new = _shifted(300, seed=22, probs=(0.5, 0.3, 0.2))
    est = WassersteinFairRegressor(Ridge(), prot_attr=0).fit(X, y)
    assert est.predict_with == "fold_models" and len(est.fold_estimators_) == 5
    folds = est._assign_folds(X_new)
    expected, models = _hand_fold_map(X, y, s, X_new, s_new, folds)
    for mine, theirs in zip(est.fold_estimators_, models, strict=True):
        np.testing.assert_allclose(mine.coef_, theirs.coef_, rtol=1e-12)
    np.testing.assert_allclose(est.predict(X_new), expected, rtol=1e-12, atol=1e-12)
    assert set(folds) == set(range(5))  # every fold model is used
    # the distributions the fold maps start from: each fold's held-out predictions
    for k, (_, te) in enumerate(StratifiedKFold(5).split(X, s)):
        held = models[k].predict(X[te])
        for g in range(3):
            np.testing.assert_allclose(est.fold_group_predictions_[k][g],
                                       np.sort(held[s[te] == g]), rtol=1e-12)


def test_fold_maps_with_alpha_blend_the_fold_model():
    X, y, s = _shifted(500, seed=23)
    full = WassersteinFairRegressor(Ridge(), prot_attr=0, random_state=3).fit(X, y)
    half = WassersteinFairRegressor(Ridge(), prot_attr=0, random_state=3, alpha=0.5).fit(X, y)
    raw = WassersteinFairRegressor(Ridge(), prot_attr=0, random_state=3, alpha=0.0).fit(X, y)
    np.testing.assert_allclose(half.predict(X), 0.5 * raw.predict(X) + 0.5 * full.predict(X),
                               rtol=1e-12, atol=1e-12)


def test_fold_assignment_is_uniform_and_per_row():
    X, y, s = _shifted(2000, seed=24)
    est = WassersteinFairRegressor(Ridge(), prot_attr=0, random_state=0).fit(X, y)
    folds = est._assign_folds(X)
    # each fold's share of 2000 rows is binomial(2000, 1/5): sd 0.0089; 5 sd
    np.testing.assert_allclose(np.bincount(folds, minlength=5) / len(X), 0.2, atol=0.045)
    # independent of the group: a chi-square test of the group x fold table (8 df; its
    # 0.999 quantile is 26.1)
    table = np.array([[np.sum((s == g) & (folds == k)) for k in range(5)] for g in range(3)])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    assert np.sum((table - expected) ** 2 / expected) < 26.1
    # a row's output does not depend on its batch or position
    pred = est.predict(X)
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(est.predict(X[perm]), pred[perm])
    np.testing.assert_array_equal(est.predict(X[:7]), pred[:7])
    # another random_state, another assignment (each row agrees with probability 1/5)
    other = WassersteinFairRegressor(Ridge(), prot_attr=0, random_state=1).fit(X, y)
    assert 0.1 < np.mean(other._assign_folds(X) == folds) < 0.3


def test_fold_models_deterministic_and_pickled():
    X, y, _ = _shifted(600, seed=25)
    kw = dict(prot_attr=0, tie_breaking="random", random_state=4)
    a = WassersteinFairRegressor(DecisionTreeRegressor(max_depth=3, random_state=0), **kw)
    b = WassersteinFairRegressor(DecisionTreeRegressor(max_depth=3, random_state=0), **kw)
    pa = a.fit(X, y).predict(X)
    np.testing.assert_array_equal(pa, b.fit(X, y).predict(X))
    np.testing.assert_array_equal(a.predict(X), pa)  # an int seed: the same draws again
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict(X), pa)
    # random_state=None: a fixed key for the fold assignment, so predict is deterministic
    c = WassersteinFairRegressor(Ridge(), prot_attr=0).fit(X, y)
    np.testing.assert_array_equal(c.predict(X), sklearn.base.clone(c).fit(X, y).predict(X))


def test_fold_assignment_same_for_dense_sparse_and_frame():
    import scipy.sparse as sp

    X, y, _ = _shifted(400, seed=26)
    X[::3, 1] = 0.0  # explicit zeros
    dense = WassersteinFairRegressor(Ridge(), prot_attr=0, random_state=5).fit(X, y)
    sparse = WassersteinFairRegressor(Ridge(), prot_attr=0, random_state=5).fit(
        sp.csr_matrix(X), y)
    np.testing.assert_array_equal(dense._assign_folds(X), sparse._assign_folds(
        sp.csr_matrix(X)))
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X),
                               rtol=1e-9, atol=1e-9)
    frame = pd.DataFrame(X, columns=["g", "x"])
    framed = WassersteinFairRegressor(Ridge(), prot_attr="g", random_state=5).fit(frame, y)
    np.testing.assert_allclose(framed.predict(frame), dense.predict(X), rtol=1e-9,
                               atol=1e-9)
    # a non-numeric column: pandas' row hash, still one fold per row whatever the batch
    # (rows with x = 0 are duplicates and share a fold: leave them out)
    keep = X[:, 1] != 0
    mixed = frame.assign(c=np.where(X[:, 1] > 0, "hi", "lo"))[keep]
    y = y[keep]
    est = WassersteinFairRegressor(
        make_pipeline(sklearn.compose.make_column_transformer(
            (sklearn.preprocessing.OneHotEncoder(), ["c"]), remainder="passthrough"),
            Ridge()), prot_attr="g", random_state=5).fit(mixed, y)
    folds = est._assign_folds(mixed)
    # binomial(266, 1/5) shares: sd 0.025; 4 sd
    np.testing.assert_allclose(np.bincount(folds, minlength=5) / len(y), 0.2, atol=0.1)
    np.testing.assert_array_equal(est._assign_folds(mixed.iloc[::-1]), folds[::-1])
    np.testing.assert_array_equal(est.predict(mixed.iloc[:9]), est.predict(mixed)[:9])


def test_prefit_and_no_cross_fitting_ignore_predict_with():
    X, y, _ = _shifted(500, seed=27)
    model = Ridge().fit(X, y)
    for kw in (dict(estimator=model, prefit=True), dict(estimator=Ridge(), cv=None)):
        a = WassersteinFairRegressor(prot_attr=0, predict_with="fold_models", **kw).fit(X, y)
        b = WassersteinFairRegressor(prot_attr=0, predict_with="refit", **kw).fit(X, y)
        assert a.fold_estimators_ is None and a.fold_group_predictions_ is None
        np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_refit_keeps_the_pooled_map_on_the_refitted_model():
    X, y, s = _shifted(600, seed=28)
    est = WassersteinFairRegressor(Ridge(), prot_attr=0, predict_with="refit").fit(X, y)
    assert est.fold_estimators_ is None
    # the pooled map (of test_cross_fitted_distributions_are_out_of_fold_predictions)
    # applied to the refitted model, by hand: u = #(pooled oof of g <= f) / n_g
    oof = cross_val_predict(Ridge(), X, y, cv=StratifiedKFold(5).split(X, s))
    f = Ridge().fit(X, y).predict(X)
    pooled = {h: np.sort(oof[s == h]) for h in range(3)}
    share = np.bincount(s) / len(s)
    expected = [sum(share[h] * pooled[h][max(-(-int(np.sum(pooled[g] <= fi))
                                            * len(pooled[h]) // len(pooled[g])) - 1, 0)]
                    for h in range(3)) for fi, g in zip(f, s, strict=True)]
    np.testing.assert_allclose(est.predict(X), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", ["folds", "Refit", None, 1])
def test_bad_predict_with_raises_naming_it(bad):
    X, y, _ = _shifted(300)
    with pytest.raises(ValueError, match="predict_with"):
        WassersteinFairRegressor(Ridge(), prot_attr=0, predict_with=bad).fit(X, y)


def test_fold_distributions_are_weighted():
    X, y, s = _shifted(500, seed=29)
    w = np.random.default_rng(1).integers(0, 4, len(y)).astype(float)
    est = WassersteinFairRegressor(LinearRegression(), prot_attr=0).fit(X, y, sample_weight=w)
    for k, (tr, te) in enumerate(StratifiedKFold(5).split(X, s)):
        held = LinearRegression().fit(X[tr], y[tr], sample_weight=w[tr]).predict(X[te])
        for g in range(3):
            rows = (s[te] == g) & (w[te] > 0)  # zero-weight rows carry no mass
            order = np.argsort(held[rows], kind="stable")
            np.testing.assert_allclose(est.fold_group_predictions_[k][g], held[rows][order],
                                       rtol=1e-10)
            cum = np.cumsum(w[te][rows][order])
            np.testing.assert_allclose(est.fold_group_levels_[k][g], cum / cum[-1],
                                       rtol=1e-12)
