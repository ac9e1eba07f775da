"""Benchmarks for the Socio-Economic Parity classifier on UCI Adult (run on demand).

    python benchmarks/bench_sep.py             # all sections
    python benchmarks/bench_sep.py epsilon     # epsilon vs accuracy vs SEP/CSEP gaps vs time
    python benchmarks/bench_sep.py solvers     # fit time of every installed solver
    python benchmarks/bench_sep.py fairlearn   # vs ExponentiatedGradient, matched DP level
    python benchmarks/bench_sep.py large       # the large-data path (Adult replicated 10x)
    python benchmarks/bench_sep.py newton      # Newton vs L-BFGS face solves, rate-unit fits

Set-up (``ADULT_SEP_DEFAULTS``): sex with Female unprivileged; SES underprivileged =
education-num < 10 (at most high school); effort = hours-per-week >= 40. Published train
split for fitting (30,162 rows after dropping missing values), published test split
(15,060 rows) for the test columns. ``fnlwgt`` is dropped; the other categorical columns
are one-hot encoded inside a Pipeline; ``sex`` is read by the classifier and dropped from
its features. Times are wall-clock and process CPU seconds (CPU time is the fairer measure
on a shared machine); ratios compare runs made in the same process.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.datasets import load_adult
from fairkit.inprocessing import ADULT_SEP_DEFAULTS, SEPConstrainedClassifier
from fairkit.metrics.sep import (
    conditional_socio_economic_parity_difference,
    socio_economic_parity_difference,
)

CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship",
               "race", "native-country"]
NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def load():
    train = load_adult(subset="train")
    test = load_adult(subset="test")
    Xtr = train.data.drop(columns="fnlwgt")
    Xte = test.data.drop(columns="fnlwgt")
    return Xtr, train.target.to_numpy(), Xte, test.target.to_numpy()


def encoder():
    return ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL)],
        remainder="passthrough",  # numeric columns raw (thresholds apply to them), sex as is
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


def sep_pipeline(**params):
    return Pipeline([("encode", encoder()),
                     # the sweeps study the convex program: epsilon in log-odds units
                     ("clf", SEPConstrainedClassifier(
                         **{**ADULT_SEP_DEFAULTS, "bound_unit": "score", **params}))])


def gaps(X, pred):
    common = dict(sensitive_features="sex", unpriv_group="Female", ses="education-num",
                  ses_threshold=10, X=X)
    sep = socio_economic_parity_difference(None, pred, **common)
    csep = conditional_socio_economic_parity_difference(
        None, pred, effort="hours-per-week", effort_threshold=40, **common
    )
    target = ((X["sex"] == "Female") & (X["education-num"] < 10)
              & (X["hours-per-week"] >= 40)).to_numpy()
    return sep, csep, float(np.mean(pred[target]))


def _row(name, eps, pipe, fit_time, Xtr, ytr, Xte, yte):
    clf = pipe[-1]
    pred = pipe.predict(Xte)
    sep, csep, rate = gaps(Xte, pred)
    return {
        "model": name, "epsilon": eps, "solver": clf.solver_,
        "train_score_gap": clf.score_gap_, "train_sep_gap": clf.sep_gap_,
        "test_accuracy": float(np.mean(pred == yte)), "test_sep_gap": sep,
        "test_csep_gap": csep, "test_rate_underpriv_high_effort": rate,
        "fit_s": fit_time,
    }


def epsilon(epsilons=(np.inf, 2.0, 1.0, 0.5, 0.25, 0.1, 0.0)):
    Xtr, ytr, Xte, yte = load()
    # The unconstrained reference: scikit-learn's LogisticRegression on the same features.
    ref = Pipeline([
        ("encode", ColumnTransformer(
            [("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
             ("num", StandardScaler(), NUMERIC)])),
        ("lr", LogisticRegression(max_iter=5000, tol=1e-8)),
    ])
    t, cpu = time.perf_counter(), time.process_time()
    ref.fit(Xtr, ytr)
    t, cpu = time.perf_counter() - t, time.process_time() - cpu
    pred = ref.predict(Xte)
    sep, csep, rate = gaps(Xte, pred)
    rows = [{"model": "sklearn LogisticRegression", "epsilon": np.nan, "solver": "lbfgs",
             "test_accuracy": float(np.mean(pred == yte)), "test_sep_gap": sep,
             "test_csep_gap": csep, "test_rate_underpriv_high_effort": rate, "fit_s": t,
             "cpu_s": cpu}]
    for constraint in ("sep", "csep"):
        for eps in epsilons:
            pipe = sep_pipeline(constraint=constraint, epsilon=eps)
            t, cpu = time.perf_counter(), time.process_time()
            pipe.fit(Xtr, ytr)
            t, cpu = time.perf_counter() - t, time.process_time() - cpu
            rows.append(_row(constraint, eps, pipe, t, Xtr, ytr, Xte, yte) | {"cpu_s": cpu})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.4f}".format):
        print("\n== epsilon sweep (score gap = mean log-odds gap, the constrained quantity) ==")
        print(table.to_string(index=False))
    base = rows[0]["test_accuracy"]
    for constraint in ("sep", "csep"):
        sub = table[(table["model"] == constraint) & np.isfinite(table["epsilon"])]
        ok = sub[sub["test_accuracy"] >= base - 0.02]
        met = (sub["train_score_gap"].abs() <= sub["epsilon"] + 1e-6).all()
        print(f"{constraint}: constraint met on train at every epsilon: {met}; "
              f"accuracy within 2 points of sklearn LR ({base:.4f}) down to epsilon="
              f"{ok['epsilon'].min()}")
    return table


def solvers(eps=0.5, repeat=3):
    import cvxpy as cp

    Xtr, ytr, _, _ = load()
    enc = encoder().fit(Xtr)
    Xe = enc.transform(Xtr)
    print(f"\n== solvers: Adult train {Xe.shape}, SEP epsilon={eps}, installed cvxpy solvers "
          f"{cp.installed_solvers()} ==")
    rows = []
    plan = [("logistic", "auto"), ("logistic", "clarabel"), ("logistic", "scs"),
            ("logistic", "lbfgs"), ("hinge", "clarabel"), ("hinge", "osqp"),
            ("hinge", "scs")]
    for loss, solver in plan:
        times, cpus, clf, status = [], [], None, "optimal"
        reps = repeat if solver in ("auto", "lbfgs") else 1
        for _ in range(reps):
            clf_try = SEPConstrainedClassifier(**ADULT_SEP_DEFAULTS, epsilon=eps, loss=loss,
                                               solver=solver, bound_unit="score")
            t, cpu = time.perf_counter(), time.process_time()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf_try.fit(Xe, ytr)
            except (RuntimeError, ValueError) as err:
                status = f"failed: {err}"[:120]
                break
            finally:
                times.append(time.perf_counter() - t)
                cpus.append(time.process_time() - cpu)
            clf = clf_try
        rows.append({
            "loss": loss, "solver": solver if clf is None else f"{solver}->{clf.solver_}",
            "median_s": float(np.median(times)), "median_cpu_s": float(np.median(cpus)),
            "runs": len(times),
            "iterations": None if clf is None else clf.n_iter_,
            "train_score_gap": None if clf is None else clf.score_gap_,
            "train_accuracy": None if clf is None else clf.score(Xe, ytr),
            "coef_max_abs_diff_vs_first": None, "status": status, "_coef": (
                None if clf is None else clf.coef_),
        })
    table = pd.DataFrame(rows)
    for loss in ("logistic", "hinge"):
        idx = table.index[table["loss"] == loss]
        ref = table.loc[idx[0], "_coef"]
        ref_t = table.loc[idx[0], "median_s"]
        for i in idx:
            coef = table.loc[i, "_coef"]
            if coef is not None and ref is not None:
                table.loc[i, "coef_max_abs_diff_vs_first"] = float(np.max(np.abs(coef - ref)))
            table.loc[i, "time_ratio_vs_first"] = table.loc[i, "median_s"] / ref_t
            table.loc[i, "cpu_ratio_vs_first"] = (
                table.loc[i, "median_cpu_s"] / table.loc[idx[0], "median_cpu_s"]
            )
    with pd.option_context("display.width", 220, "display.max_columns", 20,
                           "display.max_colwidth", 120):
        print(table.drop(columns="_coef").to_string(index=False))
    return table


def fairlearn(eps=0.25):
    from fairlearn.metrics import demographic_parity_difference
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient

    Xtr, ytr, Xte, yte = load()
    print("\n== demographic parity: SEPConstrainedClassifier(constraint='demographic_parity') "
          "vs fairlearn ExponentiatedGradient(LogisticRegression), matched DP level ==")
    ours = sep_pipeline(constraint="demographic_parity", epsilon=eps)
    t, cpu = time.perf_counter(), time.process_time()
    ours.fit(Xtr, ytr)
    t_ours, cpu_ours = time.perf_counter() - t, time.process_time() - cpu
    dp_train = demographic_parity_difference(ytr, ours.predict(Xtr),
                                             sensitive_features=Xtr["sex"])
    enc = Pipeline([("encode", ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
         ("num", StandardScaler(), NUMERIC)]))]).fit(Xtr)
    Ztr, Zte = enc.transform(Xtr), enc.transform(Xte)
    eg = ExponentiatedGradient(LogisticRegression(max_iter=2000),
                               DemographicParity(difference_bound=dp_train))
    t, cpu = time.perf_counter(), time.process_time()
    eg.fit(Ztr, ytr, sensitive_features=Xtr["sex"])
    t_eg, cpu_eg = time.perf_counter() - t, time.process_time() - cpu
    rows = []
    for name, pred_tr, pred_te, secs, cpu in (
        (f"fairkit SEPConstrainedClassifier (DP, eps={eps:g})", ours.predict(Xtr),
         ours.predict(Xte), t_ours, cpu_ours),
        (f"fairlearn ExponentiatedGradient (bound={dp_train:.4f})",
         eg.predict(Ztr, random_state=0), eg.predict(Zte, random_state=0), t_eg, cpu_eg),
    ):
        rows.append({
            "model": name, "fit_s": secs, "cpu_s": cpu,
            "train_dp_diff": demographic_parity_difference(ytr, pred_tr,
                                                           sensitive_features=Xtr["sex"]),
            "test_dp_diff": demographic_parity_difference(yte, pred_te,
                                                          sensitive_features=Xte["sex"]),
            "test_accuracy": float(np.mean(pred_te == yte)),
        })
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 10):
        print(table.to_string(index=False))
    print(f"time ratio fairlearn / fairkit: wall {t_eg / t_ours:.2f}, cpu "
          f"{cpu_eg / cpu_ours:.2f}")
    return table


def large(copies=10, eps=0.5):
    Xtr, ytr, _, _ = load()
    enc = encoder().fit(Xtr)
    Xe = enc.transform(Xtr)
    rng = np.random.default_rng(0)
    Xbig = pd.concat([Xe] * copies, ignore_index=True)
    numeric = [c for c in NUMERIC if c not in ("education-num", "hours-per-week")]
    Xbig[numeric] += rng.normal(0, 0.01, size=(len(Xbig), len(numeric)))  # no exact copies
    ybig = np.tile(ytr, copies)
    print(f"\n== large data: Adult replicated {copies}x, {Xbig.shape}, "
          f"n*d = {Xbig.shape[0] * (Xbig.shape[1] - 1):,} ==")
    for loss in ("logistic", "hinge"):
        clf = SEPConstrainedClassifier(**ADULT_SEP_DEFAULTS, epsilon=eps, loss=loss,
                                       bound_unit="score",
                                       random_state=0)
        t, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(Xbig, ybig)
        t, cpu = time.perf_counter() - t, time.process_time() - cpu
        print(f"{loss}: {t:.1f} s wall, {cpu:.1f} s cpu, solver_={clf.solver_}, rows solved "
              f"{clf.n_samples_solved_:,}, train score gap {clf.score_gap_:.4f}, train accuracy "
              f"{clf.score(Xbig, ybig):.4f}")
        for w in caught:
            print("   warning:", str(w.message)[:160])


def _compare_folds():
    """Training folds of ``fairkit compare``'s default run (Adult, sex, Male privileged,
    race dropped, 3-fold stratified CV) and the pipeline it builds for sep_constrained."""
    from sklearn.model_selection import StratifiedKFold

    from fairkit.datasets import load_adult as _load
    from fairkit.model_selection.registry import MethodContext, _sep_constrained

    bunch = _load(as_frame=True)
    X = bunch.data.drop(columns=["race"])
    y = pd.Series(np.asarray(bunch.target), name="target")
    cat = [c for c in X.columns if c != "sex" and not pd.api.types.is_numeric_dtype(X[c])]
    num = [c for c in X.columns if c != "sex" and c not in cat]
    ctx = MethodContext(prot_attr="sex", categorical=cat, numeric=num, priv_group="Male")
    folds = list(StratifiedKFold(n_splits=3).split(X, y))
    return X, y, folds, lambda: _sep_constrained(ctx)


def _synthetic(n, seed, levels=12, n_cat=8, pos_rate=0.25):
    """One-hot-heavy data like Adult's encoding; the label follows the numeric columns
    that the group shifts (so the group's rate gap shows through the features)."""
    rng = np.random.default_rng(seed)
    g = rng.random(n) < 0.33
    cols = {f"x{j}": rng.normal(size=n) + 1.5 * g * (j % 2) for j in range(5)}
    for k in range(n_cat):
        c = rng.choice(levels, size=n, p=rng.dirichlet(np.full(levels, 0.5)))
        for level in range(levels):
            cols[f"c{k}_{level}"] = (c == level).astype(float)
    X = pd.DataFrame(cols)
    lin = ((X - X.mean()) / (X.std() + 1e-12)).to_numpy() @ rng.normal(size=X.shape[1]) * 0.4
    lin = lin + 0.8 * (X["x1"] + X["x3"]).to_numpy() + rng.logistic(size=n)
    y = (lin > np.quantile(lin, 1 - pos_rate)).astype(int)
    X["grp"] = np.where(g, "B", "A")
    return X, y


def newton(repeat=5):
    """Face solves by Newton's method (default) vs L-BFGS only (``_Lbfgs.newton = False``,
    the previous path), on the rate-unit fits ``fairkit compare`` runs. Old and new fits
    alternate in this process, one BLAS thread; medians and ratios, and whether the two
    paths give the same decisions."""
    from threadpoolctl import threadpool_limits

    from fairkit.inprocessing import _sep_solvers

    X, y, folds, build = _compare_folds()
    cases = []
    for k, (train, _) in enumerate(folds):
        pipe = build()
        Xt = pipe[0].fit_transform(X.iloc[train])
        for eps in (0.1, 0.05):
            cases.append((f"adult compare fold {k} eps={eps}", pipe[-1], eps, Xt,
                          y.iloc[train].to_numpy()))
    for n in (5_000, 20_000):
        Xs, ys = _synthetic(n, seed=n)
        clf = SEPConstrainedClassifier(prot_attr="grp", priv_group="A",
                                       constraint="demographic_parity", bound_unit="rate")
        for eps in (0.1, 0.02):
            cases.append((f"synthetic n={n} eps={eps}", clf, eps, Xs, ys))
    print(f"\n== Newton vs L-BFGS face solves (bound_unit='rate'), median of {repeat} "
          "interleaved fits, one BLAS thread ==")
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, est, eps, Xc, yc in cases:
            est = est.set_params(epsilon=eps)
            times = {True: [], False: []}
            fitted = {}
            for _ in range(repeat):
                for use_newton in (False, True):
                    _sep_solvers._Lbfgs.newton = use_newton
                    try:
                        start = time.perf_counter()
                        est.fit(Xc, yc)
                        times[use_newton].append(time.perf_counter() - start)
                    finally:
                        _sep_solvers._Lbfgs.newton = True
                    fitted[use_newton] = (est.coef_.ravel().copy(), est.decision_function(Xc),
                                          est.predict(Xc), est.n_solves_, est.n_iter_,
                                          est.train_rate_gap_)
            old, new = fitted[False], fitted[True]
            t_old, t_new = np.median(times[False]), np.median(times[True])
            rows.append({
                "case": name, "rows": len(yc), "solves": f"{old[3]}/{new[3]}",
                "iters lbfgs/newton": f"{old[4]}/{new[4]}",
                "lbfgs_s": t_old, "newton_s": t_new, "speedup": t_old / t_new,
                "coef_max_diff": float(np.max(np.abs(old[0] - new[0]))),
                "dec_max_diff": float(np.max(np.abs(old[1] - new[1]))),
                "min_|dec|": float(np.min(np.abs(new[1]))),
                "pred_flips": int(np.sum(old[2] != new[2])),
                "rate_gap_diff": abs(old[5] - new[5]),
            })
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(table.to_string(index=False, float_format="{:.3g}".format))
    print(f"median speedup {table['speedup'].median():.2f}x; prediction flips in total "
          f"{table['pred_flips'].sum()}")
    return table


if __name__ == "__main__":
    sections = sys.argv[1:] or ["epsilon", "solvers", "fairlearn", "large", "newton"]
    for section in sections:
        globals()[section]()
