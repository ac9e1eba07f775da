"""The forest math of :class:`fairkit.inprocessing.AranyaniClassifier`.

A forest of complete soft oblique trees, its forward pass, the cross-entropy gradient, the
per-group aggregates of the node routing probabilities and of their gradients, the
fairness gradient built from them, and the Adam step; all on one flat parameter vector.
:class:`_SoftForest` holds the state; the estimator adds input checking and the public API.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils import check_random_state

from .._validation import same_label
from ..utils._adam import Adam


def smoothed_abs(F, delta):
    r"""Huber-type smoothing of ``|F|`` used by the fairness regulariser.

    .. math::

        H_\delta(F) = \begin{cases} F^2 / (2\delta) & |F| \le \delta \\
                      |F| - \delta / 2 & |F| > \delta \end{cases}

    This is the Huber loss divided by ``delta``: it equals ``|F| - delta/2`` away from 0, so
    the penalty is (up to a constant) the absolute gap itself whatever ``delta`` is.
    """
    F = np.asarray(F, dtype=float)
    a = np.abs(F)
    return np.where(a <= delta, F * F / (2.0 * delta), a - 0.5 * delta)


def smoothed_abs_derivative(F, delta, kind="huber"):
    r"""Slope used for the fairness gradient, :math:`H'(F)`.

    ``kind="huber"`` (default) is the derivative of :func:`smoothed_abs`,
    ``clip(F / delta, -1, 1)``: continuous, equal to ``sign(F)`` for ``|F| >= delta``.

    ``kind="reference"`` is what the authors' reference code computes
    (``src/aranyani.py`` of github.com/brcsomnath/Aranyani): ``F`` inside ``|F| < delta``
    and ``sign(F)`` outside. It jumps at ``|F| = delta`` (from ``delta`` to 1) and is not
    the derivative of :func:`smoothed_abs`; inside the band it pushes ``1 / delta`` times
    less than ``"huber"``. Outside the band both give ``sign(F)``.
    """
    F = np.asarray(F, dtype=float)
    if kind == "huber":
        return np.clip(F / delta, -1.0, 1.0)
    if kind == "reference":
        return np.where(np.abs(F) < delta, F, np.sign(F))
    raise ValueError(f"kind must be 'huber' or 'reference', got {kind!r}.")


def _tree_paths(depth):
    """Leaf-by-node incidence of a complete binary tree in heap order.

    Returns ``(left, right)`` of shape ``(2**depth, 2**depth - 1)``: ``left[l, i] = 1`` when
    the path to leaf ``l`` goes left at node ``i`` (factor ``s_i``), ``right[l, i] = 1`` when
    it goes right (factor ``1 - s_i``).
    """
    n_nodes, n_leaves = 2**depth - 1, 2**depth
    left = np.zeros((n_leaves, n_nodes))
    right = np.zeros((n_leaves, n_nodes))
    for leaf in range(n_leaves):
        k = n_nodes + leaf
        while k > 0:
            parent = (k - 1) // 2
            if k == 2 * parent + 1:
                left[leaf, parent] = 1.0
            else:
                right[leaf, parent] = 1.0
            k = parent
    return left, right



# --------------------------------------------------------------------------------------
# Compiled per-row step (numba), built on first use, never at import
# --------------------------------------------------------------------------------------
#: Engine of the batch-size-1 loop:
#: ``"auto"`` -- ``"exact"`` when numba is installed, else ``"numpy"``;
#: ``"exact"`` -- NumPy computes what NumPy cannot be matched on (the matrix-vector products,
#: which BLAS sums in blocks, and ``exp``, which NumPy evaluates with its own SIMD code), the
#: rest of the step (gradient, aggregates, fairness term, Adam) is compiled; bit-identical
#: to ``"numpy"`` (compiling the products and ``exp`` too would be about twice as fast
#: but only equal to rounding: BLAS sums in blocks, NumPy's SIMD ``exp`` differs from the
#: C library's in the last bit);
#: ``"numpy"`` -- the NumPy loop (:meth:`_SoftForest._learn_one_by_one_numpy`), the
#: reference.
_ENGINE = "auto"
_KERNELS = None
_LOGE2 = math.log(2.0)


def _numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    return True


def _slope(F, delta, smoothing):
    """``smoothed_abs_derivative`` of one value (smoothing 0: "huber", 1: "reference")."""
    if smoothing == 0:
        r = F / delta
        if r < -1.0:  # np.clip(F / delta, -1, 1)
            return -1.0
        if r > 1.0:
            return 1.0
        return r
    if abs(F) < delta:
        return F
    if F > 0:
        return 1.0
    if F < 0:
        return -1.0
    return F  # 0 or nan, as np.sign


def _row_logs(z, th2, logs, ein):
    """``logs = [log s, log(1 - s)]`` from ``z`` (``np.logaddexp(0, -z)``, which is the C
    library's ``log1p(exp(.))`` in NumPy too); ``ein`` gets ``log s`` at its start and
    ``theta - max(theta)`` at its end (the inputs of the row's ``exp``)."""
    TN = z.shape[0]
    for i in range(TN):
        a = -z[i]
        if a == 0.0:  # npy_logaddexp(0, a)
            la = 0.0 + _LOGE2
        else:
            tmp = 0.0 - a
            if tmp > 0:
                la = 0.0 + math.log1p(math.exp(-tmp))
            elif tmp <= 0:
                la = a + math.log1p(math.exp(tmp))
            else:
                la = tmp
        logs[i] = -la
        logs[TN + i] = logs[i] - z[i]
        ein[i] = logs[i]
    TL, C = th2.shape
    mx = th2[0, 0]
    for leaf in range(TL):
        for c in range(C):
            if th2[leaf, c] > mx:
                mx = th2[leaf, c]
    off = ein.shape[0] - TL * C
    for leaf in range(TL):
        for c in range(C):
            ein[off + leaf * C + c] = th2[leaf, c] - mx


def _row_softmax(Q, r8):
    """``Q /= Q.sum(axis=1, keepdims=True)`` with NumPy's pairwise order: left to right
    below 8 items, else 8 interleaved partial sums, combined pairwise, then the tail
    (NumPy's block for up to 128 items; C <= 128 here)."""
    TL, C = Q.shape
    for leaf in range(TL):
        if C < 8:
            tot = Q[leaf, 0]
            for c in range(1, C):
                tot += Q[leaf, c]
        else:
            for u in range(8):
                r8[u] = Q[leaf, u]
            c = 8
            while c < C - C % 8:
                for u in range(8):
                    r8[u] += Q[leaf, c + u]
                c += 8
            tot = ((r8[0] + r8[1]) + (r8[2] + r8[3])) + ((r8[4] + r8[5]) + (r8[6] + r8[7]))
            while c < C:
                tot += Q[leaf, c]
                c += 1
        for c in range(C):
            Q[leaf, c] = Q[leaf, c] / tot


def _row_output(Q, mu, proba, yk, Gmu):
    """Prediction (first largest ``proba``) and ``Gmu = dL/dmu * mu``; ``proba`` is ``T``
    times the forest's probability (the mean's ``1/T`` cancels in ``r``)."""
    best = 0
    for c in range(1, proba.shape[0]):
        if proba[c] > proba[best]:
            best = c
    r = -1.0 / proba[yk]
    for leaf in range(mu.shape[0]):
        Gmu[leaf] = (r * Q[leaf, yk]) * mu[leaf]
    return best


def _row_update(x, yk, g, t, s, back, Q, Gmu, params, grad, m, v, counts, agg_s, agg_g,
                conf, work, present, hpg):
    """The rest of a step: the gradient, the group aggregates with this row, the fairness
    term and the Adam step ``t`` on the flat ``params`` (as :class:`Adam`, bias
    corrections folded in). ``conf = [lam, delta, smoothing, n_strata, lr, b1, b2, eps]``;
    ``work`` is (4, T*N) scratch, ``present`` / ``hpg`` per-group scratch."""
    lam, delta, smoothing, n_strata = conf[0], conf[1], int(conf[2]), int(conf[3])
    lr, b1, b2, eps = conf[4], conf[5], conf[6], conf[7]
    TN = s.shape[0]
    d1 = x.shape[0]
    n_w = TN * d1
    TL, C = Q.shape
    W_grad = grad[:n_w].reshape(TN, d1)
    sp, dz, hp, pooled = work[0], work[1], work[2], work[3]
    for i in range(TN):
        sp[i] = s[i] * (1.0 - s[i])
        dz[i] = back[i] - s[i] * (back[i] + back[TN + i])
    for leaf in range(TL):
        for c in range(C):
            grad[n_w + leaf * C + c] = -(Q[leaf, c] * Gmu[leaf])
        grad[n_w + leaf * C + yk] += Gmu[leaf]
    cs = yk if n_strata > 1 else 0
    n_groups = counts.shape[1]
    two_groups = n_groups == 2
    counts[cs, g] += 1.0
    for i in range(TN):
        agg_s[cs, g, i] += s[i]
    pair = False
    i0 = i1 = 0.0
    if lam > 0 and two_groups:
        if counts[cs, 0] > 0 and counts[cs, 1] > 0:
            pair = True
            i0 = 1.0 / counts[cs, 0]
            i1 = 1.0 / counts[cs, 1]
            for i in range(TN):
                F = agg_s[cs, 1, i] * i1 - agg_s[cs, 0, i] * i0
                hp[i] = _slope(F, delta, smoothing) * lam
    for i in range(TN):
        dzi = dz[i]
        spi = sp[i]
        for j in range(d1):
            xj = x[j]
            agg_g[cs, g, i, j] += spi * xj
            gij = dzi * xj
            if pair:  # D = agg_1 / n_1 - agg_0 / n_0 scaled by lam * H'(F)
                dd = agg_g[cs, 1, i, j] * i1
                dd -= agg_g[cs, 0, i, j] * i0
                gij += dd * hp[i]
            W_grad[i, j] = gij
    if lam > 0 and not two_groups:
        # per group: gap to the pooled mean, lam * sum_p H'(F_p) (g_p - g_pooled)
        for cc in range(n_strata):
            n_p = 0
            total = 0.0
            for gg in range(n_groups):
                if counts[cc, gg] > 0:
                    present[n_p] = gg
                    n_p += 1
                    total += counts[cc, gg]
            if n_p < 2:
                continue
            for i in range(TN):
                acc = agg_s[cc, present[0], i]
                for p in range(1, n_p):
                    acc += agg_s[cc, present[p], i]
                pooled[i] = acc / total
            for p in range(n_p):
                gp = present[p]
                for i in range(TN):
                    F = agg_s[cc, gp, i] / counts[cc, gp] - pooled[i]
                    hpg[p, i] = _slope(F, delta, smoothing)
            for i in range(TN):
                for j in range(d1):
                    acc = agg_g[cc, present[0], i, j]
                    for p in range(1, n_p):
                        acc += agg_g[cc, present[p], i, j]
                    gpool = acc / total
                    e = 0.0
                    for p in range(n_p):
                        gp = present[p]
                        e += hpg[p, i] * (agg_g[cc, gp, i, j] / counts[cc, gp] - gpool)
                    W_grad[i, j] += lam * e
    # Adam: lr * m_hat / (sqrt(v_hat) + eps) == scale * m / (sqrt(v) + eps * c2)
    # b ** t as Python computes it, pow() of two doubles (numba's pow of a float and an
    # integer multiplies repeatedly, which rounds differently)
    tf = float(t)
    c2 = math.sqrt(1.0 - math.pow(b2, tf))
    scale = lr * c2 / (1.0 - math.pow(b1, tf))
    eps_t = eps * c2
    one_b1 = 1.0 - b1
    one_b2 = 1.0 - b2
    for u in range(params.shape[0]):
        gu = grad[u]
        mu_ = m[u] * b1
        mu_ += gu * one_b1
        m[u] = mu_
        vu = v[u] * b2
        vu += (gu * gu) * one_b2
        v[u] = vu
        params[u] -= (mu_ / (math.sqrt(vu) + eps_t)) * scale


def _compiled_kernels():
    """The row functions above compiled with numba (first use only; cached on disk where
    numba can): ``(logs, softmax, output, update)``."""
    global _KERNELS, _slope, _row_logs, _row_softmax, _row_output, _row_update
    if _KERNELS is None:
        from numba import njit

        def build(cache):
            # error_model="numpy": no zero-division checks (they keep loops from being
            # vectorised); results are the same
            jit = njit(cache=cache, error_model="numpy", nogil=True)
            return [jit(f) for f in (_slope, _row_logs, _row_softmax, _row_output,
                                     _row_update)]

        pure = (_slope, _row_logs, _row_softmax, _row_output, _row_update)
        try:
            # the compiled functions call each other through these module globals
            _slope, _row_logs, _row_softmax, _row_output, _row_update = build(True)
        except Exception:  # pragma: no cover - no writable cache location
            _slope, _row_logs, _row_softmax, _row_output, _row_update = pure
            _slope, _row_logs, _row_softmax, _row_output, _row_update = build(False)
        _KERNELS = (_row_logs, _row_softmax, _row_output, _row_update)
    return _KERNELS


class _SoftForest:
    """State and online step of the soft forest (mixed into the estimator)."""

    def _start(self, classes, n_features):
        """Initialise parameters, Adam moments and empty aggregates."""
        self._rng = check_random_state(self.random_state)
        self.classes_ = np.asarray(classes)
        T, h, C = self.n_trees, self.depth, len(self.classes_)
        n_nodes, n_leaves = 2**h - 1, 2**h
        self._n_nodes_total = T * n_nodes
        d1 = n_features + 1
        n_w, n_theta = T * n_nodes * d1, T * n_leaves * C
        self._n_w = n_w
        # One flat parameter vector so that Adam is a handful of vector operations.
        self._params = np.empty(n_w + n_theta)
        self._W = self._params[:n_w].reshape(T * n_nodes, d1)
        self._theta = self._params[n_w:].reshape(T, n_leaves, C)
        self._W[...] = self._rng.normal(size=self._W.shape)
        self._theta[...] = self._rng.uniform(size=self._theta.shape)
        self._grad = np.zeros_like(self._params)
        self._gW = self._grad[:n_w].reshape(self._W.shape)
        self._gtheta = self._grad[n_w:].reshape(self._theta.shape)
        # Kingma & Ba's defaults beta = (0.9, 0.999), eps = 1e-8
        self._opt = Adam(self.learning_rate)
        self._paths_block = None
        left, right = _tree_paths(h)
        self._paths_lr = np.vstack([left.T, right.T])  # (2N, L): log reach = [log s, log(1-s)] @
        self._paths_back = np.hstack([left, right])  # (L, 2N)
        self._n_strata = C if self.constraint == "equalized_odds" else 1
        self.groups_ = []
        self.group_counts_ = np.zeros((self._n_strata, 0))
        self._agg_s = np.zeros((self._n_strata, 0, T * n_nodes))
        self._agg_g = np.zeros((self._n_strata, 0, T * n_nodes, d1))
        if not (isinstance(self.groups, str) and self.groups == "auto"):
            declared = [g.item() if isinstance(g, np.generic) else g for g in self.groups]
            if len(declared) < 2:
                raise ValueError(f"groups={declared!r} must list at least 2 groups.")
            if any(same_label(g, h) for i, g in enumerate(declared) for h in declared[:i]):
                raise ValueError(f"groups={declared!r} contains duplicates.")
            for label in declared:
                self._add_group(label)
        self.n_seen_ = 0
        self.t_ = 0

    def __getstate__(self):
        state = self.__dict__.copy()
        for view in ("_W", "_theta", "_gW", "_gtheta"):
            state.pop(view, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_params" in state:
            T, C = self.n_trees, len(self.classes_)
            n_nodes, n_leaves = 2**self.depth - 1, 2**self.depth
            n_w = self._n_w
            self._W = self._params[:n_w].reshape(T * n_nodes, -1)
            self._theta = self._params[n_w:].reshape(T, n_leaves, C)
            self._gW = self._grad[:n_w].reshape(self._W.shape)
            self._gtheta = self._grad[n_w:].reshape(self._theta.shape)


    def _add_group(self, label):
        self.groups_.append(label)
        S = self._n_strata
        self.group_counts_ = np.concatenate([self.group_counts_, np.zeros((S, 1))], axis=1)
        self._agg_s = np.concatenate([self._agg_s, np.zeros((S, 1) + self._agg_s.shape[2:])], 1)
        self._agg_g = np.concatenate([self._agg_g, np.zeros((S, 1) + self._agg_g.shape[2:])], 1)

    @staticmethod
    def _augment(Xv):
        return np.hstack([Xv, np.ones((Xv.shape[0], 1))])


    # ------------------------------------------------------------------ model

    def _forward(self, Xa):
        """Return ``(proba, mu, s, Q)`` for augmented inputs ``Xa`` (bias column last)."""
        B = Xa.shape[0]
        T = self.n_trees
        z = Xa @ self._W.T  # (B, T*N)
        log_s = -np.logaddexp(0.0, -z)
        log_r = log_s - z  # log(1 - s) = log s - z
        s = np.exp(log_s)
        logs = np.concatenate(
            [log_s.reshape(B, T, -1), log_r.reshape(B, T, -1)], axis=2
        )  # (B, T, 2N)
        mu = np.exp(logs @ self._paths_lr).reshape(B, -1)  # (B, T*L)
        th = self._theta
        q = np.exp(th - th.max(axis=2, keepdims=True))
        q /= q.sum(axis=2, keepdims=True)
        Q = q.reshape(-1, th.shape[2])  # (T*L, C)
        proba = (mu @ Q) / T
        return proba, mu, s, Q

    def _gradient(self, Xa, ycode, gcode, proba, mu, s, Q):
        """Cross-entropy gradient of the batch plus the fairness term, into ``self._grad``.

        Also adds the batch to the group aggregates (before the fairness term is formed).
        """
        B = Xa.shape[0]
        T = self.n_trees
        C = Q.shape[1]
        # --- cross-entropy, averaged over the batch
        py = proba[np.arange(B), ycode]
        r = -1.0 / (T * B * py)  # dL/dp_y * (1/T)
        G = r[:, None] * Q[:, ycode].T  # (B, T*L): dL/dmu
        Gmu = (G * mu).reshape(B, T, -1)
        back = Gmu @ self._paths_back  # (B, T, 2N)
        n_nodes = back.shape[2] // 2
        s3 = s.reshape(B, T, -1)
        dz = ((1.0 - s3) * back[:, :, :n_nodes] - s3 * back[:, :, n_nodes:]).reshape(B, -1)
        np.matmul(dz.T, Xa, out=self._gW)
        Yoh = np.zeros((B, C))
        Yoh[np.arange(B), ycode] = 1.0
        U = (r[:, None] * mu).T @ Yoh  # (T*L, C)
        gth = Q * (U - np.sum(U * Q, axis=1, keepdims=True))
        self._gtheta[...] = gth.reshape(self._gtheta.shape)
        # --- group aggregates of s and of its gradient s(1-s)[x, 1]
        sp = s * (1.0 - s)
        strata = ycode if self._n_strata > 1 else np.zeros(B, dtype=np.intp)
        if B == 1:
            c, g = strata[0], gcode[0]
            self.group_counts_[c, g] += 1.0
            self._agg_s[c, g] += s[0]
            self._agg_g[c, g] += np.multiply.outer(sp[0], Xa[0])
        else:
            n_groups = len(self.groups_)
            cell = strata * n_groups + gcode
            for k in np.unique(cell):
                c, g = divmod(int(k), n_groups)
                m = cell == k
                self.group_counts_[c, g] += m.sum()
                self._agg_s[c, g] += s[m].sum(axis=0)
                self._agg_g[c, g] += sp[m].T @ Xa[m]
        # --- fairness term on node parameters
        if self.lam > 0:
            for c in range(self._n_strata):
                gaps, grads = self._stratum_gaps(c, with_grad=True)
                if gaps is None:
                    continue
                hp = smoothed_abs_derivative(gaps, self.delta, self.smoothing)  # (P, T*N)
                self._gW += self.lam * np.einsum("pi,pij->ij", hp, grads)

    def _stratum_gaps(self, c, with_grad=False):
        """Gaps ``F`` (terms x nodes) and their gradients for stratum ``c``, or None."""
        n = self.group_counts_[c]
        present = np.flatnonzero(n > 0)
        if len(present) < 2:
            return None, None
        if len(present) == 2 and len(self.groups_) == 2:
            g0, g1 = present
            gaps = (self._agg_s[c, g1] / n[g1] - self._agg_s[c, g0] / n[g0])[None]
            if not with_grad:
                return gaps, None
            grads = (self._agg_g[c, g1] / n[g1] - self._agg_g[c, g0] / n[g0])[None]
            return gaps, grads
        n_p = n[present]
        total = n_p.sum()
        means = self._agg_s[c, present] / n_p[:, None]
        pooled = self._agg_s[c, present].sum(axis=0) / total
        gaps = means - pooled
        if not with_grad:
            return gaps, None
        g_means = self._agg_g[c, present] / n_p[:, None, None]
        g_pooled = self._agg_g[c, present].sum(axis=0) / total
        return gaps, g_means - g_pooled

    def _adam(self):
        # learning_rate is read at every step, so set_params between partial_fit calls
        # takes effect on the next step
        opt = self._opt
        opt.lr = self.learning_rate
        opt.step([self._params], [self._grad])
        self.t_ = opt.t

    def _learn_one_by_one(self, Xa, ycode, gcode, preds):
        """Batch size 1 with the engine ``_ENGINE`` names (module constant above)."""
        engine = _ENGINE
        if engine == "auto":
            engine = "exact" if _numba_available() else "numpy"
        if engine != "numpy" and self._theta.shape[2] > 128:
            engine = "numpy"  # _row_softmax's sum order covers up to 128 classes
        if engine == "numpy":
            return self._learn_one_by_one_numpy(Xa, ycode, gcode, preds)
        opt = self._opt
        opt.lr = self.learning_rate
        m, v = opt._moments([self._params])
        conf = np.array([self.lam, self.delta, 1.0 if self.smoothing == "reference" else 0.0,
                         self._n_strata, opt.lr, opt.beta1, opt.beta2, opt.eps], dtype=float)
        n = Xa.shape[0]
        py = np.empty(n)  # T * p_y of each row
        Xa = np.ascontiguousarray(Xa, dtype=np.float64)
        ycode = np.ascontiguousarray(ycode, dtype=np.intp)
        gcode = np.ascontiguousarray(gcode, dtype=np.intp)
        self._learn_rows_exact(Xa, ycode, gcode, preds, py, m[0], v[0], conf, opt.t)
        opt.t += n
        self.t_ = opt.t
        # loss -= log(p_y / T) row after row, in the NumPy loop's order
        terms = np.log(py * (1.0 / self.n_trees))
        np.negative(terms, out=terms)
        loss = float(np.cumsum(terms)[-1]) if n else 0.0
        self._loss_sum = getattr(self, "_loss_sum", 0.0) + loss

    def _learn_rows_exact(self, Xa, ycode, gcode, preds, py, m, v, conf, t0):
        """Engine ``"exact"``: per row, NumPy's BLAS products and ``exp`` on the values of
        the NumPy loop, the compiled row functions for everything else."""
        row_logs, row_softmax, row_output, row_update = _compiled_kernels()
        W = self._W
        TN = W.shape[0]
        TL, C = self._theta.shape[0] * self._theta.shape[1], self._theta.shape[2]
        th2 = self._theta.reshape(TL, C)
        P = self._block_paths()
        logs = np.empty(2 * TN)
        z = np.empty(TN)
        ein = np.empty(TN + TL + TL * C)  # exp inputs: log s, log reach, theta - max
        eout = np.empty_like(ein)
        lp = ein[TN:TN + TL]
        s, mu, Q = eout[:TN], eout[TN:TN + TL], eout[TN + TL:].reshape(TL, C)
        proba = np.empty(C)
        Gmu = np.empty(TL)
        back = np.empty(2 * TN)
        work = np.empty((4, TN))
        present = np.empty(len(self.groups_), dtype=np.intp)
        hpg = np.empty((len(self.groups_), TN))
        r8 = np.empty(8)
        params, grad = self._params, self._grad
        counts, agg_s, agg_g = self.group_counts_, self._agg_s, self._agg_g
        for k in range(Xa.shape[0]):
            x = Xa[k]
            yk = ycode[k]
            np.matmul(W, x, out=z)
            row_logs(z, th2, logs, ein)
            np.matmul(logs, P, out=lp)
            np.exp(ein, out=eout)
            row_softmax(Q, r8)
            np.matmul(mu, Q, out=proba)
            best = row_output(Q, mu, proba, yk, Gmu)
            if preds is not None:
                preds[k] = best
            py[k] = proba[yk]
            np.matmul(P, Gmu, out=back)
            row_update(x, yk, gcode[k], t0 + k + 1, s, back, Q, Gmu, params, grad, m, v,
                       counts, agg_s, agg_g, conf, work, present, hpg)

    def _learn_one_by_one_numpy(self, Xa, ycode, gcode, preds):
        """Batch size 1: the same step as ``_forward`` + ``_gradient`` + ``_adam`` on 1-D
        vectors, with block-diagonal path matrices over all trees (no reshapes)."""
        W, theta, gW, gth = self._W, self._theta, self._gW, self._gtheta
        TL, C = theta.shape[0] * theta.shape[1], theta.shape[2]
        th2, gth2 = theta.reshape(TL, C), gth.reshape(TL, C)
        P = self._block_paths()
        TN = W.shape[0]
        counts, agg_s, agg_g = self.group_counts_, self._agg_s, self._agg_g
        two_groups = len(self.groups_) == 2
        eo = self._n_strata > 1
        lam = self.lam
        logs = np.empty(2 * TN)
        inv_T = 1.0 / self.n_trees
        loss = 0.0
        for k in range(Xa.shape[0]):
            x = Xa[k]
            yk = ycode[k]
            z = W @ x
            log_s = np.logaddexp(0.0, -z)
            np.negative(log_s, out=logs[:TN])
            np.subtract(logs[:TN], z, out=logs[TN:])
            s = np.exp(logs[:TN])
            mu = np.exp(logs @ P)  # (T*L,)
            Q = np.exp(th2 - th2.max())
            Q /= Q.sum(axis=1, keepdims=True)
            proba = mu @ Q
            if preds is not None:
                preds[k] = proba.argmax()
            loss -= np.log(proba[yk] * inv_T)
            r = -1.0 / proba[yk]  # the forest mean's 1/T cancels: proba here is T * p
            Gmu = (r * Q[:, yk]) * mu  # dL/dmu * mu, with p = proba / T
            back = P @ Gmu  # (2 T*N,)
            sp = s * (1.0 - s)
            dz = back[:TN] - s * (back[:TN] + back[TN:])
            np.multiply.outer(dz, x, out=gW)
            np.multiply(Q, Gmu[:, None], out=gth2)
            np.negative(gth2, out=gth2)
            gth2[:, yk] += Gmu
            c = yk if eo else 0
            g = gcode[k]
            counts[c, g] += 1.0
            agg_s[c, g] += s
            agg_g[c, g] += np.multiply.outer(sp, x)
            if lam > 0:
                n_c = counts[c]
                if two_groups:
                    if n_c[0] > 0 and n_c[1] > 0:
                        i0, i1 = 1.0 / n_c[0], 1.0 / n_c[1]
                        F = agg_s[c, 1] * i1 - agg_s[c, 0] * i0
                        hp = smoothed_abs_derivative(F, self.delta, self.smoothing)
                        hp *= lam
                        D = agg_g[c, 1] * i1
                        D -= agg_g[c, 0] * i0
                        D *= hp[:, None]
                        gW += D
                else:
                    for cc in range(self._n_strata):
                        gaps, grads = self._stratum_gaps(cc, with_grad=True)
                        if gaps is not None:
                            hp = smoothed_abs_derivative(gaps, self.delta, self.smoothing)
                            gW += lam * np.einsum("pi,pij->ij", hp, grads)
            self._adam()
        self._loss_sum = getattr(self, "_loss_sum", 0.0) + loss

    def _block_paths(self):
        """Path matrix of all trees at once (block diagonal, (2 T*N, T*L)): log reach =
        [log s, log(1-s)] @ P, and the backward pass is P @ (dL/dmu * mu)."""
        if getattr(self, "_paths_block", None) is None:
            T = self.n_trees
            N, L = self._paths_back.shape[1] // 2, self._paths_back.shape[0]
            left_t, right_t = self._paths_lr[:N], self._paths_lr[N:]  # (N, L)
            fwd = np.zeros((2 * T * N, T * L))
            for t in range(T):
                fwd[t * N : (t + 1) * N, t * L : (t + 1) * L] = left_t
                fwd[T * N + t * N : T * N + (t + 1) * N, t * L : (t + 1) * L] = right_t
            self._paths_block = fwd
        return self._paths_block

    def _learn(self, Xv, ycode, gcode, *, record, scaled=False):
        """Online steps over the rows in order; returns pre-update predictions if ``record``.

        ``Xv`` is standardised with ``fit``'s statistics unless ``scaled``. The summed
        pre-update cross-entropy of the rows is added to ``_loss_sum``."""
        Xa = self._augment(Xv if scaled else self._scaled(Xv))
        n = Xa.shape[0]
        bs = self.batch_size
        preds = np.empty(n, dtype=np.intp) if record else None
        if bs == 1:
            self._learn_one_by_one(Xa, ycode, gcode, preds)
            self.n_seen_ += n
            return preds
        for start in range(0, n, bs):
            stop = min(start + bs, n)
            xb = Xa[start:stop]
            yb = ycode[start:stop]
            proba, mu, s, Q = self._forward(xb)
            if record:
                preds[start:stop] = np.argmax(proba, axis=1)
            self._loss_sum = getattr(self, "_loss_sum", 0.0) - float(
                np.log(proba[np.arange(stop - start), yb]).sum())
            self._gradient(xb, yb, gcode[start:stop], proba, mu, s, Q)
            self._adam()
        self.n_seen_ += n
        return preds

