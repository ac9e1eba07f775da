"""A linear classifier trained under a Socio-Economic Parity (SEP) constraint.

The constraint is linear in the weights (a gap between two means of the decision score),
so logistic or hinge loss + L2 under it is a convex program. It is solved with cvxpy and an
open-source conic solver, or, for data too large for an interior-point method, exactly with
scipy's L-BFGS on the constraint's active face.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ..base import ProtectedAttributeMixin
from ..metrics.sep import condition_mask, unprivileged_mask

__all__ = ["SEPConstrainedClassifier", "ADULT_SEP_DEFAULTS"]

#: fairkit's SEP set-up for the UCI Adult data (see :class:`SEPConstrainedClassifier`, Notes).
ADULT_SEP_DEFAULTS = {
    "prot_attr": "sex",
    "unpriv_group": "Female",
    "ses_attr": "education-num",
    "ses_threshold": 10,
    "effort_attr": "hours-per-week",
    "effort_threshold": 40,
}

# cvxpy solver names, in the order "auto" tries them. OSQP solves QPs only (hinge loss);
# the logistic loss needs the exponential cone (Clarabel, ECOS, SCS).
_CONIC = {"clarabel": "CLARABEL", "ecos": "ECOS", "scs": "SCS", "osqp": "OSQP"}
_AUTO_ORDER = {
    "logistic": ["clarabel", "ecos", "scs"],
    "hinge": ["clarabel", "ecos", "scs", "osqp"],  # OSQP last: 100x slower on Adult
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


class SEPConstrainedClassifier(ProtectedAttributeMixin, ClassifierMixin, BaseEstimator):
    r"""Linear classifier (logistic or hinge loss, L2) under a Socio-Economic Parity constraint.

    With decision score :math:`f(x) = w^\top x + b`, sample weights :math:`s_i` and labels
    :math:`y_i \in \{-1, 1\}` (1 the favourable class), the classifier solves

    .. math::

        \min_{w, b}\ C \sum_i s_i\, \ell(y_i f(x_i)) + \tfrac12 \lVert w \rVert^2
        \quad \text{s.t.} \quad
        \bigl| \bar f_{R} - \bar f_{G \cap R} \bigr| \le \epsilon,

    where :math:`\ell(m) = \log(1 + e^{-m})` (logistic) or :math:`\max(0, 1 - m)` (hinge),
    :math:`\bar f_A` is the weighted mean score over the samples in :math:`A`, and

    - ``constraint="sep"``: :math:`G` = unprivileged protected group with
      ``ses_attr < ses_threshold``, :math:`R` = everyone (socio-economic parity, Roy et al.);
    - ``constraint="csep"``: same :math:`G`, :math:`R` = people with
      ``effort_attr >= effort_threshold`` (conditional SEP);
    - ``constraint="demographic_parity"``: the standard constraint
      :math:`|\bar f_{priv} - \bar f_{unpriv}| \le \epsilon` (no SES condition), to compare.

    The mean-score gap equals :math:`(\bar x_R - \bar x_{G\cap R})^\top w` (the intercept
    cancels), one linear constraint, so the problem is convex. ``epsilon`` is measured in
    decision-score (log-odds for the logistic loss) units; the gap of the hard predictions,
    which is what :func:`fairkit.metrics.socio_economic_parity_difference` reports, is stored
    in ``sep_gap_`` after fitting.

    Parameters
    ----------
    prot_attr : str, int, list or None, default=None
        Protected column(s) of ``X`` (names for a DataFrame, indices for an array). None:
        pass ``sensitive_features`` to ``fit`` (metadata routing) instead.
    unpriv_group, priv_group : label, list of labels or callable, default=None
        Give exactly one: the unprivileged value(s) of the protected attribute, or the
        privileged value(s) (every other value is unprivileged). A callable receives the
        protected values (1-D array, or DataFrame for several attributes) and returns a
        boolean mask of the unprivileged; it also accepts continuous attributes.
    ses_attr : str, int or callable, default=None
        Socio-economic status column of ``X`` (compared with ``ses_threshold``), or a callable
        ``ses_attr(X) -> bool mask`` of the SES-underprivileged. Required for "sep" and
        "csep", ignored by "demographic_parity".
    ses_threshold : float, default=None
        ``ses_attr < ses_threshold`` is SES-underprivileged. None only with a callable.
    effort_attr : str, int or callable, default=None
        Effort column (``effort_attr >= effort_threshold`` is high effort) or a callable
        returning a mask. Required for "csep".
    effort_threshold : float, default=None
        Effort threshold. None only with a callable.
    constraint : {"sep", "csep", "demographic_parity"}, default="sep"
        Which gap is bounded.
    epsilon : float, default=0.5
        Bound on the absolute mean-score gap, ``>= 0`` (0 forces equal mean scores;
        ``numpy.inf`` removes the constraint). The default is the loosest value that
        halves the SEP gap of the predictions on Adult (see Notes); the right value depends
        on the data, so tune it (e.g. with ``GridSearchCV`` and a fairness scorer).
    loss : {"logistic", "hinge"}, default="logistic"
        Logistic loss (gives ``predict_proba``) or hinge loss (a linear SVM).
    C : float, default=1.0
        Inverse L2 strength, as in :class:`sklearn.linear_model.LogisticRegression`.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    scale_features : bool, default=True
        Centre and scale the non-binary columns of the model matrix to unit variance before
        solving (binary 0/1 columns, such as one-hot codes, are left as they are). This keeps
        the conic program well conditioned; ``coef_`` is reported on the original scale,
        and the L2 penalty acts on the coefficients of the scaled columns.
    drop_prot_attr : bool, default=True
        Leave the ``prot_attr`` columns out of the model (they then need not be numeric).
        The SES and effort columns stay features.
    pos_label : label, default=None
        Favourable class; None means ``classes_[1]``. Only the sign of the reported gaps
        depends on it.
    solver : {"auto", "clarabel", "ecos", "scs", "osqp", "lbfgs"}, default="auto"
        "auto": when ``n_samples * n_features <= max_problem_size``, the cvxpy program is
        solved with Clarabel (interior point; accurate, the default), falling back with a
        warning to ECOS, then SCS (then OSQP for the hinge loss) when a solver is missing
        or fails. Larger problems use "lbfgs" on the full data (logistic loss) or a stratified
        subsample (hinge loss), with a warning. "lbfgs" solves the same program exactly with
        scipy's L-BFGS (logistic loss only): the unconstrained optimum if it meets
        ``epsilon``, otherwise the optimum on the active face ``gap = +-epsilon``, an
        unconstrained problem in that hyperplane's coordinates. A named cvxpy solver is used alone.
    max_problem_size : int, default=5_000_000
        Largest ``n_samples * n_features`` handed to a cvxpy solver (about 10 s with
        Clarabel on one core). Beyond it a cvxpy solver named in ``solver`` sees a random
        subsample of ``max_problem_size // n_features`` rows, stratified by label, subgroup
        and effort, with a warning.
    max_iter : int, default=None
        Iteration limit passed to the solver (None: the solver's default; 5000 L-BFGS
        iterations per inner problem). Hitting it is a solver failure.
    random_state : int, RandomState or None, default=None
        Seeds the subsample (the solvers themselves are deterministic).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_model_features)
        Weights of the model matrix (``X`` without the dropped protected columns).
    intercept_ : ndarray of shape (1,)
    score_gap_ : float
        Training gap of mean favourable scores, :math:`\bar f_R - \bar f_{G\cap R}` (or
        privileged minus unprivileged), the quantity bounded by ``epsilon``.
    sep_gap_ : float
        The same gap for the hard predictions (difference of positive rates).
    lagrange_multiplier_ : float
        Multiplier of the gap constraint (scaled to the mean loss); 0 when it is inactive.
    solver_ : str
        Solver that produced the model.
    solver_status_ : str
    n_samples_solved_ : int
        Rows the solver saw (fewer than ``n_samples`` when subsampled).
    fit_time_ : float
        Seconds spent in the solver (problem build included).
    n_iter_ : int
        Solver iterations (summed over the L-BFGS runs for "lbfgs").
    prot_columns_ : list
        Protected columns removed from ``X`` before the model.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    fairkit.metrics.socio_economic_parity_difference
    fairkit.metrics.conditional_socio_economic_parity_difference

    Notes
    -----
    **Adult defaults** (``ADULT_SEP_DEFAULTS``; fairkit's choice, the paper's code not being
    public): protected attribute ``sex`` with ``Female`` unprivileged; SES proxy
    ``education-num < 10``, i.e. at most a high-school diploma (no college). Education is
    one of the three classic components of socio-economic status (with income, the target
    here, and occupation); it is ordinal, complete, and fixed mostly before the labour-market
    outcome being predicted. The cut leaves 43% of women and 46% of men below it, so the
    subgroup is large enough to estimate (4,226 of 30,162 training rows) and its
    positive-label rate (5.5%) is far below the population's (24.9%). Effort:
    ``hours-per-week >= 40``, the standard full-time week, which is the median and mode of
    the column and keeps 64% of women and 85% of men. ``fnlwgt`` is a census sampling weight,
    not a feature: drop it (or use it as ``sample_weight``).

    On Adult (published train / test split, categorical columns one-hot encoded, numeric
    ones raw; ``benchmarks/bench_sep.py``) the unconstrained model has a training
    mean-score gap of 2.05 (log-odds) and a test SEP gap of 17.7 points at 84.67%
    accuracy. ``epsilon=1`` gives 12.4 points at 84.14%, ``epsilon=0.5`` 7.9 points at
    83.02% (the gap more than halved for 1.65 points of accuracy: the default),
    ``epsilon=0`` 3.2 points at 81.59%. With ``constraint="csep"`` and ``epsilon=0.5`` the
    positive rate of low-SES women working at least 40 hours rises from 2.9% to 11.6% on
    the test split. The set-up, as a pipeline that keeps the SES and effort columns raw
    (their thresholds apply to raw values; the classifier scales internally)::

        encode = ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
              ["workclass", "education", "marital-status", "occupation",
               "relationship", "race", "native-country"])],
            remainder="passthrough", verbose_feature_names_out=False,
        ).set_output(transform="pandas")
        model = make_pipeline(encode, SEPConstrainedClassifier(**ADULT_SEP_DEFAULTS))
        model.fit(X.drop(columns="fnlwgt"), y)

    **Scale**: the exponential-cone program has one cone block per sample. On Adult's
    training part (30,162 x 101 model features, ``epsilon=0.5``) Clarabel takes 4.3 s
    (28 iterations), SCS 16 s and "lbfgs" 2.3 s, all three agreeing to 1e-4 on the
    coefficients; with the hinge loss Clarabel takes 1.5 s, SCS 6 s and OSQP 166 s
    (``benchmarks/bench_sep.py solvers``, one core). Beyond
    ``max_problem_size`` the "auto" solver switches to the first-order "lbfgs" path, which
    is exact (one smooth solve, and a second on the active face when the constraint
    binds) and needs O(n_samples x n_features) memory only.

    A solver failure (any status other than "optimal", "optimal_inaccurate" included,
    since an iteration-limited SCS run reports it) raises ``RuntimeError`` naming the solver
    and its status, after trying the fallbacks when ``solver="auto"``; the estimator is
    then left without fitted attributes. A negative
    ``epsilon`` is infeasible and raises ``ValueError``.

    References
    ----------
    .. [1] A. Roy, A. Rizou, S. Papadopoulos, E. Ntoutsi, "Achieving Socio-Economic Parity
       through the Lens of EU AI Act", arXiv:2503.23056, 2025.
    .. [2] M. B. Zafar, I. Valera, M. Gomez Rodriguez, K. P. Gummadi, "Fairness Constraints:
       Mechanisms for Fair Classification", AISTATS 2017 (linear constraints on decision
       scores).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from fairkit.inprocessing import SEPConstrainedClassifier
    >>> rng = np.random.default_rng(0)
    >>> n = 400
    >>> X = pd.DataFrame({"sex": rng.choice(["F", "M"], n),
    ...                   "education": rng.integers(6, 16, n),
    ...                   "hours": rng.integers(20, 60, n)})
    >>> y = ((X["education"] + 3 * (X["sex"] == "M") + rng.normal(0, 2, n)) > 12).astype(int)
    >>> clf = SEPConstrainedClassifier(prot_attr="sex", unpriv_group="F",
    ...                                ses_attr="education", ses_threshold=10,
    ...                                epsilon=0.5).fit(X, y)
    >>> bool(abs(clf.score_gap_) <= 0.5 + 1e-6)
    True
    """

    _parameter_constraints: dict = {
        "prot_attr": "no_validation",
        "unpriv_group": "no_validation",
        "priv_group": "no_validation",
        "ses_attr": [None, str, Integral, callable],
        "ses_threshold": [None, Real],
        "effort_attr": [None, str, Integral, callable],
        "effort_threshold": [None, Real],
        "constraint": [StrOptions({"sep", "csep", "demographic_parity"})],
        "epsilon": [Real],
        "loss": [StrOptions({"logistic", "hinge"})],
        "C": [Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "scale_features": ["boolean"],
        "drop_prot_attr": ["boolean"],
        "pos_label": "no_validation",
        "solver": [StrOptions({"auto", "clarabel", "ecos", "scs", "osqp", "lbfgs"})],
        "max_problem_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [None, Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        prot_attr=None,
        unpriv_group=None,
        priv_group=None,
        ses_attr=None,
        ses_threshold=None,
        effort_attr=None,
        effort_threshold=None,
        constraint="sep",
        epsilon=0.5,
        loss="logistic",
        C=1.0,
        fit_intercept=True,
        scale_features=True,
        drop_prot_attr=True,
        pos_label=None,
        solver="auto",
        max_problem_size=5_000_000,
        max_iter=None,
        random_state=None,
    ):
        self.prot_attr = prot_attr
        self.unpriv_group = unpriv_group
        self.priv_group = priv_group
        self.ses_attr = ses_attr
        self.ses_threshold = ses_threshold
        self.effort_attr = effort_attr
        self.effort_threshold = effort_threshold
        self.constraint = constraint
        self.epsilon = epsilon
        self.loss = loss
        self.C = C
        self.fit_intercept = fit_intercept
        self.scale_features = scale_features
        self.drop_prot_attr = drop_prot_attr
        self.pos_label = pos_label
        self.solver = solver
        self.max_problem_size = max_problem_size
        self.max_iter = max_iter
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    # ----------------------------------------------------------------------------------
    # fit
    # ----------------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, sensitive_features=None):
        """Fit the constrained classifier.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data, holding the SES / effort columns (and ``prot_attr``).
        y : array-like of shape (n_samples,)
            Binary labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the loss and of the means in the constraint.
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given as ``prot_attr`` columns of ``X``.

        Returns
        -------
        self
        """
        if np.isnan(self.epsilon) or self.epsilon < 0:
            raise ValueError(
                f"epsilon={self.epsilon!r} is negative: the constraint |gap| <= epsilon is "
                "infeasible. Use epsilon >= 0 (0 forces equal mean scores)."
            )
        X_raw = _check_raw_X(X)
        validate_data(self, X_raw, reset=True, skip_check_array=True)
        if y is None:
            raise ValueError(
                "SEPConstrainedClassifier requires y to be passed, but the target y is None."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X_raw, y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type not in ("binary", "multiclass"):
            check_classification_targets(y)
        classes = np.unique(y)
        if y_type != "binary" and len(classes) > 2:
            raise ValueError(
                "Only binary classification is supported. The type of the target is "
                f"{y_type} ({len(classes)} classes); SEPConstrainedClassifier needs two."
            )
        prot = self._resolve_protected(
            X_raw, sensitive_features, drop=self.drop_prot_attr, require_groups=False
        )
        Xm = _model_check(prot.X, X_raw)
        n, d = Xm.shape
        sw = _check_sample_weight(sample_weight, Xm, dtype=np.float64, ensure_non_negative=True)
        present = np.unique(y[sw > 0])
        if len(present) != 2:
            raise ValueError(
                f"y has {len(present)} class(es) with positive sample_weight "
                f"({present.tolist()}); SEPConstrainedClassifier needs exactly 2 classes."
            )
        if self.pos_label is None:
            fav = 1
        elif any(_same(self.pos_label, c) for c in classes):
            fav = 1 if _same(self.pos_label, classes[1]) else -1
        else:
            raise ValueError(
                f"pos_label={self.pos_label!r} is not one of the classes {classes.tolist()}."
            )
        target, reference, names = self._subgroups(X_raw, prot, n)
        for mask, what in zip((target, reference), names, strict=True):
            if sw[mask].sum() <= 0:
                raise ValueError(f"No training sample (with positive weight) is {what}.")

        # Scale non-binary columns (weighted), so that the conic program is well conditioned.
        mean, scale = np.zeros(d), np.ones(d)
        if self.scale_features:
            binary = np.all((Xm == 0) | (Xm == 1), axis=0)
            wsum = sw.sum()
            mu = sw @ Xm / wsum
            sd = np.sqrt(sw @ (Xm - mu) ** 2 / wsum)
            scaled = ~binary & (sd > 0)
            mean[scaled], scale[scaled] = mu[scaled], sd[scaled]
        Xs = (Xm - mean) / scale
        a = _wmean(Xs, sw, reference) - _wmean(Xs, sw, target)
        yb = np.where(y == classes[1], 1.0, -1.0)

        start = time.perf_counter()
        w, b, dual, solver, status, rows, iters = self._solve(Xs, yb, sw, a, target, reference)
        fit_time = time.perf_counter() - start

        coef = w / scale
        self.classes_ = classes
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([b - coef @ mean])
        self.prot_columns_ = list(prot.columns) if self.drop_prot_attr else []
        dec = Xm @ coef + self.intercept_[0]
        self.score_gap_ = float(fav * (_wmean(dec, sw, reference) - _wmean(dec, sw, target)))
        hard = (fav * dec > 0).astype(float)
        self.sep_gap_ = float(_wmean(hard, sw, reference) - _wmean(hard, sw, target))
        self.lagrange_multiplier_ = float(dual)
        self.solver_ = solver
        self.solver_status_ = status
        self.n_samples_solved_ = int(rows)
        self.fit_time_ = fit_time
        self.n_iter_ = int(iters)
        return self

    def _subgroups(self, X_raw, prot, n):
        """Masks (P, R) of the constraint |mean_R f - mean_P f| <= epsilon.

        SEP: P = unprivileged & low SES, R = everyone. CSEP: both restricted to high effort.
        Demographic parity: P = unprivileged, R = privileged.
        """
        unpriv = unprivileged_mask(
            prot.values,
            priv_group=self.priv_group,
            unpriv_group=self.unpriv_group,
            name="prot_attr" if self.prot_attr is not None else "sensitive_features",
        )
        everyone = np.ones(n, dtype=bool)
        if self.constraint == "demographic_parity":
            return unpriv, ~unpriv, ("in the unprivileged group", "in the privileged group")
        if self.ses_attr is None:
            raise ValueError(
                f"constraint={self.constraint!r} needs ses_attr (the socio-economic status "
                "column or a callable returning its mask); use "
                "constraint='demographic_parity' for no SES condition."
            )
        low_ses = condition_mask(
            self.ses_attr, self.ses_threshold, X=X_raw, n_samples=n, name="ses_attr",
            threshold_name="ses_threshold", below=True,
        )
        reference = everyone
        where = ""
        if self.constraint == "csep":
            if self.effort_attr is None:
                raise ValueError(
                    "constraint='csep' needs effort_attr (the effort column or a callable "
                    "returning its mask)."
                )
            reference = condition_mask(
                self.effort_attr, self.effort_threshold, X=X_raw, n_samples=n,
                name="effort_attr", threshold_name="effort_threshold", below=False,
            )
            where = " with effort_attr >= effort_threshold"
        return (
            unpriv & low_ses & reference,
            reference,
            ("unprivileged with ses_attr below ses_threshold" + where, "in the reference" + where),
        )

    def _solve(self, Xs, yb, sw, a, target, reference):
        n, d = Xs.shape
        eps = float(self.epsilon)
        too_big = n * d > self.max_problem_size
        solver = self.solver
        if solver == "lbfgs" and self.loss != "logistic":
            raise ValueError(
                "solver='lbfgs' needs a smooth loss; it supports loss='logistic' only. Use "
                "solver='auto', 'clarabel', 'osqp' or 'scs' for the hinge loss."
            )
        if solver == "osqp" and self.loss == "logistic":
            raise ValueError(
                "solver='osqp' solves quadratic programs only and cannot handle the "
                "logistic loss (exponential cone); use 'clarabel', 'scs', 'ecos' or 'lbfgs'."
            )
        if solver == "auto" and too_big and self.loss == "logistic":
            warnings.warn(
                f"n_samples * n_features = {n * d} exceeds max_problem_size="
                f"{self.max_problem_size}: solving with the first-order L-BFGS method "
                "(solver='lbfgs') on the full data instead of an interior-point solver.",
                UserWarning,
                stacklevel=3,
            )
            solver = "lbfgs"
        if solver == "lbfgs":
            w, b, dual, status, iters = _solve_lbfgs(
                Xs, yb, sw, a, eps, self.C, self.fit_intercept, self.max_iter
            )
            return w, b, dual, "lbfgs", status, n, iters
        rows = np.arange(n)
        if too_big:
            m = max(self.max_problem_size // d, 2)
            rows = _stratified_subsample(
                np.c_[yb, target, reference], m, check_random_state(self.random_state)
            )
            warnings.warn(
                f"n_samples * n_features = {n * d} exceeds max_problem_size="
                f"{self.max_problem_size}: the {solver!r} solver sees a stratified random "
                f"subsample of {len(rows)} of {n} rows (raise max_problem_size, or use "
                "solver='lbfgs' with the logistic loss, to use all rows).",
                UserWarning,
                stacklevel=3,
            )
        import cvxpy as cp  # lazy: keeps `import fairkit` fast

        installed = set(cp.installed_solvers())
        if solver == "auto":
            candidates = [s for s in _AUTO_ORDER[self.loss] if _CONIC[s] in installed]
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
                    cp, Xs[rows], yb[rows], sw[rows], a, eps, self.C, self.loss,
                    self.fit_intercept, _CONIC[name], self.max_iter,
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
                f"No cvxpy solver for the {self.loss} loss is installed (tried "
                f"{_AUTO_ORDER[self.loss]}); install clarabel, or use solver='lbfgs'."
            )
        detail = "; ".join(f"{f.solver} returned status {f.status!r}" for f in failures)
        raise RuntimeError(
            f"SEPConstrainedClassifier could not be fitted: {detail}. No model was stored. "
            "Raise max_iter, rescale the features, or try another solver."
        )

    # ----------------------------------------------------------------------------------
    # predict
    # ----------------------------------------------------------------------------------

    def _model_matrix(self, X):
        check_is_fitted(self)
        X = _check_raw_X(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        if self.prot_columns_:
            if isinstance(X, pd.DataFrame):
                X_model = X.drop(columns=self.prot_columns_)
            else:
                X_model = np.delete(X, self.prot_columns_, axis=1)
        else:
            X_model = X
        return _model_check(X_model, X)

    def decision_function(self, X):
        """Decision score ``X @ coef_ + intercept_`` (positive for ``classes_[1]``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._model_matrix(X) @ self.coef_[0] + self.intercept_[0]

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def _has_proba(self):
        return self.loss == "logistic"

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (logistic loss only).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        p = expit(self.decision_function(X))
        return np.c_[1 - p, p]

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (logistic loss only)."""
        dec = self.decision_function(X)
        return np.c_[-np.logaddexp(0, dec), -np.logaddexp(0, -dec)]


# --------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------


def _check_raw_X(X):
    """2-D input check that keeps the protected columns' raw values (strings allowed)."""
    if isinstance(X, pd.DataFrame):
        if X.ndim != 2 or X.shape[1] == 0 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty 2-D DataFrame, got shape {X.shape}.")
        return X
    X = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
    if X.dtype == object:
        for value in X.ravel():
            if not isinstance(value, (str, Real, np.generic)):
                raise TypeError(
                    "X values must be a string or a number (the argument must be a string "
                    f"or a real number), got {type(value).__name__}: {value!r}."
                )
    elif np.issubdtype(X.dtype, np.number):
        check_array(X, input_name="X")  # NaN / inf anywhere, protected columns included
    return X


def _model_check(X_model, X_raw):
    """The numeric model matrix; explains an empty one (all columns were protected)."""
    if X_model.shape[1] == 0:
        raise ValueError(
            f"X has {X_raw.shape[1]} feature(s), all of them protected (prot_attr) and dropped; "
            "the model needs at least one other feature (or set drop_prot_attr=False)."
        )
    return check_array(X_model, dtype=np.float64, input_name="X")


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


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
