"""The protected-attribute contract (fairkit/_protected.py and fairkit/base.py)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairkit._protected import (
    MAX_GROUP_LEVELS,
    WARN_GROUP_LEVELS,
    as_frame,
    check_pos_label,
    encode_groups,
    privileged_mask,
    resolve_protected,
)
from fairkit.base import map_to_fitted_groups


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "sex": ["M", "F", "F", "M", "F"],
            "race": ["w", "b", "w", "w", "b"],
            "x1": [1.0, 2.0, 3.0, 4.0, 5.0],
            "x2": [0, 1, 0, 1, 1],
        }
    )


def test_single_attribute_codes_and_labels():
    enc = encode_groups(["b", "a", "b", "c"])
    # sorted labels: a=0, b=1, c=2
    assert enc.labels == ["a", "b", "c"]
    np.testing.assert_array_equal(enc.codes, [1, 0, 1, 2])
    np.testing.assert_array_equal(enc.counts(), [1, 2, 1])
    np.testing.assert_allclose(enc.counts(sample_weight=[1, 2, 3, 4]), [2, 4, 4])


def test_intersectional_groups_only_observed_combinations(frame):
    enc = encode_groups(frame[["sex", "race"]])
    # combinations present: (F,b) rows 1,4; (F,w) row 2; (M,w) rows 0,3; (M,b) absent
    assert enc.labels == [("F", "b"), ("F", "w"), ("M", "w")]
    np.testing.assert_array_equal(enc.codes, [2, 0, 1, 2, 0])
    assert enc.display_labels == ["F, b", "F, w", "M, w"]
    assert enc.names == ["sex", "race"]


def test_two_d_array_and_dict_inputs_agree(frame):
    arr = frame[["sex", "race"]].to_numpy()
    a = encode_groups(arr)
    b = encode_groups({"sex": frame["sex"], "race": frame["race"]})
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.labels == b.labels


def test_resolve_by_column_name_drops_columns(frame):
    res = resolve_protected(frame, prot_attr="sex", drop=True)
    assert list(res.X.columns) == ["race", "x1", "x2"]
    assert res.groups.labels == ["F", "M"]
    np.testing.assert_array_equal(res.groups.codes, [1, 0, 0, 1, 0])
    kept = resolve_protected(frame, prot_attr="sex", drop=False)
    assert kept.X is frame


def test_resolve_by_integer_index_on_array(frame):
    X = frame[["x1", "x2"]].to_numpy()
    res = resolve_protected(X, prot_attr=1, drop=True)
    assert res.X.shape == (5, 1)
    np.testing.assert_array_equal(res.X[:, 0], [1.0, 2.0, 3.0, 4.0, 5.0])
    assert res.groups.labels == [0, 1]
    # negative indices count from the end, like numpy
    res_neg = resolve_protected(X, prot_attr=-1)
    np.testing.assert_array_equal(res_neg.groups.codes, res.groups.codes)


def test_resolve_integer_position_on_named_frame(frame):
    res = resolve_protected(frame, prot_attr=0)
    assert res.columns == ["sex"]


def test_sensitive_features_route_keeps_X(frame):
    X = frame[["x1", "x2"]]
    res = resolve_protected(X, sensitive_features=frame["sex"])
    assert res.X is X
    assert res.columns == []
    assert res.groups.labels == ["F", "M"]


def test_both_sources_agreeing_is_accepted(frame):
    res = resolve_protected(frame, prot_attr="sex", sensitive_features=frame["sex"].to_numpy())
    assert res.groups.labels == ["F", "M"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prot_attr": "age"}, r"prot_attr column\(s\) \['age'\] not found"),
        ({"prot_attr": 9}, "prot_attr index"),
        ({"sensitive_features": ["M", "F"]}, "sensitive_features has 2 rows but the data has 5"),
        (
            {"prot_attr": "sex", "sensitive_features": ["M", "M", "F", "M", "F"]},
            "both given and disagree",
        ),
        ({}, "No protected attribute given"),
        ({"prot_attr": []}, "prot_attr is empty"),
    ],
)
def test_bad_input_names_the_parameter(frame, kwargs, match):
    with pytest.raises(ValueError, match=match):
        resolve_protected(frame, **kwargs)


def test_column_name_on_plain_array_is_refused(frame):
    with pytest.raises(ValueError, match="X is not a DataFrame"):
        resolve_protected(frame.to_numpy(), prot_attr="sex")


def test_nan_in_protected_attribute_is_refused(frame):
    bad = frame.copy()
    bad.loc[2, "sex"] = None
    with pytest.raises(ValueError, match=r"prot_attr='sex'.*missing values.*\['sex'\]"):
        resolve_protected(bad, prot_attr="sex")
    with pytest.raises(ValueError, match="sensitive_features contains missing values"):
        encode_groups([1.0, np.nan, 0.0])


def test_single_group_where_two_are_needed():
    with pytest.raises(ValueError, match=r"only 1 group\(s\) \(\['a'\]\); at least 2"):
        encode_groups(["a", "a", "a"], min_groups=2)


def test_continuous_attribute_refused_for_groups_but_allowed_for_dependence():
    age = np.linspace(18, 90, 500)
    with pytest.raises(ValueError, match="looks continuous"):
        encode_groups(age)
    res = resolve_protected(np.c_[age, age], prot_attr=0, require_groups=False)
    assert res.groups is None
    np.testing.assert_array_equal(res.values.iloc[:, 0].to_numpy(), age)
    # an integer-coded attribute with few levels is a group variable
    few = np.repeat(np.arange(MAX_GROUP_LEVELS), 2)
    with pytest.warns(UserWarning, match="100 distinct values"):  # many levels: warned
        assert encode_groups(few).n_groups == MAX_GROUP_LEVELS


def test_privileged_mask_values_lists_and_wildcards(frame):
    enc = encode_groups(frame[["sex", "race"]])  # (F,b), (F,w), (M,w)
    np.testing.assert_array_equal(privileged_mask(enc, ("M", "w")), [False, False, True])
    np.testing.assert_array_equal(privileged_mask(enc, (None, "w")), [False, True, True])
    np.testing.assert_array_equal(
        privileged_mask(enc, [("M", "w"), ("F", "b")]), [True, False, True]
    )
    single = encode_groups(frame["sex"])
    np.testing.assert_array_equal(privileged_mask(single, "M"), [False, True])


def test_privileged_mask_errors(frame):
    enc = encode_groups(frame["sex"])
    with pytest.raises(ValueError, match="priv_group='X' does not occur"):
        privileged_mask(enc, "X")
    with pytest.raises(ValueError, match="covers every group"):
        privileged_mask(enc, ["M", "F"])


def test_pos_label_check():
    assert check_pos_label([0, 1, 1], 1) == 1
    with pytest.raises(ValueError, match=r"pos_label='yes' is not among the values of y_true"):
        check_pos_label(["no", "maybe"], "yes")


def test_as_frame_rejects_3d_and_scalar():
    with pytest.raises(ValueError, match="shape"):
        as_frame(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="scalar"):
        as_frame(3)


def test_map_to_fitted_groups_and_unseen_group():
    fitted = ["F", "M"]
    now = encode_groups(["M", "M", "F"])
    np.testing.assert_array_equal(map_to_fitted_groups(now, fitted), [1, 1, 0])
    # numeric labels of different dtype map onto each other
    np.testing.assert_array_equal(
        map_to_fitted_groups(encode_groups(np.array([1.0, 0.0])), [0, 1]), [1, 0]
    )
    with pytest.raises(ValueError, match="Group 'X' of the protected attribute was not seen"):
        map_to_fitted_groups(encode_groups(["X", "M"]), fitted)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=40), st.randoms())
def test_codes_are_invariant_to_row_order(values, rnd):
    enc = encode_groups(values)
    perm = list(range(len(values)))
    rnd.shuffle(perm)
    enc_perm = encode_groups([values[i] for i in perm])
    assert enc.labels == enc_perm.labels
    np.testing.assert_array_equal(enc.codes[perm], enc_perm.codes)
    # each code decodes to its own value
    assert [enc.labels[c] for c in enc.codes] == values


# ------------------------------------------------------------------------------------------
# issue 14: inf in a protected attribute (item 13) and numeric attributes with many levels
# (item 10)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("values", [
    np.array([0.0, 1.0, np.inf, 1.0]),
    pd.Series([0.0, 1.0, -np.inf, 1.0], dtype="Float64"),
    np.array([0, 1, np.inf, 1], dtype=object),
])
def test_inf_in_protected_attribute_is_refused(values):
    with pytest.raises(ValueError, match=r"^sensitive_features column 'sensitive_feature' "
                       r"contains 1 infinite value\(s\) \(-?inf\); protected attributes "
                       r"must be finite"):
        as_frame(values)


def test_inf_in_sensitive_features_no_longer_makes_a_one_row_group():
    import fairkit.metrics as fm

    y = [1, 0, 1, 0, 1, 0]
    p = [1, 1, 0, 0, 1, 0]
    # before: groups {0.0, 1.0, inf}, the inf row alone, and an SPD computed from it
    with pytest.raises(ValueError, match=r"column 'race' contains 1 infinite"):
        fm.statistical_parity_difference(
            y, p, sensitive_features=pd.Series([0.0, 0.0, 1.0, 1.0, 1.0, np.inf], name="race"))
    with pytest.raises(ValueError, match=r"prot_attr='race' column 'race' contains 1 infinite"):
        resolve_protected(pd.DataFrame({"race": [0.0, 1.0, np.inf], "x": [1, 2, 3]}),
                          prot_attr="race")


def test_numeric_attribute_with_many_levels_warns_and_points_to_binning():
    rng = np.random.default_rng(0)
    age = pd.Series(rng.integers(18, 91, 2000), name="age")
    n_levels = age.nunique()
    assert n_levels == 73
    with pytest.warns(UserWarning) as record:
        enc = encode_groups(age)
    assert enc.n_groups == 73  # still one group per value: the warning changes no number
    messages = [str(w.message) for w in record]
    assert messages == [
        "sensitive_features column 'age' is numeric with 73 distinct values, so it makes 73 "
        "groups, one per value; if it is a measurement such as age, bin it (fairkit.Binned "
        "or pandas.cut) so that groups are large enough to compare."
    ]
    assert record[0].filename == __file__  # points at the caller, not into fairkit
    # the same through a metric, for an intersection with a coded attribute too
    import fairkit.metrics as fm

    y = rng.integers(0, 2, 2000)
    with pytest.warns(UserWarning, match="column 'age' is numeric with 73 distinct"):
        fm.statistical_parity_difference(
            y, y, sensitive_features=pd.DataFrame({"age": age, "sex": y}))
    # binned, the warning is gone
    import warnings

    from fairkit import Binned

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        groups = Binned("age", [30, 50]).cut(age, name="age")
        assert encode_groups(groups).n_groups == 3


@pytest.mark.parametrize("values", [
    np.arange(WARN_GROUP_LEVELS),               # 20 integer codes: the limit itself
    np.array([1, 2, 3, 4, 5] * 10),             # race coded 1..5
    np.array([0.0, 1.0] * 30),                  # sex as float 0/1
    np.array([True, False] * 30),
    np.array([f"c{i}" for i in range(60)]),     # 60 text labels are named groups
])
def test_usual_codes_do_not_warn(values):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode_groups(values)
        encode_groups(pd.DataFrame({"a": values, "b": values}))


@pytest.mark.parametrize("make", [
    lambda a, b: pd.DataFrame([[a[i], b[i]] for i in range(len(a))], columns=["g", "g"]),
    lambda a, b: pd.DataFrame({1: a, "1": b}),   # distinct names that are equal as text
    lambda a, b: {1: a, "1": b},
])
def test_duplicate_column_names_are_refused_by_name(make):
    sf = make(np.array(["a", "b", "a"]), np.array([0, 1, 1]))
    for call in (
        lambda: as_frame(sf),
        lambda: encode_groups(sf),
        lambda: resolve_protected(sensitive_features=sf, n_samples=3),
    ):
        with pytest.raises(ValueError, match=r"sensitive_features has several columns named "
                                             r"\['(g|1)'\]; names must be unique"):
            call()


def test_unsigned_64_bit_and_signed_columns_make_intersectional_groups():
    # worked by hand: rows (0, 2), (1, 2), (0, 3), (1, 3), (0, 2)
    a = np.array([0, 1, 0, 1, 0], dtype=np.int64)
    b = np.array([2, 2, 3, 3, 2], dtype=np.uint64)
    groups = encode_groups(pd.DataFrame({"a": a, "b": b}))
    assert groups.labels == [(0, 2), (0, 3), (1, 2), (1, 3)]
    assert all(type(v) is int for lab in groups.labels for v in lab)
    np.testing.assert_array_equal(groups.codes, [0, 2, 1, 3, 0])


def test_integer_codes_near_the_int64_limit_make_groups():
    big = 2**62
    a = np.array([big + 1, big, big + 1, big], dtype=np.int64)
    b = np.array([0, 0, 1, 1])
    groups = encode_groups(pd.DataFrame({"a": a, "b": b}))
    assert groups.labels == [(big, 0), (big, 1), (big + 1, 0), (big + 1, 1)]
    np.testing.assert_array_equal(groups.codes, [2, 0, 3, 1])


def test_group_codes_do_not_share_memory_with_an_integer_attribute():
    values = np.array([0, 1, 2, 0, 1], dtype=np.intp)  # codes equal to the values
    groups = encode_groups(values)
    np.testing.assert_array_equal(groups.codes, [0, 1, 2, 0, 1])
    assert not np.shares_memory(groups.codes, values)
    X = pd.DataFrame({"g": values, "x": np.arange(5.0)})
    codes = resolve_protected(X, prot_attr="g").groups.codes
    assert not np.shares_memory(codes, X["g"].to_numpy())
