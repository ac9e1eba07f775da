r"""Individual and distributional fairness metrics.

- :func:`consistency_score`: do similar individuals (k nearest neighbours) get similar
  predictions? (Zemel et al. 2013)
- inequality indices of the per-individual benefit :math:`b_i = \hat y_i - y_i + 1`:
  :func:`generalized_entropy_index` and its special cases :func:`theil_index` and
  :func:`coefficient_of_variation`, :func:`generalized_entropy_error`, and the between-group
  component :func:`between_group_generalized_entropy_error` /
  :func:`between_group_theil_index` (Speicher et al. 2018);
- :func:`smoothed_edf` (smoothed empirical differential fairness, Foulds et al. 2020) and
  :func:`df_bias_amplification`;
- :func:`kl_divergence` between the groups' label or prediction distributions;
- :func:`conditional_demographic_disparity` (Wachter et al. 2021).

Signatures follow ``aif360.sklearn.metrics`` but the groups come from
``sensitive_features=`` (1-D, 2-D or DataFrame; several attributes give intersectional
groups), as everywhere in fairkit. Every group computation is a ``np.bincount`` over group
codes: no Python loop over groups' rows.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import rel_entr, xlogy
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_array, check_consistent_length

from .._protected import encode_groups, privileged_mask

__all__ = [
    "consistency_score",
    "generalized_entropy_index",
    "generalized_entropy_error",
    "theil_index",
    "coefficient_of_variation",
    "between_group_generalized_entropy_error",
    "between_group_theil_index",
    "between_group_coefficient_of_variation",
    "smoothed_edf",
    "df_bias_amplification",
    "kl_divergence",
    "conditional_demographic_disparity",
]


# --------------------------------------------------------------------------- helpers


def _vector(y, name):
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}.")
    if arr.dtype.kind in "fc" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN.")
    return arr


def _weights(sample_weight, n):
    if sample_weight is None:
        return None
    w = _vector(sample_weight, "sample_weight").astype(float)
    if len(w) != n:
        raise ValueError(f"sample_weight has {len(w)} entries but there are {n} samples.")
    if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero.")
    return w


def _labels_and_groups(y_true, y_pred, sensitive_features, sample_weight, min_groups=1):
    """The vector to judge (y_pred if given, else y_true), group codes and weights."""
    y_true = _vector(y_true, "y_true")
    if y_pred is not None:
        y_pred = _vector(y_pred, "y_pred")
        check_consistent_length(y_true, y_pred)
    y = y_true if y_pred is None else y_pred
    groups = encode_groups(sensitive_features, n_samples=len(y), min_groups=min_groups)
    w = _weights(sample_weight, len(y))
    return y, groups, w


def _check_alpha(alpha):
    if not isinstance(alpha, Real) or isinstance(alpha, bool) or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite real number, got {alpha!r}.")
    return float(alpha)


def _benefit(y_true, y_pred, pos_label):
    y_true = _vector(y_true, "y_true")
    y_pred = _vector(y_pred, "y_pred")
    check_consistent_length(y_true, y_pred)
    return 1.0 + (y_pred == pos_label) - (y_true == pos_label)


# --------------------------------------------------------------------------- consistency


def consistency_score(X, y, *, n_neighbors=5):
    r"""Consistency of predictions among nearest neighbours (Zemel et al. 2013).

    .. math::

        \mathrm{consistency} = 1 - \frac{1}{n} \sum_{i=1}^n
            \Bigl| \hat y_i - \frac{1}{k} \sum_{j \in \mathcal N_k(x_i)} \hat y_j \Bigr|

    where :math:`\mathcal N_k(x_i)` are the ``n_neighbors`` nearest neighbours of
    :math:`x_i` in Euclidean distance, :math:`x_i` itself included (as in AIF360). 1 means
    every individual is predicted like its neighbours.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numeric features that define similarity (usually without the protected attributes,
        and scaled: the distance weighs every column equally).
    y : array-like of shape (n_samples,)
        Predictions (or labels), numeric (e.g. 0/1 or scores).
    n_neighbors : int, default=5

    Returns
    -------
    float

    References
    ----------
    .. [1] R. Zemel, Y. Wu, K. Swersky, T. Pitassi and C. Dwork, "Learning Fair
       Representations", ICML 2013.
    """
    X = check_array(X, input_name="X")
    y = _vector(y, "y").astype(float)
    check_consistent_length(X, y)
    if not isinstance(n_neighbors, Real) or int(n_neighbors) != n_neighbors or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}.")
    if n_neighbors > len(y):
        raise ValueError(f"n_neighbors={n_neighbors} exceeds the number of samples {len(y)}.")
    nn = NearestNeighbors(n_neighbors=int(n_neighbors), algorithm="ball_tree").fit(X)
    idx = nn.kneighbors(X, return_distance=False)
    return float(1.0 - np.abs(y - y[idx].mean(axis=1)).mean())


# --------------------------------------------------------------------------- inequality


def generalized_entropy_index(b, *, alpha=2, sample_weight=None):
    r"""Generalized entropy index of a non-negative "benefit" vector (Speicher et al. 2018).

    With :math:`\mu` the (weighted) mean of :math:`b`:

    .. math::

        \mathcal E(\alpha) = \begin{cases}
            \frac{1}{n\,\alpha(\alpha-1)} \sum_i \bigl[(b_i/\mu)^\alpha - 1\bigr],
                & \alpha \ne 0, 1,\\
            \frac{1}{n} \sum_i \frac{b_i}{\mu} \ln\frac{b_i}{\mu}, & \alpha = 1
                \text{ (Theil index)},\\
            -\frac{1}{n} \sum_i \ln\frac{b_i}{\mu}, & \alpha = 0
                \text{ (mean log deviation)}.
        \end{cases}

    :math:`\alpha = 2` gives half the squared coefficient of variation. 0 means perfect
    equality. For :math:`\alpha = 1`, :math:`0 \ln 0 = 0`; for :math:`\alpha = 0` a zero
    benefit gives ``inf``.

    Parameters
    ----------
    b : array-like of shape (n_samples,)
        Non-negative benefits with positive mean.
    alpha : float, default=2
    sample_weight : array-like of shape (n_samples,), optional
        Weights: :math:`\mu` and the average over :math:`i` become weighted means.

    Returns
    -------
    float

    Notes
    -----
    Matches ``aif360.sklearn.metrics.generalized_entropy_index`` for :math:`\alpha \ne 0`.
    For :math:`\alpha = 0` AIF360 0.6 also divides each term by :math:`\mu`, which departs
    from the formula it documents; fairkit follows the formula.
    """
    alpha = _check_alpha(alpha)
    b = _vector(b, "b").astype(float)
    if len(b) == 0:
        raise ValueError("b is empty.")
    if (b < 0).any() or not np.isfinite(b).all():
        raise ValueError("b must be finite and non-negative.")
    w = _weights(sample_weight, len(b))
    mu = np.average(b, weights=w)
    if mu <= 0:
        raise ValueError("b has mean 0; the generalized entropy index is undefined.")
    r = b / mu
    if alpha == 1:
        terms = xlogy(r, r)
    elif alpha == 0:
        with np.errstate(divide="ignore"):
            terms = -np.log(r)
    else:
        terms = (r**alpha - 1.0) / (alpha * (alpha - 1.0))
    return float(np.average(terms, weights=w))


def theil_index(b, *, sample_weight=None):
    r"""Theil index: :func:`generalized_entropy_index` with :math:`\alpha = 1`,
    :math:`\frac1n\sum_i \frac{b_i}{\mu}\ln\frac{b_i}{\mu}`."""
    return generalized_entropy_index(b, alpha=1, sample_weight=sample_weight)


def coefficient_of_variation(b, *, sample_weight=None):
    r"""Coefficient of variation :math:`\sigma_b/\mu_b = \sqrt{2\,\mathcal E(2)}`
    (population standard deviation)."""
    return float(np.sqrt(2.0 * generalized_entropy_index(b, alpha=2, sample_weight=sample_weight)))


def generalized_entropy_error(y_true, y_pred, *, alpha=2, pos_label=1, sample_weight=None):
    r"""Generalized entropy index of the benefits :math:`b_i = \hat y_i - y_i + 1`.

    With 0/1 outcomes (1 = ``pos_label``), a false negative has benefit 0, a correct
    prediction 1, a false positive 2 (Speicher et al. 2018). See
    :func:`generalized_entropy_index`.

    References
    ----------
    .. [1] T. Speicher, H. Heidari, N. Grgic-Hlaca, K. P. Gummadi, A. Singla, A. Weller and
       M. B. Zafar, "A Unified Approach to Quantifying Algorithmic Unfairness: Measuring
       Individual & Group Unfairness via Inequality Indices", KDD 2018.
    """
    b = _benefit(y_true, y_pred, pos_label)
    return generalized_entropy_index(b, alpha=alpha, sample_weight=sample_weight)


def between_group_generalized_entropy_error(
    y_true,
    y_pred,
    *,
    sensitive_features,
    priv_group=None,
    alpha=2,
    pos_label=1,
    sample_weight=None,
):
    r"""Between-group generalized entropy of the benefits :math:`b_i = \hat y_i - y_i + 1`.

    Every individual's benefit is replaced by the mean benefit of its group,
    :math:`b_i \to \mu_{g(i)}`, and :func:`generalized_entropy_index` is taken of the
    result: the part of the total inequality that lies between groups (Speicher et al. 2018).
    With ``priv_group`` the groups are privileged vs all others; without it, every group
    (intersectional when several attributes are given) counts separately.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
    priv_group : scalar, tuple or list, optional
    alpha : float, default=2
    pos_label : scalar, default=1
    sample_weight : array-like, optional

    Returns
    -------
    float

    Notes
    -----
    Equals ``aif360.sklearn.metrics.between_group_generalized_entropy_error`` with
    ``priv_group=None`` (AIF360 0.6 mishandles an explicit ``priv_group``).
    """
    b = _benefit(y_true, y_pred, pos_label)
    groups = encode_groups(sensitive_features, n_samples=len(b))
    codes = groups.codes
    if priv_group is not None:
        codes = privileged_mask(groups, priv_group)[codes].astype(np.intp)
    w = _weights(sample_weight, len(b))
    w_eff = np.ones(len(b)) if w is None else w
    total = np.bincount(codes, weights=w_eff * b)
    size = np.bincount(codes, weights=w_eff)
    means = np.divide(total, size, out=np.zeros_like(total), where=size > 0)
    return generalized_entropy_index(means[codes], alpha=alpha, sample_weight=w)


def between_group_theil_index(
    y_true, y_pred, *, sensitive_features, priv_group=None, pos_label=1, sample_weight=None
):
    r"""Between-group Theil index: :func:`between_group_generalized_entropy_error` with
    :math:`\alpha = 1`."""
    return between_group_generalized_entropy_error(
        y_true, y_pred, sensitive_features=sensitive_features, priv_group=priv_group,
        alpha=1, pos_label=pos_label, sample_weight=sample_weight,
    )


def between_group_coefficient_of_variation(
    y_true, y_pred, *, sensitive_features, priv_group=None, pos_label=1, sample_weight=None
):
    r"""Between-group coefficient of variation,
    :math:`\sqrt{2\,\mathcal E_{\text{between}}(2)}`."""
    return float(np.sqrt(2.0 * between_group_generalized_entropy_error(
        y_true, y_pred, sensitive_features=sensitive_features, priv_group=priv_group,
        alpha=2, pos_label=pos_label, sample_weight=sample_weight,
    )))


# --------------------------------------------------------------------------- differential fairness


def _smoothed_rates(y, groups, w, pos_label, concentration, n_classes):
    if not isinstance(concentration, Real) or not concentration >= 0:
        raise ValueError(f"concentration must be a non-negative number, got {concentration!r}.")
    w_eff = np.ones(len(y)) if w is None else w
    pos = np.bincount(groups.codes, weights=w_eff * (y == pos_label), minlength=groups.n_groups)
    tot = np.bincount(groups.codes, weights=w_eff, minlength=groups.n_groups)
    return (pos + concentration / n_classes) / (tot + concentration)


def smoothed_edf(
    y_true,
    y_pred=None,
    *,
    sensitive_features,
    pos_label=1,
    concentration=1.0,
    sample_weight=None,
):
    r"""Smoothed empirical differential fairness :math:`\epsilon` (Foulds et al. 2020).

    With the Dirichlet-smoothed rate of the favourable outcome in group :math:`s`,

    .. math::

        \tilde p_s = \frac{N_{s,+} + \alpha}{N_s + |R_Y|\,\alpha},

    where ``concentration`` :math:`= |R_Y|\alpha` and :math:`|R_Y|` is the number of
    outcome values, :math:`\epsilon` is the smallest value with
    :math:`e^{-\epsilon} \le \tilde p_{s_i}/\tilde p_{s_j} \le e^{\epsilon}` and the same for
    :math:`1 - \tilde p` over all pairs of (intersectional) groups:

    .. math::

        \epsilon = \max\Bigl(\max_s \ln\tilde p_s - \min_s \ln\tilde p_s,\;
                             \max_s \ln(1-\tilde p_s) - \min_s \ln(1-\tilde p_s)\Bigr).

    Lower is fairer; 0 means equal smoothed rates.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels; used only when ``y_pred`` is None (the data's own :math:`\epsilon`).
    y_pred : array-like of shape (n_samples,), optional
        Predictions; when given they are judged instead of ``y_true``.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
    pos_label : scalar, default=1
    concentration : float, default=1.0
        Smoothing :math:`|R_Y|\alpha` (non-negative; 0 gives the unsmoothed EDF).
    sample_weight : array-like, optional

    Returns
    -------
    float

    Notes
    -----
    :math:`|R_Y|` is the number of distinct values of the judged vector (at least 2).
    AIF360 counts the distinct values *within each group*; the two agree whenever every
    group shows both outcomes, and differ (AIF360 smooths less) for a group with a single
    observed outcome.

    References
    ----------
    .. [1] J. R. Foulds, R. Islam, K. N. Keya and S. Pan, "An Intersectional Definition of
       Fairness", ICDE 2020 (arXiv:1807.08362).
    """
    y, groups, w = _labels_and_groups(y_true, y_pred, sensitive_features, sample_weight, 2)
    n_classes = max(2, len(np.unique(y)))
    rates = _smoothed_rates(y, groups, w, pos_label, concentration, n_classes)
    with np.errstate(divide="ignore"):
        lp, ln = np.log(rates), np.log1p(-rates)
    return float(max(lp.max() - lp.min(), ln.max() - ln.min()))


def df_bias_amplification(
    y_true, y_pred, *, sensitive_features, pos_label=1, concentration=1.0, sample_weight=None
):
    r"""Differential-fairness bias amplification:
    :math:`\epsilon(\hat y) - \epsilon(y)` with :func:`smoothed_edf` (Foulds et al. 2020).

    Positive values mean the classifier is less fair than the data it learned from.
    """
    kw = dict(sensitive_features=sensitive_features, pos_label=pos_label,
              concentration=concentration, sample_weight=sample_weight)
    return smoothed_edf(y_true, y_pred, **kw) - smoothed_edf(y_true, **kw)


# --------------------------------------------------------------------------- KL divergence


def kl_divergence(y_true, y_pred=None, *, sensitive_features, priv_group=None, sample_weight=None):
    r"""Kullback-Leibler divergence between groups' outcome distributions.

    .. math::

        KL(P_p \,\|\, P_u) = \sum_y P_p(y) \ln\frac{P_p(y)}{P_u(y)}

    where :math:`P_g(y)` is the (weighted) share of outcome :math:`y` in group :math:`g`, over
    the outcome values of the judged vector (``y_pred`` if given, else ``y_true``).

    With ``priv_group``, :math:`P_p` is the privileged group's distribution and :math:`P_u`
    that of all other samples pooled (AIF360's definition for two groups). Without it, the
    largest divergence over ordered pairs of groups is returned (the worst gap).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,), optional
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
    priv_group : scalar, tuple or list, optional
    sample_weight : array-like, optional

    Returns
    -------
    float
        0 when the distributions are equal; ``inf`` when an outcome occurs in one
        distribution but not in the other it is compared with.
    """
    y, groups, w = _labels_and_groups(y_true, y_pred, sensitive_features, sample_weight, 2)
    _, y_codes = np.unique(y, return_inverse=True)
    n_values = int(y_codes.max()) + 1
    codes = groups.codes
    n_groups = groups.n_groups
    if priv_group is not None:
        # group 1 = privileged, group 0 = everyone else
        codes = privileged_mask(groups, priv_group)[codes].astype(np.intp)
        n_groups = 2
    counts = np.bincount(codes * n_values + y_codes, weights=w,
                         minlength=n_groups * n_values).reshape(n_groups, n_values)
    dist = counts / counts.sum(axis=1, keepdims=True)
    if priv_group is not None:
        return float(rel_entr(dist[1], dist[0]).sum())
    pair = rel_entr(dist[:, None, :], dist[None, :, :]).sum(axis=2)
    return float(pair.max())


# --------------------------------------------------------------------------- CDD


def conditional_demographic_disparity(
    y_true,
    y_pred=None,
    *,
    sensitive_features,
    strata=None,
    group=None,
    pos_label=1,
    sample_weight=None,
):
    r"""Conditional demographic disparity (Wachter, Mittelstadt & Russell 2021).

    The demographic disparity of group :math:`g` within stratum :math:`s` is its share of
    the unfavourable outcomes minus its share of the favourable ones,

    .. math::

        DD_{g,s} = \frac{N_{g,s,-}}{N_{s,-}} - \frac{N_{g,s,+}}{N_{s,+}},

    positive when the group receives more than its share of rejections. Conditioning on the
    strata (e.g. the department applied to) separates disparity from a legitimate
    explanatory variable (Simpson's paradox).

    - With ``group`` (a group label): :math:`CDD_g = \frac1n \sum_s n_s\, DD_{g,s}`, the
      size-weighted average of that group's disparity over strata (Wachter et al.).
    - Without ``group``: :math:`\frac1n \sum_{g,s} n_{g,s}\, DD_{g,s}`; with ``strata=None``
      this is exactly ``aif360.sklearn.metrics.conditional_demographic_disparity``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,), optional
        Judged instead of ``y_true`` when given.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
    strata : array-like of shape (n_samples,) or (n_samples, n_attributes), optional
        Conditioning variable(s); None means one stratum (plain demographic disparity).
    group : scalar, tuple or list, optional
        The protected group whose disparity is reported.
    pos_label : scalar, default=1
        The favourable outcome.
    sample_weight : array-like, optional

    Returns
    -------
    float

    Notes
    -----
    A stratum without favourable (or without unfavourable) outcomes contributes 0 for that
    share instead of an undefined 0/0.

    References
    ----------
    .. [1] S. Wachter, B. Mittelstadt and C. Russell, "Why fairness cannot be automated:
       Bridging the gap between EU non-discrimination law and AI", Computer Law & Security
       Review 41, 2021.
    """
    y, groups, w = _labels_and_groups(y_true, y_pred, sensitive_features, sample_weight)
    n = len(y)
    if strata is None:
        s_codes, n_strata = np.zeros(n, dtype=np.intp), 1
    else:
        enc = encode_groups(strata, n_samples=n, name="strata")
        s_codes, n_strata = enc.codes, enc.n_groups
    w_eff = np.ones(n) if w is None else w
    pos = (y == pos_label).astype(float)
    G = groups.n_groups
    cell = s_codes * G + groups.codes
    size = n_strata * G
    n_pos = np.bincount(cell, weights=w_eff * pos, minlength=size).reshape(n_strata, G)
    n_all = np.bincount(cell, weights=w_eff, minlength=size).reshape(n_strata, G)
    n_neg = n_all - n_pos
    s_pos = n_pos.sum(axis=1, keepdims=True)
    s_neg = n_neg.sum(axis=1, keepdims=True)
    share_neg = np.divide(n_neg, s_neg, out=np.zeros_like(n_neg), where=s_neg > 0)
    share_pos = np.divide(n_pos, s_pos, out=np.zeros_like(n_pos), where=s_pos > 0)
    dd = share_neg - share_pos  # (strata, groups)
    total = n_all.sum()
    if group is None:
        return float((n_all * dd).sum() / total)
    mask = privileged_mask(groups, group)
    dd_g = dd[:, mask].sum(axis=1)
    return float((n_all.sum(axis=1) * dd_g).sum() / total)
