"""Arrow-backed tables (polars, pyarrow, ...) as pandas objects, at the edge of fairkit.

fairkit computes on numpy and reads columns by name from pandas. Tables and columns from
other libraries are converted once, where data enters, by :func:`to_pandas`:

* the estimator layer: :func:`fairkit._validation.validate_fair_data` (``X``, ``y``,
  ``sample_weight``, routed ``sensitive_features``) and
  :func:`fairkit._protected.resolve_protected` (``X`` whose ``prot_attr`` column is read
  by name, so scorers and every estimator see the same frame);
* the metrics: :func:`fairkit._protected.as_frame` (every ``sensitive_features``),
  ``fairkit.metrics.streaming._as_1d`` (every ``y_true`` / ``y_pred`` of the group
  metrics and ``fairness_report``) and
  :func:`fairkit.metrics._labels.check_label_predictions`.

After that point a polars or pyarrow input is the pandas object a pandas user would have
passed, so every result, error message and fitted attribute (``feature_names_in_``,
``groups_``, ...) is the one of the equivalent pandas input.

Why the Arrow PyCapsule interface, and not narwhals or the interchange protocol
-------------------------------------------------------------------------------
* fairkit does not need a dataframe-agnostic API: it needs exactly one operation, "give
  me this table as pandas", at a handful of entry points, and then works on pandas/numpy.
  The Arrow PyCapsule interface (``__arrow_c_stream__`` / ``__arrow_c_array__``) is that
  operation as a standard: polars, pyarrow (Table, RecordBatch, Array, ChunkedArray),
  DuckDB and others export it, and pandas >= 3 imports it
  (``DataFrame.from_arrow`` / ``Series.from_arrow``), with no library-specific code here.
  narwhals only knows the backends it has adapters for, and would be used only to call
  each library's own ``to_pandas``.
* No new dependency. narwhals is in the environment only as a requirement of fairlearn
  (and of scikit-learn >= 1.9, while fairkit supports scikit-learn >= 1.6); fairkit would
  have to declare it to import it, and that serves no user: whoever passes a polars or
  pyarrow table already has what the Arrow route needs.
  pyarrow, which pandas needs to read Arrow data, comes with any pyarrow input; a polars
  user without pyarrow is served by a column-by-column ``to_numpy`` fallback.
* The dataframe interchange protocol (``__dataframe__``) is on its way out: pandas 3
  deprecates it (``Pandas4Warning``, citing "severe implementation issues"), and its own
  ``pandas.api.interchange.from_dataframe`` now tries the Arrow PyCapsule interface
  first, dropping the protocol fallback in pandas 4.

The conversion keeps Arrow's types as pandas' own Arrow reader maps them (int64, float64,
bool, strings as pandas' ``str``, dictionary/categorical columns as ``category``); an
integer column with nulls becomes float64 with NaN, as in pandas. polars' ``""`` (its
default Series name) reads as an unnamed Series.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["to_pandas"]


def _is_arrow_like(obj):
    return not isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)) and (
        hasattr(obj, "__arrow_c_stream__") or hasattr(obj, "__arrow_c_array__")
    )


def _n_rows(obj):
    for attr in ("height", "num_rows"):  # polars, pyarrow
        n = getattr(obj, attr, None)
        if isinstance(n, int):
            return n
    return None


def _via_arrow(obj, one_column):
    """The pandas reading of an Arrow PyCapsule export (needs pyarrow, as pandas does)."""
    if hasattr(pd.DataFrame, "from_arrow"):  # pandas >= 3
        return pd.Series.from_arrow(obj) if one_column else pd.DataFrame.from_arrow(obj)
    import pyarrow as pa  # pandas 2: what pandas 3's readers do

    if one_column:
        return pa.chunked_array(obj).to_pandas()
    return pa.table(obj).to_pandas()


def _via_numpy(obj, one_column):
    """Without pyarrow: polars still gives each column as numpy (``to_numpy``)."""
    if one_column and hasattr(obj, "to_numpy"):
        return pd.Series(obj.to_numpy())
    if not one_column and hasattr(obj, "get_column"):
        columns = list(obj.columns)
        return pd.DataFrame(
            {c: obj.get_column(c).to_numpy() for c in columns},
            columns=columns,
            index=pd.RangeIndex(_n_rows(obj) or 0),
        )
    return None


def to_pandas(obj):
    """Return ``obj`` as a pandas DataFrame or Series if it is an Arrow-backed table or
    column (polars ``DataFrame``/``Series``, pyarrow ``Table``/``RecordBatch``/``Array``/
    ``ChunkedArray``, any object with ``__arrow_c_stream__`` or ``__arrow_c_array__``);
    anything else (numpy, pandas, lists, sparse matrices, None) is returned unchanged.

    Tables give a DataFrame with a ``RangeIndex``; columns a Series (named as the polars
    Series, unnamed for pyarrow arrays).

    Raises
    ------
    ImportError
        If the object can only be read through Arrow and pyarrow is not installed.
    """
    if not _is_arrow_like(obj):
        return obj
    # A polars Series / pyarrow (Chunked)Array exports one column; a table, several.
    one_column = not (hasattr(obj, "columns") or hasattr(obj, "column_names"))
    try:
        out = _via_arrow(obj, one_column)
    except ImportError as exc:
        out = _via_numpy(obj, one_column)
        if out is None:
            raise ImportError(
                f"Reading a {type(obj).__module__}.{type(obj).__name__} needs pyarrow "
                "(pandas reads Arrow data through it); install pyarrow, or pass a numpy "
                "array or pandas DataFrame."
            ) from exc
    if one_column:
        name = getattr(obj, "name", None)
        out.name = name if isinstance(name, str) and name != "" else None
    elif out.shape[1] == 0 and _n_rows(obj):
        out = pd.DataFrame(index=pd.RangeIndex(_n_rows(obj)))  # keep the row count
    return out
