"""The protected-attribute contract: the one place that turns ``prot_attr`` or
``sensitive_features`` into group codes.

Every estimator, transformer, metric and scorer in fairkit that needs group membership calls
:func:`resolve_protected` (estimators and scorers, which see ``X``) or
:func:`encode_groups` (metrics, which only see ``sensitive_features``).

Words follow AIF360: ``priv_group`` is the value (or values) of the privileged group and
``pos_label`` the favourable label. Several attributes at once form intersectional groups,
labelled by tuples such as ``("Female", "Black")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from numbers import Integral

import numpy as np
import pandas as pd

from ._groups import (  # noqa: F401  (the limits are imported from here elsewhere)
    MAX_GROUP_LEVELS,
    WARN_GROUP_LEVELS,
    cell_labels,
    check_discrete,
    encode_observed,
    scalar,
    user_stacklevel,
)
from .utils._dataframe import to_pandas

__all__ = [
    "Binned",
    "GroupEncoding",
    "is_continuous_attribute",
    "check_prot_attr",
    "ProtectedData",
    "encode_groups",
    "resolve_protected",
    "privileged_mask",
    "check_pos_label",
    "as_frame",
]



@dataclass
class GroupEncoding:
    """Group membership of ``n`` samples.

    Attributes
    ----------
    codes : ndarray of shape (n_samples,), dtype intp
        Group index of each sample, in ``0 .. n_groups - 1``.
    labels : list
        Label of each group, in code order: the attribute value for one attribute, a tuple
        of values for several (intersectional groups).
    names : list of str
        Names of the protected attributes.
    """

    codes: np.ndarray
    labels: list
    names: list = field(default_factory=list)

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def display_labels(self) -> list[str]:
        """Group labels as strings, e.g. ``"Female"`` or ``"Female, Black"``."""
        return [
            ", ".join(str(v) for v in lab) if isinstance(lab, tuple) else str(lab)
            for lab in self.labels
        ]

    def counts(self, sample_weight=None) -> np.ndarray:
        return np.bincount(self.codes, weights=sample_weight, minlength=self.n_groups)


@dataclass
class ProtectedData:
    """What :func:`resolve_protected` returns.

    Attributes
    ----------
    X : ndarray or DataFrame
        The model matrix: ``X`` with the protected columns removed when ``drop`` was true,
        otherwise ``X`` unchanged.
    values : DataFrame of shape (n_samples, n_attributes)
        The raw protected attributes (continuous ones included).
    groups : GroupEncoding or None
        Group codes; None when the attributes are continuous and ``require_groups`` is false.
    columns : list
        The protected columns of ``X`` (names or integer indices; the column behind a
        :class:`Binned` spec); empty when the attributes
        came through ``sensitive_features``.
    """

    X: object
    values: pd.DataFrame
    groups: GroupEncoding | None
    columns: list


def _param_repr(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_frame(sensitive_features, *, name="sensitive_features", n_samples=None) -> pd.DataFrame:
    """Turn 1-D / 2-D / Series / DataFrame / list input into a DataFrame of attributes.

    polars / pyarrow tables and columns are read as the equivalent pandas object first.
    Raises ``ValueError`` naming ``name`` on a length mismatch, an empty input, a 3-D array or
    missing values.
    """
    sf = to_pandas(sensitive_features)
    if isinstance(sf, pd.DataFrame):
        frame = sf.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    elif isinstance(sf, pd.Series):
        frame = sf.reset_index(drop=True).to_frame(
            name=str(sf.name) if sf.name is not None else "sensitive_feature"
        )
    elif isinstance(sf, dict):
        keys = [str(k) for k in sf]
        if len(set(keys)) < len(keys):
            twice = sorted({k for k in keys if keys.count(k) > 1})
            raise ValueError(f"{name} has several columns named {twice}; names must be "
                             "unique (as text).")
        frame = pd.DataFrame({str(k): np.asarray(to_pandas(v)) for k, v in sf.items()})
    else:
        arr = np.asarray(sf)
        if arr.ndim == 0:
            raise ValueError(
                f"{name} must be 1-D or 2-D array-like, got a scalar {_param_repr(sf)}."
            )
        if arr.ndim > 2:
            raise ValueError(f"{name} must be 1-D or 2-D, got an array of shape {arr.shape}.")
        if arr.ndim == 1:
            # copy=False: the frame is only read, and copying 1e7 values is not free
            frame = pd.DataFrame({"sensitive_feature": arr}, copy=False)
        else:
            frame = pd.DataFrame(
                {f"sensitive_feature_{j}": arr[:, j] for j in range(arr.shape[1])}, copy=False
            )
    duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if duplicated:
        raise ValueError(f"{name} has several columns named {duplicated}; names must be "
                         "unique (as text).")
    if frame.shape[1] == 0:
        raise ValueError(f"{name} has no columns.")
    if n_samples is not None and len(frame) != n_samples:
        raise ValueError(
            f"{name} has {len(frame)} rows but the data has {n_samples} samples; "
            "they must have the same length."
        )
    missing = frame.isna().any()
    if missing.any():
        bad = [c for c in frame.columns if missing[c]]
        raise ValueError(
            f"{name} contains missing values (NaN/None) in {bad}; protected attributes "
            "must be complete. Drop or impute those rows, or give missing values a group "
            "of their own (e.g. fillna('unknown'))."
        )
    _check_finite(frame, name)
    return frame


def _check_finite(frame, name):
    # inf would become a group of its own (or a distance of inf to every other value)
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_float_dtype(series.dtype):  # numpy and pandas' Float64
            infinite = np.isinf(series.to_numpy(dtype=float))
        elif series.dtype == object:
            infinite = series.isin([np.inf, -np.inf]).to_numpy()
        else:
            continue
        if infinite.any():
            value = series.to_numpy()[np.flatnonzero(infinite)[0]]
            raise ValueError(
                f"{name} column {col!r} contains {int(infinite.sum())} infinite value(s) "
                f"({value}); protected attributes must be finite. Fix or drop those rows."
            )


def is_continuous_attribute(col, n_unique=None) -> bool:
    """The one rule for "continuous": numeric (not bool) with more than
    :data:`MAX_GROUP_LEVELS` distinct values.

    Group methods refuse such a column; dependence measures treat it as a number. Every
    other column (strings, categories, bools, numeric codes with few levels, such as an
    integer-coded race with 5 levels) is a set of groups for both.
    """
    col = to_pandas(col)
    col = pd.Series(col) if not isinstance(col, pd.Series) else col
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return False
    if n_unique is None:
        n_unique = col.nunique()
    return n_unique > MAX_GROUP_LEVELS


_is_continuous = is_continuous_attribute


def encode_groups(
    sensitive_features,
    *,
    n_samples=None,
    name="sensitive_features",
    min_groups=1,
) -> GroupEncoding:
    """Encode one or several protected attributes as integer group codes.

    Several attributes give intersectional groups (one group per observed combination),
    labelled by tuples. Groups are ordered by sorted label where labels sort, otherwise by
    first appearance.

    Parameters
    ----------
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        1-D array, list, Series, 2-D array, dict of arrays or DataFrame.
    n_samples : int, optional
        Expected length; a mismatch raises ``ValueError``.
    name : str
        Parameter name used in error messages.
    min_groups : int
        Raise ``ValueError`` if fewer groups are present (2 where a comparison needs two).

    Returns
    -------
    GroupEncoding
    """
    frame = as_frame(sensitive_features, name=name, n_samples=n_samples)
    return _encode_frame(frame, name=name, min_groups=min_groups)


# the grouping itself lives in fairkit._groups (shared with GroupMetricFrame); the old
# private names stay importable
_check_discrete = check_discrete
_user_stacklevel = user_stacklevel
_scalar = scalar


def _encode_frame(frame: pd.DataFrame, *, name: str, min_groups: int) -> GroupEncoding:
    columns = list(frame.columns)

    def check(j, n_levels):
        check_discrete(name, columns[j], frame.iloc[:, j], n_levels)

    codes, cells, levels = encode_observed([frame.iloc[:, j] for j in range(len(columns))],
                                           check)
    labels = cell_labels(cells, levels)
    codes = np.asarray(codes, dtype=np.intp).ravel()
    if len(columns) == 1 and isinstance(frame.dtypes.iloc[0], np.dtype) \
            and np.may_share_memory(codes, frame.iloc[:, 0].to_numpy()):
        codes = codes.copy()  # the codes of an integer column may be its own values
    if len(labels) < min_groups:
        raise ValueError(
            f"{name} has only {len(labels)} group(s) ({labels}); at least {min_groups} "
            "are needed to compare groups."
        )
    return GroupEncoding(codes=codes, labels=labels, names=[str(c) for c in columns])


@dataclass(frozen=True)
class Binned:
    """Groups from a numeric column cut at fixed edges, usable wherever ``prot_attr`` is.

    ``Binned("age", [25, 45])`` makes three groups of the column ``age``: ``"<25"``,
    ``"[25, 45)"`` and ``">=45"`` (with ``right=True`` the intervals are closed on the right:
    ``"<=25"``, ``"(25, 45]"``, ``">45"``). The edges are fixed numbers, so ``fit`` and
    ``predict`` cut the same way; :meth:`quantiles` computes edges from data once (e.g. on
    the training set) and returns a spec with those edges. The spec is a plain, frozen,
    picklable value: it clones, pickles and sits in a ``GridSearchCV`` grid.

    Parameters
    ----------
    column : str or int
        Column name of a DataFrame ``X``, or integer index of an array.
    edges : sequence of float
        Strictly increasing, finite cut points (at least one).
    labels : sequence of str, optional
        One label per interval (``len(edges) + 1``); default as above.
    right : bool, default=False
        Intervals closed on the right instead of the left.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairkit._protected import Binned, resolve_protected
    >>> X = pd.DataFrame({"age": [19, 30, 44, 45, 70], "x": range(5)})
    >>> resolve_protected(X, prot_attr=Binned("age", [25, 45])).groups.labels
    ['<25', '[25, 45)', '>=45']
    """

    column: object
    edges: tuple
    labels: tuple | None = None
    right: bool = False

    def __post_init__(self):
        if isinstance(self.column, (list, tuple, np.ndarray, Binned)) or self.column is None:
            raise ValueError(
                f"Binned column must be one column name or index, got {self.column!r}."
            )
        try:
            edges = tuple(float(e) for e in np.atleast_1d(np.asarray(self.edges, dtype=float)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Binned edges must be numbers, got {self.edges!r}.") from exc
        if len(edges) == 0 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise ValueError(
                f"Binned edges must be finite and strictly increasing (at least one), got "
                f"{self.edges!r}."
            )
        object.__setattr__(self, "edges", edges)
        if self.labels is not None:
            labels = tuple(str(v) for v in self.labels)
            if len(labels) != len(edges) + 1 or len(set(labels)) != len(labels):
                raise ValueError(
                    f"Binned labels must be {len(edges) + 1} distinct names (one per interval "
                    f"of edges {list(edges)}), got {list(self.labels)!r}."
                )
            object.__setattr__(self, "labels", labels)

    @classmethod
    def quantiles(cls, column, values, q, **kwargs):
        """A spec whose edges are the ``q``-quantiles of ``values`` (an int: equal-count bins)."""
        qs = np.linspace(0, 1, int(q) + 1)[1:-1] if np.ndim(q) == 0 else np.asarray(q)
        edges = np.unique(np.quantile(np.asarray(values, dtype=float), qs))
        return cls(column, tuple(edges), **kwargs)

    def with_column(self, column) -> Binned:
        """The same spec on another column (e.g. a name resolved to its index)."""
        return replace(self, column=column)

    def interval_labels(self) -> list[str]:
        if self.labels is not None:
            return list(self.labels)
        e = [f"{v:g}" for v in self.edges]
        lo, hi = ("<=", ">") if self.right else ("<", ">=")
        inner = [
            (f"({a}, {b}]" if self.right else f"[{a}, {b})")
            for a, b in zip(e[:-1], e[1:], strict=False)
        ]
        return [f"{lo}{e[0]}", *inner, f"{hi}{e[-1]}"]

    def cut(self, values, *, name="prot_attr") -> pd.Categorical:
        """The group of each value, as an ordered categorical of interval labels."""
        series = pd.Series(values)
        if series.dtype == object:
            # an object array of numbers (e.g. a mixed-type X) is still a numeric column
            converted = pd.to_numeric(series, errors="coerce")
            if converted.notna().sum() == series.notna().sum():
                series = converted
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise ValueError(
                f"{name}: Binned({self.column!r}, ...) needs a numeric column; column "
                f"{self.column!r} has dtype {series.dtype}."
            )
        arr = series.to_numpy(dtype=float)
        if not np.isfinite(arr[~np.isnan(arr)]).all():
            raise ValueError(f"{name}: column {self.column!r} contains inf; cannot bin it.")
        side = "left" if self.right else "right"
        codes = np.searchsorted(np.asarray(self.edges), arr, side=side)
        codes = np.where(np.isnan(arr), -1, codes)
        return pd.Categorical.from_codes(codes, categories=self.interval_labels(), ordered=True)


def check_prot_attr(prot_attr) -> list:
    """``prot_attr`` as a list of column names, integer indices and :class:`Binned` specs.

    The one rule for every estimator: a name (str), an index (int), a :class:`Binned`, or a
    non-empty list / tuple / array of those. Anything else raises ``ValueError`` naming it.
    """
    if isinstance(prot_attr, (list, tuple, np.ndarray, pd.Index)):
        items = list(np.asarray(prot_attr, dtype=object).ravel()) if isinstance(
            prot_attr, (np.ndarray, pd.Index)) else list(prot_attr)
    else:
        items = [prot_attr]
    if len(items) == 0:
        raise ValueError("prot_attr is empty; give at least one column name or index.")
    out = []
    for item in items:
        if isinstance(item, np.generic):
            item = item.item()
        if isinstance(item, bool) or not isinstance(item, (str, Integral, Binned)):
            raise ValueError(
                f"prot_attr={_param_repr(prot_attr)} is not valid: each entry must be a column "
                f"name (str), a column index (int) or a Binned spec; got {item!r} "
                f"({type(item).__name__})."
            )
        out.append(item)
    return out


def _check_prot_columns(X, prot_attr):
    """Return the list of protected column identifiers, checking they exist in ``X``.

    :class:`Binned` entries are returned with their column resolved.
    """
    items = check_prot_attr(prot_attr)
    cols = [it.column if isinstance(it, Binned) else it for it in items]
    resolved = _resolve_columns(X, cols, prot_attr)
    return [
        it.with_column(c) if isinstance(it, Binned) else c
        for it, c in zip(items, resolved, strict=True)
    ]


def _resolve_columns(X, cols, prot_attr):
    if isinstance(X, pd.DataFrame):
        missing = [c for c in cols if c not in X.columns]
        if missing:
            # Integer positions are accepted for DataFrames whose columns are not integers.
            if all(isinstance(c, Integral) and not isinstance(c, bool) for c in cols) and not any(
                isinstance(c, Integral) for c in X.columns
            ):
                bad = [c for c in cols if not -X.shape[1] <= c < X.shape[1]]
                if bad:
                    raise ValueError(
                        f"prot_attr index {bad} is out of range for X with {X.shape[1]} columns."
                    )
                return [X.columns[c] for c in cols]
            raise ValueError(
                f"prot_attr column(s) {missing} not found in X; available columns: "
                f"{_param_repr(list(X.columns), 200)}."
            )
        return cols
    n_features = np.shape(X)[1] if np.ndim(X) == 2 else None
    for c in cols:
        if not isinstance(c, Integral) or isinstance(c, bool):
            raise ValueError(
                f"prot_attr={_param_repr(prot_attr)} names a column, but X is not a DataFrame; "
                "pass X as a pandas DataFrame or give integer column indices."
            )
        if n_features is not None and not -n_features <= c < n_features:
            raise ValueError(
                f"prot_attr index {c} is out of range for X with {n_features} columns."
            )
    return [int(c) % n_features if n_features else int(c) for c in cols]


def source_columns(cols) -> list:
    """The columns of ``X`` behind resolved ``prot_attr`` entries (Binned -> its column)."""
    return [c.column if isinstance(c, Binned) else c for c in cols]


def _take_columns(X, cols) -> pd.DataFrame:
    data = {}
    for c in cols:
        src = c.column if isinstance(c, Binned) else c
        if isinstance(X, pd.DataFrame):
            values = X[src].reset_index(drop=True)
            key = str(src)
        elif hasattr(X, "toarray"):  # scipy sparse, any format (dia/coo cannot be sliced)
            values = np.asarray(X.tocsc()[:, [src]].toarray()).ravel()
            key = f"x{src}"
        else:
            values = np.asarray(X)[:, src]
            key = f"x{src}"
        data[key] = c.cut(values) if isinstance(c, Binned) else values
    if isinstance(X, pd.DataFrame) and not any(isinstance(c, Binned) for c in cols):
        return X.loc[:, cols].reset_index(drop=True)
    return pd.DataFrame(data)


def _drop_columns(X, cols):
    cols = source_columns(cols)
    if isinstance(X, pd.DataFrame):
        return X.drop(columns=cols)
    if hasattr(X, "tocsc"):
        keep = [j for j in range(X.shape[1]) if j not in set(cols)]
        return X.tocsc()[:, keep]
    return np.delete(np.asarray(X), cols, axis=1)


def resolve_protected(
    X=None,
    *,
    prot_attr=None,
    sensitive_features=None,
    drop=False,
    require_groups=True,
    min_groups=1,
    n_samples=None,
) -> ProtectedData:
    """Resolve the protected attributes of ``X`` under fairkit's contract.

    Exactly one source is normally given: ``prot_attr`` (column names of a DataFrame ``X``
    or integer indices of an array) or ``sensitive_features`` (array, Series, 2-D array or
    DataFrame routed to ``fit`` / ``predict``). If both are given they must agree. A polars
    or pyarrow ``X`` is read as the equivalent pandas DataFrame (columns by name), and
    ``ProtectedData.X`` is then that DataFrame.

    Parameters
    ----------
    X : array-like, DataFrame or None
        The input data. May be None when only ``sensitive_features`` is used.
    prot_attr : str, int or list, optional
        Protected column(s) of ``X``.
    sensitive_features : array-like, optional
        Protected attribute values given separately from ``X``.
    drop : bool
        Remove the ``prot_attr`` columns from the returned model matrix.
    require_groups : bool
        Encode the attributes as discrete groups (and refuse continuous ones). When false,
        continuous attributes are allowed and ``groups`` is None if they are continuous.
    min_groups : int
        Minimum number of distinct groups required (2 where a comparison needs two).
    n_samples : int, optional
        Expected length when ``X`` is None.

    Returns
    -------
    ProtectedData
    """
    X = to_pandas(X)
    if X is not None:
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
    if prot_attr is None and sensitive_features is None:
        raise ValueError(
            "No protected attribute given: set prot_attr (column name(s) or index(es) of X) "
            "or pass sensitive_features."
        )
    cols = []
    values = None
    if prot_attr is not None:
        if X is None:
            raise ValueError("prot_attr needs X to read the protected column(s) from.")
        cols = _check_prot_columns(X, prot_attr)
        values = as_frame(_take_columns(X, cols), name=f"prot_attr={_param_repr(prot_attr)}")
    if sensitive_features is not None:
        sf_frame = as_frame(sensitive_features, name="sensitive_features", n_samples=n_samples)
        if values is not None:
            if not _frames_agree(values, sf_frame):
                raise ValueError(
                    f"prot_attr={_param_repr(prot_attr)} and sensitive_features were both "
                    "given and disagree; give only one of them."
                )
        else:
            values = sf_frame
    groups = None
    if require_groups:
        name = "sensitive_features" if prot_attr is None else f"prot_attr={_param_repr(prot_attr)}"
        groups = _encode_frame(values, name=name, min_groups=min_groups)
    elif not any(_is_continuous(values[c]) for c in values.columns):
        groups = _encode_frame(values, name="sensitive_features", min_groups=min_groups)
    X_out = _drop_columns(X, cols) if (drop and cols) else X
    return ProtectedData(X=X_out, values=values, groups=groups, columns=source_columns(cols))


def _frames_agree(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if a.shape != b.shape:
        return False
    for j in range(a.shape[1]):
        x, y = a.iloc[:, j].to_numpy(), b.iloc[:, j].to_numpy()
        try:
            if not np.array_equal(x.astype(object), y.astype(object)):
                return False
        except (TypeError, ValueError):
            return False
    return True


def privileged_mask(groups: GroupEncoding, priv_group) -> np.ndarray:
    """Boolean mask over groups (in code order) marking the privileged ones.

    ``priv_group`` is a group label (a value for one attribute, a tuple of values for
    several) or a list of such labels; for intersectional groups a single value may also
    be given as a tuple with ``None`` wildcards, e.g. ``("Male", None)`` for all men.

    Raises
    ------
    ValueError
        If no group matches ``priv_group``, or if every group does (nothing to compare).
    """
    wanted = priv_group if isinstance(priv_group, list) else [priv_group]
    mask = np.zeros(groups.n_groups, dtype=bool)
    for w in wanted:
        for g, lab in enumerate(groups.labels):
            mask[g] |= _label_matches(lab, w)
    if not mask.any():
        raise ValueError(
            f"priv_group={_param_repr(priv_group)} does not occur in the protected attribute; "
            f"present groups: {_param_repr(groups.labels, 200)}."
        )
    if mask.all():
        raise ValueError(
            f"priv_group={_param_repr(priv_group)} covers every group present "
            f"({_param_repr(groups.labels, 200)}); there is no unprivileged group to compare."
        )
    return mask


def _label_matches(label, wanted) -> bool:
    if isinstance(label, tuple):
        if not isinstance(wanted, tuple) or len(wanted) != len(label):
            return False
        return all(w is None or _eq(lv, w) for lv, w in zip(label, wanted, strict=True))
    if isinstance(wanted, tuple) and len(wanted) == 1:
        wanted = wanted[0]
    return _eq(label, wanted)


def _eq(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def check_pos_label(y, pos_label, *, name="y_true"):
    """Check that ``pos_label`` occurs among the values of ``y`` (or that ``y`` is empty)."""
    values = pd.unique(np.asarray(to_pandas(y)).ravel())
    if len(values) and not any(_eq(v, pos_label) for v in values):
        raise ValueError(
            f"pos_label={_param_repr(pos_label)} is not among the values of {name} "
            f"({_param_repr(sorted(values.tolist(), key=str), 120)})."
        )
    return pos_label
