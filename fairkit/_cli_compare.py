"""``fairkit compare``: the fairness-accuracy comparison of the baseline and the mitigators."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ._cli_common import CLIError, _coerce_label, _html_escape

__all__ = ["add_compare_parser"]


# ---------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------
#: Bundled data sets: loader, protected attribute, favourable label, feature columns
#: (None: all but the protected attributes' extra columns and score columns).
DATASETS = {
    "adult": dict(prot_attr="sex", priv_group="Male", pos_label=1, drop=["race"]),
    "compas": dict(
        prot_attr="race",
        priv_group="Caucasian",
        pos_label=0,  # not reoffending is the favourable outcome
        drop=["c_charge_desc", "decile_score", "score_text", "v_decile_score",
              "v_score_text", "age_cat"],
    ),
    # approval (denied == 0) is the favourable outcome
    "hmda": dict(prot_attr="race", priv_group="White", pos_label=0, drop=["ethnicity"]),
}


def _groups_repr(values, limit=20):
    names = sorted({str(v) for v in values})
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{names[:limit]}{more}"


def _load_compare_data(args):
    """Return X (raw DataFrame), y, prot_attr, priv_group, pos_label, title."""
    from . import datasets

    if args.dataset in DATASETS:
        spec = DATASETS[args.dataset]
        bunch = getattr(datasets, f"load_{args.dataset}")(as_frame=True)
        X = bunch.data.drop(columns=[c for c in spec["drop"] if c in bunch.data.columns])
        y = pd.Series(np.asarray(bunch.target), name="target")
        prot = args.prot_attr or spec["prot_attr"]
        priv = args.priv_group if args.priv_group is not None else (
            spec["priv_group"] if prot == spec["prot_attr"] else None)
        pos = spec["pos_label"] if args.pos_label is None else _coerce_label(args.pos_label, y)
        if args.target is not None:
            raise CLIError(f"--target is only for --dataset FILE.csv, not {args.dataset!r}.")
        title = f"{args.dataset} (protected attribute: {prot})"
    else:
        path = Path(args.dataset)
        if path.suffix.lower() != ".csv":
            raise CLIError(
                f"--dataset {args.dataset!r}: expected one of {sorted(DATASETS)} or a .csv file."
            )
        if not path.is_file():
            raise CLIError(f"--dataset {args.dataset!r}: no such file.")
        if not args.target or not args.prot_attr:
            raise CLIError("--dataset FILE.csv needs --target and --prot-attr.")
        frame = pd.read_csv(path)
        if args.target not in frame.columns:
            raise CLIError(f"--target column {args.target!r} not found in {args.dataset}; "
                           f"columns: {list(frame.columns)}.")
        y = frame.pop(args.target)
        X = frame
        prot = args.prot_attr
        priv = args.priv_group
        pos = 1 if args.pos_label is None else _coerce_label(args.pos_label, y)
        title = f"{path.name} (target: {args.target}, protected attribute: {prot})"
    if prot not in X.columns:
        raise CLIError(f"--prot-attr column {prot!r} not found; columns: {list(X.columns)}.")
    if X[prot].isna().any():
        raise CLIError(f"--prot-attr column {prot!r} has missing values; drop those rows first.")
    if y.nunique() != 2:
        raise CLIError(f"the target must be binary; it has {y.nunique()} distinct values.")
    if not (y == pos).any():
        # every rate would be 0 and every gap 0: a perfectly "fair" table that means nothing
        raise CLIError(f"--pos-label {pos!r} does not occur in the target; its values are "
                       f"{_groups_repr(pd.unique(y))}.")
    if args.sample and args.sample < len(X):
        keep = X.sample(n=args.sample, random_state=0).index
        X, y = X.loc[keep], y.loc[keep]
    if priv is not None:
        present = [v for v in pd.unique(X[prot]) if str(v) == str(priv)]
        if not present:
            raise CLIError(f"--priv-group {priv!r} does not occur in column {prot!r}; its "
                           f"groups are {_groups_repr(pd.unique(X[prot]))}.")
        priv = present[0]
    X, y = X.reset_index(drop=True), y.reset_index(drop=True).to_numpy()
    return X, y, prot, priv, pos, title


# ---------------------------------------------------------------------------------------
# The headline gap: scorers that run inside the search (module level, so they pickle to
# joblib and dask workers)
# ---------------------------------------------------------------------------------------
_ODDS = ("true_positive_rate", "false_positive_rate")
_RATE_OF = {
    "statistical_parity_difference": ("selection_rate",),
    "disparate_impact_ratio": ("selection_rate",),
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equal_opportunity_difference": ("true_positive_rate",),
    "equal_opportunity_ratio": ("true_positive_rate",),
    "average_odds_difference": _ODDS,
    "equalized_odds_difference": _ODDS,
    "equalized_odds_ratio": _ODDS,
    "predictive_parity_difference": ("precision",),
    "predictive_parity_ratio": ("precision",),
}


def _rates_of(metric):
    """The per-group rate(s) a group metric compares."""
    return _RATE_OF.get(metric, (metric.rsplit("_", 1)[0],))


def _is_ratio(metric):
    return metric.endswith("_ratio")


def _fold_counts(estimator, X, y, prot_attr, pos_label, min_size):
    from .metrics.streaming import GroupCounts

    counts = GroupCounts.from_arrays(y, estimator.predict(X),
                                     sensitive_features=X[prot_attr].to_numpy(),
                                     pos_label=pos_label)
    keep = counts.n_rows >= min_size
    return GroupCounts(counts.counts[keep], [lab for lab, k in zip(counts.labels, keep,
                                                                   strict=True) if k],
                       names=counts.names, pos_label=pos_label, n_rows=counts.n_rows[keep])


class _MinSizeGap:
    """The metric between the groups with at least ``min_size`` rows in the test fold."""

    def __init__(self, metric, prot_attr, pos_label, min_size):
        self.metric, self.prot_attr = metric, prot_attr
        self.pos_label, self.min_size = pos_label, min_size

    def __call__(self, estimator, X, y):
        counts = _fold_counts(estimator, X, y, self.prot_attr, self.pos_label, self.min_size)
        if counts.n_groups < 2:
            return float("nan")
        return counts.metric(self.metric, method="between_groups")


class _GapPair:
    """Which two groups the fold's gap comes from, coded ``hi * n_labels + lo``.

    A scorer can only return a number, so the pair travels as a code into labels, the
    group labels of the whole data set; for the odds metrics it is the pair of the rate
    (TPR or FPR) whose gap is the larger.
    """

    def __init__(self, metric, prot_attr, pos_label, min_size, labels):
        self.metric, self.prot_attr = metric, prot_attr
        self.pos_label, self.min_size = pos_label, min_size
        self.labels = list(labels)

    def __call__(self, estimator, X, y):
        from .metrics.streaming import group_rate

        counts = _fold_counts(estimator, X, y, self.prot_attr, self.pos_label, self.min_size)
        best, code = -np.inf, float("nan")
        for k, rate in enumerate(_rates_of(self.metric)):
            values = group_rate(counts.counts, rate)
            if np.isfinite(values).sum() < 2:
                continue
            hi, lo = int(np.nanargmax(values)), int(np.nanargmin(values))
            size = (values[hi] - values[lo]) if not _is_ratio(self.metric) else (
                1 - values[lo] / values[hi] if values[hi] > 0 else 0.0)
            if size > best:
                best = size
                code = float(k * len(self.labels) ** 2
                             + self.labels.index(counts.labels[hi]) * len(self.labels)
                             + self.labels.index(counts.labels[lo]))
        return code


class _TunedAttr:
    """A tuned candidate's choice in the fold (scorers can only return numbers):
    ``best_index_`` or ``bound_met_`` of the fitted BoundTunedClassifierCV."""

    def __init__(self, attr):
        self.attr = attr

    def __call__(self, estimator, X, y):
        return float(getattr(estimator, self.attr))


def _tuned_params(result, n_folds):
    """One 'picks per fold' string per table row of a --bound run."""
    from sklearn.model_selection import ParameterGrid

    from .model_selection.search import _format_params

    out = []
    for search in result.searches.values():
        res = search.cv_results_
        grid = list(ParameterGrid(search.estimator.param_grid or {}))
        for i in range(len(res["params"])):
            picks = []
            for k in range(n_folds):
                idx = res[f"split{k}_test__tuned_index"][i]
                met = res[f"split{k}_test__tuned_met"][i]
                text = _format_params(grid[int(idx)]) if np.isfinite(idx) else "failed"
                picks.append(text + ("" if met == 1 else " (bound not met)"))
            out.append("tuned per fold: " + " | ".join(picks))
    return out


def _decode_pairs(result, metric, labels, n_folds):
    """One 'rate: highest A, lowest B' string per table row (the most frequent pair)."""
    from collections import Counter

    rates, n = _rates_of(metric), len(labels)
    out = []
    for search in result.searches.values():
        res = search.cv_results_
        for i in range(len(res["params"])):
            codes = [res[f"split{k}_test_gap_pair"][i] for k in range(n_folds)]
            codes = [int(c) for c in codes if np.isfinite(c)]
            if not codes:
                out.append("undefined")
                continue
            (code, hits), = Counter(codes).most_common(1)
            rate, rest = divmod(code, n * n)
            hi, lo = divmod(rest, n)
            text = f"highest {labels[hi]}, lowest {labels[lo]}"
            if len(rates) > 1:
                text = f"{rates[rate]}: {text}"
            if hits < n_folds:
                text += f" ({hits} of {n_folds} folds)"
            out.append(text)
    return out


def _parity_distance(values, metric):
    """How far from parity: |difference|, or 1 - min(r, 1/r) for a ratio (0 is parity)."""
    v = np.asarray(values, dtype=float)
    if not _is_ratio(metric):
        return np.abs(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        folded = np.where(v > 1, 1 / v, v)
    return 1 - folded


def _distance_label(metric):
    return f"1 - min(r, 1/r) of {metric}" if _is_ratio(metric) else f"|{metric}|"


def _metric_rule(metric, priv, pos, min_size, explicit_priv):
    """One line saying what the metric column is, its sign, and which groups count."""
    from .metrics.streaming import GROUP_METRICS

    formula = GROUP_METRICS[metric][1]
    rates = " and ".join(_rates_of(metric))
    if explicit_priv:
        how = ("unprivileged over privileged" if _is_ratio(metric)
               else "unprivileged minus privileged")
        below = "below 1" if _is_ratio(metric) else "negative"
        return (f"{metric} ({formula}) = {how}: all groups other than {priv!r} pooled "
                f"against {priv!r} (AIF360's signed form, the value of "
                f"fairkit.metrics.{metric}(..., priv_group={priv!r})); {below}: the "
                f"unprivileged groups' {rates} is lower; favourable label {pos!r}; every "
                "row counts.")
    size = ("lowest over highest, in [0, 1], 1 is parity" if _is_ratio(metric)
            else "highest minus lowest, >= 0, 0 is parity")
    return (f"{metric} ({formula}) between groups = {size}; favourable label {pos!r}; "
            f"only groups with at least {min_size} rows in a test fold count "
            "(--min-group-size); gap_groups names the two groups it comes from.")


def _fold_sizes(groups, splits):
    """Rows of each group in each test fold: DataFrame (group x fold)."""
    return pd.DataFrame({k: groups.iloc[test].astype(str).value_counts()
                         for k, (_, test) in enumerate(splits)}).fillna(0).astype(int)


def _run_compare(args, out):
    import time

    from sklearn.model_selection import StratifiedKFold

    from .metrics import make_fairness_scorer
    from .metrics.streaming import GROUP_METRICS, GroupCounts
    from .model_selection import (
        MethodContext,
        available_methods,
        compare_mitigators,
        default_methods,
    )

    if args.metric not in GROUP_METRICS:
        raise CLIError(f"--metric {args.metric!r} is not a group metric; choose from "
                       f"{sorted(GROUP_METRICS)}.")
    known = available_methods()
    if args.list_methods:
        for name, spec in known.items():
            flag = "" if spec.in_default else "  (on request)"
            print(f"{name:28s} {spec.stage:9s} {spec.description}{flag}", file=out)
        return 0
    names = None
    if args.methods == "all":
        names = "all"
    elif args.methods:
        names = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in names if m not in known]
        if unknown:
            raise CLIError(f"unknown method(s) {unknown}; available: {sorted(known)}.")
    if args.cv < 2:
        raise CLIError(f"--cv must be at least 2, got {args.cv}.")
    if args.sample is not None and args.sample < 2:
        raise CLIError(f"--sample must be a number of rows >= 2, got {args.sample}.")
    if args.tune_cv < 2:
        raise CLIError(f"--tune-cv must be at least 2, got {args.tune_cv}.")
    if args.min_group_size < 1:
        raise CLIError(f"--min-group-size must be at least 1, got {args.min_group_size}.")
    if args.bound is not None and not (np.isfinite(args.bound) and args.bound >= 0):
        raise CLIError(f"--bound must be a number >= 0, got {args.bound}.")
    X, y, prot, priv, pos, title = _load_compare_data(args)
    explicit_priv = args.priv_group is not None
    categorical = [c for c in X.columns
                   if c != prot and not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c != prot and c not in categorical]
    context = MethodContext(prot_attr=prot, categorical=categorical, numeric=numeric,
                            priv_group=priv, pos_label=pos, random_state=0)
    try:
        methods = default_methods(context, names)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if args.grid == "single":
        methods = {k: (est, {}) for k, (est, _) in methods.items()}
    specs = available_methods()
    if args.bound is not None:
        # each method tunes its trade-off parameter inside every training fold (nested),
        # so the table's numbers are held out from the choice as well as from the fit
        from .model_selection import BoundTunedClassifierCV

        methods = {
            name: (BoundTunedClassifierCV(
                est, (specs[name].bound_grid(args.metric, args.bound)
                      if args.grid == "default" else None) or None,
                prot_attr=prot, metric=args.metric, bound=args.bound,
                priv_group=priv if explicit_priv else None,
                min_group_size=args.min_group_size, pos_label=pos, cv=args.tune_cv,
                random_state=0), {})
            for name, (est, _) in methods.items()}
    try:
        # fixed here (what compare_mitigators would draw for an int) so the group sizes of
        # each test fold are known before the search
        splits = list(StratifiedKFold(n_splits=args.cv).split(X, y))
    except ValueError as exc:
        raise CLIError(f"--cv {args.cv}: {exc}") from exc
    sizes = _fold_sizes(X[prot], splits)
    small = sizes[(sizes < args.min_group_size).any(axis=1)]
    notes = []
    if explicit_priv:
        fairness = make_fairness_scorer(args.metric, prot_attr=prot, priv_group=priv,
                                        pos_label=pos, absolute=False, greater_is_better=True)
        scoring = {"accuracy": "accuracy", args.metric: fairness}
        if str(priv) in small.index:
            notes.append(f"note: privileged group {priv!r} has fewer than "
                         f"{args.min_group_size} rows in a test fold "
                         f"({sizes.loc[str(priv)].min()} in the smallest); its rate is noisy.")
    else:
        enough = (sizes >= args.min_group_size).sum(axis=0)
        if (enough < 2).any():
            raise CLIError(
                f"--min-group-size {args.min_group_size}: fewer than two groups of "
                f"{prot!r} have that many rows in every one of the {args.cv} test folds "
                f"(rows per fold: {sizes.min(axis=1).to_dict()}); lower it or use fewer "
                "--cv folds.")
        labels = GroupCounts.from_arrays(y, y, sensitive_features=X[prot].to_numpy()).labels
        scoring = {
            "accuracy": "accuracy",
            args.metric: _MinSizeGap(args.metric, prot, pos, args.min_group_size),
            "gap_pair": _GapPair(args.metric, prot, pos, args.min_group_size, labels),
        }
        for group, row in small.iterrows():
            folds = int((row < args.min_group_size).sum())
            notes.append(f"left out of the gap: {group!r} ({int(row.sum())} rows, "
                         f"{int(row.min())}-{int(row.max())} per test fold; below "
                         f"{args.min_group_size} in {folds} of {args.cv} folds)")
    if args.bound is not None:
        scoring["_tuned_index"] = _TunedAttr("best_index_")
        scoring["_tuned_met"] = _TunedAttr("bound_met_")
    if not args.verbose:
        # Fitting warnings (convergence, unreachable costs) repeat once per fold and bury
        # the table; workers inherit the environment, so this silences them too.
        import os
        import warnings

        os.environ.setdefault("PYTHONWARNINGS", "ignore")
        warnings.simplefilter("ignore")
    start = time.perf_counter()
    try:
        with _backend(args.scheduler):
            result = compare_mitigators(methods, X, y, scoring=scoring, cv=splits,
                                        n_jobs=args.n_jobs, progress=not args.quiet)
            elapsed = time.perf_counter() - start
            if args.bound is not None:
                result.table["params"] = _tuned_params(result, args.cv)
            choice = _choose(result.table, args.metric, args.bound)
            estimator = _candidate(result, choice["shown"])
            groups, pred = _out_of_fold_group_rates(estimator, X, y, prot, pos, splits,
                                                    args.n_jobs)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if args.bound is not None:
        choice["verdict"] += " " + _held_out_gap_line(
            y, pred, X[prot], pos, args.metric, priv if explicit_priv else None,
            args.min_group_size)
    table = result.table.rename(columns={"fit_time": "fit_time_s"})
    table.insert(1, "stage", [specs[m].stage for m in table["method"]])
    table.insert(2, "base_model", [specs[m].base_model for m in table["method"]])
    table.insert(3, "uses_prot_attr", [specs[m].uses_prot_attr for m in table["method"]])
    table.insert(4, "optimises", [specs[m].optimises for m in table["method"]])
    # the floor every candidate must clear: predicting the majority class of the training
    # folds for every test row, scored like the candidates (mean over the test folds)
    majority = float(np.mean([np.mean(y[test] == _majority(y[train]))
                              for train, test in splits]))
    table["below_majority"] = table["accuracy"] < majority - 1e-12
    low = table[table["below_majority"]]
    if len(low):
        notes.append(
            f"below the majority class: {len(low)} candidate(s) are less accurate than "
            f"predicting the majority class for every row ({majority:.4f}): "
            + "; ".join(f"{r.method} ({r.params}) {r.accuracy:.4f}"
                        for r in low.itertuples()) + " (column below_majority).")
    if explicit_priv:
        how = "others pooled / " if _is_ratio(args.metric) else "others pooled - "
        table["gap_groups"] = how + str(priv)
    else:
        table["gap_groups"] = _decode_pairs(result, args.metric, labels, args.cv)
    rule = _metric_rule(args.metric, priv, pos, args.min_group_size, explicit_priv)
    return _write_compare_outputs(table, args, title, elapsed, rule, notes, pos, choice,
                                  groups, out)


def _backend(address):
    """Where the search runs: here, or on a dask scheduler (both steps on one client)."""
    import contextlib

    if not address:
        return contextlib.nullcontext()
    import joblib

    stack = contextlib.ExitStack()
    stack.enter_context(_connect(address))
    stack.enter_context(joblib.parallel_backend("dask"))
    return stack


def _choose(table, metric, bound):
    """The picked row, and the row whose per-group rates the report shows.

    ``pick`` is the most accurate candidate within ``bound`` (None without a bound or when
    none qualifies); ``shown`` is ``pick`` when there is one, otherwise the most accurate
    candidate on the Pareto front, so every report has a model to break down by group.
    """
    from .model_selection import BestWithinBound
    from .model_selection.pareto import pareto_front

    parity = _parity_distance(table[metric], metric)
    pick, status, verdict = None, 0, ""
    distance = _distance_label(metric)
    if bound is not None:
        cv_like = {"mean_test_accuracy": table["accuracy"].to_numpy(),
                   "mean_test_parity": parity}
        try:
            pick = int(BestWithinBound("accuracy", "parity", bound=bound)(cv_like))
        except ValueError:
            pick = None
        if pick is not None:
            best = table.iloc[pick]
            verdict = (f"Most accurate within {distance} <= {bound}: {best['method']} "
                       f"({best['params']}), accuracy {best['accuracy']:.4f}, "
                       f"{metric} {best[metric]:+.4f}; marked 'picked' in the CSV, PNG "
                       "and HTML.")
        else:
            closest = int(np.nanargmin(parity))
            verdict = (f"No candidate met the bound {distance} <= {bound}: the closest "
                       f"is {table.iloc[closest]['method']} ({table.iloc[closest]['params']})"
                       f" at {parity[closest]:.4f}. The report is written without a pick; "
                       "exit status 1.")
            status = 1
    if pick is not None:
        shown, why = pick, f"the candidate picked by --bound {bound}"
    else:
        positions = table.assign(_parity=parity, _row=np.arange(len(table)))
        front = pareto_front(positions, {"accuracy": "max", "_parity": "min"})
        # pareto_front sorts by accuracy, best first; with every gap undefined the front
        # is empty and the most accurate candidate stands in
        shown = (int(front["_row"].iloc[0]) if len(front)
                 else int(np.nanargmax(table["accuracy"].to_numpy())))
        why = "the most accurate candidate on the Pareto front" + (
            " (no candidate met the bound)" if bound is not None else " (no --bound given)")
    return dict(pick=pick, status=status, verdict=verdict, shown=shown, why=why)


def _candidate(result, row):
    """An unfitted copy of the table row's estimator with its parameters."""
    from sklearn.base import clone

    k = 0
    for search in result.searches.values():
        params = search.cv_results_["params"]
        if row < k + len(params):
            return clone(search.estimator).set_params(**params[row - k])
        k += len(params)
    raise IndexError(f"row {row} is not a candidate of the comparison.")


def _majority(y):
    values, counts = np.unique(y, return_counts=True)
    return values[int(np.argmax(counts))]


def _held_out_gap_line(y, pred, groups, pos, metric, priv, min_size):
    """The picked model's gap on out-of-fold predictions, with a 90% bootstrap interval."""
    from ._validation import same_label
    from .metrics.streaming import GroupCounts
    from .model_selection import gap_with_interval

    y01 = np.array([same_label(v, pos) for v in y], dtype=int)
    p01 = np.array([same_label(v, pos) for v in pred], dtype=int)
    counts = GroupCounts.from_arrays(y01, p01, sensitive_features=groups.to_numpy(),
                                     pos_label=1)
    keep = counts.n_rows >= min_size if priv is None else np.ones(counts.n_groups, bool)
    mask = None if priv is None else counts.privileged_mask(priv)[keep]
    gap, lo, hi = gap_with_interval(counts.counts[keep], metric, priv=mask,
                                    confidence=0.95, n_bootstrap=1000, random_state=0)
    return (f"Its held-out {_distance_label(metric)} on all out-of-fold predictions pooled: "
            f"{gap:.4f} (90% bootstrap interval {lo:.4f} to {hi:.4f}).")


def _out_of_fold_group_rates(estimator, X, y, prot, pos, splits, n_jobs):
    """fairness_report's group rows for predictions made on rows the model did not see,
    and the predictions.

    The folds are the comparison's, so each row is predicted by the model trained on the
    other folds, as in the table; in-sample rates of a refit would flatter the model.
    """
    from sklearn.model_selection import cross_val_predict

    from .metrics import fairness_report

    pred = cross_val_predict(estimator, X, y, cv=splits, n_jobs=n_jobs)
    report = fairness_report(y, pred, sensitive_features=X[prot], pos_label=pos)
    return report[report["method"].isna().to_numpy()].drop(columns="method"), pred


def _connect(address):
    """A dask Client, or one line saying why there is none."""
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise CLIError("--scheduler needs dask.distributed (pip install 'dask[distributed]')."
                       ) from exc
    try:
        return Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"--scheduler {address!r}: cannot connect: {first}") from exc


def _write_compare_outputs(table, args, title, elapsed, rule, notes, pos, choice, groups,
                           out):
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .model_selection.pareto import pareto_front
    from .plotting import plot_pareto_front

    metric = args.metric
    distance = _distance_label(metric)
    table = table.copy()
    table["_parity"] = _parity_distance(table[metric], metric)
    front = pareto_front(table, {"accuracy": "max", "_parity": "min"})
    front = front[["method", "params", "accuracy", metric]]

    pick, status, verdict = choice["pick"], choice["status"], choice["verdict"]
    if args.bound is not None:
        table["picked"] = [i == pick for i in range(len(table))]
    shown_row = table.iloc[choice["shown"]]
    who = f"{shown_row['method']} ({shown_row['params']}), {choice['why']}"
    drop = [c for c in table.columns if c.startswith(("abs_", "gap_pair", "_"))]
    shown = table.drop(columns=drop)
    terminal = shown.drop(columns=["stage", "base_model", "uses_prot_attr"])
    fmt = lambda v: f"{v:.4f}"  # noqa: E731
    print(f"{title}: {len(table)} candidates, {args.cv}-fold CV, {elapsed:.1f} s", file=out)
    print(f"metric: {rule}", file=out)
    for note in notes:
        print(note, file=out)
    print(terminal.to_string(index=False, float_format=fmt), file=out)
    print(f"\nPareto front (accuracy up, {distance} down):", file=out)
    print(front.to_string(index=False, float_format=fmt), file=out)
    if verdict:
        print(f"\n{verdict}", file=out)
    groups_how = (f"fairkit.metrics.fairness_report on out-of-fold predictions "
                  f"(cross_val_predict with the comparison's {args.cv} folds, so every row "
                  "is predicted by a model that did not see it); pooled over the folds, so "
                  "they can differ slightly from the table's fold means; n_rows is the "
                  "group's size in the whole data set used by the run.")
    print(f"\nPer-group rates of {who}:", file=out)
    print(groups.to_string(float_format=fmt), file=out)

    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / "fairkit-compare"
    fig, ax = plt.subplots(figsize=(7.5, 5))
    plot_pareto_front(table, x="accuracy", y="_parity", absolute_y=False, ax=ax)
    ax.errorbar(table["accuracy"], table["_parity"], xerr=table["accuracy_std"],
                yerr=table[f"{metric}_std"], fmt="none", ecolor="0.6", elinewidth=0.8,
                zorder=0)
    ax.set_ylabel(f"{distance} (bars: ±1 fold std)")
    ax.set_title(f"{title}\nlower right is better")
    png_note = "no --bound given"
    if args.bound is not None:
        ax.axhline(args.bound, color="tab:red", ls=":", lw=1)
        if pick is not None:
            best = table.iloc[pick]
            png_note = f"picked: {best['method']} ({best['params']})"
            ax.annotate(png_note, xy=(best["accuracy"], best["_parity"]),
                        xytext=(-20, 30), textcoords="offset points", fontsize="small",
                        ha="right",
                        color="tab:red", arrowprops=dict(arrowstyle="->", color="tab:red"))
        else:
            png_note = f"no candidate within {distance} <= {args.bound}"
            ax.text(0.02, 0.02, png_note, transform=ax.transAxes, color="tab:red",
                    fontsize="small")
    fig.tight_layout()
    # The four files are written into a temporary folder of this run's own and moved in
    # together: an interrupted or failed run leaves no partial file, and two runs into one
    # folder never read each other's half-written files. (Four renames are not one atomic
    # step; swapping a whole report folder in by one rename is issue #16's.)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".fairkit-compare-", dir=folder))
    try:
        tmp_png, tmp_csv, tmp_html = (tmp_dir / f"fairkit-compare{s}"
                                      for s in (".png", ".csv", ".html"))
        tmp_groups = tmp_dir / "fairkit-compare-groups.csv"
        fig.savefig(tmp_png, dpi=110, format="png", metadata={"Description": png_note})
        plt.close(fig)
        shown.to_csv(tmp_csv, index=False)
        group_csv = groups.reset_index()
        group_csv.insert(0, "method", shown_row["method"])
        group_csv.insert(1, "params", shown_row["params"])
        group_csv.to_csv(tmp_groups, index=False)
        png64 = base64.b64encode(tmp_png.read_bytes()).decode("ascii")
        esc = _html_escape
        items = [
            f"<li><b>Metric</b>: {esc(rule)}</li>",
            f"<li><b>Favourable label</b>: {esc(repr(pos))}</li>",
            "<li><b>Columns</b>: accuracy and the metric are means over the test folds, "
            "<code>_std</code> their standard deviation over folds (the error bars in the "
            "figure); <code>fit_time_s</code> is the mean fit time of one fold in seconds; "
            "<code>uses_prot_attr</code> says whether the model reads the protected "
            "attribute when it decides.</li>",
        ] + [f"<li>{esc(n)}</li>" for n in notes]
        if verdict:
            items.append(f"<li><b>Bound</b>: {esc(verdict)}</li>")
        html = (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>fairkit compare</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>"
            f"<h1>fairkit compare</h1><p>{esc(title)}; {len(table)} candidates, "
            f"{args.cv}-fold cross-validation, {elapsed:.1f} s.</p>"
            f"<ul>{''.join(items)}</ul>"
            f"<img alt='Pareto front' src='data:image/png;base64,{png64}'/>"
            "<h2>All candidates</h2>"
            + shown.to_html(index=False, float_format=fmt)
            + "<h2>Pareto front</h2>"
            + front.to_html(index=False, float_format=fmt)
            + f"<h2>Per-group rates of the picked model</h2><p>{esc(who)}. Rates from "
            f"{esc(groups_how)} Also in <code>fairkit-compare-groups.csv</code>.</p>"
            + groups.to_html(float_format=fmt, table_id="picked-groups", na_rep="undefined")
            + "</body></html>\n"
        )
        tmp_html.write_text(html)
        for tmp in (tmp_png, tmp_csv, tmp_groups, tmp_html):
            tmp.replace(folder / tmp.name)
    finally:
        plt.close(fig)
        shutil.rmtree(tmp_dir, ignore_errors=True)
    print(f"\nwrote {stem}.png, {stem}.csv, {stem}-groups.csv and {stem}.html", file=out)
    return status


def add_compare_parser(sub):
    compare = sub.add_parser(
        "compare",
        help="fairness-accuracy comparison of the baseline and the mitigators",
        description="Cross-validate the baseline and every available mitigator on one data "
        "set, print the table and the Pareto front, write PNG, CSV and HTML reports. The "
        "reports also give the per-group rates of one model: the candidate picked by "
        "--bound, or (no --bound, or none within it) the most accurate candidate on the "
        "Pareto front, from out-of-fold predictions with the comparison's folds "
        "(fairkit-compare-groups.csv and a section of the HTML).",
    )
    compare.add_argument("--dataset", default="adult",
                         help="adult, compas, hmda or a FILE.csv (default: adult)")
    compare.add_argument("--target", help="target column (FILE.csv only)")
    compare.add_argument("--prot-attr", help="protected column (default per data set)")
    compare.add_argument("--pos-label", default=None, help="favourable label")
    compare.add_argument("--priv-group", default=None,
                         help="privileged group: the metric becomes AIF360's signed "
                         "unprivileged-minus-privileged form (as the metric function with "
                         "priv_group=); also used by FairTTTS and reject option")
    compare.add_argument("--metric", default="statistical_parity_difference",
                         help="fairness metric (a fairkit group metric name)")
    compare.add_argument("--methods", default=None,
                         help="comma-separated method names, or 'all' (default: every "
                         "method fast enough for a few-minutes run; see --list-methods)")
    compare.add_argument("--list-methods", action="store_true",
                         help="list the registered methods and exit")
    compare.add_argument("--grid", choices=["default", "single"], default="default",
                         help="each method's small default grid, or its defaults only")
    compare.add_argument("--bound", type=float, default=None,
                         help="request |metric| <= BOUND (for a ratio: 1 - min(r, 1/r) <= "
                         "BOUND): every method tunes its trade-off parameter inside each "
                         "training fold on out-of-fold predictions (--tune-cv folds; "
                         "BoundTunedClassifierCV) to the most accurate setting meeting the "
                         "bound, so the table is held out from the choice too; the most "
                         "accurate method within the bound is picked and marked in every "
                         "report, with its held-out gap and a bootstrap interval; if none "
                         "qualifies the reports are still written, say so, and the exit "
                         "status is 1")
    compare.add_argument("--tune-cv", type=int, default=3,
                         help="with --bound: folds of the tuning inside each training fold "
                         "(default: 3)")
    compare.add_argument("--min-group-size", type=int, default=30,
                         help="without --priv-group, the gap is taken between groups with at "
                         "least this many rows in a test fold (default: 30)")
    compare.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    compare.add_argument("--n-jobs", type=int, default=2, help="parallel jobs (default: 2)")
    compare.add_argument("--sample", type=int, default=None,
                         help="use a random sample of this many rows")
    compare.add_argument("--scheduler", default=None,
                         help="address of a dask.distributed scheduler to run the search on")
    compare.add_argument("--output", default="fairkit-compare-output",
                         help="folder for fairkit-compare.png/.csv/.html and "
                         "fairkit-compare-groups.csv")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument("--verbose", action="store_true",
                         help="show the models' warnings (hidden by default)")
    compare.set_defaults(run=_run_compare)


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------
