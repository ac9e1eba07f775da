r"""Rich-subgroup fairness audit (Kearns, Neel, Roth, Wu 2018).

A *rich subgroup* is a linear threshold over the protected attributes,
:math:`g(a) = 1[a^\top \beta + \beta_0 < 0]`, so with several (numeric) protected
attributes the audit covers every half-space of them, not only the cells of a
cross-tabulation. For false-positive fairness the auditor looks, among the rows with
:math:`y = 0`, for the subgroup whose false-positive rate deviates most from the overall
one, weighted by the subgroup's size:

.. math::

    \gamma(g) = \alpha(g)\, \lvert \mathrm{FP}(g) - \mathrm{FP} \rvert, \qquad
    \alpha(g) = \frac{\lvert \{ i : y_i = 0,\ g(a_i) = 1 \} \rvert}{n},

with :math:`\mathrm{FP}(g)` the mean prediction over the :math:`y = 0` rows of :math:`g`
and :math:`\mathrm{FP}` the mean over all :math:`y = 0` rows (false negatives: the mean of
:math:`1 - \hat y` over the :math:`y = 1` rows). The exact maximisation is a cost-sensitive
classification problem; as in the paper's experiments and AIF360's ``Auditor`` it is
solved heuristically by one least-squares regression of the per-row excess
:math:`(\hat y_i - \mathrm{FP}) / n` on the protected attributes: the subgroup is where
the fitted excess is negative, or (the other direction) where it is positive, whichever
has the larger :math:`\gamma`.

References
----------
.. [1] M. Kearns, S. Neel, A. Roth, Z. S. Wu, "Preventing Fairness Gerrymandering:
   Auditing and Learning for Subgroup Fairness", ICML 2018 (arXiv:1711.05144).
.. [2] M. Kearns, S. Neel, A. Roth, Z. S. Wu, "An Empirical Study of Rich Subgroup
   Fairness for Machine Learning", FAT* 2019.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._protected import _param_repr, as_frame
from ..utils._dataframe import to_pandas

__all__ = ["RichSubgroup", "rich_subgroup", "rich_subgroup_disparity"]

_DEFS = ("FP", "FN")


def check_fairness_def(fairness_def, where="fairness_def"):
    """Refuse anything but ``"FP"`` or ``"FN"``, naming the parameter."""
    if not isinstance(fairness_def, str) or fairness_def not in _DEFS:
        raise ValueError(
            f"{where} must be 'FP' (false-positive rates) or 'FN' (false-negative rates); "
            f"got {_param_repr(fairness_def)}."
        )


def attribute_matrix(values, name="sensitive_features"):
    """The protected attributes as a float matrix for the linear auditor.

    Numeric and boolean columns are used as they are; any other column (strings,
    categories) becomes one 0/1 indicator column per level (sorted levels), so a
    half-space over them is a weighted vote of the levels. Returns ``(matrix, names)``.
    """
    frame = values if isinstance(values, pd.DataFrame) else as_frame(values, name=name)
    cols, names = [], []
    for col in frame.columns:
        v = frame[col]
        if pd.api.types.is_bool_dtype(v) or pd.api.types.is_numeric_dtype(v):
            x = v.to_numpy(dtype=np.float64)
            if not np.isfinite(x).all():
                raise ValueError(
                    f"{name}: the protected attribute {col!r} holds NaN or inf; the linear "
                    "auditor needs finite values."
                )
            cols.append(x)
            names.append(str(col))
        else:
            if v.isna().any():
                raise ValueError(f"{name}: the protected attribute {col!r} holds missing values.")
            levels = sorted(pd.unique(v), key=lambda u: (str(type(u)), u))
            for level in levels:
                cols.append((v == level).to_numpy(dtype=np.float64))
                names.append(f"{col}={level}")
    return np.column_stack(cols), names


class LeastSquares:
    """Least squares with an intercept on a fixed design, factorised once.

    ``fit(c)`` returns the coefficients and intercept of the (weighted) least-squares fit
    of ``c`` on the columns of ``X``: the minimum-norm solution on the centred columns, as
    scikit-learn's ``LinearRegression`` computes it, but with the pseudo-inverse of the
    centred design computed once, so each fit is one matrix-vector product.
    """

    def __init__(self, X, sample_weight=None):
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.sw = sample_weight
        if sample_weight is None:
            self.offset = self.X.mean(axis=0)
            Xc = self.X - self.offset
            self.root = None
        else:
            self.offset = np.average(self.X, axis=0, weights=sample_weight)
            self.root = np.sqrt(sample_weight)
            Xc = (self.X - self.offset) * self.root[:, None]
        self.pinv = np.linalg.pinv(Xc) if Xc.shape[1] else np.zeros((0, len(Xc)))

    def fit(self, c):
        if self.sw is None:
            c_mean = c.mean()
            coef = self.pinv @ (c - c_mean)
        else:
            c_mean = np.average(c, weights=self.sw)
            coef = self.pinv @ ((c - c_mean) * self.root)
        return coef, c_mean - self.offset @ coef

    def predict(self, coef, intercept, X=None):
        return (self.X if X is None else X) @ coef + intercept


def _mean(v, w):
    return v.mean() if w is None else np.average(v, weights=w)


class Auditor:
    """The linear rich-subgroup auditor on fixed data (used by the metric and by
    :class:`fairkit.inprocessing.GerryFairClassifier`).

    ``A`` holds the protected attributes of all rows, ``y`` the 0/1 labels. The audited
    rows are those with ``y = 0`` (``"FP"``) or ``y = 1`` (``"FN"``).
    """

    def __init__(self, A, y, fairness_def, sample_weight=None):
        self.fairness_def = fairness_def
        self.y = np.asarray(y, dtype=np.float64)
        # the audited rows: y' = 0, with y' = y (FP) or 1 - y (FN)
        self.subset = self.y == (0 if fairness_def == "FP" else 1)
        if not self.subset.any():
            raise ValueError(
                f"rich_subgroup: no row has y = {0 if fairness_def == 'FP' else 1}, so "
                f"the {fairness_def} rate is undefined."
            )
        self.A = A
        self.sw = sample_weight
        self.sw_sub = None if sample_weight is None else sample_weight[self.subset]
        self.total = float(len(self.y)) if sample_weight is None else float(sample_weight.sum())
        self.A_sub = A[self.subset]
        if sample_weight is not None and not self.sw_sub.sum() > 0:
            raise ValueError(
                "sample_weight is zero on every audited row (every row of class "
                f"{0 if fairness_def == 'FP' else 1}); the {fairness_def} rate is undefined."
            )
        self.m = float(self.subset.sum()) if sample_weight is None else float(self.sw_sub.sum())
        self.ls = LeastSquares(self.A_sub, self.sw_sub)

    def rates(self, predictions):
        """Per audited row, the quantity whose mean is the FP (FN) rate."""
        p = np.asarray(predictions, dtype=np.float64)[self.subset]
        return p if self.fairness_def == "FP" else 1 - p

    def audit(self, predictions):
        """The most violated subgroup for soft or hard ``predictions`` (a ``RichSubgroup``
        with the membership of the audited rows in ``_members_sub``)."""
        r = self.rates(predictions)
        n, w = self.total, self.sw_sub
        baseline = _mean(r, w)
        # regress the cost of putting a row in the group, (r_i - baseline) / n, on the
        # attributes; the group is where the fitted cost is negative (below-baseline rows)
        coef, intercept = self.ls.fit(-1.0 / n * (baseline - r))
        fitted = self.ls.predict(coef, intercept)
        best = None
        for direction, members, (cf, ic) in (
            (1, fitted < 0, (coef, intercept)),
            (-1, fitted > 0, (-coef, -intercept)),
        ):
            if w is None:
                count = float(members.sum())
                rate = r[members].mean() if count else 0.0
            else:
                count = float(w[members].sum())
                rate = np.average(r[members], weights=w[members]) if count else 0.0
            size = count * 1.0 / n
            disparity = np.abs(rate - baseline)
            found = RichSubgroup(
                disparity=float(disparity * size),
                group_size=float(size),
                group_rate=float(rate),
                baseline=float(baseline),
                unweighted_disparity=float(disparity),
                direction=direction,
                coef=cf,
                intercept=float(ic),
                fairness_def=self.fairness_def,
                membership=None,
            )
            found._members_sub = members
            # the second direction replaces the first only when strictly larger
            if best is None or found.disparity > best.disparity:
                best = found
        return best

    def members(self, group, A=None):
        """Membership of every row of ``A`` (default: all rows) in ``group``."""
        A = self.A if A is None else A
        return A @ group.coef + group.intercept < 0


@dataclass(eq=False)
class RichSubgroup:
    r"""The subgroup found by the linear auditor.

    Attributes
    ----------
    disparity : float
        :math:`\gamma = \alpha\, \lvert \mathrm{rate}(g) - \mathrm{rate} \rvert`, the
        size-weighted disparity (AIF360's ``weighted_disparity`` / ``rich_subgroup``).
    group_size : float
        :math:`\alpha`: the audited rows in the subgroup over all rows.
    group_rate : float
        FP (FN) rate in the subgroup (0 if it is empty).
    baseline : float
        FP (FN) rate over all audited rows.
    unweighted_disparity : float
        :math:`\lvert \mathrm{rate}(g) - \mathrm{rate} \rvert`.
    direction : {1, -1}
        1 when the subgroup was found below the baseline's fitted cost (its predictions
        tend below the baseline), -1 for the opposite direction.
    coef, intercept : ndarray, float
        The subgroup is :math:`\{a : a^\top \mathrm{coef} + \mathrm{intercept} < 0\}` over
        the columns of the protected-attribute matrix.
    fairness_def : {"FP", "FN"}
    membership : ndarray of bool of shape (n_samples,)
        Which rows (all rows, not only the audited ones) fall in the subgroup.
    attribute_names : list of str
        Names of the columns ``coef`` refers to (indicator columns are ``name=level``).
    """

    disparity: float
    group_size: float
    group_rate: float
    baseline: float
    unweighted_disparity: float
    direction: int
    coef: np.ndarray
    intercept: float
    fairness_def: str
    membership: np.ndarray | None
    attribute_names: list | None = None

    def __float__(self):
        return self.disparity


def _binary01(y_true, pos_label):
    y = np.asarray(to_pandas(y_true))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D; got shape {y.shape}.")
    labels = pd.unique(y)
    if len(labels) > 2:
        raise ValueError(
            f"rich_subgroup needs a binary y_true; got {len(labels)} labels {list(labels)[:10]}."
        )
    # one label may be all unfavourable (a false-positive audit needs no positives)
    if len(labels) == 2 and not any(_same(v, pos_label) for v in labels):
        raise ValueError(
            f"pos_label={_param_repr(pos_label)} is not a label of y_true {list(labels)}."
        )
    return (
        np.array([_same(v, pos_label) for v in y], dtype=np.float64)
        if y.dtype == object
        else (y == pos_label).astype(np.float64)
    )


def _same(a, b):
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover - exotic labels
        return False


def _predictions01(y_pred, y_true, pos_label, n):
    p = np.asarray(to_pandas(y_pred))
    if p.ndim == 2 and p.shape[1] == 1:
        p = p.ravel()
    if p.ndim != 1 or len(p) != n:
        raise ValueError(f"y_pred must be 1-D with {n} values (as y_true); got shape {p.shape}.")
    if p.dtype.kind in "biuf":
        p = p.astype(np.float64)
        if not np.isfinite(p).all():
            raise ValueError("y_pred holds NaN or inf.")
        if np.all((p == 0) | (p == 1)):
            # hard labels 0 / 1: 1 is favourable unless pos_label says otherwise
            return p if _same(pos_label, 1) or not _same(pos_label, 0) else 1 - p
        if p.min() < -1e-9 or p.max() > 1 + 1e-9:
            raise ValueError(
                "y_pred must be hard labels or probabilities of the favourable label in "
                f"[0, 1]; got values in [{p.min():g}, {p.max():g}]."
            )
        return p  # a mixture's share may exceed 1 by round-off: used as given
    labels = set(pd.unique(np.asarray(to_pandas(y_true)).ravel()))
    if not set(pd.unique(p)) <= labels:
        raise ValueError(
            f"y_pred holds labels {sorted(map(str, set(pd.unique(p)) - labels))[:5]} that "
            "are not labels of y_true."
        )
    return np.array([_same(v, pos_label) for v in p], dtype=np.float64)


def rich_subgroup(
    y_true, y_pred, *, sensitive_features, fairness_def="FP", pos_label=1, sample_weight=None
):
    r"""Audit predictions for rich-subgroup false-positive (or false-negative) fairness.

    Finds, among the linear thresholds over the protected attributes, the subgroup with
    the largest size-weighted deviation of its false-positive (false-negative) rate from
    the overall one, by the least-squares auditor of Kearns et al. [1]_ (AIF360's
    ``Auditor.audit`` and ``BinaryLabelDatasetMetric.rich_subgroup``).

    .. math::

        \gamma = \max_g \; \alpha(g)\, \lvert \mathrm{FP}(g) - \mathrm{FP} \rvert

    (the maximum over the two candidate subgroups of the regression heuristic; see the
    module docstring).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary true labels.
    y_pred : array-like of shape (n_samples,)
        Hard predictions (labels of ``y_true``) or probabilities of the favourable label,
        e.g. a randomised classifier's ``predict_proba(X)[:, 1]``.
    sensitive_features : array-like or DataFrame of shape (n_samples, n_attributes)
        The protected attributes. Numeric columns are used as they are (a half-space
        over them); other columns become one indicator column per level.
    fairness_def : {"FP", "FN"}, default="FP"
        False-positive rates (rows with ``y_true`` unfavourable) or false-negative rates
        (rows with ``y_true`` favourable).
    pos_label : scalar, default=1
        The favourable label.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights: rates, sizes and the auditor's regression are weighted (integer
        weights equal repeated rows).

    Returns
    -------
    RichSubgroup
        ``disparity`` (the violation :math:`\gamma`), the subgroup's ``membership`` over
        all rows, its linear definition ``coef`` / ``intercept`` and its size and rate.

    See Also
    --------
    rich_subgroup_disparity : the violation alone, a float.
    fairkit.inprocessing.GerryFairClassifier : learns a classifier with small violation.

    References
    ----------
    .. [1] M. Kearns, S. Neel, A. Roth, Z. S. Wu, "Preventing Fairness Gerrymandering:
       Auditing and Learning for Subgroup Fairness", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from fairkit.metrics import rich_subgroup
    >>> a = np.array([0, 0, 0, 1, 1, 1, 0, 1]); y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    >>> pred = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    >>> round(rich_subgroup(y, pred, sensitive_features=a).disparity, 4)
    0.125
    """
    check_fairness_def(fairness_def)
    y01 = _binary01(y_true, pos_label)
    n = len(y01)
    p = _predictions01(y_pred, y_true, pos_label, n)
    A, names = attribute_matrix(to_pandas(sensitive_features))
    if len(A) != n:
        raise ValueError(f"sensitive_features has {len(A)} rows but y_true has {n}.")
    sw = None
    if sample_weight is not None:
        sw = np.asarray(to_pandas(sample_weight), dtype=np.float64).ravel()
        if len(sw) != n or not np.isfinite(sw).all() or (sw < 0).any() or sw.sum() <= 0:
            raise ValueError(
                "sample_weight must hold one finite non-negative weight per row with a "
                "positive sum."
            )
    auditor = Auditor(A, y01, fairness_def, sw)
    group = auditor.audit(p)
    group.membership = auditor.members(group)
    group.attribute_names = names
    return group


def rich_subgroup_disparity(
    y_true, y_pred, *, sensitive_features, fairness_def="FP", pos_label=1, sample_weight=None
):
    r"""The rich-subgroup violation :math:`\gamma` of :func:`rich_subgroup`, as a float.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)
        Hard predictions or probabilities of the favourable label.
    sensitive_features : array-like or DataFrame of shape (n_samples, n_attributes)
    fairness_def : {"FP", "FN"}, default="FP"
    pos_label : scalar, default=1
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
        Size-weighted FP (FN) rate disparity of the most violated linear subgroup (0 is
        fair; smaller is better).
    """
    return rich_subgroup(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        fairness_def=fairness_def,
        pos_label=pos_label,
        sample_weight=sample_weight,
    ).disparity
