"""Prejudice remover regularizer for logistic regression (Kamishima et al. 2012)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import FairClassifierMixin, FairEstimatorMixin, warn_if_constant
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01, proba_columns

__all__ = ["PrejudiceRemover"]

_EPS = 1e-10


def prejudice_remover_objective(coef, X, y, codes, counts, eta, alpha, sample_weight=None):
    r"""Objective and gradient of the prejudice-remover logistic regression.

    ``coef`` has shape (n_groups * n_features,): one weight vector per group (the model
    matrix ``X`` already holds the intercept column). ``counts`` are the group sizes (the
    weight totals with ``sample_weight``). With ``sample_weight`` every per-sample term
    (log-loss, prejudice index, the group and overall means of the prediction) is weighted,
    so integer weights give the objective of the rows repeated by their weights.
    Returns ``(loss, grad)``.
    """
    n_groups = len(counts)
    W = coef.reshape(n_groups, X.shape[1])
    z = np.einsum("ij,ij->i", X, W[codes])
    p = expit(z)
    # -log-likelihood, in a form that does not overflow
    nll_i = y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)
    if sample_weight is None:
        nll = np.sum(nll_i)
        q = np.bincount(codes, weights=p, minlength=n_groups) / counts
        r = p.mean()
    else:
        wp = sample_weight * p
        nll = np.sum(sample_weight * nll_i)
        q = np.bincount(codes, weights=wp, minlength=n_groups) / counts
        r = wp.sum() / sample_weight.sum()
    q = np.clip(q, _EPS, 1 - _EPS)
    r = np.clip(r, _EPS, 1 - _EPS)
    a = np.log(q[codes]) - np.log(r)
    b = np.log1p(-q[codes]) - np.log1p(-r)
    pi_i = p * a + (1.0 - p) * b
    prejudice = np.sum(pi_i) if sample_weight is None else np.sum(sample_weight * pi_i)
    loss = nll + eta * prejudice + 0.5 * alpha * np.sum(W * W)
    # d prejudice / d q_s and d prejudice / d r vanish (sum_i in s of w_i p_i = W_s q_s), so
    # only the direct dependence through p_i remains: w_i (a_i - b_i) dp_i.
    weight = (p - y) + eta * (a - b) * p * (1.0 - p)
    if sample_weight is not None:
        weight = sample_weight * weight
    grad = np.zeros_like(W)
    np.add.at(grad, codes, weight[:, None] * X)
    grad += alpha * W
    return loss, grad.ravel()


@fair_docstring
class PrejudiceRemover(FairEstimatorMixin, FairClassifierMixin, ClassifierMixin, BaseEstimator):
    r"""Logistic regression with Kamishima et al.'s prejudice remover regularizer.

    One logistic model per group :math:`s` (as in the original "type 4" model),
    :math:`\Pr[y=1 \mid x, s] = \sigma(w_s^\top x)`, fitted by minimising

    .. math::

        -\sum_i \ln \Pr[y_i \mid x_i, s_i; W]
        + \eta\, \mathrm{PI}(W) + \frac{\alpha}{2} \sum_s \|w_s\|^2,

    where the prejudice index is the empirical mutual information between the prediction
    and the group,

    .. math::

        \mathrm{PI} = \sum_i \sum_{y \in \{0,1\}} \Pr[y \mid x_i, s_i]
        \ln \frac{\hat{\Pr}[y \mid s_i]}{\hat{\Pr}[y]}, \qquad
        \hat{\Pr}[y \mid s] = \frac{1}{n_s} \sum_{i: s_i = s} \Pr[y \mid x_i, s],

        \hat{\Pr}[y] = \frac1n \sum_i \Pr[y \mid x_i, s_i].

    The objective is non-convex in :math:`W`; as in Kamishima's code the weights start from
    per-group L2-regularised logistic regressions (the :math:`\eta = 0` solution) and are
    refined with an analytic gradient (L-BFGS here, conjugate gradient there).

    Parameters
    ----------
    eta : float, default=1.0
        Weight of the prejudice index (0 gives per-group logistic regressions).
    alpha : float, default=1.0
        L2 penalty on all weights including the intercept (Kamishima's ``C``; larger is
        stronger, unlike scikit-learn's ``C``).
    {prot_attr}
        The protected columns select the weight vector and are not used as features.
    fit_intercept : bool, default=True
        Add a constant feature (penalised, as in the original).
    max_iter : int, default=1000
    tol : float, default=1e-6
        Gradient tolerance of L-BFGS.
    {pos_label}

    Attributes
    ----------
    coef_ : ndarray of shape (n_groups, n_features)
        Weight vector of each group (features without the protected columns).
    intercept_ : ndarray of shape (n_groups,)
    groups_ : list
        Group labels, in the row order of ``coef_``.
    prot_attr_names_ : list of str
        Names of the protected attributes.
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_iter_ : int
        L-BFGS iterations of both stages (eta = 0 start, then the full objective).
    objective_ : float
        Final value of the objective.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    The gradient of PI with respect to :math:`\hat\Pr[y \mid s]` and :math:`\hat\Pr[y]` is
    zero (they are the means they are compared with), so
    :math:`\partial \mathrm{PI} / \partial w_s = \sum_{i: s_i = s} (a_i - b_i)
    p_i (1 - p_i) x_i` with :math:`a_i = \ln(\hat\Pr[1 \mid s_i] / \hat\Pr[1])` and
    :math:`b_i = \ln(\hat\Pr[0 \mid s_i] / \hat\Pr[0])`. A group unseen in ``fit`` has no
    weights: ``predict`` raises a ``ValueError`` naming it.

    ``sample_weight`` weights every term of the objective: the log-loss, the prejudice
    index and the group and overall mean predictions it compares, so integer weights give
    the fit on rows repeated by their weights (the L2 penalty is not weighted).

    References
    ----------
    .. [1] T. Kamishima, S. Akaho, H. Asoh, J. Sakuma, "Fairness-Aware Classifier with
       Prejudice Remover Regularizer", ECML PKDD 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import PrejudiceRemover
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 500); x = rng.normal(size=500) + a
    >>> y = (x + rng.normal(size=500) > 0.5).astype(int)
    >>> pr = PrejudiceRemover(eta=10.0, prot_attr=0).fit(np.c_[a, x], y)
    >>> pr.coef_.shape
    (2, 1)
    """

    _parameter_constraints = {
        "eta": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "prot_attr": "no_validation",
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "pos_label": "no_validation",
    }

    def __init__(self, eta=1.0, alpha=1.0, *, prot_attr=None, fit_intercept=True,
                 max_iter=1000, tol=1e-6, pos_label=None):
        self.eta = eta
        self.alpha = alpha
        self.prot_attr = prot_attr
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.pos_label = pos_label

    def _design(self, X, sensitive_features, *, fit, y=None, sample_weight=None):
        # protected columns pick the weight vector and are not features; at predict time
        # the groups are mapped onto the fitted ones (an unseen group raises, naming it)
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, sample_weight=sample_weight,
            reset=fit, min_groups=2 if fit else 1, drop=True, features="numeric",
            target="binary" if fit else None, pos_label=self.pos_label,
        )
        features = data.X
        if self.fit_intercept:
            features = np.c_[features, np.ones(len(features))]
        return features, data.codes, data

    def _minimise(self, coef0, X, y, codes, counts, eta, sample_weight):
        res = minimize(prejudice_remover_objective, coef0, jac=True, method="L-BFGS-B",
                       args=(X, y, codes, counts, eta, self.alpha, sample_weight),
                       options={"maxiter": self.max_iter, "gtol": self.tol})
        return res

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit one weight vector per group.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features (plus the ``prot_attr`` columns, which may be strings).
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the log-loss and of the prejudice index; a weighted fit
            equals a fit on rows repeated by their weight.

        Returns
        -------
        self
        """
        self._validate_params()
        Xd, codes, data = self._design(X, sensitive_features, fit=True, y=y,
                                       sample_weight=sample_weight)
        sw = data.sample_weight
        n_groups = len(self.groups_)
        if sw is None:
            counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
        else:
            if (sw < 0).any():
                raise ValueError(
                    f"PrejudiceRemover: sample_weight must be non-negative; got a weight of "
                    f"{sw[sw < 0][0]!r}."
                )
            counts = np.bincount(codes, weights=sw, minlength=n_groups)
            if (counts <= 0).any():
                empty = self.groups_[int(np.flatnonzero(counts <= 0)[0])]
                raise ValueError(
                    f"PrejudiceRemover: sample_weight sums to 0 over group {empty!r}; the "
                    "prejudice index needs every group's mean prediction."
                )
        y01 = data.y.astype(np.float64)
        start = np.zeros(len(counts) * Xd.shape[1])
        # Kamishima's default start: per-group regularised logistic regressions (eta = 0)
        init = self._minimise(start, Xd, y01, codes, counts, 0.0, sw)
        res = init if self.eta == 0 else self._minimise(init.x, Xd, y01, codes, counts,
                                                       float(self.eta), sw)
        W = res.x.reshape(len(counts), Xd.shape[1])
        self.coef_ = W[:, :-1] if self.fit_intercept else W
        self.intercept_ = W[:, -1] if self.fit_intercept else np.zeros(len(counts))
        self.n_iter_ = int(init.nit + (0 if res is init else res.nit))
        self.objective_ = float(res.fun)
        dec = np.einsum("ij,ij->i", Xd, W[codes])
        warn_if_constant(
            self, expit(dec), y=labels_from01(self.classes_, self.pos_label_, data.y == 1),
            predictions=labels_from01(self.classes_, self.pos_label_, dec > 0),
            sample_weight=sw, params=("eta", "alpha"),
            advice=("Try a smaller eta (eta=0 gives per-group logistic regressions) or a "
                    "smaller alpha, chosen on held-out data."),
        )
        return self

    def decision_function(self, X, *, sensitive_features=None):
        """Linear score :math:`w_s^\\top x` of each sample's own group.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Positive where the favourable label is predicted.
        """
        check_is_fitted(self)
        Xd, codes, _ = self._design(X, sensitive_features, fit=False)
        if self.fit_intercept:
            Xd = Xd[:, :-1]
        return np.einsum("ij,ij->i", Xd, self.coef_[codes]) + self.intercept_[codes]

    def predict_proba(self, X, *, sensitive_features=None):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        p = expit(self.decision_function(X, sensitive_features=sensitive_features))
        return proba_columns(self.classes_, self.pos_label_, p)

    def predict(self, X, *, sensitive_features=None):
        """Favourable label where the probability exceeds 1/2.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        favourable = self.decision_function(X, sensitive_features=sensitive_features) > 0
        return labels_from01(self.classes_, self.pos_label_, favourable)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
