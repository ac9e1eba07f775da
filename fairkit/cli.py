"""The ``fairkit`` command.

``fairkit audit``
    Per-group rates and the gaps between groups for a set of decisions. With no data
    arguments it audits the published COMPAS decisions (score_text Medium/High read as
    "predicted to reoffend") against two-year recidivism, by race and by sex. With
    ``--csv FILE --target COL --pred COL --prot-attr COL`` it audits a user's file, read in
    chunks so a file larger than memory works.
``fairkit compare``
    The fairness-accuracy comparison of the baseline and the mitigators (see
    :mod:`fairkit.model_selection`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main"]

#: Rates shown per group, in this order.
AUDIT_RATES = [
    "base_rate",
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "precision",
    "accuracy",
]
#: Gaps shown per attribute.
AUDIT_GAPS = [
    "statistical_parity_difference",
    "disparate_impact_ratio",
    "equal_opportunity_difference",
    "false_positive_rate_difference",
    "false_negative_rate_difference",
    "average_odds_difference",
    "equalized_odds_difference",
    "predictive_parity_difference",
    "accuracy_difference",
]


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


# ---------------------------------------------------------------------------------------
# audit
# ---------------------------------------------------------------------------------------
def _compas_decisions():
    from .datasets import load_compas

    frame = load_compas(as_frame=True).frame
    y_true = frame["two_year_recid"].to_numpy().astype(int)
    y_pred = frame["score_text"].astype(str).isin(["Medium", "High"]).to_numpy().astype(int)
    return y_true, y_pred, frame[["race", "sex"]].astype(str)


def _coerce_label(value: str, column: pd.Series):
    """Turn the --pos-label string into the column's type."""
    if pd.api.types.is_bool_dtype(column):
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
    if pd.api.types.is_numeric_dtype(column):
        try:
            return float(value)
        except ValueError as exc:
            raise CLIError(
                f"--pos-label {value!r} is not a number, but column {column.name!r} is numeric."
            ) from exc
    return value


def _audit_csv_counts(args):
    from .metrics import GroupCounts

    path = Path(args.csv)
    if not path.is_file():
        raise CLIError(f"--csv {args.csv!r}: no such file.")
    attrs = list(args.prot_attr)
    wanted = [args.target, args.pred, *attrs]
    header = pd.read_csv(path, nrows=0).columns
    missing = [c for c in dict.fromkeys(wanted) if c not in header]
    if missing:
        raise CLIError(
            f"column(s) {missing} not found in {args.csv}; columns: {list(header)}."
        )
    sets = [[a] for a in attrs] + ([attrs] if args.intersectional and len(attrs) > 1 else [])
    totals = [None] * len(sets)
    n_rows = 0
    for chunk in pd.read_csv(path, usecols=list(dict.fromkeys(wanted)), chunksize=args.chunksize):
        n_rows += len(chunk)
        pos = _coerce_label(args.pos_label, chunk[args.target])
        y_true = (chunk[args.target] == pos).to_numpy().astype(int)
        if args.threshold is not None:
            y_pred = (pd.to_numeric(chunk[args.pred]) >= args.threshold).to_numpy().astype(int)
        else:
            y_pred = (chunk[args.pred] == _coerce_label(args.pos_label, chunk[args.pred]))
            y_pred = y_pred.to_numpy().astype(int)
        for k, cols in enumerate(sets):
            try:
                part = GroupCounts.from_arrays(y_true, y_pred, sensitive_features=chunk[cols])
            except ValueError as exc:
                raise CLIError(str(exc)) from exc
            totals[k] = part if totals[k] is None else totals[k] + part
    if n_rows == 0:
        raise CLIError(f"{args.csv} has a header but no rows.")
    return {" x ".join(cols): counts for cols, counts in zip(sets, totals, strict=True)}


def _audit_compas_counts(args):
    from .metrics import GroupCounts

    y_true, y_pred, groups = _compas_decisions()
    sets = [["race"], ["sex"]] + ([["race", "sex"]] if args.intersectional else [])
    return {
        " x ".join(cols): GroupCounts.from_arrays(y_true, y_pred, sensitive_features=groups[cols])
        for cols in sets
    }


def _priv_for(counts, priv_group):
    if priv_group is None:
        return None
    matches = [lab for lab in counts.labels if str(lab) == priv_group]
    return matches[0] if matches else None


def _audit_tables(all_counts, priv_group):
    """Per attribute: (per-group DataFrame, gaps Series, the priv group used or None)."""
    out = {}
    for name, counts in all_counts.items():
        table = counts.by_group()[["n_rows", *AUDIT_RATES]].rename(columns={"n_rows": "n"})
        table["n"] = table["n"].round().astype(np.int64)
        table.index = [
            ", ".join(map(str, lab)) if isinstance(lab, tuple) else str(lab)
            for lab in counts.labels
        ]
        table.index.name = name
        priv = _priv_for(counts, priv_group)
        gaps = pd.Series({g: counts.metric(g, priv_group=priv) for g in AUDIT_GAPS}, name=name)
        out[name] = (table, gaps, priv)
    return out


def _format_audit(tables, fmt, title):
    if fmt == "json":
        payload = {
            "title": title,
            "attributes": {
                name: {
                    "privileged_group": None if priv is None else str(priv),
                    "gap_definition": "unprivileged minus privileged"
                    if priv is not None
                    else "largest minus smallest group",
                    "groups": [
                        {"group": idx, **{k: _json_number(v) for k, v in row.items()}}
                        for idx, row in table.to_dict(orient="index").items()
                    ],
                    "gaps": {k: _json_number(v) for k, v in gaps.items()},
                }
                for name, (table, gaps, priv) in tables.items()
            },
        }
        return json.dumps(payload, indent=2)
    if fmt == "csv":
        parts = []
        for name, (table, gaps, _) in tables.items():
            t = table.reset_index().rename(columns={name: "group"})
            t.insert(0, "attribute", name)
            t.insert(1, "row", "group")
            g = pd.DataFrame({"attribute": name, "row": "gap", "group": gaps.index,
                              "value": gaps.to_numpy()})
            parts.extend([t, g])
        return pd.concat(parts, ignore_index=True).to_csv(index=False).rstrip("\n")
    lines = [title, ""] if fmt == "table" else [f"# {title}", ""]
    for name, (table, gaps, priv) in tables.items():
        how = (f"unprivileged minus privileged ({priv})" if priv is not None
               else "largest minus smallest group")
        if fmt == "markdown":
            lines += [f"## {name}", "", _plain_markdown(table), "",
                      f"Gaps ({how}):", "",
                      _plain_markdown(gaps.to_frame("value")), ""]
        else:
            lines += [f"== {name} ==", table.to_string(float_format=lambda v: f"{v:.3f}"), "",
                      f"Gaps ({how}):",
                      gaps.to_string(float_format=lambda v: f"{v:+.3f}"), ""]
    return "\n".join(lines).rstrip("\n")


def _json_number(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    v = float(v)
    return None if not np.isfinite(v) else v


def _plain_markdown(frame: pd.DataFrame) -> str:
    head = [frame.index.name or ""] + [str(c) for c in frame.columns]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    is_float = [pd.api.types.is_float_dtype(frame[c]) for c in frame.columns]
    for idx, *values in frame.itertuples(name=None):
        cells = [str(idx)] + [
            f"{v:.3f}" if flt else str(v) for v, flt in zip(values, is_float, strict=True)
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _run_audit(args, out):
    if args.csv is None:
        if any(v is not None for v in (args.target, args.pred)) or args.prot_attr:
            raise CLIError("--target, --pred and --prot-attr need --csv FILE.")
        counts = _audit_compas_counts(args)
        title = ("COMPAS (ProPublica, Broward County; 6,172 defendants): score_text "
                 "Medium/High as 'predicted to reoffend' vs two-year recidivism")
    else:
        missing = [f"--{n.replace('_', '-')}" for n in ("target", "pred", "prot_attr")
                   if not getattr(args, n)]
        if missing:
            raise CLIError(f"--csv needs {', '.join(missing)}.")
        counts = _audit_csv_counts(args)
        title = f"{args.csv}: {args.pred} vs {args.target} (positive label {args.pos_label!r})"
    tables = _audit_tables(counts, args.priv_group)
    print(_format_audit(tables, args.format, title), file=out)
    return 0


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


def _html_escape(text):
    import html

    return html.escape(str(text))


def _add_compare_parser(sub):
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
def build_parser():
    parser = argparse.ArgumentParser(
        prog="fairkit", description="Measure and mitigate unfairness in ML models."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    audit = sub.add_parser(
        "audit",
        help="per-group rates and gaps of a set of decisions",
        description="Audit decisions by group. Without --csv: the published COMPAS decisions.",
    )
    audit.add_argument("--csv", help="CSV file with true labels, decisions and attributes")
    audit.add_argument("--target", help="column of true labels")
    audit.add_argument("--pred", help="column of decisions (or scores, with --threshold)")
    audit.add_argument("--prot-attr", nargs="+", default=[], help="protected column(s)")
    audit.add_argument("--pos-label", default="1", help="the positive label (default: 1)")
    audit.add_argument("--threshold", type=float, default=None,
                       help="decision = (pred >= threshold) when pred holds scores")
    audit.add_argument("--priv-group", default=None,
                       help="privileged group: gaps become unprivileged minus privileged")
    audit.add_argument("--intersectional", action="store_true",
                       help="also audit the intersection of all protected attributes")
    audit.add_argument("--chunksize", type=int, default=1_000_000,
                       help="rows read at a time from --csv (default: 1,000,000)")
    audit.add_argument("--format", choices=["table", "json", "csv", "markdown"],
                       default="table")
    audit.set_defaults(run=_run_audit)

    _add_compare_parser(sub)
    return parser


def main(argv=None, out=None):
    """Run the ``fairkit`` command; returns the exit status."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "chunksize", 1) is not None and getattr(args, "chunksize", 1) < 1:
        parser.error(f"--chunksize must be a positive integer, got {args.chunksize}.")
    try:
        return args.run(args, out)
    except CLIError as exc:
        print(f"fairkit {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
