"""Dependence-based fairness measures between predictions and protected attributes.

These measures accept what group metrics cannot: continuous protected attributes (age),
several attributes of mixed types at once, and continuous predictions (scores, regression
outputs).

* :func:`distance_covariance`, :func:`distance_correlation`: Székely-Rizzo-Bakirov distance
  covariance / correlation between the predictions and the encoded attributes, computed by
  :mod:`dcor` (V- or U-statistic).
* :func:`joint_distance_covariance`: the joint distance covariance JdCov of
  Chakraborty & Zhang (2019) over ``(y_pred, S_1, ..., S_d)``.
* :func:`concatenated_distance_covariance`: CCdCov, the distance covariance between the
  predictions and the concatenation ``[S_1 | ... | S_d]`` of the encoded attributes.
* :func:`jensen_shannon_divergence`: generalised Jensen-Shannon divergence between the
  per-group densities of the predictions (Gaussian KDE on a grid).
* :func:`unfairness_ratio`: UF = Var_g(E[yhat | g]) / Var(yhat).

All attribute encodings go through :func:`encode_protected_attributes`, which is also what
the distance-covariance regularised models in :mod:`fairkit.inprocessing._dcov` use.

References
----------
.. [1] G. J. Székely, M. L. Rizzo, N. K. Bakirov, "Measuring and testing dependence by
   correlation of distances", Annals of Statistics 35(6), 2007.
.. [2] G. J. Székely, M. L. Rizzo, "Partial distance correlation with methods for
   dissimilarities", Annals of Statistics 42(6), 2014 (U-statistic).
.. [3] S. Chakraborty, X. Zhang, "Distance metrics for measuring joint dependence with
   application to causal inference", JASA 114(528), 2019.
.. [4] H. Lee, K. Antonio, B. Avanzi, L. Marchi, R. Zhou, "Machine Learning with Multitype
   Protected Attributes: Intersectional Fairness through Regularisation", arXiv 2509.08163,
   2025.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from .._protected import as_frame, encode_groups, is_continuous_attribute
from .._validation import near_constant


def _dcor():
    # dcor compiles numba kernels when imported (seconds): load it on first use only, so
    # `import fairkit.metrics` stays fast in every process, joblib workers included.
    import dcor

    return dcor


__all__ = [
    "EncodedAttributes",
    "encode_protected_attributes",
    "distance_covariance",
    "distance_correlation",
    "joint_distance_covariance",
    "concatenated_distance_covariance",
    "jensen_shannon_divergence",
    "unfairness_ratio",
]

_SCALINGS = ("std", "range", "none")
_STATISTICS = ("v", "u")


@dataclass
class EncodedAttributes:
    """Protected attributes encoded as a numeric matrix.

    Attributes
    ----------
    matrix : ndarray of shape (n_samples, n_columns)
        The concatenation of all encoded attributes.
    blocks : list of ndarray
        One ``(n_samples, k)`` block per attribute, in attribute order.
    kinds : list of str
        ``"categorical"``, ``"binary"`` or ``"continuous"`` per attribute.
    names : list of str
        Attribute names.
    """

    matrix: np.ndarray
    blocks: list
    kinds: list
    names: list


def encode_protected_attributes(
    sensitive_features,
    *,
    categorical="auto",
    continuous_scaling="std",
    n_samples=None,
    name="sensitive_features",
) -> EncodedAttributes:
    """Encode protected attributes of mixed types for distance-based measures.

    The encoding fixes the distance between two people on each attribute, hence each
    attribute's weight in a distance covariance:

    * categorical (more than two levels): one-hot, so two different values are at distance
      :math:`\\sqrt 2` and equal values at 0;
    * binary (exactly two levels, bool, or a categorical column with two values): one 0/1
      column, distance 1;
    * continuous: one column, centred and scaled by ``continuous_scaling``.

    Which numeric columns are continuous follows the one rule of the package,
    :func:`fairkit._protected.is_continuous_attribute` (numeric, not bool, more than
    ``MAX_GROUP_LEVELS`` = 100 distinct values), so an attribute is a set of groups here
    exactly when the group metrics and group-based mitigators treat it as one.

    Parameters
    ----------
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        1-D array, Series, 2-D array, dict of arrays or DataFrame; no missing values.
    categorical : "auto", bool or list, default="auto"
        Which attributes are categorical. ``"auto"``: non-numeric columns (strings,
        ``category``, bool) and numeric columns with at most 100 distinct values (e.g. an
        integer-coded race) are categorical (binary when they have two values); numeric
        columns with more than 100 distinct values are continuous.
        ``True``: all categorical. ``False``: every numeric column with more than two
        values is continuous, whatever its number of levels (e.g. age in whole years);
        non-numeric columns stay categorical. A list of column names (or integer
        positions) forces those columns to be categorical and leaves the others to
        ``"auto"``.
    continuous_scaling : {"std", "range", "none"} or float, default="std"
        Scaling rule for continuous attributes: ``"std"`` divides the centred column by its
        standard deviation (z-score, typical distance :math:`2/\\sqrt\\pi \\approx 1.13`,
        comparable to a binary attribute's 1); ``"range"`` maps it to [0, 1]; ``"none"``
        keeps raw units (then an attribute in years weighs far more than a one-hot one);
        a positive float ``t`` divides the centred column by ``t``. A constant column is
        left at 0.
    n_samples : int, optional
        Expected number of rows.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    EncodedAttributes
    """
    frame = as_frame(sensitive_features, name=name, n_samples=n_samples)
    _check_scaling(continuous_scaling)
    forced = _forced_categorical(categorical, frame)
    # False: numeric columns are numbers; otherwise the package's one continuity rule
    numbers_only = isinstance(categorical, (bool, np.bool_)) and not categorical
    blocks, kinds = [], []
    for j, col_name in enumerate(frame.columns):
        col = frame[col_name]
        n_levels = col.nunique()
        is_number = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numbers_only:
            discrete = not is_number
        else:
            discrete = not is_continuous_attribute(col, n_unique=n_levels)
        if (discrete or j in forced) and not (is_number and n_levels == 2 and j not in forced):
            codes, _ = pd.factorize(col, sort=False)
            if n_levels == 2:
                blocks.append(codes.astype(float)[:, None])
                kinds.append("binary")
            else:
                onehot = np.zeros((len(col), max(n_levels, 1)))
                onehot[np.arange(len(col)), codes] = 1.0
                blocks.append(onehot)
                kinds.append("categorical")
            continue
        values = col.to_numpy(dtype=float)
        if n_levels == 2:
            blocks.append((values == values.max()).astype(float)[:, None])
            kinds.append("binary")
            continue
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} column {col_name!r} contains infinite values.")
        blocks.append(_scale_continuous(values, continuous_scaling)[:, None])
        kinds.append("continuous")
    matrix = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
    return EncodedAttributes(
        matrix=matrix, blocks=blocks, kinds=kinds, names=[str(c) for c in frame.columns]
    )


def _check_scaling(scaling):
    if isinstance(scaling, str):
        if scaling not in _SCALINGS:
            raise ValueError(
                f"continuous_scaling must be one of {_SCALINGS} or a positive float, "
                f"got {scaling!r}."
            )
    elif not (isinstance(scaling, Real) and not isinstance(scaling, bool) and scaling > 0):
        raise ValueError(
            f"continuous_scaling must be one of {_SCALINGS} or a positive float, got {scaling!r}."
        )


def _forced_categorical(categorical, frame):
    if isinstance(categorical, str):
        if categorical != "auto":
            raise ValueError(
                f"categorical must be 'auto', a bool or a list of columns, got {categorical!r}."
            )
        return set()
    if isinstance(categorical, (bool, np.bool_)):
        return set(range(frame.shape[1])) if categorical else set()
    items = list(categorical) if isinstance(categorical, (list, tuple)) else [categorical]
    names = [str(c) for c in frame.columns]
    out = set()
    for item in items:
        if isinstance(item, Integral) and not isinstance(item, bool) and str(item) not in names:
            if not -len(names) <= item < len(names):
                raise ValueError(
                    f"categorical index {item} is out of range for {len(names)} attribute(s)."
                )
            out.add(int(item) % len(names))
        elif str(item) in names:
            out.add(names.index(str(item)))
        else:
            raise ValueError(f"categorical column {item!r} not found; attributes are {names}.")
    return out


def _scale_continuous(values, scaling):
    centred = values - values.mean()
    if scaling == "none":
        return centred
    if scaling == "std":
        scale = values.std()
    elif scaling == "range":
        scale = values.max() - values.min()
        centred = values - values.min()
    else:
        scale = float(scaling)
    return centred / scale if scale > 0 else np.zeros_like(values)


def _prediction_vector(y_pred, n_samples=None):
    y = np.asarray(y_pred, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y_pred must be 1-D, got an array of shape {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ValueError("y_pred contains NaN or infinite values.")
    if n_samples is not None and len(y) != n_samples:
        raise ValueError(
            f"y_pred has {len(y)} values but sensitive_features has {n_samples} rows."
        )
    return y


def _check_statistic(statistic, n):
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be 'v' or 'u', got {statistic!r}.")
    if statistic == "u" and n < 4:
        raise ValueError(
            f"The U-statistic needs at least 4 samples, got n_samples = {n}; "
            "use statistic='v' or more samples."
        )


def _prepare(y_pred, sensitive_features, categorical, continuous_scaling, statistic):
    y = _prediction_vector(y_pred)
    enc = encode_protected_attributes(
        sensitive_features,
        categorical=categorical,
        continuous_scaling=continuous_scaling,
        n_samples=len(y),
    )
    _check_statistic(statistic, len(y))
    return y, enc


def _s_argument(matrix):
    # dcor picks its O(n log n) algorithm only for two 1-D inputs.
    return matrix[:, 0] if matrix.shape[1] == 1 else matrix


# the one "constant up to round-off" rule of the layer
_near_constant = near_constant


def _is_constant(y, s):
    return _near_constant(y) or _near_constant(s)


def _dcor_statistic(kind, y_pred, sensitive_features, statistic, squared, categorical,
                    continuous_scaling):
    """dcor's squared distance covariance or correlation (V or U), 0 for constant inputs.

    The constant case is answered here: for the correlation, dcor's fast path would
    divide rounding noise by rounding noise.
    """
    y, enc = _prepare(y_pred, sensitive_features, categorical, continuous_scaling, statistic)
    if statistic == "u" and not squared:
        raise ValueError("squared=False is not defined for statistic='u' (it can be < 0).")
    if _is_constant(y, enc.matrix):
        return 0.0
    prefix = "u_" if statistic == "u" else ""
    value = float(getattr(_dcor(), f"{prefix}distance_{kind}_sqr")(y, _s_argument(enc.matrix)))
    if kind == "correlation" and statistic == "v":
        value = min(max(value, 0.0), 1.0)  # the V-statistic is in [0, 1]; keep round-off so
    return value if squared else float(np.sqrt(max(value, 0.0)))


def distance_covariance(
    y_true,
    y_pred,
    *,
    sensitive_features,
    statistic="v",
    squared=True,
    categorical="auto",
    continuous_scaling="std",
):
    """Distance covariance between predictions and (encoded) protected attributes.

    .. math::

        \\mathrm{dCov}^2_n(\\hat y, S) = \\frac{1}{n^2} \\sum_{i,j} A_{ij} B_{ij}

    with :math:`A, B` the double-centred distance matrices of :math:`\\hat y` and of the
    encoded attributes :math:`S` (V-statistic). The U-statistic uses U-centred matrices and
    :math:`1/(n(n-3))`; it is unbiased and can be negative. Several attributes are
    concatenated (see :func:`concatenated_distance_covariance`). Computed by :mod:`dcor`;
    one 1-D continuous or binary attribute uses dcor's O(n log n) algorithm, one-hot
    encodings its O(n^2) one.

    Parameters
    ----------
    y_true : array-like or None
        Ignored; present so that every fairkit metric has the signature
        ``metric(y_true, y_pred, *, sensitive_features)`` (and works with
        :func:`~fairkit.metrics.make_fairness_scorer`).
    y_pred : array-like of shape (n_samples,)
        Predictions (scores, probabilities or regression outputs).
    sensitive_features : array-like
        Protected attribute(s), 1-D, 2-D or DataFrame; categorical, binary or continuous.
    statistic : {"v", "u"}, default="v"
        V-statistic (biased, >= 0) or U-statistic (unbiased, needs n >= 4).
    squared : bool, default=True
        Return :math:`\\mathrm{dCov}^2`. ``False`` returns its square root and is only
        allowed for the V-statistic.
    categorical, continuous_scaling
        See :func:`encode_protected_attributes`.

    Returns
    -------
    float
        Constant predictions or constant attributes give exactly 0.

    References
    ----------
    Székely, Rizzo & Bakirov (2007); Székely & Rizzo (2014).
    """
    return _dcor_statistic("covariance", y_pred, sensitive_features, statistic, squared,
                           categorical, continuous_scaling)


def distance_correlation(
    y_true,
    y_pred,
    *,
    sensitive_features,
    statistic="v",
    squared=True,
    categorical="auto",
    continuous_scaling="std",
):
    """Distance correlation between predictions and (encoded) protected attributes.

    .. math::

        \\mathrm{dCor}^2(\\hat y, S) = \\frac{\\mathrm{dCov}^2(\\hat y, S)}
        {\\sqrt{\\mathrm{dCov}^2(\\hat y, \\hat y)\\, \\mathrm{dCov}^2(S, S)}}

    0 under independence (population), in [0, 1] for the V-statistic; the U-statistic
    (bias-corrected dCor, Székely & Rizzo 2014) can be slightly negative. Constant
    predictions or attributes give exactly 0 (dcor's convention; fairkit checks for this
    case itself because dcor's fast path can return a ratio of rounding errors there), and
    so do predictions constant up to round-off: a range below 1e-9 times their magnitude
    (``max(1, max |y|)``), the rule :func:`unfairness_ratio` uses, as a model regularised
    to a constant returns.

    Parameters
    ----------
    y_true, y_pred, sensitive_features, statistic, squared, categorical, continuous_scaling
        As in :func:`distance_covariance` (``y_true`` is ignored).

    Returns
    -------
    float
    """
    return _dcor_statistic("correlation", y_pred, sensitive_features, statistic, squared,
                           categorical, continuous_scaling)


def concatenated_distance_covariance(
    y_true,
    y_pred,
    *,
    sensitive_features,
    statistic="v",
    categorical="auto",
    continuous_scaling="std",
):
    """Concatenated distance covariance CCdCov between predictions and all attributes.

    .. math::

        \\mathrm{CCdCov}(\\hat y; S_1, \\dots, S_d) =
        \\mathrm{dCov}^2\\bigl(\\hat y, [\\tilde S_1 \\mid \\dots \\mid \\tilde S_d]\\bigr)

    where :math:`\\tilde S_k` is attribute :math:`k` encoded by
    :func:`encode_protected_attributes` (one-hot, 0/1 or scaled). It is zero (population)
    iff the predictions are independent of the attributes *jointly*, so it also sees
    dependence on intersections (e.g. only Black women treated differently) that separate
    per-attribute measures can miss.

    Returns
    -------
    float
        The squared distance covariance (V- or U-statistic).

    References
    ----------
    Lee, Antonio, Avanzi, Marchi & Zhou (2025), arXiv 2509.08163.
    """
    return distance_covariance(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        statistic=statistic,
        categorical=categorical,
        continuous_scaling=continuous_scaling,
    )


def _centred_kernels(blocks, statistic):
    """``-(double-centred or U-centred distance matrix)`` of each block: Chakraborty & Zhang's
    :math:`\\hat U_i`."""
    out = []
    for block in blocks:
        dist = cdist(block, block) if block.shape[1] > 1 else np.abs(block - block.T)
        centred = _dcor().double_centered(dist) if statistic == "v" else _dcor().u_centered(dist)
        out.append(-centred)
    return out


def joint_distance_covariance(
    y_true,
    y_pred,
    *,
    sensitive_features,
    c=1.0,
    statistic="v",
    categorical="auto",
    continuous_scaling="std",
):
    """Joint distance covariance JdCov of the predictions and the protected attributes.

    For variables :math:`X_1 = \\hat y, X_2 = S_1, \\dots, X_{d+1} = S_d` (Chakraborty &
    Zhang 2019),

    .. math::

        \\mathrm{JdCov}^2_n(X_1, \\dots, X_{d+1}; c) = \\frac{1}{n^2} \\sum_{k,l}
        \\prod_{i=1}^{d+1} \\bigl(\\hat U_i(k, l) + c\\bigr) - c^{d+1},

    where :math:`\\hat U_i = -A_i` is minus the double-centred distance matrix of
    :math:`X_i`. Expanded, it is :math:`c^{d-1} \\sum_{i<j} \\mathrm{dCov}^2(X_i, X_j)`
    plus higher-order terms, so it is zero (population) iff all variables are mutually
    independent; with one attribute it equals :math:`\\mathrm{dCov}^2(\\hat y, S_1)`. It
    also contains terms between the attributes themselves, which give it a floor above 0
    when the attributes depend on each other.

    The U-statistic version (DECIDED here) uses U-centred matrices :math:`\\tilde U_i`
    (zero diagonal) and :math:`\\frac{1}{n(n-3)} \\sum_{k \\ne l} [\\prod_i (\\tilde U_i(k,l)
    + c) - c^{d+1}]`: its pairwise terms are exactly the unbiased
    :math:`\\mathrm{dCov}^2_U`, so with one attribute it equals the U-statistic dCov.

    Parameters
    ----------
    y_true : array-like or None
        Ignored (uniform metric signature).
    y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like
        One column per attribute (a categorical attribute is one variable, one-hot).
    c : float, default=1.0
        Chakraborty & Zhang's constant; ``c=1`` weighs pairwise and higher-order terms
        equally, as in Lee et al. (2025).
    statistic : {"v", "u"}, default="v"
    categorical, continuous_scaling
        See :func:`encode_protected_attributes`.

    Returns
    -------
    float

    Notes
    -----
    Uses O(n^2) memory (n x n matrices); for large n evaluate it on a sample.

    References
    ----------
    Chakraborty & Zhang (2019), JASA 114(528), 1638-1650.
    """
    y, enc = _prepare(y_pred, sensitive_features, categorical, continuous_scaling, statistic)
    if not (isinstance(c, Real) and c >= 0):
        raise ValueError(f"c must be a non-negative number, got {c!r}.")
    n = len(y)
    kernels = _centred_kernels([y[:, None]] + enc.blocks, statistic)
    prod = np.ones((n, n))
    for kern in kernels:
        prod *= kern + c
    d1 = len(kernels)
    if statistic == "v":
        return float(prod.mean() - c**d1)
    np.fill_diagonal(prod, c**d1)
    return float((prod.sum() - n * n * c**d1) / (n * (n - 3)))


def _group_encoding(sensitive_features, n):
    return encode_groups(sensitive_features, n_samples=n, name="sensitive_features")


def _group_weights(counts, weights):
    if isinstance(weights, str):
        if weights == "proportional":
            return counts / counts.sum()
        if weights == "uniform":
            return np.full(len(counts), 1.0 / len(counts))
    raise ValueError(f"weights must be 'proportional' or 'uniform', got {weights!r}.")


def jensen_shannon_divergence(
    y_true,
    y_pred,
    *,
    sensitive_features,
    bandwidth=0.15,
    n_grid=1000,
    weights="proportional",
    grid_range=None,
    base=None,
):
    """Generalised Jensen-Shannon divergence between the per-group prediction densities.

    .. math::

        \\mathrm{JSD}_\\pi(p_1, \\dots, p_G) = H\\Bigl(\\sum_g \\pi_g p_g\\Bigr)
        - \\sum_g \\pi_g H(p_g)

    with :math:`p_g` a Gaussian kernel density estimate of the predictions of group
    :math:`g` (groups are the intersectional subgroups of all attributes given), evaluated
    on ``n_grid`` equally spaced points and normalised to sum to one there, and :math:`H`
    the Shannon entropy of those grid distributions. It lies between 0 (identical
    densities) and :math:`H(\\pi) = -\\sum_g \\pi_g \\log \\pi_g` (densities with disjoint
    supports).

    The KDE uses linear binning of the predictions onto the grid followed by a discrete
    Gaussian convolution (exact up to the grid spacing), so the cost is
    O(n + n_grid^2), whatever n.

    Parameters
    ----------
    y_true : array-like or None
        Ignored (uniform metric signature).
    y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like
        Discrete protected attribute(s); several columns give intersectional groups. Bin
        continuous attributes first (e.g. ``pandas.cut``).
    bandwidth : float, default=0.15
        Standard deviation of the Gaussian kernel, in units of ``y_pred`` (Lee et al. 2025).
    n_grid : int, default=1000
        Number of grid points.
    weights : {"proportional", "uniform"}, default="proportional"
        :math:`\\pi_g`: group proportions or :math:`1/G`.
    grid_range : (float, float), optional
        Grid end points; default ``[min(y_pred) - 3 bandwidth, max(y_pred) + 3 bandwidth]``.
    base : float, optional
        Logarithm base; natural log (nats) by default, 2 for bits.

    Returns
    -------
    float
        0.0 when only one group is present.

    References
    ----------
    J. Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory
    37(1), 1991; Lee, Antonio, Avanzi, Marchi & Zhou (2025).
    """
    y = _prediction_vector(y_pred)
    groups = _group_encoding(sensitive_features, len(y))
    if not (isinstance(bandwidth, Real) and bandwidth > 0):
        raise ValueError(f"bandwidth must be a positive number, got {bandwidth!r}.")
    if not (isinstance(n_grid, Integral) and n_grid >= 2):
        raise ValueError(f"n_grid must be an integer >= 2, got {n_grid!r}.")
    pi = _group_weights(groups.counts().astype(float), weights)
    if grid_range is None:
        lo, hi = y.min() - 3 * bandwidth, y.max() + 3 * bandwidth
    else:
        lo, hi = map(float, grid_range)
        if not hi > lo:
            raise ValueError(f"grid_range must be (low, high) with low < high, got {grid_range}.")
    grid = np.linspace(lo, hi, n_grid)
    dens = _binned_kde(y, groups.codes, groups.n_groups, grid, bandwidth)
    dens /= dens.sum(axis=1, keepdims=True)
    mixture = pi @ dens
    value = _entropy(mixture) - float(pi @ np.array([_entropy(p) for p in dens]))
    value = max(value, 0.0)
    return value / np.log(base) if base is not None else value


def _binned_kde(y, codes, n_groups, grid, bandwidth):
    """Per-group Gaussian KDE on ``grid`` (rows) by linear binning + discrete convolution."""
    step = grid[1] - grid[0]
    pos = np.clip((y - grid[0]) / step, 0, len(grid) - 1)
    left = np.minimum(np.floor(pos).astype(np.intp), len(grid) - 2)
    frac = pos - left
    counts = np.zeros((n_groups, len(grid)))
    np.add.at(counts, (codes, left), 1.0 - frac)
    np.add.at(counts, (codes, left + 1), frac)
    offsets = (np.arange(len(grid))[:, None] - np.arange(len(grid))[None, :]) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    return counts @ kernel


def _entropy(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def unfairness_ratio(y_true, y_pred, *, sensitive_features, weights="proportional"):
    """UF: share of the prediction variance explained by the protected groups.

    .. math::

        \\mathrm{UF} = \\frac{\\mathrm{Var}_g\\bigl(E[\\hat y \\mid g]\\bigr)}
        {\\mathrm{Var}(\\hat y)}
        = \\frac{\\sum_g \\pi_g (\\bar y_g - \\bar y_\\pi)^2}
        {\\frac1n \\sum_i (\\hat y_i - \\bar y)^2},
        \\qquad \\bar y_\\pi = \\sum_g \\pi_g \\bar y_g

    With proportional weights this is the correlation ratio :math:`\\eta^2` of the
    predictions on the (intersectional) groups, in [0, 1]; 0 when every group has the same
    mean prediction. Constant predictions give 0 (no variance, no unfairness); so do
    predictions whose range is below 1e-9 times their magnitude, a spread at the level of
    round-off and optimiser tolerances (e.g. a model regularised down to a constant, whose
    coefficients stop at ~1e-12), where the scale-free ratio would be meaningless.

    Parameters
    ----------
    y_true : array-like or None
        Ignored (uniform metric signature).
    y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like
        Discrete protected attribute(s); several columns give intersectional groups.
    weights : {"proportional", "uniform"}, default="proportional"
        Weights :math:`\\pi_g` of the between-group variance.

    Returns
    -------
    float

    References
    ----------
    Lee, Antonio, Avanzi, Marchi & Zhou (2025), arXiv 2509.08163.
    """
    y = _prediction_vector(y_pred)
    groups = _group_encoding(sensitive_features, len(y))
    counts = groups.counts().astype(float)
    pi = _group_weights(counts, weights)
    means = np.bincount(groups.codes, weights=y, minlength=groups.n_groups) / counts
    if _near_constant(y):
        return 0.0  # constant up to round-off: a ratio of noise is meaningless
    total = float(np.mean((y - y.mean()) ** 2))
    if total <= 0:  # spread so small that its square underflows
        return 0.0
    between = float(pi @ (means - pi @ means) ** 2)
    return between / total
