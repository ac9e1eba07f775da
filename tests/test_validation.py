"""The estimator layer's own pieces: validate_fair_data, the Binned group spec, the one
prot_attr rule, the one continuous rule, and the shared docstring fragments."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone

from fairkit import Binned
from fairkit._protected import (
    MAX_GROUP_LEVELS,
    check_prot_attr,
    is_continuous_attribute,
    resolve_protected,
)
from fairkit._validation import validate_fair_data
from fairkit.utils._docstring import DOC_FRAGMENTS, Substitution


class _Est(BaseEstimator):
    def __init__(self, prot_attr=None):
        self.prot_attr = prot_attr


def _frame(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "sex": np.tile(["F", "M"], n // 2),
        "age": np.linspace(18, 80, n),
        "x": rng.normal(size=n),
    })


# -- Binned -------------------------------------------------------------------------------
def test_binned_cuts_left_closed_intervals_by_hand():
    X = pd.DataFrame({"age": [18, 24.9, 25, 44, 45, 90], "x": range(6)})
    prot = resolve_protected(X, prot_attr=Binned("age", [25, 45]))
    assert prot.groups.labels == ["<25", "[25, 45)", ">=45"]
    np.testing.assert_array_equal(prot.groups.codes, [0, 0, 1, 1, 2, 2])
    right = resolve_protected(X, prot_attr=Binned("age", [25, 45], right=True))
    assert right.groups.labels == ["<=25", "(25, 45]", ">45"]
    np.testing.assert_array_equal(right.groups.codes, [0, 0, 0, 1, 1, 2])


def test_binned_by_index_on_arrays_and_drop_removes_source_column():
    X = np.c_[[10.0, 30.0, 50.0, 70.0], [1.0, 2.0, 3.0, 4.0]]
    prot = resolve_protected(X, prot_attr=Binned(0, [40]), drop=True)
    np.testing.assert_array_equal(prot.groups.codes, [0, 0, 1, 1])
    assert prot.columns == [0]
    np.testing.assert_array_equal(prot.X, [[1.0], [2.0], [3.0], [4.0]])


def test_binned_intersects_with_a_categorical_column():
    X = _frame()
    prot = resolve_protected(X, prot_attr=["sex", Binned("age", [50])])
    # ages linspace(18, 80, 12): 6 below 50 (18 .. 46.2), 6 at or above
    assert prot.groups.labels == [("F", "<50"), ("F", ">=50"), ("M", "<50"), ("M", ">=50")]
    np.testing.assert_array_equal(prot.groups.counts(), [3, 3, 3, 3])


def test_binned_quantiles_gives_equal_count_bins():
    values = np.arange(100.0)
    spec = Binned.quantiles("age", values, 4)
    assert spec.edges == (24.75, 49.5, 74.25)
    codes = resolve_protected(pd.DataFrame({"age": values}), prot_attr=spec).groups.codes
    np.testing.assert_array_equal(np.bincount(codes), [25, 25, 25, 25])


def test_binned_is_a_picklable_clonable_parameter():
    spec = Binned("age", [25, 45], labels=["young", "mid", "old"])
    assert pickle.loads(pickle.dumps(spec)) == spec
    est = clone(_Est(prot_attr=spec))
    assert est.prot_attr == spec
    assert hash(spec) == hash(Binned("age", (25.0, 45.0), labels=("young", "mid", "old")))


@pytest.mark.parametrize("kwargs, match", [
    ({"column": "age", "edges": []}, "strictly increasing"),
    ({"column": "age", "edges": [45, 25]}, "strictly increasing"),
    ({"column": "age", "edges": [np.inf]}, "finite"),
    ({"column": "age", "edges": ["a"]}, "edges must be numbers"),
    ({"column": ["a", "b"], "edges": [1]}, "one column name or index"),
    ({"column": "age", "edges": [1], "labels": ["a"]}, "2 distinct names"),
])
def test_binned_bad_specs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Binned(**kwargs)


def test_binned_on_a_string_column_names_it():
    with pytest.raises(ValueError, match="Binned\\('sex', ...\\) needs a numeric column"):
        resolve_protected(_frame(), prot_attr=Binned("sex", [1]))


# -- one prot_attr rule -------------------------------------------------------------------
@pytest.mark.parametrize("prot_attr, expected", [
    ("sex", ["sex"]), (0, [0]), (np.array([0]), [0]), (np.int64(2), [2]),
    (("sex", "age"), ["sex", "age"]), (pd.Index(["sex"]), ["sex"]),
])
def test_check_prot_attr_accepts_names_indices_and_arrays(prot_attr, expected):
    assert check_prot_attr(prot_attr) == expected


@pytest.mark.parametrize("prot_attr", [1.5, True, None, [], [["sex"]], {"sex": 1}])
def test_check_prot_attr_refuses_other_values(prot_attr):
    with pytest.raises(ValueError, match="prot_attr"):
        check_prot_attr(prot_attr)


# -- one continuous rule ------------------------------------------------------------------
def test_continuous_rule_is_more_than_max_levels_numeric():
    assert not is_continuous_attribute(pd.Series(np.arange(100) % 5))  # race coded 0..4
    assert not is_continuous_attribute(pd.Series(np.arange(MAX_GROUP_LEVELS)))
    assert is_continuous_attribute(pd.Series(np.arange(MAX_GROUP_LEVELS + 1)))
    assert not is_continuous_attribute(pd.Series([f"g{i}" for i in range(500)]))
    assert not is_continuous_attribute(pd.Series(np.arange(500) % 2 == 0))


# -- validate_fair_data -------------------------------------------------------------------
def test_validate_sets_layout_and_groups_then_maps_codes_at_predict():
    X = _frame()
    est = _Est(prot_attr="sex")
    data = validate_fair_data(est, X, np.tile([0, 1], 6), reset=True, drop=True,
                              target="binary", min_groups=2)
    assert est.n_features_in_ == 3
    assert list(est.feature_names_in_) == ["sex", "age", "x"]
    assert est.groups_ == ["F", "M"] and est.prot_attr_names_ == ["sex"]
    np.testing.assert_array_equal(est.classes_, [0, 1])
    assert list(data.X.columns) == ["age", "x"]
    assert data.feature_idx == [1, 2] and data.prot_idx == [0]
    # predict time: only M rows; codes are the fitted ones (M = 1), not 0
    later = validate_fair_data(est, X[X.sex == "M"], reset=False)
    np.testing.assert_array_equal(later.codes, np.ones(6))


def test_validate_unseen_group_names_it():
    X = _frame()
    est = _Est(prot_attr="sex")
    validate_fair_data(est, X, reset=True)
    X2 = X.assign(sex=["F"] * 11 + ["X"])
    with pytest.raises(ValueError, match="Group 'X' of the protected attribute was not seen"):
        validate_fair_data(est, X2, reset=False)


def test_validate_numeric_names_a_string_feature_column():
    X = _frame().assign(city=["a"] * 12)
    with pytest.raises(ValueError, match="column 'city' of X has dtype"):
        validate_fair_data(_Est(prot_attr="sex"), X, reset=True, drop=True, features="numeric")


def test_validate_numeric_names_a_string_column_of_an_object_array():
    X = np.array([[0, 1.0, "a"], [1, 2.0, "b"]], dtype=object)
    with pytest.raises(ValueError, match="column 2 of X holds non-numeric values"):
        validate_fair_data(_Est(prot_attr=0), X, reset=True, features="numeric")


def test_validate_names_a_string_column_by_its_index_in_x_after_a_drop():
    X = np.array([["F", 1.0, "a"], ["M", 2.0, "b"]], dtype=object)
    with pytest.raises(ValueError, match="column 2 of X holds non-numeric values"):
        validate_fair_data(_Est(prot_attr=0), X, reset=True, drop=True, features="numeric")


def test_validate_refuses_values_that_are_neither_text_nor_numbers():
    X = np.array([[0, 1.0], [1, {"a": 1}]], dtype=object)
    with pytest.raises(TypeError, match="type 'dict'.*must be a string or a number"):
        validate_fair_data(_Est(prot_attr=0), X, reset=True)


def test_validate_refuses_y_of_another_length_before_storing_anything():
    est = _Est(prot_attr="sex")
    with pytest.raises(ValueError, match="X has 12 rows but y has 11"):
        validate_fair_data(est, _frame(), np.zeros(11), reset=True, target="binary")
    assert not hasattr(est, "groups_")


def test_validate_binary_target_and_pos_label():
    est = _Est(prot_attr="sex")
    y = np.array(["no", "yes"] * 6)
    data = validate_fair_data(est, _frame(), y, reset=True, target="binary", pos_label="no")
    np.testing.assert_array_equal(data.y, np.tile([1, 0], 6))
    assert est.pos_label_ == "no"
    with pytest.raises(ValueError, match="pos_label='maybe' is not one of the classes"):
        validate_fair_data(_Est(prot_attr="sex"), _frame(), y, reset=True, target="binary",
                           pos_label="maybe")
    with pytest.raises(ValueError, match="Only binary classification"):
        validate_fair_data(_Est(prot_attr="sex"), _frame(), np.arange(12) % 3, reset=True,
                           target="binary")


def test_validate_sample_weight_length_is_checked():
    with pytest.raises(ValueError, match="sample_weight"):
        validate_fair_data(_Est(prot_attr="sex"), _frame(), sample_weight=np.ones(5),
                           reset=True)


def test_validate_continuous_attribute_refused_for_groups_accepted_as_values():
    X = _frame(n=400)
    with pytest.raises(ValueError, match="looks continuous"):
        validate_fair_data(_Est(prot_attr="x"), X, reset=True)
    data = validate_fair_data(_Est(prot_attr="x"), X, reset=True, protected="values")
    assert data.groups is None and data.protected.values.shape == (400, 1)


def test_validate_columns_mode_needs_no_attribute():
    X = _frame()
    data = validate_fair_data(_Est(), X, reset=True, protected="columns", drop=True)
    assert data.protected is None and data.X is X


def test_validate_routed_and_named_attribute_give_the_same_codes():
    X = _frame()
    by_name = validate_fair_data(_Est(prot_attr="sex"), X, reset=True)
    routed = validate_fair_data(_Est(), X.drop(columns="sex"), reset=True,
                                sensitive_features=X["sex"])
    np.testing.assert_array_equal(by_name.codes, routed.codes)


# -- docstring fragments ------------------------------------------------------------------
def test_substitution_indents_fragments_and_leaves_other_braces():
    @Substitution(prot_attr=DOC_FRAGMENTS["prot_attr"])
    class A:
        """Doc.

        Parameters
        ----------
        {prot_attr}
        other : dict, default={}
        """

    lines = A.__doc__.split("\n")
    indent = lines[3][: len(lines[3]) - len(lines[3].lstrip())]  # the "-------" line's
    assert lines[4] == indent + "prot_attr : str, int, Binned or list of those, default=None"
    assert lines[5] == indent + "    Protected attribute(s) read from ``X``: column name(s) of a "\
        "DataFrame, integer"
    assert "other : dict, default={}" in A.__doc__


_FAST_COLUMNS = {
    "int": np.array([3, 1, 3, 2, 1, 2]),
    "uint": np.array([3, 1, 3, 2, 1, 2], dtype=np.uint8),
    "bool": np.array([True, False, True, True, False, False]),
    "float": np.array([0.5, 1.5, 0.5, 2.5, 1.5, 0.5]),
    "str": np.array(["b", "a", "c", "a", "b", "c"], dtype=object),
    "category": pd.Categorical(["lo", "hi", "hi", "lo", "mid", "lo"],
                                categories=["mid", "lo", "hi", "unused"]),
    "nullable_int": pd.array([2, 1, 2, 1, 2, 1], dtype="Int64"),
    "missing": np.array([1.0, np.nan, 1.0, 2.0, 2.0, 1.0]),
    "inf": np.array([1.0, np.inf, 1.0, 2.0, 2.0, 1.0]),
}


@pytest.mark.parametrize("kind", sorted(_FAST_COLUMNS))
@pytest.mark.parametrize("drop", [False, True])
def test_predict_fast_path_equals_resolve_protected(kind, drop):
    # the one-column fast path of validate_fair_data either declines (None) or gives what
    # the general resolve_protected gives: codes, labels (and their types), names, X
    import warnings

    from fairkit._protected import resolve_protected
    from fairkit._validation import _one_column_protected

    col = _FAST_COLUMNS[kind]
    X = pd.DataFrame({"x": np.arange(6.0), "g": col, "z": np.ones(6)})
    arr = np.c_[np.arange(6.0), np.asarray(col, dtype=float), np.ones(6)] \
        if kind in {"int", "uint", "bool", "float", "missing", "inf"} else None
    cases = [(X, "g")] + ([(arr, 1)] if arr is not None else [])
    for data, key in cases:
        fast = _one_column_protected(data, key, drop)
        if kind in {"missing", "inf"}:
            assert fast is None  # the general path reports it in its own words
            continue
        assert fast is not None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            slow = resolve_protected(data, prot_attr=key, drop=drop)
        np.testing.assert_array_equal(fast.groups.codes, slow.groups.codes)
        assert fast.groups.labels == slow.groups.labels
        assert [type(v) for v in fast.groups.labels] == [type(v) for v in slow.groups.labels]
        assert fast.groups.names == slow.groups.names
        assert list(fast.columns) == list(slow.columns)
        if isinstance(data, pd.DataFrame):
            pd.testing.assert_frame_equal(fast.X, slow.X)
            pd.testing.assert_frame_equal(fast.values, slow.values)
        else:
            np.testing.assert_array_equal(fast.X, slow.X)


def test_check_weights_nonnegative_names_the_estimator_and_the_weight():
    from sklearn.linear_model import LogisticRegression

    from fairkit._validation import check_weights_nonnegative

    est = LogisticRegression()
    check_weights_nonnegative(est, None)
    check_weights_nonnegative(est, np.zeros(3))  # zero weights are allowed without the sum
    with pytest.raises(ValueError, match=r"^LogisticRegression: sample_weight must be "
                                         r"non-negative; got a weight of -0\.5\.$"):
        check_weights_nonnegative(est, [1.0, -0.5, -2.0])
    with pytest.raises(ValueError, match=r"with a positive sum; its sum is 0\.0\.$"):
        check_weights_nonnegative(est, np.zeros(3), positive_sum=True)
