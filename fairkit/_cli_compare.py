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
        try:
            bunch = getattr(datasets, f"load_{args.dataset}")(as_frame=True)
        except (OSError, ValueError) as exc:  # a damaged data file or checksum list
            raise CLIError(f"--dataset {args.dataset!r}: {exc}") from exc
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
    "average_odds_error": _ODDS,
    "average_predictive_value_difference": ("precision", "false_omission_rate"),
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


# The last fold scored in this process: several scorers read the same fold's predictions
# and counts, so the model predicts each test fold once. The entry holds the estimator
# and X themselves (compared by identity), so an id cannot be reused while it is cached.
_LAST_FOLD = {}


def _fold_predictions(estimator, X):
    hit = _LAST_FOLD.get("key")
    if hit is not None and hit[0] is estimator and hit[1] is X:
        return _LAST_FOLD["pred"]
    pred = np.asarray(estimator.predict(X))
    _LAST_FOLD.clear()
    _LAST_FOLD.update(key=(estimator, X), pred=pred)
    return pred


def _all_fold_counts(estimator, X, y, prot_attr, pos_label):
    from .metrics.streaming import GroupCounts

    pred = _fold_predictions(estimator, X)
    key = (prot_attr, pos_label)
    if _LAST_FOLD.get("counts_key") != key:
        _LAST_FOLD["counts"] = GroupCounts.from_arrays(
            y, pred, sensitive_features=X[prot_attr].to_numpy(), pos_label=pos_label)
        _LAST_FOLD["counts_key"] = key
    return _LAST_FOLD["counts"]


def _fold_counts(estimator, X, y, prot_attr, pos_label, min_size):
    from .metrics.streaming import GroupCounts

    counts = _all_fold_counts(estimator, X, y, prot_attr, pos_label)
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


class _Accuracy:
    """Accuracy of the fold's (shared) predictions; scikit-learn's ``accuracy`` scorer
    would predict the fold once more."""

    def __call__(self, estimator, X, y):
        return float(np.mean(_fold_predictions(estimator, X) == np.asarray(y)))


class _CellCount:
    """Rows of one group in one cell of the fold's confusion table (cell = 2 * is_positive
    + predicted_positive): summed over the test folds they give the out-of-fold counts of
    every candidate, so the report's per-group table needs no refit."""

    def __init__(self, prot_attr, pos_label, label, cell):
        self.prot_attr, self.pos_label = prot_attr, pos_label
        self.label, self.cell = label, cell

    def __call__(self, estimator, X, y):
        counts = _all_fold_counts(estimator, X, y, self.prot_attr, self.pos_label)
        if self.label not in counts.labels:
            return 0.0
        row = counts.counts[counts.labels.index(self.label)]
        return float(row[self.cell // 2, self.cell % 2])


def _cell_scorers(prot_attr, pos_label, labels):
    return {f"_cell_{j}_{c}": _CellCount(prot_attr, pos_label, label, c)
            for j, label in enumerate(labels) for c in range(4)}


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
    import tempfile
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
    labels = GroupCounts.from_arrays(y, y, sensitive_features=X[prot].to_numpy()).labels
    if explicit_priv:
        fairness = make_fairness_scorer(args.metric, prot_attr=prot, priv_group=priv,
                                        pos_label=pos, absolute=False, greater_is_better=True)
        scoring = {"accuracy": _Accuracy(), args.metric: fairness}
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
        scoring = {
            "accuracy": _Accuracy(),
            args.metric: _MinSizeGap(args.metric, prot, pos, args.min_group_size),
            "gap_pair": _GapPair(args.metric, prot, pos, args.min_group_size, labels),
        }
        for group, row in small.iterrows():
            folds = int((row < args.min_group_size).sum())
            notes.append(f"left out of the gap: {group!r} ({int(row.sum())} rows, "
                         f"{int(row.min())}-{int(row.max())} per test fold; below "
                         f"{args.min_group_size} in {folds} of {args.cv} folds)")
    scoring.update(_cell_scorers(prot, pos, labels))
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
    if args.timeout is not None and not (np.isfinite(args.timeout) and args.timeout > 0):
        raise CLIError(f"--timeout must be a number of seconds > 0, got {args.timeout}.")
    if args.timeout is not None and not args.scheduler:
        raise CLIError("--timeout bounds a run on a dask cluster; it needs --scheduler.")

    def search(memory=None):
        result = compare_mitigators(methods, X, y, scoring=scoring, cv=splits,
                                    n_jobs=args.n_jobs, progress=not args.quiet,
                                    memory=memory)
        elapsed = time.perf_counter() - start
        if args.bound is not None:
            result.table["params"] = _tuned_params(result, args.cv)
        choice = _choose(result.table, args.metric, args.bound)
        groups, oof = _out_of_fold_group_rates(result, choice["shown"], X, y, prot, pos,
                                               labels, args.cv)
        return result, elapsed, choice, groups, oof

    start = time.perf_counter()
    try:
        with _backend(args.scheduler, data=(X, y), quiet=not args.verbose) as on_cluster:
            if on_cluster is None:
                # the post-processors on one model share its cross-fitted fits through a
                # cache that lives as long as the run (local workers only: a cluster's
                # workers need not share a disk)
                with tempfile.TemporaryDirectory(prefix="fairkit-compare-") as cache:
                    result, elapsed, choice, groups, oof = search(cache)
            else:
                result, elapsed, choice, groups, oof = on_cluster(search, args.timeout)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if args.bound is not None:
        choice["verdict"] += " " + _held_out_gap_line(
            *oof, pos, args.metric, priv if explicit_priv else None, args.min_group_size)
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


def _backend(address, data=(), quiet=True):
    """Where the search runs: here, or on a dask scheduler (both steps on one client).

    On a scheduler, ``data`` (X and y) is broadcast to every worker once, and nothing else
    is scattered: joblib's dask backend by default scatters every large argument to a
    single worker, where it is lost with that worker (dask cannot recompute scattered
    data), and the run ends in ``FutureCancelledError``. With a replica on each worker and
    every other argument inside its task, dask reruns a lost worker's tasks elsewhere and
    the run gives the same results as without the fault.
    """
    import contextlib

    if not address:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def on_cluster():
        import logging

        # distributed logs a lost worker or scheduler with tracebacks; the outcome is said
        # in one line (a survived fault: nothing), so they show with --verbose only
        level = logging.root.manager.disable
        if quiet:
            logging.disable(logging.CRITICAL)
        try:
            with _connect(address) as client:
                backend = _dask_backend_class()(client=client, scatter=list(data))
                yield lambda work, timeout: _run_on_cluster(work, client, backend,
                                                            address, timeout)
        finally:
            logging.disable(level)

    return on_cluster()


_DASK_BACKEND = None


def _dask_backend_class():
    """joblib's dask backend without its automatic scatter of large arguments to one
    worker (see _backend), and without nested dask tasks."""
    global _DASK_BACKEND
    if _DASK_BACKEND is None:
        from joblib._dask import DaskDistributedBackend

        class ReplicatedDaskBackend(DaskDistributedBackend):
            def start_call(self):
                super().start_call()
                # joblib scatters an argument only while this is not None
                self.call_data_futures = None

            def stop_call(self):
                self.call_data_futures = {}
                super().stop_call()

            async def _to_func_args(self, func):
                # joblib runs a task's inner loops (a ColumnTransformer's, a tuned
                # method's folds) as dask tasks of their own, with their own scattered
                # arguments, lost with a worker; here a task runs them itself
                batch, tasks = await super()._to_func_args(func)
                return batch, [(_sequential_task, [f, *args], kwargs)
                               for f, args, kwargs in tasks]

        _DASK_BACKEND = ReplicatedDaskBackend
    return _DASK_BACKEND


def _sequential_task(func, /, *args, **kwargs):
    """``func(*args, **kwargs)`` with joblib's inner loops run in this process."""
    import joblib

    with joblib.parallel_config(backend="sequential"):
        return func(*args, **kwargs)


#: seconds the search waits with no worker connected before it gives up
_NO_WORKER_GRACE = 30.0
#: seconds the client may try to reconnect to a lost scheduler before the run gives up
_SCHEDULER_GRACE = 5.0


def _run_on_cluster(work, client, backend, address, timeout):
    """``work()`` on joblib ``backend``, in a thread, watched: a lost scheduler, no worker
    for _NO_WORKER_GRACE seconds, a task that killed its workers, or ``timeout`` seconds
    passed give a CLIError (one line) instead of a traceback or a hang."""
    import concurrent.futures
    import threading
    import time

    import joblib
    from dask.distributed import KilledWorker

    box = {}

    def target():
        try:
            with joblib.parallel_config(backend=backend):  # thread-local: set it here
                box["value"] = work()
        except BaseException as exc:  # reported by the watching thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="fairkit-compare-search", daemon=True)
    start = time.monotonic()
    thread.start()
    where = f"--scheduler {address!r}"
    reason, no_worker_since, lost_since = None, None, None
    while thread.is_alive():
        thread.join(0.5)
        if not thread.is_alive():
            break
        now = time.monotonic()
        if timeout is not None and now - start > timeout:
            reason = (f"--timeout {timeout:g}: the search on {address} did not finish "
                      f"within {timeout:g} s (a stalled worker or too little time); "
                      "stopped, no report written.")
            break
        if client.status != "running":  # "connecting": trying to reconnect
            lost_since = lost_since or now
            if client.status != "connecting" or now - lost_since > _SCHEDULER_GRACE:
                reason = (f"{where}: lost the connection to the scheduler; no report "
                          "written.")
                break
        else:
            lost_since = None
        try:  # bounded: a call to a lost scheduler waits for the reconnection
            n_workers = len(client.sync(client.scheduler.ncores, callback_timeout=2))
        except Exception:  # the scheduler is gone, or not answering
            n_workers = None
        if n_workers == 0:
            no_worker_since = no_worker_since or now
            if now - no_worker_since > _NO_WORKER_GRACE:
                reason = (f"{where}: no worker connected for {_NO_WORKER_GRACE:g} s "
                          "(all workers gone); no report written.")
                break
        else:
            no_worker_since = None
    if reason is not None:
        _abandon(client)
        raise CLIError(reason)
    if "error" not in box:
        return box["value"]
    exc = box["error"]
    if isinstance(exc, KilledWorker):
        raise CLIError(f"{where}: a task ended the worker running it, each time it was "
                       f"tried (dask KilledWorker): {exc}") from exc
    if client.status not in ("running",) or isinstance(
            exc, (concurrent.futures.CancelledError, OSError, TimeoutError)):
        try:
            n_workers = len(client.sync(client.scheduler.ncores, callback_timeout=2))
        except Exception:
            n_workers = None
        if client.status != "running" or n_workers is None:
            status = "lost the connection to the scheduler"
        elif n_workers == 0:
            status = ("all workers gone (with them the copies of the data); start "
                      "workers and run again")
        else:
            status = (f"the search was cancelled on the cluster ({type(exc).__name__}: "
                      f"{_first_line(exc)})")
        raise CLIError(f"{where}: {status}; no report written.") from exc
    raise exc


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _abandon(client):
    """Stop the search thread's work: cancel its tasks by closing the client (quietly)."""
    try:
        client.close(timeout=5)
    except Exception:
        pass


def _choose(table, metric, bound):
    """The picked row, and the row whose per-group rates the report shows.

    ``pick`` is the most accurate candidate within ``bound`` (None without a bound or when
    none qualifies); ``shown`` is ``pick`` when there is one, otherwise the most accurate
    candidate on the Pareto front, so every report has a model to break down by group.
    """
    from .model_selection import BestWithinBound, parity_distance
    from .model_selection.pareto import pareto_front

    parity = parity_distance(table[metric], metric)
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
    from .metrics.streaming import GroupCounts
    from .model_selection import gap_with_interval

    counts = GroupCounts.from_arrays(y, pred, sensitive_features=groups.to_numpy(),
                                     pos_label=pos)
    keep = counts.n_rows >= min_size if priv is None else np.ones(counts.n_groups, bool)
    mask = None if priv is None else counts.privileged_mask(priv)[keep]
    gap, lo, hi = gap_with_interval(counts.counts[keep], metric, priv=mask,
                                    confidence=0.95, n_bootstrap=1000, random_state=0)
    return (f"Its held-out {_distance_label(metric)} on all out-of-fold predictions pooled: "
            f"{gap:.4f} (90% bootstrap interval {lo:.4f} to {hi:.4f}).")


def _out_of_fold_group_rates(result, row, X, y, prot, pos, labels, n_folds):
    """fairness_report's group rows for the table row's predictions on rows its model did
    not see, and (y, predictions, groups) arrays with the same per-group counts.

    The counts are the ones the comparison's scorers recorded on each test fold (the
    ``_cell_*`` scores), summed over the folds: exactly what ``cross_val_predict`` with
    the comparison's folds gives, without fitting the model again; in-sample rates of a
    refit would flatter the model. An unweighted report depends on the data only through
    these counts, so it is computed on arrays rebuilt from them.
    """
    from .metrics import fairness_report
    from .metrics.streaming import _is_pos

    k = 0
    for search in result.searches.values():
        res = search.cv_results_
        if row < k + len(res["params"]):
            i = row - k
            break
        k += len(res["params"])
    else:
        raise IndexError(f"row {row} is not a candidate of the comparison.")
    cells = np.array([[sum(res[f"split{f}_test__cell_{j}_{c}"][i] for f in range(n_folds))
                       for c in range(4)] for j in range(len(labels))])
    cells = np.rint(cells).astype(np.int64)
    # one row of X per group keeps the attribute's dtype; y's labels for each cell
    col = X[prot]
    codes = pd.Series(range(len(col)), index=pd.Index(col.to_numpy())).groupby(level=0).first()
    first = [int(codes.loc[lab]) for lab in labels]
    y = np.asarray(y)
    pos_value = y[_is_pos(y, pos)][0]
    neg_value = y[~_is_pos(y, pos)][0]
    reps = cells.ravel()
    group_rows = np.repeat(np.repeat(first, 4), reps)
    true_pos = np.repeat(np.tile([False, False, True, True], len(labels)), reps)
    pred_pos = np.repeat(np.tile([False, True, False, True], len(labels)), reps)
    groups = col.iloc[group_rows].reset_index(drop=True)
    y_out = np.where(true_pos, pos_value, neg_value)
    pred = np.where(pred_pos, pos_value, neg_value)
    report = fairness_report(y_out, pred, sensitive_features=groups, pos_label=pos)
    return (report[report["method"].isna().to_numpy()].drop(columns="method"),
            (y_out, pred, groups))


def _connect(address):
    """A dask Client, or one line saying why there is none."""
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise CLIError("--scheduler needs dask.distributed (pip install 'dask[distributed]')."
                       ) from exc
    import logging

    # a failed connection is reported in one line below; distributed's own retry messages
    # (logged on a slow machine while it waits) would add lines of their own
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        return Client(address)
    except Exception as exc:  # any failure to connect (OSError, timeouts, comm errors)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"--scheduler {address!r}: cannot connect: {first}") from exc
    finally:
        log.setLevel(level)


def _write_compare_outputs(table, args, title, elapsed, rule, notes, pos, choice, groups,
                           out):
    import base64

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .model_selection import parity_distance
    from .model_selection.pareto import pareto_front
    from .plotting import plot_pareto_front

    metric = args.metric
    distance = _distance_label(metric)
    table = table.copy()
    table["_parity"] = parity_distance(table[metric], metric)
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
                  f"(the comparison's own test-fold predictions, what cross_val_predict with "
                  f"its {args.cv} folds gives, so every row is predicted by a model that "
                  "did not see it); pooled over the folds, so "
                  "they can differ slightly from the table's fold means; n_rows is the "
                  "group's size in the whole data set used by the run.")
    print(f"\nPer-group rates of {who}:", file=out)
    print(groups.to_string(float_format=fmt), file=out)

    folder = Path(args.output)
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

    def write(run_dir):
        """The four files of this run, into ``run_dir`` (a folder nobody else writes)."""
        png, csv, html_path, groups_path = (run_dir / name for name in _REPORT_NAMES)
        fig.savefig(png, dpi=110, format="png", metadata={"Description": png_note})
        shown.to_csv(csv, index=False)
        group_csv = groups.reset_index()
        group_csv.insert(0, "method", shown_row["method"])
        group_csv.insert(1, "params", shown_row["params"])
        group_csv.to_csv(groups_path, index=False)
        # the PNG embedded is the one just written beside it: the HTML and the PNG are
        # always the same run's
        png64 = base64.b64encode(png.read_bytes()).decode("ascii")
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
        html_path.write_text(html)

    def announce():
        print(f"\nwrote {stem}.png, {stem}.csv, {stem}-groups.csv and {stem}.html", file=out)

    try:
        _publish_report(folder, write, announce)
    finally:
        plt.close(fig)
    return status


# ---------------------------------------------------------------------------------------
# compare's report: one run's four files, published in one atomic step
# ---------------------------------------------------------------------------------------
# The folder --output DIR the user opens holds four fixed symbolic links and a hidden store:
#
#   DIR/fairkit-compare.png         -> .fairkit-compare/current/fairkit-compare.png
#   DIR/fairkit-compare.csv         -> .fairkit-compare/current/fairkit-compare.csv
#   DIR/fairkit-compare-groups.csv  -> .fairkit-compare/current/fairkit-compare-groups.csv
#   DIR/fairkit-compare.html        -> .fairkit-compare/current/fairkit-compare.html
#   DIR/.fairkit-compare/current    -> run-<id>     (the published version)
#   DIR/.fairkit-compare/run-<id>/  the four files of one run
#   DIR/.fairkit-compare/lock       held (flock) by the run that is publishing
#
# A run writes its four files into a new run-<id> folder and publishes them by replacing
# the one link `current` (os.replace of a symbolic link: a single atomic rename on POSIX).
# All four names switch together, so a reader, a kill or a second run can never see one
# run's PNG beside another run's CSV; DIR itself stays a plain folder (--output . works and
# the user's other files in it are not touched) and DIR/fairkit-compare.html etc. open as
# before. Writing, publishing and tidying happen under an exclusive lock, so the tidying
# (every version but the published one is removed) never removes another run's folder in
# progress; a run that cannot get the lock within _REPORT_LOCK_TIMEOUT seconds gives up
# with one line (exit 2) and leaves the folder as it is. After a SIGKILL, the dead run's
# unpublished folder stays until the next run into DIR tidies it; what DIR shows is still
# one run's complete report. Copying DIR keeps working: cp -r and rsync -a keep the
# relative links, zip, scp and shutil.copytree copy the files they point to.
#
# Where the swap is not available (Windows: symbolic links need a privilege there and
# there is no flock; or a file system without links or locks) the files are moved in one
# by one, as before: each file is whole, but a kill between two moves can mix two runs.
_REPORT_NAMES = ("fairkit-compare.png", "fairkit-compare.csv", "fairkit-compare.html",
                 "fairkit-compare-groups.csv")
_REPORT_STORE = ".fairkit-compare"
#: seconds a run waits for another run's publishing into the same folder (which takes
#: well under a second) before it gives up with an error
_REPORT_LOCK_TIMEOUT = 60.0


def _report_link_target(name):
    """What DIR/<name> points to (relative to DIR, so a copied or moved DIR still works)."""
    return f"{_REPORT_STORE}/current/{name}"


def _publish_report(folder, write, announce):
    """Write a report with ``write(run_dir)`` and show it in ``folder`` in one atomic step;
    ``announce()`` is called once it is the report ``folder`` shows."""
    import os

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--output {str(folder)!r}: cannot create the folder ({exc}).") from exc
    try:
        import fcntl  # POSIX only
    except ImportError:
        fcntl = None
    if os.name != "posix" or fcntl is None or not hasattr(os, "symlink"):
        _publish_file_by_file(folder, write)
        announce()
        return
    store = folder / _REPORT_STORE
    try:
        store.mkdir(exist_ok=True)
        lock = os.open(store / "lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise CLIError(f"--output {str(folder)!r}: cannot write the report ({exc}).") from exc
    try:
        if not _lock_report_store(lock, folder):  # a file system without locks
            _publish_file_by_file(folder, write)
            announce()
            return
        try:
            if not _adopt_report_names(folder, store):  # ... or without symbolic links
                _publish_file_by_file(folder, write)
                announce()
                return
            run_dir = _new_report_version(store)
            _write_or_explain(write, run_dir, folder)
            _point_current_to(store, run_dir.name)
            announce()
        finally:
            _tidy_report_store(store)
    finally:
        os.close(lock)  # releases the flock


def _lock_report_store(fd, folder):
    """Take the exclusive flock on DIR/.fairkit-compare/lock (open as ``fd``): True once
    held, False if the file system has no locks; a lock another run holds for longer than
    _REPORT_LOCK_TIMEOUT seconds is a CLIError."""
    import errno
    import fcntl
    import time

    deadline = time.monotonic() + _REPORT_LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise CLIError(
                    f"--output {str(folder)!r}: another fairkit compare has been writing "
                    f"its report there for {_REPORT_LOCK_TIMEOUT:g} s; this run's report "
                    "was not written, the folder keeps the other's."
                ) from None
            time.sleep(0.02)
        except OSError as exc:
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                return False
            raise


def _new_report_version(store):
    """A new, empty version folder (plain os.mkdir: the umask's permissions, unlike
    tempfile.mkdtemp's 0700, so whoever could read the report before still can)."""
    import os
    import uuid

    path = store / f"run-{uuid.uuid4().hex[:16]}"
    os.mkdir(path)
    return path


def _point_current_to(store, version):
    """Publish: replace the link ``current`` by one to ``version``, in one rename."""
    import os
    import uuid

    tmp = store / f"tmp-{uuid.uuid4().hex[:16]}"
    os.symlink(version, tmp)
    os.replace(tmp, store / "current")


def _adopt_report_names(folder, store):
    """Make the four names in ``folder`` the links into ``current`` without changing what
    they show (under the lock). Needed once: in a new folder, or a folder written by an
    older fairkit (plain files) or by the file-by-file fallback. What the names show is
    first frozen into a version folder of its own and published (a missing name stays
    missing: its link dangles), then each name is replaced by its link: at every step,
    each name shows the same bytes as before. Returns False if the file system has no
    symbolic links (nothing changed then)."""
    import errno
    import os
    import shutil
    import uuid

    stale = [name for name in _REPORT_NAMES
             if not ((folder / name).is_symlink()
                     and os.readlink(folder / name) == _report_link_target(name))]
    if not stale:
        return True
    for name in stale:
        if (folder / name).is_dir():
            raise CLIError(f"--output {str(folder)!r}: {name} is a folder; move it away "
                           "so the report can be written there.")
    probe = store / f"tmp-{uuid.uuid4().hex[:16]}"
    try:
        os.symlink("probe", probe)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return False
        raise
    os.remove(probe)
    frozen = _new_report_version(store)
    for name in _REPORT_NAMES:
        if (folder / name).is_file():  # a plain file, or a link to one (through current)
            shutil.copyfile(folder / name, frozen / name)
    _point_current_to(store, frozen.name)
    for name in stale:
        tmp = store / f"tmp-{uuid.uuid4().hex[:16]}"
        os.symlink(_report_link_target(name), tmp)
        os.replace(tmp, folder / name)
    return True


def _tidy_report_store(store):
    """Remove every version but the published one, and leftover temporary links (under the
    lock, so none is another run's work in progress). Best effort: what cannot be removed
    now is removed by the next run, and never fails a run. An exception while tidying (a
    second Ctrl-C) finishes the tidying first, then goes on."""
    try:
        _tidy_report_store_once(store)
    except BaseException:
        _tidy_report_store_once(store)
        raise


def _tidy_report_store_once(store):
    import os
    import shutil

    try:
        published = os.readlink(store / "current")
    except OSError:
        published = None
    try:
        entries = list(os.scandir(store))
    except OSError:
        return
    for entry in entries:
        if entry.name == published or not entry.name.startswith(("run-", "tmp-")):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.remove(entry.path)
        except OSError:
            pass


def _write_or_explain(write, run_dir, folder):
    """``write(run_dir)``; a failing write (disk full, permissions) is one line: nothing of
    this run is shown, the folder keeps its previous report."""
    try:
        write(run_dir)
    except OSError as exc:
        raise CLIError(f"--output {str(folder)!r}: could not write the report ({exc}); "
                       "the folder keeps its previous report.") from exc


def _publish_file_by_file(folder, write):
    """The fallback where links or locks are missing (Windows): write into a temporary
    folder of this run's own, then move the four files in one by one. Each file is whole
    and a failed run leaves no file behind, but a kill between two moves can leave two
    runs' files side by side."""
    tmp_dir = Path(tempfile.mkdtemp(prefix=".fairkit-compare-", dir=folder))
    try:
        _write_or_explain(write, tmp_dir, folder)
        for name in _REPORT_NAMES:
            (tmp_dir / name).replace(folder / name)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


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
                         help="address of a dask.distributed scheduler to run the search on "
                         "(X and y are copied to every worker, so the run survives losing a "
                         "worker while another remains; no worker for 30 s, a lost "
                         "scheduler or --timeout end it with one line, exit status 2)")
    compare.add_argument("--timeout", type=float, default=None,
                         help="with --scheduler: stop a search that has not finished after "
                         "this many seconds (default: no limit; a frozen worker is dropped "
                         "by the scheduler after its worker-ttl, 5 minutes by default, and "
                         "its tasks rerun elsewhere)")
    compare.add_argument("--output", default="fairkit-compare-output",
                         help="folder for fairkit-compare.png/.csv/.html and "
                         "fairkit-compare-groups.csv (on POSIX these four names are links "
                         "into DIR/.fairkit-compare/, switched to a new run's report by one "
                         "atomic rename; plain files elsewhere)")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument("--verbose", action="store_true",
                         help="show the models' warnings (hidden by default)")
    compare.set_defaults(run=_run_compare)


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------
