"""Inferred-group auditing (issue 19): how well each estimator of
:func:`fairkit.metrics.inferred.inferred_group_rates` recovers a denial-rate gap when the
protected attribute is hidden.

Synthetic part: the attribute A (two groups) depends on four features X; the decision D
(denied = 1) depends on X and, in the "direct" scenarios, on A beyond X (the case in which
the BISG-weighted estimator is biased, Chen et al. 2019). In every repetition a random 30%
of rows lose A; each estimator's gap is compared with the population gap (computed once on
10^6 rows of the same law): median bias, coverage of the 95% bootstrap interval, median
width, and coverage of the ``bounds=True`` identification bounds (their bootstrap
interval). Both group models are run: the BISG-style one on X alone and the one given the
decision too (``outcome_in_group_model=True``).

HMDA part (Boston 1990, fairkit.datasets.load_hmda): race is recorded for every row (Black,
Hispanic, White; the file holds no "Not provided" race), so 30% of the rows are hidden at
random and the minority-minus-White denial gap on the hidden rows is estimated from the
other 70%, with a group model on the tract variables (the geography analogue of BISG) and on
all application variables. Sex, which is "Not provided" for 21 applicants, is the
attribute that is truly missing; its estimates for those rows are printed at the end.

There is no peer library for these estimators in the environment; the point estimates are
checked against a direct numpy computation of the same formula in the same run.

    .venv/bin/python benchmarks/bench_inferred.py [--reps 20] [--n-boot 200] [--refit-reps 10]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fairkit.datasets import load_hmda
from fairkit.metrics.inferred import inferred_group_rates

EST = ("observed", "weighted", "combined", "missing", "threshold")


def draw(n, rng, *, share, direct, scale):
    """A population of the synthetic law: (X, A in {'g', 'h'}, denied)."""
    X = rng.normal(size=(n, 4))
    offset = np.log(share / (1 - share))
    a = rng.rand(n) < 1 / (1 + np.exp(-(offset + 1.5 * X[:, 0] - 0.7 * X[:, 1])))
    logit = -1.4 + 0.9 * X[:, 0] + 0.6 * X[:, 2] + (0.9 * a if direct else 0.0)
    d = (rng.rand(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X * scale, np.where(a, "g", "h").astype(object), d


def population_gap(share, direct):
    _, A, d = draw(1_000_000, np.random.RandomState(12345), share=share, direct=direct,
                   scale=1.0)
    return d[A == "g"].mean() - d[A == "h"].mean()


def hand_weighted(d, P):
    """The weighted estimator in numpy: sum p d / sum p per column."""
    return (P * d[:, None]).sum(0) / P.sum(0)


SCENARIOS = [  # name, n, share of 'g', direct effect of A on D, feature scale
    ("n=1000 balanced, D indep. of A given X", 1000, 0.5, False, np.ones(4)),
    ("n=1000 20% minority, direct, raw scale", 1000, 0.2, True,
     np.array([1e3, 1e-2, 50.0, 1.0])),
    ("n=4000 balanced, direct", 4000, 0.5, True, np.ones(4)),
    ("n=4000 20% minority, D indep. of A given X", 4000, 0.2, False, np.ones(4)),
]


def synthetic(reps, n_boot):
    rows = []
    max_check = 0.0
    for name, n, share, direct, scale in SCENARIOS:
        truth = population_gap(share, direct)
        for outcome in (False, True):
            recs = {e: [] for e in EST}
            times = []
            for r in range(reps):
                rng = np.random.RandomState(1000 + r)
                X, A, d = draw(n, rng, share=share, direct=direct, scale=scale)
                a = A.copy()
                hide = rng.rand(n) < 0.3
                a[hide] = None
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = inferred_group_rates(d, sensitive_features=a, X=X, priv_group="h",
                                               outcome_in_group_model=outcome, bounds=True,
                                               n_boot=n_boot, random_state=r,
                                               bootstrap="rows")
                times.append(time.perf_counter() - t0)
                hand = hand_weighted(d, res.membership)
                got = res.rates.loc["weighted", "selection_rate"].to_numpy()
                max_check = max(max_check, float(np.abs(hand - got).max()))
                g = res.gaps
                for e in EST:
                    est = g.loc[e, "selection_rate_difference"]
                    lo, hi = g.loc[e, "selection_rate_difference_low"], \
                        g.loc[e, "selection_rate_difference_high"]
                    blo, bhi = g.loc[e, "selection_rate_difference_bound_ci_low"], \
                        g.loc[e, "selection_rate_difference_bound_ci_high"]
                    recs[e].append((est - truth, lo <= truth <= hi, hi - lo,
                                    blo <= truth <= bhi if np.isfinite(blo) else np.nan,
                                    bhi - blo))
            for e in EST:
                arr = np.array(recs[e], dtype=float)
                rows.append({"scenario": name, "group model": "X, D" if outcome else "X",
                             "estimator": e, "truth": truth,
                             "median bias": np.median(arr[:, 0]),
                             "coverage": arr[:, 1].mean(), "median width": np.median(arr[:, 2]),
                             "bounds coverage": np.nanmean(arr[:, 3])
                             if np.isfinite(arr[:, 3]).any() else np.nan,
                             "bounds width": np.nanmedian(arr[:, 4])
                             if np.isfinite(arr[:, 4]).any() else np.nan,
                             "s/call": np.median(times)})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"Synthetic ({reps} repetitions each, 30% of rows hidden, 95% intervals, "
          f"{n_boot} row resamples (bootstrap='rows'); gap = denial rate of 'g' minus 'h'")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"weighted estimator vs numpy sum(p d)/sum(p): max abs difference {max_check:.2e}")
    return table


def refit_coverage(reps, n_boot):
    """Row bootstrap vs refitting the group model in every resample (bootstrap='refit')."""
    rows = []
    for name, n, share, direct, scale, outcome in (
            (*SCENARIOS[0], False), (*SCENARIOS[2], True)):
        truth = population_gap(share, direct)
        recs = {bs: [] for bs in ("rows", "refit")}
        times = {bs: [] for bs in recs}
        for r in range(reps):
            rng = np.random.RandomState(1000 + r)
            X, A, d = draw(n, rng, share=share, direct=direct, scale=scale)
            a = A.copy()
            a[rng.rand(n) < 0.3] = None
            for bs in recs:
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = inferred_group_rates(d, sensitive_features=a, X=X, priv_group="h",
                                               outcome_in_group_model=outcome, bootstrap=bs,
                                               n_boot=n_boot, random_state=r,
                                               estimators=("weighted", "combined",
                                                           "missing"))
                times[bs].append(time.perf_counter() - t0)
                g = res.gaps
                lo, hi = g["selection_rate_difference_low"], g["selection_rate_difference_high"]
                recs[bs].append(np.column_stack([(lo <= truth) & (truth <= hi), hi - lo]))
        for bs, arr in recs.items():
            arr = np.array(arr)
            for k, e in enumerate(("weighted", "combined", "missing")):
                rows.append({"scenario": name, "group model": "X, D" if outcome else "X",
                             "bootstrap": bs, "estimator": e,
                             "coverage": arr[:, k, 0].mean(),
                             "median width": np.median(arr[:, k, 1]),
                             "s/call": np.median(times[bs])})
    table = pd.DataFrame(rows)
    print(f"\nInterval coverage, rows held fixed vs group model refitted per resample "
          f"({reps} repetitions, {n_boot} resamples, 95%)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return table


def hmda(reps, n_boot):
    h = load_hmda()
    data, denied = h.data, h.target.to_numpy()
    race = data["race"].astype(object).to_numpy()
    tract = ["minority_tract", "boarded_up_above_median", "tract_income_above_median",
             "tract_vacancy_above_median", "tract_value_change", "unemployment_probability",
             "suffolk_county", "msa"]
    allx = data.drop(columns=["race", "ethnicity"])
    rows = []
    for label, X in (("tract variables", data[tract]), ("all variables", allx)):
        for outcome in (False, True):
            recs = {e: [] for e in EST}
            quality = []
            for r in range(reps):
                rng = np.random.RandomState(2000 + r)
                hide = rng.rand(len(race)) < 0.3
                a = race.copy()
                a[hide] = None
                truth_hidden = (denied[hide & (race != "White")].mean()
                                - denied[hide & (race == "White")].mean())
                truth_all = denied[race != "White"].mean() - denied[race == "White"].mean()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = inferred_group_rates(denied, sensitive_features=a, X=X,
                                               priv_group="White", n_boot=n_boot,
                                               outcome_in_group_model=outcome,
                                               random_state=r, bootstrap="rows")
                quality.append((res.group_model["auc"], res.group_model["pseudo_r2"]))
                g = res.gaps
                for e in EST:
                    target = truth_hidden if e == "missing" else truth_all
                    est = g.loc[e, "selection_rate_difference"]
                    lo, hi = g.loc[e, "selection_rate_difference_low"], \
                        g.loc[e, "selection_rate_difference_high"]
                    recs[e].append((est, est - target, lo <= target <= hi))
            q = np.median(np.array(quality), axis=0)
            for e in EST:
                arr = np.array(recs[e], dtype=float)
                rows.append({"group model": f"{label}{' + D' if outcome else ''}",
                             "AUC": q[0], "pseudo R2": q[1], "estimator": e,
                             "median estimate": np.median(arr[:, 0]),
                             "median bias": np.median(arr[:, 1]),
                             "coverage": arr[:, 2].mean()})
    table = pd.DataFrame(rows)
    truth_all = denied[race != "White"].mean() - denied[race == "White"].mean()
    print(f"\nHMDA (Boston 1990, {len(race)} rows): minority (Black + Hispanic) minus White "
          f"denial rate, true gap on all rows {truth_all:.3f}; 30% of rows hidden at random, "
          f"{reps} repetitions, bootstrap='rows'; 'missing' is compared with the true gap on "
          "the hidden rows, the others with the gap on all rows")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    # the attribute that is truly missing: sex 'Not provided' (21 rows)
    sex = data["sex"]
    X = data.drop(columns=["sex", "coapplicant_sex"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = inferred_group_rates(denied, sensitive_features=sex, missing="Not provided",
                                   X=X, priv_group="Male", n_boot=n_boot, bounds=True,
                                   random_state=0)
    print(f"\nHMDA sex: {int(res.missing_mask.sum())} rows 'Not provided'; group model "
          f"AUC {res.group_model['auc']:.3f}, pseudo R2 {res.group_model['pseudo_r2']:.3f}"
          + (f" (warned: {caught[0].message})" if caught else ""))
    cols = ["membership", "selection_rate", "selection_rate_low", "selection_rate_high",
            "selection_rate_bound_low", "selection_rate_bound_high"]
    print(res.rates[cols].to_string(float_format=lambda v: f"{v:.3f}"))
    print(res.gaps.to_string(float_format=lambda v: f"{v:.3f}"))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--refit-reps", type=int, default=10)
    parser.add_argument("--only", choices=["synthetic", "refit", "hmda"])
    args = parser.parse_args()
    with threadpool_limits(1):
        if args.only in (None, "synthetic"):
            synthetic(args.reps, args.n_boot)
        if args.only in (None, "refit"):
            refit_coverage(args.refit_reps, min(args.n_boot, 100))
        if args.only in (None, "hmda"):
            hmda(args.reps, args.n_boot)


if __name__ == "__main__":
    main()
