"""SEP / CSEP metrics: values worked out by hand, and parity with fairlearn / pandas."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate

from fairkit.metrics.sep import (
    conditional_socio_economic_parity_difference,
    conditional_socio_economic_parity_ratio,
    socio_economic_parity_difference,
    socio_economic_parity_rates,
    socio_economic_parity_ratio,
)

# A small table, worked by hand below.
#   row  sex  edu  hours  y_pred
#    0    M    8    40     1
#    1    M   12    50     1
#    2    M   14    30     0
#    3    M    9    45     1
#    4    F    8    40     0
#    5    F    9    20     1
#    6    F   13    40     1
#    7    F    7    50     1
#    8    F   11    35     0
#    9    F    6    60     0
TABLE = pd.DataFrame(
    {
        "sex": ["M", "M", "M", "M", "F", "F", "F", "F", "F", "F"],
        "edu": [8, 12, 14, 9, 8, 9, 13, 7, 11, 6],
        "hours": [40, 50, 30, 45, 40, 20, 40, 50, 35, 60],
    }
)
Y_PRED = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 0])
COMMON = dict(sensitive_features=TABLE["sex"], ses=TABLE["edu"], ses_threshold=10)


def test_sep_by_hand():
    # Overall rate: 6/10. G = F with edu < 10: rows 4, 5, 7, 9 -> predictions 0, 1, 1, 0 -> 2/4.
    assert socio_economic_parity_difference(
        None, Y_PRED, unpriv_group="F", **COMMON
    ) == pytest.approx(0.6 - 0.5)
    assert socio_economic_parity_ratio(None, Y_PRED, unpriv_group="F", **COMMON) == pytest.approx(
        0.5 / 0.6
    )


def test_csep_by_hand():
    # Effort hours >= 40: rows 0, 1, 3, 4, 6, 7, 9 -> predictions 1, 1, 1, 0, 1, 1, 0 -> 5/7.
    # G & effort: rows 4, 7, 9 -> 0, 1, 0 -> 1/3.
    kwargs = dict(COMMON, effort=TABLE["hours"], effort_threshold=40, unpriv_group="F")
    assert conditional_socio_economic_parity_difference(
        None, Y_PRED, **kwargs
    ) == pytest.approx(5 / 7 - 1 / 3)
    assert conditional_socio_economic_parity_ratio(None, Y_PRED, **kwargs) == pytest.approx(
        (1 / 3) / (5 / 7)
    )


def test_column_names_of_X_callables_and_masks_agree_with_arrays():
    expected = 0.6 - 0.5
    by_columns = socio_economic_parity_difference(
        None, Y_PRED, sensitive_features="sex", ses="edu", ses_threshold=10,
        unpriv_group="F", X=TABLE,
    )
    by_callable = socio_economic_parity_difference(
        None, Y_PRED, sensitive_features="sex", ses=lambda X: X["edu"].to_numpy() < 10,
        unpriv_group="F", X=TABLE,
    )
    by_mask = socio_economic_parity_difference(
        None, Y_PRED, sensitive_features=TABLE["sex"].to_numpy(),
        ses=(TABLE["edu"] < 10).to_numpy(), unpriv_group="F",
    )
    by_index = socio_economic_parity_difference(
        None, Y_PRED, sensitive_features=0, ses=1, ses_threshold=10, unpriv_group="F",
        X=TABLE.to_numpy(),
    )
    by_priv = socio_economic_parity_difference(None, Y_PRED, priv_group="M", **COMMON)
    for value in (by_columns, by_callable, by_mask, by_index, by_priv):
        assert value == pytest.approx(expected)


def test_string_labels_pos_label_and_scores():
    labels = np.where(Y_PRED == 1, "grant", "deny")
    assert socio_economic_parity_difference(
        labels, labels, unpriv_group="F", pos_label="grant", **COMMON
    ) == pytest.approx(0.1)
    # pos_label="deny": overall 4/10, G 2/4.
    assert socio_economic_parity_difference(
        None, labels, unpriv_group="F", pos_label="deny", **COMMON
    ) == pytest.approx(0.4 - 0.5)
    # pos_label=None: mean score. Overall mean of 0..9 = 4.5; G rows 4, 5, 7, 9 -> 6.25.
    scores = np.arange(10.0)
    assert socio_economic_parity_difference(
        None, scores, unpriv_group="F", pos_label=None, **COMMON
    ) == pytest.approx(4.5 - 6.25)


def test_sample_weight_equals_repetition():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 4, size=10)
    rep = np.repeat(np.arange(10), w)
    kwargs = dict(effort_threshold=40, unpriv_group="F", ses_threshold=10)
    weighted = conditional_socio_economic_parity_difference(
        None, Y_PRED, sensitive_features=TABLE["sex"], ses=TABLE["edu"],
        effort=TABLE["hours"], sample_weight=w, **kwargs,
    )
    repeated = conditional_socio_economic_parity_difference(
        None, Y_PRED[rep], sensitive_features=TABLE["sex"].to_numpy()[rep],
        ses=TABLE["edu"].to_numpy()[rep], effort=TABLE["hours"].to_numpy()[rep], **kwargs,
    )
    assert weighted == pytest.approx(repeated)


def test_sep_reduces_to_demographic_parity_when_ses_selects_whole_group():
    rng = np.random.default_rng(0)
    n = 500
    sex = rng.choice(["F", "M"], n, p=[0.4, 0.6])
    y_pred = (rng.random(n) < np.where(sex == "F", 0.2, 0.45)).astype(int)
    y_true = rng.integers(0, 2, n)
    w = rng.random(n) + 0.5
    ses = rng.integers(1, 17, n)
    sep = socio_economic_parity_difference(
        y_true, y_pred, sensitive_features=sex, ses=ses, ses_threshold=100,
        unpriv_group="F", sample_weight=w,
    )
    # P(yhat) - P(yhat | F) = P(M) * (P(yhat | M) - P(yhat | F)), and fairlearn's DP
    # difference is |P(yhat | M) - P(yhat | F)|.
    dp = demographic_parity_difference(y_true, y_pred, sensitive_features=sex, sample_weight=w)
    p_male = w[sex == "M"].sum() / w.sum()
    rates = MetricFrame(
        metrics=selection_rate, y_true=y_true, y_pred=y_pred, sensitive_features=sex,
        sample_params={"sample_weight": w},
    ).by_group
    assert rates["M"] > rates["F"]
    assert sep == pytest.approx(p_male * dp, rel=1e-12)
    # The ratio against the population reduces the same way: P(yhat | F) / P(yhat).
    overall = np.average(y_pred, weights=w)
    assert socio_economic_parity_ratio(
        y_true, y_pred, sensitive_features=sex, ses=ses, ses_threshold=100,
        unpriv_group="F", sample_weight=w,
    ) == pytest.approx(rates["F"] / overall)


def test_rates_several_ses_levels_match_pandas_groupby():
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame(
        {
            "race": rng.choice(["A", "B", "C"], n),
            "edu": rng.integers(1, 17, n),
            "hours": rng.integers(10, 70, n),
            "pred": rng.integers(0, 2, n),
        }
    )
    cuts = [9, 13]
    rates = socio_economic_parity_rates(
        None, frame["pred"], sensitive_features=frame["race"], ses=frame["edu"],
        ses_threshold=cuts, effort=frame["hours"], effort_threshold=40,
    )
    high = frame[frame["hours"] >= 40]
    level = pd.cut(high["edu"], [-np.inf, 9, 13, np.inf], right=False, labels=[0, 1, 2])
    expected = high.groupby(["race", level], observed=True)["pred"].agg(["mean", "size"])
    assert len(rates) == len(expected) == 9
    np.testing.assert_allclose(rates["positive_rate"].to_numpy(), expected["mean"].to_numpy())
    np.testing.assert_array_equal(rates["count"].to_numpy(), expected["size"].to_numpy())
    assert rates.index.get_level_values("ses_level").tolist()[:3] == [
        "ses < 9", "9 <= ses < 13", "ses >= 13",
    ]
    np.testing.assert_allclose(rates["reference_rate"], high["pred"].mean())
    # The row of (B, lowest level) is the CSEP gap with unprivileged group B.
    csep = conditional_socio_economic_parity_difference(
        None, frame["pred"], sensitive_features=frame["race"], ses=frame["edu"],
        ses_threshold=9, effort=frame["hours"], effort_threshold=40, unpriv_group="B",
    )
    assert rates.loc[("B", "ses < 9"), "difference"] == pytest.approx(csep)


def test_rates_with_mask_and_discrete_levels():
    by_mask = socio_economic_parity_rates(
        None, Y_PRED, sensitive_features=TABLE["sex"], ses=(TABLE["edu"] < 10).to_numpy()
    )
    # F low SES: rows 4, 5, 7, 9 -> 2/4; F not low: rows 6, 8 -> 1/2; M low: rows 0, 3 -> 1;
    # M not low: rows 1, 2 -> 1/2.
    assert by_mask["positive_rate"].tolist() == [0.5, 0.5, 1.0, 0.5]
    assert by_mask.index.get_level_values(1).tolist() == ["low SES", "not low SES"] * 2
    by_value = socio_economic_parity_rates(
        None, Y_PRED, sensitive_features=TABLE["sex"], ses=TABLE["edu"] >= 100
    )
    assert by_value["count"].tolist() == [6, 4]


def test_intersectional_groups_with_wildcard():
    race = np.array(["X", "Y"] * 5)
    sf = pd.DataFrame({"sex": TABLE["sex"], "race": race})
    # Unprivileged: women of race Y -> rows 5, 7, 9; with edu < 10 all three -> 1, 1, 0.
    value = socio_economic_parity_difference(
        None, Y_PRED, sensitive_features=sf, ses=TABLE["edu"], ses_threshold=10,
        unpriv_group=("F", "Y"),
    )
    assert value == pytest.approx(0.6 - 2 / 3)
    # All women, via a wildcard: same as the one-attribute case.
    value = socio_economic_parity_difference(
        None, Y_PRED, sensitive_features=sf, ses=TABLE["edu"], ses_threshold=10,
        unpriv_group=("F", None),
    )
    assert value == pytest.approx(0.1)


def test_ratio_is_one_when_nobody_is_selected():
    zeros = np.zeros(10, dtype=int)
    assert socio_economic_parity_ratio(None, zeros, unpriv_group="F", **COMMON) == 1.0
    assert socio_economic_parity_difference(None, zeros, unpriv_group="F", **COMMON) == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(COMMON, unpriv_group="F", priv_group="M"), "exactly one of unpriv_group"),
        (dict(COMMON), "exactly one of unpriv_group"),
        (dict(COMMON, unpriv_group="X"), "unpriv_group='X' does not occur"),
        (dict(COMMON, priv_group=["M", "F"]), "covers every group"),
        (dict(COMMON, unpriv_group="F", ses_threshold=None), "ses_threshold is required"),
        (dict(COMMON, unpriv_group="F", ses_threshold="10"), "ses_threshold must be a number"),
        (dict(COMMON, unpriv_group="F", ses_threshold=5), "No sample .* is unprivileged"),
        (dict(COMMON, unpriv_group="F", ses=TABLE["edu"][:9]), "same length"),
        (dict(COMMON, unpriv_group="F", ses=[np.nan] + [1.0] * 9), "missing values"),
        (dict(COMMON, unpriv_group="F", ses=["low"] * 10), "must be numeric"),
        (dict(COMMON, unpriv_group="F", ses=TABLE["edu"] < 10), "ses_threshold must be None"),
        (dict(COMMON, unpriv_group="F", ses="edu"), "names a column, but X was not given"),
        (
            dict(COMMON, unpriv_group="F", ses="income", X=TABLE),
            "ses='income' is not a column of X",
        ),
        (dict(COMMON, unpriv_group="F", sensitive_features=["F"] * 9), "same length"),
        (dict(COMMON, unpriv_group="F", sensitive_features=[None] * 10), "missing values"),
        (dict(COMMON, unpriv_group="F", pos_label=2), "pos_label=2 is not among"),
        (dict(COMMON, unpriv_group="F", sample_weight=-np.ones(10)), "non-negative"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        socio_economic_parity_difference(None, Y_PRED, **kwargs)


def test_conditional_bad_input_raises():
    with pytest.raises(ValueError, match="effort_threshold is required"):
        conditional_socio_economic_parity_difference(
            None, Y_PRED, effort=TABLE["hours"], unpriv_group="F", **COMMON
        )
    with pytest.raises(ValueError, match="No sample .* effort"):
        conditional_socio_economic_parity_difference(
            None, Y_PRED, effort=TABLE["hours"], effort_threshold=61, unpriv_group="F",
            **COMMON,
        )
    with pytest.raises(ValueError, match="ses_threshold must be a number or strictly"):
        socio_economic_parity_rates(
            None, Y_PRED, sensitive_features=TABLE["sex"], ses=TABLE["edu"],
            ses_threshold=[13, 9],
        )
