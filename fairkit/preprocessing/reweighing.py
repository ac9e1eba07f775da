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
- :class:`ReweighingSampler` realises the weights by uniform or preferential resampling and
  exposes ``fit_resample`` (the imbalanced-learn sampler protocol).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
)

from ..base import ProtectedAttributeMixin, map_to_fitted_groups

__all__ = ["Reweighing", "ReweighingClassifier", "ReweighingSampler", "reweighing_factors"]


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


def _check_x(est, X, reset, sensitive_features):
    """Check the shape and names of ``X`` and resolve its protected attribute(s)."""
    if not hasattr(X, "iloc"):
        # the weights do not look at feature values; only shape and type are checked
        X = check_array(X, dtype=None, ensure_all_finite=False, estimator=est,
                        accept_sparse=("csr", "csc"))
    # protected columns first: a missing one gets the contract's message
    prot = est._resolve_protected(X, sensitive_features)
    _check_feature_names(est, X, reset=reset)
    _check_n_features(est, X, reset=reset)
    return X, prot


class Reweighing(ProtectedAttributeMixin, BaseEstimator):
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
    prot_attr : str, int or list, default=None
        Protected column(s) of ``X``; several columns give intersectional groups. May be
        None when ``sensitive_features`` is passed to ``fit``.

    Attributes
    ----------
    groups_ : list
        Group labels, in the row order of ``reweigh_factors_``.
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

    _parameter_constraints = {"prot_attr": [str, Integral, list, tuple, None]}

    def __init__(self, prot_attr=None):
        self.prot_attr = prot_attr

    def fit(self, X, y, sample_weight=None, sensitive_features=None):
        """Compute the factors and the weights of the training rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Only the protected column(s) are read; other columns may hold anything.
        y : array-like of shape (n_samples,)
            Labels (binary or multiclass).
        sample_weight : array-like of shape (n_samples,), optional
            Existing weights; counts become weighted sums and the output weights are
            these times the factors.
        sensitive_features : array-like, optional
            Protected attribute(s), when not given by ``prot_attr``.

        Returns
        -------
        self
        """
        self._validate_params()
        X, prot = _check_x(self, X, True, sensitive_features)
        n = X.shape[0]
        y, self.classes_, y_codes = _check_labels(y, n)
        sw = _check_sample_weight(sample_weight, np.empty(n), dtype=np.float64,
                                  ensure_non_negative=True)
        self.groups_ = list(prot.groups.labels)
        self.reweigh_factors_ = reweighing_factors(
            prot.groups.codes, y_codes, prot.groups.n_groups, len(self.classes_), sw
        )
        cell = prot.groups.codes * len(self.classes_) + y_codes
        self.sample_weight_ = sw * self.reweigh_factors_.ravel()[cell]
        # an all-zero-weight cell gives NaN; its rows keep weight 0
        self.sample_weight_[sw == 0] = 0.0
        return self

    def compute_sample_weight(self, X, y, sample_weight=None, sensitive_features=None):
        """Weights for any rows from the fitted factors.

        Raises ``ValueError`` for a group or a label not seen in ``fit``, or a
        (group, label) cell that was empty in ``fit``.
        """
        check_is_fitted(self)
        X, prot = _check_x(self, X, False, sensitive_features)
        n = X.shape[0]
        g = map_to_fitted_groups(prot.groups, self.groups_, where="compute weights")
        y = column_or_1d(y)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} samples but X has {n}; they must match.")
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
        sw = _check_sample_weight(sample_weight, np.empty(n), dtype=np.float64)
        return sw * f

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


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


class ReweighingClassifier(ProtectedAttributeMixin, MetaEstimatorMixin, ClassifierMixin,
                           BaseEstimator):
    r"""Fit any classifier with Kamiran-Calders reweighing weights.

    The wrapped ``estimator`` (often a whole ``Pipeline`` with its own encoding) is fitted
    on ``X`` unchanged with ``sample_weight = s_i \, W(g_i, y_i)``, where :math:`s_i` is
    the caller's ``sample_weight`` (1 if None) and the factors :math:`W` are computed from
    weighted counts, as in :class:`Reweighing`. ``prot_attr`` is read from the raw ``X``
    this meta-estimator receives. Predictions come from the fitted estimator.

    Parameters
    ----------
    estimator : estimator object
        A classifier whose ``fit`` accepts ``sample_weight``; for a ``Pipeline``, its last
        step must accept it.
    prot_attr : str, int or list, default=None
        Protected column(s) of ``X``; or pass ``sensitive_features`` to ``fit``.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    reweigher_ : Reweighing
        The fitted reweigher (factors in ``reweigher_.reweigh_factors_``).
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
        "prot_attr": [str, Integral, list, tuple, None],
    }

    def __init__(self, estimator, prot_attr=None):
        self.estimator = estimator
        self.prot_attr = prot_attr

    def fit(self, X, y, sample_weight=None, sensitive_features=None, **fit_params):
        """Fit the reweigher, then a clone of ``estimator`` with the weights.

        Parameters
        ----------
        X : array-like or DataFrame
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Multiplied by the reweighing factors.
        sensitive_features : array-like, optional
        **fit_params : dict
            Passed on to ``estimator.fit``.

        Returns
        -------
        self
        """
        self._validate_params()
        if not _accepts_sample_weight(self.estimator):
            raise TypeError(
                f"estimator={self.estimator!r} does not accept sample_weight in fit; "
                "ReweighingClassifier needs it (use ReweighingSampler instead)."
            )
        self.reweigher_ = Reweighing(prot_attr=self.prot_attr).fit(
            X, y, sample_weight=sample_weight, sensitive_features=sensitive_features
        )
        self.n_features_in_ = self.reweigher_.n_features_in_
        if hasattr(self.reweigher_, "feature_names_in_"):
            self.feature_names_in_ = self.reweigher_.feature_names_in_
        self.estimator_ = _fit_with_weights(
            clone(self.estimator), X, y, self.reweigher_.sample_weight_, fit_params
        )
        self.classes_ = self.estimator_.classes_
        return self

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


class ReweighingSampler(ProtectedAttributeMixin, BaseEstimator):
    r"""Resample the rows so that each (group, label) cell gets its reweighed size.

    Cell :math:`(g, y)` with :math:`N_{g,y}` rows is resized to
    :math:`\mathrm{round}(W(g, y) N_{g,y}) = \mathrm{round}(N_g N_y / N)`, its expected
    size if label and group were independent. Two strategies from Kamiran & Calders:

    - ``"uniform"``: a shrinking cell keeps a random subset of its rows; a growing cell
      keeps all rows and adds random duplicates.
    - ``"preferential"``: a ``ranker`` scores :math:`P(y_i \mid x_i)` (probability of the
      row's own label); a shrinking cell drops its lowest-scored rows (those closest to
      the decision boundary), a growing cell duplicates them, cycling through the
      ranking if it needs more copies than rows.

    The sampler follows imbalanced-learn's protocol: ``fit_resample(X, y)`` returns the
    resampled ``(X, y)`` and there is no ``transform``, so an ``imblearn.pipeline.Pipeline``
    applies it at fit time only and skips it at predict time. (scikit-learn's own
    ``Pipeline`` does not call ``fit_resample``.)

    Parameters
    ----------
    prot_attr : str, int or list, default=None
        Protected column(s) of ``X``; or pass ``sensitive_features``.
    method : {"uniform", "preferential"}, default="uniform"
    ranker : classifier, default=None
        For ``"preferential"``: a classifier with ``predict_proba`` fitted on ``(X, y)``;
        None means ``LogisticRegression()`` (which needs numeric ``X``).
    random_state : int, RandomState or None, default=None
        Used by ``"uniform"``.

    Attributes
    ----------
    groups_, classes_, reweigh_factors_ :
        As in :class:`Reweighing`.
    sample_indices_ : ndarray of int
        Row positions of ``X`` that make up the last resampled set.
    ranker_ : classifier
        The fitted ranker (``"preferential"`` only).

    References
    ----------
    .. [1] F. Kamiran and T. Calders, "Data preprocessing techniques for classification
       without discrimination", Knowledge and Information Systems 33(1):1-33, 2012,
       Sections 4.2-4.3 (uniform and preferential sampling).
    """

    _parameter_constraints = {
        "prot_attr": [str, Integral, list, tuple, None],
        "method": [StrOptions({"uniform", "preferential"})],
        "ranker": [HasMethods(["fit", "predict_proba"]), None],
        "random_state": ["random_state"],
    }

    def __init__(self, prot_attr=None, method="uniform", ranker=None, random_state=None):
        self.prot_attr = prot_attr
        self.method = method
        self.ranker = ranker
        self.random_state = random_state

    def fit(self, X, y, sensitive_features=None):
        """Compute the factors (and fit the ranker for ``"preferential"``)."""
        self.fit_resample(X, y, sensitive_features=sensitive_features)
        return self

    def fit_resample(self, X, y, sensitive_features=None):
        """Resample ``(X, y)``.

        Returns
        -------
        X_resampled, y_resampled
            Same types as the inputs (DataFrame / Series rows are taken with ``iloc``,
            keeping their index labels).
        """
        self._validate_params()
        X, prot = _check_x(self, X, True, sensitive_features)
        n = X.shape[0]
        y_arr, self.classes_, y_codes = _check_labels(y, n)
        g_codes = prot.groups.codes
        self.groups_ = list(prot.groups.labels)
        n_classes = len(self.classes_)
        self.reweigh_factors_ = reweighing_factors(
            g_codes, y_codes, prot.groups.n_groups, n_classes
        )
        if self.method == "preferential":
            ranker = LogisticRegression() if self.ranker is None else self.ranker
            self.ranker_ = clone(ranker).fit(X, y_arr)
            proba = self.ranker_.predict_proba(X)
            col = np.searchsorted(self.ranker_.classes_, self.classes_)
            score = proba[np.arange(n), col[y_codes]]
        rng = check_random_state(self.random_state)
        cell = g_codes * n_classes + y_codes
        order = np.argsort(cell, kind="stable")
        bounds = np.searchsorted(cell[order], np.arange(len(self.groups_) * n_classes + 1))
        picked = []
        for k in range(len(bounds) - 1):
            rows = order[bounds[k]:bounds[k + 1]]
            if len(rows) == 0:
                continue
            g, c = divmod(k, n_classes)
            target = int(np.rint(self.reweigh_factors_[g, c] * len(rows)))
            if self.method == "uniform":
                if target <= len(rows):
                    take = rng.choice(rows, size=target, replace=False)
                else:
                    extra = rng.choice(rows, size=target - len(rows), replace=True)
                    take = np.concatenate([rows, extra])
            else:
                ranked = rows[np.argsort(score[rows], kind="stable")]  # borderline first
                if target <= len(rows):
                    take = ranked[len(rows) - target:]
                else:
                    take = np.concatenate([rows, np.resize(ranked, target - len(rows))])
            picked.append(take)
        idx = np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.intp)
        self.sample_indices_ = idx
        X_res = X.iloc[idx] if hasattr(X, "iloc") else X[idx]
        y_res = y.iloc[idx] if isinstance(y, (pd.Series, pd.DataFrame)) else y_arr[idx]
        return X_res, y_res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.method == "uniform"
        tags.input_tags.string = self.method == "uniform"
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags

