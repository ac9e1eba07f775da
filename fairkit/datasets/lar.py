"""Reader for public HMDA loan-level (LAR) CSV files, streamed in chunks.

Public HMDA Loan/Application Register files come in two schemas:

- **2018 onwards** (CFPB HMDA Data Browser exports and the public LAR files): 99 fields
  such as ``activity_year``, ``lei``, ``action_taken``, ``applicant_race-1``,
  ``applicant_ethnicity-1``, ``applicant_sex``, ``income`` ($000), ``loan_amount`` ($);
- **2007-2017** (CFPB "historic data" files, codes-only or with labels): ``as_of_year``,
  ``respondent_id``, ``action_taken``, ``applicant_race_1``, ``applicant_ethnicity``,
  ``applicant_sex``, ``applicant_income_000s``, ``loan_amount_000s``...

:func:`read_lar` maps both onto one set of common columns (:data:`LAR_COMMON_COLUMNS`), so
an analysis written for one year runs on another. National files have tens of millions of
rows: with ``chunksize`` the reader yields DataFrames one chunk at a time, and
:func:`lar_group_counts` / :func:`filter_lar` reduce the chunks to per-group counts or to
the rows you need, so a national file never has to fit in memory.

**No real national or state LAR file ships with fairkit** (they are hundreds of MB to GB):
download one from the CFPB (https://ffiec.cfpb.gov/data-browser/ for 2018+,
https://www.consumerfinance.gov/data-research/hmda/historic-data/ for 2007-2017) and give
its path, or its URL with ``sha256=`` to cache and verify it. The only LAR file in
fairkit's data folder, ``hmda/lar_2020_ny_one_lender.csv`` (288 records of one lender, New
York 2020, as exported by the Data Browser), is a *format fixture* for tests, not a data
set for statistics: its completeness is undocumented.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import itertools
import lzma
import urllib.parse
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import fetch_url, verify_file

__all__ = [
    "LAR_COMMON_COLUMNS",
    "LARFormatError",
    "read_lar",
    "lar_group_counts",
    "filter_lar",
    "detect_lar_schema",
]

#: Values that mean "no value" in LAR files: not applicable, exempt reporter, blank.
MISSING_TOKENS = ("NA", "Exempt", "", "N/A")

RACE_LABELS = {
    1: "American Indian or Alaska Native",
    2: "Asian",
    3: "Black or African American",
    4: "Native Hawaiian or Other Pacific Islander",
    5: "White",
    6: "Not provided",
    7: "Not applicable",
}
# 2018+ disaggregated codes roll up to their parent category.
RACE_LABELS.update({c: RACE_LABELS[2] for c in range(21, 28)})
RACE_LABELS.update({c: RACE_LABELS[4] for c in range(41, 45)})
ETHNICITY_LABELS = {
    1: "Hispanic or Latino",
    2: "Not Hispanic or Latino",
    3: "Not provided",
    4: "Not applicable",
    5: "No co-applicant",
}
ETHNICITY_LABELS.update({c: ETHNICITY_LABELS[1] for c in range(11, 15)})
SEX_LABELS = {
    1: "Male",
    2: "Female",
    3: "Not provided",
    4: "Not applicable",
    5: "No co-applicant",
    6: "Both selected",
}

#: action_taken codes (same in both schemas) -> denied (1), decided (0), or no decision.
DENIED_CODES = (3, 7)
APPROVED_CODES = (1, 2, 8)

# common name -> source column in each schema (after normalising '-' to '_')
_MAP_2018 = {
    "year": "activity_year",
    "lender": "lei",
    "state_code": "state_code",
    "county_code": "county_code",
    "census_tract": "census_tract",
    "action_taken": "action_taken",
    "loan_type": "loan_type",
    "loan_purpose": "loan_purpose",
    "lien_status": "lien_status",
    "occupancy": "occupancy_type",
    "preapproval": "preapproval",
    "purchaser_type": "purchaser_type",
    "hoepa_status": "hoepa_status",
    "loan_amount": "loan_amount",
    "income": "income",
    "rate_spread": "rate_spread",
    "race": "applicant_race_1",
    "ethnicity": "applicant_ethnicity_1",
    "sex": "applicant_sex",
    "co_applicant_race": "co_applicant_race_1",
    "co_applicant_ethnicity": "co_applicant_ethnicity_1",
    "co_applicant_sex": "co_applicant_sex",
    "denial_reason_1": "denial_reason_1",
    "applicant_age": "applicant_age",
    "debt_to_income_ratio": "debt_to_income_ratio",
    "interest_rate": "interest_rate",
    "property_value": "property_value",
}
_MAP_2007 = {
    "year": "as_of_year",
    "lender": "respondent_id",
    "state_code": "state_code",
    "county_code": "county_code",
    "census_tract": "census_tract_number",
    "action_taken": "action_taken",
    "loan_type": "loan_type",
    "loan_purpose": "loan_purpose",
    "lien_status": "lien_status",
    "occupancy": "owner_occupancy",
    "preapproval": "preapproval",
    "purchaser_type": "purchaser_type",
    "hoepa_status": "hoepa_status",
    "loan_amount": "loan_amount_000s",
    "income": "applicant_income_000s",
    "rate_spread": "rate_spread",
    "race": "applicant_race_1",
    "ethnicity": "applicant_ethnicity",
    "sex": "applicant_sex",
    "co_applicant_race": "co_applicant_race_1",
    "co_applicant_ethnicity": "co_applicant_ethnicity",
    "co_applicant_sex": "co_applicant_sex",
    "denial_reason_1": "denial_reason_1",
}
_REQUIRED = ("year", "action_taken", "race", "ethnicity", "sex", "loan_amount", "income")
_TEXT = ("lender", "state_code", "county_code", "census_tract", "applicant_age",
         "debt_to_income_ratio")
_CODES = ("year", "action_taken", "loan_type", "loan_purpose", "lien_status", "occupancy",
          "preapproval", "purchaser_type", "hoepa_status", "denial_reason_1")
_FLOATS = ("loan_amount", "income", "rate_spread", "interest_rate", "property_value")
_LABELLED = {
    "race": RACE_LABELS,
    "ethnicity": ETHNICITY_LABELS,
    "sex": SEX_LABELS,
    "co_applicant_race": {**RACE_LABELS, 8: "No co-applicant"},
    "co_applicant_ethnicity": ETHNICITY_LABELS,
    "co_applicant_sex": SEX_LABELS,
}

#: Columns returned by :func:`read_lar` with ``columns="common"``, in order.
LAR_COMMON_COLUMNS = [
    "year", "lender", "state_code", "county_code", "census_tract", "action_taken", "denied",
    "loan_type", "loan_purpose", "lien_status", "occupancy", "preapproval", "purchaser_type",
    "hoepa_status", "loan_amount", "income", "rate_spread", "interest_rate", "property_value",
    "debt_to_income_ratio", "applicant_age", "race", "ethnicity", "sex", "co_applicant_race",
    "co_applicant_ethnicity", "co_applicant_sex", "denial_reason_1",
]


def _normalise(name: str) -> str:
    return str(name).strip().strip('"').lower().replace("-", "_")


def detect_lar_schema(columns) -> str:
    """Return ``"2018+"`` or ``"2007-2017"`` from a LAR header (list of column names).

    Raises ``ValueError`` if the header is neither.
    """
    names = {_normalise(c) for c in columns}
    if "activity_year" in names and "applicant_race_1" in names:
        return "2018+"
    if "as_of_year" in names and "applicant_race_1" in names:
        return "2007-2017"
    raise ValueError(
        "Not a public HMDA LAR header: expected 'activity_year' (2018+ schema) or "
        "'as_of_year' (2007-2017 schema) and 'applicant_race-1'/'applicant_race_1'; got "
        f"{list(columns)[:8]}{'...' if len(list(columns)) > 8 else ''}."
    )


def _resolve_source(source, sha256, cache_dir) -> Path:
    text = str(source)
    scheme = urllib.parse.urlparse(text).scheme if isinstance(source, str) else ""
    if scheme in ("http", "https", "file"):
        return fetch_url(text, sha256=sha256, cache_dir=cache_dir)
    path = Path(source).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"LAR file {str(path)!r} does not exist.")
    if sha256 is not None:
        verify_file(path, sha256)
    return path


class LARFormatError(ValueError):
    """A LAR file is malformed: a row with the wrong number of fields, a truncated or
    damaged file, text that is not UTF-8, or a value that cannot be parsed.

    The message names the file and (when one is to blame) the line, counted from 1 for the
    header as a text editor counts them. ``path`` and ``line`` (``None`` when the problem is
    the file as a whole) are also attributes. A subclass of ``ValueError``.
    """

    def __init__(self, path, line, problem):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"LAR file {self.path!r}" + ("" if line is None else f", line {line:,}")
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):
        return type(self), (self.path, self.line, self.problem)


class _BadValue(ValueError):
    """A value a LAR column cannot hold; ``row`` is the index label of the first one."""

    def __init__(self, message, row):
        super().__init__(message)
        self.row = row


#: Bytes read (decompressed) per step; lines are never split between steps.
_BLOCK = 1 << 23
_ON_BAD_LINES = ("error", "skip")
# what a damaged compressed stream or a failing disk raise while reading
_READ_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)


class _ZipMember:
    """The one member of a zip archive, closing the archive with it."""

    def __init__(self, archive, member):
        self._archive = archive
        self._stream = archive.open(member)

    def read(self, n=-1):
        return self._stream.read(n)

    def close(self):
        try:
            self._stream.close()
        finally:
            self._archive.close()


def _open_bytes(path: Path):
    """Binary stream of the file's (decompressed) content; compression is recognised by
    its magic bytes, not by the file name."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic[:2] == b"\x1f\x8b":
            return gzip.open(path, "rb"), "gzip"
        if magic[:3] == b"BZh":
            return bz2.open(path, "rb"), "bzip2"
        if magic == b"\xfd7zXZ\x00":
            return lzma.open(path, "rb"), "xz"
        if magic[:4] == b"PK\x03\x04":
            archive = zipfile.ZipFile(path)
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                archive.close()
                raise LARFormatError(path, None, f"the zip archive holds {len(members)} "
                                     "files; expected exactly one LAR file.")
            return _ZipMember(archive, members[0]), "zip"
        return open(path, "rb"), None
    except LARFormatError:
        raise
    except _READ_ERRORS as exc:
        raise LARFormatError(path, None, f"cannot be opened ({type(exc).__name__}: {exc}); "
                             "the file is damaged or truncated.") from None


def _read_failure(path, kind, line, exc):
    what = f"the {kind} data" if kind else "the file"
    if isinstance(exc, EOFError):
        problem = (f"{what} end before their end-of-stream marker, at or after this line "
                   "(the lines before it were read whole): the file is truncated (an "
                   "interrupted download or copy?).")
    else:
        problem = (f"{what} cannot be read at or after this line (the lines before it were "
                   f"read whole): {type(exc).__name__}: {exc}. The file is damaged or "
                   "truncated.")
    return LARFormatError(path, line, problem)


def _encoding_failure(path, line, data, exc, line_start):
    byte = data[exc.start]
    column = exc.start - line_start + 1
    return LARFormatError(
        path, line,
        f"byte 0x{byte:02x} at character {column:,} is not valid UTF-8 (a Latin-1 or "
        "Windows-1252 character?). LAR files are UTF-8 (ASCII) text: re-save the file as "
        "UTF-8.")


def _lines(path: Path):
    """Complete lines of the file in batches: yields ``(first_line_no, lines, final,
    quoted)``.

    Lines are bytes without their ``\\n``; ``final`` is True only for a last line that has
    no newline after it; ``quoted`` says whether any of them holds a double quote. Every
    byte is checked as UTF-8 (and free of NUL bytes) before it is yielded, and a read error
    (truncated gzip, damaged archive) names the line it stopped at.
    """
    stream, kind = _open_bytes(path)
    try:
        rest = b""
        line_no = 1
        first = True
        while True:
            try:
                block = stream.read(_BLOCK)
            except _READ_ERRORS as exc:
                raise _read_failure(path, kind, line_no + rest.count(b"\n"), exc) from None
            if first and block:
                first = False
                if block[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in block[:200]:
                    raise LARFormatError(
                        path, 1, "the file is UTF-16 text (it has a UTF-16 byte-order mark "
                        "or NUL bytes); LAR files are read as UTF-8: re-save it as UTF-8.")
                if block[:3] == b"\xef\xbb\xbf":  # UTF-8 byte-order mark (Excel)
                    block = block[3:]
            final = not block
            data = rest + block
            if final:
                complete, rest = data, b""
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    rest = data
                    continue
                complete, rest = data[:cut], data[cut + 1:]
            if not complete:
                return
            try:
                complete.decode("utf-8")
            except UnicodeDecodeError as exc:
                start = complete.rfind(b"\n", 0, exc.start) + 1
                line = line_no + complete.count(b"\n", 0, exc.start)
                raise _encoding_failure(path, line, complete, exc, start) from None
            nul = complete.find(b"\x00")
            if nul >= 0:
                raise LARFormatError(
                    path, line_no + complete.count(b"\n", 0, nul),
                    "the line holds NUL bytes: the file is damaged (or is UTF-16 text).")
            lines = complete.split(b"\n")
            yield line_no, lines, final, b'"' in complete
            if final:
                return
            line_no += len(lines)
    finally:
        stream.close()


def _header_line(path: Path):
    """The header: (1-based line number, field names, separator)."""
    for line_no, lines, final, _ in _lines(path):
        for k, line in enumerate(lines):
            text = line.decode("utf-8").rstrip("\r")
            if not text.strip():
                continue
            if final:
                raise LARFormatError(
                    path, line_no + k, "the file ends inside its header line (no newline "
                    "after it, no data rows): the file is truncated.")
            sep = "|" if "," not in text and "|" in text else ","
            try:
                names = next(csv.reader([text], delimiter=sep))
            except csv.Error as exc:
                raise LARFormatError(path, line_no + k, f"unreadable header ({exc}).") from None
            return line_no + k, names, sep
    raise LARFormatError(path, None, "the file is empty (no header line).")


def _count_fields(line: bytes, sep: str) -> int:
    """Fields of a line that holds quotes, as the csv module (and pandas) split it; -1 for
    an unbalanced quote."""
    if line.count(b'"') % 2:
        return -1
    return len(next(csv.reader([line.decode("utf-8")], delimiter=sep)))


def _records(path, header_no, n_fields, sep, on_bad_lines, skipped):
    """Data lines with exactly ``n_fields`` fields, in batches ``(lines, line_numbers)``.

    A line with another number of fields raises :class:`LARFormatError` naming it, or with
    ``on_bad_lines="skip"`` is left out and recorded in ``skipped`` as ``(line, fields)``.
    Blank lines are not records and are passed over. A last line without a newline that is
    short, or ends right after a separator, is a cut-off file: the same treatment, with a
    message that says so.
    """
    sep_b = sep.encode()
    n_sep = n_fields - 1
    for line_no, lines, final, quoted in _lines(path):
        if line_no <= header_no:  # drop the header (and blank lines before it)
            drop = header_no - line_no + 1
            if drop >= len(lines):
                continue
            lines = lines[drop:]
            line_no = header_no + 1
        counts = list(map(bytes.count, lines, itertools.repeat(sep_b)))
        if quoted:
            counts = [_count_fields(line, sep) - 1 if b'"' in line else c
                      for line, c in zip(lines, counts, strict=True)]
        if not final and counts.count(n_sep) == len(counts):  # the common case: all good
            yield lines, np.arange(line_no, line_no + len(lines), dtype=np.int64)
            continue
        good, numbers = [], []
        for k, (line, c) in enumerate(zip(lines, counts, strict=True)):
            cut_off = final and k == len(lines) - 1
            if c == n_sep and not (cut_off and line.rstrip(b"\r").endswith(sep_b)):
                good.append(line)
                numbers.append(line_no + k)
                continue
            if c == 0 and not line.strip():
                continue  # a blank line
            n = c + 1
            if cut_off and n <= n_fields:
                where = ("inside a quoted value" if c < 0 else
                         f"after {n} of {n_fields} fields"
                         + (" (the last one empty)" if n == n_fields else ""))
                raise LARFormatError(
                    path, line_no + k, f"the file ends on this line, without a newline, "
                    f"{where}: the file is truncated (an interrupted download or copy?).")
            if c < 0:
                problem = ("has an unbalanced double quote (\"); a LAR record is one line "
                           "with balanced quotes.")
            elif n > n_fields:
                problem = (f"has {n} fields where the header has {n_fields}: a value holds "
                           f"an unquoted {sep!r}, or the row is damaged.")
            else:
                problem = (f"has {n} fields where the header has {n_fields}: the row is cut "
                           "short or damaged.")
            if on_bad_lines == "error":
                hint = (" Pass on_bad_lines='skip' to leave such rows out (they are counted "
                        "in a warning).")
                raise LARFormatError(path, line_no + k, problem + hint)
            skipped.append((line_no + k, n))
        if good:
            yield good, np.asarray(numbers, dtype=np.int64)


def _warn_skipped(path, skipped, n_fields):
    if not skipped:
        return
    shown = ", ".join(f"{line:,} ({n} fields)" if n > 0 else f"{line:,} (unbalanced quote)"
                      for line, n in skipped[:10])
    more = f" and {len(skipped) - 10:,} more" if len(skipped) > 10 else ""
    warnings.warn(
        f"LAR file {str(path)!r}: skipped {len(skipped):,} line(s) whose number of fields "
        f"differs from the header's {n_fields} (on_bad_lines='skip'): lines {shown}{more}.",
        UserWarning, stacklevel=3,
    )


def _parse(values: pd.Series, column: str, integer: bool) -> np.ndarray:
    """Parse a text column to float64 (NaN for NA/Exempt/blank); anything else that is not
    a number (or, with ``integer``, not a whole number) raises ValueError naming the column.

    LAR fields repeat few distinct values, so only the distinct strings are parsed.
    """
    idx, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
    text = text.where(~text.isin(MISSING_TOKENS))
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = text.notna().to_numpy() & (np.isnan(num) | (integer & (num != np.floor(num))))
    if bad.any():
        kind = "non-code" if integer else "non-numeric"
        first = values.index[int(np.flatnonzero(np.append(bad, False)[idx])[0])]
        raise _BadValue(
            f"LAR column {column!r} has {kind} values {sorted(text[bad].tolist())[:5]}.", first
        )
    out = np.append(num, np.nan)[idx]  # sentinel -1 (missing cell) -> NaN
    return out


def _as_code(values: pd.Series, column: str) -> pd.Series:
    """Integer codes with NA/Exempt/blank as missing; anything else non-numeric raises."""
    return pd.Series(_parse(values, column, True), index=values.index).astype("Int64")


def _as_float(values: pd.Series, column: str) -> pd.Series:
    return pd.Series(_parse(values, column, False), index=values.index)


def _as_label(values: pd.Series, column: str, mapping: dict) -> pd.Series:
    codes = _as_code(values, column)
    unknown = codes.notna() & ~codes.isin(list(mapping))
    if unknown.any():
        bad = sorted(int(v) for v in codes[unknown].unique())[:5]
        first = codes.index[int(np.argmax(unknown.to_numpy(dtype=bool)))]
        raise _BadValue(f"LAR column {column!r} has unknown codes {bad}.", first)
    labels = codes.map(mapping, na_action="ignore")
    categories = list(dict.fromkeys(mapping.values()))
    return pd.Series(pd.Categorical(labels, categories=categories), index=values.index)


_MINORITY = (1, 2, 3, 4)
MULTI_MINORITY = "2 or more minority races"


def _derive_race(chunk: pd.DataFrame, first: str, mapping: dict) -> pd.Series:
    """One race per person from the five race fields, as the CFPB derives it.

    One minority race reported (alone or with White) -> that race; two or more distinct
    minority races -> "2 or more minority races"; only White -> White; otherwise the
    first field's code (not provided / not applicable / no co-applicant).
    """
    stem = first[:-1]
    fields = [f"{stem}{k}" for k in range(1, 6) if f"{stem}{k}" in chunk.columns]
    codes = [_as_code(chunk[f], f) for f in fields]
    for f, c in zip(fields, codes, strict=True):
        unknown = c.notna() & ~c.isin(list(mapping))
        if unknown.any():
            bad = sorted(int(v) for v in c[unknown].unique())[:5]
            first = c.index[int(np.argmax(unknown.to_numpy(dtype=bool)))]
            raise _BadValue(f"LAR column {f!r} has unknown codes {bad}.", first)
    # roll sub-categories (21-27, 41-44) up to their major race 1-5
    major = [c.where(c < 10, c // 10).to_numpy(dtype="float64", na_value=np.nan) for c in codes]
    stack = np.column_stack(major)
    has = np.column_stack([(stack == r).any(axis=1) for r in _MINORITY])
    n_minority = has.sum(axis=1)
    white = (stack == 5).any(axis=1)
    first_code = codes[0]
    labels = np.array(first_code.map(mapping, na_action="ignore").astype(object), dtype=object)
    one = n_minority == 1
    labels[one] = np.asarray([mapping[r] for r in _MINORITY], dtype=object)[has[one].argmax(axis=1)]
    labels[(n_minority == 0) & white] = mapping[5]
    labels[n_minority >= 2] = MULTI_MINORITY
    categories = list(dict.fromkeys(mapping.values())) + [MULTI_MINORITY]
    return pd.Series(pd.Categorical(labels, categories=categories), index=chunk.index)


def _categories(name):
    cats = list(dict.fromkeys(_LABELLED[name].values()))
    return cats + [MULTI_MINORITY] if name in ("race", "co_applicant_race") else cats


def _to_common(chunk: pd.DataFrame, schema: str) -> pd.DataFrame:
    mapping = _MAP_2018 if schema == "2018+" else _MAP_2007
    out = {}
    n = len(chunk)
    for name in LAR_COMMON_COLUMNS:
        if name == "denied":
            continue
        src = mapping.get(name)
        if src is None or src not in chunk.columns:
            if name in _REQUIRED:
                raise ValueError(f"LAR file ({schema} schema) lacks the column {src!r}.")
            empty = pd.Series([pd.NA] * n, index=chunk.index, dtype="object")
            if name in _LABELLED:
                values = pd.Series(pd.Categorical([None] * n, categories=_categories(name)),
                                   index=chunk.index)
            elif name in _CODES:
                values = empty.astype("Int64")
            elif name in _FLOATS:
                values = pd.Series(np.nan, index=chunk.index)
            else:
                values = empty.astype("string")
            out[name] = values
            continue
        col = chunk[src]
        if name in ("race", "co_applicant_race"):
            out[name] = _derive_race(chunk, src, _LABELLED[name])
        elif name in _LABELLED:
            out[name] = _as_label(col, src, _LABELLED[name])
        elif name in _CODES:
            out[name] = _as_code(col, src)
        elif name in _FLOATS:
            out[name] = _as_float(col, src)
        else:
            idx, uniques = pd.factorize(col, use_na_sentinel=True)
            text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
            text = text.where(~text.isin(MISSING_TOKENS)).tolist() + [None]
            out[name] = pd.Series(np.asarray(text, dtype=object)[idx], index=chunk.index,
                                  dtype="string")
    frame = pd.DataFrame(out, index=chunk.index)
    if schema == "2007-2017":
        # amounts in thousands of dollars in the old schema; income is $000 in both
        frame["loan_amount"] = frame["loan_amount"] * 1000.0
    action = frame["action_taken"]
    denied = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    denied[action.isin(DENIED_CODES).fillna(False)] = 1
    denied[action.isin(APPROVED_CODES).fillna(False)] = 0
    frame.insert(LAR_COMMON_COLUMNS.index("denied"), "denied", denied)
    return frame[LAR_COMMON_COLUMNS]


def _needed_columns(header, schema):
    """Raw header names the common columns are built from (the rest is never parsed)."""
    mapping = _MAP_2018 if schema == "2018+" else _MAP_2007
    wanted = set(mapping.values())
    for first in ("applicant_race_1", "co_applicant_race_1"):
        wanted.update(f"{first[:-1]}{k}" for k in range(2, 6))
    return [c for c in header if _normalise(c) in wanted]


def _check_header(path, header_no, header, schema):
    mapping = _MAP_2018 if schema == "2018+" else _MAP_2007
    names = [_normalise(c) for c in header]
    for name in _REQUIRED:
        if mapping[name] not in names:
            raise LARFormatError(path, header_no,
                                 f"LAR file ({schema} schema) lacks the column {mapping[name]!r}.")
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise LARFormatError(path, header_no, f"the header repeats the column(s) {dupes}.")


def _chunks(path, sep, schema, chunksize, columns, header, header_no, on_bad_lines):
    names = [_normalise(c) for c in header]
    usecols = ([_normalise(c) for c in _needed_columns(header, schema)]
               if columns == "common" else None)
    skipped = []
    offset = 0

    def parse(pending, numbers):
        nonlocal offset
        data = b"\n".join(itertools.chain.from_iterable(pending))
        raw = pd.read_csv(io.BytesIO(data), sep=sep, header=None, names=names,
                          usecols=usecols, dtype=object, keep_default_na=False,
                          na_filter=False, skip_blank_lines=False, low_memory=False,
                          encoding="utf-8")
        nos = np.concatenate(numbers)
        if len(raw) != len(nos):  # the field checks above make this unreachable
            raise LARFormatError(path, None, f"read {len(raw)} rows from {len(nos)} lines.")
        raw.index = pd.RangeIndex(offset, offset + len(raw))
        try:
            common = _to_common(raw, schema)
        except _BadValue as exc:
            line = int(nos[exc.row - offset])
            raise LARFormatError(
                path, line, f"{str(exc).rstrip('.')} (the first one is on this line).") from None
        offset += len(raw)
        if columns == "common":
            return common
        extra = raw.drop(columns=[c for c in raw.columns if c in common.columns])
        return pd.concat([common, extra], axis=1)

    pending, numbers, n_pending = [], [], 0
    for lines, nos in _records(path, header_no, len(header), sep, on_bad_lines, skipped):
        i = 0
        while n_pending + len(lines) - i >= chunksize:
            take = chunksize - n_pending
            pending.append(lines[i:i + take])
            numbers.append(nos[i:i + take])
            i += take
            yield parse(pending, numbers)
            pending, numbers, n_pending = [], [], 0
        if i < len(lines):
            pending.append(lines[i:])
            numbers.append(nos[i:])
            n_pending += len(lines) - i
    if n_pending:
        yield parse(pending, numbers)
    _warn_skipped(path, skipped, len(header))


def read_lar(
    source,
    *,
    chunksize=None,
    columns="common",
    sha256=None,
    cache_dir=None,
    on_bad_lines="error",
):
    """Read a public HMDA loan-level (LAR) CSV file, 2018+ or 2007-2017 schema.

    Parameters
    ----------
    source : str or path-like
        A local file (``.csv``, or gzip / bzip2 / xz compressed, or a ``.zip`` with one
        member; compression is recognised from the content) or a ``https://`` /
        ``file://`` URL, which is downloaded once into ``cache_dir``. Comma- and
        pipe-delimited UTF-8 (ASCII) files are recognised.
    chunksize : int, optional
        Number of rows per chunk. When given, an iterator of DataFrames is returned and the
        file is never held in memory at once; when None, one DataFrame.
    columns : {"common", "all"}, default="common"
        ``"common"``: only :data:`LAR_COMMON_COLUMNS`, identical for both schemas.
        ``"all"``: the common columns followed by every other original column (as strings,
        names lower-cased with ``-`` replaced by ``_``).
    sha256 : str, optional
        Expected SHA-256 digest of the file; checked before reading (for URLs, before the
        download is accepted into the cache).
    cache_dir : str or path-like, optional
        Download folder for URLs (default ``$FAIRKIT_CACHE`` or ``~/.cache/fairkit``).
    on_bad_lines : {"error", "skip"}, default="error"
        What to do with a row whose number of fields differs from the header's (a damaged
        row, or a value with an unquoted separator that shifts the fields after it).
        ``"error"`` raises :class:`LARFormatError` naming the line; ``"skip"`` leaves such
        rows out and, once the file is read, warns how many were skipped and gives the
        first line numbers. Every other fault is an error in both modes, including a file
        that ends inside a row (truncated: more than that row is lost).

    Returns
    -------
    DataFrame or iterator of DataFrame
        Common columns:

        - ``year``, ``lender`` (LEI, or respondent id before 2018), ``state_code``,
          ``county_code``, ``census_tract`` as published (text, leading zeros kept; the
          2018+ files give the state as a postal code and a 5-digit county, the older ones
          FIPS state and 3-digit county codes);
        - ``action_taken`` (1 originated, 2 approved not accepted, 3 denied, 4 withdrawn,
          5 incomplete, 6 purchased, 7 preapproval denied, 8 preapproval approved not
          accepted) and the target ``denied``: 1 for codes 3 and 7, 0 for 1, 2 and 8,
          missing for 4, 5 and 6 (no credit decision);
        - ``race``, ``ethnicity``, ``sex`` of the applicant (and ``co_applicant_*``) as
          categoricals with the same labels in both schemas. Race combines the five race
          fields as the CFPB derives it for one person: 2018+ sub-categories roll up
          (21 "Asian Indian" -> "Asian"); one minority race, alone or with White, gives
          that race; two or more minority races give "2 or more minority races"; only
          White gives "White"; otherwise the first field's "Not provided" / "Not
          applicable". (Unlike the Data Browser's ``derived_race``, applicant and
          co-applicant are not merged into "Joint".) Ethnicity is the first ethnicity
          field, sub-categories rolled up;
        - ``loan_amount`` in dollars (the 2007-2017 ``loan_amount_000s`` times 1000),
          ``income`` in thousands of dollars, ``rate_spread``, ``interest_rate``,
          ``property_value`` (floats), coded fields as nullable integers, and the 2018+
          only ``applicant_age`` and ``debt_to_income_ratio`` (binned text) - missing in
          2007-2017 files.

        ``NA``, ``Exempt`` (partially exempt reporters), ``N/A`` and blank cells are
        missing values; any other non-numeric value in a numeric field raises
        ``ValueError`` naming the column.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    fairkit.datasets.ChecksumError
        ``sha256`` is given and does not match.
    LARFormatError
        (a ``ValueError``) naming the file and, where one is to blame, the line: the header
        is not a LAR header or lacks a required column; a row has more or fewer fields
        than the header (unless ``on_bad_lines="skip"``); the file ends inside a row
        (truncated); the text is not UTF-8 (UTF-16, a Latin-1 byte); the compressed data
        end early or are damaged; a value cannot be parsed. With ``chunksize`` the error
        is raised when the iteration reaches the fault, after the chunks before it.
    ValueError
        ``chunksize``, ``columns`` or ``on_bad_lines`` is invalid.

    Notes
    -----
    The reader never returns a partly read row: every line is checked to have as many
    fields as the header before it is parsed, so a file cut off inside a row raises
    instead of giving a last row with missing values. A cut exactly at a line end leaves
    complete rows and cannot be told from a shorter file; one inside the *last field* of
    the last line (no newline after it) is accepted when that field is not empty, as it
    is not one of the common columns (its raw text, with ``columns="all"``, may be cut).
    Pin the file with ``sha256`` to rule truncation out.

    No real national or state LAR file is bundled with fairkit. The bundled
    ``hmda/lar_2020_ny_one_lender.csv`` is a format fixture (288 records of one lender),
    not a statistics data set.

    Examples
    --------
    >>> from fairkit.datasets import read_lar
    >>> from fairkit.datasets._files import bundled_data_dir
    >>> path = bundled_data_dir() / "hmda" / "lar_2020_ny_one_lender.csv"
    >>> lar = read_lar(path)
    >>> lar.shape
    (288, 28)
    >>> int(lar["denied"].sum()), int(lar["denied"].count())
    (83, 244)
    """
    if columns not in ("common", "all"):
        raise ValueError(f"columns must be 'common' or 'all', got {columns!r}.")
    if chunksize is not None and (
        not isinstance(chunksize, (int, np.integer)) or isinstance(chunksize, bool)
        or chunksize < 1
    ):
        raise ValueError(f"chunksize must be a positive integer or None, got {chunksize!r}.")
    if not isinstance(on_bad_lines, str) or on_bad_lines not in _ON_BAD_LINES:
        raise ValueError(f"on_bad_lines must be 'error' or 'skip', got {on_bad_lines!r}.")
    path = _resolve_source(source, sha256, cache_dir)
    header_no, header, sep = _header_line(path)
    try:
        schema = detect_lar_schema(header)
    except ValueError as exc:
        raise LARFormatError(path, header_no, str(exc)) from None
    _check_header(path, header_no, header, schema)
    chunks = _chunks(path, sep, schema, int(chunksize or 1_000_000), columns, header,
                     header_no, on_bad_lines)
    if chunksize is not None:
        return chunks
    parts = list(chunks)
    if not parts:
        return _to_common(pd.DataFrame(columns=[_normalise(c) for c in header], dtype=str),
                          schema)
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def _mask(frame: pd.DataFrame, where) -> pd.Series:
    if where is None:
        return pd.Series(True, index=frame.index)
    if callable(where):
        mask = where(frame)
        return pd.Series(np.asarray(mask, dtype=bool), index=frame.index)
    if isinstance(where, Mapping):
        mask = pd.Series(True, index=frame.index)
        for col, wanted in where.items():
            if col not in frame.columns:
                raise ValueError(f"where: column {col!r} is not a LAR column.")
            values = list(wanted) if isinstance(wanted, (list, tuple, set)) else [wanted]
            mask &= frame[col].isin(values).fillna(False).astype(bool)
        return mask
    raise TypeError("where must be None, a callable(frame) -> mask, or a dict {column: values}.")


def lar_group_counts(
    source,
    by=("race",),
    *,
    where: Mapping | Callable | None = None,
    chunksize=500_000,
    **read_kwargs,
) -> pd.DataFrame:
    """Per-group application, decision and denial counts of a LAR file, chunk by chunk.

    Only counts are kept between chunks, so memory does not grow with the file.

    Parameters
    ----------
    source : str or path-like
        As in :func:`read_lar`.
    by : str or sequence of str, default=("race",)
        Common columns to group by (e.g. ``("race", "sex")``, ``"county_code"``).
    where : dict or callable, optional
        Row filter applied to every chunk: ``{"loan_purpose": 1, "occupancy": [1]}`` keeps
        rows whose column is one of the values; a callable gets the chunk and returns a
        boolean mask.
    chunksize : int, default=500_000
    **read_kwargs
        Passed to :func:`read_lar` (``sha256``, ``cache_dir``, ``columns``,
        ``on_bad_lines``); the file is read as strictly as there, so a cut-off or ragged
        row raises :class:`LARFormatError` instead of being counted.

    Returns
    -------
    DataFrame
        Indexed by the groups (missing values as their own ``NaN`` group), with columns
        ``applications`` (rows), ``decided`` (``denied`` not missing), ``denied`` and
        ``denial_rate`` (``denied / decided``).
    """
    by = [by] if isinstance(by, str) else list(by)
    total = None
    for chunk in read_lar(source, chunksize=chunksize, **read_kwargs):
        missing = [c for c in by if c not in chunk.columns]
        if missing:
            raise ValueError(f"by: {missing} not among the LAR columns {list(chunk.columns)}.")
        chunk = chunk.loc[_mask(chunk, where)]
        parts = pd.DataFrame({
            "applications": 1,
            "decided": chunk["denied"].notna().astype("int64"),
            "denied": chunk["denied"].fillna(0).astype("int64"),
        }, index=chunk.index)
        keys = [chunk[c] for c in by]
        counts = parts.groupby(keys, dropna=False, observed=True).sum()
        total = counts if total is None else total.add(counts, fill_value=0)
    if total is None:
        raise ValueError("The LAR file has no rows.")
    total = total.astype("int64").sort_index()
    total.index.names = by
    with np.errstate(invalid="ignore", divide="ignore"):
        total["denial_rate"] = total["denied"] / total["decided"].where(total["decided"] > 0)
    return total


def filter_lar(source, where, *, chunksize=500_000, **read_kwargs) -> pd.DataFrame:
    """Rows of a LAR file that satisfy ``where``, read chunk by chunk.

    Only the selected rows are kept in memory (e.g. one county of a national file).
    ``where`` is a dict ``{column: value or values}`` or a callable returning a boolean
    mask for a chunk; other arguments as in :func:`read_lar`.
    """
    if where is None:
        raise ValueError("where is required; use read_lar() to read the whole file.")
    kept = [chunk.loc[_mask(chunk, where)]
            for chunk in read_lar(source, chunksize=chunksize, **read_kwargs)]
    kept = [k for k in kept if len(k)] or kept[:1]
    if not kept:
        raise ValueError("The LAR file has no rows.")
    return pd.concat(kept) if len(kept) > 1 else kept[0]
