"""Tests for fairkit.postprocessing._threshold_optimizer (fairlearn's, under the contract).

Predictions are compared with fairlearn's ThresholdOptimizer called directly with the same
sensitive features and seed; rates are counted on the data.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.postprocessing import ThresholdOptimizer as FairlearnThresholdOptimizer
from sklearn.base import BaseEstimator, clone
from sklearn.compose import make_column_transformer
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.base import GroupLeftOutWarning
from fairkit.postprocessing import ThresholdOptimizer


def raw_data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "x": rng.normal(size=n),
                      "job": rng.choice(["a", "b", "c"], n)})
    y = np.where(X["x"] + 1.2 * (X["sex"] == "M") + rng.normal(size=n) > 0.6, "hired",
                 "rejected")
    return X, y


def pipeline():
    return make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex", "job"]), remainder=StandardScaler()),
        LogisticRegression())


@pytest.mark.parametrize("constraints", ["demographic_parity", "equalized_odds",
                                         "true_positive_rate_parity"])
def test_same_predictions_as_fairlearn(constraints):
    X, y = raw_data()
    # cv=None: fairlearn fits its thresholds on the model's in-sample scores
    ours = ThresholdOptimizer(pipeline(), prot_attr="sex", constraints=constraints,
                              pos_label="hired", cv=None, random_state=7).fit(X, y)
    y01 = (y == "hired").astype(int)
    theirs = FairlearnThresholdOptimizer(estimator=pipeline(), constraints=constraints).fit(
        X, y01, sensitive_features=X["sex"])
    expected = theirs.predict(X, sensitive_features=X["sex"], random_state=7)
    np.testing.assert_array_equal((ours.predict(X) == "hired").astype(int), expected)
    np.testing.assert_allclose(
        ours.predict_proba(X)[:, list(ours.classes_).index("hired")],
        theirs._pmf_predict(X, sensitive_features=X["sex"])[:, 1])


def test_demographic_parity_on_fitting_data():
    X, y = raw_data(n=4000, seed=1)
    m = (X["sex"] == "M").to_numpy()
    base = pipeline().fit(X, y).predict(X) == "hired"
    assert base[m].mean() - base[~m].mean() > 0.3
    to = ThresholdOptimizer(pipeline(), prot_attr="sex", pos_label="hired", cv=None,
                            random_state=0).fit(X, y)
    p = to.predict_proba(X)[:, list(to.classes_).index("hired")]
    assert abs(p[m].mean() - p[~m].mean()) < 0.01  # expected selection rates
    pred = to.predict(X) == "hired"
    assert abs(pred[m].mean() - pred[~m].mean()) < 0.03


def test_grid_search_pickle_clone_and_prefit():
    X, y = raw_data(n=800, seed=2)
    # cv=None: the in-sample rule, which prefit=True on the same model and rows reproduces
    to = ThresholdOptimizer(pipeline(), prot_attr="sex", cv=None, random_state=0)
    gs = GridSearchCV(to, {"objective": ["accuracy_score", "balanced_accuracy_score"]},
                      cv=2).fit(X, y)
    assert 0.5 < gs.best_score_ <= 1.0
    fitted = to.fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    prefit = ThresholdOptimizer(fitted.estimator_, prot_attr="sex", prefit=True,
                                random_state=0).fit(X, y)
    np.testing.assert_array_equal(prefit.predict(X), fitted.predict(X))
    assert prefit.estimator_ is fitted.estimator_


def test_sensitive_features_routing_in_pipeline():
    X, y = raw_data(n=800, seed=3)
    sex = X["sex"].to_numpy()
    with sklearn.config_context(enable_metadata_routing=True):
        to = ThresholdOptimizer(pipeline(), random_state=0)
        to.set_fit_request(sensitive_features=True).set_predict_request(
            sensitive_features=True)
        outer = make_pipeline(to).fit(X, y, sensitive_features=sex)
        routed = outer.predict(X, sensitive_features=sex)
    direct = ThresholdOptimizer(pipeline(), prot_attr="sex", random_state=0).fit(X, y)
    np.testing.assert_array_equal(routed, direct.predict(X))


def test_bad_input():
    X, y = raw_data(n=400, seed=4)
    to = ThresholdOptimizer(pipeline(), prot_attr="sex")
    with pytest.raises(ValueError, match="at least 2"):
        to.fit(X.assign(sex="F"), y)
    with pytest.raises(ValueError, match="Only binary classification"):
        to.fit(X, np.arange(400) % 3)
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['race'\] not found"):
        ThresholdOptimizer(pipeline(), prot_attr="race").fit(X, y)
    with pytest.raises(ValueError, match="constraints"):
        ThresholdOptimizer(pipeline(), prot_attr="sex", constraints="parity").fit(X, y)
    to.fit(X, y)
    with pytest.raises(ValueError, match="Group 'X' .*not seen during fit"):
        to.predict(X.assign(sex="X"))
    with pytest.raises(ValueError, match="missing values"):
        to.predict(X.assign(sex=None))


def test_sample_weight_is_refused_with_the_method_named():
    X, y = raw_data(n=300, seed=5)
    to = ThresholdOptimizer(pipeline(), prot_attr="sex")
    with pytest.raises(ValueError, match=r"ThresholdOptimizer cannot use sample_weight: its "
                                         r"rule has no weighted form"):
        to.fit(X, y, sample_weight=np.ones(300))
    assert not hasattr(to, "groups_")


def test_routed_sample_weight_reaches_only_a_requesting_model():
    X, y = raw_data(n=300, seed=6)
    w = 1.0 + np.arange(300) % 3
    with sklearn.config_context(enable_metadata_routing=True):
        inner = make_pipeline(
            make_column_transformer(
                (OneHotEncoder(), ["sex", "job"]),
                remainder=StandardScaler().set_fit_request(sample_weight=False)),
            LogisticRegression().set_fit_request(sample_weight=True))
        # a Pipeline routes sample_weight to its step that requested it
        to = ThresholdOptimizer(inner, prot_attr="sex", random_state=0).fit(
            X, y, sample_weight=w)
        ref = clone(inner).fit(X, y, sample_weight=w)
        unasked = ThresholdOptimizer(pipeline(), prot_attr="sex")
        with pytest.raises(UnsetMetadataPassedError, match=r"\[sample_weight\]"):
            unasked.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(to.estimator_[-1].coef_, ref[-1].coef_)
    unweighted = pipeline().fit(X, y)
    assert not np.allclose(to.estimator_[-1].coef_, unweighted[-1].coef_)


class PassThroughPredictor(BaseEstimator):
    """fairlearn's style of test double: not a classifier, ``predict`` returns a raw score
    column of X (here column "score", in R)."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X["score"], dtype=float)


def _score_data(n=600, seed=8):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    score = rng.normal(size=n) + 0.7 * a
    y = (score + rng.normal(size=n) > 0.8).astype(int)
    return pd.DataFrame({"a": a, "score": score}), y


CONSTRAINTS = ["demographic_parity", "equalized_odds", "true_positive_rate_parity",
               "false_positive_rate_parity", "true_negative_rate_parity",
               "false_negative_rate_parity", "selection_rate_parity"]
OBJECTIVES = ["accuracy_score", "balanced_accuracy_score", "selection_rate",
              "true_positive_rate", "true_negative_rate"]


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("constraints", CONSTRAINTS)
def test_predict_method_predict_passes_raw_scores_like_fairlearn(constraints, objective):
    # issue item 6: a non-classifier's predict output is thresholded as it is
    X, y = _score_data()
    model = PassThroughPredictor().fit(X)
    theirs = FairlearnThresholdOptimizer(estimator=model, constraints=constraints,
                                         objective=objective, prefit=True,
                                         predict_method="predict", grid_size=200)
    try:
        theirs.fit(X, y, sensitive_features=X["a"])
    except ValueError as exc:
        pytest.skip(f"fairlearn rejects {constraints} x {objective}: {exc}")
    ours = ThresholdOptimizer(model, prot_attr="a", constraints=constraints,
                              objective=objective, prefit=True, predict_method="predict",
                              grid_size=200, random_state=0).fit(X, y)
    assert ours.groups_ == [0, 1, 2]  # fairkit's codes are fairlearn's group values here
    ours_d = ours.threshold_optimizer_.interpolated_thresholder_.interpolation_dict
    theirs_d = theirs.interpolated_thresholder_.interpolation_dict
    assert sorted(ours_d) == sorted(theirs_d)
    for g in theirs_d:
        a, b = ours_d[g], theirs_d[g]
        assert sorted(a) == sorted(b)
        for key in b:
            if key.startswith("operation"):
                assert (a[key]._operator, a[key]._threshold) == (
                    b[key]._operator, b[key]._threshold), (g, key)
            else:
                assert a[key] == pytest.approx(b[key], abs=1e-12), (g, key)
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1],
                               theirs._pmf_predict(X, sensitive_features=X["a"])[:, 1],
                               atol=1e-9)
    if objective in ("accuracy_score", "balanced_accuracy_score"):
        # the scores are read as real values, not as 0/1 labels: the accuracy-optimal
        # thresholds fall strictly inside their range (selection_rate and the one-sided
        # rates are maximised by trivial rules at +-inf, so they say nothing here)
        t = [theirs_d[g][k]._threshold for g in theirs_d for k in theirs_d[g]
             if k.startswith("operation")]
        assert any(X["score"].min() < v < X["score"].max() and v not in (0.0, 1.0)
                   for v in t)


def test_a_group_with_one_label_is_named():
    # fairlearn fails with "Degenerate labels for sensitive feature value 2" (its code);
    # here the group is left out of the threshold search with a warning naming it by its
    # label, the label it has and its row count, and its rows get the model's own decisions
    rng = np.random.RandomState(0)
    g = np.array(["a"] * 100 + ["b"] * 100 + ["tiny"] * 6)
    x = rng.normal(size=len(g))
    y = (x + rng.normal(size=len(g)) > 0).astype(int)
    y[g == "tiny"] = 1
    X = pd.DataFrame({"g": g, "x": x})
    to = ThresholdOptimizer(LogisticRegression(), prot_attr="g", drop_prot_attr=True,
                            cv=None, random_state=0)
    with pytest.warns(GroupLeftOutWarning,
                      match=r"group 'tiny' has only label 1 among its 6 rule-fitting row\(s\)"
                            r".*unmitigated model's decisions"):
        to.fit(X, y)
    assert to.groups_left_out_ == ["tiny"]
    own = LogisticRegression().fit(X[["x"]], y)
    tiny = g == "tiny"
    np.testing.assert_array_equal(to.predict(X)[tiny], own.predict(X[["x"]])[tiny])
    np.testing.assert_allclose(to.predict_proba(X)[tiny], own.predict_proba(X[["x"]])[tiny])
    # fairlearn searched thresholds for the two groups left, and fails on the three
    assert len(to.threshold_optimizer_.interpolated_thresholder_.interpolation_dict) == 2
    with pytest.raises(ValueError, match="Degenerate labels"):
        FairlearnThresholdOptimizer(estimator=own, prefit=True).fit(
            X[["x"]], y, sensitive_features=g)
