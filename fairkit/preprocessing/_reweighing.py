r"""Reweighing and resampling (Kamiran & Calders, 2012).

Three ways to use the same weights

.. math::

    W(g, y) = \frac{P(G = g)\, P(Y = y)}{P(G = g, Y = y)}
            = \frac{N_g\, N_y}{N\, N_{g,y}},

where the counts :math:`N` are sums of the incoming sample weights (plain counts without
them). Under these weights the label is independent of the group, so the weighted
statistical parity difference of the training labels is zero.

- :class:`Reweighing` learns :math:`W` and exposes it (``reweigh_factors_``,
  ``sample_weight_``, :meth:`Reweighing.compute_sample_weight`).
- :class:`ReweighingClassifier` fits any estimator (or whole pipeline) with those weights,
  multiplied by the caller's own ``sample_weight``.
- :class:`ReweighingSampler` (module ``_reweighing_sampler``) realises the weights by
  uniform or preferential resampling and exposes ``fit_resample`` (the imbalanced-learn
  sampler protocol).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    get_routing_for_object,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
)

from .._validation import check_weights_nonnegative
from ..base import FairEstimatorMixin
from ..utils._docstring import fair_docstring

__all__ = ["Reweighing", "ReweighingClassifier", "reweighing_factors"]


def reweighing_factors(group_codes, label_codes, n_groups, n_classes, sample_weight=None):
    r"""Kamiran-Calders factors :math:`W(g, y) = N_g N_y / (N N_{g,y})`.

    Parameters
    ----------
    group_codes, label_codes : ndarray of int of shape (n_samples,)
        Group index in ``0 .. n_groups - 1`` and class index in ``0 .. n_classes - 1``.
    n_groups, n_classes : int
    sample_weight : ndarray of shape (n_samples,), optional
        Counts become sums of weights.

    Returns
    -------
    ndarray of shape (n_groups, n_classes)
        NaN where a (group, class) cell is empty.
    """
    cell = group_codes * n_classes + label_codes
    n_gy = np.bincount(cell, weights=sample_weight, minlength=n_groups * n_classes)
    n_gy = n_gy.reshape(n_groups, n_classes)
    n_g = n_gy.sum(axis=1, keepdims=True)
    n_y = n_gy.sum(axis=0, keepdims=True)
    total = n_gy.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = (n_g * n_y) / (total * n_gy)
    factors[n_gy == 0] = np.nan
    return factors


def _check_labels(y, n_samples):
    y = column_or_1d(y, warn=True)
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} samples but X has {n_samples}; they must match.")
    if y.dtype.kind in "iub" and len(y) and 0 <= y.min() and y.max() < 1024:
        # small non-negative integer labels: counting is faster than sorting or hashing
        present = np.flatnonzero(np.bincount(y.astype(np.intp)))
        lookup = np.zeros(present[-1] + 1, dtype=np.intp)
        lookup[present] = np.arange(len(present))
        return y, present.astype(y.dtype), lookup[y]
    check_classification_targets(y)
    codes, classes = pd.factorize(y, sort=True)  # hashing: faster than np.unique's sort
    return y, np.asarray(classes), np.asarray(codes, dtype=np.intp)


def _validate(est, X, y, sensitive_features, sample_weight=None, *, reset):
    """``validate_fair_data`` for the three reweighing estimators: feature values are never
    read (passthrough, any dtype, sparse allowed), the groups and the labels are."""
    if y is not None and not isinstance(y, (pd.Series, pd.DataFrame, np.ndarray)):
        # array-likes that only implement __array__ (lists, scikit-learn's NotAnArray)
        y = np.asarray(y)
    data = est._validate_fair_data(
        X, y, sensitive_features=sensitive_features, sample_weight=sample_weight,
        reset=reset, accept_sparse=("csr", "csc"), target="any",
    )
    check_weights_nonnegative(est, data.sample_weight)
    return data


@fair_docstring
class Reweighing(FairEstimatorMixin, BaseEstimator):
    r"""Learn Kamiran-Calders reweighing factors for each (group, label) cell.

    .. math::

        W(g, y) = \frac{P(G = g)\, P(Y = y)}{P(G = g, Y = y)}

    A scikit-learn ``Pipeline`` cannot hand sample weights from one step to the next, so
    this estimator has no ``transform``: read the weights from ``sample_weight_`` (the
    training rows) or :meth:`compute_sample_weight` (any rows), or use
    :class:`ReweighingClassifier`, which fits an estimator with them, or
    :class:`ReweighingSampler`, which resamples the rows instead.

    Parameters
    ----------
    {prot_attr}

    Attributes
    ----------
    groups_ : list
        Group labels, in the row order of ``reweigh_factors_``.
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the column order of ``reweigh_factors_``.
    reweigh_factors_ : ndarray of shape (n_groups, n_classes)
        :math:`W(g, y)`; NaN for a cell without training samples.
    sample_weight_ : ndarray of shape (n_samples,)
        Weights of the training rows: the incoming ``sample_weight`` (1 if None) times the
        factor of the row's cell.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    See Also
    --------
    ReweighingClassifier : fit any estimator with these weights.
    ReweighingSampler : uniform or preferential resampling with the same target counts.

    References
    ----------
    .. [1] F. Kamiran and T. Calders, "Data preprocessing techniques for classification
       without discrimination", Knowledge and Information Systems 33(1):1-33, 2012.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairkit.preprocessing import Reweighing
    >>> X = pd.DataFrame({"sex": ["F", "F", "F", "M", "M", "M"], "x": range(6)})
    >>> y = [1, 0, 0, 1, 1, 0]
    >>> rw = Reweighing(prot_attr="sex").fit(X, y)
    >>> rw.reweigh_factors_.round(3)
    array([[0.75, 1.5 ],
           [1.5 , 0.75]])
    """

    # one rule for prot_attr, applied in validate_fair_data (check_prot_attr)
    _parameter_constraints = {"prot_attr": "no_validation"}

    def __init__(self, *, prot_attr=None):
        self.prot_attr = prot_attr

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Compute the factors and the weights of the training rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Only the protected column(s) are read; other columns may hold anything.
        y : array-like of shape (n_samples,)
            Labels (binary or multiclass).
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Existing weights (non-negative); counts become weighted sums and the output
            weights are these times the factors, so integer weights give the factors of
            the data with rows repeated by their weight.

        Returns
        -------
        self
        """
        self._validate_params()
        data = _validate(self, X, y, sensitive_features, sample_weight, reset=True)
        n = data.X.shape[0]
        y, self.classes_, y_codes = _check_labels(data.y, n)
        sw = np.ones(n) if data.sample_weight is None else data.sample_weight
        groups = data.groups
        self.reweigh_factors_ = reweighing_factors(
            groups.codes, y_codes, groups.n_groups, len(self.classes_), sw
        )
        cell = groups.codes * len(self.classes_) + y_codes
        self.sample_weight_ = sw * self.reweigh_factors_.ravel()[cell]
        # an all-zero-weight cell gives NaN; its rows keep weight 0
        self.sample_weight_[sw == 0] = 0.0
        return self

    def compute_sample_weight(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Weights for any rows from the fitted factors.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplied by the factors.

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises ``ValueError`` for a group or a label not seen in ``fit``, or a
        (group, label) cell that was empty in ``fit``.
        """
        check_is_fitted(self)
        data = _validate(self, X, y, sensitive_features, sample_weight, reset=False)
        g = data.codes
        y = column_or_1d(data.y)
        c = np.searchsorted(self.classes_, y)
        c = np.clip(c, 0, len(self.classes_) - 1)
        unseen = self.classes_[c] != y
        if unseen.any():
            raise ValueError(
                f"y contains label(s) {sorted(set(np.asarray(y)[unseen].tolist()), key=str)} "
                f"not seen in fit (classes_={self.classes_.tolist()})."
            )
        f = self.reweigh_factors_[g, c]
        if np.isnan(f).any():
            k = int(np.flatnonzero(np.isnan(f))[0])
            raise ValueError(
                f"The cell (group={self.groups_[g[k]]!r}, label={y[k]!r}) had no training "
                "samples, so it has no reweighing factor."
            )
        return f if data.sample_weight is None else data.sample_weight * f

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # feature values are never read
        tags.input_tags.string = True
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags


def _fit_with_weights(estimator, X, y, sample_weight, fit_params):
    """Fit ``estimator`` with ``sample_weight``; a Pipeline gets it on its last step."""
    if isinstance(estimator, Pipeline):
        name = estimator.steps[-1][0]
        return estimator.fit(X, y, **{f"{name}__sample_weight": sample_weight}, **fit_params)
    return estimator.fit(X, y, sample_weight=sample_weight, **fit_params)


def _accepts_sample_weight(estimator):
    if isinstance(estimator, Pipeline):
        return has_fit_parameter(estimator.steps[-1][1], "sample_weight")
    return has_fit_parameter(estimator, "sample_weight")


def _requests_sample_weight(estimator):
    """Whether ``estimator.fit`` (or, for a router such as a Pipeline, some step of it)
    has requested ``sample_weight`` under metadata routing."""
    try:
        return bool(get_routing_for_object(estimator).consumes("fit", ["sample_weight"]))
    except (AttributeError, TypeError):  # pragma: no cover - objects without routing
        return False


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


@fair_docstring
class ReweighingClassifier(FairEstimatorMixin, MetaEstimatorMixin, ClassifierMixin,
                           BaseEstimator):
    r"""Fit any classifier with Kamiran-Calders reweighing weights.

    The wrapped ``estimator`` (often a whole ``Pipeline`` with its own encoding) is fitted
    on ``X`` unchanged with ``sample_weight = s_i \, W(g_i, y_i)``, where :math:`s_i` is
    the caller's ``sample_weight`` (1 if None) and the factors :math:`W` are computed from
    weighted counts, as in :class:`Reweighing`. ``prot_attr`` is read from the raw ``X``
    this meta-estimator receives. Predictions come from the fitted estimator.

    Metadata routing. The reweighing weights are the point of this class, so they always
    go to the wrapped estimator as its ``sample_weight``:

    - routing disabled (default): the estimator's ``fit`` (for a ``Pipeline``, its last
      step) must accept ``sample_weight``, else ``fit`` raises ``TypeError``; other
      ``**fit_params`` are passed on as they are;
    - routing enabled (``sklearn.set_config(enable_metadata_routing=True)``): this class is
      a router; the estimator must have requested ``sample_weight``
      (``estimator.set_fit_request(sample_weight=True)``, or on the steps of a Pipeline
      that should get it), else ``fit`` raises ``ValueError``; the weights (and any
      ``**fit_params``) reach only the consumers that requested them. The caller's own
      ``sample_weight`` is consumed by this class (request it with
      ``ReweighingClassifier.set_fit_request(sample_weight=True)`` inside another router).

    Parameters
    ----------
    estimator : estimator object
        A classifier whose ``fit`` accepts ``sample_weight``; for a ``Pipeline``, its last
        step must accept it (see metadata routing above).
    {prot_attr}

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    reweigher_ : Reweighing
        The fitted reweigher (factors in ``reweigher_.reweigh_factors_``).
    groups_ : list
    prot_attr_names_ : list of str
    classes_ : ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    References
    ----------
    .. [1] F. Kamiran and T. Calders, "Data preprocessing techniques for classification
       without discrimination", Knowledge and Information Systems 33(1):1-33, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.preprocessing import ReweighingClassifier
    >>> X = np.array([[0, 1.0], [0, 2.0], [0, 3.0], [1, 4.0], [1, 5.0], [1, 6.0]])
    >>> y = [0, 0, 1, 0, 1, 1]
    >>> clf = ReweighingClassifier(LogisticRegression(), prot_attr=0).fit(X, y)
    >>> clf.predict(X).shape
    (6,)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "prot_attr": "no_validation",
    }

    def __init__(self, estimator, *, prot_attr=None):
        self.estimator = estimator
        self.prot_attr = prot_attr

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the reweigher, then a clone of ``estimator`` with the weights.

        Parameters
        ----------
        X : array-like or DataFrame
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            The caller's weights, multiplied by the reweighing factors (which are
            computed from weighted counts).
        **fit_params : dict
            Passed on to ``estimator.fit`` (routed when metadata routing is enabled).

        Returns
        -------
        self
        """
        self._validate_params()
        if _routing_enabled():
            if not _requests_sample_weight(self.estimator):
                raise ValueError(
                    f"ReweighingClassifier fits estimator={self.estimator!r} with the "
                    "reweighing weights as sample_weight, but with metadata routing enabled "
                    "the estimator has not requested sample_weight; call "
                    "estimator.set_fit_request(sample_weight=True) (on the step that "
                    "should get them, for a Pipeline)."
                )
        elif not _accepts_sample_weight(self.estimator):
            raise TypeError(
                f"estimator={self.estimator!r} does not accept sample_weight in fit; "
                "ReweighingClassifier needs it (use ReweighingSampler instead)."
            )
        self.reweigher_ = Reweighing(prot_attr=self.prot_attr).fit(
            X, y, sample_weight=sample_weight, sensitive_features=sensitive_features
        )
        for name in ("n_features_in_", "feature_names_in_", "groups_", "prot_attr_names_"):
            if hasattr(self.reweigher_, name):
                setattr(self, name, getattr(self.reweigher_, name))
        weights = self.reweigher_.sample_weight_
        if _routing_enabled():
            # the user's sample_weight was consumed by the reweigher; the product replaces
            # it, and goes wherever the estimator (or its steps) requested sample_weight
            routed = process_routing(self, "fit", **fit_params)
            params = dict(routed.estimator.fit)
            params["sample_weight"] = weights
            self.estimator_ = clone(self.estimator).fit(X, y, **params)
        else:
            self.estimator_ = _fit_with_weights(clone(self.estimator), X, y, weights,
                                                fit_params)
        self.classes_ = self.estimator_.classes_
        return self

    def get_metadata_routing(self):
        """Routing: this class consumes ``sample_weight`` / ``sensitive_features`` and
        routes ``fit`` metadata (the reweighing weights as ``sample_weight``) to
        ``estimator.fit``.

        Returns
        -------
        MetadataRouter
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(estimator=self.estimator,
                 method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        )

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator."""
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = self.estimator.__sklearn_tags__()
            tags.input_tags.allow_nan = inner.input_tags.allow_nan
            tags.input_tags.sparse = inner.input_tags.sparse
            tags.input_tags.string = inner.input_tags.string
        except AttributeError:
            pass
        return tags
