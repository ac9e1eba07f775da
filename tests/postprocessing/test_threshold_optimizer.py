"""Tests for fairkit.postprocessing._threshold_optimizer and _threshold_curves.

fairkit computes the thresholds itself; fairlearn's ThresholdOptimizer, called directly
with the same sensitive features and seed, is the reference: the same rules (thresholds,
operators, mixing probabilities) and the same predict / predict_proba, on fairlearn's own
test examples and on random data. Rates are counted on the data.
"""

import pickle
import warnings

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

from fairkit.base import ConstantFitWarning, GroupLeftOutWarning
from fairkit.postprocessing import ThresholdOptimizer


def assert_same_rules(ours, theirs, groups=None):
    """ours.interpolation_dict_ (keyed by group label) equals fairlearn's fitted rules
    exactly: operators, thresholds, p0 / p1 (and p_ignore, prediction_constant)."""
    theirs_d = theirs.interpolated_thresholder_.interpolation_dict
    groups = sorted(theirs_d) if groups is None else groups
    assert len(ours.interpolation_dict_) == len(theirs_d)
    for mine, g in zip(ours.interpolation_dict_, groups, strict=True):
        a, b = ours.interpolation_dict_[mine], theirs_d[g]
        assert sorted(a) == sorted(b), (g, sorted(a), sorted(b))
        for key in b:
            if key.startswith("operation"):
                assert (a[key].operator, a[key].threshold) == (
                    b[key]._operator, b[key]._threshold), (g, key)
            else:
                assert a[key] == b[key], (g, key, a[key], b[key])


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
    except ValueError:
        # fairlearn rejects the pair (equalized odds with a one-sided objective): so does
        # fairkit, naming the parameter
        assert (constraints, objective) not in VALID
        with pytest.raises(ValueError, match=f"objective={objective!r} is not available"):
            ThresholdOptimizer(model, prot_attr="a", constraints=constraints,
                               objective=objective, prefit=True,
                               predict_method="predict").fit(X, y)
        return
    ours = ThresholdOptimizer(model, prot_attr="a", constraints=constraints,
                              objective=objective, prefit=True, predict_method="predict",
                              grid_size=200, random_state=0).fit(X, y)
    assert ours.groups_ == [0, 1, 2]  # fairkit's codes are fairlearn's group values here
    theirs_d = theirs.interpolated_thresholder_.interpolation_dict
    assert_same_rules(ours, theirs)
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
    assert sorted(to.interpolation_dict_) == ["a", "b"]
    assert to.thresholds_.shape == (2, 2)
    with pytest.raises(ValueError, match="Degenerate labels"):
        FairlearnThresholdOptimizer(estimator=own, prefit=True).fit(
            X[["x"]], y, sensitive_features=g)


# ------------------------------------------------------------------------------------------
# fairkit's own threshold search against fairlearn's (the oracle)
# ------------------------------------------------------------------------------------------
VALID = [(c, o) for c in CONSTRAINTS for o in OBJECTIVES
         if c != "equalized_odds" or o in ("accuracy_score", "balanced_accuracy_score")]


class ScoreColumn(BaseEstimator):
    """Test double in fairlearn's style: ``predict`` returns column "s" of X (any reals)."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X["s"], dtype=float)


def _fit_both(X, y, groups, *, random_state=0, **params):
    """fairkit's (groups read from X["g"]) and fairlearn's fitted on the same scores."""
    model = ScoreColumn().fit(X)
    params = dict(prefit=True, predict_method="predict") | params
    theirs = FairlearnThresholdOptimizer(estimator=model, **params).fit(
        X, y, sensitive_features=groups)
    with warnings.catch_warnings():
        # the one-sided objectives often end in a constant rule (fairlearn's too)
        warnings.simplefilter("ignore", ConstantFitWarning)
        ours = ThresholdOptimizer(model, prot_attr="g", random_state=random_state,
                                  **params).fit(X, y)
    return ours, theirs


def assert_same_as_fairlearn(X, y, groups, seed=0, **params):
    ours, theirs = _fit_both(X, y, groups, random_state=seed, **params)
    assert_same_rules(ours, theirs)
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1],
                               theirs._pmf_predict(X, sensitive_features=groups)[:, 1],
                               rtol=0, atol=1e-12)
    np.testing.assert_array_equal(
        ours.predict(X), theirs.predict(X, sensitive_features=groups, random_state=seed))
    return ours, theirs


# fairlearn's test examples (tests/unit/postprocessing in its repository): 20 rows with
# integer scores and three or two groups, and 9 rows with scores 0..4 in two groups
EX_SCORES = np.array([0, 0, 1, 1, 2, 3, 3, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 2])
EX_LABELS = np.array([0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1])
EX_GROUPS = {"three groups": np.array(list("AAAAAAABBBBBBBCCCCCC")),
             "two groups": np.array(list("xxxYYYYxYYYYYxYYYYYY"))}


def _frame(scores, groups):
    return pd.DataFrame({"g": groups, "s": np.asarray(scores, dtype=float)})


@pytest.mark.parametrize("constraints, objective", VALID)
@pytest.mark.parametrize("example", sorted(EX_GROUPS))
@pytest.mark.parametrize("flip", [True, False])
def test_same_as_fairlearn_on_its_examples(constraints, objective, example, flip):
    g = EX_GROUPS[example]
    assert_same_as_fairlearn(_frame(EX_SCORES, g), EX_LABELS, g, constraints=constraints,
                             objective=objective, flip=flip)


@pytest.mark.parametrize("constraints, objective", VALID)
def test_same_as_fairlearn_on_its_pairs_example(constraints, objective):
    X = _frame([0, 1, 2, 3, 4, 0, 1, 2, 3], [0, 0, 0, 0, 0, 1, 1, 1, 1])
    y = np.array([1, 0, 1, 1, 1, 0, 1, 1, 1])
    assert_same_as_fairlearn(X, y, X["g"], constraints=constraints, objective=objective,
                             grid_size=20)


def test_demographic_parity_rule_worked_by_hand():
    # group 0: scores 0..4, labels 1 0 1 1 1; group 1: scores 0..3, labels 0 1 1 1.
    # Group 1's best rule is "s > 0.5" (selection rate 3/4, all right); group 0 reaches
    # the selection rate 3/4 by mixing "s > 1.5" (rate 3/5) with "s > -inf" (rate 1):
    # 3/5 p0 + (1 - p0) = 3/4 gives p0 = 5/8. Accuracy 4/5 either way, 8/9 pooled.
    X = _frame([0, 1, 2, 3, 4, 0, 1, 2, 3], [0, 0, 0, 0, 0, 1, 1, 1, 1])
    y = np.array([1, 0, 1, 1, 1, 0, 1, 1, 1])
    to = ThresholdOptimizer(ScoreColumn().fit(X), prot_attr="g", prefit=True,
                            predict_method="predict", grid_size=20).fit(X, y)
    r0, r1 = to.interpolation_dict_[0], to.interpolation_dict_[1]
    assert (r0.p0, r0.operation0, r0.p1, r0.operation1) == (0.625, (">", 1.5), 0.375,
                                                            (">", -np.inf))
    assert (r1.p1, r1.operation1) == (1.0, (">", 0.5))
    np.testing.assert_allclose(to.constraint_values_, [0.75, 0.75])
    assert to.objective_value_ == pytest.approx(5 / 9 * 4 / 5 + 4 / 9 * 1)
    p = to.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, [0.375] * 2 + [1.0] * 3 + [0, 1, 1, 1])
    assert to.p_ignore_ is None and to.prediction_constant_ is None


@pytest.mark.parametrize("X, y, params", [
    # fairlearn's tie example (equal scores across groups) and its small-grid EO example
    (_frame([0.5, 0.5, 0.5, 1.0, 1.0, 1.0], [0, 0, 1, 1, 0, 1]), [0, 1, 0, 1, 0, 1],
     dict(grid_size=3)),
    (_frame([0, 1, 2, 3, 4, 5], [0, 0, 1, 1, 0, 1]), [0, 1, 0, 1, 1, 0],
     dict(constraints="equalized_odds", grid_size=2)),
])
def test_same_as_fairlearn_on_its_edge_cases(X, y, params):
    assert_same_as_fairlearn(X, np.asarray(y), X["g"], **params)


def _random_data(seed):
    """2-5 groups of very different sizes (one of 2-4 rows), scores with or without ties,
    labels correlated with the scores and with the group."""
    rng = np.random.default_rng(seed)
    k = 2 + seed % 4
    sizes = rng.integers(15, 300, k)
    sizes[-1] = 2 + seed % 3  # a tiny group
    g = np.repeat(np.arange(k), sizes)
    s = rng.normal(size=len(g)) + 0.4 * g
    if seed % 2:
        s = np.round(s, 1)  # many ties
    y = (s + rng.normal(size=len(g)) > 0.3).astype(int)
    for c in range(k):  # both labels in every group
        rows = np.flatnonzero(g == c)
        y[rows[0]], y[rows[1]] = 0, 1
    order = rng.permutation(len(g))
    labels = np.array(["a", "b", "c", "d", "e"])[g[order]]
    return _frame(s[order], labels), y[order]


@pytest.mark.parametrize("constraints", CONSTRAINTS)
@pytest.mark.parametrize("seed", range(5))
def test_same_as_fairlearn_on_random_data(constraints, seed):
    X, y = _random_data(seed)
    flip = bool(seed % 2)
    grid_size = (1000, 37, 5, 1000, 200)[seed]
    for objective in OBJECTIVES:
        if (constraints, objective) not in VALID:
            continue
        assert_same_as_fairlearn(X, y, X["g"], seed=seed, constraints=constraints,
                                 objective=objective, flip=flip, grid_size=grid_size)


@pytest.mark.parametrize("tol", [0.0, 0.01, 0.05, 0.3, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_as_fairlearn_with_tol(tol, seed):
    X, y = _random_data(seed)
    for constraints in ("demographic_parity", "true_positive_rate_parity",
                        "false_negative_rate_parity"):
        for objective in ("accuracy_score", "balanced_accuracy_score", "selection_rate"):
            assert_same_as_fairlearn(X, y, X["g"], seed=seed, constraints=constraints,
                                     objective=objective, tol=tol, grid_size=100,
                                     flip=seed == 1)


def test_tol_lets_the_constraint_values_differ_by_at_most_tol():
    X, y = _random_data(3)
    params = dict(prot_attr="g", prefit=True, predict_method="predict")
    strict = ThresholdOptimizer(ScoreColumn().fit(X), **params).fit(X, y)
    loose = ThresholdOptimizer(ScoreColumn().fit(X), tol=0.1, **params).fit(X, y)
    assert np.ptp(strict.constraint_values_) == 0
    assert 0 < np.ptp(loose.constraint_values_) <= 0.1 + 1e-12
    assert loose.objective_value_ >= strict.objective_value_


def test_compiled_hull_gives_the_same_rules(monkeypatch):
    # from NUMBA_MIN_POINTS points on the hull is compiled code: the same chain
    import fairkit.postprocessing._threshold_curves as curves

    rng = np.random.default_rng(11)
    n = 3000
    g = rng.integers(0, 3, n)
    s = rng.normal(size=n) + 0.5 * g
    s[: n // 3] = np.round(s[: n // 3], 2)
    y = (s + rng.normal(size=n) > 0.5).astype(int)
    X = _frame(s, g)
    monkeypatch.setattr(curves, "NUMBA_MIN_POINTS", 0)
    for constraints in CONSTRAINTS:
        assert_same_as_fairlearn(X, y, g, constraints=constraints, flip=True)


def test_upper_hull_python_and_compiled_agree_on_collinear_points():
    from fairkit.postprocessing._threshold_curves import _hull_python, _numba_hull

    rng = np.random.default_rng(0)
    # points on a few lines and duplicates: the cross products hit exact zeros
    x = np.sort(rng.integers(0, 30, 400) / 30)
    y = np.round(np.sqrt(x) * 10) / 10
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    np.testing.assert_array_equal(_hull_python(x, y), _numba_hull()(x, y))
    # a concave curve's points are all kept, a square's inner points are all dropped
    t = np.linspace(0, 1, 9)
    np.testing.assert_array_equal(_hull_python(t, np.sqrt(t)), np.arange(9))
    np.testing.assert_array_equal(
        _hull_python(np.array([0, 0, 0.5, 1, 1.0]), np.array([0, 1, 0.5, 0, 1.0])),
        [0, 1, 4])


@pytest.mark.parametrize("predict_method", ["auto", "predict_proba", "decision_function",
                                            "predict"])
@pytest.mark.parametrize("constraints", ["demographic_parity", "equalized_odds"])
def test_same_as_fairlearn_with_each_predict_method(predict_method, constraints):
    X, y = raw_data(n=700, seed=12)
    y01 = (y == "hired").astype(int)
    model = pipeline().fit(X, y01)
    ours = ThresholdOptimizer(model, prot_attr="sex", prefit=True, constraints=constraints,
                              predict_method=predict_method, random_state=5).fit(X, y01)
    theirs = FairlearnThresholdOptimizer(estimator=model, prefit=True,
                                         constraints=constraints,
                                         predict_method=predict_method).fit(
        X, y01, sensitive_features=X["sex"])
    assert_same_rules(ours, theirs)
    np.testing.assert_array_equal(
        ours.predict(X), theirs.predict(X, sensitive_features=X["sex"], random_state=5))
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1],
                               theirs._pmf_predict(X, sensitive_features=X["sex"])[:, 1],
                               rtol=0, atol=1e-12)


def test_same_as_fairlearn_with_flipped_labels_and_new_rows():
    # pos_label=0 and a string target: fairkit maps them to 0/1 as fairlearn is given;
    # predict on rows not seen in fit
    X, y = raw_data(n=900, seed=13)
    X_new, _ = raw_data(n=300, seed=14)
    model = pipeline().fit(X, y)
    ours = ThresholdOptimizer(model, prot_attr="sex", prefit=True, pos_label="rejected",
                              constraints="false_negative_rate_parity", flip=True,
                              random_state=2).fit(X, y)
    y01 = (y == "rejected").astype(int)
    from fairkit.utils._outputs import BinarizedEstimator

    theirs = FairlearnThresholdOptimizer(
        estimator=BinarizedEstimator(model, "rejected"), prefit=True, flip=True,
        constraints="false_negative_rate_parity").fit(X, y01, sensitive_features=X["sex"])
    expected = theirs.predict(X_new, sensitive_features=X_new["sex"], random_state=2)
    np.testing.assert_array_equal(ours.predict(X_new) == "rejected", expected == 1)
    np.testing.assert_allclose(
        ours.predict_proba(X_new)[:, list(ours.classes_).index("rejected")],
        theirs._pmf_predict(X_new, sensitive_features=X_new["sex"])[:, 1],
        rtol=0, atol=1e-12)


def test_equalized_odds_rates_are_equal_in_expectation():
    # counted on the data: the expected TPR and FPR of the randomised rule per group
    X, y = _random_data(2)
    to = ThresholdOptimizer(ScoreColumn().fit(X), prot_attr="g", prefit=True,
                            predict_method="predict", constraints="equalized_odds",
                            grid_size=2000).fit(X, y)
    p = to.predict_proba(X)[:, 1]
    g = X["g"].to_numpy()
    tpr = [p[(g == c) & (y == 1)].mean() for c in to.groups_]
    fpr = [p[(g == c) & (y == 0)].mean() for c in to.groups_]
    np.testing.assert_allclose(tpr, tpr[0], atol=1e-9)
    np.testing.assert_allclose(fpr, to.prediction_constant_, atol=1e-9)
    assert 0 <= to.p_ignore_.min() and to.p_ignore_.max() <= 1


def test_invalid_combinations_are_refused_with_the_parameter_named():
    X, y = _random_data(0)
    model = ScoreColumn().fit(X)
    with pytest.raises(ValueError, match="objective='selection_rate' is not available with "
                                         "constraints='equalized_odds'"):
        ThresholdOptimizer(model, prot_attr="g", prefit=True, predict_method="predict",
                           constraints="equalized_odds",
                           objective="selection_rate").fit(X, y)
    with pytest.raises(ValueError, match="tol=0.1: relaxed constraints are not available"):
        ThresholdOptimizer(model, prot_attr="g", prefit=True, predict_method="predict",
                           constraints="equalized_odds", tol=0.1).fit(X, y)
    with pytest.raises(ValueError, match="objective"):
        ThresholdOptimizer(model, prot_attr="g", objective="f1").fit(X, y)
    with pytest.raises(ValueError, match="non-finite scores"):
        ThresholdOptimizer(model, prot_attr="g", prefit=True, predict_method="predict").fit(
            X.assign(s=np.where(np.arange(len(X)) == 3, np.nan, X["s"])), y)


def test_cross_fitted_rule_is_the_rule_of_the_out_of_fold_scores():
    # cv=3: the thresholds are those of fairlearn on the out-of-fold scores, and predict
    # thresholds the final model's scores
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X, y = raw_data(n=900, seed=15)
    y01 = (y == "hired").astype(int)
    ours = ThresholdOptimizer(pipeline(), prot_attr="sex", cv=StratifiedKFold(3),
                              random_state=1).fit(X, y01)
    cells = y01 * 2 + (X["sex"] == "M").to_numpy()
    folds = list(StratifiedKFold(3).split(X, cells))
    oof = cross_val_predict(pipeline(), X, y01, cv=folds, method="predict_proba")[:, 1]
    theirs = FairlearnThresholdOptimizer(
        estimator=ScoreColumn().fit(None), prefit=True, predict_method="predict").fit(
        pd.DataFrame({"s": oof}), y01, sensitive_features=X["sex"])
    assert_same_rules(ours, theirs)
    full = pipeline().fit(X, y01)
    np.testing.assert_allclose(ours.estimator_[-1].coef_, full[-1].coef_, atol=1e-10)
    s = pd.DataFrame({"s": full.predict_proba(X)[:, 1]})
    np.testing.assert_allclose(ours.predict_proba(X)[:, 1],
                               theirs._pmf_predict(s, sensitive_features=X["sex"])[:, 1],
                               rtol=0, atol=1e-12)
