"""regression_fairness_report: distances against scipy, means and errors against pandas /
scikit-learn, bootstrap intervals against normal theory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.metrics import mean_absolute_error, mean_squared_error

from fairkit.metrics.regression import ks_wasserstein, regression_fairness_report


def _data(seed=0, sizes=(400, 250, 90)):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.array(["a", "b", "c"]), sizes)
    shift = np.repeat([0.0, 0.7, -0.4], sizes)
    y = rng.normal(size=len(g)) + shift
    # rounded predictions: ties inside and across groups
    pred = np.round(y + rng.normal(scale=0.5, size=len(g)), 1)
    order = rng.permutation(len(g))
    return y[order], pred[order], g[order]


def test_hand_example():
    # a: predictions 1, 2; b: 3.5, 4.5 -> means 1.5 and 4; every b above every a (KS 1),
    # each b is 2.5 above its a (W1 2.5); pooled {1, 2, 3.5, 4.5}: |F_a - F| is 1/4 on
    # [1, 2), 1/2 on [2, 3.5), 1/4 on [3.5, 4.5): W1 = 1/4 + 3/4 + 1/4 = 1.25, KS 1/2
    rep = regression_fairness_report([1, 2, 3, 4], [1.0, 2.0, 3.5, 4.5],
                                     sensitive_features=["a", "a", "b", "b"])
    assert rep.summary.loc["mean_prediction_difference", "value"] == pytest.approx(2.5)
    assert rep.pairs.loc[0, ["ks", "wasserstein", "mean_difference"]].tolist() == \
        pytest.approx([1.0, 2.5, -2.5])
    assert rep.groups["ks_to_pooled"].tolist() == pytest.approx([0.5, 0.5])
    assert rep.groups["wasserstein_to_pooled"].tolist() == pytest.approx([1.25, 1.25])
    # errors 0, 0 (a) and 0.5, 0.5 (b)
    assert rep.groups["rmse"].tolist() == pytest.approx([0.0, 0.5])
    assert rep.summary.loc["rmse_difference", "value"] == pytest.approx(0.5)
    assert rep.summary.loc["rmse", "value"] == pytest.approx(np.sqrt(0.125))


def test_distances_equal_scipy():
    y, pred, g = _data()
    rep = regression_fairness_report(y, pred, sensitive_features=g)
    for _, row in rep.pairs.iterrows():
        a, b = pred[g == row["group_a"]], pred[g == row["group_b"]]
        assert row["ks"] == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
        assert row["wasserstein"] == pytest.approx(wasserstein_distance(a, b), rel=1e-10)
    for label, row in rep.groups.iterrows():
        a = pred[g == label]
        assert row["ks_to_pooled"] == pytest.approx(ks_2samp(a, pred).statistic, abs=1e-12)
        assert row["wasserstein_to_pooled"] == pytest.approx(
            wasserstein_distance(a, pred), rel=1e-10)
    assert rep.summary.loc["max_ks", "value"] == pytest.approx(rep.pairs["ks"].max())


@pytest.mark.parametrize("seed", range(5))
def test_ks_wasserstein_equals_scipy_on_random_samples(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, rng.integers(1, 40)) * 0.5
    b = rng.normal(size=rng.integers(1, 40))
    ks, w1 = ks_wasserstein(a, b)
    assert ks == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    assert w1 == pytest.approx(wasserstein_distance(a, b), rel=1e-10, abs=1e-12)


def test_group_table_against_pandas_and_sklearn():
    y, pred, g = _data(1)
    rep = regression_fairness_report(y, pred, sensitive_features=g, quantiles=[0.1, 0.5])
    frame = pd.DataFrame({"y": y, "p": pred, "g": g})
    by = frame.groupby("g")
    np.testing.assert_allclose(rep.groups["mean_prediction"], by["p"].mean())
    np.testing.assert_allclose(rep.groups["mean_true"], by["y"].mean())
    np.testing.assert_allclose(rep.groups["q0.1"], by["p"].quantile(0.1))
    np.testing.assert_allclose(rep.groups["q0.5"], by["p"].median())
    for label, part in by:
        assert rep.groups.loc[label, "rmse"] == pytest.approx(
            np.sqrt(mean_squared_error(part["y"], part["p"])))
        assert rep.groups.loc[label, "mae"] == pytest.approx(
            mean_absolute_error(part["y"], part["p"]))
    assert rep.groups["n_rows"].tolist() == [400, 250, 90]
    means = by["p"].mean()
    assert rep.summary.loc["mean_prediction_difference", "value"] == pytest.approx(
        means.max() - means.min())
    assert rep.pairs.loc[0, "mean_difference"] == pytest.approx(means["a"] - means["b"])
    assert list(rep.pairs[["group_a", "group_b"]].itertuples(index=False, name=None)) == [
        ("a", "b"), ("a", "c"), ("b", "c")]


def test_intersectional_groups():
    rng = np.random.default_rng(2)
    n = 800
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["x", "y"], n)})
    pred = rng.normal(size=n) + (sf["sex"] == "M")
    rep = regression_fairness_report(pred, pred, sensitive_features=sf)
    assert len(rep.groups) == 4 and len(rep.pairs) == 6
    assert rep.groups.index.name == "sex, race"


def test_bootstrap_interval_of_a_mean_matches_normal_theory():
    # a group mean of n normal draws has standard error sd / sqrt(n): its 90% percentile
    # interval is about mean -/+ 1.645 sd / sqrt(n)
    rng = np.random.default_rng(3)
    n = 2000
    g = np.repeat([0, 1], n)
    pred = rng.normal(scale=2.0, size=2 * n) + g
    rep = regression_fairness_report(pred, pred, sensitive_features=g, n_bootstrap=400,
                                     confidence=0.9, random_state=0)
    row = rep.groups.loc["0"]
    half = (row["mean_prediction_upper"] - row["mean_prediction_lower"]) / 2
    expected = 1.645 * pred[g == 0].std() / np.sqrt(n)
    assert half == pytest.approx(expected, rel=0.15)
    # the gap of two independent means: standard error sqrt(2) times larger
    s = rep.summary.loc["mean_prediction_difference"]
    assert (s["upper"] - s["lower"]) / 2 == pytest.approx(np.sqrt(2) * expected, rel=0.15)
    assert s["lower"] < s["value"] < s["upper"]
    for col in ("ks", "wasserstein"):
        assert (rep.pairs[f"{col}_lower"] <= rep.pairs[f"{col}_upper"]).all()


def test_bootstrap_is_deterministic_given_random_state():
    y, pred, g = _data(4)
    a = regression_fairness_report(y, pred, sensitive_features=g, n_bootstrap=30,
                                   random_state=7)
    b = regression_fairness_report(y, pred, sensitive_features=g, n_bootstrap=30,
                                   random_state=7)
    pd.testing.assert_frame_equal(a.groups, b.groups)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert "mean_prediction_lower" in a.groups and "ks_upper" in a.pairs
    assert a.attrs["n_bootstrap"] == 30


def test_no_interval_columns_without_bootstrap():
    y, pred, g = _data(5)
    rep = regression_fairness_report(y, pred, sensitive_features=g)
    assert not any(c.endswith(("_lower", "_upper")) for c in rep.groups.columns)
    assert list(rep.summary.columns) == ["value"]


@pytest.mark.parametrize("kwargs, match", [
    ({"n_bootstrap": -1}, "n_bootstrap"),
    ({"n_bootstrap": 2.5}, "n_bootstrap"),
    ({"confidence": 1.5}, "confidence"),
    ({"quantiles": [0.5, 2.0]}, "quantiles"),
])
def test_bad_parameters_raise_naming_them(kwargs, match):
    y, pred, g = _data()
    with pytest.raises(ValueError, match=match):
        regression_fairness_report(y, pred, sensitive_features=g, **kwargs)


def test_bad_data_raise():
    with pytest.raises(ValueError, match="y_pred"):
        regression_fairness_report([1.0, 2.0], ["a", "b"], sensitive_features=[0, 1])
    with pytest.raises(ValueError, match="y_pred"):
        regression_fairness_report([1.0, 2.0], [np.nan, 1.0], sensitive_features=[0, 1])
    with pytest.raises(ValueError, match="group"):
        regression_fairness_report([1.0, 2.0], [1.0, 2.0], sensitive_features=[0, 0])
    with pytest.raises(ValueError, match="continuous"):
        x = np.arange(300.0)
        regression_fairness_report(x, x, sensitive_features=x)
