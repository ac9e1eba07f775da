"""A linear classifier trained under a Socio-Economic Parity (SEP) constraint.

The constraint is linear in the weights (a gap between two means of the decision score),
so logistic or hinge loss + L2 under it is a convex program. It is solved with cvxpy and an
open-source conic solver, or, for data too large for an interior-point method, exactly with
scipy's L-BFGS on the constraint's active face.
"""

from __future__ import annotations

import time
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import check_binary_target, same_label
from ..base import FairEstimatorMixin, warn_if_constant
from ..metrics.sep import condition_mask, unprivileged_mask
from ..utils._docstring import fair_docstring
from ._sep_solvers import _wmean, solve

__all__ = ["SEPConstrainedClassifier", "ADULT_SEP_DEFAULTS"]

#: fairkit's SEP set-up for the UCI Adult data (see :class:`SEPConstrainedClassifier`,
#: Notes). Used by ``benchmarks/bench_sep.py`` and the SEP notebook; not a default of the
#: estimator, whose SES and effort columns have no default.
ADULT_SEP_DEFAULTS = {
    "prot_attr": "sex",
    "unpriv_group": "Female",
    "ses_attr": "education-num",
    "ses_threshold": 10,
    "effort_attr": "hours-per-week",
    "effort_threshold": 40,
}


@fair_docstring
class SEPConstrainedClassifier(FairEstimatorMixin, ClassifierMixin, BaseEstimator):
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
    {prot_attr}
    unpriv_group : label, list of labels or callable, default=None
        The unprivileged value(s) of the protected attribute. Give exactly one of
        ``unpriv_group`` and ``priv_group`` (with ``priv_group`` every other value is
        unprivileged); giving neither raises ``ValueError``. Either may also be a callable
        that receives the protected values (1-D array, or DataFrame for several
        attributes) and returns a boolean mask of the unprivileged (or privileged); a
        callable also accepts continuous attributes.
    {priv_group}
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
        ``numpy.inf`` removes the constraint). The default was chosen on Adult (the
        loosest value that halved its SEP gap, see Notes); the right value depends on the
        data, so tune it (e.g. with ``GridSearchCV`` and a fairness scorer).
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
    {pos_label}
        Only the sign of the reported gaps depends on it.
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
        Largest ``n_samples * n_features`` handed to a cvxpy solver. Beyond it a cvxpy
        solver named in ``solver`` sees a random subsample of
        ``max_problem_size // n_features`` rows, stratified by label, subgroup and effort,
        with a warning.
    max_iter : int, default=None
        Iteration limit passed to the solver (None: the solver's default; 5000 L-BFGS
        iterations per inner problem). Hitting it is a solver failure.
    {random_state}
        Only the subsample is random (the solvers themselves are deterministic).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
        The favourable class.
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
    groups_ : list
        Labels of the protected groups, when the attribute is discrete.
    prot_attr_names_ : list
        Names of the protected attributes, when the attribute is discrete.
    privileged_groups_ : ndarray of bool
        Mask over ``groups_`` of the privileged groups (the complement of the
        unprivileged ones), when every group is wholly on one side.
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

    **Scale**: the exponential-cone program has one cone block per sample, so interior-point
    cost grows with ``n_samples``; ``benchmarks/bench_sep.py solvers`` compares the solvers.
    Beyond ``max_problem_size`` the "auto" solver switches to the first-order "lbfgs" path,
    which is exact (one smooth solve, and a second on the active face when the constraint
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

    @fair_docstring
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the constrained classifier.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data, holding the SES / effort columns (and ``prot_attr``).
        y : array-like of shape (n_samples,)
            Binary labels.
        {sensitive_features}
        {sample_weight}
            They weight the loss and the means in the constraint.

        Returns
        -------
        self
        """
        if np.isnan(self.epsilon) or self.epsilon < 0:
            raise ValueError(
                f"epsilon={self.epsilon!r} is negative: the constraint |gap| <= epsilon is "
                "infeasible. Use epsilon >= 0 (0 forces equal mean scores)."
            )
        # target=None: classes_ is stored only once the solver has succeeded.
        # np.asarray: validate_fair_data takes np.ndim of y, which array-likes may refuse
        y = None if y is None else np.asarray(y)
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, sample_weight=sample_weight,
            reset=True, protected="values",
            drop=self.drop_prot_attr, features="numeric", map_groups=False,
        )
        prot, Xm = data.protected, data.X
        # the SES and effort columns are read by name or position in X as given
        X_raw = X if hasattr(X, "iloc") else np.asarray(X)
        classes, pos, _ = check_binary_target(self, y, self.pos_label)
        y = np.asarray(y).ravel()
        n, d = Xm.shape
        sw = np.ones(n) if data.sample_weight is None else data.sample_weight
        if (sw < 0).any():
            raise ValueError("Negative values in data passed to sample_weight.")
        present = np.unique(y[sw > 0])
        if len(present) != 2:
            raise ValueError(
                f"y has {len(present)} class(es) with positive sample_weight "
                f"({present.tolist()}); SEPConstrainedClassifier needs exactly 2 classes."
            )
        # The model's decision is oriented to classes[1]; pos_label only orients the gaps.
        fav = 1 if same_label(pos, classes[1]) else -1
        target, reference, names, unpriv = self._subgroups(X_raw, prot, n)
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
        w, b, dual, solver, status, rows, iters = solve(self, Xs, yb, sw, a, target, reference)
        fit_time = time.perf_counter() - start

        coef = w / scale
        self.classes_, self.pos_label_ = classes, pos
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([b - coef @ mean])
        if data.groups is not None:
            codes, k = data.groups.codes, len(self.groups_)
            in_unpriv = np.bincount(codes, weights=unpriv, minlength=k)
            whole = (in_unpriv == 0) | (in_unpriv == np.bincount(codes, minlength=k))
            if whole.all():  # else a callable split a group: no per-group mask exists
                self.privileged_groups_ = in_unpriv == 0
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
        # e.g. the trivial all-favourable classifier, when epsilon can be met no other way
        warn_if_constant(
            self, dec, y=y, predictions=classes[(dec > 0).astype(int)], sample_weight=sw,
            params=("epsilon", "constraint", "C"),
            advice=("epsilon is a bound on the mean decision-score gap (log-odds units for "
                    "the logistic loss): try a larger epsilon (numpy.inf removes the "
                    "constraint) or a larger C, chosen on held-out data."),
            stacklevel=4,
        )
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
            return (unpriv, ~unpriv, ("in the unprivileged group", "in the privileged group"),
                    unpriv)
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
            unpriv,
        )

    # ----------------------------------------------------------------------------------
    # predict
    # ----------------------------------------------------------------------------------

    def _model_matrix(self, X):
        check_is_fitted(self)
        # at predict the protected columns are only located, to be dropped
        protected = "columns" if self.drop_prot_attr else "none"
        return self._validate_fair_data(
            X, reset=False, protected=protected, drop=self.drop_prot_attr,
            features="numeric", map_groups=False,
        ).X

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
