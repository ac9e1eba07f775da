"""GroupMetricFrame (fairkit/metrics/frame.py) against fairlearn's MetricFrame."""

import functools
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning

from fairkit.metrics import GroupCounts, GroupMetricFrame

COUNT_METRICS = {
    "accuracy": skm.accuracy_score,
    "precision": skm.precision_score,
    "recall": skm.recall_score,
    "f1": skm.f1_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "selection_rate": selection_rate,
    "tpr": true_positive_rate,
    "tnr": true_negative_rate,
    "fpr": false_positive_rate,
    "fnr": false_negative_rate,
    "count": count,
}
ACCESSORS = ["overall", "by_group"]
REDUCERS = [("group_min", {}), ("group_max", {})] + [
    (name, {"method": m}) for name in ("difference", "ratio")
    for m in ("between_groups", "to_overall")
]


def _both(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MetricFrame(**kwargs)
        ours = GroupMetricFrame(**kwargs)
    return ours, theirs


def _assert_same(a, b):
    if isinstance(b, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-12, atol=0)
    elif isinstance(b, pd.Series):
        pd.testing.assert_series_equal(a, b, check_dtype=False, rtol=1e-12, atol=0)
    else:
        np.testing.assert_allclose(float(a), float(b), rtol=1e-12, atol=0)


def assert_frames_agree(ours, theirs):
    for name in ACCESSORS:
        _assert_same(getattr(ours, name), getattr(theirs, name))
    for name, kwargs in REDUCERS:
        _assert_same(getattr(ours, name)(**kwargs), getattr(theirs, name)(**kwargs))
    assert ours.sensitive_levels == theirs.sensitive_levels
    assert ours.control_levels == theirs.control_levels


def _data(seed, n=300, weighted=False, n_race=3, labels=(0, 1)):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    race = rng.choice([f"r{i}" for i in range(n_race)], n)
    race[(sex == "F") & (race == "r0")] = "r1"  # an empty intersection: (F, r0)
    y01 = (rng.uniform(size=n) < np.where(sex == "M", 0.6, 0.35)).astype(int)
    p01 = np.where(rng.uniform(size=n) < 0.75, y01, 1 - y01)
    y = np.asarray(labels)[y01]
    p = np.asarray(labels)[p01]
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    return y, p, pd.DataFrame({"sex": sex, "race": race}), w, rng


# ------------------------------------------------------------------------------------------
# Count-based metrics: every accessor equals MetricFrame's
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("controls", [False, True])
def test_count_metrics_match_metricframe(weighted, controls):
    y, p, sf, w, rng = _data(0, weighted=weighted)
    params = None if w is None else {k: {"sample_weight": w} for k in COUNT_METRICS
                                     if k != "count"}
    cf = pd.Series(rng.choice(["a", "b"], len(y)), name="region") if controls else None
    ours, theirs = _both(metrics=COUNT_METRICS, y_true=y, y_pred=p, sensitive_features=sf,
                         control_features=cf, sample_params=params)
    assert_frames_agree(ours, theirs)
    assert set(ours.count_based_metrics) == set(COUNT_METRICS)
    # the empty intersection is a nan row, as in fairlearn
    row = ("F", "r0") if cf is None else ("a", "F", "r0")
    assert ours.by_group.loc[row].isna().all()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 200), n_race=st.integers(1, 4),
       weighted=st.booleans(), controls=st.booleans())
def test_random_fixtures_match_metricframe(seed, n, n_race, weighted, controls):
    y, p, sf, w, rng = _data(seed, n=n, weighted=weighted, n_race=n_race)
    metrics = {"accuracy": skm.accuracy_score, "recall": skm.recall_score,
               "f1": skm.f1_score, "selection_rate": selection_rate,
               "fpr": false_positive_rate, "balanced_accuracy": skm.balanced_accuracy_score}
    params = None if w is None else {k: {"sample_weight": w} for k in metrics}
    cf = {"region": rng.choice(["a", "b", "c"], n)} if controls else None
    ours, theirs = _both(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf,
                         control_features=cf, sample_params=params)
    assert_frames_agree(ours, theirs)


def test_single_callable_result_types():
    y, p, sf, _, rng = _data(1)
    ours, theirs = _both(metrics=skm.recall_score, y_true=y, y_pred=p,
                         sensitive_features=sf["sex"])
    assert np.isscalar(ours.overall) and np.isscalar(ours.difference())
    assert isinstance(ours.by_group, pd.Series) and ours.by_group.name == "recall_score"
    assert_frames_agree(ours, theirs)
    cf = rng.choice(["a", "b"], len(y))
    ours, theirs = _both(metrics=skm.recall_score, y_true=y, y_pred=p,
                         sensitive_features=sf["sex"], control_features=cf)
    assert isinstance(ours.overall, pd.Series) and isinstance(ours.group_max(), pd.Series)
    assert ours.control_levels == ["control_feature_0"]
    assert_frames_agree(ours, theirs)


@pytest.mark.parametrize("form", ["list", "array2d", "dict", "series_unnamed"])
def test_feature_forms_and_default_names(form):
    y, p, sf, _, _ = _data(2)
    features = {
        "list": list(sf["sex"]),
        "array2d": sf.to_numpy(),
        "dict": {"s": sf["sex"].to_numpy(), "r": sf["race"].to_numpy()},
        "series_unnamed": pd.Series(sf["race"].to_numpy()),
    }[form]
    ours, theirs = _both(metrics={"acc": skm.accuracy_score, "sr": selection_rate}, y_true=y,
                         y_pred=p, sensitive_features=features)
    assert_frames_agree(ours, theirs)
    expected = {"list": ["sensitive_feature_0"],
                "array2d": ["sensitive_feature_0", "sensitive_feature_1"],
                "dict": ["s", "r"], "series_unnamed": ["sensitive_feature_0"]}[form]
    assert ours.sensitive_levels == expected


def test_string_labels_with_pos_label():
    y, p, sf, w, _ = _data(3, weighted=True, labels=("no", "yes"))
    metrics = {
        "recall": functools.partial(skm.recall_score, pos_label="yes"),
        "precision": functools.partial(skm.precision_score, pos_label="no"),
        "f1": functools.partial(skm.f1_score, pos_label="yes", zero_division=1),
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
        "selection_rate": functools.partial(selection_rate, pos_label="yes"),
        "tpr": functools.partial(true_positive_rate, pos_label="yes"),
    }
    params = {k: {"sample_weight": w} for k in metrics}
    ours, theirs = _both(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf,
                         sample_params=params)
    assert_frames_agree(ours, theirs)
    assert set(ours.count_based_metrics) == set(metrics)


def test_string_labels_default_pos_label_raise_like_sklearn():
    y, p, sf, _, _ = _data(4, labels=("no", "yes"))
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        GroupMetricFrame(metrics=skm.recall_score, y_true=y, y_pred=p, sensitive_features=sf)
    with pytest.raises(ValueError, match="pos_label"):  # fairlearn's own rule for None
        GroupMetricFrame(metrics=true_positive_rate, y_true=y, y_pred=p,
                         sensitive_features=sf)


def test_minus_one_plus_one_labels():
    y, p, sf, _, _ = _data(5, labels=(-1, 1))
    metrics = {"tpr": true_positive_rate, "fnr": false_negative_rate, "f1": skm.f1_score}
    ours, theirs = _both(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf)
    assert_frames_agree(ours, theirs)
    assert set(ours.count_based_metrics) == set(metrics)


# ------------------------------------------------------------------------------------------
# The count path: used where it applies, identical to calling the metric
# ------------------------------------------------------------------------------------------


def _called(func):
    def call(y_true, y_pred, **kwargs):
        return func(y_true, y_pred, **kwargs)

    return call


def test_count_path_equals_the_called_metric():
    y, p, sf, w, rng = _data(6, n=500, weighted=True)
    cf = rng.choice(["a", "b"], len(y))
    direct = {name: f for name, f in COUNT_METRICS.items() if name != "count"}
    # a lambda is not recognised, so it is called per group on the slices
    wrapped = {f"{name}_called": functools.wraps(f)(_called(f)) for name, f in direct.items()}
    params = {k: {"sample_weight": w} for k in [*direct, *wrapped]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = GroupMetricFrame(metrics={**direct, **wrapped}, y_true=y, y_pred=p,
                                 sensitive_features=sf, control_features=cf,
                                 sample_params=params)
    assert set(frame.count_based_metrics) == set(direct)
    by_group, overall = frame.by_group, frame.overall
    for name in direct:
        np.testing.assert_allclose(by_group[name], by_group[f"{name}_called"], rtol=1e-13)
        np.testing.assert_allclose(overall[name], overall[f"{name}_called"], rtol=1e-13)


def test_fairkit_rate_functions_through_the_counts():
    import fairkit.metrics as fm

    rng = np.random.default_rng(17)
    n = 600
    y, p = rng.choice(["a", "b", "c"], n), rng.choice(["a", "b", "c"], n)  # one-vs-rest
    g = rng.choice(["x", "y", "z"], n)
    w = rng.uniform(0.1, 2.0, n)
    direct = {"sr": functools.partial(fm.selection_rate, pos_label="b"),
              "npv": functools.partial(fm.negative_predictive_value, pos_label="c"),
              "count": fm.count}
    called = {f"{k}_called": _called(f) for k, f in direct.items()}
    params = {k: {"sample_weight": w} for k in ("sr", "npv", "sr_called", "npv_called")}
    frame = GroupMetricFrame(metrics={**direct, **called}, y_true=y, y_pred=p,
                             sensitive_features=g, sample_params=params)
    assert set(frame.count_based_metrics) == set(direct)
    for k in direct:
        np.testing.assert_allclose(frame.by_group[k], frame.by_group[f"{k}_called"], rtol=1e-13)
        np.testing.assert_allclose(frame.overall[k], frame.overall[f"{k}_called"], rtol=1e-13)
    # by hand: selection rate of "b" in group x = share of x's rows predicted "b"
    x = g == "x"
    assert frame.by_group.loc["x", "count"] == x.sum()
    assert frame.by_group.loc["x", "sr"] == pytest.approx(w[x & (p == "b")].sum() / w[x].sum())
    # a pos_label in no row: the function's own error
    with pytest.raises(ValueError, match="pos_label='q' occurs in neither"):
        GroupMetricFrame(metrics={"sr": functools.partial(fm.selection_rate, pos_label="q")},
                         y_true=y, y_pred=p, sensitive_features=g)


def test_arguments_the_counts_cannot_reproduce_take_the_slices():
    y, p, sf, w, _ = _data(7, weighted=True)
    metrics = {
        "macro_f1": functools.partial(skm.f1_score, average="macro"),
        "beta": functools.partial(skm.fbeta_score, beta=2),
        "adjusted": functools.partial(skm.balanced_accuracy_score, adjusted=True),
        "not_normalized": functools.partial(skm.accuracy_score, normalize=False),
        "acc": skm.accuracy_score,
    }
    params = {"acc": {"sample_weight": w}}
    ours, theirs = _both(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf,
                         sample_params=params)
    assert ours.count_based_metrics == ("acc",)
    assert_frames_agree(ours, theirs)


def test_a_group_of_weight_zero_is_left_to_the_metric():
    y, p, sf, w, _ = _data(7, weighted=True)
    w[(sf["sex"] == "M").to_numpy()] = 0.0
    for frame_class in (MetricFrame, GroupMetricFrame):
        with pytest.raises(ValueError, match="at least one non-zero"):  # scikit-learn's error
            frame_class(metrics=true_positive_rate, y_true=y, y_pred=p, sensitive_features=sf,
                        sample_params={"sample_weight": w})


def test_multiclass_and_non_scalar_metrics():
    rng = np.random.default_rng(8)
    n = 300
    y = rng.choice(["cat", "dog", "eel"], n)
    p = np.where(rng.uniform(size=n) < 0.7, y, rng.choice(["cat", "dog", "eel"], n))
    sf = rng.choice(["u", "v", "w"], n)
    metrics = {"accuracy": skm.accuracy_score,
               "macro_recall": functools.partial(skm.recall_score, average="macro"),
               "cm": functools.partial(skm.confusion_matrix, labels=["cat", "dog", "eel"])}
    ours, theirs = _both(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf)
    assert ours.count_based_metrics == ()
    for name in ("accuracy", "macro_recall"):
        np.testing.assert_allclose(ours.by_group[name], theirs.by_group[name], rtol=1e-12)
    for g in ("u", "v", "w"):
        np.testing.assert_array_equal(ours.by_group.loc[g, "cm"], theirs.by_group.loc[g, "cm"])
    np.testing.assert_array_equal(ours.overall["cm"], theirs.overall["cm"])
    # non-scalar results count as nan with errors="coerce" (fairlearn's "to_overall" fails
    # on the array-valued overall, so only "between_groups" is compared)
    for name in ("group_min", "group_max", "difference", "ratio"):
        _assert_same(getattr(ours, name)(errors="coerce"),
                     getattr(theirs, name)(errors="coerce"))
    assert np.isnan(ours.difference(method="to_overall")["cm"])
    with pytest.raises(ValueError, match="'cm' returns non-scalar"):
        ours.group_min()
    with pytest.raises(ValueError, match="non-scalar"):
        theirs.group_min()


@pytest.mark.parametrize("weighted", [False, True])
def test_scores_and_regression_metrics(weighted):
    rng = np.random.default_rng(9)
    n = 400
    sf = pd.DataFrame({"a": rng.integers(0, 2, n), "b": rng.choice(["x", "y", "z"], n)})
    y = (rng.uniform(size=n) < 0.4 + 0.2 * sf["a"]).astype(int)
    score = np.clip(0.3 * y + rng.uniform(size=n) * 0.7, 0.01, 0.99)
    target = rng.normal(size=n) + sf["a"].to_numpy()
    guess = target + rng.normal(scale=0.5, size=n)
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    cf = rng.choice(["c", "d"], n)
    for metrics, yt, yp in [
        ({"auc": skm.roc_auc_score, "log_loss": skm.log_loss,
          "brier": skm.brier_score_loss, "mean_prediction": mean_prediction}, y, score),
        ({"mae": skm.mean_absolute_error, "mse": skm.mean_squared_error,
          "r2": skm.r2_score, "mean_prediction": mean_prediction}, target, guess),
    ]:
        params = None if w is None else {k: {"sample_weight": w} for k in metrics}
        for controls in (None, cf):
            ours, theirs = _both(metrics=metrics, y_true=yt, y_pred=yp, sensitive_features=sf,
                                 control_features=controls, sample_params=params)
            assert ours.count_based_metrics == ()
            assert ours.metric_paths.get("auc", "ranks") == "ranks"
            assert_frames_agree(ours, theirs)


@pytest.mark.parametrize("weighted", [False, True])
def test_roc_auc_from_one_sort_equals_the_calls(weighted):
    # tied scores (one decimal), string labels, two features and a control feature
    rng = np.random.default_rng(16)
    n = 1500
    sf = pd.DataFrame({"a": rng.choice(["x", "y"], n), "b": rng.integers(0, 3, n)})
    y = rng.choice(["bad", "good"], n)
    score = np.round(np.clip(0.2 * (y == "good") + rng.uniform(size=n), 0, 1), 1)
    w = rng.uniform(0.2, 2.0, n) if weighted else None
    cf = rng.choice(["c", "d"], n)
    metrics = {"auc": skm.roc_auc_score, "auc_called": _called(skm.roc_auc_score)}
    params = None if w is None else {k: {"sample_weight": w} for k in metrics}
    frame = GroupMetricFrame(metrics=metrics, y_true=y, y_pred=score, sensitive_features=sf,
                             control_features=cf, sample_params=params)
    assert frame.metric_paths == {"auc": "ranks", "auc_called": "calls"}
    by_group, overall = frame.by_group, frame.overall
    np.testing.assert_allclose(by_group["auc"], by_group["auc_called"], rtol=1e-13)
    np.testing.assert_allclose(overall["auc"], overall["auc_called"], rtol=1e-13)
    # by hand: positives 0.9, 0.5; negatives 0.5, 0.1 -> pairs 1, 1, 1/2, 1 -> 3.5 / 4
    small = GroupMetricFrame(metrics=skm.roc_auc_score, y_true=[1, 1, 0, 0],
                             y_pred=[0.9, 0.5, 0.5, 0.1], sensitive_features=["g"] * 4)
    assert small.overall == pytest.approx(0.875, abs=1e-15)


def test_roc_auc_with_one_class_in_a_group_is_left_to_scikit_learn():
    y, s, g = [1, 1, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], list("aaaabb")
    with pytest.warns(UndefinedMetricWarning, match="Only one class"):
        frame = GroupMetricFrame(metrics=skm.roc_auc_score, y_true=y, y_pred=s,
                                 sensitive_features=g)
    assert frame.metric_paths == {"roc_auc_score": "calls"}
    assert frame.by_group["a"] == 0.0 and np.isnan(frame.by_group["b"])


def test_two_dimensional_predictions_are_sliced_by_rows():
    rng = np.random.default_rng(10)
    n = 240
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet([1, 1, 1], n)
    sf = rng.choice(["a", "b"], n)
    metric = functools.partial(skm.log_loss, labels=[0, 1, 2])
    ours, theirs = _both(metrics={"ll": metric}, y_true=y, y_pred=proba, sensitive_features=sf)
    assert_frames_agree(ours, theirs)


# ------------------------------------------------------------------------------------------
# fairlearn's documented example, worked by hand
# ------------------------------------------------------------------------------------------

Y_TRUE = [1, 1, 1, 1, 1, 0, 0, 1, 1, 0]
Y_PRED = [0, 1, 1, 1, 1, 0, 0, 0, 1, 1]
SEX = ["Female"] * 5 + ["Male"] * 5


def test_user_guide_example_by_hand():
    # Female: y 11111, yhat 01111 -> accuracy 4/5, selected 4/5
    # Male:   y 00110, yhat 00011 -> accuracy 3/5, selected 2/5
    frame = GroupMetricFrame(metrics={"accuracy": skm.accuracy_score,
                                      "selection_rate": selection_rate},
                             y_true=Y_TRUE, y_pred=Y_PRED, sensitive_features=SEX)
    assert frame.by_group.to_dict() == {"accuracy": {"Female": 0.8, "Male": 0.6},
                                        "selection_rate": {"Female": 0.8, "Male": 0.4}}
    assert frame.by_group.index.name == "sensitive_feature_0"
    assert frame.overall.to_dict() == {"accuracy": 0.7, "selection_rate": 0.6}
    assert frame.difference().round(12).to_dict() == {"accuracy": 0.2, "selection_rate": 0.4}
    assert frame.ratio().round(12).to_dict() == {"accuracy": 0.75, "selection_rate": 0.5}
    assert frame.group_min().to_dict() == {"accuracy": 0.6, "selection_rate": 0.4}
    assert frame.group_max().to_dict() == {"accuracy": 0.8, "selection_rate": 0.8}
    # to_overall: |0.8 - 0.7| = |0.6 - 0.7| = 0.1; ratios 0.7/0.8 and 0.6/0.7
    assert frame.difference(method="to_overall")["accuracy"] == pytest.approx(0.1, rel=1e-12)
    assert frame.ratio(method="to_overall")["accuracy"] == pytest.approx(6 / 7, rel=1e-12)
    # selection rate: 0.8/0.6 > 1 -> 0.75, 0.4/0.6 = 2/3
    assert frame.ratio(method="to_overall")["selection_rate"] == pytest.approx(2 / 3)
    single = GroupMetricFrame(metrics=selection_rate, y_true=Y_TRUE, y_pred=Y_PRED,
                              sensitive_features=SEX)
    assert single.difference() == pytest.approx(0.4) and single.group_max() == 0.8
    ours, theirs = _both(metrics={"accuracy": skm.accuracy_score,
                                  "selection_rate": selection_rate},
                         y_true=Y_TRUE, y_pred=Y_PRED, sensitive_features=SEX)
    assert_frames_agree(ours, theirs)


def test_control_feature_example_by_hand():
    # controls split the rows in halves: c1 rows 0-2 and 5-7, c2 rows 3-4 and 8-9
    ctrl = ["c1", "c1", "c1", "c2", "c2", "c1", "c1", "c1", "c2", "c2"]
    frame = GroupMetricFrame(metrics=selection_rate, y_true=Y_TRUE, y_pred=Y_PRED,
                             sensitive_features=SEX, control_features=ctrl)
    # c1: Female yhat 0,1,1 -> 2/3; Male yhat 0,0,0 -> 0; all c1 rows 2/6
    # c2: Female yhat 1,1 -> 1; Male yhat 1,1 -> 1; all c2 rows 4/4
    assert frame.by_group.round(12).to_dict() == {
        ("c1", "Female"): round(2 / 3, 12), ("c1", "Male"): 0.0,
        ("c2", "Female"): 1.0, ("c2", "Male"): 1.0}
    np.testing.assert_allclose(frame.overall.to_numpy(), [1 / 3, 1.0], rtol=1e-12)
    np.testing.assert_allclose(frame.difference().to_numpy(), [2 / 3, 0.0], rtol=1e-12)
    np.testing.assert_allclose(frame.difference(method="to_overall").to_numpy(),
                               [1 / 3, 0.0], rtol=1e-12)
    np.testing.assert_allclose(frame.ratio().to_numpy(), [0.0, 1.0], rtol=1e-12)
    assert frame.control_levels == ["control_feature_0"]


def test_one_group_with_a_value_gives_zero_difference_like_fairlearn():
    # two features, one of them splitting a single combination: most cells are empty
    sf = {"a": ["x"] * 4 + ["y"] * 4, "b": ["u"] * 4 + ["v"] * 4}
    y, p = [1, 0, 1, 0, 1, 1, 0, 0], [1, 0, 0, 0, 1, 0, 0, 1]
    ours, theirs = _both(metrics={"acc": skm.accuracy_score}, y_true=y, y_pred=p,
                         sensitive_features=sf)
    assert_frames_agree(ours, theirs)
    assert ours.by_group["acc"].isna().sum() == 2


# ------------------------------------------------------------------------------------------
# Inputs: pandas, polars, pyarrow; counts for callers; parallel calls
# ------------------------------------------------------------------------------------------


def test_polars_and_pyarrow_inputs():
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    y, p, sf, w, _ = _data(11, weighted=True)
    metrics = {"recall": skm.recall_score, "mae": skm.mean_absolute_error}
    params = {"recall": {"sample_weight": w}}
    ref = GroupMetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf,
                           sample_params=params)
    for frame in (
        GroupMetricFrame(metrics=metrics, y_true=pl.Series("y", y), y_pred=pl.Series("p", p),
                         sensitive_features=pl.from_pandas(sf), sample_params=params),
        GroupMetricFrame(metrics=metrics, y_true=pa.chunked_array([y]), y_pred=pa.array(p),
                         sensitive_features=pa.Table.from_pandas(sf), sample_params=params),
    ):
        pd.testing.assert_frame_equal(frame.by_group, ref.by_group, check_index_type=False)
        assert frame.count_based_metrics == ("recall",)


def test_group_counts_equal_streaming_counts():
    y, p, sf, w, _ = _data(12, weighted=True)
    frame = GroupMetricFrame(metrics=skm.recall_score, y_true=y, y_pred=p,
                             sensitive_features=sf, sample_params={"sample_weight": w})
    counts = frame.group_counts(pos_label=1, sample_weight=w)
    ref = GroupCounts.from_arrays(y, p, sensitive_features=sf, sample_weight=w)
    assert counts.labels == ref.labels and counts.names == ["sex", "race"]
    np.testing.assert_allclose(counts.counts, ref.counts, rtol=1e-12)
    np.testing.assert_array_equal(counts.n_rows, ref.n_rows)
    assert counts.equal_opportunity_difference() == pytest.approx(
        ref.equal_opportunity_difference(), rel=1e-12)


def test_n_jobs_gives_the_same_values():
    y, p, sf, _, rng = _data(13)
    score = rng.uniform(size=len(y))
    a = GroupMetricFrame(metrics={"auc": skm.roc_auc_score}, y_true=y, y_pred=score,
                         sensitive_features=sf["sex"], n_jobs=2)
    b = GroupMetricFrame(metrics={"auc": skm.roc_auc_score}, y_true=y, y_pred=score,
                         sensitive_features=sf["sex"])
    pd.testing.assert_frame_equal(a.by_group, b.by_group)


def test_zero_division_warns_once_like_sklearn():
    # group "b" predicts no positive: precision is 0/0 there
    y = [1, 0, 1, 1, 0, 1]
    p = [1, 0, 1, 0, 0, 0]
    g = ["a", "a", "a", "b", "b", "b"]
    with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined"):
        frame = GroupMetricFrame(metrics=skm.precision_score, y_true=y, y_pred=p,
                                 sensitive_features=g)
    assert frame.by_group.to_dict() == {"a": 1.0, "b": 0.0}
    with pytest.warns(UserWarning, match="no __name__"):  # as fairlearn, for a partial
        quiet = GroupMetricFrame(metrics=functools.partial(skm.precision_score,
                                                           zero_division=np.nan),
                                 y_true=y, y_pred=p, sensitive_features=g)
    assert np.isnan(quiet.by_group["b"])
    assert quiet.count_based_metrics == ("metric",)


# ------------------------------------------------------------------------------------------
# Bootstrap intervals
# ------------------------------------------------------------------------------------------


def test_bootstrap_intervals_match_the_binomial_standard_error():
    rng = np.random.default_rng(14)
    n = 4000
    g = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    p = np.where(rng.uniform(size=n) < np.where(g == "a", 0.9, 0.7), y, 1 - y)
    frame = GroupMetricFrame(metrics={"acc": skm.accuracy_score,
                                      "acc_called": lambda a, b: skm.accuracy_score(a, b)},
                             y_true=y, y_pred=p, sensitive_features=g, n_boot=300,
                             ci_quantiles=[0.025, 0.975], random_state=0)
    assert frame.count_based_metrics == ("acc",)
    lo, hi = frame.by_group_ci
    for name in ("acc", "acc_called"):
        for grp in ("a", "b"):
            acc = frame.by_group.loc[grp, name]
            se = np.sqrt(acc * (1 - acc) / (g == grp).sum())
            width = hi.loc[grp, name] - lo.loc[grp, name]
            assert width == pytest.approx(2 * 1.96 * se, rel=0.2)
            assert lo.loc[grp, name] < acc < hi.loc[grp, name]
    # the difference of two independent accuracies: se = sqrt(se_a^2 + se_b^2)
    se_diff = np.sqrt(sum(frame.by_group.loc[k, "acc"] * (1 - frame.by_group.loc[k, "acc"])
                          / (g == k).sum() for k in ("a", "b")))
    d_lo, d_hi = frame.difference_ci()
    assert d_hi["acc"] - d_lo["acc"] == pytest.approx(2 * 1.96 * se_diff, rel=0.2)
    o_lo, o_hi = frame.overall_ci
    assert o_lo["acc"] < frame.overall["acc"] < o_hi["acc"]
    assert len(frame.group_min_ci()) == len(frame.ratio_ci(method="to_overall")) == 2


def test_bootstrap_is_deterministic_and_weighted():
    y, p, sf, w, rng = _data(15, n=400, weighted=True)
    cf = rng.choice(["a", "b"], len(y))
    kwargs = dict(metrics={"recall": skm.recall_score, "cnt": count}, y_true=y, y_pred=p,
                  sensitive_features=sf["sex"], control_features=cf,
                  sample_params={"recall": {"sample_weight": w}}, n_boot=50,
                  ci_quantiles=[0.1, 0.5, 0.9], random_state=3)
    a, b = GroupMetricFrame(**kwargs), GroupMetricFrame(**kwargs)
    for x, z in zip(a.by_group_ci, b.by_group_ci, strict=True):
        pd.testing.assert_frame_equal(x, z)
    lo, mid, hi = a.group_max_ci()
    assert (lo <= mid).all().all() and (mid <= hi).all().all()
    # the median of resampled group sizes is near the group size
    sizes = a.by_group["cnt"]
    np.testing.assert_allclose(a.by_group_ci[1]["cnt"], sizes, rtol=0.15)


# ------------------------------------------------------------------------------------------
# Bad inputs
# ------------------------------------------------------------------------------------------


def test_bad_inputs_name_the_parameter():
    y, p, g = [0, 1, 1, 0], [0, 1, 0, 0], ["a", "a", "b", "b"]
    with pytest.raises(ValueError, match=r"metrics\['acc'\]=5 is not callable"):
        GroupMetricFrame(metrics={"acc": 5}, y_true=y, y_pred=p, sensitive_features=g)
    with pytest.raises(ValueError, match="metrics='accuracy' is not callable"):
        GroupMetricFrame(metrics="accuracy", y_true=y, y_pred=p, sensitive_features=g)
    with pytest.raises(ValueError, match="y_pred has 3 samples but y_true has 4"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p[:3],
                         sensitive_features=g)
    with pytest.raises(ValueError, match="sensitive_features 'sensitive_feature_0' has 3"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p,
                         sensitive_features=g[:3])
    with pytest.raises(ValueError, match="sample_params 'sample_weight' of metric 'acc' has 2"):
        GroupMetricFrame(metrics={"acc": skm.accuracy_score}, y_true=y, y_pred=p,
                         sensitive_features=g, sample_params={"acc": {"sample_weight": [1, 2]}})
    with pytest.raises(ValueError, match=r"sample_params has keys \['f1'\]"):
        GroupMetricFrame(metrics={"acc": skm.accuracy_score}, y_true=y, y_pred=p,
                         sensitive_features=g, sample_params={"f1": {}})
    with pytest.raises(ValueError, match="missing values"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p,
                         sensitive_features=["a", None, "b", "b"])
    with pytest.raises(ValueError, match=r"feature name\(s\) \['g'\] occur more than once"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p,
                         sensitive_features=pd.Series(g, name="g"),
                         control_features=pd.Series(g, name="g"))
    with pytest.raises(ValueError, match="column names must be strings; column 0 is named 0"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p,
                         sensitive_features=pd.DataFrame({0: g}))
    with pytest.raises(ValueError, match="give both"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p, sensitive_features=g,
                         n_boot=10)
    with pytest.raises(ValueError, match="n_boot must be a positive integer, got 0"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p, sensitive_features=g,
                         n_boot=0, ci_quantiles=[0.5])
    with pytest.raises(ValueError, match=r"ci_quantiles must be floats in \(0, 1\)"):
        GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p, sensitive_features=g,
                         n_boot=5, ci_quantiles=[1.5])
    frame = GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=p,
                             sensitive_features=g)
    with pytest.raises(ValueError, match="method='max' is not a comparison method"):
        frame.difference(method="max")
    with pytest.raises(ValueError, match="method=None is not a comparison method"):
        frame.ratio(method=None)
    with pytest.raises(ValueError, match="errors='ignore' is not valid"):
        frame.group_min(errors="ignore")
    with pytest.raises(ValueError, match="No bootstrap intervals"):
        frame.difference_ci()


# -- group sizes and resampled counts (what fairness_report and the plots read) -------------


def test_group_sizes_count_rows_with_zero_for_empty_combinations():
    # F-a 2 rows, F-b none, M-a 1, M-b 3 (counted by hand)
    frame = GroupMetricFrame(metrics=skm.accuracy_score, y_true=[1, 0, 1, 1, 0, 1],
                             y_pred=[1, 1, 1, 0, 0, 1],
                             sensitive_features={"s": list("FFMMMM"),
                                                 "r": list("aaabbb")})
    sizes = frame.group_sizes
    assert sizes.to_dict() == {("F", "a"): 2, ("F", "b"): 0, ("M", "a"): 1, ("M", "b"): 3}
    assert list(sizes.index.names) == ["s", "r"]
    assert np.isnan(frame.by_group[("F", "b")])


def _resampled_counts_by_pandas(y, yhat, groups, w, idx):
    """Weighted [TN FP; FN TP] per group of the rows ``idx``, counted with pandas."""
    df = pd.DataFrame({"g": np.asarray(groups)[idx], "t": np.asarray(y)[idx],
                       "p": np.asarray(yhat)[idx], "w": np.asarray(w)[idx]})
    table = df.groupby(["g", "t", "p"])["w"].sum()
    labels = sorted(set(groups))
    out = np.zeros((len(labels), 2, 2))
    for (g, t, p), value in table.items():
        out[labels.index(g), t, p] = value
    return out


@pytest.mark.parametrize("seed", [0, 3])
def test_weighted_bootstrap_counts_are_the_counts_of_the_resampled_rows(seed):
    rng = np.random.RandomState(seed)
    n = 600
    y, yhat = rng.randint(0, 2, n), rng.randint(0, 2, n)
    groups = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    w = rng.uniform(0.5, 2.0, n)
    frame = GroupMetricFrame(metrics=skm.recall_score, y_true=y, y_pred=yhat,
                             sensitive_features=groups, sample_params={"sample_weight": w})
    draws = frame.bootstrap_group_counts(3, np.random.RandomState(7), sample_weight=w)
    assert draws.shape == (3, 3, 2, 2)
    # resample b draws n row indices; the frame counts them in one bincount per block
    idx = np.random.RandomState(7).randint(0, n, size=(3, n))
    for b in range(3):
        np.testing.assert_allclose(draws[b],
                                   _resampled_counts_by_pandas(y, yhat, groups, w, idx[b]))


def test_weighted_bootstrap_counts_leave_out_empty_combinations():
    # F-b has no rows: the draws hold the three groups of group_counts, in its order
    rng = np.random.RandomState(1)
    s = np.array(["F"] * 200 + ["M"] * 300)
    r = np.array(["a"] * 200 + ["a"] * 100 + ["b"] * 200)
    y, yhat, w = rng.randint(0, 2, 500), rng.randint(0, 2, 500), rng.uniform(0, 1, 500)
    frame = GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=yhat,
                             sensitive_features={"s": s, "r": r})
    assert frame.group_counts(sample_weight=w).labels == [("F", "a"), ("M", "a"), ("M", "b")]
    draws = frame.bootstrap_group_counts(2, 11, sample_weight=w)
    idx = np.random.RandomState(11).randint(0, 500, size=(2, 500))
    joined = np.char.add(np.char.add(s, "-"), r)
    for b in range(2):
        np.testing.assert_allclose(draws[b],
                                   _resampled_counts_by_pandas(y, yhat, joined, w, idx[b]))


def test_unweighted_bootstrap_counts_keep_the_number_of_rows():
    rng = np.random.RandomState(2)
    y, yhat = rng.randint(0, 2, 1000), rng.randint(0, 2, 1000)
    groups = rng.choice(["a", "b"], 1000, p=[0.8, 0.2])
    frame = GroupMetricFrame(metrics=skm.accuracy_score, y_true=y, y_pred=yhat,
                             sensitive_features=groups)
    draws = frame.bootstrap_group_counts(400, 0)
    assert draws.shape == (400, 2, 2, 2)
    np.testing.assert_array_equal(draws.sum(axis=(1, 2, 3)), np.full(400, 1000.0))
    # each cell's draw is Binomial(1000, cell share): its mean is the cell count
    cells = pd.crosstab([groups, y], yhat).to_numpy().reshape(2, 2, 2)
    # (standard error of the mean of 400 draws <= sqrt(count / 400); 5 of them, plus 1)
    assert (np.abs(draws.mean(axis=0) - cells) <= 5 * np.sqrt(cells / 400) + 1).all()
    np.testing.assert_array_equal(frame.bootstrap_group_counts(5, 0),
                                  frame.bootstrap_group_counts(5, 0))


@pytest.mark.parametrize("n_boot", [0, -1, 2.5, True])
def test_bootstrap_group_counts_refuses_a_bad_number_of_resamples(n_boot):
    frame = GroupMetricFrame(metrics=skm.accuracy_score, y_true=[0, 1, 1, 0],
                             y_pred=[0, 1, 0, 0], sensitive_features=list("aabb"))
    with pytest.raises(ValueError, match=f"n_boot must be a positive integer, got {n_boot!r}"):
        frame.bootstrap_group_counts(n_boot)


@pytest.mark.parametrize("a", [
    np.array([0, 1, 0, 1, 0, 1, 1, 0], dtype=np.uint64),
    np.array([0, 1, 0, 1, 0, 1, 1, 0], dtype=np.int64) + 2**62,
])
def test_wide_integer_features_are_grouped_as_fairlearn_groups_them(a):
    b = np.array([5, 5, 7, 7, 5, 7, 5, 7], dtype=np.int8)
    y_true = np.array([1, 0, 1, 1, 0, 0, 1, 1])
    y_pred = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    sf = pd.DataFrame({"b": b, "a": a})
    ours = GroupMetricFrame(metrics={"acc": skm.accuracy_score, "n": count}, y_true=y_true,
                            y_pred=y_pred, sensitive_features=sf)
    theirs = MetricFrame(metrics={"acc": skm.accuracy_score, "n": count}, y_true=y_true,
                         y_pred=y_pred, sensitive_features=sf)
    pd.testing.assert_frame_equal(ours.by_group, theirs.by_group, check_dtype=False,
                                  check_index_type=False)
    assert list(ours.by_group.index) == [(5, int(a.min())), (5, int(a.max())),
                                         (7, int(a.min())), (7, int(a.max()))]
