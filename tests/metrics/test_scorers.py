"""make_fairness_scorer (fairkit/metrics/scorers.py) inside real scikit-learn searches."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_ratio
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import fairkit.metrics as fm
from fairkit.metrics import make_fairness_scorer


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 600
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["b", "w"], n)
    x1 = rng.normal(size=n) + 0.8 * (sex == "M")
    x2 = rng.normal(size=n)
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.8, size=n) > 0.4).astype(int)
    X = pd.DataFrame({"sex": sex, "race": race, "x1": x1, "x2": x2})
    return X, y


def _pipe():
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["sex", "race"]),
                             ("num", StandardScaler(), ["x1", "x2"])])
    return Pipeline([("pre", pre), ("clf", LogisticRegression())])


def test_grid_search_scores_equal_metric_on_each_fold(data):
    X, y = data
    cv = StratifiedKFold(n_splits=3)
    spd = make_fairness_scorer(fm.statistical_parity_difference, prot_attr="sex")
    grid = {"clf__C": [0.01, 1.0]}
    search = GridSearchCV(_pipe(), grid, cv=cv, refit="acc", error_score="raise",
                          scoring={"acc": "accuracy", "spd": spd})
    search.fit(X, y)
    assert hasattr(search, "best_estimator_")
    splits = list(cv.split(X, y))
    for i, params in enumerate(search.cv_results_["params"]):
        for k, (train, test) in enumerate(splits):
            model = clone(_pipe()).set_params(**params).fit(X.iloc[train], y[train])
            pred = model.predict(X.iloc[test])
            expected = demographic_parity_difference(y[test], pred,
                                                     sensitive_features=X["sex"].iloc[test])
            got = search.cv_results_[f"split{k}_test_spd"][i]
            assert got == pytest.approx(-expected, rel=1e-12)
            assert expected > 0.01  # the scores are not trivially zero


def test_cross_validate_ratio_scorer_with_priv_group_and_intersection(data):
    X, y = data
    cv = StratifiedKFold(n_splits=3)
    eor = make_fairness_scorer("equalized_odds_ratio", prot_attr=["sex", "race"],
                               zero_division=0)
    di_priv = make_fairness_scorer(fm.disparate_impact_ratio, prot_attr="sex",
                                   priv_group="M", absolute=False)
    res = cross_validate(_pipe(), X, y, cv=cv, error_score="raise",
                         scoring={"eor": eor, "di": di_priv})
    for k, (train, test) in enumerate(cv.split(X, y)):
        model = clone(_pipe()).fit(X.iloc[train], y[train])
        pred = model.predict(X.iloc[test])
        expected_eor = equalized_odds_ratio(y[test], pred,
                                            sensitive_features=X[["sex", "race"]].iloc[test])
        assert res["test_eor"][k] == pytest.approx(expected_eor, rel=1e-12)
        s = X["sex"].iloc[test].to_numpy()
        expected_di = pred[s == "F"].mean() / pred[s == "M"].mean()
        assert res["test_di"][k] == pytest.approx(expected_di, rel=1e-12)


def test_sign_and_absolute_conventions(data):
    X, y = data
    model = _pipe().fit(X, y)
    pred = model.predict(X)
    s = X["sex"].to_numpy()
    raw = pred[s == "F"].mean() - pred[s == "M"].mean()  # unpriv F minus priv M
    assert raw < 0
    signed = make_fairness_scorer(fm.statistical_parity_difference, prot_attr="sex",
                                  priv_group="M", absolute=False, greater_is_better=True)
    assert signed(model, X, y) == pytest.approx(raw)
    assert signed.metric_value(model, X, y) == pytest.approx(raw)
    default = make_fairness_scorer(fm.statistical_parity_difference, prot_attr="sex",
                                   priv_group="M")
    assert default(model, X, y) == pytest.approx(-abs(raw))
    # ratio folded to min(r, 1/r): priv F gives r > 1, same folded score as priv M
    r_m = make_fairness_scorer("disparate_impact_ratio", prot_attr="sex", priv_group="M")
    r_f = make_fairness_scorer("disparate_impact_ratio", prot_attr="sex", priv_group="F")
    assert r_m(model, X, y) == pytest.approx(r_f(model, X, y))
    assert r_f.metric_value(model, X, y) > 1 > r_f(model, X, y)


def test_predict_proba_with_mean_prediction_and_integer_prot_attr(data):
    X, y = data
    Xn = X[["x1", "x2"]].assign(sex=(X["sex"] == "M").astype(int)).to_numpy()
    model = LogisticRegression().fit(Xn, y)
    proba = model.predict_proba(Xn)[:, 1]
    scorer = make_fairness_scorer("mean_prediction_difference", prot_attr=2,
                                  response_method="predict_proba", absolute=False,
                                  greater_is_better=True, priv_group=1)
    expected = proba[Xn[:, 2] == 0].mean() - proba[Xn[:, 2] == 1].mean()
    assert scorer(model, Xn, y) == pytest.approx(expected, rel=1e-12)
    reg = LinearRegression().fit(Xn, y)
    dec = make_fairness_scorer(fm.mean_prediction_difference, prot_attr=2)
    pred = reg.predict(Xn)
    assert dec(reg, Xn, y) == pytest.approx(
        -abs(pred[Xn[:, 2] == 1].mean() - pred[Xn[:, 2] == 0].mean()))


def test_sample_weight_is_passed_to_the_metric(data):
    X, y = data
    model = _pipe().fit(X, y)
    w = np.where(X["race"] == "b", 3.0, 1.0)
    scorer = make_fairness_scorer(fm.statistical_parity_difference, prot_attr="sex")
    expected = demographic_parity_difference(y, model.predict(X), sensitive_features=X["sex"],
                                             sample_weight=w)
    assert scorer(model, X, y, sample_weight=w) == pytest.approx(-expected)


def test_bad_arguments(data):
    X, y = data
    with pytest.raises(ValueError, match="not a fairkit group metric name"):
        make_fairness_scorer("spd", prot_attr="sex")
    with pytest.raises(ValueError, match="response_method"):
        make_fairness_scorer("disparate_impact_ratio", prot_attr="sex", response_method="x")
    with pytest.raises(TypeError):
        make_fairness_scorer(3, prot_attr="sex")
    model = _pipe().fit(X, y)
    missing = make_fairness_scorer("disparate_impact_ratio", prot_attr="gender")
    with pytest.raises(ValueError, match=r"prot_attr column\(s\) \['gender'\] not found"):
        missing(model, X, y)
    wrong_label = make_fairness_scorer("disparate_impact_ratio", prot_attr="sex",
                                       response_method="predict_proba", pos_label="yes")
    with pytest.raises(ValueError, match="pos_label='yes' is not among"):
        wrong_label(model, X, y)
    assert "statistical_parity_difference" in repr(
        make_fairness_scorer(fm.statistical_parity_difference, prot_attr="sex"))


def test_method_to_overall_is_passed_to_the_metric(data):
    X, y = data
    model = _pipe().fit(X, y)
    pred = model.predict(X)
    w = np.where(X["race"] == "b", 2.0, 1.0)
    scorer = make_fairness_scorer("statistical_parity_difference", prot_attr=["sex", "race"],
                                  method="to_overall")
    expected = demographic_parity_difference(y, pred, sensitive_features=X[["sex", "race"]],
                                             method="to_overall", sample_weight=w)
    assert scorer(model, X, y, sample_weight=w) == pytest.approx(-expected, rel=1e-12)
    between = demographic_parity_difference(y, pred, sensitive_features=X[["sex", "race"]],
                                            sample_weight=w)
    assert expected < between
    assert "method='to_overall'" in repr(scorer)
    ratio = make_fairness_scorer(fm.equalized_odds_ratio, prot_attr="sex", method="to_overall")
    assert ratio(model, X, y) == pytest.approx(
        equalized_odds_ratio(y, pred, sensitive_features=X["sex"], method="to_overall"),
        rel=1e-12)


def test_method_errors_at_construction():
    with pytest.raises(ValueError, match="priv_group='M' cannot be combined with "
                                         "method='to_overall'"):
        make_fairness_scorer("disparate_impact_ratio", prot_attr="sex", priv_group="M",
                             method="to_overall")
    with pytest.raises(ValueError, match="needs priv_group"):
        make_fairness_scorer(fm.statistical_parity_difference, prot_attr="sex",
                             method="privileged")
    with pytest.raises(ValueError, match="method='range' is not a comparison method"):
        make_fairness_scorer("mean_prediction_ratio", prot_attr="sex", method="range")

    def gap(y_true, y_pred, *, sensitive_features):
        return 0.0

    with pytest.raises(ValueError, match="method='to_overall' was given but the metric gap "
                                         "takes no 'method' argument"):
        make_fairness_scorer(gap, prot_attr="sex", method="to_overall")
    with pytest.raises(ValueError, match="priv_group='M' was given"):
        make_fairness_scorer(gap, prot_attr="sex", priv_group="M")
