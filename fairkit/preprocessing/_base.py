"""Shared input handling for the pre-processing transformers.

A fairkit transformer sees an ``X`` whose protected column(s) may be strings (``"Female"``)
while the other columns are numeric features. These helpers split ``X`` into the two parts
under the protected-attribute contract, validate the numeric part, and put the output back
together (protected columns passed through unchanged, or dropped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (
    _check_feature_names,
    _check_feature_names_in,
    _check_n_features,
    check_array,
)

__all__: list[str] = []


def split_features(est, X, sensitive_features=None, *, reset, require_groups=True,
                   min_groups=1, ensure_min_features=1):
    """Validate ``X`` and split it into protected and feature columns.

    Returns ``(Xf, prot, feature_idx, prot_idx)``: ``Xf`` the float array of the
    non-protected columns (all columns when the attributes came through
    ``sensitive_features``), ``prot`` the :class:`~fairkit._protected.ProtectedData`,
    and the integer positions of the feature and protected columns in ``X``.

    ``n_features_in_`` / ``feature_names_in_`` describe the whole ``X`` (protected columns
    included), so that ``transform`` checks the same layout as ``fit``.
    """
    if not hasattr(X, "iloc"):
        # lists, 1-D or 3-D input, sparse matrices, complex data: sklearn's own messages
        X = check_array(X, dtype=None, ensure_all_finite=False, estimator=est,
                        ensure_min_features=ensure_min_features)
    elif X.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
            f"required by {type(est).__name__}."
        )
    # protected columns first: a missing one gets the contract's message
    prot = est._resolve_protected(
        X, sensitive_features, require_groups=require_groups, min_groups=min_groups
    )
    for col in prot.values.columns:
        v = prot.values[col]
        if pd.api.types.is_numeric_dtype(v) and not np.isfinite(v.to_numpy(float)).all():
            raise ValueError(
                f"The protected attribute {col!r} contains inf; protected values must be "
                "finite."
            )
    _check_feature_names(est, X, reset=reset)
    _check_n_features(est, X, reset=reset)
    n_cols = X.shape[1]
    if isinstance(X, pd.DataFrame):
        prot_idx = [X.columns.get_loc(c) for c in prot.columns]
    else:
        prot_idx = [int(c) % n_cols for c in prot.columns]
    feature_idx = [j for j in range(n_cols) if j not in set(prot_idx)]
    part = X.iloc[:, feature_idx] if isinstance(X, pd.DataFrame) else X[:, feature_idx]
    if len(feature_idx) == 0:
        raise ValueError(
            f"{type(est).__name__} needs at least one feature besides the protected "
            f"column(s) {prot.columns}; X has {n_cols} feature(s)."
        )
    Xf = check_array(part, dtype=np.float64, ensure_all_finite=True, estimator=est,
                     input_name="X")
    return Xf, prot, feature_idx, prot_idx


def output_names(est, input_features, keep_idx):
    """Names of the output columns: the input names at positions ``keep_idx``."""
    names = _check_feature_names_in(est, input_features)
    return np.asarray([names[j] for j in keep_idx], dtype=object)


def assemble_output(est, X, Xf_out, feature_idx, prot_idx, drop):
    """Put the transformed features back at their positions in ``X``.

    With ``drop`` the protected columns are left out. Otherwise they are passed through
    unchanged: the result stays a float array when they are numeric; with non-numeric
    protected values it is a DataFrame (``set_output(transform="pandas")``) or an object
    array (default output), like scikit-learn's ``ColumnTransformer`` passthrough.
    """
    if drop or not prot_idx:
        return Xf_out
    n_cols = len(feature_idx) + len(prot_idx)
    if isinstance(X, pd.DataFrame):
        prot_cols = {j: X.iloc[:, j].to_numpy() for j in prot_idx}
    else:
        arr = np.asarray(X)
        prot_cols = {j: arr[:, j] for j in prot_idx}
    numeric = all(
        np.issubdtype(np.asarray(v).dtype, np.number) or np.asarray(v).dtype == bool
        for v in prot_cols.values()
    )
    pandas_out = _get_output_config("transform", est)["dense"] == "pandas"
    if pandas_out and not numeric:
        columns = est.get_feature_names_out()
        data = {}
        feat_pos = {j: k for k, j in enumerate(feature_idx)}
        for j in range(n_cols):
            data[columns[j]] = prot_cols[j] if j in prot_cols else Xf_out[:, feat_pos[j]]
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(data, index=index)
    out = np.empty((Xf_out.shape[0], n_cols), dtype=np.float64 if numeric else object)
    out[:, feature_idx] = Xf_out
    for j, v in prot_cols.items():
        out[:, j] = v
    return out
