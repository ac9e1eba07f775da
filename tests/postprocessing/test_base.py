"""The BasePostProcessor contract, checked on the four classic post-processors.

Every post-processor reads its groups the same three ways, refuses bad input before storing
anything, routes metadata as a router, scores with routed ``sensitive_features`` and either
honours ``sample_weight`` in its rule (a weighted fit equals the fit on rows repeated by
their weight) or refuses it.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import make_column_transformer
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from fairkit.postprocessing import (
    CalibratedEqualizedOdds,
    EqualizedOddsPostprocessor,
    RejectOptionClassifier,
    ThresholdOptimizer,
)

# the minimum each method needs besides prot_attr; seeds make every predict repeatable
PARAMS = {
    EqualizedOddsPostprocessor: {"random_state": 0},
    CalibratedEqualizedOdds: {"random_state": 0},
    RejectOptionClassifier: {"priv_group": 1, "n_thresholds": 20, "n_margins": 10},
    ThresholdOptimizer: {"random_state": 0, "grid_size": 50},
}
CLASSES = list(PARAMS)
WEIGHTED = [EqualizedOddsPostprocessor, CalibratedEqualizedOdds, RejectOptionClassifier]


def make(cls, estimator=None, **kwargs):
    params = dict(PARAMS[cls])
    if cls is RejectOptionClassifier and "priv_group" in kwargs:
        params.pop("priv_group")
    params.update(kwargs)
    return cls(LogisticRegression() if estimator is None else estimator, **params)


def data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=n) + a
    z = rng.normal(size=n)
    y = (x + 0.5 * z + rng.normal(size=n) > 0.5).astype(int)
    return pd.DataFrame({"a": a, "x": x, "z": z}), y


@pytest.mark.parametrize("cls", CLASSES)
def test_prot_attr_by_name_index_and_routed_agree(cls):
    X, y = data()
    by_name = make(cls, prot_attr="a").fit(X, y)
    by_index = make(cls, prot_attr=0).fit(X.to_numpy(), y)
    routed = make(cls).fit(X, y, sensitive_features=X["a"])
    expected = by_name.predict(X)
    np.testing.assert_array_equal(by_index.predict(X.to_numpy()), expected)
    np.testing.assert_array_equal(routed.predict(X, sensitive_features=X["a"]), expected)
    assert by_name.groups_ == by_index.groups_ == routed.groups_ == [0, 1]
    assert by_name.prot_attr_names_ == ["a"]


@pytest.mark.parametrize("cls", CLASSES)
def test_unseen_group_at_predict_is_named(cls):
    X, y = data()
    est = make(cls, prot_attr="a").fit(X, y)
    with pytest.raises(ValueError, match=r"Group 2 of the protected attribute was not seen"):
        est.predict(X.assign(a=2))


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_keeps_groups_and_clone_refits_them(cls):
    X, y = data()
    est = make(cls, prot_attr="a").fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    assert again.groups_ == est.groups_ == [0, 1]
    assert again.prot_attr_names_ == ["a"]
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    fresh = clone(est)
    assert not hasattr(fresh, "groups_")  # clone copies parameters only
    fresh.fit(X, y)
    assert fresh.groups_ == est.groups_
    np.testing.assert_array_equal(fresh.predict(X), est.predict(X))


@pytest.mark.parametrize("cls", CLASSES)
def test_string_columns_pass_through_inside_a_pipeline(cls):
    X, y = data(seed=1)
    rng = np.random.default_rng(1)
    raw = pd.DataFrame({"sex": np.where(X["a"] == 1, "M", "F"), "x": X["x"],
                        "job": rng.choice(["a", "b", "c"], len(X))})
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex", "job"]), remainder=StandardScaler()),
        LogisticRegression())
    kwargs = {"priv_group": "M"} if cls is RejectOptionClassifier else {}
    pp = make(cls, model, prot_attr="sex", **kwargs)
    outer = make_pipeline(FunctionTransformer(), pp).fit(raw, y)
    pred = outer.predict(raw)
    assert pred.shape == (len(raw),) and set(pred) <= {0, 1}
    fitted = outer[-1]
    assert fitted.groups_ == ["F", "M"]
    np.testing.assert_array_equal(fitted.feature_names_in_, ["sex", "x", "job"])
    assert 0.5 < outer.score(raw, y) <= 1.0


@pytest.mark.parametrize("cls", CLASSES)
def test_y_of_another_length_is_refused_before_storing(cls):
    X, y = data(n=40)
    est = make(cls, prot_attr="a")
    with pytest.raises(ValueError, match="X has 40 rows but y has 39"):
        est.fit(X, y[:39])
    assert not hasattr(est, "groups_") and not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("cls", CLASSES)
def test_score_with_routed_sensitive_features(cls):
    # issue item 3: fit(..., sensitive_features=s).score(..., sensitive_features=s)
    X, y = data(seed=2)
    Xf, s = X[["x", "z"]], X["a"].to_numpy()
    est = make(cls).fit(Xf, y, sensitive_features=s)
    expected = accuracy_score(y, est.predict(Xf, sensitive_features=s))
    assert est.score(Xf, y, sensitive_features=s) == expected
    w = np.arange(len(y)) % 3
    assert est.score(Xf, y, w, sensitive_features=s) == accuracy_score(
        y, est.predict(Xf, sensitive_features=s), sample_weight=w)
    assert 0.6 < expected <= 1.0


def _rule(est):
    if isinstance(est, EqualizedOddsPostprocessor):
        return {"mixing_rates_": est.mixing_rates_}
    if isinstance(est, CalibratedEqualizedOdds):
        return {k: getattr(est, k) for k in ("base_rates_", "costs_", "trivial_costs_",
                                             "mix_rates_")}
    return {"threshold_": est.threshold_, "margin_": est.margin_,
            "balanced_accuracy_": est.balanced_accuracy_, "metric_value_": est.metric_value_,
            **{f"search_{k}": v for k, v in est.search_results_.items()}}


@pytest.mark.parametrize("cls", WEIGHTED)
def test_integer_weights_equal_repeated_rows(cls):
    # issue item 5: the same prefit model, so only the rule is compared
    X, y = data(n=800, seed=3)
    model = LogisticRegression().fit(X, y)
    w = np.random.default_rng(3).integers(0, 4, len(y))  # zeros drop rows
    weighted = make(cls, model, prot_attr="a", prefit=True).fit(X, y, sample_weight=w)
    repeated = make(cls, model, prot_attr="a", prefit=True).fit(
        X.loc[X.index.repeat(w)], np.repeat(y, w))
    plain = make(cls, model, prot_attr="a", prefit=True).fit(X, y)
    rw, rr, rp = _rule(weighted), _rule(repeated), _rule(plain)
    for key in rw:
        np.testing.assert_allclose(rw[key], rr[key], rtol=1e-12, atol=1e-14, err_msg=key)
    # the weights change the rule, so the comparison above is not vacuous
    assert any(not np.allclose(rw[k], rp[k], rtol=1e-9) for k in rw)
    np.testing.assert_array_equal(weighted.predict(X), repeated.predict(X))


@pytest.mark.parametrize("cls", WEIGHTED)
def test_negative_weight_is_refused(cls):
    X, y = data(n=50)
    with pytest.raises(ValueError, match=r"sample_weight must be non-negative; got a weight "
                                         r"of -2\.0"):
        make(cls, prot_attr="a").fit(X, y, sample_weight=np.r_[-2.0, np.ones(49)])


class Spy(ClassifierMixin, BaseEstimator):
    """Logistic regression that records the sample_weight its fit received."""

    def fit(self, X, y, sample_weight=None):
        self.seen_sample_weight_ = sample_weight
        self.model_ = LogisticRegression().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


@pytest.mark.parametrize("cls", CLASSES)
def test_sample_weight_reaches_the_estimator_only_when_requested(cls):
    # issue item 4: a router, like scikit-learn's meta-estimators
    X, y = data(seed=4)
    w = 1.0 + np.arange(len(y)) % 2
    with sklearn.config_context(enable_metadata_routing=True):
        asked = make(cls, Spy().set_fit_request(sample_weight=True), prot_attr="a")
        asked.fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(asked.estimator_.seen_sample_weight_, w)
        declined = make(cls, Spy().set_fit_request(sample_weight=False), prot_attr="a")
        if cls is ThresholdOptimizer:
            # its rule refuses weights, so weights nobody requested are an error
            with pytest.raises(TypeError, match=r"unexpected argument\(s\) \{'sample_weight'\}"):
                declined.fit(X, y, sample_weight=w)
        else:
            declined.fit(X, y, sample_weight=w)
            assert declined.estimator_.seen_sample_weight_ is None
        with pytest.raises(UnsetMetadataPassedError, match=r"\[sample_weight\]"):
            make(cls, Spy(), prot_attr="a").fit(X, y, sample_weight=w)
        # no weights given: nothing is routed, whatever was requested
        none = make(cls, Spy().set_fit_request(sample_weight=True), prot_attr="a").fit(X, y)
        assert none.estimator_.seen_sample_weight_ is None
    # without routing the weights go to the model as well (rule permitting)
    if cls is not ThresholdOptimizer:
        plain = make(cls, Spy(), prot_attr="a").fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(plain.estimator_.seen_sample_weight_, w)


@pytest.mark.parametrize("cls", CLASSES)
def test_pipeline_routes_sensitive_features_to_fit_predict_and_score(cls):
    X, y = data(seed=5)
    Xf, s = X[["x", "z"]], X["a"].to_numpy()
    direct = make(cls).fit(Xf, y, sensitive_features=s)
    with sklearn.config_context(enable_metadata_routing=True):
        pp = make(cls).set_fit_request(sensitive_features=True).set_predict_request(
            sensitive_features=True).set_score_request(sensitive_features=True)
        outer = make_pipeline(FunctionTransformer(), pp).fit(Xf, y, sensitive_features=s)
        routed = outer.predict(Xf, sensitive_features=s)
        score = outer.score(Xf, y, sensitive_features=s)
    np.testing.assert_array_equal(routed, direct.predict(Xf, sensitive_features=s))
    assert score == direct.score(Xf, y, sensitive_features=s)
    assert outer[-1].groups_ == [0, 1]


def test_reject_option_has_no_predict_proba_but_a_decision_function():
    X, y = data(seed=6)
    roc = make(RejectOptionClassifier, prot_attr="a").fit(X, y)
    assert not hasattr(roc, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'") as info:
        roc.predict_proba(X)
    # scikit-learn's available_if keeps the reason as the cause
    assert "its decision is a deterministic cut" in str(info.value.__cause__)
    d = roc.decision_function(X)
    np.testing.assert_array_equal(roc.predict(X), (d > 0).astype(int))


def test_reject_option_requires_priv_group():
    X, y = data(n=60)
    roc = RejectOptionClassifier(LogisticRegression(), prot_attr="a")
    assert roc.priv_group is None
    with pytest.raises(ValueError, match=r"needs priv_group.*got priv_group=None"):
        roc.fit(X, y)
    assert not hasattr(roc, "n_features_in_")
