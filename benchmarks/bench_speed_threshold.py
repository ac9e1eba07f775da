"""ThresholdOptimizer speed: fairkit's own threshold search vs fairlearn's, same process.

    python benchmarks/bench_speed_threshold.py [--rows 10000 100000 1000000] [--repeats 3]
                                               [--constraints demographic_parity ...]
                                               [--skip-adult]

Both get the same already fitted model ("score column": the favourable probability is
column 1 of X, as in bench_postprocessing.py) with ``prefit=True``, so only the threshold
search (fit) and the randomised decisions (predict) are timed; fairkit's time includes
reading the groups from X (``prot_attr=0``), fairlearn gets ``sensitive_features``.
Times are CPU time of this process (``time.process_time``; one thread), which a machine
shared with other jobs inflates far less than wall time.
Synthetic rows: 2 groups, logistic scores shifted by group, labels drawn from the scores.
Adult: a one-hot + LogisticRegression pipeline fitted on the training part, groups
``sex``. Prints the median CPU time over ``--repeats`` runs, the ratio fairlearn /
fairkit, the log-log slope of time against rows (1 = linear), and whether predict_proba
and predict (same random_state) are identical. BLAS/OpenMP threads are limited to 1.
fairkit's first fit (numba compiling or loading the hull kernel) is done before timing.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer as FairlearnThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin
from threadpoolctl import threadpool_limits

from fairkit.postprocessing import ThresholdOptimizer

logging.disable(logging.WARNING)
warnings.filterwarnings("ignore")


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """A 'fitted model' whose probability of class 1 is column 1 of X."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        s = np.asarray(X)[:, 1]
        return np.c_[1 - s, s]

    def predict(self, X):
        return (np.asarray(X)[:, 1] > 0.5).astype(int)


def synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 0.8 * a - 0.3)))
    y = (rng.random(n) < s).astype(int)
    return np.c_[a, s], y, a


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return float(np.median(times)), out


def compare(X, y, sf, model, prot_attr, constraints, repeats):
    """Fit and predict times of both, and whether their outputs are identical."""
    params = dict(constraints=constraints, prefit=True)

    def ours_fit():
        return ThresholdOptimizer(model, prot_attr=prot_attr, random_state=0,
                                  **params).fit(X, y)

    def theirs_fit():
        return FairlearnThresholdOptimizer(estimator=model, **params).fit(
            X, y, sensitive_features=sf)

    t_ours, ours = timed(ours_fit, repeats)
    t_theirs, theirs = timed(theirs_fit, repeats)
    p_ours, pred_ours = timed(lambda: ours.predict(X), repeats)
    p_theirs, pred_theirs = timed(
        lambda: theirs.predict(X, sensitive_features=sf, random_state=0), repeats)
    proba_ours = ours.predict_proba(X)[:, 1]
    proba_theirs = theirs._pmf_predict(X, sensitive_features=sf)[:, 1]
    same = (np.array_equal(np.asarray(pred_ours), np.asarray(pred_theirs))
            and np.array_equal(proba_ours, proba_theirs))
    return t_ours, t_theirs, p_ours, p_theirs, same


def adult():
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from fairkit.datasets import load_adult

    b = load_adult()
    X, y = b.data, np.asarray(b.target).astype(int)
    cat = X.select_dtypes(exclude="number").columns.tolist()
    num = X.select_dtypes("number").columns.tolist()
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), cat),
                                (StandardScaler(), num)),
        LogisticRegression(max_iter=1000)).fit(X, y)
    return X, y, X["sex"].to_numpy(), model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--constraints", nargs="+",
                    default=["demographic_parity", "equalized_odds"])
    ap.add_argument("--skip-adult", action="store_true")
    args = ap.parse_args()

    with threadpool_limits(1):
        # compile (or load) the hull kernel before the clock starts
        Xw, yw, _ = synthetic(5000, seed=1)
        ThresholdOptimizer(ScoreColumn().fit(Xw, yw), prot_attr=0, prefit=True).fit(Xw, yw)

        rows = []
        for constraints in args.constraints:
            for n in args.rows:
                X, y, a = synthetic(n)
                model = ScoreColumn().fit(X, y)
                res = compare(X, y, a, model, 0, constraints, args.repeats)
                rows.append((constraints, f"{n:,} rows", n, *res))
            if not args.skip_adult:
                X, y, sex, model = adult()
                res = compare(X, y, sex, model, "sex", constraints, args.repeats)
                rows.append((constraints, f"Adult ({len(y):,} rows)", np.nan, *res))

    out = pd.DataFrame(rows, columns=["constraints", "data", "n", "fairkit fit s",
                                      "fairlearn fit s", "fairkit predict s",
                                      "fairlearn predict s", "identical"])
    out["fit ratio"] = out["fairlearn fit s"] / out["fairkit fit s"]
    out["predict ratio"] = out["fairlearn predict s"] / out["fairkit predict s"]
    cols = ["constraints", "data", "fairkit fit s", "fairlearn fit s", "fit ratio",
            "fairkit predict s", "fairlearn predict s", "predict ratio", "identical"]
    print(f"ThresholdOptimizer, CPU seconds, median of {args.repeats} (BLAS threads: 1)")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(out[cols].to_string(index=False))
    print("\nlog-log slope of fit time against rows "
          f"({' / '.join(f'{n:,}' for n in args.rows)}):")
    for constraints, part in out.dropna(subset=["n"]).groupby("constraints", sort=False):
        if len(part) < 2:
            continue
        ln = np.log(part["n"].to_numpy(float))
        slopes = {lib: np.polyfit(ln, np.log(part[f"{lib} fit s"].to_numpy()), 1)[0]
                  for lib in ("fairkit", "fairlearn")}
        print(f"  {constraints}: fairkit {slopes['fairkit']:.2f}, "
              f"fairlearn {slopes['fairlearn']:.2f}")
    if not out["identical"].all():
        print("\nWARNING: predictions differ from fairlearn's in some rows above")


if __name__ == "__main__":
    main()
