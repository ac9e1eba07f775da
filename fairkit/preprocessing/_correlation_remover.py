r"""Linear decorrelation of the features from the protected attribute(s)."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import FairTransformerMixin
from ..utils._docstring import fair_docstring

__all__ = ["CorrelationRemover"]


def _least_squares(S, X):
    """``np.linalg.lstsq(S, X, rcond=None)[0]`` for a thin ``S`` (n x k, k small).

    The minimum-norm least-squares solution from the SVD of ``S``, singular values at or
    below ``eps * max(n, k)`` times the largest counted as zero (lstsq's ``rcond=None``
    cutoff): ``V diag(1/s) U^T X``. It equals LAPACK's ``gelsd`` solution up to round-off,
    without that routine's copy and factorisation of the whole ``[S | X]`` problem (the
    cost is one pass of ``U^T`` over ``X``).
    """
    n, k = S.shape
    if k == 0:
        return np.zeros((0, X.shape[1]))
    U, sv, Vt = np.linalg.svd(S, full_matrices=False)
    keep = sv > np.finfo(np.float64).eps * max(n, k) * sv[0]
    if not keep.any():
        return np.zeros((k, X.shape[1]))
    return (Vt[keep].T / sv[keep]) @ (U[:, keep].T @ X)


def _product(S, beta, *, column_major):
    """``S @ beta`` (n x k times k x d), column-major when asked. With a few columns in
    ``S`` (one per numeric attribute or category) it is a sum of k outer products by
    broadcasting: a matrix product with an inner dimension of 1 to 4 is several times
    slower than that."""
    k = S.shape[1]
    if k == 0 or k > 4:
        return (beta.T @ S.T).T if column_major else S @ beta
    if column_major:
        out = beta[0][:, None] * S[:, 0]
        for j in range(1, k):
            out += beta[j][:, None] * S[:, j]
        return out.T
    out = S[:, :1] * beta[0]
    for j in range(1, k):
        out += S[:, j:j + 1] * beta[j]
    return out


@fair_docstring
class CorrelationRemover(FairTransformerMixin, BaseEstimator):
    r"""Remove the linear dependence of the features on the protected attribute(s).

    Let :math:`S` be the protected attributes (numeric columns as they are; a non-numeric
    column becomes indicator columns for all its categories but the first), centred with
    their training means :math:`\bar s`, and :math:`X` the other features. ``fit`` solves
    the least-squares problem

    .. math::

        \beta^\star = \arg\min_\beta \lVert X - (S - \bar s)\beta \rVert_F^2,

    and ``transform`` returns

    .. math::

        \tilde X = \alpha \big(X - (S - \bar s)\beta^\star\big) + (1 - \alpha) X.

    At :math:`\alpha = 1` every output column has zero sample correlation with every
    column of :math:`S` on the training data, while the feature means are kept; smaller
    :math:`\alpha` trades decorrelation for fidelity. This is fairlearn's
    ``CorrelationRemover`` (same formula, same result on numeric attributes) under
    fairkit's ``prot_attr`` / ``sensitive_features`` contract, with categorical attributes
    accepted.

    Parameters
    ----------
    {prot_attr}
        All other columns must be numeric (a string column raises naming it).
    alpha : float in [0, 1], default=1.0
        Amount of decorrelation.
    drop_prot_attr : bool, default=True
        Leave the protected columns out of the output (as fairlearn does).

    Attributes
    ----------
    beta_ : ndarray of shape (n_encoded_protected, n_decorrelated)
    sensitive_mean_ : ndarray of shape (n_encoded_protected,)
    prot_attr_names_ : list of str
        Names of the protected attributes (the encoded columns of ``beta_`` follow them:
        one column for a numeric attribute, indicators of all categories but the first
        for a non-numeric one).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    References
    ----------
    .. [1] fairlearn.preprocessing.CorrelationRemover, fairlearn documentation.
    .. [2] T. Calders, A. Karim, F. Kamiran, W. Ali and X. Zhang, "Controlling attribute
       effect in linear regression", ICDM 2013.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairkit.preprocessing import CorrelationRemover
    >>> X = pd.DataFrame({"sex": ["F", "F", "M", "M"], "x": [1.0, 2.0, 3.0, 6.0]})
    >>> CorrelationRemover(prot_attr="sex").fit_transform(X).ravel().tolist()
    [2.5, 3.5, 1.5, 4.5]
    """

    _parameter_constraints = {
        "prot_attr": "no_validation",
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "drop_prot_attr": ["boolean"],
    }

    def __init__(self, *, prot_attr=None, alpha=1.0, drop_prot_attr=True):
        self.prot_attr = prot_attr
        self.alpha = alpha
        self.drop_prot_attr = drop_prot_attr

    def _encode(self, values: pd.DataFrame, fitting: bool) -> np.ndarray:
        blocks = []
        if fitting:
            self._categories = []
        for k, col in enumerate(values.columns):
            v = values[col]
            if fitting:
                numeric = pd.api.types.is_numeric_dtype(v) or pd.api.types.is_bool_dtype(v)
                self._categories.append(
                    None if numeric else sorted(pd.unique(v).tolist(), key=str)
                )
            cats = self._categories[k]
            if cats is None:
                blocks.append(v.to_numpy(dtype=np.float64)[:, None])
                continue
            unseen = set(pd.unique(v).tolist()) - set(cats)
            if unseen:
                raise ValueError(
                    f"Protected attribute {col!r} has value(s) {sorted(unseen, key=str)} "
                    f"not seen during fit (fitted values: {cats}); cannot transform them."
                )
            arr = v.to_numpy()
            blocks.append(np.column_stack([arr == c for c in cats[1:]]).astype(np.float64)
                          if len(cats) > 1 else np.zeros((len(v), 0)))
        return np.hstack(blocks)

    def fit(self, X, y=None, *, sensitive_features=None):
        """Learn :math:`\\beta^\\star` and the means of the protected attributes.

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
        data = self._split(X, sensitive_features, reset=True, protected="values")
        self._fit_beta(data)
        return self

    def _fit_beta(self, data):
        S = self._encode(data.protected.values, fitting=True)
        self.sensitive_mean_ = S.mean(axis=0)
        S -= self.sensitive_mean_
        self.beta_ = _least_squares(S, data.X)
        return S

    def _decorrelate(self, Xf, S_centred):
        # alpha (X - S_c beta) + (1 - alpha) X  ==  X - alpha S_c beta
        # a frame's columns come column-major: the shift in the same layout, so the
        # subtraction runs over both arrays in memory order
        shift = _product(S_centred, self.beta_,
                         column_major=Xf.flags.f_contiguous and not Xf.flags.c_contiguous)
        if self.alpha != 1:
            shift *= float(self.alpha)
        return np.subtract(Xf, shift, out=shift)

    def fit_transform(self, X, y=None, *, sensitive_features=None):
        """Fit and decorrelate ``X`` (one validation of ``X``; the result of
        ``fit(X).transform(X)``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : ignored
        sensitive_features : array-like, optional

        Returns
        -------
        ndarray or DataFrame
        """
        self._validate_params()
        data = self._split(X, sensitive_features, reset=True, protected="values")
        S_centred = self._fit_beta(data)
        return self._assemble(X, self._decorrelate(data.X, S_centred), data)

    def transform(self, X, *, sensitive_features=None):
        """Decorrelate the features of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, optional

        Returns
        -------
        ndarray or DataFrame
        """
        check_is_fitted(self)
        data = self._split(X, sensitive_features, reset=False, protected="values")
        S = self._encode(data.protected.values, fitting=False)
        S -= self.sensitive_mean_
        return self._assemble(X, self._decorrelate(data.X, S), data)
