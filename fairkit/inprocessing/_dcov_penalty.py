"""The distance-covariance training penalties (dCov, CCdCov, JdCov), value and gradient.

Lee, Antonio, Avanzi, Marchi & Zhou (2025) train a model on

.. math::

    \\min_\\theta \\; L(y, \\hat y_\\theta) + \\lambda \\, R(\\hat y_\\theta, S)

where :math:`L` is the task loss, :math:`\\hat y` the model output (probability, mean or
Poisson rate) and :math:`R` a distance-covariance measure of dependence between the output
and the protected attributes :math:`S = (S_1, \\dots, S_d)` of mixed types, which are not
model inputs. This module computes :math:`R` and its gradient with respect to the
predictions, in numpy, in O(n log n) and without any n x n matrix when each attribute is
1-D or takes few distinct values.

Penalty algebra
---------------
For a symmetric kernel matrix :math:`F` on the attributes (distances for dCov), let
:math:`M` be its double-centred (V) or U-centred (U) version. With
:math:`\\sigma_{kj} = \\mathrm{sign}(\\hat y_k - \\hat y_j)` and

.. math::

    g_k = \\sum_j \\sigma_{kj} M_{kj},

the penalty :math:`\\frac{1}{n^2}\\sum_{k,j} |\\hat y_k - \\hat y_j| M_{kj}` equals
:math:`\\frac{2}{n^2} \\hat y^\\top g` and its gradient is :math:`\\frac{2}{n^2} g`
(:math:`\\frac{2}{n(n-3)}` for the U-statistic). Writing
:math:`M_{kj} = F_{kj} - u_k - u_j + w`, :math:`g` needs only signed sums
:math:`\\sum_j \\sigma_{kj} F_{kj}`, :math:`\\sum_j \\sigma_{kj} u_j` and the counts
:math:`\\sum_j \\sigma_{kj}`, which sorting :math:`\\hat y` gives in O(n log n): per level when
:math:`F` depends only on a few levels of :math:`S` (categorical or intersectional), and by
a Fenwick tree over the ranks of :math:`S` (compiled with numba, which comes with dcor; a
vectorised merge-sort count below ``NUMBA_MIN_ROWS`` rows) when :math:`S` is 1-D continuous.
The kernels are in :mod:`fairkit.inprocessing._dcov_kernels`.
"""

from __future__ import annotations

import numpy as np

from ..metrics.dependence import encode_protected_attributes
from ._dcov_kernels import (
    MAX_LEVELS,
    MAX_LEVELS_LARGE,
    _AbsKernel,
    _check_dense,
    _DenseKernel,
    _level_limit,
    _LevelKernel,
    _Order,
    _pairwise,
    _unique_rows,
)

__all__ = ["dcov_penalty"]


def _distance_kernel(block, method):
    """Kernel of Euclidean distances within one encoded block, fastest exact form."""
    n = len(block)
    if method in ("auto", "fast"):
        uniques, codes = _unique_rows(block)
        if len(uniques) <= _level_limit(n):
            return _LevelKernel(codes, _pairwise(uniques))
        if block.shape[1] == 1:
            return _AbsKernel(block[:, 0].astype(float))
        if method == "fast":
            raise ValueError(
                "method='fast' needs each attribute block to be 1-D or to take at most "
                f"max({MAX_LEVELS}, min(n/2, {MAX_LEVELS_LARGE})) = {_level_limit(n)} "
                f"distinct values; this one has {len(uniques)} distinct rows in "
                f"{block.shape[1]} columns."
            )
    _check_dense(n, method)
    return _DenseKernel(_pairwise(block))


def _centred_table(dist, counts, n, statistic):
    """Minus the centred distance table at the level of distinct values."""
    r = dist @ counts
    if statistic == "v":
        rm = r / n
        return -(dist - rm[:, None] - rm[None, :] + counts @ rm / n)
    return -(dist - r[:, None] / (n - 2) - r[None, :] / (n - 2) + counts @ r / ((n - 1) * (n - 2)))


def _centred_dense(dist, statistic):
    n = len(dist)
    if statistic == "v":
        r = dist.mean(axis=1)
        return -(dist - r[:, None] - r[None, :] + r.mean())
    r = dist.sum(axis=1)
    out = -(dist - r[:, None] / (n - 2) - r[None, :] / (n - 2) + r.sum() / ((n - 1) * (n - 2)))
    np.fill_diagonal(out, 0.0)
    return out


def _joint_kernel(blocks, statistic, c, method):
    """Kernel ``F = prod_i (U_i + c)`` of Chakraborty & Zhang's JdCov over the attributes."""
    n = len(blocks[0])
    d = len(blocks)
    joint = np.hstack(blocks)
    if method in ("auto", "fast"):
        uniques, codes = _unique_rows(joint)
        if len(uniques) <= _level_limit(n):
            counts = np.bincount(codes, minlength=len(uniques)).astype(float)
            table = np.ones((len(uniques), len(uniques)))
            start = 0
            for block in blocks:
                part = uniques[:, start : start + block.shape[1]]
                start += block.shape[1]
                table *= _centred_table(_pairwise(part), counts, n, statistic) + c
            return _LevelKernel(codes, table, diag=None if statistic == "v" else c**d)
        if method == "fast":
            raise ValueError(
                "method='fast' for penalty='jdcov' with several attributes needs their "
                f"combination to take at most {_level_limit(n)} distinct values; it takes "
                f"{len(uniques)}."
            )
    _check_dense(n, method)
    prod = np.ones((n, n))
    for block in blocks:
        prod *= _centred_dense(_pairwise(block), statistic) + c
    return _DenseKernel(prod)


class _Term:
    """One penalty term ``sign * (1/n^2) sum |x_k - x_j| M_kj + const``."""

    def __init__(self, kernel, statistic, sign=1.0, const=0.0):
        self.kernel, self.statistic, self.sign, self.const = kernel, statistic, sign, const

    def _centring(self, n):
        # u_k and w of M_kj = F_kj - u_k - u_j + w depend on the attributes only
        if not hasattr(self, "_uw"):
            k = self.kernel
            if self.statistic == "v":
                u = k.row_sums / n
                w = u.sum() / n
                scale = 2.0 / n**2
            else:
                rs = k.row_sums - k.diag
                u = rs / (n - 2)
                w = rs.sum() / ((n - 1) * (n - 2))
                scale = 2.0 / (n * (n - 3))
            self._uw = u, u - w, self.sign * scale
        return self._uw

    def value_and_grad(self, order: _Order):
        u, u_minus_w, scale = self._centring(order.n)
        g = self.kernel.signed_sum(order)
        g -= u_minus_w * order.cnt
        g -= order.signed_sum(u)
        g *= scale
        return float(order.x @ g) + self.const, g


def _build_terms(blocks, penalty, statistic, c, method):
    n = len(blocks[0])
    if penalty == "ccdcov" or (penalty in ("dcov", "jdcov") and len(blocks) == 1):
        return [_Term(_distance_kernel(np.hstack(blocks), method), statistic)]
    if penalty == "dcov":
        return [_Term(_distance_kernel(b, method), statistic) for b in blocks]
    kernel = _joint_kernel(blocks, statistic, c, method)
    d1 = len(blocks) + 1
    if statistic == "v":
        const = c * kernel.row_sums.sum() / n**2 - c**d1
    else:
        const = (c * (kernel.row_sums.sum() - kernel.diag.sum()) - n * (n - 1) * c**d1) / (
            n * (n - 3)
        )
    return [_Term(kernel, statistic, sign=-1.0, const=const)]


class _Penalty:
    """The penalty over a fixed set of rows: value and gradient w.r.t. predictions."""

    def __init__(self, blocks, penalty="dcov", statistic="u", c=1.0, method="auto"):
        n = len(blocks[0])
        if statistic == "u" and n < 4:
            raise ValueError(
                f"The U-statistic penalty needs at least 4 samples per batch, got "
                f"n_samples = {n}; use statistic='v' or a larger batch."
            )
        self.terms = _build_terms(blocks, penalty, statistic, c, method)

    def __call__(self, x):
        order = _Order(np.asarray(x, dtype=float))
        value, grad = 0.0, np.zeros(len(x))
        for term in self.terms:
            v, g = term.value_and_grad(order)
            value += v
            grad += g
        return value, grad


def dcov_penalty(
    y_pred,
    sensitive_features,
    *,
    penalty="dcov",
    statistic="u",
    c=1.0,
    method="auto",
    categorical="auto",
    continuous_scaling="std",
):
    """Value and gradient (w.r.t. ``y_pred``) of the training penalty.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like
        Protected attribute(s), encoded by
        :func:`fairkit.metrics.encode_protected_attributes`.
    penalty : {"dcov", "jdcov", "ccdcov"}, default="dcov"
        ``"dcov"``: :math:`\\sum_i \\mathrm{dCov}^2(\\hat y, S_i)`, one term per attribute;
        ``"ccdcov"``: :math:`\\mathrm{dCov}^2(\\hat y, [S_1|\\dots|S_d])`;
        ``"jdcov"``: :math:`\\mathrm{JdCov}^2(\\hat y, S_1, \\dots, S_d; c)`. All three equal
        :math:`\\mathrm{dCov}^2(\\hat y, S_1)` for one attribute.
    statistic : {"u", "v"}, default="u"
    c : float, default=1.0
        JdCov constant.
    method : {"auto", "fast", "dense"}, default="auto"
        ``"auto"`` uses the O(n log n) sort-based path for attribute blocks that are 1-D or
        take at most ``max(MAX_LEVELS, min(n / 2, MAX_LEVELS_LARGE))`` distinct values
        (64, 2048) and the n x n path otherwise;
        ``"fast"`` refuses the n x n path; ``"dense"`` always builds n x n matrices.

    Returns
    -------
    value : float
    grad : ndarray of shape (n_samples,)
        Where predictions tie, the penalty has a kink; the gradient returned there is the
        subgradient with :math:`\\mathrm{sign}(0) = 0`. Constant predictions give value 0
        and a zero gradient.

    Examples
    --------
    >>> import numpy as np
    >>> value, grad = dcov_penalty(np.array([0.1, 0.4, 0.35, 0.8, 0.9]),
    ...                            ["a", "a", "b", "b", "b"], statistic="v")
    >>> round(value, 6), grad.shape
    (0.05824, (5,))
    """
    y = np.asarray(y_pred, dtype=float).ravel()
    enc = encode_protected_attributes(
        sensitive_features,
        categorical=categorical,
        continuous_scaling=continuous_scaling,
        n_samples=len(y),
    )
    _check_choice("penalty", penalty, ("dcov", "jdcov", "ccdcov"))
    _check_choice("statistic", statistic, ("u", "v"))
    _check_choice("method", method, ("auto", "fast", "dense"))
    return _Penalty(enc.blocks, penalty, statistic, c, method)(y)


def _check_choice(name, value, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")

