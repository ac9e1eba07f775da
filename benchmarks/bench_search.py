"""Trade-off search benchmark (run on demand, not part of the test suite).

1. Wall time of the default `fairkit compare` grid on Adult with n_jobs=1, n_jobs=2 and on
   an in-process dask.distributed LocalCluster (two workers), in one run.
2. Hypervolume of the (accuracy, |SPD|) front of fairkit's methods against the same kind of
   grid built from fairlearn's and AIF360's own implementations, on the same folds.

    python benchmarks/bench_search.py            # everything
    python benchmarks/bench_search.py --skip-timing
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from fairkit.datasets import load_adult
from fairkit.metrics import make_fairness_scorer, statistical_parity_difference
from fairkit.model_selection import (
    MethodContext,
    compare_mitigators,
    default_methods,
    hypervolume,
    pareto_mask,
)

REFERENCE = (0.70, 0.25)  # worst corner for (accuracy, |SPD|) on Adult


def adult():
    X, y = load_adult(return_X_y=True)
    X = X.drop(columns=["race"])
    cat = [c for c in X.select_dtypes("category").columns if c != "sex"]
    num = [c for c in X.columns if c not in cat and c != "sex"]
    return X, np.asarray(y), MethodContext("sex", cat, num, priv_group="Male", pos_label=1)


def scoring():
    return {
        "accuracy": "accuracy",
        "spd": make_fairness_scorer("statistical_parity_difference", prot_attr="sex"),
    }


def front_hv(acc, gap):
    pts = np.column_stack([acc, np.abs(gap)])
    mask = pareto_mask(pts, maximize=[True, False])
    return hypervolume(pts[mask], REFERENCE, maximize=[True, False]), int(mask.sum())


def timing(X, y, ctx, folds):
    rows = []
    methods = default_methods(ctx)
    for label, n_jobs in [("n_jobs=1", 1), ("n_jobs=2", 2)]:
        start = time.perf_counter()
        compare_mitigators(methods, X, y, scoring=scoring(), cv=folds, n_jobs=n_jobs)
        rows.append((label, time.perf_counter() - start))
    try:
        import joblib
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("dask.distributed not installed: LocalCluster timing skipped")
    else:
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
            with Client(cluster), joblib.parallel_backend("dask"):
                start = time.perf_counter()
                compare_mitigators(methods, X, y, scoring=scoring(), cv=folds, n_jobs=2)
                rows.append(("LocalCluster(2 workers)", time.perf_counter() - start))
    base = rows[0][1]
    print("\nDefault compare grid on Adult (wall seconds, one run):")
    for label, secs in rows:
        print(f"  {label:26s} {secs:8.1f} s   ratio to n_jobs=1: {secs / base:5.2f}")


def _fold_scores(make, X, y, folds, fit_kw=None, predict_kw=None):
    """Mean accuracy and SPD of one peer model over the folds (sex column of the raw X)."""
    accs, gaps = [], []
    for train, test in folds:
        model = make()
        kw = fit_kw(train) if fit_kw else {}
        model.fit(X.iloc[train], y[train], **kw)
        pkw = predict_kw(test) if predict_kw else {}
        pred = np.asarray(model.predict(X.iloc[test], **pkw))
        accs.append((pred == y[test]).mean())
        gaps.append(statistical_parity_difference(
            y[test], pred, sensitive_features=X["sex"].iloc[test].to_numpy()))
    return float(np.mean(accs)), float(np.mean(gaps))


def peers(X, y, ctx, folds):
    rows = []
    baseline = ctx.baseline()
    sex = X["sex"].to_numpy()

    # fairlearn: CorrelationRemover (numeric input: encode first), ThresholdOptimizer
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.preprocessing import CorrelationRemover
    from sklearn.pipeline import Pipeline

    for alpha in (0.5, 1.0):
        def make(alpha=alpha):
            return Pipeline([
                ("encode", ctx.encoder(keep_prot_attr="ordinal")),  # pandas, "sex" as 0/1
                ("decorrelate", CorrelationRemover(sensitive_feature_ids=["sex"], alpha=alpha)),
                ("model", ctx.classifier()),
            ])
        acc, gap = _fold_scores(make, X, y, folds)
        rows.append(("fairlearn", f"CorrelationRemover alpha={alpha}", acc, gap))
    for constraint in ("demographic_parity", "equalized_odds"):
        def make(constraint=constraint):
            return ThresholdOptimizer(estimator=clone(baseline), constraints=constraint,
                                      predict_method="predict_proba")
        acc, gap = _fold_scores(
            make, X, y, folds,
            fit_kw=lambda idx: {"sensitive_features": sex[idx]},
            predict_kw=lambda idx: {"sensitive_features": sex[idx], "random_state": 0},
        )
        rows.append(("fairlearn", f"ThresholdOptimizer {constraint}", acc, gap))

    # AIF360 (sklearn API: the protected attribute lives in the index of X)
    try:
        from aif360.sklearn.postprocessing import CalibratedEqualizedOdds, PostProcessingMeta
        from aif360.sklearn.preprocessing import Reweighing, ReweighingMeta
    except ImportError:
        print("aif360 not installed: AIF360 peers skipped")
        return rows
    Xi = X.set_index("sex", append=True, drop=False)
    Xi.index = Xi.index.set_names([None, "sex"])
    yi = pd.Series(y, index=Xi.index)

    def aif_scores(make):
        accs, gaps = [], []
        for train, test in folds:
            model = make().fit(Xi.iloc[train], yi.iloc[train])
            pred = np.asarray(model.predict(Xi.iloc[test]))
            accs.append((pred == y[test]).mean())
            gaps.append(statistical_parity_difference(y[test], pred,
                                                      sensitive_features=sex[test]))
        return float(np.mean(accs)), float(np.mean(gaps))

    def reweigh():
        return ReweighingMeta(estimator=clone(baseline), reweigher=Reweighing("sex"))

    # ReweighingMeta passes sample_weight to the estimator: a Pipeline needs routing
    class _Weighted(Pipeline):
        def fit(self, X, y, sample_weight=None):
            return super().fit(X, y, model__sample_weight=sample_weight)

    def reweigh_pipe():
        pipe = _Weighted(clone(baseline).steps)
        return ReweighingMeta(estimator=pipe, reweigher=Reweighing("sex"))

    try:
        acc, gap = aif_scores(reweigh_pipe)
        rows.append(("aif360", "ReweighingMeta", acc, gap))
    except Exception as exc:  # report, do not hide
        print(f"aif360 ReweighingMeta failed: {type(exc).__name__}: {exc}")
    try:
        def ceo():
            return PostProcessingMeta(
                estimator=clone(baseline),
                postprocessor=CalibratedEqualizedOdds("sex", cost_constraint="weighted"),
                random_state=0)
        acc, gap = aif_scores(ceo)
        rows.append(("aif360", "CalibratedEqualizedOdds", acc, gap))
    except Exception as exc:
        print(f"aif360 CalibratedEqualizedOdds failed: {type(exc).__name__}: {exc}")
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    X, y, ctx = adult()
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    if not args.skip_timing:
        timing(X, y, ctx, folds)

    ours = compare_mitigators(default_methods(ctx), X, y, scoring=scoring(), cv=folds,
                              n_jobs=2).table
    peer_rows = peers(X, y, ctx, folds)
    base = ours[ours["method"] == "baseline"]
    peer_table = pd.DataFrame(peer_rows, columns=["library", "method", "accuracy", "spd"])
    peer_table = pd.concat([
        pd.DataFrame({"library": "both", "method": "baseline",
                      "accuracy": base["accuracy"], "spd": base["spd"]}),
        peer_table,
    ], ignore_index=True)
    print("\nfairkit candidates (3-fold CV on Adult):")
    print(ours[["method", "params", "accuracy", "spd"]].to_string(index=False))
    print("\nPeer candidates on the same folds:")
    print(peer_table.to_string(index=False))
    hv_ours, n_ours = front_hv(ours["accuracy"], ours["spd"])
    print(f"\nReference point (accuracy, |SPD|) = {REFERENCE}")
    print(f"fairkit front: {n_ours} points, hypervolume {hv_ours:.5f}")
    for lib in ("fairlearn", "aif360"):
        sub = peer_table[peer_table["library"].isin([lib, "both"])]
        if len(sub) > 1:
            hv, n = front_hv(sub["accuracy"], sub["spd"])
            print(f"{lib:9s} front: {n} points, hypervolume {hv:.5f}   "
                  f"fairkit / {lib} = {hv_ours / hv:.2f}")


if __name__ == "__main__":
    main()
