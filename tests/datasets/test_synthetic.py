"""make_biased_classification: bias controls the measured disparity, as the model says."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from fairkit.datasets import make_biased_classification


def _rate(bias_times_s, class_sep=1.0):
    """P(y=1 | s) = E[sigmoid(class_sep * T + bias * s)], T ~ N(0, 1), by quadrature."""
    f = lambda t: special.expit(class_sep * t + bias_times_s) * stats.norm.pdf(t)  # noqa: E731
    return integrate.quad(f, -np.inf, np.inf)[0]


def _spd(y, a, hi=1, lo=0):
    return y[a == hi].mean() - y[a == lo].mean()


@pytest.mark.parametrize("bias", [0.0, 0.5, 1.0, 2.0, 4.0])
def test_binary_spd_matches_model(bias):
    n = 200_000
    X, y, a = make_biased_classification(n, bias=bias, random_state=1)
    expected = _rate(bias * 0.5) - _rate(-bias * 0.5)
    se = np.sqrt(0.25 / (n / 2) * 2)  # upper bound on the standard error of a rate gap
    assert abs(_spd(y, a) - expected) < 4 * se


def test_spd_grows_with_bias():
    spds = [_spd(*make_biased_classification(50_000, bias=b, random_state=2)[1:])
            for b in (0.0, 1.0, 2.0, 3.0)]
    assert abs(spds[0]) < 0.02
    assert np.all(np.diff(spds) > 0.05)


def test_bias_zero_label_independent_of_attribute_but_proxy_is_not():
    X, y, a = make_biased_classification(100_000, 4, bias=0.0, proxy_strength=2.0,
                                         random_state=3)
    # chi-square test of independence of y and a: no evidence of dependence
    table = pd.crosstab(a, y).to_numpy()
    assert stats.chi2_contingency(table).pvalue > 0.001
    # the proxy column (last) is shifted by proxy_strength * s = +-1 between the groups
    assert X[a == 1, -1].mean() - X[a == 0, -1].mean() == pytest.approx(2.0, abs=0.03)
    # informative columns are not
    assert abs(X[a == 1, 0].mean() - X[a == 0, 0].mean()) < 0.03


def test_categorical_groups_and_extreme_gap():
    n = 300_000
    _, y, a = make_biased_classification(n, prot_attr_type="categorical", n_groups=5,
                                         group_proportions=[0.1, 0.2, 0.3, 0.2, 0.2],
                                         bias=3.0, random_state=4)
    assert set(np.unique(a)) == {0, 1, 2, 3, 4}
    np.testing.assert_allclose(np.bincount(a) / n, [0.1, 0.2, 0.3, 0.2, 0.2], atol=0.005)
    rates = np.array([y[a == g].mean() for g in range(5)])
    expected = [_rate(3.0 * (-0.5 + g / 4)) for g in range(5)]
    np.testing.assert_allclose(rates, expected, atol=0.01)
    assert np.all(np.diff(rates) > 0)


def test_continuous_attribute_correlation_grows():
    corr = []
    for b in (0.0, 1.0, 3.0):
        _, y, a = make_biased_classification(50_000, prot_attr_type="continuous", bias=b,
                                             random_state=5)
        assert a.dtype.kind == "f" and len(np.unique(a)) == 50_000
        corr.append(np.corrcoef(a, y)[0, 1])
    assert abs(corr[0]) < 0.02 and corr[0] < corr[1] < corr[2]


def test_reproducible_and_frame_output():
    A = make_biased_classification(500, 3, random_state=7)
    B = make_biased_classification(500, 3, random_state=7)
    for u, v in zip(A, B, strict=True):
        np.testing.assert_array_equal(u, v)
    X, y, a = make_biased_classification(500, 3, random_state=7, as_frame=True,
                                         include_prot_attr=True)
    assert list(X.columns) == ["x0", "x1", "x2", "prot_attr"]
    assert isinstance(y, pd.Series) and y.name == "y" and a.name == "prot_attr"
    np.testing.assert_array_equal(X["prot_attr"], A[2])
    np.testing.assert_allclose(X[["x0", "x1", "x2"]].to_numpy(), A[0])
    np.testing.assert_array_equal(y, A[1])


def test_a_million_rows_is_cheap():
    X, y, a = make_biased_classification(1_000_000, 4, random_state=0)
    assert X.shape == (1_000_000, 4) and y.dtype == np.int64


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=0), "n_samples must be an integer >= 1, got 0"),
        (dict(n_features=2, n_proxy=3), "n_proxy=3 exceeds n_features=2"),
        (dict(prot_attr_type="ordinal"), "prot_attr_type must be one of"),
        (dict(n_groups=3), "n_groups must be 2 for prot_attr_type='binary'"),
        (dict(prot_attr_type="categorical", n_groups=1), "n_groups must be an integer >= 2"),
        (dict(prot_attr_type="categorical", group_proportions=[0.5, 0.5]),
         "group_proportions must be 3 non-negative numbers"),
        (dict(prot_attr_type="continuous", n_groups=2), "n_groups and group_proportions"),
        (dict(bias=float("nan")), "bias must be a finite number"),
        (dict(class_sep=-1.0), "class_sep must be non-negative"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_biased_classification(**kwargs)
