"""``fairkit audit``: per-group rates and the gaps between groups for a set of decisions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._cli_common import CLIError, _coerce_label, _json_number, _plain_markdown

__all__ = ["add_audit_parser"]

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


def _compas_decisions():
    from .datasets import load_compas

    frame = load_compas(as_frame=True).frame
    y_true = frame["two_year_recid"].to_numpy().astype(int)
    y_pred = frame["score_text"].astype(str).isin(["Medium", "High"]).to_numpy().astype(int)
    return y_true, y_pred, frame[["race", "sex"]].astype(str)


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



def add_audit_parser(sub):
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
    return audit
