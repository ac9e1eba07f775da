"""Fairness of a ranking: group representation in its prefixes and group exposure.

Every function takes the groups of the ranked items, best first (``sensitive_features``
in ranked order), or the items in any order with their ``y_score`` (sorted here by
decreasing score, ties in input order):

* :func:`skew_at_k`: Skew@k of each group, the log of its share of the top ``k`` over its
  target share (Geyik, Ambler & Kenthapadi 2019 [1]_); :func:`min_skew_at_k` /
  :func:`max_skew_at_k` are the worst under- and over-representation.
* :func:`ndkl`: normalised discounted cumulative KL divergence between the groups'
  distribution in every prefix and the target distribution [1]_.
* :func:`group_exposure`: mean position-bias exposure of each group's items, with
  :math:`v_j = 1 / \\log_2(1 + j)` at position :math:`j` (Singh & Joachims 2018 [2]_), and
  :func:`exposure_ratio`, the smallest over the largest.

Target shares default to the groups' shares among all the items given (the candidate
pool); pass ``target_prop`` (dict keyed by group label) for another target. Logs are
natural.

References
----------
.. [1] S. C. Geyik, S. Ambler, K. Kenthapadi, "Fairness-Aware Ranking in Search &
   Recommendation Systems with Application to LinkedIn Talent Search", KDD 2019.
.. [2] A. Singh, T. Joachims, "Fairness of Exposure in Rankings", KDD 2018.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._protected import _param_repr, encode_groups
from ..utils._dataframe import to_pandas
from ..utils._docstring import fair_docstring

__all__ = [
    "skew_at_k",
    "min_skew_at_k",
    "max_skew_at_k",
    "ndkl",
    "group_exposure",
    "exposure_ratio",
]


#: The parameters every ranking metric shares (docstring fragments).
_doc = fair_docstring.extend(
    ranked_items="""\
sensitive_features : array-like of shape (n_items,) or (n_items, n_attributes)
    Group of each item, in ranked order (best first) unless ``y_score`` is given.""",
    rank_scores="""\
y_score : array-like of shape (n_items,), default=None
    Scores to rank the items by (decreasing); None means the given order.""",
    target_prop="""\
target_prop : dict, default=None
    Target share of each group; None means its share among all items.""",
    prefix_k="""\
k : int
    Length of the prefix.""",
)


def _ranked(sensitive_features, y_score):
    enc = encode_groups(sensitive_features)
    codes = enc.codes
    if y_score is not None:
        s = np.asarray(to_pandas(y_score), dtype=float).ravel()
        if len(s) != len(codes):
            raise ValueError(
                f"y_score has {len(s)} entries but sensitive_features has "
                f"{len(codes)}; they must have the same length."
            )
        if not np.all(np.isfinite(s)):
            raise ValueError("y_score must be finite (no NaN or inf).")
        codes = codes[np.argsort(-s, kind="stable")]
    return codes, list(enc.labels)


def _target(target_prop, codes, labels):
    if target_prop is None:
        return np.bincount(codes, minlength=len(labels)) / len(codes)
    if not isinstance(target_prop, dict):
        raise ValueError(
            "target_prop must be a dict {group label: proportion} or None; got "
            f"{_param_repr(target_prop)}."
        )
    missing = [g for g in labels if g not in target_prop]
    if missing:
        raise ValueError(f"target_prop has no proportion for group(s) {_param_repr(missing)}.")
    prop = np.array([float(target_prop[g]) for g in labels])
    extra = sum(float(v) for g, v in target_prop.items() if g not in labels)
    if (
        not np.all(np.isfinite(prop))
        or prop.min() < 0
        or extra < 0
        or abs(prop.sum() + extra - 1) > 1e-6
    ):
        raise ValueError(
            "target_prop must be non-negative proportions summing to 1; got "
            f"{_param_repr(target_prop)}."
        )
    return prop


def _check_k(k, n):
    if k is None:
        return n
    if not isinstance(k, Integral) or isinstance(k, bool) or not 1 <= k <= n:
        raise ValueError(
            f"k must be an integer in [1, {n}] (the number of items); got {_param_repr(k)}."
        )
    return int(k)


@_doc
def skew_at_k(sensitive_features, *, k, y_score=None, target_prop=None):
    """Skew@k of every group: log of its share of the top ``k`` over its target share.

    .. math::

        \\mathrm{Skew}_g@k = \\log \\frac{c_g(k) / k}{p_g}

    with :math:`c_g(k)` members of group :math:`g` among the first :math:`k` items and
    :math:`p_g` its target share [1]_. 0 is perfect representation, negative values are
    under-representation (``-inf`` for a group absent from the top ``k``); a group with
    target 0 gets ``inf`` when present, ``nan`` when absent.

    Parameters
    ----------
    {ranked_items}
    {prefix_k}
    {rank_scores}
    {target_prop}

    Returns
    -------
    skew : dict
        Group label -> Skew@k.

    References
    ----------
    .. [1] S. C. Geyik, S. Ambler, K. Kenthapadi, KDD 2019.

    Examples
    --------
    >>> from fairkit.metrics.ranking import skew_at_k
    >>> {g: round(v, 4) for g, v in skew_at_k(["a", "a", "b", "a"], k=2).items()}
    {'a': 0.2877, 'b': -inf}
    """
    codes, labels = _ranked(sensitive_features, y_score)
    k = _check_k(k, len(codes))
    prop = _target(target_prop, codes, labels)
    share = np.bincount(codes[:k], minlength=len(labels)) / k
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.log(share / prop)
    return {g: float(v) for g, v in zip(labels, skew, strict=True)}


@_doc
def min_skew_at_k(sensitive_features, *, k, y_score=None, target_prop=None):
    """MinSkew@k: the most negative Skew@k over the groups (worst under-representation).

    Parameters
    ----------
    {ranked_items}
    {prefix_k}
    {rank_scores}
    {target_prop}

    Returns
    -------
    min_skew : float
    """
    skew = skew_at_k(sensitive_features, k=k, y_score=y_score, target_prop=target_prop)
    return float(np.nanmin(list(skew.values())))


@_doc
def max_skew_at_k(sensitive_features, *, k, y_score=None, target_prop=None):
    """MaxSkew@k: the largest Skew@k over the groups (worst over-representation).

    Parameters
    ----------
    {ranked_items}
    {prefix_k}
    {rank_scores}
    {target_prop}

    Returns
    -------
    max_skew : float
    """
    skew = skew_at_k(sensitive_features, k=k, y_score=y_score, target_prop=target_prop)
    return float(np.nanmax(list(skew.values())))


@_doc
def ndkl(sensitive_features, *, k=None, y_score=None, target_prop=None):
    """Normalised discounted cumulative KL divergence of a ranking (NDKL).

    .. math::

        \\mathrm{NDKL} = \\frac{1}{Z} \\sum_{i=1}^{k} \\frac{1}{\\log_2(i + 1)}
        \\, d_{KL}(D_i \\,\\|\\, D), \\qquad Z = \\sum_{i=1}^{k} \\frac{1}{\\log_2(i + 1)},

    where :math:`D_i` is the distribution of the groups among the first :math:`i` items,
    :math:`D` the target distribution and
    :math:`d_{KL}(P \\| Q) = \\sum_g P_g \\log(P_g / Q_g)` (terms with :math:`P_g = 0` are
    0) [1]_. 0 means every prefix has the target shares; larger is less fair.

    Parameters
    ----------
    {ranked_items}
    k : int, default=None
        Number of prefixes summed over; None means all items.
    {rank_scores}
    {target_prop}

    Returns
    -------
    ndkl : float

    References
    ----------
    .. [1] S. C. Geyik, S. Ambler, K. Kenthapadi, KDD 2019.
    """
    codes, labels = _ranked(sensitive_features, y_score)
    k = _check_k(k, len(codes))
    prop = _target(target_prop, codes, labels)
    onehot = np.zeros((k, len(labels)))
    onehot[np.arange(k), codes[:k]] = 1
    positions = np.arange(1, k + 1)
    dist = np.cumsum(onehot, axis=0) / positions[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(dist > 0, dist * np.log(dist / prop), 0.0)
    kl = terms.sum(axis=1)
    discount = 1 / np.log2(positions + 1)
    return float(discount @ kl / discount.sum())


@_doc
def group_exposure(sensitive_features, *, k=None, y_score=None):
    """Mean exposure of each group's items under a logarithmic position bias.

    .. math::

        \\mathrm{Exposure}(G) = \\frac{1}{|G|} \\sum_{i \\in G} v_{\\mathrm{rank}(i)},
        \\qquad v_j = \\frac{1}{\\log_2(1 + j)} \\text{ for } j \\le k, \\; 0 \\text{ beyond},

    the exposure of Singh & Joachims (2018) [1]_ with the DCG position bias; ``k`` cuts
    the list (items below position ``k`` are not seen).

    Parameters
    ----------
    {ranked_items}
    k : int, default=None
        Positions that receive exposure; None means all.
    {rank_scores}

    Returns
    -------
    exposure : dict
        Group label -> mean exposure of its items.

    References
    ----------
    .. [1] A. Singh, T. Joachims, "Fairness of Exposure in Rankings", KDD 2018.

    Examples
    --------
    >>> from fairkit.metrics.ranking import group_exposure
    >>> group_exposure(["a", "b", "a", "b"])  # doctest: +ELLIPSIS
    {'a': 0.75, 'b': 0.5...}
    """
    codes, labels = _ranked(sensitive_features, y_score)
    k = _check_k(k, len(codes))
    v = np.zeros(len(codes))
    v[:k] = 1 / np.log2(np.arange(1, k + 1) + 1)
    total = np.bincount(codes, weights=v, minlength=len(labels))
    return {g: float(t / c) for g, t, c in zip(labels, total, np.bincount(codes), strict=True)}


@_doc
def exposure_ratio(sensitive_features, *, k=None, y_score=None):
    """Smallest over largest mean group exposure (1 is equal exposure).

    Parameters
    ----------
    {ranked_items}
    k : int, default=None
        Positions that receive exposure; None means all.
    {rank_scores}

    Returns
    -------
    ratio : float
    """
    values = list(group_exposure(sensitive_features, k=k, y_score=y_score).values())
    return float(min(values) / max(values)) if max(values) > 0 else float("nan")
