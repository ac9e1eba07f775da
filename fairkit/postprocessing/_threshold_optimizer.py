"""Group-specific thresholds (Hardt et al. 2016): fairlearn's ThresholdOptimizer under
fairkit's protected-attribute contract."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from fairlearn.postprocessing import ThresholdOptimizer as _FairlearnThresholdOptimizer
from fairlearn.utils._common import _get_soft_predictions
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BasePostProcessor
from ..utils._docstring import fair_docstring
from ..utils._outputs import BinarizedEstimator

__all__ = ["ThresholdOptimizer"]


class _FixedOutput(BaseEstimator):
    """A fitted stand-in whose ``predict`` returns precomputed scores (the out-of-fold
    scores of a cross-fitted fit), whatever ``X``."""

    def __init__(self, output):
        self.output = output

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y, **kwargs):  # pragma: no cover - fairlearn is told prefit=True
        raise RuntimeError("_FixedOutput holds precomputed scores; it is never fitted.")

    def predict(self, X):
        return self.output


@fair_docstring
class ThresholdOptimizer(BasePostProcessor):
    r"""Group-specific (randomised) thresholds on a model's scores, via fairlearn.

    Wraps :class:`fairlearn.postprocessing.ThresholdOptimizer` so that it reads group
    membership from ``X`` (``prot_attr``) or from routed ``sensitive_features`` in both
    ``fit`` and ``predict``, accepts any binary labels (``pos_label``) and drops into a
    ``Pipeline`` or ``GridSearchCV``. The optimisation itself is fairlearn's: for every group
    :math:`a` it picks a threshold rule on the score :math:`R`, randomising between two
    thresholds where needed, so that

    .. math::

        \max_{\{t_a\}} \ \text{objective}(\tilde Y) \quad \text{s.t.} \quad
        \text{constraint metric}(\tilde Y \mid A = a) \text{ equal for all } a,

    e.g. equal selection rates (``"demographic_parity"``) or equal true- and false-positive
    rates (``"equalized_odds"``, Hardt et al. 2016).

    Parameters
    ----------
    {estimator}
    {prot_attr}
    constraints : str, default="demographic_parity"
        One of fairlearn's: ``"demographic_parity"``, ``"equalized_odds"``,
        ``"true_positive_rate_parity"``, ``"false_positive_rate_parity"``,
        ``"true_negative_rate_parity"``, ``"false_negative_rate_parity"``,
        ``"selection_rate_parity"``.
    objective : str, default="accuracy_score"
        ``"accuracy_score"``, ``"balanced_accuracy_score"``, ``"selection_rate"``,
        ``"true_positive_rate"`` or ``"true_negative_rate"`` (the last three not with
        equalized odds).
    grid_size : int, default=1000
        Size of fairlearn's grid over the constraint metric.
    flip : bool, default=False
        Allow decisions that flip the score's direction.
    {prefit}
    {cv}
    predict_method : {"auto", "predict_proba", "decision_function", "predict"}, default="auto"
        Which method of ``estimator`` gives the scores. With ``"predict"`` a classifier's
        labels are read as 0/1 (1 = ``pos_label``) and any other output (a regressor's
        values, a scorer's scores) is thresholded as it is.
    tol : float or None, default=None
        Relaxed constraints (fairlearn >= 0.13): the constraint metric may differ by up to
        ``tol`` across groups. Not for ``"equalized_odds"``.
    {pos_label}
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    estimator_ : estimator
        The fitted model (``estimator`` itself with ``prefit=True``).
    threshold_optimizer_ : fairlearn.postprocessing.ThresholdOptimizer
        The fitted fairlearn object; its groups are codes ``0 .. k-1`` of ``groups_`` in
        order, less ``groups_left_out_``. Cross-fitted, its thresholds were searched on the
        out-of-fold scores and it reads ``estimator_``'s scores at predict time.
    {cv_}
    groups_ : list
        Group labels seen in ``fit``, in code order.
    groups_left_out_ : list
        Groups with one label among their fitting rows: they have no thresholds and get
        ``estimator_``'s own decisions (a ``GroupLeftOutWarning`` names each).
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    ``sample_weight`` is refused: fairlearn's threshold search has no weighted form.
    By default (``cv="auto"``, ``prefit=False``) the thresholds are searched on 5-fold
    out-of-fold scores, not on the scores of the model's own training rows as fairlearn
    does (``cv=None`` gives fairlearn's fit).
    A group that does not occur in ``fit`` has no thresholds: ``predict`` raises a
    ``ValueError`` naming it. fairlearn's threshold search needs both labels in every
    group: a group with one label is left out of the search (``groups_left_out_``, with a
    ``GroupLeftOutWarning``) and its rows get the wrapped model's own ``predict`` and
    ``predict_proba``. Thresholds that give every fitting row the same decision warn
    (``ConstantFitWarning``). Labels are mapped to 0/1 (1 = ``pos_label``) for fairlearn and
    back; ``predict_proba`` gives the probability with which the randomised rule outputs
    each class.

    References
    ----------
    .. [1] M. Hardt, E. Price, N. Srebro, "Equality of Opportunity in Supervised Learning",
       NeurIPS 2016.
    .. [2] fairlearn, ``fairlearn.postprocessing.ThresholdOptimizer``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.postprocessing import ThresholdOptimizer
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"sex": rng.choice(["F", "M"], 400), "x": rng.normal(size=400)})
    >>> y = (X["x"] + (X["sex"] == "M") + rng.normal(size=400) > 0.5).astype(int)
    >>> to = ThresholdOptimizer(LogisticRegression(), prot_attr="sex", drop_prot_attr=True,
    ...                         random_state=0).fit(X, y)
    >>> to.predict(X).shape
    (400,)
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "prot_attr": "no_validation",
        "constraints": [StrOptions({
            "demographic_parity", "equalized_odds", "true_positive_rate_parity",
            "false_positive_rate_parity", "true_negative_rate_parity",
            "false_negative_rate_parity", "selection_rate_parity"})],
        "objective": [StrOptions({"accuracy_score", "balanced_accuracy_score",
                                  "selection_rate", "true_positive_rate",
                                  "true_negative_rate"})],
        "grid_size": [Interval(Integral, 1, None, closed="left")],
        "flip": ["boolean"],
        "prefit": ["boolean"],
        "cv": ["cv_object", StrOptions({"auto"})],
        "predict_method": [StrOptions({"auto", "predict_proba", "decision_function",
                                       "predict"})],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "pos_label": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, prot_attr=None, constraints="demographic_parity",
                 objective="accuracy_score", grid_size=1000, flip=False, prefit=False,
                 cv="auto",
                 predict_method="auto", tol=None, pos_label=None, drop_prot_attr=False,
                 random_state=None):
        self.estimator = estimator
        self.prot_attr = prot_attr
        self.constraints = constraints
        self.objective = objective
        self.grid_size = grid_size
        self.flip = flip
        self.prefit = prefit
        self.cv = cv
        self.predict_method = predict_method
        self.tol = tol
        self.pos_label = pos_label
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    _estimator_output = None  # fairlearn reads the scores through predict_method
    _constant_fit_params = ("constraints", "objective", "tol")
    # fairlearn's threshold search has no weighted form
    _rule_accepts_sample_weight = False

    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Fit the model (unless ``prefit``) and the group thresholds.

        ``sample_weight`` is refused (the threshold search has no weighted form); route
        weights to the wrapped model alone with metadata routing.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        **fit_params : dict
            Passed to ``estimator.fit`` (routed when metadata routing is enabled).

        Returns
        -------
        self
        """
        return super().fit(X, y, sensitive_features=sensitive_features, **fit_params)

    def _fit_rule(self, X_model, y01, codes, sample_weight):
        model = BinarizedEstimator(self.estimator_, self.pos_label_)
        oof = getattr(self, "_oof_output", None)
        if oof is None:
            self.threshold_optimizer_ = _FairlearnThresholdOptimizer(
                estimator=model, constraints=self.constraints, objective=self.objective,
                grid_size=self.grid_size, flip=self.flip, prefit=True,
                predict_method=self.predict_method, tol=self.tol,
            ).fit(X_model, y01, sensitive_features=codes)
            return
        # cross-fitted: fairlearn searches the thresholds on the out-of-fold scores, then
        # its thresholder reads the final model's scores at predict time
        to = _FairlearnThresholdOptimizer(
            estimator=_FixedOutput(oof), constraints=self.constraints,
            objective=self.objective, grid_size=self.grid_size, flip=self.flip, prefit=True,
            predict_method="predict", tol=self.tol,
        ).fit(X_model, y01, sensitive_features=codes)
        for obj in (to, to.interpolated_thresholder_):
            obj.estimator = obj.estimator_ = model
            obj.predict_method = obj._predict_method = self.predict_method
        self.threshold_optimizer_ = to

    def _fold_output(self, estimator, X_model):
        # the scores fairlearn reads through predict_method, from a fold's model
        return np.asarray(_get_soft_predictions(
            BinarizedEstimator(estimator, self.pos_label_), X_model, self.predict_method))

    def _positive_probability(self, X_model, codes):
        pmf = self.threshold_optimizer_._pmf_predict(X_model, sensitive_features=codes)
        return np.asarray(pmf)[:, 1]

    def _predict01(self, X_model, codes):
        # fairlearn's draw: favourable where p >= u, u ~ U[0, 1) from random_state
        p = self._positive_probability(X_model, codes)
        return p >= check_random_state(self.random_state).rand(len(p))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # fairlearn's threshold search needs dense input
        return tags
