"""Request a disparity bound, get the most accurate model that meets it on held-out rows.

:class:`BoundTunedClassifierCV` tunes the trade-off parameter(s) of any classifier on
out-of-fold predictions: for every setting of ``param_grid`` the model is fitted on
``cv - 1`` folds and predicts the held-out fold, so accuracy and the group gap of every
setting are measured on rows its model never saw. The most accurate setting whose gap
meets the bound, judged at the upper end of a bootstrap interval, is refitted on all rows.
It is scikit-learn's ``TunedThresholdClassifierCV`` pattern with a fairness constraint in
place of the threshold objective.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import ParameterGrid
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import held_out_splits
from ..base import FairClassifierMixin, FairEstimatorMixin, warn_if_constant
from ..metrics.streaming import GROUP_METRICS, _bincount_cells, _is_pos, metric_from_counts
from ..utils._docstring import fair_docstring
from ..utils._outputs import classifier_tags, labels_from01

__all__ = ["BoundTunedClassifierCV", "FairnessBoundWarning", "BOUND_METRICS", "gap_with_interval",
           "parity_distance"]

#: Metrics a bound can be put on: a difference's distance from parity is its absolute
#: value, a ratio's is ``1 - min(r, 1/r)``.
BOUND_METRICS = tuple(sorted(GROUP_METRICS))
_SCORES = ("accuracy", "balanced_accuracy")


class FairnessBoundWarning(UserWarning):
    """No setting met the requested disparity bound; the closest one was kept."""


def _accepts(method, name):
    """Whether ``method`` takes ``name``: a named parameter, or any keyword when metadata
    routing is on (a ``Pipeline`` then routes it to the steps that request it)."""
    import inspect

    from sklearn.utils.metadata_routing import _routing_enabled

    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return name in params or (_routing_enabled() and any(
        p.kind is p.VAR_KEYWORD for p in params.values()))


def _fit_predict_fold(estimator, params, X, y, train, test, sf):
    """Held-out predictions of one (setting, fold), or the exception its fit raised."""
    try:
        return _fit_predict(estimator, params, X, y, train, test, sf)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        return exc


def _fit_predict(estimator, params, X, y, train, test, sf):
    est = clone(estimator).set_params(**params)
    fit_kw = ({} if sf is None or not _accepts(est.fit, "sensitive_features")
              else {"sensitive_features": _safe_indexing(sf, train)})
    est.fit(_safe_indexing(X, train), _safe_indexing(y, train), **fit_kw)
    pred_kw = ({} if sf is None or not _accepts(est.predict, "sensitive_features")
               else {"sensitive_features": _safe_indexing(sf, test)})
    return np.asarray(est.predict(_safe_indexing(X, test), **pred_kw))


def parity_distance(values, metric):
    """Distance from parity of metric values: ``|d|`` for a difference, ``1 - min(r, 1/r)``
    for a ratio; undefined (NaN) values stay NaN."""
    v = np.asarray(values, dtype=float)
    if metric.endswith("_ratio"):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - np.minimum(v, 1.0 / v)
    return np.abs(v)


def gap_with_interval(C, metric, *, priv=None, confidence=0.9, n_bootstrap=500,
                      random_state=None):
    """Distance from parity of ``metric`` on counts, with bootstrap limits.

    ``C`` holds confusion counts per group, shape (G, 2, 2) = [group, true_pos, pred_pos],
    or one such block per cross-validation fold, shape (K, G, 2, 2). With folds the gap is
    the mean over folds of each fold's distance (what a cross-validated search reports),
    not the distance of the pooled predictions: pooled, the folds' errors in opposite
    directions cancel, and a rule fitted on one fold's training rows looks fairer than it
    is on new rows.

    Returns ``(gap, lower, upper)``: ``upper`` is the one-sided ``confidence`` percentile
    of the gap over ``n_bootstrap`` multinomial resamples of the rows (within each fold),
    ``lower`` the ``1 - confidence`` one; a resample that leaves a group empty counts as an
    infinite gap. Both equal ``gap`` when ``confidence`` is None.
    """
    from ..metrics.report import _bootstrap_counts_unweighted

    C = np.asarray(C, dtype=float)
    folds = C if C.ndim == 4 else C[None]
    method = "privileged" if priv is not None else "between_groups"

    def distance(counts):
        return parity_distance(metric_from_counts(counts, metric, priv=priv, method=method),
                               metric)

    gap = float(np.mean([distance(Ck) for Ck in folds]))
    if confidence is None:
        return gap, gap, gap
    rng = check_random_state(random_state)
    gb = np.mean([distance(_bootstrap_counts_unweighted(Ck, n_bootstrap, rng))
                  for Ck in folds], axis=0)
    gb = np.where(np.isnan(gb), np.inf, gb)
    return (gap, float(np.quantile(gb, 1 - confidence)),
            float(np.quantile(gb, confidence)))


def _has(name):
    def check(self):
        return hasattr(self.best_estimator_ if hasattr(self, "best_estimator_")
                       else self.estimator, name)
    return check


@fair_docstring
class BoundTunedClassifierCV(FairEstimatorMixin, FairClassifierMixin, MetaEstimatorMixin,
                             ClassifierMixin, BaseEstimator):
    r"""The most accurate setting of a classifier whose held-out group gap meets a bound.

    For every parameter setting in ``param_grid`` (typically the one parameter that moves
    a mitigator's fairness-accuracy trade-off: a threshold optimiser's ``tol``, a
    regulariser's ``lam``, a reduction's ``difference_bound``) the model is cross-fitted:
    each of the ``cv`` folds is predicted by a clone fitted on the other folds. From these
    out-of-fold predictions fairkit computes the score (accuracy by default) and the gap
    ``metric`` between groups in each fold, averaged over the folds (as a
    cross-validated search reports it; pooling the folds' predictions first would let
    their errors cancel), with a bootstrap upper confidence limit. A setting *meets the
    bound* when

    .. math:: \text{upper}_{c}\big(|\text{gap}|\big) \le \text{bound},

    the one-sided ``confidence`` :math:`c` percentile of the mean gap over ``n_bootstrap``
    resamples of each fold's rows (``confidence=None`` compares the point estimate).
    The most accurate setting that meets the bound is refitted on all rows as
    ``best_estimator_``; ``predict`` uses it. When no setting meets the bound, the one with
    the smallest upper limit is kept, ``bound_met_`` is False and a
    :class:`FairnessBoundWarning` says so. A pick that predicts one class for every row,
    or is less accurate than predicting the majority class for every row, also warns: a
    constant predictor meets any parity bound, so it is never the silent answer.

    The fold-to-fold spread of the gap carries the variation of the fitted model (a rule
    estimated on a fold's training rows), the interval the sampling of the held-out rows;
    both are judged on rows the model was not fitted on. A small held-out fold makes its
    gap noisy, so on small data a tight bound may be unverifiable: the warning then says
    how close the best setting came.

    Parameters
    ----------
    estimator : estimator object
        The classifier to tune (a mitigator, or a whole ``Pipeline``); it reads the
        protected attribute itself (its own ``prot_attr``) or receives the routed
        ``sensitive_features`` in ``fit`` and, if its ``predict`` takes them, in
        ``predict``.
    param_grid : dict or list of dicts, default=None
        Settings to try, as in ``GridSearchCV`` (order them from least to most
        constrained: ties in the score go to the first). None tries the estimator as given.
    {prot_attr}
    metric : str, default="statistical_parity_difference"
        The gap under the bound, a group metric of :mod:`fairkit.metrics` (one of
        :data:`BOUND_METRICS`): between the two groups furthest apart (with
        ``priv_group``: the unprivileged groups pooled against the privileged one). Its
        distance from parity is compared with the bound: the absolute value of a
        difference, ``1 - min(r, 1/r)`` for a ratio.
    bound : float, default=0.05
        Largest acceptable distance from parity, in [0, 1].
    {priv_group}
    min_group_size : int, default=1
        Groups with fewer rows than this are left out of the gap (their rates are too
        noisy to bound); ``gap_groups_`` lists the groups compared.
    scoring : {"accuracy", "balanced_accuracy"}, default="accuracy"
        What is maximised among the settings that meet the bound.
    confidence : float in (0, 1) or None, default=0.9
        Level of the one-sided bootstrap upper limit of the gap that must meet the bound;
        None compares the out-of-fold point estimate.
    n_bootstrap : int, default=500
        Bootstrap resamples of the out-of-fold rows (not used when ``confidence=None``).
    cv : int, cross-validation generator or iterable, default=5
        Folds of the out-of-fold predictions. An int gives ``StratifiedKFold`` on the
        (label, group) cells, so every fold holds every label and group.
    {pos_label}
    n_jobs : int, default=None
        Fits run in parallel over (setting, fold) with joblib.
    {random_state}
        Here it seeds the bootstrap.

    Attributes
    ----------
    best_estimator_ : estimator
        The chosen setting refitted on all rows.
    best_params_ : dict
    best_index_ : int
        Position of the chosen setting in ``cv_results_``.
    best_score_ : float
        Out-of-fold score of the chosen setting.
    best_gap_ : float
        Its out-of-fold gap (absolute value).
    best_gap_upper_ : float
        Its bootstrap upper limit (the point estimate when ``confidence=None``).
    bound_met_ : bool
        Whether the chosen setting meets the bound.
    cv_results_ : dict of arrays
        ``params``, ``score``, ``gap``, ``gap_upper``, ``meets_bound``,
        ``positive_rate`` (share of favourable predictions) for every setting.
    gap_groups_ : list
        The groups compared (those with at least ``min_group_size`` rows).
    majority_score_ : float
        Score of predicting the majority class for every row (the floor a useful pick
        must beat).
    classes_, pos_label_, groups_, prot_attr_names_, n_features_in_, feature_names_in_
        As in every fairkit classifier.

    See Also
    --------
    fairkit.model_selection.BestWithinBound : the same choice as a ``refit`` rule of a
        scikit-learn search (mean over folds, no interval).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from fairkit.model_selection import BoundTunedClassifierCV
    >>> from fairkit.postprocessing import ThresholdOptimizer
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"g": rng.randint(0, 2, 2000), "x": rng.normal(size=2000)})
    >>> y = (X["x"] + X["g"] + rng.normal(size=2000) > 0.5).astype(int)
    >>> to = ThresholdOptimizer(LogisticRegression(), prot_attr="g", random_state=0)
    >>> tuned = BoundTunedClassifierCV(to, {"tol": [0.2, 0.1, 0.0]}, prot_attr="g",
    ...                                bound=0.1, random_state=0).fit(X, y)
    >>> tuned.best_params_, bool(tuned.bound_met_)
    ({'tol': 0.0}, True)
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "param_grid": [dict, list, None],
        "prot_attr": "no_validation",
        "metric": [StrOptions(set(BOUND_METRICS))],
        "bound": [Interval(Real, 0, 1, closed="both")],
        "priv_group": "no_validation",
        "min_group_size": [Interval(Integral, 1, None, closed="left")],
        "scoring": [StrOptions(set(_SCORES))],
        "confidence": [Interval(Real, 0, 1, closed="neither"), None],
        "n_bootstrap": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "pos_label": "no_validation",
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, param_grid=None, *, prot_attr=None,
                 metric="statistical_parity_difference", bound=0.05, priv_group=None,
                 min_group_size=1, scoring="accuracy", confidence=0.9, n_bootstrap=500,
                 cv=5, pos_label=None, n_jobs=None, random_state=None):
        self.estimator = estimator
        self.param_grid = param_grid
        self.prot_attr = prot_attr
        self.metric = metric
        self.bound = bound
        self.priv_group = priv_group
        self.min_group_size = min_group_size
        self.scoring = scoring
        self.confidence = confidence
        self.n_bootstrap = n_bootstrap
        self.cv = cv
        self.pos_label = pos_label
        self.n_jobs = n_jobs
        self.random_state = random_state

    @fair_docstring
    def fit(self, X, y, *, sensitive_features=None, **fit_params):
        """Cross-fit every setting, pick the best that meets the bound, refit it.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), binary
        {sensitive_features}
        **fit_params : dict
            Not supported: ``sample_weight`` is refused (a weighted cross-fitted choice
            is not a choice on repeated rows; weight the wrapped model itself).

        Returns
        -------
        self
        """
        from joblib import Parallel, delayed

        self._validate_params()
        if fit_params:
            name = ("sample_weight" if "sample_weight" in fit_params
                    else sorted(fit_params)[0])
            raise ValueError(
                f"{type(self).__name__}.fit does not take {name}: the choice is made on "
                "out-of-fold rows, where a weighted row is not a repeated row. Weight the "
                "wrapped estimator itself (e.g. a Pipeline step's fit parameter).")
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, reset=True, protected="groups",
            min_groups=2, target="binary", pos_label=self.pos_label)
        codes, y01 = np.asarray(data.groups.codes), np.asarray(data.y)
        n_groups = data.groups.n_groups
        y_raw = np.asarray(y).ravel()  # the labels as given (a 1-column y flattened)
        sf = None if self.prot_attr is not None else sensitive_features
        if sf is not None:
            sf = np.asarray(sf)
        priv = None
        if self.priv_group is not None:
            from .._protected import privileged_mask

            priv = privileged_mask(data.groups, self.priv_group)
            self.privileged_groups_ = priv
        sizes = np.bincount(codes, minlength=n_groups)
        keep = sizes >= self.min_group_size
        if keep.sum() < 2 or (priv is not None and not (priv[keep].any()
                                                        and (~priv[keep]).any())):
            raise ValueError(
                f"min_group_size={self.min_group_size}: the gap needs two groups (with "
                f"priv_group: a privileged and an unprivileged one) of at least that many "
                f"rows; group sizes are "
                f"{dict(zip(map(str, data.groups.labels), sizes.tolist(), strict=False))}.")
        self.gap_groups_ = [lab for lab, k in zip(data.groups.labels, keep, strict=False) if k]

        candidates = list(ParameterGrid(self.param_grid or {}))
        splits = held_out_splits(self, self.cv, y01 * n_groups + codes, data.X)
        jobs = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_predict_fold)(self.estimator, params, data.X, y_raw, train, test,
                                       sf)
            for params in candidates for train, test in splits)
        rng = check_random_state(self.random_state)
        seed = rng.randint(np.iinfo(np.int32).max)
        n_folds = len(splits)
        failed = [i for i in range(len(candidates))
                  if any(isinstance(j, Exception) for j in jobs[i * n_folds:(i + 1) * n_folds])]
        if len(failed) == len(candidates):
            first = next(j for j in jobs if isinstance(j, Exception))
            raise ValueError(
                f"{type(self).__name__}: every setting of param_grid failed to fit in at "
                f"least one of the {n_folds} folds; the first error: "
                f"{type(first).__name__}: {first}") from first
        if failed:
            errors = {str(candidates[i]): next(
                f"{type(j).__name__}: {j}" for j in jobs[i * n_folds:(i + 1) * n_folds]
                if isinstance(j, Exception)) for i in failed}
            warnings.warn(
                f"{type(self).__name__}: {len(failed)} of {len(candidates)} settings failed "
                f"to fit in a fold and are left out: {errors}", UserWarning, stacklevel=2)
        scores, gaps, uppers, pos_rates, preds01 = [], [], [], [], []
        k = 0
        for i in range(len(candidates)):
            p01 = np.zeros(len(y01), dtype=np.int64)
            C = np.empty((len(splits), n_groups, 2, 2))
            if i in failed:
                k += n_folds
                scores.append(np.nan)
                gaps.append(np.nan)
                uppers.append(np.nan)
                pos_rates.append(np.nan)
                preds01.append(None)
                continue
            for f, (_, test) in enumerate(splits):
                p01[test] = _is_pos(np.asarray(jobs[k]), self.pos_label_)
                C[f] = _bincount_cells(codes[test], y01[test], p01[test], None, n_groups)
                k += 1
            # common random numbers: every setting is judged on the same resamples
            gap, _, upper = gap_with_interval(
                C[:, keep], self.metric, priv=None if priv is None else priv[keep],
                confidence=self.confidence, n_bootstrap=self.n_bootstrap, random_state=seed)
            scores.append(self._score(C.sum(axis=(0, 1))))
            gaps.append(gap)
            uppers.append(upper)
            pos_rates.append(float(p01.mean()))
            preds01.append(p01)
        scores, gaps, uppers = map(np.asarray, (scores, gaps, uppers))
        ok = np.isfinite(scores) & np.isfinite(uppers) & (uppers <= self.bound)
        self.cv_results_ = {
            "params": candidates, "score": scores, "gap": gaps, "gap_upper": uppers,
            "meets_bound": ok, "positive_rate": np.asarray(pos_rates),
        }
        base = np.bincount(y01, minlength=2)
        self.majority_score_ = (float(base.max() / base.sum()) if self.scoring == "accuracy"
                                else 0.5)
        if ok.any():
            best = int(np.flatnonzero(ok)[np.argmax(scores[ok])])
        else:
            finite = np.where(np.isfinite(uppers), uppers, np.inf)
            valid = np.flatnonzero(np.isfinite(scores))  # a failed setting is never kept
            best = int(valid[np.argmin(finite[valid])])
            shown = "undefined" if not np.isfinite(uppers[best]) else f"{uppers[best]:.4f}"
            warnings.warn(
                f"{type(self).__name__}: no setting of param_grid meets bound={self.bound} "
                f"on {self.metric} (out-of-fold, upper limit at confidence="
                f"{self.confidence}); keeping the closest, {candidates[best]} with upper "
                f"limit {shown}. Widen param_grid towards more constrained settings, "
                "loosen the bound, or lower confidence.", FairnessBoundWarning,
                stacklevel=2)
        self.best_index_ = best
        self.best_params_ = candidates[best]
        self.best_score_ = float(scores[best])
        self.best_gap_ = float(gaps[best])
        self.best_gap_upper_ = float(uppers[best])
        self.bound_met_ = bool(ok[best])
        constant = warn_if_constant(
            self, y=y_raw, predictions=labels_from01(self.classes_, self.pos_label_,
                                                     preds01[best]),
            where=f"out-of-fold choice of {self.best_params_}",
            advice="A constant predictor meets any parity bound: widen param_grid towards "
            "less constrained settings or loosen the bound.")
        if not constant and self.best_score_ < self.majority_score_:
            warnings.warn(
                f"{type(self).__name__}: the chosen setting {self.best_params_} has "
                f"out-of-fold {self.scoring} {self.best_score_:.4f}, below the "
                f"{self.majority_score_:.4f} of predicting the majority class for every "
                "row (which has no gap at all).", UserWarning, stacklevel=2)
        best_est = clone(self.estimator).set_params(**self.best_params_)
        fit_kw = ({} if sf is None or not _accepts(best_est.fit, "sensitive_features")
                  else {"sensitive_features": sf})
        self.best_estimator_ = best_est.fit(data.X, y_raw, **fit_kw)
        return self

    def _score(self, C):
        """Score of pooled counts C (2, 2) = [true_pos, pred_pos]."""
        tn, fp, fn, tp = C[0, 0], C[0, 1], C[1, 0], C[1, 1]
        if self.scoring == "accuracy":
            return float((tn + tp) / C.sum())
        tpr = tp / (tp + fn) if tp + fn else np.nan
        tnr = tn / (tn + fp) if tn + fp else np.nan
        return float(np.nanmean([tpr, tnr]))

    def _kw(self, method, sensitive_features):
        if sensitive_features is None or not _accepts(method, "sensitive_features"):
            return {}
        return {"sensitive_features": sensitive_features}

    def _check(self, X, sensitive_features):
        check_is_fitted(self, "best_estimator_")
        self._validate_fair_data(X, None, sensitive_features=sensitive_features,
                                 reset=False, protected="none")

    @fair_docstring
    def predict(self, X, *, sensitive_features=None):
        """Predict with ``best_estimator_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        {sensitive_features}

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        self._check(X, sensitive_features)
        est = self.best_estimator_
        return est.predict(X, **self._kw(est.predict, sensitive_features))

    @available_if(_has("predict_proba"))
    @fair_docstring
    def predict_proba(self, X, *, sensitive_features=None):
        """Class probabilities of ``best_estimator_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        {sensitive_features}

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        self._check(X, sensitive_features)
        est = self.best_estimator_
        return est.predict_proba(X, **self._kw(est.predict_proba, sensitive_features))

    def __sklearn_tags__(self):
        tags = classifier_tags(super().__sklearn_tags__(), self.estimator)
        tags.classifier_tags.poor_score = True
        return tags
