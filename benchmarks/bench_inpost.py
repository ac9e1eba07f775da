"""Classic in- and post-processing on COMPAS (race): the issue-4 comparison table.

    python benchmarks/bench_inpost.py [--seeds 0 1 2]

COMPAS (ProPublica filter), African-American vs Caucasian rows, target ``two_year_recid``
with the favourable label 0 (not reoffending), privileged group Caucasian. Features: sex,
age, age_cat, juvenile counts, priors_count, c_charge_degree (COMPAS's own scores and the
charge description are left out); race is read by the mitigators through ``prot_attr`` and
dropped from the model's features by the pipeline. 70/30 stratified split per seed; every
method is fitted on the training split and measured on the held-out split:

* accuracy,
* SPD = P(favourable | African-American) - P(favourable | Caucasian),
* EOD = TPR difference, AOD = mean of FPR and TPR differences (favourable = positive),
* GFNR gap (generalised false-negative rate difference, the target of calibrated EO 'fnr').

Each method's target disparity is marked; the last column says whether its absolute value
is lower than the unmitigated LogisticRegression's on the held-out split. Medians over seeds.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.datasets import load_compas
from fairkit.inprocessing import (
    ExponentiatedGradientReduction,
    GridSearchReduction,
    PrejudiceRemover,
)
from fairkit.metrics import (
    average_odds_difference,
    equal_opportunity_difference,
    statistical_parity_difference,
)
from fairkit.postprocessing import (
    CalibratedEqualizedOdds,
    EqualizedOddsPostprocessor,
    RejectOptionClassifier,
    ThresholdOptimizer,
)

NUMERIC = ["age", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count"]
CATEGORICAL = ["sex", "age_cat", "c_charge_degree"]
PRIV = "Caucasian"


def load():
    b = load_compas()
    keep = b.data["race"].isin(["African-American", "Caucasian"])
    X = b.data.loc[keep, NUMERIC + CATEGORICAL + ["race"]].copy()
    X["race"] = X["race"].astype(str)
    for c in CATEGORICAL:
        X[c] = X[c].astype(str)
    return X.reset_index(drop=True), b.target[keep].to_numpy()


def lr_pipeline():
    return make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                                (StandardScaler(), NUMERIC)),  # race is dropped here
        LogisticRegression(max_iter=1000))


class NumericFeatures:
    """Encode the COMPAS frame as floats (for PrejudiceRemover, which takes numeric X)."""

    def __init__(self, X):
        self.ct = make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
            (StandardScaler(), NUMERIC)).fit(X)

    def __call__(self, X):
        return np.asarray(self.ct.transform(X), dtype=float)


def methods():
    sw = "logisticregression__sample_weight"
    return {
        "LogisticRegression (unmitigated)": (lr_pipeline(), None),
        "ThresholdOptimizer(demographic_parity)": (
            ThresholdOptimizer(lr_pipeline(), prot_attr="race", pos_label=0,
                               random_state=0), "SPD"),
        "ThresholdOptimizer(equalized_odds)": (
            ThresholdOptimizer(lr_pipeline(), prot_attr="race", pos_label=0,
                               constraints="equalized_odds", random_state=0), "AOD"),
        "EqualizedOddsPostprocessor": (
            EqualizedOddsPostprocessor(lr_pipeline(), prot_attr="race", pos_label=0,
                                       random_state=0), "AOD"),
        "CalibratedEqualizedOdds(fnr)": (
            CalibratedEqualizedOdds(lr_pipeline(), prot_attr="race", pos_label=0,
                                    cost_constraint="fnr", random_state=0), "GFNR"),
        "RejectOptionClassifier(SPD in +-0.05)": (
            RejectOptionClassifier(lr_pipeline(), prot_attr="race", priv_group=PRIV,
                                   pos_label=0), "SPD"),
        "ExponentiatedGradient(demographic_parity)": (
            ExponentiatedGradientReduction(lr_pipeline(), prot_attr="race", pos_label=0,
                                           sample_weight_name=sw, random_state=0), "SPD"),
        "ExponentiatedGradient(equalized_odds)": (
            ExponentiatedGradientReduction(lr_pipeline(), prot_attr="race", pos_label=0,
                                           constraints="equalized_odds",
                                           sample_weight_name=sw, random_state=0), "AOD"),
        "GridSearch(demographic_parity)": (
            GridSearchReduction(lr_pipeline(), prot_attr="race", pos_label=0,
                                sample_weight_name=sw, grid_size=15), "SPD"),
        "PrejudiceRemover(eta=25)": (PrejudiceRemover(eta=25.0, prot_attr="race",
                                                      pos_label=0), "SPD"),
    }


def scores(y, pred, proba_fav, race):
    kw = {"sensitive_features": race, "priv_group": PRIV, "pos_label": 0}
    fav_true = y == 0
    gfnr = [np.mean(1 - proba_fav[(race == g) & fav_true]) for g in ("African-American", PRIV)]
    return {
        "accuracy": float(np.mean(pred == y)),
        "SPD": float(statistical_parity_difference(y, pred, **kw)),
        "EOD": float(equal_opportunity_difference(y, pred, **kw)),
        "AOD": float(average_odds_difference(y, pred, **kw)),
        "GFNR": float(gfnr[0] - gfnr[1]),
    }


def run(seed):
    X, y = load()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=seed,
                                          stratify=np.c_[y, X["race"]])
    rows = []
    enc = NumericFeatures(Xtr)
    for name, (est, target) in methods().items():
        t0 = time.perf_counter()
        if isinstance(est, PrejudiceRemover):
            Ztr = pd.DataFrame(enc(Xtr)).assign(race=Xtr["race"].to_numpy())
            Zte = pd.DataFrame(enc(Xte)).assign(race=Xte["race"].to_numpy())
            Ztr.columns = Zte.columns = [str(c) for c in Ztr.columns]
            est.fit(Ztr, ytr)
            pred, proba = est.predict(Zte), est.predict_proba(Zte)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(Xtr, ytr)
            pred = est.predict(Xte)
            proba = est.predict_proba(Xte) if hasattr(est, "predict_proba") else None
        if proba is None:  # RejectOptionClassifier: hard decisions
            proba_fav = (pred == 0).astype(float)
        else:
            proba_fav = proba[:, list(est.classes_).index(0)]
        row = {"method": name, "target": target or "-",
               **scores(yte, pred, proba_fav, Xte["race"].to_numpy()),
               "fit+predict s": time.perf_counter() - t0}
        rows.append(row)
    return pd.DataFrame(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    tables = [run(s) for s in args.seeds]
    cols = ["accuracy", "SPD", "EOD", "AOD", "GFNR", "fit+predict s"]
    med = pd.concat(tables).groupby("method", sort=False)[cols].median()
    med.insert(0, "target", tables[0].set_index("method")["target"])
    base = med.loc["LogisticRegression (unmitigated)"]
    reduced = []
    for name, row in med.iterrows():
        if row["target"] == "-":
            reduced.append("-")
            continue
        wins = sum(abs(t.set_index("method").loc[name, row["target"]])
                   < abs(t.set_index("method").loc["LogisticRegression (unmitigated)",
                                                   row["target"]]) for t in tables)
        reduced.append(f"{wins}/{len(tables)} seeds")
    med["target reduced"] = reduced
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        print(f"COMPAS race (African-American vs Caucasian), held-out 30%, medians over seeds "
              f"{args.seeds}; unmitigated |SPD| {abs(base['SPD']):.3f}, |AOD| "
              f"{abs(base['AOD']):.3f}")
        print(med)


if __name__ == "__main__":
    main()
