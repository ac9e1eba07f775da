"""Tests for fairkit.preprocessing Reweighing* (weights checked by hand and against AIF360)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairkit.preprocessing import Reweighing, ReweighingClassifier, ReweighingSampler


def hand_table():
    # group a: 4 rows (3 positive), group b: 6 rows (1 positive); N=10, N_pos=4, N_neg=6
    sex = ["a"] * 4 + ["b"] * 6
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    X = pd.DataFrame({"sex": sex, "x": np.arange(10.0)})
    return X, y


# W(g, y) = N_g N_y / (N N_gy), worked out by hand for hand_table()
HAND_FACTORS = np.array([
    [4 * 6 / (10 * 1), 4 * 4 / (10 * 3)],  # a: y=0, y=1  -> 2.4, 0.5333...
    [6 * 6 / (10 * 5), 6 * 4 / (10 * 1)],  # b: y=0, y=1  -> 0.72, 2.4
])


def test_factors_by_hand():
    X, y = hand_table()
    rw = Reweighing(prot_attr="sex").fit(X, y)
    assert rw.groups_ == ["a", "b"]
    np.testing.assert_array_equal(rw.classes_, [0, 1])
    np.testing.assert_allclose(rw.reweigh_factors_, HAND_FACTORS, rtol=1e-15)
    expected = HAND_FACTORS[[0, 0, 0, 0, 1, 1, 1, 1, 1, 1], y]
    np.testing.assert_allclose(rw.sample_weight_, expected, rtol=1e-15)


def _aif360_weights(X, y, prot, sample_weight=None):
    from aif360.sklearn.preprocessing import Reweighing as AifReweighing

    Xi = X.set_index(prot, drop=False)
    rw = AifReweighing(prot_attr=prot)
    _, w = rw.fit_transform(Xi, pd.Series(y, index=Xi.index), sample_weight=sample_weight)
    return rw, np.asarray(w)


@pytest.mark.parametrize("weighted", [False, True])
def test_weights_equal_aif360(weighted):
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame({
        "sex": rng.choice(["F", "M"], n, p=[0.3, 0.7]),
        "race": rng.choice(["B", "O", "W"], n),
        "x": rng.normal(size=n),
    })
    y = (rng.random(n) < np.where(X["sex"] == "M", 0.6, 0.3)).astype(int)
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    for prot in (["sex"], ["sex", "race"]):
        aif, w_aif = _aif360_weights(X, y, prot, sw)
        rw = Reweighing(prot_attr=prot).fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(rw.sample_weight_, w_aif, rtol=1e-12)
        np.testing.assert_allclose(rw.reweigh_factors_, aif.reweigh_factors_, rtol=1e-12)


def test_weighted_label_parity_is_zero():
    rng = np.random.default_rng(1)
    n = 500
    g = rng.choice(["u", "p", "q"], n, p=[0.2, 0.5, 0.3])
    y = (rng.random(n) < np.select([g == "u", g == "p"], [0.2, 0.7], 0.5)).astype(int)
    sw = rng.uniform(0.1, 3, n)
    w = Reweighing().fit(np.zeros((n, 1)), y, sample_weight=sw, sensitive_features=g)
    rates = [np.sum(w.sample_weight_ * y * (g == k)) / np.sum(w.sample_weight_ * (g == k))
             for k in ("u", "p", "q")]
    overall = np.sum(sw * y) / np.sum(sw)
    assert abs(rates[0] - rates[1]) < 1e-12
    assert abs(rates[0] - rates[2]) < 1e-12
    # reweighing keeps the (weighted) label rate and the group masses
    assert rates[0] == pytest.approx(overall, abs=1e-12)
    for k in ("u", "p", "q"):
        assert np.sum(w.sample_weight_ * (g == k)) == pytest.approx(np.sum(sw * (g == k)))


def test_compute_sample_weight_new_rows_and_errors():
    X, y = hand_table()
    rw = Reweighing(prot_attr="sex").fit(X, y)
    Xn = pd.DataFrame({"sex": ["b", "a"], "x": [0.0, 0.0]})
    np.testing.assert_allclose(rw.compute_sample_weight(Xn, [1, 0], sample_weight=[2, 1]),
                               [2 * 2.4, 2.4])
    with pytest.raises(ValueError, match="Group 'c'.*not seen during fit"):
        rw.compute_sample_weight(pd.DataFrame({"sex": ["c"], "x": [0.0]}), [1])
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['sex'\] not found"):
        rw.compute_sample_weight(pd.DataFrame({"gender": ["a"], "x": [0.0]}), [1])
    with pytest.raises(ValueError, match="label"):
        rw.compute_sample_weight(Xn, [1, 2])


def test_bad_inputs():
    X, y = hand_table()
    with pytest.raises(ValueError, match="missing values"):
        Reweighing(prot_attr="sex").fit(X.assign(sex=[None] + ["a"] * 3 + ["b"] * 6), y)
    with pytest.raises(ValueError, match="No protected attribute"):
        Reweighing().fit(X, y)
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        Reweighing(prot_attr="sex").fit(X, y[:-1])
    with pytest.raises(ValueError, match="continuous"):
        Reweighing(prot_attr=0).fit(np.random.default_rng(0).normal(size=(200, 2)),
                                    np.arange(200) % 2)
    with pytest.raises(ValueError, match=r"sample_weight must be non-negative.*-1\.0"):
        Reweighing(prot_attr="sex").fit(X, y, sample_weight=[-1.0] + [1.0] * 9)
    with pytest.raises(ValueError, match=r"prot_attr=1\.5 is not valid"):
        Reweighing(prot_attr=1.5).fit(X, y)
    with pytest.raises(TypeError, match="positional"):
        Reweighing("sex")
    with pytest.raises(TypeError, match="positional"):
        Reweighing(prot_attr="sex").fit(X, y, None)
    with pytest.raises(TypeError, match="positional"):
        ReweighingClassifier(LogisticRegression(), "sex")
    with pytest.raises(TypeError, match="positional"):
        ReweighingSampler("sex")
    # resampling is the alternative to weights: no sample_weight parameter at all
    with pytest.raises(TypeError, match="sample_weight"):
        ReweighingSampler(prot_attr="sex").fit_resample(X, y, sample_weight=np.ones(10))


def test_prot_attr_array_and_integer_weights_equal_repeated_rows():
    X, y = hand_table()
    # an index array is read like every other prot_attr (one rule, check_prot_attr)
    Xa = np.c_[(X["sex"] == "b").astype(int), X["x"]]
    by_array = Reweighing(prot_attr=np.array([0])).fit(Xa, y)
    np.testing.assert_allclose(by_array.reweigh_factors_, HAND_FACTORS, rtol=1e-15)
    # integer weights: the factors of the data with rows repeated by their weight
    w = np.array([1, 2, 0, 3, 1, 1, 2, 1, 4, 1])
    weighted = Reweighing(prot_attr="sex").fit(X, y, sample_weight=w)
    rep = np.repeat(np.arange(10), w)
    repeated = Reweighing(prot_attr="sex").fit(X.iloc[rep], y[rep])
    np.testing.assert_allclose(weighted.reweigh_factors_, repeated.reweigh_factors_,
                               rtol=1e-14)
    np.testing.assert_allclose(weighted.sample_weight_[rep] / w[rep],
                               repeated.sample_weight_, rtol=1e-14)
    assert weighted.groups_ == ["a", "b"] and weighted.prot_attr_names_ == ["sex"]


def test_classifier_uses_weights_times_own_sample_weight():
    rng = np.random.default_rng(2)
    n = 200
    X = pd.DataFrame({"sex": rng.integers(0, 2, n).astype(float), "x": rng.normal(size=n)})
    y = ((X["x"] + X["sex"] + rng.normal(size=n)) > 0.7).astype(int)
    sw = rng.uniform(0.5, 2, n)
    clf = ReweighingClassifier(LogisticRegression(), prot_attr="sex").fit(X, y, sample_weight=sw)
    # independent weights: weighted counts by hand with pandas
    df = pd.DataFrame({"g": X["sex"], "y": y, "w": sw})
    N = df.w.sum()
    Ng = df.groupby("g").w.transform("sum")
    Ny = df.groupby("y").w.transform("sum")
    Ngy = df.groupby(["g", "y"]).w.transform("sum")
    w_hand = sw * Ng * Ny / (N * Ngy)
    ref = LogisticRegression().fit(X, y, sample_weight=w_hand)
    np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-6)
    # a Pipeline gets the weights on its last step
    pipe = ReweighingClassifier(make_pipeline(StandardScaler(), LogisticRegression()),
                                prot_attr="sex").fit(X, y, sample_weight=sw)
    ref_p = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X, y, logisticregression__sample_weight=w_hand)
    np.testing.assert_allclose(pipe.predict_proba(X), ref_p.predict_proba(X), rtol=1e-6)
    with pytest.raises(TypeError, match="does not accept sample_weight"):
        ReweighingClassifier(KNeighborsClassifier(), prot_attr="sex").fit(X, y)


def test_classifier_lowers_prediction_gap_and_grid_search():
    rng = np.random.default_rng(3)
    n = 600
    s = rng.integers(0, 2, n)
    x = rng.normal(size=n) + 0.8 * s
    y = (x + 0.5 * s + rng.normal(scale=0.5, size=n) > 0.8).astype(int)
    X = pd.DataFrame({"s": s, "x": x})

    def spd(est, X, y):
        p = est.predict(X)
        return -abs(p[X["s"].to_numpy() == 1].mean() - p[X["s"].to_numpy() == 0].mean())

    base = LogisticRegression().fit(X, y)
    rw = ReweighingClassifier(LogisticRegression(), prot_attr="s").fit(X, y)
    assert -spd(rw, X, y) < -spd(base, X, y) - 0.05
    gs = GridSearchCV(ReweighingClassifier(LogisticRegression(), prot_attr="s"),
                      {"estimator__C": [0.01, 1.0]}, scoring=spd, cv=3, n_jobs=2).fit(X, y)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    assert gs.best_params_["estimator__C"] in (0.01, 1.0)


def test_sampler_uniform_cell_sizes():
    X, y = hand_table()
    Xr, yr = ReweighingSampler(prot_attr="sex", random_state=0).fit_resample(X, y)
    # target size round(N_g N_y / N): a,0: 2.4->2; a,1: 1.6->2; b,0: 3.6->4; b,1: 2.4->2
    counts = pd.crosstab(Xr["sex"], yr)
    np.testing.assert_array_equal(counts.to_numpy(), [[2, 2], [4, 2]])
    assert isinstance(Xr, pd.DataFrame) and list(Xr.columns) == ["sex", "x"]
    # every growing cell keeps all of its rows: a,0 (row 3) and b,1 (row 4)
    assert {3, 4} <= set(Xr.index)
    Xr2, _ = ReweighingSampler(prot_attr="sex", random_state=0).fit_resample(X, y)
    pd.testing.assert_frame_equal(Xr, Xr2)


def test_sampler_uniform_parity_large():
    rng = np.random.default_rng(4)
    n = 5000
    g = rng.choice([0, 1], n, p=[0.3, 0.7])
    y = (rng.random(n) < np.where(g == 1, 0.6, 0.2)).astype(int)
    X = np.c_[g, rng.normal(size=n)]
    Xr, yr = ReweighingSampler(prot_attr=0, random_state=0).fit_resample(X, y)
    gap = yr[Xr[:, 0] == 1].mean() - yr[Xr[:, 0] == 0].mean()
    assert abs(gap) < 1e-3  # only rounding of the cell sizes remains
    assert abs(len(yr) - n) <= 2


class FixedRanker(LogisticRegression):
    """P(y=1 | x) = x[:, 1] (a known ranking)."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.asarray(X, dtype=float)[:, 1]
        return np.c_[1 - p, p]


def test_sampler_preferential_drops_and_duplicates_borderline():
    # group 0: positives scores .9 .6 .55 (cell shrinks 3 -> 2), negative .45 (grows 1 -> 2)
    # group 1: positive .7 (grows 1 -> 2), negatives .1 .3 .52 (shrink 3 -> 2)
    g = [0, 0, 0, 0, 1, 1, 1, 1]
    p = [0.9, 0.6, 0.55, 0.45, 0.7, 0.1, 0.3, 0.52]
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    X = np.c_[g, p]
    sampler = ReweighingSampler(prot_attr=0, method="preferential", ranker=FixedRanker())
    _, yr = sampler.fit_resample(X, y)
    # drop the borderline row of each shrinking cell: row 2 (P(+)=.55) and row 7 (P(-)=.48);
    # duplicate the borderline row of each growing cell: row 3 and row 4
    np.testing.assert_array_equal(sampler.sample_indices_, [0, 1, 3, 3, 4, 4, 5, 6])
    np.testing.assert_array_equal(yr, y[[0, 1, 3, 3, 4, 4, 5, 6]])


def test_sampler_imblearn_protocol():
    s = ReweighingSampler(prot_attr=0)
    assert hasattr(s, "fit_resample") and hasattr(s, "fit")
    assert not hasattr(s, "transform")  # imblearn's Pipeline refuses steps with both


def test_sampler_in_imblearn_pipeline():
    # inside imbalanced-learn's Pipeline the sampler resamples the training rows only:
    # the fitted model equals one fitted by hand on fit_resample's output, and predict
    # runs on every row given (no resampling at predict time)
    imb_pipeline = pytest.importorskip("imblearn.pipeline")
    rng = np.random.default_rng(5)
    n = 600
    g = rng.choice([0, 1], n, p=[0.4, 0.6])
    y = (rng.random(n) < np.where(g == 1, 0.65, 0.25)).astype(int)
    X = np.c_[g, rng.normal(size=n) + y]
    pipe = imb_pipeline.Pipeline([
        ("resample", ReweighingSampler(prot_attr=0, random_state=3)),
        ("model", LogisticRegression()),
    ]).fit(X, y)
    Xr, yr = ReweighingSampler(prot_attr=0, random_state=3).fit_resample(X, y)
    by_hand = LogisticRegression().fit(Xr, yr)
    np.testing.assert_allclose(pipe[-1].coef_, by_hand.coef_, rtol=1e-10)
    assert len(yr) != n or not np.array_equal(yr, y)  # the training rows really changed
    np.testing.assert_array_equal(pipe.predict(X), by_hand.predict(X))
    assert pipe.predict(X).shape == (n,)


class _Recorder(StandardScaler):
    """A scaler that records the sample_weight its fit received."""

    def fit(self, X, y=None, sample_weight=None):
        self.received_ = sample_weight
        return super().fit(X, y, sample_weight=sample_weight)


def _routing_data():
    rng = np.random.default_rng(7)
    n = 150
    X = pd.DataFrame({"sex": rng.integers(0, 2, n).astype(float), "x": rng.normal(size=n)})
    y = ((X["x"] + X["sex"] + rng.normal(size=n)) > 0.7).astype(int)
    sw = rng.uniform(0.5, 2, n)
    df = pd.DataFrame({"g": X["sex"], "y": y, "w": sw})
    w_hand = sw * df.groupby("g").w.transform("sum") * df.groupby("y").w.transform("sum") / (
        sw.sum() * df.groupby(["g", "y"]).w.transform("sum"))
    return X, y, sw, w_hand.to_numpy()


def test_classifier_metadata_routing():
    import sklearn

    X, y, sw, w_hand = _routing_data()
    ref = LogisticRegression().fit(X, y, sample_weight=w_hand)
    ref_p = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X, y, logisticregression__sample_weight=w_hand)
    with sklearn.config_context(enable_metadata_routing=True):
        # the weights (user's times the factors) reach the estimator that requested them
        lr = LogisticRegression().set_fit_request(sample_weight=True)
        clf = ReweighingClassifier(lr, prot_attr="sex").fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_, rtol=1e-6)
        # in a Pipeline: only the step that requested them gets them
        pipe = make_pipeline(_Recorder().set_fit_request(sample_weight=False),
                             LogisticRegression().set_fit_request(sample_weight=True))
        clf = ReweighingClassifier(pipe, prot_attr="sex").fit(X, y, sample_weight=sw)
        assert clf.estimator_[0].received_ is None
        np.testing.assert_allclose(clf.predict_proba(X), ref_p.predict_proba(X), rtol=1e-6)
        # a step that requested them gets the reweighing weights, not the user's
        pipe = make_pipeline(_Recorder().set_fit_request(sample_weight=True),
                             LogisticRegression().set_fit_request(sample_weight=True))
        clf = ReweighingClassifier(pipe, prot_attr="sex").fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(clf.estimator_[0].received_, w_hand, rtol=1e-12)
        # not requested: the weights would be lost, so fit refuses
        with pytest.raises(ValueError, match=r"has not requested sample_weight.*"
                                             r"set_fit_request\(sample_weight=True\)"):
            ReweighingClassifier(LogisticRegression(), prot_attr="sex").fit(X, y)
        router = ReweighingClassifier(lr, prot_attr="sex").get_metadata_routing()
        assert router.consumes("fit", ["sample_weight"]) == {"sample_weight"}
