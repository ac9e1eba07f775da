"""The estimator layer under every fairkit mitigator.

Validation, the protected attribute, routing, sample weights and scoring live here once;
a method supplies only its math (template methods, as in imbalanced-learn's
``SamplerMixin``):

* :class:`FairEstimatorMixin`: ``_validate_fair_data`` (see
  :func:`fairkit._validation.validate_fair_data`) for any estimator that reads ``prot_attr``.
* :class:`FairClassifierMixin`: ``score(X, y, sample_weight=None, *, sensitive_features=None)``
  for classifiers whose ``predict`` takes routed ``sensitive_features``.
* :class:`BasePostProcessor`: owns ``fit`` / ``predict`` / ``predict_proba`` / ``score``,
  metadata routing to the wrapped estimator (a router, like scikit-learn's
  ``FixedThresholdClassifier``) and the sample-weight policy. A post-processor implements
  ``_fit_rule(X_model, y01, codes, sample_weight)`` and ``_positive_probability(X_model,
  codes)`` (and ``_predict01`` when its decision is not a draw from that probability).
* :class:`FairTransformerMixin`: splitting ``X`` into protected and feature columns,
  putting the output back together, ``get_feature_names_out`` and ``set_output``.

Naming standard (every public estimator): ``prot_attr`` is keyword-only; metadata
(``sensitive_features``, ``sample_weight``) is keyword-only in ``fit`` / ``predict`` /
``transform`` / ``score``; fitted attributes are ``groups_`` (group labels in code order),
``prot_attr_names_`` (names of the protected attributes), ``privileged_groups_`` (boolean
mask over ``groups_``, where a method has a privileged group), ``classes_``, ``pos_label_``,
``n_features_in_``, ``feature_names_in_``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, TransformerMixin
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._protected import ProtectedData, resolve_protected
from ._validation import FairData, map_to_fitted_groups, validate_fair_data
from .utils._outputs import (
    classifier_tags,
    fit_or_check_estimator,
    hard_positive,
    labels_from01,
    positive_scores,
    proba_columns,
)

__all__ = ["BasePostProcessor", "FairClassifierMixin", "FairEstimatorMixin",
           "FairTransformerMixin", "map_to_fitted_groups"]


class FairEstimatorMixin:
    """Resolve ``self.prot_attr`` / routed ``sensitive_features`` and validate the data."""

    def _validate_fair_data(self, X, y=None, **kwargs) -> FairData:
        return validate_fair_data(self, X, y, **kwargs)

    def _resolve_protected(
        self, X, sensitive_features=None, *, drop=False, require_groups=True, min_groups=1
    ) -> ProtectedData:
        return resolve_protected(
            X,
            prot_attr=getattr(self, "prot_attr", None),
            sensitive_features=sensitive_features,
            drop=drop,
            require_groups=require_groups,
            min_groups=min_groups,
        )


class FairClassifierMixin:
    """``score`` that forwards routed ``sensitive_features`` to ``predict``."""

    def score(self, X, y, sample_weight=None, *, sensitive_features=None):
        """Accuracy of ``predict(X, sensitive_features=...)`` against ``y``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        sensitive_features : array-like, default=None
            Routed protected attribute(s), when ``prot_attr`` is None.

        Returns
        -------
        float
        """
        pred = self.predict(X, sensitive_features=sensitive_features)
        return accuracy_score(y, pred, sample_weight=sample_weight)


class BasePostProcessor(FairEstimatorMixin, FairClassifierMixin, MetaEstimatorMixin,
                        ClassifierMixin, BaseEstimator):
    """Template for post-processors: a fitted (or fitted here) model plus a group rule.

    Subclasses set the class attributes below and implement ``_fit_rule`` and
    ``_positive_probability``; everything else (checking ``X``, ``y``, weights and the
    protected attribute, fitting the wrapped model, routing, ``predict``, ``score``) is here.
    Subclasses need the parameters ``estimator``, ``prot_attr``, ``prefit``, ``pos_label``,
    ``drop_prot_attr`` (and ``random_state`` when ``_randomized``).
    """

    #: What the rule reads from the wrapped model: ``"proba"`` (favourable-class
    #: probability), ``"label"`` (0/1 hard decision) or None (the rule reads it itself).
    _estimator_output = "proba"
    #: Whether the rule honours ``sample_weight`` (a weighted fit equals a fit on repeated
    #: rows); if False a weighted fit is refused with an error naming the method.
    _rule_accepts_sample_weight = True
    #: Whether ``predict`` draws from ``_positive_probability`` (else ``_predict01``).
    _randomized = True

    # -- template ---------------------------------------------------------------------
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the wrapped model (unless ``prefit``) and the group rule on ``(X, y)``.

        A post-processor whose rule has no weighted form overrides this signature without
        ``sample_weight`` and sets ``_rule_accepts_sample_weight = False``: a
        ``sample_weight`` given anyway is refused with an error.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rule's fit (a weighted fit equals a fit on rows repeated by
            their weight); also passed to the wrapped model's ``fit`` unless metadata
            routing is enabled, in which case it goes where it was requested.
        **fit_params : dict
            Passed to ``estimator.fit`` (routed when metadata routing is enabled).

        Returns
        -------
        self
        """
        self._validate_params()
        if hasattr(self, "_check_params"):
            self._check_params()
        rule_weight = sample_weight
        if not self._rule_accepts_sample_weight:
            # under metadata routing the weights go only where they were requested
            rule_weight = None
            if sample_weight is not None and not _routing_enabled():
                raise ValueError(
                    f"{type(self).__name__} cannot use sample_weight: its rule has no "
                    "weighted form. Fit it without sample_weight (weights for the wrapped "
                    "model alone can be routed with sklearn.set_config("
                    "enable_metadata_routing=True) and "
                    "estimator.set_fit_request(sample_weight=True))."
                )
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, sample_weight=rule_weight,
            reset=True, min_groups=2, drop=self.drop_prot_attr, target="binary",
            pos_label=self.pos_label, accept_sparse=True,
        )
        if data.sample_weight is not None and (data.sample_weight < 0).any():
            # a negative weight has no "repeated rows" meaning; the rules' rates would be
            # meaningless (or outside [0, 1])
            bad = data.sample_weight[data.sample_weight < 0][0]
            raise ValueError(
                f"{type(self).__name__}: sample_weight must be non-negative; got a weight of "
                f"{float(bad)!r}."
            )
        est_params = self._estimator_fit_params(sample_weight, fit_params)
        self.estimator_ = fit_or_check_estimator(self, data.X, y, est_params)
        self._fit_rule(data.X, data.y, data.codes, data.sample_weight)
        return self

    def _fit_rule(self, X_model, y01, codes, sample_weight):  # pragma: no cover - abstract
        raise NotImplementedError

    def _positive_probability(self, X_model, codes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict01(self, X_model, codes):
        """0/1 decisions; by default a draw from ``_positive_probability``."""
        p = self._positive_probability(X_model, codes)
        rng = check_random_state(self.random_state)
        return rng.random_sample(len(p)) < p

    # -- helpers for subclasses -------------------------------------------------------
    def _model_output(self, X_model):
        """The wrapped model's output that the rule reads (see ``_estimator_output``)."""
        if self._estimator_output == "label":
            return hard_positive(self, self.estimator_, X_model, self.pos_label_)
        return positive_scores(self, self.estimator_, X_model, self.pos_label_)

    def _predict_input(self, X, sensitive_features):
        check_is_fitted(self)
        data = self._validate_fair_data(
            X, sensitive_features=sensitive_features, reset=False,
            drop=self.drop_prot_attr, accept_sparse=True,
        )
        return data.X, data.codes

    # -- public prediction API --------------------------------------------------------
    def predict_proba(self, X, *, sensitive_features=None):
        """Probability of each class (order of ``classes_``) under the post-processed rule.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        X_model, codes = self._predict_input(X, sensitive_features)
        p = self._positive_probability(X_model, codes)
        return proba_columns(self.classes_, self.pos_label_, p)

    def predict(self, X, *, sensitive_features=None):
        """Post-processed labels (random draws use ``random_state`` where the rule is
        randomised, so an int seed gives the same output on every call).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X_model, codes = self._predict_input(X, sensitive_features)
        return labels_from01(self.classes_, self.pos_label_, self._predict01(X_model, codes))

    # -- routing ----------------------------------------------------------------------
    def _estimator_fit_params(self, sample_weight, fit_params):
        """Parameters for ``estimator.fit``: routed when routing is enabled, else all."""
        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight, **fit_params)
            params = dict(routed.estimator.fit)
        else:
            params = dict(fit_params)
            if sample_weight is not None:
                params["sample_weight"] = sample_weight
        if getattr(self, "prefit", False):
            params.pop("sample_weight", None)  # the rule uses it; the model is not refitted
        return params

    def get_metadata_routing(self):
        """Routing of this post-processor: its own metadata plus the wrapped model's ``fit``.

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

    def __sklearn_tags__(self):
        tags = classifier_tags(super().__sklearn_tags__(), self.estimator)
        # the rule gives up training accuracy for the fairness constraint by design
        tags.classifier_tags.poor_score = True
        return tags


class FairTransformerMixin(FairEstimatorMixin, TransformerMixin):
    """Split ``X`` into feature and protected columns; put the output back together.

    A transformer calls :meth:`_split` in ``fit`` (``reset=True``) and ``transform``
    (``reset=False``), transforms the float feature block, and returns
    :meth:`_assemble`. The protected columns are passed through unchanged or, with
    ``drop_prot_attr=True``, left out; ``get_feature_names_out`` and ``set_output`` follow.
    """

    def _split(self, X, sensitive_features=None, *, reset, protected="groups", min_groups=1):
        """Validate ``X``; return the :class:`FairData` whose ``X`` is the float feature
        block (protected columns removed)."""
        data = self._validate_fair_data(
            X, sensitive_features=sensitive_features, reset=reset, protected=protected,
            min_groups=min_groups, drop=True, features="numeric", map_groups=False,
        )
        if reset:
            self._prot_idx = list(data.prot_idx)
        return data

    def _kept_idx(self):
        prot = set(getattr(self, "_prot_idx", []))
        if getattr(self, "drop_prot_attr", False):
            return [j for j in range(self.n_features_in_) if j not in prot]
        return list(range(self.n_features_in_))

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the input names, without the protected columns when they
        are dropped.

        Parameters
        ----------
        input_features : array-like of str, default=None

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray([names[j] for j in self._kept_idx()], dtype=object)

    def _assemble(self, X, Xf_out, data):
        """Put the transformed features back at their positions in ``X``.

        Protected columns pass through unchanged unless ``drop_prot_attr``: the result stays
        a float array when they are numeric; with non-numeric protected values it is a
        DataFrame (``set_output(transform="pandas")``) or an object array (default output),
        like scikit-learn's ``ColumnTransformer`` passthrough.
        """
        feature_idx, prot_idx = data.feature_idx, data.prot_idx
        if getattr(self, "drop_prot_attr", False) or not prot_idx:
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
        pandas_out = _get_output_config("transform", self)["dense"] == "pandas"
        if pandas_out and not numeric:
            columns = self.get_feature_names_out()
            out = {}
            feat_pos = {j: k for k, j in enumerate(feature_idx)}
            for j in range(n_cols):
                out[columns[j]] = prot_cols[j] if j in prot_cols else Xf_out[:, feat_pos[j]]
            index = X.index if isinstance(X, pd.DataFrame) else None
            return pd.DataFrame(out, index=index)
        out = np.empty((Xf_out.shape[0], n_cols), dtype=np.float64 if numeric else object)
        out[:, feature_idx] = Xf_out
        for j, v in prot_cols.items():
            out[:, j] = v
        return out
