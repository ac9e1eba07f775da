"""Prejudice remover regularizer for logistic regression (Kamishima et al. 2012)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._validation import check_weights_nonnegative
from ..base import FairClassifierMixin, FairEstimatorMixin, warn_if_constant
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01, proba_columns
from ..utils._threads import single_blas_thread

__all__ = ["PrejudiceRemover"]

_EPS = 1e-10


class _Objective:
    """Objective and gradient of the prejudice-remover logistic regression.

    The rows are sorted by group once, so each group's scores ``X_s w_s`` and gradient
    ``X_s^T v_s`` are one matrix-vector product over a contiguous block of rows; the
    prejudice index, whose per-row logarithms only depend on the group, is summed per
    group. ``counts`` are the group sizes (the weight totals with ``sample_weight``).

    With ``scale`` (one positive number per column of ``X``) and optionally ``shift`` (one
    number per column, 0 at the intercept column ``intercept``) the objective is taken in
    variables ``v`` on the columns ``(X - shift) / scale``: ``w_j = v_j / scale_j`` and the
    intercept ``w_0 = v_0 - sum_j shift_j v_j / scale_j``, so ``X w`` is unchanged and the L2
    penalty stays on ``w``. It is the same function of ``w`` (the same minimiser), in
    coordinates where L-BFGS does not crawl when columns differ in scale or offset.
    """

    def __init__(self, X, y, codes, counts, sample_weight=None, scale=None, shift=None,
                 intercept=None):
        codes = np.asarray(codes, dtype=np.intp)
        self.counts = np.asarray(counts, dtype=np.float64)
        n_groups = len(self.counts)
        sizes = np.bincount(codes, minlength=n_groups)
        if len(sizes) != n_groups or not np.all(sizes > 0):
            raise ValueError("every group needs at least one row (codes 0 .. n_groups - 1).")
        if np.any(codes[1:] < codes[:-1]):  # sort the rows by group (stable)
            order = np.argsort(codes, kind="stable")
            X, y, codes = X[order], y[order], codes[order]
            if sample_weight is not None:
                sample_weight = sample_weight[order]
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.sw = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        self.bounds = np.r_[0, np.cumsum(sizes)]
        self.slices = [slice(self.bounds[g], self.bounds[g + 1]) for g in range(n_groups)]
        self.n_features = X.shape[1]
        self.total = float(self.counts.sum())
        self.scale, self.ratio, self.intercept = None, None, intercept
        if scale is not None:
            self.scale = np.asarray(scale, dtype=np.float64)
            if shift is not None and np.any(shift):
                if intercept is None:  # pragma: no cover - internal misuse
                    raise ValueError("a shift needs an intercept column to absorb it.")
                self.ratio = np.asarray(shift, dtype=np.float64) / self.scale
                self.X = self.X - shift  # a new array, divided in place below
                self.X /= self.scale
            else:
                self.X = self.X / self.scale

    def to_w(self, coef):
        """The weights ``w`` (n_groups, n_features) of the optimiser's variables."""
        V = np.reshape(coef, (len(self.counts), self.n_features))
        if self.scale is None:
            return V.copy()
        W = V / self.scale
        if self.ratio is not None:
            W[:, self.intercept] = V[:, self.intercept] - V @ self.ratio
        return W

    def scores(self, coef):
        """``w_{s_i}^T x_i`` of every row (group-sorted order), from the optimiser's variables."""
        W = np.reshape(coef, (len(self.counts), self.n_features))
        z = np.empty(len(self.y))
        for g, rows in enumerate(self.slices):
            np.matmul(self.X[rows], W[g], out=z[rows])
        return z

    def __call__(self, coef, eta, alpha):
        n_groups = len(self.counts)
        z = self.scores(coef)
        p = expit(z)
        # -log-likelihood: y softplus(-z) + (1 - y) softplus(z) = softplus(z) - y z
        nll_i = np.logaddexp(0.0, z)
        nll_i -= self.y * z
        sw = self.sw
        if sw is None:
            nll = nll_i.sum()
            wp = p
            r_num = p.sum()
        else:
            nll = np.dot(sw, nll_i)
            wp = sw * p
            r_num = wp.sum()
        mass = np.add.reduceat(wp, self.bounds[:-1])  # every block is non-empty
        q = np.clip(mass / self.counts, _EPS, 1 - _EPS)
        r = min(max(r_num / self.total, _EPS), 1 - _EPS)
        a = np.log(q) - np.log(r)
        b = np.log1p(-q) - np.log1p(-r)
        # sum_i w_i (p_i a_s + (1 - p_i) b_s) = sum_s (a_s M_s + b_s (N_s - M_s))
        prejudice = float(np.dot(a, mass) + np.dot(b, self.counts - mass))
        W = self.to_w(coef)
        loss = nll + eta * prejudice + 0.5 * alpha * np.sum(W * W)
        # d prejudice / d q_s and d prejudice / d r vanish (sum_i in s of w_i p_i = N_s q_s),
        # so only the direct dependence through p_i remains: w_i (a_s - b_s) dp_i.
        weight = p - self.y
        grad = np.empty((n_groups, self.n_features))
        for g, rows in enumerate(self.slices):
            v = weight[rows]
            if eta:
                pg = p[rows]
                v = v + (eta * (a[g] - b[g])) * (pg * (1.0 - pg))
            if sw is not None:
                v = v * sw[rows]
            np.matmul(v, self.X[rows], out=grad[g])
        # the penalty's gradient, alpha W, taken back to the optimiser's variables
        pen = alpha * W
        if self.scale is not None:
            if self.ratio is not None:
                pen_b = pen[:, self.intercept].copy()
                pen /= self.scale
                pen -= pen_b[:, None] * self.ratio
                pen[:, self.intercept] = pen_b
            else:
                pen /= self.scale
        grad += pen
        return float(loss), grad.ravel()


def prejudice_remover_objective(coef, X, y, codes, counts, eta, alpha, sample_weight=None):
    r"""Objective and gradient of the prejudice-remover logistic regression.

    ``coef`` has shape (n_groups * n_features,): one weight vector per group (the model
    matrix ``X`` already holds the intercept column). ``counts`` are the group sizes (the
    weight totals with ``sample_weight``). With ``sample_weight`` every per-sample term
    (log-loss, prejudice index, the group and overall means of the prediction) is weighted,
    so integer weights give the objective of the rows repeated by their weights.
    Returns ``(loss, grad)``.
    """
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    objective = _Objective(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64),
                           codes, counts, sw)
    return objective(np.asarray(coef, dtype=np.float64), eta, alpha)


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
        Gradient tolerance of L-BFGS (in the standardised coordinates it works in). A
        ``ConvergenceWarning`` says when ``max_iter`` ran out first.
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

    :math:`a_i` and :math:`b_i` depend on the row only through its group, so ``fit`` sorts
    the rows by group once and each evaluation of the objective and its gradient is two
    matrix-vector products per group (:math:`X_s w_s` and :math:`X_s^\top v_s`), the
    prejudice index being summed per group. The optimiser uses one BLAS thread.

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

    def _coordinates(self, Xd, sw):
        """Centre and scale of each column for the optimiser (see ``_Objective``).

        The same objective in standardised coordinates (weighted as the objective is, so
        integer weights stay repeated rows): columns centred and divided by their standard
        deviation when there is an intercept to absorb the centring, divided by their root
        mean square otherwise. Raw columns (an income ~1e5 next to 0/1 indicators) would
        otherwise leave L-BFGS at its iteration limit far from the minimum.
        """
        w = np.full(len(Xd), 1.0 / len(Xd)) if sw is None else sw / sw.sum()
        mean = w @ Xd
        rms = np.sqrt(w @ (Xd * Xd))
        if not self.fit_intercept:
            return {"scale": np.where(rms > 0, rms, 1.0)}
        var = np.maximum(rms ** 2 - mean ** 2, 0.0)
        # a (near-)constant column is only scaled: centring it would leave it all zeros
        varies = var > 1e-12 * np.maximum(rms ** 2, 1e-300)
        varies[-1] = False  # the intercept column
        scale = np.where(varies, np.sqrt(var), np.where(rms > 0, rms, 1.0))
        shift = np.where(varies, mean, 0.0)
        return {"scale": scale, "shift": shift, "intercept": Xd.shape[1] - 1}

    def _minimise(self, objective, coef0, eta):
        # One BLAS thread: each step is a few matrix-vector products (memory-bound), and
        # L-BFGS-B's own small BLAS calls with several threads cost more than the whole
        # objective on a busy machine (measured: 13x the CPU time on two shared cores).
        with single_blas_thread():
            return minimize(objective, coef0, jac=True, method="L-BFGS-B",
                            args=(eta, float(self.alpha)),
                            options={"maxiter": self.max_iter, "gtol": self.tol})

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
            check_weights_nonnegative(self, sw)
            counts = np.bincount(codes, weights=sw, minlength=n_groups)
            if (counts <= 0).any():
                empty = self.groups_[int(np.flatnonzero(counts <= 0)[0])]
                raise ValueError(
                    f"PrejudiceRemover: sample_weight sums to 0 over group {empty!r}; the "
                    "prejudice index needs every group's mean prediction."
                )
        objective = _Objective(Xd, data.y.astype(np.float64), codes, counts, sw,
                               **self._coordinates(Xd, sw))
        start = np.zeros(len(counts) * Xd.shape[1])
        # Kamishima's default start: per-group regularised logistic regressions (eta = 0)
        init = self._minimise(objective, start, 0.0)
        res = init if self.eta == 0 else self._minimise(objective, init.x, float(self.eta))
        for stage, r in (("the eta = 0 start", init), ("the full objective", res)):
            if r.status == 1:  # iteration limit (a line-search stop is at round-off level)
                warnings.warn(
                    f"PrejudiceRemover: L-BFGS reached max_iter={self.max_iter} iterations "
                    f"on {stage} before converging; raise max_iter (or standardise the "
                    "features).", ConvergenceWarning, stacklevel=2)
                break
        W = objective.to_w(res.x)
        self.coef_ = W[:, :-1] if self.fit_intercept else W
        self.intercept_ = W[:, -1] if self.fit_intercept else np.zeros(len(counts))
        self.n_iter_ = int(init.nit + (0 if res is init else res.nit))
        self.objective_ = float(res.fun)
        dec = objective.scores(res.x)  # rows in the objective's (group-sorted) order
        warn_if_constant(
            self, expit(dec), y=labels_from01(self.classes_, self.pos_label_, objective.y == 1),
            predictions=labels_from01(self.classes_, self.pos_label_, dec > 0),
            sample_weight=objective.sw, params=("eta", "alpha"),
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
