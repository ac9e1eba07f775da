"""FairTTTS reproduction and speed benchmark (run on demand, not part of the test suite).

    /work/venv/bin/python benchmarks/bench_fairttts.py [--quick] [--skip-speed] [--skip-cv]
        [--study] [--exact-all]

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
   values) for 100-tree forests trained on adult.data (fully grown, max_depth=15 and 10):
   the forest's own predict_proba (n_jobs=1), FairTTTS with the compiled numba engine
   (sample mode S=1 and S=100 per tree; exact mode with tol = 1e-2, 1e-3, 1e-4, 0), the
   numpy reference engine, and a per-sample Python Monte-Carlo traversal written here
   after the authors' approach (one traversal per tree, Python loop over samples and
   nodes). Expensive cases run on the first rows only; every time is reported per 1,000
   rows, as a median over the repeats, with the ratio to the forest's predict_proba and
   to the Python loop measured in the same run. The numba compile time (first call) is
   printed separately and excluded. Also printed: nodes touched per row by the exact walk
   (summed over trees) for each tol, against the untreated forest's path length.

3. ``--study``: Adult (sex) per fold: untreated forest, TTTS (alpha=1) and FairTTTS for
   alpha in {1, 3, 9, 20}, sampled (S=1 per tree) and exact (tol=1e-2; tol=1e-3 for
   alpha 1 and 9); disparate impact per fold and paired differences (t-test).
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
            if exact_all or len(X) < 10_000:  # ~30 s per Adult fold (numba)
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


def _count_kernel():
    """numba kernel counting the nodes the exact walk touches per row (benchmark only)."""
    from numba import njit

    @njit(nogil=True)
    def count(X, unpriv, table, roots, max_depth, p_max, alpha, tol):
        n_trees = roots.shape[0]
        out = np.zeros(X.shape[0])
        stack_node = np.empty(max_depth + 2, np.int64)
        stack_mass = np.empty(max_depth + 2)
        for i in range(X.shape[0]):
            for t in range(n_trees):
                stack_node[0], stack_mass[0], top = roots[t], 1.0, 1
                while top > 0:
                    top -= 1
                    node, mass = stack_node[top], stack_mass[top]
                    out[i] += 1
                    while table[node, 0] >= 0:
                        row = table[node]
                        xv = np.float64(X[i, int(row[2])])
                        go_left = xv <= row[3]
                        p = min(max(p_max - abs(xv - row[3]) / row[4], 0.0), 0.5)
                        if unpriv[i] and row[6] == (1.0 if go_left else 0.0):
                            p = min(alpha * p, 0.5)
                        default = int(row[0]) if go_left else int(row[1])
                        other = int(row[1]) if go_left else int(row[0])
                        if mass * p > tol:
                            stack_node[top], stack_mass[top] = other, mass * p
                            top += 1
                            mass = mass - mass * p
                        node = default
                        out[i] += 1
        return out

    return count


def nodes_touched(est, Z, unpriv, tol):
    """Mean nodes visited per row over all trees by the exact walk with this tol."""
    from fairkit.postprocessing.fairttts import _node_table

    a = est.arrays_
    table = _node_table(a, "distance", est.p_max, est.protected_split_)
    count = _count_kernel()
    return float(count(np.ascontiguousarray(Z, dtype=np.float32), unpriv, table, a.roots,
                       a.max_depth, est.p_max, est.alpha, tol).mean())


def _adult_split():
    train, test = load_adult(subset="train"), load_adult(subset="test")

    def prep(b):
        X = _encode(b.data.drop(columns=["sex"]))
        return X.assign(sex=(b.data["sex"].astype(str) == "Male").astype(float).to_numpy())

    # encode with the union of categories so train and test codes agree
    both = pd.concat([train.data, test.data], ignore_index=True)
    enc = prep(type(train)(data=both))
    Xtr, Xte = enc.iloc[: len(train.data)], enc.iloc[len(train.data):]
    return Xtr, np.asarray(train.target).astype(int), Xte


def run_speed(quick=False, reps=3):
    """Predict time on Adult's test split; compile time of the numba kernels excluded."""
    Xtr, ytr, Xte = _adult_split()
    if quick:
        Xte = Xte.iloc[:2000]
    n = len(Xte)
    unpriv = Xte["sex"].to_numpy() == 0
    prot_idx = list(Xte.columns).index("sex")
    common = dict(prot_attr="sex", priv_group=1.0, prefit=True)
    sub, py_sub = min(n, 1000), 200
    Xsub = Xte.iloc[:sub]
    for max_depth in (None, 15, 10):
        rf = RandomForestClassifier(n_estimators=100, max_depth=max_depth, random_state=0,
                                    n_jobs=2).fit(Xtr, ytr)
        rf.set_params(n_jobs=1)
        nodes = np.mean([e.tree_.node_count for e in rf.estimators_])
        depth = np.mean([e.tree_.max_depth for e in rf.estimators_])
        print(f"\nSpeed: Adult test split, {n} rows, 100 trees, max_depth={max_depth} "
              f"({nodes:.0f} nodes, depth {depth:.0f} per tree on average), one thread")
        make = lambda rf=rf, **kw: FairTTTSClassifier(rf, **common, **kw).fit(Xtr)  # noqa: E731
        t0 = time.perf_counter()
        make(engine="numba", method="exact").predict_proba(Xte.iloc[:5])
        make(engine="numba", method="sample").predict_proba(Xte.iloc[:5])
        if max_depth is None:
            print(f"numba compile + first call (excluded below): "
                  f"{time.perf_counter() - t0:.1f} s")
        # (label, estimator or None for the forest, rows, repeats)
        cases = [("forest predict_proba", None, n, reps)]
        for S in (1, 100):
            rows = n if S == 1 else sub
            cases.append((f"numba sample S={S}/tree", make(engine="numba", method="sample",
                                                          n_simulations=S, random_state=0),
                          rows, reps))
        tols = (1e-2, 1e-3, 1e-4, 0.0)
        for tol in tols:
            rows = n if tol >= 1e-3 else sub
            if tol == 0.0 and max_depth is None:
                rows = 200
            cases.append((f"numba exact tol={tol:g}", make(engine="numba", tol=tol), rows,
                          reps if rows == n and tol >= 1e-3 else 1))
        cases.append(("numpy sample S=1/tree", make(engine="numpy", method="sample",
                                                    n_simulations=1, random_state=0),
                      sub, 1))
        cases.append(("numpy exact tol=1e-3", make(engine="numpy", tol=1e-3), sub, 1))
        cases.append(("numba exact tol=1e-3, n_jobs=2", make(engine="numba", tol=1e-3,
                                                            n_jobs=2), n, 1))
        res = {}
        for label, est, rows, r in cases:
            Xr = Xte.iloc[:rows]
            fn = (lambda Xr=Xr, rf=rf: rf.predict_proba(Xr)) if est is None else (
                lambda est=est, Xr=Xr: est.predict_proba(Xr))
            res[label] = (timeit(fn, r) / rows * 1000, rows, r)
        t_py = None
        if max_depth is None:
            t_py = timeit(lambda rf=rf: python_per_sample_mc(rf, Xte.iloc[:py_sub], unpriv[:py_sub],
                                                       prot_idx, 1), 1) / py_sub * 1000
        ex = make(tol=0.0)
        touched = {tol: nodes_touched(ex, Xsub.to_numpy(np.float32)[:300], unpriv[:300], tol)
                   for tol in tols}
        path = nodes_touched(make(p_max=0.0), Xsub.to_numpy(np.float32)[:300], unpriv[:300],
                             0.0)
        base = res["forest predict_proba"][0]
        print(f"{'method':34s} {'rows':>6s} {'reps':>4s} {'ms/1000 rows':>13s} "
              f"{'x forest':>9s} {'Python MC / this':>16s}")
        for k, (v, rows, r) in res.items():
            vs_py = f"{t_py / v:16.1f}" if t_py else f"{'':>16s}"
            print(f"{k:34s} {rows:6d} {r:4d} {1000 * v:13.1f} {v / base:9.1f} {vs_py}")
        if t_py:
            print(f"{'Python per-sample MC, S=1/tree':34s} {py_sub:6d} {1:4d} "
                  f"{1000 * t_py:13.1f} {t_py / base:9.1f}")
        print(f"nodes touched per row over 100 trees: untreated path {path:.0f}; exact "
              + ", ".join(f"tol={t:g}: {touched[t]:.0f} ({touched[t] / path:.0f}x)"
                          for t in tols))


def run_adult_sex_study(n_splits=5, alphas=(1.0, 3.0, 9.0, 20.0)):
    """Adult (sex): per-fold DI of the untreated forest, TTTS and FairTTTS; paired test."""
    from scipy import stats

    name, X, y, col, fav = tasks()[0]
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=42)
    prot_all = X[col].to_numpy()
    rows = []
    for fold, (tr, te) in enumerate(skf.split(X, y)):
        Xtr, Xte, ytr, yte = X.iloc[tr], X.iloc[te], y[tr], y[te]
        prot = prot_all[te]
        rf = RandomForestClassifier(n_estimators=100, random_state=111, n_jobs=2).fit(Xtr, ytr)
        rf.set_params(n_jobs=1)
        res = {"untreated": rf.predict(Xte)}
        common = dict(prot_attr=col, priv_group=1.0, pos_label=fav, p_max=0.1, prefit=True)
        for a in alphas:
            res[f"sample S=1, alpha={a:g}"] = FairTTTSClassifier(
                rf, method="sample", n_simulations=1, random_state=fold, alpha=a, **common
            ).fit(Xtr).predict(Xte)
            res[f"exact tol=1e-2, alpha={a:g}"] = FairTTTSClassifier(
                rf, tol=1e-2, alpha=a, **common).fit(Xtr).predict(Xte)
        for a in (1.0, 9.0):
            est = FairTTTSClassifier(rf, tol=1e-3, alpha=a, **common).fit(Xtr)
            res[f"exact tol=1e-3, alpha={a:g}"] = est.predict(Xte)
        for method, pred in res.items():
            acc, di, eod = metrics(yte, np.asarray(pred), prot, fav)
            rows.append(dict(method=method, fold=fold, accuracy=acc, disparate_impact=di,
                             eod=eod, pos_rate_unpriv=(pred[prot == 0] == fav).mean(),
                             pos_rate_priv=(pred[prot == 1] == fav).mean()))
        print(f"fold {fold}: {est.n_protected_splits_} protected splits in 100 trees",
              flush=True)
    df = pd.DataFrame(rows)
    wide = df.pivot(index="fold", columns="method", values="disparate_impact")
    print("\nAdult (sex): disparate impact per fold")
    print(wide.round(4).T.to_string())
    summary = df.groupby("method", sort=False)[
        ["accuracy", "disparate_impact", "eod", "pos_rate_unpriv", "pos_rate_priv"]].mean()
    print(summary.round(4).to_string())
    print("\nPaired differences in DI vs the untreated forest (mean, sd, t-test p, folds up):")
    for m in wide.columns:
        if m == "untreated":
            continue
        d = wide[m] - wide["untreated"]
        p = stats.ttest_rel(wide[m], wide["untreated"]).pvalue
        print(f"  {m:28s} {d.mean():+.4f} {d.std():.4f} p={p:.3f} {int((d > 0).sum())}/5")
    return df


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--study", action="store_true",
                        help="Adult (sex) per-fold study: TTTS vs FairTTTS, alpha sweep")
    parser.add_argument("--exact-all", action="store_true",
                        help="also run exact mode on Adult in the CV")
    args = parser.parse_args()
    if args.study:
        run_adult_sex_study()
    if not args.skip_cv:
        run_cv(quick=args.quick, exact_all=args.exact_all)
    if not args.skip_speed:
        run_speed(quick=args.quick)
