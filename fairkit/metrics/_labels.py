"""Refusing scores where labels are expected.

A classification metric compares ``y_pred == pos_label``; a column of probabilities in
(0, 1) never equals 1, so it silently reads as "nobody selected" (selection rate 0, FNR 1).
The check below turns that into an error before any number is computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils._dataframe import to_pandas

__all__ = ["check_label_predictions"]


def _non_integer_values(values):
    """Finite values of a float array that are not whole numbers (NaN is left to others)."""
    values = values[np.isfinite(values)]
    return values[values != np.round(values)]


def check_label_predictions(y_pred, *, name="y_pred", hint=None):
    """Raise ``ValueError`` if ``y_pred`` holds scores (non-integer numbers), not labels.

    Labels may be integers, booleans, strings or whole-valued floats (``0.0``/``1.0``,
    as read from a CSV); any finite value with a fractional part means the column holds
    scores or probabilities.

    Parameters
    ----------
    y_pred : array-like
        Predictions to check (numpy, list, pandas, polars or pyarrow column).
    name : str, default="y_pred"
        Name of the parameter or column, used in the message.
    hint : str, optional
        How to turn scores into labels, for the message. Default: threshold in Python,
        e.g. ``(y_pred >= 0.5).astype(int)``. The CLI passes its ``--threshold`` advice.

    Raises
    ------
    ValueError
        If ``y_pred`` contains a finite non-integer number.
    """
    values = np.asarray(to_pandas(y_pred))  # a polars / pyarrow column as pandas reads it
    if values.dtype.kind == "O":
        # Object columns (mixed pandas input) may still hold floats; only a column that is
        # numeric throughout can be scores, strings are labels whatever they look like.
        kind = pd.api.types.infer_dtype(values.ravel(), skipna=True)
        if kind not in ("floating", "mixed-integer-float"):
            return
        values = pd.to_numeric(pd.Series(values.ravel()), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
    elif values.dtype.kind != "f":
        return  # ints, bools, strings, categoricals coded as labels
    bad = _non_integer_values(values.ravel())
    if bad.size == 0:
        return
    lo, hi = float(np.min(bad)), float(np.max(bad))
    if hint is None:
        hint = f"threshold them first, e.g. ({name} >= 0.5).astype(int)"
    raise ValueError(
        f"{name} holds scores, not labels: {bad.size} non-integer value(s) between "
        f"{lo:.4g} and {hi:.4g}; {hint}."
    )
