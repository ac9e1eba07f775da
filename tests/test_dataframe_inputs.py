"""polars and pyarrow tables as inputs (issue 17): the frame conversion at the edge
(fairkit/utils/_dataframe.py) and a table going through the metrics, a scorer in a search
and one estimator of each stage, each giving what the equivalent pandas input gives.

Numbers that are not an equality with the pandas input are worked out with numpy
(selection rates, reweighing factors, a fold's parity gap).
"""

import sys

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

import fairkit.metrics as fkm
from fairkit.inprocessing import ExponentiatedGradientReduction
from fairkit.metrics import (
    equalized_odds_difference,
    fairness_report,
    make_fairness_scorer,
    selection_rate_difference,
)
from fairkit.postprocessing import RejectOptionClassifier
from fairkit.preprocessing import CorrelationRemover, Reweighing, ReweighingClassifier
from fairkit.utils._dataframe import to_pandas

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

KINDS = ["polars", "pyarrow"]


def _data(n=600, seed=0):
    """Two groups of unequal size (30% F), a third attribute, an imbalanced target
    (about 30% positive) that depends on the group, raw (unscaled) features."""
    rng = np.random.default_rng(seed)
    sex = np.where(rng.random(n) < 0.3, "F", "M")
    race = rng.integers(0, 3, size=n)
    x1 = 10 * rng.normal(size=n) + 5 * (sex == "M")
    x2 = rng.normal(size=n)
    y = (x1 / 10 + 0.5 * x2 + rng.normal(size=n) > 0.9).astype(np.int64)
    yhat = (x1 / 10 + rng.normal(size=n) > 0.7).astype(np.int64)
    w = rng.integers(1, 4, size=n).astype(float)
    return {"x1": x1, "sex": sex, "race": race, "x2": x2}, y, yhat, w


def _table(kind, cols):
    if kind == "pandas":
        return pd.DataFrame(cols)
    if kind == "polars":
        return pl.DataFrame(cols)
    return pa.table(cols)


def _column(kind, values, name=None):
    values = np.asarray(values)
    if kind == "pandas":
        return pd.Series(values, name=name)
    if kind == "polars":
        return pl.Series(name or "", values)
    k = len(values) // 3  # two chunks, so chunked columns are exercised
    return pa.chunked_array([values[:k], values[k:]])


# -- to_pandas ----------------------------------------------------------------------------
def test_to_pandas_returns_other_inputs_unchanged():
    import scipy.sparse as sp

    for obj in (
        np.arange(3),
        [1, 2],
        None,
        pd.Series([1]),
        pd.DataFrame({"a": [1]}),
        sp.csr_matrix(np.eye(2)),
        pd.Index([1, 2]),
    ):
        assert to_pandas(obj) is obj


@pytest.mark.parametrize("kind", KINDS)
def test_to_pandas_table_is_the_pandas_frame_of_the_same_data(kind):
    cols = {
        "i": np.array([3, 1, 2]),
        "f": np.array([0.5, -1.0, 2.5]),
        "s": np.array(["a", "b", "a"]),
        "b": np.array([True, False, True]),
    }
    expected = pd.DataFrame(cols)
    assert_frame_equal(to_pandas(_table(kind, cols)), expected)


def test_to_pandas_categorical_and_nulls_read_as_pandas_would():
    frame = pl.DataFrame({"c": ["x", "y", "x"], "n": [1, None, 3]}).with_columns(
        pl.col("c").cast(pl.Categorical)
    )
    out = to_pandas(frame)
    assert isinstance(out["c"].dtype, pd.CategoricalDtype)
    assert out["c"].tolist() == ["x", "y", "x"]
    # an integer column with a null: float64 with NaN, as pandas holds it
    assert out["n"].dtype == np.float64
    assert np.isnan(out["n"][1]) and out["n"][[0, 2]].tolist() == [1.0, 3.0]


@pytest.mark.parametrize("kind", KINDS)
def test_to_pandas_column_is_a_series(kind):
    values = np.array([1, 0, 1, 1, 0, 0])
    out = to_pandas(_column(kind, values, name="y"))
    assert isinstance(out, pd.Series)
    np.testing.assert_array_equal(out.to_numpy(), values)
    assert out.name == ("y" if kind == "polars" else None)
    # polars' default name "" is no name, as an unnamed pandas Series
    assert to_pandas(pl.Series([1, 2])).name is None
    assert to_pandas(pa.array(["a", "b"])).tolist() == ["a", "b"]


def test_to_pandas_keeps_rows_of_a_table_without_columns():
    out = to_pandas(pa.table({"a": [1, 2, 3]}).select([]))
    assert out.shape == (3, 0)


def test_to_pandas_pandas2_route_gives_the_same_frame(monkeypatch):
    cols = {"i": np.array([3, 1, 2]), "s": np.array(["a", "b", "a"])}
    want = to_pandas(pl.DataFrame(cols))
    want_col = to_pandas(pl.Series("y", [1, 0, 1]))
    monkeypatch.delattr(pd.DataFrame, "from_arrow")  # pandas < 3 has no from_arrow
    assert_frame_equal(to_pandas(pl.DataFrame(cols)), want)
    assert_series_equal(to_pandas(pl.Series("y", [1, 0, 1])), want_col)


def test_to_pandas_without_pyarrow_reads_polars_by_columns(monkeypatch):
    frame = pl.DataFrame({"i": [3, 1, 2], "s": ["a", "b", "a"]})
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    out = to_pandas(frame)
    assert list(out.columns) == ["i", "s"]
    assert out["i"].tolist() == [3, 1, 2] and out["s"].tolist() == ["a", "b", "a"]
    ser = to_pandas(pl.Series("g", ["u", "v"]))
    assert ser.tolist() == ["u", "v"] and ser.name == "g"

    class ArrowOnly:  # an Arrow producer pandas can only read through pyarrow
        def __arrow_c_stream__(self, requested_schema=None):  # pragma: no cover
            raise AssertionError

    with pytest.raises(ImportError, match="ArrowOnly needs pyarrow"):
        to_pandas(ArrowOnly())


# -- metrics ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_fairness_report_equals_pandas_input(kind):
    cols, y, yhat, w = _data()
    sf = {"sex": cols["sex"], "race": cols["race"]}
    kwargs = {"n_bootstrap": 40, "random_state": 0}
    expected = fairness_report(
        pd.Series(y),
        pd.Series(yhat),
        sensitive_features=pd.DataFrame(sf),
        sample_weight=pd.Series(w),
        **kwargs,
    )
    got = fairness_report(
        _column(kind, y),
        _column(kind, yhat),
        sensitive_features=_table(kind, sf),
        sample_weight=_column(kind, w),
        **kwargs,
    )
    assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=0)
    assert got.attrs == expected.attrs

    # one attribute as a named column; a rate worked out with numpy
    got = fairness_report(
        _column(kind, y),
        _column(kind, yhat),
        sensitive_features=_column(kind, cols["sex"], name="sex"),
        sample_weight=_column(kind, w),
        priv_group="M",
    )
    female = cols["sex"] == "F"
    assert got.loc["F", "selection_rate"] == pytest.approx(
        np.sum(w[female] * yhat[female]) / np.sum(w[female]), rel=1e-12
    )
    assert got.index.name == ("sex" if kind == "polars" else "sensitive_feature")


@pytest.mark.parametrize("kind", KINDS)
def test_group_metric_equals_numpy_by_hand(kind):
    cols, y, yhat, _ = _data()
    got = equalized_odds_difference(
        _column(kind, y), _column(kind, yhat), sensitive_features=_column(kind, cols["sex"])
    )
    gaps = []
    for truth in (1, 0):  # TPR gap, FPR gap
        rates = [yhat[(cols["sex"] == g) & (y == truth)].mean() for g in ("F", "M")]
        gaps.append(abs(rates[0] - rates[1]))
    assert got == pytest.approx(max(gaps), rel=1e-12)


def test_group_metric_frame_takes_tables():
    frame_cls = getattr(fkm, "GroupMetricFrame", None)
    if frame_cls is None:
        pytest.skip("fairkit.metrics.GroupMetricFrame is not built yet")
    from sklearn.metrics import recall_score

    cols, y, yhat, w = _data()
    sf = {"sex": cols["sex"], "race": cols["race"]}

    def frame(kind):
        return frame_cls(
            metrics={"recall": recall_score, "accuracy": fkm_accuracy},
            y_true=_column(kind, y),
            y_pred=_column(kind, yhat),
            sensitive_features=_table(kind, sf),
            control_features=_table(kind, {"x2_pos": cols["x2"] > 0}),
            sample_params={"accuracy": {"sample_weight": _column(kind, w)}},
        )

    expected = frame("pandas")
    for kind in KINDS:
        got = frame(kind)
        assert_frame_equal(got.by_group, expected.by_group, check_exact=False, rtol=1e-12)
        assert_frame_equal(got.overall, expected.overall, check_exact=False, rtol=1e-12)
        assert_frame_equal(got.difference(), expected.difference(), check_exact=False, rtol=1e-12)
    # one cell by hand: recall of women of race 0 among rows with x2 > 0
    cell = (cols["x2"] > 0) & (cols["sex"] == "F") & (cols["race"] == 0) & (y == 1)
    assert got.by_group.loc[(True, "F", 0), "recall"] == pytest.approx(yhat[cell].mean(), rel=1e-12)


def fkm_accuracy(y_true, y_pred, sample_weight=None):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y_true, y_pred, sample_weight=sample_weight)


# -- a scorer inside a search -------------------------------------------------------------
def _numeric_data():
    cols, y, _, _ = _data()
    return {"x1": cols["x1"], "group": (cols["sex"] == "M").astype(np.int64), "x2": cols["x2"]}, y


@pytest.mark.parametrize("kind", KINDS)
def test_fairness_scorer_in_grid_search_equals_pandas_input(kind):
    cols, y = _numeric_data()
    scoring = {
        "spd": make_fairness_scorer("statistical_parity_difference", prot_attr="group"),
        "acc": "accuracy",
    }

    def search(X, yy):
        est = ReweighingClassifier(LogisticRegression(), prot_attr="group")
        return GridSearchCV(
            est, {"estimator__C": [0.01, 1.0]}, cv=3, scoring=scoring, refit="spd"
        ).fit(X, yy)

    expected = search(pd.DataFrame(cols), pd.Series(y))
    got = search(_table(kind, cols), _column(kind, y))
    for key in ("spd", "acc"):
        for split in range(3):
            np.testing.assert_allclose(
                got.cv_results_[f"split{split}_test_{key}"],
                expected.cv_results_[f"split{split}_test_{key}"],
                rtol=1e-12,
                atol=0,
            )
    assert got.best_params_ == expected.best_params_
    np.testing.assert_array_equal(got.best_estimator_.feature_names_in_, ["x1", "group", "x2"])


@pytest.mark.parametrize("kind", KINDS)
def test_fairness_scorer_reads_the_column_by_name_from_a_table(kind):
    cols, y = _numeric_data()
    train, test = next(StratifiedKFold(3).split(np.zeros(len(y)), y))
    Xn = np.column_stack([cols["x1"], cols["group"], cols["x2"]])
    model = LogisticRegression().fit(Xn[train], y[train])
    test_cols = {k: v[test] for k, v in cols.items()}
    scorer = make_fairness_scorer("statistical_parity_difference", prot_attr="group")
    # a model fitted on arrays scores the table through its values (no feature names)
    score = scorer(_Unnamed(model), _table(kind, test_cols), _column(kind, y[test]))
    pred = model.predict(Xn[test])
    g = cols["group"][test]
    assert score == pytest.approx(-abs(pred[g == 0].mean() - pred[g == 1].mean()), rel=1e-12)


class _Unnamed:
    """Predict from a table's values (a model fitted on a numpy array)."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict(np.asarray(to_pandas(X), dtype=float))


# -- one estimator of each stage ----------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_reweighing_equals_pandas_input_and_the_factors_by_hand(kind):
    cols, y, _, w = _data()
    expected = Reweighing(prot_attr="sex").fit(
        pd.DataFrame(cols), pd.Series(y), sample_weight=pd.Series(w)
    )
    got = Reweighing(prot_attr="sex").fit(
        _table(kind, cols), _column(kind, y), sample_weight=_column(kind, w)
    )
    np.testing.assert_array_equal(got.sample_weight_, expected.sample_weight_)
    np.testing.assert_array_equal(got.feature_names_in_, ["x1", "sex", "race", "x2"])
    assert got.groups_ == expected.groups_ == ["F", "M"]
    # W(g, y) = P(g) P(y) / P(g, y), weighted
    total = w.sum()
    for gi, g in enumerate(["F", "M"]):
        for label in (0, 1):
            in_g, in_y = cols["sex"] == g, y == label
            factor = w[in_g].sum() * w[in_y].sum() / (total * w[in_g & in_y].sum())
            assert got.reweigh_factors_[gi, label] == pytest.approx(factor, rel=1e-12)
    # routed protected attribute as a column, weights for new rows from a table
    routed = Reweighing().fit(
        _table(kind, cols),
        _column(kind, y),
        sensitive_features=_column(kind, cols["sex"], name="sex"),
        sample_weight=_column(kind, w),
    )
    np.testing.assert_array_equal(routed.sample_weight_, expected.sample_weight_)
    np.testing.assert_array_equal(
        got.compute_sample_weight(_table(kind, cols), _column(kind, y)),
        expected.compute_sample_weight(pd.DataFrame(cols), y),
    )


@pytest.mark.parametrize("kind", KINDS)
def test_correlation_remover_equals_pandas_input_and_keeps_set_output(kind):
    cols, _, _, _ = _data()
    cols = {k: cols[k] for k in ("x1", "sex", "x2")}
    X_pd, X_kind = pd.DataFrame(cols), _table(kind, cols)
    expected = CorrelationRemover(prot_attr="sex").fit(X_pd)
    got = CorrelationRemover(prot_attr="sex").fit(X_kind)
    np.testing.assert_allclose(
        got.transform(X_kind), expected.transform(X_pd), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(got.get_feature_names_out(), ["x1", "x2"])
    np.testing.assert_array_equal(got.feature_names_in_, expected.feature_names_in_)
    # the removed correlation is real: the output is uncorrelated with the group
    out = got.transform(X_kind)
    s = (cols["sex"] == "M").astype(float)
    assert abs(np.corrcoef(out[:, 0], s)[0, 1]) < 1e-10 < abs(np.corrcoef(cols["x1"], s)[0, 1])

    keep = {"prot_attr": "sex", "drop_prot_attr": False}
    pandas_out = CorrelationRemover(**keep).set_output(transform="pandas")
    assert_frame_equal(
        pandas_out.fit_transform(X_kind),
        pandas_out.fit_transform(X_pd),
        check_exact=False,
        rtol=1e-12,
    )
    polars_out = CorrelationRemover(prot_attr="sex").set_output(transform="polars")
    out_kind, out_pd = polars_out.fit_transform(X_kind), polars_out.fit_transform(X_pd)
    assert isinstance(out_kind, pl.DataFrame) and out_kind.columns == ["x1", "x2"]
    np.testing.assert_allclose(out_kind.to_numpy(), out_pd.to_numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_exponentiated_gradient_equals_pandas_input(kind):
    cols, y, _, _ = _data()
    cols = {k: cols[k] for k in ("x1", "sex", "x2")}
    params = {"prot_attr": "sex", "drop_prot_attr": True, "random_state": 0, "max_iter": 20}
    expected = ExponentiatedGradientReduction(LogisticRegression(), **params).fit(
        pd.DataFrame(cols), pd.Series(y)
    )
    got = ExponentiatedGradientReduction(LogisticRegression(), **params).fit(
        _table(kind, cols), _column(kind, y)
    )
    X_kind, X_pd = _table(kind, cols), pd.DataFrame(cols)
    np.testing.assert_array_equal(got.predict(X_kind), expected.predict(X_pd))
    np.testing.assert_allclose(
        got.predict_proba(X_kind), expected.predict_proba(X_pd), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(got.feature_names_in_, ["x1", "sex", "x2"])
    assert got.groups_ == ["F", "M"]


@pytest.mark.parametrize("kind", KINDS)
def test_reject_option_classifier_equals_pandas_input(kind):
    cols, y, _, _ = _data()
    cols = {k: cols[k] for k in ("x1", "sex", "x2")}
    params = {
        "prot_attr": "sex",
        "priv_group": "M",
        "drop_prot_attr": True,
        "n_thresholds": 20,
        "n_margins": 10,
    }
    expected = RejectOptionClassifier(LogisticRegression(), **params).fit(
        pd.DataFrame(cols), pd.Series(y)
    )
    got = RejectOptionClassifier(LogisticRegression(), **params).fit(
        _table(kind, cols), _column(kind, y)
    )
    X_kind, X_pd = _table(kind, cols), pd.DataFrame(cols)
    np.testing.assert_array_equal(got.predict(X_kind), expected.predict(X_pd))
    for name in ("threshold_", "margin_", "metric_value_"):
        assert getattr(got, name) == pytest.approx(getattr(expected, name), rel=1e-12, abs=0)
    assert got.groups_ == expected.groups_ == ["F", "M"]
    # the mitigated SPD, by hand from the predictions of the table input
    pred = got.predict(X_kind)
    female = cols["sex"] == "F"
    assert selection_rate_difference(pred, pred, sensitive_features=cols["sex"]) == pytest.approx(
        abs(pred[female].mean() - pred[~female].mean()), rel=1e-12
    )


@pytest.mark.parametrize("kind", KINDS)
def test_binned_prot_attr_and_dict_of_columns_read_from_tables(kind):
    from fairkit import Binned

    cols, y, yhat, _ = _data()
    spec = Binned("x1", [0.0, 5.0])
    expected = Reweighing(prot_attr=[spec, "sex"]).fit(pd.DataFrame(cols), y)
    got = Reweighing(prot_attr=[spec, "sex"]).fit(_table(kind, cols), _column(kind, y))
    np.testing.assert_array_equal(got.sample_weight_, expected.sample_weight_)
    assert got.groups_ == expected.groups_
    assert len(got.groups_) == 6  # 3 bands x 2 sexes, all present
    # a dict of columns from another library as sensitive_features
    sf = {"sex": _column(kind, cols["sex"]), "race": _column(kind, cols["race"])}
    got_rate = selection_rate_difference(y, yhat, sensitive_features=sf)
    sf_np = {"sex": cols["sex"], "race": cols["race"]}
    assert got_rate == selection_rate_difference(y, yhat, sensitive_features=sf_np)


# -- bad input: the same message as pandas -------------------------------------------------
def _message(func, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        func(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_missing_prot_attr_column_same_error_as_pandas(kind):
    cols, y, _, _ = _data()
    cols = {k: cols[k] for k in ("x1", "x2")}
    want = _message(Reweighing(prot_attr="sex").fit, pd.DataFrame(cols), y)
    assert "prot_attr column(s) ['sex'] not found in X" in want
    assert _message(Reweighing(prot_attr="sex").fit, _table(kind, cols), y) == want
    scorer = make_fairness_scorer("statistical_parity_difference", prot_attr="sex")
    model = LogisticRegression().fit(np.column_stack([cols["x1"], cols["x2"]]), y)
    assert _message(scorer, _Unnamed(model), _table(kind, cols), y) == _message(
        scorer, _Unnamed(model), pd.DataFrame(cols), y
    )


@pytest.mark.parametrize("kind", KINDS)
def test_missing_group_value_and_short_y_same_error_as_pandas(kind):
    cols, y, yhat, _ = _data(n=20)
    sex = cols["sex"].astype(object)
    sex[3] = None
    sf_kind = pl.Series("sex", sex.tolist()) if kind == "polars" else pa.array(sex.tolist())
    sf_pd = pd.Series(sex, name="sex" if kind == "polars" else None)
    want = _message(fairness_report, y, yhat, sensitive_features=sf_pd)
    assert "contains missing values" in want
    assert _message(fairness_report, y, yhat, sensitive_features=sf_kind) == want
    X_kind = _table(kind, {"x1": cols["x1"], "sex": cols["sex"]})
    X_pd = pd.DataFrame({"x1": cols["x1"], "sex": cols["sex"]})
    assert _message(Reweighing(prot_attr="sex").fit, X_kind, _column(kind, y[:-1])) == _message(
        Reweighing(prot_attr="sex").fit, X_pd, pd.Series(y[:-1])
    )


def test_polars_output_keeps_a_string_protected_column_typed():
    # DisparateImpactRemover at repair_level=0 leaves the features as they are, so the
    # output must be the input frame, with the kept protected column still text.
    pl = pytest.importorskip("polars")
    from fairkit.preprocessing import DisparateImpactRemover

    X = pl.DataFrame({"a": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5], "g": ["x", "y"] * 3})
    for given in (X, X.to_pandas()):
        out = (DisparateImpactRemover(prot_attr="g", repair_level=0.0)
               .set_output(transform="polars").fit(given).transform(given))
        assert isinstance(out, pl.DataFrame)
        assert out.columns == ["a", "g"]
        assert out.dtypes == [pl.Float64, pl.String]
        assert out["a"].to_list() == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
        assert out["g"].to_list() == ["x", "y"] * 3


def test_tables_reach_columns_read_by_name_after_validation():
    # SEP reads its SES column, OptimizedPreprocessing its feature columns, the SEP metric
    # its columns, and prequential_evaluation slices rows: all by name from X as given.
    pl = pytest.importorskip("polars")
    from sklearn.linear_model import SGDClassifier

    from fairkit.inprocessing import SEPConstrainedClassifier
    from fairkit.metrics.sep import socio_economic_parity_difference
    from fairkit.model_selection import prequential_evaluation
    from fairkit.preprocessing import OptimizedPreprocessing

    rng = np.random.default_rng(3)
    n = 300
    sex = rng.choice(["F", "M"], n)
    edu = rng.integers(6, 17, n)
    x1 = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.4 * (edu - 10) + x1 + (sex == "M"))))).astype(int)
    Xp = pd.DataFrame({"sex": sex, "edu": edu, "x1": x1})
    Xl = pl.from_pandas(Xp)

    kw = dict(prot_attr="sex", unpriv_group="F", ses_attr="edu", ses_threshold=10,
              epsilon=0.05)
    a = SEPConstrainedClassifier(**kw).fit(Xp, y)
    b = SEPConstrainedClassifier(**kw).fit(Xl, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=0, atol=1e-12)
    pred = a.predict(Xp)
    np.testing.assert_array_equal(b.predict(Xl), pred)
    spd = dict(sensitive_features="sex", unpriv_group="F", ses="edu", ses_threshold=10)
    assert socio_economic_parity_difference(y, pred, X=Xl, **spd) == \
        socio_economic_parity_difference(y, pred, X=Xp, **spd)

    D = pd.DataFrame({"g": sex, "e": np.where(edu > 10, "hi", "lo")})
    op_p = OptimizedPreprocessing(prot_attr="g", epsilon=0.1, random_state=0).fit(D, y)
    op_l = OptimizedPreprocessing(prot_attr="g", epsilon=0.1, random_state=0).fit(
        pl.from_pandas(D), y)
    np.testing.assert_allclose(op_l.mapping_, op_p.mapping_, atol=1e-12)
    out = op_l.transform(pl.from_pandas(D))
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["g", "e"]
    assert_frame_equal(out, op_p.transform(D))

    Xs = Xp[["edu", "x1"]]
    r_p = prequential_evaluation(SGDClassifier(random_state=0), Xs, y,
                                 sensitive_features=sex, chunk_size=50)
    r_l = prequential_evaluation(SGDClassifier(random_state=0), pl.from_pandas(Xs), y,
                                 sensitive_features=pl.Series(sex), chunk_size=50)
    np.testing.assert_array_equal(r_l.y_pred, r_p.y_pred)


def test_fairttts_fits_its_forest_on_a_table_as_on_pandas():
    pl = pytest.importorskip("polars")
    from sklearn.ensemble import RandomForestClassifier

    from fairkit.postprocessing import FairTTTSClassifier

    rng = np.random.default_rng(5)
    n = 400
    g = rng.integers(0, 2, n).astype(float)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (x1 + g + 0.5 * rng.normal(size=n) > 0.5).astype(int)
    Xp = pd.DataFrame({"g": g, "x1": x1, "x2": x2})
    Xl = pl.from_pandas(Xp)
    kw = dict(prot_attr="g", priv_group=1.0, alpha=9.0)
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)
    a = FairTTTSClassifier(forest, **kw).fit(Xp, y)
    b = FairTTTSClassifier(forest, **kw).fit(Xl, y)
    assert list(b.estimator_.feature_names_in_) == ["g", "x1", "x2"]
    np.testing.assert_allclose(b.predict_proba(Xl), a.predict_proba(Xp), atol=1e-12)
