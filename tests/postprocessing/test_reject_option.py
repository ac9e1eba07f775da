"""Tests for fairkit.postprocessing._reject_option (Kamiran et al. 2012).

The grid search is checked on a tiny case worked out by hand and against AIF360's
RejectOptionClassification on the same scores; the SPD bound is measured on validation data.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from fairkit.postprocessing import RejectOptionClassifier


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """Test double: column 1 of X is the probability of class 1."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        s = np.asarray(X, dtype=float)[:, 1]
        return np.c_[1 - s, s]


def hand_case():
    # privileged (a=1): scores .7 .6 .4 .2, labels 1 1 0 0
    # unprivileged (a=0): scores .8 .45 .3 .1, labels 1 1 0 0
    a = np.r_[[1] * 4, [0] * 4]
    s = np.r_[.7, .6, .4, .2, .8, .45, .3, .1]
    y = np.r_[1, 1, 0, 0, 1, 1, 0, 0]
    return np.c_[a, s], y


def test_search_by_hand():
    # one threshold t = .5, margins 0, .25, .5; favourable: s > t + m (priv), s > t - m (unpriv)
    # m = 0  : priv 2/4, unpriv 1/4 -> SPD -.25; TPR 3/4, TNR 1 -> bal. acc .875
    # m = .25: priv 0/4, unpriv 3/4 -> SPD  .75; TPR 2/4, TNR 3/4 -> .625
    # m = .5 : priv 0/4, unpriv 4/4 -> SPD 1.0; TPR 2/4, TNR 2/4 -> .5
    X, y = hand_case()
    est = ScoreColumn().fit(X, y)
    roc = RejectOptionClassifier(est, prot_attr=0, priv_group=1, prefit=True,
                                 threshold_range=(0.5, 0.9), n_thresholds=1, n_margins=3,
                                 metric_lb=-0.3, metric_ub=0.8).fit(X, y)
    np.testing.assert_allclose(roc.search_results_["margin"], [0, .25, .5])
    np.testing.assert_allclose(roc.search_results_["metric"], [-.25, .75, 1.0])
    np.testing.assert_allclose(roc.search_results_["balanced_accuracy"], [.875, .625, .5])
    assert (roc.threshold_, roc.margin_) == (0.5, 0.0)
    roc.set_params(metric_lb=0.5).fit(X, y)  # only m = .25 is feasible now
    assert roc.margin_ == 0.25 and roc.metric_value_ == pytest.approx(0.75)
    np.testing.assert_array_equal(roc.predict(X), [0, 0, 0, 0, 1, 1, 1, 0])


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=n) + a
    y = (x + rng.normal(size=n) > 0.5).astype(int)
    return np.c_[a, x], y


def _spd(pred, a):
    return pred[a == 0].mean() - pred[a == 1].mean()


def test_meets_spd_bound_on_validation_data():
    X, y = synthetic(6000, 0)
    Xtr, ytr, Xva, yva = X[:3000], y[:3000], X[3000:], y[3000:]
    clf = LogisticRegression().fit(Xtr, ytr)
    assert _spd(clf.predict(Xva), Xva[:, 0]) < -0.3  # -0.40: strongly unfair before
    roc = RejectOptionClassifier(clf, prot_attr=0, priv_group=1, prefit=True,
                                 metric_lb=-0.05, metric_ub=0.05).fit(Xva, yva)
    spd = _spd(roc.predict(Xva), Xva[:, 0])
    assert -0.05 <= spd <= 0.05
    assert spd == pytest.approx(roc.metric_value_, abs=1e-12)
    assert roc.balanced_accuracy_ > 0.6


@pytest.mark.parametrize("metric, aif_name", [
    ("statistical_parity", "Statistical parity difference"),
    ("average_odds", "Average odds difference"),
    ("equal_opportunity", "Equal opportunity difference"),
])
def test_matches_aif360(metric, aif_name):
    from aif360.algorithms.postprocessing import RejectOptionClassification
    from aif360.datasets import BinaryLabelDataset

    X, y = synthetic(1500, 1)
    clf = LogisticRegression().fit(X, y)
    scores = clf.predict_proba(X)[:, 1]
    df = pd.DataFrame({"a": X[:, 0], "y": y.astype(float)})
    true_ds = BinaryLabelDataset(df=df, label_names=["y"], protected_attribute_names=["a"])
    pred_ds = true_ds.copy(deepcopy=True)
    pred_ds.scores = scores.reshape(-1, 1)
    aif = RejectOptionClassification(
        unprivileged_groups=[{"a": 0}], privileged_groups=[{"a": 1}], num_class_thresh=15,
        num_ROC_margin=8, metric_name=aif_name, metric_lb=-0.05, metric_ub=0.05,
    ).fit(true_ds, pred_ds)
    roc = RejectOptionClassifier(clf, prot_attr=0, priv_group=1, prefit=True, metric=metric,
                                 n_thresholds=15, n_margins=8).fit(X, y)
    assert roc.threshold_ == aif.classification_threshold
    assert roc.margin_ == aif.ROC_margin
    aif_pred = aif.predict(pred_ds).labels.ravel()
    np.testing.assert_array_equal(roc.predict(X), aif_pred)


def test_strings_pos_label_pickle_and_routing():
    X, y = synthetic(2000, 2)
    sex = np.where(X[:, 0] == 1, "M", "F")
    frame = pd.DataFrame({"sex": sex, "x": X[:, 1]})
    labels = np.where(y == 1, "good", "bad")
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["sex"]),
                                                 remainder="passthrough"), LogisticRegression())
    # cv=None: the search's bound holds on the rows it was searched on (in-sample scores)
    roc = RejectOptionClassifier(pipe, prot_attr="sex", priv_group="M", pos_label="good",
                                 cv=None)
    pred = roc.fit(frame, labels).predict(frame)
    assert -0.05 <= _spd((pred == "good").astype(float), X[:, 0]) <= 0.05
    again = pickle.loads(pickle.dumps(roc))
    np.testing.assert_array_equal(again.predict(frame), pred)
    # pos_label "bad": favourable is now "bad", scores and groups swap roles
    roc_bad = RejectOptionClassifier(pipe, prot_attr="sex", priv_group="M",
                                     pos_label="bad", cv=None).fit(frame, labels)
    pb = (roc_bad.predict(frame) == "bad").astype(float)
    assert -0.05 <= _spd(pb, X[:, 0]) <= 0.05
    routed = RejectOptionClassifier(LogisticRegression(), priv_group="M", cv=None).fit(
        X[:, [1]], y, sensitive_features=sex)
    plain = RejectOptionClassifier(LogisticRegression(), prot_attr=0, priv_group=1).fit(
        np.c_[X[:, 0], X[:, 1]], y)
    assert routed.metric_value_ == pytest.approx(_spd(
        routed.predict(X[:, [1]], sensitive_features=sex), X[:, 0]))
    assert plain.threshold_ > 0


def test_bad_input_and_infeasible_bound():
    X, y = synthetic(600, 3)
    clf = LogisticRegression()
    with pytest.raises(ValueError, match="priv_group=5 does not occur"):
        RejectOptionClassifier(clf, prot_attr=0, priv_group=5).fit(X, y)
    with pytest.raises(ValueError, match="needs priv_group.*got priv_group=None"):
        RejectOptionClassifier(clf, prot_attr=0).fit(X, y)
    with pytest.raises(ValueError, match="threshold_range"):
        RejectOptionClassifier(clf, prot_attr=0, priv_group=1,
                               threshold_range=(0.7, 0.2)).fit(X, y)
    with pytest.raises(ValueError, match="metric_lb"):
        RejectOptionClassifier(clf, prot_attr=0, priv_group=1, metric_lb=0.1,
                               metric_ub=0).fit(X, y)
    with pytest.raises(ValueError, match="no predict_proba"):
        RejectOptionClassifier(LinearSVC(), prot_attr=0, priv_group=1).fit(X, y)
    with pytest.raises(ValueError, match="Only binary classification"):
        RejectOptionClassifier(clf, prot_attr=0, priv_group=1).fit(X, np.arange(600) % 3)
    with pytest.raises(ValueError, match="at least 2"):
        RejectOptionClassifier(clf, prot_attr=0, priv_group=1).fit(
            np.c_[np.ones(600), X[:, 1]], y)
    with pytest.raises(ValueError, match="unprivileged samples with label"):
        RejectOptionClassifier(clf, prot_attr=0, priv_group=1,
                               metric="equal_opportunity").fit(
            X, np.where(X[:, 0] == 0, 0, y))
    roc = RejectOptionClassifier(clf, prot_attr=0, priv_group=1).fit(X, y)
    with pytest.raises(ValueError, match="not seen during fit"):
        roc.predict(np.c_[np.full(600, 3.0), X[:, 1]])
    # an impossible band: warn and take the pair closest to it
    with pytest.warns(UserWarning, match="No \\(threshold, margin\\) pair"):
        far = RejectOptionClassifier(clf, prot_attr=0, priv_group=1, metric_lb=1.5,
                                     metric_ub=2.0).fit(X, y)
    assert far.metric_value_ == pytest.approx(far.search_results_["metric"].max())


def objective_case():
    # 2 positives (scores .5 .3) and 8 negatives (.45 .35 .25 .2 .15 .1 .05 .02); groups
    # alternate. Thresholds .2 .4 .6, margin 0 only, every pair feasible (bounds [-1, 1]):
    #   t=.2: favourable s > .2 -> TP 2, FP 3 (.45 .35 .25): accuracy 7/10, balanced
    #         accuracy (1 + 5/8) / 2 = .8125
    #   t=.4: TP 1 (.5), FP 1 (.45): accuracy 8/10, balanced accuracy (1/2 + 7/8) / 2 = .6875
    #   t=.6: nothing favourable: accuracy 8/10, balanced accuracy .5
    # balanced accuracy picks t=.2; accuracy picks t=.4 (tie with .6: first in grid order)
    s = np.r_[.5, .3, .45, .35, .25, .2, .15, .1, .05, .02]
    y = np.r_[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    a = np.arange(10) % 2
    return np.c_[a, s], y


def objective_roc(objective):
    # prefit: the score column is the model (its fit takes no sample_weight)
    return RejectOptionClassifier(ScoreColumn().fit([[0, 0]] * 2, [0, 1]), prot_attr=0,
                                  priv_group=1, prefit=True, threshold_range=(0.2, 0.6),
                                  n_thresholds=3, n_margins=1, metric_lb=-1, metric_ub=1,
                                  objective=objective)


def test_objective_by_hand():
    X, y = objective_case()
    bal = objective_roc("balanced_accuracy").fit(X, y)
    acc = objective_roc("accuracy").fit(X, y)
    assert (bal.threshold_, bal.margin_) == (pytest.approx(0.2), 0.0)
    assert (acc.threshold_, acc.margin_) == (pytest.approx(0.4), 0.0)
    assert bal.balanced_accuracy_ == pytest.approx(0.8125)
    assert bal.accuracy_ == pytest.approx(0.7)
    assert acc.balanced_accuracy_ == pytest.approx(0.6875)
    assert acc.accuracy_ == pytest.approx(0.8)
    np.testing.assert_allclose(acc.search_results_["accuracy"], [.7, .8, .8])
    np.testing.assert_allclose(acc.search_results_["balanced_accuracy"], [.8125, .6875, .5])
    # the default is balanced accuracy (AIF360's objective)
    assert RejectOptionClassifier().objective == "balanced_accuracy"
    default = RejectOptionClassifier(ScoreColumn(), prot_attr=0, priv_group=1,
                                     threshold_range=(0.2, 0.6), n_thresholds=3,
                                     n_margins=1, metric_lb=-1, metric_ub=1).fit(X, y)
    assert default.threshold_ == bal.threshold_


def test_objective_accuracy_with_sample_weight():
    # weight 4 on the two positives (total weight 8 + 8): accuracy at
    #   t=.2: (8 + 5) / 16 = .8125, t=.4: (4 + 7) / 16 = .6875, t=.6: 8 / 16 = .5
    # so the weighted accuracy picks t=.2, where the unweighted one picked t=.4
    X, y = objective_case()
    w = np.where(y == 1, 4.0, 1.0)
    acc = objective_roc("accuracy").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(acc.search_results_["accuracy"], [.8125, .6875, .5])
    assert acc.threshold_ == pytest.approx(0.2)
    # integer weights equal repeated rows
    rep = objective_roc("accuracy").fit(np.repeat(X, w.astype(int), axis=0),
                                        np.repeat(y, w.astype(int)))
    np.testing.assert_allclose(rep.search_results_["accuracy"],
                               acc.search_results_["accuracy"], rtol=0, atol=1e-15)
    assert rep.threshold_ == acc.threshold_


def test_objective_rejects_unknown_value():
    X, y = objective_case()
    with pytest.raises(ValueError, match="objective"):
        objective_roc("f1").fit(X, y)
