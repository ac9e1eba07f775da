"""Aranyani: an oblique soft decision forest trained online with group fairness.

The model and its online step follow Basu Roy Chowdhury et al. (ICLR 2024); see
:class:`AranyaniClassifier`. :func:`prequential_evaluation` runs the paper's test-then-train
protocol over a stream and :func:`plot_prequential` draws its curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._protected import check_pos_label, resolve_protected
from ..base import ProtectedAttributeMixin, _key
from ..metrics.streaming import GroupCounts, metric_from_counts

__all__ = [
    "AranyaniClassifier",
    "PrequentialResult",
    "prequential_evaluation",
    "plot_prequential",
    "smoothed_abs",
    "smoothed_abs_derivative",
]

# Adam constants (Kingma & Ba 2015 defaults).
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


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


class AranyaniClassifier(ProtectedAttributeMixin, ClassifierMixin, BaseEstimator):
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
    max_iter : int, default=1
        Passes over the data made by ``fit`` (the paper makes one).
    shuffle : bool, default=False
        Shuffle the records before each pass of ``fit`` (``partial_fit`` never shuffles).
    prot_attr : str, int or list, default=None
        Protected column(s) of ``X``. They stay in the model matrix: as in the paper, the
        protected attribute is also an input feature (so it must be numerically encoded).
        When None, pass ``sensitive_features`` to ``fit`` / ``partial_fit``; those values are
        used for the fairness aggregates only and are not added to the features.
    groups : "auto" or list, default="auto"
        Labels of the protected groups the stream may contain (a tuple per group when
        ``prot_attr`` names several columns), like ``OneHotEncoder(categories=...)``.
        With ``"auto"`` groups are added as they first appear (a new group starts with
        empty aggregates, and a third group switches the penalty from the pairwise gap to
        the per-group gaps). With a list, the aggregates are laid out for those groups from
        the start and a record of any other group raises ``ValueError``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial parameters (and the shuffling of ``fit``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    groups_ : list
        Labels of the protected groups seen so far, in the order of the aggregate arrays.
    n_features_in_ : int
        Number of input features (protected columns included).
    feature_names_in_ : ndarray of str
        Names of the input features, when ``X`` was a DataFrame with string column names.
    n_seen_ : int
        Number of records learned from so far.
    n_iter_ : int
        Passes made by the last ``fit`` (1 after ``partial_fit``).
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
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "prot_attr": [None, str, Integral, list, tuple, np.ndarray],
        "groups": [StrOptions({"auto"}), list, tuple, np.ndarray],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_trees=3,
        depth=4,
        lam=1.0,
        delta=0.01,
        smoothing="huber",
        learning_rate=2e-3,
        batch_size=1,
        constraint="demographic_parity",
        max_iter=1,
        shuffle=False,
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
        self.shuffle = shuffle
        self.prot_attr = prot_attr
        self.groups = groups
        self.random_state = random_state

    # ------------------------------------------------------------------ public API

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sensitive_features=None):
        """Learn from ``X`` from scratch: ``max_iter`` passes of online steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features, protected column(s) included when ``prot_attr`` is set.
        y : array-like of shape (n_samples,)
            Labels (at least two classes).
        sensitive_features : array-like, optional
            Protected attribute(s), when ``prot_attr`` is None.

        Returns
        -------
        self
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
        ycode, gcode = self._codes(y, groups)
        rng = self._rng
        for _ in range(self.max_iter):
            order = rng.permutation(len(ycode)) if self.shuffle else slice(None)
            self._learn(Xv[order], ycode[order], gcode[order], record=False)
        self.n_iter_ = self.max_iter
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sensitive_features=None):
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
        sensitive_features : array-like, optional
            Protected attribute(s) of the chunk, when ``prot_attr`` is None.

        Returns
        -------
        self
        """
        self._partial_fit(X, y, classes, sensitive_features, record=False)
        return self

    def predict_proba(self, X):
        """Forest class probabilities, shape ``(n_samples, n_classes)``."""
        check_is_fitted(self, "classes_")
        Xv = validate_data(self, X, reset=False, dtype=np.float64)
        return self._forward(self._augment(Xv))[0]

    def predict(self, X):
        """Most probable class of each sample."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def node_proba(self, X):
        """Routing probabilities: ``s[n, t, i]``, the probability that sample ``n`` goes
        left at node ``i`` (heap order: children of ``i`` are ``2i+1`` and ``2i+2``) of
        tree ``t``. Shape ``(n_samples, n_trees, 2**depth - 1)``."""
        check_is_fitted(self, "classes_")
        Xv = validate_data(self, X, reset=False, dtype=np.float64)
        z = self._augment(Xv) @ self._W.T
        return (1.0 / (1.0 + np.exp(-z))).reshape(len(Xv), self.n_trees, -1)

    def leaf_proba(self, X):
        """Leaf reach probabilities ``mu[n, t, l]`` (each tree's row sums to 1), leaves in
        left-to-right order. Shape ``(n_samples, n_trees, 2**depth)``."""
        check_is_fitted(self, "classes_")
        Xv = validate_data(self, X, reset=False, dtype=np.float64)
        return self._forward(self._augment(Xv))[1].reshape(len(Xv), self.n_trees, -1)

    @property
    def node_weights_(self):
        """Oblique split weights, shape ``(n_trees, n_nodes, n_features)``."""
        check_is_fitted(self, "classes_")
        return self._W[:, :-1].reshape(self.n_trees, -1, self._W.shape[1] - 1)

    @property
    def node_bias_(self):
        """Split biases, shape ``(n_trees, n_nodes)``."""
        check_is_fitted(self, "classes_")
        return self._W[:, -1].reshape(self.n_trees, -1)

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
        for name in ("classes_", "groups_", "n_seen_", "t_", "n_iter_", "_W", "_theta"):
            if hasattr(self, name):
                delattr(self, name)

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
        self._m = np.zeros_like(self._params)
        self._v = np.zeros_like(self._params)
        self._buf = np.zeros_like(self._params)
        self._paths_block = None
        left, right = _tree_paths(h)
        self._paths_lr = np.vstack([left.T, right.T])  # (2N, L): log reach = [log s, log(1-s)] @
        self._paths_back = np.hstack([left, right])  # (L, 2N)
        self._n_strata = C if self.constraint == "equalized_odds" else 1
        self.groups_ = []
        self._group_index = {}
        self.group_counts_ = np.zeros((self._n_strata, 0))
        self._agg_s = np.zeros((self._n_strata, 0, T * n_nodes))
        self._agg_g = np.zeros((self._n_strata, 0, T * n_nodes, d1))
        if not (isinstance(self.groups, str) and self.groups == "auto"):
            declared = [g.item() if isinstance(g, np.generic) else g for g in self.groups]
            if len(declared) < 2:
                raise ValueError(f"groups={declared!r} must list at least 2 groups.")
            if len({_key(g) for g in declared}) != len(declared):
                raise ValueError(f"groups={declared!r} contains duplicates.")
            for label in declared:
                self._add_group(label, _key(label))
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

    # ------------------------------------------------------------------ input handling

    def _check_inputs(self, X, y, sensitive_features, *, reset):
        try:
            Xv, y = validate_data(self, X, y, reset=reset, dtype=np.float64)
        except ValueError as err:
            if "could not convert" not in str(err):
                raise
            raise ValueError(
                "AranyaniClassifier needs numeric X: every column, the protected one "
                "included, is an input of the oblique splits. Encode categorical columns "
                f"first (e.g. OrdinalEncoder, as in the paper). ({err})"
            ) from err
        check_classification_targets(y)
        if self.prot_attr is None and sensitive_features is None:
            raise ValueError(
                "AranyaniClassifier needs the protected attribute: set prot_attr (column "
                "name(s) or index(es) of X) or pass sensitive_features."
            )
        prot = resolve_protected(
            X if hasattr(X, "iloc") else Xv,
            prot_attr=self.prot_attr,
            sensitive_features=sensitive_features,
        )
        return Xv, y, prot.groups

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
        lookup = np.empty(groups.n_groups, dtype=np.intp)
        for code, label in enumerate(groups.labels):
            k = _key(label)
            if k not in self._group_index:
                if not (isinstance(self.groups, str) and self.groups == "auto"):
                    raise ValueError(
                        f"Group {label!r} of the protected attribute was never declared: "
                        f"it is not in groups={list(self.groups)!r}. Add it to groups, or "
                        "use groups='auto' to admit new groups as they appear."
                    )
                self._add_group(label, k)
            lookup[code] = self._group_index[k]
        return pos.astype(np.intp), lookup[groups.codes]

    def _add_group(self, label, key):
        self._group_index[key] = len(self.groups_)
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
        # Kingma & Ba's update m_hat / (sqrt(v_hat) + eps), with the bias corrections folded
        # into the step size and eps (algebraically identical, fewer vector operations).
        self.t_ += 1
        g, m, v, buf = self._grad, self._m, self._v, self._buf
        m *= _BETA1
        np.multiply(g, 1.0 - _BETA1, out=buf)
        m += buf
        v *= _BETA2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - _BETA2
        v += buf
        c2 = np.sqrt(1.0 - _BETA2**self.t_)
        step = self.learning_rate * c2 / (1.0 - _BETA1**self.t_)
        np.sqrt(v, out=buf)
        buf += _EPS * c2
        np.divide(m, buf, out=buf)
        buf *= step
        self._params -= buf

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

    def _learn(self, Xv, ycode, gcode, *, record):
        """Online steps over the rows in order; returns pre-update predictions if ``record``."""
        Xa = self._augment(Xv)
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
            self._gradient(xb, yb, gcode[start:stop], proba, mu, s, Q)
            self._adam()
        self.n_seen_ += n
        return preds


# ---------------------------------------------------------------------- prequential


@dataclass
class PrequentialResult:
    """Cumulative metrics of a test-then-train run, one entry per record.

    Attributes
    ----------
    n_seen : ndarray of int
        Records evaluated at each point of the curves (1, 2, ... with ``every=1``).
    accuracy : ndarray
        Cumulative accuracy of the predictions made before each record was learned.
    dp_gap : ndarray
        Cumulative demographic parity gap: max minus min over groups seen so far of the rate
        of ``pos_label`` predictions (NaN until two groups have been seen); for two groups
        ``|P(yhat=pos | a=1) - P(yhat=pos | a=0)|``.
    y_pred : ndarray
        The predictions, in stream order.
    counts : GroupCounts
        Per-group confusion counts of the whole run (mergeable with other runs' counts).
    """

    n_seen: np.ndarray
    accuracy: np.ndarray
    dp_gap: np.ndarray
    y_pred: np.ndarray
    counts: object = None

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            {"n_seen": self.n_seen, "accuracy": self.accuracy, "dp_gap": self.dp_gap}
        )

    def plot(self, ax=None):
        return plot_prequential(self, ax=ax)


def _cumulative_counts(y_true, y_pred, groups, pos_label, every):
    """Cumulative per-group confusion counts at every ``every``-th record (and the last).

    One bincount over (block, group, true_pos, pred_pos) and a cumulative sum over blocks:
    the cells are those of :class:`~fairkit.metrics.streaming.GroupCounts`, so the
    demographic parity gap is read with its ``metric_from_counts``.
    """
    n, G = len(y_true), groups.n_groups
    block = np.arange(n) // every
    n_blocks = int(block[-1]) + 1
    t = (y_true == pos_label).astype(np.intp)
    p = (y_pred == pos_label).astype(np.intp)
    cell = ((block * G + groups.codes) * 2 + t) * 2 + p
    C = np.bincount(cell, minlength=n_blocks * G * 4).astype(float)
    C = np.cumsum(C.reshape(n_blocks, G, 2, 2), axis=0)
    stops = np.minimum(np.arange(1, n_blocks + 1) * every, n)
    return stops, C


def _accepts(estimator, name):
    import inspect

    return name in inspect.signature(estimator.partial_fit).parameters


def prequential_evaluation(
    estimator, X, y, *, classes=None, sensitive_features=None, pos_label=1, chunk_size=1,
    every=1,
):
    """Test-then-train over a stream: predict each record, then learn from it.

    The estimator is trained in place (like ``river.evaluate.progressive_val_score``).
    For :class:`AranyaniClassifier` the prediction for each step of ``batch_size`` records
    is the one the model makes inside ``partial_fit`` just before that step's update, so no
    extra pass is made. Any other estimator with ``partial_fit`` is driven chunk by chunk
    (``chunk_size`` rows): ``predict`` then ``partial_fit``; its first chunk, seen before
    any training, is predicted as ``classes[0]``.

    Parameters
    ----------
    estimator : estimator with partial_fit
        The online learner (trained in place).
    X : array-like of shape (n_samples, n_features)
        The stream, in order.
    y : array-like of shape (n_samples,)
        Labels.
    classes : array-like, optional
        All labels; defaults to ``np.unique(y)``.
    sensitive_features : array-like, optional
        Protected attribute when the estimator has no ``prot_attr``.
    pos_label : scalar, default=1
        Favourable label for the demographic parity gap.
    chunk_size : int, default=1
        Rows per predict/partial_fit round for estimators other than Aranyani.
    every : int, default=1
        Report the curves after every ``every`` records (and after the last one); a
        larger value keeps the curves short on long streams.

    Returns
    -------
    PrequentialResult
    """
    y = np.asarray(y)
    if classes is None:
        classes = np.unique(y)
    check_pos_label(classes, pos_label, name="classes")
    for name, value in (("chunk_size", chunk_size), ("every", every)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if len(y) == 0:
        raise ValueError("The stream is empty (y has 0 records).")
    prot = resolve_protected(
        X, prot_attr=getattr(estimator, "prot_attr", None), sensitive_features=sensitive_features
    )
    groups = prot.groups
    if isinstance(estimator, AranyaniClassifier):
        first = not hasattr(estimator, "classes_")
        codes = estimator._partial_fit(
            X, y, classes if first else None, sensitive_features, record=True
        )
        y_pred = estimator.classes_[codes]
    else:
        y_pred = np.empty(len(y), dtype=np.asarray(classes).dtype)
        fitted = False
        for start in range(0, len(y), chunk_size):
            rows = slice(start, start + chunk_size)
            Xc = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
            y_pred[rows] = estimator.predict(Xc) if fitted else np.asarray(classes)[0]
            kw = {} if fitted else {"classes": classes}
            if sensitive_features is not None and _accepts(estimator, "sensitive_features"):
                kw["sensitive_features"] = np.asarray(sensitive_features)[rows]
            estimator.partial_fit(Xc, y[rows], **kw)
            fitted = True
    stops, C = _cumulative_counts(y, y_pred, groups, pos_label, every)
    accuracy = np.cumsum(y == y_pred)[stops - 1] / stops
    dp_gap = metric_from_counts(C, "statistical_parity_difference")
    counts = GroupCounts(C[-1], groups.labels, names=groups.names, pos_label=pos_label)
    return PrequentialResult(n_seen=stops, accuracy=accuracy, dp_gap=dp_gap, y_pred=y_pred,
                             counts=counts)


def plot_prequential(result, ax=None, *, label=None):
    """Plot cumulative accuracy and demographic parity gap against records seen.

    Returns the matplotlib Axes (never calls ``plt.show``).
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, 4.0))
    prefix = f"{label}: " if label else ""
    ax.plot(result.n_seen, result.accuracy, label=f"{prefix}accuracy")
    ax.plot(result.n_seen, result.dp_gap, linestyle="--", label=f"{prefix}DP gap")
    ax.set_xlabel("records seen")
    ax.set_ylabel("cumulative value")
    ax.set_title("Prequential (test-then-train) evaluation")
    ax.legend()
    return ax

