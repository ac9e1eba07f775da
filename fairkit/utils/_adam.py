"""One Adam optimiser shared by fairkit's gradient-trained models (the distance-covariance
MLP and the Aranyani forest), so both use the same update and the same pickled state."""

from __future__ import annotations

from numbers import Real

import numpy as np

__all__ = ["Adam"]


class Adam:
    """Adam (Kingma & Ba, 2015) updating NumPy parameter arrays in place.

    The update is Kingma & Ba's ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with
    ``m_hat = m / (1 - beta1**t)`` and ``v_hat = v / (1 - beta2**t)``. It is computed with
    the bias corrections folded into the step size and ``eps`` (algebraically the same, fewer
    vector operations, no temporary arrays after the first step).

    Parameters
    ----------
    lr : float
        Step size (> 0). It is a plain attribute: it may be changed between steps.
    beta1, beta2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates, in [0, 1).
    eps : float, default=1e-8
        Added to ``sqrt(v_hat)`` so that a zero gradient does not divide by zero.

    Attributes
    ----------
    t : int
        Number of steps taken.
    m, v : list of ndarray or None
        First and second moment estimates, one per parameter array; ``None`` before the
        first step (their shapes are taken from the first ``step`` call).

    Notes
    -----
    The optimiser holds only numbers and arrays, so it pickles with the model that owns it.
    The parameter arrays are not stored: ``step`` is given them every time, which keeps views
    (a flat vector reshaped per layer) valid after unpickling the owner.

    Examples
    --------
    Minimise ``(p - 3)**2`` from ``p = 0``:

    >>> import numpy as np
    >>> from fairkit.utils._adam import Adam
    >>> p = np.zeros(1)
    >>> opt = Adam(lr=0.1)
    >>> for _ in range(500):
    ...     opt.step([p], [2 * (p - 3)])
    >>> round(float(p[0]), 3), opt.t
    (3.0, 500)

    The first step moves every coordinate by ``lr`` in the direction opposite to the sign of
    its gradient (for ``|g|`` much larger than ``eps``):

    >>> p = np.array([1.0, 1.0]); opt = Adam(lr=0.5)
    >>> opt.step([p], [np.array([10.0, -1.0])])
    >>> p
    array([0.5, 1.5])
    """

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        for name, value in (("lr", lr), ("beta1", beta1), ("beta2", beta2), ("eps", eps)):
            if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
                raise ValueError(
                    f"Adam: {name} must be a finite real number; got {name}={value!r}.")
        if not lr > 0:
            raise ValueError(f"Adam: lr must be > 0; got lr={lr!r}.")
        if not 0 <= beta1 < 1:
            raise ValueError(f"Adam: beta1 must be in [0, 1); got beta1={beta1!r}.")
        if not 0 <= beta2 < 1:
            raise ValueError(f"Adam: beta2 must be in [0, 1); got beta2={beta2!r}.")
        if not eps >= 0:
            raise ValueError(f"Adam: eps must be >= 0; got eps={eps!r}.")
        self.lr = float(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.reset()

    def reset(self):
        """Forget the moments and the step count (a fresh start, same hyper-parameters)."""
        self.t = 0
        self.m = None
        self.v = None
        self._buf = None

    def step(self, params, grads):
        """Take one Adam step, updating each array of ``params`` in place.

        Parameters
        ----------
        params : list of ndarray
            Float arrays to update in place (views are fine; they must be writeable).
        grads : list of array-like
            Gradients, one per parameter array and of the same shape.
        """
        if len(params) != len(grads):
            raise ValueError(
                f"Adam.step: got {len(params)} parameter arrays but {len(grads)} gradients."
            )
        if self.m is None:
            self.m = [np.zeros(np.shape(p), dtype=float) for p in params]
            self.v = [np.zeros(np.shape(p), dtype=float) for p in params]
            self._buf = [np.empty(np.shape(p), dtype=float) for p in params]
        elif len(params) != len(self.m):
            raise ValueError(
                f"Adam.step: got {len(params)} parameter arrays but the optimiser was started "
                f"with {len(self.m)}; call reset() to optimise different parameters."
            )
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            if not isinstance(p, np.ndarray) or p.shape != self.m[i].shape:
                raise ValueError(
                    f"Adam.step: parameter {i} must be an ndarray of shape {self.m[i].shape}; "
                    f"got {type(p).__name__} of shape {np.shape(p)}."
                )
            if np.shape(g) != p.shape:
                raise ValueError(
                    f"Adam.step: gradient {i} has shape {np.shape(g)} but its parameter has "
                    f"shape {p.shape}."
                )
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # lr * m_hat / (sqrt(v_hat) + eps) == lr * c2 / c1 * m / (sqrt(v) + eps * c2)
        # with c1 = 1 - b1**t, c2 = sqrt(1 - b2**t).
        c2 = np.sqrt(1.0 - b2**self.t)
        scale = self.lr * c2 / (1.0 - b1**self.t)
        eps = self.eps * c2
        for p, g, m, v, buf in zip(params, grads, self.m, self.v, self._buf, strict=True):
            g = np.asarray(g, dtype=float)
            m *= b1
            np.multiply(g, 1.0 - b1, out=buf)
            m += buf
            v *= b2
            np.multiply(g, g, out=buf)
            buf *= 1.0 - b2
            v += buf
            np.sqrt(v, out=buf)
            buf += eps
            np.divide(m, buf, out=buf)
            buf *= scale
            p -= buf

    def _moments(self, params):
        """The moment arrays ``(m, v)`` for ``params``, created (zero) as the first ``step``
        creates them; for loops that take Adam steps themselves (the compiled Aranyani
        loop), which then add their step count to ``t``."""
        if self.m is None:
            self.m = [np.zeros(np.shape(p), dtype=float) for p in params]
            self.v = [np.zeros(np.shape(p), dtype=float) for p in params]
            self._buf = [np.empty(np.shape(p), dtype=float) for p in params]
        if len(params) != len(self.m) or any(
                np.shape(p) != m.shape for p, m in zip(params, self.m, strict=False)):
            raise ValueError(
                "Adam: the parameter arrays differ from those the optimiser was started "
                "with; call reset() to optimise different parameters.")
        return self.m, self.v

    def __getstate__(self):
        # The scratch buffer is rebuilt on load; no need to pickle it.
        state = self.__dict__.copy()
        state["_buf"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.m is not None:
            self._buf = [np.empty_like(m) for m in self.m]

    def __repr__(self):
        return (
            f"Adam(lr={self.lr!r}, beta1={self.beta1!r}, beta2={self.beta2!r}, "
            f"eps={self.eps!r}, t={self.t})"
        )
