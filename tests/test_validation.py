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
    "int_from_zero": np.array([0, 1, 0, 2, 1, 2]),
    "uint": np.array([3, 1, 3, 2, 1, 2], dtype=np.uint8),
    "bool": np.array([True, False, True, True, False, False]),
    "float": np.array([0.5, 1.5, 0.5, 2.5, 1.5, 0.5]),
    "float_whole": np.array([1.0, 0.0, 1.0, 3.0, 0.0, 1.0]),
    "float_negative": np.array([-1.0, 2.0, -1.0, 0.0, 2.0, 0.0]),
    "float_signed_zero": np.array([-0.0, 1.0, 0.0, 1.0, -0.0, 0.0]),
    "float_huge": np.array([1e17, 2e17, 1e17, 3e17, 2e17, 1e17]),
    "float32": np.array([1.0, 0.0, 1.0, 3.0, 0.0, 1.0], dtype=np.float32),
    "str": np.array(["b", "a", "c", "a", "b", "c"], dtype=object),
    "arrow_str": pd.array(["b", "a", "c", "a", "b", "c"], dtype="str"),
    "mixed_objects": np.array(["a", 1, "a", 1, "b", 2], dtype=object),
    "category": pd.Categorical(["lo", "hi", "hi", "lo", "mid", "lo"],
                                categories=["mid", "lo", "hi", "unused"]),
    "category_all_used": pd.Categorical(["b", "a", "a", "b", "a", "b"]),
    "category_int": pd.Categorical([30, 10, 20, 10, 30, 20], categories=[30, 20, 10]),
    "category_ordered": pd.Categorical(["lo", "hi", "hi", "lo", "hi", "lo"],
                                        categories=["lo", "hi"], ordered=True),
    "category_many": pd.Categorical(list("abcdef"), categories=list("fedcbazyxwvu")),
    "category_missing": pd.Categorical(["a", None, "a", "b", "b", "a"]),
    "one_group": np.array([1, 1, 1, 1, 1, 1]),
    "nullable_int": pd.array([2, 1, 2, 1, 2, 1], dtype="Int64"),
    "missing": np.array([1.0, np.nan, 1.0, 2.0, 2.0, 1.0]),
    "inf": np.array([1.0, np.inf, 1.0, 2.0, 2.0, 1.0]),
    "object_inf": np.array([1.0, np.inf, 1.0, 2.0, 2.0, 1.0], dtype=object),
    "object_none": np.array(["a", None, "a", "b", "b", "a"], dtype=object),
}
# columns the fast path must leave to the general path, which warns or raises
_GENERAL_ONLY = {"missing", "inf", "object_inf", "object_none", "category_missing"}
_NUMERIC_KINDS = {"int", "int_from_zero", "uint", "bool", "float", "float_whole",
                  "float_negative", "float_signed_zero", "float_huge", "float32", "one_group",
                  "missing", "inf"}


def _fast_cases(kind):
    col = _FAST_COLUMNS[kind]
    X = pd.DataFrame({"x": np.arange(6.0), "g": col, "z": np.ones(6)})
    cases = [(X, "g"), (X.set_index(np.arange(10, 16)), "g")]
    if kind in _NUMERIC_KINDS:
        cases.append((np.c_[np.arange(6.0), np.asarray(col, dtype=float), np.ones(6)], 1))
    if kind in {"str", "mixed_objects", "object_none"}:
        cases.append((np.c_[np.arange(6).astype(object), np.asarray(col), np.ones(6)], 1))
    return cases


@pytest.mark.parametrize("kind", sorted(_FAST_COLUMNS))
@pytest.mark.parametrize("drop", [False, True])
@pytest.mark.parametrize("min_groups", [1, 2])
@pytest.mark.parametrize("require_groups", [True, False])
def test_fast_path_equals_resolve_protected(kind, drop, min_groups, require_groups):
    # the one-column fast path of validate_fair_data either declines (None) or gives what
    # the general resolve_protected gives: codes, labels (and their types), names, X and
    # the attribute frame; it declines whenever the general path warns or raises
    import warnings

    from fairkit._validation import _one_column_protected

    for data, key in _fast_cases(kind):
        fast = _one_column_protected(data, key, drop, min_groups=min_groups)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                slow = resolve_protected(data, prot_attr=key, drop=drop, min_groups=min_groups,
                                         require_groups=require_groups)
        except (ValueError, UserWarning):
            assert fast is None  # the general path reports it in its own words
            continue
        if kind in _GENERAL_ONLY:
            assert fast is None
            continue
        assert fast is not None, (kind, type(data))
        assert slow.groups is not None  # a discrete attribute: groups either way
        np.testing.assert_array_equal(fast.groups.codes, slow.groups.codes)
        assert fast.groups.codes.dtype == slow.groups.codes.dtype == np.intp
        assert fast.groups.labels == slow.groups.labels
        assert [type(v) for v in fast.groups.labels] == [type(v) for v in slow.groups.labels]
        assert fast.groups.names == slow.groups.names
        assert list(fast.columns) == list(slow.columns)
        pd.testing.assert_frame_equal(fast.values, slow.values)
        if isinstance(data, pd.DataFrame):
            pd.testing.assert_frame_equal(fast.X, slow.X)
        else:
            np.testing.assert_array_equal(fast.X, slow.X)
    if kind == "one_group" and min_groups == 2:
        with pytest.raises(ValueError, match="only 1 group"):
            resolve_protected(_fast_cases(kind)[0][0], prot_attr="g", min_groups=2)


def test_fast_path_codes_do_not_share_memory_with_x():
    from fairkit._validation import _one_column_protected

    X = pd.DataFrame({"g": np.array([0, 1, 2, 1], dtype=np.intp), "x": np.ones(4)})
    arr = np.c_[np.array([0, 1, 2, 1]), np.ones(4, dtype=int)].astype(np.intp)
    for data, key in ((X, "g"), (arr, 0)):
        prot = _one_column_protected(data, key, False)
        prot.groups.codes[:] = 7
        assert np.asarray(data)[:, 0].tolist() == [0, 1, 2, 1]
        prot.values.iloc[0, 0] = 9  # the attribute frame is a copy too
        assert np.asarray(data)[:, 0].tolist() == [0, 1, 2, 1]


@pytest.mark.parametrize("kind", sorted(set(_FAST_COLUMNS) - {"mixed_objects"}))
def test_factorize_column_shortcuts_equal_factorize(kind):
    from fairkit._groups import column_values, factorize
    from fairkit._validation import _factorize_column

    series = pd.Series(_FAST_COLUMNS[kind])
    values = column_values(series)
    fast_codes, fast_levels = _factorize_column(values)
    codes, levels = factorize(values)
    np.testing.assert_array_equal(fast_codes, codes)
    assert list(fast_levels) == list(levels)
    assert [type(v) for v in fast_levels] == [type(v) for v in levels]
    if kind == "float_signed_zero":  # pandas keeps the sign of the first zero it meets
        assert str(list(fast_levels)[0]) == "-0.0"


def _general_only(monkeypatch):
    import fairkit._validation as validation

    monkeypatch.setattr(validation, "_one_column_protected", lambda *a, **k: None)


def _layout(est):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(est).items()
            if k.endswith("_")}


def _inputs():
    pl = pytest.importorskip("polars")
    rng = np.random.default_rng(3)
    n = 40
    frame = pd.DataFrame({"a": rng.normal(size=n), "sex": rng.choice(["F", "M"], n),
                          "k": rng.integers(0, 3, n), "b": rng.normal(size=n)})
    cat = frame.assign(sex=pd.Categorical(frame["sex"]))
    floats = frame.assign(sex=(frame["sex"] == "M").astype(float))
    return [
        ("pandas str", frame, "sex"), ("pandas categorical", cat, "sex"),
        ("pandas float", floats, "sex"), ("pandas int", frame, "k"),
        ("polars", pl.from_pandas(frame), "sex"),
        ("numpy float", floats[["a", "sex", "b"]].to_numpy(), 1),
        ("numpy negative index", floats[["a", "sex", "b"]].to_numpy(), -2),
        ("numpy object", frame.to_numpy(), 1),
    ]


@pytest.mark.parametrize("features", ["passthrough", "numeric"])
@pytest.mark.parametrize("drop", [False, True])
@pytest.mark.parametrize("protected", ["groups", "values", "columns"])
def test_validate_fast_path_equals_general_path(monkeypatch, features, drop, protected):
    # fit (reset=True) and predict (reset=False) through validate_fair_data, with and
    # without the one-column fast path: the same fitted attributes and the same FairData
    for label, X, key in _inputs():
        if features == "numeric" and label in ("pandas str", "pandas categorical",
                                               "polars", "numpy object", "pandas int"):
            if not drop or label == "pandas int":
                continue  # a string feature column: the error test below
        kw = dict(protected=protected, drop=drop, features=features,
                  min_groups=2 if protected != "columns" else 1)
        results = []
        for general in (False, True):
            with monkeypatch.context() as m:
                if general:
                    _general_only(m)
                est = _Est(prot_attr=key)
                fit = validate_fair_data(est, X, reset=True, **kw)
                pred = validate_fair_data(est, X, reset=False, **kw)
                results.append((_layout(est), fit, pred))
        (lay_f, fit_f, pred_f), (lay_g, fit_g, pred_g) = results
        assert lay_f == lay_g, label
        for a, b in ((fit_f, fit_g), (pred_f, pred_g)):
            if isinstance(a.X, pd.DataFrame):
                pd.testing.assert_frame_equal(a.X, b.X)
            else:
                np.testing.assert_array_equal(a.X, b.X)
                assert type(a.X) is type(b.X)
            np.testing.assert_array_equal(a.codes, b.codes)
            assert a.groups.labels == b.groups.labels
            assert (a.feature_idx, a.prot_idx) == (b.feature_idx, b.prot_idx)
            pd.testing.assert_frame_equal(a.protected.values, b.protected.values)


def test_fast_path_keeps_every_warning_and_error():
    # each case through validate_fair_data gives the general path's warning or error
    rng = np.random.default_rng(0)
    n = 200
    base = pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 2, n).astype(float)})
    est = _Est(prot_attr="g")
    validate_fair_data(est, base, reset=True, min_groups=2, features="numeric", drop=True)
    with pytest.raises(ValueError, match="missing values"):
        validate_fair_data(_Est("g"), base.assign(g=np.r_[np.nan, base["g"][1:]]),
                           reset=True, features="numeric", drop=True)
    with pytest.raises(ValueError, match="missing values"):
        validate_fair_data(est, base.assign(g=np.r_[np.nan, base["g"][1:]]), reset=False,
                           features="numeric", drop=True)
    with pytest.raises(ValueError, match="infinite"):
        validate_fair_data(_Est("g"), base.assign(g=np.r_[np.inf, base["g"][1:]]),
                           reset=True)
    with pytest.raises(ValueError, match=r"not found in X"):
        validate_fair_data(_Est("nope"), base, reset=True)
    with pytest.raises(ValueError, match=r"only 1 group"):
        validate_fair_data(_Est("g"), base.assign(g=1.0), reset=True, min_groups=2)
    with pytest.warns(UserWarning, match="numeric with 30 distinct values"):
        validate_fair_data(_Est("g"), base.assign(g=np.arange(n) % 30), reset=True)
    with pytest.raises(ValueError, match="looks continuous"):
        validate_fair_data(_Est("g"), base.assign(g=np.arange(n)), reset=True)
    # continuous attributes as values: no groups, nothing to warn
    out = validate_fair_data(_Est("g"), base.assign(g=np.arange(n) * 0.5), reset=True,
                             protected="values")
    assert out.groups is None
    with pytest.raises(ValueError, match="Group 'C' of the protected attribute was not seen"):
        e = _Est("s")
        validate_fair_data(e, pd.DataFrame({"s": ["A", "B"], "x": [1.0, 2.0]}), reset=True)
        validate_fair_data(e, pd.DataFrame({"s": ["A", "C"], "x": [1.0, 2.0]}), reset=False)
    # the feature block: non-finite and non-numeric features are refused as before
    with pytest.raises(ValueError, match="Input X contains infinity"):
        validate_fair_data(est, base.assign(x=np.r_[np.inf, base["x"][1:]]), reset=False,
                           features="numeric", drop=True)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        validate_fair_data(est, base.assign(x=np.r_[np.nan, base["x"][1:]]), reset=False,
                           features="numeric", drop=True)
    with pytest.raises(ValueError, match=r"column 'x' of X has dtype"):
        validate_fair_data(est, base.assign(x="a"), reset=False, features="numeric",
                           drop=True)
    allowed = validate_fair_data(est, base.assign(x=np.r_[np.nan, base["x"][1:]]),
                                 reset=False, features="numeric", drop=True,
                                 ensure_all_finite="allow-nan")
    assert np.isnan(allowed.X[0, 0])
    # feature names: other names or order warn/raise as scikit-learn does
    with pytest.raises(ValueError, match="feature names should match"):
        validate_fair_data(est, base[["g", "x"]], reset=False)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        validate_fair_data(est, base.to_numpy(), reset=False, protected="none")


def test_checked_floats_equals_check_array():
    import warnings

    from sklearn.utils import check_array

    from fairkit._validation import _checked_floats

    est = _Est()
    finite = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    assert _checked_floats(est, finite, ensure_all_finite=True, accept_sparse=False) is \
        check_array(finite, dtype=np.float64, ensure_min_features=0)
    big = np.full((3, 2), 1e308)  # the sum overflows; every value is finite
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning, as in check_array
        np.testing.assert_array_equal(
            _checked_floats(est, big, ensure_all_finite=True, accept_sparse=False), big)
    for bad, match in ((np.inf, "infinity"), (np.nan, "NaN")):
        arr = finite.copy()
        arr[1, 1] = bad
        with pytest.raises(ValueError, match=f"Input X contains {match}"):
            _checked_floats(est, arr, ensure_all_finite=True, accept_sparse=False)
    arr = finite.copy()
    arr[0, 0] = np.nan
    out = _checked_floats(est, arr, ensure_all_finite="allow-nan", accept_sparse=False)
    assert np.isnan(out[0, 0])


@pytest.mark.parametrize("columns", [
    ["a", "b"], [np.str_("a"), np.str_("b")], [0, 1], ["a", 1], [("a", 1), ("b", 2)]])
def test_set_feature_names_equals_scikit_learn(columns):
    from sklearn.utils.validation import _check_feature_names

    from fairkit._validation import _same_feature_names, _set_feature_names

    X = pd.DataFrame(np.ones((2, 2)), columns=pd.Index(columns, dtype=object)
                     if not isinstance(columns[0], tuple) else pd.MultiIndex.from_tuples(columns))
    ours, theirs = _Est(), _Est()
    theirs.feature_names_in_ = ours.feature_names_in_ = np.array(["old"], dtype=object)
    errors = []
    for est, fn in ((ours, _set_feature_names), (theirs, lambda e, X: _check_feature_names(
            e, X, reset=True))):
        try:
            fn(est, X)
            errors.append(None)
        except TypeError as exc:
            errors.append(str(exc))
    assert errors[0] == errors[1]
    assert _layout(ours).keys() == _layout(theirs).keys()
    if hasattr(theirs, "feature_names_in_"):
        np.testing.assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
        assert ours.feature_names_in_.dtype == object
    # np.str_ names are not names to scikit-learn: predict must not skip its warning
    fitted = _Est()
    fitted.feature_names_in_ = np.array(["a", "b"], dtype=object)
    exact = [type(c) is str for c in columns] == [True, True]
    assert _same_feature_names(fitted, X) == (exact and list(columns) == ["a", "b"])


def test_random_sample_equals_check_random_state():
    from sklearn.utils import check_random_state

    from fairkit._validation import random_sample

    for seed in (0, 7, np.int64(12), 2**32 - 1):
        np.testing.assert_array_equal(random_sample(seed, 50),
                                      check_random_state(seed).random_sample(50))
    np.testing.assert_array_equal(random_sample(3, 5), random_sample(3, 5))  # reseeded
    rs_a, rs_b = np.random.RandomState(5), np.random.RandomState(5)
    first = random_sample(rs_a, 4)
    np.testing.assert_array_equal(first, rs_b.random_sample(4))
    np.testing.assert_array_equal(random_sample(rs_a, 4), rs_b.random_sample(4))  # advances
    assert random_sample(None, 3).shape == (3,)
    with pytest.raises(ValueError, match=r"Seed must be between 0 and 2\*\*32 - 1"):
        random_sample(-1, 3)


def test_predict_maps_groups_by_value_and_kind():
    # labels equal to the fitted groups keep their codes; other labels are mapped
    from fairkit._validation import _same_groups

    assert _same_groups(["F", "M"], ["F", "M"])
    assert not _same_groups(["M"], ["F", "M"])
    assert not _same_groups([1, 2], [1.0, 2.0])  # equal values of another kind: mapped
    assert not _same_groups([True], [1])
    est = _Est(prot_attr="g")
    validate_fair_data(est, pd.DataFrame({"g": [0, 1, 2], "x": [1.0, 2.0, 3.0]}), reset=True)
    out = validate_fair_data(est, pd.DataFrame({"g": [2.0, 1.0], "x": [1.0, 2.0]}),
                             reset=False)
    assert out.codes.tolist() == [2, 1]
    assert out.groups.labels == [0, 1, 2]


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
