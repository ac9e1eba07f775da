"""Synthetic data with a controllable dependence on a protected attribute."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = ["make_biased_classification"]

_TYPES = ("binary", "categorical", "continuous")


def _check_int(value, name, low):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_real(value, name, nonneg=False):
    if not isinstance(value, Real) or isinstance(value, bool) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if nonneg and value < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}.")
    return float(value)


def make_biased_classification(
    n_samples=1000,
    n_features=5,
    *,
    bias=1.0,
    prot_attr_type="binary",
    n_groups=None,
    group_proportions=None,
    n_proxy=1,
    proxy_strength=1.0,
    class_sep=1.0,
    include_prot_attr=False,
    as_frame=False,
    random_state=None,
):
    r"""Binary classification data whose label depends on a protected attribute by ``bias``.

    The generative model (all draws vectorised, so millions of rows take a fraction of a
    second per column):

    1. protected attribute :math:`a`: ``"binary"`` (0/1), ``"categorical"``
       (``0 .. n_groups-1``) drawn with ``group_proportions``, or ``"continuous"``
       (:math:`a \sim N(0, 1)`). Its score is :math:`s(a) = a - 1/2` for binary,
       :math:`s = -1/2 + a/(G-1)` for categorical (evenly spaced in
       :math:`[-1/2, 1/2]`), :math:`s = a` for continuous;
    2. features :math:`Z \sim N(0, I)`; the first ``n_features - n_proxy`` columns are
       *informative*, the last ``n_proxy`` are *proxies*:
       :math:`X_{\text{proxy}} = Z_{\text{proxy}} + \text{proxy\_strength}\cdot s(a)`;
    3. label :math:`y \sim \text{Bernoulli}(\sigma(\text{class\_sep}\; Z_{\text{inf}} \beta
       + \text{bias}\cdot s(a)))` with a random unit vector :math:`\beta`.

    So ``bias`` is the log-odds difference between the most and the least favoured group
    (binary, categorical) or per standard deviation of :math:`a` (continuous), with 1 the
    favourable label; ``bias=0`` makes :math:`y` independent of :math:`a` exactly (the
    informative features never depend on :math:`a`), while the proxy columns still reveal
    :math:`a` (set ``proxy_strength=0`` to remove that too). Since
    :math:`Z_{\text{inf}}\beta \sim N(0, 1)`, the group rates are
    :math:`P(y=1 \mid a) = \int \sigma(\text{class\_sep}\, t + \text{bias}\, s(a))\,
    \varphi(t)\,dt`.

    Parameters
    ----------
    n_samples : int, default=1000
    n_features : int, default=5
        Number of columns of ``X`` (the protected attribute excluded).
    bias : float, default=1.0
        Direct effect of the attribute on the label's log-odds. Negative values favour the
        group with the lowest code.
    prot_attr_type : {"binary", "categorical", "continuous"}, default="binary"
    n_groups : int, optional
        Number of groups: 2 for binary (the only allowed value), default 3 for categorical;
        not used for continuous.
    group_proportions : array-like of shape (n_groups,), optional
        Probabilities of the groups (default: equal).
    n_proxy : int, default=1
        Number of proxy columns (at most ``n_features``; at least one informative column
        remains unless ``n_proxy == n_features``, in which case the label depends on the
        attribute alone).
    proxy_strength : float, default=1.0
        Shift of the proxy columns per unit of :math:`s(a)`.
    class_sep : float, default=1.0
        Weight of the informative features in the label's log-odds.
    include_prot_attr : bool, default=False
        Also append the attribute to ``X`` as its last column (named ``"prot_attr"``), so it
        can be selected with ``prot_attr=-1`` or ``prot_attr="prot_attr"``.
    as_frame : bool, default=False
        Return a DataFrame (columns ``x0, x1, ...``) and Series instead of ndarrays.
    random_state : int, RandomState instance or None
        Seed for reproducible output.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_samples, n_features [+ 1])
    y : ndarray or Series of shape (n_samples,)
        0/1 labels, 1 favourable.
    sensitive : ndarray or Series of shape (n_samples,)
        The protected attribute (int codes, 1 / the highest code favoured when
        ``bias > 0``; floats for continuous).

    Examples
    --------
    >>> from fairkit.datasets import make_biased_classification
    >>> X, y, a = make_biased_classification(100_000, bias=2.0, random_state=0)
    >>> X.shape
    (100000, 5)
    >>> round(float(y[a == 1].mean() - y[a == 0].mean()), 2)
    0.4
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_features = _check_int(n_features, "n_features", 1)
    n_proxy = _check_int(n_proxy, "n_proxy", 0)
    if n_proxy > n_features:
        raise ValueError(f"n_proxy={n_proxy} exceeds n_features={n_features}.")
    bias = _check_real(bias, "bias")
    proxy_strength = _check_real(proxy_strength, "proxy_strength")
    class_sep = _check_real(class_sep, "class_sep", nonneg=True)
    if prot_attr_type not in _TYPES:
        raise ValueError(f"prot_attr_type must be one of {_TYPES}, got {prot_attr_type!r}.")
    rng = check_random_state(random_state)

    if prot_attr_type == "continuous":
        if n_groups is not None or group_proportions is not None:
            raise ValueError(
                "n_groups and group_proportions apply to discrete attributes, not to "
                "prot_attr_type='continuous'."
            )
        a = rng.standard_normal(n_samples)
        s = a
    else:
        default = 2 if prot_attr_type == "binary" else 3
        n_groups = default if n_groups is None else _check_int(n_groups, "n_groups", 2)
        if prot_attr_type == "binary" and n_groups != 2:
            raise ValueError(f"n_groups must be 2 for prot_attr_type='binary', got {n_groups}.")
        if group_proportions is None:
            p = np.full(n_groups, 1.0 / n_groups)
        else:
            p = np.asarray(group_proportions, dtype=float)
            if p.shape != (n_groups,) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
                raise ValueError(
                    f"group_proportions must be {n_groups} non-negative numbers summing to 1, "
                    f"got {group_proportions!r}."
                )
        # inverse-CDF sampling: one uniform per row, vectorised for any number of groups
        cdf = np.cumsum(p)
        cdf[-1] = 1.0
        a = np.searchsorted(cdf, rng.random(n_samples), side="right").astype(np.int64)
        s = -0.5 + a / (n_groups - 1)

    X = rng.standard_normal((n_samples, n_features))
    n_inf = n_features - n_proxy
    logit = bias * s
    if n_inf:
        beta = rng.standard_normal(n_inf)
        beta /= np.linalg.norm(beta)
        logit = logit + class_sep * (X[:, :n_inf] @ beta)
    if n_proxy:
        X[:, n_inf:] += proxy_strength * s[:, None]
    y = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    if include_prot_attr:
        X = np.column_stack([X, a.astype(float)])
    if not as_frame:
        return X, y, a
    columns = [f"x{j}" for j in range(n_features)] + (["prot_attr"] if include_prot_attr else [])
    frame = pd.DataFrame(X, columns=columns)
    if include_prot_attr:
        frame["prot_attr"] = a
    return frame, pd.Series(y, name="y"), pd.Series(a, name="prot_attr")
