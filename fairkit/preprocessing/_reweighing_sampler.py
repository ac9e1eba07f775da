r"""Uniform and preferential resampling (Kamiran & Calders, 2012) to the reweighing
target sizes of ``_reweighing``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions

from ..base import FairEstimatorMixin
from ..utils._docstring import fair_docstring
from ._reweighing import _check_labels, _validate, reweighing_factors

__all__ = ["ReweighingSampler"]


@fair_docstring
class ReweighingSampler(FairEstimatorMixin, BaseEstimator):
    r"""Resample the rows so that each (group, label) cell gets its reweighed size.

    Cell :math:`(g, y)` with :math:`N_{g,y}` rows is resized to
    :math:`\mathrm{round}(W(g, y) N_{g,y}) = \mathrm{round}(N_g N_y / N)`, its expected
    size if label and group were independent. Two strategies from Kamiran & Calders:

    - ``"uniform"``: a shrinking cell keeps a random subset of its rows; a growing cell
      keeps all rows and adds random duplicates.
    - ``"preferential"``: a ``ranker`` scores :math:`P(y_i \mid x_i)` (probability of the
      row's own label); a shrinking cell drops its lowest-scored rows (those closest to
      the decision boundary), a growing cell duplicates them, cycling through the
      ranking if it needs more copies than rows.

    The sampler follows imbalanced-learn's protocol: ``fit_resample(X, y)`` returns the
    resampled ``(X, y)`` and there is no ``transform``, so an ``imblearn.pipeline.Pipeline``
    applies it at fit time only and skips it at predict time. (scikit-learn's own
    ``Pipeline`` does not call ``fit_resample``.) ``sample_weight`` is not accepted:
    resampling is the alternative to weights.

    Parameters
    ----------
    {prot_attr}
    method : {"uniform", "preferential"}, default="uniform"
    ranker : classifier, default=None
        For ``"preferential"``: a classifier with ``predict_proba`` fitted on ``(X, y)``;
        None means ``LogisticRegression()`` (which needs numeric ``X``).
    {random_state}

    Attributes
    ----------
    groups_, prot_attr_names_, classes_, reweigh_factors_ :
        As in :class:`Reweighing`.
    sample_indices_ : ndarray of int
        Row positions of ``X`` that make up the last resampled set.
    ranker_ : classifier
        The fitted ranker (``"preferential"`` only).

    References
    ----------
    .. [1] F. Kamiran and T. Calders, "Data preprocessing techniques for classification
       without discrimination", Knowledge and Information Systems 33(1):1-33, 2012,
       Sections 4.2-4.3 (uniform and preferential sampling).
    """

    _parameter_constraints = {
        "prot_attr": "no_validation",
        "method": [StrOptions({"uniform", "preferential"})],
        "ranker": [HasMethods(["fit", "predict_proba"]), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, prot_attr=None, method="uniform", ranker=None, random_state=None):
        self.prot_attr = prot_attr
        self.method = method
        self.ranker = ranker
        self.random_state = random_state

    def fit(self, X, y, *, sensitive_features=None):
        """Compute the factors (and fit the ranker for ``"preferential"``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.

        Returns
        -------
        self
        """
        self.fit_resample(X, y, sensitive_features=sensitive_features)
        return self

    def fit_resample(self, X, y, *, sensitive_features=None):
        """Resample ``(X, y)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, default=None
            Protected attribute(s), when not given by ``prot_attr``.

        Returns
        -------
        X_resampled, y_resampled
            Same types as the inputs (DataFrame / Series rows are taken with ``iloc``,
            keeping their index labels).
        """
        self._validate_params()
        data = _validate(self, X, y, sensitive_features, reset=True)
        X = data.X
        n = X.shape[0]
        y_arr, self.classes_, y_codes = _check_labels(data.y, n)
        g_codes = data.codes
        n_classes = len(self.classes_)
        self.reweigh_factors_ = reweighing_factors(
            g_codes, y_codes, data.groups.n_groups, n_classes
        )
        if self.method == "preferential":
            ranker = LogisticRegression() if self.ranker is None else self.ranker
            self.ranker_ = clone(ranker).fit(X, y_arr)
            proba = self.ranker_.predict_proba(X)
            col = np.searchsorted(self.ranker_.classes_, self.classes_)
            score = proba[np.arange(n), col[y_codes]]
        rng = check_random_state(self.random_state)
        cell = g_codes * n_classes + y_codes
        order = np.argsort(cell, kind="stable")
        bounds = np.searchsorted(cell[order], np.arange(len(self.groups_) * n_classes + 1))
        picked = []
        for k in range(len(bounds) - 1):
            rows = order[bounds[k]:bounds[k + 1]]
            if len(rows) == 0:
                continue
            g, c = divmod(k, n_classes)
            target = int(np.rint(self.reweigh_factors_[g, c] * len(rows)))
            if self.method == "uniform":
                if target <= len(rows):
                    take = rng.choice(rows, size=target, replace=False)
                else:
                    extra = rng.choice(rows, size=target - len(rows), replace=True)
                    take = np.concatenate([rows, extra])
            else:
                ranked = rows[np.argsort(score[rows], kind="stable")]  # borderline first
                if target <= len(rows):
                    take = ranked[len(rows) - target:]
                else:
                    take = np.concatenate([rows, np.resize(ranked, target - len(rows))])
            picked.append(take)
        idx = np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.intp)
        self.sample_indices_ = idx
        X_res = X.iloc[idx] if hasattr(X, "iloc") else X[idx]
        y_res = y.iloc[idx] if isinstance(y, (pd.Series, pd.DataFrame)) else y_arr[idx]
        return X_res, y_res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.method == "uniform"
        tags.input_tags.string = self.method == "uniform"
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags

