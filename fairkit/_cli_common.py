"""Pieces shared by the ``fairkit`` sub-commands: the user-error type and formatting."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CLIError"]


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


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


def _html_escape(text):
    import html

    return html.escape(str(text))
