"""Request |SPD| <= bound, get the most accurate model: fairkit against fairlearn and OxonFair.

    python benchmarks/bench_bound.py [--datasets adult compas hmda] [--bound 0.02]
                                     [--outer 5] [--inner 3] [--peers-eg] [--no-oxonfair]
                                     [--only SUBSTRING ...] [--max-rows N]
                                     [--merge-small N]

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
  DemographicParity, ``difference_bound`` tuned alike;
* ``oxonfair FP(boosting)`` and ``oxonfair FP(logistic)`` (skipped with ``--no-oxonfair`` or
  when ``oxonfair`` is not installed; it is not a fairkit dependency): OxonFair's
  ``FairPredictor`` on the same two models, ``fit(accuracy, demographic_parity, value)`` with
  ``value`` tuned alike. Its per-group thresholds are learnt on out-of-fold scores of the
  model (``--rule-cv`` folds of the training set, as fairkit's cross-fitted rule), then the
  model is refitted on the whole training set; the groups it sees are privileged vs the
  rest, the grouping the printed |SPD| measures (OxonFair's demographic parity with more
  groups is a mean of pairwise gaps, which is not the measured quantity);
* ``oxonfair FP(boosting,split)``: OxonFair's documented use: the model is trained on 2/3
  of the training set and the thresholds fitted on the held-out 1/3 (no refit);
* ``oxonfair FP(boosting,split,fixed)``: the same with ``value`` set to the bound instead of
  tuned (the shared tuner judges the bound at a bootstrap upper limit, and on OxonFair's
  noisier rule it often falls back to ``value=0``, a near-constant predictor).
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


class _OxonFair(BaseEstimator, ClassifierMixin):
    """OxonFair's FairPredictor (accuracy under demographic parity <= ``value``) on a model.

    ``cv`` int: thresholds fitted on ``cv``-fold out-of-fold scores, model refitted on all rows;
    ``cv="split"``: model fitted on 2/3 of the rows, thresholds on the other 1/3.
    """

    def __init__(self, estimator, column, priv, value=0.02, cv=3, random_state=0):
        self.estimator = estimator
        self.column = column
        self.priv = priv
        self.value = value
        self.cv = cv
        self.random_state = random_state

    def _groups(self, X):
        return (X[self.column].to_numpy() == self.priv).astype(int)

    def fit(self, X, y):
        from oxonfair import FairPredictor
        from oxonfair import group_metrics as gm
        from sklearn.model_selection import cross_val_predict, train_test_split

        self.classes_, y01 = np.unique(y, return_inverse=True)
        groups = self._groups(X)
        if self.cv == "split":
            fit_rows, val_rows = train_test_split(
                np.arange(len(y01)), test_size=1 / 3, stratify=y01,
                random_state=self.random_state)
            self.estimator_ = clone(self.estimator).fit(X.iloc[fit_rows], y01[fit_rows])
            scores = self.estimator_.predict_proba(X.iloc[val_rows])
            target, groups = y01[val_rows], groups[val_rows]
        else:
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            scores = cross_val_predict(clone(self.estimator), X, y01, cv=folds,
                                       method="predict_proba")
            target = y01
            self.estimator_ = clone(self.estimator).fit(X, y01)
        self.fair_ = FairPredictor(None, {"data": scores, "target": target,
                                          "groups": groups})
        self.fair_.fit(gm.accuracy, gm.demographic_parity, self.value)
        return self

    def predict(self, X):
        scores = self.estimator_.predict_proba(X)
        out = self.fair_.predict({"data": scores, "target": np.zeros(len(X)),
                                  "groups": self._groups(X)})
        return self.classes_[np.asarray(out, dtype=int)]


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
    if args.oxonfair:
        values = {"value": tols["tol"]}
        for name, model in (("boosting", boosting(X)), ("logistic", logistic(X))):
            out[f"oxonfair FP({name})"] = ("oxonfair", _OxonFair(
                model, prot, spec["priv"], cv=args.rule_cv), values)
        out["oxonfair FP(boosting,split)"] = ("oxonfair", _OxonFair(
            boosting(X), prot, spec["priv"], cv="split"), values)
        # OxonFair's own recipe without the shared tuner: value = the bound, nothing tuned
        out["oxonfair FP(boosting,split,fixed)"] = ("oxonfair", _OxonFair(
            boosting(X), prot, spec["priv"], cv="split"), {"value": [args.bound]})
    if args.only:
        out = {k: v for k, v in out.items() if any(o in k for o in args.only)}
    return out


def spd(pred, y_pos, groups, priv):
    fav = np.asarray(pred) == y_pos
    return fav[groups != priv].mean() - fav[groups == priv].mean()


def run(name, args):
    X, y, spec = load(name)
    if args.max_rows and len(y) > args.max_rows:
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(len(y)), train_size=args.max_rows, stratify=y,
                                   random_state=0)
        keep = np.sort(keep)
        print(f"{name}: stratified subsample of {len(keep)} of {len(y)} rows", flush=True)
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    if args.merge_small:
        # pooling small non-privileged groups leaves the measured |SPD| (privileged vs the
        # rest) unchanged; it only keeps per-group rules fittable on small folds
        counts = X[spec["prot"]].value_counts()
        small = [v for v, n in counts.items() if n < args.merge_small and v != spec["priv"]]
        if small:
            print(f"{name}: groups {small} pooled into 'small groups'", flush=True)
            X[spec["prot"]] = X[spec["prot"]].replace({v: "small groups" for v in small})
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
    parser.add_argument("--max-rows", type=int, default=None,
                        help="stratified subsample of each data set to this many rows")
    parser.add_argument("--merge-small", type=int, default=0,
                        help="pool non-privileged groups with fewer rows than this (fairlearn's "
                             "ThresholdOptimizer fails on a group with one label in a fold)")
    parser.add_argument("--no-oxonfair", dest="oxonfair", action="store_false",
                        help="leave out OxonFair's FairPredictor")
    parser.add_argument("--only", nargs="+", default=None,
                        help="run only contenders whose name contains one of these")
    args = parser.parse_args()
    if args.oxonfair:
        try:
            import oxonfair  # noqa: F401
        except ImportError:
            print("oxonfair is not installed: its contenders are left out")
            args.oxonfair = False
    # one thread per process: OpenMP threads of the boosting model spin against each other
    # on a shared machine and make its fits several times slower
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    table = pd.DataFrame([r for d in args.datasets for r in run(d, args)])
    print()
    print(table.drop(columns="picks").to_string(index=False, float_format="%.4f"))
    sides = [s for s in ("fairkit", "fairlearn", "oxonfair") if s in set(table.side)]
    for d, part in table.groupby("data", sort=False):
        print(f"\n{d}: held-out over {args.outer} outer folds, bound |SPD| <= {args.bound}")
        view = pd.DataFrame({
            "toolkit": part.side, "method": part.contender.str.split(" ", n=1).str[1],
            "accuracy": part.accuracy, "|SPD|": part.spd,
            "|SPD| upper90": part.spd_upper90, "meets": part.meets})
        print(view.to_string(index=False, float_format="%.4f"))
        best = {}
        for side in sides:
            ok = part[(part.side == side) & part.meets]
            best[side] = ok.loc[ok.accuracy.idxmax()] if len(ok) else None
            b = best[side]
            print(f"  best {side:<9}: " + (
                f"{b.accuracy:.4f} at |SPD| {b.spd:.4f} ({b.contender})" if b is not None
                else "none meets the bound"))
        if best.get("fairkit") is not None:
            for side in sides[1:]:
                if best[side] is not None:
                    print(f"  fairkit - {side}: "
                          f"{best['fairkit'].accuracy - best[side].accuracy:+.4f}")

if __name__ == "__main__":
    main()
