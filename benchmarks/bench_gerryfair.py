"""Fit time of GerryFairClassifier against AIF360's, measured side by side in one run.

    python benchmarks/bench_gerryfair.py            # COMPAS (FP, FN) and synthetic 10k (FP)
    python benchmarks/bench_gerryfair.py --quick    # one AIF360 repeat

Data:

* COMPAS (the bundled ProPublica file, filtered, 6,172 rows): ``sex`` (Male = 1),
  ``race`` (African-American = 1), ``age`` as protected attributes, and ``priors_count``,
  the three juvenile counts and a felony indicator as the other features (raw, not
  standardised). The learner sees all 8 columns (AIF360 gives it every column).
* Synthetic, 10,000 rows: two binary and one standard-normal protected attribute, 8
  numeric features (half raw with scale 5 and offset 10), a 30 % positive rate depending
  on features and attributes.

Both fit ``max_iters=20`` rounds (19 classifiers) with ``early_termination=False`` so they
do the same number of rounds; ``C=20``, ``gamma=0.001``, the default least-squares learner
(AIF360: ``LinearRegression()``). AIF360 receives a prepared ``BinaryLabelDataset`` (its
construction is not timed); fairkit receives the DataFrame. AIF360 is run with its
``Auditor.update_costs`` row index corrected (see the class Notes; the cost of a round is
the same either way) so that the run also checks that both give the same errors,
violations and predictions (max absolute difference printed).

BLAS / OpenMP use one thread (environment variables set before numpy is imported, and
threadpoolctl). Times are CPU-time medians of the repeats (the machine may be shared).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from fairkit.inprocessing._gerryfair import GerryFairClassifier  # noqa: E402

PARAMS = dict(C=20, gamma=0.001, max_iters=20)


def corrected_update_costs(self, c_0, c_1, group, C, iteration, gamma):
    """AIF360 0.6.1's ``Auditor.update_costs`` with the audited-row index advanced."""
    c_0, c_1 = list(c_0), list(c_1)
    n = len(self.y)
    g_members = group.func.predict(self.X_prime_0)
    g_weight = np.sum(g_members) * (1.0 / float(self.X_prime_0.shape[0]))
    j = 0
    for i in range(n):
        if self.y[i] == 0:
            new = (
                (1.0 / n)
                * group.disparity_direction
                * C
                * (1.0 / iteration)
                * (g_weight - g_members[j])
            )
            if np.abs(group.weighted_disparity) < gamma:
                new = 0
            if self.fairness_def == "FP":
                c_1[i] = (c_1[i] - 1.0 / n) * ((iteration - 1.0) / iteration) + new + 1.0 / n
            else:
                c_0[i] = (c_0[i] - 1.0 / n) * ((iteration - 1.0) / iteration) + new + 1.0 / n
            j += 1
        elif self.fairness_def == "FP":
            c_1[i] = -1.0 / n
        else:
            c_0[i] = -1.0 / n
    return tuple(c_0), tuple(c_1)


def compas():
    from fairkit.datasets import load_compas

    b = load_compas()
    d = b.data
    df = pd.DataFrame(
        {
            "sex": (d["sex"] == "Male") * 1.0,
            "race": (d["race"] == "African-American") * 1.0,
            "age": d["age"] * 1.0,
            "priors_count": d["priors_count"] * 1.0,
            "juv_fel_count": d["juv_fel_count"] * 1.0,
            "juv_misd_count": d["juv_misd_count"] * 1.0,
            "juv_other_count": d["juv_other_count"] * 1.0,
            "felony": (d["c_charge_degree"] == "F") * 1.0,
            "y": np.asarray(b.target, dtype=float),
        }
    )
    return df, ["sex", "race", "age"]


def synthetic(n=10_000, seed=0):
    rng = np.random.default_rng(seed)
    cols = {
        "a1": rng.integers(0, 2, n) * 1.0,
        "a2": (rng.random(n) < 0.3) * 1.0,
        "a3": rng.normal(size=n),
    }
    Z = rng.normal(size=(n, 8))
    Z[:, :4] = Z[:, :4] * 5 + 10
    for j in range(8):
        cols[f"x{j}"] = Z[:, j]
    score = (
        Z[:, 4]
        + 0.5 * Z[:, 5]
        + 0.1 * (Z[:, 0] - 10)
        + 0.7 * cols["a1"]
        - 0.5 * cols["a2"]
        + 0.4 * cols["a3"]
        + rng.normal(size=n)
    )
    cols["y"] = (score > np.quantile(score, 0.7)) * 1.0
    return pd.DataFrame(cols), ["a1", "a2", "a3"]


def cpu(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return float(np.median(times)), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    from aif360.algorithms.inprocessing import GerryFairClassifier as AifGerryFair
    from aif360.algorithms.inprocessing.gerryfair import auditor
    from aif360.datasets import BinaryLabelDataset

    auditor.Auditor.update_costs = corrected_update_costs
    rep_aif, rep_fk = (1, 3) if args.quick else (3, 7)
    rows = []
    for name, (df, prot), defs in (
        ("COMPAS", compas(), ("FP", "FN")),
        ("synthetic 10k", synthetic(), ("FP",)),
    ):
        ds = BinaryLabelDataset(df=df, label_names=["y"], protected_attribute_names=prot)
        X, y = df.drop(columns="y"), df["y"].to_numpy()
        for fd in defs:
            with threadpool_limits(limits=1):
                t_aif, aif = cpu(
                    lambda fd=fd, ds=ds: AifGerryFair(fairness_def=fd, **PARAMS).fit(
                        ds, early_termination=False
                    ),
                    rep_aif,
                )
                t_fk, fk = cpu(
                    lambda fd=fd, prot=prot, X=X, y=y: GerryFairClassifier(
                        fairness_def=fd, prot_attr=prot, early_termination=False, **PARAMS
                    ).fit(X, y),
                    rep_fk,
                )
            soft = aif.predict(ds, threshold=None).labels.ravel()
            diff = max(
                np.abs(np.asarray(aif.errors) - fk.errors_).max(),
                np.abs(np.asarray(aif.fairness_violations) - fk.fairness_violations_).max(),
                np.abs(soft - fk.predict_proba(X)[:, 1]).max(),
            )
            rows.append((name, fd, len(df), t_aif, t_fk, t_aif / t_fk, diff))
    print(
        f"{'data':<14} {'def':<3} {'rows':>6} {'AIF360 s':>9} {'fairkit s':>9} "
        f"{'ratio':>7} {'max |diff|':>10}"
    )
    for name, fd, n, ta, tf, ratio, diff in rows:
        print(f"{name:<14} {fd:<3} {n:>6} {ta:>9.3f} {tf:>9.4f} {ratio:>7.1f} {diff:>10.2e}")


if __name__ == "__main__":
    main()
