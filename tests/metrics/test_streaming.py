"""Mergeable per-group counts (fairkit/metrics/streaming.py)."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

import fairkit.metrics as fm
from fairkit.metrics import GROUP_METRICS, GroupCounts


def test_from_arrays_hand_counts():
    y = [1, 1, 0, 0, 1, 0, 1]
    p = [1, 0, 1, 0, 1, 1, 0]
    s = ["b", "b", "b", "b", "a", "a", "a"]
    w = [1.0, 2.0, 3.0, 4.0, 0.5, 1.5, 2.5]
    c = GroupCounts.from_arrays(y, p, sensitive_features=s, sample_weight=w)
    assert c.labels == ["a", "b"]
    # [[TN, FP], [FN, TP]]: a: TP=.5, FP=1.5, FN=2.5;  b: TP=1, FN=2, FP=3, TN=4
    np.testing.assert_array_equal(c.counts[0], [[0.0, 1.5], [2.5, 0.5]])
    np.testing.assert_array_equal(c.counts[1], [[4.0, 3.0], [2.0, 1.0]])
    np.testing.assert_array_equal(c.n_rows, [3, 4])
    table = c.by_group()
    assert table.loc["a", "weight"] == pytest.approx(4.5)
    assert table.loc["b", "precision"] == pytest.approx(1 / 4)
    assert table.loc["a", "true_negative_rate"] == 0.0
    assert table.loc["b", "false_negative_rate"] == pytest.approx(2 / 3)
    assert table.loc["a", "balanced_accuracy"] == pytest.approx((0.5 / 3.0 + 0.0) / 2)


def test_by_group_matches_fairlearn_metricframe():
    rng = np.random.default_rng(0)
    n = 300
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    sf = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["b", "w"], n)})
    w = rng.uniform(0.5, 2, n)
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    metrics = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "precision": skm.precision_score,
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
    }
    mf = MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf,
                     sample_params={k: {"sample_weight": w} for k in metrics})
    table = GroupCounts.from_arrays(y, p, sensitive_features=sf, sample_weight=w).by_group()
    assert table.index.names == ["sex", "race"]
    expected = mf.by_group
    for col in metrics:
        np.testing.assert_allclose(table[col].to_numpy(), expected[col].to_numpy(), rtol=1e-12)
    overall = GroupCounts.from_arrays(y, p, sensitive_features=sf, sample_weight=w).overall()
    for col in metrics:
        assert overall[col] == pytest.approx(mf.overall[col], rel=1e-12)


def test_merge_aligns_different_groups():
    a = GroupCounts.from_arrays([1, 0, 1], [1, 1, 0], sensitive_features=["x", "z", "z"])
    b = GroupCounts.from_arrays([0, 1], [0, 1], sensitive_features=["y", "x"])
    merged = a + b
    assert merged.labels == ["x", "y", "z"]
    # x: (1,1) twice -> TP 2; y: (0,0) -> TN 1; z: (0,1) FP, (1,0) FN
    np.testing.assert_array_equal(merged.counts[0], [[0, 0], [0, 2]])
    np.testing.assert_array_equal(merged.counts[1], [[1, 0], [0, 0]])
    np.testing.assert_array_equal(merged.counts[2], [[0, 1], [1, 0]])
    assert sum([a, b]).labels == merged.labels
    # originals untouched
    assert a.labels == ["x", "z"]


def test_merge_intersectional_and_mixed_labels():
    def frame(sex, race):
        return pd.DataFrame({"sex": sex, "race": race})

    a = GroupCounts.from_arrays([1, 0], [1, 0], sensitive_features=frame(["F", "M"], [1, 0]))
    b = GroupCounts.from_arrays([1, 1], [0, 1], sensitive_features=frame(["F", "F"], [0, 1]))
    merged = a + b
    assert merged.labels == [("F", 0), ("F", 1), ("M", 0)]
    np.testing.assert_array_equal(merged.n_rows, [1, 2, 1])
    # labels that do not sort together keep first-appearance order
    c = GroupCounts.from_arrays([1], [1], sensitive_features=[3]) + GroupCounts.from_arrays(
        [1], [0], sensitive_features=["q"]
    )
    assert c.labels == [3, "q"]


def test_merge_refuses_incompatible_counts():
    a = GroupCounts.from_arrays([1, 0], [1, 0], sensitive_features=[0, 1])
    b = GroupCounts.from_arrays([1, 0], [1, 0], sensitive_features=[0, 1], pos_label=0)
    with pytest.raises(ValueError, match="pos_label"):
        a + b
    c = GroupCounts.from_arrays([1, 0], [1, 0], sensitive_features=pd.Series([0, 1], name="sex"))
    with pytest.raises(ValueError, match="different protected attributes"):
        a + c
    with pytest.raises(TypeError):
        a + 5


def test_update_and_update_one_equal_batch():
    rng = np.random.default_rng(3)
    n = 50
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    s = rng.choice(["a", "b", "c"], n)
    w = rng.uniform(0.1, 2, n)
    whole = GroupCounts.from_arrays(y, p, sensitive_features=s, sample_weight=w)
    chunked = GroupCounts.from_arrays(y[:20], p[:20], sensitive_features=s[:20],
                                      sample_weight=w[:20])
    chunked.update(y[20:], p[20:], sensitive_features=s[20:], sample_weight=w[20:])
    online = GroupCounts(np.zeros((0, 2, 2)), [])
    for i in range(n):
        online.update_one(str(s[i]), int(y[i]), int(p[i]), sample_weight=w[i])
    for other in (chunked, online):
        assert other.labels == whole.labels
        np.testing.assert_allclose(other.counts, whole.counts, rtol=1e-12)
        np.testing.assert_array_equal(other.n_rows, whole.n_rows)
        assert other.equalized_odds_difference() == pytest.approx(
            whole.equalized_odds_difference()
        )
    with pytest.raises(ValueError, match="missing"):
        online.update_one(None, 1, 1)


@pytest.mark.parametrize("name", sorted(GROUP_METRICS))
def test_every_metric_method_equals_array_function(name):
    rng = np.random.default_rng(11)
    n = 200
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    s = rng.choice(["a", "b", "c"], n)
    counts = GroupCounts.from_arrays(y, p, sensitive_features=s)
    func = getattr(fm, name)
    assert getattr(counts, name)() == pytest.approx(func(y, p, sensitive_features=s))
    assert counts.metric(name, priv_group="b") == pytest.approx(
        func(y, p, sensitive_features=s, priv_group="b")
    )


def test_metric_errors():
    one = GroupCounts.from_arrays([1, 0], [1, 1], sensitive_features=["a", "a"])
    with pytest.raises(ValueError, match="only 1 group"):
        one.statistical_parity_difference()
    two = one + GroupCounts.from_arrays([1], [0], sensitive_features=["b"])
    with pytest.raises(ValueError, match="Unknown group metric 'spd'"):
        two.metric("spd")
    with pytest.raises(ValueError, match="priv_group='c' does not occur"):
        two.metric("statistical_parity_difference", priv_group="c")
    with pytest.raises(ValueError, match="counts must have shape"):
        GroupCounts(np.zeros((2, 2)), ["a"])


def test_pickle_round_trip():
    c = GroupCounts.from_arrays([1, 0, 1], [1, 1, 0], sensitive_features=["x", "y", "y"])
    d = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(d.counts, c.counts)
    assert d.labels == c.labels and d.disparate_impact_ratio() == c.disparate_impact_ratio()


def test_per_class_counts_collapse_one_vs_rest():
    from fairkit.metrics.streaming import per_class_counts

    y = np.array([0, 1, 2, 2, 1, 0, 2])
    p = np.array([0, 2, 2, 1, 1, 0, 0])
    s = np.array(["a", "a", "a", "b", "b", "b", "b"])
    by_class = per_class_counts(y, p, sensitive_features=s)
    assert list(by_class) == [0, 1, 2]
    for k, counts in by_class.items():
        direct = GroupCounts.from_arrays(y, p, sensitive_features=s, pos_label=k)
        np.testing.assert_array_equal(counts.counts, direct.counts)


chunked_data = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 1), st.sampled_from(["a", "b", "c", "d"]),
              st.floats(0.0, 4.0)),
    min_size=1, max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(chunked_data, st.lists(st.integers(1, 60), min_size=1, max_size=5))
def test_merged_chunks_equal_concatenation(rows, cuts):
    y, p, s, w = (np.asarray(v) for v in zip(*rows, strict=True))
    bounds = sorted({0, len(rows), *[c % len(rows) for c in cuts]})
    parts = [
        GroupCounts.from_arrays(y[a:b], p[a:b], sensitive_features=s[a:b], sample_weight=w[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a
    ]
    merged = sum(parts)
    whole = GroupCounts.from_arrays(y, p, sensitive_features=s, sample_weight=w)
    assert merged.labels == whole.labels
    np.testing.assert_allclose(merged.counts, whole.counts, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(merged.n_rows, whole.n_rows)


# The counting fast paths this module relies on in fairkit._protected.encode_groups
# (integer attributes, intersectional combinations) against pandas' own grouping.
int_columns = st.integers(1, 3).flatmap(
    lambda k: st.integers(1, 50).flatmap(
        lambda n: st.lists(
            st.tuples(st.sampled_from(["int8", "int64", "uint16"]), st.integers(-3, 40),
                      st.integers(1, 12)),
            min_size=k, max_size=k,
        ).map(lambda specs: (n, specs))
    )
)


@settings(max_examples=60, deadline=None)
@given(int_columns, st.integers(0, 2**16))
def test_encode_groups_integer_fast_paths_match_pandas_groupby(spec, seed):
    from fairkit._protected import encode_groups

    n, specs = spec
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        f"c{j}": (rng.integers(0, width, n) + (abs(lo) if dt.startswith("u") else lo)).astype(dt)
        for j, (dt, lo, width) in enumerate(specs)
    })
    enc = encode_groups(frame)
    cols = list(frame.columns)
    expected_codes = frame.groupby(cols, sort=True).ngroup().to_numpy()
    expected_labels = sorted(set(map(tuple, frame.to_numpy().tolist())))
    if len(cols) == 1:
        expected_labels = [v[0] for v in expected_labels]
    np.testing.assert_array_equal(enc.codes, expected_codes)
    assert enc.labels == expected_labels
    assert all(type(v) is int for lab in enc.labels
               for v in (lab if isinstance(lab, tuple) else (lab,)))


@pytest.mark.parametrize("name", sorted(GROUP_METRICS))
def test_every_metric_method_to_overall_equals_array_function(name):
    rng = np.random.default_rng(11)
    n = 200
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    s = rng.choice(["a", "b", "c"], n)
    w = rng.uniform(0.5, 2.0, n)
    counts = GroupCounts.from_arrays(y, p, sensitive_features=s, sample_weight=w)
    func = getattr(fm, name)
    expected = func(y, p, sensitive_features=s, sample_weight=w, method="to_overall")
    assert getattr(counts, name)(method="to_overall") == pytest.approx(expected)
    assert counts.metric(name, method="to_overall") == pytest.approx(expected)
    assert counts.metric(name, method="between_groups") == pytest.approx(
        func(y, p, sensitive_features=s, sample_weight=w))


@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
def test_metric_from_counts_keeps_leading_axes(method):
    # bootstrap replicates are computed in one call; each must equal its own computation
    from fairkit.metrics.streaming import metric_from_counts

    rng = np.random.default_rng(3)
    C = rng.integers(0, 20, size=(5, 4, 2, 2)).astype(float)
    for name in ("equalized_odds_ratio", "statistical_parity_difference",
                 "balanced_accuracy_ratio"):
        batch = metric_from_counts(C, name, method=method, zero_division=0)
        single = [metric_from_counts(C[b], name, method=method, zero_division=0)
                  for b in range(5)]
        np.testing.assert_allclose(batch, single, rtol=1e-12)


def test_merged_counts_to_overall_match_fairlearn():
    from fairlearn.metrics import equalized_odds_difference

    rng = np.random.default_rng(4)
    n = 300
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    s = rng.choice(["a", "b", "c", "d"], n, p=[0.1, 0.2, 0.3, 0.4])
    parts = [GroupCounts.from_arrays(y[i:i + 70], p[i:i + 70], sensitive_features=s[i:i + 70])
             for i in range(0, n, 70)]
    expected = equalized_odds_difference(y, p, sensitive_features=s, method="to_overall")
    assert sum(parts).equalized_odds_difference(method="to_overall") == pytest.approx(
        expected, rel=1e-12)


def test_metric_method_errors():
    two = GroupCounts.from_arrays([1, 0, 1], [1, 0, 0], sensitive_features=["a", "a", "b"])
    with pytest.raises(ValueError, match="method='overall' is not a comparison method"):
        two.metric("statistical_parity_difference", method="overall")
    with pytest.raises(ValueError, match="needs priv_group"):
        two.disparate_impact_ratio(method="privileged")
    with pytest.raises(ValueError, match="priv_group='a' cannot be combined with "
                                         "method='to_overall'"):
        two.disparate_impact_ratio(priv_group="a", method="to_overall")
