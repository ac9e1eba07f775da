"""Tests for fairkit.metrics.rich_subgroup (module fairkit.metrics.subgroups): the linear
rich-subgroup auditor of Kearns, Neel, Roth, Wu (2018), against AIF360's ``Auditor`` and
``BinaryLabelDatasetMetric.rich_subgroup`` and against hand computations."""

import warnings

import numpy as np
import pandas as pd
import pytest

from fairkit.metrics.subgroups import rich_subgroup, rich_subgroup_disparity

warnings.filterwarnings("ignore", message=".*tensorflow.*")


def aif_audit(df, prot, pred, fairness_def):
    from aif360.algorithms.inprocessing.gerryfair.auditor import Auditor
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import BinaryLabelDatasetMetric

    ds = BinaryLabelDataset(df=df, label_names=["y"], protected_attribute_names=prot)
    members, gamma = Auditor(ds, fairness_def).audit(tuple(pred))
    metric = BinaryLabelDatasetMetric(ds).rich_subgroup(tuple(pred), fairness_def)
    return np.asarray(members, dtype=bool), gamma, metric


def data(n=500, seed=0, levels=None):
    rng = np.random.default_rng(seed)
    a1 = rng.integers(0, 3, n).astype(float)
    a2 = rng.normal(size=n) if levels is None else rng.integers(0, levels, n).astype(float)
    a3 = rng.integers(0, 2, n).astype(float)
    y = (rng.random(n) < 0.3 + 0.1 * a1).astype(float)
    score = 1 / (1 + np.exp(-(a1 - 1 + 0.5 * a2 + rng.normal(size=n))))
    return pd.DataFrame({"a1": a1, "a2": a2, "a3": a3, "y": y}), score


def test_hand_example():
    # y = 0 rows: a = 0 predicted [0, 0, 0], a = 1 predicted [1, 1, 0]; baseline FP 1/3.
    # The regression on a separates a = 0 (rate 0) from a = 1 (rate 2/3): both have
    # share 3/8 and disparity 1/3, so gamma = 1/8 and the first direction (a = 0) wins.
    a = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    g = rich_subgroup(y, pred, sensitive_features=a)
    assert g.disparity == pytest.approx(1 / 8)
    assert g.group_size == pytest.approx(3 / 8)
    assert g.baseline == pytest.approx(1 / 3)
    assert g.group_rate == 0.0
    np.testing.assert_array_equal(g.membership, a == 0)
    # only unfavourable labels: the FP audit of the six y = 0 rows is the same as above,
    # with share 3/6 and disparity 1/3
    g6 = rich_subgroup(y[:6], pred[:6], sensitive_features=a[:6])
    assert g6.disparity == pytest.approx(1 / 6)
    # FN: y = 1 rows (a = 0 and a = 1) are both predicted 1, so no disparity
    assert rich_subgroup_disparity(y, pred, sensitive_features=a, fairness_def="FN") == 0.0


@pytest.mark.parametrize("fairness_def", ["FP", "FN"])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_aif360(fairness_def, soft, seed):
    pytest.importorskip("aif360")
    df, score = data(seed=seed)
    pred = score if soft else (score > 0.5).astype(float)
    members, gamma, metric = aif_audit(df, ["a1", "a2", "a3"], pred, fairness_def)
    g = rich_subgroup(
        df["y"], pred, sensitive_features=df[["a1", "a2", "a3"]], fairness_def=fairness_def
    )
    assert g.disparity == pytest.approx(gamma, abs=1e-12)
    assert g.disparity == pytest.approx(metric, abs=1e-12)
    np.testing.assert_array_equal(g.membership, members)
    assert g.disparity > 0


def test_equals_aif360_compas():
    pytest.importorskip("aif360")
    from fairkit.datasets import load_compas

    b = load_compas()
    d = b.data
    df = pd.DataFrame(
        {
            "sex": (d["sex"] == "Male") * 1.0,
            "race": (d["race"] == "African-American") * 1.0,
            "age": d["age"] * 1.0,
            "y": np.asarray(b.target, dtype=float),
        }
    )
    pred = (d["decile_score"].to_numpy() >= 5).astype(float)
    for fd in ("FP", "FN"):
        members, gamma, _ = aif_audit(df, ["sex", "race", "age"], pred, fd)
        g = rich_subgroup(
            df["y"], pred, sensitive_features=df[["sex", "race", "age"]], fairness_def=fd
        )
        assert g.disparity == pytest.approx(gamma, abs=1e-12)
        np.testing.assert_array_equal(g.membership, members)


def test_membership_is_the_linear_threshold():
    df, score = data(seed=2)
    A = df[["a1", "a2", "a3"]]
    g = rich_subgroup(df["y"], score, sensitive_features=A)
    np.testing.assert_array_equal(g.membership, A.to_numpy() @ g.coef + g.intercept < 0)
    # gamma recomputed from the membership by hand
    neg = df["y"].to_numpy() == 0
    inside = g.membership & neg
    rate, base = score[inside].mean(), score[neg].mean()
    assert g.disparity == pytest.approx(inside.sum() / len(df) * abs(rate - base))
    assert g.attribute_names == ["a1", "a2", "a3"]


def test_sample_weight_equals_repeated_rows():
    df, score = data(n=200, seed=3)
    w = np.random.default_rng(1).integers(1, 4, len(df))
    idx = np.repeat(np.arange(len(df)), w)
    A = df[["a1", "a2", "a3"]]
    for fd in ("FP", "FN"):
        a = rich_subgroup(df["y"], score, sensitive_features=A, fairness_def=fd, sample_weight=w)
        b = rich_subgroup(
            df["y"].to_numpy()[idx], score[idx], sensitive_features=A.iloc[idx], fairness_def=fd
        )
        assert a.disparity == pytest.approx(b.disparity, abs=1e-12)
        np.testing.assert_array_equal(a.membership[idx], b.membership)


def test_string_attributes_and_labels():
    df, score = data(n=300, seed=4, levels=3)
    pred = score > 0.5
    sf = pd.DataFrame({"a1": df["a1"].map({0.0: "p", 1.0: "q", 2.0: "r"}), "a3": df["a3"]})
    ind = pd.DataFrame(
        {
            "p": (df["a1"] == 0) * 1.0,
            "q": (df["a1"] == 1) * 1.0,
            "r": (df["a1"] == 2) * 1.0,
            "a3": df["a3"],
        }
    )
    y_lab = np.where(df["y"] == 1, "bad", "good")
    p_lab = np.where(pred, "bad", "good")
    g = rich_subgroup(y_lab, p_lab, sensitive_features=sf, pos_label="bad")
    ref = rich_subgroup(df["y"], pred.astype(int), sensitive_features=ind)
    assert g.attribute_names == ["a1=p", "a1=q", "a1=r", "a3"]
    assert g.disparity == pytest.approx(ref.disparity, abs=1e-12)
    np.testing.assert_array_equal(g.membership, ref.membership)
    # favourable = 0: FP of the flipped problem
    flip = rich_subgroup(1 - df["y"], 1 - pred.astype(int), sensitive_features=ind)
    g0 = rich_subgroup(df["y"], pred.astype(int), sensitive_features=ind, pos_label=0)
    assert g0.disparity == pytest.approx(flip.disparity, abs=1e-12)


def test_bad_inputs():
    y, p, a = np.array([0, 1, 0, 1]), np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="fairness_def"):
        rich_subgroup(y, p, sensitive_features=a, fairness_def="SP")
    with pytest.raises(ValueError, match=r"y_pred.*\[0, 1\]"):
        rich_subgroup(y, p * 2.5, sensitive_features=a)
    with pytest.raises(ValueError, match="y_pred"):
        rich_subgroup(y, p[:3], sensitive_features=a)
    with pytest.raises(ValueError, match="sensitive_features"):
        rich_subgroup(y, p, sensitive_features=a[:3])
    with pytest.raises(ValueError, match="binary"):
        rich_subgroup(np.array([0, 1, 2, 1]), p, sensitive_features=a)
    with pytest.raises(ValueError, match="pos_label"):
        rich_subgroup(y, p, sensitive_features=a, pos_label=7)
    with pytest.raises(ValueError, match="NaN"):
        rich_subgroup(y, p, sensitive_features=np.array([0, np.nan, 1, 1]))
    with pytest.raises(ValueError, match="sample_weight"):
        rich_subgroup(y, p, sensitive_features=a, sample_weight=[1, -1, 1, 1])
    with pytest.raises(ValueError, match="no row has y = 0"):
        rich_subgroup(np.ones(4), p, sensitive_features=a)
