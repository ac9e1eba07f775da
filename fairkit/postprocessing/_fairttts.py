"""Tree Test Time Simulation (TTTS) and its fairness-aware variant FairTTTS.

Both post-process a scikit-learn decision tree or tree ensemble: at test time a sample may
take the "wrong" branch at an internal node with a small probability, and the prediction
is the expected (or Monte-Carlo averaged) leaf class distribution. FairTTTS raises that
probability for unprivileged samples headed to the unfavourable side of a split on the
protected attribute. The trees are not retrained.

The public estimators live here; their shared machinery (validation, model fitting) is in
:mod:`fairkit.postprocessing._fairttts_base` and the two engines that walk the trees
(numpy reference, compiled numba) are in :mod:`fairkit.postprocessing._fairttts_engines`.
"""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._protected import privileged_mask
from .._validation import check_priv_group, same_label
from ..base import FairClassifierMixin
from ._fairttts_base import _boosted_features, _fair_docstring, _trees_of, _TTTSBase
from ._fairttts_engines import BOOST_RULES, Simulation, _flip_probability, _ForestArrays

__all__ = ["BoostNoEffectWarning", "FairTTTSClassifier", "TTTSClassifier"]

#: Training rows (evenly spaced) on which ``fit`` checks that the boost narrows the gap.
_CHECK_ROWS = 1000
#: The check warns when the boost narrows the training gap by less than this share of it
#: (the robustness benchmark's "no move" is a held-out reduction below 10%) ...
_MIN_RELATIVE_MOVE = 0.10
#: ... and the gap of plain TTTS exceeds this (a smaller gap leaves nothing to move).
_MIN_GAP = 0.02


class BoostNoEffectWarning(UserWarning):
    """The FairTTTS boost cannot act, or barely narrows the gap between the groups'
    favourable-decision rates on the training rows (see :class:`FairTTTSClassifier`)."""


@_fair_docstring
class TTTSClassifier(_TTTSBase):
    r"""Tree Test Time Simulation (TTTS) for a fitted decision tree or tree ensemble.

    At every internal node :math:`k` (feature :math:`j_k`, threshold :math:`t_k`) a sample
    normally goes left iff :math:`x_{j_k} \le t_k`; under TTTS it takes the other branch with
    probability :math:`p_k(x)`. The prediction is the expected leaf class distribution,

    .. math::

        \hat P(y \mid x) = \frac{1}{T} \sum_{t=1}^{T} \sum_{\ell \in \mathrm{leaves}(t)}
            \pi_\ell(x)\, v_\ell, \qquad
        \pi_\ell(x) = \prod_{k \in \mathrm{path}(\ell)} q_k(x),

    where :math:`v_\ell` is the leaf's class-fraction vector, :math:`T` the number of trees
    and :math:`q_k(x)` is :math:`1-p_k(x)` on the default branch and :math:`p_k(x)` on the
    other one. ``method="exact"`` computes this sum by pushing reach probabilities
    :math:`\pi` down the trees (by default branches whose reach is at most ``tol=5e-3``
    are not walked and take their node's class fractions, within 0.01 of the sum on
    average; ``tol=0`` is the exact sum); ``method="sample"`` averages ``n_simulations``
    Monte-Carlo traversals per tree, as in the paper.

    Flip-probability rules (``prob_type``); ``p_max`` scales every rule so that the default
    ``p_max=0.1`` gives exactly the constants of the TTTS paper and ``p_max=0`` gives the
    untreated model:

    ============  =====================================================  ===============
    rule          :math:`p_k(x)` before the cap at 0.5                    at p_max = 0.1
    ============  =====================================================  ===============
    fixed         :math:`p_{max}/2`                                       0.05
    depth         :math:`\min(d_k\, p_{max}/2,\ 2 p_{max})`               min(0.05 d, 0.2)
    agreement     :math:`\min(1 - m_k,\ 5 p_{max})`                       min(1 - m, 0.5)
    confidence    :math:`\max(p_{max} - |x_j - \mu_j| / \sigma_j,\ 0)`
    distance      :math:`\max(p_{max} - |x_j - t_k| / D,\ 0)`
    ============  =====================================================  ===============

    With ``distance_scale="feature"`` the distance rule is instead
    :math:`\max(p_{max} - \hat F_j(x_j, t_k),\ 0)`, :math:`\hat F_j(x_j, t_k)` the
    (``sample_weight``-weighted) fraction of the rows passed to ``fit`` whose feature
    :math:`j` lies strictly between :math:`x_j` and :math:`t_k`: unlike the paper's
    :math:`D`, it does not depend on how the features are scaled.

    :math:`d_k` is the node depth (root 0), :math:`m_k` the majority-class fraction at the
    node, :math:`\mu_j, \sigma_j` the mean and standard deviation of feature :math:`j` on
    the data passed to ``fit`` (weighted by ``sample_weight``; the reference code uses the
    batch being predicted, which makes a prediction depend on the other rows), and
    :math:`D = \max_k |t_k|` over the tree's internal nodes.

    Parameters
    ----------
    {tree_estimator}
    {ttts_params}

    Attributes
    ----------
    estimator_ : estimator
        The fitted tree model (the given one if ``prefit``, else a fitted clone).
    classes_ : ndarray
        Class labels.
    arrays_ : object
        The trees' node arrays the engines read.
    feature_mean_, feature_scale_ : ndarray of shape (n_model_features,)
        Mean and standard deviation (plus 1e-9; 1 for a constant feature) of each input
        feature of the tree model on the data passed to ``fit`` (``"confidence"`` rule).
    feature_cdf_ : list of (ndarray, ndarray) or None
        With ``prob_type="distance"`` and ``distance_scale="feature"``: per input feature
        of the tree model, its distinct values on the data passed to ``fit`` and the
        weighted fraction of rows at or below each; None otherwise.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    Notes
    -----
    ``X`` must be numeric when ``estimator`` is a bare tree model (a string column is
    refused with an error naming it); a Pipeline receives ``X`` as given and encodes it.

    See Also
    --------
    FairTTTSClassifier : TTTS with a fairness boost for unprivileged samples.

    References
    ----------
    .. [1] S. Cohen, O. Arbili, Y. Mirsky, L. Rokach, "TTTS: Tree Test Time Simulation for
       Enhancing Decision Tree Robustness Against Adversarial Examples", AAAI 2024.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from fairkit.postprocessing import TTTSClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = TTTSClassifier(DecisionTreeClassifier(max_depth=3, random_state=0)).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> untreated = TTTSClassifier(clf.estimator_, p_max=0.0, prefit=True).fit(X, y)
    >>> bool((untreated.predict_proba(X) == clf.estimator_.predict_proba(X)).all())
    True
    """

    def __init__(
        self,
        estimator=None,
        *,
        p_max=0.1,
        prob_type="distance",
        distance_scale="paper",
        method="exact",
        n_simulations=100,
        tol=5e-3,
        prefit=False,
        random_state=None,
        engine="auto",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.p_max = p_max
        self.prob_type = prob_type
        self.distance_scale = distance_scale
        self.method = method
        self.n_simulations = n_simulations
        self.tol = tol
        self.prefit = prefit
        self.random_state = random_state
        self.engine = engine
        self.n_jobs = n_jobs

    def fit(self, X, y=None, *, sample_weight=None, **fit_params):
        """Fit (or, with ``prefit=True``, wrap) the tree model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional when ``prefit=True``
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows: passed to the tree model's ``fit`` (to the last
            step of a Pipeline) unless ``prefit``, and used for the feature means and standard
            deviations of the ``"confidence"`` rule. With a deterministic tree model a fit with
            integer weights equals the fit on rows repeated by those weights.
        **fit_params : dict
            Passed to the estimator's ``fit`` (refused with ``prefit=True``).

        Returns
        -------
        self
        """
        self._validate_params()
        data = self._validate(X, y, sample_weight=sample_weight, reset=True)
        _, model = self._fit_common(X, data, fit_params)
        self.arrays_ = _ForestArrays(_trees_of(model), None)
        return self

    def predict_proba(self, X):
        """Expected class distribution under test-time simulation.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._simulate(self._predict_matrix(X))

    def predict(self, X):
        """Class with the highest :meth:`predict_proba` (ties go to the first class).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@_fair_docstring
class FairTTTSClassifier(FairClassifierMixin, TTTSClassifier):
    r"""FairTTTS: fairness-aware tree test-time simulation for fitted trees and forests.

    TTTS (see :class:`TTTSClassifier`, whose parameters and rules it shares) plus a
    fairness boost for unprivileged samples at the splits on a protected feature. Write
    :math:`V_c(x)` for the class distribution sample :math:`x` gets, under this very
    simulation, from the subtree of child :math:`c` (computed bottom up, so boosts further
    down are included) and :math:`f_c(x)` for its favourable-class (``pos_label``) entry.
    At a protected split :math:`k` where an unprivileged sample's default child is
    :math:`d` and the other child :math:`o`, the flip probability is

    .. math::

        q_k(x) = \begin{cases} \min(\alpha\, p_k(x),\ 0.5) & \text{if } f_o(x) > f_d(x)\\
                               p_k(x) & \text{otherwise,} \end{cases}
        \qquad V_k(x) = (1 - q_k)\, V_d(x) + q_k\, V_o(x).

    So the boost always pushes the sample towards the child that is better *for this
    sample* (``boost_rule="row"``, the default). Since :math:`q_k \ge p_k` only when
    :math:`f_o > f_d`, induction from the leaves gives, for :math:`\alpha \ge 1` and every
    unprivileged sample, favourable probability :math:`\ge` plain TTTS (``alpha=1``), in
    exact mode to rounding (with ``tol > 0``, up to the reach of the branches not
    walked) and in sample mode in expectation; privileged samples get
    exactly plain TTTS. For :math:`\alpha < 1` the inequality reverses. Hard predictions
    follow: an unprivileged sample can only switch to the favourable class, so the
    unprivileged favourable rate never falls and disparate impact (unprivileged over
    privileged rate) never decreases, which moves it towards 1 exactly when it starts
    below 1 and :math:`\alpha` does not overshoot past parity; when the unprivileged group
    already has the higher rate, the boost moves it away from 1. Relative to the
    *untreated* model there is no such guarantee: the TTTS smoothing itself (``alpha=1``)
    can move either group's rate.

    ``boost_rule="node"`` is the papers' rule: :math:`U_k` is the child whose own class
    fractions give ``pos_label`` the smaller weight (on a tie there is none), one choice
    per node for every sample, and an unprivileged sample whose default child is
    :math:`U_k` gets :math:`\min(\alpha p_k, 0.5)`. It differs from the per-row rule
    when the sample's own path below the split does not follow the node averages (both
    children mixed, the sample's leaf under :math:`U_k` more favourable than the one it
    would reach under the other child): the boost then lowers that sample's favourable
    probability. On held-out data this happened for about a tenth of the unprivileged
    rows of Adult forests and moved disparate impact away from 1 on some forests.

    Cost of the per-row rule: an unprivileged sample's subtree values are needed at each
    protected split, so exact mode walks its trees bottom up (the same branches as the
    top-down walk with ``tol=0``; with ``tol > 0`` a branch is walked when its largest
    possible reach, boosted or not, exceeds ``tol``), and sample mode computes, once per
    sample, tree and protected split reached, the exact values of both children (with
    ``tol=0``) before drawing.

    With a 0/1 protected feature (threshold 0.5) and the distance rule,
    :math:`p_k = 0.1 - 0.5/D` which, for large :math:`D`, is boosted to the 0.5 cap: an
    unprivileged sample that the boost favours goes either way with probability 1/2.
    ``alpha=1`` is plain TTTS.

    That holds for raw features only: :math:`D` is the largest threshold in the tree, so on
    standard-scaled features (:math:`D` of a few units) :math:`p_k = 0` at every 0/1 split
    and the boost changes nothing. ``distance_scale="feature"`` (a departure from the
    paper) measures :math:`|x_j - t_k|` as the fraction of fit rows between :math:`x_j` and
    :math:`t_k`, which is invariant to the scaling of each feature and gives
    :math:`p_k = p_{max}` at a 0/1 split; the default ``"paper"`` keeps the paper's rule.
    When the boost cannot act (every base flip probability at the protected splits is 0
    for the values seen in ``fit``, or no split there can favour a child: under ``"row"``
    every leaf below it has the same favourable fraction, under ``"node"`` its two
    children have) ``fit`` warns, naming ``alpha`` and ``p_max``.

    The boost only reroutes unprivileged rows at the splits on the protected feature; the
    part of a gap that the trees build from other features (proxies, or labels that
    differ by group) is out of its reach, and with ``alpha`` above about
    :math:`0.5 / p_k` the boosted probability already sits at the 0.5 cap, so a larger
    ``p_max`` or ``alpha`` does not strengthen it at those splits. ``fit`` therefore
    checks the effect on the training rows (up to 1,000, evenly spaced; exact mode with
    ``max(tol, 1e-2)``): the favourable-decision rate of every group under plain TTTS
    and under the boost. When the largest gap between two groups exceeds 0.02 and the
    boost narrows it by less than 10% of itself, ``fit`` raises a
    :class:`BoostNoEffectWarning` giving both gaps and, when an unprivileged group
    already has a rate at or above the privileged one (``priv_group`` may then not name
    the advantaged group, and the boost widens the gap), that group. ``training_gap_``
    records the two gaps.

    Which samples are unprivileged: those whose protected group does not match
    ``priv_group`` (or, if ``unpriv_group`` is given instead, those that match it). With
    several protected attributes (``prot_attr=["sex", "race"]``) groups are intersectional
    tuples such as ``("Female", "Black")``; ``priv_group`` / ``unpriv_group`` may list
    several tuples or use ``None`` wildcards (``("Male", None)``). The boost then applies
    at every split on any of the protected features.

    Which tree features are protected (``boosted_features_``): when ``estimator`` is a bare
    tree model and ``prot_attr`` names columns of ``X``, those columns. Otherwise (a
    Pipeline that encodes the attribute, or an attribute routed as ``sensitive_features``):
    every input feature of the tree model that, on the data passed to ``fit``, is a
    non-constant function of the protected group (e.g. the one-hot columns of ``sex``).
    If no tree splits on a protected feature, FairTTTS equals TTTS and a warning says so.

    Parameters
    ----------
    {tree_estimator}
    {prot_attr}
    {priv_group}
        The boost goes to every other group. FairTTTS needs to know who is unprivileged:
        give this or ``unpriv_group`` (exactly one).
    unpriv_group : label or list of labels, default=None
        Unprivileged group(s), in the form of ``priv_group``; every other group is
        privileged.
    {pos_label}
        With more than two classes, None means the last of ``classes_``.
    alpha : float >= 0, default=9.0
        Boost factor (paper: 9); ``alpha=1`` is plain TTTS.
    boost_rule : {"row", "node"}, default="row"
        Which child of a protected split the boost favours: ``"row"`` the child through
        which the sample gets the higher favourable probability (never lowers it for
        ``alpha >= 1``); ``"node"`` the papers' per-node choice from the children's class
        fractions (see above for where they differ).
    {ttts_params}

    Attributes
    ----------
    estimator_ : estimator
    classes_ : ndarray
    pos_label_ : scalar
        The favourable class.
    groups_ : list
        Group labels seen in ``fit``, in code order.
    prot_attr_names_ : list of str
        Names of the protected attributes.
    privileged_groups_ : ndarray of bool
        Which of ``groups_`` are privileged; the others get the boost.
    boosted_features_ : ndarray of int
        Input features of the tree model treated as protected: splits on them get the
        boost.
    protected_split_ : ndarray of bool
        Internal nodes (over all trees, in the order of ``arrays_``) that split on one of
        ``boosted_features_``.
    n_protected_splits_ : int
        Number of such nodes.
    training_gap_ : tuple of (float, float) or None
        Largest difference between two groups' favourable-decision rates on the training
        rows checked by ``fit``, under plain TTTS (``alpha=1``) and under the boost; None
        when the check did not run (``alpha=1``, ``p_max=0``, or the boost cannot act).
    arrays_, feature_mean_, feature_scale_, feature_cdf_, n_features_in_, feature_names_in_
        As in :class:`TTTSClassifier`.

    See Also
    --------
    TTTSClassifier : the same simulation without the fairness boost.

    References
    ----------
    .. [1] N. Cohen-Inger, L. Rokach, B. Shapira, S. Cohen, "FairTTTS: A Tree Test Time
       Simulation Method for Fairness-Aware Classification", arXiv:2501.08155, 2025.
    .. [2] S. Cohen, O. Arbili, Y. Mirsky, L. Rokach, "TTTS: Tree Test Time Simulation for
       Enhancing Decision Tree Robustness Against Adversarial Examples", AAAI 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from fairkit.postprocessing import FairTTTSClassifier, TTTSClassifier
    >>> rng = np.random.default_rng(0)
    >>> sex = rng.integers(0, 2, 400)
    >>> income = 1000 * rng.normal(size=400)
    >>> X = np.column_stack([sex, income])
    >>> y = (income / 1000 + sex + rng.normal(scale=0.5, size=400) > 0.5).astype(int)
    >>> tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    >>> fair = FairTTTSClassifier(tree, prot_attr=0, priv_group=1, prefit=True).fit(X)
    >>> p_fair = fair.predict_proba(X)[:, 1]
    >>> p_ttts = TTTSClassifier(tree, prefit=True).fit(X).predict_proba(X)[:, 1]
    >>> bool(p_fair[sex == 0].mean() > p_ttts[sex == 0].mean())
    True
    """

    _parameter_constraints: dict = {
        **_TTTSBase._parameter_constraints,
        "prot_attr": "no_validation",
        "priv_group": "no_validation",
        "unpriv_group": "no_validation",
        "pos_label": "no_validation",
        "alpha": [Interval(Real, 0, None, closed="left")],
        "boost_rule": [StrOptions(set(BOOST_RULES))],
    }

    _protected_kind = "groups"

    def __init__(
        self,
        estimator=None,
        *,
        prot_attr=None,
        priv_group=None,
        unpriv_group=None,
        pos_label=None,
        alpha=9.0,
        boost_rule="row",
        p_max=0.1,
        prob_type="distance",
        distance_scale="paper",
        method="exact",
        n_simulations=100,
        tol=5e-3,
        prefit=False,
        random_state=None,
        engine="auto",
        n_jobs=None,
    ):
        super().__init__(
            estimator,
            p_max=p_max,
            prob_type=prob_type,
            distance_scale=distance_scale,
            method=method,
            n_simulations=n_simulations,
            tol=tol,
            prefit=prefit,
            random_state=random_state,
            engine=engine,
            n_jobs=n_jobs,
        )
        self.prot_attr = prot_attr
        self.priv_group = priv_group
        self.unpriv_group = unpriv_group
        self.pos_label = pos_label
        self.alpha = alpha
        self.boost_rule = boost_rule

    def _check_group_params(self):
        check_priv_group(self, "to know which samples get the fairness boost",
                         alternative="unpriv_group")
        if self.priv_group is not None and self.unpriv_group is not None:
            raise ValueError(
                "Give exactly one of priv_group and unpriv_group (got "
                f"priv_group={self.priv_group!r}, unpriv_group={self.unpriv_group!r})."
            )

    def fit(self, X, y=None, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit (or wrap) the tree model and record the protected groups.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional when ``prefit=True``
        sensitive_features : array-like of shape (n_samples,) or (n_samples, k), default=None
            Protected attribute(s) given apart from ``X``; used when ``prot_attr`` is None.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows: passed to the tree model's ``fit`` (to the last
            step of a Pipeline) unless ``prefit``, and used for the feature means and standard
            deviations of the ``"confidence"`` rule. With a deterministic tree model a fit with
            integer weights equals the fit on rows repeated by those weights.
        **fit_params : dict
            Passed to the estimator's ``fit`` (refused with ``prefit=True``).

        Returns
        -------
        self
        """
        self._validate_params()
        self._check_group_params()
        data = self._validate(X, y, sensitive_features=sensitive_features,
                              sample_weight=sample_weight, reset=True)
        Z, model = self._fit_common(X, data, fit_params)
        if self.unpriv_group is not None:
            try:
                unprivileged = privileged_mask(data.groups, self.unpriv_group)
            except ValueError as exc:  # the shared message names priv_group
                raise ValueError(str(exc).replace("priv_group", "unpriv_group")) from None
            self.privileged_groups_ = ~unprivileged
        else:
            self.privileged_groups_ = privileged_mask(data.groups, self.priv_group)
        pos_label = self.classes_[-1] if self.pos_label is None else self.pos_label
        matches = [i for i, c in enumerate(self.classes_) if same_label(c, pos_label)]
        if not matches:
            raise ValueError(
                f"pos_label={self.pos_label!r} is not one of the classes "
                f"{list(self.classes_)!r}."
            )
        self.pos_label_ = self.classes_[matches[0]]
        self.boosted_features_ = _boosted_features(self.estimator_, Z, data)
        self.arrays_ = _ForestArrays(_trees_of(model), matches[0])
        self.protected_split_ = self.arrays_.splits_on(self.boosted_features_)
        self.n_protected_splits_ = int(self.protected_split_.sum())
        self.training_gap_ = None
        if self.n_protected_splits_ == 0:
            warnings.warn(
                f"No tree of the model splits on the protected feature(s) "
                f"{self.boosted_features_.tolist()}; FairTTTS reduces to plain TTTS.",
                BoostNoEffectWarning,
                stacklevel=2,
            )
        elif self.p_max > 0 and self.alpha != 1 and self._max_protected_flip(Z) <= 0.0:
            hint = (" Standard-scaled features make D small; distance_scale='feature' is "
                    "invariant to feature scaling."
                    if self.prob_type == "distance" and self.distance_scale == "paper" else "")
            warnings.warn(
                f"FairTTTSClassifier: the boost alpha={self.alpha!r} cannot act: at every "
                f"one of the {self.n_protected_splits_} splits on the protected feature(s) "
                f"the flip probability (prob_type={self.prob_type!r}, "
                f"distance_scale={self.distance_scale!r}, p_max={self.p_max!r}) is 0 for "
                "every value seen in fit, or the leaves below them do not differ in the "
                "favourable class (boost_rule="
                f"{self.boost_rule!r}); "
                f"predictions equal plain TTTS.{hint}",
                BoostNoEffectWarning,
                stacklevel=2,
            )
        elif self.p_max > 0 and self.alpha != 1:
            self._check_training_gap(Z, data.codes, matches[0])
        return self

    def _check_training_gap(self, Z, codes, pos_index):
        """Warn when the boost narrows the training gap in favourable rates by < 10%."""
        n = Z.shape[0]
        rows = np.unique(np.linspace(0, n - 1, min(n, _CHECK_ROWS)).round().astype(np.intp))
        Zc, cc = Z[rows], codes[rows]
        unpriv = ~self.privileged_groups_[cc]
        tol = max(float(self.tol), 1e-2)
        rates = []
        for alpha in (1.0, self.alpha):
            proba = self._simulate(Zc, unpriv, self.protected_split_, alpha,
                                   self.boost_rule, method="exact", tol=tol)
            fav = np.argmax(proba, axis=1) == pos_index
            present = np.unique(cc)
            rates.append({g: float(fav[cc == g].mean()) for g in present})
        plain, boosted = rates
        gap_plain = max(plain.values()) - min(plain.values())
        gap_boost = max(boosted.values()) - min(boosted.values())
        self.training_gap_ = (gap_plain, gap_boost)
        if not (gap_plain > _MIN_GAP and gap_plain - gap_boost < _MIN_RELATIVE_MOVE * gap_plain):
            return
        priv = [g for g in plain if self.privileged_groups_[g]]
        top_priv = max(plain[g] for g in priv) if priv else np.inf
        ahead = [self.groups_[g] for g in plain
                 if not self.privileged_groups_[g] and plain[g] >= top_priv]
        why = (f" The unprivileged group(s) {ahead!r} already have a favourable rate at or "
               "above the privileged one's, so the boost widens the gap for them: check "
               "priv_group / unpriv_group." if ahead else
               " The boost reroutes unprivileged rows only at splits on the protected "
               "feature; the rest of the gap comes from other features.")
        warnings.warn(
            f"FairTTTSClassifier: the boost alpha={self.alpha!r} (p_max={self.p_max!r}) "
            f"narrows the largest gap between the groups' favourable-decision rates on "
            f"the {rows.size} training rows checked by less than "
            f"{_MIN_RELATIVE_MOVE:.0%}: {gap_plain:.3f} under plain TTTS, "
            f"{gap_boost:.3f} with the boost.{why}",
            BoostNoEffectWarning,
            stacklevel=3,
        )

    def _max_protected_flip(self, Z):
        """Largest base flip probability at a boostable protected split over fit values.

        At each such node the candidates are the fit values nearest the threshold on both
        sides (where the distance rules peak) and nearest the feature mean (confidence).
        """
        arrays = self.arrays_
        if self.boost_rule == "row":  # some leaf below differs in favourable fraction
            can_differ = arrays.favourable_spread() > 0
        else:
            can_differ = arrays.unfavourable_left >= 0
        nodes = np.flatnonzero(self.protected_split_ & can_differ)
        if nodes.size == 0:
            return 0.0
        rows, cand_nodes = [], []
        for node in nodes:
            f = arrays.feature[node]
            col = Z[:, f].astype(np.float64)
            t = arrays.threshold[node]
            below, above = col[col <= t], col[col > t]
            cands = [np.abs(col - self.feature_mean_[f]).argmin()]
            if below.size:
                cands.append(np.flatnonzero(col == below.max())[0])
            if above.size:
                cands.append(np.flatnonzero(col == above.min())[0])
            rows.extend(cands)
            cand_nodes.extend([node] * len(cands))
        rows = np.asarray(rows, dtype=np.intp)
        cand_nodes = np.asarray(cand_nodes, dtype=np.intp)
        Zc = Z[rows]
        sim = Simulation(arrays, prob_type=self.prob_type, p_max=float(self.p_max),
                         feature_mean=self.feature_mean_, feature_scale=self.feature_scale_,
                         distance_scale=self.distance_scale, **self._rank_inputs(Zc))
        xv = Zc[np.arange(rows.size), arrays.feature[cand_nodes]].astype(np.float64)
        p = _flip_probability(sim, cand_nodes, xv, np.arange(rows.size))
        return float(p.max())

    def predict_proba(self, X, *, sensitive_features=None):
        """Expected class distribution under fairness-aware test-time simulation.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like of shape (n_samples,) or (n_samples, k), default=None
            Protected attribute(s) given apart from ``X``; used when ``prot_attr`` is None.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        # codes are those of groups_; a group unseen in fit raises naming it
        data = self._validate(X, sensitive_features=sensitive_features, reset=False)
        return self._simulate(
            self._model_matrix(data.X),
            ~self.privileged_groups_[data.codes],
            self.protected_split_,
            self.alpha,
            self.boost_rule,
        )

    def predict(self, X, *, sensitive_features=None):
        """Class with the highest :meth:`predict_proba` (ties go to the first class).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like of shape (n_samples,) or (n_samples, k), default=None
            Protected attribute(s) given apart from ``X``; used when ``prot_attr`` is None.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X, sensitive_features=sensitive_features)
        return self.classes_[np.argmax(proba, axis=1)]
