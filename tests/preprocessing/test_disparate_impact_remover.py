"""Tests for fairkit.preprocessing.DisparateImpactRemover (values worked out by hand)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from fairkit.preprocessing import DisparateImpactRemover


def three_groups():
    return pd.DataFrame({
        "g": ["A"] * 3 + ["B"] * 3 + ["C"] * 3,
        "x": [1.0, 2, 3, 10, 20, 30, 0, 100, 200],
    })


def test_median_distribution_by_hand():
    X = three_groups()
    dir_ = DisparateImpactRemover(prot_attr="g", n_quantiles=3).fit(X)
    # quantile levels 0, .5, 1; group quantiles A 1,2,3  B 10,20,30  C 0,100,200
    # target = median over groups per level: 1, 20, 30
    np.testing.assert_allclose(dir_.target_quantiles_[:, 0], [1, 20, 30])
    out = dir_.set_output(transform="pandas").transform(X)
    np.testing.assert_allclose(out["x"], [1, 20, 30] * 3)
    assert out["g"].tolist() == X["g"].tolist()  # passed through
    assert list(out.columns) == ["g", "x"]
    # partial repair: (1 - .25) x + .25 A(F_g(x))
    half = DisparateImpactRemover(prot_attr="g", n_quantiles=3, repair_level=0.25).fit(X)
    expected = 0.75 * X["x"].to_numpy() + 0.25 * np.array([1, 20, 30] * 3)
    np.testing.assert_allclose(half.transform(X)[:, 1].astype(float), expected)


def test_transform_unseen_rows_by_hand():
    X = three_groups()
    dir_ = DisparateImpactRemover(prot_attr="g", n_quantiles=3).fit(X)
    new = pd.DataFrame({"g": ["A", "B", "C", "A"], "x": [1.5, 25.0, 150.0, 99.0]})
    # A: 1.5 -> level .25 -> A(.25) = (1 + 20) / 2;  B: 25 -> .75 -> 25
    # C: 150 -> .75 -> 25;  A: 99 beyond the max -> level 1 -> 30
    out = dir_.transform(new)
    np.testing.assert_allclose(out[:, 1].astype(float), [10.5, 25.0, 25.0, 30.0])


def test_full_repair_equalises_group_quantiles_and_keeps_rank():
    rng = np.random.default_rng(0)
    n0, n1 = 400, 900
    X = pd.DataFrame({
        "s": np.r_[np.zeros(n0), np.ones(n1)],
        "x1": np.r_[rng.normal(0, 1, n0), rng.normal(2, 3, n1)],
        "x2": np.r_[rng.exponential(1, n0), rng.exponential(4, n1)],
    })
    Xt = DisparateImpactRemover(prot_attr="s").fit_transform(X)
    levels = np.linspace(0.02, 0.98, 25)
    g0, g1 = X["s"].to_numpy() == 0, X["s"].to_numpy() == 1
    for j, col in ((1, "x1"), (2, "x2")):
        q0 = np.quantile(Xt[g0, j], levels)
        q1 = np.quantile(Xt[g1, j], levels)
        spread = np.ptp(Xt[:, j])
        assert np.max(np.abs(q0 - q1)) < 5e-3 * spread
        # before repair the groups differ a lot
        assert ks_2samp(X.loc[g0, col], X.loc[g1, col]).statistic > 0.3
        assert ks_2samp(Xt[g0, j], Xt[g1, j]).statistic < 0.02
        for mask in (g0, g1):  # rank order within each group preserved (weakly at level 1)
            order = np.argsort(X.loc[mask, col].to_numpy())
            assert np.all(np.diff(Xt[mask, j][order]) >= -1e-12)
    # strict order below full repair
    Xh = DisparateImpactRemover(prot_attr="s", repair_level=0.6).fit_transform(X)
    for mask in (g0, g1):
        order = np.argsort(X.loc[mask, "x1"].to_numpy())
        assert np.all(np.diff(Xh[mask, 1][order]) > 0)


def test_sensitive_features_route_and_drop():
    X = three_groups()
    a = DisparateImpactRemover(prot_attr="g", n_quantiles=3, drop_prot_attr=True).fit(X)
    b = DisparateImpactRemover(n_quantiles=3).fit(X[["x"]], sensitive_features=X["g"])
    np.testing.assert_allclose(a.transform(X), b.transform(X[["x"]], sensitive_features=X["g"]))
    assert a.get_feature_names_out().tolist() == ["x"]
    assert b.get_feature_names_out().tolist() == ["x"]
    assert a.transform(X).shape == (9, 1)
    assert a.groups_ == ["A", "B", "C"] and a.prot_attr_names_ == ["g"]


def test_bad_inputs():
    X = three_groups()
    with pytest.raises(ValueError, match=r"repair_level.*range \[0.0, 1.0\].*1.5"):
        DisparateImpactRemover(prot_attr="g", repair_level=1.5).fit(X)
    with pytest.raises(ValueError, match=r"repair_level.*-0.1"):
        DisparateImpactRemover(prot_attr="g", repair_level=-0.1).fit(X)
    dir_ = DisparateImpactRemover(prot_attr="g").fit(X)
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['g'\] not found"):
        dir_.transform(X[["x"]])
    with pytest.raises(ValueError, match="Group 'D'.*not seen during fit"):
        dir_.transform(pd.DataFrame({"g": ["D"], "x": [1.0]}))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        dir_.transform(pd.DataFrame({"g": ["A"], "x": [np.nan]}))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        DisparateImpactRemover(prot_attr="g").fit(X.assign(x=[np.nan] + [1.0] * 8))
    with pytest.raises(ValueError, match="column 'g' contains 1 infinite value"):
        DisparateImpactRemover(prot_attr="g").fit(pd.DataFrame({"g": [0.0, np.inf],
                                                                "x": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="needs numeric features, but column 'x' of X"):
        DisparateImpactRemover(prot_attr="g").fit(X.assign(x=["a"] * 9))
    arr = np.c_[["a"] * 9, np.r_[[0] * 3, [1] * 3, [2] * 3]].astype(object)
    with pytest.raises(ValueError, match="column 0 of X holds non-numeric values"):
        DisparateImpactRemover(prot_attr=1).fit(arr)
    with pytest.raises(TypeError, match="positional"):
        DisparateImpactRemover("g")
    with pytest.raises(TypeError, match="positional"):
        dir_.transform(X, X["g"])


def _spd(est, X, y):
    p = est.predict(X)
    s = X["s"].to_numpy()
    return -abs(p[s == 1].mean() - p[s == 0].mean())


def biased_data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + np.c_[1.2 * s, 0.5 * s]
    y = (x[:, 0] + x[:, 1] + rng.normal(size=n) > 1).astype(int)
    return pd.DataFrame({"s": s, "x1": x[:, 0], "x2": x[:, 1]}), y


def test_pipeline_lowers_spd_and_grid_search():
    X, y = biased_data()
    base = LogisticRegression().fit(X[["x1", "x2"]], y)
    p = base.predict(X[["x1", "x2"]])
    spd_base = abs(p[X.s == 1].mean() - p[X.s == 0].mean())
    pipe = make_pipeline(DisparateImpactRemover(prot_attr="s", drop_prot_attr=True),
                         LogisticRegression()).fit(X, y)
    assert -_spd(pipe, X, y) < 0.1 < spd_base - 0.2
    gs = GridSearchCV(pipe, {"disparateimpactremover__repair_level": [0.0, 0.5, 1.0]},
                      scoring=_spd, cv=3, n_jobs=2).fit(X, y)
    scores = gs.cv_results_["mean_test_score"]
    # more repair, smaller gap
    assert scores[0] < scores[1] < scores[2]
    assert gs.best_params_["disparateimpactremover__repair_level"] == 1.0


def test_after_column_transformer_with_encoded_name():
    X, y = biased_data(200)
    X["s"] = np.where(X["s"] == 1, "M", "F")
    ct = ColumnTransformer([("num", "passthrough", ["x1", "x2"]),
                            ("prot", "passthrough", ["s"])]).set_output(transform="pandas")
    pipe = make_pipeline(ct, DisparateImpactRemover(prot_attr="prot__s", drop_prot_attr=True),
                         LogisticRegression()).set_output(transform="pandas")
    pipe.fit(X, y)
    out = pipe[:-1].transform(X)
    assert list(out.columns) == ["num__x1", "num__x2"]
    assert out.index.equals(X.index)
    # keeping the string column with pandas output keeps its dtype
    keep = DisparateImpactRemover(prot_attr="s").set_output(transform="pandas").fit_transform(X)
    assert keep["s"].tolist() == X["s"].tolist()
    assert keep["x1"].dtype == np.float64
