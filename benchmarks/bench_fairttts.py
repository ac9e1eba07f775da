"""FairTTTS reproduction and speed benchmark (run on demand, not part of the test suite).

    /work/venv/bin/python benchmarks/bench_fairttts.py [--quick] [--skip-speed] [--skip-cv]

1. Reproduction of the FairTTTS paper's protocol (Cohen-Inger et al. 2025) on Adult (sex),
   Adult (race) and COMPAS (race): 5-fold stratified CV (shuffle, seed 42), RandomForest with
   100 trees (scikit-learn defaults, random_state=111 as in the authors' script), alpha=9,
   p_max=0.1, distance rule. Compared: the untreated forest, FairTTTS (Monte-Carlo, one
   traversal per tree as the authors' forest code; and, on COMPAS, or on every task with
   --exact-all, the exact expectation with tol=1e-3), reject-option classification (the
   authors' simple band rule: inside
   0.5 +- 0.05 an unprivileged sample gets the favourable label) and fairlearn's
   ThresholdOptimizer (equalized odds, prefit on the training fold). Metrics as in the
   paper: accuracy, disparate impact P(yhat=fav | unpriv) / P(yhat=fav | priv), and EOD =
   |TPR_priv - TPR_unpriv| with the favourable class as positive.

   Encoding (no test-fold leak): categorical columns become integer codes of their sorted
   category names (fixed by the data dictionary, no label information), instead of the
   authors' target encoder fitted on all rows. Protected groups follow the authors:
   Adult sex: Male privileged; Adult race: Black unprivileged, every other race
   privileged; COMPAS race: African-American unprivileged, others privileged, favourable
   class = no two-year recidivism (0).

2. Predict time on Adult's test split (adult.test, 15,060 rows after dropping missing
   values) for a 100-tree forest trained on adult.data: the forest's own predict_proba
   (n_jobs=1), FairTTTS sample mode (S=1 per tree, and S=100 per tree), exact mode (with
   tol = 1e-3 and 1e-4 on all rows; tol=0 on a subset), and a per-sample Python Monte-Carlo
   traversal written here after the authors' approach (one traversal per tree, Python loop
   over samples and nodes), timed on a subset and reported per 1,000 rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold

from fairkit.datasets import load_adult, load_compas
from fairkit.postprocessing import FairTTTSClassifier


def _encode(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            cats = sorted(pd.Series(out[col]).astype(str).unique())
            out[col] = pd.Categorical(out[col].astype(str), categories=cats).codes
    return out.astype(np.float64)


def tasks():
    adult = load_adult(subset="train")
    Xa, ya = adult.data.copy(), (np.asarray(adult.target) == 1).astype(int)
    sex = (Xa["sex"].astype(str) == "Male").astype(float)
    race = (Xa["race"].astype(str) != "Black").astype(float)
    X_sex = _encode(Xa.drop(columns=["sex"])).assign(sex=sex.to_numpy())
    X_race = _encode(Xa.drop(columns=["race"])).assign(race=race.to_numpy())
    compas = load_compas()
    cols = ["sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count",
            "priors_count", "c_charge_degree", "score_text", "v_score_text"]
    Xc = compas.data[cols].copy()
    crace = (Xc["race"].astype(str) != "African-American").astype(float)
    X_c = _encode(Xc.drop(columns=["race"])).assign(race=crace.to_numpy())
    yc = np.asarray(compas.target).astype(int)
    return [
        ("Adult (sex)", X_sex, ya, "sex", 1),
        ("Adult (race)", X_race, ya, "race", 1),
        ("COMPAS (race)", X_c, yc, "race", 0),
    ]


def metrics(y, pred, prot, fav):
    acc = float((pred == y).mean())
    rate_u = (pred[prot == 0] == fav).mean()
    rate_p = (pred[prot == 1] == fav).mean()
    tpr_u = (pred[(prot == 0) & (y == fav)] == fav).mean()
    tpr_p = (pred[(prot == 1) & (y == fav)] == fav).mean()
    return acc, float(rate_u / rate_p), float(abs(tpr_p - tpr_u))


def reject_option(proba_fav, prot, fav, band=0.05):
    pred_fav = proba_fav > 0.5
    inside = (proba_fav > 0.5 - band) & (proba_fav < 0.5 + band) & (prot == 0)
    pred_fav = pred_fav | inside
    return np.where(pred_fav, fav, 1 - fav)


def run_cv(n_splits=5, n_estimators=100, quick=False, exact_all=False):
    rows = []
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=42)
    for name, X, y, col, fav in tasks():
        if quick:
            X, y = X.iloc[:4000], y[:4000]
        prot_all = X[col].to_numpy()
        for fold, (tr, te) in enumerate(skf.split(X, y)):
            Xtr, Xte, ytr, yte = X.iloc[tr], X.iloc[te], y[tr], y[te]
            prot = prot_all[te]
            rf = RandomForestClassifier(n_estimators=n_estimators, random_state=111, n_jobs=2)
            rf.fit(Xtr, ytr)
            rf.set_params(n_jobs=1)
            fav_idx = list(rf.classes_).index(fav)
            proba = rf.predict_proba(Xte)
            res = {"untreated forest": rf.classes_[proba.argmax(axis=1)]}
            common = dict(prot_attr=col, priv_group=1.0, pos_label=fav, alpha=9.0, p_max=0.1,
                          prefit=True)
            t0 = time.perf_counter()
            sample = FairTTTSClassifier(rf, method="sample", n_simulations=1,
                                        random_state=fold, **common).fit(Xtr)
            res["FairTTTS sample (S=1/tree)"] = sample.predict(Xte)
            t1 = time.perf_counter()
            if exact_all or len(X) < 10_000:  # ~150 s per Adult fold on one core
                exact = FairTTTSClassifier(rf, method="exact", tol=1e-3, **common).fit(Xtr)
                res["FairTTTS exact (tol=1e-3)"] = exact.predict(Xte)
            t2 = time.perf_counter()
            res["reject option (band 0.05)"] = reject_option(proba[:, fav_idx], prot, fav)
            to = ThresholdOptimizer(estimator=rf, constraints="equalized_odds", prefit=True,
                                    predict_method="predict_proba")
            to.fit(Xtr, ytr, sensitive_features=prot_all[tr])
            res["ThresholdOptimizer (EO)"] = to.predict(Xte, sensitive_features=prot,
                                                       random_state=fold)
            for method, pred in res.items():
                acc, di, eod = metrics(yte, np.asarray(pred), prot, fav)
                rows.append(dict(task=name, method=method, fold=fold, accuracy=acc,
                                 disparate_impact=di, eod=eod))
            print(f"{name} fold {fold}: sample {t1 - t0:.1f}s, exact {t2 - t1:.1f}s",
                  flush=True)
    df = pd.DataFrame(rows)
    table = df.groupby(["task", "method"], sort=False)[["accuracy", "disparate_impact", "eod"]]
    summary = table.agg(["mean", "std"]).round(4)
    print(summary.to_string())
    return df


# --------------------------------------------------------------------------------------
# speed
# --------------------------------------------------------------------------------------
def python_per_sample_mc(rf, X, unpriv, prot_idx, fav_idx, alpha=9.0, seed=0):
    """Per-sample Monte-Carlo traversal in Python (the authors' approach), one per tree."""
    rng = np.random.default_rng(seed)
    infos = []
    for e in rf.estimators_:
        t = e.tree_
        internal = t.children_left >= 0
        value = t.value[:, 0, :] / t.value[:, 0, :].sum(axis=1, keepdims=True)
        unfav_left = np.zeros(t.node_count, dtype=np.int8) - 1
        fl, fr = value[np.maximum(t.children_left, 0), fav_idx], value[
            np.maximum(t.children_right, 0), fav_idx]
        unfav_left[internal & (fl < fr)] = 1
        unfav_left[internal & (fr < fl)] = 0
        infos.append((t.children_left, t.children_right, t.feature, t.threshold, value,
                      np.abs(t.threshold[internal]).max(), unfav_left))
    X = np.asarray(X, dtype=np.float32)
    out = np.zeros((len(X), rf.n_classes_))
    for i in range(len(X)):
        x = X[i]
        for left, right, feat, thr, value, D, unfav_left in infos:
            node = 0
            while left[node] >= 0:
                f, t = feat[node], thr[node]
                go_left = x[f] <= t
                p = min(max(0.1 - abs(x[f] - t) / D, 0.0), 0.5)
                if f == prot_idx and unpriv[i] and unfav_left[node] == go_left:
                    p = min(alpha * p, 0.5)
                flip = rng.random() < p
                node = left[node] if go_left != flip else right[node]
            out[i] += value[node]
    return out / len(infos)


def timeit(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run_speed(quick=False):
    train, test = load_adult(subset="train"), load_adult(subset="test")

    def prep(b):
        X = _encode(b.data.drop(columns=["sex"]))
        return X.assign(sex=(b.data["sex"].astype(str) == "Male").astype(float).to_numpy())

    # encode with the union of categories so train and test codes agree
    both = pd.concat([train.data, test.data], ignore_index=True)
    enc = prep(type(train)(data=both))
    Xtr, Xte = enc.iloc[: len(train.data)], enc.iloc[len(train.data):]
    ytr = np.asarray(train.target).astype(int)
    if quick:
        Xte = Xte.iloc[:2000]
    rf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=2).fit(Xtr, ytr)
    rf.set_params(n_jobs=1)
    n = len(Xte)
    nodes = np.mean([e.tree_.node_count for e in rf.estimators_])
    depth = np.mean([e.tree_.max_depth for e in rf.estimators_])
    print(f"\nSpeed: Adult test split, {n} rows, 100 trees ({nodes:.0f} nodes and depth "
          f"{depth:.0f} per tree on average), one core")
    common = dict(prot_attr="sex", priv_group=1.0, prefit=True)
    res = {}
    res["forest predict_proba"] = timeit(lambda: rf.predict_proba(Xte))
    s1 = FairTTTSClassifier(rf, method="sample", n_simulations=1, random_state=0,
                            **common).fit(Xtr)
    res["FairTTTS sample, S=1 per tree"] = timeit(lambda: s1.predict_proba(Xte))
    s100 = FairTTTSClassifier(rf, method="sample", n_simulations=100, random_state=0,
                              **common).fit(Xtr)
    res["FairTTTS sample, S=100 per tree"] = timeit(lambda: s100.predict_proba(Xte), 1)
    for tol in (1e-3, 1e-4):
        ex = FairTTTSClassifier(rf, tol=tol, **common).fit(Xtr)
        res[f"FairTTTS exact, tol={tol:g}"] = timeit(lambda ex=ex: ex.predict_proba(Xte), 1)
    sub = 200
    ex0 = FairTTTSClassifier(rf, tol=0.0, **common).fit(Xtr)
    t_exact0 = timeit(lambda: ex0.predict_proba(Xte.iloc[:sub]), 1)
    unpriv = Xte["sex"].to_numpy() == 0
    prot_idx = list(Xte.columns).index("sex")
    t_py = timeit(lambda: python_per_sample_mc(rf, Xte.iloc[:sub], unpriv[:sub], prot_idx, 1),
                  1)
    base = res["forest predict_proba"]
    print(f"{'method':40s} {'seconds':>9s} {'x forest':>9s} {'s/1000 rows':>12s}")
    for k, v in res.items():
        print(f"{k:40s} {v:9.3f} {v / base:9.1f} {1000 * v / n:12.4f}")
    per_k_exact0 = 1000 * t_exact0 / sub
    per_k_py = 1000 * t_py / sub
    print(f"{'FairTTTS exact, tol=0 (first ' + str(sub) + ' rows)':40s} {t_exact0:9.3f} "
          f"{'':>9s} {per_k_exact0:12.4f}")
    print(f"{'Python per-sample MC, S=1 (' + str(sub) + ' rows)':40s} {t_py:9.3f} "
          f"{'':>9s} {per_k_py:12.4f}")
    s1_per_k = 1000 * res["FairTTTS sample, S=1 per tree"] / n
    print("\nPer-row ratios (Python per-sample MC / fairkit), same traversal count:")
    print(f"  sample S=1 vectorised vs Python S=1: {per_k_py / s1_per_k:.1f}x faster")
    for tol in (1e-3, 1e-4):
        k = f"FairTTTS exact, tol={tol:g}"
        print(f"  exact tol={tol:g} vs Python S=1: {per_k_py / (1000 * res[k] / n):.1f}x")
    print(f"  exact tol=0 vs Python S=1: {per_k_py / per_k_exact0:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--exact-all", action="store_true",
                        help="also run exact mode on Adult in the CV (about 25 minutes)")
    args = parser.parse_args()
    if not args.skip_cv:
        run_cv(quick=args.quick, exact_all=args.exact_all)
    if not args.skip_speed:
        run_speed(quick=args.quick)
