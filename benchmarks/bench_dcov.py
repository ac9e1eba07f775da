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
from fairkit.inprocessing.dcov import _Penalty
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
    print("\nseconds per penalty+gradient (dcor: value only)")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print("\nlog-log slope of time vs n (1 = linear, 2 = quadratic):")
    for col in table.columns:
        print(f"  {col:18s} {_slope(table.index, table[col]):.2f}")
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


def train(n=1_000_000):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    frame, y, feats = _synthetic(n, rng)
    t = time.perf_counter()
    ref = LogisticRegression(C=1.0 / (1e-4 * n), max_iter=200).fit(feats, y)
    t_ref = time.perf_counter() - t
    print(f"\n1M-row training (n={n}); peer: sklearn LogisticRegression (lbfgs) {t_ref:.1f} s, "
          f"accuracy {ref.score(feats, y):.4f}")
    for label, kw in (
        ("GLM lam=0", dict(prot_attr=["sex", "race"], lam=0.0)),
        ("GLM ccdcov(sex x race) lam=20", dict(prot_attr=["sex", "race"], lam=20.0)),
        ("GLM dcov(sex, race, age) lam=20", dict(prot_attr=["sex", "race", "age"], lam=20.0,
                                                 penalty="dcov", max_iter=30)),
    ):
        t = time.perf_counter()
        clf = DCovRegularizedClassifier(**kw).fit(frame, y)
        el = time.perf_counter() - t
        p = clf.predict_proba(frame)[:, 1]
        sub = rng.choice(n, 20_000, replace=False)
        dc = dcor.distance_correlation(p[sub], frame["sex"].to_numpy(float)[sub])
        print(f"  {label:34s} {el:6.1f} s  ({clf.n_iter_} L-BFGS iterations, "
              f"{el / max(clf.n_iter_, 1):.2f} s/iter, x{el / t_ref:.1f} of sklearn)  "
              f"accuracy {clf.score(frame, y):.4f}  dCor(p, sex) {dc:.4f}")
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


def _compas_frame():
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
    return X, df["two_year_recid"].to_numpy()


def compas():
    from fairkit.inprocessing import calibrate_lambda

    X, y = _compas_frame()
    print(f"\nCOMPAS (ProPublica filter, {len(y)} rows); protected: sex, race (6 values), "
          "age (continuous; 3 quantile bands for JSD/UF, so 36 subgroups); features: log "
          "priors / juvenile counts, felony; 30% stratified validation split")
    configs = {
        "GLM ccdcov (L-BFGS, full batch)": (
            DCovRegularizedClassifier(prot_attr=["sex", "race", "age"], penalty="ccdcov"),
            [0, 5, 10, 15, 20, 25, 30, 40, 50]),
        "GLM jdcov (L-BFGS, full batch)": (
            DCovRegularizedClassifier(prot_attr=["sex", "race", "age"], penalty="jdcov"),
            [0, 10, 20, 30, 40, 50]),
        "MLP(16) ccdcov (Adam, batch 256, early stopping)": (
            DCovRegularizedClassifier(prot_attr=["sex", "race", "age"], penalty="ccdcov",
                                      solver="adam", hidden_layer_sizes=(16,), batch_size=256,
                                      max_iter=60, learning_rate=0.005, early_stopping=True,
                                      random_state=0),
            [0, 2, 5, 10, 20, 40]),
    }
    for label, (est, lams) in configs.items():
        t = time.perf_counter()
        table = calibrate_lambda(est, X, y, lams=lams, random_state=0, n_jobs=2)
        print(f"\n{label}: {time.perf_counter() - t:.0f} s")
        print(table.to_string(float_format=lambda v: f"{v:.4g}"))
        base = table.iloc[0]
        pick = table[table["elbow"]].iloc[0]
        print(f"  elbow lam={pick['lam']:g}: JSD {base['jsd']:.4f} -> {pick['jsd']:.4f} "
              f"({base['jsd'] / max(pick['jsd'], 1e-12):.1f}x lower), accuracy "
              f"{base['accuracy']:.4f} -> {pick['accuracy']:.4f} "
              f"({100 * (base['accuracy'] - pick['accuracy']):+.2f} points lost)")
        ok = table[(base["accuracy"] - table["accuracy"]) < 0.02]
        best = ok.loc[ok["jsd"].idxmin()]
        print(f"  largest JSD drop with < 2 points accuracy lost: lam={best['lam']:g}, "
              f"{base['jsd'] / max(best['jsd'], 1e-12):.1f}x")


if __name__ == "__main__":
    which = sys.argv[1:] or ["speed", "train", "compas"]
    if "speed" in which:
        speed()
    if "train" in which:
        train()
    if "compas" in which:
        compas()
