"""Speed of ``GroupMetricFrame`` against fairlearn's ``MetricFrame`` and the bincount floor.

Five metrics, each in a frame of its own, on ``--rows`` rows (default 1M), with 2 groups
(one binary attribute) and with 50 intersectional groups (two attributes with 5 and 10
values):

* count-based: ``accuracy_score``, ``recall_score``, ``f1_score`` on labels (path
  "counts": one bincount of confusion cells);
* ``roc_auc_score`` on scores (path "ranks": one sort of the scores, per-group
  Mann-Whitney sums) and ``mean_absolute_error`` on a regression (path "calls": the metric
  called once per group on slices of rows sorted once by group).

For each metric and set-up, in one run (and one process):

* fairlearn: ``MetricFrame(...)`` built and ``by_group`` / ``difference()`` read;
* fairkit: ``GroupMetricFrame(...)`` the same way, from the same raw inputs (the group
  encoding, label checks and counting are all inside the timing);
* floor (count-based metrics): one ``np.bincount(4 * group_code + 2 * y + yhat)`` with the
  group code already computed, as in ``bench_metrics.py`` (the least work any group metric
  can do), timed alternately with fairkit so that both see the same machine load; the
  pure ``np.bincount`` of precomputed cell codes is printed too.

Every pair of results is checked to agree (1e-12) before timing. Medians over repeats
(``--repeats`` for fairkit and the floor, ``--peer-repeats`` for fairlearn, which takes
seconds per frame). BLAS/OpenMP threads are limited to 1 (threadpoolctl). Times are CPU
seconds of this process (``time.process_time``), which stay comparable when other jobs
share the machine; ``--wall`` measures wall-clock time instead.

Run: ``python benchmarks/bench_frame.py [--rows 1000000] [--repeats 5] [--peer-repeats 3]``
"""

from __future__ import annotations

import argparse
import functools
import time
import warnings

import numpy as np
import pandas as pd
import sklearn.metrics as skm
from threadpoolctl import threadpool_limits

from fairkit.metrics import GroupMetricFrame

#: name -> (metric, inputs, the path GroupMetricFrame takes)
METRICS = {
    "accuracy": (skm.accuracy_score, "labels", "counts"),
    "recall": (skm.recall_score, "labels", "counts"),
    "f1": (skm.f1_score, "labels", "counts"),
    "roc_auc": (skm.roc_auc_score, "scores", "ranks"),
    "mean_absolute_error": (skm.mean_absolute_error, "regression", "calls"),
}

CLOCK = time.process_time


def make_data(n, n_groups, seed=0):
    rng = np.random.default_rng(seed)
    if n_groups == 2:
        sf = pd.Series(rng.integers(0, 2, n), name="g")
        codes = sf.to_numpy()
    else:
        a, b = rng.integers(0, 5, n), rng.integers(0, 10, n)
        sf = pd.DataFrame({"a": a, "b": b})
        codes = a * 10 + b
    y = (rng.uniform(size=n) < 0.3 + 0.01 * (codes % 20)).astype(np.int64)
    p = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
    scores = np.clip(0.5 * y + rng.normal(0.25, 0.25, n), 0, 1)
    target = rng.normal(size=n) + 0.1 * (codes % 7)
    guess = target + rng.normal(scale=0.5, size=n)
    inputs = {"labels": (y, p), "scores": (y, scores), "regression": (target, guess)}
    return inputs, sf, codes


def timeit(func, repeats):
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        func()
        times.append(CLOCK() - t0)
    return float(np.median(times))


def paired(func, other, repeats):
    """Medians of ``func`` and ``other`` timed alternately, so both see the same load."""
    a, b = [], []
    for _ in range(repeats):
        a.append(timeit(func, 1))
        b.append(timeit(other, 1))
    return float(np.median(a)), float(np.median(b))


def floor(codes, y, p):
    return np.bincount(codes * 4 + y * 2 + p, minlength=4 * (int(codes.max()) + 1))


def run_frame(cls, metric, y, p, sf):
    frame = cls(metrics=metric, y_true=y, y_pred=p, sensitive_features=sf)
    return frame.by_group, frame.difference()


def check_agree(a, b, name):
    np.testing.assert_allclose(np.asarray(a[0], dtype=float), np.asarray(b[0], dtype=float),
                               rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(float(a[1]), float(b[1]), rtol=1e-12, err_msg=name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=3)
    parser.add_argument("--groups", type=int, nargs="+", default=[2, 50])
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = parser.parse_args(argv)
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    from fairlearn.metrics import MetricFrame

    print(f"rows={args.rows:,}  repeats={args.repeats} (fairlearn {args.peer_repeats})  "
          f"clock={'wall' if args.wall else 'cpu'}  threads=1")
    for n_groups in args.groups:
        inputs, sf, codes = make_data(args.rows, n_groups)
        y, p = inputs["labels"]
        t_floor = timeit(functools.partial(floor, codes, y, p), args.repeats)
        cells = codes * 4 + y * 2 + p
        t_pure = timeit(functools.partial(np.bincount, cells, minlength=4 * n_groups),
                        args.repeats)
        print(f"\n{n_groups} groups: floor bincount(4*g + 2*y + yhat) {t_floor * 1e3:.2f} ms "
              f"(pure bincount of ready cell codes {t_pure * 1e3:.2f} ms)")
        print(f"  {'metric':22s} {'fairlearn s':>12s} {'fairkit s':>10s} "
              f"{'fairlearn/fairkit':>18s} {'fairkit/floor':>14s} {'path':>8s}")
        for name, (metric, kind, path) in METRICS.items():
            count_based = path == "counts"
            yt, yp = inputs[kind]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours = run_frame(GroupMetricFrame, metric, yt, yp, sf)
                theirs = run_frame(MetricFrame, metric, yt, yp, sf)
                check_agree(ours, theirs, name)
                frame = GroupMetricFrame(metrics=metric, y_true=yt, y_pred=yp,
                                         sensitive_features=sf)
                assert frame.metric_paths == {metric.__name__: path}, frame.metric_paths
                t_ours, t_floor_here = paired(
                    functools.partial(run_frame, GroupMetricFrame, metric, yt, yp, sf),
                    functools.partial(floor, codes, y, p), args.repeats)
                t_theirs = timeit(functools.partial(run_frame, MetricFrame, metric, yt, yp, sf),
                                  args.peer_repeats)
            ratio_floor = (f"{t_ours / t_floor_here:14.2f}" if count_based
                           else f"{'-':>14s}")
            print(f"  {name:22s} {t_theirs:12.3f} {t_ours:10.4f} {t_theirs / t_ours:18.1f} "
                  f"{ratio_floor} {path:>8s}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
