"""Trade-off search on raw Adult in a parallel GridSearchCV, and the same search on Dask."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.datasets import load_adult
from fairkit.metrics import group_counts_from_partitions, make_fairness_scorer
from fairkit.model_selection import BestWithinBound, compare_mitigators
from fairkit.preprocessing import CorrelationRemover


@pytest.fixture(scope="module")
def adult():
    X, y = load_adult(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(X), 3000, replace=False)
    return X.iloc[idx].reset_index(drop=True), np.asarray(y)[idx]


def pipeline(X):
    cat = [c for c in X.select_dtypes("category").columns if c != "sex"]
    num = list(X.select_dtypes("number").columns)
    encode = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
            ("num", StandardScaler(), num),
            ("sex", "passthrough", ["sex"]),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return Pipeline(
        [
            ("encode", encode),
            ("decorrelate", CorrelationRemover(prot_attr="sex")),
            ("model", LogisticRegression(max_iter=500)),
        ]
    )


def test_multi_scorer_search_on_raw_adult_with_two_jobs(adult):
    X, y = adult
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scoring = {
        "accuracy": "accuracy",
        "spd": make_fairness_scorer("statistical_parity_difference", prot_attr="sex",
                                    priv_group="Male"),
    }
    search = GridSearchCV(
        pipeline(X),
        {"decorrelate__alpha": [0.0, 0.5, 1.0]},
        scoring=scoring,
        refit=BestWithinBound("accuracy", "spd", bound=0.15),
        cv=cv,
        n_jobs=2,
    ).fit(X, y)
    res = search.cv_results_
    # the fairness score of alpha=0 on each fold, recomputed by hand with pandas
    for k, (train, test) in enumerate(cv.split(X, y)):
        model = pipeline(X).set_params(decorrelate__alpha=0.0).fit(X.iloc[train], y[train])
        pred = pd.Series(model.predict(X.iloc[test]))
        sex = X["sex"].iloc[test].reset_index(drop=True)
        spd = pred[sex == "Female"].mean() - pred[sex == "Male"].mean()
        assert abs(res[f"split{k}_test_spd"][0]) == pytest.approx(abs(spd))
    # decorrelation shrinks the gap; the refit picks the most accurate within the bound
    gaps = np.abs(res["mean_test_spd"])
    assert gaps[2] < gaps[0]
    ok = gaps <= 0.15
    assert search.best_index_ == np.flatnonzero(ok)[np.argmax(res["mean_test_accuracy"][ok])]


def test_dask_cluster_search_equals_local_run(adult):
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    X, y = adult
    X, y = X.iloc[:1200], y[:1200]
    methods = {"decorrelated": (pipeline(X), {"decorrelate__alpha": [0.0, 1.0]})}
    scoring = {
        "accuracy": "accuracy",
        "spd": make_fairness_scorer("statistical_parity_difference", prot_attr="sex"),
    }
    cv = StratifiedKFold(2, shuffle=True, random_state=1)
    local = compare_mitigators(methods, X, y, scoring=scoring, cv=cv, n_jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster), joblib.parallel_backend("dask"):
            remote = compare_mitigators(methods, X, y, scoring=scoring, cv=cv, n_jobs=2)
    cols = ["method", "params", "accuracy", "accuracy_std", "spd", "spd_std"]
    pd.testing.assert_frame_equal(local.table[cols], remote.table[cols])


def test_group_counts_over_dask_partitions_equal_in_memory():
    dd = pytest.importorskip("dask.dataframe")
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    rng = np.random.default_rng(5)
    n = 20_000
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "g": rng.choice(["a", "b", "c"], n),
        }
    )
    ddf = dd.from_pandas(frame, npartitions=7)
    counts = group_counts_from_partitions(ddf, y_true="y", y_pred="p", sensitive_features="g")
    assert counts.n_rows.sum() == n
    assert counts.statistical_parity_difference() == pytest.approx(
        demographic_parity_difference(frame["y"], frame["p"], sensitive_features=frame["g"])
    )
    assert counts.equalized_odds_difference() == pytest.approx(
        equalized_odds_difference(frame["y"], frame["p"], sensitive_features=frame["g"])
    )
    with pytest.raises(ValueError, match=r"column\(s\) \['q'\] not found"):
        group_counts_from_partitions(ddf, y_true="y", y_pred="q", sensitive_features="g")
