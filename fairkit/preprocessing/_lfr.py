r"""Learned fair representations (Zemel et al., 2013), fitted by L-BFGS-B via scipy."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize as optim
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._protected import privileged_mask
from .._validation import check_priv_group
from ..base import FairTransformerMixin, warn_if_constant
from ..utils._docstring import fair_docstring
from ..utils._threads import single_blas_thread

__all__ = ["LearnedFairRepresentations", "lfr_objective"]

_EPS = np.finfo(np.float64).eps


def _distances(X, V):
    sq = (X**2).sum(1)[:, None] - 2.0 * X @ V.T + (V**2).sum(1)[None, :]
    return np.sqrt(np.maximum(sq, 0.0))


def lfr_objective(params, X, y, groups, n_prototypes, n_outputs, reconstruct_weight=0.01,
                  target_weight=1.0, fairness_weight=50.0):
    r"""LFR loss and its gradient (the objective of AIF360's scikit-learn LFR).

    With prototypes :math:`V \in \mathbb{R}^{K \times d}`, memberships
    :math:`M_{nk} = \operatorname{softmax}_k(-\lVert x_n - v_k \rVert_2)` and coefficients
    :math:`w`,

    .. math::

        L = A_x \frac{1}{N d}\lVert M V - X \rVert_F^2
          + A_y \, \mathrm{CE}(y, M w)
          + A_z \frac{1}{G K} \sum_{g} \sum_k \Big| \overline{M_{\cdot k}}^{\,g}
                                          - \overline{M_{\cdot k}}^{\,\neg g} \Big|,

    where CE is the mean binary cross-entropy of :math:`\hat y = M w` (clipped to
    :math:`[\epsilon, 1 - \epsilon]`) for two classes (``n_outputs == 1``), else the mean
    softmax cross-entropy of the logits :math:`M W`, and :math:`\overline{M}^{\,g}`,
    :math:`\overline{M}^{\,\neg g}` are mean memberships inside and outside group
    :math:`g`. With two groups (privileged / unprivileged) both terms of the sum are equal
    and :math:`L_z` is AIF360's :math:`\frac{1}{K}\sum_k |\overline{M}^{\,priv}_k -
    \overline{M}^{\,unpriv}_k|`.

    Parameters
    ----------
    params : ndarray
        ``w`` (``n_prototypes * n_outputs`` values) followed by ``V`` (row-major).
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of int of shape (n_samples,)
        Class indices.
    groups : ndarray of int of shape (n_samples,)
        Group codes ``0 .. G - 1``, every group present, ``G >= 2`` (for AIF360's
        privileged-versus-rest term pass the privileged mask as 0/1).
    n_prototypes, n_outputs : int
    reconstruct_weight, target_weight, fairness_weight : float
        :math:`A_x`, :math:`A_y`, :math:`A_z`.

    Returns
    -------
    loss : float
    grad : ndarray, same shape as ``params``
    parts : tuple of float
        :math:`(L_x, L_y, L_z)` before weighting.
    """
    n, d = X.shape
    K, C = n_prototypes, n_outputs
    w = params[: K * C].reshape(K, C)
    V = params[K * C:].reshape(K, d)
    D = _distances(X, V)
    M = softmax(-D, axis=1)

    R = M @ V - X
    L_x = float(np.mean(R**2))
    gM = (reconstruct_weight * 2.0 / (n * d)) * (R @ V.T)
    gV = (reconstruct_weight * 2.0 / (n * d)) * (M.T @ R)

    if C == 1:
        raw = (M @ w)[:, 0]
        p = np.clip(raw, _EPS, 1 - _EPS)
        t = (y == 1).astype(np.float64)
        L_y = float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
        inside = (raw >= _EPS) & (raw <= 1 - _EPS)
        g_p = target_weight * (-(t / p) + (1 - t) / (1 - p)) / n * inside
        gM += g_p[:, None] * w.T
        gw = M.T @ g_p[:, None]
    else:
        Z = M @ w
        P = softmax(Z, axis=1)
        L_y = float(-np.mean(np.log(np.maximum(P[np.arange(n), y], 1e-300))))
        gZ = P.copy()
        gZ[np.arange(n), y] -= 1.0
        gZ *= target_weight / n
        gM += gZ @ w.T
        gw = M.T @ gZ

    # each group against the rest of the data, averaged over groups
    codes = np.asarray(groups, dtype=np.intp)
    G = int(codes.max()) + 1
    n_g = np.bincount(codes, minlength=G).astype(np.float64)
    sums = np.zeros((G, K))
    np.add.at(sums, codes, M)
    rest = n - n_g
    diff = sums / n_g[:, None] - (M.sum(axis=0)[None, :] - sums) / rest[:, None]
    L_z = float(np.mean(np.abs(diff)))
    sgn = np.sign(diff)
    own = sgn[codes] * (1.0 / n_g[codes] + 1.0 / rest[codes])[:, None]
    gM += (fairness_weight / (G * K)) * (own - (sgn / rest[:, None]).sum(axis=0)[None, :])

    loss = reconstruct_weight * L_x + target_weight * L_y + fairness_weight * L_z
    # back through the softmax and the Euclidean distances
    gA = M * (gM - (gM * M).sum(axis=1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        H = np.where(D > 0, -gA / D, 0.0)
    gV += H.sum(axis=0)[:, None] * V - H.T @ X
    grad = np.concatenate([gw.ravel(), gV.ravel()])
    return loss, grad, (L_x, L_y, L_z)


@fair_docstring
class LearnedFairRepresentations(FairTransformerMixin, ClassifierMixin, BaseEstimator):
    r"""Learned fair representations: prototypes that encode the data but not the group.

    Each sample is mapped to a probability vector over ``n_prototypes`` prototypes
    :math:`v_k`, :math:`M_{nk} = \operatorname{softmax}_k(-\lVert z_n - v_k \rVert)`.
    Prototypes :math:`V` and label coefficients :math:`w \in [0, 1]` minimise
    (see :func:`lfr_objective`)

    .. math::

        A_x L_x + \frac{A_y}{H} L_y + A_z L_z,

    a reconstruction error :math:`L_x` of :math:`\hat Z = M V`, a classification loss
    :math:`L_y` of :math:`\hat y = M w`, and the statistical-parity gap :math:`L_z` of the
    mean memberships of the privileged group(s) and all other samples. This is the objective of
    AIF360's scikit-learn ``LearnedFairRepresentations`` (same initialisation
    ``U[0, 1)`` from ``random_state``, same bounds, L-BFGS-B with ``gtol=tol``), with the
    gradient written out in numpy instead of obtained from torch.

    With ``normalize=True`` (the default) the three terms are put in comparable,
    unit-free scales: :math:`z_n` are the features standardised with their training mean
    and standard deviation, so :math:`L_x` is the fraction of feature variance the
    prototypes do not reconstruct (1 for the mean alone), and :math:`H` is the entropy of
    the training class frequencies, so :math:`L_y / H` is 1 for the class-frequency
    predictor and 0 for a perfect one; :math:`L_z` is a difference of probabilities. The
    defaults :math:`A_x = 0.1`, :math:`A_y = 1`, :math:`A_z = 3` are stated in these units:
    a gap of 0.1 in mean membership costs as much as 30% of the label entropy. With
    ``normalize=False``, :math:`z_n = x_n` and :math:`H = 1`: AIF360's objective, whose
    weights ``reconstruct_weight=0.01, target_weight=1, fairness_weight=50`` are the
    scale-dependent defaults of that implementation. On raw features those end at the
    majority class (the fairness term, 50 times a probability gap, outweighs the whole
    label loss, so uniform memberships win; and the memberships' softmax of raw
    distances is uniform or one-hot depending on the features' units).

    ``transform`` returns the reconstruction :math:`\hat X = M V` (same columns as the
    features, as in AIF360), :meth:`prototype_membership` the memberships :math:`M`, and
    ``predict_proba`` the LFR classifier :math:`\hat y`.

    Parameters
    ----------
    {prot_attr}
        At ``transform`` / ``predict`` time the attribute is needed only to find (and
        drop) the protected column(s) of ``X``.
    {priv_group}
        Required: :math:`L_z` compares the privileged group(s) with all other samples
        (AIF360); None raises ``ValueError`` asking for it.
    n_prototypes : int, default=5
    reconstruct_weight, target_weight, fairness_weight : float, default=0.1, 1.0, 3.0
        :math:`A_x`, :math:`A_y`, :math:`A_z`, in the units set by ``normalize``.
        AIF360's defaults are 0.01, 1.0, 50.0 with ``normalize=False``.
    tol : float, default=1e-4
        ``gtol`` of L-BFGS-B.
    max_iter : int, default=200
    drop_prot_attr : bool, default=True
        Exclude the protected columns from the features (they must be numeric otherwise).
    normalize : bool, default=True
        Standardise the features inside the fit and divide :math:`L_y` by the class
        entropy :math:`H` (see above). False gives AIF360's unscaled objective.
    {random_state}
        Seeds the initial parameters.

    Attributes
    ----------
    classes_ : ndarray
    groups_ : list
        Group labels seen in ``fit``.
    prot_attr_names_ : list of str
    privileged_groups_ : ndarray of bool
        Mask over ``groups_`` marking the privileged group(s).
    coef_ : ndarray of shape (n_prototypes, 1) or (n_prototypes, n_classes)
    prototypes_ : ndarray of shape (n_prototypes, n_used_features)
        In the units of the features (``transform`` is ``M @ prototypes_``).
    mean_, scale_ : ndarray of shape (n_used_features,)
        Standardisation of the features (0 and 1 with ``normalize=False``).
    n_iter_ : int
    loss_ : float
        Final objective value (on the standardised features with ``normalize=True``).
    loss_curve_ : list of float
        Objective value at the start and after each L-BFGS-B iteration.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    References
    ----------
    .. [1] R. Zemel, Y. Wu, K. Swersky, T. Pitassi and C. Dwork, "Learning fair
       representations", ICML 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.preprocessing import LearnedFairRepresentations
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.integers(0, 2, 60), rng.normal(size=(60, 2))]
    >>> y = (X[:, 1] > 0).astype(int)
    >>> lfr = LearnedFairRepresentations(prot_attr=0, priv_group=1, random_state=0).fit(X, y)
    >>> lfr.transform(X).shape, lfr.predict_proba(X).shape
    ((60, 2), (60, 2))
    """

    _parameter_constraints = {
        "prot_attr": "no_validation",
        "priv_group": "no_validation",
        "n_prototypes": [Interval(Integral, 1, None, closed="left")],
        "reconstruct_weight": [Interval(Real, 0, None, closed="left")],
        "target_weight": [Interval(Real, 0, None, closed="left")],
        "fairness_weight": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "drop_prot_attr": ["boolean"],
        "normalize": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, prot_attr=None, priv_group=None, n_prototypes=5,
                 reconstruct_weight=0.1, target_weight=1.0, fairness_weight=3.0, tol=1e-4,
                 max_iter=200, drop_prot_attr=True, normalize=True, random_state=None):
        self.prot_attr = prot_attr
        self.priv_group = priv_group
        self.n_prototypes = n_prototypes
        self.reconstruct_weight = reconstruct_weight
        self.target_weight = target_weight
        self.fairness_weight = fairness_weight
        self.tol = tol
        self.max_iter = max_iter
        self.drop_prot_attr = drop_prot_attr
        self.normalize = normalize
        self.random_state = random_state

    def fit(self, X, y, *, sensitive_features=None):
        """Learn prototypes and coefficients.

        ``sample_weight`` is not accepted: the objective has no weighted form here.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.

        Returns
        -------
        self
        """
        self._validate_params()
        check_priv_group(self, "the group whose mean prototype memberships L_z compares "
                         "with the other samples")
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, reset=True, min_groups=2,
            drop=self.drop_prot_attr, features="numeric", target="classification",
        )
        classes, y_codes = np.unique(data.y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                "LearnedFairRepresentations needs at least 2 classes in y; got 1 class "
                f"({classes.tolist()})."
            )
        Xf = np.asarray(data.X, dtype=np.float64)
        if self.normalize:
            self.mean_ = Xf.mean(axis=0)
            std = Xf.std(axis=0)
            self.scale_ = np.where(std > 10 * _EPS * np.maximum(np.abs(self.mean_), 1.0),
                                   std, 1.0)
            Xf = (Xf - self.mean_) / self.scale_
            freq = np.bincount(y_codes) / len(y_codes)
            target_weight = self.target_weight / float(-(freq * np.log(freq)).sum())
        else:
            self.mean_, self.scale_ = np.zeros(Xf.shape[1]), np.ones(Xf.shape[1])
            target_weight = self.target_weight
        self._prot_idx = list(data.prot_idx)
        self.classes_ = classes
        self.privileged_groups_ = privileged_mask(data.groups, self.priv_group)
        side = self.privileged_groups_[data.codes].astype(np.intp)

        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        K, d = self.n_prototypes, Xf.shape[1]
        rng = check_random_state(self.random_state)
        x0 = rng.random(K * n_out + K * d)
        bounds = [(0, 1)] * (K * n_out) + [(None, None)] * (K * d)
        args = (Xf, y_codes, side, K, n_out, self.reconstruct_weight, target_weight,
                self.fairness_weight)

        def fun(p):
            loss, grad, _ = lfr_objective(p, *args)
            return loss, grad

        curve = [fun(x0)[0]]

        def record(intermediate_result):
            curve.append(float(intermediate_result.fun))

        with single_blas_thread():
            res = optim.minimize(fun, x0, method="L-BFGS-B", jac=True, bounds=bounds,
                                 callback=record,
                                 options={"gtol": self.tol, "maxiter": self.max_iter})
        self.coef_ = res.x[: K * n_out].reshape(K, n_out)
        V = res.x[K * n_out:].reshape(K, d)
        self.prototypes_ = V * self.scale_ + self.mean_
        self.n_iter_ = int(res.nit)
        self.loss_ = float(res.fun)
        self.loss_curve_ = curve
        if res.status == 1:
            warnings.warn(
                f"L-BFGS-B did not converge in max_iter={self.max_iter} iterations; "
                "increase max_iter.", ConvergenceWarning, stacklevel=2)
        elif res.status not in (0, 1):
            warnings.warn(f"L-BFGS-B failed to converge: {res.message}", ConvergenceWarning,
                          stacklevel=2)
        # the classifier of the representation on the training rows: a fairness term that
        # dominates can leave every row with the same class
        M = softmax(-_distances(Xf, V), axis=1)
        out = M @ self.coef_
        proba = np.c_[1.0 - out[:, 0], out[:, 0]] if out.shape[1] == 1 else softmax(out, axis=1)
        warn_if_constant(
            self, proba, y=data.y, predictions=self.classes_[proba.argmax(axis=1)],
            params=("fairness_weight", "target_weight"),
            advice=("Try a smaller fairness_weight (fairness_weight=0 keeps the prototype "
                    "classifier unconstrained) or a larger target_weight, chosen on held-out "
                    "data. With normalize=False the memberships softmax(-distance) are "
                    "nearly uniform when the features spread little (distances well below "
                    "1): use normalize=True or standardise them first."),
        )
        return self

    def _used(self, X, sensitive_features):
        check_is_fitted(self)
        # groups are not needed here: the attribute only locates the columns to drop
        data = self._validate_fair_data(
            X, sensitive_features=sensitive_features, reset=False, protected="columns",
            drop=self.drop_prot_attr, features="numeric", map_groups=False,
        )
        return data.X

    def prototype_membership(self, X, *, sensitive_features=None):
        """Memberships :math:`M` of the samples in the prototypes, shape (n, n_prototypes)."""
        Xf = self._used(X, sensitive_features)
        Z = (Xf - self.mean_) / self.scale_
        V = (self.prototypes_ - self.mean_) / self.scale_
        return softmax(-_distances(Z, V), axis=1)

    def transform(self, X, *, sensitive_features=None):
        """Reconstruction :math:`\\hat X = M V` of the (non-protected) features."""
        M = self.prototype_membership(X, sensitive_features=sensitive_features)
        return M @ self.prototypes_

    def predict_proba(self, X, *, sensitive_features=None):
        """Class probabilities of the LFR classifier, columns in ``classes_`` order."""
        M = self.prototype_membership(X, sensitive_features=sensitive_features)
        out = M @ self.coef_
        if out.shape[1] == 1:
            return np.c_[1.0 - out[:, 0], out[:, 0]]
        return softmax(out, axis=1)

    def predict(self, X, *, sensitive_features=None):
        """Most probable class."""
        proba = self.predict_proba(X, sensitive_features=sensitive_features)
        return self.classes_[proba.argmax(axis=1)]
