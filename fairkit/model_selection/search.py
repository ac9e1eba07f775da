"""Fairness-accuracy trade-off search with scikit-learn's own search classes.

Two layers:

- :class:`TradeoffScorer`: accuracy minus a weighted fairness gap as one score, for the
  searches that take a single scorer (``HalvingGridSearchCV``,
  ``HalvingRandomSearchCV``);
- ``refit`` strategies for ``GridSearchCV`` / ``RandomizedSearchCV`` with several scorers:
  :class:`BestWithinBound` (most accurate model whose fairness gap is within a bound) and
  :class:`FairestWithinBound` (fairest model whose accuracy is within a bound);
- :func:`compare_mitigators`: one call that runs a search per method (baseline, pre-, in-
  and post-processing), returns one tidy table of every candidate and the overall Pareto
  front.

Everything is plain scikit-learn underneath, so ``joblib.parallel_backend("dask")`` with a
``dask.distributed`` client spreads the work over a cluster unchanged.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import check_scoring, get_scorer
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.parallel import Parallel, delayed

from .pareto import pareto_front

__all__ = [
    "TradeoffScorer",
    "BestWithinBound",
    "FairestWithinBound",
    "ComparisonResult",
    "compare_mitigators",
]


def _column(cv_results, name):
    key = f"mean_test_{name}"
    if key not in cv_results:
        scorers = sorted(k[len("mean_test_") :] for k in cv_results if k.startswith("mean_test_"))
        raise ValueError(f"scorer {name!r} is not in the search's scoring; scorers: {scorers}.")
    return np.asarray(cv_results[key], dtype=float)


class TradeoffScorer:
    r"""One score for a fairness-accuracy trade-off: ``score - weight * |fairness|``.

    Successive-halving searches (``HalvingGridSearchCV``, ``HalvingRandomSearchCV``) rank
    candidates by a single scorer, so they cannot keep accuracy and fairness apart; this
    scorer folds the two into one number with an explicit exchange rate ``weight`` (how
    many points of accuracy one point of fairness gap is worth):

    .. math:: s(h) = \text{score}(h) - w \, |\text{gap}(h)|.

    Parameters
    ----------
    score : str or callable
        Accuracy-type scorer (name or ``scorer(estimator, X, y)``).
    fairness : callable
        Fairness scorer, e.g. from :func:`fairkit.metrics.make_fairness_scorer`; its
        absolute value is used, so signed and negated forms both work.
    weight : float, default=1.0
        Exchange rate :math:`w \ge 0`.

    Examples
    --------
    >>> from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    >>> from sklearn.model_selection import HalvingGridSearchCV
    >>> from fairkit.metrics import make_fairness_scorer
    >>> from fairkit.model_selection import TradeoffScorer
    >>> scorer = TradeoffScorer("accuracy", make_fairness_scorer(
    ...     "statistical_parity_difference", prot_attr="sex"), weight=2.0)
    """

    def __init__(self, score, fairness, weight=1.0):
        self.score = score
        self.fairness = fairness
        self.weight = weight

    def __call__(self, estimator, X, y, **kwargs):
        if not (isinstance(self.weight, (int, float)) and self.weight >= 0):
            raise ValueError(f"weight must be a number >= 0, got {self.weight!r}.")
        score = get_scorer(self.score) if isinstance(self.score, str) else self.score
        return float(score(estimator, X, y)) - self.weight * abs(
            float(self.fairness(estimator, X, y))
        )

    def __repr__(self):
        return f"TradeoffScorer({self.score!r}, {self.fairness!r}, weight={self.weight!r})"


class BestWithinBound:
    """``refit`` strategy: the best ``score`` among candidates with ``|constraint| <= bound``.

    Fairness scorers may be signed or negated (``greater_is_better=False``), so the bound
    applies to the absolute value of the mean test score of ``constraint``.

    Parameters
    ----------
    score : str
        Key of the accuracy-type scorer in ``scoring`` (maximised).
    constraint : str
        Key of the fairness scorer in ``scoring``.
    bound : float
        Largest acceptable mean absolute fairness gap.

    Examples
    --------
    >>> from fairkit.model_selection import BestWithinBound
    >>> pick = BestWithinBound("accuracy", "spd", bound=0.05)
    >>> pick({"mean_test_accuracy": [0.9, 0.85, 0.8], "mean_test_spd": [-0.2, -0.04, -0.01]})
    1
    """

    def __init__(self, score, constraint, bound):
        self.score = score
        self.constraint = constraint
        self.bound = bound

    def __call__(self, cv_results):
        score = _column(cv_results, self.score)
        gap = np.abs(_column(cv_results, self.constraint))
        ok = np.isfinite(score) & (gap <= self.bound)
        if not ok.any():
            best = np.nanmin(gap) if np.isfinite(gap).any() else float("nan")
            raise ValueError(
                f"No candidate has |{self.constraint}| <= bound={self.bound}; the smallest "
                f"mean gap found is {best:.4g}. Loosen the bound or widen the grid."
            )
        return int(np.flatnonzero(ok)[np.argmax(score[ok])])

    def __repr__(self):
        return f"BestWithinBound({self.score!r}, {self.constraint!r}, bound={self.bound!r})"


class FairestWithinBound:
    """``refit`` strategy: the smallest ``|constraint|`` among candidates accurate enough.

    A candidate qualifies when its mean ``score`` is at least ``min_score``, or within
    ``tolerance`` of the best candidate's score (give one of the two).
    """

    def __init__(self, constraint, score, *, min_score=None, tolerance=None):
        self.constraint = constraint
        self.score = score
        self.min_score = min_score
        self.tolerance = tolerance

    def __call__(self, cv_results):
        if (self.min_score is None) == (self.tolerance is None):
            raise ValueError(
                "FairestWithinBound needs exactly one of min_score or tolerance, got "
                f"min_score={self.min_score!r}, tolerance={self.tolerance!r}."
            )
        score = _column(cv_results, self.score)
        gap = np.abs(_column(cv_results, self.constraint))
        floor = self.min_score if self.min_score is not None else np.nanmax(score) - self.tolerance
        ok = np.isfinite(gap) & (score >= floor)
        if not ok.any():
            raise ValueError(
                f"No candidate has {self.score} >= {floor:.4g}; the best mean score found is "
                f"{np.nanmax(score):.4g}."
            )
        return int(np.flatnonzero(ok)[np.argmin(gap[ok])])

    def __repr__(self):
        return (
            f"FairestWithinBound({self.constraint!r}, {self.score!r}, "
            f"min_score={self.min_score!r}, tolerance={self.tolerance!r})"
        )


@dataclass
class ComparisonResult:
    """What :func:`compare_mitigators` returns.

    Attributes
    ----------
    table : DataFrame
        One row per (method, parameter setting): ``method``, ``params``, then for each
        scorer its mean and ``<name>_std`` over folds in the metric's natural sign, then
        ``fit_time`` (mean seconds per fold).
    front : DataFrame
        The rows of ``table`` on the Pareto front of ``objectives``.
    objectives : dict
        ``{column: "max" | "min"}`` used for the front (fairness columns as absolute values
        in columns named ``abs_<name>``).
    searches : dict
        The fitted search object of each method.
    """

    table: pd.DataFrame
    front: pd.DataFrame
    objectives: dict
    searches: dict = field(default_factory=dict, repr=False)


def _split_method(name, spec):
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError(
                f"methods[{name!r}] must be an estimator or (estimator, param_grid), got a "
                f"tuple of length {len(spec)}."
            )
        return spec
    return spec, {}


def _natural_sign(scorer):
    # scikit-learn negates scores of metrics where smaller is better; undo that for display.
    return float(getattr(scorer, "_sign", 1))


class _Progress:
    def __init__(self, total, enabled, stream=None):
        self.total, self.done, self.enabled = total, 0, enabled
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()

    def step(self, n, label):
        self.done += n
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.perf_counter() - self.start
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} candidates "
            f"({elapsed:5.1f}s) {label:<28}"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def compare_mitigators(
    methods,
    X,
    y,
    *,
    scoring,
    objectives=None,
    cv=5,
    search="grid",
    n_iter=10,
    n_jobs=None,
    random_state=None,
    error_score="raise",
    progress=False,
    memory=None,
):
    """Search each method's grid with the same folds and scorers; tabulate every candidate.

    Parameters
    ----------
    methods : dict
        ``{name: estimator}`` or ``{name: (estimator, param_grid)}``. Estimators are usually
        pipelines (encoding + mitigator + model) or meta-estimators wrapping one, each
        reading the protected attribute through ``prot_attr`` so nothing is routed.
    X, y : DataFrame / array-like
        The data; ``X`` should keep the protected column(s) the methods and scorers read.
    scoring : dict
        ``{name: scorer or scorer name}``; fairness scorers from
        :func:`fairkit.metrics.make_fairness_scorer` read ``prot_attr`` from ``X``.
    objectives : dict, optional
        ``{column: "max" | "min"}`` over ``table`` columns for the Pareto front. Default:
        maximise the first scorer and minimise the absolute value of the second.
    cv : int or cross-validation splitter
        The same splits are used for every method (an int means stratified K folds).
    search : {"grid", "random"}
        ``GridSearchCV`` or ``RandomizedSearchCV`` (``n_iter`` draws) per method.
    n_jobs : int, optional
        Searches run in parallel, one method per job (each search itself runs its
        candidates and folds in turn), so a method with one candidate does not leave
        workers idle while its few folds run.
    error_score : "raise" or float
        As in scikit-learn; "raise" surfaces a failing method at once.
    progress : bool
        Draw a progress bar on stderr.
    memory : str or object with the joblib.Memory interface, optional
        Set as ``memory`` on every estimator (or nested estimator) that takes one, i.e.
        every cross-fitting post-processor: a model shared by several candidates (a grid
        over a post-processor's own parameters, several post-processors on one baseline) is
        then fitted once per set of rows; the results are those of uncached fits.

    Returns
    -------
    ComparisonResult
    """
    if not isinstance(methods, dict) or not methods:
        raise ValueError("methods must be a non-empty dict {name: estimator or (estimator, grid)}.")
    if not isinstance(scoring, dict) or len(scoring) < 2:
        raise ValueError(
            "scoring must be a dict of at least two scorers (an accuracy-type one and a "
            f"fairness one), got {scoring!r}."
        )
    if search not in ("grid", "random"):
        raise ValueError(f"search must be 'grid' or 'random', got {search!r}.")
    from sklearn.model_selection import ParameterGrid, check_cv
    from sklearn.utils.multiclass import type_of_target

    splitter = check_cv(cv, y, classifier=type_of_target(y) in ("binary", "multiclass"))
    splits = list(splitter.split(X, y))
    scorers = {k: (get_scorer(v) if isinstance(v, str) else v) for k, v in scoring.items()}
    for k, s in scorers.items():
        if not callable(s):
            raise ValueError(f"scoring[{k!r}] is not a scorer: {s!r}.")

    specs = {name: _split_method(name, spec) for name, spec in methods.items()}
    sizes = {
        name: (len(ParameterGrid(grid)) if search == "grid" else n_iter) if grid else 1
        for name, (_, grid) in specs.items()
    }
    bar = _Progress(sum(sizes.values()), progress)
    searchers = {}
    for name, (estimator, grid) in specs.items():
        check_scoring(estimator, scoring=next(iter(scorers.values())))
        estimator = _with_memory(clone(estimator), memory)
        # one search per method and fold: the jobs stay small and many, so two workers
        # finish together; the folds' results are merged into one search per method
        if search == "grid" or not grid:
            searchers[name] = [GridSearchCV(
                clone(estimator), grid or {}, scoring=scorers, refit=False, cv=[split],
                n_jobs=1, error_score=error_score) for split in splits]
        else:
            searchers[name] = [RandomizedSearchCV(
                clone(estimator), grid, n_iter=n_iter, scoring=scorers, refit=False,
                cv=[split], n_jobs=1, error_score=error_score, random_state=random_state)
                for split in splits]
    jobs = Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator")(
        delayed(_fit_search)(one, X, y) for folds in searchers.values() for one in folds)
    fitted = (_merge_folds([next(jobs) for _ in splits], splits) for _ in searchers)
    rows, searches = [], {}
    for name, searcher in zip(searchers, fitted, strict=True):
        searches[name] = searcher
        res = searcher.cv_results_
        for i, params in enumerate(res["params"]):
            row = {"method": name, "params": _format_params(params)}
            for key, scorer in scorers.items():
                sign = _natural_sign(scorer)
                row[key] = sign * float(res[f"mean_test_{key}"][i])
                row[f"{key}_std"] = float(res[f"std_test_{key}"][i])
            row["fit_time"] = float(res["mean_fit_time"][i])
            rows.append(row)
        bar.step(sizes[name] if search == "grid" else len(res["params"]), name)

    table = pd.DataFrame(rows)
    names = list(scorers)
    if objectives is None:
        table[f"abs_{names[1]}"] = table[names[1]].abs()
        objectives = {names[0]: "max", f"abs_{names[1]}": "min"}
    front = pareto_front(table, objectives)
    return ComparisonResult(table=table, front=front, objectives=objectives, searches=searches)


def _fit_search(searcher, X, y):
    return searcher.fit(X, y)


def _merge_folds(searches, splits):
    """One fitted search over every fold from the single-fold searches of one method:
    the per-fold scores side by side and the means, standard deviations and ranks
    computed as scikit-learn's search does over several folds."""
    from scipy.stats import rankdata

    merged = searches[0]
    first = merged.cv_results_
    results = {k: v for k, v in first.items() if k == "params" or k.startswith("param_")}
    for kind in ("fit_time", "score_time"):
        times = np.column_stack([s.cv_results_[f"mean_{kind}"] for s in searches])
        means = np.average(times, axis=1)
        results[f"mean_{kind}"] = means
        results[f"std_{kind}"] = np.sqrt(np.average((times - means[:, None]) ** 2, axis=1))
    keys = [k[len("split0_test_"):] for k in first if k.startswith("split0_test_")]
    for key in keys:
        scores = np.column_stack([s.cv_results_[f"split0_test_{key}"] for s in searches])
        for i in range(scores.shape[1]):
            results[f"split{i}_test_{key}"] = scores[:, i]
        means = np.average(scores, axis=1)
        results[f"mean_test_{key}"] = means
        results[f"std_test_{key}"] = np.sqrt(
            np.average((scores - means[:, None]) ** 2, axis=1))
        if np.isnan(means).all():
            ranks = np.ones_like(means, dtype=np.int32)
        else:
            filled = np.nan_to_num(means, nan=np.nanmin(means) - 1)
            ranks = rankdata(-filled, method="min").astype(np.int32, copy=False)
        results[f"rank_test_{key}"] = ranks
    merged.cv_results_ = results
    merged.cv = list(splits)
    merged.n_splits_ = len(splits)
    return merged


def _with_memory(estimator, memory):
    """``estimator`` with ``memory`` set wherever a (nested) estimator takes one."""
    if memory is None:
        return estimator
    params = estimator.get_params(deep=True)
    keys = [k for k in params if k == "memory" or k.endswith("__memory")]
    # a Pipeline's own ``memory`` caches its transformers: leave it as the user set it
    keys = [k for k in keys
            if not isinstance(params.get(k[:-len("__memory")], estimator), Pipeline)]
    if keys:
        estimator.set_params(**{k: memory for k in keys})
    return estimator


def _format_params(params):
    if not params:
        return "default"
    parts = []
    for k, v in sorted(params.items()):
        short = k.split("__")[-1]
        parts.append(f"{short}={v:.4g}" if isinstance(v, float) else f"{short}={v}")
    return ", ".join(parts)
