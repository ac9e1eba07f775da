"""load_hmda: Boston 1990 HMDA, decoded columns, sentinels, published denial rates."""

import numpy as np
import pandas as pd
import pytest

from fairkit.datasets import load_hmda


@pytest.fixture(scope="module")
def aer():
    return load_hmda()


def test_shape_and_denial_rates(aer):
    assert aer.data.shape[0] == 2925
    # 62 variables: 56 in data (6 decision/id columns moved to outcomes) + derived ethnicity
    assert aer.data.shape[1] + aer.outcomes.shape[1] == 62 + 1
    by_race = aer.frame.groupby("race", observed=True)["denied"].agg(["size", "mean"])
    assert by_race["size"].to_dict() == {"Black": 468, "Hispanic": 214, "White": 2243}
    np.testing.assert_allclose(by_race["mean"], [0.308, 0.224, 0.103], atol=5e-4)
    assert (aer.target == (aer.outcomes["action_taken"] == 3)).all()


def test_sw_variant():
    b = load_hmda(variant="sw")
    assert b.data.shape == (2380, 57)
    by_race = b.frame.groupby("race", observed=True)["denied"].agg(["size", "mean"])
    assert by_race["size"].to_dict() == {"Black": 339, "White": 2041}
    np.testing.assert_allclose(by_race["mean"], [0.283, 0.093], atol=5e-4)
    assert set(b.data["race"].dropna().unique()) == {"Black", "White"}


def test_sentinels_and_na_strings(aer):
    # SOURCES.md: 999999.4 marks 37 missing incomes and 282 missing s57 values
    assert aer.data["income"].isna().sum() == 37
    assert aer.data["times_reviewed"].isna().sum() == 282
    assert aer.data.select_dtypes("number").max().max() < 999999
    assert not (aer.data.astype(object) == "NA").any().any()
    assert not (aer.outcomes.astype(object) == "NA").any().any()
    assert aer.outcomes["denial_reason"].isna().sum() == 2634
    assert aer.data["gift_or_grant"].value_counts().to_dict() == {0.0: 2409, 1.0: 515}
    assert aer.data["gift_or_grant"].isna().sum() == 1


def test_decoded_protected_attributes(aer):
    assert aer.prot_attr == ["race", "sex", "ethnicity"]
    assert aer.data["sex"].value_counts().to_dict() == {
        "Male": 2289, "Female": 615, "Not provided": 21, "Not applicable": 0
    }
    assert ((aer.data["ethnicity"] == "Hispanic") == (aer.data["race"] == "Hispanic")).all()
    # s14 = 8 (no co-applicant) in 821 rows
    assert (aer.data["coapplicant_race"] == "Not applicable").sum() == 821
    assert {"s13", "action_taken", "denial_reason", "seq"}.isdisjoint(aer.data.columns)
    assert "Munnell" in aer.DESCR and aer.pos_label == 0


def test_first_row_decoded(aer):
    # hmda_aer.dta row 0: seq 2, s6 88, s13 5 (White), s15 2 (Female), s17 53, s46 22.1
    row = aer.data.iloc[0]
    assert aer.outcomes["seq"].iloc[0] == 2
    assert row["loan_amount"] == 88 and row["race"] == "White" and row["sex"] == "Female"
    assert row["income"] == 53
    assert row["debt_to_income_ratio"] == pytest.approx(22.1, abs=1e-5)


def test_return_X_y_and_as_frame():
    X, y = load_hmda(return_X_y=True)
    assert isinstance(X, pd.DataFrame) and y.name == "denied"
    Xa, ya = load_hmda(variant="sw", return_X_y=True, as_frame=False)
    assert Xa.shape == (2380, 57) and int(ya.sum()) == 96 + 189  # Stock & Watson: 285 denials


def test_bad_variant():
    with pytest.raises(ValueError, match="variant must be 'aer' or 'sw', got 'boston'"):
        load_hmda(variant="boston")
