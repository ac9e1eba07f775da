"""Tests of fairkit/metrics/inferred.py: group rates from inferred membership."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.neighbors import KNeighborsClassifier

from fairkit.metrics.inferred import _gap_bounds, _rate_bounds, inferred_group_rates

# six rows, two known groups, two missing; the numbers below are worked out by hand
A = np.array(["x", "x", None, "y", "y", None], dtype=object)
D = np.array([1, 0, 1, 0, 0, 1])
P = np.array([[.9, .1], [.8, .2], [.5, .5], [.2, .8], [.1, .9], [.4, .6]])


def run(**kw):
    kw.setdefault("n_boot", 0)
    return inferred_group_rates(kw.pop("y_pred", D), sensitive_features=kw.pop("sf", A),
                                membership=kw.pop("membership", P), **kw)


def test_estimators_by_hand():
    res = run()
    sr = res.rates["selection_rate"]
    expected = {
        # known rows only: x = rows 0, 1 (d = 1, 0); y = rows 3, 4 (d = 0, 0)
        ("observed", "x"): 1 / 2, ("observed", "y"): 0.0,
        # every row weighted by p: x (.9 + .5 + .4) / 2.9, y (.1 + .5 + .6) / 3.1
        ("weighted", "x"): 1.8 / 2.9, ("weighted", "y"): 1.2 / 3.1,
        # known rows one-hot, missing rows by p: x (1 + .5 + .4) / (2 + .9), y 1.1 / 3.1
        ("combined", "x"): 1.9 / 2.9, ("combined", "y"): 1.1 / 3.1,
        # missing rows only (both denied): 1 for both groups
        ("missing", "x"): 1.0, ("missing", "y"): 1.0,
        # argmax (the tie of row 2 goes to the first column): x = rows 0-2, y = rows 3-5
        ("threshold", "x"): 2 / 3, ("threshold", "y"): 1 / 3,
    }
    for key, value in expected.items():
        assert sr[key] == pytest.approx(value, abs=1e-12), key
    member = res.rates["membership"]
    assert member[("weighted", "x")] == pytest.approx(2.9)
    assert member[("combined", "y")] == pytest.approx(3.1)
    gaps = res.gaps["selection_rate_difference"]
    assert gaps["observed"] == pytest.approx(0.5)
    assert gaps["weighted"] == pytest.approx(1.8 / 2.9 - 1.2 / 3.1)
    assert gaps["missing"] == pytest.approx(0.0)
    # privileged comparison: x minus y, signed
    res = run(priv_group="x")
    assert res.gaps.loc["combined", "selection_rate_difference"] == \
        pytest.approx(1.1 / 3.1 - 1.9 / 2.9)
    assert res.groups == ["x", "y"]
    assert res.group_model["source"] == "matrix"
    assert res.missing_mask.tolist() == [False, False, True, False, False, True]


@pytest.mark.filterwarnings("ignore:membership barely predicts")
def test_matches_numpy_with_weights_and_true_labels():
    rng = np.random.RandomState(0)
    n, G = 400, 3
    P = rng.dirichlet(np.ones(G), size=n)
    a = np.array(["a", "b", "c"], dtype=object)[rng.randint(G, size=n)]
    a[rng.rand(n) < 0.3] = None
    d = rng.randint(2, size=n)
    y = rng.randint(2, size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    res = inferred_group_rates(d, y_true=y, sensitive_features=a, membership=P,
                               sample_weight=w, n_boot=0,
                               rates=("selection_rate", "true_positive_rate",
                                      "false_positive_rate"))
    wp = w[:, None] * P
    np.testing.assert_allclose(res.rates.loc["weighted", "selection_rate"],
                               (wp * d[:, None]).sum(0) / wp.sum(0), rtol=1e-12)
    tpr = (wp * (d * y)[:, None]).sum(0) / (wp * y[:, None]).sum(0)
    np.testing.assert_allclose(res.rates.loc["weighted", "true_positive_rate"], tpr,
                               rtol=1e-12)
    fpr = (wp * (d * (1 - y))[:, None]).sum(0) / (wp * (1 - y)[:, None]).sum(0)
    np.testing.assert_allclose(res.rates.loc["weighted", "false_positive_rate"], fpr,
                               rtol=1e-12)
    known = pd.notna(a)
    for g in "abc":
        rows = known & (a == g)
        assert res.rates.loc[("observed", g), "selection_rate"] == \
            pytest.approx(np.average(d[rows], weights=w[rows]), rel=1e-12)
    # the observed counts are the weighted confusion matrices of the known rows
    counts = res.counts["observed"].counts
    for k, g in enumerate("abc"):
        rows = known & (a == g)
        cm = confusion_matrix(y[rows], d[rows], sample_weight=w[rows], labels=[0, 1])
        np.testing.assert_allclose(counts[k], cm, rtol=1e-12)
    gap = res.gaps.loc["weighted", "true_positive_rate_difference"]
    assert gap == pytest.approx(tpr.max() - tpr.min(), rel=1e-12)


@pytest.mark.filterwarnings("ignore:membership barely predicts")
def test_integer_weights_equal_repeated_rows():
    rng = np.random.RandomState(1)
    n = 60
    Pm = rng.dirichlet(np.ones(2), size=n)
    a = np.array(["a", "b"], dtype=object)[rng.randint(2, size=n)]
    a[:10] = None
    d = rng.randint(2, size=n)
    k = rng.randint(1, 4, size=n)
    r = np.repeat(np.arange(n), k)
    weighted = inferred_group_rates(d, sensitive_features=a, membership=Pm,
                                    sample_weight=k.astype(float), n_boot=0)
    repeated = inferred_group_rates(d[r], sensitive_features=a[r], membership=Pm[r], n_boot=0)
    np.testing.assert_allclose(weighted.rates.to_numpy(), repeated.rates.to_numpy(),
                               rtol=1e-12)


def test_one_hot_membership_gives_the_true_rates():
    rng = np.random.RandomState(2)
    n = 500
    truth = np.array(["p", "q", "r"], dtype=object)[rng.randint(3, size=n)]
    d = rng.randint(2, size=n)
    onehot = pd.get_dummies(pd.Series(truth)).astype(float)
    true_rates = pd.Series(d).groupby(truth).mean().to_numpy()
    # attribute complete: every estimator is the plain group mean
    res = inferred_group_rates(d, sensitive_features=truth, membership=onehot, n_boot=0)
    for e in ("observed", "weighted", "combined", "threshold"):
        np.testing.assert_array_equal(res.rates.loc[e, "selection_rate"], true_rates)
    # 30% hidden: combined, weighted and threshold still give the rates of all rows,
    # observed the rates of the known rows, missing those of the hidden rows
    a = truth.copy()
    hide = rng.rand(n) < 0.3
    a[hide] = None
    res = inferred_group_rates(d, sensitive_features=a, membership=onehot, n_boot=0)
    for e in ("weighted", "combined", "threshold"):
        np.testing.assert_allclose(res.rates.loc[e, "selection_rate"], true_rates,
                                   rtol=1e-12)
    np.testing.assert_allclose(res.rates.loc["observed", "selection_rate"],
                               pd.Series(d[~hide]).groupby(truth[~hide]).mean(), rtol=1e-12)
    np.testing.assert_allclose(res.rates.loc["missing", "selection_rate"],
                               pd.Series(d[hide]).groupby(truth[hide]).mean(), rtol=1e-12)
    assert res.group_model["auc"] == 1.0


def test_uninformative_membership_warns_and_shrinks_gap_to_zero():
    rng = np.random.RandomState(3)
    n = 300
    a = np.where(rng.rand(n) < 0.5, "a", "b").astype(object)
    d = (a == "a").astype(int)  # a large true gap (1.0)
    flat = np.full((n, 2), 0.5)
    with pytest.warns(UserWarning, match="barely predicts sensitive_features"):
        res = inferred_group_rates(d, sensitive_features=a, membership=flat, n_boot=0)
    assert res.gaps.loc["observed", "selection_rate_difference"] == 1.0
    assert res.gaps.loc["weighted", "selection_rate_difference"] == pytest.approx(0, abs=1e-12)
    assert res.group_model["auc"] == 0.5
    assert res.group_model["informative"] is False


def _synthetic(n, rng):
    X = rng.normal(size=(n, 2))
    p = 1 / (1 + np.exp(-(2.0 * X[:, 0])))
    A = np.where(rng.rand(n) < p, "g", "h").astype(object)
    d = (rng.rand(n) < 1 / (1 + np.exp(-(-1 + X[:, 0] + X[:, 1])))).astype(int)
    return X, A, d, np.column_stack([p, 1 - p])


def test_interval_coverage_with_true_membership():
    # D independent of A given X and the true Pr(A | X): the weighted estimator is
    # unbiased; the population gap is E[d p] / E[p] - E[d (1-p)] / E[1-p], here taken from
    # 10^6 draws of the same law
    X, A, d, Pt = _synthetic(1_000_000, np.random.RandomState(99))
    truth = (d * Pt[:, 0]).mean() / Pt[:, 0].mean() - (d * Pt[:, 1]).mean() / Pt[:, 1].mean()
    hits = {"weighted": 0, "observed": 0, "combined": 0}
    reps = 40
    for r in range(reps):
        rng = np.random.RandomState(r)
        X, A, d, Pt = _synthetic(800, rng)
        a = A.copy()
        a[rng.rand(len(a)) < 0.3] = None
        res = inferred_group_rates(d, sensitive_features=a, membership=Pt, priv_group="h",
                                   n_boot=200, random_state=r,
                                   estimators=tuple(hits))
        for e in hits:
            lo = res.gaps.loc[e, "selection_rate_difference_low"]
            hi = res.gaps.loc[e, "selection_rate_difference_high"]
            hits[e] += lo <= truth <= hi
    for e, h in hits.items():
        assert 0.82 <= h / reps <= 1.0, (e, h)


def test_auto_is_cross_fitted():
    # labels independent of X: a 1-nearest-neighbour model scored on its own training rows
    # is perfect, cross-fitted it is near chance (and the warning says so)
    rng = np.random.RandomState(4)
    n = 400
    X = rng.normal(size=(n, 3))
    a = np.where(rng.rand(n) < 0.5, "a", "b").astype(object)
    a[:100] = None
    d = rng.randint(2, size=n)
    knn = KNeighborsClassifier(n_neighbors=1)
    with pytest.warns(UserWarning, match="barely predicts"):
        res = inferred_group_rates(d, sensitive_features=a, X=X, membership=knn,
                                   n_boot=0, random_state=0)
    assert res.group_model["auc"] < 0.6
    assert res.group_model["source"].startswith("cross-fitted")
    fitted = KNeighborsClassifier(n_neighbors=1).fit(X[100:], a[100:])
    res = inferred_group_rates(d, sensitive_features=a, X=X, membership=fitted, cv="prefit",
                               n_boot=0)
    assert res.group_model["auc"] == 1.0
    assert res.group_model["source"] == "prefit"


def test_auto_model_is_informative_and_calibrated():
    rng = np.random.RandomState(5)
    X, A, d, Pt = _synthetic(2000, rng)
    a = A.copy()
    a[rng.rand(len(a)) < 0.3] = None
    res = inferred_group_rates(d, sensitive_features=a, X=pd.DataFrame(X, columns=["u", "v"]),
                               n_boot=0, random_state=0)
    q = res.group_model
    assert q["informative"] and q["auc"] > 0.8
    cal = q["calibration"]
    np.testing.assert_allclose(cal["mean_probability"], cal["observed_share"], atol=0.02)
    # the fitted probabilities are close to the true ones
    assert np.abs(res.membership - Pt).mean() < 0.05


def test_outcome_in_group_model_removes_direct_effect_bias():
    rng = np.random.RandomState(6)
    n = 4000
    X = rng.normal(size=(n, 2))
    A = rng.rand(n) < 1 / (1 + np.exp(-X[:, 0]))
    d = (rng.rand(n) < 1 / (1 + np.exp(-(-1 + 0.5 * X[:, 1] + 1.5 * A)))).astype(int)
    truth = d[A].mean() - d[~A].mean()
    a = np.where(A, "g", "h").astype(object)
    a[rng.rand(n) < 0.3] = None
    kw = dict(sensitive_features=a, X=X, priv_group="h", n_boot=0, random_state=0,
              estimators=("weighted",))
    plain = inferred_group_rates(d, **kw).gaps.iloc[0, 0]
    given_d = inferred_group_rates(d, outcome_in_group_model=True, **kw).gaps.iloc[0, 0]
    assert plain < truth - 0.1  # attenuated (Chen et al.: the weighted bias is negative)
    assert abs(given_d - truth) < 0.03


def test_frechet_bounds_by_hand():
    # two rows with p = (0.7, 0.3) and q = Pr(event | x) = 0.6; row 0 has the event.
    # Given the event, Pr(A = 0) is in [0.1 / 0.6, 0.6 / 0.6]... precisely
    # [max(0, .7 + .6 - 1) / .6, min(.7, .6) / .6] = [0.5, 1] and Pr(A = 1) in [0, 0.5];
    # without it Pr(A = 0) is in [(.7 - .6) / .4, min(.7, .4) / .4] = [0.25, 1] and
    # Pr(A = 1) in [0, .3 / .4] = [0, 0.75]. Rate of group 0: [.5 / (.5 + 1), 1 / (1 + .25)]
    # = [1/3, 0.8]; of group 1: [0 / (0 + .75), .5 / (.5 + 0)] = [0, 1].
    Kw = np.ones((1, 2))
    P2 = np.array([[0.7, 0.3], [0.7, 0.3]])
    L, U = _rate_bounds(Kw, P2, np.array([0.6, 0.6]), np.array([True, False]),
                        np.array([True, True]), P2 * 0)
    np.testing.assert_allclose(L, [[1 / 3, 0.0]])
    np.testing.assert_allclose(U, [[0.8, 1.0]])
    lo, hi = _gap_bounds(L, U, np.array([0.5]), "between_groups", None)
    # max - min is in [max(0, L_a - U_b), max(U_0 - L_1, U_1 - L_0)] = [0, max(.8, 2/3)]
    assert lo[0] == 0.0 and hi[0] == pytest.approx(0.8)
    # q = the realised event (a decision fixed by x): the bounds collapse onto p
    L, U = _rate_bounds(Kw, P2, np.array([1.0, 0.0]), np.array([True, False]),
                        np.array([True, True]), P2 * 0)
    np.testing.assert_allclose(L, [[0.5, 0.5]], atol=1e-8)
    np.testing.assert_allclose(U, [[0.5, 0.5]], atol=1e-8)


def test_bounds_contain_estimates_and_collapse_given_outcome():
    rng = np.random.RandomState(7)
    X, A, d, _ = _synthetic(600, rng)
    a = A.copy()
    a[rng.rand(len(a)) < 0.3] = None
    res = inferred_group_rates(d, sensitive_features=a, X=X, bounds=True, n_boot=50,
                               random_state=0, priv_group="h", bootstrap="rows")
    g = res.gaps
    for e in ("weighted", "combined", "missing"):
        assert g.loc[e, "selection_rate_difference_bound_low"] <= \
            g.loc[e, "selection_rate_difference"] <= \
            g.loc[e, "selection_rate_difference_bound_high"]
        assert g.loc[e, "selection_rate_difference_bound_ci_low"] <= \
            g.loc[e, "selection_rate_difference_bound_low"]
    assert np.isnan(g.loc["threshold", "selection_rate_difference_bound_low"])
    r = res.rates[res.rates.index.get_level_values("estimator") != "threshold"]
    assert (r["selection_rate_bound_low"] <= r["selection_rate"] + 1e-12).all()
    assert (r["selection_rate"] <= r["selection_rate_bound_high"] + 1e-12).all()
    res = inferred_group_rates(d, sensitive_features=a, X=X, bounds=True, n_boot=0,
                               random_state=0, outcome_in_group_model=True)
    np.testing.assert_allclose(res.gaps["selection_rate_difference_bound_low"][:4],
                               res.gaps["selection_rate_difference"][:4], atol=1e-12)


def test_missing_label_and_categorical():
    sf = pd.Series(["a", "Not provided", "b", "a", "b", "Not provided"])
    res = run(sf=sf, missing="Not provided")
    assert res.missing_mask.tolist() == [False, True, False, False, False, True]
    assert res.groups == ["a", "b"]
    # a declared but unused category is a valid label with no missing rows
    cat = pd.Series(pd.Categorical(["a", "a", "b", "b", "a", "b"],
                                   categories=["a", "b", "Not provided"]))
    res = run(sf=cat, missing="Not provided")
    assert not res.missing_mask.any() and res.groups == ["a", "b"]


def test_deterministic_given_random_state():
    rng = np.random.RandomState(8)
    X, A, d, _ = _synthetic(300, rng)
    a = A.copy()
    a[:60] = None
    kw = dict(sensitive_features=a, X=X, n_boot=20, bounds=True)  # refit bootstrap
    one = inferred_group_rates(d, random_state=3, **kw)
    two = inferred_group_rates(d, random_state=3, **kw)
    other = inferred_group_rates(d, random_state=4, **kw)
    pd.testing.assert_frame_equal(one.rates, two.rates)
    pd.testing.assert_frame_equal(one.gaps, two.gaps)
    assert not one.gaps.equals(other.gaps)


@pytest.mark.parametrize("membership, match", [
    (np.array([[.9, .2]] * 6), r"rows must sum to 1.*row 0 sums to 1\.1"),
    (np.array([[1.2, -.2]] * 6), r"non-negative.*row 0, column 1 is -0\.2"),
    (np.full((5, 2), .5), r"membership must have shape \(6, 2\), got \(5, 2\)"),
    (np.full((6, 3), 1 / 3), r"membership has 3 columns but sensitive_features has 2 known"),
    (np.array([[1.0, 0.0]] * 6), r"group 'y' zero total membership"),
    (np.array([[np.nan, 1.0]] * 6), r"non-finite"),
    (pd.DataFrame({"x": [.5] * 6, "z": [.5] * 6}), r"no column for the group 'y'"),
    ("bisg", r"membership='bisg' is not valid"),
])
def test_bad_membership(membership, match):
    with pytest.raises(ValueError, match=match):
        run(membership=membership)


@pytest.mark.parametrize("kw, match", [
    (dict(missing="not provded"), r"missing='not provded' does not occur"),
    (dict(rates="true_positive_rate"), r"rate 'true_positive_rate' needs y_true"),
    (dict(rates="recall"), r"rates contains 'recall'"),
    (dict(estimators=("weighted", "bisg")), r"estimators contains 'bisg'"),
    (dict(n_boot=-1), r"n_boot must be a non-negative integer, got -1"),
    (dict(confidence=1.5), r"confidence must be in \(0, 1\), got 1.5"),
    (dict(cv=1), r"cv must be an integer >= 2 or 'prefit', got 1"),
    (dict(membership="auto"), r"needs X"),
    (dict(bounds=True), r"bounds=True needs X"),
    (dict(outcome_in_group_model=True), r"outcome_in_group_model=True needs a group model"),
    (dict(bootstrap="refit", n_boot=5), r"bootstrap='refit' refits the group model"),
    (dict(bootstrap="jackknife"), r"bootstrap='jackknife' is not valid"),
    (dict(y_pred=np.array([.2, .7, .1, .9, .3, .5])), r"scores"),
    (dict(sf=np.array([["x", "y"]] * 6)), r"sensitive_features must be 1-D"),
    (dict(sf=A[:5]), r"sensitive_features has 5 rows but y_pred has 6"),
    (dict(priv_group="z"), r"priv_group='z' does not occur"),
    (dict(pos_label=7), r"pos_label=7 occurs in neither"),
])
def test_bad_inputs(kw, match):
    with pytest.raises(ValueError, match=match):
        run(**kw)


def test_too_few_known_rows_for_folds():
    X = np.arange(12.0)[:, None]
    a = np.array(["a"] * 9 + ["b"] * 2 + [None], dtype=object)
    with pytest.raises(ValueError, match=r"cv=5 folds need at least 5 observed rows per "
                                         r"group, but a group has 2"):
        inferred_group_rates(np.arange(12) % 2, sensitive_features=a, X=X, n_boot=0)


def test_group_model_without_sample_weight_warns():
    rng = np.random.RandomState(9)
    X, A, d, _ = _synthetic(200, rng)
    w = np.ones(len(d))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LogisticRegression takes the weights: no warning
        inferred_group_rates(d, sensitive_features=A, X=X, n_boot=0, sample_weight=w,
                             membership=LogisticRegression())
    with pytest.warns(UserWarning) as caught:
        # a fixed seed: the cross-fitting folds decide the log-loss comparison below (it
        # holds for 29 of 30 seeds; with the global RNG the test depended on test order)
        inferred_group_rates(d, sensitive_features=A, X=X, n_boot=0, sample_weight=w,
                             membership=KNeighborsClassifier(10), random_state=0)
    messages = " ".join(str(c.message) for c in caught)
    assert "does not take sample_weight" in messages
    # 10-NN ranks well but its 0/1 probabilities lose to the shares in log-loss
    assert "look miscalibrated" in messages


def test_refit_bootstrap_widens_the_weighted_interval():
    # the decision depends on A beyond X and the group model is given the decision: the
    # weighted estimate leans on the fitted model, whose error only 'refit' resamples
    rng = np.random.RandomState(10)
    n = 1000
    X = rng.normal(size=(n, 2))
    A = rng.rand(n) < 1 / (1 + np.exp(-X[:, 0]))
    d = (rng.rand(n) < 1 / (1 + np.exp(-(-1 + 0.5 * X[:, 1] + 1.5 * A)))).astype(int)
    a = np.where(A, "g", "h").astype(object)
    a[rng.rand(n) < 0.3] = None
    kw = dict(sensitive_features=a, X=X, n_boot=30, random_state=0,
              outcome_in_group_model=True, estimators=("observed", "weighted"))
    rows = inferred_group_rates(d, bootstrap="rows", **kw).gaps
    refit = inferred_group_rates(d, bootstrap="refit", **kw).gaps
    again = inferred_group_rates(d, bootstrap="refit", **kw).gaps
    pd.testing.assert_frame_equal(refit, again)
    width = (rows["selection_rate_difference_high"] - rows["selection_rate_difference_low"])
    width_refit = (refit["selection_rate_difference_high"]
                   - refit["selection_rate_difference_low"])
    assert width_refit["weighted"] > 1.5 * width["weighted"]
    # point estimates do not depend on the bootstrap
    np.testing.assert_allclose(rows["selection_rate_difference"],
                               refit["selection_rate_difference"])
