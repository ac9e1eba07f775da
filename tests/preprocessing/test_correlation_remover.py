"""Tests for fairkit.preprocessing.CorrelationRemover (fairlearn as the oracle)."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.preprocessing import CorrelationRemover as FairlearnCR
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from fairkit.preprocessing import CorrelationRemover


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    s1 = rng.integers(0, 2, n).astype(float)
    s2 = rng.normal(size=n)
    X = pd.DataFrame({
        "a": rng.normal(size=n) + 2 * s1,
        "s1": s1,
        "b": rng.normal(size=n) - s2,
        "s2": s2,
        "c": rng.normal(size=n),
    })
    return X


@pytest.mark.parametrize("alpha", [1.0, 0.7, 0.0])
def test_equals_fairlearn_on_numeric_attributes(alpha):
    X = data()
    ours = CorrelationRemover(prot_attr=["s1", "s2"], alpha=alpha).fit(X)
    ref = FairlearnCR(sensitive_feature_ids=["s1", "s2"], alpha=alpha).fit(X)
    X_new = data(50, seed=1)
    np.testing.assert_allclose(ours.transform(X_new), ref.transform(X_new), atol=1e-12)
    assert ours.get_feature_names_out().tolist() == ["a", "b", "c"]


def test_zero_correlation_and_means_kept():
    X = data()
    Xt = CorrelationRemover(prot_attr=["s1", "s2"]).fit_transform(X)
    for j in range(3):
        for s in ("s1", "s2"):
            assert abs(np.corrcoef(Xt[:, j], X[s])[0, 1]) < 1e-12
    np.testing.assert_allclose(Xt.mean(axis=0), X[["a", "b", "c"]].mean().to_numpy(),
                               atol=1e-12)


def test_categorical_attribute_equals_fairlearn_on_indicators():
    rng = np.random.default_rng(2)
    n = 200
    race = rng.choice(["B", "O", "W"], n)
    X = pd.DataFrame({"race": race, "x": rng.normal(size=n) + (race == "W"),
                      "z": rng.normal(size=n)})
    ours = CorrelationRemover(prot_attr="race").set_output(transform="pandas").fit(X)
    # independent: fairlearn on hand-made indicator columns (drop the first category)
    Xd = X.assign(O=(race == "O").astype(float), W=(race == "W").astype(float)).drop(
        columns="race")
    ref = FairlearnCR(sensitive_feature_ids=["O", "W"]).fit(Xd)
    out = ours.transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x", "z"]
    np.testing.assert_allclose(out.to_numpy(), ref.transform(Xd), atol=1e-12)
    # the same through routed sensitive_features
    routed = CorrelationRemover().fit(X[["x", "z"]], sensitive_features=X["race"])
    np.testing.assert_allclose(routed.transform(X[["x", "z"]], sensitive_features=X["race"]),
                               out.to_numpy(), atol=1e-12)
    keep = CorrelationRemover(prot_attr="race", drop_prot_attr=False).set_output(
        transform="pandas").fit_transform(X)
    assert list(keep.columns) == ["race", "x", "z"] and keep["race"].tolist() == race.tolist()


def test_bad_inputs():
    X = data()
    with pytest.raises(ValueError, match=r"alpha.*range \[0.0, 1.0\].*2"):
        CorrelationRemover(prot_attr="s1", alpha=2).fit(X)
    cr = CorrelationRemover(prot_attr="s1").fit(X)
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['s1'\] not found"):
        cr.transform(X.drop(columns="s1"))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        cr.transform(X.assign(a=np.nan))
    Xc = pd.DataFrame({"g": ["u", "v"] * 5, "x": np.arange(10.0)})
    crc = CorrelationRemover(prot_attr="g").fit(Xc)
    with pytest.raises(ValueError, match=r"value\(s\) \['w'\] not seen during fit"):
        crc.transform(pd.DataFrame({"g": ["w"], "x": [1.0]}))
    with pytest.raises(ValueError, match="needs numeric features, but column 'a' of X"):
        CorrelationRemover(prot_attr="s1").fit(X.assign(a="text"))
    with pytest.raises(TypeError, match="positional"):
        CorrelationRemover("s1")
    with pytest.raises(TypeError, match="positional"):
        cr.transform(X, X["s1"])


def test_grid_search_over_alpha_with_fairness_scorer():
    rng = np.random.default_rng(3)
    n = 600
    s = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + np.c_[1.5 * s, 0 * s]
    y = (x[:, 0] + x[:, 1] + rng.normal(size=n) > 1).astype(int)
    X = pd.DataFrame({"s": s, "x1": x[:, 0], "x2": x[:, 1]})

    def neg_spd(est, X, y):
        p = est.predict(X)
        return -abs(p[X["s"].to_numpy() == 1].mean() - p[X["s"].to_numpy() == 0].mean())

    pipe = make_pipeline(CorrelationRemover(prot_attr="s"), LogisticRegression())
    gs = GridSearchCV(pipe, {"correlationremover__alpha": [0.0, 1.0]}, scoring=neg_spd,
                      cv=3, n_jobs=2).fit(X, y)
    no_fix, fixed = gs.cv_results_["mean_test_score"]
    assert fixed > no_fix + 0.2  # |SPD| shrinks by more than 0.2
    assert gs.best_params_ == {"correlationremover__alpha": 1.0}


def test_fit_transform_equals_fit_then_transform():
    X = data(200, seed=4)
    ref = FairlearnCR(sensitive_feature_ids=["s1", "s2"], alpha=0.6).fit_transform(X)
    cr = CorrelationRemover(prot_attr=["s1", "s2"], alpha=0.6)
    out = cr.fit_transform(X)
    np.testing.assert_allclose(out, ref, atol=1e-12)
    np.testing.assert_array_equal(out, cr.transform(X))
    # routed sensitive_features reach fit_transform too
    feats = X[["a", "b", "c"]]
    routed = CorrelationRemover(alpha=0.6).set_output(transform="pandas")
    out_routed = routed.fit_transform(feats, sensitive_features=X[["s1", "s2"]])
    assert isinstance(out_routed, pd.DataFrame) and list(out_routed.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(out_routed.to_numpy(), ref, atol=1e-12)


def _thin_designs(rng, n):
    s = rng.integers(0, 2, n).astype(float)
    return {
        "one binary": s[:, None],
        "one continuous, large scale": 1e4 * rng.normal(size=(n, 1)),
        "three columns": rng.normal(size=(n, 3)),
        "collinear": np.c_[s, 2 * s, rng.normal(size=n)],
        "zero column": np.c_[rng.normal(size=n), np.zeros(n)],
        "all zero": np.zeros((n, 2)),
        "six columns": rng.normal(size=(n, 6)),
        "no column": np.zeros((n, 0)),
    }


@pytest.mark.parametrize("n", [7, 500])
def test_least_squares_equals_numpy_lstsq(n):
    # the SVD route gives lstsq's minimum-norm solution, rank-deficient designs included
    from fairkit.preprocessing._correlation_remover import _least_squares

    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 4)) * [1, 10, 100, 1e-3]
    for label, S in _thin_designs(rng, n).items():
        S = S - S.mean(axis=0)
        expected = np.linalg.lstsq(S, X, rcond=None)[0]
        got = _least_squares(S, X)
        assert got.shape == expected.shape, label
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=label)
        np.testing.assert_allclose(_least_squares(S, np.asfortranarray(X)), expected,
                                   rtol=1e-9, atol=1e-12, err_msg=label)


def test_product_equals_matmul_in_both_layouts():
    from fairkit.preprocessing._correlation_remover import _product

    rng = np.random.default_rng(1)
    for label, S in _thin_designs(rng, 50).items():
        beta = rng.normal(size=(S.shape[1], 3))
        for column_major in (False, True):
            out = _product(S, beta, column_major=column_major)
            np.testing.assert_allclose(out, S @ beta, rtol=1e-13, atol=1e-13, err_msg=label)
            if S.shape[1]:
                assert out.flags.f_contiguous == column_major or out.flags.c_contiguous


@pytest.mark.parametrize("layout", ["frame", "C", "F", "polars"])
def test_every_input_layout_equals_fairlearn(layout):
    # frames (column-major blocks), C- and F-ordered arrays and polars give fairlearn's
    # numbers; the input is never modified
    rng = np.random.default_rng(5)
    X = data(400, seed=3)
    X["g"] = rng.integers(0, 3, 400).astype(float)
    cols = ["a", "s1", "b", "g", "c"]
    frame = X[cols]
    ref = FairlearnCR(sensitive_feature_ids=[1, 3], alpha=0.6).fit(frame.to_numpy())
    expected = ref.transform(frame.to_numpy())
    if layout == "frame":
        data_in, prot = frame, ["s1", "g"]
    elif layout == "polars":
        pl = pytest.importorskip("polars")
        data_in, prot = pl.from_pandas(frame), ["s1", "g"]
    else:
        data_in = np.array(frame.to_numpy(), order=layout)
        prot = [1, 3]
    before = np.array(np.asarray(frame), copy=True)
    ours = CorrelationRemover(prot_attr=prot, alpha=0.6)
    np.testing.assert_allclose(ours.fit_transform(data_in), expected, atol=1e-12)
    np.testing.assert_allclose(ours.transform(data_in), expected, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(frame), before)
    # one attribute: the one-column path of the layer
    one = "s1" if layout in ("frame", "polars") else 1
    ref1 = FairlearnCR(sensitive_feature_ids=[1]).fit(frame.to_numpy())
    np.testing.assert_allclose(CorrelationRemover(prot_attr=one).fit(data_in)
                               .transform(data_in), ref1.transform(frame.to_numpy()),
                               atol=1e-12)
