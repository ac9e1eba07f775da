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

from .._groups import WARN_GROUP_LEVELS
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
    With more than two groups "Greedy" itself can leave a group below its minimum: two
    minimums can rise at the same position and only one candidate is placed there.

    Each group's ``k`` best candidates are selected without sorting the whole pool, so a
    short list from a large pool costs about one pass over the scores per group.

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
        return self._fit(s, _encode(sensitive_features, len(s)))

    def _fit(self, s, enc):
        labels, counts = enc[0], enc[1]
        self.groups_ = list(labels)
        n_groups = len(self.groups_)
        target = self.target_prop
        if target is None:
            prop = counts / len(s)
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
        return self._rerank(s, _encode(sensitive_features, len(s)))

    def _rerank(self, s, enc):
        labels, codes = enc[0], enc[2]
        lookup = {g: i for i, g in enumerate(self.groups_)}
        unseen = [g for g in labels if g not in lookup]
        if unseen:
            raise ValueError(
                f"sensitive_features holds groups not seen in fit: {_param_repr(unseen)}."
            )
        codes = np.array([lookup[g] for g in labels], dtype=np.intp)[codes]
        k = len(s) if self.k is None else min(int(self.k), len(s))
        queues, heads = _top_queues(s, codes, len(self.groups_), k)
        prop = [float(p) for p in self.target_prop_]
        if self.algorithm == "Constrained":
            ranking = _constrained(queues, heads, prop, k)
        else:
            ranking = _greedy_family(queues, heads, prop, k, self.algorithm)
        return np.array(ranking, dtype=np.intp)

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
        self._check_params()
        s = self._scores(scores)
        enc = _encode(sensitive_features, len(s))  # once for both steps
        return self._fit(s, enc)._rerank(s, enc)


def _encode(sensitive_features, n):
    """(labels, counts, codes) of the groups, as ``encode_groups`` gives them.

    A 1-d numpy integer or bool array of few levels (the usual input of a re-ranker called
    on many lists) is counted directly; anything else goes through ``encode_groups``, which
    also refuses or warns about columns that look continuous.
    """
    a = sensitive_features
    if (
        isinstance(a, np.ndarray)
        and a.ndim == 1
        and len(a) == n
        and n > 0
        and a.dtype.kind in "iub"
    ):
        if a.dtype.kind == "b":
            lo, hi, shifted = 0, 1, a.view(np.uint8).astype(np.intp)
        else:
            lo, hi = int(a.min()), int(a.max())
            shifted = None
            if hi - lo <= 4 * n + 1024:
                shifted = np.subtract(a, lo, dtype=np.intp) if lo else a.astype(np.intp)
        if shifted is not None:
            counts = np.bincount(shifted, minlength=hi - lo + 1)
            present = np.flatnonzero(counts)
            if len(present) <= WARN_GROUP_LEVELS:
                lookup = np.zeros(len(counts), dtype=np.intp)
                lookup[present] = np.arange(len(present))
                levels = (present + lo).astype(a.dtype)
                return levels.tolist(), counts[present], lookup[shifted]
    enc = encode_groups(sensitive_features, n_samples=n)
    return list(enc.labels), enc.counts(), enc.codes


def _top_queues(s, codes, n_groups, k):
    """Each group's first ``min(k, size)`` candidates, best score first, ties in input order,
    and their scores (lists). No ranking of length ``k`` reaches further into a group."""
    n = len(s)
    if n_groups * k * 4 >= n:  # the full sort is cheap enough
        order = np.argsort(-s, kind="stable")
        by_group = order[np.argsort(codes[order], kind="stable")]
        bounds = np.cumsum(np.bincount(codes, minlength=n_groups))
        starts = bounds - np.bincount(codes, minlength=n_groups)
        queues = [by_group[a : min(b, a + k)] for a, b in zip(starts, bounds, strict=True)]
    else:  # select each group's k best first, then sort only those
        queues = []
        for g in range(n_groups):
            idx = np.flatnonzero(codes == g)  # input order
            sg = s[idx]
            if len(idx) > k:
                # every member scoring at least the k-th best score (ties included)
                kth = -np.partition(-sg, k - 1)[k - 1]
                keep = sg >= kth
                idx, sg = idx[keep], sg[keep]
            queues.append(idx[np.argsort(-sg, kind="stable")[:k]])
    return [q.tolist() for q in queues], [s[q].tolist() for q in queues]


def _greedy_family(queues, heads, prop, k, algorithm):
    # heads[g][i] is the score of queues[g][i]; prop is a list of floats
    n_groups = len(queues)
    sizes = [len(q) for q in queues]
    taken = [0] * n_groups
    ranking = []
    conservative = algorithm == "Conservative"
    greedy = algorithm == "Greedy"
    groups = range(n_groups)
    for pos in range(1, k + 1):
        # best group below its floor, best below its ceiling (by the algorithm's key) and
        # best overall; first group on ties, as max / min over the groups in order
        min_g = max_g = any_g = -1
        min_h = any_h = 0.0
        max_key = None
        for g in groups:
            t = taken[g]
            if t >= sizes[g]:
                continue
            h = heads[g][t]
            if any_g < 0 or h > any_h:
                any_g, any_h = g, h
            x = pos * prop[g]
            if t < math.floor(x):
                if min_g < 0 or h > min_h:
                    min_g, min_h = g, h
            elif min_g < 0:
                c = math.ceil(x)
                if t < c:
                    if greedy:
                        key = (-h,)
                    elif conservative:
                        key = (c / prop[g], -h)
                    else:
                        key = (math.ceil(c / prop[g]), -h)
                    if max_g < 0 or key < max_key:
                        max_g, max_key = g, key
        chosen = min_g if min_g >= 0 else (max_g if max_g >= 0 else any_g)
        ranking.append(queues[chosen][taken[chosen]])
        taken[chosen] += 1
    return ranking


def _constrained(queues, heads, prop, k):
    n_groups = len(queues)
    sizes = [len(q) for q in queues]
    taken = [0] * n_groups
    min_counts = [0] * n_groups
    ranking, scores, max_index = [], [], []
    step = 0
    while len(ranking) < k:
        if not any(prop[g] > 0 and taken[g] < sizes[g] for g in range(n_groups)):
            break  # no group can be required any more
        step += 1
        at_step = [math.floor(p * step) for p in prop]
        changed = [g for g in range(n_groups) if at_step[g] > min_counts[g] and taken[g] < sizes[g]]
        if len(changed) > 1:
            changed.sort(key=lambda g: -heads[g][taken[g]])  # stable: group order on ties
        for g in changed:
            if len(ranking) == k:
                break
            score = heads[g][taken[g]]
            i = len(ranking)
            ranking.append(queues[g][taken[g]])
            scores.append(score)
            max_index.append(step - 1)
            taken[g] += 1
            # move up past lower-scored items that may still go down one place
            while i > 0 and max_index[i - 1] >= i and scores[i - 1] < score:
                ranking[i - 1], ranking[i] = ranking[i], ranking[i - 1]
                scores[i - 1], scores[i] = score, scores[i - 1]
                max_index[i - 1], max_index[i] = max_index[i], max_index[i - 1]
                i -= 1
        min_counts = at_step
    if len(ranking) < k:  # groups with target 0 fill the rest, best first
        # ties: group order, then queue order
        rest = sorted(
            (-heads[g][i], g, i) for g in range(n_groups) for i in range(taken[g], sizes[g])
        )
        ranking.extend(queues[g][i] for _, g, i in rest[: k - len(ranking)])
    return ranking
