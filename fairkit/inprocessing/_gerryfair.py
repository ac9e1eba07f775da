"""GerryFair: rich-subgroup fair classification by fictitious play (Kearns et al. 2018)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from .._validation import check_weights_nonnegative
from ..base import FairClassifierMixin, FairEstimatorMixin, warn_if_constant
from ..metrics.subgroups import Auditor, LeastSquares, attribute_matrix
from ..utils._docstring import fair_docstring
from ..utils._outputs import labels_from01, proba_columns
from ..utils._threads import single_blas_thread

__all__ = ["GerryFairClassifier"]


class _LinearLearner:
    """The learner's cost-sensitive oracle with least squares: one regression per cost
    vector, label 1 where the predicted cost of 1 is below that of 0. The design is
    factorised once; a zero cost vector (always one of the two) fits exactly zero."""

    def __init__(self, X, sample_weight):
        self.ls = LeastSquares(X, sample_weight)
        self.coefs, self.intercepts = [], []

    def best_response(self, c0, c1, zero):
        # regress the cost difference c1 - c0 (one of them is exactly zero): label 1
        # where the fitted difference is negative
        coef, intercept = self.ls.fit(c1 if zero == 0 else -c0)
        self.coefs.append(coef)
        self.intercepts.append(intercept)
        return (self.ls.predict(coef, intercept) < 0).astype(np.int64)


class _RegressorLearner:
    """The learner's oracle with any scikit-learn regressor (two fits per round)."""

    def __init__(self, X, sample_weight, predictor):
        self.X, self.sw, self.predictor = X, sample_weight, predictor
        self.estimators = []

    def _fit(self, c):
        reg = clone(self.predictor)
        if self.sw is None:
            return reg.fit(self.X, c)
        return reg.fit(self.X, c, sample_weight=self.sw)

    def best_response(self, c0, c1, zero):
        r0, r1 = self._fit(c0), self._fit(c1)
        self.estimators.append((r0, r1))
        return (r1.predict(self.X) < r0.predict(self.X)).astype(np.int64)


@fair_docstring
class GerryFairClassifier(FairEstimatorMixin, FairClassifierMixin, ClassifierMixin, BaseEstimator):
    r"""Classifier fair over rich subgroups, by fictitious play (GerryFair / FairFictPlay).

    Kearns, Neel, Roth and Wu [1]_ constrain the false-positive (or false-negative) rate
    of every subgroup :math:`g` defined by a linear threshold over the protected
    attributes: minimise the error of a randomised classifier :math:`D` subject to

    .. math::

        \alpha(g)\, \lvert \mathrm{FP}(D, g) - \mathrm{FP}(D) \rvert \le \gamma
        \quad \text{for every } g,

    with :math:`\alpha(g)` the share of rows with :math:`y = 0` in :math:`g` (see
    :func:`fairkit.metrics.rich_subgroup`). The Lagrangian game is played by a *learner*,
    who best-responds to the current costs with a cost-sensitive classifier (two least-squares
    regressions of the costs of labelling 0 and 1 on the features, label 1 where the
    predicted cost of 1 is lower), and an *auditor*, who best-responds to the learner's
    average classifier with the most violated subgroup (a least-squares regression on the
    protected attributes). At round :math:`t` the costs of labelling 1 a row with
    :math:`y = 0` (FP) are

    .. math::

        c_1(i) = \frac1n + \frac1t \sum_{s \le t} \lambda_s \frac{C}{n}
        \bigl(\alpha_s - g_s(a_i)\bigr)\, \mathrm{sign}_s,

    with :math:`g_s` the subgroup found at round :math:`s`, :math:`\alpha_s` its share of
    the :math:`y = 0` rows, :math:`\mathrm{sign}_s` the direction of its disparity, and
    :math:`\lambda_s = 0` when its violation is below ``gamma`` (rows with :math:`y = 1`
    cost :math:`-1/n`; for FN the costs of labelling 0 a row with :math:`y = 1`). The
    fitted model is the uniform mixture of the learner's classifiers: ``predict_proba``
    is the share of them that predict 1 and ``predict`` thresholds it at 1/2, as AIF360's
    ``GerryFairClassifier.predict``.

    Parameters
    ----------
    C : float, default=10
        Bound on the L1 norm of the dual variables (the weight of a subgroup's violation
        in the learner's costs).
    gamma : float, default=0.01
        Tolerated violation: subgroups with a smaller one get no cost, and fitting stops
        early when the violation stays below it.
    max_iters : int, default=10
        Horizon of the play: ``max_iters - 1`` rounds (AIF360's count).
    fairness_def : {"FP", "FN"}, default="FP"
        False-positive or false-negative rates.
    predictor : regressor or None, default=None
        The learner's regression oracle. None is ordinary least squares with an
        intercept (AIF360's default ``LinearRegression()``, computed here from one
        factorisation of the features); any scikit-learn regressor is cloned twice per
        round.
    {prot_attr}
        The protected attributes define the subgroups (numeric ones as they are, others as
        one indicator per level). Columns of ``X`` stay features of the learner, as in
        AIF360.
    early_termination : bool, default=True
        Stop after at least 5 rounds when the error or the violation repeats its previous
        value and the violation is below ``gamma``.
    {pos_label}

    Attributes
    ----------
    errors_ : ndarray of shape (n_iter_,)
        Training error of the mixture after each round.
    fairness_violations_ : ndarray of shape (n_iter_,)
        Violation :math:`\gamma` of the subgroup the auditor found after each round.
    n_iter_ : int
        Rounds played (classifiers in the mixture).
    coef_ : ndarray of shape (n_iter_, n_features)
        With ``predictor=None``: classifier :math:`t` predicts 1 where
        ``X @ coef_[t] + intercept_[t] < 0`` (the fitted cost difference
        :math:`c_1 - c_0`).
    intercept_ : ndarray of shape (n_iter_,)
    estimators_ : list of (regressor, regressor)
        With a ``predictor``: the fitted cost regressions (cost of 0, cost of 1) of each
        classifier.
    subgroup_ : RichSubgroup
        The subgroup found in the last round (its linear definition over
        ``subgroup_.attribute_names``).
    classes_ : ndarray of shape (2,)
    pos_label_ : scalar
    prot_attr_names_ : list of str
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Notes
    -----
    AIF360's ``Auditor.update_costs`` (0.6.1, and the authors' repository) resets its row
    index inside the loop, so every row receives the subgroup cost of the *first*
    audited row: the penalty becomes the same constant for all rows and cannot move any
    subgroup. Here each row gets its own membership, as the paper's update states; with
    that one correction fairkit reproduces AIF360's errors, violations and predictions.
    The other steps follow AIF360: the learner's features are all columns of ``X``
    (protected ones included), the soft predictions on the training rows are the running
    average of the classifiers, and the mixture predicts 1 where at least half of them do.

    There is no randomness (the mixture is averaged, not sampled). ``sample_weight``
    weights every term (costs, error, rates, sizes and both regressions), so integer
    weights equal repeated rows.

    References
    ----------
    .. [1] M. Kearns, S. Neel, A. Roth, Z. S. Wu, "Preventing Fairness Gerrymandering:
       Auditing and Learning for Subgroup Fairness", ICML 2018 (arXiv:1711.05144).
    .. [2] M. Kearns, S. Neel, A. Roth, Z. S. Wu, "An Empirical Study of Rich Subgroup
       Fairness for Machine Learning", FAT* 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import GerryFairClassifier
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, (500, 2)); x = rng.normal(size=500) + a.sum(1)
    >>> y = (x + rng.normal(size=500) > 1).astype(int)
    >>> clf = GerryFairClassifier(prot_attr=[0, 1]).fit(np.c_[a, x], y)
    >>> clf.predict_proba(np.c_[a, x]).shape
    (500, 2)
    """

    _parameter_constraints = {
        "C": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "max_iters": [Interval(Integral, 2, None, closed="left")],
        "fairness_def": [StrOptions({"FP", "FN"})],
        "predictor": [None, HasMethods(["fit", "predict"])],
        "prot_attr": "no_validation",
        "early_termination": ["boolean"],
        "pos_label": "no_validation",
    }

    def __init__(
        self,
        C=10,
        gamma=0.01,
        max_iters=10,
        fairness_def="FP",
        predictor=None,
        *,
        prot_attr=None,
        early_termination=True,
        pos_label=None,
    ):
        self.C = C
        self.gamma = gamma
        self.max_iters = max_iters
        self.fairness_def = fairness_def
        self.predictor = predictor
        self.prot_attr = prot_attr
        self.early_termination = early_termination
        self.pos_label = pos_label

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Play the learner against the auditor for ``max_iters - 1`` rounds.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features (the ``prot_attr`` columns among them).
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like or DataFrame, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr`` (then
            they define the subgroups without being features).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; a weighted fit equals a fit on repeated rows.

        Returns
        -------
        self
        """
        self._validate_params()
        with warnings.catch_warnings():
            # the subgroups are half-spaces of the raw values, not the cells of their
            # levels: the advice to bin a many-valued numeric attribute does not apply
            warnings.filterwarnings(
                "ignore", message=".*distinct values, so it makes", category=UserWarning
            )
            data = self._validate_fair_data(
                X,
                y,
                sensitive_features=sensitive_features,
                sample_weight=sample_weight,
                reset=True,
                protected="values",
                min_groups=1,
                features="numeric",
                target="binary",
                pos_label=self.pos_label,
            )
        Xd, y01 = data.X, data.y.astype(np.float64)
        sw = data.sample_weight
        if sw is not None:
            check_weights_nonnegative(self, sw, positive_sum=True)
            if self.predictor is not None and not has_fit_parameter(
                self.predictor, "sample_weight"
            ):
                raise ValueError(
                    f"GerryFairClassifier: predictor={self.predictor!r} does not accept "
                    "sample_weight in fit, so a weighted fit cannot weight the learner; use "
                    "a regressor that does, or predictor=None (least squares)."
                )
            for label in (0, 1):
                if not sw[y01 == label].sum() > 0:
                    name = labels_from01(self.classes_, self.pos_label_, np.array([label]))[0]
                    name = name.item() if isinstance(name, np.generic) else name
                    raise ValueError(
                        "GerryFairClassifier: sample_weight is zero on every row of class "
                        f"{name!r}; both classes need positive weight."
                    )
        A, names = attribute_matrix(data.protected.values, name="prot_attr")
        with single_blas_thread():
            self._play(Xd, y01, A, sw, names)
        proba = self._mixture(Xd)
        warn_if_constant(
            self,
            proba,
            y=labels_from01(self.classes_, self.pos_label_, y01 == 1),
            predictions=labels_from01(self.classes_, self.pos_label_, proba >= 0.5),
            sample_weight=sw,
            params=("C", "gamma"),
            advice="Try a smaller C or a larger gamma, chosen on held-out data.",
        )
        return self

    def _play(self, X, y, A, sw, names):
        fp = self.fairness_def == "FP"
        n = float(len(y)) if sw is None else float(sw.sum())
        auditor = Auditor(A, y, self.fairness_def, sw)
        if self.predictor is None:
            learner = _LinearLearner(X, sw)
        else:
            learner = _RegressorLearner(X, sw, self.predictor)
        # costs of labelling each row 0 and 1; the one that never changes stays zero
        if fp:
            c0 = np.zeros(len(y))
            c1 = -1.0 / n * (2 * y - 1)
        else:
            c1 = np.zeros(len(y))
            c0 = 1.0 / n * (2 * y - 1)
        audited = auditor.subset
        predictions = np.zeros(len(y))
        errors, violations = [], []
        C, gamma = float(self.C), float(self.gamma)
        t = 1
        group = None
        while t < self.max_iters:
            h = learner.best_response(c0, c1, zero=0 if fp else 1)
            # the running average of the classifiers (soft predictions) and its error
            mix = np.multiply((t - 1.0) / t, predictions)
            mix += np.multiply(1.0 / t, h)
            predictions = mix
            gap = np.abs(predictions - y)
            error = gap.mean() if sw is None else np.average(gap, weights=sw)
            group = auditor.audit(predictions)
            members = group._members_sub
            share = (members.sum() if sw is None else auditor.sw_sub[members].sum()) * (
                1.0 / auditor.m
            )
            # the auditor's best response enters the averaged costs of the audited rows
            if np.abs(group.disparity) < gamma:
                new = 0
            else:
                new = (1.0 / n) * group.direction * C * (1.0 / t) * (share - members)
            cost = c1 if fp else c0
            cost[audited] = (cost[audited] - 1.0 / n) * ((t - 1.0) / t) + new + 1.0 / n
            cost[~audited] = -1.0 / n
            errors.append(float(error))
            violations.append(group.disparity)
            t += 1
            if (
                self.early_termination
                and len(errors) >= 5
                and (errors[-1] == errors[-2] or violations[-1] == violations[-2])
                and violations[-1] < gamma
            ):
                break
        self.errors_ = np.asarray(errors)
        self.fairness_violations_ = np.asarray(violations)
        self.n_iter_ = len(errors)
        group.membership = auditor.members(group)
        group.attribute_names = names
        del group._members_sub
        self.subgroup_ = group
        if self.predictor is None:
            self.coef_ = np.asarray(learner.coefs)
            self.intercept_ = np.asarray(learner.intercepts)
            self.__dict__.pop("estimators_", None)
        else:
            self.estimators_ = learner.estimators
            for name in ("coef_", "intercept_"):
                self.__dict__.pop(name, None)

    def _classifier_outputs(self, X):
        if self.predictor is None:
            # one matrix-vector product per classifier, as in fit (the same rounding)
            return [
                (X @ coef + b < 0).astype(np.int64)
                for coef, b in zip(self.coef_, self.intercept_, strict=True)
            ]
        return [(r1.predict(X) < r0.predict(X)).astype(np.int64) for r0, r1 in self.estimators_]

    def _mixture(self, X):
        # the share of classifiers predicting 1, summed in order (AIF360's predict)
        outputs = self._classifier_outputs(X)
        total = len(outputs)
        y_hat = None
        for h in outputs:
            part = h / total
            y_hat = part if y_hat is None else np.add(y_hat, part)
        return y_hat

    def _input(self, X, sensitive_features):
        data = self._validate_fair_data(X, reset=False, protected="none", features="numeric")
        return data.X

    def predict_proba(self, X, *, sensitive_features=None):
        """Probability of each class under the uniform mixture of the classifiers.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Not needed (the classifiers read ``X`` only); accepted for a uniform
            interface.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns ordered as ``classes_``.
        """
        check_is_fitted(self, "n_iter_")
        p = self._mixture(self._input(X, sensitive_features))
        return proba_columns(self.classes_, self.pos_label_, p)

    def predict(self, X, *, sensitive_features=None):
        """Favourable label where at least half of the classifiers predict it.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None
            Not needed; accepted for a uniform interface.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "n_iter_")
        p = self._mixture(self._input(X, sensitive_features))
        return labels_from01(self.classes_, self.pos_label_, p >= 0.5)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
