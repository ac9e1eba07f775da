"""Individual and distributional metrics: hand values and parity with AIF360."""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from fairkit.metrics.individual import (
    between_group_coefficient_of_variation,
    between_group_generalized_entropy_error,
    between_group_theil_index,
    coefficient_of_variation,
    conditional_demographic_disparity,
    consistency_score,
    df_bias_amplification,
    generalized_entropy_error,
    generalized_entropy_index,
    kl_divergence,
    smoothed_edf,
    theil_index,
)

logging.getLogger().setLevel(logging.ERROR)  # aif360 logs missing optional deps at import
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    aif = pytest.importorskip("aif360.sklearn.metrics")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 400
    race = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    sex = rng.choice(["F", "M"], size=n)
    y_true = (rng.random(n) < np.where(race == "a", 0.6, 0.4)).astype(int)
    y_pred = (rng.random(n) < np.where(sex == "M", 0.55, 0.35)).astype(int)
    X = rng.normal(size=(n, 3))
    w = rng.uniform(0.5, 2.0, size=n)
    return dict(race=race, sex=sex, y_true=y_true, y_pred=y_pred, X=X, w=w)


def _aif_series(y, race=None, sex=None):
    """AIF360's sklearn API reads protected attributes from the index of y_true."""
    levels = {k: v for k, v in (("race", race), ("sex", sex)) if v is not None}
    idx = pd.MultiIndex.from_arrays(list(levels.values()), names=list(levels))
    return pd.Series(y, index=idx)


# ----------------------------------------------------------------- hand values


def test_gei_hand_values():
    b = np.array([0.0, 1.0, 1.0, 2.0])  # mean 1
    # alpha=2: (1/(4*2)) * sum(b^2 - 1) = (1/8) * (-1 + 0 + 0 + 3) = 0.25
    assert generalized_entropy_index(b, alpha=2) == pytest.approx(0.25)
    # alpha=1: (1/4) * (0 + 0 + 0 + 2 ln 2) = ln(2)/2
    assert theil_index(b) == pytest.approx(np.log(2) / 2)
    # alpha=3: (1/(4*6)) * sum(b^3 - 1) = (1/24) * (-1 + 0 + 0 + 7) = 0.25
    assert generalized_entropy_index(b, alpha=3) == pytest.approx(0.25)
    # CV = population std / mean = sqrt(0.5) / 1
    assert coefficient_of_variation(b) == pytest.approx(np.sqrt(0.5))
    # alpha=0, mean log deviation: b = [1, 4] -> mu = 2.5, -(ln 0.4 + ln 1.6)/2
    assert generalized_entropy_index([1.0, 4.0], alpha=0) == pytest.approx(
        -(np.log(0.4) + np.log(1.6)) / 2
    )
    assert generalized_entropy_index([1.0, 0.0], alpha=0) == np.inf
    assert generalized_entropy_index(np.full(5, 3.0), alpha=2) == 0.0


def test_gei_weights_equal_repetition():
    b = np.array([0.0, 1.0, 2.0])
    w = np.array([1, 3, 2])
    rep = np.repeat(b, w)
    for alpha in (0.5, 1, 2, 3):
        assert generalized_entropy_index(b, alpha=alpha, sample_weight=w) == pytest.approx(
            generalized_entropy_index(rep, alpha=alpha)
        )


def test_generalized_entropy_error_hand():
    y_true = [1, 1, 0, 0]
    y_pred = [0, 1, 0, 1]  # b = [0, 1, 1, 2]
    assert generalized_entropy_error(y_true, y_pred) == pytest.approx(0.25)
    # pos_label flips the benefit: b = [2, 1, 1, 0], same GE(2)
    assert generalized_entropy_error(y_true, y_pred, pos_label=0) == pytest.approx(0.25)


def test_between_group_hand():
    y_true = np.array([1, 1, 0, 0])
    y_pred = np.array([0, 1, 0, 1])  # b = [0, 1, 1, 2]
    g = ["a", "a", "b", "b"]  # group means 0.5, 1.5 -> b' = [.5, .5, 1.5, 1.5], mu = 1
    # GE(2) = (1/8) * (2*(0.25-1) + 2*(2.25-1)) = 0.125
    assert between_group_generalized_entropy_error(
        y_true, y_pred, sensitive_features=g) == pytest.approx(0.125)
    assert between_group_theil_index(y_true, y_pred, sensitive_features=g) == pytest.approx(
        (0.5 * np.log(0.5) + 1.5 * np.log(1.5)) / 2
    )
    assert between_group_coefficient_of_variation(
        y_true, y_pred, sensitive_features=g) == pytest.approx(0.5)
    # priv_group with three groups pools the two unprivileged ones
    g3 = ["a", "a", "b", "c"]
    assert between_group_generalized_entropy_error(
        y_true, y_pred, sensitive_features=g3, priv_group="a") == pytest.approx(0.125)


def test_consistency_hand():
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]])
    y = np.array([1, 1, 0, 0, 0, 0])
    # k=3: cluster 1 neighbourhood mean 2/3 for each of its points:
    # |1-2/3| + |1-2/3| + |0-2/3| = 4/3; cluster 2: 0  -> 1 - (4/3)/6 = 7/9
    assert consistency_score(X, y, n_neighbors=3) == pytest.approx(7 / 9)
    assert consistency_score(X, np.zeros(6), n_neighbors=3) == 1.0


def test_smoothed_edf_hand():
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    g = np.array(["a"] * 4 + ["b"] * 4)
    # a: (3 + 0.5)/(4 + 1) = 0.7, b: (1 + 0.5)/(4 + 1) = 0.3
    expected = max(np.log(0.7 / 0.3), np.log(0.7 / 0.3))
    assert smoothed_edf(y, sensitive_features=g) == pytest.approx(expected)
    # unsmoothed: 0.75 vs 0.25 -> ln 3
    assert smoothed_edf(y, sensitive_features=g, concentration=0) == pytest.approx(np.log(3))
    # equal rates -> 0
    assert smoothed_edf([1, 0, 1, 0], sensitive_features=["a", "a", "b", "b"]) == 0.0
    yp = np.array([1, 0, 1, 0, 1, 0, 1, 0])  # equal rates: amplification = -eps(data)
    assert df_bias_amplification(y, yp, sensitive_features=g) == pytest.approx(-expected)


def test_kl_hand():
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    g = np.array(["p"] * 4 + ["u"] * 4)
    P, Q = [0.25, 0.75], [0.75, 0.25]
    assert kl_divergence(y, sensitive_features=g, priv_group="p") == pytest.approx(entropy(P, Q))
    assert kl_divergence(y, sensitive_features=g) == pytest.approx(entropy(P, Q))
    # three groups, worst ordered pair; scipy.stats.entropy as the oracle
    y3 = np.array([1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0])
    g3 = np.repeat(["a", "b", "c"], 4)
    dists = {"a": [0.75, 0.25], "b": [0.5, 0.5], "c": [0.25, 0.75]}
    worst = max(entropy(dists[i], dists[j]) for i in dists for j in dists)
    assert kl_divergence(y3, sensitive_features=g3) == pytest.approx(worst)
    # privileged "a" vs pooled b+c: [4/8 zeros... ] -> P_a = [.75,.25], P_u = [3/8, 5/8]
    assert kl_divergence(y3, sensitive_features=g3, priv_group="a") == pytest.approx(
        entropy([0.75, 0.25], [3 / 8, 5 / 8])
    )


def test_cdd_hand_simpson():
    # Berkeley-style toy: women rejected more overall, but not within departments
    sex = np.array(["F"] * 6 + ["M"] * 6)
    dept = np.array(["A"] * 2 + ["B"] * 4 + ["A"] * 4 + ["B"] * 2)
    # A: F 1/2 accepted, M 2/4 accepted; B: F 1/4, M 1/2... use explicit outcomes
    y = np.array([1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0])
    # overall: accepted F 2, M 3 (total 5); rejected F 4, M 3 (total 7)
    # DD_F = 4/7 - 2/5 = 6/35
    assert conditional_demographic_disparity(
        y, sensitive_features=sex, group="F") == pytest.approx(4 / 7 - 2 / 5)
    # dept A (6 people): acc F1 M2, rej F1 M2 -> DD_F = 1/3 - 1/3 = 0
    # dept B (6 people): acc F1 M1, rej F3 M1 -> DD_F = 3/4 - 1/2 = 1/4
    # CDD_F = (6*0 + 6*1/4)/12 = 1/8
    assert conditional_demographic_disparity(
        y, sensitive_features=sex, strata=dept, group="F") == pytest.approx(1 / 8)
    # without a group: sum_g n_g DD_g / n; overall DD_M = 3/7 - 3/5
    assert conditional_demographic_disparity(y, sensitive_features=sex) == pytest.approx(
        (6 * (4 / 7 - 2 / 5) + 6 * (3 / 7 - 3 / 5)) / 12
    )


# ----------------------------------------------------------------- parity with AIF360


@pytest.mark.parametrize("alpha", [0.5, 1, 2, 3])
def test_gei_matches_aif360(data, alpha):
    b = 1.0 + data["y_pred"] - data["y_true"]
    assert generalized_entropy_index(b, alpha=alpha) == pytest.approx(
        aif.generalized_entropy_index(b, alpha=alpha))
    assert generalized_entropy_error(data["y_true"], data["y_pred"], alpha=alpha) == \
        pytest.approx(aif.generalized_entropy_error(data["y_true"], data["y_pred"], alpha=alpha))


def test_theil_cv_match_aif360(data):
    b = 1.0 + data["y_pred"] - data["y_true"]
    assert theil_index(b) == pytest.approx(aif.theil_index(b))
    assert coefficient_of_variation(b) == pytest.approx(aif.coefficient_of_variation(b))


@pytest.mark.parametrize("alpha", [1, 2, 3])
def test_between_group_matches_aif360(data, alpha):
    yt = _aif_series(data["y_true"], data["race"])
    expected = aif.between_group_generalized_entropy_error(
        yt, data["y_pred"], prot_attr="race", alpha=alpha)
    got = between_group_generalized_entropy_error(
        data["y_true"], data["y_pred"], sensitive_features=data["race"], alpha=alpha)
    assert got == pytest.approx(expected)


def test_consistency_matches_aif360(data):
    for k in (1, 5, 10):
        assert consistency_score(data["X"], data["y_pred"], n_neighbors=k) == pytest.approx(
            aif.consistency_score(data["X"], data["y_pred"], n_neighbors=k))


@pytest.mark.parametrize("use_pred", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_smoothed_edf_matches_aif360_intersectional(data, use_pred, weighted):
    yt = _aif_series(data["y_true"], data["race"], data["sex"])
    yp = data["y_pred"] if use_pred else None
    w = data["w"] if weighted else None
    expected = aif.smoothed_edf(yt, yp, prot_attr=["race", "sex"], sample_weight=w)
    sf = pd.DataFrame({"race": data["race"], "sex": data["sex"]})
    got = smoothed_edf(data["y_true"], yp, sensitive_features=sf, sample_weight=w)
    assert got == pytest.approx(expected)
    assert df_bias_amplification(data["y_true"], data["y_pred"], sensitive_features=sf) == \
        pytest.approx(aif.df_bias_amplification(yt, data["y_pred"], prot_attr=["race", "sex"]))


@pytest.mark.parametrize("use_pred", [False, True])
def test_kl_matches_aif360(data, use_pred):
    yt = _aif_series(data["y_true"], sex=data["sex"])
    yp = data["y_pred"] if use_pred else None
    for priv in ("F", "M"):
        expected = aif.kl_divergence(yt, yp, prot_attr="sex", priv_group=priv)
        got = kl_divergence(data["y_true"], yp, sensitive_features=data["sex"], priv_group=priv)
        assert got == pytest.approx(expected)


@pytest.mark.parametrize("use_pred", [False, True])
@pytest.mark.parametrize("pos_label", [0, 1])
def test_cdd_matches_aif360(data, use_pred, pos_label):
    yt = _aif_series(data["y_true"], data["race"], data["sex"])
    yp = data["y_pred"] if use_pred else None
    expected = aif.conditional_demographic_disparity(
        yt, yp, prot_attr=["race", "sex"], pos_label=pos_label, sample_weight=data["w"])
    sf = np.column_stack([data["race"], data["sex"]])
    got = conditional_demographic_disparity(
        data["y_true"], yp, sensitive_features=sf, pos_label=pos_label, sample_weight=data["w"])
    assert got == pytest.approx(expected)


# ----------------------------------------------------------------- invariants and bad input


def test_row_order_invariance(data):
    perm = np.random.default_rng(1).permutation(len(data["y_true"]))
    yt, yp, race = data["y_true"], data["y_pred"], data["race"]
    for fn in (smoothed_edf, kl_divergence, conditional_demographic_disparity):
        assert fn(yt, yp, sensitive_features=race) == pytest.approx(
            fn(yt[perm], yp[perm], sensitive_features=race[perm]))


def test_bad_inputs():
    with pytest.raises(ValueError, match="sensitive_features has 3 rows"):
        smoothed_edf([1, 0], sensitive_features=["a", "b", "c"])
    with pytest.raises(ValueError, match="only 1 group"):
        kl_divergence([1, 0], sensitive_features=["a", "a"])
    with pytest.raises(ValueError, match="missing values"):
        kl_divergence([1, 0], sensitive_features=["a", None])
    with pytest.raises(ValueError, match="priv_group='z' does not occur"):
        kl_divergence([1, 0], sensitive_features=["a", "b"], priv_group="z")
    with pytest.raises(ValueError, match="group='z'|priv_group='z'"):
        conditional_demographic_disparity([1, 0], sensitive_features=["a", "b"], group="z")
    with pytest.raises(ValueError, match="concentration"):
        smoothed_edf([1, 0], sensitive_features=["a", "b"], concentration=-1)
    with pytest.raises(ValueError, match="non-negative"):
        generalized_entropy_index([1.0, -1.0])
    with pytest.raises(ValueError, match="alpha"):
        generalized_entropy_index([1.0, 2.0], alpha="two")
    with pytest.raises(ValueError, match="mean 0"):
        generalized_entropy_index([0.0, 0.0])
    with pytest.raises(ValueError, match="n_neighbors=5 exceeds"):
        consistency_score(np.zeros((3, 1)), [0, 1, 0])
    with pytest.raises(ValueError, match="n_neighbors must be a positive integer"):
        consistency_score(np.zeros((3, 1)), [0, 1, 0], n_neighbors=0)
    with pytest.raises(ValueError, match="sample_weight"):
        smoothed_edf([1, 0], sensitive_features=["a", "b"], sample_weight=[1, -1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        generalized_entropy_error([1, 0, 1], [1, 0])
