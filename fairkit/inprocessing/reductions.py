"""Reductions approach (Agarwal et al. 2018, 2019): fairlearn's ExponentiatedGradient and
GridSearch under fairkit's protected-attribute contract.

The optimisation is fairlearn's; these wrappers read the protected attribute from ``X``
(``prot_attr``) or routed ``sensitive_features``, build the fairlearn constraint from a name,
map any binary labels to the 0/1 fairlearn expects and back, and behave as scikit-learn
estimators (clone, pickle, ``Pipeline``, ``GridSearchCV``).
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
from fairlearn.reductions import (
    AbsoluteLoss,
    BoundedGroupLoss,
    ClassificationMoment,
    DemographicParity,
    EqualizedOdds,
    ErrorRateParity,
    ExponentiatedGradient,
    FalsePositiveRateParity,
    GridSearch,
    Moment,
    SquareLoss,
    TruePositiveRateParity,
    ZeroOneLoss,
)
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..base import ProtectedAttributeMixin
from ..postprocessing._meta import (
    binary_target,
    check_input,
    labels_from01,
    proba_columns,
    resolve_groups,
)

__all__ = ["ExponentiatedGradientReduction", "GridSearchReduction"]

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

_CONSTRAINT_DOC = """
    constraints : str or fairlearn Moment, default="demographic_parity"
        ``"demographic_parity"``, ``"equalized_odds"``, ``"true_positive_rate_parity"``,
        ``"false_positive_rate_parity"``, ``"error_rate_parity"`` (binary classification) or
        ``"bounded_group_loss"`` (regression, or classification with ``loss="zero_one"``);
        or a ``fairlearn.reductions.Moment`` instance, deep-copied at every fit.
    difference_bound, ratio_bound : float or None, default=None
        Bound of the parity constraints (fairlearn's defaults: ``difference_bound=0.01``
        when both are None). ``ratio_bound_slack`` goes with ``ratio_bound``.
    ratio_bound_slack : float, default=0.0
    upper_bound : float or None, default=None
        Bound on each group's mean loss for ``"bounded_group_loss"`` (required there).
    loss : {"square", "absolute", "zero_one"}, default="square"
        Loss of ``"bounded_group_loss"``; ``"square"`` and ``"absolute"`` are scaled by the
        range of ``y`` seen in ``fit`` (fairlearn's ``SquareLoss(min(y), max(y))``).
"""


class _ReductionBase(ProtectedAttributeMixin, MetaEstimatorMixin, BaseEstimator):
    """Common fit/predict plumbing of the two reductions.

    Groups are needed in ``fit`` only: the fitted predictors use ``X`` alone, so ``predict``
    reads the protected columns only to drop them (``drop_prot_attr=True``) and a group
    unseen in ``fit`` is not an error there.
    """

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

    def _prepare_fit(self, X, y, sensitive_features):
        self._validate_params()
        X = check_input(self, X, reset=True, accept_sparse=False)
        if self._is_classification():
            self.classes_, self.pos_label_, y_fit = binary_target(self, y, self.pos_label)
        else:
            y_fit = np.asarray(y, dtype=np.float64)
            y_fit = column_or_1d(y_fit, warn=True) if y_fit.ndim == 2 else y_fit
            if not np.all(np.isfinite(y_fit)):
                raise ValueError("y contains NaN or infinity.")
        X_model, codes = resolve_groups(self, X, sensitive_features, fit=True, y=y_fit)
        return X_model, y_fit, codes, self._build_moment(y_fit)

    def _model_input(self, X, sensitive_features):
        check_is_fitted(self)
        X = check_input(self, X, reset=False, accept_sparse=False)
        if self.drop_prot_attr and self.prot_attr is not None:
            return self._resolve_protected(X, sensitive_features, drop=True).X
        return X

    def _to_labels(self, pred):
        if not self._is_classification():
            return np.asarray(pred, dtype=np.float64)
        return labels_from01(self.classes_, self.pos_label_, np.asarray(pred) == 1)

    def score(self, X, y, sample_weight=None, sensitive_features=None):
        """Accuracy (classification) or R^2 (regression) of ``predict``."""
        pred = self.predict(X, sensitive_features=sensitive_features)
        if self._is_classification():
            return accuracy_score(y, pred, sample_weight=sample_weight)
        return r2_score(y, pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self._is_classification():
            tags.estimator_type = "classifier"
            from sklearn.utils import ClassifierTags

            tags.classifier_tags = ClassifierTags(multi_class=False)
            tags.regressor_tags = None
        else:
            from sklearn.utils import RegressorTags

            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            tags.classifier_tags = None
        if self.estimator is not None:
            inner = self.estimator.__sklearn_tags__()
            tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags


class ExponentiatedGradientReduction(_ReductionBase):
    r"""Fair classification or regression by exponentiated gradient (fairlearn).

    Agarwal et al. (2018) cast a fairness constraint :math:`M\mu(h) \le c` as a saddle point

    .. math::

        \min_{Q \in \Delta(\mathcal{H})} \max_{\lambda \ge 0,\ \|\lambda\|_1 \le B}
        \ \mathrm{err}(Q) + \lambda^\top (M\mu(Q) - c),

    solved by exponentiated-gradient updates of :math:`\lambda` against best responses
    :math:`h` of the base learner on reweighted, relabelled data. The result is a
    randomised classifier :math:`Q` (a distribution over the fitted predictors).
    This class wraps :class:`fairlearn.reductions.ExponentiatedGradient`: same algorithm,
    same numbers, but the groups come from ``prot_attr`` or routed ``sensitive_features``.

    Parameters
    ----------
    estimator : estimator accepting sample weights in ``fit``
        Base learner; a ``Pipeline`` on raw data works with
        ``sample_weight_name="<step>__sample_weight"``.
    prot_attr : str, int or list, default=None
    %(constraints)s
    eps : float, default=0.01
        Allowed constraint violation (:math:`B = 1/\epsilon`).
    max_iter : int, default=50
    nu : float or None, default=None
    eta0 : float, default=2.0
    run_linprog_step : bool, default=True
    sample_weight_name : str, default="sample_weight"
    pos_label : scalar, default=None
        Favourable label (mapped to fairlearn's 1); None means the greater class.
    drop_prot_attr : bool, default=False
        Remove the ``prot_attr`` columns from ``X`` before the base learner sees it (in
        ``fit`` and ``predict``). The groups themselves are used in ``fit`` only.
    random_state : int, RandomState or None, default=None
        Seed of the randomised predictions (fairlearn's ``predict(random_state=...)``).

    Attributes
    ----------
    reduction_ : fairlearn.reductions.ExponentiatedGradient
        The fitted fairlearn object (its ``predictors_``, ``weights_``, ``best_gap_``, ...).
    n_iter_ : int
        Number of exponentiated-gradient iterations run.
    groups_ : list
    classes_ : ndarray of shape (2,)
        Classification only.
    pos_label_ : scalar
    n_features_in_, feature_names_in_

    References
    ----------
    .. [1] A. Agarwal, A. Beygelzimer, M. Dudik, J. Langford, H. Wallach, "A Reductions
       Approach to Fair Classification", ICML 2018.
    .. [2] A. Agarwal, M. Dudik, Z. S. Wu, "Fair Regression: Quantitative Definitions and
       Reduction-based Algorithms", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.inprocessing import ExponentiatedGradientReduction
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 300); x = rng.normal(size=300) + a
    >>> y = (x + rng.normal(size=300) > 0.5).astype(int)
    >>> eg = ExponentiatedGradientReduction(LogisticRegression(), prot_attr=0, max_iter=10,
    ...                                     random_state=0).fit(np.c_[a, x], y)
    >>> eg.predict(np.c_[a, x]).shape
    (300,)
    """

    _parameter_constraints = {
        **_SHARED_CONSTRAINTS,
        "eps": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "nu": [Interval(Real, 0, None, closed="neither"), None],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "run_linprog_step": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, constraints="demographic_parity",
                 difference_bound=None, ratio_bound=None, ratio_bound_slack=0.0,
                 upper_bound=None, loss="square", eps=0.01, max_iter=50, nu=None, eta0=2.0,
                 run_linprog_step=True, sample_weight_name="sample_weight", pos_label=None,
                 drop_prot_attr=False, random_state=None):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.constraints = constraints
        self.difference_bound = difference_bound
        self.ratio_bound = ratio_bound
        self.ratio_bound_slack = ratio_bound_slack
        self.upper_bound = upper_bound
        self.loss = loss
        self.eps = eps
        self.max_iter = max_iter
        self.nu = nu
        self.eta0 = eta0
        self.run_linprog_step = run_linprog_step
        self.sample_weight_name = sample_weight_name
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    def fit(self, X, y, sensitive_features=None):
        """Run exponentiated gradient with the groups of ``X`` / ``sensitive_features``.

        Returns
        -------
        self
        """
        X_model, y_fit, codes, moment = self._prepare_fit(X, y, sensitive_features)
        self.reduction_ = ExponentiatedGradient(
            self.estimator, moment, eps=self.eps, max_iter=self.max_iter, nu=self.nu,
            eta0=self.eta0, run_linprog_step=self.run_linprog_step,
            sample_weight_name=self.sample_weight_name,
        ).fit(X_model, y_fit, sensitive_features=codes)
        self.n_iter_ = self.reduction_.last_iter_ + 1
        return self

    def predict(self, X, sensitive_features=None):
        """Randomised predictions, drawn as fairlearn does with ``random_state``."""
        X_model = self._model_input(X, sensitive_features)
        rng = check_random_state(self.random_state)
        return self._to_labels(self.reduction_.predict(X_model, random_state=rng))

    @available_if(lambda self: self._is_classification_moment())
    def predict_proba(self, X, sensitive_features=None):
        """Probability of each class under the randomised classifier ``Q``."""
        X_model = self._model_input(X, sensitive_features)
        pmf = np.asarray(self.reduction_._pmf_predict(X_model))
        return proba_columns(self.classes_, self.pos_label_, pmf[:, 1])


class GridSearchReduction(_ReductionBase):
    r"""Fair classification or regression by a grid search over Lagrange multipliers
    (fairlearn).

    For each :math:`\lambda` on a grid the base learner is fitted to the Lagrangian
    :math:`\mathrm{err}(h) + \lambda^\top M\mu(h)` (reweighted, relabelled data); the
    predictor minimising ``constraint_weight`` :math:`\times` disparity
    :math:`+ (1 -` ``constraint_weight`` :math:`) \times` error is kept (Agarwal et al. 2018,
    sec. 3.4). Deterministic. Wraps :class:`fairlearn.reductions.GridSearch`.

    Parameters
    ----------
    estimator : estimator accepting sample weights in ``fit``
    prot_attr : str, int or list, default=None
    %(constraints)s
    selection_rule : {"tradeoff_optimization"}, default="tradeoff_optimization"
    constraint_weight : float, default=0.5
    grid_size : int, default=10
    grid_limit : float, default=2.0
    grid_offset : pandas.Series or None, default=None
    grid : pandas.DataFrame or None, default=None
        Explicit grid of Lagrange multipliers (overrides ``grid_size`` etc.).
    sample_weight_name : str, default="sample_weight"
    pos_label : scalar, default=None
    drop_prot_attr : bool, default=False

    Attributes
    ----------
    reduction_ : fairlearn.reductions.GridSearch
        The fitted fairlearn object (``predictors_``, ``best_idx_``, ``lambda_vecs_``, ...).
    groups_, classes_, pos_label_, n_features_in_, feature_names_in_

    References
    ----------
    .. [1] A. Agarwal, A. Beygelzimer, M. Dudik, J. Langford, H. Wallach, "A Reductions
       Approach to Fair Classification", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.inprocessing import GridSearchReduction
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 300); x = rng.normal(size=300) + a
    >>> y = (x + rng.normal(size=300) > 0.5).astype(int)
    >>> gs = GridSearchReduction(LogisticRegression(), prot_attr=0, grid_size=5).fit(
    ...     np.c_[a, x], y)
    >>> len(gs.reduction_.predictors_)
    5
    """

    _parameter_constraints = {
        **_SHARED_CONSTRAINTS,
        "selection_rule": [StrOptions({"tradeoff_optimization"})],
        "constraint_weight": [Interval(Real, 0, 1, closed="both")],
        "grid_size": [Interval(Integral, 1, None, closed="left")],
        "grid_limit": [Interval(Real, 0, None, closed="neither")],
        "grid_offset": "no_validation",
        "grid": "no_validation",
    }

    def __init__(self, estimator=None, *, prot_attr=None, constraints="demographic_parity",
                 difference_bound=None, ratio_bound=None, ratio_bound_slack=0.0,
                 upper_bound=None, loss="square", selection_rule="tradeoff_optimization",
                 constraint_weight=0.5, grid_size=10, grid_limit=2.0, grid_offset=None,
                 grid=None, sample_weight_name="sample_weight", pos_label=None,
                 drop_prot_attr=False):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.constraints = constraints
        self.difference_bound = difference_bound
        self.ratio_bound = ratio_bound
        self.ratio_bound_slack = ratio_bound_slack
        self.upper_bound = upper_bound
        self.loss = loss
        self.selection_rule = selection_rule
        self.constraint_weight = constraint_weight
        self.grid_size = grid_size
        self.grid_limit = grid_limit
        self.grid_offset = grid_offset
        self.grid = grid
        self.sample_weight_name = sample_weight_name
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr

    def fit(self, X, y, sensitive_features=None):
        """Fit one base learner per grid point and keep the best trade-off.

        Returns
        -------
        self
        """
        X_model, y_fit, codes, moment = self._prepare_fit(X, y, sensitive_features)
        self.reduction_ = GridSearch(
            self.estimator, moment, selection_rule=self.selection_rule,
            constraint_weight=self.constraint_weight, grid_size=self.grid_size,
            grid_limit=self.grid_limit, grid_offset=self.grid_offset, grid=self.grid,
            sample_weight_name=self.sample_weight_name,
        ).fit(X_model, y_fit, sensitive_features=codes)
        return self

    def predict(self, X, sensitive_features=None):
        """Predictions of the selected base learner."""
        X_model = self._model_input(X, sensitive_features)
        return self._to_labels(self.reduction_.predict(X_model))

    @available_if(lambda self: self._is_classification() and hasattr(self.estimator,
                                                                      "predict_proba"))
    def predict_proba(self, X, sensitive_features=None):
        """Class probabilities of the selected base learner."""
        X_model = self._model_input(X, sensitive_features)
        proba = np.asarray(self.reduction_.predict_proba(X_model))
        return proba_columns(self.classes_, self.pos_label_, proba[:, 1])


for _cls in (ExponentiatedGradientReduction, GridSearchReduction):
    _cls.__doc__ = _cls.__doc__.replace("    %(constraints)s\n", _CONSTRAINT_DOC.lstrip("\n"))
