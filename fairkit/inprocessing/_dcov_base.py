"""The shared estimator body of the distance-covariance models: settings checks, data
through the estimator layer, the penalty and the training loop; the public classes are in
:mod:`fairkit.inprocessing._dcov`."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..base import FairEstimatorMixin, warn_if_constant
from ..metrics.dependence import encode_protected_attributes
from ._dcov_model import (
    _ACTIVATIONS,
    _forward,
    _init_params,
    _Objective,
    _pack,
    _unpack,
    fit_adam,
    fit_lbfgs,
)


class _BaseDCov(FairEstimatorMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "prot_attr": "no_validation",
        "lam": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"dcov", "jdcov", "ccdcov"})],
        "statistic": [StrOptions({"u", "v"})],
        "c": [Interval(Real, 0, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"lbfgs", "adam"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "categorical": "no_validation",
        "continuous_scaling": "no_validation",
        "drop_prot_attr": ["boolean"],
        "random_state": ["random_state"],
    }

    def _check_settings(self):
        hidden = tuple(int(h) for h in np.atleast_1d(self.hidden_layer_sizes))
        if any(h < 1 for h in hidden):
            raise ValueError(
                "hidden_layer_sizes must contain positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        if self.dropout > 0 and self.solver != "adam":
            raise ValueError(
                f"dropout={self.dropout} needs solver='adam' (L-BFGS needs a deterministic "
                "objective)."
            )
        if self.dropout > 0 and not hidden:
            raise ValueError("dropout needs at least one hidden layer (hidden_layer_sizes).")
        if self.solver == "adam" and self.statistic == "u" and self.batch_size < 4 and self.lam > 0:
            raise ValueError(
                f"batch_size={self.batch_size} is too small for the U-statistic penalty, which "
                "needs at least 4 samples per batch; use batch_size >= 4 or statistic='v'."
            )
        return hidden

    def _model_data(self, X, y, sensitive_features):
        return self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, reset=True,
            # continuous attributes (age) are allowed: the penalty takes raw values
            protected="values", drop=self.drop_prot_attr, features="numeric",
            target="binary" if self._loss == "log_loss" else "continuous",
        )

    def _check_target_values(self, y):
        pass

    def _fit(self, X, y, sensitive_features, offset):
        hidden = self._check_settings()
        data = self._model_data(X, y, sensitive_features)
        Xm, y = data.X, np.asarray(data.y, dtype=float)
        self._check_target_values(y)
        enc = encode_protected_attributes(
            data.protected.values,
            categorical=self.categorical,
            continuous_scaling=self.continuous_scaling,
            name="sensitive_features" if self.prot_attr is None else "prot_attr",
        )
        n = Xm.shape[0]
        min_n = 4 if self.statistic == "u" and self.lam > 0 else 1
        if n < min_n:
            raise ValueError(
                f"The U-statistic penalty needs at least 4 samples, got n_samples = {n}."
            )
        rng = np.random.default_rng(
            self.random_state
            if not isinstance(self.random_state, np.random.RandomState)
            else self.random_state.randint(2**31)
        )
        idx_train, idx_val = np.arange(n), None
        if self.early_stopping:
            stratify = y if self._loss == "log_loss" else None
            idx_train, idx_val = train_test_split(
                np.arange(n),
                test_size=self.validation_fraction,
                random_state=int(rng.integers(2**31)),
                stratify=stratify,
            )
            if len(idx_val) < min_n or len(idx_train) < min_n:
                raise ValueError(
                    f"early_stopping with validation_fraction={self.validation_fraction} "
                    f"leaves too few samples (n_samples = {n})."
                )
        params = _init_params(Xm.shape[1], hidden, rng)
        params[-1][1][0] = self._initial_intercept(y, offset)
        template = [[w.copy(), b.copy()] for w, b in params]
        # The GLM is optimised in standardised coordinates z = (x - mean) / sd with the
        # L2 weight alpha / sd^2 on z's weights: the same objective and minimiser as on
        # x, only better conditioned (features in units of 1e5 otherwise stall L-BFGS).
        Xz, first_alpha, center, sd = Xm, None, None, None
        if not hidden:
            center = Xm.mean(axis=0)
            sd = Xm.std(axis=0)
            sd = np.where(sd > 1e-12 * np.maximum(np.abs(center), 1.0), sd, 1.0)
            Xz = (Xm - center) / sd
            first_alpha = self.alpha / sd[:, None] ** 2

        def objective_on(rows, lam=None):
            return _Objective(
                self,
                Xz[rows],
                y[rows],
                None if offset is None else offset[rows],
                [b[rows] for b in enc.blocks],
                template,
                lam=lam,
                first_alpha=first_alpha,
            )

        val_obj = objective_on(idx_val) if idx_val is not None else None
        theta = _pack(params)
        constant = None
        if not hidden and self.lam > 0:
            # The intercept-only start makes every prediction equal: there the penalty has
            # a kink (it grows like |w| along every direction) and its subgradient is 0, so
            # the first L-BFGS step follows the task loss alone, the line search meets the
            # kink and the fit stops at a constant. Start from the unpenalised GLM instead
            # (smooth, convex) and keep the constant as a candidate that can still win.
            constant = theta.copy()
            theta = fit_lbfgs(self, objective_on(idx_train, lam=0.0), None, theta)[0]
        if self.solver == "lbfgs":
            train_obj = objective_on(idx_train)
            theta, n_iter, converged, loss = fit_lbfgs(self, train_obj, val_obj, theta)
            if constant is not None and val_obj is None:
                at_constant = train_obj(constant)[0]
                if at_constant <= loss:
                    theta, loss = constant, at_constant
        else:
            theta, n_iter, converged, loss = fit_adam(self, objective_on, idx_train, val_obj,
                                                      theta, rng)
        self.n_iter_, self.converged_, self.loss_ = n_iter, converged, loss
        fitted = _unpack(theta, template)
        if not hidden:  # back from standardised coordinates: w = w_z / sd
            W, b = fitted[0]
            W = W / sd[:, None]
            fitted[0] = [W, b - center @ W]
        self.coefs_ = [w for w, _ in fitted]
        self.intercepts_ = [b for _, b in fitted]
        if not hidden:
            self.coef_ = self.coefs_[0][:, 0].copy()
            self.intercept_ = float(self.intercepts_[0][0])
        self.n_layers_ = len(hidden) + 2
        self._warn_if_constant(Xm, y, offset, fitted)
        return self

    def _warn_if_constant(self, Xm, y, offset, fitted):
        """Warn (``ConstantFitWarning``) when the fitted model is constant on the training
        rows: the penalty can pull every weight to 0 (lam too large)."""
        eta, _, _ = _forward([(w, b) for w, b in fitted], Xm, self.activation)
        eta = np.asarray(eta, dtype=np.float64).ravel()
        advice = ("Try a smaller lam (lam=0 gives the unpenalised model) and choose it on "
                  "held-out data; a larger max_iter helps if the fit stopped early "
                  f"(n_iter_={self.n_iter_}).")
        if self._loss == "log_loss":
            positive = (eta > 0).astype(int)
            warn_if_constant(self, expit(eta), y=self.classes_[y.astype(int)],
                             predictions=self.classes_[positive], params=("lam",),
                             advice=advice, stacklevel=6)
        else:
            # the model's own part (the rate for Poisson), without the offset
            rate = eta if self._loss == "squared_error" else np.exp(eta)
            warn_if_constant(self, rate, y=y if offset is None else None, params=("lam",),
                             advice=advice, stacklevel=6)

    def _eta(self, X, offset=None):
        check_is_fitted(self)
        # The protected attribute is not a model input: it is only dropped here, and
        # groups never seen in fit are fine (map_groups=False).
        Xm = self._validate_fair_data(X, reset=False, protected="columns",
                                      drop=self.drop_prot_attr, features="numeric",
                                      map_groups=False).X
        params = list(zip(self.coefs_, self.intercepts_, strict=True))
        eta, _, _ = _forward(params, Xm, self.activation)
        if offset is not None:
            eta = eta + _check_offset(offset, len(eta), "offset")
        return eta


def _check_y_given(est, y):
    if y is None:
        raise ValueError(
            f"{type(est).__name__} requires y to be passed, but the target y is None."
        )


def _check_offset(offset, n, name):
    arr = column_or_1d(np.asarray(offset, dtype=float))
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} values but X has {n} samples.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr
