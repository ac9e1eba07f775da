"""load_compas: ProPublica's filter, published counts, label orientation."""

import numpy as np
import pandas as pd
import pytest

from fairkit.datasets import load_compas


@pytest.fixture(scope="module")
def compas():
    return load_compas()


def test_propublica_filter_counts(compas):
    # ProPublica's "Compas Analysis" notebook after the filter: 6,172 rows,
    # race counts and score_text counts as below; 2,809 recidivists (45.5%)
    assert compas.data.shape == (6172, 14)
    assert compas.data["race"].value_counts().to_dict() == {
        "African-American": 3175, "Caucasian": 2103, "Hispanic": 509,
        "Other": 343, "Asian": 31, "Native American": 11,
    }
    assert compas.data["sex"].value_counts().to_dict() == {"Male": 4997, "Female": 1175}
    assert compas.data["score_text"].value_counts().to_dict() == {
        "Low": 3421, "Medium": 1607, "High": 1144
    }
    assert compas.data["age_cat"].value_counts().to_dict() == {
        "25 - 45": 3532, "Less than 25": 1347, "Greater than 45": 1293
    }
    assert int(compas.target.sum()) == 2809


def test_unfiltered_counts_match_sources():
    b = load_compas(filter=False)
    assert b.data.shape == (7214, 14)
    # SOURCES.md: two_year_recid 0 = 3,963, 1 = 3,251; African-American 3,696
    assert b.target.value_counts().sort_index().tolist() == [3963, 3251]
    assert (b.data["race"] == "African-American").sum() == 3696


def test_violent_variant():
    b = load_compas(violent=True)
    assert b.data.shape == (4020, 14)
    assert b.data["v_score_text"].notna().all()
    assert (b.compas_pred == b.data["v_score_text"].isin(["Medium", "High"])).all()
    assert load_compas(violent=True, filter=False).data.shape == (4743, 14)


def test_label_orientation_and_audit_columns(compas):
    assert compas.pos_label == 0
    assert compas.target_names == ["no_recid", "recid"]
    assert compas.prot_attr == ["race", "sex", "age"]
    assert "pos_label=0" in compas.DESCR and "Angwin" in compas.DESCR
    # COMPAS "predicted to reoffend" = Medium or High = decile score >= 5
    np.testing.assert_array_equal(compas.compas_pred, (compas.data["decile_score"] >= 5))
    pred = compas.compas_pred
    black = compas.data["race"] == "African-American"
    # ProPublica: Black defendants labelled Medium/High 1,829 of 3,175
    assert int(pred[black].sum()) == 1829
    # no personal data and no post-screening outcome columns
    assert not {"name", "first", "last", "dob", "is_recid"} & set(compas.data.columns)
    assert pd.api.types.is_numeric_dtype(compas.data["age"])


def test_return_X_y_and_as_frame():
    X, y = load_compas(return_X_y=True)
    assert X.shape == (6172, 14) and y.name == "two_year_recid"
    Xa, ya = load_compas(return_X_y=True, as_frame=False)
    assert Xa.dtype == object and ya.dtype.kind == "i" and int(ya.sum()) == 2809
    b = load_compas(as_frame=False)
    assert b.frame is None and isinstance(b.compas_pred, np.ndarray)


def test_bad_violent_value():
    with pytest.raises(ValueError, match="violent must be True or False, got 'yes'"):
        load_compas(violent="yes")
