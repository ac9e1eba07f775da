"""Group metrics over partitioned data (Dask DataFrames) through mergeable counts.

Each partition is reduced to a :class:`~fairkit.metrics.GroupCounts` where it lives; only
those few numbers travel, and their sum is exactly the counts of the whole table, so every
group metric computed from it equals the in-memory result.
"""

from __future__ import annotations

from functools import reduce

from .streaming import GroupCounts

__all__ = ["group_counts_from_partitions"]


def _columns(value):
    return [value] if isinstance(value, str) else list(value)


def group_counts_from_partitions(frame, *, y_true, y_pred, sensitive_features, pos_label=1,
                                 sample_weight=None):
    """Per-group confusion counts of a Dask (or pandas) DataFrame, partition by partition.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame or pandas.DataFrame
        The table; a pandas DataFrame is treated as a single partition.
    y_true, y_pred : str
        Columns with the true labels and the decisions.
    sensitive_features : str or list of str
        Protected column(s); several give intersectional groups.
    pos_label : scalar, default=1
    sample_weight : str, optional
        Column of sample weights.

    Returns
    -------
    GroupCounts
        Ask it for any metric, e.g. ``counts.statistical_parity_difference()``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": [1, 0, 1, 0], "p": [1, 1, 0, 0], "g": list("aabb")})
    >>> counts = group_counts_from_partitions(frame, y_true="y", y_pred="p",
    ...                                       sensitive_features="g")
    >>> float(counts.statistical_parity_difference())
    1.0
    """
    attrs = _columns(sensitive_features)
    needed = [y_true, y_pred, *attrs] + ([sample_weight] if sample_weight else [])
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"column(s) {missing} not found in the frame; columns: {list(frame.columns)}."
        )

    def count(part):
        if len(part) == 0:
            return None
        return GroupCounts.from_arrays(
            part[y_true].to_numpy(),
            part[y_pred].to_numpy(),
            sensitive_features=part[attrs],
            pos_label=pos_label,
            sample_weight=None if sample_weight is None else part[sample_weight].to_numpy(),
        )

    if hasattr(frame, "to_delayed"):  # dask
        import dask

        parts = dask.compute(*[dask.delayed(count)(p) for p in frame[needed].to_delayed()])
    else:
        parts = [count(frame)]
    parts = [p for p in parts if p is not None]
    if not parts:
        raise ValueError("the frame has no rows.")
    return reduce(lambda a, b: a + b, parts)
