"""A linear classifier trained under a Socio-Economic Parity (SEP) constraint.

The constraint is linear in the weights (a gap between two means of the decision score),
so logistic or hinge loss + L2 under it is a convex program. It is solved exactly with
scipy's L-BFGS on the constraint's active face (logistic loss), or with cvxpy and an
open-source conic solver. A bound in selection-rate units is met by searching the score
bound of that program (``bound_unit="rate"``, the default).
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import check_binary_target, check_weights_nonnegative, same_label
from ..base import ConstantFitWarning, FairEstimatorMixin, warn_if_constant
from ..metrics.sep import condition_mask, unprivileged_mask
from ..utils._docstring import fair_docstring
from ..utils._threads import single_blas_thread
from ._sep_solvers import _wmean, make_program, search_rate_bound

__all__ = ["SEPConstrainedClassifier", "ADULT_SEP_DEFAULTS"]

#: A fit whose less predicted class gets under this share of the training weight, with the
#: constraint active, is nearly constant (the trivial classifier up to a few rows) ...
_NEAR_CONSTANT_SHARE = 0.01
#: ... unless the labels themselves are that lopsided: that class has at least this share.
_NEAR_CONSTANT_LABELS = 0.05


def _favourable(dec, fav):
    """1.0 where the decision is the favourable class (``classes_[1]`` where the score is
    > 0, as in ``predict``), else 0.0."""
    return ((dec > 0) if fav == 1 else (dec <= 0)).astype(np.float64)

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
    cancels), one linear constraint, so the problem is convex.

    **Units of the bound.** The program bounds a gap of mean decision scores (log-odds for
    the logistic loss), a number whose scale depends on the data: the same value can leave
    one data set unconstrained and reduce another to the trivial all-favourable classifier.
    With ``bound_unit="rate"`` (the default) ``epsilon`` is instead a bound on the gap of
    *selection rates* of the hard predictions on the training data,

    .. math::

        \bigl| P(\hat y = 1 \mid R) - P(\hat y = 1 \mid G \cap R) \bigr| \le \epsilon,

    the quantity that :func:`fairkit.metrics.socio_economic_parity_difference` ("sep"),
    :func:`fairkit.metrics.conditional_socio_economic_parity_difference` ("csep") or the
    statistical parity difference ("demographic_parity") report, with :math:`\hat y = 1`
    the favourable class and the sample weights as weights. It is met by solving the convex
    program for a sequence of score bounds :math:`t`: the unconstrained model if its rate gap
    is within ``epsilon``, otherwise a search of :math:`t \in [0, |\text{unconstrained
    score gap}|]` (interpolation in a bracket, at most 12 solves, warm-started) that keeps
    the largest :math:`t`, the least-constrained model, whose rate gap is at most
    ``epsilon``. A constant predictor (all rows one class) has a rate gap of 0 and is never
    taken as meeting the bound; when only a constant predictor would, or when no score
    bound reaches ``epsilon``, the model with the smallest rate gap found is returned with a
    warning. The score bound found is ``epsilon_`` and the rate gap reached
    ``train_rate_gap_``. The bound holds on the training data only: on new data the rate
    gap varies by sampling error (a few points with a few hundred rows in :math:`G`).

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
    epsilon : float, default=0.05
        The bound, ``>= 0``, in the units of ``bound_unit``. With "rate" (the default): the
        largest allowed absolute gap of training selection rates, a number in [0, 1]
        (0.05 = five percentage points; values >= 1 do not constrain). With "score": the
        largest allowed absolute gap of mean decision scores, in log-odds for the logistic
        loss (0 forces equal mean scores). ``numpy.inf`` removes the constraint in both.
        The right value is a policy choice; compare a few on held-out data (e.g. with
        ``GridSearchCV`` and a fairness scorer).
    bound_unit : {"rate", "score"}, default="rate"
        Unit of ``epsilon``. "rate": the selection-rate gap of the hard predictions on the
        training data (the program's score bound is searched to meet it, see above).
        "score": the mean decision-score gap, the bound of the convex program itself (one
        solve; its effect on the rates depends on the data). "rate" is the default because
        its meaning does not depend on the scale of the scores: on any data it returns the
        unconstrained model when that already meets the bound, and otherwise constrains
        just enough, never to a constant predictor (a nearly constant one warns). The
        default value 0.05 is a starting point, not a recommendation.
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
        "lbfgs" solves the program exactly (logistic loss only) by Newton's method, with
        scipy's L-BFGS as fallback when the Newton system is ill-conditioned: the
        unconstrained optimum if it meets the score bound, otherwise the optimum on the
        active face ``gap = +-bound``, an unconstrained problem in that hyperplane's
        coordinates; it needs O(n_samples x n_features) memory and uses every row. The
        cvxpy solvers (Clarabel: interior point; ECOS; SCS; OSQP, hinge loss only) solve
        the conic program. "auto": "lbfgs" for the logistic loss, Clarabel for the hinge
        loss, falling back with a warning to the next of Clarabel, ECOS, SCS (then OSQP
        for the hinge loss) when a solver is missing or fails. A named solver is used
        alone.
    max_problem_size : int, default=5_000_000
        Largest ``n_samples * n_features`` handed to a cvxpy solver. Beyond it the cvxpy
        solver sees a random subsample of ``max_problem_size // n_features`` rows,
        stratified by label, subgroup and effort, with a warning ("lbfgs" always uses
        every row).
    max_iter : int, default=None
        Iteration limit passed to the solver (None: the solver's default; 100 Newton
        steps, then 5000 L-BFGS iterations per inner problem if Newton gives way).
        Hitting it is a solver failure.
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
    epsilon_ : float
        The score bound the model was solved under (mean decision-score units): ``epsilon``
        itself with ``bound_unit="score"``, the bound found by the search with "rate"
        (``inf`` when the unconstrained model met the rate bound). Refitting with
        ``bound_unit="score", epsilon=epsilon_`` gives the same model.
    score_gap_ : float
        Training gap of mean favourable scores, :math:`\bar f_R - \bar f_{G\cap R}` (or
        privileged minus unprivileged), the quantity the program bounds by ``epsilon_``.
    train_rate_gap_ : float
        The same gap for the hard predictions on the training data (favourable selection
        rate of :math:`R` minus that of :math:`G \cap R`, weighted), the quantity bounded by
        ``epsilon`` with ``bound_unit="rate"``.
    sep_gap_ : float
        Same as ``train_rate_gap_`` (its earlier name).
    lagrange_multiplier_ : float
        Multiplier of the gap constraint (scaled to the mean loss); 0 when it is inactive.
    solver_ : str
        Solver that produced the model.
    solver_status_ : str
    n_samples_solved_ : int
        Rows the solver saw (fewer than ``n_samples`` when subsampled).
    fit_time_ : float
        Seconds spent in the solver (problem build and every solve included).
    n_iter_ : int
        Solver iterations (Newton steps, or L-BFGS iterations where it took over),
        summed over all solves.
    n_solves_ : int
        Solves of the program (1 with ``bound_unit="score"``; at most 14 with "rate").
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
    mean-score gap of 2.05 (log-odds), a training SEP gap of 17.9 points and a test SEP gap
    of 17.7 points at 84.67% accuracy. In rate units, ``epsilon=0.1`` gives a training gap
    of 9.98 and a test gap of 9.95 points at 83.69% (score bound found 0.72);
    ``epsilon=0.05`` (the default) 4.98 and 4.71 points at 82.13% (score bound 0.14);
    ``epsilon=0.02`` cannot be met (4.1 training points even at equal mean scores, with a
    warning; 3.2 test points at 81.59%). In score units, ``epsilon=1`` gives 12.4 test
    points at 84.14% and ``epsilon=0.5`` 7.9 points at 83.02%; with
    ``constraint="csep", bound_unit="score", epsilon=0.5`` the positive rate of low-SES
    women working at least 40 hours rises from 2.9% to 11.6% on the test split. The set-up,
    as a pipeline that keeps the SES and effort columns raw (their thresholds apply to raw
    values; the classifier scales internally)::

        encode = ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
              ["workclass", "education", "marital-status", "occupation",
               "relationship", "race", "native-country"])],
            remainder="passthrough", verbose_feature_names_out=False,
        ).set_output(transform="pandas")
        model = make_pipeline(encode, SEPConstrainedClassifier(**ADULT_SEP_DEFAULTS))
        model.fit(X.drop(columns="fnlwgt"), y)

    **Degenerate fits**: a fit that predicts one class for every training row although
    both occur warns with :class:`fairkit.base.ConstantFitWarning` naming ``epsilon``,
    ``bound_unit``, ``constraint`` and ``C``; so does a fit whose active constraint leaves
    fewer than 1% of the (weighted) training rows in one predicted class while at least 5%
    have that label (nearly the trivial classifier).

    **Scale**: the exponential-cone program has one cone block per sample, so
    interior-point cost grows fast with ``n_samples`` (Clarabel took 100-500x the time of
    scikit-learn's ``LogisticRegression`` on 5,000-30,000 rows x 20 features); "auto"
    therefore solves the logistic loss with the exact "lbfgs" path (one smooth solve, and
    one on the active face per score bound, warm-started), within about 1.5-3x of
    ``LogisticRegression`` with ``bound_unit="score"`` or "rate" on the same data. The
    hinge loss has no smooth path: every solve is a conic one, and ``bound_unit="rate"``
    multiplies its cost by the number of solves. ``benchmarks/bench_sep.py solvers``
    compares the solvers.

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
    ...                                epsilon=0.05).fit(X, y)
    >>> pred = clf.predict(X)
    >>> low = ((X["sex"] == "F") & (X["education"] < 10)).to_numpy()
    >>> bool(abs(pred.mean() - pred[low].mean()) <= 0.05)  # selection rates on X
    True
    >>> score = SEPConstrainedClassifier(prot_attr="sex", unpriv_group="F",
    ...                                  ses_attr="education", ses_threshold=10,
    ...                                  epsilon=0.5, bound_unit="score").fit(X, y)
    >>> bool(abs(score.score_gap_) <= 0.5 + 1e-6)  # mean decision scores (log-odds)
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
        "bound_unit": [StrOptions({"rate", "score"})],
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
        epsilon=0.05,
        bound_unit="rate",
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
        self.bound_unit = bound_unit
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
                f"infeasible (bound_unit={self.bound_unit!r}). Use epsilon >= 0 (0 asks for "
                "equal mean scores, or equal selection rates with bound_unit='rate')."
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
        X_raw = data.input if hasattr(data.input, "iloc") else np.asarray(X)
        classes, pos, _ = check_binary_target(self, y, self.pos_label)
        y = np.asarray(y).ravel()
        n, d = Xm.shape
        sw = np.ones(n) if data.sample_weight is None else data.sample_weight
        check_weights_nonnegative(self, sw)
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

        # GEMV-bound work: one BLAS thread (several threads on shared cores spin-wait, and
        # a 1-D dot product can then take milliseconds).
        with single_blas_thread():
            start = time.perf_counter()
            sol, met, program, contrast, mean, scale = self._solve(
                Xm, y, sw, classes, fav, target, reference
            )
            fit_time = time.perf_counter() - start
            coef = sol.w / scale
            intercept = sol.b - coef @ mean
            dec = Xm @ coef + intercept
            score_gap = float(fav * (contrast @ dec))
            rate_gap = float(contrast @ _favourable(dec, fav))

        self.classes_, self.pos_label_ = classes, pos
        self.coef_ = coef.reshape(1, -1)
        self.intercept_ = np.array([intercept])
        if data.groups is not None:
            codes, k = data.groups.codes, len(self.groups_)
            in_unpriv = np.bincount(codes, weights=unpriv, minlength=k)
            whole = (in_unpriv == 0) | (in_unpriv == np.bincount(codes, minlength=k))
            if whole.all():  # else a callable split a group: no per-group mask exists
                self.privileged_groups_ = in_unpriv == 0
        self.epsilon_ = float(sol.epsilon)
        self.score_gap_ = score_gap
        self.train_rate_gap_ = self.sep_gap_ = rate_gap
        self.lagrange_multiplier_ = float(sol.dual)
        self.solver_ = program.solver
        self.solver_status_ = program.status
        self.n_samples_solved_ = int(program.rows)
        self.fit_time_ = fit_time
        self.n_iter_ = int(program.n_iter)
        self.n_solves_ = int(program.n_solves)
        if not met:
            warnings.warn(
                f"SEPConstrainedClassifier: epsilon={self.epsilon!r} with bound_unit='rate' "
                "could not be met by a non-constant model on the training data (a constant "
                "predictor meets any rate bound trivially and is not returned). The model "
                f"with the smallest training rate gap found is returned: "
                f"{rate_gap:+.4f} at a mean-score bound epsilon_={self.epsilon_:g}. The "
                "program bounds mean scores, which moves the selection rates only as far as "
                "the features allow: use a larger epsilon.",
                UserWarning,
                stacklevel=3,
            )
        self._warn_degenerate(dec, y, classes, sw)
        return self

    def _solve(self, Xm, y, sw, classes, fav, target, reference):
        """Scale, build the program and solve it for the bound in ``bound_unit``."""
        # Scale non-binary columns (weighted), so that the program is well conditioned.
        d = Xm.shape[1]
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
        # the same difference of weighted means for one column, as one dot product
        contrast = sw * reference / sw[reference].sum() - sw * target / sw[target].sum()
        yb = np.where(y == classes[1], 1.0, -1.0)
        program = make_program(self, Xs, yb, sw, a, target, reference)
        if self.bound_unit == "score":
            return program.solve(float(self.epsilon)), True, program, contrast, mean, scale

        def measure(sol):
            """Training gap of favourable selection rates of the hard predictions, and
            whether they are all one class."""
            hard = _favourable(Xs @ sol.w + sol.b, fav)
            return float(contrast @ hard), bool(np.ptp(hard) == 0)

        sol, met = search_rate_bound(program, float(self.epsilon), measure)
        return sol, met, program, contrast, mean, scale

    def _warn_degenerate(self, dec, y, classes, sw):
        """ConstantFitWarning for a constant fit (the layer's rule), or for a nearly constant
        one that the active constraint caused (fewer than ``_NEAR_CONSTANT_SHARE`` of the
        training weight in the less predicted class, while at least
        ``_NEAR_CONSTANT_LABELS`` of it has that label)."""
        if self.bound_unit == "rate":
            advice = (
                f"With bound_unit='rate', epsilon={self.epsilon!r} bounds the training "
                "selection-rate gap and the fit constrains only as far as needed to meet it; "
                "on these data that leaves a (nearly) constant predictor: use a larger "
                "epsilon."
            )
        else:
            advice = (
                "With bound_unit='score', epsilon bounds the mean decision-score gap (log-odds "
                "units for the logistic loss), whose scale depends on the data: use "
                "bound_unit='rate' (epsilon is then a selection-rate gap), a larger epsilon "
                "(numpy.inf removes the constraint) or a larger C, chosen on held-out data."
            )
        params = ("epsilon", "bound_unit", "constraint", "C")
        positive = dec > 0
        if warn_if_constant(
            self, dec, y=y, predictions=classes[positive.astype(int)], sample_weight=sw,
            params=params, advice=advice, stacklevel=5,
        ):
            return
        total = sw.sum()
        share = float(sw @ positive.astype(np.float64) / total)  # predicted classes[1]
        labels = float(sw @ (y == classes[1]).astype(np.float64) / total)
        major = int(share > 0.5)  # the class predicted for most rows, and its shares
        pred_other = 1 - share if major else share
        label_other = 1 - labels if major else labels
        if (self.lagrange_multiplier_ != 0 and pred_other < _NEAR_CONSTANT_SHARE
                and label_other >= _NEAR_CONSTANT_LABELS):
            label = classes[major]
            label = label.item() if isinstance(label, np.generic) else label
            values = self.get_params(deep=False)
            shown = ", ".join(f"{p}={values[p]!r}" for p in params)
            warnings.warn(
                f"SEPConstrainedClassifier: the fit ended with a nearly constant model: the "
                f"constraint is active and it predicts class {label!r} for "
                f"{100 * (1 - pred_other):.2f}% of the (weighted) training rows, "
                f"although {100 * label_other:.1f}% of the labels are the other class. "
                f"Parameter(s) that can cause this: {shown}. {advice}",
                ConstantFitWarning,
                stacklevel=4,
            )

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
