"""Reductions approach (Agarwal et al. 2018, 2019): exponentiated gradient (fairkit's own
loop, :mod:`fairkit.inprocessing._expgrad`) and fairlearn's GridSearch under fairkit's
protected-attribute contract.

Both read the protected attribute from ``X`` (``prot_attr``) or routed
``sensitive_features``, build the constraint from a name (fairlearn's moment classes define
it), map any binary labels to 0/1 and back, and behave as scikit-learn estimators (clone,
pickle, ``Pipeline``, ``GridSearchCV``). The shared plumbing (constraint building,
validation, routing, tags) is in :mod:`fairkit.inprocessing._reductions_base`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from fairlearn.reductions import ExponentiatedGradient, GridSearch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ..utils._outputs import proba_columns
from ._expgrad import _BestResponses, exponentiated_gradient, moments_from_fairlearn
from ._reductions_base import _SHARED_CONSTRAINTS, _reduction_docstring, _ReductionBase

__all__ = ["ExponentiatedGradientReduction", "GridSearchReduction"]


@_reduction_docstring
class ExponentiatedGradientReduction(_ReductionBase):
    r"""Fair classification or regression by exponentiated gradient.

    Agarwal et al. (2018) cast a fairness constraint :math:`M\mu(h) \le c` as a saddle point

    .. math::

        \min_{Q \in \Delta(\mathcal{H})} \max_{\lambda \ge 0,\ \|\lambda\|_1 \le B}
        \ \mathrm{err}(Q) + \lambda^\top (M\mu(Q) - c),

    solved by exponentiated-gradient updates of :math:`\lambda` against best responses
    :math:`h` of the base learner on reweighted, relabelled data. The result is a
    randomised classifier :math:`Q` (a distribution over the fitted predictors).
    The loop is fairkit's and follows :class:`fairlearn.reductions.ExponentiatedGradient`
    step for step (same moments, multiplier updates, duality gap, LP step, step-size
    shrinking, stopping rule and randomised ``predict``); with ``warm_start=False`` and a
    deterministic learner it returns fairlearn's predictors and weights. By default the
    best responses are warm-started, which is where the time goes (see Notes).

    Parameters
    ----------
    estimator : estimator object
        Base learner with ``fit(X, y, sample_weight)`` and ``predict(X)``; it need not
        derive from scikit-learn's ``BaseEstimator``. A ``Pipeline`` on raw data works with
        ``sample_weight_name="<step>__sample_weight"``.
    {prot_attr}
    {constraints}
    eps : float, default=0.01
        fairlearn's ``eps``: how far the found solution may exceed the constraint's bound
        (it sets the multipliers' L1 limit :math:`B = 1/\epsilon`). It is not the bound
        itself: the bound is ``difference_bound`` / ``ratio_bound`` (see Notes).
    max_iter : int, default=50
        Largest number of exponentiated-gradient iterations.
    nu : float or None, default=None
        Convergence threshold of the duality gap (fairlearn's default when None).
    eta0 : float, default=2.0
        Initial step size of the multiplier updates.
    run_linprog_step : bool, default=True
        Solve fairlearn's linear program over the predictors found at each iteration.
    warm_start : bool, default=True
        Start each best response from the solution for the nearest multipliers seen so far.
        A ``LogisticRegression`` (L2 or no penalty, not liblinear, no class weights) on
        dense numeric ``X`` is then solved by fairkit's Newton iterations on the same
        objective, to the learner's own ``tol``; another scikit-learn linear model with a
        ``warm_start`` parameter (alone or last in a ``Pipeline``) is refitted from a copy
        of that earlier fit with ``warm_start=True``; any other learner is cloned and
        fitted from scratch. ``False``: a fresh clone every time (fairlearn's way).
    sample_weight_name : str, default="sample_weight"
        Name of the weight argument of the learner's ``fit``.
    {pos_label}
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    predictors_ : list of estimators
        The learner's best responses kept by the loop (fitted estimators; a constant
        ``DummyClassifier`` where the reweighted labels were all equal).
    weights_ : ndarray of shape (n_predictors,)
        Weights of :math:`Q` over ``predictors_`` (they sum to 1).
    lambda_vecs_ : pandas.DataFrame
        The multipliers each predictor answered (one column per predictor), indexed like
        fairlearn's constraint (``sign``, ``event``, ``group_id``, or ``group_id`` alone
        for ``"bounded_group_loss"``) with the protected attribute's group labels.
    lambda_vecs_EG_, lambda_vecs_LP_ : pandas.DataFrame
        Multipliers of the exponentiated-gradient steps and of the LP steps, per iteration.
    gammas_ : pandas.DataFrame
        Constraint values of each predictor on the training rows (same index).
    errors_ : ndarray of shape (n_predictors,)
        Training error (or mean loss) of each predictor.
    best_iter_, last_iter_ : int
        Iteration whose :math:`Q` was kept, and the last one run.
    best_gap_ : float
        Duality gap of the kept solution.
    nu_ : float
        Convergence threshold used (``nu``, or fairlearn's automatic value).
    n_oracle_calls_ : int
        Number of learner fits (a multiplier vector met twice is fitted once).
    best_response_ : {"newton", "warm", "cold", "fairlearn"}
        How the best responses were computed (see ``warm_start``); ``"fairlearn"`` when
        ``constraints`` is a custom fairlearn ``Moment``, which runs fairlearn's own class
        (``gammas_`` and ``errors_`` are then not set).
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
    **The bound and** ``eps`` **are two different numbers.** The constraint is
    :math:`M\mu(Q) \le c`: for the parity constraints every group's rate may differ from
    the overall rate by at most ``difference_bound`` (:math:`c`; fairlearn's default 0.01),
    or lie within ``ratio_bound`` of it (plus ``ratio_bound_slack``). ``eps``
    (:math:`\epsilon`) does not enter :math:`c`: it caps the multipliers,
    :math:`\|\lambda\|_1 \le B = 1/\epsilon`, and so sets how much violation of
    :math:`c` the saddle-point solution may keep. fairlearn guarantees an error within
    :math:`2\nu` (twice the duality gap reached, ``best_gap_``) of the best
    error under the bound and a violation of at most :math:`2(\epsilon + \nu)` beyond
    :math:`c` (as fairlearn documents ``eps``). So ``difference_bound`` moves the
    target, and ``eps`` moves how tightly it is met: a
    small ``eps`` allows large multipliers, a tight fit of the bound, and slower
    convergence; a large ``eps`` can leave the bound violated on the training data.
    Check the result with a held-out disparity, not with either number.

    **Speed and warm starts.** Each iteration fits the learner up to five times (one best
    response, and up to four more to bound the duality gap), so the learner is nearly all
    of the time. fairkit computes the moments from per-cell sums and evaluates each
    predictor once, and with ``warm_start=True`` solves logistic best responses by Newton
    steps from the nearest earlier solution (Hessian from a fixed 50,000-row subsample on
    larger data; the gradient and hence the solution use every row). A warm-started best
    response meets the learner's ``tol`` like scikit-learn's lbfgs, but is a different
    point within that tolerance, and the loop's result can move with it: on most data the
    accuracy and disparity of :math:`Q` are fairlearn's to 0.002, but where the saddle
    point is flat they can differ by more (fairlearn's own result moves by as much when
    only the learner's ``tol`` changes). ``warm_start=False`` reproduces fairlearn.

    ``sample_weight`` is refused: fairlearn's moments have no weighted form and the learner
    is fitted with the reduction's own weights. The groups are used in ``fit`` only; the
    protected columns are read in ``predict`` only to drop them (``drop_prot_attr=True``).
    A fit whose randomised classifier gives every training row the same probability of the
    favourable label raises :class:`fairkit.base.ConstantFitWarning`.

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
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
    }

    _randomised = True

    def __init__(self, estimator=None, *, prot_attr=None, constraints="demographic_parity",
                 difference_bound=None, ratio_bound=None, ratio_bound_slack=0.0,
                 upper_bound=None, loss="square", eps=0.01, max_iter=50, nu=None, eta0=2.0,
                 run_linprog_step=True, warm_start=True, sample_weight_name="sample_weight",
                 pos_label=None, drop_prot_attr=False, random_state=None):
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
        self.warm_start = warm_start
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
            class): the learner is fitted with the reduction's weights only.

        Returns
        -------
        self
        """
        X_model, y_fit, codes, moment = self._prepare_fit(X, y, sensitive_features,
                                                          fit_params)
        moments = moments_from_fairlearn(moment)
        if moments is None:
            self._fit_fairlearn(X_model, y_fit, codes, moment)
            train_pmf = None
        else:
            moments.load(y_fit, codes, list(self.groups_))
            responses = _BestResponses(self.estimator, X_model, self.sample_weight_name,
                                       self.warm_start)
            res = exponentiated_gradient(
                moments, responses, y_fit, eps=self.eps, max_iter=self.max_iter,
                nu=self.nu, eta0=self.eta0, run_linprog_step=self.run_linprog_step)
            self.best_response_ = responses.mode
            self.predictors_ = res["predictors"]
            self.weights_ = res["weights"]
            self.best_iter_ = res["best_iter"]
            self.best_gap_ = res["best_gap"]
            self.last_iter_ = res["last_iter"]
            self.nu_ = res["nu"]
            self.errors_ = res["errors"]
            self.gammas_ = res["gammas"]
            self.lambda_vecs_ = res["lambda_vecs"]
            self.lambda_vecs_EG_ = res["lambda_vecs_EG"]
            self.lambda_vecs_LP_ = res["lambda_vecs_LP"]
            self.n_oracle_calls_ = res["n_oracle_calls"]
            # the predictors' outputs on the training rows are known: not predicted again
            preds = res["train_predictions"]
            if self._is_classification_moment():
                p = np.zeros(len(y_fit))
                for pred, w in zip(preds, self.weights_, strict=True):
                    if w != 0:
                        p += w * pred
                train_pmf = np.column_stack([1.0 - p, p])
            else:
                train_pmf = np.column_stack([
                    pred if w != 0 else np.zeros(len(pred))
                    for pred, w in zip(preds, self.weights_, strict=True)])
        self.n_iter_ = self.last_iter_ + 1
        self._warn_if_constant(
            X_model, y_fit, ("constraints", "difference_bound", "ratio_bound", "eps"),
            "The constraint may be met on these data only by a predictor that ignores X: "
            "loosen difference_bound / ratio_bound (eps only sets how far the found "
            "solution may exceed that bound), or check that the learner uses the weights "
            "passed as sample_weight_name.",
            train_pmf=train_pmf,
        )
        return self

    def _fit_fairlearn(self, X_model, y_fit, codes, moment):
        """A custom fairlearn ``Moment``: fairlearn's own loop, its results copied into
        fairkit's attributes (group codes are mapped back to the group labels)."""
        red = ExponentiatedGradient(
            self.estimator, moment, eps=self.eps, max_iter=self.max_iter, nu=self.nu,
            eta0=self.eta0, run_linprog_step=self.run_linprog_step,
            sample_weight_name=self.sample_weight_name,
        ).fit(X_model, y_fit, sensitive_features=codes)
        order = list(red.predictors_.index)
        self.best_response_ = "fairlearn"
        self.predictors_ = [red.predictors_[i] for i in order]
        self.weights_ = np.array([float(red.weights_[i]) for i in order])
        self.best_iter_ = int(red.best_iter_)
        self.best_gap_ = float(red.best_gap_)
        self.last_iter_ = int(red.last_iter_)
        self.nu_ = float(red.nu)
        self.lambda_vecs_ = self._relabel(red.lambda_vecs_)
        self.lambda_vecs_EG_ = self._relabel(red.lambda_vecs_EG_)
        self.lambda_vecs_LP_ = self._relabel(red.lambda_vecs_LP_)
        self.n_oracle_calls_ = int(red.n_oracle_calls_)

    def _relabel(self, frame):
        """fairlearn's constraint index holds group codes: put the group labels back."""
        index = frame.index
        if "group_id" not in list(index.names):
            return frame
        labels = list(self.groups_)
        if isinstance(index, pd.MultiIndex):
            level = list(index.names).index("group_id")
            new = pd.MultiIndex.from_tuples(
                [t[:level] + (labels[int(t[level])],) + t[level + 1:] for t in index],
                names=index.names)
        else:
            new = pd.Index([labels[int(v)] for v in index], name=index.name)
        out = frame.copy()
        out.index = new
        return out

    def _predictor_outputs(self, X_model):
        """``(n_samples, n_predictors)`` outputs of the predictors (zeros for those with
        weight 0, which are not evaluated)."""
        n = X_model.shape[0]
        out = np.zeros((n, len(self.predictors_)))
        for t, (h, w) in enumerate(zip(self.predictors_, self.weights_, strict=True)):
            if w != 0:
                out[:, t] = np.asarray(h.predict(X_model), dtype=np.float64).reshape(-1)
        return out

    def _pmf_predict(self, X_model):
        """fairlearn's ``_pmf_predict``: ``[P(0), P(1)]`` per row for a classification
        constraint, the predictors' outputs otherwise."""
        return self._pmf_from_outputs(self._predictor_outputs(X_model))

    def _pmf_from_outputs(self, out):
        if self._is_classification_moment():
            p = out @ self.weights_
            return np.column_stack([1.0 - p, p])
        return out

    def predict(self, X, *, sensitive_features=None):
        """Randomised predictions, drawn as fairlearn does with ``random_state``.

        For a classification constraint row ``i`` is 1 when its probability of 1 under
        ``Q`` is at least a uniform draw; otherwise each row takes the output of one
        predictor drawn with probabilities ``weights_``.

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
        pmf = self._pmf_predict(X_model)
        if self._is_classification_moment():
            p = pmf[:, 1]
            return self._to_labels((p >= rng.rand(len(p))) * 1)
        # one draw per row, as numpy's RandomState.choice(p=weights_) makes it
        cdf = np.cumsum(self.weights_)
        cdf /= cdf[-1]
        pick = cdf.searchsorted(rng.random_sample(pmf.shape[0]), side="right")
        return self._to_labels(pmf[np.arange(pmf.shape[0]), pick])

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
        pmf = self._pmf_predict(X_model)
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
        Weight :math:`w` of the disparity when *selecting* one of the grid's fitted
        predictors (the error gets :math:`1 - w`). It changes neither the grid nor the
        predictors fitted, only which of them is kept, and only at a few break points
        (see Notes); ``constraint_weight_range_`` gives the interval over which the kept
        predictor stays the same.
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
    constraint_weight_range_ : tuple of float
        ``(low, high)``: every ``constraint_weight`` in this interval selects the same
        predictor from the same grid (refitting with a value outside it changes the
        selection).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    **What** ``constraint_weight`` **does** (fairlearn's ``GridSearch``, selection rule
    ``"tradeoff_optimization"``). Grid point :math:`j` gives a predictor :math:`h_j` with
    training error :math:`e_j` (``reduction_.objectives_``) and disparity :math:`d_j`, the
    largest entry of its constraint vector (``reduction_.gammas_``; for demographic parity
    the largest difference between a group's selection rate and the overall rate). The
    kept predictor minimises :math:`(1 - w)\, e_j + w\, d_j`. As :math:`w` goes from 0 to
    1 the choice moves along the lower-left convex hull of the points :math:`(d_j, e_j)`,
    from the most accurate predictor to the least disparate one, and changes only at the
    break points :math:`w = \Delta e / (\Delta e + \Delta d)` between neighbouring hull
    vertices. Hence:

    - it can act only when the grid holds predictors that trade error for disparity. When
      one predictor has both the lowest error and the lowest disparity, no value changes
      the choice and ``fit`` warns (``UserWarning``). This is common with a coarse grid:
      the multipliers next to 0 overshoot parity in both directions, so the unconstrained
      predictor (or its neighbour) is also the least disparate one;
    - where removing most of the disparity costs little error (:math:`\Delta e \ll
      \Delta d`), every break point lies near 0 and all larger values select the same
      predictor.

    Either way a sweep of ``constraint_weight`` across its range can change nothing, as
    was reported on three public data sets (fairlearn behaves the same). The
    trade-off is moved by the grid itself (``grid_limit``, ``grid_size``, or an explicit
    ``grid`` dense near the multipliers that reach parity); ``constraint_weight_range_``
    tells whether a different ``constraint_weight`` would select another predictor.
    - ``difference_bound`` has no effect here: fairlearn's ``GridSearch`` reads neither the
      bound in its Lagrangian weights nor in its selection (``ratio_bound`` does act, as it
      changes the form of the constraint).

    A selected predictor that gives every training row the same class although ``y`` has
    two raises :class:`fairkit.base.ConstantFitWarning`.

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
        self.constraint_weight_range_ = self._selection_range()
        if self.constraint_weight_range_ == (0.0, 1.0) and len(self.reduction_.predictors_) > 1:
            red = self.reduction_
            b = red.best_idx_
            warnings.warn(
                f"GridSearchReduction: constraint_weight={self.constraint_weight!r} cannot "
                f"act on these data: grid point {b} has both the lowest error "
                f"({float(red.objectives_[b]):.4g}) and the lowest disparity "
                f"({float(red.gammas_.max(axis=0).iloc[b]):.4g}) of the "
                f"{len(red.predictors_)} predictors, so every constraint_weight in [0, 1] "
                "selects it. A wider grid (grid_limit, grid_size) can add predictors that "
                "trade error for disparity.",
                UserWarning, stacklevel=2,
            )
        self._warn_if_constant(
            X_model, y_fit, ("constraint_weight", "grid_limit", "constraints"),
            "Try a smaller constraint_weight (the error gets 1 - constraint_weight), a "
            "smaller grid_limit or a larger grid_size.",
        )
        return self

    def _selection_range(self):
        """Interval of ``constraint_weight`` over which the selected predictor stays the
        minimiser of ``(1 - w) * error + w * disparity`` among the grid's predictors."""
        red = self.reduction_
        err = np.asarray(red.objectives_, dtype=np.float64)
        disp = red.gammas_.max(axis=0).to_numpy(dtype=np.float64)
        b = red.best_idx_
        lo, hi = 0.0, 1.0
        for i in range(len(err)):
            a0, a1 = err[b] - err[i], disp[b] - disp[i]  # loss_b - loss_i at w = 0 and 1
            slope = a1 - a0
            if slope > 0:
                hi = min(hi, -a0 / slope)
            elif slope < 0:
                lo = max(lo, -a0 / slope)
        return float(min(max(lo, 0.0), 1.0)), float(min(max(hi, 0.0), 1.0))

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
