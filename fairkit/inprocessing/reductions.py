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
import pandas as pd
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
from sklearn.metrics import r2_score
from sklearn.utils import ClassifierTags, RegressorTags, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import _key
from ..base import FairClassifierMixin, FairEstimatorMixin
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01, proba_columns

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

_CONSTRAINT_DOC = """\
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

    fairlearn's moments (0.15) estimate group rates without weights and fairlearn calls the
    learner's ``fit`` itself, with its own weights under ``sample_weight_name`` and nothing
    else, so anything given here could only be dropped silently. ``sample_weight`` is not
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
            "fairlearn fits it with only X, y and the reduction's weights. Set them as "
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
        pred = self.predict(X, sensitive_features=sensitive_features)
        return r2_score(y, pred, sample_weight=sample_weight)

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


@_reduction_docstring
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
    estimator : estimator object
        Base learner with ``fit(X, y, sample_weight)`` and ``predict(X)``; it need not
        derive from scikit-learn's ``BaseEstimator``. A ``Pipeline`` on raw data works with
        ``sample_weight_name="<step>__sample_weight"``.
    {prot_attr}
    {constraints}
    eps : float, default=0.01
        Allowed constraint violation (:math:`B = 1/\epsilon`).
    max_iter : int, default=50
        Largest number of exponentiated-gradient iterations.
    nu : float or None, default=None
        Convergence threshold of the duality gap (fairlearn's default when None).
    eta0 : float, default=2.0
        Initial step size of the multiplier updates.
    run_linprog_step : bool, default=True
        Solve fairlearn's linear program over the predictors found at each iteration.
    sample_weight_name : str, default="sample_weight"
        Name of the weight argument of the learner's ``fit``.
    {pos_label}
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    reduction_ : fairlearn.reductions.ExponentiatedGradient
        The fitted fairlearn object (its ``predictors_``, ``weights_``, ``best_gap_``, ...);
        its groups are fairkit's group codes ``0 .. k-1``.
    n_iter_ : int
        Number of exponentiated-gradient iterations run.
    groups_ : list
        Group labels seen in ``fit``, in code order.
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray of shape (2,)
        Classification only.
    pos_label_ : scalar
        Classification only.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    ``sample_weight`` is refused: fairlearn's moments have no weighted form and the learner
    is fitted with the reduction's own weights. The groups are used in ``fit`` only; the
    protected columns are read in ``predict`` only to drop them (``drop_prot_attr=True``).

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

    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Run exponentiated gradient with the groups of ``X`` / ``sensitive_features``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary labels (classification) or real values (``"bounded_group_loss"``).
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        **fit_params : dict
            Refused with a ``ValueError``, ``sample_weight`` included (see Notes of the
            class): fairlearn passes the learner no fit parameters of the caller.

        Returns
        -------
        self
        """
        X_model, y_fit, codes, moment = self._prepare_fit(X, y, sensitive_features,
                                                          fit_params)
        self.reduction_ = ExponentiatedGradient(
            self.estimator, moment, eps=self.eps, max_iter=self.max_iter, nu=self.nu,
            eta0=self.eta0, run_linprog_step=self.run_linprog_step,
            sample_weight_name=self.sample_weight_name,
        ).fit(X_model, y_fit, sensitive_features=codes)
        self.n_iter_ = self.reduction_.last_iter_ + 1
        return self

    def predict(self, X, *, sensitive_features=None):
        """Randomised predictions, drawn as fairlearn does with ``random_state``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Not needed (the predictors read ``X`` alone); accepted for routing.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X_model = self._model_input(X, sensitive_features)
        rng = check_random_state(self.random_state)
        return self._to_labels(self.reduction_.predict(X_model, random_state=rng))

    @available_if(lambda self: self._is_classification_moment())
    def predict_proba(self, X, *, sensitive_features=None):
        """Probability of each class under the randomised classifier ``Q``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Not needed; accepted for routing.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns ordered as ``classes_``.
        """
        X_model = self._model_input(X, sensitive_features)
        pmf = np.asarray(self.reduction_._pmf_predict(X_model))
        return proba_columns(self.classes_, self.pos_label_, pmf[:, 1])


@_reduction_docstring
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
    estimator : estimator object
        Base learner with ``fit(X, y, sample_weight)`` and ``predict(X)``; it need not
        derive from scikit-learn's ``BaseEstimator``.
    {prot_attr}
    {constraints}
    selection_rule : {"tradeoff_optimization"}, default="tradeoff_optimization"
        How the predictor is chosen among the grid's.
    constraint_weight : float, default=0.5
        Weight of the disparity in the selection (the error gets ``1 - constraint_weight``).
    grid_size : int, default=10
        Number of grid points.
    grid_limit : float, default=2.0
        Largest L1 norm of a grid point.
    grid_offset : pandas.Series or None, default=None
        Shift of the whole grid, indexed like fairlearn's constraint (levels ``sign``,
        ``event``, ``group_id``; only ``group_id`` for ``"bounded_group_loss"``), with the
        protected attribute's own group labels in ``group_id``, as for fairlearn itself.
    grid : pandas.DataFrame or None, default=None
        Explicit grid of Lagrange multipliers (one column per grid point, indexed like
        ``grid_offset``); overrides ``grid_size``, ``grid_limit`` and ``grid_offset``.
    sample_weight_name : str, default="sample_weight"
        Name of the weight argument of the learner's ``fit``.
    {pos_label}
    {drop_prot_attr}

    Attributes
    ----------
    reduction_ : fairlearn.reductions.GridSearch
        The fitted fairlearn object (``predictors_``, ``best_idx_``, ``lambda_vecs_``, ...);
        its groups are fairkit's group codes ``0 .. k-1``.
    groups_ : list
        Group labels seen in ``fit``, in code order.
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray of shape (2,)
        Classification only.
    pos_label_ : scalar
        Classification only.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    ``sample_weight`` is refused: fairlearn's moments have no weighted form and the learner
    is fitted with the reduction's own weights. fairlearn is given group codes
    ``0 .. k-1``; ``grid_offset`` and ``grid`` are translated from the group labels to
    those codes.

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

    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Fit one base learner per grid point and keep the best trade-off.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary labels (classification) or real values (``"bounded_group_loss"``).
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        **fit_params : dict
            Refused with a ``ValueError``, ``sample_weight`` included (see Notes of the
            class): fairlearn passes the learner no fit parameters of the caller.

        Returns
        -------
        self
        """
        X_model, y_fit, codes, moment = self._prepare_fit(X, y, sensitive_features,
                                                          fit_params)
        # fairlearn sees codes 0 .. k-1, so multipliers given per user label must follow
        grid_offset = self._group_indexed(self.grid_offset, "grid_offset")
        grid = self._group_indexed(self.grid, "grid")
        self.reduction_ = GridSearch(
            self.estimator, moment, selection_rule=self.selection_rule,
            constraint_weight=self.constraint_weight, grid_size=self.grid_size,
            grid_limit=self.grid_limit, grid_offset=grid_offset, grid=grid,
            sample_weight_name=self.sample_weight_name,
        ).fit(X_model, y_fit, sensitive_features=codes)
        return self

    def predict(self, X, *, sensitive_features=None):
        """Predictions of the selected base learner.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Not needed (the predictor reads ``X`` alone); accepted for routing.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X_model = self._model_input(X, sensitive_features)
        return self._to_labels(self.reduction_.predict(X_model))

    @available_if(lambda self: self._is_classification() and hasattr(self.estimator,
                                                                      "predict_proba"))
    def predict_proba(self, X, *, sensitive_features=None):
        """Class probabilities of the selected base learner.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Not needed; accepted for routing.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns ordered as ``classes_``.
        """
        X_model = self._model_input(X, sensitive_features)
        proba = np.asarray(self.reduction_.predict_proba(X_model))
        return proba_columns(self.classes_, self.pos_label_, proba[:, 1])

