"""``fairkit audit``: per-group rates and the gaps between groups for a set of decisions.

Rules the audit keeps (each is printed with its output or refused with one line):

* Decisions are labels. A ``--pred`` column of scores is refused unless ``--threshold T``
  turns it into decisions: ``score >= T`` is the label ``--score-label`` (default 1), any
  other score the other label. With ``--pos-label 0`` and a denial score (score >= T means
  deny = 1), ``score >= T`` is therefore *not* favourable.
* ``--pos-label`` must occur in the data (in ``--target`` or ``--pred``, as in
  :mod:`fairkit.metrics.group`).
* Groups with fewer than ``--min-group-size`` rows are shown, flagged, and left out of the
  headline gaps; each gap names the two groups it comes from and carries a bootstrap
  interval.
* Without ``--target`` the audit is of decisions only: selection rates and their gaps.
* A ``--csv`` file gives the same numbers at every ``--chunksize``: a first pass decides
  each column's type over the whole file (pandas' rule for a whole file: all integers,
  all numbers, all booleans, or else text) and the second pass reads every chunk with
  that type, so the numbers equal :func:`fairkit.metrics.fairness_report` on
  ``pandas.read_csv(file, low_memory=False)``. Missing labels, decisions or protected
  values are refused with their count and first line numbers (the in-memory API raises
  on them too; counting a blank as a negative label or dropping the row would change a
  group's rate without a word). Empty files, header-only files, unclosed quotes,
  non-UTF-8 text and compressed data under a plain ``.csv`` name are one-line errors.
"""

from __future__ import annotations

import json
import sys
import warnings
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
#: Gaps shown per attribute, with the rate(s) each one compares between groups.
GAP_RATES = {
    "statistical_parity_difference": ("selection_rate",),
    "equal_opportunity_difference": ("true_positive_rate",),
    "false_positive_rate_difference": ("false_positive_rate",),
    "false_negative_rate_difference": ("false_negative_rate",),
    "average_odds_difference": ("true_positive_rate", "false_positive_rate"),
    "equalized_odds_difference": ("true_positive_rate", "false_positive_rate"),
    "predictive_parity_difference": ("precision",),
    "accuracy_difference": ("accuracy",),
    "disparate_impact_ratio": ("selection_rate",),
}
AUDIT_GAPS = list(GAP_RATES)
DECISION_GAPS = ["statistical_parity_difference", "disparate_impact_ratio"]
RATIO_GAPS = {"disparate_impact_ratio"}

#: A numeric protected column with more distinct values than this gets a binning warning.
MANY_LEVELS = 20
#: Distinct values remembered per column for error messages.
_SHOWN_VALUES = 10


def _compas_source(args):
    from .datasets import load_compas

    frame = load_compas(as_frame=True).frame
    chunk = pd.DataFrame({
        "two_year_recid": frame["two_year_recid"].to_numpy().astype(int),
        "medium_or_high": frame["score_text"].astype(str).isin(["Medium", "High"])
        .to_numpy().astype(int),
        "race": frame["race"].astype(str).to_numpy(),
        "sex": frame["sex"].astype(str).to_numpy(),
    })
    title = ("COMPAS (ProPublica, Broward County; 6,172 defendants): score_text "
             "Medium/High as 'predicted to reoffend' vs two-year recidivism")
    return iter([chunk]), "two_year_recid", "medium_or_high", ["race", "sex"], title


#: First bytes of compressed data that pandas reads only under a matching file name.
_COMPRESSED_MAGIC = [
    (b"\x1f\x8b", "gzip", ".gz"),
    (b"BZh", "bzip2", ".bz2"),
    (b"PK\x03\x04", "zip", ".zip"),
    (b"\xfd7zXZ\x00", "xz", ".xz"),
    (b"\x28\xb5\x2f\xfd", "zstandard", ".zst"),
]
_COMPRESSED_SUFFIXES = {".gz", ".bz2", ".zip", ".xz", ".zst", ".tar"}
#: Missing cells whose line numbers an error message names.
_SHOWN_LINES = 5


def _check_text_file(path: Path, option: str):
    """Refuse, with one line, files pandas would misread: compressed data under a plain
    name, UTF-16/32 text, binary data."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        raise CLIError(f"{option} {str(path)!r} is empty: no header line, no rows.")
    if path.suffix.lower() in _COMPRESSED_SUFFIXES:
        return  # pandas decompresses by suffix; decoding errors surface when reading
    for magic, kind, suffix in _COMPRESSED_MAGIC:
        if head.startswith(magic):
            raise CLIError(f"{option} {str(path)!r} holds {kind}-compressed data under a "
                           f"plain name; decompress it or name it {path.name}{suffix}.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise CLIError(f"{option} {str(path)!r} is not UTF-8 text (UTF-16 or binary: it "
                       "holds NUL bytes); save it as UTF-8 CSV.")


def _first_non_utf8(path: Path):
    """(line, byte) of the first byte of an uncompressed file that is not UTF-8, or None."""
    import codecs

    if path.suffix.lower() in _COMPRESSED_SUFFIXES:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return line + block.count(b"\n", 0, exc.start), block[exc.start]
            line += block.count(b"\n")
    return None


def _read_error(option, file, exc):
    """One line for a file pandas cannot parse."""
    if isinstance(exc, pd.errors.EmptyDataError):
        return CLIError(f"{option} {file!r} is empty: no header line, no rows.")
    if isinstance(exc, UnicodeDecodeError):
        where = _first_non_utf8(Path(file))
        where = f" at line {where[0]}" if where else ""
        return CLIError(f"{option} {file!r} is not UTF-8 text (byte "
                        f"0x{exc.object[exc.start]:02x}{where}); save it as UTF-8 CSV.")
    if isinstance(exc, (EOFError, OSError)):
        return CLIError(f"{option} {file!r} cannot be read ({type(exc).__name__}: {exc}); "
                        "a compressed file may be truncated or corrupt.".replace("\n", " "))
    text = str(exc).replace("\n", " ")
    if "EOF inside string" in text:
        text += " (a quote is opened and never closed)"
    return CLIError(f"{option} {file!r} is not a well-formed CSV: {text}.")


_READ_ERRORS = (ValueError, OSError, EOFError)  # ParserError, EmptyDataError, Unicode...


def _kind(series):
    """The type pandas inferred for the non-missing values of one chunk of a column."""
    if not len(series):
        return "none"
    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else None
    if kind == "b":
        return "bool"
    if kind in ("i", "u"):
        return "int"
    if kind == "f":
        return "float"
    values = series.to_numpy(dtype=object)
    if all(isinstance(v, (bool, np.bool_)) for v in values):  # booleans beside blanks
        return "bool"
    return "str"


def _merge_kind(a, b):
    """pandas' rule for a whole column: ints, floats, booleans or else text."""
    if a == "none" or a == b:
        return b
    if b == "none":
        return a
    if {a, b} == {"int", "float"}:
        return "float"
    return "str"


#: The dtype that reads a column of each kind exactly as a whole-file ``read_csv`` does.
_KIND_DTYPE = {"bool": "bool", "int": "int64", "float": "float64", "str": str, "none": str}


class _ColumnScan:
    """What a first pass over the file learns about one column, chunk size aside."""

    def __init__(self):
        self.kind = "none"
        self.n_missing = 0
        self.missing_lines = []
        self.values = set()  # distinct numeric values, up to MAX_GROUP_LEVELS + 1
        self.n_scores, self.score_lo, self.score_hi = 0, np.inf, -np.inf

    def add(self, series, first_line, track_values, track_scores):
        from ._protected import MAX_GROUP_LEVELS
        from .metrics._labels import _non_integer_values

        na = series.isna().to_numpy()
        if na.any():
            self.n_missing += int(na.sum())
            room = _SHOWN_LINES - len(self.missing_lines)
            if room > 0:
                self.missing_lines += (first_line + np.flatnonzero(na)[:room]).tolist()
            series = series[~na]
        kind = _kind(series)
        self.kind = _merge_kind(self.kind, kind)
        if track_values and kind in ("int", "float") and len(self.values) <= MAX_GROUP_LEVELS:
            self.values.update(pd.unique(series.to_numpy()).tolist())
        if track_scores and kind == "float":
            bad = _non_integer_values(series.to_numpy(dtype=float))
            if bad.size:
                self.n_scores += bad.size
                self.score_lo = min(self.score_lo, float(bad.min()))
                self.score_hi = max(self.score_hi, float(bad.max()))


def _scan_csv(args, cols):
    """First pass: each column's type over the whole file, its missing cells, its values.

    pandas infers a type per chunk (and per internal block within a chunk), so the same
    file read in chunks of different sizes would give one column ints in one chunk and
    text in another. The scan merges the chunk types by pandas' own whole-file rule
    (all integers: int; all numbers: float; all booleans: bool; anything else: text) so
    that the second pass can read every chunk with that one dtype.
    """
    scans = {c: _ColumnScan() for c in cols}
    label_cols = {c for c in (args.target, None if args.threshold is not None else args.pred)
                  if c is not None}
    n_rows = 0
    reader = pd.read_csv(args.csv, usecols=cols, chunksize=args.chunksize, low_memory=False)
    for chunk in reader:
        for c in cols:
            # line 1 is the header; one line per row (a quoted field may span more)
            scans[c].add(chunk[c], n_rows + 2, track_values=c in args.prot_attr,
                         track_scores=c in label_cols)
        n_rows += len(chunk)
    return scans, n_rows


def _check_scan(args, scans, n_rows):
    """Refuse, with one line, what makes the file's numbers depend on how it is read."""
    from ._protected import MAX_GROUP_LEVELS

    if n_rows == 0:
        raise CLIError(f"--csv {args.csv!r} has a header but no rows.")
    roles = [("--target", args.target), ("--pred", args.pred)] + [
        ("--prot-attr", a) for a in args.prot_attr]
    holes = []
    for option, col in dict.fromkeys((o, c) for o, c in roles if c is not None):
        s = scans[col]
        if s.n_missing:
            lines = ", ".join(map(str, s.missing_lines)) + (", ..." if s.n_missing >
                                                             len(s.missing_lines) else "")
            holes.append(f"{option} column {col!r} is missing in {s.n_missing} of {n_rows} "
                         f"rows (line {lines})")
    if holes:
        raise CLIError("; ".join(holes) + "; labels, decisions and protected attributes "
                       "must be complete: drop or fill those rows.")
    for option, col in (("--target", args.target), ("--pred", args.pred)):
        s = scans.get(col)
        if s is None or not s.n_scores or s.kind != "float":
            continue
        if option == "--pred" and args.threshold is not None:
            continue
        hint = ("pass --threshold T to turn scores into decisions" if option == "--pred"
                else "the target must hold labels")
        raise CLIError(f"{option} column {col!r} holds scores, not labels: {s.n_scores} "
                       f"non-integer value(s) between {s.score_lo:.4g} and "
                       f"{s.score_hi:.4g}; {hint}.")
    bins = {spec.partition("=")[0] for spec in args.bin}
    for col in args.prot_attr:
        s = scans[col]
        if col not in bins and s.kind in ("int", "float") \
                and len(s.values) > MAX_GROUP_LEVELS:
            raise CLIError(f"--prot-attr {col!r} has more than {MAX_GROUP_LEVELS} distinct "
                           f"numeric values; bin it with --bin {col}=EDGES.")


def _csv_source(args):
    path = Path(args.csv)
    if not path.is_file():
        raise CLIError(f"--csv {args.csv!r}: no such file.")
    _check_text_file(path, "--csv")
    wanted = list(dict.fromkeys(
        [c for c in (args.target, args.pred) if c is not None] + list(args.prot_attr)))
    try:
        header = pd.read_csv(path, nrows=0).columns
    except _READ_ERRORS as exc:
        raise _read_error("--csv", args.csv, exc) from exc
    missing = [c for c in wanted if c not in header]
    if missing:
        raise CLIError(
            f"column(s) {missing} not found in {args.csv}; columns: {list(header)}."
        )
    try:
        scans, n_rows = _scan_csv(args, wanted)
    except _READ_ERRORS as exc:
        raise _read_error("--csv", args.csv, exc) from exc
    _check_scan(args, scans, n_rows)
    dtypes = {c: _KIND_DTYPE[scans[c].kind] for c in wanted}

    def chunks():
        try:
            yield from pd.read_csv(path, usecols=wanted, dtype=dtypes,
                                   chunksize=args.chunksize)
        except _READ_ERRORS as exc:  # the file changed between the two passes
            raise _read_error("--csv", args.csv, exc) from exc

    what = f"{args.pred} vs {args.target}" if args.target else f"decisions {args.pred}"
    return chunks(), args.target, args.pred, list(args.prot_attr), f"{args.csv}: {what}"


def _lar_source(args):
    from .datasets import read_lar

    attrs = list(args.prot_attr) or ["race", "sex"]
    try:
        reader = read_lar(args.lar, chunksize=args.chunksize)
    except (OSError, ValueError) as exc:
        raise CLIError(f"--lar {args.lar!r}: {exc}") from exc
    dropped = [0]

    def chunks():
        try:
            for chunk in reader:
                bad = [a for a in attrs if a not in chunk.columns]
                if bad:
                    raise CLIError(f"--prot-attr {bad} not among the LAR columns "
                                   f"{list(chunk.columns)}.")
                # withdrawn, incomplete and purchased loans (denied missing) had no decision
                decided = chunk["denied"].notna().to_numpy()
                dropped[0] += int((~decided).sum())
                out = chunk.loc[decided, attrs].copy()
                out["approved"] = (chunk.loc[decided, "denied"] == 0).astype(int).to_numpy()
                yield out
        except (OSError, ValueError) as exc:
            raise CLIError(f"--lar {args.lar!r}: {exc}") from exc

    title = (f"HMDA LAR {args.lar}: approval (action taken 1, 2 or 8) vs denial (3 or 7) "
             f"by {', '.join(attrs)}")
    return chunks(), None, "approved", attrs, title, dropped


def _parse_bins(specs, attrs):
    from ._protected import Binned

    bins = {}
    for spec in specs:
        col, sep, edges = spec.partition("=")
        if not sep or col not in attrs:
            raise CLIError(f"--bin {spec!r} must be COL=EDGES with COL one of --prot-attr "
                           f"{attrs}, e.g. --bin age=25,45,65.")
        try:
            bins[col] = Binned(col, [float(e) for e in edges.split(",")])
        except ValueError as exc:
            raise CLIError(f"--bin {spec!r}: edges must be increasing numbers separated "
                           f"by commas ({exc}).") from exc
    return bins


def _score_values(series, option):
    values = pd.to_numeric(series, errors="coerce")
    bad = series[values.isna()]
    if len(bad):
        raise CLIError(f"{option} column {series.name!r} has a value that is not a score: "
                       f"{bad.iloc[0]!r}; --threshold needs numbers.")
    return values.to_numpy(dtype=float)


def _check_labels(series, option, hint):
    """Refuse missing values and columns of non-integer numbers (scores, not labels)."""
    from .metrics._labels import check_label_predictions

    if series.isna().any():
        raise CLIError(f"{option} column {series.name!r} has {int(series.isna().sum())} "
                       "missing value(s); decisions and labels must be complete.")
    try:
        check_label_predictions(series.to_numpy(), name=f"{option} column {series.name!r}",
                                hint=hint)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def _same_label(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


class _Seen:
    """Bounded memory of a column's values, and whether a given label ever occurred."""

    def __init__(self):
        self.values = []
        self.hit = False

    def add(self, series, matches):
        self.hit = self.hit or bool(matches.any())
        if len(self.values) < _SHOWN_VALUES:
            for v in pd.unique(series.to_numpy()):
                if v not in self.values and len(self.values) < _SHOWN_VALUES:
                    self.values.append(v)

    def text(self):
        return sorted(map(str, self.values))


def _count(args, chunks, target, pred, attrs):
    """Merge GroupCounts over chunks for each attribute set; returns (counts, facts)."""
    from ._protected import MAX_GROUP_LEVELS
    from .metrics.frame import _fairkit_group_frame as _group_frame

    bins = _parse_bins(args.bin, attrs)
    sets = [[a] for a in attrs] + ([attrs] if args.intersectional and len(attrs) > 1 else [])
    totals = [None] * len(sets)
    seen_t, seen_p, seen_score_label = _Seen(), _Seen(), _Seen()
    levels = {}
    n_rows = 0
    score_is_pos = _same_label(args.score_label, args.pos_label)
    for chunk in chunks:
        n_rows += len(chunk)
        if not len(chunk):
            continue
        if args.threshold is not None:
            above = _score_values(chunk[pred], "--pred") >= args.threshold
            p = above if score_is_pos else ~above
        else:
            _check_labels(chunk[pred], "--pred",
                          "pass --threshold T to turn scores into decisions")
            p = (chunk[pred] == _coerce_label(args.pos_label, chunk[pred])).to_numpy()
            seen_p.add(chunk[pred], p)
        if target is not None:
            _check_labels(chunk[target], "--target", "the target must hold labels")
            t = (chunk[target] == _coerce_label(args.pos_label, chunk[target])).to_numpy()
            seen_t.add(chunk[target], t)
            if args.threshold is not None:
                label = _coerce_label(args.score_label, chunk[target])
                seen_score_label.add(chunk[target], (chunk[target] == label).to_numpy())
        else:
            t = p
        groups = chunk[attrs].copy()
        for col, spec in bins.items():
            try:
                groups[col] = spec.cut(groups[col], name="--bin")
            except ValueError as exc:
                raise CLIError(str(exc)) from exc
        for col in attrs:
            s = groups[col]
            if col not in bins and pd.api.types.is_numeric_dtype(s) \
                    and not pd.api.types.is_bool_dtype(s):
                known = levels.setdefault(col, set())
                if len(known) <= MAX_GROUP_LEVELS:
                    known.update(pd.unique(s.dropna().to_numpy()).tolist())
        for k, cols in enumerate(sets):
            try:
                with warnings.catch_warnings():
                    # a chunk's own count of numeric levels; the audit warns once, below,
                    # with the count over the whole file
                    warnings.filterwarnings("ignore", message=".* is numeric with ",
                                            category=UserWarning)
                    # the chunk's groups and counts: the metric frame's
                    part = _group_frame(t, p, groups[cols], min_groups=1).group_counts(1)
            except ValueError as exc:
                raise CLIError(str(exc).replace("sensitive_features", "--prot-attr")) from exc
            totals[k] = part if totals[k] is None else totals[k] + part
    if n_rows == 0:
        raise CLIError("the data have a header but no rows.")
    for col, known in levels.items():
        if len(known) > MAX_GROUP_LEVELS:
            raise CLIError(f"--prot-attr {col!r} has more than {MAX_GROUP_LEVELS} distinct "
                           f"numeric values; bin it with --bin {col}=EDGES.")
        if len(known) > MANY_LEVELS:
            print(f"fairkit audit: warning: --prot-attr {col!r} is numeric with {len(known)} "
                  f"distinct values, each audited as its own group; bin it, e.g. "
                  f"--bin {col}=25,45,65.", file=sys.stderr)
    _check_pos_label(args, target, pred, seen_t, seen_p, seen_score_label)
    return {" x ".join(cols): c for cols, c in zip(sets, totals, strict=True)}


def _check_pos_label(args, target, pred, seen_t, seen_p, seen_score_label):
    pos = args.pos_label
    if args.threshold is not None:
        if target is not None and not seen_t.hit:
            raise CLIError(f"--pos-label {pos!r} does not occur in --target {target!r} "
                           f"(values: {seen_t.text()}); set --pos-label to the favourable "
                           "label.")
        if target is not None and not seen_score_label.hit:
            raise CLIError(f"--score-label {args.score_label!r} is not a value of --target "
                           f"{target!r} (values: {seen_t.text()}); set --score-label to the "
                           f"label that a score >= {args.threshold:g} stands for.")
        return
    if not (seen_t.hit or seen_p.hit):
        where = (f"neither --target {target!r} (values: {seen_t.text()}) nor --pred "
                 f"{pred!r}" if target is not None else f"--pred {pred!r}")
        raise CLIError(f"--pos-label {pos!r} occurs in {where} (values: {seen_p.text()}); "
                       "set --pos-label to the favourable label.")


# ------------------------------------------------------------------------------------------
# Privileged groups, headline gaps, intervals
# ------------------------------------------------------------------------------------------


def _label_text(label):
    return ", ".join(map(str, label)) if isinstance(label, tuple) else str(label)


def _resolve_priv(tokens, all_counts, attrs):
    """--priv-group tokens -> {attribute-set name: privileged label(s) or None}."""
    single = {a: all_counts[a] for a in attrs}
    by_attr = {a: [] for a in attrs}
    listing = "; ".join(f"{a}: {[_label_text(x) for x in c.labels]}" for a, c in single.items())
    for tok in tokens or []:
        attr, sep, value = tok.partition("=")
        if sep and attr in single:
            matches = [x for x in single[attr].labels if str(x) == value]
            if not matches:
                raise CLIError(f"--priv-group {tok!r}: {value!r} is not a group of {attr!r}; "
                               f"groups: {[str(x) for x in single[attr].labels]}.")
            by_attr[attr].append(matches[0])
            continue
        hits = [(a, x) for a, c in single.items() for x in c.labels if str(x) == tok]
        if not hits:
            raise CLIError(f"--priv-group {tok!r} is not a group of any audited attribute; "
                           f"groups: {listing}.")
        if len(hits) > 1:
            raise CLIError(f"--priv-group {tok!r} is a group of several attributes "
                           f"({[a for a, _ in hits]}); write ATTR={tok}.")
        by_attr[hits[0][0]].append(hits[0][1])
    out = {}
    for name in all_counts:
        if name in by_attr:
            v = by_attr[name]
            out[name] = None if not v else (v[0] if len(v) == 1 else v)
        else:  # the intersection: privileged where every named component matches
            parts = [by_attr[a] for a in attrs]
            if any(parts) and all(len(v) <= 1 for v in parts):
                out[name] = tuple(v[0] if v else None for v in parts)
            else:
                out[name] = None
    return out


def _subset(counts, keep):
    from .metrics import GroupCounts

    return GroupCounts(counts.counts[keep], [lab for lab, k in zip(counts.labels, keep,
                                                                   strict=True) if k],
                       names=counts.names, pos_label=counts.pos_label,
                       n_rows=counts.n_rows[keep])


def _gap_groups(name, inc, priv_mask):
    """Which groups a headline gap compares, as text."""
    from .metrics.report import extreme_pair
    from .metrics.streaming import group_rate

    labels = [_label_text(x) for x in inc.labels]
    if priv_mask is not None:
        unpriv = [x for x, m in zip(labels, priv_mask, strict=True) if not m]
        priv = [x for x, m in zip(labels, priv_mask, strict=True) if m]
        rest = ", ".join(unpriv) if len(unpriv) <= 3 else f"{len(unpriv)} groups pooled"
        op = " / " if name in RATIO_GAPS else " - "
        return f"({rest}){op}{' + '.join(priv)}"
    parts = []
    for rate in GAP_RATES[name]:
        values = group_rate(inc.counts, rate)
        pair = extreme_pair(values)
        if pair is None:
            return ""
        hi, lo = labels[pair[0]], labels[pair[1]]
        spread = values[pair[0]] - values[pair[1]]
        parts.append((spread, rate, f"{lo} / {hi}" if name in RATIO_GAPS else f"{hi} - {lo}"))
    if name == "equalized_odds_difference":
        parts = [max(parts)]
    if len(parts) == 1:
        return parts[0][2]
    short = {"true_positive_rate": "TPR", "false_positive_rate": "FPR"}
    return "; ".join(f"{short[r]}: {g}" for _, r, g in parts)


def _pair_replicates(name, counts, boot):
    """Resampled signed gap of the pair a between-groups gap names; None for the composites.

    ``max - min`` over resamples is biased upward and never below 0, so its interval would
    exclude parity even between two equal rates; the fixed pair's difference is not (see
    ``fairness_report``). A composite gap mixes two pairs and keeps its own interval.
    """
    from .metrics.report import extreme_pair, pair_gap
    from .metrics.streaming import group_rate

    if len(GAP_RATES[name]) != 1:
        return None
    rate = GAP_RATES[name][0]
    pair = extreme_pair(group_rate(counts, rate))
    if pair is None:
        return None
    kind = "ratio" if name in RATIO_GAPS else "difference"
    return pair_gap(group_rate(boot, rate), pair, kind)


def _interval_rule(priv, decisions_only, args):
    """One line saying what the bootstrap intervals are intervals of."""
    if not args.n_bootstrap:
        return None
    head = (f"{args.confidence:.0%} CI = percentile bootstrap ({args.n_bootstrap} "
            "resamples) of ")
    if priv is not None:
        text = head + "the signed gap as defined (a fixed contrast)"
        if not decisions_only:
            text += "; for equalized_odds_difference of max(|TPR diff|, |FPR diff|)"
        return text
    text = head + ("the named pair's rate(a) - rate(b) (ratio: rate(b) / rate(a)), pair "
                   "fixed from the estimate, so it can include 0 (ratio: 1)")
    if not decisions_only:
        text += ("; for average_odds_difference and equalized_odds_difference of the "
                 "max-gap statistic itself, which resampling biases upward")
    return text


def _gap_table(counts, priv, gaps, args):
    """Headline gaps over the groups with at least --min-group-size rows."""
    from .metrics.frame import _bootstrap_counts_unweighted
    from .metrics.streaming import metric_from_counts

    keep = counts.n_rows >= args.min_group_size
    table = pd.DataFrame(index=pd.Index(gaps, name="gap"),
                         columns=["value", "lower", "upper", "groups"], dtype=object)
    table[["value", "lower", "upper"]] = np.nan
    table["groups"] = ""
    if priv is not None:
        mask = counts.privileged_mask(priv)
        small = [_label_text(x) for x, m, k in zip(counts.labels, mask, keep, strict=True)
                 if m and not k]
        if small:
            raise CLIError(f"--priv-group {small[0]!r} has fewer than --min-group-size "
                           f"{args.min_group_size} rows; lower --min-group-size to compare "
                           "with it.")
    if keep.sum() < 2:
        return table, keep
    inc = _subset(counts, keep)
    mask = None if priv is None else inc.privileged_mask(priv)
    boot = None
    if args.n_bootstrap:
        # fairness_report's own draw, so the CLI's intervals equal the report's
        boot = _bootstrap_counts_unweighted(inc.counts, args.n_bootstrap,
                                            np.random.RandomState(args.random_state))
    alpha = (1 - args.confidence) / 2
    for name in gaps:
        try:
            table.loc[name, "value"] = inc.metric(name, priv_group=priv)
        except ValueError as exc:
            raise CLIError(f"--priv-group: {exc}") from exc
        table.loc[name, "groups"] = _gap_groups(name, inc, mask)
        if boot is not None:
            values = _pair_replicates(name, inc.counts, boot) if mask is None else None
            if values is None:
                values = metric_from_counts(boot, name, priv=mask)
            values = values[np.isfinite(values)]
            if len(values):
                table.loc[name, ["lower", "upper"]] = np.quantile(values, [alpha, 1 - alpha])
    return table, keep


def _convention(priv, decisions_only):
    if priv is None:
        text = ("difference = largest minus smallest group rate (0 = parity, never "
                "negative); ratio = smallest over largest (1 = parity)")
    else:
        text = (f"difference = unprivileged groups (pooled) minus privileged "
                f"{_label_text(priv) if not isinstance(priv, list) else priv} (negative: "
                "lower rate for the unprivileged); ratio = unprivileged over privileged")
        if not decisions_only:
            text += "; equalized_odds_difference is the larger |TPR or FPR difference|"
    return text


def _audit_tables(all_counts, priv_groups, args, decisions_only):
    out = {}
    rates = ["selection_rate"] if decisions_only else AUDIT_RATES
    gaps = DECISION_GAPS if decisions_only else AUDIT_GAPS
    for name, counts in all_counts.items():
        table = counts.by_group()[["n_rows", *rates]]
        table["n_rows"] = table["n_rows"].round().astype(np.int64)
        table.index = [_label_text(lab) for lab in counts.labels]
        table.index.name = name
        priv = priv_groups.get(name)
        gap_table, keep = _gap_table(counts, priv, gaps, args)
        table["in_gaps"] = keep
        note = None
        if keep.sum() < 2:
            note = (f"no gap: {int(keep.sum())} group(s) with >= {args.min_group_size} rows; "
                    "lower --min-group-size to compare smaller (noisier) groups")
        out[name] = dict(table=table, gaps=gap_table, priv=priv, note=note,
                         convention=_convention(priv, decisions_only),
                         interval_rule=_interval_rule(priv, decisions_only, args),
                         left_out=[str(i) for i, k in zip(table.index, keep, strict=True)
                                   if not k])
    return out


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------


def _number_text(name, v):
    # ratios have no sign: "+0.890" would read as a difference
    if not np.isfinite(v):
        return "n/a"
    return f"{v:.3f}" if name in RATIO_GAPS else f"{v:+.3f}"


def _interval_text(name, row):
    if np.isnan(row["lower"]):
        return ""
    return f"[{_number_text(name, row['lower'])}, {_number_text(name, row['upper'])}]"


def _json_groups(table):
    # column by column: a row of mixed columns would turn the integer counts into floats
    columns = {c: table[c].tolist() for c in table.columns}
    return [
        {"group": idx, **{c: (bool(v[i]) if c == "in_gaps" else
                              int(v[i]) if c == "n_rows" else _json_number(v[i]))
                          for c, v in columns.items()}}
        for i, idx in enumerate(table.index)
    ]


def _format_audit(tables, fmt, head, args):
    ci = f"{args.confidence:.0%} CI"
    if fmt == "json":
        payload = {**head, "min_group_size": args.min_group_size,
                   "n_bootstrap": args.n_bootstrap, "confidence": args.confidence,
                   "attributes": {}}
        for name, t in tables.items():
            g = t["gaps"]
            payload["attributes"][name] = {
                "privileged_group": None if t["priv"] is None else _label_text(t["priv"])
                if not isinstance(t["priv"], list) else [str(x) for x in t["priv"]],
                "gap_definition": t["convention"],
                "interval_definition": t["interval_rule"],
                "groups_left_out_of_gaps": t["left_out"],
                "note": t["note"],
                "groups": _json_groups(t["table"]),
                "gaps": {k: _json_number(v) for k, v in g["value"].items()},
                "gap_intervals": {k: [_json_number(g.loc[k, "lower"]),
                                      _json_number(g.loc[k, "upper"])] for k in g.index},
                "gap_groups": dict(g["groups"]),
            }
        return json.dumps(payload, indent=2)
    if fmt == "csv":
        parts = []
        for name, t in tables.items():
            rows = t["table"].reset_index().rename(columns={name: "group", "index": "group"})
            rows["n_rows"] = rows["n_rows"].astype("Int64")
            rows.insert(0, "attribute", name)
            rows.insert(1, "row", "group")
            g = t["gaps"].reset_index().rename(columns={"gap": "metric"})
            g.insert(0, "attribute", name)
            g.insert(1, "row", "gap")
            g["definition"] = t["convention"]
            g["interval_definition"] = t["interval_rule"]
            parts.extend([rows, g])
        return pd.concat(parts, ignore_index=True).to_csv(index=False).rstrip("\n")
    lines = [head["title"], head["labels"], ""]
    if fmt == "markdown":
        lines = [f"# {head['title']}", "", head["labels"], ""]
    for name, t in tables.items():
        table = t["table"].copy()
        table["in_gaps"] = np.where(table["in_gaps"], "yes", f"no (< {args.min_group_size})")
        gaps = t["gaps"].copy()
        rule = f"groups with >= {args.min_group_size} rows"
        if t["left_out"]:
            rule += f"; left out: {', '.join(t['left_out'])}"
        if t["note"]:
            rule += f"; {t['note']}"
        shown = pd.DataFrame({
            "value": [_number_text(k, v) for k, v in gaps["value"].items()],
            ci: [_interval_text(k, r) for k, r in gaps.iterrows()],
            "groups": gaps["groups"],
        }, index=gaps.index)
        intervals = [f"Intervals: {t['interval_rule']}."] if t["interval_rule"] else []
        if fmt == "markdown":
            lines += [f"## {name}", "", _plain_markdown(table), "",
                      f"Gaps over {rule}. Sign: {t['convention']}.",
                      *[""] * bool(intervals), *intervals, "",
                      _plain_markdown(shown), ""]
        else:
            lines += [f"== {name} ==", table.to_string(float_format=lambda v: f"{v:.3f}"), "",
                      f"Gaps over {rule}.", f"Sign: {t['convention']}.", *intervals,
                      shown.to_string(), ""]
    return "\n".join(lines).rstrip("\n")


def _run_audit(args, out):
    if args.chunksize < 1:
        raise CLIError(f"--chunksize must be a positive integer, got {args.chunksize}.")
    if args.min_group_size < 0:
        raise CLIError(f"--min-group-size must be >= 0, got {args.min_group_size}.")
    if args.n_bootstrap < 0:
        raise CLIError(f"--n-bootstrap must be >= 0, got {args.n_bootstrap}.")
    if not 0 < args.confidence < 1:
        raise CLIError(f"--confidence must be in (0, 1), got {args.confidence}.")
    if args.csv is not None and args.lar is not None:
        raise CLIError("give --csv FILE or --lar FILE, not both.")
    dropped = None
    if args.lar is not None:
        if args.target or args.pred or args.threshold is not None:
            raise CLIError("--lar audits approval (the LAR's action taken); it takes no "
                           "--target, --pred or --threshold.")
        if args.pos_label is not None:
            raise CLIError("--lar audits approval as the favourable outcome; it takes no "
                           "--pos-label.")
        chunks, target, pred, attrs, title, dropped = _lar_source(args)
    elif args.csv is None:
        if any(v is not None for v in (args.target, args.pred)) or args.prot_attr:
            raise CLIError("--target, --pred and --prot-attr need --csv FILE or --lar FILE.")
        chunks, target, pred, attrs, title = _compas_source(args)
    else:
        missing = [f"--{n.replace('_', '-')}" for n in ("pred", "prot_attr")
                   if not getattr(args, n)]
        if missing:
            raise CLIError(f"--csv needs {', '.join(missing)}.")
        chunks, target, pred, attrs, title = _csv_source(args)
    if args.pos_label is None:
        args.pos_label = "1"
    counts = _count(args, chunks, target, pred, attrs)
    decisions_only = target is None
    if dropped is not None and dropped[0]:
        title += f"; {dropped[0]} applications without a credit decision left out"
    if args.threshold is not None:
        op = ">=" if _same_label(args.score_label, args.pos_label) else "<"
        rule = (f"decision = {args.score_label} if score >= {args.threshold:g}, so "
                f"favourable (label {args.pos_label}) when score {op} {args.threshold:g}")
    elif args.lar is not None:
        rule = "favourable = approved"
    else:
        rule = f"favourable = label {args.pos_label}"
    labels = (f"{rule}; selection_rate = share decided favourable"
              + ("; decisions only: no ground truth, no error rates" if decisions_only
                 else ""))
    head = {"title": title, "labels": labels, "pos_label": args.pos_label,
            "threshold": args.threshold,
            "score_label": None if args.threshold is None else args.score_label,
            "decisions_only": decisions_only}
    priv = _resolve_priv(args.priv_group, counts, attrs)
    tables = _audit_tables(counts, priv, args, decisions_only)
    print(_format_audit(tables, args.format, head, args), file=out)
    return 0


def add_audit_parser(sub):
    audit = sub.add_parser(
        "audit",
        help="per-group rates and gaps of a set of decisions",
        description="Audit decisions by group. Without --csv or --lar: the published COMPAS "
                    "decisions. Groups smaller than --min-group-size are shown but left "
                    "out of the gaps; each gap names its two groups and has a bootstrap "
                    "interval.",
    )
    audit.add_argument("--csv", help="CSV file with decisions (and true labels) and attributes")
    audit.add_argument("--lar", help="a public HMDA LAR file (2018+ or 2007-2017 schema): "
                                     "audits approval by race and sex (or --prot-attr)")
    audit.add_argument("--target", help="column of true labels; without it only the "
                                        "decisions are audited (selection rates)")
    audit.add_argument("--pred", help="column of decisions (labels), or of scores with "
                                      "--threshold")
    audit.add_argument("--prot-attr", nargs="+", default=[], help="protected column(s)")
    audit.add_argument("--bin", nargs="+", default=[], metavar="COL=EDGES",
                       help="cut a numeric protected column into groups, e.g. age=25,45,65")
    audit.add_argument("--pos-label", default=None,
                       help="the favourable label (default: 1); it must occur in the data")
    audit.add_argument("--threshold", type=float, default=None,
                       help="pred holds scores: a score >= THRESHOLD is the label "
                            "--score-label, any other score the other label")
    audit.add_argument("--score-label", default="1",
                       help="the label a score >= --threshold stands for (default: 1). For "
                            "a denial score with --pos-label 0 (approve), score >= T means "
                            "1 (deny), not the favourable label")
    audit.add_argument("--priv-group", nargs="+", default=None, metavar="[ATTR=]GROUP",
                       help="privileged group(s): gaps become unprivileged minus "
                            "privileged; ATTR=GROUP per attribute (race=White sex=Male), "
                            "a bare GROUP for the attribute that has it")
    audit.add_argument("--min-group-size", type=int, default=30,
                       help="groups with fewer rows are flagged and left out of the gaps "
                            "(default: 30)")
    audit.add_argument("--n-bootstrap", type=int, default=1000,
                       help="bootstrap resamples for the gaps' intervals (default: 1000; "
                            "0: none)")
    audit.add_argument("--confidence", type=float, default=0.95,
                       help="coverage of the intervals (default: 0.95)")
    audit.add_argument("--random-state", type=int, default=0,
                       help="seed of the bootstrap (default: 0)")
    audit.add_argument("--intersectional", action="store_true",
                       help="also audit the intersection of all protected attributes")
    audit.add_argument("--chunksize", type=int, default=1_000_000,
                       help="rows read at a time from --csv or --lar (default: 1,000,000)")
    audit.add_argument("--format", choices=["table", "json", "csv", "markdown"],
                       default="table")
    audit.set_defaults(run=_run_audit)
    return audit
