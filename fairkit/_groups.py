"""Disaggregation: one or several sensitive-feature columns -> integer group codes.

The one implementation behind :func:`fairkit._protected.encode_groups` (estimators'
``prot_attr``, group metrics, streaming counts) and :class:`fairkit.metrics.GroupMetricFrame`.
Each column is factorized into sorted levels (integer columns by counting, categoricals in
category order, values that do not sort in order of appearance); several columns combine
into the product of their levels, first column slowest. The discreteness rule
(:data:`MAX_GROUP_LEVELS`, :data:`WARN_GROUP_LEVELS`) lives here too.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pandas as pd

#: A numeric protected attribute with more distinct values than this is treated as
#: continuous: fine for dependence measures, refused by group metrics.
MAX_GROUP_LEVELS = 100

#: A numeric attribute with more distinct values than this (and at most MAX_GROUP_LEVELS)
#: still makes one group per value, with a warning: it is more likely a measurement such as
#: age (73 one-year groups) than a code. Integer codes of race, region, ... stay below it.
WARN_GROUP_LEVELS = 20

#: Integer columns spanning fewer values than this are factorized by counting.
SMALL_INT_RANGE = 1 << 20

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel():
    """Stack level of the first caller outside fairkit, so the warning points at user code."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def check_discrete(name, col, series, n_unique):
    """Refuse a numeric column with more than MAX_GROUP_LEVELS levels; warn above
    WARN_GROUP_LEVELS. ``name`` is the parameter, ``col`` the column's name."""
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric and n_unique > MAX_GROUP_LEVELS:
        raise ValueError(
            f"{name} column {col!r} looks continuous ({n_unique} distinct "
            f"numeric values, more than {MAX_GROUP_LEVELS}); group metrics need discrete "
            "groups. Bin it first (e.g. pandas.cut), or use a dependence measure such as "
            "fairkit.metrics.distance_correlation that accepts continuous attributes."
        )
    if numeric and n_unique > WARN_GROUP_LEVELS:
        warnings.warn(
            f"{name} column {col!r} is numeric with {n_unique} distinct values, so it makes "
            f"{n_unique} groups, one per value; if it is a measurement such as age, bin it "
            "(fairkit.Binned or pandas.cut) so that groups are large enough to compare.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def column_values(series: pd.Series):
    """A column's values for :func:`factorize`: a numpy array for a numpy dtype, pandas' own
    array otherwise (categorical, arrow strings, nullable), which factorizes faster than
    objects and keeps the category order."""
    return series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array


def _int_values(values):
    """``values`` as a non-empty numpy integer array within int64 range, else None."""
    dtype = values.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iu" or not len(values):
        return None
    arr = np.asarray(values)
    lo, hi = int(arr.min()), int(arr.max())
    if lo <= -(2**62) or hi >= 2**62:
        return None
    return arr, lo, hi


def factorize(values):
    """(codes, sorted levels) of one column, codes of dtype intp.

    ``values`` is a numpy array, a pandas extension array or a Series. Integer columns of
    small range are factorized by counting (the same result as ``pd.factorize(...,
    sort=True)`` without hashing); bools by comparison; the rest by pandas (a categorical in
    category order; values that do not sort in order of first appearance). Levels keep a
    numpy array's dtype; they are objects for any other input.
    """
    as_numpy = isinstance(values, np.ndarray)
    ints = _int_values(values)
    if ints is not None and ints[2] - ints[1] < SMALL_INT_RANGE:
        arr, lo, hi = ints
        shifted = np.subtract(arr, lo, dtype=np.intp) if lo else arr.astype(np.intp, copy=False)
        present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
        uniques = (present + lo).astype(arr.dtype)
        if not as_numpy:
            uniques = uniques.astype(object)
        if len(present) == hi - lo + 1:  # every value in the range occurs
            return shifted, uniques
        lookup = np.zeros(hi - lo + 1, dtype=np.intp)
        lookup[present] = np.arange(len(present))
        return lookup[shifted], uniques
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "b":
        arr = np.asarray(values)
        present = [v for v in (False, True) if (arr == v).any()]
        codes = arr.astype(np.intp) if len(present) == 2 else np.zeros(len(arr), np.intp)
        return codes, np.array(present, dtype=bool if as_numpy else object)
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # values that do not sort: first appearance
        codes, uniques = pd.factorize(values, sort=False)
    uniques = np.asarray(uniques) if as_numpy else np.asarray(uniques, dtype=object)
    return np.asarray(codes, dtype=np.intp), uniques


def _fits_counting(n_cells, n):
    return n_cells <= max(4 * n, 1 << 16)


def _encode_small_ints(columns):
    """Several integer columns of small range: the product code straight from the values,
    with one bincount telling which levels of each column occur (instead of one
    factorization per column). (codes, levels, n_cells, counts per cell) or None when a
    column is not integer or the ranges are too wide."""
    arrays, lows, sizes = [], [], []
    for values in columns:
        ints = _int_values(values)
        if ints is None:
            return None
        arr, lo, hi = ints
        if arr.dtype.kind == "u" and arr.dtype.itemsize >= np.dtype(np.intp).itemsize:
            arr = arr.astype(np.intp)  # cannot be added in place to intp codes
        arrays.append(arr)
        lows.append(lo)
        sizes.append(hi - lo + 1)
    total = int(np.prod(sizes, dtype=object))
    if not _fits_counting(total, len(arrays[0])):
        return None
    combined = arrays[0].astype(np.intp)
    offset = lows[0]
    for arr, lo, size in zip(arrays[1:], lows[1:], sizes[1:], strict=True):
        combined *= size
        combined += arr
        offset = offset * size + lo
    if offset:
        combined -= offset
    counts = np.bincount(combined, minlength=total)
    occupied = counts.reshape(sizes) > 0
    levels, lookups = [], []
    for j, (lo, size) in enumerate(zip(lows, sizes, strict=True)):
        seen = occupied.any(axis=tuple(k for k in range(len(sizes)) if k != j))
        present = np.flatnonzero(seen)
        level = (present + lo).astype(columns[j].dtype)
        levels.append(level if isinstance(columns[j], np.ndarray) else level.astype(object))
        lookup = np.full(size, -1, dtype=np.intp)
        lookup[present] = np.arange(len(present))
        lookups.append(lookup)
    n_cells = int(np.prod([len(u) for u in levels]))
    if n_cells == total:  # every level of every column occurs: the code is the cell
        return combined, levels, n_cells, counts
    table = lookups[0]
    for lookup, u in zip(lookups[1:], levels[1:], strict=True):
        table = (table[:, None] * len(u) + lookup[None, :]).ravel()
    return table[combined], levels, n_cells, None


def _encode(columns, check):
    if len(columns) > 1:
        fast = _encode_small_ints(columns)
        if fast is not None:
            if check is not None:
                for j, u in enumerate(fast[1]):
                    check(j, len(u))
            return fast
    codes, levels = None, []
    for j, values in enumerate(columns):
        c, u = factorize(values)
        if check is not None:
            check(j, len(u))
        levels.append(u)
        if codes is None:
            codes = c
        else:  # one new array per column (the first codes may be the caller's values)
            codes = codes * len(u)
            codes += c
    n_cells = int(np.prod([len(u) for u in levels], dtype=np.int64))
    return codes, levels, n_cells, None


def encode(columns, check=None):
    """Product code of several columns -> (codes, levels, n_cells).

    ``columns`` is a list of arrays or Series (see :func:`factorize`); ``levels`` the sorted
    levels of each column that occur, ``codes`` the index of each row's combination in the
    product of the levels (first column slowest), ``n_cells`` the size of that product.
    ``check(j, n_levels)``, if given, sees the number of levels of column ``j`` before the
    product is formed (so a continuous column is refused before it multiplies)."""
    return _encode(columns, check)[:3]


def encode_observed(columns, check=None):
    """Codes of the combinations that occur -> (codes, cells, levels).

    Same as :func:`encode`, with the product compacted to its observed cells: ``cells`` (in
    increasing order) are the product codes that occur and ``codes`` index into them, so
    groups are ordered by their combination of levels, first column slowest."""
    codes, levels, n_cells, counts = _encode(columns, check)
    if len(levels) == 1:  # every level occurs
        return codes, np.arange(n_cells), levels
    if counts is not None or _fits_counting(n_cells, len(codes)):
        # sorted compaction by counting: O(n), same result as np.unique(..., inverse)
        if counts is None:
            counts = np.bincount(codes, minlength=n_cells)
        cells = np.flatnonzero(counts)
        if len(cells) == n_cells:
            return codes, cells, levels
        lookup = np.zeros(n_cells, dtype=np.intp)
        lookup[cells] = np.arange(len(cells))
        return lookup[codes], cells, levels
    cells, codes = np.unique(codes, return_inverse=True)
    return codes, cells, levels


def scalar(value):
    """A numpy scalar as the Python scalar (labels are plain ``int``, ``str``, ...)."""
    return value.item() if isinstance(value, np.generic) else value


def cell_labels(cells, levels):
    """Label of each cell of the product of ``levels``: the level for one column, the tuple
    of levels for several."""
    if len(levels) == 1:
        return [scalar(u) for u in levels[0][cells]]
    labels = []
    for value in cells:
        parts = []
        for u in reversed(levels):
            value, r = divmod(int(value), len(u))
            parts.append(scalar(u[r]))
        labels.append(tuple(reversed(parts)))
    return labels
