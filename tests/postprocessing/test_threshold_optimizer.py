"""Tests for fairkit.postprocessing.threshold_optimizer (fairlearn's, under the contract).

Predictions are compared with fairlearn's ThresholdOptimizer called directly with the same
sensitive features and seed; rates are counted on the data.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.postprocessing import ThresholdOptimizer as FairlearnThresholdOptimizer
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

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
    ours = ThresholdOptimizer(pipeline(), prot_attr="sex", constraints=constraints,
                              pos_label="hired", random_state=7).fit(X, y)
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
    to = ThresholdOptimizer(pipeline(), prot_attr="sex", pos_label="hired",
                            random_state=0).fit(X, y)
    p = to.predict_proba(X)[:, list(to.classes_).index("hired")]
    assert abs(p[m].mean() - p[~m].mean()) < 0.01  # expected selection rates
    pred = to.predict(X) == "hired"
    assert abs(pred[m].mean() - pred[~m].mean()) < 0.03


def test_grid_search_pickle_clone_and_prefit():
    X, y = raw_data(n=800, seed=2)
    to = ThresholdOptimizer(pipeline(), prot_attr="sex", random_state=0)
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


GROUPS = ("the checks' data give column 0 (prot_attr=0) continuous values: more than 100 "
          "levels is refused by the protected-attribute contract, fewer make one group per "
          "sample, which fairlearn rejects ('Degenerate labels for sensitive feature value')")
GROUP_CHECKS = [
    "check_readonly_memmap_input", "check_fit_score_takes_y",
    "check_estimators_overwrite_params", "check_n_features_in_after_fitting",
    "check_dont_overwrite_parameters", "check_positive_only_tag_during_fit",
    "check_estimators_fit_returns_self", "check_estimators_dtypes",
    "check_pipeline_consistency", "check_dtype_object", "check_estimators_nan_inf",
    "check_f_contiguous_array_estimator", "check_estimator_sparse_tag",
    "check_classifier_data_not_an_array", "check_estimator_sparse_array",
    "check_classifiers_one_label_sample_weights", "check_classifiers_classes",
    "check_estimator_sparse_matrix", "check_classifiers_train", "check_estimators_pickle",
    "check_classifiers_train(readonly_memmap=True)",
    "check_estimators_pickle(readonly_memmap=True)",
    "check_classifiers_train(readonly_memmap=True,X_dtype=float32)",
    "check_supervised_y_2d", "check_methods_sample_order_invariance",
    "check_fit2d_1feature", "check_methods_subset_invariance", "check_dict_unchanged",
    "check_fit_check_is_fitted", "check_fit_idempotent", "check_n_features_in",
    "check_fit2d_predict1d",
]


@parametrize_with_checks(
    [ThresholdOptimizer(LogisticRegression(), prot_attr=0, random_state=0, grid_size=20)],
    expected_failed_checks=lambda est: dict.fromkeys(GROUP_CHECKS, GROUPS),
)
def test_sklearn_common_checks(estimator, check):
    check(estimator)
