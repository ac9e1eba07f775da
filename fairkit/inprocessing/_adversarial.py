"""Adversarial debiasing (Zhang, Lemoine, Mitchell 2018) in NumPy: a predictor (a linear
model or a one-hidden-layer ReLU network; logistic for classification, least squares for
regression) trained against an adversary that predicts the protected group from the
predictor's output."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import check_binary_target, map_to_fitted_groups
from ..base import (
    FairClassifierMixin,
    FairEstimatorMixin,
    FairRegressorMixin,
    warn_if_constant,
)
from ..utils._adam import Adam
from ..utils._dataframe import to_pandas
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01, proba_columns

__all__ = ["AdversarialDebiasingClassifier", "AdversarialDebiasingRegressor"]

_CONSTRAINTS = ("demographic_parity", "equalized_odds")


def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


class _Predictor:
    """Linear model or one hidden ReLU layer, parameters in one flat vector ``theta``.

    ``theta`` holds ``W1 (d, k), b1 (k), w2 (k,), b2 (1)`` with a hidden layer and
    ``w (d,), b (1)`` without; the layer arrays are views of it, so one Adam step on
    ``theta`` updates them all. (Not stored on the estimator: a pickled view is a copy, so
    the estimator keeps ``theta`` and wraps it again.)
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
        """Output ``z`` and the hidden activations (``X`` itself without a hidden layer)."""
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
    """Zhang et al.'s adversary on the predictor's output ``z``.

    Classification (``squash=True``): ``s = sigmoid((1 + |c|) z)``, the inputs are ``[s]``
    (demographic parity, ``n_inputs=1``) or ``[s, s y, s (1 - y), y]`` (equalized odds,
    ``n_inputs=4``: it sees the label). Regression (``squash=False``): ``s = z`` (the
    prediction in standardised target units) and the inputs are ``[s]`` or ``[s, y]``
    (``n_inputs=2``, the standardised target). The output is a logistic model of the group
    (one logit for two groups, a softmax over ``K > 2`` groups). Parameters in one flat
    vector ``phi = [c, U.ravel(), v]`` (no ``c`` without the squashing).
    """

    def __init__(self, n_inputs, n_groups, prior, squash=True):
        if n_inputs not in ((1, 4) if squash else (1, 2)):  # pragma: no cover - internal
            raise ValueError(f"n_inputs={n_inputs} with squash={squash}")
        self.q = n_inputs
        self.k = 1 if n_groups == 2 else n_groups
        self.binary = n_groups == 2
        self.squash = squash
        self.off = 1 if squash else 0
        self.phi = np.zeros(self.off + self.q * self.k + self.k)
        if squash:
            self.phi[0] = 1.0  # as in AIF360's implementation
        prior = np.clip(prior, 1e-12, None)
        if self.binary:
            self.phi[-1] = np.log(prior[1] / prior[0])
        else:
            self.phi[-self.k :] = np.log(prior)

    def _parts(self, phi):
        o = self.off
        c = phi[0] if o else None
        U = phi[o : o + self.q * self.k].reshape(self.q, self.k)
        v = phi[o + self.q * self.k :]
        return c, U, v

    def loss_grad(self, phi, z, y, g, wn, grad=True):
        """Mean cross-entropy of the group (weights ``wn`` summing to 1), its gradient in
        ``phi`` and in ``z``."""
        c, U, v = self._parts(phi)
        if self.squash:
            scale = 1.0 + abs(c)
            s = expit(scale * z)
        else:
            s = z
        if self.q == 1:
            F = s[:, None]
        elif self.q == 2:
            F = np.c_[s, y]
        else:
            F = np.c_[s, s * y, s * (1.0 - y), y]
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
        ds = dF[:, 0] if self.q != 4 else dF[:, 0] + dF[:, 1] * y + dF[:, 2] * (1.0 - y)
        o = self.off
        gphi = np.empty_like(phi)
        gphi[o : o + self.q * self.k] = (F.T @ dA).ravel()
        gphi[o + self.q * self.k :] = dA.sum(axis=0)
        if not self.squash:
            return loss, gphi, ds
        ds_dpre = ds * s * (1.0 - s)
        gphi[0] = float(ds_dpre @ z) * np.sign(c)
        return loss, gphi, ds_dpre * scale


def _predictor_loss(z, y, wn):
    """Mean log-loss (weights ``wn`` summing to 1) and its gradient in ``z``."""
    return float(wn @ (_softplus(z) - y * z)), wn * (expit(z) - y)


def _squared_loss(z, y, wn):
    """Half the mean squared error (weights ``wn`` summing to 1; scikit-learn's MLP
    convention) and its gradient in ``z``."""
    r = z - y
    return 0.5 * float(wn @ (r * r)), wn * r


def _project_out(gp, ga, alpha):
    r"""The paper's predictor direction :math:`g_P - \mathrm{proj}_{g_A} g_P - \alpha g_A`."""
    nn = float(ga @ ga)
    if nn > 0:
        gp = gp - (float(gp @ ga) / nn) * ga
    return gp - alpha * ga


def _seed(random_state):
    rs = random_state
    if isinstance(rs, np.random.RandomState):
        rs = rs.randint(2**31)
    return np.random.default_rng(rs)


#: Parameter entries shared by the classifier and the regressor (one wording).
_DOC_HEAD = """\
adversary_loss_weight : float, default=0.1
    :math:`\\alpha`, the weight of the adversary's loss in the predictor's step (>= 0).
    With ``debias=True`` and ``alpha=0`` the projection term still acts.
{prot_attr}
    The groups are what the adversary predicts."""

_DOC_TRAINING = """\
hidden_layer_sizes : tuple, default=()
    ``()`` for a linear predictor or ``(k,)`` for one hidden ReLU layer of ``k`` units.
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
    by 0.96 every 1000 steps). Each call of ``partial_fit`` counts as an epoch.
batch_size : int, default=128
    Rows per mini-batch (the whole training set when larger).
max_iter : int, default=50
    Epochs (passes over the training rows) of ``fit``.
tol : float, default=1e-4
    Improvement of the validation objective that resets the early-stopping counter.
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows (stratified by label for the
    classifier) and stop when the validation objective has not improved by ``tol`` for
    ``n_iter_no_change`` epochs; the parameters of the best epoch are kept. The
    objective is :math:`L_P - \\alpha L_A` on the held-out rows with the current
    adversary (:math:`L_P` alone with ``debias=False``). Not used by ``partial_fit``.
validation_fraction : float, default=0.1
n_iter_no_change : int, default=10"""

_DOC_ATTRIBUTES = """\
coefs_ : list of ndarray
    Predictor weights per layer, on the original (unstandardised) features.
intercepts_ : list of ndarray
coef_ : ndarray of shape (n_features,)
    Linear predictor only (``hidden_layer_sizes=()``).
intercept_ : float
    Linear predictor only.
adversary_ : dict or None
    The adversary's ``weights`` (inputs x outputs) and ``intercept`` (and ``c`` for the
    classifier); None with ``debias=False``.
n_iter_ : int
    Epochs run (``partial_fit`` adds one per call).
loss_ : float
    Mean predictor loss over the last epoch's batches.
adversary_loss_ : float
    Mean adversary cross-entropy over the last epoch's batches.
validation_scores_ : list of float
    Validation objective after each epoch (empty without early stopping).
groups_ : list
prot_attr_names_ : list of str"""

_DOC_PARTIAL = """\
``partial_fit`` takes one pass of mini-batches over the rows it is given (the same
epoch as ``fit``'s: shuffled, learning rates decayed by the number of epochs run so far),
starting from the current model when there is one (after ``fit`` or an earlier call).
The first call (on an unfitted model) fixes the standardisation of the features (and of
the regressor's target), the groups (every group must occur in it) and the adversary's
prior from its rows; a later call with a group that was not in it raises. ``k`` calls
on the whole data set equal ``fit`` with ``max_iter=k`` and ``early_stopping=False``
(same ``random_state``)."""

_doc = fair_docstring.extend(
    adv_head=_DOC_HEAD,
    adv_training=_DOC_TRAINING,
    adv_attributes=_DOC_ATTRIBUTES,
    adv_partial=_DOC_PARTIAL,
)


class _BaseAdversarialDebiasing(FairEstimatorMixin, BaseEstimator):
    """Training loop, state and ``partial_fit`` shared by the classifier and the regressor.

    A subclass supplies the output model: ``_loss`` (the predictor's loss and its gradient
    in the output ``z``, on the standardised target), ``_squash`` and ``_eo_inputs`` (what
    the adversary sees), ``_target_scaling`` and ``_initial_bias`` (the target's
    standardisation and the output's starting intercept), ``_validate_target`` (the checked
    numeric target of ``fit`` / ``partial_fit``), ``_stratify`` (early-stopping split) and
    ``_check_constant`` (the warning of a constant fit).
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
        "random_state": ["random_state"],
    }

    _loss = staticmethod(_predictor_loss)
    _squash = True
    _eo_inputs = 4

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
        self.random_state = random_state

    # -- settings ---------------------------------------------------------------------
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
                f"{type(self).__name__}: hidden_layer_sizes must be () (linear predictor) "
                f"or (k,) with a positive integer k; got hidden_layer_sizes={sizes!r}."
            )
        return hidden[0] if hidden else 0

    def _adversary_lr(self):
        if self.adversary_learning_rate is None:
            return 5.0 * self.learning_rate
        return self.adversary_learning_rate

    def _settings(self):
        """What the fitted state was built for; ``partial_fit`` cannot change it."""
        return {
            "hidden_layer_sizes": (self._hidden(),) if self._hidden() else (),
            "constraint": self.constraint,
            "debias": bool(self.debias),
        }

    # -- hooks ------------------------------------------------------------------------
    def _target_scaling(self, t):
        return 0.0, 1.0

    def _initial_bias(self, ts):
        return 0.0

    def _stratify(self, t):
        return None

    def _validate_target(self, y, *, target, first, classes):  # pragma: no cover
        raise NotImplementedError

    def _check_constant(self, Xm, t):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- data -------------------------------------------------------------------------
    def _data(self, X, y, sensitive_features, *, first, target, classes=None):
        """Model matrix, target (0/1 or numeric) and group codes of ``fit`` (``first``)
        or of a later ``partial_fit`` (codes mapped onto the first call's groups)."""
        kwargs = dict(
            sensitive_features=sensitive_features, drop=self.drop_prot_attr, features="numeric"
        )
        if first:
            data = self._validate_fair_data(
                X,
                y,
                reset=True,
                min_groups=2 if self.debias else 1,
                target=target,
                pos_label=getattr(self, "pos_label", None),
                **kwargs,
            )
            codes = data.codes
        else:
            data = self._validate_fair_data(
                X, y, reset=False, map_groups=False, target=target, **kwargs
            )
            try:
                codes = map_to_fitted_groups(data.groups, self.groups_, where="partial_fit")
            except ValueError as exc:
                seen = {str(g) for g in self.groups_}
                new = [g for g in data.groups.labels if str(g) not in seen]
                raise ValueError(
                    f"{type(self).__name__}.partial_fit: group(s) {new!r} of the protected "
                    f"attribute did not occur in the first call (groups fixed then: "
                    f"{list(self.groups_)!r}); the adversary has no output for a new "
                    "group. Give every group in the first call to partial_fit, or refit "
                    "with fit."
                ) from exc
        Xm = np.asarray(data.X, dtype=np.float64)
        t = self._validate_target(data.y, target=target, first=first, classes=classes)
        return Xm, t, np.asarray(codes, dtype=np.intp)

    # -- state ------------------------------------------------------------------------
    def _start(self, Xm, t, codes, rng, rows):
        """Standardisation, initial predictor and adversary, optimisers (from ``rows``)."""
        hidden = self._hidden()
        d = Xm.shape[1]
        center = Xm[rows].mean(axis=0)
        sd = Xm[rows].std(axis=0)
        sd = np.where(sd > 1e-12 * np.maximum(np.abs(center), 1.0), sd, 1.0)
        self._x_center, self._x_scale = center, sd
        self._y_center, self._y_scale = self._target_scaling(t[rows])
        pred = _Predictor(d, hidden)
        if hidden:
            bound = np.sqrt(6.0 / (d + hidden))
            pred.W1[:] = rng.uniform(-bound, bound, size=(d, hidden))
            bound = np.sqrt(6.0 / (hidden + 1))
            pred.w2[:] = rng.uniform(-bound, bound, size=hidden)
        ts = (t[rows] - self._y_center) / self._y_scale
        pred.b2[0] = self._initial_bias(ts)
        self._theta = pred.theta
        if self.debias:
            prior = np.bincount(codes[rows], minlength=len(self.groups_)) / len(rows)
            n_inputs = 1 if self.constraint == "demographic_parity" else self._eo_inputs
            self._adversary = _Adversary(n_inputs, len(self.groups_), prior, self._squash)
        else:
            self._adversary = None
        self._opt_p = Adam(self.learning_rate)
        self._opt_a = Adam(self._adversary_lr()) if self.debias else None
        self._rng = rng
        self._epochs = 0
        self._settings_ = self._settings()
        self._hidden_units = hidden

    def _predictor(self):
        return _Predictor(len(self._x_center), self._hidden_units, self._theta)

    def _standardise(self, Xm, t):
        return (Xm - self._x_center) / self._x_scale, (t - self._y_center) / self._y_scale

    def _epoch(self, pred, Xz, ts, codes, rows):
        """One pass of shuffled mini-batches over ``rows``; mean losses of the batches."""
        adv, alpha = self._adversary, float(self.adversary_loss_weight)
        decay = self.learning_rate_decay**self._epochs
        self._opt_p.lr = self.learning_rate * decay
        if adv is not None:
            self._opt_a.lr = self._adversary_lr() * decay
        n = len(rows)
        bs = min(self.batch_size, n)
        perm = rows[self._rng.permutation(n)]
        loss_p = loss_a = 0.0
        for start in range(0, n, bs):
            batch = perm[start : start + bs]
            Xb, yb, gb = Xz[batch], ts[batch], codes[batch]
            wn = np.full(len(batch), 1.0 / len(batch))
            z, H = pred.forward(Xb)
            lp, dzp = self._loss(z, yb, wn)
            loss_p += lp * len(batch) / n
            if adv is None:
                grad = pred.backward(Xb, H, dzp[:, None])[:, 0]
            else:
                la, gphi, dza = adv.loss_grad(adv.phi, z, yb, gb, wn)
                loss_a += la * len(batch) / n
                G = pred.backward(Xb, H, np.c_[dzp, dza])
                grad = _project_out(G[:, 0], G[:, 1], alpha)
                self._opt_a.step([adv.phi], [gphi])
            self._opt_p.step([pred.theta], [grad])
        self._epochs += 1
        self.loss_ = float(loss_p)
        self.adversary_loss_ = float(loss_a) if adv is not None else np.nan

    def _objective(self, pred, Xz, ts, codes):
        """:math:`L_P - \\alpha L_A` on the given rows (``L_P`` alone without adversary)."""
        wn = np.full(len(ts), 1.0 / len(ts))
        z, _ = pred.forward(Xz)
        lp, _ = self._loss(z, ts, wn)
        adv = self._adversary
        if adv is None:
            return lp
        la, _, _ = adv.loss_grad(adv.phi, z, ts, codes, wn, grad=False)
        return lp - float(self.adversary_loss_weight) * la

    def _export(self, pred):
        """Fitted attributes on the raw features and in the target's units."""
        center, sd = self._x_center, self._x_scale
        a, b = self._y_scale, self._y_center
        if pred.hidden:
            W1 = pred.W1 / sd[:, None]
            self.coefs_ = [W1, a * pred.w2[:, None]]
            self.intercepts_ = [pred.b1 - center @ W1, a * pred.b2 + b]
            for name in ("coef_", "intercept_"):
                self.__dict__.pop(name, None)
        else:
            w = a * pred.w2 / sd
            self.coefs_ = [w[:, None]]
            self.intercepts_ = [a * pred.b2 + b - center @ w]
            self.coef_ = w.copy()
            self.intercept_ = float(self.intercepts_[0][0])
        adv = self._adversary
        if adv is not None:
            c, U, v = adv._parts(adv.phi)
            self.adversary_ = {"weights": U.copy(), "intercept": v.copy()}
            if c is not None:
                self.adversary_ = {"c": float(c), **self.adversary_}
        else:
            self.adversary_ = None

    def _output(self, Xm):
        """The predictor's output on raw features (logit, or the prediction)."""
        if len(self.coefs_) == 2:
            H = Xm @ self.coefs_[0]
            H += self.intercepts_[0]
            np.maximum(H, 0.0, out=H)
            return H @ self.coefs_[1][:, 0] + self.intercepts_[1][0]
        return Xm @ self.coefs_[0][:, 0] + self.intercepts_[0][0]

    def _model_matrix(self, X):
        check_is_fitted(self)
        Xm = self._validate_fair_data(
            X,
            reset=False,
            protected="columns",
            drop=self.drop_prot_attr,
            features="numeric",
            map_groups=False,
        ).X
        return np.asarray(Xm, dtype=np.float64)

    # -- fit / partial_fit ------------------------------------------------------------
    def _fit(self, X, y, sensitive_features, target):
        self._validate_params()
        self._hidden()
        Xm, t, codes = self._data(X, y, sensitive_features, first=True, target=target)
        n = len(t)
        rng = _seed(self.random_state)
        idx_train, idx_val = np.arange(n), None
        if self.early_stopping:
            n_val = int(np.ceil(self.validation_fraction * n))
            if n_val < 2 or n - n_val < 2:
                raise ValueError(
                    f"{type(self).__name__}: early_stopping with "
                    f"validation_fraction={self.validation_fraction} leaves too few rows "
                    f"(n_samples={n})."
                )
            idx_train, idx_val = train_test_split(
                np.arange(n),
                test_size=n_val,
                random_state=int(rng.integers(2**31)),
                stratify=self._stratify(t),
            )
            idx_train, idx_val = np.sort(idx_train), np.sort(idx_val)
        self._start(Xm, t, codes, rng, idx_train)
        pred = self._predictor()
        Xz, ts = self._standardise(Xm, t)

        best, best_state, bad = np.inf, None, 0
        self.validation_scores_ = []
        adv = self._adversary
        for _ in range(self.max_iter):
            self._epoch(pred, Xz, ts, codes, idx_train)
            if idx_val is not None:
                score = self._objective(pred, Xz[idx_val], ts[idx_val], codes[idx_val])
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
        self.n_iter_ = self._epochs
        self._export(pred)
        self._check_constant(Xm, t)
        return self

    def _partial_fit(self, X, y, sensitive_features, target, classes=None):
        self._validate_params()
        if self.early_stopping:
            warnings.warn(
                f"{type(self).__name__}.partial_fit: early_stopping=True has no effect here "
                "(one epoch on the rows given, no validation split); it applies to fit.",
                UserWarning,
                stacklevel=3,
            )
        first = not hasattr(self, "_theta")
        if not first:
            now = self._settings()
            changed = [k for k, v in self._settings_.items() if now[k] != v]
            if changed:
                raise ValueError(
                    f"{type(self).__name__}.partial_fit: "
                    + ", ".join(f"{k}={getattr(self, k)!r}" for k in changed)
                    + " differs from the fitted model's "
                    + ", ".join(f"{k}={self._settings_[k]!r}" for k in changed)
                    + "; partial_fit continues the fitted model. Refit with fit to change it."
                )
        Xm, t, codes = self._data(
            X, y, sensitive_features, first=first, target=target, classes=classes
        )
        rows = np.arange(len(t))
        if first:
            self._start(Xm, t, codes, _seed(self.random_state), rows)
            self.validation_scores_ = []
        pred = self._predictor()
        Xz, ts = self._standardise(Xm, t)
        self._epoch(pred, Xz, ts, codes, rows)
        self.n_iter_ = self._epochs
        self._export(pred)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


@_doc
class AdversarialDebiasingClassifier(
    FairClassifierMixin, ClassifierMixin, _BaseAdversarialDebiasing
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
    {adv_head}
    constraint : {"demographic_parity", "equalized_odds"}, default="demographic_parity"
        What the adversary sees: the predictor's output, or the output and the label.
    {adv_training}
    {drop_prot_attr}
    {pos_label}
    {random_state}

    Attributes
    ----------
    {adv_attributes}
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    AdversarialDebiasingRegressor : the same method with a least-squares predictor.

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

    {adv_partial}
    ``partial_fit`` needs ``classes`` (the two labels) on the first call, as
    scikit-learn's incremental classifiers do; a batch may then hold one label only.

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
        **_BaseAdversarialDebiasing._parameter_constraints,
        "pos_label": "no_validation",
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
        super().__init__(
            adversary_loss_weight,
            prot_attr=prot_attr,
            constraint=constraint,
            hidden_layer_sizes=hidden_layer_sizes,
            debias=debias,
            learning_rate=learning_rate,
            adversary_learning_rate=adversary_learning_rate,
            learning_rate_decay=learning_rate_decay,
            batch_size=batch_size,
            max_iter=max_iter,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            drop_prot_attr=drop_prot_attr,
            random_state=random_state,
        )
        self.pos_label = pos_label

    # -- the output model -------------------------------------------------------------
    _loss = staticmethod(_predictor_loss)
    _squash = True
    _eo_inputs = 4

    def _initial_bias(self, ts):
        p1 = np.clip(ts.mean(), 1e-6, 1 - 1e-6)
        return np.log(p1 / (1 - p1))

    def _stratify(self, t):
        n = len(t)
        return t if min(t.sum(), n - t.sum()) >= 2 else None

    def _settings(self):
        return {**super()._settings(), "pos_label": self.pos_label}

    def _validate_target(self, y, *, target, first, classes):
        name = type(self).__name__
        if target == "binary":  # fit: the layer's 0/1 target
            return np.asarray(y, dtype=np.float64)
        y = np.asarray(y)
        if first:
            if classes is None:
                raise ValueError(
                    f"{name}.partial_fit: classes must be passed on the first call (the two "
                    "labels of y over all calls, e.g. classes=np.unique(y_all)); got "
                    "classes=None."
                )
            labels = np.unique(np.asarray(to_pandas(classes)))
            if len(labels) != 2:
                raise ValueError(
                    f"{name}.partial_fit: classes must hold exactly two labels (binary "
                    f"classification only); got classes={labels.tolist()!r}."
                )
            self.classes_, self.pos_label_, _ = check_binary_target(self, labels, self.pos_label)
        elif classes is not None:
            labels = np.unique(np.asarray(to_pandas(classes)))
            if len(labels) != 2 or not np.array_equal(labels, self.classes_):
                raise ValueError(
                    f"{name}.partial_fit: classes={labels.tolist()!r} differs from the "
                    f"fitted classes_ {self.classes_.tolist()!r}."
                )
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            bad = y[unknown][0]
            bad = bad.item() if isinstance(bad, np.generic) else bad
            raise ValueError(
                f"{name}.partial_fit: y holds the label {bad!r}, which is not one of "
                f"classes_ {self.classes_.tolist()!r} (fixed by the first call)."
            )
        return (y == self.pos_label_).astype(np.float64)

    def _check_constant(self, Xm, t):
        z = self._output(Xm)
        warn_if_constant(
            self,
            expit(z),
            y=labels_from01(self.classes_, self.pos_label_, t == 1),
            predictions=labels_from01(self.classes_, self.pos_label_, z > 0),
            params=(("adversary_loss_weight",) if self.debias else ())
            + ("learning_rate", "max_iter"),
            advice=(
                "Try a smaller adversary_loss_weight, a smaller learning_rate or more "
                "epochs, chosen on held-out data."
            ),
            stacklevel=5,
        )

    # -- public API -------------------------------------------------------------------
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
        return self._fit(X, y, sensitive_features, "binary")

    def partial_fit(self, X, y, classes=None, *, sensitive_features=None):
        """One epoch of mini-batches over ``(X, y)``, continuing the current model.

        The first call on an unfitted model fixes the labels (``classes``), the groups and
        the feature standardisation; see the Notes of the class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, each one of ``classes``.
        classes : array-like of shape (2,), default=None
            The two labels of ``y`` over all calls; required on the first call, checked
            against ``classes_`` afterwards.
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.

        Returns
        -------
        self
        """
        return self._partial_fit(X, y, sensitive_features, "classification", classes)

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
        return self._output(self._model_matrix(X))

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
        return tags


@_doc
class AdversarialDebiasingRegressor(FairRegressorMixin, RegressorMixin, _BaseAdversarialDebiasing):
    r"""Regressor trained against an adversary that predicts the protected group from
    its predictions (Zhang, Lemoine & Mitchell's adversarial debiasing for a continuous
    target), in NumPy.

    The predictor is a linear regression (``hidden_layer_sizes=()``) or a network with
    one hidden ReLU layer, fitted by least squares on the standardised target
    :math:`t = (y - \bar y) / s_y`: its output :math:`z = f_\theta(x)` predicts
    :math:`t`, and :math:`\hat y = \bar y + s_y z`. The adversary is a logistic model of
    the group (a softmax for more than two groups) whose inputs are :math:`[z]`
    (demographic parity: the prediction should carry no information about the group) or
    :math:`[z, t]` (the paper's equality-of-odds analogue for regression: given the
    target, the prediction should carry none). With the predictor's loss
    :math:`L_P = \frac{1}{2n} \sum_i (z_i - t_i)^2` and the adversary's cross-entropy
    :math:`L_A`, every mini-batch takes one Adam step for the adversary along
    :math:`-\nabla_\phi L_A` and one for the predictor along

    .. math::

        \nabla_\theta L_P - \mathrm{proj}_{\nabla_\theta L_A} \nabla_\theta L_P
        - \alpha \nabla_\theta L_A, \qquad
        \mathrm{proj}_u v = \frac{u^\top v}{u^\top u} u

    (the paper's Eq. 1). The adversary is linear in :math:`z`, so it detects a shift of
    the groups' mean predictions (and, with :math:`t`, of their means at a given target);
    differences in spread are not what it penalises.

    Parameters
    ----------
    {adv_head}
    constraint : {"demographic_parity", "equalized_odds"}, default="demographic_parity"
        What the adversary sees: the prediction, or the prediction and the target.
    {adv_training}
    {drop_prot_attr}
    {random_state}

    Attributes
    ----------
    {adv_attributes}
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    AdversarialDebiasingClassifier : the same method with a logistic predictor.

    Notes
    -----
    Features and target are standardised inside ``fit`` (means and standard deviations
    of the training rows; a constant target keeps scale 1) and folded back afterwards, so
    ``coefs_`` map raw features to the target's units and neither the features' nor the
    target's units (hours per week, income) change the fit. The projection is taken over
    the whole parameter vector of the predictor. ``sample_weight`` is not supported (a
    mini-batch fit is not a fit on repeated rows). Training is stochastic (shuffled
    mini-batches), deterministic given ``random_state``. A fit that ends with the same
    prediction for every training row warns with
    :class:`fairkit.base.ConstantFitWarning`.

    {adv_partial}

    References
    ----------
    .. [1] B. H. Zhang, B. Lemoine, M. Mitchell, "Mitigating Unwanted Biases with
       Adversarial Learning", AIES 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import AdversarialDebiasingRegressor
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 1000); x = rng.normal(size=1000) + a
    >>> y = 40 + 5 * x + rng.normal(size=1000)
    >>> reg = AdversarialDebiasingRegressor(1.0, prot_attr=0, drop_prot_attr=True,
    ...                                     random_state=0).fit(np.c_[a, x], y)
    >>> reg.coef_.shape
    (1,)
    """

    _loss = staticmethod(_squared_loss)
    _squash = False
    _eo_inputs = 2

    def _target_scaling(self, t):
        center = float(t.mean())
        sd = float(t.std())
        return center, (sd if sd > 1e-12 * max(abs(center), 1.0) else 1.0)

    def _validate_target(self, y, *, target, first, classes):
        return np.asarray(y, dtype=np.float64)

    def _numeric_y(self, y):
        """Refuse a non-numeric target with a message naming it (before the layer, whose
        float conversion would fail with numpy's words)."""
        if y is None:
            return
        arr = np.asarray(to_pandas(y))
        if arr.dtype.kind in "OUSV":
            try:
                arr.astype(np.float64)
            except (TypeError, ValueError):
                bad = next(v for v in arr.ravel() if not _is_number(v))
                raise ValueError(
                    f"{type(self).__name__} needs a numeric target y (a regression "
                    f"target); y holds {bad!r} (dtype {arr.dtype}). For class labels use "
                    "AdversarialDebiasingClassifier."
                ) from None

    def _check_constant(self, Xm, t):
        warn_if_constant(
            self,
            self._output(Xm),
            y=t,
            params=(("adversary_loss_weight",) if self.debias else ())
            + ("learning_rate", "max_iter"),
            advice=(
                "Try a smaller adversary_loss_weight, a smaller learning_rate or more "
                "epochs, chosen on held-out data."
            ),
            stacklevel=5,
        )

    def fit(self, X, y, *, sensitive_features=None):
        """Train the predictor against the adversary.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features (plus the ``prot_attr`` columns, which may be strings when
            ``drop_prot_attr=True``).
        y : array-like of shape (n_samples,)
            Numeric target, in any units.
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.

        Returns
        -------
        self
        """
        self._numeric_y(y)
        return self._fit(X, y, sensitive_features, "continuous")

    def partial_fit(self, X, y, *, sensitive_features=None):
        """One epoch of mini-batches over ``(X, y)``, continuing the current model.

        The first call on an unfitted model fixes the groups and the standardisation of
        the features and the target; see the Notes of the class.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Numeric target.
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.

        Returns
        -------
        self
        """
        self._numeric_y(y)
        return self._partial_fit(X, y, sensitive_features, "continuous")

    def predict(self, X, *, sensitive_features=None):
        """Predicted target, in the units of ``y``.

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
        return self._output(self._model_matrix(X))


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
