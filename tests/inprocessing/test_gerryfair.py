"""Tests for fairkit.inprocessing._gerryfair (Kearns, Neel, Roth, Wu 2018).

The oracle is AIF360's ``GerryFairClassifier`` run on a ``BinaryLabelDataset`` with
several protected attributes. AIF360's ``Auditor.update_costs`` resets its row index
inside its loop (every row gets the first audited row's subgroup cost); the oracle here
is AIF360 with that one index corrected (``_corrected_update_costs``, the paper's
update), and one test shows the uncorrected behaviour.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeRegressor

from fairkit.inprocessing._gerryfair import GerryFairClassifier
from fairkit.metrics.scorers import make_fairness_scorer
from fairkit.metrics.subgroups import rich_subgroup

aif360 = pytest.importorskip("aif360")
warnings.filterwarnings("ignore", message=".*tensorflow.*")


def _corrected_update_costs(self, c_0, c_1, group, C, iteration, gamma):
    # AIF360 0.6.1's Auditor.update_costs with the row index advanced (not reset)
    c_0, c_1 = list(c_0), list(c_1)
    n = len(self.y)
    g_members = group.func.predict(self.X_prime_0)
    g_weight = np.sum(g_members) * (1.0 / float(self.X_prime_0.shape[0]))
    j = 0
    for i in range(n):
        if self.y[i] == 0:
            new = (
                (1.0 / n)
                * group.disparity_direction
                * C
                * (1.0 / iteration)
                * (g_weight - g_members[j])
            )
            if np.abs(group.weighted_disparity) < gamma:
                new = 0
            if self.fairness_def == "FP":
                c_1[i] = (c_1[i] - 1.0 / n) * ((iteration - 1.0) / iteration) + new + 1.0 / n
            else:
                c_0[i] = (c_0[i] - 1.0 / n) * ((iteration - 1.0) / iteration) + new + 1.0 / n
            j += 1
        elif self.fairness_def == "FP":
            c_1[i] = -1.0 / n
        else:
            c_0[i] = -1.0 / n
    return tuple(c_0), tuple(c_1)


@pytest.fixture
def aif_gerryfair(monkeypatch):
    from aif360.algorithms.inprocessing import GerryFairClassifier as AifGerryFair
    from aif360.algorithms.inprocessing.gerryfair import auditor

    monkeypatch.setattr(auditor.Auditor, "update_costs", _corrected_update_costs)
    return AifGerryFair


def dataset(df, label, prot):
    from aif360.datasets import BinaryLabelDataset

    return BinaryLabelDataset(
        df=df,
        label_names=[label],
        protected_attribute_names=prot,
        favorable_label=1,
        unfavorable_label=0,
    )


def synthetic(n=600, seed=0, base=0.8):
    rng = np.random.default_rng(seed)
    a1 = rng.integers(0, 2, n).astype(float)
    a2 = rng.normal(size=n)
    x1 = rng.normal(size=n) + a1
    x2 = rng.normal(size=n) * 3 + 5  # raw, not standardised
    y = (x1 + 0.2 * x2 + 0.8 * a2 + rng.normal(size=n) > base + 1).astype(float)
    return pd.DataFrame({"a1": a1, "a2": a2, "x1": x1, "x2": x2, "y": y})


def compas_numeric():
    from fairkit.datasets import load_compas

    d = load_compas().data
    y = load_compas().target.astype(float)
    df = pd.DataFrame(
        {
            "sex": (d["sex"] == "Male").astype(float),
            "race": (d["race"] == "African-American").astype(float),
            "age": d["age"].astype(float),
            "priors_count": d["priors_count"].astype(float),
            "juv_fel_count": d["juv_fel_count"].astype(float),
            "juv_misd_count": d["juv_misd_count"].astype(float),
            "felony": (d["c_charge_degree"] == "F").astype(float),
            "y": np.asarray(y),
        }
    )
    return df


def assert_same_as_aif(AifGerryFair, df, prot, **params):
    aif = AifGerryFair(**params).fit(dataset(df, "y", prot))
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    ours = GerryFairClassifier(prot_attr=prot, **params).fit(X, y)
    assert ours.n_iter_ == len(aif.errors)
    np.testing.assert_allclose(ours.errors_, aif.errors, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        ours.fairness_violations_, aif.fairness_violations, rtol=0, atol=1e-9
    )
    soft = aif.predict(dataset(df, "y", prot), threshold=None).labels.ravel()
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1], soft, rtol=0, atol=1e-9)
    hard = aif.predict(dataset(df, "y", prot)).labels.ravel()
    np.testing.assert_array_equal(ours.predict(X), hard)
    return ours


@pytest.mark.parametrize("fairness_def", ["FP", "FN"])
def test_equals_aif360_synthetic(aif_gerryfair, fairness_def):
    ours = assert_same_as_aif(
        aif_gerryfair,
        synthetic(),
        ["a1", "a2"],
        C=100,
        gamma=0.005,
        max_iters=15,
        fairness_def=fairness_def,
    )
    # the fairness term acts: some round found a violation above gamma
    assert ours.fairness_violations_.max() > 0.005


def test_equals_aif360_imbalanced_and_early_stop(aif_gerryfair):
    # 10 % positives, a large gamma: the play stops early in both implementations
    df = synthetic(n=700, seed=3, base=2.3)
    assert 0.03 < df["y"].mean() < 0.2
    ours = assert_same_as_aif(
        aif_gerryfair, df, ["a1", "a2"], C=10, gamma=0.5, max_iters=30, fairness_def="FP"
    )
    assert ours.n_iter_ < 29


@pytest.mark.parametrize("fairness_def", ["FP", "FN"])
def test_equals_aif360_compas(aif_gerryfair, fairness_def):
    df = compas_numeric()
    assert_same_as_aif(
        aif_gerryfair,
        df,
        ["sex", "race", "age"],
        C=50,
        gamma=0.002,
        max_iters=6,
        fairness_def=fairness_def,
    )


def test_equals_aif360_with_other_predictor(aif_gerryfair):
    df = synthetic(n=400, seed=1)
    assert_same_as_aif(
        aif_gerryfair, df, ["a1", "a2"], C=20, gamma=0.005, max_iters=6, predictor=Ridge(alpha=3.0)
    )


def test_aif360_uncorrected_update_uses_first_row_only():
    # the reason for the corrected oracle: AIF360's update gives every audited row the
    # same subgroup cost although the subgroup holds only some of them
    from aif360.algorithms.inprocessing.gerryfair.auditor import Auditor

    df = synthetic(n=300)
    aud = Auditor(dataset(df, "y", ["a1", "a2"]), "FP")
    preds = tuple(np.asarray(df["x1"] > 1, dtype=float))
    group = aud.get_group(preds, aud.get_baseline(aud.y_input, preds))
    members = group.func.predict(aud.X_prime_0)
    assert 0 < members.sum() < len(members)
    c0, c1 = aud.initialize_costs(len(df))[:2]
    _, c1_new = aud.update_costs(c0, c1, group, 10, 1, 0.0)
    audited = np.asarray(df["y"] == 0)
    assert np.ptp(np.asarray(c1_new)[audited]) == 0  # one value for all audited rows


@pytest.mark.filterwarnings("ignore::fairkit.base.ConstantFitWarning")
def test_cost_update_by_hand():
    # 4 rows, one protected attribute; after round 1 the costs of labelling 1 the y = 0
    # rows are 1/n + (1/n) * dir * C * (alpha - g_i), computed here from the subgroup found
    X = np.array([[0.0, 1.0], [1.0, 2.0], [0.0, 0.5], [1.0, 3.0], [1.0, 0.0], [0.0, 2.5]])
    y = np.array([0, 0, 0, 0, 1, 1])
    clf = GerryFairClassifier(C=10, gamma=0.0, max_iters=2, prot_attr=0).fit(X, y)
    # round 1: least squares of c1 = -(2y - 1)/6 on [a, x] (scikit-learn as oracle)
    c1 = -(2 * y - 1) / 6.0
    lr = LinearRegression().fit(X, c1)
    h = (lr.predict(X) < 0).astype(float)
    np.testing.assert_allclose(clf.coef_[0], lr.coef_, atol=1e-12)
    np.testing.assert_allclose(clf.errors_[0], np.mean(np.abs(h - y)), atol=1e-12)
    # the audit of h: FP rates among y = 0 rows by a (two values: the subgroups are a
    # = 0 and a = 1); gamma = share * |rate - baseline|
    fp = h[:4]
    base = fp.mean()
    rates = {v: fp[X[:4, 0] == v].mean() for v in (0.0, 1.0)}
    expected = max(2 / 6 * abs(rates[v] - base) for v in rates)
    assert clf.fairness_violations_[0] == pytest.approx(expected, abs=1e-12)


def test_reduces_subgroup_violation():
    # on data where the protected attributes drive y, larger C lowers the final FP
    # violation of the mixture (measured by the auditor metric, an AIF360-equal oracle
    # tested in tests/metrics/test_rich_subgroup.py)
    df = synthetic(n=1500, seed=2)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    viol = []
    for C in (0, 200):
        clf = GerryFairClassifier(
            C=C, gamma=0.001, max_iters=40, prot_attr=["a1", "a2"], early_termination=False
        ).fit(X, y)
        p = clf.predict_proba(X)[:, 1]
        viol.append(rich_subgroup(y, p, sensitive_features=X[["a1", "a2"]]).disparity)
    assert viol[1] < 0.5 * viol[0]


def test_sensitive_features_routed_and_string_attribute():
    df = synthetic(n=500)
    X, y = df[["x1", "x2"]], df["y"].to_numpy()
    sf = pd.DataFrame({"a1": np.where(df["a1"] == 1, "b", "a"), "a2": df["a2"]})
    clf = GerryFairClassifier(C=50, max_iters=6).fit(X, y, sensitive_features=sf)
    # the string column enters the auditor as its level indicators
    assert clf.subgroup_.attribute_names == ["a1=a", "a1=b", "a2"]
    num = pd.DataFrame({"a1=a": (df["a1"] == 0) * 1.0, "a1=b": df["a1"] * 1.0, "a2": df["a2"]})
    ref = GerryFairClassifier(C=50, max_iters=6).fit(X, y, sensitive_features=num)
    np.testing.assert_allclose(clf.fairness_violations_, ref.fairness_violations_, atol=1e-12)
    assert clf.predict(X).shape == (500,)


def test_sample_weight_equals_repeated_rows():
    df = synthetic(n=300, seed=4)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    w = np.random.default_rng(0).integers(1, 4, len(y))
    kw = dict(C=30, gamma=0.001, max_iters=8, prot_attr=["a1", "a2"], early_termination=False)
    a = GerryFairClassifier(**kw).fit(X, y, sample_weight=w)
    idx = np.repeat(np.arange(len(y)), w)
    b = GerryFairClassifier(**kw).fit(X.iloc[idx], y[idx])
    np.testing.assert_allclose(a.errors_, b.errors_, atol=1e-10)
    np.testing.assert_allclose(a.fairness_violations_, b.fairness_violations_, atol=1e-10)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-12)


def test_labels_and_pos_label():
    df = synthetic(n=400)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    labels = np.where(y == 1, "yes", "no")
    a = GerryFairClassifier(max_iters=5, prot_attr=["a1", "a2"]).fit(X, y)
    b = GerryFairClassifier(max_iters=5, prot_attr=["a1", "a2"]).fit(X, labels)
    assert list(b.classes_) == ["no", "yes"]
    np.testing.assert_array_equal(b.predict(X), np.where(a.predict(X) == 1, "yes", "no"))
    # pos_label picks the favourable class: the 0/1 target is then flipped
    c = GerryFairClassifier(max_iters=5, prot_attr=["a1", "a2"], pos_label=0).fit(X, y)
    d = GerryFairClassifier(max_iters=5, prot_attr=["a1", "a2"]).fit(X, 1 - y)
    np.testing.assert_allclose(c.predict_proba(X)[:, 0], d.predict_proba(X)[:, 1])


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(C=-1), "C"),
        (dict(gamma=-0.1), "gamma"),
        (dict(max_iters=1), "max_iters"),
        (dict(fairness_def="SP"), "fairness_def"),
        (dict(predictor="lr"), "predictor"),
    ],
)
def test_bad_parameters(params, name):
    X, y = np.c_[[0, 1, 0, 1], [1.0, 2, 3, 4]], np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=name):
        GerryFairClassifier(prot_attr=0, **params).fit(X, y)


def test_bad_inputs():
    df = synthetic(n=50)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    with pytest.raises(ValueError, match="prot_attr"):
        GerryFairClassifier().fit(X, y)
    with pytest.raises(ValueError, match="binary"):
        GerryFairClassifier(prot_attr="a1").fit(X, np.arange(50) % 3)
    with pytest.raises(ValueError, match="sample_weight"):
        GerryFairClassifier(prot_attr="a1").fit(X, y, sample_weight=-np.ones(50))
    Xs = X.assign(x1=["u"] * 50)
    with pytest.raises(ValueError, match="'x1'"):
        GerryFairClassifier(prot_attr="a1").fit(Xs, y)
    clf = GerryFairClassifier(prot_attr="a1", max_iters=3).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X.iloc[:, :2].to_numpy())


def test_pipeline_gridsearch_scorer_and_pickle():
    df = synthetic(n=600, seed=5)
    df["a2"] = np.round(df["a2"])  # the scorer reads discrete protected columns only
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    from fairkit.metrics.subgroups import rich_subgroup_disparity

    scorer = make_fairness_scorer(
        rich_subgroup_disparity, prot_attr=["a1", "a2"], response_method="predict_proba"
    )
    pipe = make_pipeline(
        FunctionTransformer(feature_names_out="one-to-one"),
        GerryFairClassifier(prot_attr=["a1", "a2"], max_iters=6),
    )
    pipe.set_output(transform="pandas")
    search = GridSearchCV(pipe, {"gerryfairclassifier__C": [0, 100]}, scoring=scorer, cv=3).fit(
        X, y
    )
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)  # minus the violation
    clf = search.best_estimator_
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    tree = GerryFairClassifier(
        prot_attr=["a1", "a2"],
        max_iters=4,
        predictor=DecisionTreeRegressor(max_depth=3, random_state=0),
    )
    tree.fit(X, y)
    again = pickle.loads(pickle.dumps(tree))
    np.testing.assert_array_equal(again.predict(X), tree.predict(X))
    assert len(tree.estimators_) == tree.n_iter_


def test_constant_fit_warns():
    # one feature with no signal and a huge C: the mixture ends constant
    from fairkit.base import ConstantFitWarning

    X = np.c_[np.zeros(40), np.ones(40)]
    y = np.r_[np.zeros(30), np.ones(10)]
    with pytest.warns(ConstantFitWarning, match="GerryFairClassifier"):
        GerryFairClassifier(prot_attr=0, max_iters=3).fit(X, y)


def test_weighted_fit_needs_a_weighted_predictor():
    from sklearn.neighbors import KNeighborsRegressor

    df = synthetic(n=60)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    clf = GerryFairClassifier(prot_attr="a1", max_iters=3, predictor=KNeighborsRegressor())
    with pytest.raises(ValueError, match="predictor=KNeighborsRegressor"):
        clf.fit(X, y, sample_weight=np.ones(60))
    assert clf.fit(X, y).n_iter_ == 2  # unweighted it runs


def test_polars_input_equals_pandas():
    pl = pytest.importorskip("polars")
    df = synthetic(n=300, seed=6)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    a = GerryFairClassifier(prot_attr=["a1", "a2"], max_iters=6).fit(X, y)
    b = GerryFairClassifier(prot_attr=["a1", "a2"], max_iters=6).fit(pl.from_pandas(X), y)
    np.testing.assert_array_equal(a.fairness_violations_, b.fairness_violations_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(pl.from_pandas(X)))


def test_weights_zero_on_one_class():
    df = synthetic(n=60)
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    with pytest.raises(ValueError, match="class 1.0"):
        GerryFairClassifier(prot_attr="a1").fit(X, y, sample_weight=(y == 0) * 1.0)
