"""ProPublica's COMPAS recidivism data (Broward County, Florida), bundled with fairkit."""

from __future__ import annotations

import gzip
import io

import pandas as pd

from ._files import _make_bunch, _to_category, read_verified

__all__ = ["load_compas"]

_FILES = {
    False: "compas/compas-scores-two-years.csv.gz",
    True: "compas/compas-scores-two-years-violent.csv.gz",
}
COMPAS_COLUMNS = [
    "sex",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "c_charge_degree",
    "c_charge_desc",
    "decile_score",
    "score_text",
    "v_decile_score",
    "v_score_text",
]
_ORDERED = {
    "age_cat": ["Less than 25", "25 - 45", "Greater than 45"],
    "score_text": ["Low", "Medium", "High"],
    "v_score_text": ["Low", "Medium", "High"],
}

DESCR = """\
COMPAS recidivism data (ProPublica, "Machine Bias")
---------------------------------------------------

Criminal defendants screened with the COMPAS risk assessment in Broward County, Florida, in
2013-2014, with their recidivism over the following two years, as compiled by ProPublica from
public records (compas-analysis repository, files ``compas-scores-two-years.csv`` and
``compas-scores-two-years-violent.csv``).

Preprocessing done by ``load_compas``: ProPublica's filter, as in their analysis notebook -
``days_b_screening_arrest`` within [-30, 30], ``is_recid != -1``, ``c_charge_degree != "O"``
and a score present (``score_text != "N/A"``, or ``v_score_text`` for the violent file). This
leaves 6,172 of 7,214 rows (4,020 of 4,743 for ``violent=True``). The duplicated columns of
the raw files (``decile_score``, ``priors_count``, ``two_year_recid``) are identical copies
and are kept once. Personal data (names, dates of birth) and post-screening outcome columns
(``is_recid``, ``r_*``, ``vr_*``, ...) are not returned.

Target ``two_year_recid``: 1 if the person was charged with a new (violent, for
``violent=True``) offence within two years, 0 otherwise. For fairness metrics the
**favourable outcome is 0** (not reoffending / not being labelled high-risk): pass
``pos_label=0`` (also stored as ``bunch.pos_label``). Equivalently, flip the labels.

COMPAS's own decisions are kept as columns so they can be audited: ``decile_score`` (1-10)
and ``score_text`` (Low 1-4, Medium 5-7, High 8-10) for general recidivism, ``v_decile_score``
and ``v_score_text`` for violent recidivism. ProPublica treated Medium or High as "predicted to
reoffend"; ``bunch.compas_pred`` holds that prediction (1 = Medium/High, from ``score_text``,
or ``v_score_text`` for ``violent=True``). Drop these columns before training a model of your
own unless you mean to use COMPAS's score as a feature.

Protected attributes: ``race`` (African-American, Asian, Caucasian, Hispanic, Native American,
Other), ``sex`` (Female, Male) and ``age`` (continuous; ``age_cat`` gives ProPublica's three
bins). ProPublica's comparison is African-American vs Caucasian.

Source: https://github.com/propublica/compas-analysis (commit bafff5d). No license is attached;
the data are public records compiled by ProPublica.

Citation: Angwin, J., Larson, J., Mattu, S. & Kirchner, L. (2016). Machine Bias. ProPublica.
https://www.propublica.org/article/machine-bias-risk-assessments-in-criminal-sentencing ;
Larson, J., Mattu, S., Kirchner, L. & Angwin, J. (2016). How We Analyzed the COMPAS
Recidivism Algorithm. ProPublica.
"""


def _read(violent: bool, data_home) -> pd.DataFrame:
    raw = gzip.decompress(read_verified(_FILES[violent], data_home=data_home))
    return pd.read_csv(io.BytesIO(raw), keep_default_na=False, na_values=[""])


def propublica_filter(frame: pd.DataFrame, *, violent=False) -> pd.Series:
    """ProPublica's row filter, as a boolean mask over the raw file's rows."""
    days = frame["days_b_screening_arrest"]
    score = frame["v_score_text" if violent else "score_text"]
    return (
        days.between(-30, 30)
        & (frame["is_recid"] != -1)
        & (frame["c_charge_degree"] != "O")
        & (score != "N/A")
    )


def load_compas(
    *,
    violent=False,
    filter=True,  # noqa: A002 - the name used by ProPublica and AIF360
    return_X_y=False,
    as_frame=True,
    data_home=None,
):
    """Load ProPublica's COMPAS two-year recidivism data, bundled with fairkit.

    No network access: the file's SHA-256 digest is checked before it is parsed.

    Parameters
    ----------
    violent : bool, default=False
        Load the violent-recidivism file (target: a new violent charge within two years).
    filter : bool, default=True
        Apply ProPublica's filter (6,172 rows; 4,020 with ``violent=True``). With False all
        7,214 (4,743) rows are returned.
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
        ``data`` (14 columns, see ``feature_names``), ``target`` (``two_year_recid``, 1 =
        reoffended), ``frame``, ``feature_names``, ``target_names``
        (``["no_recid", "recid"]``), ``prot_attr`` (``["race", "sex", "age"]``), ``DESCR``,
        plus ``pos_label`` (0: not reoffending is the favourable outcome) and
        ``compas_pred`` (COMPAS's prediction, 1 = Medium/High risk).

    Notes
    -----
    With target 1 = "reoffended", the favourable label for fairness metrics is 0::

        b = load_compas()
        statistical_parity_difference(b.target, b.compas_pred,
                                      sensitive_features=b.data["race"],
                                      priv_group="Caucasian", pos_label=0)

    Examples
    --------
    >>> from fairkit.datasets import load_compas
    >>> compas = load_compas()
    >>> compas.data.shape
    (6172, 14)
    >>> int(compas.target.sum())
    2809
    """
    if not isinstance(violent, bool):
        raise ValueError(f"violent must be True or False, got {violent!r}.")
    raw = _read(violent, data_home)
    # The raw files repeat columns; pandas names the copies "<name>.1". Check they are
    # copies before dropping them, so a changed file cannot silently lose information.
    for dup in [c for c in raw.columns if c.endswith(".1")]:
        if not raw[dup].equals(raw[dup[:-2]]):
            raise ValueError(f"COMPAS file: duplicated column {dup[:-2]!r} differs from its copy.")
    if filter:
        raw = raw.loc[propublica_filter(raw, violent=violent)].reset_index(drop=True)
    data = raw[COMPAS_COLUMNS].copy()
    for col in ("sex", "race", "c_charge_degree", "c_charge_desc"):
        data = _to_category(data, [col])
    for col, cats in _ORDERED.items():
        # "N/A" (no score; only left when filter=False) becomes a missing value
        values = data[col].where(data[col] != "N/A")
        data[col] = values.astype(pd.CategoricalDtype(cats, ordered=True))
    target = raw["two_year_recid"].astype("int64").rename("two_year_recid")
    score = data["v_score_text" if violent else "score_text"]
    compas_pred = score.isin(["Medium", "High"]).astype("int64").rename("compas_pred")
    if not as_frame:
        compas_pred = compas_pred.to_numpy()
    return _make_bunch(
        data,
        target,
        target_names=["no_recid", "recid"],
        prot_attr=["race", "sex", "age"],
        descr=DESCR,
        as_frame=as_frame,
        return_X_y=return_X_y,
        pos_label=0,
        compas_pred=compas_pred,
    )
