"""Celis et al.'s meta-algorithm for classification with fairness constraints (FAT* 2019)."""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import check_weights_nonnegative
from ..base import FairClassifierMixin, FairEstimatorMixin, warn_if_constant
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01

__all__ = ["MetaFairClassifier"]

# Settings of the algorithm as published with the paper's code (and kept by AIF360):
_EPS = 0.01  # width of the intervals [a, a + eps] the fairness ratio is cut into
_GRID_STEP = 10  # every 10th interval is solved
_N_SAMPLES = 20  # draws from the Gaussian model of x per interval (the dual's expectation)
_N_RESTARTS = 9  # gradient-descent starts
_N_STEPS = 49  # gradient steps per start, step size 1 / k
_MU = 0.01  # smoothing of |t| by sqrt(t^2 + mu^2) in the gradient
_SLACK = 0.2  # a candidate is kept when its training ratio is at least tau - 0.2

# the four (y, z) cells of the joint Gaussian, in this order
_CELLS = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, 0.0], [-1.0, 0.0]])


def _intervals(tau):
    """Lower and upper ends ``(a, b)`` of the solved intervals for ``tau > 0``."""
    a = np.arange(np.ceil(tau / _EPS), step=_GRID_STEP) * _EPS
    b = np.minimum((a + _EPS) / tau, 1.0)
    return a, b


class _GaussianPosterior:
    """Posterior of the four cells ``(y, z)`` given ``x`` under one Gaussian on ``(x, y, z)``.

    The density is evaluated as ``scipy.stats.multivariate_normal(allow_singular=True)``
    did when the paper's code was written: the covariance is pseudo-inverted on its
    eigenvalues above ``1e6`` machine epsilons times the largest one, and a component in
    its null space is ignored (current scipy gives such points density 0, see the class
    notes). The Mahalanobis terms in ``x`` alone are common to the four cells and cancel in
    the posterior, so each cell's log-density is affine in ``x`` and the posterior is a
    softmax of four affine scores (nothing underflows, as ratios of ``pdf`` values do with
    many features).
    """

    def __init__(self, mean, cov, p):
        s, u = scipy.linalg.eigh(cov, lower=True)
        cutoff = 1e6 * np.finfo(np.float64).eps * np.max(np.abs(s))
        keep = np.abs(s) > cutoff
        prec = (u[:, keep] / s[keep]) @ u[:, keep].T
        dev = _CELLS - mean[p:]  # (4, 2): deviation of each cell's (y, z)
        self.mean_x = mean[:p]
        # log-density of cell c, up to terms shared by the cells:
        # -(x - m)^T P_xv dev_c - dev_c^T P_vv dev_c / 2
        self.coef = -(prec[:p, p:] @ dev.T)  # (p, 4)
        self.intercept = -0.5 * np.einsum("ci,ij,cj->c", dev, prec[p:, p:], dev)

    def __call__(self, X):
        logits = (X - self.mean_x) @ self.coef + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        return prob


def _features(prob, kind, z_mean):
    """The per-row quantities the decision ``t`` is affine in (see ``_decision``)."""
    c0 = prob[..., 0] + prob[..., 2] - 0.5  # P(y = 1 | x) - 1/2
    pz1 = prob[..., 0] + prob[..., 1]
    pz0 = prob[..., 2] + prob[..., 3]
    if kind == "sr":
        return c0, np.stack([pz0 / (1.0 - z_mean), pz1 / z_mean], axis=-1)
    # fdr: P(y = -1, z = 0 | x), P(y = -1, z = 1 | x), P(z = 0 | x), P(z = 1 | x)
    return c0, np.stack([prob[..., 3], prob[..., 1], pz0, pz1], axis=-1)


def _directions(Q, kind, a, b):
    """Per-row coefficients of the dual variables in ``t`` for the interval ``[a, b]``.

    ``Q`` has shape (..., m) with a leading axis per interval broadcast against ``a``, ``b``.
    """
    if kind == "sr":
        return Q
    a = np.asarray(a)[..., None, None]
    b = np.asarray(b)[..., None, None]
    return np.stack([Q[..., 0] - a[..., 0] * Q[..., 2], Q[..., 1] - a[..., 0] * Q[..., 3],
                     b[..., 0] * Q[..., 2] - Q[..., 0], b[..., 0] * Q[..., 3] - Q[..., 1]],
                    axis=-1)


def _dual_descent(c0, D, kind, a, b):
    """Minimise the smoothed dual of every interval by the paper's gradient descent.

    ``c0`` (G, S) and ``D`` (G, S, m) hold the draws of each of the G intervals. Nine starts
    (``[i - 5] * 2`` for ``sr``, ``[i] * 4`` for ``fdr``, ``i = 1 .. 9``) each take 49
    steps of size ``1 / k``; the returned variables are those with the smallest objective
    value met along the way (the first of equal values, in the order visited).
    """
    G, _, m = D.shape
    starts = np.arange(1, _N_RESTARTS + 1, dtype=np.float64) - (5.0 if kind == "sr" else 0.0)
    lam = np.repeat(starts[None, :, None], G, axis=0).repeat(m, axis=2)  # (G, R, m)
    a_ = np.asarray(a, dtype=np.float64)[:, None, None]
    b_ = np.asarray(b, dtype=np.float64)[:, None, None]
    values = np.empty((G, _N_RESTARTS, _N_STEPS))
    history = np.empty((G, _N_RESTARTS, _N_STEPS, m))
    for k in range(1, _N_STEPS + 1):
        t = c0[:, None, :] + np.einsum("gsm,grm->grs", D, lam)
        smooth = t / np.sqrt(t * t + _MU * _MU)
        grad = np.einsum("grs,gsm->grm", smooth, D) / D.shape[1]
        if kind == "sr":
            # d/d lambda of -b lambda + (b - a) max(lambda, 0), max smoothed
            grad = grad - b_ + (b_ - a_) / 2 + (b_ - a_) * lam / (
                2 * np.sqrt(lam * lam + _MU * _MU))
        lam = lam - (1.0 / k) * grad
        t = c0[:, None, :] + np.einsum("gsm,grm->grs", D, lam)
        f = np.abs(t).mean(axis=2)
        if kind == "sr":
            f = f - b_[..., 0] * lam.sum(axis=2) + (b_ - a_)[..., 0] * np.maximum(
                lam, 0.0).sum(axis=2)
        values[:, :, k - 1] = np.where(np.isnan(f), np.inf, f)
        history[:, :, k - 1] = lam
    best = np.argmin(values.reshape(G, -1), axis=1)
    return history.reshape(G, -1, m)[np.arange(G), best]


def _weighted_mean(v, w):
    return float(np.mean(v)) if w is None else float(np.dot(w, v) / w.sum())


def _ratio(pred, y, z, kind, w):
    """The training fairness ratio (``min(r0 / r1, r1 / r0)``) of 0/1 predictions."""
    rates = []
    for g in (0, 1):
        rows = z == g
        wg = None if w is None else w[rows]
        pos = pred[rows]
        if kind == "sr":
            rates.append(_weighted_mean(pos, wg))
            continue
        n_pos = pos.sum() if wg is None else np.dot(wg, pos)
        if n_pos == 0:
            return 0.0
        false = pos & (y[rows] == 0)
        rates.append(float((false.sum() if wg is None else np.dot(wg, false)) / n_pos))
    r0, r1 = rates
    if r0 == 0 or r1 == 0:
        return 0.0
    return min(r0 / r1, r1 / r0)


@fair_docstring
class MetaFairClassifier(FairEstimatorMixin, FairClassifierMixin, ClassifierMixin,
                         BaseEstimator):
    r"""Celis et al.'s meta-algorithm: a Bayes classifier under a ratio constraint.

    A Gaussian model of :math:`(x, y, z)` (labels :math:`y = \pm 1`, group
    :math:`z \in \{0, 1\}`) gives the posteriors :math:`\eta(x) = P(y = 1 \mid x)` and
    :math:`P(z \mid x)`. The constraint that the two groups' rates :math:`q_0, q_1`
    (``type="sr"``: :math:`P(\hat y = 1 \mid z)`, the statistical rate; ``"fdr"``:
    :math:`P(y = -1 \mid \hat y = 1, z)`, the false discovery rate) satisfy
    :math:`\min(q_0 / q_1, q_1 / q_0) \ge \tau` is replaced by a family of interval
    constraints :math:`a \le q_z \le b` with :math:`a = (i-1)\varepsilon`,
    :math:`b = \min(i \varepsilon / \tau, 1)`. Each interval's problem has the Lagrangian
    classifier :math:`\hat y(x) = \operatorname{sign} t_\lambda(x)` with, for ``"sr"``,

    .. math::

        t_\lambda(x) = \eta(x) - \tfrac12 + \lambda_1 \frac{P(z=0 \mid x)}{\pi_0}
                       + \lambda_2 \frac{P(z=1 \mid x)}{\pi_1},

        \min_\lambda\; E_x |t_\lambda(x)| + \sum_{j} \big(-b \lambda_j
                       + (b - a) \max(\lambda_j, 0)\big),

    and for ``"fdr"`` (:math:`\lambda = (u_0, u_1, \ell_0, \ell_1)`)

    .. math::

        t_\lambda(x) = \eta(x) - \tfrac12 + \sum_{z} u_z \big(P(y=-1, z \mid x)
                       - a P(z \mid x)\big) + \ell_z \big(b P(z \mid x)
                       - P(y=-1, z \mid x)\big), \qquad \min_\lambda\; E_x |t_\lambda(x)|.

    The dual is minimised by gradient descent (:math:`|t|` smoothed to
    :math:`\sqrt{t^2 + \mu^2}` in the gradient, :math:`\mu = 0.01`; nine starts of 49 steps
    of size :math:`1/k`) on 20 draws of :math:`x` from the Gaussian model. Among the
    intervals (:math:`\varepsilon = 0.01`, every tenth :math:`i`), the classifier with the
    best training accuracy whose training ratio is at least :math:`\tau - 0.2` is kept;
    when none is, the unconstrained :math:`\operatorname{sign}(\eta(x) - 1/2)` is (with a
    warning). These are the settings of the authors' code and of AIF360.

    Parameters
    ----------
    tau : float, default=0.8
        Target fairness ratio in [0, 1]; 0 gives the unconstrained Gaussian Bayes
        classifier.
    type : {"fdr", "sr"}, default="fdr"
        The group rate whose ratio is constrained: false discovery rate or statistical
        (selection) rate.
    {prot_attr}
        Exactly two groups. The protected columns stay features (as in AIF360) unless
        ``drop_prot_attr=True``; the classifier reads only the features.
    {drop_prot_attr}
    {random_state}
        It draws the sample of :math:`x` on which each interval's dual is solved.
    {pos_label}

    Attributes
    ----------
    mean_ : ndarray of shape (n_model_features + 2,)
        Mean of the Gaussian model of :math:`(x, y, z)`.
    covariance_ : ndarray of shape (n_model_features + 2, n_model_features + 2)
    intervals_ : ndarray of shape (n_intervals, 2)
        The solved intervals :math:`(a, b)`.
    candidates_ : dict of ndarray
        Per interval: ``"dual"`` (its dual variables), ``"accuracy"`` and ``"ratio"`` (its
        training accuracy and fairness ratio).
    interval_ : tuple of float
        The chosen :math:`(a, b)`; ``(0.0, 0.0)`` with the unconstrained classifier.
    dual_ : ndarray of shape (2,) or (4,)
        The chosen dual variables (zeros with the unconstrained classifier).
    groups_ : list
        Group labels; ``groups_[1]`` is :math:`z = 1`.
    prot_attr_names_ : list of str
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    The Gaussian is fitted by the sample mean and covariance (normalised by
    :math:`n - 1`); with ``sample_weight`` by their frequency-weighted versions, so integer
    weights give the fit on repeated rows (the covariance is normalised by
    :math:`\sum_i w_i - 1`, which must be positive), and the candidates' accuracy and ratio
    are weighted too.

    A singular covariance (the protected attribute among the features, one-hot columns)
    is pseudo-inverted, and the density of a point off the Gaussian's support is that of
    its projection onto it: ``scipy.stats.multivariate_normal(allow_singular=True)`` as the
    authors' code was written against. Current scipy gives such points density 0 instead;
    with the protected attribute among standardised features every draw of :math:`x` is
    then off the support, and AIF360 0.6.1 fails (its dual objective is NaN everywhere).
    With the attribute kept out of the features, or a covariance that is regular, the two
    conventions agree. The posterior is a softmax of the four cells' log-densities; AIF360
    divides densities, which underflow to 0/0 (a NaN score, predicted negative) when the
    Mahalanobis distances are large.

    Twenty draws make the chosen classifier depend on ``random_state``: on held-out
    synthetic data whose unconstrained selection-rate ratio is 0.2-0.4, ``tau=0.8`` gave
    ratios from 0.54 to 0.98 over ten seeds. With rare positives every candidate meeting
    the ratio may predict far more positives than there are; ``fit`` then warns that the
    training accuracy is below the majority-class rate.

    AIF360 (and the authors' code) keeps, as the dual solution, the list of variables it
    last assigned when the objective improved, and then keeps updating that list in
    place: what it returns is the last iterate of the last start that improved, not the
    minimiser the paper's algorithm asks for. Here the minimiser is returned.

    ``decision_function`` returns :math:`t(x)`; AIF360's scores are :math:`(t + 1) / 2`,
    not probabilities (they can leave [0, 1]), so no ``predict_proba`` is offered.

    References
    ----------
    .. [1] L. E. Celis, L. Huang, V. Keswani, N. K. Vishnoi, "Classification with Fairness
       Constraints: A Meta-Algorithm with Provable Guarantees", FAT* 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import MetaFairClassifier
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 2, 1000); x = rng.normal(size=(1000, 2)) + z[:, None]
    >>> y = (x[:, 0] + rng.normal(size=1000) > 0.5).astype(int)
    >>> clf = MetaFairClassifier(tau=0.8, type="sr", random_state=0)
    >>> clf.fit(x, y, sensitive_features=z).predict(x).shape
    (1000,)
    """

    _parameter_constraints = {
        "tau": [Interval(Real, 0, 1, closed="both")],
        "type": [StrOptions({"fdr", "sr"})],
        "prot_attr": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
        "pos_label": "no_validation",
    }

    def __init__(self, tau=0.8, type="fdr", *, prot_attr=None, drop_prot_attr=False,
                 random_state=None, pos_label=None):
        self.tau = tau
        self.type = type
        self.prot_attr = prot_attr
        self.drop_prot_attr = drop_prot_attr
        self.random_state = random_state
        self.pos_label = pos_label

    def _model_matrix(self, X, sensitive_features=None, *, y=None, sample_weight=None,
                      fit):
        if fit:
            data = self._validate_fair_data(
                X, y, sensitive_features=sensitive_features, sample_weight=sample_weight,
                reset=True, min_groups=2, drop=bool(self.drop_prot_attr),
                features="numeric", target="binary", pos_label=self.pos_label)
        else:
            # the protected attribute is not a model input: it is only dropped here, and
            # groups never seen in fit are fine
            data = self._validate_fair_data(
                X, reset=False, protected="columns", drop=bool(self.drop_prot_attr),
                features="numeric", map_groups=False)
        return np.asarray(data.X, dtype=np.float64), data

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the Gaussian model and choose the fair Bayes classifier.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features (plus the ``prot_attr`` columns).
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like, default=None
            Protected attribute, if not read from ``X`` through ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the Gaussian model and of the candidates' accuracy and
            ratio; a weighted fit equals a fit on rows repeated by their weight.

        Returns
        -------
        self
        """
        self._validate_params()
        Xd, data = self._model_matrix(X, sensitive_features, y=y, sample_weight=sample_weight,
                                      fit=True)
        if len(self.groups_) != 2:
            raise ValueError(
                f"MetaFairClassifier compares exactly two groups; prot_attr="
                f"{self.prot_attr!r} gives {len(self.groups_)} groups: {list(self.groups_)}.")
        if Xd.shape[1] == 0:
            raise ValueError("MetaFairClassifier needs at least one feature besides the "
                             "protected attribute (drop_prot_attr=True left none).")
        z = np.asarray(data.groups.codes, dtype=np.intp)
        y01 = np.asarray(data.y, dtype=np.intp)
        sw = data.sample_weight
        if sw is not None:
            check_weights_nonnegative(self, sw)
            sw = np.asarray(sw, dtype=np.float64)
            if not sw.sum() > 1:
                raise ValueError(
                    "MetaFairClassifier: sample_weight must sum to more than 1 (frequency "
                    f"weights; the covariance is normalised by their sum - 1); its sum is "
                    f"{float(sw.sum())!r}.")
            for g in (0, 1):
                if not sw[z == g].sum() > 0:
                    raise ValueError(
                        f"MetaFairClassifier: sample_weight sums to 0 over group "
                        f"{self.groups_[g]!r}; both groups' rates are compared.")
        n, p = Xd.shape
        joint = np.c_[Xd, 2.0 * y01 - 1.0, z.astype(np.float64)]
        if sw is None:
            mean = joint.mean(axis=0)
            dev = joint - mean
            cov = dev.T @ dev / (n - 1)
        else:
            total = sw.sum()
            mean = sw @ joint / total
            dev = joint - mean
            cov = (dev * sw[:, None]).T @ dev / (total - 1)
        z_mean = float(mean[-1])
        self.mean_, self.covariance_ = mean, cov
        self._posterior = _GaussianPosterior(mean, cov, p)
        kind = self.type
        c0, Q = _features(self._posterior(Xd), kind, z_mean)

        tau = float(self.tau)
        m = 2 if kind == "sr" else 4
        dual, interval = np.zeros(m), (0.0, 0.0)
        if tau == 0:
            a = b = np.zeros(0)
            duals = np.zeros((0, m))
            acc = ratio = np.zeros(0)
        else:
            a, b = _intervals(tau)
            rng = check_random_state(self.random_state)
            # x ~ N(mean_x, cov_x), drawn as numpy's RandomState.multivariate_normal does
            u, s, vt = np.linalg.svd(cov[:p, :p])
            draws = rng.standard_normal((len(a) * _N_SAMPLES, p))
            draws = (draws @ (np.sqrt(s)[:, None] * vt) + mean[:p]).reshape(
                len(a), _N_SAMPLES, p)
            c0_s, Q_s = _features(self._posterior(draws.reshape(-1, p)), kind, z_mean)
            c0_s = c0_s.reshape(len(a), _N_SAMPLES)
            Q_s = Q_s.reshape(len(a), _N_SAMPLES, m)
            duals = _dual_descent(c0_s, _directions(Q_s, kind, a, b), kind, a, b)
            acc = np.empty(len(a))
            ratio = np.empty(len(a))
            best = 0.0
            for i in range(len(a)):
                t = c0 + _directions(Q, kind, a[i], b[i]) @ duals[i]
                pred = t > 0
                acc[i] = _weighted_mean(pred == (y01 == 1), sw)
                ratio[i] = _ratio(pred, y01, z, kind, sw)
                if best < acc[i] and ratio[i] >= tau - _SLACK:
                    best, dual, interval = acc[i], duals[i], (float(a[i]), float(b[i]))
            if best == 0.0:
                warnings.warn(
                    f"MetaFairClassifier: no candidate reached a training {kind} ratio of "
                    f"tau - {_SLACK} = {tau - _SLACK:.3g} (best {np.max(ratio):.3g}); the "
                    "unconstrained Gaussian Bayes classifier is used, as in AIF360. Try a "
                    "smaller tau.", UserWarning, stacklevel=2)
            else:
                rate = _weighted_mean(y01 == 1, sw)
                majority = max(rate, 1.0 - rate)
                if best < majority:
                    warnings.warn(
                        f"MetaFairClassifier: the chosen classifier's training accuracy "
                        f"{best:.4f} is below the majority-class rate {majority:.4f} (tau="
                        f"{tau:g}, type={kind!r}): every candidate meeting the ratio "
                        "predicts far from the class balance (the dual is solved on 20 "
                        "draws; frequent with rare positives). Try a smaller tau.",
                        UserWarning, stacklevel=2)
        self.intervals_ = np.c_[a, b]
        self.candidates_ = {"dual": duals, "accuracy": acc, "ratio": ratio}
        self.interval_ = interval
        self.dual_ = np.asarray(dual, dtype=np.float64)
        t = c0 + _directions(Q, kind, *interval) @ self.dual_
        warn_if_constant(
            self, t, y=labels_from01(self.classes_, self.pos_label_, y01 == 1),
            predictions=labels_from01(self.classes_, self.pos_label_, t > 0),
            sample_weight=sw, params=("tau", "type"),
            advice="The Gaussian model may not separate the classes; standardise the "
                   "features or try a smaller tau.")
        return self

    def decision_function(self, X, *, sensitive_features=None):
        """The Lagrangian score :math:`t(x)`; positive where the favourable label is
        predicted.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Accepted for metadata routing and ignored: the classifier reads only the
            features.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        Xd, _ = self._model_matrix(X, fit=False)
        c0, Q = _features(self._posterior(Xd), self.type, float(self.mean_[-1]))
        return c0 + _directions(Q, self.type, *self.interval_) @ self.dual_

    def predict(self, X, *, sensitive_features=None):
        """Favourable label where :math:`t(x) > 0`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        t = self.decision_function(X, sensitive_features=sensitive_features)
        return labels_from01(self.classes_, self.pos_label_, t > 0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
