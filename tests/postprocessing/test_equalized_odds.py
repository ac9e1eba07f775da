"""Tests for fairkit.postprocessing._equalized_odds (Hardt et al. 2016 LP).

Numbers come from a 2-group case solved by hand, from rates counted directly on the data, and
from AIF360's EqOddsPostprocessing run on the same predictions.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import make_column_transformer
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.postprocessing import EqualizedOddsPostprocessor


class PredictionColumn(ClassifierMixin, BaseEstimator):
    """Test double: "predicts" column 1 of X (a fixed 0/1 prediction)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.asarray(X)[:, 1].astype(int)


def hand_case():
    # group 0: 10 positives (8 predicted 1), 10 negatives (2 predicted 1): TPR .8, FPR .2
    # group 1: 10 positives (6 predicted 1), 10 negatives (4 predicted 1): TPR .6, FPR .4
    g = np.repeat([0, 1], 20)
    y = np.tile(np.repeat([1, 0], 10), 2)
    h = np.r_[[1] * 8 + [0] * 2, [1] * 2 + [0] * 8, [1] * 6 + [0] * 4, [1] * 4 + [0] * 6]
    return np.c_[g, h].astype(float), y


@pytest.mark.parametrize("objective", ["accuracy", "balanced_accuracy"])
def test_lp_matches_hand_solved_two_group_case(objective):
    # Group 1's ROC region {conv (0,0), (.4,.6), (1,1), (.6,.4)} lies inside group 0's, so the
    # best common point is group 1's own (FPR .4, TPR .6): group 1 keeps its predictions
    # (p = 0, 1) and group 0 solves  .2 p1 + .8 p0 = .4,  .8 p1 + .2 p0 = .6
    # -> p1 = 2/3, p0 = 1/3. Classes are balanced in each group, so both objectives agree.
    X, y = hand_case()
    est = PredictionColumn().fit(X, y)
    eo = EqualizedOddsPostprocessor(est, prot_attr=0, prefit=True, objective=objective)
    eo.fit(X, y)
    np.testing.assert_allclose(eo.mixing_rates_, [[1 / 3, 2 / 3], [0.0, 1.0]], atol=1e-9)
    proba = eo.predict_proba(X)[:, 1]
    for g in (0, 1):
        m = X[:, 0] == g
        assert proba[m & (y == 1)].mean() == pytest.approx(0.6, abs=1e-9)
        assert proba[m & (y == 0)].mean() == pytest.approx(0.4, abs=1e-9)


def test_two_group_vertex_search_matches_highs():
    # the direct two-group solver against scipy's HiGHS on random count tables
    from scipy.optimize import linprog

    from fairkit.postprocessing._equalized_odds import equalized_odds_lp

    rng = np.random.default_rng(11)
    for _ in range(200):
        counts = rng.integers(1, 60, size=(2, 2, 2)).astype(float)
        for objective in ("accuracy", "balanced_accuracy"):
            mix = equalized_odds_lp(counts, objective)
            n_pos, n_neg = counts[:, 1].sum(1), counts[:, 0].sum(1)
            tpr = (counts[:, 1] * mix).sum(1) / n_pos
            fpr = (counts[:, 0] * mix).sum(1) / n_neg
            assert abs(tpr[0] - tpr[1]) < 1e-9 and abs(fpr[0] - fpr[1]) < 1e-9
            if objective == "accuracy":
                c = (counts[:, 0] - counts[:, 1]).ravel() / counts.sum()
            else:
                c = np.r_[counts[0, 0] / n_neg[0] - counts[0, 1] / n_pos[0],
                          counts[1, 0] / n_neg[1] - counts[1, 1] / n_pos[1]] / 4
            rows = np.array([
                np.r_[-counts[0, 1] / n_pos[0], counts[1, 1] / n_pos[1]],
                np.r_[-counts[0, 0] / n_neg[0], counts[1, 0] / n_neg[1]]])
            ref = linprog(c, A_eq=rows, b_eq=[0, 0], bounds=(0, 1), method="highs")
            assert c @ mix.ravel() == pytest.approx(ref.fun, abs=1e-9)


def synthetic(n=20000, seed=0, n_groups=2):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_groups, n)
    x = rng.normal(size=n) + 0.8 * a
    y = (x + rng.normal(size=n) > 0.6).astype(int)
    return np.c_[a, x], y


def rates(pred, y, groups):
    out = []
    for g in np.unique(groups):
        m = groups == g
        out.append((pred[m & (y == 1)].mean(), pred[m & (y == 0)].mean()))
    return np.array(out)  # rows: (TPR, FPR)


def test_gaps_within_002_on_fitting_data():
    X, y = synthetic()
    base = LogisticRegression().fit(X, y).predict(X)
    base_rates = rates(base, y, X[:, 0])
    assert np.ptp(base_rates[:, 0]) > 0.15 and np.ptp(base_rates[:, 1]) > 0.15  # .23, .18

    # cv=None: the LP on the in-sample predictions equalises the rates on the fitting data
    eo = EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0, cv=None,
                                    random_state=0)
    pred = eo.fit(X, y).predict(X)
    r = rates(pred, y, X[:, 0])
    assert np.ptp(r[:, 0]) < 0.02 and np.ptp(r[:, 1]) < 0.02
    # in expectation (predict_proba) the rates are equal to LP precision
    re = rates(eo.predict_proba(X)[:, 1], y, X[:, 0])
    assert np.ptp(re[:, 0]) < 1e-9 and np.ptp(re[:, 1]) < 1e-9
    # same seed, same draws
    np.testing.assert_array_equal(pred, eo.predict(X))


def test_three_groups_equalised_in_expectation():
    X, y = synthetic(n=6000, n_groups=3, seed=1)
    eo = EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0, cv=None).fit(X, y)
    re = rates(eo.predict_proba(X)[:, 1], y, X[:, 0])
    assert re.shape == (3, 2)
    assert np.ptp(re[:, 0]) < 1e-9 and np.ptp(re[:, 1]) < 1e-9


def test_matches_aif360_eq_odds_postprocessing():
    from aif360.algorithms.postprocessing import EqOddsPostprocessing
    from aif360.datasets import BinaryLabelDataset

    X, y = synthetic(n=4000, seed=2)
    clf = LogisticRegression().fit(X, y)
    pred = clf.predict(X)
    df = pd.DataFrame({"a": X[:, 0], "y": y.astype(float)})
    true_ds = BinaryLabelDataset(df=df, label_names=["y"], protected_attribute_names=["a"])
    pred_ds = true_ds.copy(deepcopy=True)
    pred_ds.labels = pred.reshape(-1, 1).astype(float)
    aif = EqOddsPostprocessing(unprivileged_groups=[{"a": 0}], privileged_groups=[{"a": 1}],
                               seed=0).fit(true_ds, pred_ds)
    sp2p, sn2p, op2p, on2p = aif.model_params.x  # priv/unpriv: P(1 | h=1), P(1 | h=0)

    eo = EqualizedOddsPostprocessor(clf, prot_attr=0, prefit=True,
                                    objective="balanced_accuracy").fit(X, y)
    # our rows are groups 0 (AIF360's unprivileged) and 1; columns h = 0, 1
    np.testing.assert_allclose(eo.mixing_rates_, [[on2p, op2p], [sn2p, sp2p]], atol=1e-6)


def test_raw_dataframe_pipeline_grid_search_and_pickle():
    rng = np.random.default_rng(3)
    n = 1200
    X = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "x": rng.normal(size=n),
                      "job": rng.choice(["a", "b", "c"], n)})
    y = np.where(X["x"] + (X["sex"] == "M") + rng.normal(size=n) > 0.5, "hired", "rejected")
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex", "job"]), remainder=StandardScaler()),
        LogisticRegression())
    eo = EqualizedOddsPostprocessor(pipe, prot_attr="sex", pos_label="hired", cv=None,
                                    random_state=0)
    eo.fit(X, y)
    r = rates((eo.predict_proba(X)[:, list(eo.classes_).index("hired")]),
              (y == "hired").astype(int), X["sex"].to_numpy())
    assert np.ptp(r[:, 0]) < 1e-9 and np.ptp(r[:, 1]) < 1e-9
    assert set(eo.predict(X)) <= {"hired", "rejected"}
    # pickle round trip gives the same predictions; clone gives an unfitted copy
    again = pickle.loads(pickle.dumps(eo))
    np.testing.assert_array_equal(again.predict(X), eo.predict(X))
    assert not hasattr(clone(eo), "mixing_rates_")
    gs = GridSearchCV(eo, {"objective": ["accuracy", "balanced_accuracy"]}, cv=2).fit(X, y)
    assert gs.best_params_["objective"] in {"accuracy", "balanced_accuracy"}


def test_sensitive_features_routed_same_as_prot_attr():
    X, y = synthetic(n=3000, seed=4)
    a = EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0).fit(X, y)
    b = EqualizedOddsPostprocessor(LogisticRegression()).fit(X, y, sensitive_features=X[:, 0])
    np.testing.assert_allclose(a.mixing_rates_, b.mixing_rates_)
    np.testing.assert_allclose(a.predict_proba(X),
                               b.predict_proba(X, sensitive_features=X[:, 0]))


def test_bad_input():
    X, y = synthetic(n=400, seed=5)
    eo = EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0)
    with pytest.raises(ValueError, match="at least 2"):
        eo.fit(np.c_[np.zeros(400), X[:, 1]], y)
    with pytest.raises(ValueError, match="Only binary classification"):
        eo.fit(X, np.arange(400) % 3)
    # group 1 has no positive row: one group is left for the LP, too few to compare
    with pytest.raises(ValueError, match=r"only 1 group\(s\) have both labels.*1\.0 "
                                         r"\(label 0: \d+ row\(s\), label 1: 0 row\(s\)\)"):
        eo.fit(X, np.where(X[:, 0] == 1, 0, y))
    eo.fit(X, y)
    with pytest.raises(ValueError, match=r"Group 2\.0 .*not seen during fit"):
        eo.predict(np.c_[np.full(400, 2.0), X[:, 1]])
    with pytest.raises(NotFittedError, match="prefit=True"):
        EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0, prefit=True).fit(X, y)
    # with prefit the model is not refitted: its fit parameters are refused (sample_weight
    # is not one of them any more: the LP uses it)
    with pytest.raises(ValueError, match="would be ignored"):
        EqualizedOddsPostprocessor(eo.estimator_, prot_attr=0, prefit=True).fit(
            X, y, coef_init=np.zeros(2))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        EqualizedOddsPostprocessor(eo.estimator_, prot_attr=0, prefit=True).fit(
            X, y, sample_weight=np.r_[-1.0, np.ones(399)])
    with pytest.raises(ValueError, match="objective"):
        EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0, objective="f1").fit(X, y)
    with pytest.raises(ValueError, match="pos_label=5"):
        EqualizedOddsPostprocessor(LogisticRegression(), prot_attr=0, pos_label=5).fit(X, y)


def _people(n, seed):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Female", "Male"], n, p=[0.3, 0.7])
    X = pd.DataFrame({"age": rng.normal(40, 12, n), "sex": sex,
                      "job": rng.choice(list("abc"), n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["age"] - 40) / 10 - (sex == "Male")))).astype(int)
    return X, y


@pytest.mark.parametrize("kind", ["str", "categorical", "codes", "array"])
def test_predict_fast_path_equals_general_path(monkeypatch, kind):
    # the layer's one-column fast path (fit and predict) gives the fit and the draws of
    # the general path, for frames of several column kinds and for arrays
    import fairkit._validation as validation

    X, y = _people(600, seed=2)
    Xt, _ = _people(300, seed=3)
    if kind == "categorical":
        X, Xt = (d.assign(sex=pd.Categorical(d["sex"], categories=["Male", "Female"]))
                 for d in (X, Xt))
    if kind in ("codes", "array"):
        X, Xt = (d.assign(sex=(d["sex"] == "Male").astype(int), job=d["job"].map(
            {"a": 0.0, "b": 1.0, "c": 2.0})) for d in (X, Xt))
    prot = "sex"
    encoded = ["job", "sex"] if kind in ("str", "categorical") else ["job"]
    model = make_pipeline(make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), encoded), remainder="passthrough"),
        LogisticRegression())
    if kind == "array":
        X, Xt, prot, model = X.to_numpy(), Xt.to_numpy(), 1, LogisticRegression()
    results = []
    for general in (False, True):
        with monkeypatch.context() as m:
            if general:
                m.setattr(validation, "_one_column_protected", lambda *a, **k: None)
            eo = EqualizedOddsPostprocessor(model, prot_attr=prot, random_state=4).fit(X, y)
            results.append((eo.mixing_rates_, eo.groups_, eo.predict(Xt),
                            eo.predict_proba(Xt)))
    (rates_f, groups_f, pred_f, proba_f), (rates_g, groups_g, pred_g, proba_g) = results
    np.testing.assert_array_equal(rates_f, rates_g)
    assert groups_f == groups_g
    assert [type(g) for g in groups_f] == [type(g) for g in groups_g]
    np.testing.assert_array_equal(pred_f, pred_g)
    np.testing.assert_array_equal(proba_f, proba_g)
    # the draws are those of check_random_state(4) against P(favourable)
    from sklearn.utils import check_random_state

    expected = check_random_state(4).random_sample(len(Xt)) < proba_f[:, 1]
    np.testing.assert_array_equal(pred_f == 1, expected)
