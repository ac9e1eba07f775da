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


# ------------------------------------------------------------------------------------------
# between-groups gap intervals are those of the named pair (issue 14: honest intervals)
# ------------------------------------------------------------------------------------------
def _two_equal_groups(rate_a=0.302, rate_b=0.303, n=2000):
    # group F selects rate_a * n of its n rows, M rate_b * n; half the rows are positives
    k_a, k_b = round(rate_a * n), round(rate_b * n)
    s = np.repeat(["F", "M"], n)
    p = np.concatenate([np.arange(n) < k_a, np.arange(n) < k_b]).astype(int)
    y = np.zeros(2 * n, dtype=int)
    y[::2] = 1
    return y, p, s


def test_gap_interval_near_parity_contains_zero_with_the_estimate_inside():
    # 604/2000 = 0.302 vs 606/2000 = 0.303 selected: the gap "M - F" is 0.001
    y, p, s = _two_equal_groups()
    report = fairness_report(y, p, sensitive_features=s, metrics=["selection_rate"],
                             n_bootstrap=2000, random_state=0)
    point, lower, upper = report.loc["difference", ["selection_rate", "selection_rate_lower",
                                                    "selection_rate_upper"]]
    assert point == pytest.approx(0.303 - 0.302, abs=1e-12)
    assert lower < 0 < upper
    width = upper - lower
    # the estimate sits in the middle, not at the lower edge as for max - min
    assert point - lower > 0.3 * width and upper - point > 0.3 * width
    # width of a difference of two proportions: 2 * 1.96 * sqrt(2 * 0.3 * 0.7 / 2000) = 0.0568
    assert width == pytest.approx(2 * 1.96 * np.sqrt(0.302 * 0.698 / 2000
                                                      + 0.303 * 0.697 / 2000), rel=0.1)
    r_point, r_lower, r_upper = report.loc["ratio", ["selection_rate", "selection_rate_lower",
                                                     "selection_rate_upper"]]
    assert r_point == pytest.approx(604 / 606, abs=1e-12)
    assert r_lower < 1 < r_upper and r_lower < r_point < r_upper
    assert report.attrs["gap_pairs"] == {"selection_rate": ("M", "F")}


def test_gap_interval_on_an_exact_tie_names_two_groups():
    y, p, s = _two_equal_groups(0.3, 0.3)
    report = fairness_report(y, p, sensitive_features=s, metrics=["selection_rate"],
                             n_bootstrap=500, random_state=1)
    assert report.loc["difference", "selection_rate"] == 0
    assert report.loc["difference", "selection_rate_lower"] < 0 \
        < report.loc["difference", "selection_rate_upper"]
    assert report.attrs["gap_pairs"]["selection_rate"] == ("F", "M")


def _cell_counts(y, p, codes, n_groups, w=None):
    w = np.ones(len(y)) if w is None else w
    return np.bincount(codes * 4 + 2 * y + p, weights=w, minlength=4 * n_groups)


def test_gap_interval_equals_the_fixed_pair_percentiles_of_the_same_draw():
    # unweighted rows are resampled as one multinomial draw of the 4 * G cell counts;
    # reproduced here from counts made by this test, with the same seed
    rng = np.random.default_rng(11)
    n = 900
    s = rng.choice(["a", "b", "c"], n, p=[0.2, 0.3, 0.5])
    y = rng.integers(0, 2, n)
    p = (rng.uniform(size=n) < np.select([s == "a", s == "b"], [0.35, 0.5], 0.45)).astype(int)
    report = fairness_report(y, p, sensitive_features=s, metrics=["selection_rate",
                                                                  "true_positive_rate"],
                             n_bootstrap=1500, random_state=4, confidence=0.9)
    codes = np.searchsorted(["a", "b", "c"], s)
    cells = _cell_counts(y, p, codes, 3)
    draws = np.random.RandomState(4).multinomial(n, cells / n, size=1500).reshape(-1, 3, 2, 2)
    rate = {"selection_rate": draws[:, :, :, 1].sum(axis=2) / draws.sum(axis=(2, 3)),
            "true_positive_rate": draws[:, :, 1, 1] / draws[:, :, 1].sum(axis=2)}
    for m in rate:
        point = report[m].to_numpy(dtype=float)[:3]
        a, b = int(np.argmax(point)), int(np.argmin(point))
        for row, rep in [("difference", rate[m][:, a] - rate[m][:, b]),
                         ("ratio", rate[m][:, b] / rate[m][:, a])]:
            expected = np.nanquantile(rep, [0.05, 0.95])
            got = report.loc[row, [f"{m}_lower", f"{m}_upper"]].to_numpy(dtype=float)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        assert report.attrs["gap_pairs"][m] == ("abc"[a], "abc"[b])


def test_weighted_gap_interval_equals_resampled_rows():
    # weighted rows are resampled as row indices (one block here: 1000 * 400 draws), the
    # same draw a plain numpy loop makes with the same seed
    rng = np.random.default_rng(12)
    n = 400
    s = rng.choice(["a", "b"], n, p=[0.4, 0.6])
    y = rng.integers(0, 2, n)
    p = (rng.uniform(size=n) < np.where(s == "a", 0.45, 0.5)).astype(int)
    w = rng.uniform(0.5, 2.0, n)
    report = fairness_report(y, p, sensitive_features=s, sample_weight=w, n_bootstrap=1000,
                             random_state=6, metrics=["selection_rate"])
    idx = np.random.RandomState(6).randint(0, n, size=(1000, n))
    in_a = s[idx] == "a"
    sel = w[idx] * p[idx]
    r_a = (sel * in_a).sum(axis=1) / (w[idx] * in_a).sum(axis=1)
    r_b = (sel * ~in_a).sum(axis=1) / (w[idx] * ~in_a).sum(axis=1)
    point = report["selection_rate"].to_numpy(dtype=float)[:2]
    hi, lo = (r_a, r_b) if point[0] > point[1] else (r_b, r_a)
    for row, rep in [("difference", hi - lo), ("ratio", lo / hi)]:
        got = report.loc[row, ["selection_rate_lower", "selection_rate_upper"]]
        np.testing.assert_allclose(got.to_numpy(dtype=float),
                                   np.quantile(rep, [0.025, 0.975]), rtol=0, atol=1e-12)


def test_gap_interval_agrees_with_an_independent_row_bootstrap():
    # a different generator (default_rng, row indices): the two percentile estimates differ
    # by Monte Carlo error only. The 2.5% quantile of 2000 replicates has standard error
    # sqrt(.025 * .975 / 2000) / phi(1.96) * sd = 0.06 sd; sd = 0.0145 here, so two
    # independent runs differ by ~0.0012 (sd of the difference); 0.005 is about 4 of those.
    # At 0.30 vs 0.31 the lower end is below 0, where max - min would fold it over.
    y, p, s = _two_equal_groups(0.30, 0.31)
    report = fairness_report(y, p, sensitive_features=s, metrics=["selection_rate"],
                             n_bootstrap=2000, random_state=0)
    rng = np.random.default_rng(2)
    reps = []
    for _ in range(2000):
        idx = rng.integers(0, len(y), len(y))
        g, q = s[idx], p[idx]
        reps.append(q[g == "M"].mean() - q[g == "F"].mean())
    expected = np.quantile(reps, [0.025, 0.975])
    got = report.loc["difference", ["selection_rate_lower", "selection_rate_upper"]]
    np.testing.assert_allclose(got.to_numpy(dtype=float), expected, atol=0.005)


def test_gap_interval_covers_parity_at_the_nominal_rate():
    # 1000 data sets of two groups with the same true rate 0.3: a 95% interval of the pair's
    # difference should contain 0 in about 95% of them (binomial sd 0.7 points at 1000
    # runs, so 93%-97% is about 3 sd); the max - min interval contains it in none
    rng = np.random.default_rng(13)
    n = 2000
    s = np.repeat(["F", "M"], n)
    y = np.tile([0, 1], n)
    hits = {"difference": 0, "ratio": 0}
    for run in range(1000):
        p = (rng.uniform(size=2 * n) < 0.3).astype(int)
        r = fairness_report(y, p, sensitive_features=s, metrics=["selection_rate"],
                            n_bootstrap=400, random_state=run)
        lo, hi = r.loc["difference", ["selection_rate_lower", "selection_rate_upper"]]
        hits["difference"] += lo <= 0 <= hi
        lo, hi = r.loc["ratio", ["selection_rate_lower", "selection_rate_upper"]]
        hits["ratio"] += lo <= 1 <= hi
    assert 0.93 <= hits["difference"] / 1000 <= 0.97
    assert 0.93 <= hits["ratio"] / 1000 <= 0.97


def test_privileged_and_to_overall_intervals_are_of_the_gap_itself():
    # the signed privileged gap is a fixed contrast already: unchanged, percentile of
    # (pooled unprivileged - privileged) over the same multinomial draw
    rng = np.random.default_rng(14)
    n = 600
    s = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    p = (rng.uniform(size=n) < np.where(s == "a", 0.3, 0.5)).astype(int)
    report = fairness_report(y, p, sensitive_features=s, priv_group="a", n_bootstrap=800,
                             random_state=2, metrics=["selection_rate"])
    assert "gap_pairs" not in report.attrs
    cells = _cell_counts(y, p, np.searchsorted(["a", "b", "c"], s), 3)
    d = np.random.RandomState(2).multinomial(n, cells / n, size=800).reshape(-1, 3, 2, 2)
    sel, tot = d[:, :, :, 1].sum(axis=2), d.sum(axis=(2, 3))
    signed = sel[:, 1:].sum(axis=1) / tot[:, 1:].sum(axis=1) - sel[:, 0] / tot[:, 0]
    got = report.loc["difference", ["selection_rate_lower", "selection_rate_upper"]]
    np.testing.assert_allclose(got.to_numpy(dtype=float), np.quantile(signed, [0.025, 0.975]),
                               rtol=0, atol=1e-12)


# -- groups come from the metric frame, under the group metrics' rules ----------------------


def test_report_rows_agree_with_the_metric_frame_of_the_same_groups():
    # fairness_report's groups are GroupMetricFrame's non-empty cells: F-b has no rows
    s = ["F", "F", "F", "M", "M", "M", "M", "M"]
    r = ["a", "a", "a", "a", "b", "b", "b", "b"]
    y = [1, 0, 1, 1, 0, 1, 1, 0]
    yhat = [1, 1, 1, 0, 0, 1, 0, 0]
    report = fairness_report(y, yhat, sensitive_features=pd.DataFrame({"s": s, "r": r}),
                             metrics=["accuracy", "selection_rate"])
    # by hand: F-a acc 2/3 sel 3/3; M-a acc 0/1 sel 0/1; M-b acc 3/4 sel 1/4
    assert list(report.index[:-2]) == ["F, a", "M, a", "M, b"]
    assert report.index.name == "s, r"
    np.testing.assert_allclose(report["accuracy"].iloc[:3], [2 / 3, 0, 3 / 4])
    np.testing.assert_allclose(report["selection_rate"].iloc[:3], [1, 0, 1 / 4])
    assert report["n_rows"].iloc[:3].tolist() == [3, 1, 4]


def test_report_orders_categorical_groups_by_their_categories():
    sex = pd.Series(pd.Categorical(["lo", "hi", "hi", "mid", "lo", "mid"],
                                   categories=["lo", "mid", "hi", "unused"], ordered=True),
                    name="level")
    report = fairness_report([1, 0, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0], sensitive_features=sex,
                             metrics=["selection_rate"])
    # category order, not alphabetical; an unused category is no group
    assert list(report.index[:-2]) == ["lo", "mid", "hi"]
    assert report.index.name == "level"
    np.testing.assert_allclose(report["selection_rate"].iloc[:3], [1 / 2, 0, 1])


def test_report_names_an_unnamed_attribute_as_the_group_metrics_do():
    report = fairness_report([1, 0, 1, 0], [1, 1, 0, 0], sensitive_features=list("aabb"),
                             metrics=["accuracy"])
    assert report.index.name == "sensitive_feature"
    two = fairness_report([1, 0, 1, 0], [1, 1, 0, 0],
                          sensitive_features=np.array([list("aabb"), list("xyxy")]).T,
                          metrics=["accuracy"])
    assert two.index.name == "sensitive_feature_0, sensitive_feature_1"


def test_report_refuses_continuous_columns_before_forming_their_combinations():
    # two columns of 50,000 distinct values each would make 2.5e9 combinations
    rng = np.random.RandomState(0)
    n = 50_000
    sf = pd.DataFrame({"income": rng.permutation(n) + 0.5, "age": rng.permutation(n) + 0.5})
    y = rng.randint(0, 2, n)
    with pytest.raises(ValueError, match="column 'income' looks continuous"):
        fairness_report(y, y, sensitive_features=sf)


@pytest.mark.parametrize("columns", [["x", "x"], [0, "0"]])
def test_report_refuses_attribute_columns_with_the_same_name(columns):
    sf = pd.DataFrame([["a", "b"], ["c", "d"], ["a", "b"]], columns=columns)
    with pytest.raises(ValueError, match=r"sensitive_features has several columns named "
                                         r"\['(x|0)'\]"):
        fairness_report([1, 0, 1], [1, 0, 0], sensitive_features=sf)
