"""Solvers of :class:`fairkit.inprocessing.SEPConstrainedClassifier`'s convex program.

The program (weighted logistic or hinge loss + L2 under one linear constraint
``|a @ w| <= epsilon``) is solved exactly on the constraint's active face by Newton's
method, with scipy's L-BFGS as its fallback (logistic loss), or with cvxpy and a conic
solver; a stratified subsample keeps very large problems within reach of an
interior-point solver. A :class:`_Program` is built once per fit and solved for as many
values of ``epsilon`` as the fit needs: the rate-unit bound (:func:`search_rate_bound`)
solves it up to 14 times, the face solves warm-started.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy.linalg.blas import dsyrk
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.utils import check_random_state

# cvxpy solver names, in the order "auto" tries them. OSQP solves QPs only (hinge loss);
# the logistic loss needs the exponential cone (Clarabel, ECOS, SCS).
_CONIC = {"clarabel": "CLARABEL", "ecos": "ECOS", "scs": "SCS", "osqp": "OSQP"}
_AUTO_ORDER = {
    # L-BFGS first: exact, and 50-150x faster than an interior-point method here (one
    # exponential cone per sample); the conic solvers are its fallbacks.
    "logistic": ["lbfgs", "clarabel", "ecos", "scs"],
    # OSQP last: a first-order QP method, it needs far more iterations for 1e-6 accuracy
    "hinge": ["clarabel", "ecos", "scs", "osqp"],
}
_ITER_OPTION = {"CLARABEL": "max_iter", "ECOS": "max_iters", "SCS": "max_iters", "OSQP": "max_iter"}
_ACCURACY = {
    "SCS": {"eps_abs": 1e-6, "eps_rel": 1e-6},
    "OSQP": {"eps_abs": 1e-6, "eps_rel": 1e-6, "polishing": True, "max_iter": 200_000},
}
#: Most solves of the search on the score bound in rate mode (after the unconstrained one).
RATE_STEPS = 12
#: The search stops once the achieved rate gap is this close below the bound.
RATE_TOL = 1e-3
#: Round-off allowed on a rate gap (a sum of weights that should cancel exactly).
_GAP_SLACK = 1e-12
#: Newton's method stops at this max-norm of the projected gradient (L-BFGS: 1e-8).
_NEWTON_GTOL = 1e-11
#: Most Newton steps per solve before falling back to L-BFGS.
_NEWTON_MAXITER = 100
#: A Hessian is reused while each step cuts the projected gradient at least this much.
_NEWTON_RATE = 0.1
#: Newton's method gives way to L-BFGS when the Cholesky factor's diagonal spans more than
#: this ratio (condition number above its inverse square).
_NEWTON_COND = 1e-7
#: Rows per block when the Hessian's Gram matrix is accumulated.
_GRAM_BLOCK = 4096


class _SolverFailure(Exception):
    def __init__(self, solver, status, detail=""):
        super().__init__(f"{solver}: {status}")
        self.solver, self.status, self.detail = solver, status, detail


class Solution(NamedTuple):
    w: np.ndarray
    b: float
    dual: float  # multiplier of the bound, 0 when inactive
    epsilon: float  # the score bound it was solved under (inf: none)


def _wmean(values, weights, mask):
    return weights[mask] @ values[mask] / weights[mask].sum()


class _Program:
    """The program on one training set, solvable for any score bound ``epsilon``.

    ``steps`` lists the solvers to try in order; a failing solver is reported with a
    warning and the next one is used from then on (for this and later solves).
    """

    def __init__(self, est, Xs, yb, sw, a, target, reference, steps):
        self.est, self.Xs, self.yb, self.sw, self.a = est, Xs, yb, sw, a
        self.strata = (target, reference)
        self.steps = steps
        self.k = 0
        self.failures = []
        self.n_solves = 0
        self.n_iter = 0
        self.status = None
        self._lbfgs = None
        self._cvxpy = None

    @property
    def solver(self):
        return self.steps[self.k]

    @property
    def rows(self):
        return len(self.yb) if self._cvxpy is None or self.solver == "lbfgs" else self._cvxpy.m

    def _backend(self, name):
        est = self.est
        if name == "lbfgs":
            if self._lbfgs is None:
                self._lbfgs = _Lbfgs(self.Xs, self.yb, self.sw, self.a, est.C,
                                     est.fit_intercept, est.max_iter)
            return self._lbfgs
        if self._cvxpy is None:
            self._cvxpy = _Cvxpy(est, self.Xs, self.yb, self.sw, self.a, *self.strata)
        return self._cvxpy

    def solve(self, eps):
        """Optimum under ``|a @ w| <= eps`` (``eps`` in score units, ``inf`` for none)."""
        while True:
            name = self.solver
            try:
                w, b, dual, status, iters = self._backend(name).solve(eps, name)
            except _SolverFailure as failure:
                self.failures.append(failure)
                if self.k == len(self.steps) - 1:
                    detail = "; ".join(
                        f"{f.solver} returned status {f.status!r}{f.detail}" for f in self.failures
                    )
                    raise RuntimeError(
                        f"SEPConstrainedClassifier could not be fitted: {detail}. No model "
                        "was stored. Raise max_iter, rescale the features, or try another "
                        "solver."
                    ) from None
                warnings.warn(
                    f"solver {failure.solver} failed with status {failure.status!r}; trying "
                    "the next installed solver.",
                    UserWarning,
                    stacklevel=4,
                )
                self.k += 1
                continue
            self.n_solves += 1
            self.n_iter += int(iters)
            self.status = status
            return Solution(w, b, dual, float(eps))


def make_program(est, Xs, yb, sw, a, target, reference):
    """The :class:`_Program` for the solver ``est.solver`` asks for (fallbacks included)."""
    solver, loss = est.solver, est.loss
    if solver == "lbfgs" and loss != "logistic":
        raise ValueError(
            "solver='lbfgs' needs a smooth loss; it supports loss='logistic' only. Use "
            "solver='auto', 'clarabel', 'osqp' or 'scs' for the hinge loss."
        )
    if solver == "osqp" and loss == "logistic":
        raise ValueError(
            "solver='osqp' solves quadratic programs only and cannot handle the "
            "logistic loss (exponential cone); use 'clarabel', 'scs', 'ecos' or 'lbfgs'."
        )
    if solver == "lbfgs":
        steps = ["lbfgs"]
    else:
        import cvxpy as cp  # lazy: keeps `import fairkit` fast

        installed = set(cp.installed_solvers())
        if solver == "auto":
            steps = [s for s in _AUTO_ORDER[loss] if s == "lbfgs" or _CONIC[s] in installed]
            if not steps:
                raise RuntimeError(
                    f"No cvxpy solver for the {loss} loss is installed (tried "
                    f"{_AUTO_ORDER[loss]}); install clarabel, or use solver='lbfgs'."
                )
        else:
            if _CONIC[solver] not in installed:
                raise ValueError(
                    f"solver={solver!r} is not installed; installed cvxpy solvers: "
                    f"{sorted(installed)}."
                )
            steps = [solver]
    return _Program(est, Xs, yb, sw, a, target, reference, steps)


def search_rate_bound(program, bound, measure):
    """The least-constrained non-constant solution whose training rate gap is at most
    ``bound``.

    ``measure(solution)`` returns the signed rate gap of its hard predictions and whether
    they are all one class (a constant predictor has no gap: it would meet any bound
    trivially, so it never counts as meeting one). The unconstrained optimum is returned
    when it meets the bound. Otherwise the score bound ``t`` is searched on ``[0, T]``,
    ``T`` the unconstrained score gap, keeping a bracket ``lo`` < ``hi``: the solution at
    ``hi`` exceeds the bound, the one at ``lo`` meets it or is constant (then the answer
    lies above ``lo``). The next ``t`` interpolates the rate gap linearly in the bracket
    (it is close to linear in ``t``; ``|gap(0)|`` is taken as 0 until measured), with the
    Illinois correction when one end is kept twice, and stays 5% inside the bracket. The
    search stops once a solution meets the bound within ``RATE_TOL``, once the bracket is
    narrower than ``T / 1024``, or after ``RATE_STEPS`` solves. ``t = 0`` is solved only
    if no ``t > 0`` met the bound.

    Returns ``(solution, met)``: the solution at the largest ``t`` that met the bound, or,
    when none did (the bound is out of reach, or only a constant predictor meets it), the
    non-constant solution with the smallest ``|gap|`` (the largest ``t`` among equals) and
    ``met=False``.
    """
    bound = bound + _GAP_SLACK
    free = program.solve(np.inf)
    gap, constant = measure(free)
    if abs(gap) <= bound:
        return free, True
    top = float(abs(program.a @ free.w))
    if top == 0.0:  # the score gap is nil already: no bound on it changes the model
        return free, False
    tried = [(abs(gap), -np.inf, free)]  # non-constant solutions: (|gap|, -t, solution)
    lo, hi = 0.0, top
    f_lo, f_hi = -bound, abs(gap) - bound  # |gap| - bound at the ends (f_lo assumed)
    best, kept = None, 0
    for _ in range(RATE_STEPS):
        if hi - lo <= top / 1024:
            break
        frac = -f_lo / (f_hi - f_lo) if f_hi > f_lo else 0.5
        t = lo + (hi - lo) * min(max(frac, 0.05), 0.95)
        sol = program.solve(t)
        gap, constant = measure(sol)
        f = abs(gap) - bound
        if not constant:
            tried.append((abs(gap), -t, sol))
        if f <= 0:  # meets the bound, or constant: the answer is at t or above
            lo, f_lo = t, f
            if not constant:
                best = sol
                if -f <= RATE_TOL:
                    break
            f_hi = f_hi / 2 if kept == 1 else f_hi  # lo moved twice: Illinois step
            kept = 1
        else:
            hi, f_hi = t, f
            f_lo = f_lo / 2 if kept == -1 else f_lo
            kept = -1
    if best is not None:
        return best, True
    sol = program.solve(0.0)
    gap, constant = measure(sol)
    if not constant:
        if abs(gap) <= bound:
            return sol, True
        tried.append((abs(gap), -0.0, sol))
    return min(tried, key=lambda item: item[:2])[2], False


class _Lbfgs:
    r"""Exact solution of the logistic program: Newton's method, with L-BFGS as fallback.

    The feasible set is the slab :math:`|a^\top w| \le \epsilon` and the objective is
    strictly convex in :math:`w`. If the unconstrained minimiser lies in the slab it is the
    answer; otherwise the optimum lies on the face :math:`a^\top w = t` with
    :math:`t = \epsilon\,\mathrm{sign}(a^\top w_0)` (the face on the minimiser's side).
    On that face :math:`w = t a / \lVert a\rVert^2 + P u` with :math:`P` the projection
    onto :math:`a^\perp`, an unconstrained smooth problem in :math:`u`.
    The multiplier is :math:`\lambda = -a^\top \nabla_w F / \lVert a \rVert^2`.

    Both solvers work in the coordinates of the weighted standardised columns
    (``v = sd * w``; with an intercept also centred, ``c = b + mean @ w``), the same program
    reparametrised: one-hot columns of rare categories otherwise make it ill-conditioned.

    Newton's method (the default) takes the step :math:`\Delta` solving
    :math:`(P H P + q q^\top)\,\Delta = -P g`, with :math:`H` the Hessian
    :math:`Z^\top D Z + \mathrm{diag}(\rho)` (bordered by the intercept),
    :math:`D = \mathrm{diag}(w_i\,p_i (1 - p_i))`, :math:`q = a / \lVert a \rVert` and
    :math:`P = I - q q^\top` (:math:`P = I` without a bound): the term :math:`q q^\top` makes
    the system positive definite without moving the step off the face. Backtracking
    (Armijo) guards the step; the iterate is projected back onto the face each step. The
    objective is smooth and strictly convex and the Hessian only :math:`(d+1) \times
    (d+1)`: a few dozen gradients and a few Hessians per fit (quadratic convergence; a
    Hessian is reused while it still cuts the gradient tenfold per step) instead of
    hundreds of L-BFGS gradients, to a projected gradient of ``_NEWTON_GTOL`` (L-BFGS
    stops at ``gtol=1e-8``). When the
    Cholesky factorisation fails, the system is ill-conditioned, or the steps stall above
    L-BFGS's tolerance or reach ``max_iter``, the solve falls back to L-BFGS from the same
    start (``newton=False`` uses L-BFGS only); ``max_iter`` bounds both.

    The unconstrained optimum is computed once; each face solve starts from the last
    solution projected onto the new face, with the last factorised Hessian.
    """

    #: Newton's method on the face (else L-BFGS only, the reference path).
    newton = True

    def __init__(self, X, yb, sw, a, C, fit_intercept, max_iter):
        S = sw.sum()
        self.weights = weights = sw / S
        self.mu = weights @ X if fit_intercept else np.zeros(X.shape[1])
        sd = np.sqrt(weights @ (X - self.mu) ** 2)
        self.sd = np.where(sd > 0, sd, 1.0)
        self.Z = (X - self.mu) / self.sd
        self.yb = yb
        self.a = a / self.sd  # a @ w == self.a @ v
        self.ridge = 1.0 / (C * S) / self.sd**2  # ||w||^2 / (2 C S) in v
        self.fit_intercept = fit_intercept
        self.maxiter = max_iter or 5000
        self.aa = float(self.a @ self.a)
        self.free = None  # theta = (v, c) of the unconstrained optimum
        self.last = None  # theta of the last face solve
        self._face_factor = None  # Newton: the last factorised system on the face

    def grad(self, theta):
        Z, yb, d = self.Z, self.yb, self.Z.shape[1]
        v, c = theta[:d], theta[d] if self.fit_intercept else 0.0
        m = yb * (Z @ v + c)
        dz = -yb * expit(-m) * self.weights
        f = self.weights @ np.logaddexp(0.0, -m) + 0.5 * (self.ridge * v) @ v
        g = np.empty(d + 1)
        g[:d] = Z.T @ dz + self.ridge * v
        g[d] = dz.sum() if self.fit_intercept else 0.0
        return f, g

    def _on_face(self, t):
        a, aa, d = self.a, self.aa, self.Z.shape[1]
        offset = t * a / aa

        def objective(theta):  # theta = (u, c); v = offset + P u
            u = theta[:d]
            v = offset + u - a * (a @ u) / aa
            f, g = self.grad(np.r_[v, theta[d]])
            g[:d] -= a * (a @ g[:d]) / aa
            return f, g

        return objective

    def _run(self, objective, start):
        res = minimize(
            objective, start, jac=True, method="L-BFGS-B",
            options={"maxiter": self.maxiter, "gtol": 1e-8,
                     "ftol": 64 * np.finfo(float).eps, "maxcor": 20},
        )
        if res.nit >= self.maxiter:
            raise _SolverFailure(
                "lbfgs", "max_iter", f" ({res.message}) after {res.nit} iterations"
            )
        return res.x, res.nit

    # ---- Newton ------------------------------------------------------------------------

    def _state(self, theta):
        """Objective, gradient and curvature weights at ``theta`` (one pass over Z)."""
        Z, yb, d = self.Z, self.yb, self.Z.shape[1]
        v, c = theta[:d], theta[d] if self.fit_intercept else 0.0
        m = yb * (Z @ v + c)
        p = expit(-m)
        dz = -yb * p * self.weights
        f = self.weights @ np.logaddexp(0.0, -m) + 0.5 * (self.ridge * v) @ v
        g = np.empty(d + 1)
        g[:d] = Z.T @ dz + self.ridge * v
        g[d] = dz.sum() if self.fit_intercept else 0.0
        return f, g, self.weights * p * (1.0 - p)

    def _factor(self, dz2, q):
        """Cholesky factor of the Newton system for curvature weights ``dz2``: the
        Hessian in theta = (v, c), projected as ``P H P + q q^T`` when ``q`` is given.
        ``None`` when it is not numerically positive definite."""
        from scipy.linalg import LinAlgError, cho_factor

        Z = self.Z
        n, d = Z.shape
        root = np.sqrt(dz2)
        # Z^T D Z by row blocks (a block-sized scratch, not a copy of Z): one triangle per
        # block (BLAS syrk on the transposed, Fortran-ordered view), mirrored at the end
        G = np.zeros((d, d), order="F")
        for lo in range(0, n, _GRAM_BLOCK):
            Zw = Z[lo : lo + _GRAM_BLOCK] * root[lo : lo + _GRAM_BLOCK, None]
            G = dsyrk(1.0, Zw.T, beta=1.0, c=G, trans=0, lower=0, overwrite_c=1)
        H = np.empty((d + 1, d + 1))
        H[:d, :d] = np.triu(G) + np.triu(G, 1).T
        H[np.arange(d), np.arange(d)] += self.ridge
        if self.fit_intercept:
            H[:d, d] = H[d, :d] = self.Z.T @ dz2
            H[d, d] = dz2.sum()
        else:  # c stays 0: a unit pivot, and a zero gradient entry
            H[:d, d] = H[d, :d] = 0.0
            H[d, d] = 1.0
        if q is not None:
            Hq = H @ q
            H += (q @ Hq + 1.0) * np.outer(q, q) - np.outer(q, Hq) - np.outer(Hq, q)
        try:
            factor = cho_factor(H, check_finite=True)
        except (LinAlgError, ValueError):
            return None
        diag = np.abs(np.diag(factor[0]))
        if diag.min() <= _NEWTON_COND * diag.max():  # ill-conditioned: leave it to L-BFGS
            return None
        return factor

    def _newton(self, theta, t):
        """Minimise from feasible ``theta`` (on the face ``a @ v = t``; ``t=None``: no
        face). Returns ``(theta, steps)``, or ``None`` when Newton's method cannot finish
        (the caller falls back to L-BFGS).

        The factorised Hessian is reused while it keeps cutting the projected gradient by
        ``_NEWTON_RATE`` or more per step (it is refreshed otherwise, and whenever a step
        made with an older Hessian fails the line search); on the face it is kept from one
        solve to the next (the projection is the same for every bound).
        """
        from scipy.linalg import cho_solve

        d = self.Z.shape[1]
        q = None
        if t is not None:
            q = np.zeros(d + 1)
            q[:d] = self.a / np.sqrt(self.aa)

        def project(vec):
            return vec if q is None else vec - q * (q @ vec)

        factor = None if q is None else self._face_factor
        fresh = False  # factor computed at the current theta
        f, g, dz2 = self._state(theta)
        g = project(g)
        gmax = np.max(np.abs(g))
        steps = 0
        while steps < min(_NEWTON_MAXITER, self.maxiter):
            if gmax <= _NEWTON_GTOL:
                break
            if factor is None:
                factor, fresh = self._factor(dz2, q), True
                if factor is None:
                    return None
            step = project(-cho_solve(factor, g))
            slope = g @ step
            if not slope < 0:
                if fresh:
                    return None
                factor = None
                continue
            alpha = 1.0
            while True:
                trial = theta + alpha * step
                if q is not None:  # back onto the face (round-off drift)
                    trial[:d] -= self.a * (self.a @ trial[:d] - t) / self.aa
                f_new, g_new, dz2_new = self._state(trial)
                g_new = project(g_new)
                g_new_max = np.max(np.abs(g_new))
                accepted = f_new <= f + 1e-4 * alpha * slope or (
                    # at the optimum to round-off, f no longer resolves the progress
                    abs(f_new - f) <= 8 * np.finfo(float).eps * abs(f) and g_new_max < gmax
                )
                if accepted or not fresh:  # an older Hessian: refresh it, then backtrack
                    break
                if alpha < 1e-10:
                    return (theta, steps) if gmax <= 1e-8 else None
                alpha /= 2
            if not accepted:
                factor = None
                continue
            steps += 1
            if not fresh and g_new_max > _NEWTON_RATE * gmax:
                factor = None  # slow progress: a new Hessian at the new point
            theta, f, g, dz2, gmax, fresh = trial, f_new, g_new, dz2_new, g_new_max, False
        else:
            return None
        if q is not None:
            self._face_factor = factor
        return theta, steps

    def _minimise(self, t, start):
        """Optimum from ``start`` (free when ``t`` is None, else on the face): Newton's
        method, else L-BFGS."""
        if self.newton:
            found = self._newton(start.copy(), t)
            if found is not None:
                return found
        if t is None:
            return self._run(self.grad, start)
        a, aa, d = self.a, self.aa, self.Z.shape[1]
        theta, nit = self._run(self._on_face(t), start)
        v = t * a / aa + theta[:d] - a * (a @ theta[:d]) / aa
        return np.r_[v, theta[d]], nit

    def _result(self, theta, dual, iters):
        d = self.Z.shape[1]
        w = theta[:d] / self.sd
        b = float(theta[d] - self.mu @ w) if self.fit_intercept else 0.0
        return w, b, dual, "optimal", iters

    def solve(self, eps, _name="lbfgs"):
        a, aa, d = self.a, self.aa, self.Z.shape[1]
        iters = 0
        if self.free is None:
            self.free, iters = self._minimise(None, np.zeros(d + 1))
        theta0 = self.free
        h0 = a @ theta0[:d]
        if np.isinf(eps) or abs(h0) <= eps or aa == 0:
            return self._result(theta0, 0.0, iters)
        t = float(np.sign(h0) * eps)
        start = theta0 if self.last is None else self.last
        # the last solution projected onto the new face: a warm start
        u = start[:d] - a * (a @ start[:d] - t) / aa
        self.last, nit = self._minimise(t, np.r_[u, start[d]])
        _, g = self.grad(self.last)
        return self._result(self.last, float(-(a @ g[:d]) / aa), iters + nit)


class _Cvxpy:
    """The program as a cvxpy problem (the objective built once; the bound a constant, as a
    cvxpy parameter changes the canonical form and, with it, Clarabel's accuracy)."""

    def __init__(self, est, X, yb, sw, a, target, reference):
        import cvxpy as cp

        n, d = X.shape
        rows = np.arange(n)
        if n * d > est.max_problem_size:
            m = max(est.max_problem_size // d, 2)
            rows = _stratified_subsample(
                np.c_[yb, target, reference], m, check_random_state(est.random_state)
            )
            warnings.warn(
                f"n_samples * n_features = {n * d} exceeds max_problem_size="
                f"{est.max_problem_size}: the cvxpy solver sees a stratified random "
                f"subsample of {len(rows)} of {n} rows (raise max_problem_size, or use "
                "solver='lbfgs' with the logistic loss, to use all rows).",
                UserWarning,
                stacklevel=5,
            )
        X, yb, sw = X[rows], yb[rows], sw[rows]
        self.cp, self.m, self.max_iter = cp, len(rows), est.max_iter
        S = sw.sum()
        self.w = cp.Variable(d)
        self.b = cp.Variable() if est.fit_intercept else None
        margin = cp.multiply(yb, X @ self.w + (0.0 if self.b is None else self.b))
        per_sample = cp.logistic(-margin) if est.loss == "logistic" else cp.pos(1 - margin)
        # scaled by 1 / (C * sum(sw)): mean loss + ||w||^2 / (2 C S)
        self.objective = cp.Minimize(
            (sw / S) @ per_sample + cp.sum_squares(self.w) / (2 * est.C * S)
        )
        self.a = a

    def solve(self, eps, name):
        cp, solver = self.cp, _CONIC[name]
        unbounded = np.isinf(eps)
        gap = self.a @ self.w
        constraints = [] if unbounded else [gap <= eps, -gap <= eps]
        problem = cp.Problem(self.objective, constraints)
        options = dict(_ACCURACY.get(solver, {}))
        if self.max_iter is not None:
            options[_ITER_OPTION[solver]] = self.max_iter
        try:
            problem.solve(solver=solver, **options)
        except cp.error.SolverError as err:
            raise _SolverFailure(solver, f"solver_error ({err})") from None
        status = problem.status
        # "optimal_inaccurate" is a failure too: solvers stopped at their iteration limit
        # report it (SCS), with a point that may be far from the optimum.
        if status != "optimal" or self.w.value is None:
            raise _SolverFailure(solver, status)
        c = constraints
        dual = 0.0 if unbounded else float(c[0].dual_value - c[1].dual_value)
        b = 0.0 if self.b is None else float(self.b.value)
        iters = problem.solver_stats.num_iters or 0
        return np.asarray(self.w.value, dtype=float).copy(), b, dual, status, iters


def _stratified_subsample(strata, size, rng):
    """Row indices of exactly ``size`` rows (``size >= number of strata``), each stratum
    (distinct row of ``strata``) kept in proportion, rounded by largest remainder, at least
    one row per stratum."""
    _, codes = np.unique(strata, axis=0, return_inverse=True)
    codes = codes.ravel()
    counts = np.bincount(codes)
    quota = counts * size / len(codes)
    take = np.maximum(np.floor(quota).astype(int), 1)
    short = size - take.sum()
    if short > 0:
        order = np.argsort(-(quota - np.floor(quota)), kind="stable")
        room = order[take[order] < counts[order]][:short]
        take[room] += 1
    chosen = [
        rng.choice(np.flatnonzero(codes == c), size=min(k, counts[c]), replace=False)
        for c, k in enumerate(take)
    ]
    return np.sort(np.concatenate(chosen))
