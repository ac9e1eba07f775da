"""Issue 18 in one table: fairkit against the library each method is compared with.

    python benchmarks/bench_speed.py [--quick] [--repeats 3] [--max-rows 1000000]
                                     [--skip-adult] [--skip-aif360]

One process measures every row of issue 18's table and prints it as

    method | data | n | fairkit | peer | peer/fairkit | slope fairkit | slope peer | check

* ThresholdOptimizer fit (demographic parity, ``prefit=True`` on a score-column model)
  vs fairlearn's, on synthetic rows (10k / 100k / 1M) and Adult; check: identical
  ``predict`` (same ``random_state``) and ``predict_proba``;
* ExponentiatedGradient fit (``LogisticRegression()``, demographic parity, fairlearn's
  defaults) vs fairlearn's, same sizes and Adult; check: expected accuracy and
  demographic parity difference of fairkit minus fairlearn's;
* PrejudiceRemover fit (``eta=1``) on Adult one-hot (standardised, as AIF360's demo) vs
  AIF360's (its CPU time includes the ``train_pr.py`` subprocess); check: relative gap
  of AIF360's objective to fairkit's;
* CorrelationRemover ``fit(X).transform(X)`` vs fairlearn's at 10k / 100k / 1M rows;
  check: largest absolute difference of the outputs;
* equalized-odds post-processor ``predict`` overhead on Adult (30% held out): fairkit's
  predict minus the model's own predict, against AIF360's ``EqOddsPostprocessing.predict``
  (whose whole time is overhead: it is handed the model's decisions); the model's time is
  measured inside each predict call (a timing proxy stands in for the fitted model), so the
  overhead is a per-call difference, not a difference of two noisy medians;
* ThresholdOptimizer ``predict`` overhead (demographic parity, ``prefit=True``) on the same
  split against fairlearn's ``ThresholdOptimizer.predict``, both measured the same way;
* FairTTTS default ``predict_proba`` against the forest's own ``predict_proba`` (100 fully
  grown trees, Adult test split); the "peer" is the forest, so the ratio is below 1; check:
  mean absolute difference of P(favourable) from the exact expectation (``tol=0``);
* group metrics: fairkit's six headline metric calls vs one fairlearn ``MetricFrame`` from
  which the six are derived (2 groups), 10k / 100k / 1M rows; check: largest difference.

Times are CPU-time medians (``time.process_time``; AIF360's PrejudiceRemover adds its
subprocess) over ``--repeats`` runs, fairkit and peer interleaved, BLAS/OpenMP limited to
one thread (threadpoolctl and the environment, for subprocesses). Warm-up calls (imports,
numba compilation) are made before timing. The slopes are log-log least-squares slopes of
time against rows over the synthetic sizes (1 = linear). The load average
(``os.getloadavg``) is printed at the start and at the end.

The helpers come from the per-method scripts in this folder (loaded by file path:
``benchmarks/`` is not a package): bench_speed_threshold.py, bench_speed_reductions.py,
bench_speed_prejudice.py, bench_postprocessing.py, bench_fairttts.py, bench_metrics.py;
each has the fuller study of its method.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

HERE = Path(__file__).resolve().parent


def load(name):
    """Import ``benchmarks/<name>.py`` by its path (cached in ``sys.modules``)."""
    key = f"_fairkit_bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[key]
            raise
    return sys.modules[key]


def cpu_median(pairs, repeats):
    """Interleave the callables of ``pairs`` ``repeats`` times; CPU-time medians and the
    last outputs. Each callable may return ``(seconds, output)`` to time itself (a
    subprocess), otherwise it is timed here."""
    times = {k: [] for k in pairs}
    out = {}
    for _ in range(repeats):
        for k, fn in pairs.items():
            t0 = time.process_time()
            res = fn()
            dt = time.process_time() - t0
            if isinstance(res, tuple) and len(res) == 2 and isinstance(res[0], float):
                dt, res = res
            times[k].append(dt)
            out[k] = res
    return {k: float(np.median(v)) for k, v in times.items()}, out


def row(method, data, n, peer, t_fk, t_peer, check):
    return dict(method=method, data=data, n=n, peer=peer, fairkit_s=t_fk, peer_s=t_peer,
                ratio=t_peer / t_fk if t_fk > 0 else np.nan, check=check)


# ----------------------------------------------------------------------------- rows
def threshold_rows(sizes, repeats, adult):
    from fairlearn.postprocessing import ThresholdOptimizer as FLThresholdOptimizer

    from fairkit.postprocessing import ThresholdOptimizer

    thr = load("bench_speed_threshold")
    Xw, yw, _ = thr.synthetic(5000, seed=1)  # numba compile / load before the clock
    ThresholdOptimizer(thr.ScoreColumn().fit(Xw, yw), prot_attr=0, prefit=True).fit(Xw, yw)
    cases = [(f"{n:,} rows", n, lambda n=n: thr.synthetic(n)) for n in sizes]
    if adult:
        cases.append(("Adult", None, thr.adult))
    kw = dict(constraints="demographic_parity", prefit=True)

    def pair(X, y, sf, model, prot):
        return {"fk": lambda: ThresholdOptimizer(model, prot_attr=prot, random_state=0,
                                                 **kw).fit(X, y),
                "peer": lambda: FLThresholdOptimizer(estimator=model, **kw).fit(
                    X, y, sensitive_features=sf)}

    rows = []
    for label, n, make in cases:
        if n is None:
            X, y, sf, model = make()
            prot = "sex"
        else:
            X, y, sf = make()
            model, prot = thr.ScoreColumn().fit(X, y), 0
        t, fits = cpu_median(pair(X, y, sf, model, prot), repeats)
        ours, theirs = fits["fk"], fits["peer"]
        same = (np.array_equal(np.asarray(ours.predict(X)),
                               np.asarray(theirs.predict(X, sensitive_features=sf,
                                                         random_state=0)))
                and np.array_equal(ours.predict_proba(X)[:, 1],
                                   theirs._pmf_predict(X, sensitive_features=sf)[:, 1]))
        rows.append(row("ThresholdOptimizer fit", label, n or len(y), "fairlearn",
                        t["fk"], t["peer"], "identical" if same else "PREDICTIONS DIFFER"))
    return rows


def reductions_rows(sizes, repeats, adult):
    red = load("bench_speed_reductions")
    Xw, yw, aw = red.synthetic(2000, seed=1)
    red.fit_fairlearn(Xw, yw, aw, "demographic_parity")
    red.fit_fairkit(Xw, yw, aw, "demographic_parity")
    cases = [(f"{n:,} rows", n, lambda n=n: red.synthetic(n)) for n in sizes]
    if adult:
        cases.append(("Adult (one-hot, scaled)", None, red.adult))
    def pair(X, y, a):  # each fit times itself: (CPU s, P(1) on the training rows)
        return {"fk": lambda: tuple(red.fit_fairkit(X, y, a, "demographic_parity")[:2]),
                "peer": lambda: tuple(red.fit_fairlearn(X, y, a, "demographic_parity")[:2])}

    rows = []
    for label, _, make in cases:
        X, y, a = make()
        t, res = cpu_median(pair(X, y, a), repeats)
        acc_fk, disp_fk = red.metrics(res["fk"], y, a)
        acc_fl, disp_fl = red.metrics(res["peer"], y, a)
        rows.append(row("ExponentiatedGradient fit", label, len(y), "fairlearn",
                        t["fk"], t["peer"],
                        f"d_acc {acc_fk - acc_fl:+.1e}, d_disp {disp_fk - disp_fl:+.1e}"))
    return rows


def _prejudice_module():
    psp = load("bench_speed_prejudice")
    # AIF360 runs Kamishima's train_pr.py with `python`: make it this interpreter
    bindir = os.path.dirname(sys.executable)
    if not os.environ["PATH"].startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    return psp


def prejudice_rows(repeats, adult, synthetic_n):
    """Adult one-hot (or, without Adult, synthetic one-hot data of ``synthetic_n`` rows)."""
    psp = _prejudice_module()
    if adult:
        label, (X, groups, y) = "Adult (one-hot)", psp.adult()
    else:
        label, (X, groups, y) = f"{synthetic_n:,} rows (one-hot)", psp.synthetic(synthetic_n)
    codes = (groups == np.unique(groups)[1]).astype(int)
    t, res = cpu_median({
        "fk": lambda: psp.fairkit_fit(X, groups, y, 1.0),
        "peer": lambda: (lambda r: (float(r[0]), r[2]))(psp.aif360_fit(X, codes, y, 1.0))},
        repeats)
    obj_fk = res["fk"].objective_
    gap = (res["peer"] - obj_fk) / obj_fk
    return [row("PrejudiceRemover fit", label, len(y), "AIF360", t["fk"], t["peer"],
                f"objective (AIF360-fk)/fk {gap:+.1e}")]


def correlation_rows(sizes, repeats):
    from fairlearn.preprocessing import CorrelationRemover as FLCorrelationRemover

    from fairkit.preprocessing import CorrelationRemover

    psp = _prejudice_module()
    rows = []
    for n in sizes:
        X = psp.cr_data(n)
        pairs = {"fk": lambda X=X: CorrelationRemover(prot_attr="s").fit(X).transform(X),
                 "peer": lambda X=X: FLCorrelationRemover(sensitive_feature_ids=["s"])
                 .fit(X).transform(X)}
        cpu_median(pairs, 1)  # warm-up
        # small sizes take milliseconds: more repeats for a stable median
        reps = repeats * (7 if n <= 10_000 else 3 if n <= 100_000 else 1)
        t, out = cpu_median(pairs, reps)
        diff = float(np.abs(np.asarray(out["fk"], float) - np.asarray(out["peer"])).max())
        rows.append(row("CorrelationRemover fit+transform", f"{n:,} rows", n, "fairlearn",
                        t["fk"], t["peer"], f"max|diff| {diff:.1e}"))
    return rows


class _TimedModel:
    """A fitted model that adds the CPU time of its own prediction calls to ``spent``, so
    a post-processor's overhead is measured inside each of its calls."""

    def __init__(self, model):
        self.model = model
        self.spent = 0.0

    def _timed(self, method, X):
        t0 = time.process_time()
        out = getattr(self.model, method)(X)
        self.spent += time.process_time() - t0
        return out

    def predict(self, X):
        return self._timed("predict", X)

    def predict_proba(self, X):
        return self._timed("predict_proba", X)

    def __getattr__(self, name):  # classes_, decision_function, tags, ...
        return getattr(self.model, name)


def _overhead(fn, proxy):
    """``fn()`` timed here, less the time ``proxy`` spent in the model: (CPU s, output)."""
    proxy.spent = 0.0
    t0 = time.process_time()
    out = fn()
    return float(time.process_time() - t0 - proxy.spent), out


def _synthetic_people(n, seed=0):
    """A frame shaped like Adult: categorical and numeric columns, a ``sex`` column."""
    rng = np.random.default_rng(seed)
    male = rng.random(n) < 0.67
    X = pd.DataFrame({
        "age": rng.normal(40, 12, n), "hours": rng.normal(40, 10, n),
        "job": pd.Categorical(rng.choice(list("abcdefgh"), n)),
        "sex": pd.Categorical(np.where(male, "Male", "Female"))})
    logit = 0.05 * (X["age"] - 40) + 0.04 * (X["hours"] - 40) + 0.8 * male - 1.2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(int)
    return X, y


def eo_overhead_rows(repeats, adult, synthetic_n, aif360=True):
    """Post-processors' predict beyond the model's own predict: fairkit's equalized odds vs
    AIF360's (with ``aif360``), fairkit's ThresholdOptimizer vs fairlearn's."""
    from fairlearn.postprocessing import ThresholdOptimizer as FLThresholdOptimizer
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from fairkit.postprocessing import EqualizedOddsPostprocessor, ThresholdOptimizer

    if adult:
        from fairkit.datasets import load_adult

        b = load_adult()
        X, y = b.data, np.asarray(b.target).astype(int)
        label = "Adult (30% held out)"
    else:
        X, y = _synthetic_people(synthetic_n)
        label = f"{synthetic_n:,} rows (30% held out)"
    cat = X.select_dtypes(exclude="number").columns.tolist()
    num = X.select_dtypes("number").columns.tolist()
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), cat),
                                (StandardScaler(), num)),
        LogisticRegression(max_iter=500))
    train = np.random.default_rng(0).random(len(X)) < 0.7
    Xtr, Xte, ytr, yte = X[train], X[~train], y[train], y[~train]
    model.fit(Xtr, ytr)
    n_test = int((~train).sum())
    reps = max(20, 10 * repeats)  # milliseconds: many interleaved runs
    rows = []
    if aif360:
        from aif360.algorithms.postprocessing import EqOddsPostprocessing

        bpp = load("bench_postprocessing")
        eo = EqualizedOddsPostprocessor(model, prot_attr="sex", prefit=True,
                                        objective="balanced_accuracy",
                                        random_state=0).fit(Xtr, ytr)
        reference = eo.predict(Xte)
        eo.estimator_ = timed_eo = _TimedModel(model)
        a_tr = (Xtr["sex"] == "Male").to_numpy().astype(int)
        a_te = (Xte["sex"] == "Male").to_numpy().astype(int)
        groups = {"unprivileged_groups": [{"a": 0}], "privileged_groups": [{"a": 1}]}
        true_tr, pred_tr = bpp.aif_datasets(a_tr, model.predict_proba(Xtr)[:, 1], ytr)
        aif = EqOddsPostprocessing(seed=0, **groups).fit(true_tr, pred_tr)
        _, pred_te = bpp.aif_datasets(a_te, model.predict_proba(Xte)[:, 1], yte)
        pairs = {"fk": lambda: _overhead(lambda: eo.predict(Xte), timed_eo),
                 "peer": lambda: aif.predict(pred_te)}
        cpu_median(pairs, 2)  # warm-up
        t, out = cpu_median(pairs, reps)
        same = np.array_equal(out["fk"], reference)
        rows.append(row("EqualizedOdds predict overhead", label, n_test, "AIF360",
                        t["fk"], t["peer"],
                        "same predictions through the timing proxy" if same
                        else "PREDICTIONS DIFFER through the timing proxy"))
    kw = dict(constraints="demographic_parity", prefit=True)
    to = ThresholdOptimizer(model, prot_attr="sex", random_state=0, **kw).fit(Xtr, ytr)
    fl = FLThresholdOptimizer(estimator=model, **kw).fit(Xtr, ytr,
                                                         sensitive_features=Xtr["sex"])
    sf_te = Xte["sex"]
    same = np.array_equal(to.predict(Xte), fl.predict(Xte, sensitive_features=sf_te,
                                                      random_state=0))
    to.estimator_ = timed_to = _TimedModel(model)
    fl.estimator_ = timed_fl = _TimedModel(model)
    pairs = {"fk": lambda: _overhead(lambda: to.predict(Xte), timed_to),
             "peer": lambda: _overhead(lambda: fl.predict(Xte, sensitive_features=sf_te,
                                                          random_state=0), timed_fl)}
    cpu_median(pairs, 2)
    t, _ = cpu_median(pairs, reps)
    rows.append(row("ThresholdOptimizer predict overhead", label, n_test, "fairlearn",
                    t["fk"], t["peer"], "identical" if same else "PREDICTIONS DIFFER"))
    return rows


def fairttts_rows(repeats, adult, synthetic_n, time_rows, err_rows, n_trees=100):
    """FairTTTS default predict_proba vs the forest's; mean error vs tol=0."""
    from sklearn.ensemble import RandomForestClassifier

    from fairkit.postprocessing import FairTTTSClassifier

    bft = load("bench_fairttts")
    if adult:
        Xtr, ytr, Xte = bft._adult_split()
        prot, label = "sex", "Adult test split"
    else:
        X, y = bft._synthetic_frame(synthetic_n + time_rows, seed=1)
        Xtr, ytr, Xte = X.iloc[:synthetic_n], y[:synthetic_n], X.iloc[synthetic_n:]
        prot, label = "a", f"synthetic ({synthetic_n:,} train)"
    rf = RandomForestClassifier(n_trees, random_state=0, n_jobs=1).fit(Xtr, ytr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = FairTTTSClassifier(rf, prot_attr=prot, priv_group=1.0, prefit=True).fit(Xtr)
        exact = FairTTTSClassifier(rf, prot_attr=prot, priv_group=1.0, prefit=True,
                                   tol=0.0).fit(Xtr)
    Xt, Xe = Xte.iloc[:time_rows], Xte.iloc[:err_rows]
    default.predict_proba(Xt.iloc[:5])  # numba compile / load
    exact.predict_proba(Xt.iloc[:5])
    t, _ = cpu_median({"fk": lambda: default.predict_proba(Xt),
                       "peer": lambda: rf.predict_proba(Xt)}, max(3, repeats))
    err = np.abs(default.predict_proba(Xe)[:, 1] - exact.predict_proba(Xe)[:, 1])
    return [row("FairTTTS default predict_proba", f"{label}, {n_trees} trees", len(Xt),
                "forest predict_proba", t["fk"], t["peer"],
                f"mean err vs tol=0 {err.mean():.4f} ({len(Xe)} rows); "
                f"{t['fk'] / t['peer']:.1f}x the forest")]


def metrics_rows(sizes, repeats):
    bm = load("bench_metrics")

    def pair(y, p, sf):
        return {"fk": lambda: bm.fairkit_six(y, p, sf),
                "peer": lambda: bm.fairlearn_six(y, p, sf)}

    rows = []
    for n in sizes:
        y, p, sf, _, _ = bm.make_data(n, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, out = cpu_median(pair(y, p, sf), repeats)
        diff = float(np.nanmax(np.abs(np.array(out["fk"]) - np.array(out["peer"]))))
        rows.append(row("group metrics (6) vs MetricFrame", f"{n:,} rows, 2 groups", n,
                        "fairlearn", t["fk"], t["peer"], f"max|diff| {diff:.1e}"))
    return rows


# ----------------------------------------------------------------------------- table
def add_slopes(table):
    """Log-log slope of time against n over each method's synthetic ("rows") sizes."""
    table = table.copy()
    table["slope_fairkit"] = np.nan
    table["slope_peer"] = np.nan
    for _, part in table[table["data"].str.endswith(" rows")
                         | table["data"].str.contains(" rows, ")].groupby("method"):
        if part["n"].nunique() < 2:
            continue
        ln = np.log(part["n"].to_numpy(float))
        for col, src in (("slope_fairkit", "fairkit_s"), ("slope_peer", "peer_s")):
            t = part[src].to_numpy(float)
            if np.all(t > 0):
                table.loc[part.index, col] = np.polyfit(ln, np.log(t), 1)[0]
    return table


def build_table(sizes=(10_000, 100_000, 1_000_000), repeats=3, adult=True, aif360=True,
                parts=None, fairttts_rows_timed=2000, fairttts_rows_err=500,
                fairttts_trees=100, small_n=20_000, verbose=True):
    """Measure every row; return the table (a DataFrame, one row per measurement).

    ``parts`` selects among "threshold", "reductions", "prejudice", "correlation",
    "eo_overhead", "fairttts", "metrics" (all by default). Without ``adult`` the Adult
    rows are left out and the Adult-only rows (PrejudiceRemover, predict overhead,
    FairTTTS) run on synthetic data of ``small_n`` rows; without ``aif360`` the rows whose
    peer is AIF360 are left out. A part that fails gives a row whose check holds the error.
    """
    all_parts = ["threshold", "reductions", "prejudice", "correlation", "eo_overhead",
                 "fairttts", "metrics"]
    parts = all_parts if parts is None else list(parts)
    sizes = list(sizes)
    jobs = {
        "threshold": lambda: threshold_rows(sizes, repeats, adult),
        "reductions": lambda: reductions_rows(sizes, repeats, adult),
        "prejudice": lambda: prejudice_rows(repeats, adult, small_n),
        "correlation": lambda: correlation_rows(sizes, repeats),
        "eo_overhead": lambda: eo_overhead_rows(repeats, adult, small_n, aif360),
        "fairttts": lambda: fairttts_rows(repeats, adult, small_n, fairttts_rows_timed,
                                          fairttts_rows_err, fairttts_trees),
        "metrics": lambda: metrics_rows(sizes, repeats),
    }
    if not aif360:
        parts = [p for p in parts if p != "prejudice"]
    rows = []
    with threadpool_limits(1):
        for part in parts:
            t0 = time.process_time()
            try:
                new = jobs[part]()
            except Exception as exc:  # keep the other rows; say what failed
                if verbose:
                    traceback.print_exc()
                new = [row(part, "-", 0, "-", np.nan, np.nan,
                           f"ERROR {type(exc).__name__}: {exc}")]
            rows += new
            if verbose:
                print(f"[{part}: {time.process_time() - t0:.1f} CPU s; load "
                      f"{os.getloadavg()[0]:.2f}]", file=sys.stderr, flush=True)
    return add_slopes(pd.DataFrame(rows))


def _fmt_time(s):
    if not np.isfinite(s):
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def format_table(table):
    def num(v, f):
        return "" if not np.isfinite(v) else format(v, f)

    out = pd.DataFrame({
        "method": table["method"], "data": table["data"],
        "n": table["n"].map(lambda v: f"{int(v):,}"),
        "fairkit": table["fairkit_s"].map(_fmt_time),
        "peer": [f"{p} {_fmt_time(t)}"
                 for p, t in zip(table["peer"], table["peer_s"], strict=True)],
        "peer/fairkit": table["ratio"].map(lambda v: num(v, ".3g")),
        "slope fairkit": table["slope_fairkit"].map(lambda v: num(v, ".2f")),
        "slope peer": table["slope_peer"].map(lambda v: num(v, ".2f")),
        "check": table["check"]})
    widths = {c: max(len(c), *(len(str(v)) for v in out[c])) for c in out.columns}
    lines = ["| " + " | ".join(c.ljust(widths[c]) for c in out.columns) + " |",
             "|" + "|".join("-" * (widths[c] + 2) for c in out.columns) + "|"]
    for _, r in out.iterrows():
        lines.append("| " + " | ".join(str(r[c]).ljust(widths[c]) for c in out.columns)
                     + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="10k and 100k rows only, 1 repeat (a smoke test)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-rows", type=int, default=1_000_000,
                    help="largest synthetic size (sizes are 10k, 100k, 1M up to this)")
    ap.add_argument("--skip-adult", action="store_true")
    ap.add_argument("--skip-aif360", action="store_true")
    ap.add_argument("--parts", nargs="+", default=None,
                    choices=["threshold", "reductions", "prejudice", "correlation",
                             "eo_overhead", "fairttts", "metrics"])
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    max_rows = min(args.max_rows, 100_000) if args.quick else args.max_rows
    repeats = 1 if args.quick else args.repeats
    sizes = [n for n in (10_000, 100_000, 1_000_000) if n <= max_rows]
    load0 = os.getloadavg()
    wall0 = time.perf_counter()
    table = build_table(sizes, repeats, adult=not args.skip_adult,
                        aif360=not args.skip_aif360, parts=args.parts)
    load1 = os.getloadavg()
    print(f"\nIssue 18 side by side: CPU-time medians of {repeats} (interleaved), one "
          "BLAS/OpenMP thread; peer/fairkit > 1 means fairkit is faster; slopes: log-log "
          f"of time against rows over {', '.join(f'{n:,}' for n in sizes)}")
    print(format_table(table))
    print(f"load average at start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; at end "
          f"{load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} (1 / 5 / 15 min; 2 cores); "
          f"wall {time.perf_counter() - wall0:.0f} s")
    return table


if __name__ == "__main__":
    main()
