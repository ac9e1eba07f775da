"""The forest math of :class:`fairkit.inprocessing.AranyaniClassifier`.

A forest of complete soft oblique trees, its forward pass, the cross-entropy gradient, the
per-group aggregates of the node routing probabilities and of their gradients, the
fairness gradient built from them, and the Adam step; all on one flat parameter vector.
:class:`_SoftForest` holds the state; the estimator adds input checking and the public API.
"""

from __future__ import annotations

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

