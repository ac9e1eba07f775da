"""Tests for fairkit.metrics.dependence: values from dcor, scikit-learn's KernelDensity and
hand computation."""

import dcor
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist
from scipy.stats import entropy
from sklearn.neighbors import KernelDensity

from fairkit._protected import is_continuous_attribute, resolve_protected
from fairkit.metrics import (
    concatenated_distance_covariance,
    distance_correlation,
    distance_covariance,
    encode_protected_attributes,
    jensen_shannon_divergence,
    joint_distance_covariance,
    unfairness_ratio,
)


@pytest.fixture
def mixed():
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "race": rng.choice(["a", "b", "c"], n),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.normal(40, 12, n),
        }
    )
    y = rng.random(n) + 0.3 * (frame["race"] == "a")
    return y.to_numpy(), frame


def _manual_encoding(frame):
    race = pd.get_dummies(frame["race"]).to_numpy(float)
    sex = (frame["sex"] == "M").to_numpy(float)[:, None]  # any 0/1 coding: same distances
    age = ((frame["age"] - frame["age"].mean()) / frame["age"].std(ddof=0)).to_numpy()[:, None]
    return race, sex, age


def test_encoding_distances(mixed):
    _, frame = mixed
    enc = encode_protected_attributes(frame, categorical=False)
    assert enc.kinds == ["categorical", "binary", "continuous"]
    race = enc.blocks[0]
    d = cdist(race, race)
    same = frame["race"].to_numpy()[:, None] == frame["race"].to_numpy()[None, :]
    np.testing.assert_allclose(d[~same], np.sqrt(2))
    np.testing.assert_allclose(d[same], 0.0)
    sex = enc.blocks[1][:, 0]
    np.testing.assert_allclose(np.abs(sex[:, None] - sex[None, :])[
        frame["sex"].to_numpy()[:, None] != frame["sex"].to_numpy()[None, :]], 1.0)
    age = enc.blocks[2][:, 0]
    assert abs(age.mean()) < 1e-12 and abs(age.std() - 1) < 1e-12
    rng_age = encode_protected_attributes(frame[["age"]], continuous_scaling="range",
                                          categorical=False).matrix
    assert rng_age.min() == 0.0 and rng_age.max() == 1.0
    ten = encode_protected_attributes(frame[["age"]], continuous_scaling=10.0,
                                      categorical=False).matrix[:, 0]
    np.testing.assert_allclose(ten, (frame["age"] - frame["age"].mean()) / 10)


def test_integer_coded_categorical_forced():
    codes = np.array([0, 1, 2, 0, 1, 2])
    # three numeric levels are three groups (the package's one rule), unless told otherwise
    assert encode_protected_attributes(codes).kinds == ["categorical"]
    assert encode_protected_attributes(codes, categorical=False).kinds == ["continuous"]
    enc = encode_protected_attributes(codes, categorical=True)
    assert enc.kinds == ["categorical"] and enc.matrix.shape == (6, 3)
    enc = encode_protected_attributes(pd.DataFrame({"r": codes, "x": codes * 1.5}),
                                      categorical=["r"])
    assert enc.kinds == ["categorical", "categorical"]


def test_auto_kind_agrees_with_resolve_protected():
    # issue item 2: an integer-coded race with 5 levels is 5 groups for both the encoder
    # and the group resolver; a numeric column with 150 levels is continuous for both.
    race = np.tile(np.arange(5), 30)  # 150 rows, 5 levels
    enc = encode_protected_attributes(race)
    assert enc.kinds == ["categorical"] and enc.matrix.shape == (150, 5)
    # one-hot: two different races at distance sqrt(2), equal races at 0
    d = cdist(enc.matrix, enc.matrix)
    np.testing.assert_allclose(d[race[:, None] != race[None, :]], np.sqrt(2))
    np.testing.assert_allclose(d[race[:, None] == race[None, :]], 0.0)
    prot = resolve_protected(None, sensitive_features=race, require_groups=False)
    assert prot.groups is not None and prot.groups.n_groups == 5
    assert not is_continuous_attribute(pd.Series(race))

    level150 = np.arange(150) * 0.5
    assert encode_protected_attributes(level150).kinds == ["continuous"]
    assert is_continuous_attribute(pd.Series(level150))
    prot = resolve_protected(None, sensitive_features=level150, require_groups=False)
    assert prot.groups is None  # continuous: no groups
    with pytest.raises(ValueError, match="looks continuous"):
        resolve_protected(None, sensitive_features=level150, require_groups=True)
    # the boundary: 100 levels are groups, 101 are a number
    assert encode_protected_attributes(np.arange(100.0)).kinds == ["categorical"]
    assert encode_protected_attributes(np.arange(101.0)).kinds == ["continuous"]


@pytest.mark.parametrize("statistic", ["v", "u"])
def test_dcov_matches_dcor_mixed(mixed, statistic):
    y, frame = mixed
    race, sex, age = _manual_encoding(frame)
    s = np.hstack([race, sex, age])
    if statistic == "v":
        expected = dcor.distance_covariance_sqr(y, s)
        expected_cor = dcor.distance_correlation_sqr(y, s)
    else:
        expected = dcor.u_distance_covariance_sqr(y, s)
        expected_cor = dcor.u_distance_correlation_sqr(y, s)
    got = distance_covariance(None, y, sensitive_features=frame, statistic=statistic,
                                      categorical=False)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-14)
    got_cc = concatenated_distance_covariance(None, y, sensitive_features=frame,
                                              statistic=statistic,
                                      categorical=False)
    assert got_cc == pytest.approx(expected, rel=1e-10, abs=1e-14)
    got_cor = distance_correlation(None, y, sensitive_features=frame, statistic=statistic,
                                      categorical=False)
    assert got_cor == pytest.approx(expected_cor, rel=1e-10, abs=1e-14)


def test_dcov_continuous_1d_and_sqrt(mixed):
    y, frame = mixed
    age = frame["age"].to_numpy()
    z = (age - age.mean()) / age.std()
    assert distance_covariance(None, y, sensitive_features=age, categorical=False) == pytest.approx(
        dcor.distance_covariance_sqr(y, z), rel=1e-10)
    assert distance_covariance(None, y, sensitive_features=age, squared=False,
        categorical=False) == pytest.approx(
        dcor.distance_covariance(y, z), rel=1e-10)
    assert distance_correlation(None, y, sensitive_features=age, squared=False,
        categorical=False) == pytest.approx(
        dcor.distance_correlation(y, z), rel=1e-10)
    with pytest.raises(ValueError, match="squared=False"):
        distance_covariance(None, y, sensitive_features=age, statistic="u", squared=False)


def test_dcor_independent_vs_dependent():
    rng = np.random.default_rng(1)
    s = rng.normal(size=400)
    assert distance_correlation(None, s**2, sensitive_features=s) > 0.2  # non-linear dependence
    assert distance_correlation(None, rng.normal(size=400), sensitive_features=s,
                                statistic="u") < 0.02


def _naive_centre(d):
    return d - d.mean(0, keepdims=True) - d.mean(1, keepdims=True) + d.mean()


@pytest.mark.parametrize("statistic", ["v", "u"])
def test_jdcov_two_variables_equals_dcov(mixed, statistic):
    y, frame = mixed
    race = frame[["race"]]
    expected = distance_covariance(None, y, sensitive_features=race, statistic=statistic)
    got = joint_distance_covariance(None, y, sensitive_features=race, statistic=statistic)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-14)
    age = frame["age"].to_numpy()
    z = (age - age.mean()) / age.std()
    oracle = (dcor.distance_covariance_sqr(y, z) if statistic == "v"
              else dcor.u_distance_covariance_sqr(y, z))
    got = joint_distance_covariance(None, y, sensitive_features=age, statistic=statistic,
                                    categorical=False)
    assert got == pytest.approx(oracle, rel=1e-10, abs=1e-14)


def test_jdcov_three_variables_expansion(mixed):
    # JdCov(c) = c * sum of pairwise dCov^2 + third-order term -(1/n^2) sum A_y A_1 A_2
    # (Chakraborty & Zhang 2019, eq. for d = 3); pairwise terms from dcor.
    y, frame = mixed
    race, sex, age = _manual_encoding(frame)
    pairs = (dcor.distance_covariance_sqr(y, race) + dcor.distance_covariance_sqr(y, age)
             + dcor.distance_covariance_sqr(race, age))
    a_y = _naive_centre(np.abs(y[:, None] - y[None, :]))
    a_r = _naive_centre(cdist(race, race))
    a_a = _naive_centre(np.abs(age - age.T))
    third = -np.mean(a_y * a_r * a_a)
    for c in (1.0, 2.5):
        got = joint_distance_covariance(None, y, sensitive_features=frame[["race", "age"]], c=c,
                                        categorical=False)
        assert got == pytest.approx(c * pairs + third, rel=1e-9)


def test_jdcov_floor_from_dependent_attributes():
    # Identical attributes: JdCov(y, S, S) >= dCov^2(S, S) > 0 even for y independent of S.
    rng = np.random.default_rng(2)
    s = rng.normal(size=200)
    y = rng.normal(size=200)
    floor = dcor.distance_covariance_sqr(s, s)
    got = joint_distance_covariance(None, y, sensitive_features=np.c_[s, s * 2 + 1])
    assert got > 0.8 * floor


def test_jsd_identical_is_zero():
    y = np.linspace(0, 1, 50)
    yy = np.r_[y, y]
    groups = np.r_[np.zeros(50), np.ones(50)]
    value = jensen_shannon_divergence(None, yy, sensitive_features=groups)
    assert value == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("sizes", [(50, 50), (30, 90)])
def test_jsd_disjoint_reaches_entropy_bound(sizes):
    rng = np.random.default_rng(3)
    y = np.r_[rng.random(sizes[0]) * 0.1, 10 + rng.random(sizes[1]) * 0.1]
    g = np.r_[np.zeros(sizes[0]), np.ones(sizes[1])]
    pi = np.array(sizes) / sum(sizes)
    bound = -(pi * np.log(pi)).sum()
    got = jensen_shannon_divergence(None, y, sensitive_features=g)
    assert got == pytest.approx(bound, rel=1e-9)
    assert jensen_shannon_divergence(None, y, sensitive_features=g, weights="uniform") == \
        pytest.approx(np.log(2), rel=1e-9)
    assert jensen_shannon_divergence(None, y, sensitive_features=g, base=2, weights="uniform") == \
        pytest.approx(1.0, rel=1e-9)


def test_jsd_matches_sklearn_kde():
    rng = np.random.default_rng(4)
    g = rng.choice(["a", "b", "c"], 300, p=[0.5, 0.3, 0.2])
    y = rng.beta(2, 5, 300) + 0.15 * (g == "a")
    grid = np.linspace(y.min() - 0.45, y.max() + 0.45, 1000)
    dens, pis = [], []
    for level in ["a", "b", "c"]:
        kde = KernelDensity(bandwidth=0.15).fit(y[g == level][:, None])
        p = np.exp(kde.score_samples(grid[:, None]))
        dens.append(p / p.sum())
        pis.append(np.mean(g == level))
    dens, pis = np.array(dens), np.array(pis)
    expected = entropy(pis @ dens) - sum(pi * entropy(p) for pi, p in zip(pis, dens, strict=True))
    got = jensen_shannon_divergence(None, y, sensitive_features=g)
    assert got == pytest.approx(expected, rel=2e-3)
    assert 0.005 < got < 0.3


def test_jsd_intersectional_groups():
    # Two attributes: only the (1, 1) subgroup differs; JSD over 4 subgroups > 0, while
    # each subgroup-internal JSD on one attribute alone is smaller.
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    y = rng.random(400) * 0.2 + 0.6 * (a & b)
    both = jensen_shannon_divergence(None, y, sensitive_features=np.c_[a, b])
    only_a = jensen_shannon_divergence(None, y, sensitive_features=a)
    assert both > only_a > 0


def test_uf_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    g = np.array(["a", "a", "b", "b"])
    # group means 1.5, 3.5 around 2.5: between = 1; Var(y) = 1.25
    assert unfairness_ratio(None, y, sensitive_features=g) == pytest.approx(0.8)
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    g = np.array([0, 0, 0, 0, 1, 1])
    # proportional: means 2.5, 5.5, pooled 3.5: between = 2/3*1 + 1/3*4 = 2; Var = 35/12
    assert unfairness_ratio(None, y, sensitive_features=g) == pytest.approx(2 / (35 / 12))
    # uniform: mean of means 4, between = (2.25 + 2.25) / 2
    assert unfairness_ratio(None, y, sensitive_features=g, weights="uniform") == \
        pytest.approx(2.25 / (35 / 12))
    assert unfairness_ratio(None, np.ones(6), sensitive_features=g) == 0.0
    # 0.1 is not exact in binary: the mean of the copies differs from 0.1 by rounding
    assert unfairness_ratio(None, np.full(6, 0.1), sensitive_features=g) == 0.0


def test_constant_predictions():
    g = np.array([0, 1] * 10)
    y = np.full(20, 0.3)
    assert distance_covariance(None, y, sensitive_features=g) == 0.0
    assert distance_correlation(None, y, sensitive_features=g) == 0.0
    assert distance_correlation(None, y, sensitive_features=g, statistic="u") == 0.0
    assert jensen_shannon_divergence(None, y, sensitive_features=g) == pytest.approx(0, abs=1e-12)


def test_predictions_constant_up_to_round_off_have_no_dependence():
    # issue 14 item 13: dcor's fast path divided rounding noise by rounding noise and
    # returned -1.70, 2.91, ... for a model shrunk to a constant
    rng = np.random.default_rng(0)
    g = rng.integers(0, 2, 200)
    values = []
    for _ in range(20):
        y = np.full(200, 0.3) + rng.normal(0, 1e-17, 200)
        for statistic in ("v", "u"):
            values.append(distance_correlation(None, y, sensitive_features=g,
                                               statistic=statistic))
        values.append(distance_correlation(None, y, sensitive_features=g, squared=False))
    assert values == [0.0] * 60
    # a spread of 4e-17 split exactly along the groups is still round-off, not dependence
    y = np.full(200, 0.3)
    y[g == 1] += 4e-17
    assert np.ptp(y) > 0
    assert distance_correlation(None, y, sensitive_features=g) == 0.0
    # the threshold is relative: 1e-9 of a magnitude of 1e6 is round-off too ...
    y = 1e6 + 1e-4 * (g == 1)
    assert distance_correlation(None, y, sensitive_features=g) == 0.0
    assert unfairness_ratio(None, y, sensitive_features=g) == 0.0
    # ... while a real spread of 1e-6 still gives dcor's value, 1 for y a function of g
    y = 0.3 + 1e-6 * (g == 1)
    assert distance_correlation(None, y, sensitive_features=g) == pytest.approx(
        dcor.distance_correlation_sqr(y, g.astype(float)))
    assert distance_correlation(None, y, sensitive_features=g) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(-17, -3))
def test_distance_correlation_stays_in_unit_interval(seed, exponent):
    spread = 10.0**exponent
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, 60)
    y = 0.3 + spread * rng.normal(size=60) + spread * g
    value = distance_correlation(None, y, sensitive_features=g)
    assert 0.0 <= value <= 1.0
    if spread < 1e-11:  # range ~1e-10, below 1e-9 * magnitude 1: constant up to round-off
        assert value == 0.0


def test_bad_inputs():
    y = np.arange(6.0)
    with pytest.raises(ValueError, match="missing values"):
        distance_covariance(None, y, sensitive_features=[0, 1, np.nan, 1, 0, 1])
    with pytest.raises(ValueError, match="same length"):
        distance_covariance(None, y, sensitive_features=[0, 1, 1])
    with pytest.raises(ValueError, match="at least 4 samples"):
        distance_covariance(None, y[:3], sensitive_features=[0, 1, 1], statistic="u")
    with pytest.raises(ValueError, match="statistic"):
        distance_covariance(None, y, sensitive_features=[0, 1] * 3, statistic="x")
    with pytest.raises(ValueError, match="continuous_scaling"):
        distance_covariance(None, y, sensitive_features=y, continuous_scaling="zscore")
    with pytest.raises(ValueError, match="y_pred"):
        distance_covariance(None, np.c_[y, y], sensitive_features=[0, 1] * 3)
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        distance_covariance(None, np.r_[y[:5], np.nan], sensitive_features=[0, 1] * 3)
    with pytest.raises(ValueError, match="categorical column"):
        encode_protected_attributes(pd.DataFrame({"a": [1, 2]}), categorical=["b"])
    with pytest.raises(ValueError, match="looks continuous"):
        jensen_shannon_divergence(None, np.arange(200.0), sensitive_features=np.arange(200.0))
    with pytest.raises(ValueError, match="bandwidth"):
        jensen_shannon_divergence(None, y, sensitive_features=[0, 1] * 3, bandwidth=0)
    with pytest.raises(ValueError, match="weights"):
        unfairness_ratio(None, y, sensitive_features=[0, 1] * 3, weights="size")
    with pytest.raises(ValueError, match="c must be"):
        joint_distance_covariance(None, y, sensitive_features=[0, 1] * 3, c=-1)


finite = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


@settings(max_examples=25, deadline=None)
@given(arrays(float, 12, elements=finite), arrays(float, 12, elements=finite),
       st.permutations(list(range(12))))
def test_dcov_v_nonnegative_and_row_order_invariant(y, s, perm):
    perm = np.array(perm)
    value = distance_covariance(None, y, sensitive_features=s, continuous_scaling="none")
    assert value >= -1e-9
    permuted = distance_covariance(None, y[perm], sensitive_features=s[perm],
                                   continuous_scaling="none")
    assert permuted == pytest.approx(value, rel=1e-9, abs=1e-9)
    groups = (s > np.median(s)).astype(int)
    j1 = jensen_shannon_divergence(None, y, sensitive_features=groups)
    j2 = jensen_shannon_divergence(None, y[perm], sensitive_features=groups[perm])
    assert j2 == pytest.approx(j1, abs=1e-9)
    assert j1 >= 0
    u1 = unfairness_ratio(None, y, sensitive_features=groups)
    assert unfairness_ratio(None, y[perm], sensitive_features=groups[perm]) == pytest.approx(
        u1, abs=1e-9)


def test_uniform_signature_works_with_fairness_scorer():
    from sklearn.linear_model import LogisticRegression

    from fairkit.metrics import make_fairness_scorer

    rng = np.random.default_rng(6)
    X = pd.DataFrame({"race": rng.choice(["a", "b", "c"], 200), "x": rng.normal(size=200)})
    X["x"] += (X["race"] == "a") * 1.5
    y = (X["x"] + rng.normal(size=200) > 0.5).astype(int)
    model = LogisticRegression().fit(X[["x"]].to_numpy(), y)

    class OnX:  # the model sees only x; the scorer reads race from the same X
        classes_ = model.classes_

        def predict_proba(self, frame):
            return model.predict_proba(frame[["x"]].to_numpy())

    scorer = make_fairness_scorer(distance_correlation, prot_attr="race",
                                  response_method="predict_proba")
    proba = model.predict_proba(X[["x"]].to_numpy())[:, 1]
    expected = distance_correlation(None, proba, sensitive_features=X["race"])
    assert expected > 0.05
    assert scorer(OnX(), X, y) == pytest.approx(-expected, rel=1e-12)
