"""Fair re-ranking of a top-k list to target group proportions (Geyik et al. 2019).

:class:`DeterministicReranker` takes the scores of candidates and their groups and
returns the indices of a top-``k`` ranking in which every prefix holds each group in
about its target proportion, giving up as little score as the algorithm allows.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from sklearn.exceptions import NotFittedError

from .._protected import _param_repr, encode_groups
from ..utils._dataframe import to_pandas

__all__ = ["DeterministicReranker"]

_ALGORITHMS = ("Greedy", "Conservative", "Relaxed", "Constrained")


class DeterministicReranker:
    """Re-rank candidates so that every top-k' prefix meets target group proportions.

    The four deterministic algorithms of Geyik, Ambler & Kenthapadi (2019) [1]_, as in
    AIF360's ``DeterministicReranking``. With target proportion :math:`p_g` of group
    :math:`g` and :math:`c_g(k')` members of :math:`g` among the first :math:`k'`
    positions, each position :math:`k'` is filled as follows:

    * a group below its minimum, :math:`c_g < \\lfloor k' p_g \\rfloor`, must be served: the
      best remaining candidate among such groups is placed;
    * otherwise, among groups below their maximum, :math:`c_g < \\lceil k' p_g \\rceil`:
      ``"Greedy"`` (DetGreedy) places the best-scored candidate; ``"Conservative"``
      (DetCons) the candidate of the group that would next reach its minimum soonest,
      smallest :math:`\\lceil k' p_g \\rceil / p_g`; ``"Relaxed"`` (DetRelaxed) the best
      candidate among the groups with the smallest
      :math:`\\lceil \\lceil k' p_g \\rceil / p_g \\rceil` (ties broken by score);
    * ``"Constrained"`` (DetConstSort) inserts each group's next candidate when its
      minimum count increases and then moves it up past lower-scored candidates as long
      as the candidates it passes stay within their own latest allowed positions.

    It is not a predictor or transformer (it orders a list rather than labelling rows), so
    it has scikit-learn's parameter interface (``get_params`` / ``set_params``, ``clone``)
    without being a scikit-learn estimator.

    Within a group candidates keep their score order (ties by input order). A group that
    runs out of candidates is skipped; a position no group is required to fill takes the
    best remaining candidate. The result is the list of row indices, best first.

    Parameters
    ----------
    k : int, default=None
        Length of the re-ranked list; None means every candidate.
    algorithm : {"Greedy", "Conservative", "Relaxed", "Constrained"}, default="Constrained"
        The re-ranking algorithm (see above).
    target_prop : dict, array-like or None, default=None
        Target proportion of each group, summing to 1: a dict keyed by group label, or an
        array in the order of ``groups_`` (sorted labels). None means the groups'
        proportions among the candidates given to ``fit``.

    Attributes
    ----------
    groups_ : list
        Group labels, sorted (tuples for several attributes).
    target_prop_ : ndarray of shape (n_groups,)
        Target proportion of each group of ``groups_``.

    Notes
    -----
    The rankings equal AIF360's (0.6.1) for "Constrained", "Conservative" and "Relaxed"
    on the cases tested. For a group below its minimum, AIF360 adds the candidate's count
    to the group at the same position in its list of under-represented groups rather than
    to the candidate's own group; with "Greedy" this often shows, and AIF360's ranking
    then misses the minimum counts (or repeats a candidate). Here counts follow the paper.

    References
    ----------
    .. [1] S. C. Geyik, S. Ambler, K. Kenthapadi, "Fairness-Aware Ranking in Search &
       Recommendation Systems with Application to LinkedIn Talent Search", KDD 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.postprocessing import DeterministicReranker
    >>> scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    >>> groups = np.array(["a", "a", "a", "a", "b", "b"])
    >>> rr = DeterministicReranker(k=4, algorithm="Greedy", target_prop={"a": 0.5, "b": 0.5})
    >>> rr.fit(scores, sensitive_features=groups).rerank(scores, sensitive_features=groups)
    array([0, 4, 1, 5])
    """

    def __init__(self, *, k=None, algorithm="Constrained", target_prop=None):
        self.k = k
        self.algorithm = algorithm
        self.target_prop = target_prop

    def get_params(self, deep=True):
        """Parameters of this re-ranker (scikit-learn's interface, for ``clone``).

        Parameters
        ----------
        deep : bool, default=True
            Ignored (no sub-estimators).

        Returns
        -------
        params : dict
        """
        return {"k": self.k, "algorithm": self.algorithm, "target_prop": self.target_prop}

    def set_params(self, **params):
        """Set parameters (scikit-learn's interface).

        Parameters
        ----------
        **params : dict
            ``k``, ``algorithm`` and/or ``target_prop``.

        Returns
        -------
        self : DeterministicReranker
        """
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for DeterministicReranker; "
                    f"valid parameters are {sorted(valid)}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"DeterministicReranker({args})"

    def _check_params(self):
        if self.algorithm not in _ALGORITHMS:
            raise ValueError(
                f"algorithm must be one of {_ALGORITHMS}; got {_param_repr(self.algorithm)}."
            )
        if self.k is not None and (
            not isinstance(self.k, Integral) or isinstance(self.k, bool) or self.k < 1
        ):
            raise ValueError(f"k must be a positive integer or None; got {_param_repr(self.k)}.")

    def _scores(self, scores):
        s = np.asarray(to_pandas(scores))
        if s.ndim == 2 and s.shape[1] == 1:
            s = s[:, 0]
        if s.ndim != 1 or len(s) == 0:
            raise ValueError(f"scores must be a non-empty 1-d array; got shape {s.shape}.")
        try:
            s = s.astype(float)
        except (TypeError, ValueError):
            raise ValueError("scores must be numbers.") from None
        if not np.all(np.isfinite(s)):
            raise ValueError("scores must be finite (no NaN or inf).")
        return s

    def fit(self, scores, *, sensitive_features):
        """Learn the groups and the target proportions.

        Parameters
        ----------
        scores : array-like of shape (n_candidates,)
            Relevance scores, higher is better.
        sensitive_features : array-like of shape (n_candidates,) or (n_candidates, n_attributes)
            Group of each candidate; several columns give intersectional groups.

        Returns
        -------
        self : DeterministicReranker
        """
        self._check_params()
        s = self._scores(scores)
        enc = encode_groups(sensitive_features, n_samples=len(s))
        self.groups_ = list(enc.labels)
        n_groups = len(self.groups_)
        target = self.target_prop
        if target is None:
            prop = enc.counts() / len(s)
        elif isinstance(target, dict):
            unknown = [g for g in target if g not in self.groups_]
            if unknown:
                raise ValueError(
                    f"target_prop names groups absent from sensitive_features: "
                    f"{_param_repr(unknown)}; groups are {_param_repr(self.groups_)}."
                )
            prop = np.array([float(target.get(g, 0.0)) for g in self.groups_])
        else:
            prop = np.asarray(target, dtype=float).ravel()
            if len(prop) != n_groups:
                raise ValueError(
                    f"target_prop has {len(prop)} entries for {n_groups} groups "
                    f"{_param_repr(self.groups_)}."
                )
        if not np.all(np.isfinite(prop)) or prop.min() < 0 or abs(prop.sum() - 1) > 1e-6:
            raise ValueError(
                "target_prop must be non-negative proportions summing to 1; got "
                f"{_param_repr(prop.tolist())}."
            )
        self.target_prop_ = prop
        return self

    def rerank(self, scores, *, sensitive_features):
        """Indices of the re-ranked top-``k`` candidates, best first.

        Parameters
        ----------
        scores : array-like of shape (n_candidates,)
            Relevance scores, higher is better.
        sensitive_features : array-like of shape (n_candidates,) or (n_candidates, n_attributes)
            Group of each candidate, among the groups seen in ``fit``.

        Returns
        -------
        ranking : ndarray of shape (min(k, n_candidates),)
            Row indices of the chosen candidates in ranked order.
        """
        if not hasattr(self, "target_prop_"):
            raise NotFittedError(
                "This DeterministicReranker is not fitted yet; call fit before rerank."
            )
        self._check_params()
        s = self._scores(scores)
        enc = encode_groups(sensitive_features, n_samples=len(s))
        lookup = {g: i for i, g in enumerate(self.groups_)}
        unseen = [g for g in enc.labels if g not in lookup]
        if unseen:
            raise ValueError(
                f"sensitive_features holds groups not seen in fit: {_param_repr(unseen)}."
            )
        codes = np.array([lookup[g] for g in enc.labels], dtype=np.intp)[enc.codes]
        k = len(s) if self.k is None else min(int(self.k), len(s))
        # each group's candidates, best first (stable: ties keep input order)
        order = np.argsort(-s, kind="stable")
        queues = [order[codes[order] == g].tolist() for g in range(len(self.groups_))]
        if self.algorithm == "Constrained":
            return np.array(_constrained(queues, s, self.target_prop_, k), dtype=np.intp)
        return np.array(
            _greedy_family(queues, s, self.target_prop_, k, self.algorithm), dtype=np.intp
        )

    def fit_rerank(self, scores, *, sensitive_features):
        """Fit on the candidates and re-rank them.

        Parameters
        ----------
        scores : array-like of shape (n_candidates,)
            Relevance scores, higher is better.
        sensitive_features : array-like of shape (n_candidates,) or (n_candidates, n_attributes)
            Group of each candidate.

        Returns
        -------
        ranking : ndarray of shape (min(k, n_candidates),)
            Row indices of the chosen candidates in ranked order.
        """
        return self.fit(scores, sensitive_features=sensitive_features).rerank(
            scores, sensitive_features=sensitive_features
        )


def _greedy_family(queues, s, prop, k, algorithm):
    n_groups = len(queues)
    taken = [0] * n_groups
    ranking = []
    for pos in range(1, k + 1):
        alive = [g for g in range(n_groups) if taken[g] < len(queues[g])]
        head = {g: s[queues[g][taken[g]]] for g in alive}  # each group's next score
        floor = {g: math.floor(pos * prop[g]) for g in alive}
        ceil = {g: math.ceil(pos * prop[g]) for g in alive}
        below_min = [g for g in alive if taken[g] < floor[g]]
        below_max = [g for g in alive if floor[g] <= taken[g] < ceil[g]]
        if below_min:
            chosen = max(below_min, key=head.__getitem__)  # the first group on ties
        elif not below_max:
            chosen = max(alive, key=head.__getitem__)
        elif algorithm == "Greedy":
            chosen = max(below_max, key=head.__getitem__)
        elif algorithm == "Conservative":
            chosen = min(below_max, key=lambda h: (ceil[h] / prop[h], -head[h]))
        else:  # Relaxed
            chosen = min(below_max, key=lambda h: (math.ceil(ceil[h] / prop[h]), -head[h]))
        ranking.append(queues[chosen][taken[chosen]])
        taken[chosen] += 1
    return ranking


def _constrained(queues, s, prop, k):
    n_groups = len(queues)
    taken = [0] * n_groups
    min_counts = [0] * n_groups
    ranking, max_index = [], []
    step = 0
    while len(ranking) < k:
        if not any(prop[g] > 0 and taken[g] < len(queues[g]) for g in range(n_groups)):
            break  # no group can be required any more
        step += 1
        at_step = [math.floor(prop[g] * step) for g in range(n_groups)]
        changed = [
            g for g in range(n_groups) if at_step[g] > min_counts[g] and taken[g] < len(queues[g])
        ]
        changed.sort(key=lambda g: -s[queues[g][taken[g]]])  # stable: group order on ties
        for g in changed:
            if len(ranking) == k:
                break
            ranking.append(queues[g][taken[g]])
            max_index.append(step - 1)
            taken[g] += 1
            i = len(ranking) - 1
            # move up past lower-scored items that may still go down one place
            while i > 0 and max_index[i - 1] >= i and s[ranking[i - 1]] < s[ranking[i]]:
                ranking[i - 1], ranking[i] = ranking[i], ranking[i - 1]
                max_index[i - 1], max_index[i] = max_index[i], max_index[i - 1]
                i -= 1
        min_counts = at_step
    if len(ranking) < k:  # groups with target 0 fill the rest, best first
        rest = sorted(
            (c for g in range(n_groups) for c in queues[g][taken[g] :]), key=lambda c: -s[c]
        )
        ranking.extend(rest[: k - len(ranking)])
    return ranking
