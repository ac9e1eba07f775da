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
* ``--scan`` adds the MDSS bias scan (:func:`fairkit.metrics.bias_scan`, Bernoulli score)
  of the observed outcomes (``--target``) against the predicted probabilities (``--pred``:
  scores in [0, 1] with ``--threshold``, or 0/1 decisions) over ``--scan-attrs``. The same
  pass that counts the groups counts, per distinct (attribute values, probability), the
  rows and the positive outcomes: the Bernoulli score's sufficient statistics, so the
  result equals ``bias_scan`` on the whole file at any chunk size. A file with more than
  ``MAX_SCAN_SCORES`` distinct scores is refused unless ``--scan-round D`` rounds them
  (the rounding is printed with the result).
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
#: Distinct predicted probabilities the scan counts rows of (more: --scan-round).
MAX_SCAN_SCORES = 10_000
#: Distinct (attribute values, probability) cells the scan keeps in memory.
MAX_SCAN_CELLS = 2_000_000
#: Default penalty of the scan per attribute value in a subgroup's definition: it breaks
#: the tie between leaving a column free and listing every value present (the same rows)
#: towards the free column, and is below the 4 decimals of the reported score.
SCAN_PENALTY = 1e-6
#: Columns of the bundled COMPAS data the scan can use, and the default ones.
COMPAS_SCAN_COLUMNS = ["race", "sex", "age_cat", "c_charge_degree", "age", "priors_count",
                       "juv_fel_count", "juv_misd_count", "juv_other_count"]
COMPAS_SCAN_DEFAULT = ["race", "sex", "age_cat"]


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
    if args.scan:
        unknown = [c for c in args.scan_attrs or [] if c not in COMPAS_SCAN_COLUMNS]
        if unknown:
            raise CLIError(f"--scan-attrs {unknown[0]!r} is not a column of the bundled "
                           f"COMPAS data; columns: {COMPAS_SCAN_COLUMNS}.")
        for col in COMPAS_SCAN_COLUMNS:
            values = frame[col]
            chunk[col] = (values.astype(str).to_numpy() if isinstance(values.dtype,
                          pd.CategoricalDtype) else values.to_numpy())
        # the decile score as a probability: the share of all defendants with that decile
        # who reoffended within two years (calibrated overall by construction)
        rate = frame.groupby("decile_score")["two_year_recid"].transform("mean")
        chunk["decile_recid_rate"] = rate.to_numpy(dtype=float)
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
            scans[c].add(chunk[c], n_rows + 2,
                         track_values=c in args.prot_attr or c in _scan_attrs(args),
                         track_scores=c in label_cols)
        n_rows += len(chunk)
    return scans, n_rows


def _check_scan(args, scans, n_rows):
    """Refuse, with one line, what makes the file's numbers depend on how it is read."""
    from ._protected import MAX_GROUP_LEVELS

    if n_rows == 0:
        raise CLIError(f"--csv {args.csv!r} has a header but no rows.")
    roles = [("--target", args.target), ("--pred", args.pred)] + [
        ("--prot-attr", a) for a in args.prot_attr] + [
        ("--scan-attrs", a) for a in _scan_attrs(args) if a not in args.prot_attr]
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
    for col in _scan_attrs(args):
        s = scans[col]
        if col not in bins and s.kind in ("int", "float") \
                and len(s.values) > MAX_GROUP_LEVELS:
            raise CLIError(f"--scan-attrs {col!r} has more than {MAX_GROUP_LEVELS} distinct "
                           f"numeric values; bin it with --bin {col}=EDGES.")


def _scan_attrs(args):
    """The columns the bias scan reads (none without --scan)."""
    if not getattr(args, "scan", False):
        return []
    if args.scan_attrs is not None:
        return list(dict.fromkeys(args.scan_attrs))
    if args.csv is None and args.lar is None:
        return list(COMPAS_SCAN_DEFAULT)
    return list(args.prot_attr)


def _csv_source(args):
    path = Path(args.csv)
    if not path.is_file():
        raise CLIError(f"--csv {args.csv!r}: no such file.")
    _check_text_file(path, "--csv")
    wanted = list(dict.fromkeys(
        [c for c in (args.target, args.pred) if c is not None] + list(args.prot_attr)
        + _scan_attrs(args)))
    try:
        header = pd.read_csv(path, nrows=0).columns
    except _READ_ERRORS as exc:
        raise _read_error("--csv", args.csv, exc) from exc
    unknown = [c for c in _scan_attrs(args) if c not in header]
    if unknown:
        raise CLIError(f"--scan-attrs {unknown[0]!r} is not a column of {args.csv}; "
                       f"columns: {list(header)}.")
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
                           f"or --scan-attrs {attrs}, e.g. --bin age=25,45,65.")
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


class _ScanCounts:
    """Rows and positive outcomes per distinct (scan attribute values, probability), in
    order of first appearance, merged over chunks: the Bernoulli scan's sufficient
    statistics."""

    def __init__(self, attrs, bins, option, decimals):
        self.attrs, self.bins, self.option, self.decimals = attrs, bins, option, decimals
        self.cells = None
        self.scores = set()
        self.levels = {}

    def add(self, chunk, y, p):
        from ._protected import MAX_GROUP_LEVELS

        p = np.asarray(p, dtype=float)
        bad = ~((p >= 0) & (p <= 1))
        if bad.any():
            raise CLIError(f"{self.option} must hold probabilities in [0, 1] for --scan; "
                           f"found {p[bad][0]:g}.")
        if self.decimals is not None:
            p = np.round(p, self.decimals) + 0.0  # + 0.0: no negative zero
        if len(self.scores) <= MAX_SCAN_SCORES:
            self.scores.update(np.unique(p).tolist())
            if len(self.scores) > MAX_SCAN_SCORES:
                raise CLIError(f"{self.option} has more than {MAX_SCAN_SCORES} distinct "
                               "scores; the scan counts rows per score: round them with "
                               "--scan-round DECIMALS (e.g. --scan-round 3).")
        part = {}
        for j, col in enumerate(self.attrs):
            values = chunk[col]
            if col in self.bins:
                try:
                    values = self.bins[col].cut(values, name="--bin")
                except ValueError as exc:
                    raise CLIError(str(exc)) from exc
                values = np.asarray(values.astype(str), dtype=object)
            else:
                values = values.to_numpy()
                if values.dtype.kind in "iuf":
                    known = self.levels.setdefault(col, set())
                    if len(known) <= MAX_GROUP_LEVELS:
                        known.update(np.unique(values).tolist())
                    if len(known) > MAX_GROUP_LEVELS:
                        raise CLIError(f"--scan-attrs {col!r} has more than "
                                       f"{MAX_GROUP_LEVELS} distinct numeric values; bin "
                                       f"it with --bin {col}=EDGES.")
            part[j] = values
        d = len(self.attrs)
        part[d] = p
        frame = pd.DataFrame(part)
        frame["n"] = 1
        frame["pos"] = np.asarray(y, dtype=np.int64)
        keys = list(range(d + 1))
        cells = frame.groupby(keys, sort=False)[["n", "pos"]].sum()
        if self.cells is not None:
            cells = pd.concat([self.cells, cells]).groupby(level=keys, sort=False).sum()
        if len(cells) > MAX_SCAN_CELLS:
            raise CLIError(f"--scan-attrs {self.attrs} with the distinct scores of "
                           f"{self.option} make more than {MAX_SCAN_CELLS} cells; scan "
                           "fewer attributes, bin them (--bin) or round the scores "
                           "(--scan-round).")
        self.cells = cells

    def frame(self):
        """(attribute values per cell, rows, positives, probability)."""
        cells = self.cells.reset_index()
        d = len(self.attrs)
        X = cells[list(range(d))]
        X.columns = self.attrs
        return X, cells["n"].to_numpy(), cells["pos"].to_numpy(), cells[d].to_numpy(float)


def _count(args, chunks, target, pred, attrs, scan_prob=None):
    """Merge GroupCounts over chunks for each attribute set; returns (counts, facts).

    With ``scan_prob`` (the column of probabilities, or ``pred`` itself for decisions),
    also returns the bias scan's counts."""
    from ._protected import MAX_GROUP_LEVELS
    from .metrics.frame import _fairkit_group_frame as _group_frame

    scan_attrs = _scan_attrs(args)
    bins = _parse_bins(args.bin, list(dict.fromkeys(list(attrs) + scan_attrs)))
    scan = None
    if scan_prob is not None:
        option = "--pred" if scan_prob == pred else "the scan's probability"
        scan = _ScanCounts(scan_attrs, bins, f"{option} column {scan_prob!r}",
                           args.scan_round)
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
        if scan is not None:
            if args.threshold is not None:  # scores of the event --score-label
                label = _coerce_label(args.score_label, chunk[target])
                scan.add(chunk, (chunk[target] == label).to_numpy(),
                         _score_values(chunk[scan_prob], "--pred"))
            elif scan_prob == pred:  # decisions: probability 0 or 1 of --pos-label
                scan.add(chunk, t, p)
            else:
                scan.add(chunk, t, chunk[scan_prob].to_numpy(dtype=float))
        groups = chunk[attrs].copy()
        for col, spec in bins.items():
            if col not in attrs:
                continue
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
    return {" x ".join(cols): c for cols, c in zip(sets, totals, strict=True)}, scan


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
# Bias scan
# ------------------------------------------------------------------------------------------
#: Directions of the scan: name -> (bias_scan's overpredicted, meaning).
SCAN_DIRECTIONS = {
    "over": (True, "overpredicted: observed rate below the predicted probabilities"),
    "under": (False, "underpredicted: observed rate above the predicted probabilities"),
}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _subgroup_text(subgroup):
    if not subgroup:
        return "all rows"
    parts = []
    for col, values in subgroup.items():
        shown = ", ".join(map(str, values))
        parts.append(f"{col} = {shown}" if len(values) == 1 else f"{col} in {{{shown}}}")
    return " AND ".join(parts)


def _odds_ratio(n, pos, p):
    """q maximising the Bernoulli likelihood of odds(p) * q (the scan's bisection)."""
    lo, hi = 1e-3, 1e3
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        if pos - (n * mid * p / (1 - p + mid * p)).sum() > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _run_scan(args, scan):
    from .metrics.mdss import bias_scan_counts

    X, n, pos, prob = scan.frame()
    directions = ["over", "under"] if args.scan_direction in (None, "both") \
        else [args.scan_direction]
    results = []
    for name in directions:
        overpredicted, meaning = SCAN_DIRECTIONS[name]
        subgroup, score = bias_scan_counts(
            X, n, pos, prob, overpredicted=overpredicted, penalty=args.scan_penalty,
            num_iters=args.scan_iters, random_state=args.random_state)
        found = score > 0
        keep = np.ones(len(X), dtype=bool)
        for col, values in subgroup.items():
            keep &= X[col].isin(values).to_numpy()
        rows, positives = int(n[keep].sum()), int(pos[keep].sum())
        results.append({
            "direction": name,
            "meaning": meaning,
            "found": bool(found),
            "subgroup": {str(c): [_plain(v) for v in vals] for c, vals in subgroup.items()},
            "description": _subgroup_text(subgroup) if found else "none (no subgroup "
                           "deviates in this direction)",
            "n_rows": rows,
            "n_positive": positives,
            "observed_rate": positives / rows,
            "expected_rate": float((n[keep] * prob[keep]).sum() / rows),
            "odds_ratio": _odds_ratio(n[keep], positives, prob[keep]),
            "score": float(score),
        })
    return {"attributes": list(scan.attrs), "n_cells": len(X),
            "n_scores": int(len(np.unique(prob))), "results": results}


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


def _scan_table(scan):
    table = pd.DataFrame([{k: r[k] for k in ("direction", "description", "n_rows",
                                              "observed_rate", "expected_rate",
                                              "odds_ratio", "score")}
                          for r in scan["results"]]).set_index("direction")
    return table.rename(columns={"description": "subgroup"})


def _format_scan(scan, fmt):
    """The scan's lines for the text and markdown reports."""
    table = _scan_table(scan)
    table["score"] = [f"{v:.4f}" for v in table["score"]]
    if fmt == "markdown":
        return ["## Bias scan (MDSS)", "", scan["definition"] + ".", "",
                _plain_markdown(table), ""]
    return ["== bias scan (MDSS) ==", scan["definition"] + ".",
            table.to_string(float_format=lambda v: f"{v:.3f}"), ""]


def _format_audit(tables, fmt, head, args, scan=None):
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
        if scan is not None:
            payload["bias_scan"] = scan
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
        if scan is not None:
            rows = _scan_table(scan).reset_index().rename(
                columns={"direction": "metric", "score": "value"})
            rows.insert(0, "attribute", " x ".join(scan["attributes"]))
            rows.insert(1, "row", "bias_scan")
            rows["definition"] = scan["definition"]
            parts.append(rows)
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
    if scan is not None:
        lines += _format_scan(scan, fmt)
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
    _check_scan_options(args)
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
    scan_prob = None
    if args.scan:
        scan_prob = pred if args.csv is not None else "decile_recid_rate"
    counts, scan_counts = _count(args, chunks, target, pred, attrs, scan_prob)
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
    scan = None
    if scan_counts is not None:
        scan = _run_scan(args, scan_counts)
        scan["definition"] = _scan_definition(args, target, pred, scan)
        scan.update(penalty=args.scan_penalty, num_iters=args.scan_iters,
                    random_state=args.random_state, score_decimals=args.scan_round)
    print(_format_audit(tables, args.format, head, args, scan), file=out)
    return 0


def _check_scan_options(args):
    """Scan options: each needs --scan; --scan needs observed outcomes."""
    if not args.scan:
        given = [o for o, v in (("--scan-attrs", args.scan_attrs),
                                ("--scan-direction", args.scan_direction),
                                ("--scan-penalty", args.scan_penalty),
                                ("--scan-iters", args.scan_iters),
                                ("--scan-round", args.scan_round)) if v is not None]
        if given:
            raise CLIError(f"{given[0]} needs --scan.")
        return
    if args.scan_penalty is None:
        args.scan_penalty = SCAN_PENALTY
    if args.scan_iters is None:
        args.scan_iters = 10
    if not np.isfinite(args.scan_penalty) or args.scan_penalty < 0:
        raise CLIError(f"--scan-penalty must be a finite number >= 0, got "
                       f"{args.scan_penalty}.")
    if args.scan_iters < 1:
        raise CLIError(f"--scan-iters must be a positive integer, got {args.scan_iters}.")
    if args.scan_round is not None and not 0 <= args.scan_round <= 15:
        raise CLIError(f"--scan-round must be between 0 and 15 decimals, got "
                       f"{args.scan_round}.")
    if args.scan_attrs is not None and not args.scan_attrs:
        raise CLIError("--scan-attrs needs at least one column.")
    if args.lar is not None:
        raise CLIError("--scan needs observed outcomes (--target), which --lar files do not "
                       "have.")
    if args.csv is not None and args.target is None:
        raise CLIError("--scan needs --target COL: it compares the observed outcomes with "
                       "the predictions of --pred.")
    if args.csv is not None and args.scan_round is not None and args.threshold is None:
        raise CLIError("--scan-round rounds scores; --pred holds decisions (0/1) without "
                       "--threshold.")


def _scan_definition(args, target, pred, scan):
    if args.csv is None:
        event = f"{target} = 1"
        source = ("each defendant's decile_score read as the two-year recidivism rate of "
                  "all defendants with that decile")
    elif args.threshold is not None:
        event = f"{target} = {args.score_label}"
        source = f"the scores of --pred {pred!r} read as probabilities of that label"
    else:
        event = f"{target} = {args.pos_label}"
        source = f"the decisions of --pred {pred!r} (probability 0 or 1)"
    text = (f"Subgroup (a conjunction of values of {', '.join(scan['attributes'])}) whose "
            f"observed {event} deviates most from {source}; Bernoulli scan score "
            f"(MDSS, Zhang & Neill 2016; equals fairkit.metrics.bias_scan): penalised "
            f"log-likelihood ratio, 0 = no deviation; odds_ratio = the subgroup's observed "
            f"odds over its predicted odds; penalty {args.scan_penalty:g} per value, "
            f"{args.scan_iters} starts, seed {args.random_state}; {scan['n_cells']} cells of "
            f"(attribute values, probability) over {scan['n_scores']} distinct probabilities")
    if args.scan_round is not None:
        text += f"; scores rounded to {args.scan_round} decimals before the scan"
    return text


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
                       help="seed of the bootstrap and of the scan's random starts "
                            "(default: 0)")
    audit.add_argument("--intersectional", action="store_true",
                       help="also audit the intersection of all protected attributes")
    audit.add_argument("--chunksize", type=int, default=1_000_000,
                       help="rows read at a time from --csv or --lar (default: 1,000,000)")
    audit.add_argument("--scan", action="store_true",
                       help="also run the MDSS bias scan (Bernoulli): the subgroup whose "
                            "observed --target deviates most from --pred (probabilities "
                            "with --threshold, or 0/1 decisions); needs --target")
    audit.add_argument("--scan-attrs", nargs="+", default=None, metavar="COL",
                       help="columns whose values define the scan's subgroups (default: "
                            "--prot-attr, binned by --bin; bundled COMPAS: race sex "
                            "age_cat)")
    audit.add_argument("--scan-direction", choices=["over", "under", "both"], default=None,
                       help="over: predictions above the observed outcomes; under: below "
                            "(default: both)")
    audit.add_argument("--scan-penalty", type=float, default=None,
                       help=f"penalty per attribute value in a subgroup's definition "
                            f"(default: {SCAN_PENALTY:g}; larger: simpler subgroups)")
    audit.add_argument("--scan-iters", type=int, default=None,
                       help="starts of the scan's search: all rows, then random subgroups "
                            "(default: 10)")
    audit.add_argument("--scan-round", type=int, default=None, metavar="DECIMALS",
                       help=f"round the scores to DECIMALS before the scan (needed above "
                            f"{MAX_SCAN_SCORES} distinct scores; reported)")
    audit.add_argument("--format", choices=["table", "json", "csv", "markdown"],
                       default="table")
    audit.set_defaults(run=_run_audit)
    return audit
