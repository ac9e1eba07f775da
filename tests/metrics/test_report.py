"""fairness_report (fairkit/metrics/report.py)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

import fairkit.metrics as fm
from fairkit.metrics import fairness_report

FAIRLEARN_RATES = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "precision": skm.precision_score,
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
}


def _data(seed=0, n=500, weighted=False):
    rng = np.random.default_rng(seed)
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["b", "o", "w"], n)})
    y = (rng.uniform(size=n) < np.where(sf["sex"] == "M", 0.6, 0.4)).astype(int)
    p = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    return y, p, sf, w


@pytest.mark.parametrize("weighted", [False, True])
def test_values_match_fairlearn_metricframe(weighted):
    y, p, sf, w = _data(weighted=weighted)
    params = None if w is None else {k: {"sample_weight": w} for k in FAIRLEARN_RATES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = MetricFrame(metrics=FAIRLEARN_RATES, y_true=y, y_pred=p, sensitive_features=sf,
                         sample_params=params)
    report = fairness_report(y, p, sensitive_features=sf, sample_weight=w, zero_division=0)
    groups = report.iloc[:-2]
    assert list(groups.index) == ["F, b", "F, o", "F, w", "M, b", "M, o", "M, w"]
    assert report.index.name == "sex, race"
    for col in FAIRLEARN_RATES:
        np.testing.assert_allclose(groups[col].to_numpy(dtype=float),
                                   mf.by_group[col].to_numpy(), rtol=1e-12)
        assert report.loc["difference", col] == pytest.approx(mf.difference()[col], rel=1e-12)
        assert report.loc["ratio", col] == pytest.approx(mf.ratio()[col], rel=1e-12)
    expected_sizes = sf.groupby(["sex", "race"]).size().to_numpy()
    np.testing.assert_array_equal(groups["n_rows"].to_numpy(dtype=int), expected_sizes)
    assert report["n_rows"].isna().tolist()[-2:] == [True, True]
    assert ("weight" in report.columns) == weighted
    if weighted:
        expected_weight = pd.Series(w).groupby([sf["sex"], sf["race"]]).sum().to_numpy()
        np.testing.assert_allclose(groups["weight"].to_numpy(), expected_weight)


def test_priv_group_gap_rows_equal_metric_functions():
    y, p, sf, w = _data(1, weighted=True)
    priv = ("M", None)
    report = fairness_report(y, p, sensitive_features=sf, priv_group=priv, sample_weight=w)
    kw = dict(sensitive_features=sf, priv_group=priv, sample_weight=w)
    assert report.loc["difference", "selection_rate"] == pytest.approx(
        fm.statistical_parity_difference(y, p, **kw))
    assert report.loc["ratio", "selection_rate"] == pytest.approx(
        fm.disparate_impact_ratio(y, p, **kw))
    assert report.loc["difference", "true_positive_rate"] == pytest.approx(
        fm.equal_opportunity_difference(y, p, **kw))
    assert report.loc["difference", "precision"] == pytest.approx(
        fm.predictive_parity_difference(y, p, **kw))
    assert report["privileged"].iloc[:-2].tolist() == [False] * 3 + [True] * 3
    assert report.attrs["comparison"] == "unprivileged_vs_privileged"


def _naive_bootstrap(y, p, s, w, n_boot, seed, confidence):
    """Reference: loop over resamples of the rows, selection rate per group and its gap."""
    rng = np.random.default_rng(seed)
    n = len(y)
    w = np.ones(n) if w is None else w
    labels = np.unique(s)
    codes = np.searchsorted(labels, s)
    reps = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        sel = np.bincount(codes[idx], weights=w[idx] * p[idx], minlength=len(labels))
        tot = np.bincount(codes[idx], weights=w[idx], minlength=len(labels))
        rates = sel / tot
        reps.append([*rates, rates.max() - rates.min()])
    alpha = (1 - confidence) / 2
    return np.quantile(np.array(reps), [alpha, 1 - alpha], axis=0)


@pytest.mark.parametrize("weighted", [False, True])
def test_bootstrap_intervals_agree_with_naive_loop(weighted):
    rng = np.random.default_rng(5)
    n = 400
    s = rng.choice(["a", "b"], n, p=[0.3, 0.7])
    y = rng.integers(0, 2, n)
    p = (rng.uniform(size=n) < np.where(s == "a", 0.3, 0.5)).astype(int)
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    report = fairness_report(y, p, sensitive_features=s, sample_weight=w, n_bootstrap=2000,
                             random_state=0, metrics=["selection_rate"], confidence=0.9)
    expected = _naive_bootstrap(y, p, s, w, 2000, 1, 0.9)
    got_lower = report["selection_rate_lower"].to_numpy()[:3]
    got_upper = report["selection_rate_upper"].to_numpy()[:3]
    # two independent Monte Carlo runs: quantiles agree to Monte Carlo error (~0.005 here)
    np.testing.assert_allclose(got_lower, expected[0], atol=0.015)
    np.testing.assert_allclose(got_upper, expected[1], atol=0.015)
    # the intervals bracket the point estimates and have the width the data imply
    point = report["selection_rate"].to_numpy()[:3]
    assert np.all(got_lower < point) and np.all(point < got_upper)
    n_a = (s == "a").sum()
    rate_a = point[0]
    normal_width = 2 * 1.645 * np.sqrt(rate_a * (1 - rate_a) / n_a)
    assert got_upper[0] - got_lower[0] == pytest.approx(normal_width, rel=0.2 if not weighted
                                                        else 0.35)


def test_bootstrap_is_deterministic_and_shows_small_group_noise():
    rng = np.random.default_rng(8)
    n = 1000
    s = np.where(np.arange(n) < 20, "small", "large")
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    a = fairness_report(y, p, sensitive_features=s, n_bootstrap=300, random_state=3)
    b = fairness_report(y, p, sensitive_features=s, n_bootstrap=300, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    width = a["true_positive_rate_upper"] - a["true_positive_rate_lower"]
    assert width["small"] > 3 * width["large"]
    assert a.loc["small", "n_rows"] == 20


def test_bad_input():
    y, p, s = [1, 0, 1, 0], [1, 0, 0, 0], ["a", "a", "b", "b"]
    with pytest.raises(ValueError, match="metrics="):
        fairness_report(y, p, sensitive_features=s, metrics=["recall"])
    with pytest.raises(ValueError, match="n_bootstrap"):
        fairness_report(y, p, sensitive_features=s, n_bootstrap=-1)
    with pytest.raises(ValueError, match="confidence"):
        fairness_report(y, p, sensitive_features=s, confidence=95)
    with pytest.raises(ValueError, match="sensitive_features has 3 rows"):
        fairness_report(y, p, sensitive_features=s[:3])
    with pytest.raises(ValueError, match="only 1 group"):
        fairness_report(y, p, sensitive_features=["a"] * 4)
    with pytest.raises(ValueError, match="pos_label='yes'"):
        fairness_report(y, p, sensitive_features=s, pos_label="yes")
    with pytest.raises(ValueError, match="priv_group='c' does not occur"):
        fairness_report(y, p, sensitive_features=s, priv_group="c")
    with pytest.raises(ValueError, match="missing values"):
        fairness_report(y, p, sensitive_features=["a", None, "b", "b"])


@pytest.mark.parametrize("weighted", [False, True])
def test_to_overall_rows_match_fairlearn_metricframe(weighted):
    y, p, sf, w = _data(2, weighted=weighted)
    params = None if w is None else {k: {"sample_weight": w} for k in FAIRLEARN_RATES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = MetricFrame(metrics=FAIRLEARN_RATES, y_true=y, y_pred=p, sensitive_features=sf,
                         sample_params=params)
    report = fairness_report(y, p, sensitive_features=sf, sample_weight=w, zero_division=0,
                             method="to_overall")
    for col in FAIRLEARN_RATES:
        expected_diff = mf.difference(method="to_overall")[col]
        assert report.loc["difference", col] == pytest.approx(expected_diff, rel=1e-12)
        assert report.loc["ratio", col] == pytest.approx(mf.ratio(method="to_overall")[col],
                                                         rel=1e-12)
        # and not the between-groups number
        assert report.loc["difference", col] < mf.difference()[col]
    assert report.attrs["method"] == report.attrs["comparison"] == "to_overall"


def test_rows_name_the_method():
    y, p, sf, w = _data(3)
    by_default = fairness_report(y, p, sensitive_features=sf)
    priv = fairness_report(y, p, sensitive_features=sf, priv_group=("M", None))
    explicit = fairness_report(y, p, sensitive_features=sf, priv_group=("M", None),
                               method="privileged")
    assert by_default["method"].iloc[-2:].tolist() == ["between_groups"] * 2
    assert by_default["method"].iloc[:-2].isna().all()
    assert by_default.attrs["method"] == "between_groups"
    assert priv["method"].iloc[-2:].tolist() == ["privileged"] * 2
    assert priv.attrs["method"] == "privileged"
    pd.testing.assert_frame_equal(priv, explicit)


def test_to_overall_bootstrap_replicates_equal_the_metric():
    # each resample's gap row is the to_overall gap of that resample's counts
    rng = np.random.default_rng(9)
    n = 300
    s = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    p = (rng.uniform(size=n) < np.where(s == "a", 0.3, 0.5)).astype(int)
    report = fairness_report(y, p, sensitive_features=s, n_bootstrap=500, random_state=0,
                             metrics=["selection_rate"], method="to_overall")
    point = report.loc["difference", "selection_rate"]
    assert point == pytest.approx(fm.statistical_parity_difference(
        y, p, sensitive_features=s, method="to_overall"), rel=1e-12)
    lower = report.loc["difference", "selection_rate_lower"]
    upper = report.loc["difference", "selection_rate_upper"]
    assert 0 <= lower < point < upper


def test_method_errors():
    y, p, s = [1, 0, 1, 0], [1, 0, 0, 0], ["a", "a", "b", "b"]
    with pytest.raises(ValueError, match="method='max' is not a comparison method"):
        fairness_report(y, p, sensitive_features=s, method="max")
    with pytest.raises(ValueError, match="needs priv_group"):
        fairness_report(y, p, sensitive_features=s, method="privileged")
    with pytest.raises(ValueError, match="priv_group='a' cannot be combined with "
                                         "method='between_groups'"):
        fairness_report(y, p, sensitive_features=s, priv_group="a", method="between_groups")
