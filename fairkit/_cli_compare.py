"""``fairkit compare``: the fairness-accuracy comparison of the baseline and the mitigators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._cli_common import CLIError, _coerce_label, _html_escape

__all__ = ["add_compare_parser"]


# ---------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------
#: Bundled data sets: loader, protected attribute, favourable label, feature columns
#: (None: all but the protected attributes' extra columns and score columns).
DATASETS = {
    "adult": dict(prot_attr="sex", priv_group="Male", pos_label=1, drop=["race"]),
    "compas": dict(
        prot_attr="race",
        priv_group="Caucasian",
        pos_label=0,  # not reoffending is the favourable outcome
        drop=["c_charge_desc", "decile_score", "score_text", "v_decile_score",
              "v_score_text", "age_cat"],
    ),
    # approval (denied == 0) is the favourable outcome
    "hmda": dict(prot_attr="race", priv_group="White", pos_label=0, drop=["ethnicity"]),
}


def _load_compare_data(args):
    """Return X (raw DataFrame), y, prot_attr, priv_group, pos_label, title."""
    from . import datasets

    if args.dataset in DATASETS:
        spec = DATASETS[args.dataset]
        bunch = getattr(datasets, f"load_{args.dataset}")(as_frame=True)
        X = bunch.data.drop(columns=[c for c in spec["drop"] if c in bunch.data.columns])
        y = pd.Series(np.asarray(bunch.target), name="target")
        prot = args.prot_attr or spec["prot_attr"]
        priv = args.priv_group if args.priv_group is not None else (
            spec["priv_group"] if prot == spec["prot_attr"] else None)
        pos = spec["pos_label"] if args.pos_label is None else _coerce_label(args.pos_label, y)
        if args.target is not None:
            raise CLIError(f"--target is only for --dataset FILE.csv, not {args.dataset!r}.")
        title = f"{args.dataset} (protected attribute: {prot})"
    else:
        path = Path(args.dataset)
        if path.suffix.lower() != ".csv":
            raise CLIError(
                f"--dataset {args.dataset!r}: expected one of {sorted(DATASETS)} or a .csv file."
            )
        if not path.is_file():
            raise CLIError(f"--dataset {args.dataset!r}: no such file.")
        if not args.target or not args.prot_attr:
            raise CLIError("--dataset FILE.csv needs --target and --prot-attr.")
        frame = pd.read_csv(path)
        if args.target not in frame.columns:
            raise CLIError(f"--target column {args.target!r} not found in {args.dataset}; "
                           f"columns: {list(frame.columns)}.")
        y = frame.pop(args.target)
        X = frame
        prot = args.prot_attr
        priv = args.priv_group
        pos = 1 if args.pos_label is None else _coerce_label(args.pos_label, y)
        title = f"{path.name} (target: {args.target}, protected attribute: {prot})"
    if prot not in X.columns:
        raise CLIError(f"--prot-attr column {prot!r} not found; columns: {list(X.columns)}.")
    if X[prot].isna().any():
        raise CLIError(f"--prot-attr column {prot!r} has missing values; drop those rows first.")
    if y.nunique() != 2:
        raise CLIError(f"the target must be binary; it has {y.nunique()} distinct values.")
    if args.sample and args.sample < len(X):
        keep = X.sample(n=args.sample, random_state=0).index
        X, y = X.loc[keep], y.loc[keep]
    if priv is not None:
        present = [v for v in pd.unique(X[prot]) if str(v) == str(priv)]
        if not present:
            raise CLIError(f"--priv-group {priv!r} does not occur in column {prot!r}.")
        priv = present[0]
    X, y = X.reset_index(drop=True), y.reset_index(drop=True).to_numpy()
    return X, y, prot, priv, pos, title


def _run_compare(args, out):
    import time

    from .metrics import make_fairness_scorer
    from .metrics.streaming import GROUP_METRICS
    from .model_selection import (
        MethodContext,
        available_methods,
        compare_mitigators,
        default_methods,
    )

    if args.metric not in GROUP_METRICS:
        raise CLIError(f"--metric {args.metric!r} is not a group metric; choose from "
                       f"{sorted(GROUP_METRICS)}.")
    known = available_methods()
    if args.list_methods:
        for name, spec in known.items():
            flag = "" if spec.in_default else "  (on request)"
            print(f"{name:28s} {spec.stage:9s} {spec.description}{flag}", file=out)
        return 0
    names = None
    if args.methods == "all":
        names = "all"
    elif args.methods:
        names = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in names if m not in known]
        if unknown:
            raise CLIError(f"unknown method(s) {unknown}; available: {sorted(known)}.")
    if args.cv < 2:
        raise CLIError(f"--cv must be at least 2, got {args.cv}.")
    X, y, prot, priv, pos, title = _load_compare_data(args)
    categorical = [c for c in X.columns
                   if c != prot and not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c != prot and c not in categorical]
    context = MethodContext(prot_attr=prot, categorical=categorical, numeric=numeric,
                            priv_group=priv, pos_label=pos, random_state=0)
    try:
        methods = default_methods(context, names)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if args.grid == "single":
        methods = {k: (est, {}) for k, (est, _) in methods.items()}
    scoring = {
        "accuracy": "accuracy",
        args.metric: make_fairness_scorer(args.metric, prot_attr=prot, pos_label=pos),
    }
    if not args.verbose:
        # Fitting warnings (convergence, unreachable costs) repeat once per fold and bury
        # the table; workers inherit the environment, so this silences them too.
        import os
        import warnings

        os.environ.setdefault("PYTHONWARNINGS", "ignore")
        warnings.simplefilter("ignore")
    start = time.perf_counter()
    try:
        if args.scheduler:
            import joblib
            from dask.distributed import Client

            with Client(args.scheduler), joblib.parallel_backend("dask"):
                result = compare_mitigators(methods, X, y, scoring=scoring, cv=args.cv,
                                            n_jobs=args.n_jobs, progress=not args.quiet)
        else:
            result = compare_mitigators(methods, X, y, scoring=scoring, cv=args.cv,
                                        n_jobs=args.n_jobs, progress=not args.quiet)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    elapsed = time.perf_counter() - start
    _write_compare_outputs(result, args, title, elapsed, out)
    return 0


def _write_compare_outputs(result, args, title, elapsed, out):
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_pareto_front

    table = result.table.copy()
    shown = table.drop(columns=[c for c in table.columns if c.startswith("abs_")])
    front = result.front[["method", "params", "accuracy", args.metric]]
    print(f"{title}: {len(table)} candidates, {args.cv}-fold CV, {elapsed:.1f} s", file=out)
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"), file=out)
    print("\nPareto front (accuracy up, |" + args.metric + "| down):", file=out)
    print(front.to_string(index=False, float_format=lambda v: f"{v:.4f}"), file=out)
    if args.bound is not None:
        from .model_selection import BestWithinBound

        pick = BestWithinBound("accuracy", args.metric, bound=args.bound)
        cv_like = {"mean_test_accuracy": table["accuracy"].to_numpy(),
                   f"mean_test_{args.metric}": table[args.metric].to_numpy()}
        try:
            best = table.iloc[pick(cv_like)]
        except ValueError as exc:
            raise CLIError(str(exc)) from exc
        print(f"\nMost accurate within |{args.metric}| <= {args.bound}: {best['method']} "
              f"({best['params']}), accuracy {best['accuracy']:.4f}, "
              f"{args.metric} {best[args.metric]:+.4f}", file=out)

    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / "fairkit-compare"
    fig, ax = plt.subplots(figsize=(7.5, 5))
    plot_pareto_front(table, x="accuracy", y=args.metric, ax=ax)
    ax.set_title(f"{title}\nlower right is better")
    fig.tight_layout()
    # Write to temporary names, then rename: a failed run never leaves half a report.
    tmp_png, tmp_csv, tmp_html = (stem.with_suffix(s + ".part") for s in (".png", ".csv", ".html"))
    fig.savefig(tmp_png, dpi=110, format="png")
    plt.close(fig)
    shown.to_csv(tmp_csv, index=False)
    png64 = base64.b64encode(tmp_png.read_bytes()).decode("ascii")
    html = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>fairkit compare</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>"
        f"<h1>fairkit compare</h1><p>{_html_escape(title)}; {len(table)} candidates, "
        f"{args.cv}-fold cross-validation, {elapsed:.1f} s.</p>"
        f"<img alt='Pareto front' src='data:image/png;base64,{png64}'/>"
        "<h2>All candidates</h2>"
        + shown.to_html(index=False, float_format=lambda v: f"{v:.4f}")
        + "<h2>Pareto front</h2>"
        + front.to_html(index=False, float_format=lambda v: f"{v:.4f}")
        + "</body></html>\n"
    )
    tmp_html.write_text(html)
    for tmp in (tmp_png, tmp_csv, tmp_html):
        tmp.replace(tmp.with_suffix(""))
    print(f"\nwrote {stem}.png, {stem}.csv and {stem}.html", file=out)


def add_compare_parser(sub):
    compare = sub.add_parser(
        "compare",
        help="fairness-accuracy comparison of the baseline and the mitigators",
        description="Cross-validate the baseline and every available mitigator on one data "
        "set, print the table and the Pareto front, write PNG, CSV and HTML reports.",
    )
    compare.add_argument("--dataset", default="adult",
                         help="adult, compas, hmda or a FILE.csv (default: adult)")
    compare.add_argument("--target", help="target column (FILE.csv only)")
    compare.add_argument("--prot-attr", help="protected column (default per data set)")
    compare.add_argument("--pos-label", default=None, help="favourable label")
    compare.add_argument("--priv-group", default=None,
                         help="privileged group (needed by FairTTTS and reject option)")
    compare.add_argument("--metric", default="statistical_parity_difference",
                         help="fairness metric (a fairkit group metric name)")
    compare.add_argument("--methods", default=None,
                         help="comma-separated method names, or 'all' (default: every "
                         "method fast enough for a few-minutes run; see --list-methods)")
    compare.add_argument("--list-methods", action="store_true",
                         help="list the registered methods and exit")
    compare.add_argument("--grid", choices=["default", "single"], default="default",
                         help="each method's small default grid, or its defaults only")
    compare.add_argument("--bound", type=float, default=None,
                         help="also report the most accurate candidate with |metric| <= BOUND")
    compare.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    compare.add_argument("--n-jobs", type=int, default=2, help="parallel jobs (default: 2)")
    compare.add_argument("--sample", type=int, default=None,
                         help="use a random sample of this many rows")
    compare.add_argument("--scheduler", default=None,
                         help="address of a dask.distributed scheduler to run the search on")
    compare.add_argument("--output", default="fairkit-compare-output",
                         help="folder for fairkit-compare.png/.csv/.html")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument("--verbose", action="store_true",
                         help="show the models' warnings (hidden by default)")
    compare.set_defaults(run=_run_compare)


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------
