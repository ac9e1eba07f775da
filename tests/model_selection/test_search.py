import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from fairkit.model_selection import (
    BestWithinBound,
    FairestWithinBound,
    compare_mitigators,
)


def spd_scorer(estimator, X, y):
    """Hand-written signed SPD on column 0 (group 1 minus group 0), independent of fairkit."""
    pred = estimator.predict(X)
    g = X[:, 0] == 1
    return pred[g].mean() - pred[~g].mean()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 400
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + a[:, None] * 0.8
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0.4).astype(int)
    return np.column_stack([a, x]), y


CV_RESULTS = {
    "mean_test_accuracy": np.array([0.90, 0.85, 0.80, 0.86]),
    "mean_test_spd": np.array([-0.20, -0.04, -0.01, 0.06]),
}


def test_best_within_bound_picks_most_accurate_feasible():
    assert BestWithinBound("accuracy", "spd", bound=0.05)(CV_RESULTS) == 1
    assert BestWithinBound("accuracy", "spd", bound=0.07)(CV_RESULTS) == 3
    assert BestWithinBound("accuracy", "spd", bound=1.0)(CV_RESULTS) == 0


def test_fairest_within_bound_by_floor_or_tolerance():
    assert FairestWithinBound("spd", "accuracy", min_score=0.85)(CV_RESULTS) == 1
    assert FairestWithinBound("spd", "accuracy", tolerance=0.10)(CV_RESULTS) == 2
    with pytest.raises(ValueError, match="exactly one of min_score or tolerance"):
        FairestWithinBound("spd", "accuracy")(CV_RESULTS)


def test_no_feasible_candidate_gives_a_clear_message():
    with pytest.raises(ValueError, match=r"No candidate has \|spd\| <= bound=0.001.*0.01"):
        BestWithinBound("accuracy", "spd", bound=0.001)(CV_RESULTS)
    with pytest.raises(ValueError, match="scorer 'eod' is not in the search's scoring"):
        BestWithinBound("accuracy", "eod", bound=0.1)(CV_RESULTS)


def test_refit_strategy_inside_gridsearch(data):
    X, y = data
    grid = {"max_depth": [1, 2, 4, 8]}
    search = GridSearchCV(
        DecisionTreeClassifier(random_state=0),
        grid,
        scoring={"accuracy": "accuracy", "spd": spd_scorer},
        refit=BestWithinBound("accuracy", "spd", bound=0.5),
        cv=3,
    ).fit(X, y)
    res = search.cv_results_
    ok = np.abs(res["mean_test_spd"]) <= 0.5
    expected = np.flatnonzero(ok)[np.argmax(res["mean_test_accuracy"][ok])]
    assert search.best_index_ == expected
    assert search.best_params_ == res["params"][expected]


def test_compare_mitigators_table_matches_cross_validation(data):
    X, y = data
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    result = compare_mitigators(
        {
            "logreg": LogisticRegression(),
            "tree": (DecisionTreeClassifier(random_state=0), {"max_depth": [1, 3]}),
        },
        X,
        y,
        scoring={"accuracy": "accuracy", "spd": spd_scorer},
        cv=cv,
    )
    table = result.table
    assert list(table["method"]) == ["logreg", "tree", "tree"]
    assert list(table["params"]) == ["default", "max_depth=1", "max_depth=3"]
    # every number equals an independent cross_val_score on the same folds
    for i, est in enumerate(
        [
            LogisticRegression(),
            DecisionTreeClassifier(max_depth=1, random_state=0),
            DecisionTreeClassifier(max_depth=3, random_state=0),
        ]
    ):
        acc = cross_val_score(est, X, y, cv=cv, scoring="accuracy")
        spd = cross_val_score(est, X, y, cv=cv, scoring=spd_scorer)
        assert table.loc[i, "accuracy"] == pytest.approx(acc.mean())
        assert table.loc[i, "accuracy_std"] == pytest.approx(acc.std())
        assert table.loc[i, "spd"] == pytest.approx(spd.mean())
    # the front is the non-dominated set of (accuracy max, |spd| min)
    front_idx = set(result.front.index)
    for i in table.index:
        dominated = any(
            (table.loc[j, "accuracy"] >= table.loc[i, "accuracy"])
            and (abs(table.loc[j, "spd"]) <= abs(table.loc[i, "spd"]))
            and (
                table.loc[j, "accuracy"] > table.loc[i, "accuracy"]
                or abs(table.loc[j, "spd"]) < abs(table.loc[i, "spd"])
            )
            for j in table.index
        )
        assert (i in front_idx) == (not dominated)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("search", ["grid", "random"])
def test_compare_searches_equal_one_search_over_all_folds(data, n_jobs, search):
    # compare_mitigators runs one search per method and fold and merges them: every
    # result but the times equals scikit-learn's own search over all the folds
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    X, y = data
    cv = list(StratifiedKFold(4, shuffle=True, random_state=1).split(X, y))
    grid = {"max_depth": [1, 2, 3, 5], "min_samples_leaf": [1, 20]}
    scoring = {"accuracy": "accuracy", "spd": spd_scorer}
    result = compare_mitigators({"tree": (DecisionTreeClassifier(random_state=0), grid)},
                                X, y, scoring=scoring, cv=cv, n_jobs=n_jobs,
                                search=search, n_iter=5, random_state=3)
    if search == "grid":
        ref = GridSearchCV(DecisionTreeClassifier(random_state=0), grid, scoring=scoring,
                           refit=False, cv=cv).fit(X, y)
    else:
        ref = RandomizedSearchCV(DecisionTreeClassifier(random_state=0), grid, n_iter=5,
                                 scoring=scoring, refit=False, cv=cv,
                                 random_state=3).fit(X, y)
    got = result.searches["tree"]
    assert got.n_splits_ == 4
    assert set(got.cv_results_) == set(ref.cv_results_)
    for key, value in ref.cv_results_.items():
        if "time" in key:
            continue
        if key == "params":
            assert got.cv_results_[key] == value
        else:
            np.testing.assert_array_equal(np.asarray(got.cv_results_[key]), np.asarray(value),
                                          err_msg=key)


def test_compare_mitigators_bad_input(data):
    X, y = data
    with pytest.raises(ValueError, match="methods must be a non-empty dict"):
        compare_mitigators({}, X, y, scoring={"a": "accuracy", "s": spd_scorer})
    with pytest.raises(ValueError, match="at least two scorers"):
        compare_mitigators({"m": LogisticRegression()}, X, y, scoring={"a": "accuracy"})
    with pytest.raises(ValueError, match="search must be 'grid' or 'random'"):
        compare_mitigators(
            {"m": LogisticRegression()}, X, y, scoring={"a": "accuracy", "s": spd_scorer},
            search="halving",
        )


def test_progress_bar_reports_every_candidate(data, capsys):
    X, y = data
    compare_mitigators(
        {"tree": (DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3]})},
        X,
        y,
        scoring={"accuracy": "accuracy", "spd": spd_scorer},
        cv=2,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "3/3 candidates" in err


def test_tradeoff_scorer_drives_successive_halving(data):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    from fairkit.model_selection import TradeoffScorer

    X, y = data
    scorer = TradeoffScorer("accuracy", spd_scorer, weight=2.0)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    by_hand = (tree.predict(X) == y).mean() - 2.0 * abs(spd_scorer(tree, X, y))
    assert scorer(tree, X, y) == pytest.approx(by_hand)

    search = HalvingGridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, 2, 3, 5, 8, 12]},
        scoring=scorer,
        cv=3,
        factor=2,
        min_resources=100,
        random_state=0,
    ).fit(X, y)
    res = pd.DataFrame(search.cv_results_)
    last = res[res["iter"] == res["iter"].max()]
    assert search.best_index_ == last["mean_test_score"].idxmax()
    with pytest.raises(ValueError, match="weight must be a number >= 0"):
        TradeoffScorer("accuracy", spd_scorer, weight=-1)(tree, X, y)


def test_compare_table_shows_fairness_metrics_in_their_own_units(data):
    from fairkit.metrics import make_fairness_scorer, statistical_parity_difference

    X, y = data
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    result = compare_mitigators(
        {"tree": DecisionTreeClassifier(max_depth=2, random_state=0)},
        X, y,
        scoring={"accuracy": "accuracy",
                 "spd": make_fairness_scorer("statistical_parity_difference", prot_attr=0),
                 "di": make_fairness_scorer("disparate_impact_ratio", prot_attr=0)},
        cv=cv,
    )
    gaps, ratios = [], []
    for train, test in cv.split(X, y):
        pred = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X[train], y[train])
        pred = pred.predict(X[test])
        gaps.append(abs(statistical_parity_difference(y[test], pred,
                                                      sensitive_features=X[test, 0])))
        g = X[test, 0] == 1
        r = pred[g].mean() / pred[~g].mean()
        ratios.append(min(r, 1 / r))
    assert result.table.loc[0, "spd"] == pytest.approx(np.mean(gaps))  # |SPD|, not -|SPD|
    assert result.table.loc[0, "di"] == pytest.approx(np.mean(ratios))


def test_every_registered_method_is_deterministic_given_random_state():
    from sklearn.base import clone

    from fairkit.model_selection import MethodContext, default_methods

    ctx = MethodContext("a", categorical=[], numeric=["x"], priv_group=1, random_state=0)
    for name, (est, _) in default_methods(ctx, "all").items():
        params = clone(est).get_params(deep=True)
        seeds = {k: v for k, v in params.items() if k.endswith("random_state")}
        assert all(v == 0 for v in seeds.values()), (name, seeds)
        if name in {"threshold_optimizer", "fairttts", "aranyani", "dcov", "equalized_odds",
                    "calibrated_equalized_odds", "exponentiated_gradient"}:
            assert seeds, f"{name} has randomness but no random_state to fix it"
