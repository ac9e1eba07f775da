"""Speed of fairkit's group metrics against fairlearn, AIF360 and the bincount floor.

Six headline metrics, all between groups for fairlearn (``max - min``) and privileged vs
the rest for AIF360 (the convention each library uses):

1. statistical parity difference        4. average odds difference
2. disparate impact ratio               5. equalized odds difference
3. equal opportunity difference (TPR)   6. predictive parity difference (precision)

Set-ups: 1M and 10M rows, with 2 groups (one binary attribute) and with 50 intersectional
groups (two attributes with 5 and 10 values). For each set-up, in one run:

* floor: one ``np.bincount`` of ``4 * group_code + 2 * y + yhat`` over the same arrays,
  with the group code already computed (the least work any group metric can do);
  "6 floors" is six times that, the cost of six metric calls that each count once;
* fairkit, 6 calls: the six public functions, each from raw ``sensitive_features``
  (encoding the groups, validating, counting);
* fairkit, 1 count: one :class:`GroupCounts` and six metrics from it;
* fairlearn: one ``MetricFrame`` with selection rate, TPR, FPR and precision, from which
  the six numbers are derived (its cheapest route);
* AIF360: the six ``aif360.sklearn.metrics`` calls (``difference`` for the two it lacks).

All numbers are checked to agree before timing. Medians over repeats; ratios are per set-up.
Times are CPU seconds of this process (``time.process_time``; every contender is
single-threaded), which stay comparable when other jobs share the machine; ``--wall``
measures wall-clock time instead.

Run: ``python benchmarks/bench_metrics.py [--sizes 1000000 10000000] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd

import fairkit.metrics as fm
from fairkit._protected import encode_groups

HEADLINE = [
    "statistical_parity_difference",
    "disparate_impact_ratio",
    "equal_opportunity_difference",
    "average_odds_difference",
    "equalized_odds_difference",
    "predictive_parity_difference",
]


def make_data(n, n_groups, seed=0):
    rng = np.random.default_rng(seed)
    if n_groups == 2:
        sf = rng.integers(0, 2, n)
        codes = sf
        priv = 1
    else:
        a = rng.integers(0, 5, n)
        b = rng.integers(0, 10, n)
        sf = pd.DataFrame({"a": a, "b": b})
        codes = a * 10 + b
        priv = (0, 0)
    y = (rng.uniform(size=n) < 0.3 + 0.01 * (codes % 20)).astype(np.int64)
    p = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
    return y, p, sf, codes, priv


CLOCK = time.process_time  # CPU time of this process; --wall switches to perf_counter


def timeit(func, repeats):
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        func()
        times.append(CLOCK() - t0)
    return float(np.median(times))


def floor(codes, y, p):
    return np.bincount(codes * 4 + y * 2 + p, minlength=4 * (codes.max() + 1))


def fairkit_six(y, p, sf, priv=None):
    return [getattr(fm, m)(y, p, sensitive_features=sf, priv_group=priv) for m in HEADLINE]


def fairkit_one_count(y, p, sf, priv=None):
    counts = fm.GroupCounts.from_arrays(y, p, sensitive_features=sf)
    return [counts.metric(m, priv_group=priv) for m in HEADLINE]


def fairlearn_six(y, p, sf):
    import sklearn.metrics as skm
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    mf = MetricFrame(
        metrics={"sr": selection_rate, "tpr": true_positive_rate,
                 "fpr": false_positive_rate, "prec": skm.precision_score},
        y_true=y, y_pred=p, sensitive_features=sf,
    )
    diff, ratio = mf.difference(), mf.ratio()
    return [diff["sr"], ratio["sr"], diff["tpr"], (diff["tpr"] + diff["fpr"]) / 2,
            max(diff["tpr"], diff["fpr"]), diff["prec"]]


def aif360_six(y_series, p, prot, priv):
    import aif360.sklearn.metrics as aif
    import sklearn.metrics as skm

    kw = dict(prot_attr=prot, priv_group=priv)
    d_tpr = aif.difference(skm.recall_score, y_series, p, **kw)
    d_fpr = aif.difference(aif.false_positive_rate_error, y_series, p, **kw)
    return [
        aif.statistical_parity_difference(y_series, p, **kw),
        aif.disparate_impact_ratio(y_series, p, **kw),
        aif.equal_opportunity_difference(y_series, p, **kw),
        aif.average_odds_difference(y_series, p, **kw),
        max(abs(d_tpr), abs(d_fpr)),
        aif.difference(skm.precision_score, y_series, p, **kw),
    ]


def run(n, n_groups, repeats, peer_budget):
    y, p, sf, codes, priv = make_data(n, n_groups)
    label = f"{n / 1e6:g}M rows, {n_groups} groups"
    print(f"\n== {label} ==")
    # correctness first: the same six numbers
    ours_between = fairkit_six(y, p, sf)
    ours_priv = fairkit_six(y, p, sf, priv)
    assert np.allclose(ours_between, fairkit_one_count(y, p, sf), equal_nan=True)

    t_floor = timeit(lambda: floor(codes, y, p), repeats)
    t_encode = timeit(lambda: encode_groups(sf), repeats)
    t_six = timeit(lambda: fairkit_six(y, p, sf), repeats)
    t_one = timeit(lambda: fairkit_one_count(y, p, sf), repeats)
    rows = [
        ("floor: one bincount", t_floor, ""),
        ("6 floors", 6 * t_floor, ""),
        ("  (group encoding alone)", t_encode, "encode_groups of the raw attribute(s)"),
        ("fairkit, 6 metric calls", t_six, ""),
        ("fairkit, 1 GroupCounts + 6", t_one, ""),
    ]

    # fairlearn MetricFrame
    projected = peer_budget["seen"].get(("fairlearn", n_groups))
    projected = None if projected is None else projected[1] * n / projected[0]
    if projected is not None and projected > peer_budget["seconds"]:
        print(f"  note: fairlearn MetricFrame skipped: projected {projected:.0f} s from the "
              f"smaller run exceeds --peer-budget {peer_budget['seconds']:.0f} s")
    elif n <= peer_budget["fairlearn_max_n"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = CLOCK()
            theirs = fairlearn_six(y, p, sf)
            t_fl_est = CLOCK() - t0
            err = np.nanmax(np.abs(np.array(theirs) - np.array(ours_between)))
            reps = 1 if t_fl_est > 5 else min(3, repeats)
            t_fl = t_fl_est if reps == 1 else timeit(lambda: fairlearn_six(y, p, sf), reps)
        rows.append(("fairlearn MetricFrame (6)", t_fl, f"max |diff| vs fairkit {err:.1e}"))
        peer_budget["seen"][("fairlearn", n_groups)] = (n, t_fl)
    else:
        print(f"  note: fairlearn MetricFrame skipped above "
              f"{peer_budget['fairlearn_max_n']:,} rows (too slow for this machine's budget)")

    # AIF360
    projected = peer_budget["seen"].get(("aif360", n_groups))
    projected = None if projected is None else projected[1] * n / projected[0]
    if projected is not None and projected > peer_budget["seconds"]:
        print(f"  note: AIF360 skipped: projected {projected:.0f} s from the smaller run "
              f"exceeds --peer-budget {peer_budget['seconds']:.0f} s")
    elif n <= peer_budget["aif360_max_n"]:
        frame = sf.to_frame("g") if isinstance(sf, pd.Series) else (
            pd.DataFrame({"g": sf}) if not isinstance(sf, pd.DataFrame) else sf)
        prot = list(frame.columns) if frame.shape[1] > 1 else frame.columns[0]
        y_series = pd.Series(y, index=pd.MultiIndex.from_frame(frame))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = CLOCK()
            theirs = aif360_six(y_series, p, prot, priv)
            first = CLOCK() - t0
            err = np.nanmax(np.abs(np.array(theirs) - np.array(ours_priv)))
            reps = 1 if first > 5 else min(3, repeats)
            t_aif = first if reps == 1 else timeit(
                lambda: aif360_six(y_series, p, prot, priv), reps)
        rows.append(("AIF360 sklearn.metrics (6)", t_aif, f"max |diff| vs fairkit {err:.1e}"))
        peer_budget["seen"][("aif360", n_groups)] = (n, t_aif)
    else:
        print(f"  note: AIF360 skipped above {peer_budget['aif360_max_n']:,} rows")

    print(f"  {'':30s} {'median s':>10s} {'x 6 floors':>11s} {'x fairkit 6':>12s}")
    for name, t, note in rows:
        print(f"  {name:30s} {t:10.4f} {t / (6 * t_floor):11.2f} {t / t_six:12.2f}  {note}")
    return {name: t for name, t, _ in rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--groups", type=int, nargs="+", default=[2, 50])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fairlearn-max-n", type=int, default=10_000_000,
                        help="skip MetricFrame above this many rows")
    parser.add_argument("--aif360-max-n", type=int, default=10_000_000)
    parser.add_argument("--peer-budget", type=float, default=150.0,
                        help="skip a peer whose time, projected linearly from the previous "
                        "size, exceeds this many seconds")
    parser.add_argument("--wall", action="store_true", help="time wall clock, not CPU")
    args = parser.parse_args(argv)
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    logging.disable(logging.WARNING)
    budget = {"fairlearn_max_n": args.fairlearn_max_n, "aif360_max_n": args.aif360_max_n,
              "seconds": args.peer_budget, "seen": {}}
    print(f"numpy {np.__version__}, pandas {pd.__version__}; medians of "
          f"{args.repeats} repeats (peers: 1-3); "
          f"{'wall-clock' if args.wall else 'CPU'} seconds")
    for n in args.sizes:
        for g in args.groups:
            run(n, g, args.repeats, budget)


if __name__ == "__main__":
    main()
