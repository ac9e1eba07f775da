"""Fairness scorers for scikit-learn searches that read the protected column from ``X``.

``GridSearchCV`` hands a scorer ``(estimator, X_fold, y_fold)``. A fairness metric also
needs the fold's protected attribute; fairlearn users thread ``sensitive_features``
through metadata routing by hand. :func:`make_fairness_scorer` instead reads it from the
``prot_attr`` column(s) of ``X_fold`` (via :func:`fairkit._protected.resolve_protected`), so
no routing is needed: the column just has to be in ``X`` (and the model pipeline decides
whether it is used as a feature).
"""

from __future__ import annotations

import inspect

import numpy as np

from .._protected import _param_repr, resolve_protected
from ..utils._dataframe import to_pandas
from ..utils._docstring import fair_docstring
from . import group as _group
from .streaming import GROUP_METRICS, resolve_method

__all__ = ["make_fairness_scorer", "FairnessScorer"]

_RESPONSE_METHODS = ("predict", "predict_proba", "decision_function")
_NAMED = {**{name: getattr(_group, name) for name in GROUP_METRICS},
          "mean_prediction_difference": _group.mean_prediction_difference,
          "mean_prediction_ratio": _group.mean_prediction_ratio}


def _accepts(func, name):
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class FairnessScorer:
    """Callable ``scorer(estimator, X, y_true, sample_weight=None) -> float``.

    Built by :func:`make_fairness_scorer`; see there for the parameters.
    """

    def __init__(self, metric, *, prot_attr, priv_group, pos_label, greater_is_better,
                 absolute, response_method, kwargs, method=None):
        self.metric = metric
        self.prot_attr = prot_attr
        self.priv_group = priv_group
        self.method = method
        self.pos_label = pos_label
        self.greater_is_better = greater_is_better
        self.absolute = absolute
        self.response_method = response_method
        self.kwargs = kwargs

    @property
    def _func(self):
        return _NAMED[self.metric] if isinstance(self.metric, str) else self.metric

    @property
    def _is_ratio(self):
        return getattr(self._func, "__name__", "").endswith("_ratio")

    def _predict(self, estimator, X):
        if self.response_method == "predict":
            return estimator.predict(X)
        if self.response_method == "decision_function":
            return np.asarray(estimator.decision_function(X)).ravel()
        proba = np.asarray(estimator.predict_proba(X))
        classes = list(getattr(estimator, "classes_", range(proba.shape[1])))
        if self.pos_label not in classes:
            raise ValueError(
                f"pos_label={self.pos_label!r} is not among the estimator's classes_ "
                f"{_param_repr(classes)}."
            )
        return proba[:, classes.index(self.pos_label)]

    def metric_value(self, estimator, X, y_true, sample_weight=None):
        """The raw metric on ``X`` (before taking absolute values and the sign)."""
        # resolve_protected reads a polars / pyarrow X as pandas (columns by name); the
        # estimator gets X as the search handed it, the container it was fitted on
        protected = resolve_protected(X, prot_attr=self.prot_attr)
        y_pred = self._predict(estimator, X)
        func = self._func
        kwargs = dict(self.kwargs)
        for key, value in (("priv_group", self.priv_group), ("method", self.method),
                           ("pos_label", self.pos_label), ("sample_weight", sample_weight)):
            if value is not None and _accepts(func, key):
                kwargs[key] = value
        return float(func(np.asarray(to_pandas(y_true)), y_pred,
                          sensitive_features=protected.values, **kwargs))

    @property
    def _sign(self):
        # scikit-learn's convention (as on its own scorers): the score is sign * metric,
        # so tables can show the metric itself (fairkit.model_selection does).
        greater = self.greater_is_better
        return 1 if (self._is_ratio if greater is None else greater) else -1

    def __call__(self, estimator, X, y_true, sample_weight=None):
        value = self.metric_value(estimator, X, y_true, sample_weight=sample_weight)
        if self.absolute:
            if self._is_ratio:
                with np.errstate(divide="ignore"):
                    value = min(value, 1.0 / value) if value != 0 else 0.0
            else:
                value = abs(value)
        greater = self.greater_is_better
        if greater is None:
            greater = self._is_ratio
        return value if greater else -value

    def __repr__(self):
        name = self.metric if isinstance(self.metric, str) else getattr(
            self.metric, "__name__", repr(self.metric))
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return (f"make_fairness_scorer({name}, prot_attr={self.prot_attr!r}, "
                f"priv_group={self.priv_group!r}, method={self.method!r}, "
                f"pos_label={self.pos_label!r}, "
                f"greater_is_better={self.greater_is_better!r}, absolute={self.absolute!r}, "
                f"response_method={self.response_method!r}{extra})")


@fair_docstring
def make_fairness_scorer(metric, *, prot_attr, priv_group=None, method=None, pos_label=1,
                         greater_is_better=None, absolute=True, response_method="predict",
                         **kwargs):
    """Make a scikit-learn scorer from a group fairness metric.

    The scorer reads the protected attribute from the ``prot_attr`` column(s) of the ``X``
    it is given, so it works in ``GridSearchCV``, ``cross_validate`` and
    ``permutation_importance`` without metadata routing.

    Parameters
    ----------
    metric : callable or str
        A fairkit group metric (e.g. :func:`~fairkit.metrics.statistical_parity_difference`)
        or its name, ``mean_prediction_difference`` / ``mean_prediction_ratio``, or any
        callable ``metric(y_true, y_pred, *, sensitive_features, **kwargs)``.
    prot_attr : str, int or list
        Protected column name(s) of a DataFrame ``X`` (pandas, polars or pyarrow) or
        index(es) of an array ``X``; several give intersectional groups.
    {priv_group}
        Passed to the metric: the signed unprivileged-vs-privileged gap
        (``method="privileged"``).
    method : {None, "between_groups", "to_overall", "privileged"}, default=None
        Passed to the metric: which gap it computes (see
        :mod:`fairkit.metrics.group`). None: ``"privileged"`` if ``priv_group`` is given,
        else ``"between_groups"``.
    pos_label : scalar, default=1
        Passed to the metric; with ``response_method="predict_proba"`` it also picks the
        probability column.
    greater_is_better : bool, optional
        Default: False for differences (the scorer returns ``-value`` so that larger is
        better, as scikit-learn's ``neg_*`` scorers), True for ratios (``*_ratio``).
    absolute : bool, default=True
        Score the size of the disparity: ``|difference|``, and for ratios
        ``min(r, 1 / r)`` (1 is parity, smaller is worse, whichever group is favoured).
    response_method : {"predict", "predict_proba", "decision_function"}
        Which estimator output the metric sees. Probabilities or decision values suit the
        mean-prediction metrics.
    **kwargs
        Extra keyword arguments for the metric (``zero_division``, ``agg``, ...).

    Raises
    ------
    ValueError
        For an unknown metric name or ``response_method``, a missing ``prot_attr``, an
        unknown ``method`` or one that contradicts ``priv_group``, or ``priv_group`` /
        ``method`` given for a callable that does not accept them.

    Returns
    -------
    FairnessScorer
        A callable ``scorer(estimator, X, y_true, sample_weight=None)``; its
        ``metric_value`` method gives the raw metric.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_validate
    >>> from fairkit.metrics import make_fairness_scorer, statistical_parity_difference
    >>> X = pd.DataFrame({"sex": [0, 1] * 10, "x": list(range(20))})
    >>> y = [0, 0, 0, 1] * 5
    >>> spd = make_fairness_scorer(statistical_parity_difference, prot_attr="sex")
    >>> res = cross_validate(LogisticRegression(), X, y, cv=2,
    ...                      scoring={"acc": "accuracy", "spd": spd})
    >>> bool((res["test_spd"] <= 0).all())
    True
    """
    if isinstance(metric, str):
        if metric not in _NAMED:
            raise ValueError(
                f"metric={metric!r} is not a fairkit group metric name; choose one of "
                f"{sorted(_NAMED)} or pass a callable."
            )
    elif not callable(metric):
        raise TypeError(f"metric must be a callable or a metric name, got {metric!r}.")
    if response_method not in _RESPONSE_METHODS:
        raise ValueError(
            f"response_method={response_method!r} must be one of {list(_RESPONSE_METHODS)}."
        )
    if prot_attr is None:
        raise ValueError("prot_attr is required: the column(s) of X holding the protected "
                         "attribute.")
    func = _NAMED[metric] if isinstance(metric, str) else metric
    # a comparison the metric cannot take would otherwise be dropped without a word
    for key, value in (("priv_group", priv_group), ("method", method)):
        if value is not None and not _accepts(func, key):
            raise ValueError(
                f"{key}={_param_repr(value)} was given but the metric "
                f"{getattr(func, '__name__', repr(func))} takes no {key!r} argument; "
                f"leave {key}=None for this metric."
            )
    if any(func is known for known in _NAMED.values()):  # fail at construction, not in a search
        resolve_method(method, priv_group)
    return FairnessScorer(metric, prot_attr=prot_attr, priv_group=priv_group,
                          method=method, pos_label=pos_label,
                          greater_is_better=greater_is_better, absolute=absolute,
                          response_method=response_method, kwargs=kwargs)
