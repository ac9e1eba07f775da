"""The model trained by the distance-covariance estimators: a GLM or a small multilayer
perceptron with analytic gradients, its objective (task loss + penalty + L2) and the two
training loops (full-batch L-BFGS, mini-batch Adam with :class:`fairkit.utils._adam.Adam`).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, xlogy

from ..utils._adam import Adam
from ._dcov_penalty import _Penalty

_ACTIVATIONS = ("relu", "tanh")


def _init_params(n_in, hidden, rng):
    sizes = [n_in, *hidden, 1]
    params = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        if i == len(sizes) - 2 and not hidden:
            weights = np.zeros((a, b))  # GLM: start from the intercept-only model
        else:
            bound = np.sqrt(6.0 / (a + b))
            weights = rng.uniform(-bound, bound, size=(a, b))
        params.append([weights, np.zeros(b)])
    return params


def _pack(params):
    return np.concatenate([np.r_[w.ravel(), b] for w, b in params])


def _unpack(theta, template):
    out, i = [], 0
    for w, b in template:
        W = theta[i : i + w.size].reshape(w.shape)
        i += w.size
        B = theta[i : i + b.size]
        i += b.size
        out.append([W, B])
    return out


def _forward(params, X, activation, dropout=0.0, rng=None):
    hs, masks = [X], []
    h = X
    for W, b in params[:-1]:
        z = h @ W + b
        h = np.maximum(z, 0.0) if activation == "relu" else np.tanh(z)
        mask = None
        if dropout > 0 and rng is not None:
            mask = (rng.random(h.shape) >= dropout) / (1.0 - dropout)
            h = h * mask
        hs.append(h)
        masks.append(mask)
    W, b = params[-1]
    return (h @ W)[:, 0] + b[0], hs, masks


def _backward(params, hs, masks, d_eta, activation, alphas):
    """Gradients; ``alphas`` holds each layer's L2 weight (a scalar or an array of the
    layer's weight shape)."""
    grads = [None] * len(params)
    delta = d_eta[:, None]
    for layer in range(len(params) - 1, -1, -1):
        W, _ = params[layer]
        h_in = hs[layer]
        grads[layer] = [h_in.T @ delta + alphas[layer] * W, delta.sum(axis=0)]
        if layer == 0:
            break
        delta = delta @ W.T
        h = hs[layer]
        mask = masks[layer - 1]
        if mask is not None:
            delta = delta * mask
            h = np.where(mask > 0, h / np.where(mask > 0, mask, 1.0), 0.0)
        delta = delta * ((h > 0) if activation == "relu" else (1.0 - h**2))
    return grads


def _task(loss, eta, y, offset):
    """Mean task loss, its gradient w.r.t. eta, the penalised output and d output / d eta."""
    n = len(y)
    if loss == "log_loss":
        p = expit(eta)
        # log(1 + e^eta) = max(eta, 0) + log1p(e^-|eta|): stable, and cheaper than logaddexp
        softplus = np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta)))
        value = float(np.mean(softplus) - y @ eta / n)
        return value, (p - y) / n, p, p * (1.0 - p)
    if loss == "squared_error":
        r = eta - y
        return 0.5 * float(np.mean(r**2)), r / n, eta, np.ones(n)
    rate = np.exp(np.minimum(eta, 700.0))
    mu = rate * np.exp(offset) if offset is not None else rate
    value = float(np.mean(2.0 * (xlogy(y, y) - xlogy(y, mu) - y + mu)))
    return value, 2.0 * (mu - y) / n, rate, rate


class _Objective:
    """Task loss + lam * penalty + L2 on a fixed set of rows.

    ``lam`` overrides the estimator's ``lam`` (``lam=0``: the unpenalised objective, used
    for the GLM's starting point); ``first_alpha`` the L2 weight of the first layer (an
    array of its shape when the inputs are standardised copies of the features).
    """

    def __init__(self, est, X, y, offset, blocks, template, lam=None, first_alpha=None):
        self.est, self.X, self.y, self.offset, self.template = est, X, y, offset, template
        self.lam = est.lam if lam is None else lam
        self.alphas = [est.alpha] * len(template)
        if first_alpha is not None:
            self.alphas[0] = first_alpha
        self.penalty = (
            _Penalty(blocks, est.penalty, est.statistic, est.c) if self.lam > 0 else None
        )

    def __call__(self, theta, rng=None):
        est = self.est
        params = _unpack(theta, self.template)
        dropout = est.dropout if rng is not None else 0.0
        eta, hs, masks = _forward(params, self.X, est.activation, dropout, rng)
        if self.offset is not None and est._loss != "poisson":
            eta = eta + self.offset
        value, d_eta, out, d_out = _task(est._loss, eta, self.y, self.offset)
        if self.penalty is not None:
            pen, g = self.penalty(out)
            value += self.lam * pen
            d_eta = d_eta + self.lam * g * d_out
        l2 = sum(float((a * W**2).sum()) for a, (W, _) in zip(self.alphas, params, strict=True))
        value += 0.5 * l2
        grads = _backward(params, hs, masks, d_eta, est.activation, self.alphas)
        return value, _pack(grads)



class _EarlyStopping:
    """Track the validation objective; keep the best parameters."""

    def __init__(self, val_obj, patience, tol):
        self.val_obj, self.patience, self.tol = val_obj, patience, tol
        self.best, self.best_theta, self.bad = np.inf, None, 0
        self.history = []

    def update(self, theta):
        if self.val_obj is None:
            return False
        value = self.val_obj(theta)[0]
        self.history.append(value)
        if value < self.best - self.tol:
            self.best, self.best_theta, self.bad = value, theta.copy(), 0
        else:
            self.bad += 1
        return self.bad >= self.patience



def fit_lbfgs(est, obj, val_obj, theta):
    """Full-batch L-BFGS; returns ``(theta, n_iter, converged, loss)``."""
    tracker = _EarlyStopping(val_obj, est.n_iter_no_change, est.tol)

    def callback(intermediate_result):
        if tracker.update(intermediate_result.x):
            raise StopIteration

    result = minimize(
        obj,
        theta,
        jac=True,
        method="L-BFGS-B",
        callback=callback if val_obj is not None else None,
        options={"maxiter": est.max_iter, "ftol": est.tol, "gtol": 1e-8},
    )
    best = tracker.best_theta if tracker.best_theta is not None else result.x
    return best, int(result.nit), bool(result.success), float(result.fun)


def fit_adam(est, objective_on, idx_train, val_obj, theta, rng):
    """Adam on mini-batches of ``idx_train``; returns ``(theta, n_iter, converged, loss)``.

    Without a validation objective, training stops once the epoch loss has not improved
    by ``tol`` for ``n_iter_no_change`` epochs.
    """
    opt = Adam(est.learning_rate)
    theta = np.array(theta, dtype=float)  # updated in place by the optimiser
    tracker = _EarlyStopping(val_obj, est.n_iter_no_change, est.tol)
    n = len(idx_train)
    prev, no_improve, n_iter, total = np.inf, 0, 0, np.nan
    for epoch in range(est.max_iter):
        perm = rng.permutation(idx_train)
        bounds = list(range(0, n, est.batch_size)) + [n]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < 4:
            bounds.pop(-2)  # the U-statistic needs 4 rows: fold a short tail into the batch before
        total = 0.0
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            obj = objective_on(perm[a:b])
            value, grad = obj(theta, rng=rng if est.dropout > 0 else None)
            opt.step([theta], [grad])
            total += value * (b - a) / n
        n_iter = epoch + 1
        if val_obj is not None:
            if tracker.update(theta):
                break
        else:
            no_improve = no_improve + 1 if total > prev - est.tol else 0
            prev = min(prev, total)
            if no_improve >= est.n_iter_no_change:
                break
    best = tracker.best_theta if tracker.best_theta is not None else theta
    return best, n_iter, n_iter < est.max_iter, float(total)
