"""load_adult: published row and label counts, preprocessing, return types."""

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from fairkit.datasets import load_adult


@pytest.fixture(scope="module")
def raw_all():
    return load_adult(subset="all", dropna=False)


def test_published_counts_without_dropping(raw_all):
    # adult.names / SOURCES.md: 32,561 + 16,281 rows; labels 24,720/7,841 and 12,435/3,846
    train = raw_all.frame.iloc[:32561]
    test = raw_all.frame.iloc[32561:]
    assert raw_all.data.shape == (32561 + 16281, 14)
    assert train["income"].value_counts().sort_index().tolist() == [24720, 7841]
    assert test["income"].value_counts().sort_index().tolist() == [12435, 3846]


def test_missing_values_and_dropna(raw_all):
    assert not (raw_all.data == "?").any().any()
    has_missing = raw_all.data.isna().any(axis=1)
    # SOURCES.md: 2,399 train rows and 1,221 test rows contain a "?"
    assert int(has_missing.iloc[:32561].sum()) == 2399
    assert int(has_missing.iloc[32561:].sum()) == 1221
    assert set(raw_all.data.columns[raw_all.data.isna().any()]) == {
        "workclass", "occupation", "native-country"
    }
    assert load_adult(subset="train").data.shape == (30162, 14)
    assert load_adult(subset="test").data.shape == (15060, 14)


def test_bunch_fields_and_first_test_row():
    b = load_adult(subset="test", dropna=False)
    assert isinstance(b, Bunch)
    assert b.prot_attr == ["sex", "race"]
    assert b.target_names == ["<=50K", ">50K"]
    assert b.feature_names == list(b.data.columns)
    assert list(b.frame.columns) == b.feature_names + ["income"]
    assert "10.24432/C5XW20" in b.DESCR
    # first data line of adult.test: 25, Private, 226802, 11th, 7, Never-married,
    # Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K.
    row = b.data.iloc[0]
    assert row["age"] == 25 and row["fnlwgt"] == 226802 and row["race"] == "Black"
    assert row["native-country"] == "United-States" and b.target.iloc[0] == 0
    assert sorted(b.data["sex"].cat.categories) == ["Female", "Male"]
    assert set(b.data["race"].cat.categories) == {
        "Amer-Indian-Eskimo", "Asian-Pac-Islander", "Black", "Other", "White"
    }


def test_return_X_y_and_as_frame():
    X, y = load_adult(return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series) and y.name == "income"
    Xa, ya = load_adult(return_X_y=True, as_frame=False)
    assert isinstance(Xa, np.ndarray) and Xa.shape == (30162, 14)
    np.testing.assert_array_equal(ya, y.to_numpy())
    b = load_adult(as_frame=False)
    assert b.frame is None and b.feature_names[9] == "sex"


def test_bad_subset():
    with pytest.raises(ValueError, match="subset must be .* got 'validation'"):
        load_adult(subset="validation")
