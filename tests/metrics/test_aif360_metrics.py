"""AIF360's metrics that fairkit.metrics.group adds, and fairlearn's count / mean_prediction.

Oracles: AIF360's own implementations (``ClassificationMetric`` and
``BinaryLabelDatasetMetric`` on ``BinaryLabelDataset`` objects with instance weights, and
``aif360.sklearn.metrics``), fairlearn's ``count`` / ``mean_prediction`` / ``MetricFrame``,
and small tables worked out by hand. AIF360 is imported inside the tests (test extra).
"""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

import fairkit.metrics as fm


def _aif360():
    """AIF360's dataset classes and metric modules, with its import-time chatter silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)  # aif360 logs about optional packages at import
        try:
            import aif360.sklearn.metrics as aif_sk
            from aif360.datasets import BinaryLabelDataset
            from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric
        finally:
            logging.disable(logging.NOTSET)
    return BinaryLabelDataset, BinaryLabelDatasetMetric, ClassificationMetric, aif_sk


def _data(seed, n=600, weighted=True, probs=(0.5, 0.3, 0.2)):
    """Random labels, predictions, scores, three groups 0/1/2 and weights."""
    rng = np.random.default_rng(seed)
    s = rng.choice([0, 1, 2], n, p=list(probs))
    y = (rng.uniform(size=n) < 0.25 + 0.2 * s).astype(int)  # class imbalance varies by group
    shift = np.array([0.0, 0.1, 0.2])[s]  # the model treats the groups differently
    score = np.clip(0.6 * y + shift + rng.uniform(-0.3, 0.5, n), 0.0, 1.0)
    p = (score > 0.5).astype(int)
    w = rng.uniform(0.2, 3.0, n) if weighted else np.ones(n)
    return y, p, score, s, w


def _datasets(y, p, score, s, w):
    BinaryLabelDataset, _, _, _ = _aif360()
    frame = pd.DataFrame({"s": s.astype(float), "y": y.astype(float), "w": w})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        truth = BinaryLabelDataset(df=frame, label_names=["y"], protected_attribute_names=["s"],
                                   instance_weights_name="w", favorable_label=1.0,
                                   unfavorable_label=0.0)
    pred = truth.copy(deepcopy=True)
    pred.labels = p.reshape(-1, 1).astype(float)
    pred.scores = score.reshape(-1, 1).astype(float)
    return truth, pred


def _classification_metric(y, p, score, s, w, priv=0):
    _, _, ClassificationMetric, _ = _aif360()
    truth, pred = _datasets(y, p, score, s, w)
    unpriv = [{"s": float(g)} for g in np.unique(s) if g != priv]
    return ClassificationMetric(truth, pred, unprivileged_groups=unpriv,
                                privileged_groups=[{"s": float(priv)}])


def _per_group(y, p, score, s, w, rate):
    """AIF360's value of ``rate`` in every group (each taken as 'privileged' in turn)."""
    return np.array([
        getattr(_classification_metric(y, p, score, s, w, priv=g), rate)(privileged=True)
        for g in np.unique(s)
    ])


SEEDS = [0, 1, 2]
WEIGHTED = pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])


# ------------------------------------------------------------------------------------------
# Privileged (AIF360's signed) form against ClassificationMetric
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@WEIGHTED
def test_classification_metrics_equal_aif360(seed, weighted):
    y, p, score, s, w = _data(seed, weighted=weighted)
    cm = _classification_metric(y, p, score, s, w, priv=0)
    kw = dict(sensitive_features=s, priv_group=0, sample_weight=w if weighted else None)
    cases = {
        "average_predictive_value_difference": (
            fm.average_predictive_value_difference(y, p, **kw),
            cm.average_predictive_value_difference()),
        "average_odds_error": (fm.average_odds_error(y, p, **kw),
                               cm.average_abs_odds_difference()),
        "negative_predictive_value_difference": (
            fm.negative_predictive_value_difference(y, p, **kw),
            cm.difference(cm.negative_predictive_value)),
        "negative_predictive_value_ratio": (fm.negative_predictive_value_ratio(y, p, **kw),
                                            cm.ratio(cm.negative_predictive_value)),
        "generalized_false_positive_rate_difference": (
            fm.generalized_false_positive_rate_difference(y, score, **kw),
            cm.difference(cm.generalized_false_positive_rate)),
        "generalized_false_negative_rate_difference": (
            fm.generalized_false_negative_rate_difference(y, score, **kw),
            cm.difference(cm.generalized_false_negative_rate)),
    }
    for name, (got, expected) in cases.items():
        assert got == pytest.approx(expected, abs=1e-12), name
    # the data are not degenerate: every gap is visibly non-zero
    assert all(abs(expected) > 1e-3 for _, expected in cases.values())


@pytest.mark.parametrize("seed", SEEDS)
@WEIGHTED
def test_overall_and_per_group_rates_equal_aif360(seed, weighted):
    y, p, score, s, w = _data(seed, weighted=weighted)
    sw = w if weighted else None
    cm = _classification_metric(y, p, score, s, w)
    assert fm.negative_predictive_value(y, p, sample_weight=sw) == pytest.approx(
        cm.negative_predictive_value(), abs=1e-12)
    assert fm.generalized_false_positive_rate(y, score, sample_weight=sw) == pytest.approx(
        cm.generalized_false_positive_rate(), abs=1e-12)
    assert fm.generalized_false_negative_rate(y, score, sample_weight=sw) == pytest.approx(
        cm.generalized_false_negative_rate(), abs=1e-12)
    for func, rate, pred in [
        (fm.negative_predictive_value, "negative_predictive_value", p),
        (fm.generalized_false_positive_rate, "generalized_false_positive_rate", score),
        (fm.generalized_false_negative_rate, "generalized_false_negative_rate", score),
    ]:
        got = func(y, pred, sensitive_features=s, sample_weight=sw)
        assert list(got.index) == [0, 1, 2]
        np.testing.assert_allclose(got.to_numpy(), _per_group(y, p, score, s, w, rate),
                                   rtol=0, atol=1e-12, err_msg=rate)


@pytest.mark.parametrize("seed", SEEDS)
def test_sklearn_api_of_aif360_agrees(seed):
    # aif360.sklearn.metrics: the functions named like fairkit's, on pandas with the
    # protected attribute in the index
    _, _, _, aif_sk = _aif360()
    y, p, score, s, w = _data(seed)
    ys = pd.Series(y, index=pd.Index(s, name="s"))
    kw = dict(prot_attr="s", priv_group=0, sample_weight=w)
    ours = dict(sensitive_features=s, priv_group=0, sample_weight=w)
    assert fm.average_odds_error(y, p, **ours) == pytest.approx(
        aif_sk.average_odds_error(ys, p, **kw), abs=1e-12)
    assert fm.average_predictive_value_difference(y, p, **ours) == pytest.approx(
        aif_sk.average_predictive_value_difference(ys, p, **kw), abs=1e-12)
    assert fm.class_imbalance(y, p, **ours) == pytest.approx(
        aif_sk.class_imbalance(ys, p, **kw), abs=1e-12)
    for g in (0, 1, 2):
        rows = s == g
        assert fm.generalized_false_positive_rate(y[rows], score[rows], sample_weight=w[rows]) \
            == pytest.approx(aif_sk.generalized_fpr(y[rows], score[rows],
                                                    sample_weight=w[rows]), abs=1e-12)
        assert fm.generalized_false_negative_rate(y[rows], score[rows], sample_weight=w[rows]) \
            == pytest.approx(aif_sk.generalized_fnr(y[rows], score[rows],
                                                    sample_weight=w[rows]), abs=1e-12)


def test_average_odds_error_without_priv_group_equals_aif360_two_groups():
    # AIF360 picks the first group as privileged when prot_attr is binary; the absolute
    # gaps make the choice irrelevant, and fairkit's between-groups value agrees
    _, _, _, aif_sk = _aif360()
    y, p, _, s, w = _data(5, probs=(0.6, 0.4, 0.0))
    ys = pd.Series(y, index=pd.Index(s, name="s"))
    expected = aif_sk.average_odds_error(ys, p, prot_attr="s", sample_weight=w)
    assert fm.average_odds_error(y, p, sensitive_features=s, sample_weight=w) == pytest.approx(
        expected, abs=1e-12)
    assert fm.average_odds_error(y, p, sensitive_features=s, sample_weight=w,
                                 priv_group=1) == pytest.approx(expected, abs=1e-12)


def test_intersectional_groups_equal_aif360():
    BinaryLabelDataset, _, ClassificationMetric, _ = _aif360()
    rng = np.random.default_rng(8)
    n = 800
    a, b = rng.integers(0, 2, n), rng.integers(0, 3, n)
    y = (rng.uniform(size=n) < 0.3 + 0.1 * b).astype(int)
    score = np.clip(0.5 * y + rng.uniform(-0.2, 0.6, n), 0, 1)
    p = (score > 0.5).astype(int)
    w = rng.uniform(0.5, 2.0, n)
    frame = pd.DataFrame({"a": a.astype(float), "b": b.astype(float), "y": y.astype(float),
                          "w": w})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        truth = BinaryLabelDataset(df=frame, label_names=["y"],
                                   protected_attribute_names=["a", "b"],
                                   instance_weights_name="w", favorable_label=1.0,
                                   unfavorable_label=0.0)
    pred = truth.copy(deepcopy=True)
    pred.labels, pred.scores = p.reshape(-1, 1).astype(float), score.reshape(-1, 1)
    # privileged: a = 1 and b = 2; unprivileged: everyone else
    cm = ClassificationMetric(truth, pred, privileged_groups=[{"a": 1.0, "b": 2.0}],
                              unprivileged_groups=[{"a": 0.0}, {"a": 1.0, "b": 0.0},
                                                   {"a": 1.0, "b": 1.0}])
    sf = pd.DataFrame({"a": a, "b": b})
    kw = dict(sensitive_features=sf, priv_group=(1, 2), sample_weight=w)
    assert fm.average_predictive_value_difference(y, p, **kw) == pytest.approx(
        cm.average_predictive_value_difference(), abs=1e-12)
    assert fm.generalized_false_negative_rate_difference(y, score, **kw) == pytest.approx(
        cm.difference(cm.generalized_false_negative_rate), abs=1e-12)
    assert fm.average_odds_error(y, p, **kw) == pytest.approx(
        cm.average_abs_odds_difference(), abs=1e-12)


# ------------------------------------------------------------------------------------------
# between_groups / to_overall: AIF360's per-group rates reduced in the test
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_between_groups_and_to_overall_from_aif360_group_rates(seed):
    y, p, score, s, w = _data(seed)
    overall = _classification_metric(y, p, score, s, w)
    kw = dict(sensitive_features=s, sample_weight=w)

    def spread(rate):
        v = _per_group(y, p, score, s, w, rate)
        return v.max() - v.min(), np.abs(v - getattr(overall, rate)()).max()

    ppv, for_ = spread("positive_predictive_value"), spread("false_omission_rate")
    tpr, fpr = spread("true_positive_rate"), spread("false_positive_rate")
    for k, method in enumerate(["between_groups", "to_overall"]):
        assert fm.average_predictive_value_difference(y, p, method=method, **kw) == \
            pytest.approx((ppv[k] + for_[k]) / 2, abs=1e-12)
        assert fm.average_odds_error(y, p, method=method, **kw) == pytest.approx(
            (tpr[k] + fpr[k]) / 2, abs=1e-12)
        assert fm.negative_predictive_value_difference(y, p, method=method, **kw) == \
            pytest.approx(spread("negative_predictive_value")[k], abs=1e-12)
        assert fm.generalized_false_positive_rate_difference(y, score, method=method, **kw) \
            == pytest.approx(spread("generalized_false_positive_rate")[k], abs=1e-12)
        assert fm.generalized_false_negative_rate_difference(y, score, method=method, **kw) \
            == pytest.approx(spread("generalized_false_negative_rate")[k], abs=1e-12)
    npv = _per_group(y, p, score, s, w, "negative_predictive_value")
    assert fm.negative_predictive_value_ratio(y, p, **kw) == pytest.approx(
        npv.min() / npv.max(), abs=1e-12)


def test_counts_methods_match_array_functions():
    # the count-based metrics are GroupCounts methods too (chunks merge exactly)
    y, p, _, s, w = _data(3)
    whole = fm.GroupCounts.from_arrays(y, p, sensitive_features=s, sample_weight=w)
    parts = sum(fm.GroupCounts.from_arrays(y[i:i + 150], p[i:i + 150],
                                           sensitive_features=s[i:i + 150],
                                           sample_weight=w[i:i + 150])
                for i in range(0, len(y), 150))
    for name in ("average_predictive_value_difference", "average_odds_error",
                 "negative_predictive_value_difference", "negative_predictive_value_ratio"):
        func = getattr(fm, name)
        for counts in (whole, parts):
            assert getattr(counts, name)(priv_group=1) == pytest.approx(
                func(y, p, sensitive_features=s, sample_weight=w, priv_group=1), abs=1e-12)


# ------------------------------------------------------------------------------------------
# Data-set metrics: class_imbalance, smoothed_base_rate
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@WEIGHTED
@pytest.mark.parametrize("priv", [0, 2])
def test_class_imbalance_equals_aif360(seed, weighted, priv):
    _, _, _, aif_sk = _aif360()
    y, _, _, s, w = _data(seed, weighted=weighted)
    sw = w if weighted else None
    ys = pd.Series(y, index=pd.Index(s, name="s"))
    expected = aif_sk.class_imbalance(ys, prot_attr="s", priv_group=priv, sample_weight=sw)
    got = fm.class_imbalance(y, sensitive_features=s, priv_group=priv, sample_weight=sw)
    assert got == pytest.approx(expected, abs=1e-12)


def test_class_imbalance_by_hand_and_weights_as_repeats():
    s = np.array(["M"] * 7 + ["F"] * 3)
    assert fm.class_imbalance(np.zeros(10), sensitive_features=s, priv_group="M") == \
        pytest.approx((3 - 7) / 10)
    w = np.array([1, 2, 0, 1, 1, 1, 3, 2, 2, 1])
    rep = np.repeat(np.arange(10), w)
    assert fm.class_imbalance(np.zeros(10), sensitive_features=s, priv_group="M",
                              sample_weight=w) == pytest.approx(
        fm.class_imbalance(np.zeros(len(rep)), sensitive_features=s[rep], priv_group="M"))
    assert fm.class_imbalance(np.zeros(10), sensitive_features=s, priv_group="M",
                              sample_weight=w) == pytest.approx((5 - 9) / 14)


@pytest.mark.parametrize("seed", SEEDS)
@WEIGHTED
@pytest.mark.parametrize("concentration", [0.0, 1.0, 2.5])
def test_smoothed_base_rate_equals_aif360(seed, weighted, concentration):
    _, BinaryLabelDatasetMetric, _, aif_sk = _aif360()
    y, p, score, s, w = _data(seed, weighted=weighted)
    sw = w if weighted else None
    truth, _ = _datasets(y, p, score, s, w)
    dm = BinaryLabelDatasetMetric(truth, unprivileged_groups=[{"s": 1.0}, {"s": 2.0}],
                                  privileged_groups=[{"s": 0.0}])
    expected = dm._smoothed_base_rates(truth.labels, concentration)  # sorted groups
    got = fm.smoothed_base_rate(y, sensitive_features=s, concentration=concentration,
                                sample_weight=sw)
    assert list(got.index) == [0, 1, 2]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-12)
    # the public aif360.sklearn function agrees wherever a slice holds both labels
    assert fm.smoothed_base_rate(y, concentration=concentration, sample_weight=sw) == \
        pytest.approx(aif_sk.smoothed_base_rate(y, concentration=concentration,
                                                sample_weight=sw), abs=1e-12)


def test_smoothed_base_rate_by_hand_and_string_labels():
    y = np.array(["yes", "yes", "no", "yes", "no", "no", "no"])
    s = np.array(["a", "a", "a", "a", "b", "b", "b"])
    got = fm.smoothed_base_rate(y, sensitive_features=s, pos_label="yes", concentration=2.0)
    # a: (3 + 1) / (4 + 2); b: (0 + 1) / (3 + 2) -- b has one label only; still alpha / 2
    assert got.to_dict() == pytest.approx({"a": 4 / 6, "b": 1 / 5})
    assert got.name == "smoothed_base_rate"


# ------------------------------------------------------------------------------------------
# Undefined values and hand tables
# ------------------------------------------------------------------------------------------

def test_npv_zero_division_matches_aif360_zero():
    # group 1 has no negative predictions: NPV undefined -> AIF360 returns 0
    y = np.array([1, 0, 0, 1, 1, 0, 1, 0])
    p = np.array([1, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    score = p * 0.8 + 0.1
    cm = _classification_metric(y, p, score, s, np.ones(8), priv=0)
    expected = cm.difference(cm.negative_predictive_value)  # 0 - 2/3
    assert expected == pytest.approx(-2 / 3)
    assert fm.negative_predictive_value_difference(
        y, p, sensitive_features=s, priv_group=0, zero_division=0) == pytest.approx(expected)
    assert np.isnan(fm.negative_predictive_value_difference(y, p, sensitive_features=s,
                                                            priv_group=0))
    assert fm.average_predictive_value_difference(
        y, p, sensitive_features=s, priv_group=0, zero_division=0) == pytest.approx(
        cm.average_predictive_value_difference())
    by_group = fm.negative_predictive_value(y, p, sensitive_features=s)
    assert by_group[0] == pytest.approx(2 / 3) and np.isnan(by_group[1])


def test_generalized_rates_by_hand():
    y = np.array([0, 0, 1, 1, 0, 1, 1])
    score = np.array([0.2, 0.6, 0.9, 0.5, 0.0, 1.0, 0.25])
    s = np.array(["a"] * 4 + ["b"] * 3)
    # a: GFPR = (0.2 + 0.6) / 2 = 0.4, GFNR = (0.1 + 0.5) / 2 = 0.3
    # b: GFPR = 0 / 1 = 0,             GFNR = (0 + 0.75) / 2 = 0.375
    gfpr = fm.generalized_false_positive_rate(y, score, sensitive_features=s)
    gfnr = fm.generalized_false_negative_rate(y, score, sensitive_features=s)
    assert gfpr.to_dict() == pytest.approx({"a": 0.4, "b": 0.0})
    assert gfnr.to_dict() == pytest.approx({"a": 0.3, "b": 0.375})
    assert fm.generalized_false_positive_rate_difference(
        y, score, sensitive_features=s, priv_group="a") == pytest.approx(-0.4)
    assert fm.generalized_false_negative_rate_difference(
        y, score, sensitive_features=s) == pytest.approx(0.075)
    # integer weights equal repeated rows
    w = np.array([2, 1, 0, 3, 1, 1, 2])
    rep = np.repeat(np.arange(7), w)
    assert fm.generalized_false_negative_rate_difference(
        y, score, sensitive_features=s, sample_weight=w, priv_group="b") == pytest.approx(
        fm.generalized_false_negative_rate_difference(y[rep], score[rep],
                                                      sensitive_features=s[rep],
                                                      priv_group="b"))
    # hard 0/1 scores give the ordinary rates
    p = (score > 0.5).astype(int)
    assert fm.generalized_false_positive_rate_difference(
        y, p, sensitive_features=s) == pytest.approx(
        fm.false_positive_rate_difference(y, p, sensitive_features=s))


def test_average_predictive_value_difference_sign_by_hand():
    # group A: TP=3 FP=1 FN=1 TN=3 -> PPV 3/4, FOR 1/4; group B: TP=1 FP=0 FN=2 TN=3 ->
    # PPV 1, FOR 2/5. B minus A: ((1 - 3/4) + (2/5 - 1/4)) / 2
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0] + [1, 1, 1, 0, 0, 0])
    p = np.array([1, 1, 1, 0, 1, 0, 0, 0] + [1, 0, 0, 0, 0, 0])
    s = np.array(["A"] * 8 + ["B"] * 6)
    expected = ((1 - 3 / 4) + (2 / 5 - 1 / 4)) / 2
    assert fm.average_predictive_value_difference(
        y, p, sensitive_features=s, priv_group="A") == pytest.approx(expected)
    assert fm.average_predictive_value_difference(
        y, p, sensitive_features=s, priv_group="B") == pytest.approx(-expected)
    # NPV: A 3/4, B 3/5; AIF360's definition uses FOR = 1 - NPV
    assert fm.negative_predictive_value_difference(
        y, p, sensitive_features=s, priv_group="A") == pytest.approx(3 / 5 - 3 / 4)
    # average odds error: |TPR gap| = 3/4 - 1/3, |FPR gap| = 1/4
    assert fm.average_odds_error(y, p, sensitive_features=s, priv_group="A") == \
        pytest.approx((3 / 4 - 1 / 3 + 1 / 4) / 2)


# ------------------------------------------------------------------------------------------
# fairlearn's count and mean_prediction
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_count_and_mean_prediction_equal_fairlearn(seed):
    import fairlearn.metrics as flm

    rng = np.random.default_rng(seed)
    n = 500
    y = rng.integers(0, 2, n)
    pred = rng.normal(2.0, 3.0, n)
    w = rng.uniform(0, 4, n)
    s = rng.choice(["x", "y", "z"], n, p=[0.7, 0.2, 0.1])
    assert fm.count(y, pred) == flm.count(y, pred) == n
    assert isinstance(fm.count(y, pred), int)
    assert fm.mean_prediction(y, pred) == pytest.approx(flm.mean_prediction(y, pred),
                                                        abs=1e-12)
    assert fm.mean_prediction(y, pred, sample_weight=w) == pytest.approx(
        flm.mean_prediction(y, pred, sample_weight=w), abs=1e-12)
    assert fm.mean_prediction(y, y.astype(bool)) == pytest.approx(y.mean())
    # inside fairlearn's MetricFrame, group by group
    ours = flm.MetricFrame(metrics={"count": fm.count, "mean": fm.mean_prediction},
                           y_true=y, y_pred=pred, sensitive_features=s,
                           sample_params={"mean": {"sample_weight": w}})
    theirs = flm.MetricFrame(metrics={"count": flm.count, "mean": flm.mean_prediction},
                             y_true=y, y_pred=pred, sensitive_features=s,
                             sample_params={"mean": {"sample_weight": w}})
    np.testing.assert_array_equal(ours.by_group["count"], theirs.by_group["count"])
    np.testing.assert_allclose(ours.by_group["mean"].astype(float),
                               theirs.by_group["mean"].astype(float), rtol=0, atol=1e-12)


def test_mean_prediction_zero_total_weight_is_nan():
    assert np.isnan(fm.mean_prediction([0, 1], [0.5, 1.0], sample_weight=[0, 0]))


# ------------------------------------------------------------------------------------------
# Bad inputs
# ------------------------------------------------------------------------------------------

Y = np.array([1, 0, 1, 0, 1, 0])
P = np.array([1, 1, 0, 0, 1, 0])
SC = np.array([0.9, 0.4, 0.3, 0.1, 0.8, 0.2])
S = np.array(["a", "a", "a", "b", "b", "b"])

GAPS = [
    (fm.average_predictive_value_difference, P),
    (fm.average_odds_error, P),
    (fm.negative_predictive_value_difference, P),
    (fm.generalized_false_positive_rate_difference, SC),
    (fm.generalized_false_negative_rate_difference, SC),
]


@pytest.mark.parametrize("func, pred", GAPS, ids=[f.__name__ for f, _ in GAPS])
def test_gaps_reject_unknown_priv_group_and_length_mismatch(func, pred):
    with pytest.raises(ValueError, match="priv_group='c' does not occur"):
        func(Y, pred, sensitive_features=S, priv_group="c")
    with pytest.raises(ValueError, match="y_pred has 5 samples but y_true has 6"):
        func(Y, pred[:5], sensitive_features=S)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        func(Y, pred, sensitive_features=S, sample_weight=np.ones(4))
    with pytest.raises(ValueError, match="sensitive_features"):
        func(Y, pred, sensitive_features=S[:4])
    with pytest.raises(ValueError, match="method='privileged'.*needs priv_group"):
        func(Y, pred, sensitive_features=S, method="privileged")


@pytest.mark.parametrize("func", [fm.generalized_false_positive_rate,
                                  fm.generalized_false_positive_rate_difference,
                                  fm.generalized_false_negative_rate_difference])
def test_generalized_rates_reject_bad_scores(func):
    with pytest.raises(ValueError, match=r"y_pred holds 2 score\(s\) outside \[0, 1\] "
                                         r"\(from -0\.2 to 1\.5\)"):
        func(Y, np.array([0.9, -0.2, 0.3, 1.5, 0.5, 0.1]), sensitive_features=S)
    with pytest.raises(ValueError, match="y_pred must hold numeric scores"):
        func(Y, np.array(list("abcdef")), sensitive_features=S)
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        func(Y, np.array([0.9, np.nan, 0.3, 0.5, 0.5, 0.1]), sensitive_features=S)
    with pytest.raises(ValueError, match="pos_label=2 does not occur in y_true"):
        func(Y, SC, sensitive_features=S, pos_label=2)


def test_label_metrics_reject_scores():
    with pytest.raises(ValueError, match="y_pred holds scores"):
        fm.negative_predictive_value(Y, SC)
    with pytest.raises(ValueError, match="y_pred holds scores"):
        fm.average_odds_error(Y, SC, sensitive_features=S)


def test_class_imbalance_errors():
    with pytest.raises(ValueError, match="needs priv_group"):
        fm.class_imbalance(Y, sensitive_features=S)
    with pytest.raises(ValueError, match="priv_group='c' does not occur"):
        fm.class_imbalance(Y, sensitive_features=S, priv_group="c")
    with pytest.raises(ValueError, match="priv_group=\\['a', 'b'\\] covers every group"):
        fm.class_imbalance(Y, sensitive_features=S, priv_group=["a", "b"])
    with pytest.raises(ValueError, match="y_pred has 3 samples but y_true has 6"):
        fm.class_imbalance(Y, P[:3], sensitive_features=S, priv_group="a")
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        fm.class_imbalance(Y, sensitive_features=S, priv_group="a",
                           sample_weight=[1, -1, 1, 1, 1, 1])


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, "1", True])
def test_smoothed_base_rate_rejects_bad_concentration(bad):
    with pytest.raises(ValueError, match="concentration=.* must be a finite number >= 0"):
        fm.smoothed_base_rate(Y, concentration=bad)


def test_smoothed_base_rate_other_errors():
    with pytest.raises(ValueError, match="pos_label='yes' does not occur in y_true"):
        fm.smoothed_base_rate(Y, pos_label="yes")
    with pytest.raises(ValueError, match="y_pred has 2 samples but y_true has 6"):
        fm.smoothed_base_rate(Y, P[:2])
    with pytest.raises(ValueError, match="sensitive_features"):
        fm.smoothed_base_rate(Y, sensitive_features=S[:3])


def test_count_and_mean_prediction_errors():
    with pytest.raises(ValueError, match="y_pred has 2 samples but y_true has 6"):
        fm.count(Y, P[:2])
    with pytest.raises(ValueError, match="y_pred has 2 samples but y_true has 6"):
        fm.mean_prediction(Y, P[:2])
    with pytest.raises(ValueError, match="y_pred must be numeric"):
        fm.mean_prediction(Y, np.array(list("abcdef")))
    with pytest.raises(ValueError, match="sample_weight has shape"):
        fm.mean_prediction(Y, SC, sample_weight=[1, 2])


def test_new_names_are_exported():
    from fairkit.metrics import group

    new = {"class_imbalance", "negative_predictive_value",
           "negative_predictive_value_difference", "negative_predictive_value_ratio",
           "average_predictive_value_difference", "average_odds_error",
           "generalized_false_positive_rate", "generalized_false_negative_rate",
           "generalized_false_positive_rate_difference",
           "generalized_false_negative_rate_difference", "smoothed_base_rate", "count",
           "mean_prediction"}
    assert new <= set(group.__all__) and new <= set(fm.__all__)
    for name in new:
        doc = getattr(fm, name).__doc__
        assert "Parameters\n    ----------" in doc and "{priv_group}" not in doc, name
