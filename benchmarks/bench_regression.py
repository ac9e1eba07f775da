"""Fair regression (issue 19): WassersteinFairRegressor against fairlearn's bounded group loss.

    python benchmarks/bench_regression.py [--seeds 5] [--datasets adult compas]
                                          [--models linear hgb] [--eg-max-iter 50]
                                          [--no-fairlearn]
                                          [--scaling-sizes 2000 8000 32000 128000]

(One run on a loaded machine, 2026-12-05: ``--seeds 4 --eg-max-iter 10``, about 20 min;
fairlearn's 50 iterations of boosting refits on Adult cost several minutes per seed.)

Continuous targets: Adult ``hours-per-week`` (groups: sex; the published train and test
files pooled, 45,222 rows) and COMPAS ``decile_score`` (1-10, ProPublica's filter; groups:
race, its two largest groups African-American and Caucasian, 5,278 rows). Every seed draws
one stratified 2/3 - 1/3 split; every contender is fitted on the same 2/3 and measured on
the same held-out 1/3, interleaved within the seed, one BLAS/OpenMP thread. Two model
families (``--models``), each used by every contender: ``linear`` (ridge, alpha=1, on the
one-hot categoricals and the numeric columns) and ``hgb`` (scikit-learn's
HistGradientBoostingRegressor, 100 iterations, no early stopping, the categorical columns
declared). Per family:

* ``unconstrained``: the model alone;
* ``wasserstein a=1`` / ``a=0.5``: :class:`WassersteinFairRegressor` with its defaults
  (maps learnt on the model's 5-fold out-of-fold predictions; ``predict_with=
  "fold_models"``: each row predicted by one fold model and mapped through that fold's
  held-out distribution); the a=0.5 row reuses the a=1 fit (alpha acts at predict time),
  so its fit time is the same;
* ``wasserstein a=1 refit`` / ``a=0.5 refit``: ``predict_with="refit"`` (the former
  default): the map of the pooled out-of-fold predictions applied to the model refitted
  on all training rows;
* ``wasserstein a=1 split``: the protocol of Chzhen et al. (2020): the model fitted on half
  of the training rows and the map (``prefit=True``) on the other half;
* ``fairlearn BGL``: ``fairlearn.reductions.ExponentiatedGradient`` with
  ``BoundedGroupLoss(SquareLoss(min(y), max(y)), upper_bound=B)``, fairlearn's documented
  regression reduction, on the same model (its weighted refits are the best responses), its
  randomised ``predict`` seeded. ``B`` is the unconstrained model's overall training MSE:
  no group's squared error may exceed the average one. Bounded group loss equalises
  *errors*, not prediction distributions: it is the peer for the RMSE side of the table,
  not a demographic-parity method.

Printed per data set and contender (medians over seeds): held-out RMSE, KS and 1-Wasserstein
distance between the groups' prediction distributions, mean prediction difference, fit
time, and next to KS two noise floors from the Kolmogorov law: ``floor_te``, the median KS
of two samples of ONE distribution at the held-out group sizes (what an exactly fair
predictor shows), and ``floor``, the median KS of a map estimated from the training group
sizes and measured on the held-out ones, :math:`0.83\\sqrt{\\sum_s 1/n_s^{te} + \\sum_s
1/n_s^{tr}}` (``floor`` of the split row uses its halved map-fitting sizes). ``ks/floor``
near 1 is sampling noise; well above 1 a systematic mismatch. ``P(ks<=.02)`` is the share of
seeds meeting the issue's 0.02 target.

The first table (``--predict-with-sizes``, ``--only-predict-with`` for it alone) chose the
default of ``predict_with``: synthetic data (two groups 70/30, five features, two shifted by
the group, a non-linear target; raw features on scales 1e-2 .. 1e3 or standardised), a
linear model, gradient boosting and a deep tree (leaves of 5 rows), held-out KS / floor and
RMSE of ``"fold_models"`` against ``"refit"`` (the two share their fits through
``memory=``).

(2026-12-05, ``--seeds 4 --no-fairlearn --scaling-sizes``, about 6 min: ks/floor Adult hgb
0.78 fold_models vs 1.33 refit, RMSE 10.63 vs 10.60.)

The last table is synthetic (two groups 70/30, the feature shifted by the group, a linear
model): held-out KS of the fair predictor against n, with ``ks*sqrt(n)`` (constant when KS
falls as 1/sqrt(n)) and ``ks/floor``.
"""

from __future__ import annotations

import argparse
import pickle
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import kstwobign
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from fairkit.metrics.regression import regression_fairness_report
from fairkit.postprocessing._barycenter import WassersteinFairRegressor

warnings.filterwarnings("ignore")

#: median of the Kolmogorov distribution: KS * sqrt(n_a n_b / (n_a + n_b)) -> K
K_MEDIAN = float(kstwobign.ppf(0.5))


def load(name):
    """X (float array, categoricals as codes), y, group codes (0/1), categorical mask."""
    if name == "adult":
        from fairkit.datasets import load_adult

        raw = pd.concat([load_adult(subset="train").data, load_adult(subset="test").data],
                        ignore_index=True)
        y = raw["hours-per-week"].to_numpy(float)
        d = raw.drop(columns=["fnlwgt", "hours-per-week"])
        prot = "sex"
    else:
        from fairkit.datasets import load_compas

        raw = load_compas().data
        raw = raw.loc[raw["race"].isin(["African-American", "Caucasian"])].reset_index(
            drop=True)
        y = raw["decile_score"].to_numpy(float)
        d = raw[["sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count",
                 "priors_count", "c_charge_degree"]].copy()
        prot = "race"
    cat = [not pd.api.types.is_numeric_dtype(d[c]) for c in d.columns]
    for c, is_cat in zip(list(d.columns), cat, strict=True):
        if is_cat:
            d[c] = pd.Categorical(d[c].astype(str)).codes
    X = d.to_numpy(float)
    col = list(d.columns).index(prot)
    codes = pd.factorize(X[:, col], sort=True)[0]
    return X, y, codes, col, cat


def design(kind, X, col, cat):
    """The feature matrix, protected column and model maker of one model family."""
    if kind == "hgb":
        return X, col, lambda seed: HistGradientBoostingRegressor(
            categorical_features=cat, early_stopping=False, random_state=seed)
    cat = np.asarray(cat)
    onehot = OneHotEncoder(sparse_output=False, handle_unknown="ignore").fit_transform(
        X[:, cat])
    # the protected column stays as column 0 (its code), for prot_attr
    return np.c_[X[:, col], onehot, X[:, ~cat]], 0, lambda seed: Ridge(alpha=1.0)


def measure(y, pred, s):
    rep = regression_fairness_report(y, pred, sensitive_features=s).summary["value"]
    return {"rmse": float(np.sqrt(np.mean((pred - y) ** 2))), "ks": float(rep["max_ks"]),
            "w1": float(rep["max_wasserstein"]),
            "mean_diff": float(rep["mean_prediction_difference"])}


def floor(n_test, n_fit=()):
    """Median KS under the Kolmogorov law for the group sizes of the test (and map fit)."""
    return K_MEDIAN * float(np.sqrt(sum(1 / n for n in n_test) + sum(1 / n for n in n_fit)))


def contenders(X, y, s, col, model, seed, tr, eg_max_iter, with_fairlearn):
    """(name, fit() -> predict function, map-fitting rows or None) per contender."""
    Xtr, ytr, str_ = X[tr], y[tr], s[tr]

    def unconstrained():
        m = model(seed).fit(Xtr, ytr)
        return m.predict

    fitted = {}

    def wasserstein(alpha, predict_with):
        # alpha acts at predict time only: the a=0.5 row reuses the a=1 fit (and its time)
        def fit():
            if predict_with not in fitted:
                t0 = time.perf_counter()
                est = WassersteinFairRegressor(model(seed), prot_attr=col,
                                               predict_with=predict_with,
                                               random_state=seed).fit(Xtr, ytr)
                fitted[predict_with] = (est, time.perf_counter() - t0)
            est, t_fit = fitted[predict_with]
            est = pickle.loads(pickle.dumps(est)).set_params(alpha=alpha)
            return est.predict, t_fit
        return fit

    half = np.random.default_rng(seed).permutation(len(tr))
    h1, h2 = half[: len(tr) // 2], half[len(tr) // 2:]

    def split():
        m = model(seed).fit(Xtr[h1], ytr[h1])
        est = WassersteinFairRegressor(m, prot_attr=col, prefit=True).fit(Xtr[h2], ytr[h2])
        return est.predict

    def bgl():
        from fairlearn.reductions import BoundedGroupLoss, ExponentiatedGradient, SquareLoss

        base = model(seed).fit(Xtr, ytr)
        bound = float(np.mean((base.predict(Xtr) - ytr) ** 2))
        eg = ExponentiatedGradient(
            model(seed),
            constraints=BoundedGroupLoss(SquareLoss(ytr.min(), ytr.max()), upper_bound=bound),
            max_iter=eg_max_iter)
        eg.fit(Xtr, ytr, sensitive_features=str_)
        return lambda Z: eg.predict(Z, random_state=seed)

    rows = [("unconstrained", unconstrained, str_),
            ("wasserstein a=1", wasserstein(1.0, "fold_models"), str_),
            ("wasserstein a=0.5", wasserstein(0.5, "fold_models"), str_),
            ("wasserstein a=1 refit", wasserstein(1.0, "refit"), str_),
            ("wasserstein a=0.5 refit", wasserstein(0.5, "refit"), str_),
            ("wasserstein a=1 split", split, str_[h2])]
    if with_fairlearn:
        rows.append(("fairlearn BGL", bgl, str_))
    return rows


def run_dataset(name, kinds, seeds, eg_max_iter, with_fairlearn):
    X0, y, s, col0, cat = load(name)
    designs = {kind: design(kind, X0, col0, cat) for kind in kinds}
    records = []
    for seed in range(seeds):
        tr, te = train_test_split(np.arange(len(y)), test_size=1 / 3, random_state=seed,
                                  stratify=s)
        n_te = np.bincount(s[te])
        cases = [(kind, *case) for kind, (X, col, model) in designs.items()
                 for case in contenders(X, y, s, col, model, seed, tr, eg_max_iter,
                                        with_fairlearn)]
        for kind, label, fit, fit_groups in cases:
            X = designs[kind][0]
            t0 = time.perf_counter()
            predict = fit()
            t_fit = time.perf_counter() - t0
            if isinstance(predict, tuple):  # (predict, time of the shared fit)
                predict, t_fit = predict
            rec = measure(y[te], predict(X[te]), s[te])
            rec.update(data=name, model=kind, method=label, seed=seed, fit_s=t_fit,
                       floor_te=floor(n_te),
                       floor=floor(n_te, np.bincount(fit_groups)) if label.startswith(
                           "wasserstein") else floor(n_te))
            records.append(rec)
        print(f"  {name} seed {seed} done", flush=True)
    return pd.DataFrame.from_records(records), np.bincount(s)


def summarise(df):
    g = df.groupby(["data", "model", "method"], sort=False)
    out = g[["rmse", "ks", "floor_te", "floor", "w1", "mean_diff", "fit_s"]].median()
    out["ks/floor"] = g.apply(lambda d: float(np.median(d["ks"] / d["floor"])))
    out["P(ks<=.02)"] = g.apply(lambda d: float(np.mean(d["ks"] <= 0.02)))
    if "fairlearn BGL" in out.index.get_level_values("method"):
        ref = out.xs("fairlearn BGL", level="method")["fit_s"]
        out["fit vs BGL"] = [v / ref[(d, m)] for (d, m, _), v in out["fit_s"].items()]
    return out


def scaling(sizes, seeds):
    """Held-out KS of the fair predictor against n on synthetic data (linear model)."""
    records = []
    for n in sizes:
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            s = (rng.random(n) < 0.3).astype(int)
            x = rng.normal(size=(n, 3))
            x[:, 0] += 1.5 * s
            y = x @ np.array([1.0, 0.5, -0.5]) + s + rng.normal(size=n)
            X = np.c_[s, x]
            tr, te = train_test_split(np.arange(n), test_size=1 / 3, random_state=seed,
                                      stratify=s)
            est = WassersteinFairRegressor(LinearRegression(), prot_attr=0).fit(X[tr], y[tr])
            rep = measure(y[te], est.predict(X[te]), s[te])
            base = measure(y[te], est.estimator_.predict(X[te]), s[te])
            fl = floor(np.bincount(s[te]), np.bincount(s[tr]))
            records.append({"n": n, "seed": seed, "ks_model": base["ks"], "ks": rep["ks"],
                            "floor_te": floor(np.bincount(s[te])), "floor": fl,
                            "ks/floor": rep["ks"] / fl})
    df = pd.DataFrame.from_records(records)
    out = df.groupby("n")[["ks_model", "ks", "floor_te", "floor", "ks/floor"]].median()
    out["ks*sqrt(n)"] = out["ks"] * np.sqrt(out.index.to_numpy())
    return out


def _synthetic(n, seed, raw):
    """Two groups 70/30, five features (the first two shifted by the group), a non-linear
    target; ``raw``: features on scales 1e-2 .. 1e3 with offsets, else standardised."""
    rng = np.random.default_rng(seed)
    s = (rng.random(n) < 0.3).astype(int)
    x = rng.normal(size=(n, 5))
    x[:, 0] += 1.0 * s
    x[:, 1] -= 0.5 * s
    y = (2 * np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + x[:, 2] * x[:, 3] + 0.5 * x[:, 4]
         + s + rng.normal(size=n))
    x = x * np.array([1.0, 100.0, 0.01, 1000.0, 1.0]) + np.array([0, 50.0, 3.0, -2e3, 0])
    if not raw:
        x = StandardScaler().fit_transform(x)
    return np.c_[s, x], y, s


SYNTHETIC_MODELS = {
    "linear": lambda seed: LinearRegression(),
    "hgb": lambda seed: HistGradientBoostingRegressor(early_stopping=False,
                                                      random_state=seed),
    "deep tree": lambda seed: DecisionTreeRegressor(min_samples_leaf=5, random_state=seed),
}


def predict_with_table(sizes, seeds, models=tuple(SYNTHETIC_MODELS)):
    """Held-out KS / floor and RMSE of predict_with="fold_models" against "refit" on
    synthetic data (the choice of the default); the two share their fits (memory=)."""
    import tempfile

    records = []
    with tempfile.TemporaryDirectory() as cache:
        for n in sizes:
            for raw in (True, False):
                for kind in models:
                    for seed in range(seeds):
                        X, y, s = _synthetic(n, seed, raw)
                        tr, te = train_test_split(np.arange(n), test_size=1 / 3,
                                                  random_state=seed, stratify=s)
                        fl = floor(np.bincount(s[te]), np.bincount(s[tr]))
                        for pw in ("fold_models", "refit"):
                            est = WassersteinFairRegressor(
                                SYNTHETIC_MODELS[kind](seed), prot_attr=0, predict_with=pw,
                                random_state=seed, memory=cache).fit(X[tr], y[tr])
                            rep = measure(y[te], est.predict(X[te]), s[te])
                            records.append({"n": n, "features": "raw" if raw else "scaled",
                                            "model": kind, "predict_with": pw, "seed": seed,
                                            "rmse": rep["rmse"], "ks": rep["ks"],
                                            "ks/floor": rep["ks"] / fl})
                print(f"  synthetic n={n} done", flush=True)
    df = pd.DataFrame.from_records(records)
    out = df.groupby(["n", "features", "model", "predict_with"], sort=False)[
        ["rmse", "ks", "ks/floor"]].median().unstack("predict_with")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=["adult", "compas"],
                        choices=["adult", "compas"])
    parser.add_argument("--models", nargs="+", default=["linear", "hgb"],
                        choices=["linear", "hgb"])
    parser.add_argument("--eg-max-iter", type=int, default=50,
                        help="ExponentiatedGradient max_iter (fairlearn's default 50)")
    parser.add_argument("--no-fairlearn", action="store_true")
    parser.add_argument("--scaling-sizes", type=int, nargs="*",
                        default=[2000, 8000, 32000, 128000])
    parser.add_argument("--scaling-seeds", type=int, default=10)
    parser.add_argument("--predict-with-sizes", type=int, nargs="*",
                        default=[1000, 4000, 16000])
    parser.add_argument("--predict-with-seeds", type=int, default=4)
    parser.add_argument("--only-predict-with", action="store_true",
                        help="only the synthetic fold_models-vs-refit table")
    args = parser.parse_args(argv)
    threadpool_limits(1)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    if args.predict_with_sizes:
        table = predict_with_table(args.predict_with_sizes, args.predict_with_seeds)
        print(f"\nSynthetic (two groups 70/30, non-linear target), medians over "
              f"{args.predict_with_seeds} seeds: predict_with fold_models vs refit")
        print(table.round(4).to_string())
        if args.only_predict_with:
            return
    frames = []
    for name in args.datasets:
        df, sizes = run_dataset(name, args.models, args.seeds, args.eg_max_iter,
                                not args.no_fairlearn)
        print(f"{name}: {len(df) and sizes.sum()} rows, group sizes {sizes.tolist()}")
        frames.append(df)
    table = summarise(pd.concat(frames, ignore_index=True))
    print(f"\nHeld-out medians over {args.seeds} seeds (stratified 2/3 - 1/3 splits); "
          "floor = median KS of sampling noise alone (Kolmogorov law)")
    print(table.round(4).to_string())
    if args.scaling_sizes:
        print(f"\nSynthetic, two groups 70/30, LinearRegression, medians over "
              f"{args.scaling_seeds} seeds: KS against n")
        print(scaling(args.scaling_sizes, args.scaling_seeds).round(4).to_string())


if __name__ == "__main__":
    main()
