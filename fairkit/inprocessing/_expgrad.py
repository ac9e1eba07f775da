"""fairkit's exponentiated-gradient loop (Agarwal et al. 2018, 2019), with warm-started
best responses.

The algorithm is the one fairlearn implements (``fairlearn.reductions.ExponentiatedGradient``,
0.15): the same multiplier updates, duality-gap evaluation, linear-programming step, step-size
shrinking and stopping rule, so that with the same deterministic learner and no warm start it
finds the same predictors and weights. What differs is how the work is done:

* everything the loop needs of a row depends on its stratum, the (group, label) pair: the
  signed weights of the best-response problem (so the learner's labels and weights) are
  one number per stratum, and a predictor's error and constraint values are linear in its
  outputs, so they follow from its per-stratum output sums (one ``np.bincount``, or a
  count over slices of sorted rows), instead of an ``n x 2k`` matrix product per
  evaluation; Newton best responses are not stored as training predictions (those in the
  final mixture are computed once at the end);
* a best response for ``LogisticRegression`` (L2 or no penalty, any solver but liblinear) is
  solved by damped Newton iterations on the same objective over rows sorted by stratum,
  started from an earlier solution (``_NewtonLogistic``); other scikit-learn linear models
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
#: where a Hessian costs several gradients, it is reused across Newton steps (and best
#: responses) until a step shrinks the largest gradient entry by less than this factor
_HESSIAN_REFRESH = 0.5
#: Newton steps of a decrement below this (per unit weight) are taken in full, unchecked;
#: larger ones are damped by a backtracking line search on the objective
_FULL_STEP = 1e-2


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
        k = len(group_labels)
        # strata: (group, label) pairs, stratum = 2 * group + label. A row's signed weight,
        # and the sums of a predictor's outputs the moments need, depend on its stratum
        # alone, so every per-row quantity of the loop is a per-stratum one
        self.stratum = 2 * np.asarray(codes, dtype=np.intp) + y.astype(np.intp)
        self.n_strata = 2 * k
        self.stratum_count = np.bincount(self.stratum, minlength=2 * k).astype(np.float64)
        self.stratum_label = np.tile(np.array([0, 1], dtype=np.intp), k)
        lab = self.stratum_label
        if self.kind in ("demographic_parity", "error_rate_parity"):
            s_event = np.zeros(2 * k, dtype=np.intp)
            event_names = ["all"]
        elif self.kind == "true_positive_rate_parity":
            s_event = np.where(lab == 1, 0, -1)
            event_names = ["label=1"]
        elif self.kind == "false_positive_rate_parity":
            s_event = np.where(lab == 0, 0, -1)
            event_names = ["label=0"]
        else:  # equalized_odds: one event per label, "label=0" < "label=1"
            s_event = lab.copy()
            event_names = ["label=0", "label=1"]
        # error-rate parity: the utility of predicting 0 is y, of 1 is 1 - y
        self.diff = True if self.kind == "error_rate_parity" else None
        n_events = len(event_names)
        valid = s_event >= 0
        s_cell_id = np.where(valid, s_event * k + np.arange(2 * k) // 2, 0)
        counts = np.bincount(s_cell_id[valid], weights=self.stratum_count[valid],
                             minlength=n_events * k)
        present = np.flatnonzero(counts)
        remap = np.full(n_events * k, -1, dtype=np.intp)
        remap[present] = np.arange(len(present))
        # stratum -> cell (-1: outside every event)
        self.stratum_cell = np.where(valid, remap[s_cell_id], -1)
        self._s_valid = self.stratum_cell >= 0
        self.n_cells = len(present)
        self.cell_event = present // k
        self.cell_count = counts[present]
        self.event_count = np.bincount(self.cell_event, weights=self.cell_count,
                                       minlength=n_events)
        self.p_cell = self.cell_count / n
        self.p_event = self.event_count / n
        self.n_events = n_events
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

    def stratum_sums(self, pred):
        """Per-stratum sums of a predictor's outputs on the training rows."""
        return np.bincount(self.stratum, weights=pred, minlength=self.n_strata)

    def error_gamma(self, sums):
        """``(error, gamma)`` of a predictor from its per-stratum output sums ``sums``:
        both are linear in the outputs, error ``mean |y - h(x)|`` (the 0/1 error for 0/1
        outputs, fairlearn's ``ErrorRate``), gamma the constraint values."""
        lab1 = self.stratum_label == 1
        wrong = np.where(lab1, self.stratum_count - sums, sums)
        error = float(wrong.sum() / self.n)
        # utility sums: the outputs; for error-rate parity the utility of 0 is y, of 1 is
        # 1 - y, i.e. the errors
        u = sums if self.diff is None else wrong
        s_cell = np.bincount(self.stratum_cell[self._s_valid], weights=u[self._s_valid],
                             minlength=self.n_cells)
        s_event = np.bincount(self.cell_event, weights=s_cell, minlength=self.n_events)
        m_cell = s_cell / self.cell_count
        m_event = (s_event / self.event_count)[self.cell_event]
        return error, np.concatenate([self.ratio * m_cell - m_event,
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

    def stratum_signed_weights(self, lam):
        """Objective's signed weights plus the constraint's (Agarwal et al. 2018, sec.
        3.2), one per stratum (every row of a stratum has the same)."""
        c = self.n_cells
        lp, lm = lam[:c], lam[c:]
        event_term = np.bincount(self.cell_event, weights=lp - self.ratio * lm,
                                 minlength=self.n_events) / self.p_event
        per_cell = event_term[self.cell_event] + (lm - self.ratio * lp) / self.p_cell
        per_s = np.append(per_cell, 0.0)[self.stratum_cell]
        lab = self.stratum_label.astype(np.float64)
        if self.diff is not None:
            per_s = (1.0 - 2.0 * lab) * per_s
        return (2.0 * lab - 1.0) + per_s

    def stratum_targets(self, lam):
        """The learner's label and (unnormalised) weight per stratum."""
        sw = self.stratum_signed_weights(lam)
        return (sw > 0).astype(np.float64), np.abs(sw)

    def signed_weights(self, lam):
        """Per-row signed weights."""
        return self.stratum_signed_weights(lam)[self.stratum]

    def evaluate(self, pred):
        """``(error, gamma)`` of a predictor from its outputs on the training rows."""
        return self.error_gamma(self.stratum_sums(pred))


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
        # strata (see _ParityMoments) only for 0/1 labels: then a 0/1 predictor's losses
        # are known from its per-stratum output sums
        if np.isin(self.y, (0.0, 1.0)).all():
            self.stratum = 2 * self.codes + self.y.astype(np.intp)
            self.n_strata = 2 * k
            self.stratum_count = np.bincount(self.stratum,
                                             minlength=2 * k).astype(np.float64)
            self.stratum_label = np.tile(np.array([0, 1], dtype=np.intp), k)
            lab = self.stratum_label.astype(np.float64)
            self._loss1 = np.asarray(self.loss.eval(lab, np.ones(2 * k)), dtype=np.float64)
            self._loss0 = np.asarray(self.loss.eval(lab, np.zeros(2 * k)), dtype=np.float64)
        else:
            self.stratum = None
        return self

    @property
    def n_constraints(self):
        return self.k

    def bound(self):
        return np.full(self.k, self.upper_bound)

    def _loss(self, pred):
        return np.asarray(self.loss.eval(self.y, pred), dtype=np.float64)

    def evaluate(self, pred):
        loss = self._loss(pred)
        return (float(loss.mean()),
                np.bincount(self.codes, weights=loss, minlength=self.k) / self.count)

    def project(self, lam):
        return lam

    def signed_weights(self, lam):
        return self.obj_weights + (lam / self.prob)[self.codes]

    def stratum_targets(self, lam):
        sw = np.repeat(1.0 + lam / self.prob, 2)
        return self.stratum_label.astype(np.float64), np.abs(sw)

    def error_gamma(self, sums):
        """Mean loss and per-group mean losses of a 0/1 predictor from its per-stratum
        counts of ones ``sums``."""
        loss = sums * self._loss1 + (self.stratum_count - sums) * self._loss0
        per_group = loss.reshape(self.k, 2).sum(axis=1)
        return float(per_group.sum() / self.n), per_group / self.count


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
    """Weighted binary logistic regression solved to high precision by damped Newton steps,
    for weights and labels that are constant within strata of the rows.

    Minimises scikit-learn's ``LogisticRegression`` objective,
    :math:`\\sum_i w_i \\ell(y_i, x_i^\\top \\beta + b) + \\|\\beta\\|^2 / (2C)` (intercept not
    penalised), where row ``i`` of stratum ``s`` has label ``y_s`` and weight ``w_s`` (the
    reduction's labels and weights are functions of (group, label)); returns a fitted
    ``LogisticRegression`` clone. It stops where scikit-learn's lbfgs does, when the largest
    gradient entry of the weight-averaged objective is at most the learner's ``tol``.

    The rows are stored sorted by stratum, so a stratum is a slice: with
    :math:`p = \\sigma(X\\beta)` the gradient is :math:`\\sum_s w_s (X_s^\\top p_s - y_s
    X_s^\\top 1)`, one matrix-vector product per stratum over its slice, and the column sums
    :math:`X_s^\\top 1` are computed once; the objective needs per-stratum sums of the
    softplus of the margins. The Hessian :math:`\\sum_s w_s H_s`, with :math:`H_s = X_s^\\top
    \\mathrm{diag}(p_s (1 - p_s)) X_s`, is kept per stratum: where it costs much more than a
    gradient (many columns), the best response to new weights starts from the earlier
    solution of the lowest objective for those weights (known from its per-stratum softplus
    sums, no pass over the rows) with its stored :math:`H_s` reweighted by the new
    :math:`w_s` (the exact Hessian at the start), updates it by BFGS after each step and
    recomputes it only when a step shrinks the gradient by less than a factor
    :data:`_HESSIAN_REFRESH`; elsewhere it is recomputed at every step. On more than
    ``2 * _HESSIAN_ROWS`` rows it is estimated from a fixed stratified subsample (the
    gradient, and so the solution, still uses every row: only the path to it changes).
    """

    def __init__(self, estimator, X, stratum, n_strata, max_newton=50):
        self.estimator = estimator
        params = estimator.get_params()
        self.fit_intercept = bool(params["fit_intercept"])
        C = params["C"] if params["penalty"] is not None else np.inf
        Xa = np.asarray(X, dtype=np.float64)
        n, d = Xa.shape
        self.n, self.d = n, d
        d1 = d + self.fit_intercept
        # a stable sort of small integers is a radix sort
        key = stratum.astype(np.int16) if n_strata < 2**15 else stratum
        self.order = np.argsort(key, kind="stable")
        counts = np.bincount(stratum, minlength=n_strata)
        self.counts = counts.astype(np.float64)
        self.bounds = np.concatenate([[0], np.cumsum(counts)])
        self.slices = [slice(self.bounds[s], self.bounds[s + 1]) for s in range(n_strata)]
        # the model matrix sorted by stratum with a row of ones for the intercept, stored
        # by column (one contiguous row per feature)
        self.XT = np.empty((d1, n))
        self.XT[:d] = np.take(Xa, self.order, axis=0).T
        if self.fit_intercept:
            self.XT[d] = 1.0
        self.colsum = np.array([self.XT[:, sl].sum(axis=1) for sl in self.slices])
        self.pen = np.zeros(d1)
        self.pen[:d] = 0.0 if np.isinf(C) else 1.0 / C
        self.max_newton = max_newton
        self.tol = float(params["tol"])
        # rows the Hessian is computed from: all, or a stratified subsample on large data
        if n > 2 * _HESSIAN_ROWS:
            rng = np.random.default_rng(0)
            rows, sub_counts = [], []
            for s in range(n_strata):
                c = int(counts[s])
                # its share of _HESSIAN_ROWS, at least a 50th of them (small strata)
                m = min(c, max(int(np.ceil(_HESSIAN_ROWS * c / n)), _HESSIAN_ROWS // 50))
                rows.append(self.bounds[s] + np.sort(rng.choice(c, m, replace=False)))
                sub_counts.append(m)
            self.sub = np.concatenate(rows)
            self.XT_h = np.ascontiguousarray(self.XT[:, self.sub])
            sub_counts = np.asarray(sub_counts)
            self.h_bounds = np.concatenate([[0], np.cumsum(sub_counts)])
            self.h_scale = np.where(sub_counts > 0, counts / np.maximum(sub_counts, 1), 0.0)
        else:
            self.sub = None
            self.XT_h = self.XT
            self.h_bounds = self.bounds
            self.h_scale = np.ones(n_strata)
        n_h = self.XT_h.shape[1]
        self.h_slices = [slice(self.h_bounds[s], self.h_bounds[s + 1])
                         for s in range(n_strata)]
        # a Hessian costs about n_h d^2, a gradient n d: reuse it when it costs more
        self.reuse_hessian = n_h * d1 > 4 * n
        self.n_hessians = 0
        self._work = None
        self._XTs = None
        self._z_beta = None  # the coefficients whose margins are in the z work array
        names = getattr(X, "columns", None)
        self.feature_names = (np.asarray(names, dtype=object)
                              if names is not None and all(isinstance(c, str) for c in names)
                              else None)

    @staticmethod
    def _sigmoid(z, out):
        # 1 / (1 + exp(-z)): exact to rounding at both ends (exp overflows to inf, giving 0)
        np.negative(z, out=out)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)
        return out

    def _gradient(self, p, ry, w, beta):
        g = self.pen * beta
        XT = self.XT
        for s, sl in enumerate(self.slices):
            if w[s] != 0.0 and sl.stop > sl.start:
                g += w[s] * (XT[:, sl] @ p[sl] - ry[s] * self.colsum[s])
        return g

    def softplus_sums(self, z, beta, buf):
        """Per-stratum sums of softplus(z) = log(1 + exp(z)), computed stably as
        max(z, 0) + log1p(exp(-|z|)) with max(z, 0) = (z + |z|) / 2 (the sum of z over a
        stratum is its column sums times ``beta``)."""
        np.abs(z, out=buf)
        abs_sum = np.array([buf[sl].sum() for sl in self.slices])
        np.negative(buf, out=buf)
        np.exp(buf, out=buf)
        np.log1p(buf, out=buf)
        log_sum = np.array([buf[sl].sum() for sl in self.slices])
        return 0.5 * (self.colsum @ beta + abs_sum) + log_sum

    def objective_from_sums(self, sp, ry, w, beta):
        r"""The objective :math:`\sum_s w_s \sum_{i \in s} [\mathrm{softplus}(z_i) - y_s
        z_i]` plus the penalty, from the per-stratum softplus sums ``sp``."""
        return float(w @ (sp - ry * (self.colsum @ beta)) + 0.5 * self.pen @ (beta * beta))

    def _objective(self, z, ry, w, beta, buf):
        return self.objective_from_sums(self.softplus_sums(z, beta, buf), ry, w, beta)

    def hessian_parts(self, p):
        """``(n_strata, d1, d1)``: the per-stratum Hessians :math:`H_s` at probabilities
        ``p`` of the sorted rows."""
        self.n_hessians += 1
        XT_h = self.XT_h
        p_h = p if self.sub is None else p[self.sub]
        if self._XTs is None:
            self._XTs = np.empty_like(XT_h)
        q = p_h * (1.0 - p_h)
        np.multiply(XT_h, q, out=self._XTs)
        d1 = len(XT_h)
        parts = np.zeros((len(self.slices), d1, d1))
        for s, sl in enumerate(self.h_slices):
            if sl.stop > sl.start:
                parts[s] = (self._XTs[:, sl] @ XT_h[:, sl].T) * self.h_scale[s]
        return parts

    def solve(self, ry, w, beta0, parts0=None):
        """Newton iterations from ``beta0`` (zeros when None) for per-stratum labels ``ry``
        and weights ``w``; ``parts0``: per-stratum Hessians to start from (when the
        Hessian is reused). Returns ``(beta, z, iterations, parts, sp)``, ``z`` the
        margins of the sorted rows, ``sp`` their per-stratum softplus sums.

        Work arrays are allocated once and reused by every call (``z`` is one of them:
        read it before the next call): at a million rows a fresh temporary per operation
        costs more in page faults than the arithmetic."""
        XT = self.XT
        n = self.n
        if self._work is None:
            self._work = [np.empty(n) for _ in range(5)]
        z, z_new, p, dz, buf = self._work
        beta = np.zeros(len(XT)) if beta0 is None else beta0.copy()
        if beta0 is None or beta0 is not self._z_beta:
            np.dot(beta, XT, out=z)
        self._z_beta = None
        scale = float(w @ self.counts)
        reuse = self.reuse_hessian
        parts = parts0 if reuse else None
        H = H_fact = None
        if parts is not None:
            H = self._assemble(parts, w)
            H_fact = self._factor(H)
        f = None
        refresh = parts is None
        g_prev = g_prev_max = step_taken = None
        it = 0
        for it in range(1, self.max_newton + 1):
            self._sigmoid(z, p)
            g = self._gradient(p, ry, w, beta)
            g_max = float(np.max(np.abs(g)))
            if g_max <= self.tol * scale:
                it -= 1
                break
            if reuse and g_prev is not None and g_max > _HESSIAN_REFRESH * g_prev_max:
                refresh = True
            fresh = refresh or not reuse or H is None
            if fresh:
                parts = self.hessian_parts(p)
                H = self._assemble(parts, w)
                H_fact = self._factor(H)
                refresh = False
            elif step_taken is not None:
                # a reused Hessian gets the BFGS update of the last step, so that its
                # steps converge superlinearly between recomputations
                yv = g - g_prev
                sy = float(step_taken @ yv)
                Hs = H @ step_taken
                sHs = float(step_taken @ Hs)
                if sy > 1e-12 * sHs > 0:
                    H = H + np.outer(yv, yv) / sy - np.outer(Hs, Hs) / sHs
                    H_fact = self._factor(H)
            g_prev, g_prev_max = g, g_max
            step_taken = None
            delta = self._direction(H_fact, g)
            np.dot(delta, XT, out=dz)
            decrement = -float(g @ delta)
            if not decrement > 0:  # not a descent direction (rounding): a fresh Hessian
                if fresh:
                    break
                refresh = True
                continue
            if decrement <= _FULL_STEP * scale:
                # inside the region of quadratic convergence: the full step, unchecked
                beta = beta + delta
                step_taken = delta
                z += dz
                f = None
                if fresh and decrement <= (0.1 * self.tol) ** 2 * scale:
                    # the step changed the objective by < 1e-2 tol^2 per unit weight: the
                    # gradient after it is well inside tol, no pass over the rows to see it
                    break
                continue
            if f is None:
                f = self._objective(z, ry, w, beta, buf)
            step = 1.0
            while True:
                np.multiply(dz, step, out=z_new)
                z_new += z
                b_new = beta + step * delta
                f_new = self._objective(z_new, ry, w, b_new, buf)
                if f_new <= f - 1e-4 * step * decrement or step < 1e-10:
                    break
                step *= 0.5
            if f_new > f:  # no decrease possible at machine precision
                if fresh:
                    break
                refresh = True
                continue
            step_taken = step * delta
            beta, f = b_new, f_new
            z, z_new = z_new, z
        self._work[0], self._work[1] = z, z_new
        self._z_beta = beta
        self.last_iterations = it
        # where the Hessian is reused, the solution's softplus sums: its objective for any
        # later weights, no pass over the rows (elsewhere not worth their pass)
        sp = self.softplus_sums(z, beta, buf) if self.reuse_hessian else None
        return beta, z, it, parts, sp

    def _assemble(self, parts, w):
        H = np.tensordot(w, parts, axes=1)
        H[np.diag_indices_from(H)] += self.pen
        return H

    @staticmethod
    def _factor(H):
        try:
            return ("cho", scipy.linalg.cho_factor(H))
        except (np.linalg.LinAlgError, ValueError):
            return ("lstsq", H)

    @staticmethod
    def _direction(H_fact, g):
        kind, H = H_fact
        if kind == "cho":
            return scipy.linalg.cho_solve(H, -g)
        return np.linalg.lstsq(H, -g, rcond=None)[0]

    def positive_counts(self, z):
        """Per-stratum counts of rows with a positive margin (predicted 1)."""
        pos = z > 0
        return np.array([np.count_nonzero(pos[sl]) for sl in self.slices], dtype=np.float64)

    def train_predictions(self, beta):
        """0/1 predictions of coefficients ``beta`` on the training rows, in their order."""
        out = np.empty(self.n)
        out[self.order] = (beta @ self.XT) > 0
        return out

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
    """The learner's best responses to multipliers ``lam``.

    ``fit(red_y, red_w, lam)`` returns ``(fitted estimator, its predictions on the training
    rows)`` from per-row labels and weights; in mode ``"newton"``, ``fit_strata(ry, w, lam)``
    returns ``(fitted estimator, per-stratum counts of predicted ones, a function giving
    its training predictions)`` from per-stratum labels and weights.

    ``mode``: ``"newton"`` (see :class:`_NewtonLogistic`), ``"warm"`` (a copy of the
    fitted learner of the nearest multipliers seen so far, refitted with
    ``warm_start=True``) or ``"cold"`` (a fresh clone, as fairlearn).
    """

    #: stored per-stratum Hessians (bytes) beyond which the oldest are dropped
    _MAX_STORED_HESSIANS = 64 * 2**20

    def __init__(self, estimator, X, sample_weight_name, warm_start):
        self.estimator = estimator
        self.X = X
        self.name = sample_weight_name
        self.mode = "cold"
        self.newton = None
        if warm_start:
            if _newton_eligible(estimator, X):
                self.mode = "newton"
            else:
                self._set_warm()
        self.history = []  # [lam, state, per-stratum Hessians] of earlier non-constant fits
        self.n_calls = 0
        self.n_constant = 0
        self.newton_iterations = []

    def _set_warm(self):
        last = _final_step(self.estimator)
        if (type(last).__module__.startswith("sklearn.linear_model")
                and "warm_start" in last.get_params()):
            self.mode = "warm"

    def attach(self, moments):
        """Set up the Newton solver on the strata of ``moments`` (a moment without
        strata, e.g. a bounded group loss of real-valued targets, gets warm starts)."""
        if self.mode == "newton" and self.newton is None:
            if getattr(moments, "stratum", None) is None:
                self.mode = "cold"
                self._set_warm()
            else:
                self.newton = _NewtonLogistic(self.estimator, self.X, moments.stratum,
                                              moments.n_strata)
        return self

    def _nearest(self, lam):
        if not self.history:
            return None
        dist = [np.abs(h[0] - lam).sum() for h in self.history]
        return self.history[int(np.argmin(dist))]

    def _constant(self, lo, red_y, red_w):
        est = DummyClassifier(strategy="constant", constant=lo)
        est.fit(self.X, red_y, sample_weight=red_w)
        self.n_constant += 1
        return est

    def fit(self, red_y, red_w, lam):
        self.n_calls += 1
        lo, hi = red_y.min(), red_y.max()
        if lo == hi:
            est = self._constant(lo, red_y, red_w)
            return est, np.full(len(red_y), lo, dtype=np.float64)
        prev = self._nearest(lam) if self.mode == "warm" else None
        if prev is not None:
            est = copy.deepcopy(prev[1])
            _final_step(est).set_params(warm_start=True)
        else:
            est = clone(self.estimator, safe=False)
        est.fit(self.X, red_y, **{self.name: red_w})
        if self.mode == "warm":
            self.history.append([lam.copy(), est])
        pred = np.asarray(est.predict(self.X), dtype=np.float64).reshape(-1)
        return est, pred

    def fit_strata(self, ry, w, lam, stratum):
        """Newton best response to per-stratum labels ``ry`` and weights ``w`` (rows of
        stratum ``s`` have label ``ry[s]`` and weight ``w[s]``; ``stratum`` maps rows to
        strata)."""
        self.n_calls += 1
        nt = self.newton
        present = nt.counts > 0
        lo, hi = ry[present].min(), ry[present].max()
        if lo == hi:
            lo = int(lo)
            est = self._constant(lo, np.full(nt.n, lo, dtype=np.int64), w[stratum])
            n = nt.n
            return est, lo * nt.counts, lambda: np.full(n, lo, dtype=np.float64)
        beta0, parts0 = None, None
        if nt.reuse_hessian:
            # the start: the earlier solution (or zero) of the lowest objective for these
            # weights, known from its per-stratum softplus sums without a pass over the
            # rows, with the stored Hessian nearest to it
            best = float(w @ (nt.counts * np.log(2.0)))  # beta = 0: softplus(0) = log 2
            for h in self.history:
                f = nt.objective_from_sums(h[3], ry, w, h[1])
                if f < best:
                    best, beta0, parts0 = f, h[1], h[2]
            if parts0 is None and beta0 is not None:
                parts0 = self._nearest_parts(beta0)
        else:  # the solution of the nearest multipliers (the Hessian is recomputed)
            prev = self._nearest(lam)
            beta0 = None if prev is None else prev[1]
        beta, z, it, parts, sp = nt.solve(ry, w, beta0, parts0)
        self.newton_iterations.append(it)
        self.history.append([lam.copy(), beta, parts if nt.reuse_hessian else None, sp])
        if nt.reuse_hessian:
            self._drop_old_hessians()
        counts = nt.positive_counts(z)
        return nt.fitted(beta, it), counts, lambda: nt.train_predictions(beta)

    def _nearest_parts(self, beta):
        """Stored per-stratum Hessians of the solution nearest ``beta``, if any."""
        stored = [h for h in self.history if h[2] is not None]
        if not stored:
            return None
        dist = [np.abs(h[1] - beta).sum() for h in stored]
        return stored[int(np.argmin(dist))][2]

    def _drop_old_hessians(self):
        stored = [h for h in self.history if h[2] is not None]
        total = sum(h[2].nbytes for h in stored)
        for h in stored:
            if total <= self._MAX_STORED_HESSIANS:
                break
            total -= h[2].nbytes
            h[2] = None


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
        self.wrong = []
        self._cache = {}
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

    def _response(self, lam):
        """``(estimator, predictions, error, gamma, wrong)`` of the best response to
        ``lam``: ``predictions`` on the training rows, or a function giving them;
        ``wrong`` the share of rows where a 0/1 response differs from ``y`` (None when
        the predictions are stored)."""
        key = lam.tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        m = self.m
        if self.r.mode == "newton":
            ry, w = m.stratum_targets(lam)
            w = w * (m.n / float(w @ m.stratum_count))
            est, sums, pred = self.r.fit_strata(ry, w, lam, m.stratum)
            h_error, h_gamma = m.error_gamma(sums)
            lab1 = m.stratum_label == 1
            wrong = float(np.where(lab1, m.stratum_count - sums, sums).sum() / m.n)
        else:
            sw = m.signed_weights(lam)
            if m.classification:
                red_y = (sw > 0).astype(np.int64)  # a scikit-learn learner: 0/1 integers
            else:
                red_y = self.y
            red_w = np.abs(sw, out=sw)
            red_w *= m.n / red_w.sum()
            est, pred = self.r.fit(red_y, red_w, lam)
            h_error, h_gamma = m.evaluate(pred)
            wrong = None
        hit = self._cache[key] = (est, pred, h_error, h_gamma, wrong)
        return hit

    def best_h(self, lam):
        est, pred, h_error, h_gamma, wrong = self._response(lam)
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
            self.wrong.append(wrong)
            self.errors.append(h_error)
            self.gammas.append(h_gamma)
            self.lambdas.append(lam.copy())
        return best

    def deviation_std(self, i):
        """Standard deviation (``ddof=1``) of ``|h_i(x) - y|`` over the training rows."""
        if self.wrong[i] is None:
            return float(np.std(np.abs(self.preds[i] - self.y), ddof=1))
        e, n = self.wrong[i], self.m.n  # 0/1 deviations with mean e
        return float(np.sqrt(max(e * (1.0 - e), 0.0) * n / (n - 1)))

    def train_predictions(self, weights):
        """Each predictor's outputs on the training rows; those of predictors of weight 0
        are not computed (a read-only view of zeros stands for them)."""
        out = []
        for pred, w in zip(self.preds, weights, strict=True):
            if callable(pred):
                pred = pred() if w != 0 else np.broadcast_to(0.0, (self.m.n,))
            out.append(pred)
        return out

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
    responses.attach(moments)
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
                nu = _ACCURACY_MUL * lag.deviation_std(h) / np.sqrt(moments.n)
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
        "train_predictions": lag.train_predictions(weights),
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
