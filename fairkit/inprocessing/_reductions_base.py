"""The shared machinery of fairkit's two reductions (:mod:`fairkit.inprocessing._reductions`).

Constraint names and their fairlearn moments, the parameter constraints and the docstring
fragment the two estimators share, the sample-weight policy, and :class:`_ReductionBase`
(validation, moment building, group re-indexing, prediction input, scoring, routing, tags).
"""

from __future__ import annotations

import copy
from numbers import Real

import numpy as np
import pandas as pd
from fairlearn.reductions import (
    AbsoluteLoss,
    BoundedGroupLoss,
    ClassificationMoment,
    DemographicParity,
    EqualizedOdds,
    ErrorRateParity,
    FalsePositiveRateParity,
    Moment,
    SquareLoss,
    TruePositiveRateParity,
    ZeroOneLoss,
)
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import check_is_fitted

from .._validation import _key
from ..base import FairClassifierMixin, FairEstimatorMixin, FairRegressorMixin, warn_if_constant
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01

__all__: list[str] = []

_PARITY = {
    "demographic_parity": DemographicParity,
    "equalized_odds": EqualizedOdds,
    "true_positive_rate_parity": TruePositiveRateParity,
    "false_positive_rate_parity": FalsePositiveRateParity,
    "error_rate_parity": ErrorRateParity,
}
_LOSSES = {"square": SquareLoss, "absolute": AbsoluteLoss, "zero_one": ZeroOneLoss}

_SHARED_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "predict"])],
    "prot_attr": "no_validation",
    "constraints": [StrOptions(set(_PARITY) | {"bounded_group_loss"}), Moment],
    "difference_bound": [Interval(Real, 0, None, closed="neither"), None],
    "ratio_bound": [Interval(Real, 0, 1, closed="right"), None],
    "ratio_bound_slack": [Interval(Real, 0, None, closed="left")],
    "upper_bound": [Interval(Real, 0, None, closed="neither"), None],
    "loss": [StrOptions(set(_LOSSES))],
    "pos_label": "no_validation",
    "drop_prot_attr": ["boolean"],
    "sample_weight_name": [str],
}

_CONSTRAINT_DOC = """\
constraints : str or fairlearn Moment, default="demographic_parity"
    ``"demographic_parity"``, ``"equalized_odds"``, ``"true_positive_rate_parity"``,
    ``"false_positive_rate_parity"``, ``"error_rate_parity"`` (binary classification) or
    ``"bounded_group_loss"`` (regression, or classification with ``loss="zero_one"``);
    or a ``fairlearn.reductions.Moment`` instance, deep-copied at every fit (for
    exponentiated gradient, a Moment other than these classes runs fairlearn's own
    ``ExponentiatedGradient``).
difference_bound, ratio_bound : float or None, default=None
    Bound of the parity constraints (fairlearn's defaults: ``difference_bound=0.01``
    when both are None). ``ratio_bound_slack`` goes with ``ratio_bound``.
ratio_bound_slack : float, default=0.0
upper_bound : float or None, default=None
    Bound on each group's mean loss for ``"bounded_group_loss"`` (required there).
loss : {"square", "absolute", "zero_one"}, default="square"
    Loss of ``"bounded_group_loss"``; ``"square"`` and ``"absolute"`` are scaled by the
    range of ``y`` seen in ``fit`` (fairlearn's ``SquareLoss(min(y), max(y))``)."""


def _learner_tags(estimator):
    """The learner's scikit-learn tags, or None for a plain learner (fit/predict only)."""
    try:
        return estimator.__sklearn_tags__()
    except AttributeError:
        # fairlearn only needs fit(X, y, sample_weight) and predict(X); a learner that does
        # not derive from BaseEstimator has no tags to inherit, so the defaults stay
        return None


def _refuse_fit_metadata(est, fit_params):
    """The reductions' sample-weight policy: refuse weights and fit parameters clearly.

    fairlearn's moments (0.15), which define the constraints, estimate group rates without
    weights, and the reduction calls the learner's ``fit`` itself, with its own weights
    under ``sample_weight_name`` and nothing else, so anything given here could only be
    dropped silently. ``sample_weight`` is not
    in the signature (scikit-learn reads the signature to decide whether weights are
    supported); it arrives in ``fit_params`` and is refused by name.
    """
    name = type(est).__name__
    fit_params = dict(fit_params)
    if fit_params.pop("sample_weight", None) is not None:
        raise ValueError(
            f"{name} cannot use sample_weight: fairlearn's reductions have no weighted form "
            "of their constraints, and the learner is fitted with the reduction's own "
            f"weights (sample_weight_name={est.sample_weight_name!r}). Fit without "
            "sample_weight, or resample the rows by their weights first."
        )
    if fit_params:
        raise ValueError(
            f"{name} cannot pass fit parameters {sorted(fit_params)} to the learner: "
            "the reduction fits it with only X, y and its own weights. Set them as "
            "constructor parameters of the learner instead."
        )


_reduction_docstring = fair_docstring.extend(constraints=_CONSTRAINT_DOC)


class _ReductionBase(FairEstimatorMixin, FairClassifierMixin, MetaEstimatorMixin,
                     BaseEstimator):
    """Common fit/predict plumbing of the two reductions.

    Groups are needed in ``fit`` only: the fitted predictors use ``X`` alone, so ``predict``
    reads the protected columns only to drop them (``drop_prot_attr=True``) and a group
    unseen in ``fit`` is not an error there.
    """

    #: True for a randomised classifier over ``predictors_`` / ``weights_``
    _randomised = False

    def _build_moment(self, y):
        if isinstance(self.constraints, Moment):
            return copy.deepcopy(self.constraints)
        if self.constraints == "bounded_group_loss":
            if self.upper_bound is None:
                raise ValueError(
                    "constraints='bounded_group_loss' needs upper_bound (the largest mean "
                    "loss allowed in any group); got upper_bound=None."
                )
            if self.loss == "zero_one":
                loss = ZeroOneLoss()
            else:
                y = np.asarray(y, dtype=np.float64)
                loss = _LOSSES[self.loss](float(y.min()), float(y.max()))
            return BoundedGroupLoss(loss, upper_bound=self.upper_bound)
        kwargs = {"ratio_bound_slack": self.ratio_bound_slack}
        if self.difference_bound is not None:
            kwargs["difference_bound"] = self.difference_bound
        if self.ratio_bound is not None:
            kwargs["ratio_bound"] = self.ratio_bound
        return _PARITY[self.constraints](**kwargs)

    def _is_classification(self):
        if isinstance(self.constraints, Moment):
            return isinstance(self.constraints, ClassificationMoment) or (
                getattr(self.constraints, "reduction_loss", None).__class__ is ZeroOneLoss)
        return self.constraints != "bounded_group_loss" or self.loss == "zero_one"

    def _is_classification_moment(self):
        if isinstance(self.constraints, Moment):
            return isinstance(self.constraints, ClassificationMoment)
        return self.constraints in _PARITY

    def _prepare_fit(self, X, y, sensitive_features, fit_params):
        self._validate_params()
        if fit_params and _routing_enabled():
            # scikit-learn's own routing errors first (a learner that has not said whether
            # it wants a parameter is an UnsetMetadataPassedError naming it)
            process_routing(self, "fit", **fit_params)
        _refuse_fit_metadata(self, fit_params)
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, reset=True, min_groups=2,
            drop=self.drop_prot_attr,
            target="binary" if self._is_classification() else "continuous",
            pos_label=self.pos_label,
        )
        return data.X, data.y, data.codes, self._build_moment(data.y)

    def _warn_if_constant(self, X_model, y_fit, params, advice, train_pmf=None):
        """``ConstantFitWarning`` when the fitted reduction is constant on the training rows
        (see :func:`fairkit.base.warn_if_constant`); a randomised classifier is constant
        when its probability of the favourable label is the same on every row.
        ``train_pmf``: its ``_pmf_predict`` on the training rows, when already known."""
        randomised = self._randomised
        if not self._is_classification():
            if randomised:
                pred = self._pmf_predict(X_model) if train_pmf is None else train_pmf
                scores = pred[:, self.weights_ > 0]
            else:
                scores = np.asarray(self.reduction_.predict(X_model), dtype=np.float64)
            return warn_if_constant(self, scores, y=y_fit, params=params, advice=advice,
                                    stacklevel=4)
        if randomised:
            pmf = self._pmf_predict(X_model) if train_pmf is None else train_pmf
            if self._is_classification_moment():
                p = pmf[:, 1]
            else:  # one 0/1 column per predictor of Q
                p = pmf @ self.weights_
            # expected accuracy of the randomised classifier Q
            y1 = np.asarray(y_fit) == 1
            acc = float(np.mean(np.where(y1, p, 1.0 - p)))
            majority = float(max(y1.mean(), 1.0 - y1.mean()))
            if y1.all() or not y1.any():
                return False
            return warn_if_constant(
                self, p, params=params, stacklevel=4,
                advice=(f"Q gives the favourable label with probability {p[0]:.4g} on every "
                        f"row: expected training accuracy {acc:.4f} against a majority-class "
                        f"rate of {majority:.4f}. " + advice))
        red = self.reduction_
        y_labels = self._to_labels(np.asarray(y_fit) == 1)
        pred = self._to_labels(np.asarray(red.predict(X_model)) == 1)
        return warn_if_constant(self, y=y_labels, predictions=pred, params=params,
                                advice=advice, stacklevel=4)

    def _group_indexed(self, obj, name):
        """``obj`` (fairlearn's layout: a ``group_id`` index level holding the user's group
        labels) re-indexed by fairkit's group codes, which are what fairlearn sees."""
        if obj is None:
            return None
        if not isinstance(obj, (pd.Series, pd.DataFrame)):
            raise ValueError(
                f"{name} must be a pandas Series or DataFrame indexed like fairlearn's "
                f"constraint (with a 'group_id' level); got {type(obj).__name__}."
            )
        index = obj.index
        if "group_id" not in list(index.names):
            raise ValueError(
                f"{name} must be indexed like fairlearn's constraint, with a 'group_id' "
                f"index level holding the group labels; its index levels are "
                f"{list(index.names)}."
            )
        lookup = {_key(label): code for code, label in enumerate(self.groups_)}

        def code(label):
            k = _key(label)
            if k not in lookup:
                raise ValueError(
                    f"{name} refers to group {label!r}, which is not a group of the "
                    f"protected attribute (groups seen in fit: {self.groups_!r})."
                )
            return lookup[k]

        if isinstance(index, pd.MultiIndex):
            level = list(index.names).index("group_id")
            new = pd.MultiIndex.from_tuples(
                [t[:level] + (code(t[level]),) + t[level + 1:] for t in index],
                names=index.names)
        else:
            new = pd.Index([code(v) for v in index], name=index.name)
        out = obj.copy()
        out.index = new
        return out

    def _model_input(self, X, sensitive_features):
        check_is_fitted(self)
        data = self._validate_fair_data(
            X, sensitive_features=sensitive_features, reset=False,
            protected="columns" if self.drop_prot_attr else "none",
            drop=self.drop_prot_attr, map_groups=False,
        )
        return data.X

    def _to_labels(self, pred):
        if not self._is_classification():
            return np.asarray(pred, dtype=np.float64)
        return labels_from01(self.classes_, self.pos_label_, np.asarray(pred) == 1)

    def score(self, X, y, sample_weight=None, *, sensitive_features=None):
        """Accuracy (classification) or :math:`R^2` (regression) of ``predict``.

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
        if self._is_classification():
            return super().score(X, y, sample_weight, sensitive_features=sensitive_features)
        return FairRegressorMixin.score(self, X, y, sample_weight,
                                        sensitive_features=sensitive_features)

    def get_metadata_routing(self):
        """Routing of this reduction: its own metadata plus the learner's ``fit``.

        fairlearn fits the learner with the reduction's weights only, so metadata routed to
        the learner is refused in ``fit`` rather than dropped.

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
        tags = super().__sklearn_tags__()
        if self._is_classification():
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False)
            tags.regressor_tags = None
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            tags.classifier_tags = None
        inner = _learner_tags(self.estimator) if self.estimator is not None else None
        if inner is not None:
            tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags
