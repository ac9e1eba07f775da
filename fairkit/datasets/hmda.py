"""Boston Fed 1990 HMDA follow-up study (Munnell et al. 1996), bundled with fairkit."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ._files import _make_bunch, read_verified

__all__ = ["load_hmda"]

_FILES = {"aer": "hmda/hmda_aer.dta", "sw": "hmda/hmda_sw.dta"}

#: Stata column -> decoded name (Boston Fed codebook; LAR field names where one exists).
HMDA_COLUMNS = {
    "seq": "seq",
    "s3": "loan_type",
    "s4": "loan_purpose",
    "s5": "occupancy",
    "s6": "loan_amount",
    "s7": "action_taken",
    "s9": "msa",
    "s11": "suffolk_county",
    "s13": "race",
    "s14": "coapplicant_race",
    "s15": "sex",
    "s16": "coapplicant_sex",
    "s17": "income",
    "s18": "purchaser_type",
    "s19a": "denial_reason",
    "s19b": "denial_reason_2",
    "s19c": "denial_reason_3",
    "s19d": "denial_reason_4",
    "s20": "units",
    "s23a": "marital_status",
    "s24a": "dependents",
    "s25a": "years_in_line_of_work",
    "s26a": "years_on_job",
    "s27a": "self_employed",
    "s30a": "base_monthly_income",
    "s30c": "coapplicant_base_monthly_income",
    "s31a": "total_monthly_income",
    "s31c": "coapplicant_total_monthly_income",
    "s32": "monthly_housing_expense",
    "s33": "purchase_price",
    "s34": "other_financing",
    "s35": "liquid_assets",
    "s39": "credit_reports",
    "s40": "credit_history_meets_guidelines",
    "s41": "consumer_credit_lines",
    "s42": "mortgage_payment_history",
    "s43": "consumer_credit_history",
    "s44": "public_record",
    "s45": "housing_expense_ratio",
    "s46": "debt_to_income_ratio",
    "s47": "rate_type",
    "s48": "term_months",
    "s49": "special_program",
    "s50": "appraised_value",
    "s51": "property_type",
    "s52": "pmi_sought",
    "s53": "pmi_denied",
    "s54": "gift_or_grant",
    "s55": "cosigner",
    "s56": "unverifiable_information",
    "s57": "times_reviewed",
    "netw": "net_worth",
    "uria": "unemployment_probability",
    "rtdum": "minority_tract",
    "bd": "boarded_up_above_median",
    "mi": "tract_income_above_median",
    "old": "age_above_median",
    "vr": "tract_vacancy_above_median",
    "school": "years_of_education",
    "chval": "tract_value_change",
    "dnotown": "not_owner_occupied",
    "dprop": "two_to_four_family",
}
RACE_CODES = {
    1: "American Indian or Alaskan Native",
    2: "Asian or Pacific Islander",
    3: "Black",
    4: "Hispanic",
    5: "White",
    6: "Other",
    7: "Not provided",
    8: "Not applicable",
}
SEX_CODES = {1: "Male", 2: "Female", 3: "Not provided", 4: "Not applicable"}
#: Columns that record or explain the decision itself: returned in ``bunch.outcomes``,
#: never in ``data`` (they would leak the label).
_OUTCOME_COLUMNS = ["seq", "action_taken", "denial_reason", "denial_reason_2",
                    "denial_reason_3", "denial_reason_4"]
_SENTINEL = np.float32(999999.4)

DESCR = """\
Boston HMDA data (Federal Reserve Bank of Boston, 1990 follow-up study)
----------------------------------------------------------------------

Conventional mortgage applications in the Boston MSA in 1990: the original 1990 HMDA
Loan/Application Register fields plus a follow-up survey of the lenders (credit history,
debt ratios, employment...). Used by Munnell et al. (1996) and, as a 2,380-row subset, by
Stock & Watson's textbook (also ``HMDA`` in the R package AER).

Variants: ``variant="aer"`` (default, ``hmda_aer.dta``): 2,925 applications x 62 variables,
all Black (468) and Hispanic (214) applicants and a random sample of White applicants
(2,243); ``variant="sw"`` (``hmda_sw.dta``): 2,380 rows, single-family properties, Black
(339) and White (2,041) applicants only.

Preprocessing done by ``load_hmda``:

- Stata columns renamed from the codebook (``s13`` -> ``race``, ``s17`` -> ``income``, ...;
  LAR field names where one exists; mapping in ``fairkit.datasets.hmda.HMDA_COLUMNS``);
- the missing-value sentinel 999999.4 (e.g. 37 incomes) and the string ``"NA"`` become NaN;
  ``gift_or_grant`` (stored N/Y) becomes 0/1; numeric columns are float64;
- race and sex codes are decoded to labels (``race``: Black, Hispanic, White, ...;
  ``sex``: Male, Female, Not provided); ``ethnicity`` is derived from the race code
  (1990 HMDA had no separate ethnicity field: Hispanic was a race code), so
  ``ethnicity == "Hispanic"`` exactly when ``race == "Hispanic"``;
- target ``denied``: 1 if the application was denied (action taken = 3), 0 if a loan was
  originated (1) or approved but not accepted (2). The favourable outcome is 0:
  pass ``pos_label=0`` to fairness metrics on ``denied``;
- the decision columns (``action_taken``, the ``denial_reason*`` fields) and the id ``seq``
  are not features: they are returned separately in ``bunch.outcomes``.

Denial rates: Black 30.8%, Hispanic 22.4%, White 10.3% (aer); Black 28.3%, White 9.3% (sw).

Sources: Stock & Watson, Introduction to Econometrics, companion data sets
``hmda_aer.dta`` / ``hmda_sw.dta``. Public HMDA data with Federal Reserve Bank of Boston
survey data; no explicit license.

Citation: Munnell, A. H., Tootell, G. M. B., Browne, L. E. & McEneaney, J. (1996).
Mortgage Lending in Boston: Interpreting HMDA Data. American Economic Review 86(1), 25-53.
"""


def _decode(codes: pd.Series, mapping: dict) -> pd.Series:
    labels = codes.map(lambda v: mapping.get(int(v)) if pd.notna(v) else None)
    return labels.astype(pd.CategoricalDtype(list(mapping.values())))


def load_hmda(*, variant="aer", return_X_y=False, as_frame=True, data_home=None):
    """Load the Boston 1990 HMDA mortgage-denial data (Munnell et al. 1996), bundled.

    No network access: the file's SHA-256 digest is checked before it is parsed. For
    modern loan-level HMDA files (2007 onwards) see :func:`fairkit.datasets.read_lar`.

    Parameters
    ----------
    variant : {"aer", "sw"}, default="aer"
        ``"aer"``: the full Munnell et al. file (2,925 rows); ``"sw"``: Stock & Watson's
        subset (2,380 rows, Black and White applicants, single-family properties).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        Return pandas objects; with False, ``data`` is an object ndarray and ``frame`` None.
    data_home : str or path-like, optional
        Folder to read the files from instead of the bundled copy (same layout); checked
        against fairkit's own checksums.

    Returns
    -------
    Bunch or tuple
        ``data`` (57 columns: the 62 variables minus ``seq``, ``action_taken`` and the four
        denial-reason fields, plus the derived ``ethnicity``), ``target`` (``denied``),
        ``frame``, ``feature_names``, ``target_names`` (``["approved", "denied"]``),
        ``prot_attr`` (``["race", "sex", "ethnicity"]``), ``DESCR``, ``pos_label`` (0) and
        ``outcomes`` (DataFrame with ``seq``, ``action_taken`` and the denial reasons).

    Examples
    --------
    >>> from fairkit.datasets import load_hmda
    >>> hmda = load_hmda()
    >>> hmda.data.shape
    (2925, 57)
    >>> hmda.frame.groupby("race", observed=True)["denied"].mean().round(3).to_dict()
    {'Black': 0.308, 'Hispanic': 0.224, 'White': 0.103}
    """
    if variant not in _FILES:
        raise ValueError(f"variant must be 'aer' or 'sw', got {variant!r}.")
    content = read_verified(_FILES[variant], data_home=data_home)
    raw = pd.read_stata(io.BytesIO(content), convert_categoricals=False)
    unknown = set(raw.columns) - set(HMDA_COLUMNS)
    if unknown:
        raise ValueError(f"HMDA file {_FILES[variant]!r} has unexpected columns {sorted(unknown)}.")
    frame = raw.rename(columns=HMDA_COLUMNS)
    for col in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[col]):
            values = frame[col].to_numpy()
            frame[col] = np.where(values == _SENTINEL, np.nan, values).astype("float64")
        else:
            frame[col] = frame[col].astype(object).where(frame[col] != "NA", None)
            frame[col] = frame[col].str.strip()
    frame["gift_or_grant"] = frame["gift_or_grant"].map({"N": 0.0, "Y": 1.0}).astype("float64")
    race_code = frame["race"]
    for col, mapping in (("race", RACE_CODES), ("coapplicant_race", RACE_CODES),
                         ("sex", SEX_CODES), ("coapplicant_sex", SEX_CODES)):
        frame[col] = _decode(frame[col], mapping)
    ethnicity = np.where(race_code == 4, "Hispanic", "Not Hispanic")
    frame.insert(frame.columns.get_loc("race") + 1, "ethnicity",
                 pd.Categorical(ethnicity, categories=["Hispanic", "Not Hispanic"]))
    action = frame["action_taken"]
    if not action.isin([1.0, 2.0, 3.0]).all():
        raise ValueError("HMDA file has action_taken values outside {1, 2, 3}.")
    target = (action == 3).astype("int64").rename("denied")
    outcomes = frame[_OUTCOME_COLUMNS].copy()
    outcomes["seq"] = outcomes["seq"].astype("int64")
    data = frame.drop(columns=_OUTCOME_COLUMNS)
    return _make_bunch(
        data,
        target,
        target_names=["approved", "denied"],
        prot_attr=["race", "sex", "ethnicity"],
        descr=DESCR,
        as_frame=as_frame,
        return_X_y=return_X_y,
        pos_label=0,
        outcomes=outcomes if as_frame else outcomes.to_numpy(),
    )
