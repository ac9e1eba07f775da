"""Request |SPD| <= bound, get the most accurate model: fairkit against fairlearn, held out.

    python benchmarks/bench_bound.py [--datasets adult compas hmda] [--bound 0.02]
                                     [--outer 5] [--inner 3] [--peers-eg]

For every bundled data set (Adult: sex; COMPAS: race, privileged Caucasian, favourable
label 0; HMDA: race, privileged White, favourable label 0 = approved) the rows are split
into ``--outer`` stratified folds. On each outer training set every contender chooses its
setting with :class:`fairkit.model_selection.BoundTunedClassifierCV` on ``--inner`` folds of
that training set only (settings chosen on other folds), is refitted on the whole outer
training set, and is measured on the outer test fold it never saw. The same folds and the
same selection rule serve every contender, so the rows differ only by the model.

Printed per contender: mean held-out accuracy over the outer folds, the held-out |SPD| of
all outer predictions pooled (with a 90% bootstrap upper limit), the worst fold's |SPD|,
and whether the pooled |SPD| meets the bound. SPD is the selection-rate gap between the
privileged group and the other groups pooled (Adult: Female vs Male). The last lines give,
per data set, the most accurate contender meeting the bound for fairkit and for fairlearn
and their difference.

Contenders:

* ``fairkit TO(boosting)``: fairkit's ThresholdOptimizer (demographic parity, cross-fitted
  rule) on scikit-learn's HistGradientBoostingClassifier, ``tol`` tuned to the bound;
* ``fairkit TO(logistic)``: the same on the registry's logistic regression;
* ``fairlearn TO(boosting)`` and ``fairlearn TO(logistic)``: fairlearn's ThresholdOptimizer
  on the same two models, its rule fitted on the model's training scores (fairlearn's only
  mode), ``tol`` tuned alike;
* ``fairlearn EG(logistic)`` (``--peers-eg``; slow): fairlearn's ExponentiatedGradient with
  DemographicParity, ``difference_bound`` tuned alike.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from fairkit import datasets
from fairkit.model_selection import BoundTunedClassifierCV
from fairkit.postprocessing import ThresholdOptimizer

SETS = {
    "adult": dict(prot="sex", priv="Male", pos=1, drop=["race"]),
    "compas": dict(prot="race", priv="Caucasian", pos=0,
                   drop=["c_charge_desc", "decile_score", "score_text", "v_decile_score",
                         "v_score_text", "age_cat"]),
    "hmda": dict(prot="race", priv="White", pos=0, drop=["ethnicity"]),
}


def load(name):
    spec = SETS[name]
    b = getattr(datasets, f"load_{name}")(as_frame=True)
    X = b.data.drop(columns=[c for c in spec["drop"] if c in b.data.columns])
    X[spec["prot"]] = X[spec["prot"]].astype(str)
    return X.reset_index(drop=True), np.asarray(b.target), spec


def boosting(X):
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    enc = ColumnTransformer(
        [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                encoded_missing_value=-2), cats)],
        remainder="passthrough")
    return make_pipeline(enc, HistGradientBoostingClassifier(
        categorical_features=list(range(len(cats))), random_state=0))


def logistic(X):
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    nums = [c for c in X.columns if c not in cats]
    enc = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), cats),
                             ("num", make_pipeline(SimpleImputer(strategy="median"),
                                                   StandardScaler()), nums)])
    return make_pipeline(enc, LogisticRegression(max_iter=1000))


class _SensitiveColumn(BaseEstimator, ClassifierMixin):
    """A fairlearn estimator whose fit/predict take ``sensitive_features`` from a column."""

    def __init__(self, estimator, column):
        self.estimator = estimator
        self.column = column

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(X, y,
                                                    sensitive_features=X[self.column])
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        est = self.estimator_
        try:
            return est.predict(X, sensitive_features=X[self.column], random_state=0)
        except TypeError:
            return est.predict(X)


class _Encoded(BaseEstimator, ClassifierMixin):
    """Encoder + model whose fit passes ``sample_weight`` to the model (for fairlearn EG)."""

    def __init__(self, columns):
        self.columns = columns

    def fit(self, X, y, sample_weight=None):
        frame = pd.DataFrame(X, columns=self.columns)
        self.pipe_ = logistic(frame)
        self.pipe_.fit(frame, y, logisticregression__sample_weight=sample_weight)
        self.classes_ = self.pipe_.classes_
        return self

    def predict(self, X):
        return self.pipe_.predict(pd.DataFrame(X, columns=self.columns))


def contenders(X, spec, args):
    prot = spec["prot"]
    tols = {"tol": [2 * args.bound, args.bound, args.bound / 2, 0.0]}
    out = {
        "fairkit TO(boosting)": ("fairkit", ThresholdOptimizer(
            boosting(X), prot_attr=prot, cv=args.rule_cv, random_state=0), tols),
        "fairkit TO(logistic)": ("fairkit", ThresholdOptimizer(
            logistic(X), prot_attr=prot, cv=args.rule_cv, random_state=0), tols),
    }
    from fairlearn.postprocessing import ThresholdOptimizer as FLThreshold

    for name, model in (("boosting", boosting(X)), ("logistic", logistic(X))):
        out[f"fairlearn TO({name})"] = ("fairlearn", _SensitiveColumn(
            FLThreshold(estimator=model, constraints="demographic_parity",
                        predict_method="predict_proba"), prot),
            {"estimator__tol": tols["tol"]})
    if args.peers_eg:
        from fairlearn.reductions import DemographicParity, ExponentiatedGradient

        out["fairlearn EG(logistic)"] = ("fairlearn", _SensitiveColumn(
            ExponentiatedGradient(_Encoded(list(X.columns)), DemographicParity(),
                                  max_iter=50), prot),
            {"estimator__constraints": [DemographicParity(difference_bound=b)
                                        for b in (2 * args.bound, args.bound,
                                                  args.bound / 2)]})
    return out


def spd(pred, y_pos, groups, priv):
    fav = np.asarray(pred) == y_pos
    return fav[groups != priv].mean() - fav[groups == priv].mean()


def run(name, args):
    X, y, spec = load(name)
    prot, priv, pos = spec["prot"], spec["priv"], spec["pos"]
    g = X[prot].to_numpy()
    outer = list(StratifiedKFold(args.outer, shuffle=True, random_state=1).split(X, y))
    rows = []
    for label, (side, est, grid) in contenders(X, spec, args).items():
        pred = np.empty_like(y)
        accs, gaps, picks = [], [], []
        start = time.perf_counter()
        for train, test in outer:
            tuner = BoundTunedClassifierCV(
                est, grid, prot_attr=prot, bound=args.bound, priv_group=priv,
                pos_label=pos, cv=args.inner, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tuner.fit(X.iloc[train], y[train])
                pred[test] = tuner.predict(X.iloc[test])
            accs.append(float((pred[test] == y[test]).mean()))
            gaps.append(abs(spd(pred[test], pos, g[test], priv)))
            picks.append(str(tuner.best_params_))
        pooled = abs(spd(pred, pos, g, priv))
        rng = np.random.RandomState(0)
        boot = [abs(spd(pred[i], pos, g[i], priv))
                for i in (rng.randint(0, len(y), len(y)) for _ in range(200))]
        rows.append(dict(
            data=name, contender=label, side=side, accuracy=np.mean(accs),
            accuracy_min=np.min(accs), spd=pooled, spd_upper90=np.quantile(boot, 0.9),
            spd_worst_fold=np.max(gaps), meets=pooled <= args.bound,
            seconds=time.perf_counter() - start, picks=" ".join(sorted(set(picks)))))
        print(pd.DataFrame([rows[-1]]).to_string(index=False, float_format="%.4f"),
              flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["adult", "compas", "hmda"])
    parser.add_argument("--bound", type=float, default=0.02)
    parser.add_argument("--outer", type=int, default=5)
    parser.add_argument("--inner", type=int, default=3)
    parser.add_argument("--rule-cv", type=int, default=3,
                        help="folds of fairkit's cross-fitted threshold rule (default: 3)")
    parser.add_argument("--peers-eg", action="store_true",
                        help="add fairlearn's ExponentiatedGradient (slow on Adult)")
    args = parser.parse_args()
    # one thread per process: OpenMP threads of the boosting model spin against each other
    # on a shared machine and make its fits several times slower
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    table = pd.DataFrame([r for d in args.datasets for r in run(d, args)])
    print()
    print(table.drop(columns="picks").to_string(index=False, float_format="%.4f"))
    print()
    for d, part in table.groupby("data", sort=False):
        best = {}
        for side in ("fairkit", "fairlearn"):
            ok = part[(part.side == side) & part.meets]
            best[side] = ok.loc[ok.accuracy.idxmax()] if len(ok) else None
        text = {s: (f"{b.accuracy:.4f} ({b.contender})" if b is not None else "none")
                for s, b in best.items()}
        diff = (f"{best['fairkit'].accuracy - best['fairlearn'].accuracy:+.4f}"
                if all(b is not None for b in best.values()) else "n/a")
        print(f"{d}: best held-out accuracy with |SPD| <= {args.bound}: fairkit "
              f"{text['fairkit']}, fairlearn {text['fairlearn']}, difference {diff}")


if __name__ == "__main__":
    main()
