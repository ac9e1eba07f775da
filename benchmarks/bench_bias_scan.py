"""Speed of fairkit's MDSS bias scan against AIF360's ``bias_scan``, in the same run.

Set-ups (Bernoulli score, ``num_iters=10``, penalty 1e-17, both directions):

* COMPAS (6,172 rows): sex, race, age_cat, c_charge_degree and priors_count in three bins,
  probabilities of a logistic regression on those columns (162 distinct values);
* synthetic categorical data with a planted over-predicted subgroup, 3 columns of 3-5
  values (and 6 columns of 3-8 values at 2,000 rows), 2,000, 20,000 and 100,000 rows,
  with continuous probabilities (every row distinct) and with probabilities rounded to
  2 decimals (``--sizes`` chooses the row counts).

Both results are checked to be equal (subgroup and score) before the times are kept.
BLAS/OpenMP threads are limited to 1. Times are CPU seconds of this process
(``time.process_time``); ``--wall`` measures wall-clock time instead. Medians over repeats,
ratio = AIF360 / fairkit. fairkit's scan runs compiled code (numba): the first call of a
process loads it from numba's disk cache (compiled once, on the first scan after an
install); the repeats measure the calls after it. ``--cold`` adds the first call in a new
process, imports included (wall clock, a fresh interpreter per run, both libraries).

Run: ``python benchmarks/bench_bias_scan.py [--repeats 3] [--wall] [--cold]
[--sizes 2000 20000 100000]``
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fairkit.metrics.mdss import bias_scan


def compas():
    from sklearn.linear_model import LogisticRegression

    from fairkit.datasets import load_compas

    bunch = load_compas()
    X = bunch.data[["sex", "race", "age_cat", "c_charge_degree"]].copy()
    X["priors"] = pd.cut(bunch.data["priors_count"], [-1, 0, 3, 100], labels=["0", "1-3", ">3"])
    y = bunch.target.to_numpy()
    Xd = pd.get_dummies(X)
    p = LogisticRegression(max_iter=1000).fit(Xd, y).predict_proba(Xd)[:, 1]
    return X, y, p


def synthetic(n, n_cols, seed=0, decimals=None):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {f"x{j}": rng.choice([f"v{i}" for i in range(3 + j % 6)], n) for j in range(n_cols)}
    )
    p = np.clip(rng.beta(2, 4, n), 0.01, 0.99)
    y = (rng.uniform(size=n) < p).astype(int)
    bias = (X["x0"] == "v0") & X["x1"].isin(["v0", "v1"])
    y[bias.to_numpy()] = rng.uniform(size=bias.sum()) < p[bias.to_numpy()] * 0.6
    if decimals is not None:
        p = np.round(p, decimals)
    return X, y, p


def run(X, y, p, overpredicted, repeats, clock):
    from aif360.detectors import bias_scan as aif_bias_scan

    ys, ps = pd.Series(y), pd.Series(p)
    t_fk, t_aif = [], []
    for _ in range(repeats):
        t0 = clock()
        ours = bias_scan(X, y, p, overpredicted=overpredicted, num_iters=10, random_state=0)
        t1 = clock()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = aif_bias_scan(X, ys, ps, overpredicted=overpredicted, num_iters=10)
        t2 = clock()
        t_fk.append(t1 - t0)
        t_aif.append(t2 - t1)
    same = ours.subgroup == theirs[0] and abs(ours.score - float(theirs[1])) < 1e-9
    if not same:
        raise AssertionError(f"results differ: {ours} vs {theirs}")
    return np.median(t_fk), np.median(t_aif), ours.score


_COLD = """
import pickle, sys, time, warnings
t0 = time.perf_counter()
import pandas as pd
if sys.argv[2] == "fairkit":
    from fairkit.metrics import bias_scan
else:
    from aif360.detectors import bias_scan
with open(sys.argv[1], "rb") as fh:
    X, y, p = pickle.load(fh)
t1 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    if sys.argv[2] == "fairkit":
        bias_scan(X, y, p, num_iters=10, random_state=0)
    else:
        bias_scan(X, pd.Series(y), pd.Series(p), num_iters=10)
print(t1 - t0, time.perf_counter() - t1)
"""


def cold(X, y, p, repeats):
    """Wall seconds of (imports + loading the data, first scan) in a new process, medians
    over ``repeats`` fresh interpreters, for fairkit and AIF360 (over-prediction)."""
    import pickle
    import subprocess
    import sys
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.pkl")
        with open(path, "wb") as fh:
            pickle.dump((X, y, p), fh)
        for lib in ("fairkit", "aif360"):
            runs = []
            for _ in range(repeats):
                res = subprocess.run(
                    [sys.executable, "-c", _COLD, path, lib],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
                )
                runs.append([float(v) for v in res.stdout.split()[-2:]])
            out[lib] = np.median(np.array(runs), axis=0)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wall", action="store_true")
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 100000])
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    setups = [("COMPAS 6172 x 5", compas())]
    for n in args.sizes:
        for decimals, kind in [(None, "distinct p"), (2, "p rounded .01")]:
            setups.append((f"{n} x 3, {kind}", synthetic(n, 3, decimals=decimals)))
        if n == 2000:
            setups.append(("2000 x 6, distinct p", synthetic(2000, 6)))
    print(
        f"{'set-up':<26} {'direction':<9} {'cells':>7} {'fairkit s':>10} {'AIF360 s':>10} "
        f"{'ratio':>7} {'score':>9}"
    )
    ratios = []
    with threadpool_limits(1):
        for name, (X, y, p) in setups:
            cells = len(pd.DataFrame(X).assign(p=p).drop_duplicates())
            for over in (True, False):
                fk, aif, score = run(X, y, p, over, args.repeats, clock)
                ratios.append(aif / fk)
                print(
                    f"{name:<26} {'over' if over else 'under':<9} {cells:>7} {fk:10.3f} "
                    f"{aif:10.3f} {aif / fk:7.1f} {score:9.4f}",
                    flush=True,
                )
    print(
        f"ratio AIF360 / fairkit: median {np.median(ratios):.1f}, min {np.min(ratios):.1f}; "
        f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if args.cold:
        print("\nfirst call in a new process (wall s; imports, then the first scan, over):")
        print(f"{'set-up':<26} {'fairkit':>16} {'AIF360':>16} {'ratio of scans':>15}")
        for name, (X, y, p) in setups:
            if not (name.startswith("COMPAS") or name.startswith("100000 x 3, distinct")):
                continue
            res = cold(X, y, p, args.repeats)
            (fi, fs), (ai, as_) = res["fairkit"], res["aif360"]
            print(
                f"{name:<26} {fi:7.2f} + {fs:6.3f} {ai:7.2f} + {as_:6.3f} {as_ / fs:15.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
