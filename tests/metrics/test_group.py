"""Group fairness metrics (fairkit/metrics/group.py).

Oracles: hand-computed tables, fairlearn (between-groups gaps) and aif360.sklearn.metrics
(privileged-vs-unprivileged gaps), on the same inputs, with and without sample weights and
for intersectional groups.
"""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

import fairkit.metrics as fm

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # aif360 logs about optional 'ot' at import
    import aif360.sklearn.metrics as aif
    logging.disable(logging.NOTSET)
import fairlearn.metrics as flm

# ------------------------------------------------------------------------------------------
# Hand-computed table
# ------------------------------------------------------------------------------------------
# group A (8 rows): TP=3 FN=1 FP=1 TN=3     group B (6 rows): TP=1 FN=2 FP=0 TN=3
#   A: sel = 4/8 = .5, TPR = 3/4, FPR = 1/4, FNR = 1/4, prec = 3/4, acc = 6/8, bal = .75
#   B: sel = 1/6,      TPR = 1/3, FPR = 0,   FNR = 2/3, prec = 1,   acc = 4/6, bal = 2/3
HAND_Y = np.array([1, 1, 1, 1, 0, 0, 0, 0] + [1, 1, 1, 0, 0, 0])
HAND_P = np.array([1, 1, 1, 0, 1, 0, 0, 0] + [1, 0, 0, 0, 0, 0])
HAND_S = np.array(["A"] * 8 + ["B"] * 6)

HAND_CASES = {
    # name: (priv_group="A": B minus A, between groups)
    "statistical_parity_difference": (1 / 6 - 1 / 2, 1 / 2 - 1 / 6),
    "disparate_impact_ratio": ((1 / 6) / (1 / 2), (1 / 6) / (1 / 2)),
    "equal_opportunity_difference": (1 / 3 - 3 / 4, 3 / 4 - 1 / 3),
    "equal_opportunity_ratio": ((1 / 3) / (3 / 4), (1 / 3) / (3 / 4)),
    "false_positive_rate_difference": (0 - 1 / 4, 1 / 4),
    "false_negative_rate_difference": (2 / 3 - 1 / 4, 2 / 3 - 1 / 4),
    "true_negative_rate_difference": (1 - 3 / 4, 1 / 4),
    "average_odds_difference": (((1 / 3 - 3 / 4) + (0 - 1 / 4)) / 2, ((5 / 12) + 1 / 4) / 2),
    "equalized_odds_difference": (5 / 12, 5 / 12),
    "equalized_odds_ratio": (0.0, 0.0),  # FPR_B = 0
    "predictive_parity_difference": (1 - 3 / 4, 1 / 4),
    "predictive_parity_ratio": (1 / (3 / 4), (3 / 4) / 1),
    "accuracy_difference": (4 / 6 - 6 / 8, 6 / 8 - 4 / 6),
    "accuracy_ratio": ((4 / 6) / (6 / 8), (4 / 6) / (6 / 8)),
    "balanced_accuracy_difference": (2 / 3 - 3 / 4, 3 / 4 - 2 / 3),
    "balanced_accuracy_ratio": ((2 / 3) / (3 / 4), (2 / 3) / (3 / 4)),
}


@pytest.mark.parametrize("name", sorted(HAND_CASES))
def test_hand_computed_table(name):
    func = getattr(fm, name)
    priv_value, between_value = HAND_CASES[name]
    got_priv = func(HAND_Y, HAND_P, sensitive_features=HAND_S, priv_group="A")
    got_between = func(HAND_Y, HAND_P, sensitive_features=HAND_S)
    assert got_priv == pytest.approx(priv_value, abs=1e-12)
    assert got_between == pytest.approx(between_value, abs=1e-12)


def test_hand_selection_rate_overall_and_by_group():
    assert fm.selection_rate(HAND_Y, HAND_P) == pytest.approx(5 / 14)
    by_group = fm.selection_rate(HAND_Y, HAND_P, sensitive_features=HAND_S)
    assert by_group.to_dict() == pytest.approx({"A": 0.5, "B": 1 / 6})
    # weighted overall rate: weight 3 on every B row -> (4 + 3) / (8 + 18)
    w = np.where(HAND_S == "B", 3.0, 1.0)
    assert fm.selection_rate(HAND_Y, HAND_P, sample_weight=w) == pytest.approx(7 / 26)


def test_hand_string_labels_and_pos_label():
    y = np.where(HAND_Y == 1, "good", "bad")
    p = np.where(HAND_P == 1, "good", "bad")
    got = fm.statistical_parity_difference(y, p, sensitive_features=HAND_S, pos_label="good")
    assert got == pytest.approx(1 / 2 - 1 / 6)
    # the other class as favourable label: selection rates 1/2 and 5/6
    got_bad = fm.statistical_parity_difference(
        y, p, sensitive_features=HAND_S, pos_label="bad", priv_group="A"
    )
    assert got_bad == pytest.approx(5 / 6 - 1 / 2)


def test_priv_group_list_pools_groups():
    # three groups, privileged = {A, C}: unpriv = B alone
    s = np.array(["A"] * 4 + ["B"] * 4 + ["C"] * 4)
    p = np.array([1, 1, 1, 0] + [1, 0, 0, 0] + [1, 1, 0, 0])
    y = np.ones(12, dtype=int)
    got = fm.statistical_parity_difference(y, p, sensitive_features=s, priv_group=["A", "C"])
    assert got == pytest.approx(1 / 4 - 5 / 8)
    # between groups: max 3/4 - min 1/4
    assert fm.statistical_parity_difference(y, p, sensitive_features=s) == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------
# Parity with fairlearn (between groups) and AIF360 (privileged vs unprivileged)
# ------------------------------------------------------------------------------------------


def _data(seed, n=400, intersectional=False, weighted=False):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    race = rng.choice(["b", "o", "w"], n, p=[0.2, 0.2, 0.6])
    # dependence on the attribute so the gaps are not all ~0
    base = 0.3 + 0.2 * (sex == "M") + 0.1 * (race == "w")
    y = (rng.uniform(size=n) < base).astype(int)
    p = np.where(rng.uniform(size=n) < 0.75, y, 1 - y)
    p = np.where((sex == "F") & (rng.uniform(size=n) < 0.15), 0, p)
    sf = pd.DataFrame({"sex": sex, "race": race}) if intersectional else pd.Series(
        race, name="race"
    )
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    return y, p, sf, w


FAIRLEARN_FUNCS = {
    "demographic_parity_difference": flm.demographic_parity_difference,
    "demographic_parity_ratio": flm.demographic_parity_ratio,
    "statistical_parity_difference": flm.demographic_parity_difference,
    "disparate_impact_ratio": flm.demographic_parity_ratio,
    "equal_opportunity_difference": flm.equal_opportunity_difference,
    "equal_opportunity_ratio": flm.equal_opportunity_ratio,
    "equalized_odds_difference": flm.equalized_odds_difference,
    "equalized_odds_ratio": flm.equalized_odds_ratio,
    "true_positive_rate_difference": flm.true_positive_rate_difference,
    "true_positive_rate_ratio": flm.true_positive_rate_ratio,
    "true_negative_rate_difference": flm.true_negative_rate_difference,
    "true_negative_rate_ratio": flm.true_negative_rate_ratio,
    "false_positive_rate_difference": flm.false_positive_rate_difference,
    "false_positive_rate_ratio": flm.false_positive_rate_ratio,
    "false_negative_rate_difference": flm.false_negative_rate_difference,
    "false_negative_rate_ratio": flm.false_negative_rate_ratio,
    "selection_rate_difference": flm.selection_rate_difference,
    "selection_rate_ratio": flm.selection_rate_ratio,
}


def _metric_frame(func, y, p, sf, w):
    params = None if w is None else {"sample_weight": w}
    return flm.MetricFrame(metrics=func, y_true=y, y_pred=p, sensitive_features=sf,
                           sample_params=params)


# metrics fairlearn has no function for: through MetricFrame.difference()/.ratio()
FAIRLEARN_FRAMES = {
    "accuracy_difference": (skm.accuracy_score, "difference"),
    "accuracy_ratio": (skm.accuracy_score, "ratio"),
    "balanced_accuracy_difference": (skm.balanced_accuracy_score, "difference"),
    "balanced_accuracy_ratio": (skm.balanced_accuracy_score, "ratio"),
    "predictive_parity_difference": (skm.precision_score, "difference"),
    "predictive_parity_ratio": (skm.precision_score, "ratio"),
}


def _fairlearn_value(name, y, p, sf, w):
    if name in FAIRLEARN_FUNCS:
        kw = {} if w is None else {"sample_weight": w}
        return FAIRLEARN_FUNCS[name](y, p, sensitive_features=sf, **kw)
    func, how = FAIRLEARN_FRAMES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(_metric_frame(func, y, p, sf, w), how)()


@pytest.mark.parametrize("intersectional", [False, True], ids=["race", "sex_x_race"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", sorted([*FAIRLEARN_FUNCS, *FAIRLEARN_FRAMES]))
def test_matches_fairlearn_between_groups(name, weighted, intersectional):
    y, p, sf, w = _data(1, intersectional=intersectional, weighted=weighted)
    expected = _fairlearn_value(name, y, p, sf, w)
    got = getattr(fm, name)(y, p, sensitive_features=sf, sample_weight=w, zero_division=0)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", ["equalized_odds_difference", "equalized_odds_ratio"])
def test_matches_fairlearn_agg_mean(name):
    y, p, sf, w = _data(2, intersectional=True, weighted=True)
    expected = FAIRLEARN_FUNCS[name](y, p, sensitive_features=sf, sample_weight=w, agg="mean")
    got = getattr(fm, name)(y, p, sensitive_features=sf, sample_weight=w, agg="mean")
    assert got == pytest.approx(expected, rel=1e-10)


def test_average_odds_between_groups_is_fairlearn_eo_mean():
    y, p, sf, w = _data(3, weighted=True)
    expected = flm.equalized_odds_difference(y, p, sensitive_features=sf, sample_weight=w,
                                             agg="mean")
    got = fm.average_odds_difference(y, p, sensitive_features=sf, sample_weight=w)
    assert got == pytest.approx(expected, rel=1e-10)


def _aif_y(y, sf):
    frame = sf.to_frame() if isinstance(sf, pd.Series) else sf
    return pd.Series(y, index=pd.MultiIndex.from_frame(frame))


def _aif_difference(func, **kw):
    return lambda yt, p, **k: aif.difference(func, yt, p, **kw, **k)


AIF_FUNCS = {
    "statistical_parity_difference": aif.statistical_parity_difference,
    "disparate_impact_ratio": aif.disparate_impact_ratio,
    "equal_opportunity_difference": aif.equal_opportunity_difference,
    "average_odds_difference": aif.average_odds_difference,
    "true_positive_rate_difference": _aif_difference(aif.sensitivity_score),
    "true_negative_rate_difference": _aif_difference(aif.specificity_score),
    "false_positive_rate_difference": _aif_difference(aif.false_positive_rate_error),
    "false_negative_rate_difference": _aif_difference(aif.false_negative_rate_error),
    "predictive_parity_difference": _aif_difference(skm.precision_score),
    "accuracy_difference": lambda yt, p, pos_label, **k: aif.difference(
        skm.accuracy_score, yt, p, **k
    ),
    "balanced_accuracy_difference": lambda yt, p, pos_label, **k: aif.difference(
        skm.balanced_accuracy_score, yt, p, **k
    ),
    "predictive_parity_ratio": lambda yt, p, **k: aif.ratio(skm.precision_score, yt, p, **k),
    "equal_opportunity_ratio": lambda yt, p, **k: aif.ratio(skm.recall_score, yt, p, **k),
}


@pytest.mark.parametrize("intersectional", [False, True], ids=["race", "sex_x_race"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", sorted(AIF_FUNCS))
def test_matches_aif360_privileged(name, weighted, intersectional):
    y, p, sf, w = _data(4, intersectional=intersectional, weighted=weighted)
    prot = list(sf.columns) if intersectional else "race"
    priv = ("M", "w") if intersectional else "w"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = AIF_FUNCS[name](_aif_y(y, sf), p, prot_attr=prot, priv_group=priv,
                                   pos_label=1, sample_weight=w)
    got = getattr(fm, name)(y, p, sensitive_features=sf, priv_group=priv, sample_weight=w)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_base_rates_when_y_pred_is_none_match_aif360():
    y, _, sf, w = _data(5, weighted=True)
    yt = _aif_y(y, sf)
    expected_spd = aif.statistical_parity_difference(yt, prot_attr="race", priv_group="w",
                                                     sample_weight=w)
    expected_di = aif.disparate_impact_ratio(yt, prot_attr="race", priv_group="w",
                                             sample_weight=w)
    assert fm.statistical_parity_difference(
        y, sensitive_features=sf, priv_group="w", sample_weight=w
    ) == pytest.approx(expected_spd, rel=1e-10)
    assert fm.disparate_impact_ratio(
        y, sensitive_features=sf, priv_group="w", sample_weight=w
    ) == pytest.approx(expected_di, rel=1e-10)


def test_wildcard_priv_group_pools_intersectional_groups():
    # ("M", None) = all men; must equal the single-attribute metric on sex
    y, p, sf, w = _data(6, intersectional=True, weighted=True)
    got = fm.equal_opportunity_difference(y, p, sensitive_features=sf, priv_group=("M", None),
                                          sample_weight=w)
    expected = fm.equal_opportunity_difference(y, p, sensitive_features=sf["sex"],
                                               priv_group="M", sample_weight=w)
    assert got == pytest.approx(expected, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aif_value = aif.equal_opportunity_difference(_aif_y(y, sf), p, prot_attr="sex",
                                                     priv_group="M", sample_weight=w)
    assert got == pytest.approx(aif_value, rel=1e-10)


# ------------------------------------------------------------------------------------------
# Empty denominators
# ------------------------------------------------------------------------------------------


def test_empty_denominator_rule():
    # group B has no true positives in y_true -> its TPR is undefined
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([1, 0, 0, 1, 0, 1, 1, 0])
    s = np.array(["A"] * 4 + ["B"] * 4)
    # default: nan rate; only one group with a defined TPR -> nan gap
    assert np.isnan(fm.equal_opportunity_difference(y, p, sensitive_features=s))
    assert np.isnan(fm.equal_opportunity_difference(y, p, sensitive_features=s,
                                                    priv_group="A"))
    # zero_division=0 reproduces fairlearn: TPR_B := 0, gap = 1/2 - 0
    got = fm.equal_opportunity_difference(y, p, sensitive_features=s, zero_division=0)
    assert got == pytest.approx(0.5)
    assert got == pytest.approx(flm.equal_opportunity_difference(y, p, sensitive_features=s))
    # FPR is defined for both: A 1/2, B 2/4 -> 0; balanced accuracy of B = its TNR (sklearn)
    assert fm.false_positive_rate_difference(y, p, sensitive_features=s) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn: "y_pred contains classes not in y_true"
        expected_bal = skm.balanced_accuracy_score(y[:4], p[:4]) - skm.balanced_accuracy_score(
            y[4:], p[4:]
        )
        got_bal = fm.balanced_accuracy_difference(y, p, sensitive_features=s, priv_group="B")
    assert got_bal == pytest.approx(expected_bal)


def test_ratio_with_zero_denominator():
    y = np.array([1, 0, 1, 0])
    p = np.array([0, 0, 1, 0])
    s = np.array(["A", "A", "B", "B"])
    # priv A selects nobody: unpriv / 0 -> zero_division
    assert np.isnan(fm.disparate_impact_ratio(y, p, sensitive_features=s, priv_group="A"))
    assert fm.disparate_impact_ratio(y, p, sensitive_features=s, priv_group="A",
                                     zero_division=0.0) == 0.0
    # between groups: min 0 / max 1/2 = 0 (defined)
    assert fm.disparate_impact_ratio(y, p, sensitive_features=s) == 0.0
    # nobody selected anywhere: 0 / 0
    assert np.isnan(fm.disparate_impact_ratio(y, np.zeros(4, int) + 0 * p,
                                              sensitive_features=s))


# ------------------------------------------------------------------------------------------
# Multiclass and regression
# ------------------------------------------------------------------------------------------


def test_multiclass_pos_label_and_per_class_match_fairlearn_one_vs_rest():
    rng = np.random.default_rng(7)
    n = 300
    classes = np.array(["high", "low", "mid"])
    y = rng.choice(classes, n)
    p = np.where(rng.uniform(size=n) < 0.6, y, rng.choice(classes, n))
    s = rng.choice(["a", "b", "c"], n)
    w = rng.uniform(0.5, 2.0, n)
    result = fm.per_class(fm.equal_opportunity_difference, y, p, sensitive_features=s,
                          sample_weight=w, zero_division=0)
    assert list(result.index) == list(classes)
    assert result.name == "equal_opportunity_difference"
    for c in classes:
        expected = flm.equal_opportunity_difference(
            (y == c).astype(int), (p == c).astype(int), sensitive_features=s, sample_weight=w
        )
        single = fm.equal_opportunity_difference(y, p, sensitive_features=s, pos_label=c,
                                                 sample_weight=w, zero_division=0)
        assert result[c] == pytest.approx(expected, rel=1e-10)
        assert single == pytest.approx(expected, rel=1e-10)
    by_name = fm.per_class("statistical_parity_difference", y, p, sensitive_features=s,
                           priv_group="a")
    for c in classes:
        assert by_name[c] == pytest.approx(
            fm.statistical_parity_difference(y, p, sensitive_features=s, priv_group="a",
                                             pos_label=c)
        )


def test_per_class_rejects_unknown_metric():
    with pytest.raises(ValueError, match="not a fairkit group metric"):
        fm.per_class(skm.accuracy_score, [0, 1], [0, 1], sensitive_features=[0, 1])


def test_mean_prediction_difference_and_ratio():
    y_pred = np.array([1.0, 3.0, 2.0, 2.0, 6.0])
    s = np.array(["a", "a", "b", "b", "b"])
    w = np.array([1.0, 3.0, 1.0, 1.0, 2.0])
    # weighted means: a = (1 + 9) / 4 = 2.5, b = (2 + 2 + 12) / 4 = 4
    y_true = np.zeros(5)
    assert fm.mean_prediction_difference(y_true, y_pred, sensitive_features=s,
                                         sample_weight=w) == pytest.approx(1.5)
    assert fm.mean_prediction_difference(y_true, y_pred, sensitive_features=s,
                                         priv_group="b", sample_weight=w) == pytest.approx(-1.5)
    assert fm.mean_prediction_ratio(y_true, y_pred, sensitive_features=s,
                                    sample_weight=w) == pytest.approx(2.5 / 4)
    mf = flm.MetricFrame(metrics=flm.mean_prediction, y_true=y_true, y_pred=y_pred,
                         sensitive_features=s, sample_params={"sample_weight": w})
    assert fm.mean_prediction_difference(y_true, y_pred, sensitive_features=s,
                                         sample_weight=w) == pytest.approx(mf.difference())
    with pytest.raises(ValueError, match="numeric"):
        fm.mean_prediction_difference(y_true, np.array(list("abcde"), dtype=object),
                                      sensitive_features=s)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


def test_length_mismatch():
    with pytest.raises(ValueError, match="y_pred has 3 samples but y_true has 4"):
        fm.statistical_parity_difference([1, 0, 1, 0], [1, 0, 1], sensitive_features=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="sensitive_features has 3 rows"):
        fm.statistical_parity_difference([1, 0, 1, 0], [1, 0, 1, 0], sensitive_features=[0, 0, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        fm.equalized_odds_difference([1, 0, 1, 0], [1, 0, 1, 0],
                                     sensitive_features=[0, 0, 1, 1], sample_weight=[1, 2])


def test_nan_in_sensitive_features():
    with pytest.raises(ValueError, match="sensitive_features contains missing values"):
        fm.disparate_impact_ratio([1, 0, 1, 0], [1, 0, 1, 0],
                                  sensitive_features=["a", None, "b", "b"])
    with pytest.raises(ValueError, match="missing values"):
        fm.disparate_impact_ratio([1, 0, 1, 0], [1, 0, 1, 0],
                                  sensitive_features=[1.0, np.nan, 2.0, 2.0])


def test_nan_in_labels():
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        fm.statistical_parity_difference([1, 0, 1, 0], [1.0, np.nan, 1.0, 0.0],
                                         sensitive_features=[0, 0, 1, 1])


def test_single_group():
    with pytest.raises(ValueError, match="only 1 group"):
        fm.statistical_parity_difference([1, 0, 1], [1, 0, 0], sensitive_features=["a"] * 3)
    with pytest.raises(ValueError, match="only 1 group"):
        fm.mean_prediction_difference([1, 0, 1], [1, 0, 0], sensitive_features=["a"] * 3)


def test_priv_group_absent_or_covering_everything():
    with pytest.raises(ValueError, match="priv_group='z' does not occur"):
        fm.statistical_parity_difference([1, 0, 1, 0], [1, 0, 1, 0],
                                         sensitive_features=list("aabb"), priv_group="z")
    with pytest.raises(ValueError, match="covers every group"):
        fm.statistical_parity_difference([1, 0, 1, 0], [1, 0, 1, 0],
                                         sensitive_features=list("aabb"),
                                         priv_group=["a", "b"])


def test_pos_label_absent():
    with pytest.raises(ValueError, match="pos_label='yes' occurs in neither y_true nor y_pred"):
        fm.statistical_parity_difference([1, 0, 1, 0], [1, 0, 1, 0],
                                         sensitive_features=list("aabb"), pos_label="yes")
    with pytest.raises(ValueError, match="pos_label=2"):
        fm.equalized_odds_difference([1, 0, 1, 0], [1, 0, 1, 0],
                                     sensitive_features=list("aabb"), pos_label=2)


def test_bad_agg():
    with pytest.raises(ValueError, match="agg"):
        fm.equalized_odds_difference([1, 0, 1, 0], [1, 0, 1, 0],
                                     sensitive_features=list("aabb"), agg="median")


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

binary_data = st.integers(min_value=4, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n),
        st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n),
    )
).filter(lambda t: len(set(t[2])) == 2 and 1 in t[0] + t[1])


@settings(max_examples=60, deadline=None)
@given(binary_data)
def test_spd_antisymmetric_when_swapping_privileged(data):
    y, p, s, w = data
    a = fm.statistical_parity_difference(y, p, sensitive_features=s, priv_group="a",
                                         sample_weight=w)
    b = fm.statistical_parity_difference(y, p, sensitive_features=s, priv_group="b",
                                         sample_weight=w)
    assert a == pytest.approx(-b, abs=1e-12)
    assert abs(a) == pytest.approx(
        fm.statistical_parity_difference(y, p, sensitive_features=s, sample_weight=w),
        abs=1e-12,
    )


@settings(max_examples=60, deadline=None)
@given(binary_data)
def test_di_is_one_iff_equal_selection_rates(data):
    y, p, s, _ = data
    rates = fm.selection_rate(y, p, sensitive_features=s)
    di = fm.disparate_impact_ratio(y, p, sensitive_features=s, priv_group="a")
    if rates["a"] == 0:
        assert np.isnan(di)
    else:
        # exact rationals: compare the counts, not floats
        p_arr, s_arr = np.asarray(p), np.asarray(s)
        ka, na = p_arr[s_arr == "a"].sum(), (s_arr == "a").sum()
        kb, nb = p_arr[s_arr == "b"].sum(), (s_arr == "b").sum()
        equal = ka * nb == kb * na
        assert (abs(di - 1.0) < 1e-12) == equal


@settings(max_examples=40, deadline=None)
@given(binary_data, st.randoms(use_true_random=False))
def test_invariant_to_row_order(data, rnd):
    y, p, s, w = (np.asarray(v) for v in data)
    order = np.arange(len(y))
    rnd.shuffle(order)
    for name in ("equalized_odds_difference", "average_odds_difference",
                 "predictive_parity_ratio", "balanced_accuracy_difference"):
        func = getattr(fm, name)
        a = func(y, p, sensitive_features=s, sample_weight=w, priv_group="a")
        b = func(y[order], p[order], sensitive_features=s[order], sample_weight=w[order],
                 priv_group="a")
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12)


def test_boolean_labels():
    y = np.array([True, False, True, False, True, True])
    p = np.array([True, True, False, False, True, False])
    s = ["a", "a", "a", "b", "b", "b"]
    # selection rates of True: a 2/3, b 1/3; of False: a 1/3, b 2/3
    assert fm.statistical_parity_difference(y, p, sensitive_features=s, priv_group="a") == (
        pytest.approx(1 / 3 - 2 / 3))
    assert fm.statistical_parity_difference(y, p, sensitive_features=s, priv_group="a",
                                            pos_label=False) == pytest.approx(2 / 3 - 1 / 3)
    with pytest.raises(ValueError, match="pos_label=2"):
        fm.statistical_parity_difference(y, p, sensitive_features=s, pos_label=2)


# ------------------------------------------------------------------------------------------
# method=: "between_groups", "to_overall" (fairlearn) and "privileged" (AIF360)
# ------------------------------------------------------------------------------------------
# HAND table, all rows pooled: selection 5/14, TPR 4/7.
#   to_overall difference = max |r_g - r_all|; ratio = min over g of min(r_g/r_all, r_all/r_g)
HAND_TO_OVERALL = {
    # |1/2 - 5/14| = 1/7, |1/6 - 5/14| = 4/21
    "statistical_parity_difference": 4 / 21,
    # (1/2) / (5/14) = 7/5 -> 5/7; (1/6) / (5/14) = 7/15
    "disparate_impact_ratio": 7 / 15,
    # |3/4 - 4/7| = 5/28, |1/3 - 4/7| = 5/21
    "equal_opportunity_difference": 5 / 21,
    # (3/4) / (4/7) = 21/16 -> 16/21; (1/3) / (4/7) = 7/12
    "equal_opportunity_ratio": 7 / 12,
}


@pytest.mark.parametrize("name", sorted(HAND_TO_OVERALL))
def test_hand_computed_to_overall(name):
    got = getattr(fm, name)(HAND_Y, HAND_P, sensitive_features=HAND_S, method="to_overall")
    assert got == pytest.approx(HAND_TO_OVERALL[name], abs=1e-12)


@pytest.mark.parametrize("name", sorted(HAND_CASES))
def test_explicit_method_gives_the_default_numbers(name):
    func = getattr(fm, name)
    priv_value, between_value = HAND_CASES[name]
    assert func(HAND_Y, HAND_P, sensitive_features=HAND_S,
                method="between_groups") == pytest.approx(between_value, abs=1e-12)
    assert func(HAND_Y, HAND_P, sensitive_features=HAND_S, priv_group="A",
                method="privileged") == pytest.approx(priv_value, abs=1e-12)


def _fairlearn_value_method(name, y, p, sf, w, method, **kw):
    if name in FAIRLEARN_FUNCS:
        if w is not None:
            kw["sample_weight"] = w
        return FAIRLEARN_FUNCS[name](y, p, sensitive_features=sf, method=method, **kw)
    func, how = FAIRLEARN_FRAMES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(_metric_frame(func, y, p, sf, w), how)(method=method)


@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("intersectional", [False, True], ids=["race", "sex_x_race"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name", sorted([*FAIRLEARN_FUNCS, *FAIRLEARN_FRAMES]))
def test_matches_fairlearn_method(name, weighted, intersectional, method):
    y, p, sf, w = _data(1, intersectional=intersectional, weighted=weighted)
    expected = _fairlearn_value_method(name, y, p, sf, w, method)
    got = getattr(fm, name)(y, p, sensitive_features=sf, sample_weight=w, zero_division=0,
                            method=method)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert expected > 0  # the data have a gap, so the comparison is not 0 == 0


@pytest.mark.parametrize("intersectional", [False, True], ids=["race", "sex_x_race"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_to_overall_agg_mean_and_average_odds_match_fairlearn(weighted, intersectional):
    y, p, sf, w = _data(2, intersectional=intersectional, weighted=weighted)
    for name in ("equalized_odds_difference", "equalized_odds_ratio"):
        expected = _fairlearn_value_method(name, y, p, sf, w, "to_overall", agg="mean")
        got = getattr(fm, name)(y, p, sensitive_features=sf, sample_weight=w,
                                method="to_overall", agg="mean")
        assert got == pytest.approx(expected, rel=1e-10)
    expected = _fairlearn_value_method("equalized_odds_difference", y, p, sf, w, "to_overall",
                                       agg="mean")
    got = fm.average_odds_difference(y, p, sensitive_features=sf, sample_weight=w,
                                     method="to_overall")
    assert got == pytest.approx(expected, rel=1e-10)


def test_to_overall_differs_from_between_groups():
    # guards against "to_overall" silently computing the between-groups number
    y, p, sf, w = _data(1, intersectional=True, weighted=True)
    between = fm.statistical_parity_difference(y, p, sensitive_features=sf, sample_weight=w)
    overall = fm.statistical_parity_difference(y, p, sensitive_features=sf, sample_weight=w,
                                               method="to_overall")
    assert overall < between


@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
def test_per_class_method_matches_fairlearn_one_vs_rest(method):
    rng = np.random.default_rng(7)
    n = 300
    classes = np.array(["high", "low", "mid"])
    y = rng.choice(classes, n)
    p = np.where(rng.uniform(size=n) < 0.6, y, rng.choice(classes, n))
    s = rng.choice(["a", "b", "c"], n)
    w = rng.uniform(0.5, 2.0, n)
    result = fm.per_class(fm.equalized_odds_ratio, y, p, sensitive_features=s,
                          sample_weight=w, zero_division=0, method=method)
    for c in classes:
        expected = flm.equalized_odds_ratio(
            (y == c).astype(int), (p == c).astype(int), sensitive_features=s,
            sample_weight=w, method=method,
        )
        assert result[c] == pytest.approx(expected, rel=1e-10)


def test_per_class_rejects_class_absent_from_both():
    y, p, s = ["a", "b", "a", "b"], ["a", "a", "b", "b"], [0, 0, 1, 1]
    with pytest.raises(ValueError, match=r"includes \['z'\], which occur\(s\) in neither"):
        fm.per_class("statistical_parity_difference", y, p, sensitive_features=s,
                     classes=["a", "b", "z"])


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_mean_prediction_to_overall_matches_fairlearn(weighted):
    rng = np.random.default_rng(12)
    n = 250
    s = rng.choice(["a", "b", "c"], n)
    y_pred = rng.gamma(2.0, 1.0, n) + (s == "a")
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    mf = flm.MetricFrame(metrics=flm.mean_prediction, y_true=np.zeros(n), y_pred=y_pred,
                         sensitive_features=s,
                         sample_params=None if w is None else {"sample_weight": w})
    for method in ("between_groups", "to_overall"):
        kw = dict(sensitive_features=s, sample_weight=w, method=method)
        assert fm.mean_prediction_difference(np.zeros(n), y_pred, **kw) == pytest.approx(
            mf.difference(method=method), rel=1e-10)
        assert fm.mean_prediction_ratio(np.zeros(n), y_pred, **kw) == pytest.approx(
            mf.ratio(method=method), rel=1e-10)


def test_mean_prediction_to_overall_hand():
    # weighted means a = 2.5, b = 4, all rows (10 + 16) / 8 = 3.25
    y_pred = np.array([1.0, 3.0, 2.0, 2.0, 6.0])
    s = np.array(["a", "a", "b", "b", "b"])
    w = np.array([1.0, 3.0, 1.0, 1.0, 2.0])
    kw = dict(sensitive_features=s, sample_weight=w, method="to_overall")
    assert fm.mean_prediction_difference(np.zeros(5), y_pred, **kw) == pytest.approx(0.75)
    # 2.5 / 3.25 = 10/13; 4 / 3.25 = 16/13 -> 13/16
    assert fm.mean_prediction_ratio(np.zeros(5), y_pred, **kw) == pytest.approx(10 / 13)


def test_to_overall_undefined_rates():
    # group B has no positives: TPR_B undefined -> skipped; one defined group -> nan
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([1, 0, 0, 1, 0, 1, 1, 0])
    s = np.array(["A"] * 4 + ["B"] * 4)
    assert np.isnan(fm.equal_opportunity_difference(y, p, sensitive_features=s,
                                                    method="to_overall"))
    # zero_division=0 as fairlearn: TPR_A 1/2, TPR_B 0, overall 1/2 -> gap 1/2, ratio 0
    kw = dict(sensitive_features=s, method="to_overall", zero_division=0)
    assert fm.equal_opportunity_difference(y, p, **kw) == pytest.approx(0.5)
    assert fm.equal_opportunity_difference(y, p, **kw) == pytest.approx(
        flm.equal_opportunity_difference(y, p, sensitive_features=s, method="to_overall"))
    assert fm.equal_opportunity_ratio(y, p, **kw) == 0.0
    # nobody selected anywhere: every group ratio 0 / 0 -> zero_division
    zeros = np.zeros(8, dtype=int)
    assert np.isnan(fm.disparate_impact_ratio(y, zeros, sensitive_features=s,
                                              method="to_overall"))
    assert fm.disparate_impact_ratio(y, zeros, **kw) == 0.0


METHOD_FUNCS = {
    "group metric": lambda **kw: fm.statistical_parity_difference(
        [1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=list("aabb"), **kw),
    "agg metric": lambda **kw: fm.equalized_odds_ratio(
        [1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=list("aabb"), **kw),
    "base rates": lambda **kw: fm.disparate_impact_ratio(
        [1, 0, 1, 0], sensitive_features=list("aabb"), **kw),
    "per_class": lambda **kw: fm.per_class(
        "accuracy_difference", [1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=list("aabb"),
        **kw),
    "mean_prediction": lambda **kw: fm.mean_prediction_ratio(
        [1, 0, 1, 0], [1.0, 2.0, 3.0, 4.0], sensitive_features=list("aabb"), **kw),
}


@pytest.mark.parametrize("where", sorted(METHOD_FUNCS))
def test_method_errors(where):
    call = METHOD_FUNCS[where]
    with pytest.raises(ValueError, match="method='worst' is not a comparison method"):
        call(method="worst")
    with pytest.raises(ValueError, match="method='privileged' .* needs priv_group"):
        call(method="privileged")
    for method in ("between_groups", "to_overall"):
        with pytest.raises(ValueError, match=rf"priv_group='a' cannot be combined with "
                                             rf"method='{method}'"):
            call(priv_group="a", method=method)
    # None and "privileged" with a priv_group are the same signed comparison
    np.testing.assert_allclose(np.asarray(call(priv_group="a", method="privileged")),
                               np.asarray(call(priv_group="a")), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(binary_data)
def test_to_overall_between_half_and_all_of_the_range(data):
    # the overall selection rate is a weighted mean of the group rates, so it lies in
    # [min, max]: the largest distance to it is at least half the range and at most all of it
    y, p, s, w = data
    between = fm.statistical_parity_difference(y, p, sensitive_features=s, sample_weight=w)
    overall = fm.statistical_parity_difference(y, p, sensitive_features=s, sample_weight=w,
                                               method="to_overall")
    assert between / 2 - 1e-12 <= overall <= between + 1e-12
