"""Prequential (test-then-train) evaluation of an online learner over a stream.

Each record is predicted before the learner sees its label, so the whole stream serves
as test data; cumulative accuracy and demographic parity gap are reported along it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from .._protected import check_pos_label, resolve_protected
from ..metrics.streaming import GroupCounts, metric_from_counts
from ..utils._dataframe import to_pandas

__all__ = ["PrequentialResult", "prequential_evaluation"]


@dataclass
class PrequentialResult:
    """Cumulative metrics of a test-then-train run, one entry per record.

    Attributes
    ----------
    n_seen : ndarray of int
        Records evaluated at each point of the curves (1, 2, ... with ``every=1``).
    accuracy : ndarray
        Cumulative accuracy of the predictions made before each record was learned.
    dp_gap : ndarray
        Cumulative demographic parity gap: max minus min over groups seen so far of the rate
        of ``pos_label`` predictions (NaN until two groups have been seen); for two groups
        ``|P(yhat=pos | a=1) - P(yhat=pos | a=0)|``.
    y_pred : ndarray
        The predictions, in stream order.
    counts : GroupCounts
        Per-group confusion counts of the whole run (mergeable with other runs' counts).
    """

    n_seen: np.ndarray
    accuracy: np.ndarray
    dp_gap: np.ndarray
    y_pred: np.ndarray
    counts: object = None

    def to_frame(self):
        """The curves as a DataFrame with columns ``n_seen``, ``accuracy``, ``dp_gap``."""
        return pd.DataFrame(
            {"n_seen": self.n_seen, "accuracy": self.accuracy, "dp_gap": self.dp_gap}
        )

    def plot(self, ax=None):
        """Draw the curves with :func:`fairkit.plotting.plot_prequential`."""
        from ..plotting._prequential import plot_prequential

        return plot_prequential(self, ax=ax)


def _cumulative_counts(y_true, y_pred, groups, pos_label, every):
    """Cumulative per-group confusion counts at every ``every``-th record (and the last).

    One bincount over (block, group, true_pos, pred_pos) and a cumulative sum over blocks:
    the cells are those of :class:`~fairkit.metrics.streaming.GroupCounts`, so the
    demographic parity gap is read with its ``metric_from_counts``.
    """
    n, G = len(y_true), groups.n_groups
    block = np.arange(n) // every
    n_blocks = int(block[-1]) + 1
    t = (y_true == pos_label).astype(np.intp)
    p = (y_pred == pos_label).astype(np.intp)
    cell = ((block * G + groups.codes) * 2 + t) * 2 + p
    C = np.bincount(cell, minlength=n_blocks * G * 4).astype(float)
    C = np.cumsum(C.reshape(n_blocks, G, 2, 2), axis=0)
    stops = np.minimum(np.arange(1, n_blocks + 1) * every, n)
    return stops, C


def _accepts(estimator, name):
    return name in inspect.signature(estimator.partial_fit).parameters


def prequential_evaluation(
    estimator, X, y, *, classes=None, sensitive_features=None, pos_label=None, chunk_size=1,
    every=1,
):
    """Test-then-train over a stream: predict each record, then learn from it.

    The estimator is trained in place (like ``river.evaluate.progressive_val_score``).
    For :class:`~fairkit.inprocessing.AranyaniClassifier` the prediction for each step of
    ``batch_size`` records is the one the model makes inside ``partial_fit`` just before
    that step's update, so no extra pass is made. Any other estimator with ``partial_fit``
    is driven chunk by chunk (``chunk_size`` rows): ``predict`` then ``partial_fit``; its
    first chunk, seen before any training, is predicted as ``classes[0]``.

    Parameters
    ----------
    estimator : estimator with partial_fit
        The online learner (trained in place).
    X : array-like of shape (n_samples, n_features)
        The stream, in order.
    y : array-like of shape (n_samples,)
        Labels.
    classes : array-like, optional
        All labels; defaults to ``np.unique(y)``.
    sensitive_features : array-like, optional
        Protected attribute when the estimator has no ``prot_attr``.
    pos_label : scalar, default=None
        Favourable label for the demographic parity gap; None means the greatest label of
        ``classes``.
    chunk_size : int, default=1
        Rows per predict/partial_fit round for estimators other than Aranyani.
    every : int, default=1
        Report the curves after every ``every`` records (and after the last one); a
        larger value keeps the curves short on long streams.

    Returns
    -------
    PrequentialResult
    """
    y = np.asarray(y)
    if classes is None:
        classes = np.unique(y)
    if pos_label is None:
        pos_label = np.unique(np.asarray(classes))[-1]
    check_pos_label(classes, pos_label, name="classes")
    for name, value in (("chunk_size", chunk_size), ("every", every)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if len(y) == 0:
        raise ValueError("The stream is empty (y has 0 records).")
    X = to_pandas(X)  # a polars / pyarrow table is sliced by rows as pandas, names kept
    prot = resolve_protected(
        X, prot_attr=getattr(estimator, "prot_attr", None), sensitive_features=sensitive_features
    )
    groups = prot.groups
    from ..inprocessing._aranyani import AranyaniClassifier  # lazy: no import cycle

    if isinstance(estimator, AranyaniClassifier):
        first = not hasattr(estimator, "classes_")
        codes = estimator._partial_fit(
            X, y, classes if first else None, sensitive_features, record=True
        )
        y_pred = estimator.classes_[codes]
    else:
        y_pred = np.empty(len(y), dtype=np.asarray(classes).dtype)
        fitted = False
        for start in range(0, len(y), chunk_size):
            rows = slice(start, start + chunk_size)
            Xc = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
            y_pred[rows] = estimator.predict(Xc) if fitted else np.asarray(classes)[0]
            kw = {} if fitted else {"classes": classes}
            if sensitive_features is not None and _accepts(estimator, "sensitive_features"):
                kw["sensitive_features"] = np.asarray(sensitive_features)[rows]
            estimator.partial_fit(Xc, y[rows], **kw)
            fitted = True
    stops, C = _cumulative_counts(y, y_pred, groups, pos_label, every)
    accuracy = np.cumsum(y == y_pred)[stops - 1] / stops
    dp_gap = metric_from_counts(C, "statistical_parity_difference")
    counts = GroupCounts(C[-1], groups.labels, names=groups.names, pos_label=pos_label)
    return PrequentialResult(n_seen=stops, accuracy=accuracy, dp_gap=dp_gap, y_pred=y_pred,
                             counts=counts)
