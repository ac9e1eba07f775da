"""Adversarial debiasing (Zhang, Lemoine, Mitchell 2018) in NumPy: a predictor (logistic
regression or a one-hidden-layer ReLU network) trained against an adversary that predicts
the protected group from the predictor's output."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import FairClassifierMixin, FairEstimatorMixin, warn_if_constant
from ..utils._adam import Adam
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01, proba_columns

__all__ = ["AdversarialDebiasingClassifier"]

_CONSTRAINTS = ("demographic_parity", "equalized_odds")


def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


class _Predictor:
    """Logistic model or one hidden ReLU layer, parameters in one flat vector ``theta``.

    ``theta`` holds ``W1 (d, k), b1 (k), w2 (k,), b2 (1)`` with a hidden layer and
    ``w (d,), b (1)`` without; the layer arrays are views of it, so one Adam step on
    ``theta`` updates them all.
    """

    def __init__(self, n_in, hidden, theta=None):
        self.n_in, self.hidden = n_in, hidden
        k = hidden
        self.size = (n_in * k + k + k + 1) if k else (n_in + 1)
        self.theta = np.zeros(self.size) if theta is None else theta
        self._views()

    def _views(self):
        t, d, k = self.theta, self.n_in, self.hidden
        if k:
            self.W1 = t[: d * k].reshape(d, k)
            self.b1 = t[d * k : d * k + k]
            self.w2 = t[d * k + k : d * k + 2 * k]
            self.b2 = t[d * k + 2 * k :]
        else:
            self.W1 = self.b1 = None
            self.w2 = t[:d]
            self.b2 = t[d:]

    def forward(self, X):
        """Logits ``z`` and the hidden activations (``X`` itself without a hidden layer)."""
        if self.hidden:
            H = X @ self.W1
            H += self.b1
            np.maximum(H, 0.0, out=H)
        else:
            H = X
        return H @ self.w2 + self.b2[0], H

    def backward(self, X, H, D):
        """Gradients (size, m) of ``sum_i D[i, j] z_i`` for each column ``j`` of ``D``."""
        m = D.shape[1]
        G = np.empty((self.size, m))
        d, k = self.n_in, self.hidden
        if not k:
            G[:d] = X.T @ D
            G[d] = D.sum(axis=0)
            return G
        G[d * k + k : d * k + 2 * k] = H.T @ D
        G[d * k + 2 * k] = D.sum(axis=0)
        active = H > 0
        # dL/d(pre-activation) of every column j: D[:, j] w2^T on the active units, side by
        # side so that the first layer's gradients of all columns are one product
        DH = (D[:, :, None] * self.w2[None, None, :]) * active[:, None, :]  # (n, m, k)
        DH = DH.reshape(len(X), m * k)
        G[: d * k] = (X.T @ DH).reshape(d, m, k).transpose(0, 2, 1).reshape(d * k, m)
        G[d * k : d * k + k] = DH.sum(axis=0).reshape(m, k).T
        return G


class _Adversary:
    """Zhang et al.'s adversary on the predictor's logit ``z``.

    ``s = sigmoid((1 + |c|) z)``; its inputs are ``[s]`` (demographic parity) or
    ``[s, s y, s (1 - y), y]`` (equalized odds: it sees the label); its output is a logistic
    model of the group (one logit for two groups, a softmax over ``K > 2`` groups).
    Parameters in one flat vector ``phi = [c, U.ravel(), v]``.
    """

    def __init__(self, n_inputs, n_groups, prior):
        self.q = n_inputs
        self.k = 1 if n_groups == 2 else n_groups
        self.binary = n_groups == 2
        self.phi = np.zeros(1 + self.q * self.k + self.k)
        self.phi[0] = 1.0  # as in AIF360's implementation
        prior = np.clip(prior, 1e-12, None)
        if self.binary:
            self.phi[-1] = np.log(prior[1] / prior[0])
        else:
            self.phi[-self.k :] = np.log(prior)

    def _parts(self, phi):
        c = phi[0]
        U = phi[1 : 1 + self.q * self.k].reshape(self.q, self.k)
        v = phi[1 + self.q * self.k :]
        return c, U, v

    def loss_grad(self, phi, z, y, g, wn, grad=True):
        """Mean cross-entropy of the group (weights ``wn`` summing to 1), its gradient in
        ``phi`` and in ``z``."""
        c, U, v = self._parts(phi)
        scale = 1.0 + abs(c)
        s = expit(scale * z)
        F = s[:, None] if self.q == 1 else np.c_[s, s * y, s * (1.0 - y), y]
        A = F @ U + v
        if self.binary:
            a = A[:, 0]
            loss = float(wn @ (_softplus(a) - g * a))
            if not grad:
                return loss, None, None
            dA = (wn * (expit(a) - g))[:, None]
        else:
            logp = log_softmax(A, axis=1)
            loss = -float(wn @ logp[np.arange(len(g)), g])
            if not grad:
                return loss, None, None
            dA = softmax(A, axis=1)
            dA[np.arange(len(g)), g] -= 1.0
            dA *= wn[:, None]
        dF = dA @ U.T
        ds = dF[:, 0] if self.q == 1 else dF[:, 0] + dF[:, 1] * y + dF[:, 2] * (1.0 - y)
        ds_dpre = ds * s * (1.0 - s)
        gphi = np.empty_like(phi)
        gphi[0] = float(ds_dpre @ z) * np.sign(c)
        gphi[1 : 1 + self.q * self.k] = (F.T @ dA).ravel()
        gphi[1 + self.q * self.k :] = dA.sum(axis=0)
        return loss, gphi, ds_dpre * scale


def _predictor_loss(z, y, wn):
    """Mean log-loss (weights ``wn`` summing to 1) and its gradient in ``z``."""
    return float(wn @ (_softplus(z) - y * z)), wn * (expit(z) - y)


def _project_out(gp, ga, alpha):
    r"""The paper's predictor direction :math:`g_P - \mathrm{proj}_{g_A} g_P - \alpha g_A`."""
    nn = float(ga @ ga)
    if nn > 0:
        gp = gp - (float(gp @ ga) / nn) * ga
    return gp - alpha * ga


@fair_docstring
class AdversarialDebiasingClassifier(
    FairEstimatorMixin, FairClassifierMixin, ClassifierMixin, BaseEstimator
):
    r"""Classifier trained against an adversary that predicts the protected group
    (Zhang, Lemoine & Mitchell's adversarial debiasing), in NumPy.

    The predictor is a logistic regression (``hidden_layer_sizes=()``) or a network with
    one hidden ReLU layer, with logit :math:`z = f_\theta(x)`. The adversary sees
    :math:`s = \sigma((1 + |c|) z)` (demographic parity) or :math:`[s, s y, s(1 - y), y]`
    (equalized odds: it sees the label, so only information about the group beyond the
    label is penalised) and predicts the group with a logistic model (a softmax for more
    than two groups), as in the paper's Section 4 and AIF360's implementation. With the
    predictor's log-loss :math:`L_P` and the adversary's cross-entropy :math:`L_A`, every
    mini-batch takes one Adam step for the adversary along :math:`-\nabla_\phi L_A` and one
    for the predictor along

    .. math::

        \nabla_\theta L_P - \mathrm{proj}_{\nabla_\theta L_A} \nabla_\theta L_P
        - \alpha \nabla_\theta L_A, \qquad
        \mathrm{proj}_u v = \frac{u^\top v}{u^\top u} u,

    the projection removing the part of the predictor's step that would help the
    adversary, the last term moving against it (the paper's Eq. 1).

    Parameters
    ----------
    adversary_loss_weight : float, default=0.1
        :math:`\alpha`, the weight of the adversary's loss in the predictor's step (>= 0).
    {prot_attr}
        The groups are what the adversary predicts.
    constraint : {"demographic_parity", "equalized_odds"}, default="demographic_parity"
        What the adversary sees: the predictor's output, or the output and the label.
    hidden_layer_sizes : tuple, default=()
        ``()`` for a logistic predictor or ``(k,)`` for one hidden ReLU layer of ``k`` units.
    debias : bool, default=True
        Train against the adversary; False trains the plain predictor (same network,
        optimiser and batches), the baseline the debiased model is compared with.
    learning_rate : float, default=0.01
        Adam's step size for the predictor in the first epoch.
    adversary_learning_rate : float, default=None
        Adam's step size for the adversary in the first epoch; None means
        ``5 * learning_rate``. An adversary faster than the predictor (two time scales)
        tracks the best response the paper's argument assumes; with equal steps it lags,
        and the predictor overshoots into the opposite gap on small data sets.
    learning_rate_decay : float, default=0.95
        Factor in (0, 1] multiplying both step sizes after every epoch (1 keeps it
        constant). A decaying step lets the two players settle instead of circling each
        other (the paper's convergence argument assumes decreasing steps; AIF360 decays
        by 0.96 every 1000 steps).
    batch_size : int, default=128
        Rows per mini-batch (the whole training set when larger).
    max_iter : int, default=50
        Epochs (passes over the training rows).
    tol : float, default=1e-4
        Improvement of the validation objective that resets the early-stopping counter.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified by label) and stop when
        the validation objective has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the parameters of the best epoch are kept. The objective is
        :math:`L_P - \alpha L_A` on the held-out rows with the current adversary
        (:math:`L_P` alone with ``debias=False``).
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    {drop_prot_attr}
    {pos_label}
    {random_state}

    Attributes
    ----------
    coefs_ : list of ndarray
        Predictor weights per layer, on the original (unstandardised) features.
    intercepts_ : list of ndarray
    coef_ : ndarray of shape (n_features,)
        Logistic predictor only (``hidden_layer_sizes=()``).
    intercept_ : float
        Logistic predictor only.
    adversary_ : dict
        The adversary's ``c``, ``weights`` (inputs x outputs) and ``intercept``.
    n_iter_ : int
        Epochs run.
    loss_ : float
        Mean predictor log-loss over the last epoch's batches.
    adversary_loss_ : float
        Mean adversary cross-entropy over the last epoch's batches.
    validation_scores_ : list of float
        Validation objective after each epoch (empty without early stopping).
    groups_ : list
    prot_attr_names_ : list of str
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    The equalized-odds adversary also receives the label :math:`y` on its own (AIF360's
    receives :math:`[s, s y, s(1 - y)]` only). Without it the adversary has one intercept
    for both labels, so where the groups' base rates differ (Adult: 31% of men and 11% of
    women earn >50K) the only way it can model :math:`P(\text{group} \mid y)` is through
    :math:`s`, a proxy of :math:`y`; the predictor is then pushed to make :math:`s`
    uninformative of :math:`y` itself, a demographic-parity pressure that widens the
    odds gap (measured on Adult in ``benchmarks/bench_adversarial.py``).

    The features are standardised inside ``fit`` (mean and standard deviation of the
    training rows) and the first layer folded back afterwards, so ``coefs_`` apply to the
    raw features and the result does not depend on their units. The projection is taken
    over the whole parameter vector of the predictor (the paper's definition; AIF360 takes
    it per variable). Both gradients come from one forward pass: the adversary's gradient
    reaches the predictor only through :math:`z`, so the two backward passes are one
    product with two columns. Predictor and adversary are updated simultaneously from the
    same forward pass. ``sample_weight`` is not supported (a mini-batch fit is not a fit on
    repeated rows). Training is stochastic (shuffled mini-batches), deterministic given
    ``random_state``.

    References
    ----------
    .. [1] B. H. Zhang, B. Lemoine, M. Mitchell, "Mitigating Unwanted Biases with
       Adversarial Learning", AIES 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import AdversarialDebiasingClassifier
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 1000); x = rng.normal(size=1000) + a
    >>> y = (x + rng.normal(size=1000) > 0.5).astype(int)
    >>> clf = AdversarialDebiasingClassifier(1.0, prot_attr=0, drop_prot_attr=True,
    ...                                      random_state=0).fit(np.c_[a, x], y)
    >>> clf.coef_.shape
    (1,)
    """

    _parameter_constraints = {
        "adversary_loss_weight": [Interval(Real, 0, None, closed="left")],
        "prot_attr": "no_validation",
        "constraint": [StrOptions(set(_CONSTRAINTS))],
        "hidden_layer_sizes": ["array-like"],
        "debias": ["boolean"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "adversary_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "learning_rate_decay": [Interval(Real, 0, 1, closed="right")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "drop_prot_attr": ["boolean"],
        "pos_label": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        adversary_loss_weight=0.1,
        *,
        prot_attr=None,
        constraint="demographic_parity",
        hidden_layer_sizes=(),
        debias=True,
        learning_rate=0.01,
        adversary_learning_rate=None,
        learning_rate_decay=0.95,
        batch_size=128,
        max_iter=50,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        drop_prot_attr=False,
        pos_label=None,
        random_state=None,
    ):
        self.adversary_loss_weight = adversary_loss_weight
        self.prot_attr = prot_attr
        self.constraint = constraint
        self.hidden_layer_sizes = hidden_layer_sizes
        self.debias = debias
        self.learning_rate = learning_rate
        self.adversary_learning_rate = adversary_learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.drop_prot_attr = drop_prot_attr
        self.pos_label = pos_label
        self.random_state = random_state

    def _hidden(self):
        sizes = self.hidden_layer_sizes
        try:
            hidden = tuple(int(h) for h in np.atleast_1d(sizes))
            ok = len(hidden) <= 1 and all(
                h >= 1 and h == s for h, s in zip(hidden, np.atleast_1d(sizes), strict=True)
            )
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                "AdversarialDebiasingClassifier: hidden_layer_sizes must be () (logistic "
                f"predictor) or (k,) with a positive integer k; got "
                f"hidden_layer_sizes={sizes!r}."
            )
        return hidden[0] if hidden else 0

    def fit(self, X, y, *, sensitive_features=None):
        """Train the predictor against the adversary.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features (plus the ``prot_attr`` columns, which may be strings when
            ``drop_prot_attr=True``).
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.

        Returns
        -------
        self
        """
        self._validate_params()
        hidden = self._hidden()
        data = self._validate_fair_data(
            X,
            y,
            sensitive_features=sensitive_features,
            reset=True,
            min_groups=2 if self.debias else 1,
            drop=self.drop_prot_attr,
            features="numeric",
            target="binary",
            pos_label=self.pos_label,
        )
        Xm = np.asarray(data.X, dtype=np.float64)
        y01 = np.asarray(data.y, dtype=np.float64)
        codes = np.asarray(data.codes, dtype=np.intp)
        n, d = Xm.shape
        n_groups = len(self.groups_)
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            rs = rs.randint(2**31)
        rng = np.random.default_rng(rs)

        idx_train, idx_val = np.arange(n), None
        if self.early_stopping:
            n_val = int(np.ceil(self.validation_fraction * n))
            if n_val < 2 or n - n_val < 2:
                raise ValueError(
                    f"AdversarialDebiasingClassifier: early_stopping with "
                    f"validation_fraction={self.validation_fraction} leaves too few rows "
                    f"(n_samples={n})."
                )
            strat = y01 if min(y01.sum(), n - y01.sum()) >= 2 else None
            idx_train, idx_val = train_test_split(
                np.arange(n), test_size=n_val, random_state=int(rng.integers(2**31)), stratify=strat
            )
            idx_train, idx_val = np.sort(idx_train), np.sort(idx_val)

        # standardise on the training rows (folded back into the first layer at the end)
        center = Xm[idx_train].mean(axis=0)
        sd = Xm[idx_train].std(axis=0)
        sd = np.where(sd > 1e-12 * np.maximum(np.abs(center), 1.0), sd, 1.0)
        Xz = (Xm - center) / sd

        pred = _Predictor(d, hidden)
        if hidden:
            bound = np.sqrt(6.0 / (d + hidden))
            pred.W1[:] = rng.uniform(-bound, bound, size=(d, hidden))
            bound = np.sqrt(6.0 / (hidden + 1))
            pred.w2[:] = rng.uniform(-bound, bound, size=hidden)
        p1 = np.clip(y01[idx_train].mean(), 1e-6, 1 - 1e-6)
        pred.b2[0] = np.log(p1 / (1 - p1))
        prior = np.bincount(codes[idx_train], minlength=n_groups) / len(idx_train)
        adv = (
            _Adversary(1 if self.constraint == "demographic_parity" else 4, n_groups, prior)
            if self.debias
            else None
        )
        alpha = float(self.adversary_loss_weight)
        opt_p = Adam(self.learning_rate)
        adv_lr = (
            5.0 * self.learning_rate
            if self.adversary_learning_rate is None
            else self.adversary_learning_rate
        )
        opt_a = Adam(adv_lr) if self.debias else None

        def val_objective():
            Xv, yv, gv = Xz[idx_val], y01[idx_val], codes[idx_val]
            wn = np.full(len(idx_val), 1.0 / len(idx_val))
            z, _ = pred.forward(Xv)
            lp, _ = _predictor_loss(z, yv, wn)
            if adv is None:
                return lp
            la, _, _ = adv.loss_grad(adv.phi, z, yv, gv, wn, grad=False)
            return lp - alpha * la

        n_train = len(idx_train)
        bs = min(self.batch_size, n_train)
        best, best_state, bad = np.inf, None, 0
        self.validation_scores_ = []
        loss_p = loss_a = np.nan
        n_iter = 0
        for epoch in range(self.max_iter):
            opt_p.lr = self.learning_rate * self.learning_rate_decay**epoch
            if opt_a is not None:
                opt_a.lr = adv_lr * self.learning_rate_decay**epoch
            perm = idx_train[rng.permutation(n_train)]
            loss_p = loss_a = 0.0
            for start in range(0, n_train, bs):
                rows = perm[start : start + bs]
                Xb, yb, gb = Xz[rows], y01[rows], codes[rows]
                wn = np.full(len(rows), 1.0 / len(rows))
                z, H = pred.forward(Xb)
                lp, dzp = _predictor_loss(z, yb, wn)
                loss_p += lp * len(rows) / n_train
                if adv is None:
                    grad = pred.backward(Xb, H, dzp[:, None])[:, 0]
                else:
                    la, gphi, dza = adv.loss_grad(adv.phi, z, yb, gb, wn)
                    loss_a += la * len(rows) / n_train
                    G = pred.backward(Xb, H, np.c_[dzp, dza])
                    grad = _project_out(G[:, 0], G[:, 1], alpha)
                    opt_a.step([adv.phi], [gphi])
                opt_p.step([pred.theta], [grad])
            n_iter = epoch + 1
            if idx_val is not None:
                score = val_objective()
                self.validation_scores_.append(score)
                if score < best - self.tol:
                    best, bad = score, 0
                    best_state = (pred.theta.copy(), None if adv is None else adv.phi.copy())
                else:
                    bad += 1
                if bad >= self.n_iter_no_change:
                    break
        if best_state is not None:
            pred.theta[:] = best_state[0]
            if adv is not None:
                adv.phi[:] = best_state[1]
        self.n_iter_ = n_iter
        self.loss_ = float(loss_p)
        self.adversary_loss_ = float(loss_a) if adv is not None else np.nan

        # back to the raw features: the first layer's x -> (x - center) / sd is linear
        if hidden:
            W1 = pred.W1 / sd[:, None]
            self.coefs_ = [W1, pred.w2[:, None].copy()]
            self.intercepts_ = [pred.b1 - center @ W1, pred.b2.copy()]
        else:
            w = pred.w2 / sd
            self.coefs_ = [w[:, None]]
            self.intercepts_ = [pred.b2 - center @ w]
            self.coef_ = w.copy()
            self.intercept_ = float(self.intercepts_[0][0])
        if adv is not None:
            c, U, v = adv._parts(adv.phi)
            self.adversary_ = {"c": float(c), "weights": U.copy(), "intercept": v.copy()}
        else:
            self.adversary_ = None

        z = self._logit(Xm)
        warn_if_constant(
            self,
            expit(z),
            y=labels_from01(self.classes_, self.pos_label_, y01 == 1),
            predictions=labels_from01(self.classes_, self.pos_label_, z > 0),
            params=(("adversary_loss_weight",) if self.debias else ())
            + ("learning_rate", "max_iter"),
            advice=(
                "Try a smaller adversary_loss_weight, a smaller learning_rate or more "
                "epochs, chosen on held-out data."
            ),
        )
        return self

    def _logit(self, Xm):
        if len(self.coefs_) == 2:
            H = Xm @ self.coefs_[0]
            H += self.intercepts_[0]
            np.maximum(H, 0.0, out=H)
            return H @ self.coefs_[1][:, 0] + self.intercepts_[1][0]
        return Xm @ self.coefs_[0][:, 0] + self.intercepts_[0][0]

    def decision_function(self, X, *, sensitive_features=None):
        """The predictor's logit; positive where the favourable label is predicted.

        The protected attribute is not a model input unless it is a column of ``X`` kept
        with ``drop_prot_attr=False``; ``sensitive_features`` is accepted and not needed.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        Xm = self._validate_fair_data(
            X,
            reset=False,
            protected="columns",
            drop=self.drop_prot_attr,
            features="numeric",
            map_groups=False,
        ).X
        return self._logit(np.asarray(Xm, dtype=np.float64))

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
        z = self.decision_function(X, sensitive_features=sensitive_features)
        return proba_columns(self.classes_, self.pos_label_, expit(z))

    def predict(self, X, *, sensitive_features=None):
        """Favourable label where the logit is positive.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        z = self.decision_function(X, sensitive_features=sensitive_features)
        return labels_from01(self.classes_, self.pos_label_, z > 0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = False
        return tags
