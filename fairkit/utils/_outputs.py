"""Reading a wrapped model's outputs as 0/1 decisions and favourable-class scores, and
mapping 0/1 decisions back to the user's labels. Shared by the post-processors and the
in-processing wrappers (the reductions), so it lives below both."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import same_label

__all__ = ["BinarizedEstimator", "class_index", "fit_clone", "fit_or_check_estimator",
           "hard_positive",
           "labels_from01", "positive_scores", "proba_columns", "classifier_tags"]


def _fit_clone(estimator, X, y, fit_params):
    return clone(estimator).fit(X, y, **fit_params)


def fit_clone(est, X, y, fit_params, *, estimator=None):
    """A clone of ``est.estimator`` (or of ``estimator``, a second model of ``est``) fitted
    on ``(X, y)``, through ``est.memory`` when the
    estimator has one (a joblib cache, as ``Pipeline(memory=...)``): a second fit of the
    same model on the same rows with the same parameters loads the fitted clone instead of
    refitting it, so searches over a rule's own parameters (and the candidates of
    ``fairkit compare`` that share a model) fit each model once per set of rows."""
    from sklearn.utils.validation import check_memory

    model = est.estimator if estimator is None else estimator
    memory = getattr(est, "memory", None)
    if memory is None:
        return _fit_clone(model, X, y, fit_params)
    return check_memory(memory).cache(_fit_clone)(model, X, y, fit_params)


def fit_or_check_estimator(est, X_model, y, fit_params):
    """Clone and fit ``est.estimator`` (``prefit=False``, through ``est.memory`` when set:
    see :func:`fit_clone`) or check it is fitted."""
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
    return fit_clone(est, X_model, y, fit_params)


def positive_scores(est, estimator, X_model, pos_label):
    """Probability of ``pos_label`` from ``estimator.predict_proba``."""
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"{type(est).__name__} needs scores in [0, 1]: the estimator "
            f"{type(estimator).__name__} has no predict_proba."
        )
    proba = np.asarray(estimator.predict_proba(X_model))
    return proba[:, class_index(estimator, pos_label)]


def hard_positive(est, estimator, X_model, pos_label):
    """``estimator.predict(X) == pos_label`` as 0/1."""
    pred = np.asarray(estimator.predict(X_model))
    return (pred == pos_label).astype(np.int64)


def class_index(estimator, pos_label):
    classes = list(getattr(estimator, "classes_", [0, 1]))
    for i, c in enumerate(classes):
        if same_label(c, pos_label):
            return i
    raise ValueError(
        f"pos_label={pos_label!r} is not among the wrapped estimator's classes_ {classes}."
    )


def labels_from01(classes, pos_label, pred01):
    """Map 0/1 predictions back to the original labels."""
    neg = classes[0] if same_label(classes[1], pos_label) else classes[1]
    return np.where(np.asarray(pred01, dtype=bool), pos_label, neg).astype(classes.dtype)


def proba_columns(classes, pos_label, p_pos):
    """Two-column probability array ordered as ``classes``."""
    p_pos = np.asarray(p_pos, dtype=np.float64)
    if same_label(classes[1], pos_label):
        return np.c_[1.0 - p_pos, p_pos]
    return np.c_[p_pos, 1.0 - p_pos]


def classifier_tags(tags, estimator):
    """Tags of a binary-only meta-classifier that wraps ``estimator``."""
    tags.classifier_tags.multi_class = False
    if estimator is not None:
        try:
            inner = estimator.__sklearn_tags__()
        except AttributeError:  # a learner that does not derive from BaseEstimator
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

    ``predict`` is the wrapped estimator's own output: a classifier's labels become 0/1
    (1 = ``pos_label``), any other output (a regressor's values, a scorer's scores) passes
    through unchanged, so ``predict_method="predict"`` thresholds the real values.
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
        pred = np.asarray(self.estimator.predict(X))
        classes = getattr(self.estimator, "classes_", None)
        if classes is not None and np.isin(pred, np.asarray(classes)).all():
            return (pred == self.pos_label).astype(np.int64)
        return pred.astype(np.float64) if pred.dtype.kind == "f" else pred

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X):
        # float64 whatever the model's dtype: fairlearn writes interpolated float64 values
        # into an array of the scores' dtype (float32 scores from float32 X fail there)
        proba = np.asarray(self.estimator.predict_proba(X), dtype=np.float64)
        p = proba[:, class_index(self.estimator, self.pos_label)]
        return np.c_[1.0 - p, p]

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X):
        scores = np.asarray(self.estimator.decision_function(X), dtype=np.float64)
        return scores if class_index(self.estimator, self.pos_label) == 1 else -scores
