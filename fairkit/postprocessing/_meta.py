"""Shared plumbing of fairkit's post-processing meta-estimators (and the reductions wrappers).

A post-processor wraps a whole model (often a ``Pipeline`` that encodes raw columns) and needs
group membership both in ``fit`` and in ``predict``. It reads the protected attribute from the
raw ``X`` it receives (``prot_attr``) or from routed ``sensitive_features``, hands ``X`` (with
the protected columns dropped only when ``drop_prot_attr=True``) to the wrapped estimator, and
maps the groups seen at predict time onto those learned in ``fit``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_array,
    check_is_fitted,
    column_or_1d,
)

from ..base import map_to_fitted_groups

__all__: list[str] = []


def check_input(est, X, *, reset, accept_sparse=True):
    """Light validation of ``X``: shape and feature names, no dtype coercion.

    DataFrames with string columns pass through untouched (the wrapped pipeline encodes them);
    other input goes through ``check_array(dtype=None)`` so that lists, 1-D and sparse input
    get scikit-learn's usual messages. Finiteness is left to the wrapped estimator.
    """
    if not isinstance(X, pd.DataFrame):
        X = check_array(X, dtype=None, accept_sparse=accept_sparse, ensure_all_finite=False,
                        estimator=est, input_name="X")
    elif X.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
            f"required by {type(est).__name__}."
        )
    _check_feature_names(est, X, reset=reset)
    _check_n_features(est, X, reset=reset)
    return X


def resolve_groups(est, X, sensitive_features, *, fit, y=None):
    """Return ``(X_model, codes)``: the estimator's input and fit-time group codes.

    In ``fit`` the groups are stored as ``est.groups_`` (labels in code order, at least two
    groups required); afterwards a group unseen in ``fit`` raises a ``ValueError`` naming it.
    A target ``y`` given here must have one entry per row of ``X``.
    """
    prot = est._resolve_protected(
        X, sensitive_features, drop=getattr(est, "drop_prot_attr", False),
        min_groups=2 if fit else 1,
    )
    if y is not None and len(y) != len(prot.groups.codes):
        raise ValueError(f"X has {len(prot.groups.codes)} rows but y has {len(y)}.")
    if fit:
        est.groups_ = list(prot.groups.labels)
        est.prot_attr_names_ = list(prot.groups.names)
        return prot.X, prot.groups.codes
    return prot.X, map_to_fitted_groups(prot.groups, est.groups_)


def binary_target(est, y, pos_label):
    """Check a binary target; return ``(classes, pos_label, y01)``.

    ``pos_label`` None means the greater of the two classes (``classes[1]``).
    """
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None."
        )
    y = np.asarray(y)
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
        matches = [c for c in classes if _same(c, pos_label)]
        if not matches:
            raise ValueError(
                f"pos_label={pos_label!r} is not one of the classes of y {classes.tolist()}."
            )
        pos = matches[0]
    return classes, pos, (y == pos).astype(np.int64)


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def fit_or_check_estimator(est, X_model, y, fit_params):
    """Clone and fit ``est.estimator`` (``prefit=False``) or check it is fitted."""
    if est.estimator is None:
        raise ValueError(f"{type(est).__name__} needs an estimator; got estimator=None.")
    if getattr(est, "prefit", False):
        if fit_params:
            raise ValueError(
                f"prefit=True: the estimator is not refitted, so the fit parameters "
                f"{sorted(fit_params)} would be ignored; drop them or use prefit=False."
            )
        try:
            check_is_fitted(est.estimator)
        except NotFittedError as exc:
            raise NotFittedError(
                f"prefit=True but the estimator {est.estimator!r} is not fitted; fit it "
                "first or use prefit=False."
            ) from exc
        return est.estimator
    return clone(est.estimator).fit(X_model, y, **fit_params)


def positive_scores(est, estimator, X_model, pos_label):
    """Probability of ``pos_label`` from ``estimator.predict_proba``."""
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"{type(est).__name__} needs scores in [0, 1]: the estimator "
            f"{type(estimator).__name__} has no predict_proba."
        )
    proba = np.asarray(estimator.predict_proba(X_model))
    return proba[:, _class_index(estimator, pos_label)]


def hard_positive(est, estimator, X_model, pos_label):
    """``estimator.predict(X) == pos_label`` as 0/1."""
    pred = np.asarray(estimator.predict(X_model))
    return (pred == pos_label).astype(np.int64)


def _class_index(estimator, pos_label):
    classes = list(getattr(estimator, "classes_", [0, 1]))
    for i, c in enumerate(classes):
        if _same(c, pos_label):
            return i
    raise ValueError(
        f"pos_label={pos_label!r} is not among the wrapped estimator's classes_ {classes}."
    )


def labels_from01(classes, pos_label, pred01):
    """Map 0/1 predictions back to the original labels."""
    neg = classes[0] if _same(classes[1], pos_label) else classes[1]
    return np.where(np.asarray(pred01, dtype=bool), pos_label, neg).astype(classes.dtype)


def proba_columns(classes, pos_label, p_pos):
    """Two-column probability array ordered as ``classes``."""
    p_pos = np.asarray(p_pos, dtype=np.float64)
    if _same(classes[1], pos_label):
        return np.c_[1.0 - p_pos, p_pos]
    return np.c_[p_pos, 1.0 - p_pos]


def classifier_tags(tags, estimator):
    """Tags of a binary-only meta-classifier that wraps ``estimator``."""
    tags.classifier_tags.multi_class = False
    if estimator is not None:
        try:
            inner = estimator.__sklearn_tags__()
        except AttributeError:  # pragma: no cover - non-sklearn estimator
            return tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
    return tags


def _inner_has(name):
    return lambda self: hasattr(self.estimator, name)


class BinarizedEstimator(ClassifierMixin, BaseEstimator):
    """A fitted estimator seen as a 0/1 classifier whose class 1 is ``pos_label``.

    fairlearn's post-processing assumes labels 0/1 with the second column of
    ``predict_proba`` being the positive class. This adapter lets it use an estimator fitted
    on the user's own labels (strings, ``pos_label=0``, ...) without refitting it.
    """

    def __init__(self, estimator, pos_label):
        self.estimator = estimator
        self.pos_label = pos_label
        self.classes_ = np.array([0, 1])

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y, **kwargs):  # pragma: no cover - fairlearn is always told prefit=True
        raise RuntimeError("BinarizedEstimator wraps an already fitted estimator.")

    def predict(self, X):
        return hard_positive(None, self.estimator, X, self.pos_label)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X):
        proba = np.asarray(self.estimator.predict_proba(X))
        p = proba[:, _class_index(self.estimator, self.pos_label)]
        return np.c_[1.0 - p, p]

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X):
        scores = np.asarray(self.estimator.decision_function(X), dtype=np.float64)
        return scores if _class_index(self.estimator, self.pos_label) == 1 else -scores
