"""Robustness of every registered method at its defaults on synthetic biased data (issue 15).

    python benchmarks/bench_robustness.py                  # quick grid, in-default methods
    python benchmarks/bench_robustness.py --all            # + methods not in the default run
    python benchmarks/bench_robustness.py --full           # + 1,000,000 rows
    python benchmarks/bench_robustness.py --methods dcov,reweighing --sizes 500 5000 \
        --pos-rates 0.5 0.05 --scales raw --groups 2 4s

Data (seeded numpy, :func:`make_biased`): ``n`` rows, a protected column ``group`` with
``k`` groups ``g0 .. g{k-1}`` (``"4"``: equal shares; ``"4s"``: the last group holds 5% of
the rows, the others share the rest), base rates falling from ``g0`` to the last group
(a logit offset of ``+bias/2`` .. ``-bias/2``), an overall positive rate (the label is the
top ``pos_rate`` quantile of a latent score), four numeric columns partly driven by the
label's latent factors and by the group (``income`` ~1e4-1e5, ``age`` 18-90, ``count``
small integers, ``ratio`` ~1e-3) and two categoricals (``region``, a proxy of the group;
``kind``, a noisy view of one latent factor). ``scale="standardised"`` z-scores the
numeric columns; ``"raw"`` leaves their wildly different scales.

Each method from :func:`fairkit.model_selection.registry.available_methods` is built by its
registered builder (its defaults: no grid) with ``priv_group`` = the largest group (ties go
to ``g0``, which is also the group with the highest base rate), fitted on a stratified 70%
split and measured on the held-out 30%:

* ``acc`` against ``maj``, the majority-class accuracy of the test split;
* ``spd`` = max - min selection rate over the groups, ``eo`` = max over {TPR, FPR} of the
  max - min over the groups, ``gc`` = max - min of Pleiss et al.'s weighted generalised
  cost of ``predict_proba`` (shown for calibrated equalized odds only); after the slash,
  the same for the method's unmitigated reference (``baseline``, or ``baseline_forest``
  for FairTTTS); ``gmin`` = the smallest group's test rows (below ~30 the spreads are
  noisy);
* fit time, and the warnings raised in fit + predict (``C`` ConstantFitWarning, ``V``
  ConvergenceWarning, ``o`` other).

Flags: ``BELOW_MAJORITY`` (acc < maj - 0.005), ``NO_MOVE`` (a mitigator whose target
disparity -- ``eo`` for equalized odds, ``gc`` for calibrated equalized odds, ``spd``
otherwise -- is not
below its reference's by at least 10% relative while the reference's is above 0.05
(0.01 for ``gc``)),
``CONSTANT`` (one predicted class on the test split), ``ERROR`` (an exception: type and
first line), ``UNAVAILABLE`` (the builder raised MethodUnavailable) and ``SKIPPED`` (the
size cap: ``--max-rows``, or a fit time extrapolated linearly from the method's previous
size above ``--max-fit-seconds``). A summary counts, per method, the configurations with
each flag.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fairkit.base import ConstantFitWarning
from fairkit.model_selection.registry import (
    MethodContext,
    MethodUnavailable,
    available_methods,
)

NUMERIC = ["income", "age", "count", "ratio"]
CATEGORICAL = ["region", "kind"]
PROT = "group"
#: the disparity each mitigator targets (NO_MOVE is judged on it); the rest: "spd"
TARGET = {"equalized_odds": "eo", "calibrated_equalized_odds": "gcost"}
#: the unmitigated model each method is compared with; the rest: "baseline"
REFERENCE = {"fairttts": "baseline_forest"}
FLAGS = ["BELOW_MAJORITY", "NO_MOVE", "CONSTANT", "ERROR", "UNAVAILABLE", "SKIPPED"]


def group_shares(spec):
    """``"4"`` -> four equal shares; ``"4s"`` -> the last group at 5%, the rest equal."""
    spec = str(spec)
    small = spec.endswith("s")
    k = int(spec[:-1] if small else spec)
    if not 2 <= k <= 6:
        raise ValueError(f"groups must be 2 to 6 (optionally with suffix 's'), got {spec!r}.")
    if small:
        return np.r_[np.full(k - 1, 0.95 / (k - 1)), 0.05]
    return np.full(k, 1.0 / k)


def make_biased(n, *, groups="2", pos_rate=0.5, scale="raw", bias=1.0, seed=0):
    """Synthetic biased data: ``(X, y)`` with ``X`` a DataFrame holding the ``group`` column.

    Group shares are exact (counts rounded, then shuffled); ``g0`` has the highest base rate
    and the last group the lowest.
    """
    if scale not in ("raw", "standardised"):
        raise ValueError(f"scale must be 'raw' or 'standardised', got {scale!r}.")
    rng = np.random.default_rng(seed)
    shares = group_shares(groups)
    k = len(shares)
    counts = np.floor(shares * n).astype(int)
    counts[0] += n - counts.sum()
    g = rng.permutation(np.repeat(np.arange(k), counts))
    proxy = np.linspace(0.5, -0.5, k)[g]  # +0.5 for g0 .. -0.5 for the last group
    u1, u2, u3 = rng.normal(size=(3, n))
    score = 1.0 * u1 + 0.7 * u2 + 0.5 * u3 + bias * proxy + rng.normal(0, 0.5, n)
    y = (score > np.quantile(score, 1 - pos_rate)).astype(int)

    income = np.exp(10.3 + 0.5 * (u1 + 0.5 * proxy) + 0.1 * rng.normal(size=n))
    age = np.clip(40 + 10 * (u2 + 0.2 * rng.normal(size=n)) + 4 * proxy, 18, 90).round()
    count = rng.poisson(np.exp(1.8 + 0.5 * u3 - 0.2 * proxy)).astype(float)
    ratio = 1e-3 * (u1 + 0.5 * proxy + 0.5 * rng.normal(size=n))
    # region: a proxy of the group (its own region with probability 0.6, else uniform)
    own = rng.random(n) < 0.6
    region = np.where(own, g % 5, rng.integers(0, 5, n))
    kind = np.digitize(u2 + 0.8 * rng.normal(size=n), [-0.5, 0.5])
    X = pd.DataFrame({
        "income": income, "age": age, "count": count, "ratio": ratio,
        "region": np.array(["north", "south", "east", "west", "centre"])[region],
        "kind": np.array(["a", "b", "c"])[kind],
        PROT: np.array([f"g{j}" for j in range(k)])[g],
    })
    if scale == "standardised":
        for c in NUMERIC:
            X[c] = (X[c] - X[c].mean()) / X[c].std()
    return X, y


def _largest_group(groups):
    counts = pd.Series(groups).value_counts()
    top = counts[counts == counts.max()].index
    return sorted(top)[0]


def disparities(y_true, y_pred, groups, min_group=1):
    """(spd, eo): max - min selection rate; max over TPR/FPR of the max - min over groups.

    A group with no positive (negative) test row is left out of the TPR (FPR) range, and a
    group with fewer than ``min_group`` test rows is left out of both (as ``fairkit
    compare --min-group-size`` does: a rate over a handful of rows is noise); with fewer
    than two groups left the gaps are undefined (NaN).
    """
    y_true, y_pred, groups = map(np.asarray, (y_true, y_pred, groups))
    sel, tpr, fpr = [], [], []
    for v in np.unique(groups):
        m = groups == v
        if m.sum() < min_group:
            continue
        sel.append(y_pred[m].mean())
        pos, neg = m & (y_true == 1), m & (y_true == 0)
        if pos.any():
            tpr.append(y_pred[pos].mean())
        if neg.any():
            fpr.append(y_pred[neg].mean())
    if len(sel) < 2:
        return float("nan"), float("nan")
    rng = lambda a: float(np.ptp(a)) if len(a) > 1 else 0.0  # noqa: E731
    return rng(sel), max(rng(tpr), rng(fpr))


def weighted_cost_gap(y_true, proba, groups):
    """max - min over the groups of Pleiss et al.'s weighted generalised cost of ``proba``:
    ``(1 - mu) * mean(proba | y=0) + mu * mean(1 - proba | y=1)``, halved, ``mu`` the
    group's base rate (a group with one label contributes its one term)."""
    y_true, proba, groups = map(np.asarray, (y_true, proba, groups))
    costs = []
    for v in np.unique(groups):
        m = groups == v
        mu = y_true[m].mean()
        neg, pos = m & (y_true == 0), m & (y_true == 1)
        gfpr = proba[neg].mean() if neg.any() else 0.0
        gfnr = (1 - proba[pos]).mean() if pos.any() else 0.0
        costs.append(0.5 * ((1 - mu) * gfpr + mu * gfnr))
    return float(np.ptp(costs)) if len(costs) > 1 else 0.0


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:90] if text else ''}"


def run_one(spec, ctx, Xtr, ytr, Xte, yte, min_group=1):
    """Fit and score one method; returns a dict (``error`` set on failure)."""
    out = {"acc": np.nan, "spd": np.nan, "eo": np.nan, "gcost": np.nan, "fit_s": np.nan,
           "const": False,
           "error": "", "unavailable": "", "n_C": 0, "n_V": 0, "n_o": 0, "other": ""}
    try:
        est = spec.build(ctx)
    except (MethodUnavailable, ImportError) as exc:
        out["unavailable"] = _first_line(exc)
        return out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            t = time.perf_counter()
            est.fit(Xtr, ytr)
            out["fit_s"] = time.perf_counter() - t
            pred = np.asarray(est.predict(Xte))
            if hasattr(est, "predict_proba"):
                proba = np.asarray(est.predict_proba(Xte))[:, 1]
                out["gcost"] = weighted_cost_gap(yte, proba, Xte[PROT])
        except Exception as exc:  # noqa: BLE001 - the benchmark reports every failure
            out["error"] = _first_line(exc)
            pred = None
    for w in caught:
        if issubclass(w.category, ConstantFitWarning):
            out["n_C"] += 1
        elif issubclass(w.category, ConvergenceWarning):
            out["n_V"] += 1
        else:
            out["n_o"] += 1
            if not out["other"]:  # the first one, for the note
                out["other"] = f"{w.category.__name__}: {str(w.message).splitlines()[0][:70]}"
    if pred is not None:
        out["acc"] = float(np.mean(pred == yte))
        out["spd"], out["eo"] = disparities(yte, pred, Xte[PROT], min_group)
        out["const"] = len(np.unique(pred)) == 1
    return out


#: a reference disparity below this leaves nothing to move (the costs are on a smaller scale)
MIN_REF = {"spd": 0.05, "eo": 0.05, "gcost": 0.01}


def flags_for(name, stage, r, ref, maj, *, tol=0.005, min_ref=None, rel=0.10):
    if r["unavailable"]:
        return ["UNAVAILABLE"]
    if r["error"]:
        return ["ERROR"]
    flags = []
    if r["acc"] < maj - tol:
        flags.append("BELOW_MAJORITY")
    if r["const"]:
        flags.append("CONSTANT")
    target = TARGET.get(name, "spd")
    if stage != "baseline" and ref is not None and np.isfinite(ref.get(target, np.nan)):
        floor = MIN_REF[target] if min_ref is None else min_ref
        if ref[target] > floor and not r[target] <= (1 - rel) * ref[target]:
            flags.append("NO_MOVE")
    return flags


def configurations(sizes, pos_rates, scales, groups):
    return [dict(n=n, pos_rate=p, scale=s, groups=g)
            for n, g, p, s in itertools.product(sizes, groups, pos_rates, scales)]


def config_label(c):
    return f"n={c['n']} k={c['groups']} pos={c['pos_rate']} {c['scale']}"


def run(configs, method_names, *, seed=0, bias=1.0, max_rows=None, max_fit_seconds=300.0,
        min_group=30, verbose=True):
    """Run every method on every configuration; returns the long result table."""
    specs = available_methods()
    max_rows = dict(max_rows or {})
    last_time = {}  # method -> (n, fit seconds) at its largest size so far
    rows = []
    for c in configs:
        X, y = make_biased(c["n"], groups=c["groups"], pos_rate=c["pos_rate"],
                           scale=c["scale"], bias=bias, seed=seed)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y,
                                              random_state=seed)
        Xtr, Xte = Xtr.reset_index(drop=True), Xte.reset_index(drop=True)
        maj = max(np.mean(yte), 1 - np.mean(yte))
        g_min = int(Xte[PROT].value_counts().min())  # few rows: a noisy SPD
        ctx = MethodContext(prot_attr=PROT, categorical=list(CATEGORICAL), numeric=list(NUMERIC),
                            priv_group=_largest_group(Xtr[PROT]), pos_label=1,
                            random_state=seed)
        results = {}
        # the references first, so every mitigator row is flagged (and printed) at once
        order = sorted(method_names, key=lambda m: specs[m].stage != "baseline")
        for name in order:
            spec = specs[name]
            skip = ""
            cap = max_rows.get(name, max_rows.get("*"))
            if cap is not None and c["n"] > cap:
                skip = f"n > max rows {cap}"
            elif name in last_time and c["n"] > last_time[name][0]:
                n0, t0 = last_time[name]
                guess = t0 * c["n"] / n0
                if guess > max_fit_seconds:
                    skip = f"~{guess:.0f}s extrapolated > {max_fit_seconds:.0f}s"
            if skip:
                r = {"acc": np.nan, "spd": np.nan, "eo": np.nan, "gcost": np.nan,
                     "fit_s": np.nan,
                     "const": False, "error": "", "unavailable": "", "skipped": skip,
                     "n_C": 0, "n_V": 0, "n_o": 0}
            else:
                r = run_one(spec, ctx, Xtr, ytr, Xte, yte, min_group)
                r["skipped"] = ""
                if np.isfinite(r["fit_s"]):
                    prev = last_time.get(name, (0, 0.0))
                    if c["n"] >= prev[0]:
                        last_time[name] = (c["n"], max(r["fit_s"], prev[1] if
                                                       c["n"] == prev[0] else 0.0))
            results[name] = r
            ref_name = REFERENCE.get(name, "baseline")
            ref = results.get(ref_name)
            if ref is None and ref_name in specs:  # reference not asked for: run it
                ref = run_one(specs[ref_name], ctx, Xtr, ytr, Xte, yte, min_group)
                results[ref_name] = ref
            if ref is not None and (ref.get("error") or ref.get("unavailable")
                                    or ref.get("skipped")):
                ref = None
            flags = (["SKIPPED"] if r["skipped"]
                     else flags_for(name, specs[name].stage, r, ref, maj))
            warn = "".join(f"{r[f'n_{t}']}{t}" for t in "CVo" if r[f"n_{t}"])
            note = r["skipped"] or r["error"] or r["unavailable"] or r.get("other", "")
            row = dict(config=config_label(c), **c, method=name, acc=r["acc"], maj=maj,
                       spd=r["spd"], spd_ref=ref["spd"] if ref else np.nan,
                       eo=r["eo"], eo_ref=ref["eo"] if ref else np.nan,
                       gcost=r["gcost"], gcost_ref=ref["gcost"] if ref else np.nan,
                       g_min=g_min,
                       fit_s=r["fit_s"], warn=warn, flags=" ".join(flags), note=note,
                       priv=ctx.priv_group)
            rows.append(row)
            if verbose:
                print(_fmt_row(row), flush=True)
    return pd.DataFrame(rows)


def _fmt_row(row):
    f = lambda v, d=3: "   -  " if not np.isfinite(v) else f"{v:.{d}f}"  # noqa: E731
    cfg = f"{row['config']} gmin={row['g_min']}"
    return (f"{cfg:<43} {row['method']:<26} acc {f(row['acc'])} maj {f(row['maj'])}"
            f"  spd {f(row['spd'])}/{f(row['spd_ref'])}  eo {f(row['eo'])}/{f(row['eo_ref'])}"
            + (f"  gc {f(row['gcost'])}/{f(row['gcost_ref'])}"
               if TARGET.get(row["method"]) == "gcost" else "")
            + f"  {f(row['fit_s'], 2):>7}s {row['warn']:<6} {row['flags']}"
            + (f"  [{row['note']}]" if row["note"] else ""))


def summary(df):
    """Per method: the number of configurations run and with each flag."""
    out = {}
    for name, sub in df.groupby("method", sort=False):
        flags = sub["flags"].str.split()
        out[name] = {"configs": len(sub), **{fl: int(flags.map(lambda f, fl=fl: fl in f).sum())
                                             for fl in FLAGS},
                     "warned": int((sub["warn"] != "").sum()),
                     "median_fit_s": float(sub["fit_s"].median())}
    return pd.DataFrame(out).T


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=None,
                   help="comma-separated registry names (default: the in-default ones)")
    p.add_argument("--all", action="store_true", help="every registered method")
    p.add_argument("--sizes", type=int, nargs="+", default=[500, 5_000, 50_000])
    p.add_argument("--pos-rates", type=float, nargs="+", default=[0.5, 0.2, 0.05])
    # every registered builder scales its numeric inputs, so "standardised" gave the same
    # result as "raw" for every (method, configuration) pair; ask for it with --scales
    p.add_argument("--scales", nargs="+", default=["raw"])
    p.add_argument("--groups", nargs="+", default=["2", "4s"],
                   help="group specs: k (2-6 equal shares) or ks (last group at 5%%)")
    p.add_argument("--full", action="store_true", help="add 1,000,000 rows")
    p.add_argument("--max-rows", nargs="*", default=[], metavar="METHOD=N",
                   help="per-method row caps ('*=N' for all)")
    p.add_argument("--max-fit-seconds", type=float, default=300.0,
                   help="skip a method where its extrapolated fit time exceeds this")
    p.add_argument("--bias", type=float, default=1.0,
                   help="logit gap between the first and the last group's base rates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-group-size", type=int, default=30,
                   help="groups with fewer test rows are left out of the gaps (default: 30, "
                   "as fairkit compare)")
    p.add_argument("--csv", default=None, help="also write the long table here")
    args = p.parse_args(argv)

    specs = available_methods()
    if args.methods:
        names = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in names if m not in specs]
        if unknown:
            p.error(f"unknown method(s) {unknown}; available: {sorted(specs)}")
    elif args.all:
        names = list(specs)
    else:
        names = [m for m, s in specs.items() if s.in_default]
    sizes = sorted(set(args.sizes) | ({1_000_000} if args.full else set()))
    caps = {}
    for item in args.max_rows:
        k, _, v = item.partition("=")
        caps[k] = int(v)
    configs = configurations(sizes, args.pos_rates, args.scales, args.groups)
    print(f"{len(configs)} configurations x {len(names)} methods: {', '.join(names)}")
    t = time.perf_counter()
    df = run(configs, names, seed=args.seed, bias=args.bias, max_rows=caps,
             max_fit_seconds=args.max_fit_seconds, min_group=args.min_group_size)
    print(f"\ntotal {time.perf_counter() - t:.0f}s\n\nSummary (configurations with each flag):")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary(df).to_string())
    flagged = df[df["flags"].str.contains("BELOW_MAJORITY|NO_MOVE|ERROR|CONSTANT")]
    if len(flagged):
        print("\nFlagged rows:")
        for _, row in flagged.iterrows():
            print(_fmt_row(row))
    if args.csv:
        df.to_csv(args.csv, index=False)
    return df


if __name__ == "__main__":
    main()
