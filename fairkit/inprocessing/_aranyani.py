"""Aranyani: an oblique soft decision forest trained online with group fairness.

The model and its online step follow Basu Roy Chowdhury et al. (ICLR 2024); see
:class:`AranyaniClassifier`; the forest math is in ``_aranyani_forest``. The paper's
test-then-train protocol, :func:`prequential_evaluation`, lives in
``fairkit.model_selection._prequential`` and its plot, :func:`plot_prequential`, in
``fairkit.plotting._prequential``; both are re-exported from :mod:`fairkit.inprocessing`.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import map_to_fitted_groups, same_label
from ..base import FairEstimatorMixin, warn_if_constant
from ..model_selection._prequential import PrequentialResult, prequential_evaluation
from ..plotting._prequential import plot_prequential
from ..utils._docstring import fair_docstring
from ._aranyani_forest import _SoftForest, smoothed_abs, smoothed_abs_derivative

# prequential_evaluation and plot_prequential live in fairkit.model_selection and
# fairkit.plotting; they stay importable from fairkit.inprocessing, where they were first
# published, which re-exports them from here.
__all__ = [
    "AranyaniClassifier",
    "PrequentialResult",
    "prequential_evaluation",
    "plot_prequential",
    "smoothed_abs",
    "smoothed_abs_derivative",
]

#: ``max_iter="auto"`` allows passes for about this many online steps ...
_AUTO_STEPS = 5000
#: ... and, when one pass makes fewer, at least this many passes (convergence is checked).
_AUTO_MIN_PASSES = 5


@fair_docstring
class AranyaniClassifier(_SoftForest, FairEstimatorMixin, ClassifierMixin, BaseEstimator):
    r"""Oblique soft decision forest with online group fairness (Aranyani).

    A forest of ``n_trees`` complete soft binary trees of depth ``depth`` learns from a
    stream, one record or one mini-batch at a time (``partial_fit``), and keeps the routing
    decisions of every node close across groups without storing past samples.

    **Model.** Node :math:`i` of tree :math:`t` sends :math:`x` left with probability
    :math:`s_{ti}(x) = \sigma(w_{ti}^\top x + b_{ti})`. The reach probability of a leaf is
    the product of :math:`s` or :math:`1 - s` along its path (the reach probabilities of a
    tree's leaves sum to 1). A leaf holds logits :math:`\theta_{tl}`; the forest predicts

    .. math:: p(y \mid x) = \frac1T \sum_t \sum_l \mu_{tl}(x)\,
              \operatorname{softmax}(\theta_{tl})_y ,

    trained with cross-entropy. Initialisation as in the paper: :math:`w, b \sim N(0, 1)`,
    :math:`\theta \sim U(0, 1)`.

    **Fairness.** For demographic parity with two groups :math:`a \in \{0, 1\}`, each node has
    the gap :math:`F_{ti} = E[s_{ti} \mid a=1] - E[s_{ti} \mid a=0]` over the stream seen so
    far, and the objective adds :math:`\lambda \sum_{t,i} H_\delta(F_{ti})`. A node's
    parameters only enter its own :math:`s_{ti}` ("parameter isolation"), so the gradient is

    .. math:: \lambda\, H_\delta'(F_{ti})\,(\bar g_{ti}^{(1)} - \bar g_{ti}^{(0)}),
              \qquad \bar g_{ti}^{(a)} = \text{mean over group } a \text{ of }
              \nabla_{w_{ti}, b_{ti}}\, s_{ti}(x) = s(1-s)\,[x, 1],

    computed from per-group counts, running sums of :math:`s` and running sums of its
    gradient, each accumulated with the parameters current when the sample arrived. No
    sample is stored and no extra forward or backward pass is made. Leaf logits get the
    cross-entropy gradient only. Each step: forward pass, update the group aggregates with
    the current batch, gradient (cross-entropy averaged over the batch plus the fairness
    term), one Adam step (:math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`). The
    fairness term is active once two groups have been seen.

    **Smoothing (our decision).** :math:`H_\delta(F) = F^2/(2\delta)` for
    :math:`|F| \le \delta`, :math:`|F| - \delta/2` otherwise, so
    :math:`H'_\delta(F) = \operatorname{clip}(F/\delta, -1, 1)`: continuous, and equal to the
    reference code's ``sign(F)`` outside :math:`|F| < \delta` (inside, the reference uses
    :math:`F`, which makes the slope jump at :math:`\delta`). ``smoothing="reference"``
    uses the reference code's slope instead, to reproduce the authors' runs. See
    :func:`smoothed_abs_derivative`.

    **Extensions (ours, not in the paper).** When the model knows more than two groups
    (declared in ``groups`` or seen so far), every group :math:`g` seen in the stream gets
    its gap to the pooled mean, :math:`F_{tig} = E[s_{ti} \mid a=g] - E[s_{ti}]`,
    and the penalty is :math:`\lambda \sum_{t,i,g} H_\delta(F_{tig})` (gradient from the same
    aggregates: :math:`\bar g^{(g)} - \bar g`). With ``constraint="equalized_odds"`` the
    aggregates are kept per (label, group) cell and the penalty sums the gaps computed
    within each true label :math:`y` (:math:`E[s \mid a, Y=y]`), the node-level analogue of
    equalized odds.

    Parameters
    ----------
    n_trees : int, default=3
        Number of trees :math:`T`.
    depth : int, default=4
        Depth :math:`h` of each complete tree (:math:`2^h - 1` nodes, :math:`2^h` leaves).
    lam : float, default=1.0
        Weight :math:`\lambda \ge 0` of the fairness penalty; 0 gives a plain soft forest.
    delta : float, default=0.01
        Smoothing width :math:`\delta > 0` of :math:`H_\delta`.
    smoothing : {"huber", "reference"}, default="huber"
        Slope :math:`H'(F)` of the fairness gradient: ``"huber"`` is the derivative of
        :math:`H_\delta`, ``clip(F / delta, -1, 1)``; ``"reference"`` is the authors'
        code, ``F`` inside ``|F| < delta`` and ``sign(F)`` outside (see
        :func:`smoothed_abs_derivative`). Both equal ``sign(F)`` outside the band.
    learning_rate : float, default=2e-3
        Adam step size.
    batch_size : int, default=1
        Records per online step. ``partial_fit`` accepts any number of rows and walks them
        in steps of this size, in order.
    constraint : {"demographic_parity", "equalized_odds"}, default="demographic_parity"
        Which conditional routing statistics are equalised (see above).
    max_iter : "auto" or int, default="auto"
        Largest number of passes over the data made by ``fit``. ``"auto"`` sets it from
        the number :math:`m = \lceil n / \text{batch\_size} \rceil` of online steps a
        pass over :math:`n` training rows makes, so that ``fit`` takes about 5,000 steps:
        one pass when :math:`m \ge 5000`, else :math:`\max(5, \lceil 5000 / m \rceil)`
        passes (they usually stop earlier, at ``tol``). More passes over small data overfit:
        on 500 synthetic rows 40 passes lost 0.03 held-out accuracy against 5-10.
        ``max_iter=1`` with ``shuffle=False`` and ``standardize=False`` is the paper's
        single online pass (the earlier defaults of ``fit``; ``partial_fit`` is unchanged).
    tol : float, default=1e-2
        ``fit`` stops early when the mean training cross-entropy of a pass (each record's
        loss taken in its online step, before the update) changes by less than ``tol``
        from the previous pass. If the last allowed pass (more than one) ends unconverged,
        a ``ConvergenceWarning`` is raised. A single pass is not checked. With a large
        ``batch_size`` a pass makes few steps and its loss moves little, so lower ``tol``.
    shuffle : bool, default=True
        Shuffle the records (with ``random_state``) before each pass of ``fit``
        (``partial_fit`` never shuffles).
    standardize : bool, default=True
        ``fit`` z-scores every input column with its training mean and standard deviation
        (a constant column is only centred) before the oblique splits see it, so the
        :math:`N(0, 1)` initial splits do not saturate on raw features (a column in the
        thousands would make every routing probability 0 or 1). The statistics are kept and
        applied in ``predict`` and in any later ``partial_fit``; ``node_weights_`` and
        ``node_bias_`` are reported on the original scale. A model started by
        ``partial_fit`` never standardises (a stream has no training set to take statistics
        from; the paper's protocol), whatever this parameter says.
    {prot_attr}
        The ``prot_attr`` columns stay in the model matrix: as in the paper, the protected
        attribute is also an input feature (so it must be numerically encoded).
        ``sensitive_features`` are used for the fairness aggregates only and are not added
        to the features.
    groups : "auto" or list, default="auto"
        Labels of the protected groups the stream may contain (a tuple per group when
        ``prot_attr`` names several columns), like ``OneHotEncoder(categories=...)``.
        With ``"auto"`` groups are added as they first appear (a new group starts with
        empty aggregates, and a third group switches the penalty from the pairwise gap to
        the per-group gaps). With a list, the aggregates are laid out for those groups from
        the start and a record of any other group raises ``ValueError``.
    {random_state}
        It seeds the initial parameters (and the shuffling of ``fit``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    groups_ : list
        Labels of the protected groups seen so far, in the order of the aggregate arrays.
    prot_attr_names_ : list
        Names of the protected attributes.
    n_features_in_ : int
        Number of input features (protected columns included).
    feature_names_in_ : ndarray of str
        Names of the input features, when ``X`` was a DataFrame with string column names.
    n_seen_ : int
        Number of records learned from so far (a record counts once per pass of ``fit``,
        as do ``group_counts_``).
    n_iter_ : int
        Passes made by the last ``fit`` (1 after ``partial_fit``).
    loss_curve_ : list of float
        Mean training cross-entropy of each pass of the last ``fit`` (each record's loss in
        its online step, before the update); empty after a ``partial_fit`` start.
    t_ : int
        Number of Adam steps taken so far.
    group_counts_ : ndarray of shape (n_strata, n_groups)
        Records seen per group (``n_strata`` is 1 for demographic parity, ``n_classes`` for
        equalized odds, one row per true label).

    See Also
    --------
    prequential_evaluation : test-then-train evaluation over a stream.

    Notes
    -----
    Steps never span two ``partial_fit`` calls: a chunk whose length is not a multiple of
    ``batch_size`` ends with a smaller step (so pausing and resuming reproduces an
    uninterrupted run when chunks are whole numbers of steps). With two groups, the gap is
    group ``groups_[1]`` minus group ``groups_[0]``; its sign does not matter since
    :math:`H_\delta` is even.

    The per-group aggregates take ``n_strata * n_groups * n_trees * (2**depth - 1) *
    (n_features + 2)`` floats, independent of the stream length, so memory stays constant.
    Groups may appear at any time in the stream; a new group starts with empty aggregates.

    References
    ----------
    .. [1] S. Basu Roy Chowdhury, N. Monath, A. Beirami, R. Kidambi, A. Dubey, A. Ahmed,
       S. Chaturvedi. "Enhancing Group Fairness in Online Settings Using Oblique Decision
       Forests." ICLR 2024. arXiv:2310.11401.
    .. [2] D. P. Kingma, J. Ba. "Adam: A Method for Stochastic Optimization." ICLR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.inprocessing import AranyaniClassifier
    >>> rng = np.random.RandomState(0)
    >>> a = rng.randint(0, 2, 400)
    >>> X = np.column_stack([a, rng.normal(size=400) + a])
    >>> y = (X[:, 1] > 0.5).astype(int)
    >>> clf = AranyaniClassifier(lam=0.5, prot_attr=0, random_state=0)
    >>> clf = clf.partial_fit(X[:200], y[:200], classes=[0, 1])
    >>> clf = clf.partial_fit(X[200:], y[200:])
    >>> clf.n_seen_, clf.groups_
    (400, [0.0, 1.0])
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "n_trees": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 1, 16, closed="both")],
        "lam": [Interval(Real, 0, None, closed="left")],
        "delta": [Interval(Real, 0, None, closed="neither")],
        "smoothing": [StrOptions({"huber", "reference"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "constraint": [StrOptions({"demographic_parity", "equalized_odds"})],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "standardize": ["boolean"],
        "prot_attr": "no_validation",  # checked with the data (Binned specs included)
        "groups": [StrOptions({"auto"}), list, tuple, np.ndarray],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        n_trees=3,
        depth=4,
        lam=1.0,
        delta=0.01,
        smoothing="huber",
        learning_rate=2e-3,
        batch_size=1,
        constraint="demographic_parity",
        max_iter="auto",
        tol=1e-2,
        shuffle=True,
        standardize=True,
        prot_attr=None,
        groups="auto",
        random_state=None,
    ):
        self.n_trees = n_trees
        self.depth = depth
        self.lam = lam
        self.delta = delta
        self.smoothing = smoothing
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.constraint = constraint
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.standardize = standardize
        self.prot_attr = prot_attr
        self.groups = groups
        self.random_state = random_state

    # ------------------------------------------------------------------ public API

    @fair_docstring
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sensitive_features=None):
        """Learn from ``X`` from scratch: up to ``max_iter`` passes of online steps.

        Each pass walks the (shuffled, when ``shuffle``) records in steps of
        ``batch_size``; the passes stop early when the pass's mean training loss changes by
        less than ``tol``. A ``ConvergenceWarning`` says when the passes ran out first, and
        a ``UserWarning`` when the fitted forest predicts one class on all training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features, protected column(s) included when ``prot_attr`` is set.
        y : array-like of shape (n_samples,)
            Labels (at least two classes).
        {sensitive_features}

        Returns
        -------
        self

        Notes
        -----
        There is no ``sample_weight``: an online step has no weighted form equal to
        repeating the record, so weights are refused (``TypeError``) rather than ignored.
        """
        self._reset()
        Xv, y, groups = self._check_inputs(X, y, sensitive_features, reset=True)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({classes.tolist()}); a classifier needs at least 2 "
                "classes. To learn from a stream, call partial_fit with classes=[...]."
            )
        self._start(classes, Xv.shape[1])
        if self.standardize:
            shift = Xv.mean(axis=0)
            scale = Xv.std(axis=0)
            scale[scale <= 1e-12 * np.maximum(1.0, np.abs(shift))] = 1.0
            self._x_shift, self._x_scale = shift, scale
        Xv = self._scaled(Xv)
        ycode, gcode = self._codes(y, groups)
        n = len(ycode)
        max_iter = self.max_iter
        if max_iter == "auto":
            steps = math.ceil(n / self.batch_size)  # online steps per pass
            max_iter = 1 if steps >= _AUTO_STEPS else max(_AUTO_MIN_PASSES,
                                                          math.ceil(_AUTO_STEPS / steps))
        rng = self._rng
        self.loss_curve_ = []
        converged = False
        for _ in range(max_iter):
            order = rng.permutation(n) if self.shuffle else slice(None)
            self._loss_sum = 0.0
            self._learn(Xv[order], ycode[order], gcode[order], record=False, scaled=True)
            self.loss_curve_.append(self._loss_sum / n)
            if len(self.loss_curve_) > 1 and \
                    abs(self.loss_curve_[-2] - self.loss_curve_[-1]) < self.tol:
                converged = True
                break
        self.n_iter_ = len(self.loss_curve_)
        if max_iter > 1 and not converged:
            warnings.warn(
                f"AranyaniClassifier: the training loss still changed by "
                f"{abs(self.loss_curve_[-2] - self.loss_curve_[-1]):.3g} (> tol={self.tol:g}) "
                f"in the last of max_iter={max_iter} passes; raise max_iter (or tol).",
                ConvergenceWarning,
                stacklevel=2,
            )
        pred = np.argmax(self._forward(self._augment(Xv))[0], axis=1)
        params = ("lam",) if self.lam > 0 else ("max_iter", "learning_rate")
        if not self.standardize:
            params += ("standardize",)
        warn_if_constant(
            self, y=self.classes_[ycode], predictions=self.classes_[pred], params=params,
            stacklevel=4,
            advice=("lower lam: the fairness penalty flattens the splits" if self.lam > 0 else
                    "raise max_iter or learning_rate")
            + ("" if self.standardize else
               "; or set standardize=True (raw features in the hundreds saturate the splits)"),
        )
        return self

    @fair_docstring
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, *, sensitive_features=None):
        """Learn from the next chunk of the stream, in order, in steps of ``batch_size``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features of the chunk.
        y : array-like of shape (n_samples,)
            Labels of the chunk.
        classes : array-like of shape (n_classes,), optional
            All labels the stream can contain. Required on the first call; later calls may
            repeat it (it must then be the same) or omit it.
        {sensitive_features}

        Returns
        -------
        self
        """
        self._partial_fit(X, y, classes, sensitive_features, record=False)
        return self

    def predict_proba(self, X):
        """Forest class probabilities, shape ``(n_samples, n_classes)``."""
        check_is_fitted(self, "classes_")
        Xv = self._validate_fair_data(X, reset=False, protected="none", features="numeric").X
        return self._forward(self._augment(self._scaled(Xv)))[0]

    def predict(self, X):
        """Most probable class of each sample."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def node_proba(self, X):
        """Routing probabilities: ``s[n, t, i]``, the probability that sample ``n`` goes
        left at node ``i`` (heap order: children of ``i`` are ``2i+1`` and ``2i+2``) of
        tree ``t``. Shape ``(n_samples, n_trees, 2**depth - 1)``."""
        check_is_fitted(self, "classes_")
        Xv = self._validate_fair_data(X, reset=False, protected="none", features="numeric").X
        z = self._augment(self._scaled(Xv)) @ self._W.T
        return (1.0 / (1.0 + np.exp(-z))).reshape(len(Xv), self.n_trees, -1)

    def leaf_proba(self, X):
        """Leaf reach probabilities ``mu[n, t, l]`` (each tree's row sums to 1), leaves in
        left-to-right order. Shape ``(n_samples, n_trees, 2**depth)``."""
        check_is_fitted(self, "classes_")
        Xv = self._validate_fair_data(X, reset=False, protected="none", features="numeric").X
        return self._forward(self._augment(self._scaled(Xv)))[1].reshape(
            len(Xv), self.n_trees, -1)

    @property
    def node_weights_(self):
        """Oblique split weights on the original feature scale, shape ``(n_trees,
        n_nodes, n_features)`` (node ``i`` goes left with probability
        ``sigmoid(x @ w + b)`` for raw ``x``)."""
        check_is_fitted(self, "classes_")
        W = self._W[:, :-1]
        if getattr(self, "_x_scale", None) is not None:
            W = W / self._x_scale
        return W.reshape(self.n_trees, -1, self._W.shape[1] - 1)

    @property
    def node_bias_(self):
        """Split biases on the original feature scale, shape ``(n_trees, n_nodes)``."""
        check_is_fitted(self, "classes_")
        b = self._W[:, -1]
        if getattr(self, "_x_scale", None) is not None:
            b = b - self._W[:, :-1] @ (self._x_shift / self._x_scale)
        return b.reshape(self.n_trees, -1)

    @property
    def leaf_logits_(self):
        """Leaf logits, shape ``(n_trees, n_leaves, n_classes)``."""
        check_is_fitted(self, "classes_")
        return self._theta

    @property
    def node_gaps_(self):
        """Current fairness gaps per node, from the stream aggregates.

        Shape ``(n_strata, n_terms, n_trees, n_nodes)``: with two groups present in a
        stratum one term ``E[s | g1] - E[s | g0]``; with more, one term per group,
        ``E[s | g] - E[s]``; NaN where fewer than two groups have been seen.
        """
        check_is_fitted(self, "classes_")
        n_terms = 1 if len(self.groups_) <= 2 else len(self.groups_)
        out = np.full((self._n_strata, n_terms, self._n_nodes_total), np.nan)
        for c in range(self._n_strata):
            gaps, _ = self._stratum_gaps(c)
            if gaps is not None:
                out[c, : len(gaps)] = gaps
        return out.reshape(self._n_strata, n_terms, self.n_trees, -1)

    def fairness_penalty(self):
        """Current value of ``sum H_delta(F)`` over strata, terms and nodes (without lam).

        This is the penalty whose gradient the step follows with ``smoothing="huber"``; the
        ``"reference"`` slope is not the derivative of any smooth penalty.
        """
        gaps = self.node_gaps_
        return float(np.nansum(smoothed_abs(gaps, self.delta)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags

    # ------------------------------------------------------------------ state

    def _reset(self):
        for name in ("classes_", "groups_", "n_seen_", "t_", "n_iter_", "loss_curve_", "_W",
                     "_theta", "_x_shift", "_x_scale"):
            if hasattr(self, name):
                delattr(self, name)

    def _scaled(self, Xv):
        """Inputs as the splits see them: z-scored with ``fit``'s statistics, if any."""
        if getattr(self, "_x_scale", None) is None:
            return Xv
        return (Xv - self._x_shift) / self._x_scale

    # ------------------------------------------------------------------ input handling

    def _check_inputs(self, X, y, sensitive_features, *, reset):
        if self.prot_attr is None and sensitive_features is None:
            raise ValueError(
                "AranyaniClassifier needs the protected attribute: set prot_attr (column "
                "name(s) or index(es) of X) or pass sensitive_features."
            )
        # np.asarray: validate_fair_data takes np.ndim of y, which array-likes may refuse
        y = None if y is None else np.asarray(y)
        try:
            # drop=False: as in the paper the protected attribute is also a model input.
            # map_groups=False: groups unseen so far are admitted by _codes, not refused.
            data = self._validate_fair_data(
                X, y, sensitive_features=sensitive_features, reset=reset,
                protected="groups", drop=False, features="numeric",
                target="classification", map_groups=False,
            )
        except ValueError as err:
            if "needs numeric features" not in str(err):
                raise
            raise ValueError(
                f"{err} Every column, the protected one included, is an input of the "
                "oblique splits (e.g. encode it with OrdinalEncoder, as in the paper)."
            ) from None
        return data.X, data.y, data.groups

    def _partial_fit(self, X, y, classes, sensitive_features, *, record):
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit (all labels the "
                "stream can contain, e.g. classes=[0, 1])."
            )
        Xv, y, groups = self._check_inputs(X, y, sensitive_features, reset=first)
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if len(classes) < 2:
                raise ValueError(f"classes={classes.tolist()} must hold at least 2 labels.")
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} differs from the classes of the first call "
                    f"to partial_fit ({self.classes_.tolist()})."
                )
        if first:
            self._start(classes, Xv.shape[1])
            self.n_iter_ = 1
            self.loss_curve_ = []
        ycode, gcode = self._codes(y, groups)
        return self._learn(Xv, ycode, gcode, record=record)

    def _codes(self, y, groups):
        """Class indices and stream group indices (new groups get new aggregate rows)."""
        pos = np.searchsorted(self.classes_, y)
        pos = np.clip(pos, 0, len(self.classes_) - 1)
        bad = self.classes_[pos] != y
        if np.any(bad):
            unseen = np.unique(np.asarray(y)[bad]).tolist()
            raise ValueError(
                f"y contains label(s) {unseen} not in classes {self.classes_.tolist()} given "
                "on the first call to partial_fit (or seen by fit)."
            )
        auto = isinstance(self.groups, str) and self.groups == "auto"
        for label in groups.labels:
            if not any(same_label(label, known) for known in self.groups_):
                if not auto:
                    raise ValueError(
                        f"Group {label!r} of the protected attribute was never declared: "
                        f"it is not in groups={list(self.groups)!r}. Add it to groups, or "
                        "use groups='auto' to admit new groups as they appear."
                    )
                self._add_group(label)
        return pos.astype(np.intp), map_to_fitted_groups(groups, self.groups_, where="learn")
