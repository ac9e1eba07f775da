"""The UCI Adult ("Census Income") data set, bundled with fairkit."""

from __future__ import annotations

import gzip
import io

import pandas as pd

from ._files import _make_bunch, _to_category, read_verified

__all__ = ["load_adult"]

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
]
_CATEGORICAL = [
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native-country",
]
_FILES = {"train": "adult/adult.data.gz", "test": "adult/adult.test.gz"}

DESCR = """\
UCI Adult ("Census Income") data set
------------------------------------

Extract of the 1994 US Census (Current Population Survey) by Barry Becker, prepared by
Ronny Kohavi. Task: predict whether a person's income exceeds $50K a year.

Files as published: ``adult.data`` (training part, 32,561 rows) and ``adult.test`` (test part,
16,281 rows). Labels: 24,720 / 7,841 (train) and 12,435 / 3,846 (test) for <=50K / >50K.

Preprocessing done by ``load_adult`` (common practice, as in AIF360 and most papers):

- separator ``", "``: surrounding whitespace is stripped;
- the first line of ``adult.test`` (``|1x3 Cross validator``) is skipped, and the trailing
  period of the test labels (``<=50K.`` / ``>50K.``) is removed;
- ``?`` marks a missing value (workclass, occupation, native-country): it becomes NaN, and
  ``dropna=True`` (default) drops those rows, leaving 30,162 train and 15,060 test rows;
- target ``income``: 1 for ``>50K`` (the favourable outcome, ``pos_label=1``), 0 for ``<=50K``;
- string columns are pandas categoricals; ``fnlwgt`` (census sampling weight) is kept as a
  column: drop it or use it as ``sample_weight``, as the analysis requires.

Protected attributes: ``sex`` (Female, Male) and ``race`` (Amer-Indian-Eskimo,
Asian-Pac-Islander, Black, Other, White). Usual privileged groups: ``sex="Male"``,
``race="White"``.

Source: UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/2/adult
License: CC BY 4.0.

Citation: Becker, B. & Kohavi, R. (1996). Adult. UCI Machine Learning Repository.
https://doi.org/10.24432/C5XW20 . See also Kohavi, R. (1996), "Scaling Up the Accuracy of
Naive-Bayes Classifiers: a Decision-Tree Hybrid", KDD-96.
"""


def _read_part(part: str, data_home) -> pd.DataFrame:
    raw = gzip.decompress(read_verified(_FILES[part], data_home=data_home))
    frame = pd.read_csv(
        io.BytesIO(raw),
        header=None,
        names=ADULT_COLUMNS + ["income"],
        skiprows=1 if part == "test" else 0,
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
        skip_blank_lines=True,
    )
    labels = frame["income"].str.rstrip(".")
    unknown = set(labels.unique()) - {"<=50K", ">50K"}
    if unknown:  # cannot happen with the verified file; guards against silent mislabeling
        raise ValueError(f"adult {part} file has unexpected income labels {sorted(unknown)}.")
    frame["income"] = (labels == ">50K").astype("int64")
    return frame


def load_adult(
    *,
    subset="train",
    dropna=True,
    return_X_y=False,
    as_frame=True,
    data_home=None,
):
    """Load the UCI Adult (Census Income) data set, bundled with fairkit.

    No network access: the file's SHA-256 digest is checked before it is parsed.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The published training part (``adult.data``), test part (``adult.test``) or both,
        train rows first.
    dropna : bool, default=True
        Drop rows with a missing value (``?`` in the raw files).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        Return pandas objects (``data`` a DataFrame with categorical string columns,
        ``target`` a Series). With False, ``data`` is an object ndarray and ``frame`` None.
    data_home : str or path-like, optional
        Folder to read the files from instead of the bundled copy (same layout,
        ``adult/adult.data.gz``); checked against fairkit's own checksums.

    Returns
    -------
    Bunch or tuple
        ``data`` (14 columns, protected ones included), ``target`` (``income``: 1 for
        ">50K"), ``frame`` (data and target), ``feature_names``, ``target_names``
        (``["<=50K", ">50K"]``), ``prot_attr`` (``["sex", "race"]``), ``DESCR``.

    Raises
    ------
    FileNotFoundError
        A data file is missing.
    fairkit.datasets.ChecksumError
        A data file is corrupted, truncated or not the published version.

    Examples
    --------
    >>> from fairkit.datasets import load_adult
    >>> adult = load_adult()
    >>> adult.data.shape
    (30162, 14)
    >>> adult.target.value_counts().sort_index().tolist()
    [22654, 7508]
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")
    parts = ["train", "test"] if subset == "all" else [subset]
    frames = [_read_part(p, data_home) for p in parts]  # every file verified before use
    frame = pd.concat(frames, ignore_index=True)
    if dropna:
        frame = frame.dropna().reset_index(drop=True)
    frame = _to_category(frame, _CATEGORICAL)
    return _make_bunch(
        frame[ADULT_COLUMNS],
        frame["income"],
        target_names=["<=50K", ">50K"],
        prot_attr=["sex", "race"],
        descr=DESCR,
        as_frame=as_frame,
        return_X_y=return_X_y,
    )
