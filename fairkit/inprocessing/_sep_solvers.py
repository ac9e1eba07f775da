"""Solvers of :class:`fairkit.inprocessing.SEPConstrainedClassifier`'s convex program.

The program (weighted logistic or hinge loss + L2 under one linear constraint
``|a @ w| <= epsilon``) is solved with cvxpy and a conic solver, or exactly with scipy's
L-BFGS on the constraint's active face; a stratified subsample keeps very large problems
within reach of an interior-point solver.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.utils import check_random_state

# cvxpy solver names, in the order "auto" tries them. OSQP solves QPs only (hinge loss);
# the logistic loss needs the exponential cone (Clarabel, ECOS, SCS).
_CONIC = {"clarabel": "CLARABEL", "ecos": "ECOS", "scs": "SCS", "osqp": "OSQP"}
_AUTO_ORDER = {
    "logistic": ["clarabel", "ecos", "scs"],
    # OSQP last: a first-order QP method, it needs far more iterations for 1e-6 accuracy
    "hinge": ["clarabel", "ecos", "scs", "osqp"],
}
_ITER_OPTION = {"CLARABEL": "max_iter", "ECOS": "max_iters", "SCS": "max_iters", "OSQP": "max_iter"}
_ACCURACY = {
    "SCS": {"eps_abs": 1e-6, "eps_rel": 1e-6},
    "OSQP": {"eps_abs": 1e-6, "eps_rel": 1e-6, "polishing": True, "max_iter": 200_000},
}


class _SolverFailure(Exception):
    def __init__(self, solver, status):
        super().__init__(f"{solver}: {status}")
        self.solver, self.status = solver, status

def solve(est, Xs, yb, sw, a, target, reference):
    """Solve the program with the solver ``est.solver`` asks for (fallbacks and the
    large-problem switch included); return ``(w, b, dual, solver, status, rows, iters)``."""
    n, d = Xs.shape
    eps = float(est.epsilon)
    too_big = n * d > est.max_problem_size
    solver = est.solver
    if solver == "lbfgs" and est.loss != "logistic":
        raise ValueError(
            "solver='lbfgs' needs a smooth loss; it supports loss='logistic' only. Use "
            "solver='auto', 'clarabel', 'osqp' or 'scs' for the hinge loss."
        )
    if solver == "osqp" and est.loss == "logistic":
        raise ValueError(
            "solver='osqp' solves quadratic programs only and cannot handle the "
            "logistic loss (exponential cone); use 'clarabel', 'scs', 'ecos' or 'lbfgs'."
        )
    if solver == "auto" and too_big and est.loss == "logistic":
        warnings.warn(
            f"n_samples * n_features = {n * d} exceeds max_problem_size="
            f"{est.max_problem_size}: solving with the first-order L-BFGS method "
            "(solver='lbfgs') on the full data instead of an interior-point solver.",
            UserWarning,
            stacklevel=3,
        )
        solver = "lbfgs"
    if solver == "lbfgs":
        w, b, dual, status, iters = _solve_lbfgs(
            Xs, yb, sw, a, eps, est.C, est.fit_intercept, est.max_iter
        )
        return w, b, dual, "lbfgs", status, n, iters
    rows = np.arange(n)
    if too_big:
        m = max(est.max_problem_size // d, 2)
        rows = _stratified_subsample(
            np.c_[yb, target, reference], m, check_random_state(est.random_state)
        )
        warnings.warn(
            f"n_samples * n_features = {n * d} exceeds max_problem_size="
            f"{est.max_problem_size}: the {solver!r} solver sees a stratified random "
            f"subsample of {len(rows)} of {n} rows (raise max_problem_size, or use "
            "solver='lbfgs' with the logistic loss, to use all rows).",
            UserWarning,
            stacklevel=3,
        )
    import cvxpy as cp  # lazy: keeps `import fairkit` fast

    installed = set(cp.installed_solvers())
    if solver == "auto":
        candidates = [s for s in _AUTO_ORDER[est.loss] if _CONIC[s] in installed]
    else:
        if _CONIC[solver] not in installed:
            raise ValueError(
                f"solver={solver!r} is not installed; installed cvxpy solvers: "
                f"{sorted(installed)}."
            )
        candidates = [solver]
    failures = []
    for name in candidates:
        try:
            w, b, dual, status, iters = _solve_cvxpy(
                cp, Xs[rows], yb[rows], sw[rows], a, eps, est.C, est.loss,
                est.fit_intercept, _CONIC[name], est.max_iter,
            )
        except _SolverFailure as failure:
            failures.append(failure)
            if name != candidates[-1]:
                warnings.warn(
                    f"cvxpy solver {failure.solver} failed with status "
                    f"{failure.status!r}; trying the next installed solver.",
                    UserWarning,
                    stacklevel=3,
                )
            continue
        return w, b, dual, name, status, len(rows), iters
    if not failures:
        raise RuntimeError(
            f"No cvxpy solver for the {est.loss} loss is installed (tried "
            f"{_AUTO_ORDER[est.loss]}); install clarabel, or use solver='lbfgs'."
        )
    detail = "; ".join(f"{f.solver} returned status {f.status!r}" for f in failures)
    raise RuntimeError(
        f"SEPConstrainedClassifier could not be fitted: {detail}. No model was stored. "
        "Raise max_iter, rescale the features, or try another solver."
    )


def _wmean(values, weights, mask):
    return weights[mask] @ values[mask] / weights[mask].sum()


def _solve_cvxpy(cp, X, yb, sw, a, eps, C, loss, fit_intercept, solver, max_iter):
    """The convex program, scaled by 1 / (C * sum(sw)): mean loss + ||w||^2 / (2 C S)."""
    n, d = X.shape
    S = sw.sum()
    w = cp.Variable(d)
    b = cp.Variable() if fit_intercept else 0.0
    margin = cp.multiply(yb, X @ w + b)
    per_sample = cp.logistic(-margin) if loss == "logistic" else cp.pos(1 - margin)
    objective = (sw / S) @ per_sample + cp.sum_squares(w) / (2 * C * S)
    constraints = [] if np.isinf(eps) else [a @ w <= eps, -(a @ w) <= eps]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    options = dict(_ACCURACY.get(solver, {}))
    if max_iter is not None:
        options[_ITER_OPTION[solver]] = max_iter
    try:
        problem.solve(solver=solver, **options)
    except cp.error.SolverError as err:
        raise _SolverFailure(solver, f"solver_error ({err})") from None
    status = problem.status
    # "optimal_inaccurate" is a failure too: solvers stopped at their iteration limit report
    # it (SCS), with a point that may be far from the optimum.
    if status != "optimal" or w.value is None:
        raise _SolverFailure(solver, status)
    dual = 0.0 if not constraints else float(constraints[0].dual_value - constraints[1].dual_value)
    b_value = float(b.value) if fit_intercept else 0.0
    iters = problem.solver_stats.num_iters or 0
    return np.asarray(w.value, dtype=float), b_value, dual, status, iters


def _solve_lbfgs(X, yb, sw, a, eps, C, fit_intercept, max_iter):
    r"""Exact solution of the logistic program with L-BFGS (first-order, O(n d) memory).

    The feasible set is the slab :math:`|a^\top w| \le \epsilon` and the objective is
    strictly convex in :math:`w`. If the unconstrained minimiser lies in the slab it is the
    answer; otherwise the optimum lies on the face :math:`a^\top w = t` with
    :math:`t = \epsilon\,\mathrm{sign}(a^\top w_0)` (the face on the minimiser's side).
    On that face :math:`w = t a / \lVert a\rVert^2 + P u` with :math:`P` the projection
    onto :math:`a^\perp`, an unconstrained smooth problem in :math:`u`, solved by L-BFGS.
    The multiplier is :math:`\lambda = -a^\top \nabla_w F / \lVert a \rVert^2`.
    """
    from threadpoolctl import threadpool_limits

    n, d = X.shape
    S = sw.sum()
    ridge = 1.0 / (C * S)
    weights = sw / S
    maxiter = max_iter or 5000
    aa = a @ a

    def grad_w(theta):
        w, b = theta[:d], theta[d] if fit_intercept else 0.0
        m = yb * (X @ w + b)
        dz = -yb * expit(-m) * weights
        f = weights @ np.logaddexp(0.0, -m) + 0.5 * ridge * (w @ w)
        g = np.empty(d + 1)
        g[:d] = X.T @ dz + ridge * w
        g[d] = dz.sum() if fit_intercept else 0.0
        return f, g

    def on_face(t):
        offset = t * a / aa

        def objective(theta):  # theta = (u, b); w = offset + P u
            u = theta[:d]
            w = offset + u - a * (a @ u) / aa
            f, g = grad_w(np.r_[w, theta[d]])
            g[:d] -= a * (a @ g[:d]) / aa
            return f, g

        return objective

    def run(objective, start):
        res = minimize(
            objective, start, jac=True, method="L-BFGS-B",
            options={"maxiter": maxiter, "gtol": 1e-8, "ftol": 64 * np.finfo(float).eps,
                     "maxcor": 20},
        )
        if res.nit >= maxiter:
            raise RuntimeError(
                f"SEPConstrainedClassifier could not be fitted: lbfgs returned status "
                f"'max_iter' ({res.message}) after {res.nit} iterations. No model was "
                "stored. Raise max_iter or rescale the features."
            )
        iterations.append(res.nit)
        return res.x

    iterations = []
    # GEMV-bound work: one BLAS thread avoids oversubscription when cores are shared.
    with threadpool_limits(limits=1, user_api="blas"):
        theta = run(grad_w, np.zeros(d + 1))
        h0 = a @ theta[:d]
        if np.isinf(eps) or abs(h0) <= eps or aa == 0:
            return theta[:d], theta[d], 0.0, "optimal", sum(iterations)
        t = float(np.sign(h0) * eps)
        u = theta[:d] - a * (h0 - t) / aa  # projection of w0 onto the face: a warm start
        theta = run(on_face(t), np.r_[u, theta[d]])
        w = t * a / aa + theta[:d] - a * (a @ theta[:d]) / aa
        _, g = grad_w(np.r_[w, theta[d]])
    return w, theta[d], float(-(a @ g[:d]) / aa), "optimal", sum(iterations)


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
