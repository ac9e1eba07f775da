"""SEPConstrainedClassifier: optimality against scikit-learn, the constraint measured
independently, agreement of independent solvers, errors, and scikit-learn compatibility."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.metrics import demographic_parity_difference
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from fairkit.inprocessing import SEPConstrainedClassifier
from fairkit.metrics.sep import (
    conditional_socio_economic_parity_difference,
    socio_economic_parity_difference,
)

# bound_unit="score": these tests are about the convex program, whose bound is on scores
SEP = dict(prot_attr="sex", unpriv_group="F", ses_attr="edu", ses_threshold=10,
           bound_unit="score")
CSEP = dict(SEP, effort_attr="hours", effort_threshold=40, constraint="csep")


def make_data(n=400, seed=0):
    """Synthetic 'Adult-like' data: women and the less educated get fewer positive labels."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    edu = rng.integers(6, 17, n)
    hours = rng.integers(20, 61, n)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n) + (sex == "M")
    logit = 0.5 * (edu - 10) + 0.05 * (hours - 40) + x1 + x2 + 1.0 * (sex == "M") - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"sex": sex, "edu": edu, "hours": hours, "x1": x1, "x2": x2})
    return X, y


def gaps(clf, X, kind):
    """Mean-score gap computed here from decision_function, independently of the fit."""
    f = clf.decision_function(X)
    unpriv = (X["sex"] == "F").to_numpy()
    low = (X["edu"] < 10).to_numpy()
    effort = (X["hours"] >= 40).to_numpy()
    if kind == "sep":
        return f.mean() - f[unpriv & low].mean()
    if kind == "csep":
        return f[effort].mean() - f[unpriv & low & effort].mean()
    return f[~unpriv].mean() - f[unpriv].mean()


def test_unconstrained_logistic_matches_sklearn():
    X, y = make_data()
    Xm = X.drop(columns="sex")
    clf = SEPConstrainedClassifier(**SEP, epsilon=np.inf, C=0.5).fit(X, y)
    # scale_features standardises the non-binary columns, as StandardScaler does here.
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, tol=1e-10)).fit(Xm, y)
    np.testing.assert_allclose(clf.decision_function(X), ref.decision_function(Xm), atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(Xm), atol=1e-6)
    raw = SEPConstrainedClassifier(**SEP, epsilon=np.inf, scale_features=False).fit(X, y)
    ref = LogisticRegression(tol=1e-10, max_iter=10_000).fit(Xm, y)
    np.testing.assert_allclose(raw.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(raw.intercept_, ref.intercept_, atol=1e-4)
    assert raw.lagrange_multiplier_ == 0.0


def test_unconstrained_hinge_matches_linear_svc():
    X, y = make_data(200)
    Xm = StandardScaler().fit_transform(X.drop(columns="sex"))
    Xs = pd.DataFrame(Xm, columns=["edu", "hours", "x1", "x2"]).assign(sex=X["sex"])
    clf = SEPConstrainedClassifier(
        **SEP, epsilon=np.inf, loss="hinge", scale_features=False, C=0.3
    ).fit(Xs, y)
    ref = SVC(kernel="linear", C=0.3, tol=1e-8).fit(Xm, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=2e-4)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=2e-4)
    assert not hasattr(clf, "predict_proba")


@pytest.mark.parametrize(
    "params, kind",
    [(SEP, "sep"), (CSEP, "csep"), (dict(prot_attr="sex", priv_group="M", bound_unit="score",
                                         constraint="demographic_parity"), "dp")],
)
@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_constraint_met_and_active(params, kind, loss):
    X, y = make_data()
    free = SEPConstrainedClassifier(**params, loss=loss, epsilon=np.inf).fit(X, y)
    free_gap = gaps(free, X, kind)
    assert free_gap > 0.5  # the data are biased: the constraint has work to do
    eps = free_gap / 4
    clf = SEPConstrainedClassifier(**params, loss=loss, epsilon=eps).fit(X, y)
    gap = gaps(clf, X, kind)
    assert abs(gap) <= eps + 1e-6
    assert gap == pytest.approx(eps, abs=1e-5)  # active: the optimum is on the boundary
    assert clf.score_gap_ == pytest.approx(gap, abs=1e-9)
    assert clf.lagrange_multiplier_ > 0
    # The constrained optimum costs training loss compared with the unconstrained one.
    assert clf.score(X, y) <= free.score(X, y) + 0.02


def test_epsilon_zero_equalises_mean_scores():
    X, y = make_data()
    clf = SEPConstrainedClassifier(**SEP, epsilon=0.0).fit(X, y)
    assert abs(gaps(clf, X, "sep")) <= 1e-6


def test_loose_epsilon_gives_the_unconstrained_model():
    X, y = make_data()
    free = SEPConstrainedClassifier(**SEP, epsilon=np.inf).fit(X, y)
    loose = SEPConstrainedClassifier(**SEP, epsilon=gaps(free, X, "sep") + 1).fit(X, y)
    np.testing.assert_allclose(loose.coef_, free.coef_, atol=1e-6)
    assert loose.lagrange_multiplier_ == pytest.approx(0, abs=1e-7)


@pytest.mark.parametrize("params", [SEP, CSEP])
def test_independent_solvers_agree(params):
    # Interior point (Clarabel), splitting conic (SCS) and L-BFGS on the active face are
    # three different algorithms for the same program.
    X, y = make_data()
    fits = {
        s: SEPConstrainedClassifier(**params, epsilon=0.3, solver=s).fit(X, y)
        for s in ("clarabel", "scs", "lbfgs")
    }
    ref = fits["clarabel"]
    np.testing.assert_allclose(fits["lbfgs"].coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(fits["scs"].coef_, ref.coef_, atol=2e-3)
    assert fits["lbfgs"].lagrange_multiplier_ == pytest.approx(ref.lagrange_multiplier_, abs=1e-6)
    hinge = {
        s: SEPConstrainedClassifier(**params, epsilon=0.3, loss="hinge", solver=s).fit(X, y)
        for s in ("clarabel", "osqp")
    }
    np.testing.assert_allclose(hinge["osqp"].coef_, hinge["clarabel"].coef_, atol=1e-3)


def test_sep_reduces_demographic_disparity_of_predictions():
    X, y = make_data(600)
    free = SEPConstrainedClassifier(**SEP, epsilon=np.inf).fit(X, y)
    fair = SEPConstrainedClassifier(**SEP, epsilon=0.0).fit(X, y)
    metric = dict(sensitive_features="sex", ses="edu", ses_threshold=10, unpriv_group="F", X=X)
    before = socio_economic_parity_difference(y, free.predict(X), **metric)
    after = socio_economic_parity_difference(y, fair.predict(X), **metric)
    assert before > 0.3 and after < before / 2
    assert fair.sep_gap_ == pytest.approx(after)
    dp = SEPConstrainedClassifier(
        prot_attr="sex", priv_group="M", constraint="demographic_parity", epsilon=0.0,
        bound_unit="score",
    ).fit(X, y)
    dp_free = demographic_parity_difference(y, free.predict(X), sensitive_features=X["sex"])
    dp_fair = demographic_parity_difference(y, dp.predict(X), sensitive_features=X["sex"])
    assert dp_fair < dp_free / 2


def test_csep_raises_positive_rate_of_underprivileged_high_effort():
    X, y = make_data(600)
    target = ((X["sex"] == "F") & (X["edu"] < 10) & (X["hours"] >= 40)).to_numpy()
    free = SEPConstrainedClassifier(**CSEP, epsilon=np.inf).fit(X, y)
    fair = SEPConstrainedClassifier(**CSEP, epsilon=0.2).fit(X, y)
    # 54 underprivileged high-effort women: 11 selected unconstrained, 44 under CSEP.
    assert free.predict(X)[target].mean() == pytest.approx(11 / 54)
    assert fair.predict(X)[target].mean() == pytest.approx(44 / 54)
    metric = dict(
        sensitive_features="sex", ses="edu", ses_threshold=10, effort="hours",
        effort_threshold=40, unpriv_group="F", X=X,
    )
    assert conditional_socio_economic_parity_difference(
        y, fair.predict(X), **metric
    ) < conditional_socio_economic_parity_difference(y, free.predict(X), **metric)


def test_sample_weight_is_used_in_loss_and_constraint():
    X, y = make_data(150)
    w = np.random.default_rng(5).integers(0, 3, len(y))
    rep = np.repeat(np.arange(len(y)), w)
    weighted = SEPConstrainedClassifier(**SEP, epsilon=0.2).fit(X, y, sample_weight=w)
    repeated = SEPConstrainedClassifier(**SEP, epsilon=0.2).fit(
        X.iloc[rep].reset_index(drop=True), y[rep]
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-5)


def test_callables_string_labels_and_pos_label():
    X, y = make_data()
    labels = np.where(y == 1, "high", "low")  # classes_ = ["high", "low"]
    clf = SEPConstrainedClassifier(
        prot_attr="sex", unpriv_group=lambda s: s == "F",
        ses_attr=lambda X: X["edu"].to_numpy() < 10, epsilon=0.25, pos_label="high",
        bound_unit="score",
    ).fit(X, labels)
    assert list(clf.classes_) == ["high", "low"]
    # Favourable score is -decision_function; the reported gap is oriented to it.
    assert clf.score_gap_ == pytest.approx(-gaps(clf, X, "sep"), abs=1e-9)
    assert abs(clf.score_gap_) <= 0.25 + 1e-6
    assert set(clf.predict(X)) <= {"high", "low"}


def test_sensitive_features_routed_through_pipeline_and_grid_search():
    X, y = make_data(300)
    sex = X.pop("sex")
    with sklearn.config_context(enable_metadata_routing=True):
        clf = SEPConstrainedClassifier(
            unpriv_group="F", ses_attr="edu", ses_threshold=10, epsilon=0.2, bound_unit="score"
        ).set_fit_request(sensitive_features=True)
        pipe = make_pipeline(clf).fit(X, y, sensitive_features=sex)
        inner = pipe[-1]
        # nothing is dropped from X: the attribute came apart from it
        assert inner.n_features_in_ == 4 and inner.coef_.shape == (1, 4)
        assert inner.groups_ == ["F", "M"]
        f = pipe.decision_function(X)
        low = (sex == "F").to_numpy() & (X["edu"] < 10).to_numpy()
        assert abs(f.mean() - f[low].mean()) <= 0.2 + 1e-6


def fairness_scorer(estimator, X, y):
    """Accuracy minus the absolute SEP gap of the predictions (higher is better)."""
    pred = estimator.predict(X)
    gap = socio_economic_parity_difference(
        y, pred, sensitive_features="sex", ses="edu", ses_threshold=10, unpriv_group="F", X=X
    )
    return float(np.mean(pred == y) - abs(gap))


def test_grid_search_over_epsilon_with_fairness_scorer():
    X, y = make_data(300)
    search = GridSearchCV(
        SEPConstrainedClassifier(**SEP, solver="lbfgs"),
        {"epsilon": [0.0, 0.5, np.inf]},
        scoring={"fair": fairness_scorer, "accuracy": "accuracy"},
        refit="fair",
        cv=3,
    ).fit(X, y)
    fair = search.cv_results_["mean_test_fair"]
    acc = search.cv_results_["mean_test_accuracy"]
    # The unconstrained model is the most accurate but not the best by the fairness score.
    assert acc[2] == max(acc)
    assert search.best_params_["epsilon"] != np.inf
    assert search.best_score_ == pytest.approx(max(fair))


def test_pickle_round_trip():
    X, y = make_data(100)
    clf = SEPConstrainedClassifier(**SEP).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))


def test_adult_subsample_acceptance():
    """Issue 6 acceptance on real data, kept small: 4,000 train / 4,000 test rows of Adult
    (the full-data table is in benchmarks/bench_sep.py)."""
    from sklearn.compose import ColumnTransformer, make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    from fairkit.datasets import load_adult
    from fairkit.inprocessing import ADULT_SEP_DEFAULTS

    rng = np.random.default_rng(0)
    parts = []
    for subset in ("train", "test"):
        data = load_adult(subset=subset)
        rows = rng.choice(len(data.target), 4000, replace=False)
        parts.append((data.data.drop(columns="fnlwgt").iloc[rows].reset_index(drop=True),
                      data.target.to_numpy()[rows]))
    (Xtr, ytr), (Xte, yte) = parts
    cats = ["workclass", "education", "marital-status", "occupation", "relationship", "race",
            "native-country"]
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats)],
        remainder="passthrough", verbose_feature_names_out=False,
    ).set_output(transform="pandas").fit(Xtr)
    A, B = encode.transform(Xtr), encode.transform(Xte)
    numeric = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
    lr = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), cats),
                                (StandardScaler(), numeric)),
        LogisticRegression(max_iter=5000),
    ).fit(Xtr, ytr)
    metric = dict(sensitive_features="sex", ses="education-num", ses_threshold=10,
                  unpriv_group="Female", X=Xte)
    target = ((Xte["sex"] == "Female") & (Xte["education-num"] < 10)
              & (Xte["hours-per-week"] >= 40)).to_numpy()
    base_pred = lr.predict(Xte)
    base_gap = socio_economic_parity_difference(yte, base_pred, **metric)
    assert base_gap > 0.15

    sep = SEPConstrainedClassifier(
        **ADULT_SEP_DEFAULTS, epsilon=0.5, bound_unit="score", solver="lbfgs"
    ).fit(A, ytr)
    f = sep.decision_function(A)
    low = ((Xtr["sex"] == "Female") & (Xtr["education-num"] < 10)).to_numpy()
    assert f.mean() - f[low].mean() <= 0.5 + 1e-6  # epsilon met on the training data
    pred = sep.predict(B)
    # Test SEP gap 17.8 -> 9.0 points, for 1.6 points of accuracy.
    assert socio_economic_parity_difference(yte, pred, **metric) < 0.55 * base_gap
    assert np.mean(pred == yte) >= np.mean(base_pred == yte) - 0.02

    csep = SEPConstrainedClassifier(
        **ADULT_SEP_DEFAULTS, constraint="csep", epsilon=0.5, bound_unit="score", solver="lbfgs"
    ).fit(A, ytr)
    # Positive rate of low-SES women working >= 40 h: about 2% -> about 10%.
    assert csep.predict(B)[target].mean() > base_pred[target].mean() + 0.05


# ---------------------------------------------------------------------------------------
# Large data path, failures and bad input
# ---------------------------------------------------------------------------------------


def test_auto_solves_the_logistic_loss_with_lbfgs_on_full_data():
    # L-BFGS needs no problem-size switch: it sees every row whatever max_problem_size says
    X, y = make_data()
    ref = SEPConstrainedClassifier(**SEP, epsilon=0.3, solver="clarabel").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = SEPConstrainedClassifier(**SEP, epsilon=0.3, max_problem_size=100).fit(X, y)
    assert big.solver_ == "lbfgs" and big.n_samples_solved_ == len(y)
    np.testing.assert_allclose(big.coef_, ref.coef_, atol=1e-5)


def test_large_problem_with_hinge_or_named_solver_uses_stratified_subsample():
    X, y = make_data()
    with pytest.warns(UserWarning, match="subsample of 100 of 400 rows"):  # 400 // 4 features
        clf = SEPConstrainedClassifier(
            **SEP, loss="hinge", epsilon=0.3, max_problem_size=400, random_state=0
        ).fit(X, y)
    assert clf.n_samples_solved_ == 100
    with pytest.warns(UserWarning, match="subsample"):
        clf = SEPConstrainedClassifier(
            **SEP, solver="clarabel", epsilon=0.3, max_problem_size=400, random_state=0
        ).fit(X, y)
    assert clf.solver_ == "clarabel" and clf.n_samples_solved_ == 100


def test_negative_epsilon_is_infeasible():
    X, y = make_data(100)
    clf = SEPConstrainedClassifier(**SEP, epsilon=-0.1)
    with pytest.raises(ValueError, match=r"epsilon=-0.1 is negative.*infeasible"):
        clf.fit(X, y)
    assert not hasattr(clf, "coef_")


@pytest.mark.parametrize(
    "solver, status",
    [("clarabel", "user_limit"), ("scs", "optimal_inaccurate"), ("lbfgs", "max_iter")],
)
def test_solver_failure_names_status_and_stores_nothing(solver, status):
    X, y = make_data(200)
    clf = SEPConstrainedClassifier(**SEP, epsilon=0.1, solver=solver, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=f"status '{status}"):
            clf.fit(X, y)
    assert not hasattr(clf, "coef_") and not hasattr(clf, "classes_")


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(SEP, ses_attr=None), "needs ses_attr"),
        (dict(SEP, constraint="csep"), "needs effort_attr"),
        (dict(SEP, unpriv_group="X"), "unpriv_group='X' does not occur"),
        (dict(SEP, priv_group="M"), "exactly one of unpriv_group"),
        (dict(SEP, ses_threshold=None), "ses_threshold is required"),
        (dict(SEP, ses_threshold=0), "No training sample .* unprivileged with ses_attr"),
        (dict(SEP, ses_attr="income"), "ses_attr='income' is not a column of X"),
        (dict(SEP, prot_attr="gender"), r"prot_attr column\(s\) \['gender'\] not found"),
        (dict(SEP, pos_label=2), "pos_label=2 is not one of the classes"),
        (dict(SEP, solver="osqp"), "cannot handle the logistic loss"),
        (dict(SEP, solver="lbfgs", loss="hinge"), "supports loss='logistic' only"),
        (dict(SEP, solver="ecos"), "solver='ecos' is not installed"),
        (dict(SEP, drop_prot_attr=False), "needs numeric features, but column 'sex'"),
        (dict(SEP, constraint="parity"), "constraint"),
        (dict(SEP, C=0), "'C' parameter"),
    ],
)
def test_bad_parameters_raise(params, match):
    X, y = make_data(100)
    if params.get("solver") == "ecos":
        import cvxpy

        if "ECOS" in cvxpy.installed_solvers():
            pytest.skip("ECOS is installed here")
    with pytest.raises(ValueError, match=match):
        SEPConstrainedClassifier(**params).fit(X, y)


def test_bad_data_raise():
    X, y = make_data(100)
    clf = SEPConstrainedClassifier(**SEP)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        clf.fit(X, np.arange(100) % 3)
    with pytest.raises(ValueError, match="X has 100 rows but y has 99"):
        clf.fit(X, y[:99])
    with pytest.raises(ValueError, match="missing values"):
        clf.fit(X.assign(sex=X["sex"].where(X.index > 0)), y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(X.assign(edu=X["edu"].where(X.index > 0)), y)
    with pytest.raises(ValueError, match=r"ses_attr\(X\) contains missing values"):
        SEPConstrainedClassifier(
            **dict(SEP, ses_attr=lambda X: np.where(X["edu"] > 8, np.nan, 1.0))
        ).fit(X, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict(X.assign(x1=np.nan))


def test_priv_group_is_required_when_unpriv_group_is_missing():
    X, y = make_data(100)
    params = {k: v for k, v in SEP.items() if k != "unpriv_group"}
    with pytest.raises(ValueError, match=r"Give exactly one of unpriv_group .* and priv_group "
                                         r".*got priv_group=None, unpriv_group=None"):
        SEPConstrainedClassifier(**params).fit(X, y)
    # and with priv_group given, the complement is unprivileged: the same model as before
    by_priv = SEPConstrainedClassifier(**params, priv_group="M", epsilon=0.2).fit(X, y)
    by_unpriv = SEPConstrainedClassifier(**SEP, epsilon=0.2).fit(X, y)
    np.testing.assert_array_equal(by_priv.coef_, by_unpriv.coef_)


def test_string_feature_column_is_named_in_the_error():
    X, y = make_data(100)
    X = X.assign(city=np.where(np.arange(100) % 2, "Paris", "Lyon"))
    with pytest.raises(ValueError, match="column 'city' of X has dtype"):
        SEPConstrainedClassifier(**SEP).fit(X, y)
    # object array: column 3 is 'city'; 'sex' (dropped) is put last so that the position
    # is the same in X and in the model matrix
    arr = X[["edu", "hours", "x1", "city", "x2", "sex"]].to_numpy()
    with pytest.raises(ValueError, match=r"column 3 of X holds non-numeric values \(e.g. 'Lyon'\)"):
        SEPConstrainedClassifier(**dict(SEP, prot_attr=5, ses_attr=0)).fit(arr, y)


def test_fitted_attributes_and_keyword_only_metadata():
    X, y = make_data(100)
    w = np.ones(100)
    with pytest.raises(TypeError):
        SEPConstrainedClassifier(**SEP).fit(X, y, w)  # sample_weight is keyword-only
    with pytest.raises(TypeError):
        SEPConstrainedClassifier("sex")  # prot_attr is keyword-only
    clf = SEPConstrainedClassifier(**SEP).fit(X, y, sample_weight=w)
    assert clf.groups_ == ["F", "M"] and clf.prot_attr_names_ == ["sex"]
    np.testing.assert_array_equal(clf.privileged_groups_, [False, True])  # F unprivileged
    assert clf.pos_label_ == 1 and list(clf.classes_) == [0, 1]
    assert not hasattr(clf, "prot_columns_")
    # a callable that splits a group defines no per-group mask
    split = SEPConstrainedClassifier(
        prot_attr="sex", unpriv_group=lambda s: np.arange(len(s)) % 2 == 0,
        ses_attr="edu", ses_threshold=10,
    ).fit(X, y)
    assert not hasattr(split, "privileged_groups_")
