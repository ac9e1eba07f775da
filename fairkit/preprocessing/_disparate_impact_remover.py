r"""Disparate impact remover (Feldman et al., 2015): per-group quantile repair."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._validation import map_to_fitted_groups
from ..base import FairTransformerMixin
from ..utils._docstring import fair_docstring

__all__ = ["DisparateImpactRemover"]


def _mid_interp(x, xp, fp):
    """Monotone interpolation that maps a run of tied ``xp`` to the middle of its ``fp``."""
    return 0.5 * (np.interp(x, xp, fp) - np.interp(-x, -xp[::-1], -fp[::-1]))


@fair_docstring
class DisparateImpactRemover(FairTransformerMixin, BaseEstimator):
    r"""Repair each feature so that its distribution no longer reveals the group.

    For feature :math:`j` and group :math:`g`, let :math:`F_{g}` be the empirical CDF of
    the feature within the group and :math:`F_{g}^{-1}` its quantile function. The target
    is the *median distribution*, whose quantile function is the median over groups

    .. math::

        A(u) = \operatorname{median}_{g}\, F_{g}^{-1}(u), \qquad u \in [0, 1].

    A value :math:`x` of a sample in group :math:`g` becomes

    .. math::

        \tilde{x} = (1 - \lambda)\, x + \lambda\, A\big(F_{g}(x)\big),

    with :math:`\lambda` = ``repair_level``. At :math:`\lambda = 1` every group's repaired
    feature has the distribution :math:`A` (up to ties and the quantile grid), so the
    feature no longer predicts the group; :math:`\lambda = 0` leaves the data unchanged.
    :math:`F_g` and :math:`A` are increasing, so the order of samples within a group is
    kept (strictly for :math:`\lambda < 1`).

    Unlike AIF360's version, the quantile functions are learned in ``fit`` and applied to
    unseen rows in ``transform`` (:math:`F_g` and :math:`A` are interpolated linearly on a
    grid of ``n_quantiles`` levels; values outside the training range are clipped to it
    before :math:`A` is applied). Ties (e.g. a 0/1 column) map to the middle of their run of
    levels, so discrete features can only be repaired approximately: the method is meant
    for numeric features.

    Parameters
    ----------
    {prot_attr}
        The protected columns are kept unchanged in the output unless
        ``drop_prot_attr``; all other columns are repaired and must be numeric (a string
        column raises naming it).
    repair_level : float in [0, 1], default=1.0
        :math:`\lambda`, the amount of repair.
    n_quantiles : int, default=1000
        Number of levels of the quantile grid (capped at the number of training samples).
    {drop_prot_attr}

    Attributes
    ----------
    groups_ : list
        Group labels seen in ``fit``.
    prot_attr_names_ : list of str
        Names of the protected attributes.
    quantile_levels_ : ndarray of shape (n_levels,)
    group_quantiles_ : ndarray of shape (n_groups, n_levels, n_repaired)
        :math:`F_g^{-1}` of each repaired feature at ``quantile_levels_``.
    target_quantiles_ : ndarray of shape (n_levels, n_repaired)
        :math:`A` at ``quantile_levels_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    References
    ----------
    .. [1] M. Feldman, S. A. Friedler, J. Moeller, C. Scheidegger and
       S. Venkatasubramanian, "Certifying and removing disparate impact", KDD 2015.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairkit.preprocessing import DisparateImpactRemover
    >>> X = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3, "x": [1.0, 2, 3, 10, 20, 30]})
    >>> dir_ = DisparateImpactRemover(prot_attr="g", n_quantiles=3).fit(X)
    >>> dir_.set_output(transform="pandas").transform(X)["x"].tolist()
    [5.5, 11.0, 16.5, 5.5, 11.0, 16.5]
    """

    _parameter_constraints = {
        "prot_attr": "no_validation",
        "repair_level": [Interval(Real, 0, 1, closed="both")],
        "n_quantiles": [Interval(Integral, 2, None, closed="left")],
        "drop_prot_attr": ["boolean"],
    }

    def __init__(self, *, prot_attr=None, repair_level=1.0, n_quantiles=1000,
                 drop_prot_attr=False):
        self.prot_attr = prot_attr
        self.repair_level = repair_level
        self.n_quantiles = n_quantiles
        self.drop_prot_attr = drop_prot_attr

    def fit(self, X, y=None, *, sensitive_features=None):
        """Learn each group's quantile function and the median target.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : ignored
        sensitive_features : array-like, optional

        Returns
        -------
        self
        """
        self._validate_params()
        data = self._split(X, sensitive_features, reset=True)
        Xf, groups = data.X, data.groups
        n_levels = max(2, min(self.n_quantiles, Xf.shape[0]))
        self.quantile_levels_ = np.linspace(0.0, 1.0, n_levels)
        order = np.argsort(groups.codes, kind="stable")
        bounds = np.searchsorted(groups.codes[order], np.arange(groups.n_groups + 1))
        self.group_quantiles_ = np.stack([
            np.quantile(Xf[order[bounds[g]:bounds[g + 1]]], self.quantile_levels_, axis=0)
            for g in range(groups.n_groups)
        ])
        self.target_quantiles_ = np.median(self.group_quantiles_, axis=0)
        return self

    def transform(self, X, *, sensitive_features=None):
        """Repair the features of ``X`` (rows may be new; groups must have been seen).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, optional

        Returns
        -------
        ndarray or DataFrame
        """
        check_is_fitted(self)
        data = self._split(X, sensitive_features, reset=False)
        Xf = data.X
        codes = map_to_fitted_groups(data.groups, self.groups_, where="transform")
        lam = float(self.repair_level)
        out = Xf.copy()
        if lam > 0:
            levels = self.quantile_levels_
            for g in np.unique(codes):
                rows = np.flatnonzero(codes == g)
                for j in range(Xf.shape[1]):
                    x = Xf[rows, j]
                    u = _mid_interp(x, self.group_quantiles_[g, :, j], levels)
                    a = np.interp(u, levels, self.target_quantiles_[:, j])
                    out[rows, j] = (1.0 - lam) * x + lam * a
        return self._assemble(X, out, data)
