"""fairkit's exponentiated-gradient loop (Agarwal et al. 2018, 2019), with warm-started
best responses.

The algorithm is the one fairlearn implements (``fairlearn.reductions.ExponentiatedGradient``,
0.15): the same multiplier updates, duality-gap evaluation, linear-programming step, step-size
shrinking and stopping rule, so that with the same deterministic learner and no warm start it
finds the same predictors and weights. What differs is how the work is done:

* the moments are computed from per-cell sums (a cell is one event -- a label value or all
  rows -- crossed with one group) with ``np.bincount``, instead of an ``n x 2k`` matrix
  product per evaluation; every predictor is evaluated once on the training rows;
* a best response for ``LogisticRegression`` (L2 or no penalty, any solver but liblinear) is
  solved by damped Newton iterations on the same objective, started from the solution of
  the nearest multipliers seen so far (``_NewtonLogistic``); other scikit-learn linear models
  with a ``warm_start`` parameter are refitted from that previous solution; any other learner
  is cloned and fitted from scratch, as fairlearn does;
* a best response for multipliers already seen is reused.

Only the parity moments fairkit exposes and ``BoundedGroupLoss`` are computed here; another
``fairlearn.reductions.Moment`` makes the caller fall back to fairlearn's own class.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.optimize as opt
from scipy.special import expit
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

__all__: list[str] = []

# fairlearn's constants (reductions/_exponentiated_gradient/_constants.py), same meaning
_PRECISION = 1e-8
_ACCURACY_MUL = 0.5
_REGRET_CHECK_START_T = 5
_REGRET_CHECK_INCREASE_T = 1.6
_SHRINK_REGRET = 0.8
_SHRINK_ETA = 0.8
_MIN_ITER = 5
_GAP_MULTIPLIERS = (1.0, 2.0, 5.0, 10.0)
#: rows of the subsample the Newton best response estimates its Hessian from on data of
#: more than twice as many rows
_HESSIAN_ROWS = 50_000


# ---------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------

class _ParityMoments:
    """A parity constraint (demographic parity, equalized odds, TPR / FPR / error-rate
    parity) and its objective, the error rate, on fixed training rows.

    Rows belong to an event (all rows; or the rows of one label) and a group; a cell is an
    (event, group) pair present in the data, ordered by event then group. Constraint
    ``(+, c)`` is ``ratio * m_c - m_e <= bound`` and ``(-, c)`` is ``ratio * m_e - m_c <=
    bound``, with ``m_c`` / ``m_e`` the mean utility of a predictor over cell ``c`` and over
    its event ``e`` (Agarwal et al. 2018, sec. 2; fairlearn's ``UtilityParity``).
    """

    classification = True

    def __init__(self, kind, bound, ratio):
        self.kind = kind
        self._bound = float(bound)
        self.ratio = float(ratio)

    def load(self, y, codes, group_labels):
        y = np.asarray(y, dtype=np.float64)
        n = len(y)
        self.n = n
        self.y = y
        if self.kind in ("demographic_parity", "error_rate_parity"):
            event = np.zeros(n, dtype=np.intp)
            event_names = ["all"]
        elif self.kind == "true_positive_rate_parity":
            event = np.where(y == 1, 0, -1)
            event_names = ["label=1"]
        elif self.kind == "false_positive_rate_parity":
            event = np.where(y == 0, 0, -1)
            event_names = ["label=0"]
        else:  # equalized_odds: one event per label, "label=0" < "label=1"
            event = y.astype(np.intp)
            event_names = ["label=0", "label=1"]
        if self.kind == "error_rate_parity":  # utility of predicting 0 is y, of 1 is 1 - y
            self.util0 = y.copy()
            self.diff = 1.0 - 2.0 * y
        else:
            self.util0 = None
            self.diff = None
        k = len(group_labels)
        n_events = len(event_names)
        valid = event >= 0
        cell_id = np.where(valid, event * k + np.asarray(codes, dtype=np.intp), -1)
        counts = np.bincount(cell_id[valid], minlength=n_events * k)
        present = np.flatnonzero(counts)
        remap = np.full(n_events * k, -1, dtype=np.intp)
        remap[present] = np.arange(len(present))
        # row -> cell (the last slot, -1, is rows outside every event)
        self.row_cell = np.where(valid, remap[np.maximum(cell_id, 0)], -1)
        self.n_cells = len(present)
        self.all_valid = bool(valid.all())
        self.cell_event = present // k
        self.cell_count = counts[present].astype(np.float64)
        self.event_count = np.bincount(self.cell_event, weights=self.cell_count,
                                       minlength=n_events)
        self.p_cell = self.cell_count / n
        self.p_event = self.event_count / n
        self.n_events = n_events
        self.obj_weights = 2.0 * y - 1.0  # fairlearn's ErrorRate: -c_fp + (c_fp + c_fn) y
        cells = [(event_names[e], group_labels[g])
                 for e, g in zip(present // k, present % k, strict=True)]
        self.index = pd.MultiIndex.from_tuples(
            [("+",) + c for c in cells] + [("-",) + c for c in cells],
            names=["sign", "event", "group_id"])
        return self

    @property
    def n_constraints(self):
        return 2 * self.n_cells

    def bound(self):
        return np.full(self.n_constraints, self._bound)

    def error(self, pred):
        # 0/1 labels and predictions: the share of rows where they differ
        return float(np.count_nonzero(self.y != pred) / self.n)

    def gamma(self, pred):
        v = pred if self.diff is None else self.diff * pred + self.util0
        if self.all_valid:
            s_cell = np.bincount(self.row_cell, weights=v, minlength=self.n_cells)
        else:
            valid = self.row_cell >= 0
            s_cell = np.bincount(self.row_cell[valid], weights=v[valid],
                                 minlength=self.n_cells)
        s_event = np.bincount(self.cell_event, weights=s_cell, minlength=self.n_events)
        m_cell = s_cell / self.cell_count
        m_event = (s_event / self.event_count)[self.cell_event]
        return np.concatenate([self.ratio * m_cell - m_event,
                               self.ratio * m_event - m_cell])

    def project(self, lam):
        """fairlearn's ``UtilityParity.project_lambda``: per event, shift the signed
        multipliers by the weighted median so the Lagrangian can only grow."""
        if self.ratio != 1.0:
            return lam
        c = self.n_cells
        signed = lam[:c] - lam[c:]
        out = signed.copy()
        group_prob = self.p_cell / self.p_event[self.cell_event]
        for e in range(self.n_events):
            idx = np.flatnonzero(self.cell_event == e)
            prob = group_prob[idx]
            norm = signed[idx] / prob
            order = np.argsort(norm, kind="stable")
            cum = np.cumsum(prob[order])
            pos = np.searchsorted(cum, prob.sum() / 2)
            out[idx] = signed[idx] - prob * norm[order[pos]]
        return np.concatenate([np.maximum(out, 0.0), np.maximum(-out, 0.0)])

    def signed_weights(self, lam):
        """Objective's signed weights plus the constraint's (Agarwal et al. 2018, sec. 3.2)."""
        c = self.n_cells
        lp, lm = lam[:c], lam[c:]
        event_term = np.bincount(self.cell_event, weights=lp - self.ratio * lm,
                                 minlength=self.n_events) / self.p_event
        per_cell = event_term[self.cell_event] + (lm - self.ratio * lp) / self.p_cell
        per_row = (per_cell if self.all_valid else np.append(per_cell, 0.0))[self.row_cell]
        if self.diff is not None:
            per_row = self.diff * per_row
        return self.obj_weights + per_row


class _GroupLossMoments:
    """``BoundedGroupLoss``: each group's mean loss at most ``upper_bound``; the objective
    is the overall mean loss (fairlearn's ``MeanLoss``)."""

    classification = False

    def __init__(self, loss, upper_bound):
        self.loss = loss
        self.upper_bound = float(upper_bound)

    def load(self, y, codes, group_labels):
        self.y = np.asarray(y, dtype=np.float64)
        self.n = len(self.y)
        self.codes = np.asarray(codes, dtype=np.intp)
        k = len(group_labels)
        self.count = np.bincount(self.codes, minlength=k).astype(np.float64)
        self.prob = self.count / self.n
        self.k = k
        self.obj_weights = np.ones(self.n)
        self.index = pd.Index(list(group_labels), name="group_id")
        return self

    @property
    def n_constraints(self):
        return self.k

    def bound(self):
        return np.full(self.k, self.upper_bound)

    def _loss(self, pred):
        return np.asarray(self.loss.eval(self.y, pred), dtype=np.float64)

    def error(self, pred):
        return float(self._loss(pred).mean())

    def gamma(self, pred):
        return np.bincount(self.codes, weights=self._loss(pred), minlength=self.k) / self.count

    def project(self, lam):
        return lam

    def signed_weights(self, lam):
        return self.obj_weights + (lam / self.prob)[self.codes]


# ---------------------------------------------------------------------------------------
# best responses
# ---------------------------------------------------------------------------------------

def _final_step(est):
    return est.steps[-1][1] if isinstance(est, Pipeline) else est


def _newton_eligible(est, X):
    """Whether the best response of ``est`` can be computed by :class:`_NewtonLogistic`:
    a plain ``LogisticRegression`` with an L2 penalty (or none) whose intercept is not
    penalised, on a dense numeric matrix."""
    if type(est) is not LogisticRegression:
        return False
    p = est.get_params()
    if p["solver"] == "liblinear" or p["class_weight"] is not None:
        return False
    if p["penalty"] not in ("deprecated", "l2", None):
        return False
    if p["penalty"] != None and p.get("l1_ratio") not in (None, 0, 0.0):  # noqa: E711
        return False
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):  # sparse
        return False
    try:
        Xa = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return Xa.ndim == 2 and bool(np.isfinite(Xa).all())


class _NewtonLogistic:
    """Weighted binary logistic regression solved to high precision by damped Newton steps.

    Minimises scikit-learn's ``LogisticRegression`` objective for the given weights,
    :math:`\\sum_i w_i \\ell(y_i, x_i^\\top \\beta + b) + \\|\\beta\\|^2 / (2C)` (intercept not
    penalised), from a start the caller chooses; returns a fitted ``LogisticRegression``
    clone. It stops where scikit-learn's lbfgs does, when the largest gradient entry of
    the weight-averaged objective is at most the learner's ``tol``; Newton steps converge
    quadratically, so at that point it is usually far closer to the optimum.
    """

    def __init__(self, estimator, X, max_newton=50):
        self.estimator = estimator
        params = estimator.get_params()
        self.fit_intercept = bool(params["fit_intercept"])
        C = params["C"] if params["penalty"] is not None else np.inf
        Xa = np.asarray(X, dtype=np.float64)
        self.n, self.d = Xa.shape
        # the model matrix with a column of ones for the intercept, stored by column
        self.XT = np.empty((self.d + self.fit_intercept, self.n))
        self.XT[: self.d] = Xa.T
        if self.fit_intercept:
            self.XT[self.d] = 1.0
        self.pen = np.zeros(len(self.XT))
        self.pen[: self.d] = 0.0 if np.isinf(C) else 1.0 / C
        self.max_newton = max_newton
        self.tol = float(params["tol"])
        self._work = None
        # the Hessian from a fixed subsample of rows on large data (the gradient, and so
        # the solution, still uses every row: only the path to it changes)
        if self.n > 2 * _HESSIAN_ROWS:
            rows = np.sort(np.random.default_rng(0).choice(self.n, _HESSIAN_ROWS,
                                                           replace=False))
            self.sub = rows
            self.XT_sub = np.ascontiguousarray(self.XT[:, rows])
        else:
            self.sub = None
        names = getattr(X, "columns", None)
        self.feature_names = (np.asarray(names, dtype=object)
                              if names is not None and all(isinstance(c, str) for c in names)
                              else None)

    def _objective(self, z, sign, w, beta, buf, buf2):
        # logistic loss log(1 + exp(-m)) of the margin m = (2y - 1) z, computed stably
        m = np.multiply(sign, z, out=buf)
        np.minimum(m, 0.0, out=buf2)
        np.abs(m, out=m)
        np.negative(m, out=m)
        np.exp(m, out=m)
        np.log1p(m, out=m)
        m -= buf2
        return float(w @ m + 0.5 * self.pen @ (beta * beta))

    def solve(self, y, w, beta0):
        """Newton iterations from ``beta0`` (zeros when None); ``(beta, z, iterations)``.

        Work arrays are allocated once and reused by every call (``z`` is one of them:
        read it before the next call): at a million rows a fresh temporary per operation
        costs more in page faults than the arithmetic."""
        XT = self.XT
        n = self.n
        if self._work is None:
            self._work = [np.empty(n) for _ in range(7)] + [
                np.empty_like(XT) if self.sub is None else None]
        z, z_new, p, r, dz, buf, sign, XTs = self._work
        beta = np.zeros(len(XT)) if beta0 is None else beta0.copy()
        np.multiply(y, 2.0, out=sign)
        sign -= 1.0
        np.dot(beta, XT, out=z)
        f = None
        scale = w.sum()
        it = 0
        for it in range(1, self.max_newton + 1):
            expit(z, out=p)
            np.subtract(p, y, out=r)
            r *= w
            g = XT @ r + self.pen * beta
            if np.max(np.abs(g)) <= self.tol * scale:
                it -= 1
                break
            if self.sub is None:
                np.subtract(1.0, p, out=r)  # r is free again: s = w p (1 - p)
                r *= p
                r *= w
                np.multiply(XT, r, out=XTs)
                H = XTs @ XT.T
            else:
                ps = p[self.sub]
                s_sub = w[self.sub] * ps * (1.0 - ps) * (n / len(self.sub))
                H = (self.XT_sub * s_sub) @ self.XT_sub.T
            H[np.diag_indices_from(H)] += self.pen
            try:
                delta = scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), -g)
            except (np.linalg.LinAlgError, ValueError):
                delta = np.linalg.lstsq(H, -g, rcond=None)[0]
            np.dot(delta, XT, out=dz)
            decrement = -float(g @ delta)
            if decrement <= 1e-3 * scale:
                # inside the region of quadratic convergence: the full step, unchecked
                beta = beta + delta
                z += dz
                f = None
                if decrement <= (0.1 * self.tol) ** 2 * scale:
                    # the step changed the objective by < 1e-2 tol^2 per unit weight: the
                    # gradient after it is well inside tol, no pass over the rows to see it
                    break
                continue
            if f is None:
                f = self._objective(z, sign, w, beta, buf, r)
            step = 1.0
            while True:
                np.multiply(dz, step, out=z_new)
                z_new += z
                b_new = beta + step * delta
                f_new = self._objective(z_new, sign, w, b_new, buf, r)
                if f_new <= f - 1e-4 * step * decrement or step < 1e-10:
                    break
                step *= 0.5
            if f_new > f:  # no decrease possible at machine precision
                break
            beta, f = b_new, f_new
            z, z_new = z_new, z
        self._work[0], self._work[1] = z, z_new
        self.last_iterations = it
        return beta, z, it

    def fitted(self, beta, n_iter):
        est = clone(self.estimator)
        est.coef_ = beta[None, : self.d].copy()
        est.intercept_ = np.array([beta[self.d] if self.fit_intercept else 0.0])
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = self.d
        est.n_iter_ = np.array([n_iter], dtype=np.int32)
        if self.feature_names is not None:
            est.feature_names_in_ = self.feature_names
        return est


class _BestResponses:
    """The learner's best responses to multipliers ``lam``: ``fit(red_y, red_w, lam)``
    returns ``(fitted estimator, its predictions on the training rows)``.

    ``mode``: ``"newton"`` (see :class:`_NewtonLogistic`), ``"warm"`` (a copy of the
    fitted learner of the nearest multipliers seen so far, refitted with
    ``warm_start=True``) or ``"cold"`` (a fresh clone, as fairlearn).
    """

    def __init__(self, estimator, X, sample_weight_name, warm_start):
        self.estimator = estimator
        self.X = X
        self.name = sample_weight_name
        self.mode = "cold"
        if warm_start:
            if _newton_eligible(estimator, X):
                self.mode = "newton"
                self.newton = _NewtonLogistic(estimator, X)
            else:
                last = _final_step(estimator)
                if (type(last).__module__.startswith("sklearn.linear_model")
                        and "warm_start" in last.get_params()):
                    self.mode = "warm"
        self.history = []  # (lam, state) of earlier non-constant fits
        self.cache = {}
        self.n_calls = 0
        self.n_constant = 0
        self.newton_iterations = []

    def _nearest(self, lam):
        if not self.history:
            return None
        dist = [np.abs(h - lam).sum() for h, _ in self.history]
        return self.history[int(np.argmin(dist))][1]

    def fit(self, red_y, red_w, lam):
        key = lam.tobytes()
        if key in self.cache:
            return self.cache[key]
        self.n_calls += 1
        lo, hi = red_y.min(), red_y.max()
        if lo == hi:
            if self.mode == "newton":
                lo = int(lo)
                red_y = red_y.astype(np.int64)
            est = DummyClassifier(strategy="constant", constant=lo)
            est.fit(self.X, red_y, sample_weight=red_w)
            pred = np.full(len(red_y), lo, dtype=np.float64)
            self.n_constant += 1
        elif self.mode == "newton":
            beta, z, it = self.newton.solve(red_y, red_w, self._nearest(lam))
            self.newton_iterations.append(it)
            self.history.append((lam.copy(), beta))
            est = self.newton.fitted(beta, it)
            pred = (z > 0).astype(np.float64)
        else:
            prev = self._nearest(lam) if self.mode == "warm" else None
            if prev is not None:
                est = copy.deepcopy(prev)
                _final_step(est).set_params(warm_start=True)
            else:
                est = clone(self.estimator, safe=False)
            est.fit(self.X, red_y, **{self.name: red_w})
            if self.mode == "warm":
                self.history.append((lam.copy(), est))
            pred = np.asarray(est.predict(self.X), dtype=np.float64).reshape(-1)
        self.cache[key] = (est, pred)
        return est, pred


# ---------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------

class _Lagrangian:
    """The predictors found so far, their errors and constraint values, and the learner's
    best response (fairlearn's ``_Lagrangian``, on arrays)."""

    def __init__(self, moments, responses, y, B):
        self.m = moments
        self.r = responses
        self.y = y
        self.B = B
        self.bound = moments.bound()
        self.predictors = []
        self.preds = []
        self.errors = []
        self.gammas = []
        self.lambdas = []
        self._lp_n = 0
        self._lp = None

    def evaluate(self, Q, lam):
        """``(L, L_high, gamma, error)`` of the mixture ``Q`` (weights over predictors)."""
        idx = np.flatnonzero(Q)
        error = float(np.asarray(self.errors)[idx] @ Q[idx])
        gamma = np.asarray(self.gammas)[idx].T @ Q[idx]
        lam = self.m.project(lam)
        L = error + float(np.sum(lam * (gamma - self.bound)))
        worst = float((gamma - self.bound).max())
        L_high = error + (self.B * worst if worst > 0 else 0.0)
        return L, L_high, gamma, error

    def best_h(self, lam):
        sw = self.m.signed_weights(lam)
        if self.m.classification:
            # the Newton solver reads float labels, a scikit-learn learner 0/1 integers
            red_y = (sw > 0).astype(np.float64 if self.r.mode == "newton" else np.int64)
        else:
            red_y = self.y
        red_w = np.abs(sw, out=sw)
        red_w *= self.m.n / red_w.sum()
        est, pred = self.r.fit(red_y, red_w, lam)
        h_error = self.m.error(pred)
        h_gamma = self.m.gamma(pred)
        h_value = h_error + float(h_gamma @ lam)
        if self.predictors:
            values = np.asarray(self.errors) + np.asarray(self.gammas) @ lam
            best = int(np.argmin(values))
            best_value = values[best]
        else:
            best, best_value = -1, np.inf
        if h_value < best_value - _PRECISION:
            best = len(self.predictors)
            self.predictors.append(est)
            self.preds.append(pred)
            self.errors.append(h_error)
            self.gammas.append(h_gamma)
            self.lambdas.append(lam.copy())
        return best

    def point(self, i):
        Q = np.zeros(len(self.predictors))
        Q[i] = 1.0
        return Q

    def gap(self, Q, lam_hat, nu):
        """``(gap, L, L_low, L_high, gamma, error)``: the duality gap of ``(Q, lam_hat)``,
        with the lower value from best responses to 1, 2, 5, 10 times ``lam_hat``."""
        L, L_high, gamma, error = self.evaluate(Q, lam_hat)
        L_low = L
        for mul in _GAP_MULTIPLIERS:
            i = self.best_h(mul * lam_hat)
            Q = np.append(Q, np.zeros(len(self.predictors) - len(Q)))
            low = self.evaluate(self.point(i), lam_hat)[0]
            L_low = min(L_low, low)
            if max(L - L_low, L_high - L) > nu + _PRECISION:
                break
        return max(L - L_low, L_high - L), Q

    def linprog(self, nu):
        """The saddle point over the predictors found so far (primal and dual LPs)."""
        n_h = len(self.predictors)
        if n_h == self._lp_n:
            return self._lp
        K = self.m.n_constraints
        c = np.append(np.asarray(self.errors), self.B)
        A_ub = np.hstack([np.asarray(self.gammas).T - self.bound[:, None], -np.ones((K, 1))])
        b_ub = np.zeros(K)
        A_eq = np.append(np.ones(n_h), 0.0)[None, :]
        b_eq = np.ones(1)
        primal = opt.linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                             method="highs-ds")
        Q = primal.x[:-1]
        dual = opt.linprog(np.append(b_ub, -b_eq),
                           A_ub=np.hstack([-A_ub.T, A_eq.T]), b_ub=c,
                           bounds=[(0, None)] * K + [(None, None)], method="highs-ds")
        lam = dual.x[:-1]
        self._lp_n = n_h
        gap, Q = self.gap(Q, lam, nu)
        self._lp = (Q, lam, gap)
        return self._lp


def exponentiated_gradient(moments, responses, y, *, eps, max_iter, nu, eta0,
                           run_linprog_step):
    """Run the loop; returns a dict of the fitted quantities."""
    B = 1.0 / eps
    lag = _Lagrangian(moments, responses, np.asarray(y), B)
    K = moments.n_constraints
    bound = moments.bound()
    theta = np.zeros(K)
    Qsum = {}
    gaps_eg, gaps, Qs = [], [], []
    lambdas_eg, lambdas_lp = {}, {}
    last_regret_checked = _REGRET_CHECK_START_T
    last_gap = np.inf
    lam_sum = np.zeros(K)
    eta = None
    for t in range(max_iter):
        e = np.exp(theta)
        lam = B * e / (1.0 + e.sum())
        lambdas_eg[t] = lam
        lam_sum += lam
        lam_eg = lam_sum / (t + 1)
        h = lag.best_h(lam)
        if t == 0:
            if nu is None:
                dev = np.abs(lag.preds[h] - lag.y)
                nu = _ACCURACY_MUL * float(np.std(dev, ddof=1)) / np.sqrt(moments.n)
            eta = eta0 / B
        Qsum[h] = Qsum.get(h, 0.0) + 1.0
        gamma = lag.gammas[h]
        Q_eg = np.zeros(len(lag.predictors))
        total = sum(Qsum.values())
        for i, v in Qsum.items():
            Q_eg[i] = v / total
        gap_eg, Q_eg = lag.gap(Q_eg, lam_eg, nu)
        gaps_eg.append(gap_eg)
        if t == 0 or not run_linprog_step:
            gap_lp = np.inf
        else:
            Q_lp, lam_lp, gap_lp = lag.linprog(nu)
            lambdas_lp[t] = lam_lp
        if gap_eg < gap_lp:
            Qs.append(Q_eg)
            gaps.append(gap_eg)
        else:
            Qs.append(Q_lp)
            gaps.append(gap_lp)
        if gaps[t] < nu and t >= _MIN_ITER:
            break
        if t >= last_regret_checked * _REGRET_CHECK_INCREASE_T:
            best_gap = min(gaps_eg)
            if best_gap > last_gap * _SHRINK_REGRET:
                eta *= _SHRINK_ETA
            last_regret_checked = t
            last_gap = best_gap
        theta = theta + eta * (gamma - bound)
    gaps_arr = np.asarray(gaps)
    best_iter = int(np.flatnonzero(gaps_arr <= gaps_arr.min() + _PRECISION)[-1])
    weights = np.zeros(len(lag.predictors))
    weights[: len(Qs[best_iter])] = Qs[best_iter]
    index = moments.index
    return {
        "predictors": lag.predictors,
        "train_predictions": lag.preds,
        "weights": weights,
        "best_iter": best_iter,
        "best_gap": float(gaps[best_iter]),
        "last_iter": len(Qs) - 1,
        "nu": float(nu),
        "errors": np.asarray(lag.errors),
        "gammas": pd.DataFrame(np.asarray(lag.gammas).T, index=index),
        "lambda_vecs": pd.DataFrame(np.asarray(lag.lambdas).T.reshape(K, -1), index=index),
        "lambda_vecs_EG": pd.DataFrame(lambdas_eg, index=index),
        "lambda_vecs_LP": pd.DataFrame(lambdas_lp, index=index),
        "n_oracle_calls": responses.n_calls,
    }


def moments_from_fairlearn(moment):
    """fairkit's arrays version of a fairlearn constraint object, or None for a moment
    this module does not compute (a custom ``Moment``, which then stays fairlearn's)."""
    from fairlearn.reductions import (
        BoundedGroupLoss,
        DemographicParity,
        EqualizedOdds,
        ErrorRateParity,
        FalsePositiveRateParity,
        TruePositiveRateParity,
    )

    kinds = {
        DemographicParity: "demographic_parity",
        EqualizedOdds: "equalized_odds",
        TruePositiveRateParity: "true_positive_rate_parity",
        FalsePositiveRateParity: "false_positive_rate_parity",
        ErrorRateParity: "error_rate_parity",
    }
    kind = kinds.get(type(moment))
    if kind is not None:
        return _ParityMoments(kind, moment.eps, moment.ratio)
    if type(moment) is BoundedGroupLoss:
        if moment.upper_bound is None:
            raise ValueError(
                "The BoundedGroupLoss constraint needs an upper_bound (the largest mean loss "
                "allowed in any group); got upper_bound=None.")
        return _GroupLossMoments(moment.reduction_loss, moment.upper_bound)
    return None
