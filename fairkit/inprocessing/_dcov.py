"""Distance-covariance regularised models: dCov, JdCov and CCdCov penalties.

Lee, Antonio, Avanzi, Marchi & Zhou (2025) train a model on

.. math::

    \\min_\\theta \\; L(y, \\hat y_\\theta) + \\lambda \\, R(\\hat y_\\theta, S)

where :math:`L` is the task loss, :math:`\\hat y` the model output (probability, mean or
Poisson rate) and :math:`R` a distance-covariance measure of dependence between the output
and the protected attributes :math:`S = (S_1, \\dots, S_d)` of mixed types, which are not
model inputs. This module holds the two public estimators; the pieces live in other private
modules:

* :mod:`fairkit.inprocessing._dcov_kernels`: sorting primitives and the signed-sum kernels
  (numpy and numba) that make the penalty O(n log n);
* :mod:`fairkit.inprocessing._dcov_penalty`: the penalty, its gradient and
  :func:`dcov_penalty`;
* :mod:`fairkit.inprocessing._dcov_model`: the GLM / MLP, its objective and the L-BFGS and
  Adam training loops;
* :mod:`fairkit.inprocessing._dcov_base`: the estimator body shared by both classes;
* :func:`fairkit.model_selection._calibrate_lambda.calibrate_lambda` and
  :func:`fairkit.plotting._lambda.plot_lambda_calibration` (re-exported from
  :mod:`fairkit.inprocessing`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _num_samples

from ..model_selection._calibrate_lambda import calibrate_lambda
from ..plotting._lambda import plot_lambda_calibration
from ..utils._docstring import fair_docstring
from ._dcov_base import _BaseDCov, _check_offset, _check_y_given
from ._dcov_penalty import dcov_penalty

__all__ = [
    "DCovRegularizedClassifier",
    "DCovRegularizedRegressor",
    "dcov_penalty",
    "calibrate_lambda",
    "plot_lambda_calibration",
]


_SHARED_PARAMS_DOC = """\
{prot_attr}
    The attributes may be of any type: categorical (strings), binary or
    continuous (e.g. age, used as a number, no binning).
lam : float, default=1.0
    Weight :math:`\\lambda` of the penalty; 0 gives the unregularised model. Calibrate
    it with :func:`calibrate_lambda`. The penalty acts on the model's output (a
    probability, a mean or a rate), so ``lam`` does not depend on the units of the
    features. See Notes for how the fit behaves as ``lam`` grows.
penalty : {"dcov", "jdcov", "ccdcov"}, default="ccdcov"
    ``"dcov"``: :math:`\\sum_i \\mathrm{dCov}^2(\\hat y, S_i)` (each attribute alone);
    ``"ccdcov"``: :math:`\\mathrm{dCov}^2(\\hat y, [S_1|\\dots|S_d])` (all attributes
    jointly, so intersections count); ``"jdcov"``: joint distance covariance
    (Chakraborty & Zhang 2019) of :math:`(\\hat y, S_1, \\dots, S_d)`. The same for one
    attribute.
statistic : {"u", "v"}, default="u"
    U-statistic (unbiased, needs >= 4 samples per batch, as in the authors' code) or
    V-statistic.
c : float, default=1.0
    JdCov constant.
hidden_layer_sizes : tuple of int, default=()
    Empty: a linear model / GLM. Otherwise a multilayer perceptron.
activation : {"relu", "tanh"}, default="relu"
dropout : float, default=0.0
    Dropout rate on hidden layers (``solver="adam"`` only).
alpha : float, default=1e-4
    L2 penalty :math:`\\frac{\\alpha}{2}\\|W\\|^2` on the weights (not the intercepts).
solver : {"lbfgs", "adam"}, default="lbfgs"
    Full-batch L-BFGS (scipy) or Adam on mini-batches.
batch_size : int, default=256
    Adam mini-batch size; the penalty is evaluated on each mini-batch. A last batch of
    fewer than 4 rows is merged into the previous one.
learning_rate : float, default=1e-3
    Adam step size.
max_iter : int, default=200
    L-BFGS iterations or Adam epochs.
tol : float, default=1e-6
    L-BFGS ``ftol``; minimum improvement for early stopping / Adam convergence.
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (stratified for
    classification) and stop when its objective has not improved for
    ``n_iter_no_change`` iterations; the best parameters are kept.
validation_fraction : float, default=0.1
n_iter_no_change : int, default=10
categorical, continuous_scaling
    Encoding of the protected attributes, see
    :func:`fairkit.metrics.encode_protected_attributes` (one-hot at distance
    :math:`\\sqrt2`, binary 0/1, continuous z-scored by default).
drop_prot_attr : bool, default=True
    Remove the ``prot_attr`` columns from the model inputs.
{random_state}"""

_dcov_docstring = fair_docstring.extend(dcov_parameters=_SHARED_PARAMS_DOC)


@_dcov_docstring
class DCovRegularizedClassifier(ClassifierMixin, _BaseDCov):
    __doc__ = """Binary classifier with a distance-covariance fairness penalty.

    Minimises

    .. math::

        \\frac1n \\sum_i \\ell(y_i, p_i) + \\lambda\\, R(p, S) + \\frac{\\alpha}{2}\\|W\\|^2,
        \\qquad p_i = \\sigma(f_\\theta(x_i)),

    with :math:`\\ell` the log-loss, :math:`f_\\theta` a linear model or an MLP on the
    non-protected features, and :math:`R` the dCov, CCdCov or JdCov between the predicted
    probabilities and the protected attributes (Lee et al. 2025). The penalty and its
    gradient take O(n log n) when each attribute is binary, categorical, a combination
    with few levels, or 1-D continuous (see :func:`dcov_penalty`).

    Parameters
    ----------
    {dcov_parameters}
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
        ``classes_[1]``, the class whose probability is penalised.
    groups_ : list
        Group labels of the protected attribute(s), set only when every attribute is
        discrete (100 distinct values or fewer, see
        :func:`fairkit._protected.is_continuous_attribute`).
    prot_attr_names_ : list of str
        Names of the protected attributes.
    coefs_, intercepts_ : list of ndarray
        Layer weights and biases.
    coef_ : ndarray of shape (n_model_features,)
        Linear model only.
    intercept_ : float
        Linear model only.
    n_iter_ : int
        Iterations of the penalised fit (the GLM's unpenalised start is not counted).
    converged_ : bool
    loss_ : float
        Final training objective.
    n_features_in_, feature_names_in_

    See Also
    --------
    DCovRegularizedRegressor, calibrate_lambda, fairkit.metrics.distance_covariance

    Notes
    -----
    :math:`\\mathrm{dCov}^2(c\\,\\hat y, S) = |c|\\,\\mathrm{dCov}^2(\\hat y, S)`: near a
    constant model the penalty grows like the norm of the weights, as the lasso's does.
    Two consequences for the GLM (``hidden_layer_sizes=()``):

    * the intercept-only model, where every prediction ties, is a kink of the objective
      with a zero penalty subgradient. Started there, L-BFGS follows the task loss alone,
      its line search meets the kink and it stops at the constant after one iteration,
      even when features independent of :math:`S` predict the target. The GLM is
      therefore started from the unpenalised fit (``lam=0``, smooth and convex), and the
      penalty then moves the weights away from the group continuously: the weights of
      features independent of :math:`S` are kept, those of its proxies shrink;
    * when the only directions that predict the target depend on :math:`S` (one proxy
      feature, say), the constant is the exact optimum once ``lam`` exceeds the ratio of
      the task loss's slope to the penalty's slope at the intercept-only model; below it
      the weights shrink continuously to 0 (soft thresholding). With L-BFGS and no early
      stopping the intercept-only model is kept as a candidate and wins when its
      objective is lower; a fit that ends constant raises ``ConstantFitWarning``.

    The GLM is optimised in standardised coordinates (the same objective and minimiser,
    with :math:`\\alpha / \\mathrm{sd}_j^2` on the standardised weights), so features in
    very different units do not stall L-BFGS; ``coef_`` is in the features' units.

    References
    ----------
    .. [1] H. Lee, K. Antonio, B. Avanzi, L. Marchi, R. Zhou, "Machine Learning with
       Multitype Protected Attributes: Intersectional Fairness through Regularisation",
       arXiv 2509.08163, 2025.
    .. [2] S. Chakraborty, X. Zhang, "Distance metrics for measuring joint dependence with
       application to causal inference", JASA 114(528), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import DCovRegularizedClassifier
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 400)
    >>> X = np.c_[s, rng.normal(size=400) + s]
    >>> y = (X[:, 1] + rng.normal(size=400) > 0.5).astype(int)
    >>> clf = DCovRegularizedClassifier(prot_attr=0, lam=5.0).fit(X, y)
    >>> clf.predict_proba(X).shape
    (400, 2)
    """

    def __init__(
        self,
        *,
        prot_attr=None,
        lam=1.0,
        penalty="ccdcov",
        statistic="u",
        c=1.0,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        alpha=1e-4,
        solver="lbfgs",
        batch_size=256,
        learning_rate=1e-3,
        max_iter=200,
        tol=1e-6,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        categorical="auto",
        continuous_scaling="std",
        drop_prot_attr=True,
        random_state=None,
    ):
        self.prot_attr = prot_attr
        self.lam = lam
        self.penalty = penalty
        self.statistic = statistic
        self.c = c
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.categorical = categorical
        self.continuous_scaling = continuous_scaling
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    _loss = "log_loss"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    @fair_docstring
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary target.
        {sensitive_features}

        Returns
        -------
        self
        """
        return self._fit(X, y, sensitive_features, None)

    def _initial_intercept(self, y, offset):
        p = np.clip(y.mean(), 1e-6, 1 - 1e-6)
        return float(np.log(p / (1 - p)))

    def decision_function(self, X):
        """Log-odds of ``classes_[1]``."""
        return self._eta(X)

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order."""
        p = expit(self._eta(X))
        return np.c_[1.0 - p, p]

    def predict(self, X):
        """Predicted class (probability of ``classes_[1]`` above 0.5)."""
        positive = self._eta(X) > 0
        return self.classes_[positive.astype(int)]


@_dcov_docstring
class DCovRegularizedRegressor(RegressorMixin, _BaseDCov):
    __doc__ = """Regressor (squared error or Poisson) with a distance-covariance fairness penalty.

    Minimises

    .. math::

        \\frac1n \\sum_i \\ell(y_i, \\mu_i) + \\lambda\\, R(\\hat y, S)
        + \\frac{\\alpha}{2}\\|W\\|^2

    with, for ``loss="squared_error"``, :math:`\\ell = \\frac12 (y - \\mu)^2`,
    :math:`\\mu = \\hat y = f_\\theta(x)`; for ``loss="poisson"``, the Poisson deviance
    :math:`\\ell = 2(y \\log(y/\\mu) - y + \\mu)` with :math:`\\mu = e \\cdot \\hat y`,
    :math:`\\hat y = \\exp f_\\theta(x)` the rate per unit exposure :math:`e` (or
    :math:`\\log e` given as ``offset``); the penalty acts on the rate :math:`\\hat y`, as in
    Lee et al. (2025). :math:`R` is dCov, CCdCov or JdCov; continuous protected attributes
    (age) are accepted directly, with no binning.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
    {dcov_parameters}
    Attributes
    ----------
    coefs_, intercepts_, coef_, intercept_, n_iter_, converged_, loss_
        As in :class:`DCovRegularizedClassifier`.

    Notes
    -----
    As in :class:`DCovRegularizedClassifier`: the GLM starts from the unpenalised fit,
    and beyond a threshold of ``lam`` where only proxies of :math:`S` predict the target
    the constant model is the exact optimum (kept, with ``ConstantFitWarning``). Unlike
    the classifier's, the regressor's penalty is in the units of the target, so its
    ``lam`` scales with the target's spread.

    References
    ----------
    .. [1] H. Lee, K. Antonio, B. Avanzi, L. Marchi, R. Zhou, arXiv 2509.08163, 2025.
    """

    _parameter_constraints: dict = {
        **_BaseDCov._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        *,
        loss="squared_error",
        prot_attr=None,
        lam=1.0,
        penalty="ccdcov",
        statistic="u",
        c=1.0,
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        alpha=1e-4,
        solver="lbfgs",
        batch_size=256,
        learning_rate=1e-3,
        max_iter=200,
        tol=1e-6,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        categorical="auto",
        continuous_scaling="std",
        drop_prot_attr=True,
        random_state=None,
    ):
        self.prot_attr = prot_attr
        self.loss = loss
        self.lam = lam
        self.penalty = penalty
        self.statistic = statistic
        self.c = c
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.alpha = alpha
        self.solver = solver
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.categorical = categorical
        self.continuous_scaling = continuous_scaling
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state

    @property
    def _loss(self):
        return self.loss

    @fair_docstring
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None, exposure=None, offset=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Target; non-negative counts for ``loss="poisson"``.
        {sensitive_features}
        exposure : array-like of shape (n_samples,), optional
            Poisson exposure (> 0); the mean is ``exposure * rate``.
        offset : array-like of shape (n_samples,), optional
            Added to the linear predictor (``log(exposure)`` for Poisson). Give at most
            one of ``exposure`` and ``offset``.

        Returns
        -------
        self
        """
        _check_y_given(self, y)
        off = self._offset(exposure, offset, _num_samples(y))
        return self._fit(X, y, sensitive_features, off)

    def _check_target_values(self, y):
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' needs a non-negative target y.")

    def _offset(self, exposure, offset, n):
        if exposure is not None and offset is not None:
            raise ValueError("Give at most one of exposure and offset.")
        if exposure is not None:
            e = _check_offset(exposure, n, "exposure")
            if np.any(e <= 0):
                raise ValueError("exposure must be strictly positive.")
            if self.loss != "poisson":
                raise ValueError("exposure is only meaningful with loss='poisson'.")
            return np.log(e)
        return None if offset is None else _check_offset(offset, n, "offset")

    def _initial_intercept(self, y, offset):
        if self.loss == "poisson":
            expo = np.exp(offset).sum() if offset is not None else len(y)
            return float(np.log(max(y.sum(), 1e-12) / expo))
        return float(np.mean(y - (offset if offset is not None else 0.0)))

    def predict(self, X, *, exposure=None, offset=None):
        """Predicted mean: ``f(x) (+ offset)``, or ``exposure * rate`` for Poisson."""
        off = self._offset(exposure, offset, _num_samples(X))
        eta = self._eta(X, off)
        return np.exp(np.minimum(eta, 700.0)) if self.loss == "poisson" else eta

    def predict_rate(self, X):
        """Poisson rate per unit exposure (the penalised output); the mean otherwise."""
        eta = self._eta(X)
        return np.exp(np.minimum(eta, 700.0)) if self.loss == "poisson" else eta


