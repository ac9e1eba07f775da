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

import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import fetch_url, verify_file

__all__ = [
    "LAR_COMMON_COLUMNS",
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


def _sniff(path: Path):
    """Header and delimiter ("," for Data Browser / historic CSV, "|" for pipe files)."""
    head = pd.read_csv(path, nrows=0, sep=",", dtype=str)
    if len(head.columns) == 1 and "|" in str(head.columns[0]):
        head = pd.read_csv(path, nrows=0, sep="|", dtype=str)
        return list(head.columns), "|"
    return list(head.columns), ","


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
        raise ValueError(
            f"LAR column {column!r} has {kind} values {sorted(text[bad].tolist())[:5]}."
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
        raise ValueError(f"LAR column {column!r} has unknown codes {bad}.")
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
            raise ValueError(f"LAR column {f!r} has unknown codes {bad}.")
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


def _chunks(path, sep, schema, chunksize, columns, header):
    usecols = _needed_columns(header, schema) if columns == "common" else None
    reader = pd.read_csv(path, sep=sep, dtype=object, keep_default_na=False,
                         chunksize=chunksize, low_memory=False, usecols=usecols)
    offset = 0
    with reader:
        for raw in reader:
            raw.columns = [_normalise(c) for c in raw.columns]
            raw.index = pd.RangeIndex(offset, offset + len(raw))
            offset += len(raw)
            common = _to_common(raw, schema)
            if columns == "common":
                yield common
            else:
                extra = raw.drop(columns=[c for c in raw.columns if c in common.columns])
                yield pd.concat([common, extra], axis=1)


def read_lar(
    source,
    *,
    chunksize=None,
    columns="common",
    sha256=None,
    cache_dir=None,
):
    """Read a public HMDA loan-level (LAR) CSV file, 2018+ or 2007-2017 schema.

    Parameters
    ----------
    source : str or path-like
        A local file (``.csv``, or compressed ``.csv.gz`` / ``.zip`` with one member) or a
        ``https://`` / ``file://`` URL, which is downloaded once into ``cache_dir``. Comma-
        and pipe-delimited files are recognised.
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
    ValueError
        The header is not a LAR header, a required column is missing, or a value cannot
        be parsed.

    Notes
    -----
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
    path = _resolve_source(source, sha256, cache_dir)
    header, sep = _sniff(path)
    schema = detect_lar_schema(header)
    if chunksize is not None:
        return _chunks(path, sep, schema, int(chunksize), columns, header)
    parts = list(_chunks(path, sep, schema, 1_000_000, columns, header))
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
        Passed to :func:`read_lar` (``sha256``, ``cache_dir``, ``columns``).

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
