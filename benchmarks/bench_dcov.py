"""Benchmarks for the distance-covariance regularised models (run on demand).

    python benchmarks/bench_dcov.py            # all sections
    python benchmarks/bench_dcov.py speed      # penalty + gradient time vs n
    python benchmarks/bench_dcov.py train      # GLM on 1M synthetic rows
    python benchmarks/bench_dcov.py compas     # lambda tables on COMPAS (sex, race, age)

speed: the O(n log n) sort-based penalty+gradient (categorical and 1-D continuous
attributes) against the O(n^2) formula (dense n x n path) and against dcor's value-only
computation (numba-compiled; its O(n log n) algorithm for two 1-D inputs, O(n^2) for a
one-hot attribute), with log-log slopes and ratios measured in the same run.
"""

from __future__ import annotations

import sys
import time

import dcor
import numpy as np
import pandas as pd

from fairkit.inprocessing import DCovRegularizedClassifier, DCovRegularizedRegressor
from fairkit.inprocessing import _dcov_kernels as dcov_module
from fairkit.inprocessing._dcov_penalty import _Penalty
from fairkit.metrics import encode_protected_attributes


def _median_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _slope(ns, ts):
    ns, ts = np.asarray(ns, float), np.asarray(ts, float)
    ok = np.isfinite(ts)
    return float(np.polyfit(np.log(ns[ok]), np.log(ts[ok]), 1)[0])


def speed(ns=(1_000, 2_000, 4_000, 10_000, 100_000, 1_000_000), dense_max=4_000):
    rng = np.random.default_rng(0)
    dcor.u_distance_covariance_sqr(rng.random(50), rng.random(50))  # numba warm-up
    dcov_module._numba_kernels()  # compile once, outside the timings
    rows = []
    for n in ns:
        x = rng.random(n)
        race = rng.integers(0, 6, n)
        age = rng.normal(size=n)
        cat = encode_protected_attributes(race, categorical=True).blocks
        cont = [age[:, None]]
        row = {"n": n}
        for name, blocks in (("categorical", cat), ("continuous", cont)):
            pen = _Penalty(blocks, "dcov", "u", method="fast")
            row[f"fast_{name}"] = _median_time(lambda pen=pen, x=x: pen(x))
            if name == "continuous":  # the numpy merge-sort engine, for comparison
                saved, dcov_module.NUMBA_MIN_ROWS = dcov_module.NUMBA_MIN_ROWS, 10**12
                pen = _Penalty(blocks, "dcov", "u", method="fast")
                dcov_module.NUMBA_MIN_ROWS = saved
                row["fast_cont_numpy"] = _median_time(lambda pen=pen, x=x: pen(x))
            if n <= dense_max:
                dense = _Penalty(blocks, "dcov", "u", method="dense")
                row[f"dense_{name}"] = _median_time(lambda d=dense, x=x: d(x))
            else:
                row[f"dense_{name}"] = np.nan
        row["dcor_continuous"] = _median_time(
            lambda x=x, age=age: dcor.u_distance_covariance_sqr(x, age))
        row["dcor_categorical"] = (
            _median_time(lambda x=x, s=cat[0]: dcor.u_distance_covariance_sqr(x, s), repeat=1)
            if n <= dense_max
            else np.nan
        )
        rows.append(row)
        print({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()},
              flush=True)
    table = pd.DataFrame(rows).set_index("n")
    print(f"\nseconds per penalty+gradient (dcor: value only); the fast kernels switch from "
          f"numpy to compiled numba code at {dcov_module.NUMBA_MIN_ROWS} rows, "
          "fast_cont_numpy stays on numpy")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print("\nlog-log slope of time vs n (1 = linear, 2 = quadratic):")
    for col in table.columns:
        print(f"  {col:18s} {_slope(table.index, table[col]):.2f}")
    big = table[table.index >= dcov_module.NUMBA_MIN_ROWS]
    if len(big) > 1:
        print(f"  {'fast_continuous, numba rows only':18s} "
              f"{_slope(big.index, big['fast_continuous']):.2f}")
    print("\nratios in this run:")
    for n in table.index:
        r = table.loc[n]
        parts = [f"n={n}:"]
        parts.append(f"fast_cont / dcor_cont (value only) = "
                     f"{r['fast_continuous'] / r['dcor_continuous']:.2f}")
        if np.isfinite(r["dense_categorical"]):
            fc, fo = r["fast_categorical"], r["fast_continuous"]
            parts.append(f"dense_cat / fast_cat = {r['dense_categorical'] / fc:.1f}")
            parts.append(f"dense_cont / fast_cont = {r['dense_continuous'] / fo:.1f}")
            parts.append(f"dcor_cat (value) / fast_cat = {r['dcor_categorical'] / fc:.1f}")
        print("  " + "; ".join(parts))
    return table


def _synthetic(n, rng):
    sex = rng.integers(0, 2, n)
    race = rng.integers(0, 5, n)
    age = rng.uniform(18, 80, n)
    feats = rng.normal(size=(n, 8))
    feats[:, 0] += 0.8 * sex
    feats[:, 1] += 0.3 * race
    feats[:, 2] += 0.03 * (age - 45)
    logit = feats @ np.linspace(1.0, 0.2, 8) + 0.5 * sex - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(feats, columns=[f"x{j}" for j in range(8)])
    frame.insert(0, "sex", sex)
    frame.insert(1, "race", race.astype(str))
    frame.insert(2, "age", age)
    return frame, y, feats


def _profile_evaluation(frame, y, prot, penalty, repeat=5):
    """Median seconds of one objective evaluation and of its parts at the fitted size."""
    from fairkit.inprocessing._dcov_kernels import _Order
    from fairkit.inprocessing._dcov_model import _Objective, _pack

    clf = DCovRegularizedClassifier(prot_attr=prot, lam=20.0, penalty=penalty)
    Xm, prot_data = clf._model_matrix(frame, True)
    enc = encode_protected_attributes(prot_data.values)
    template = [[np.zeros((Xm.shape[1], 1)), np.zeros(1)]]
    obj = _Objective(clf, Xm, y.astype(float), None, enc.blocks, template)
    theta = _pack(template) + np.r_[np.linspace(0.5, -0.5, Xm.shape[1]), 0.1]
    p = 1 / (1 + np.exp(-(Xm @ theta[:-1] + theta[-1])))
    obj.penalty(p)  # compile / cache
    return {
        "objective": _median_time(lambda: obj(theta), repeat),
        "penalty+grad": _median_time(lambda: obj.penalty(p), repeat),
        "  sort (_Order)": _median_time(lambda: _Order(p), repeat),
    }


def train(n=1_000_000, repeat=3):
    import os

    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    frame, y, feats = _synthetic(n, rng)
    print(f"\n1M-row training (n={n}); load average at start {os.getloadavg()}")
    t_ref = _median_time(
        lambda: LogisticRegression(C=1.0 / (1e-4 * n), max_iter=200).fit(feats, y), repeat)
    ref = LogisticRegression(C=1.0 / (1e-4 * n), max_iter=200).fit(feats, y)
    print(f"peer: sklearn LogisticRegression (lbfgs) median {t_ref:.1f} s, "
          f"accuracy {ref.score(feats, y):.4f}")
    for prot, penalty in ((["sex", "race"], "ccdcov"), (["sex", "race", "age"], "dcov")):
        parts = _profile_evaluation(frame, y, prot, penalty)
        print(f"  one evaluation, {penalty}({' x '.join(prot)}), median of 5: "
              + ", ".join(f"{k.strip()} {v:.3f} s" for k, v in parts.items()))
    for label, kw, rep in (
        ("GLM lam=0", dict(prot_attr=["sex", "race"], lam=0.0), repeat),
        ("GLM ccdcov(sex x race) lam=20", dict(prot_attr=["sex", "race"], lam=20.0), repeat),
        ("GLM dcov(sex, race, age) lam=20", dict(prot_attr=["sex", "race", "age"], lam=20.0,
                                                 penalty="dcov", max_iter=30), 1),
    ):
        times = []
        for _ in range(rep):
            t = time.perf_counter()
            clf = DCovRegularizedClassifier(**kw).fit(frame, y)
            times.append(time.perf_counter() - t)
        el = float(np.median(times))
        p = clf.predict_proba(frame)[:, 1]
        sub = rng.choice(n, 20_000, replace=False)
        dc = dcor.distance_correlation(p[sub], frame["sex"].to_numpy(float)[sub])
        print(f"  {label:34s} median {el:6.1f} s of {rep} ({', '.join(f'{v:.1f}' for v in times)};"
              f" {clf.n_iter_} L-BFGS iterations, {el / max(clf.n_iter_, 1):.2f} s/iter, "
              f"x{el / t_ref:.1f} of sklearn)  accuracy {clf.score(frame, y):.4f}  "
              f"dCor(p, sex) {dc:.4f}")
    # regression with a continuous attribute (1-D fast path)
    age = frame["age"].to_numpy()
    target = feats[:, 2] + feats[:, 3] + 0.05 * (age - 45) + rng.normal(size=n)
    Xr = np.c_[age, feats]
    t = time.perf_counter()
    reg = DCovRegularizedRegressor(prot_attr=0, lam=1.0, penalty="dcov", max_iter=30).fit(
        Xr, target)
    el = time.perf_counter() - t
    sub = rng.choice(n, 20_000, replace=False)
    print(f"  {'regressor dcov(age cont.) lam=1':34s} {el:6.1f} s  ({reg.n_iter_} iterations, "
          f"{el / max(reg.n_iter_, 1):.2f} s/iter)  dCor(yhat, age) "
          f"{dcor.distance_correlation(reg.predict(Xr)[sub], age[sub]):.4f}")
    print(f"load average at end {os.getloadavg()}")


def _compas_frame(charges=False, top=20):
    """COMPAS model inputs: protected sex, race, age (continuous) + the usual features.

    ``charges=False``: log(1 + count) of priors and of juvenile felonies / misdemeanours /
    other offences, z-scored, and a felony indicator (the loader has no jail dates, so no
    length of stay); ``charges=True`` adds one-hot columns for the ``top`` most frequent
    charge descriptions.
    """
    from fairkit.datasets import load_compas

    df = load_compas(as_frame=True).frame
    X = pd.DataFrame({
        "sex": df["sex"].astype(str),
        "race": df["race"].astype(str),
        "age": df["age"].astype(float),
        "priors": np.log1p(df["priors_count"]),
        "juv_fel": np.log1p(df["juv_fel_count"]),
        "juv_misd": np.log1p(df["juv_misd_count"]),
        "juv_other": np.log1p(df["juv_other_count"]),
        "felony": (df["c_charge_degree"] == "F").astype(float),
    })
    for c in ["priors", "juv_fel", "juv_misd", "juv_other", "felony"]:
        X[c] = (X[c] - X[c].mean()) / X[c].std()
    if charges:
        desc = df["c_charge_desc"].astype(str)
        for i, d in enumerate(desc.value_counts().index[:top]):
            X[f"charge_{i}"] = (desc == d).astype(float)
    return X, df["two_year_recid"].to_numpy()


_PROT = ["sex", "race", "age"]
_COMPAS_MODELS = {
    "GLM ccdcov": (dict(penalty="ccdcov"), [0, 5, 10, 15, 20, 30, 40, 45, 50, 60]),
    "GLM jdcov": (dict(penalty="jdcov"), [0, 5, 10, 15, 17.5, 20, 22.5, 25, 30]),
    "GLM dcov": (dict(penalty="dcov"), [0, 2, 5, 10, 15, 20, 30]),
    "MLP(16) ccdcov, L-BFGS": (
        dict(penalty="ccdcov", hidden_layer_sizes=(16,), alpha=1e-3, max_iter=300,
             random_state=0),
        [0, 5, 10, 20, 30, 40, 60, 80, 120]),
    "MLP(16) ccdcov, Adam": (
        dict(penalty="ccdcov", solver="adam", hidden_layer_sizes=(16,), batch_size=256,
             max_iter=60, learning_rate=0.005, early_stopping=True, random_state=0),
        [0, 5, 10, 20, 40, 60, 80]),
}


def _compas_run(X, y, model, seed, n_jobs):
    """Select on validation, report on a held-out test split (60/20/20, stratified)."""
    from sklearn.model_selection import train_test_split

    from fairkit.inprocessing import calibrate_lambda

    kw, lams = _COMPAS_MODELS[model]
    est = DCovRegularizedClassifier(prot_attr=_PROT, **kw)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.2, random_state=seed, stratify=y)
    tr, va = train_test_split(tr, test_size=0.25, random_state=seed, stratify=y[tr])
    common = dict(lams=lams, n_jobs=n_jobs, n_bins=3)
    val = calibrate_lambda(est, X.iloc[tr], y[tr], validation_data=(X.iloc[va], y[va]),
                           tolerance=0.02, **common)
    # the same fits (deterministic given random_state) scored on the test rows
    test = calibrate_lambda(est, X.iloc[tr], y[tr], validation_data=(X.iloc[te], y[te]),
                            **common)
    return pd.DataFrame({
        "lam": val["lam"], "val_jsd": val["jsd"], "val_uf": val["uf"],
        "val_acc": val["accuracy"], "test_jsd": test["jsd"], "test_uf": test["uf"],
        "test_acc": test["accuracy"], "elbow": val["elbow"], "tol2pt": val["tolerance_pick"],
    })


def _drop(table, rule):
    base, pick = table.iloc[0], table[table[rule]].iloc[0]
    return (pick["lam"], base["test_jsd"] / max(pick["test_jsd"], 1e-12),
            100 * (base["test_acc"] - pick["test_acc"]))


def compas(seeds=(0, 1, 2, 3, 4), n_jobs=2):
    import os

    print(f"\nCOMPAS (ProPublica filter, 6172 rows); protected: sex, race (6 values), age "
          "(continuous; 3 quantile bands of the training rows for JSD/UF, so 36 subgroups), "
          "removed from the inputs. Split 60/20/20 stratified: lam selected on validation "
          "(elbow of calibrate_lambda = default; tol2pt = lowest validation JSD within 2 "
          "accuracy points, option tolerance=0.02), reported on test. "
          f"Load average {os.getloadavg()}")
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    for charges in (False, True):
        X, y = _compas_frame(charges)
        models = list(_COMPAS_MODELS) if not charges else ["GLM ccdcov", "MLP(16) ccdcov, L-BFGS"]
        for model in models:
            t = time.perf_counter()
            table = _compas_run(X, y, model, seeds[0], n_jobs)
            print(f"\n{model}, features: {'basic + top-20 charges' if charges else 'basic'}, "
                  f"seed {seeds[0]} ({time.perf_counter() - t:.0f} s)")
            print(table.to_string(float_format=fmt, index=False))
            for rule in ("elbow", "tol2pt"):
                lam, ratio, lost = _drop(table, rule)
                print(f"  {rule}: lam={lam:g}: test JSD {ratio:.1f}x lower, "
                      f"{lost:+.2f} accuracy points lost")
    X, y = _compas_frame(False)
    print(f"\nRepeated splits (seeds {list(seeds)}), basic features: test JSD ratio / "
          "accuracy points lost at each rule; 'frontier' = least test accuracy lost among "
          "lams with a >= 5x test JSD drop (a description of the curve, not a selection)")
    for model in ("GLM ccdcov", "GLM jdcov", "MLP(16) ccdcov, L-BFGS"):
        rows, tables = [], []
        for seed in seeds:
            table = _compas_run(X, y, model, seed, n_jobs)
            base = table.iloc[0]
            tables.append(table.assign(
                val_x=base["val_jsd"] / table["val_jsd"].clip(lower=1e-12),
                val_pts=100 * (base["val_acc"] - table["val_acc"]),
                test_x=base["test_jsd"] / table["test_jsd"].clip(lower=1e-12),
                test_pts=100 * (base["test_acc"] - table["test_acc"])))
            row = {"seed": seed}
            for rule in ("elbow", "tol2pt"):
                lam, ratio, lost = _drop(table, rule)
                row.update({f"{rule}_lam": lam, f"{rule}_x": ratio, f"{rule}_pts": lost})
            five = table[(table["test_jsd"] * 5 <= base["test_jsd"])
                         & (table["test_acc"] > 0.56)]  # not the constant model
            row["frontier_5x_pts"] = (100 * (base["test_acc"] - five["test_acc"].max())
                                      if len(five) else np.nan)
            rows.append(row)
        res = pd.DataFrame(rows)
        print(f"\n{model}")
        print(res.to_string(float_format=lambda v: f"{v:.2f}", index=False))
        print("  median: " + ", ".join(f"{c} {res[c].median():.2f}" for c in res.columns[1:]))
        # pooled selection: median validation curve over the splits (less noisy than one
        # split), pick the largest median validation JSD drop within 2 median points
        pooled = pd.concat(tables).groupby("lam")[["val_x", "val_pts", "test_x",
                                                    "test_pts"]].median()
        ok = pooled[pooled["val_pts"] <= 2.0]
        pick = ok["val_x"].idxmax()
        print("  per-lam medians over the splits:")
        print(pooled.to_string(float_format=lambda v: f"{v:.2f}"))
        print(f"  pooled tolerance pick (median validation loss <= 2 points): lam={pick:g}: "
              f"median test JSD {pooled.loc[pick, 'test_x']:.2f}x lower, "
              f"{pooled.loc[pick, 'test_pts']:.2f} points lost")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    which = sys.argv[1:] or ["speed", "train", "compas"]
    if "speed" in which:
        speed()
    if "train" in which:
        train()
    if "compas" in which:
        compas()
