"""Tests for fairkit.inprocessing._reductions (fairlearn's reductions under the contract).

The wrappers must give exactly fairlearn's predictions for the same sensitive features and
seed; disparities are counted on the data.
"""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from fairlearn.reductions import (
    BoundedGroupLoss,
    DemographicParity,
    EqualizedOdds,
    ErrorRateParity,
    ExponentiatedGradient,
    GridSearch,
    SquareLoss,
    TruePositiveRateParity,
)
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.inprocessing import ExponentiatedGradientReduction, GridSearchReduction

MOMENTS = {
    "demographic_parity": DemographicParity,
    "equalized_odds": EqualizedOdds,
    "true_positive_rate_parity": TruePositiveRateParity,
    "error_rate_parity": ErrorRateParity,
}


def synthetic(n=200, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + a[:, None]
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n) > 0.8).astype(int)
    return np.c_[a, x], y


@pytest.mark.parametrize("name", ["demographic_parity", "equalized_odds"])
def test_exponentiated_gradient_same_as_fairlearn(name):
    X, y = synthetic()
    ours = ExponentiatedGradientReduction(LogisticRegression(), prot_attr=0, constraints=name,
                                          max_iter=4, drop_prot_attr=True,
                                          random_state=5).fit(X, y)
    theirs = ExponentiatedGradient(LogisticRegression(), MOMENTS[name](), max_iter=4).fit(
        X[:, 1:], y, sensitive_features=X[:, 0])
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X[:, 1:], random_state=5))
    np.testing.assert_allclose(ours.predict_proba(X), theirs._pmf_predict(X[:, 1:]))
    np.testing.assert_allclose(ours.reduction_.weights_, theirs.weights_)


@pytest.mark.parametrize("name", ["demographic_parity", "true_positive_rate_parity",
                                  "error_rate_parity"])
def test_grid_search_same_as_fairlearn(name):
    X, y = synthetic(seed=1)
    ours = GridSearchReduction(LogisticRegression(), prot_attr=0, constraints=name,
                               grid_size=5).fit(X, y)
    theirs = GridSearch(LogisticRegression(), MOMENTS[name](), grid_size=5).fit(
        X, y, sensitive_features=X[:, 0])
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.reduction_.best_idx_ == theirs.best_idx_


def test_bounded_group_loss_regression_same_as_fairlearn():
    rng = np.random.default_rng(2)
    n = 300
    a = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = 2 * x + a * rng.normal(scale=2, size=n)
    X = np.c_[a, x]
    ours = ExponentiatedGradientReduction(LinearRegression(), prot_attr=0,
                                          constraints="bounded_group_loss", upper_bound=0.05,
                                          max_iter=6, random_state=1).fit(X, y)
    theirs = ExponentiatedGradient(
        LinearRegression(), BoundedGroupLoss(SquareLoss(y.min(), y.max()), upper_bound=0.05),
        max_iter=6).fit(X, y, sensitive_features=a)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X, random_state=1))
    assert ours.__sklearn_tags__().estimator_type == "regressor"
    assert -1 < ours.score(X, y) <= 1
    gs = GridSearchReduction(LinearRegression(), prot_attr=0, constraints="bounded_group_loss",
                             upper_bound=0.05, grid_size=4).fit(X, y)
    gs_theirs = GridSearch(
        LinearRegression(), BoundedGroupLoss(SquareLoss(y.min(), y.max()), upper_bound=0.05),
        grid_size=4).fit(X, y, sensitive_features=a)
    np.testing.assert_allclose(gs.predict(X), gs_theirs.predict(X))


def test_reduces_demographic_parity_gap():
    X, y = synthetic(n=600, seed=3)
    a = X[:, 0]
    base = LogisticRegression().fit(X[:, 1:], y).predict(X[:, 1:])
    gap_before = base[a == 1].mean() - base[a == 0].mean()
    eg = ExponentiatedGradientReduction(LogisticRegression(), prot_attr=0, drop_prot_attr=True,
                                        difference_bound=0.01, max_iter=30).fit(X, y)
    p = eg.predict_proba(X)[:, 1]
    gap_after = p[a == 1].mean() - p[a == 0].mean()
    assert gap_before > 0.4
    assert abs(gap_after) < 0.05


def test_raw_dataframe_pipeline_strings_and_grid_search():
    rng = np.random.default_rng(4)
    n = 300
    X = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "x": rng.normal(size=n),
                      "job": rng.choice(["a", "b"], n)})
    y = np.where(X["x"] + (X["sex"] == "M") + rng.normal(size=n) > 0.5, "yes", "no")
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex", "job"]), remainder=StandardScaler()),
        LogisticRegression())
    gs = GridSearchReduction(pipe, prot_attr="sex", grid_size=3, pos_label="yes",
                             sample_weight_name="logisticregression__sample_weight")
    pred = gs.fit(X, y).predict(X)
    theirs = GridSearch(pipe, DemographicParity(), grid_size=3,
                        sample_weight_name="logisticregression__sample_weight").fit(
        X, (y == "yes").astype(int), sensitive_features=X["sex"])
    np.testing.assert_array_equal(pred == "yes", theirs.predict(X) == 1)
    assert set(np.unique(pred)) <= {"yes", "no"}
    search = GridSearchCV(gs, {"constraint_weight": [0.3, 0.7]}, cv=2).fit(X, y)
    assert 0.5 < search.best_score_ <= 1
    again = pickle.loads(pickle.dumps(gs))
    np.testing.assert_array_equal(again.predict(X), pred)


def test_sensitive_features_routed_same_as_prot_attr():
    X, y = synthetic(seed=5)
    a = GridSearchReduction(LogisticRegression(), prot_attr=0, grid_size=4).fit(X, y)
    b = GridSearchReduction(LogisticRegression(), grid_size=4).fit(
        X, y, sensitive_features=X[:, 0])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_moment_instance_is_copied():
    X, y = synthetic(seed=6)
    moment = DemographicParity(difference_bound=0.02)
    eg = ExponentiatedGradientReduction(LogisticRegression(), prot_attr=0, constraints=moment,
                                        max_iter=2).fit(X, y)
    assert not getattr(moment, "data_loaded", False)
    eg.fit(X, y)  # refitting must not fail with "data can be loaded only once"


def test_bad_input():
    X, y = synthetic(n=200, seed=7)
    eg = ExponentiatedGradientReduction(LogisticRegression(), prot_attr=0, max_iter=3)
    with pytest.raises(ValueError, match="at least 2"):
        eg.fit(np.c_[np.zeros(200), X[:, 1:]], y)
    with pytest.raises(ValueError, match="Only binary classification"):
        eg.fit(X, np.arange(200) % 3)
    with pytest.raises(ValueError, match="upper_bound"):
        ExponentiatedGradientReduction(LinearRegression(), prot_attr=0,
                                       constraints="bounded_group_loss").fit(X, X[:, 1])
    with pytest.raises(ValueError, match="constraints"):
        ExponentiatedGradientReduction(LogisticRegression(), prot_attr=0,
                                       constraints="parity").fit(X, y)
    with pytest.raises(ValueError, match="estimator"):
        GridSearchReduction(None, prot_attr=0).fit(X, y)
    with pytest.raises(ValueError, match="pos_label=3"):
        GridSearchReduction(LogisticRegression(), prot_attr=0, pos_label=3).fit(X, y)


class _LeastSquaresLearner:
    """A plain learner (no BaseEstimator): weighted least squares thresholded at 1/2."""

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
        A = np.c_[X, np.ones(len(X))] * np.sqrt(w)[:, None]
        self.coef = np.linalg.lstsq(A, np.asarray(y, float) * np.sqrt(w), rcond=None)[0]
        return self

    def predict(self, X):
        return (np.c_[np.asarray(X, float), np.ones(len(X))] @ self.coef > 0.5).astype(int)


def test_plain_learner_without_sklearn_tags():
    # issue item 7: a learner with only fit/predict used to fail with
    # AttributeError: __sklearn_tags__
    X, y = synthetic(seed=8)
    assert not hasattr(_LeastSquaresLearner(), "__sklearn_tags__")
    eg = ExponentiatedGradientReduction(_LeastSquaresLearner(), prot_attr=0, max_iter=5,
                                        drop_prot_attr=True, random_state=3).fit(X, y)
    eg_theirs = ExponentiatedGradient(_LeastSquaresLearner(), DemographicParity(),
                                      max_iter=5).fit(X[:, 1:], y, sensitive_features=X[:, 0])
    np.testing.assert_array_equal(eg.predict(X), eg_theirs.predict(X[:, 1:], random_state=3))
    assert eg.score(X, y) == np.mean(eg.predict(X) == y)
    assert eg.__sklearn_tags__().estimator_type == "classifier"
    gs = GridSearchReduction(_LeastSquaresLearner(), prot_attr=0, grid_size=5).fit(X, y)
    gs_theirs = GridSearch(_LeastSquaresLearner(), DemographicParity(), grid_size=5).fit(
        X, y, sensitive_features=X[:, 0])
    np.testing.assert_array_equal(gs.predict(X), gs_theirs.predict(X))
    assert gs.score(X, y) == np.mean(gs_theirs.predict(X) == y)
    assert 0.6 < gs.score(X, y) <= 1
    assert not hasattr(gs, "predict_proba")  # the learner has none


@pytest.mark.parametrize("constraints,moment", [
    ("demographic_parity", DemographicParity()),
    ("bounded_group_loss", None),
])
def test_grid_offset_indexed_by_user_labels_same_as_fairlearn(constraints, moment):
    # issue item 8: an offset indexed by the user's group labels ("F", "M") used to fail with
    # "matrices are not aligned" because fairlearn saw codes 0/1
    X, y = synthetic(seed=9)
    sex = np.where(X[:, 0] == 1, "M", "F")
    frame = pd.DataFrame({"sex": sex, "x1": X[:, 1], "x2": X[:, 2]})
    if moment is None:
        from fairlearn.reductions import ZeroOneLoss
        moment = BoundedGroupLoss(ZeroOneLoss(), upper_bound=0.2)
        kw = dict(constraints="bounded_group_loss", loss="zero_one", upper_bound=0.2)
    else:
        kw = dict(constraints=constraints)
    probe = copy.deepcopy(moment)
    probe.load_data(frame[["x1", "x2"]], y, sensitive_features=sex)
    offset = pd.Series(0.0, index=probe.pos_basis.index)
    first = offset.index[0]
    offset[first] = 0.7  # shift one group's multiplier so the offset matters
    gs = GridSearchReduction(LogisticRegression(), prot_attr="sex", drop_prot_attr=True,
                             grid_size=7, grid_offset=offset, **kw).fit(frame, y)
    theirs = GridSearch(LogisticRegression(), moment, grid_size=7, grid_offset=offset).fit(
        frame[["x1", "x2"]], y, sensitive_features=sex)
    assert gs.reduction_.best_idx_ == theirs.best_idx_
    np.testing.assert_array_equal(gs.predict(frame), theirs.predict(frame[["x1", "x2"]]))
    np.testing.assert_allclose(gs.reduction_.lambda_vecs_.to_numpy(),
                               theirs.lambda_vecs_.to_numpy())
    # an explicit grid in the same layout is translated too
    grid = theirs.lambda_vecs_
    gs_grid = GridSearchReduction(LogisticRegression(), prot_attr="sex", drop_prot_attr=True,
                                  grid=grid, **kw).fit(frame, y)
    assert gs_grid.reduction_.best_idx_ == theirs.best_idx_
    np.testing.assert_array_equal(gs_grid.predict(frame), gs.predict(frame))
    # a label that is not a group is named
    bad = offset.rename(index={"F": "X"}, level="group_id")
    with pytest.raises(ValueError, match="grid_offset refers to group 'X'.*'F', 'M'"):
        GridSearchReduction(LogisticRegression(), prot_attr="sex", grid_offset=bad,
                            **kw).fit(frame, y)
    with pytest.raises(ValueError, match="grid_offset must be a pandas Series"):
        GridSearchReduction(LogisticRegression(), prot_attr="sex", grid_offset=[0.1, 0.2],
                            **kw).fit(frame, y)


@pytest.mark.parametrize("cls", [ExponentiatedGradientReduction, GridSearchReduction])
def test_sample_weight_refused(cls):
    # fairlearn 0.15's moments have no weighted form: refused, never silently dropped
    X, y = synthetic(seed=10)
    est = cls(LogisticRegression(), prot_attr=0)
    with pytest.raises(ValueError, match=f"{cls.__name__} cannot use sample_weight"):
        est.fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match=r"cannot pass fit parameters \['classes'\]"):
        est.fit(X, y, classes=[0, 1])
    assert not hasattr(est, "reduction_")


@pytest.mark.parametrize("cls", [ExponentiatedGradientReduction, GridSearchReduction])
def test_metadata_routing(cls):
    from sklearn import config_context
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.pipeline import Pipeline

    X, y = synthetic(seed=11)
    w = np.ones(len(y))
    kw = dict(max_iter=3, random_state=0) if cls is ExponentiatedGradientReduction else {}
    with config_context(enable_metadata_routing=True):
        # the learner did not say whether it wants weights: scikit-learn stops the call
        est = cls(LogisticRegression(), **kw).set_fit_request(sensitive_features=True)
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            Pipeline([("r", est)]).fit(X, y, sensitive_features=X[:, 0], sample_weight=w)
        # the learner asked for them: they reach the reduction, which refuses them
        est = cls(LogisticRegression().set_fit_request(sample_weight=True),
                  **kw).set_fit_request(sensitive_features=True)
        assert est.get_metadata_routing().consumes("fit", ["sample_weight"]) == {
            "sample_weight"}
        with pytest.raises(ValueError, match="cannot use sample_weight"):
            Pipeline([("r", est)]).fit(X, y, sensitive_features=X[:, 0], sample_weight=w)
        # routed sensitive_features give the fit with prot_attr
        routed = Pipeline([("r", est)]).fit(X, y, sensitive_features=X[:, 0])
        direct = cls(LogisticRegression(), prot_attr=0, **kw).fit(X, y)
        np.testing.assert_array_equal(routed.predict(X), direct.predict(X))


def test_score_keyword_only_sensitive_features_and_r2():
    X, y = synthetic(seed=12)
    gs = GridSearchReduction(LogisticRegression(), grid_size=3).fit(
        X, y, sensitive_features=X[:, 0])
    assert gs.score(X, y, sensitive_features=X[:, 0]) == np.mean(gs.predict(X) == y)
    with pytest.raises(TypeError):
        gs.score(X, y, None, X[:, 0])
    rng = np.random.default_rng(13)
    yr = X[:, 1] + rng.normal(size=len(X))
    reg = GridSearchReduction(LinearRegression(), prot_attr=0,
                              constraints="bounded_group_loss", upper_bound=0.1,
                              grid_size=3).fit(X, yr)
    pred = reg.predict(X)
    r2 = 1 - np.sum((yr - pred) ** 2) / np.sum((yr - yr.mean()) ** 2)
    assert reg.score(X, yr) == pytest.approx(r2, rel=1e-12)
