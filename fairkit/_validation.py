"""One validator for every fairkit estimator: ``X``, ``y``, weights and the protected
attribute, checked together.

:func:`validate_fair_data` is fairkit's counterpart of scikit-learn's ``validate_data``: it
checks the input of ``fit`` / ``predict`` / ``transform`` once, resolves the protected
attribute through :mod:`fairkit._protected`, records (``reset=True``) or checks
(``reset=False``) the fitted layout, and returns everything a method needs in one
:class:`FairData`. No estimator checks ``X`` on its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral, Number

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    _num_samples,
    check_array,
    column_or_1d,
)

from ._groups import SMALL_INT_RANGE, column_values, factorize, scalar
from ._protected import (
    WARN_GROUP_LEVELS,
    GroupEncoding,
    ProtectedData,
    _eq,
    _param_repr,
    resolve_protected,
)
from .utils._dataframe import to_pandas

__all__ = ["FairData", "validate_fair_data", "check_binary_target", "check_priv_group",
           "map_to_fitted_groups",
           "near_constant", "same_label", "check_weights_nonnegative", "random_sample"]


@dataclass
class FairData:
    """What :func:`validate_fair_data` returns.

    Attributes
    ----------
    X : ndarray, sparse matrix or DataFrame
        The model matrix: protected columns removed when ``drop`` was true; a float array
        when ``features="numeric"``; otherwise ``X`` as given (DataFrames untouched).
    y : ndarray or None
        The target; for ``target="binary"`` the 0/1 target (1 = the favourable label).
    groups : GroupEncoding or None
        Group codes; at predict time (``reset=False``) the codes are those learned in
        ``fit``, so ``groups.codes`` indexes arrays of per-group parameters directly.
    protected : ProtectedData or None
        The raw protected attributes (continuous ones included) and their columns.
    sample_weight : ndarray or None
    feature_idx, prot_idx : list of int
        Positions in the original ``X`` of the model columns and of the protected columns.
    input : ndarray, sparse matrix or DataFrame
        ``X`` as read, all columns: a polars / pyarrow table as the pandas DataFrame it
        was converted to (see :func:`validate_fair_data`), an array as checked. Code
        that needs the caller's columns after validation (to put protected columns back,
        to resample rows) reads this rather than its own ``X``.
    """

    X: object
    y: object = None
    groups: GroupEncoding | None = None
    protected: ProtectedData | None = None
    sample_weight: np.ndarray | None = None
    feature_idx: list | None = None
    prot_idx: list | None = None
    input: object = None

    @property
    def codes(self):
        return None if self.groups is None else self.groups.codes


#: ``a == b`` for labels of any type (never raises): the contract's own comparison.
same_label = _eq

#: A spread at most this fraction of a variable's magnitude counts as none.
CONSTANT_RTOL = 1e-9


def near_constant(values, rtol=CONSTANT_RTOL) -> bool:
    """Whether every column of ``values`` is constant up to round-off.

    The one rule for "constant" (a model shrunk to a constant still returns values that
    differ by ~1e-17): the range of each column is at most ``rtol`` times
    ``max(1, max |value|)``. Used by the dependence measures (ratios of such noise are
    arbitrary numbers) and by :func:`fairkit.base.warn_if_constant`.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return True
    scale = np.maximum(1.0, np.abs(values).max(axis=0))
    return bool(np.all(np.ptp(values, axis=0) <= rtol * scale))


def _key(label):
    # 1 and 1.0 and np.int64(1) are the same group; strings stay strings.
    if isinstance(label, tuple):
        return tuple(_key(v) for v in label)
    if isinstance(label, (bool, np.bool_)):
        return int(label)
    if isinstance(label, (int, float, np.number)):
        return float(label)
    return label


def map_to_fitted_groups(groups: GroupEncoding, fitted_labels, *, where="predict") -> np.ndarray:
    """Map group codes seen now onto the codes learned in ``fit``.

    Returns an array of fit-time codes, one per sample. A group that did not occur during
    ``fit`` raises ``ValueError`` naming the group, since no rule was learned for it.
    """
    index = {_key(lab): i for i, lab in enumerate(fitted_labels)}
    lookup = np.empty(groups.n_groups, dtype=np.intp)
    for code, lab in enumerate(groups.labels):
        k = _key(lab)
        if k not in index:
            raise ValueError(
                f"Group {lab!r} of the protected attribute was not seen during fit "
                f"(fitted groups: {list(fitted_labels)!r}); cannot {where} for it."
            )
        lookup[code] = index[k]
    return lookup[groups.codes]


def check_weights_nonnegative(est, sample_weight, *, positive_sum=False):
    """Refuse negative sample weights (a group's weighted rate is meaningless with them)
    and, with ``positive_sum``, weights that sum to 0; None passes."""
    if sample_weight is None:
        return
    w = np.asarray(sample_weight, dtype=np.float64)
    need = "non-negative with a positive sum" if positive_sum else "non-negative"
    if (w < 0).any():
        raise ValueError(f"{type(est).__name__}: sample_weight must be {need}; got a weight "
                         f"of {float(w[w < 0][0])!r}.")
    if positive_sum and not w.sum() > 0:
        raise ValueError(f"{type(est).__name__}: sample_weight must be {need}; its sum is "
                         f"{float(w.sum())!r}.")


def held_out_splits(est, cv, cells, X):
    """The (train, test) splits of ``cv`` in which every row is held out exactly once.

    ``cv`` is what :func:`sklearn.model_selection.check_cv` takes; an int gives
    ``StratifiedKFold`` on ``cells`` (e.g. label x group codes), so every fold holds every
    cell. Splits that leave a row out of every test fold, or put it in two, raise a
    ``ValueError`` naming ``cv``: out-of-fold outputs must cover each row once.
    """
    from sklearn.model_selection import check_cv

    splits = list(check_cv(cv, cells, classifier=True).split(X, cells))
    held_out = np.zeros(len(cells), dtype=np.int64)
    for _, test in splits:
        held_out[test] += 1
    if not splits or (held_out != 1).any():
        raise ValueError(
            f"{type(est).__name__}: cv={cv!r} must put every row in exactly one held-out "
            f"fold; {int((held_out == 0).sum())} row(s) were never held out and "
            f"{int((held_out > 1).sum())} more than once."
        )
    return splits


def check_priv_group(est, purpose, *, alternative=None):
    """Refuse ``priv_group=None`` for a method that needs a privileged group.

    ``priv_group=None`` means one thing everywhere: no privileged group was given. A
    method that cannot work without one calls this before anything is fitted, so every
    such method asks for it in the same words. ``alternative`` names a parameter that may
    be given instead (e.g. ``"unpriv_group"``).
    """
    if getattr(est, "priv_group", None) is not None:
        return
    if alternative is not None and getattr(est, alternative, None) is not None:
        return
    also = f" (or {alternative}=<label(s) of the unprivileged group(s)>)" if alternative else ""
    got = "priv_group=None" + (f", {alternative}=None" if alternative else "")
    raise ValueError(
        f"{type(est).__name__} needs priv_group, {purpose}; got {got}. Pass "
        f"priv_group=<label of the privileged group>{also}, e.g. priv_group='Male' or "
        "priv_group=1."
    )


def check_binary_target(est, y, pos_label):
    """Check a binary classification target; return ``(classes, pos_label, y01)``.

    ``pos_label`` None means the greater of the two classes (``classes[1]``). A target with
    other than two classes, or a ``pos_label`` that is not one of them, raises naming it.
    """
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None."
        )
    y = np.asarray(to_pandas(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) != 2:
        kind = type_of_target(y)
        raise ValueError(
            f"Only binary classification is supported by {type(est).__name__}: y has "
            f"{len(classes)} class(es) {classes.tolist()[:10]} (type {kind!r})."
        )
    if pos_label is None:
        pos = classes[1]
    else:
        matches = [c for c in classes if same_label(c, pos_label)]
        if not matches:
            raise ValueError(
                f"pos_label={_param_repr(pos_label)} is not one of the classes of y "
                f"{classes.tolist()}."
            )
        pos = matches[0]
    return classes, pos, (y == pos).astype(np.int64)


def _check_rows(est, X, accept_sparse):
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {type(est).__name__}."
            )
        return X
    # lists, 1-D or 3-D input, sparse matrices, complex data: scikit-learn's own messages
    X = check_array(X, dtype=None, accept_sparse=accept_sparse, ensure_all_finite=False,
                    estimator=est, input_name="X")
    if isinstance(X, np.ndarray) and X.dtype == object:
        # values that are neither text nor numbers (dicts, lists) would otherwise fail deep
        # in pandas ("unhashable type") when the protected column is read
        for value in X.ravel():
            if not isinstance(value, (str, bytes, Number, np.generic)) and value is not None:
                raise TypeError(
                    f"X holds a value of type {type(value).__name__!r} ({_param_repr(value)}); "
                    "every argument must be a string or a number."
                )
    return X


def _numeric(est, X, *, ensure_all_finite, accept_sparse, names):
    """``X`` as float64, naming a non-numeric column instead of pandas' conversion error."""
    if isinstance(X, pd.DataFrame):
        dtypes = list(X.dtypes)  # one pass, not a Series per column
        for col, dtype in zip(X.columns, dtypes, strict=True):
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
                raise ValueError(
                    f"{type(est).__name__} needs numeric features, but column {col!r} of X "
                    f"has dtype {dtype}; encode it first (e.g. OneHotEncoder in a "
                    "ColumnTransformer) or pass it as the protected attribute."
                )
        if all(isinstance(d, np.dtype) and d.kind in "biuf" for d in dtypes):
            # plain numpy columns: the float matrix is what check_array would build from
            # the frame, read in one call (check_array then checks it as an array: same
            # messages, a fraction of the per-column pandas work)
            X = X.to_numpy(dtype=np.float64)
    elif isinstance(X, np.ndarray) and X.dtype.kind in "OUS":
        for j in range(X.shape[1]):
            try:
                np.asarray(X[:, j], dtype=np.float64)
            except (TypeError, ValueError):
                name = names[j] if names is not None else j
                raise ValueError(
                    f"{type(est).__name__} needs numeric features, but column {name!r} of X "
                    f"holds non-numeric values (e.g. {X[0, j]!r}); encode it first."
                ) from None
    return _checked_floats(est, X, ensure_all_finite=ensure_all_finite,
                           accept_sparse=accept_sparse)


def _checked_floats(est, X, *, ensure_all_finite, accept_sparse):
    """``check_array(X, dtype=float64, ...)`` as :func:`_numeric` calls it. A 2-D float64
    array whose sum is finite (so is every value) is returned as it is, which is what
    ``check_array`` returns for it; anything else (a frame, a non-finite value, an
    overflowing sum, ``ensure_all_finite`` other than True) goes through ``check_array``,
    with its messages."""
    if ensure_all_finite is True and type(X) is np.ndarray and X.dtype == np.float64 \
            and X.ndim == 2 and X.shape[0] >= 1:
        with np.errstate(over="ignore"):  # an overflowing sum: check_array decides
            total = X.sum()
        if np.isfinite(total):
            return X
    return check_array(X, dtype=np.float64, accept_sparse=accept_sparse,
                       ensure_all_finite=ensure_all_finite, estimator=est, input_name="X",
                       ensure_min_features=0)


def _numpy_numeric_frame(X) -> bool:
    """Whether every column of the DataFrame ``X`` is a numpy bool, integer or float."""
    return all(isinstance(d, np.dtype) and d.kind in "biuf" for d in X.dtypes.tolist())


def _set_feature_names(est, X):
    """``_check_feature_names(est, X, reset=True)``; a DataFrame whose column names are all
    exactly ``str`` (what scikit-learn keeps as names) is read without converting it."""
    if type(X) is pd.DataFrame and X.shape[1]:
        names = X.columns.tolist()
        if all(type(c) is str for c in names):
            est.feature_names_in_ = np.asarray(names, dtype=object)
            return
    _check_feature_names(est, X, reset=True)


def validate_fair_data(
    est,
    X,
    y=None,
    *,
    sensitive_features=None,
    sample_weight=None,
    reset,
    protected="groups",
    min_groups=1,
    drop=False,
    features="passthrough",
    accept_sparse=False,
    ensure_all_finite=True,
    target=None,
    pos_label=None,
    map_groups=True,
) -> FairData:
    """Validate ``X`` (and ``y``, ``sample_weight``, the protected attribute) for ``est``.

    Parameters
    ----------
    est : estimator
        Reads ``est.prot_attr`` (None when only ``sensitive_features`` is used). On
        ``reset=True`` sets ``n_features_in_``, ``feature_names_in_`` and, when groups are
        resolved, ``groups_`` and ``prot_attr_names_``; on ``reset=False`` checks them.
        With ``target="binary"`` and ``reset=True`` it also sets ``classes_`` and
        ``pos_label_``.
    X : array-like, sparse matrix or DataFrame
    y : array-like or None
    sensitive_features : array-like, optional
        Routed protected attribute(s), instead of ``prot_attr``.
    sample_weight : array-like, optional
        Checked against the number of rows; returned as float array.
    reset : bool
        True in ``fit``; False in ``predict`` / ``transform``.
    protected : {"groups", "values", "columns", "none"}, default="groups"
        What the method needs: discrete groups (continuous attributes refused), the raw
        values (continuous allowed, groups when discrete), only the columns (to drop them
        from the model matrix; nothing is required when no attribute is given), or nothing.
    min_groups : int, default=1
        Fewest groups accepted (2 for a method that compares groups in ``fit``).
    drop : bool, default=False
        Remove the protected columns of ``X`` from the model matrix.
    features : {"passthrough", "numeric"}, default="passthrough"
        ``"passthrough"`` for meta-estimators (the wrapped model encodes raw columns);
        ``"numeric"`` converts the model matrix to float64 and names any string column.
    accept_sparse : bool or str or list, default=False
    ensure_all_finite : bool or "allow-nan", default=True
        For ``features="numeric"``.
    target : {None, "binary", "classification", "continuous", "any"}, default=None
        How ``y`` is checked. ``"binary"`` returns the 0/1 target with 1 = ``pos_label``.
    pos_label : scalar, optional
        With ``target="binary"``: the favourable label (None: the greater class).
    map_groups : bool, default=True
        On ``reset=False``, map group codes onto the fitted ``groups_`` (an unseen group
        raises naming it).

    Returns
    -------
    FairData

    Notes
    -----
    Tables and columns of other libraries (polars, pyarrow, anything exporting the Arrow
    PyCapsule interface) are read as pandas first (:func:`fairkit.utils._dataframe.to_pandas`),
    for ``X``, ``y``, ``sensitive_features`` and ``sample_weight`` alike, so such input
    behaves exactly as the equivalent pandas input (``feature_names_in_``, ``prot_attr``
    by name, the model matrix handed to a wrapped model, the messages).
    """
    X, y, sensitive_features, sample_weight = (
        to_pandas(v) for v in (X, y, sensitive_features, sample_weight))
    X = _check_rows(est, X, accept_sparse)
    n_samples = X.shape[0]
    if y is not None and hasattr(y, "__len__") and not np.isscalar(y) and \
            _num_samples(y) != n_samples:
        raise ValueError(f"X has {n_samples} rows but y has {_num_samples(y)}.")
    if protected not in ("groups", "values", "columns", "none"):  # pragma: no cover
        raise ValueError(f"protected={protected!r}")
    if reset and min_groups >= 2 and n_samples < 2:
        raise ValueError(
            f"{type(est).__name__} compares groups and needs at least 2 samples; got "
            f"n_samples = {n_samples}."
        )
    # the target first: a one-class y is the error to report, before any group count
    y_out, y_classes = None, None
    if target is not None:
        y_out, y_classes = _check_target(est, y, target, pos_label)
    prot = None
    prot_attr = getattr(est, "prot_attr", None)
    if protected != "none" and not (
        protected == "columns" and prot_attr is None and sensitive_features is None
    ):
        if protected == "columns" and prot_attr is None:
            prot = None
        else:
            prot = None
            if sensitive_features is None and prot_attr is not None:
                prot = _one_column_protected(
                    X, prot_attr, drop,
                    min_groups=min_groups if protected in ("groups", "values") else 1)
            if prot is None:
                prot = resolve_protected(
                    X, prot_attr=prot_attr, sensitive_features=sensitive_features,
                    drop=drop, require_groups=(protected == "groups"),
                    min_groups=min_groups if protected in ("groups", "values") else 1,
                )
                _check_finite_attributes(prot)
    if reset:
        _set_feature_names(est, X)
    elif not _same_feature_names(est, X):
        _check_feature_names(est, X, reset=False)
    _check_n_features(est, X, reset=reset)

    n_cols = X.shape[1]
    prot_idx = []
    if prot is not None and prot.columns:
        if isinstance(X, pd.DataFrame):
            prot_idx = [X.columns.get_loc(c) for c in prot.columns]
        else:
            prot_idx = [int(c) % n_cols for c in prot.columns]
    dropped = set(prot_idx) if drop else set()
    feature_idx = [j for j in range(n_cols) if j not in dropped]

    if features == "numeric":
        if len(feature_idx) == 0:
            raise ValueError(
                f"{type(est).__name__} needs at least one feature besides the protected "
                f"column(s) {prot.columns if prot is not None else []}; X has {n_cols} "
                "feature(s)."
            )
        names = getattr(est, "feature_names_in_", None)
        # error messages name a column as the user knows it: its name, or its index in X
        names = [names[j] for j in feature_idx] if names is not None else list(feature_idx)
        if dropped and isinstance(X, pd.DataFrame) and _numpy_numeric_frame(X):
            # every column a numpy number: the float matrix of the whole frame less the
            # protected columns is what the frame without them converts to (no frame of
            # the kept columns is built)
            X_model = _checked_floats(est, X.to_numpy(dtype=np.float64)[:, feature_idx],
                                      ensure_all_finite=ensure_all_finite,
                                      accept_sparse=accept_sparse)
        else:
            X_model = _numeric(est, prot.X if prot is not None else X,
                               ensure_all_finite=ensure_all_finite,
                               accept_sparse=accept_sparse, names=names)
    else:
        X_model = prot.X if prot is not None else X

    if reset and y_classes is not None:
        est.classes_, est.pos_label_ = y_classes
    groups = prot.groups if prot is not None else None
    if reset and prot is not None:
        # names of continuous attributes too (dependence penalties take them as numbers);
        # groups_ only when the attributes are discrete, never left over from a former fit
        est.prot_attr_names_ = [str(c) for c in prot.values.columns]
        if groups is None:
            est.__dict__.pop("groups_", None)
    if groups is not None:
        if reset:
            est.groups_ = list(groups.labels)
        elif map_groups and hasattr(est, "groups_"):
            fitted = list(est.groups_)
            if not _same_groups(groups.labels, fitted):
                groups = GroupEncoding(codes=map_to_fitted_groups(groups, fitted),
                                       labels=fitted, names=groups.names)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
    return FairData(X=X_model, y=y_out, groups=groups, protected=prot,
                    sample_weight=sample_weight, feature_idx=feature_idx, prot_idx=prot_idx,
                    input=X)


_LABELS = {}


def _labels_of(index):
    """``index.tolist()``, kept for the last few (small) indexes seen: a pandas ``Index``
    cannot be changed, so the same object always gives the same list (an Arrow-backed
    index converts its labels on every ``tolist``). The cache holds the index itself, so
    its ``id`` cannot be reused while the entry exists. The list must not be modified."""
    hit = _LABELS.get(id(index))
    if hit is not None and hit[0] is index:
        return hit[1]
    labels = index.tolist()
    if len(labels) <= 1000:
        if len(_LABELS) >= 64:
            _LABELS.clear()
        _LABELS[id(index)] = (index, labels)
    return labels


def _same_groups(labels, fitted) -> bool:
    """Whether ``labels`` are the fitted groups in their order, value and kind: the codes
    are then the fitted codes (what :func:`map_to_fitted_groups` would return)."""
    return len(labels) == len(fitted) and all(
        type(a) is type(b) and type(a) in (str, int, float, bool) and a == b
        for a, b in zip(labels, fitted, strict=True))


def _same_feature_names(est, X) -> bool:
    """Whether ``X`` is a DataFrame whose column names are exactly the (string) names seen
    in ``fit``, or an array when no names were seen: the cases in which
    :func:`_check_feature_names` neither warns nor raises, so ``predict`` need not call it
    (it converts and type-checks every name on each call)."""
    fitted = getattr(est, "feature_names_in_", None)
    if type(X) is np.ndarray:  # no names now; nothing to say unless names were fitted
        return fitted is None
    if fitted is None or not isinstance(X, pd.DataFrame) or X.shape[1] != len(fitted):
        return False
    names = _labels_of(X.columns)
    # scikit-learn takes names only when every one is exactly a str (np.str_ is not)
    return all(type(c) is str for c in names) and names == list(fitted)


def _factorize_column(values):
    """:func:`fairkit._groups.factorize` of one column (``column_values`` of a Series),
    with two shortcuts that give the same codes and levels without hashing: a categorical
    without missing values (its own codes, the categories that occur in category order)
    and a float64 array of whole numbers of small range (counted as integers). Anything
    else (and a signed zero, whose sign pandas keeps in the level) goes to ``factorize``."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes)
        n_cats = len(dtype.categories)
        if len(codes) and n_cats and codes.min() >= 0:
            if n_cats <= 8:  # a few comparisons are cheaper than a bincount of small ints
                lo, hi = int(codes.min()), int(codes.max())
                present = [k for k in range(lo, hi + 1)
                           if k == lo or k == hi or (codes == k).any()]
            else:
                present = np.flatnonzero(np.bincount(codes, minlength=n_cats)).tolist()
            # the levels as factorize gives them: the categories as Python objects
            categories = _labels_of(dtype.categories)
            uniques = [categories[k] for k in present]
            if len(present) == n_cats:
                return codes.astype(np.intp), uniques
            lookup = np.full(n_cats, -1, dtype=np.intp)
            lookup[present] = np.arange(len(present))
            return lookup[codes], uniques
    elif isinstance(values, np.ndarray) and dtype == np.float64 and values.ndim == 1 \
            and len(values):
        lo, hi = values.min(), values.max()  # NaN in either when any value is NaN
        if np.isfinite(lo) and np.isfinite(hi) and hi - lo < SMALL_INT_RANGE \
                and -(2.0**52) < lo and hi < 2.0**52:
            ints = values.astype(np.int64)
            if lo > 0 or hi < 0:
                signed_zero = False
            elif lo == 0:  # no negative value: a sign bit is a -0.0
                signed_zero = np.signbit(values).any()
            else:
                signed_zero = ((values == 0) & np.signbit(values)).any()
            if not signed_zero and np.array_equal(ints, values):
                codes, uniques = factorize(ints)
                return codes, uniques.astype(np.float64)
    return factorize(values)


def _one_column_protected(X, prot_attr, drop, *, min_groups=1):
    """``resolve_protected`` for the common case, or None to take the general path.

    One protected column, named (DataFrame) or an integer index (array), read directly
    instead of through a one-column frame; the result equals ``resolve_protected``'s with
    ``require_groups`` true or false (the attribute is discrete here) and the given
    ``min_groups``. Whenever the general path could warn or raise -- a missing or infinite
    value, more than ``WARN_GROUP_LEVELS`` numeric values, fewer than ``min_groups``
    groups, labels that do not sort, a column that is not found -- None is returned, so
    the general path reports it in its own words.
    """
    col = prot_attr.item() if isinstance(prot_attr, np.generic) else prot_attr
    if isinstance(col, bool) or not isinstance(col, (str, Integral)):
        return None  # lists, Binned specs, bad values: the general path
    if isinstance(X, pd.DataFrame):
        if not X.columns.is_unique or col not in X.columns:
            return None  # duplicated names, positions, missing columns
        position = X.columns.get_loc(col)
        if not isinstance(position, Integral):  # a MultiIndex level: the general path
            return None
        name, source, frame = str(col), col, True
        column = _column_array(X, position)
    elif isinstance(X, np.ndarray) and X.ndim == 2 and isinstance(col, Integral):
        n_features = X.shape[1]
        if not -n_features <= col < n_features:
            return None
        source = int(col) % n_features
        name, frame = f"x{source}", False
        column = X[:, source]
        if X.dtype.kind in "biuf":
            values = lambda: pd.DataFrame({name: column})  # noqa: E731  (when first read)
        else:
            # what ``X[:, [col]]`` read as an attribute frame is: pandas infers the type
            # of an object column, as on the general path, and that is what is grouped
            values = pd.DataFrame({name: column})
            column = column_values(values[name])
    else:
        return None
    if isinstance(column.dtype, np.dtype):  # what the pandas test says of a numpy dtype
        numeric = column.dtype.kind in "iufc"
    elif isinstance(column.dtype, pd.CategoricalDtype):  # never numeric to pandas
        numeric = False
    else:
        numeric = pd.api.types.is_numeric_dtype(column.dtype) and \
            not pd.api.types.is_bool_dtype(column.dtype)
    # the grouping rules of every other path (fairkit._groups): sorted levels, a
    # categorical in category order, small integers by counting
    codes, uniques = _factorize_column(column)
    if len(uniques) < max(min_groups, 1) or (numeric and len(uniques) > WARN_GROUP_LEVELS):
        return None  # too few groups; or the general path warns (or refuses a continuous one)
    if (codes < 0).any():
        return None  # missing values
    labels = [scalar(u) for u in uniques]
    for lab in labels:
        if isinstance(lab, (float, np.floating)) and not np.isfinite(lab):
            return None
    if isinstance(column, np.ndarray) and np.may_share_memory(codes, column):
        codes = codes.copy()  # the codes of an integer column may be its own values
    if frame:
        # what ``X.loc[:, [col]]`` read as an attribute frame is (built when first read:
        # predict needs only the codes)
        values = lambda: _attribute_frame(column, name)  # noqa: E731
        # ``X.drop(columns=[col])`` by position (same frame, without the label lookup),
        # built when first read (a numeric method reads the float matrix instead)
        X_out = (lambda: X.iloc[:, np.delete(np.arange(X.shape[1]), position)]) \
            if drop else X
    else:
        X_out = np.delete(X, [source], axis=1) if drop else X
    groups = GroupEncoding(codes=np.asarray(codes, dtype=np.intp), labels=labels,
                           names=[name])
    return _LazyProtectedData(X=X_out, values=values, groups=groups, columns=[source])


@lru_cache(maxsize=64)
def _name_index(name):
    return pd.Index([name])


def _attribute_frame(column, name):
    """A frame column's values (numpy or pandas array) as the one-column attribute frame
    ``X.loc[:, [col]].reset_index(drop=True)`` with its label as text: a copy of the
    values, a fresh ``RangeIndex``, the label an index of the type pandas gives ``[name]``
    (built once per name; each frame gets its own copy)."""
    columns = _name_index(name).copy()
    if isinstance(column, np.ndarray):
        return pd.DataFrame(column[:, None], columns=columns, copy=True)
    return pd.DataFrame({name: column}, columns=columns, copy=True)


def _column_array(X, position):
    """``column_values(X.iloc[:, position])``: the values of one column of a DataFrame
    (a numpy array for a numpy dtype, else pandas' array), read from the frame's blocks
    without building the Series (whose label lookup and construction are most of the
    cost of reading one column at predict time). Read-only use."""
    try:
        return X._mgr.iget_values(position)
    except Exception:  # pragma: no cover - another pandas layout: the public route
        return column_values(X.iloc[:, position])


class _LazyProtectedData(ProtectedData):
    """:class:`ProtectedData` whose ``X`` and ``values`` may be given as functions that
    build them, called when the attribute is first read (an array, a sparse matrix or a
    DataFrame is never a function)."""

    def __init__(self, X, values, groups, columns):
        self._X, self._values = X, values
        self.groups, self.columns = groups, columns

    @property
    def X(self):
        if callable(self._X):
            self._X = self._X()
        return self._X

    @X.setter
    def X(self, value):
        self._X = value

    @property
    def values(self):
        if callable(self._values):
            self._values = self._values()
        return self._values

    @values.setter
    def values(self, frame):
        self._values = frame


def _check_finite_attributes(prot):
    for col in prot.values.columns:
        v = prot.values[col]
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v) and \
                not np.isfinite(v.to_numpy(float)).all():
            raise ValueError(
                f"The protected attribute {col!r} contains inf; protected values must be finite."
            )


def _check_target(est, y, target, pos_label):
    """The checked target and, for a binary one, ``(classes, pos_label)``."""
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None."
        )
    if target == "binary":
        classes, pos, y01 = check_binary_target(est, y, pos_label)
        return y01, (classes, pos)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if target == "classification":
        check_classification_targets(y)
    elif target == "continuous":
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
    return y, None


_draws = threading.local()


def random_sample(random_state, n):
    """``check_random_state(random_state).random_sample(n)``: the same ``n`` draws.

    For an integer seed the draws come from one ``RandomState`` per thread reseeded in
    place (legacy seeding, as ``RandomState(seed)`` does), which skips the construction of
    a new bit generator on every call (a fixed ~0.1 ms, what a randomised post-processor's
    ``predict`` spends beyond its rule on a few thousand rows). A ``RandomState`` (whose
    draws advance) and None go through ``check_random_state``.
    """
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        rng = getattr(_draws, "rng", None)
        if rng is None:
            rng = _draws.rng = np.random.RandomState()
        rng.seed(random_state)  # raises for a seed outside [0, 2**32) as RandomState does
        return rng.random_sample(n)
    return check_random_state(random_state).random_sample(n)
