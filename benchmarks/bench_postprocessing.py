"""Post-processing speed: fairkit vs AIF360 on COMPAS and on synthetic rows.

    python benchmarks/bench_postprocessing.py [--rows 1000000] [--repeats 3]
                                              [--predict-repeats 50] [--only-predict]
                                              [--aif-roc-grid 10 5] [--skip-compas-roc]

Both libraries get the same scores/predictions of an already fitted model, so only the
post-processing is timed (fit on the data, then predict on it). AIF360's inputs
(BinaryLabelDataset) are built before the clock starts; fairkit's estimator is a prefit
"score column" model, so its time includes reading the groups from X. Pairs timed:

* EqualizedOddsPostprocessor(objective="balanced_accuracy") vs EqOddsPostprocessing
* CalibratedEqualizedOdds("weighted") vs CalibratedEqOddsPostprocessing("weighted")
* RejectOptionClassifier vs RejectOptionClassification, SPD bound +-0.05, same grid
  (AIF360's default 100 x 50 on COMPAS; on the large data AIF360 gets a smaller grid,
  ``--aif-roc-grid``, since each grid point is a full Python pass, and fairkit is timed on
  that grid and on the default one).

Median wall time over ``--repeats`` (AIF360's reject option: one run) and the ratio
AIF360 / fairkit, measured in the same process.

Predict overhead on Adult (``--predict-repeats``, issue 18): a one-hot + logistic
regression pipeline fitted on 70% of Adult; ``EqualizedOddsPostprocessor(prefit=True)``
fitted on the same rows; on the other 30% the medians (interleaved repeats) of the model's
own ``predict``, fairkit's ``predict`` and its two parts beyond the model -- the layer's
input check (``_predict_input``: X and the protected column) and the rule (the mixing
lookup and the draws, timed on the model's decisions) -- against AIF360's
``EqOddsPostprocessing.predict`` on a BinaryLabelDataset that already holds the model's
decisions (its whole predict is overhead: it never calls the model). BLAS threads: 1.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from fairkit.postprocessing import (
    CalibratedEqualizedOdds,
    EqualizedOddsPostprocessor,
    RejectOptionClassifier,
)

logging.disable(logging.WARNING)
warnings.filterwarnings("ignore")


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """A 'fitted model' whose probability of class 1 is column 1 of X."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        s = np.asarray(X)[:, 1]
        return np.c_[1 - s, s]

    def predict(self, X):
        return (np.asarray(X)[:, 1] > 0.5).astype(int)


def compas_scores():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from fairkit.datasets import load_compas

    b = load_compas()
    keep = b.data["race"].isin(["African-American", "Caucasian"]).to_numpy()
    d = b.data.loc[keep]
    feats = pd.get_dummies(d[["sex", "age_cat", "c_charge_degree"]].astype(str)).astype(float)
    feats[["age", "priors_count", "juv_fel_count"]] = d[["age", "priors_count",
                                                          "juv_fel_count"]].to_numpy()
    y = 1 - b.target.to_numpy()[keep]  # 1 = favourable (no recidivism)
    s = cross_val_predict(LogisticRegression(max_iter=1000), feats.to_numpy(), y, cv=5,
                          method="predict_proba")[:, 1]
    a = (d["race"] == "Caucasian").to_numpy().astype(int)  # 1 = privileged
    return a, s, y


def synthetic_scores(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 0.8 * a - 0.3)))
    y = (rng.random(n) < s).astype(int)
    return a, s, y


def aif_datasets(a, s, y):
    from aif360.datasets import BinaryLabelDataset

    df = pd.DataFrame({"a": a.astype(float), "y": y.astype(float)})
    true = BinaryLabelDataset(df=df, label_names=["y"], protected_attribute_names=["a"],
                              favorable_label=1.0, unfavorable_label=0.0)
    pred = true.copy(deepcopy=True)
    pred.scores = s.reshape(-1, 1)
    pred.labels = (s > 0.5).astype(float).reshape(-1, 1)
    return true, pred


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench(name, a, s, y, repeats, aif_roc_grid, skip_roc):
    from aif360.algorithms.postprocessing import (
        CalibratedEqOddsPostprocessing,
        EqOddsPostprocessing,
        RejectOptionClassification,
    )

    X = np.c_[a, s]
    est = ScoreColumn().fit(X, y)
    true, pred = aif_datasets(a, s, y)
    groups = {"unprivileged_groups": [{"a": 0}], "privileged_groups": [{"a": 1}]}
    rows = []

    def ours_eo():
        EqualizedOddsPostprocessor(est, prot_attr=0, prefit=True, objective="balanced_accuracy",
                                   random_state=0).fit(X, y).predict(X)

    def aif_eo():
        EqOddsPostprocessing(seed=0, **groups).fit(true, pred).predict(pred)

    rows.append(("equalized odds", timed(ours_eo, repeats), timed(aif_eo, repeats), ""))

    def ours_ceo():
        CalibratedEqualizedOdds(est, prot_attr=0, prefit=True, cost_constraint="weighted",
                                random_state=0).fit(X, y).predict(X)

    def aif_ceo():
        CalibratedEqOddsPostprocessing(cost_constraint="weighted", seed=0,
                                       **groups).fit(true, pred).predict(pred)

    rows.append(("calibrated equalized odds", timed(ours_ceo, repeats),
                 timed(aif_ceo, repeats), ""))

    if not skip_roc:
        nt, nm = aif_roc_grid

        def ours_roc(nt=nt, nm=nm):
            RejectOptionClassifier(est, prot_attr=0, priv_group=1, prefit=True, n_thresholds=nt,
                                   n_margins=nm).fit(X, y).predict(X)

        def aif_roc():
            RejectOptionClassification(num_class_thresh=nt, num_ROC_margin=nm,
                                       **groups).fit(true, pred).predict(pred)

        rows.append((f"reject option, grid {nt}x{nm}", timed(ours_roc, repeats),
                     timed(aif_roc, 1), ""))
        if (nt, nm) != (100, 50):
            rows.append(("reject option, fairkit default grid 100x50",
                         timed(lambda: ours_roc(100, 50), repeats), np.nan,
                         "no AIF360 run"))
    out = pd.DataFrame(rows, columns=["method", "fairkit s", "AIF360 s", "note"])
    out["AIF360 / fairkit"] = out["AIF360 s"] / out["fairkit s"]
    print(f"\n{name}: {len(y):,} rows")
    with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
        print(out.to_string(index=False))


def predict_overhead(repeats):
    """fairkit's equalized-odds predict beyond the model's own time vs AIF360's predict."""
    from aif360.algorithms.postprocessing import EqOddsPostprocessing
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from fairkit.datasets import load_adult

    b = load_adult()
    X, y01 = b.data, np.asarray(b.target).astype(int)  # 1 = ">50K"
    cat = X.select_dtypes(exclude="number").columns.tolist()
    num = X.select_dtypes("number").columns.tolist()
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), cat),
                                (StandardScaler(), num)),
        LogisticRegression(max_iter=500))
    rng = np.random.default_rng(0)
    train = rng.random(len(X)) < 0.7
    Xtr, Xte, ytr, yte = X[train], X[~train], y01[train], y01[~train]
    model.fit(Xtr, ytr)
    eo = EqualizedOddsPostprocessor(model, prot_attr="sex", prefit=True,
                                    objective="balanced_accuracy", random_state=0).fit(Xtr, ytr)
    a_te = (Xte["sex"] == "Male").to_numpy().astype(int)
    a_tr = (Xtr["sex"] == "Male").to_numpy().astype(int)
    groups = {"unprivileged_groups": [{"a": 0}], "privileged_groups": [{"a": 1}]}
    true_tr, pred_tr = aif_datasets(a_tr, model.predict_proba(Xtr)[:, 1], ytr)
    aif = EqOddsPostprocessing(seed=0, **groups).fit(true_tr, pred_tr)
    _, pred_te = aif_datasets(a_te, model.predict_proba(Xte)[:, 1], yte)
    X_model, codes = eo._predict_input(Xte, None)
    h = eo._model_output(X_model)
    rule_codes = eo._rule_code[codes]

    def rule():  # what the rule does beyond the model: lookup, draws, labels
        p = eo.mixing_rates_[rule_codes, h]
        return np.random.RandomState(0).random_sample(len(p)) < p

    fns = {"model predict": lambda: model.predict(Xte),
           "fairkit predict": lambda: eo.predict(Xte),
           "fairkit input check": lambda: eo._predict_input(Xte, None),
           "fairkit rule": rule,
           "AIF360 predict": lambda: aif.predict(pred_te)}
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    ms = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
    over = ms["fairkit predict"] - ms["model predict"]
    print(f"\nAdult predict overhead ({len(yte):,} rows, medians of {repeats} interleaved "
          "runs, ms)")
    for k, v in ms.items():
        print(f"  {k:<22} {v:8.3f}")
    print(f"  fairkit beyond model   {over:8.3f}   (input check {ms['fairkit input check']:.3f}"
          f" + rule {ms['fairkit rule']:.3f} + rest)")
    print(f"  AIF360 / fairkit overhead: {ms['AIF360 predict'] / over:.2f}; "
          f"AIF360 / fairkit rule alone: {ms['AIF360 predict'] / ms['fairkit rule']:.1f}")
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--aif-roc-grid", type=int, nargs=2, default=[10, 5])
    ap.add_argument("--skip-compas-roc", action="store_true")
    ap.add_argument("--predict-repeats", type=int, default=50)
    ap.add_argument("--only-predict", action="store_true",
                    help="only the Adult predict-overhead section")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    predict_overhead(args.predict_repeats)
    if args.only_predict:
        return
    a, s, y = compas_scores()
    bench("COMPAS (race, cross-validated LR scores)", a, s, y, args.repeats, (100, 50),
          args.skip_compas_roc)
    a, s, y = synthetic_scores(args.rows)
    bench("synthetic", a, s, y, args.repeats, tuple(args.aif_roc_grid), False)


if __name__ == "__main__":
    main()
