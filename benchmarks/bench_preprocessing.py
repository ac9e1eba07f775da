"""Pre-processing mitigators on Adult, and speed against AIF360 / fairlearn.

Run on demand (not part of the test suite):

    /work/venv/bin/python benchmarks/bench_preprocessing.py [--quick]

Part 1: each mitigator in a Pipeline on raw Adult (one-hot + scaler + mitigator +
LogisticRegression), |SPD| for sex on the test split versus the same pipeline without it.
Part 2: fit+transform time against the peer measured in the same run (median of repeats),
on Adult and on 1M synthetic rows for Reweighing and DisparateImpactRemover.
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.preprocessing import (
    CorrelationRemover,
    DisparateImpactRemover,
    LearnedFairRepresentations,
    Reweighing,
    ReweighingClassifier,
    ReweighingSampler,
)

ROOT = Path(__file__).resolve().parents[1] / "datasets" / "adult"
COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
           "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
           "hours-per-week", "native-country", "income"]
CATS = ["workclass", "education", "marital-status", "occupation", "relationship", "race",
        "sex", "native-country"]
NUMS = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


def load_adult_raw(part):
    raw = gzip.decompress((ROOT / f"adult.{part}.gz").read_bytes())
    df = pd.read_csv(io.BytesIO(raw), header=None, names=COLUMNS, skipinitialspace=True,
                     na_values="?", comment="|")
    df = df.dropna().reset_index(drop=True)
    y = df.pop("income").str.rstrip(".").eq(">50K").astype(int).to_numpy()
    return df.drop(columns="fnlwgt"), y


def encoder(with_prot):
    parts = [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATS),
             ("num", StandardScaler(), NUMS)]
    if with_prot:
        parts.append(("prot", "passthrough", ["sex"]))
    return ColumnTransformer(parts).set_output(transform="pandas")


def spd(pred, sex):
    return pred[sex == "Female"].mean() - pred[sex == "Male"].mean()


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def part1(Xtr, ytr, Xte, yte):
    lr = LogisticRegression(max_iter=1000)
    sex = Xte["sex"].to_numpy()
    base = Pipeline([("enc", encoder(False)), ("lr", lr)]).fit(Xtr, ytr)
    p0 = base.predict(Xte)
    print(f"{'method':<34}{'SPD before':>11}{'SPD after':>11}{'acc before':>11}"
          f"{'acc after':>10}")

    def row(name, pred):
        print(f"{name:<34}{spd(p0, sex):>11.4f}{spd(pred, sex):>11.4f}"
              f"{(p0 == yte).mean():>11.4f}{(pred == yte).mean():>10.4f}")

    rw = ReweighingClassifier(Pipeline([("enc", encoder(False)), ("lr", lr)]),
                              prot_attr="sex").fit(Xtr, ytr)
    row("ReweighingClassifier", rw.predict(Xte))
    for method in ("uniform", "preferential"):
        ranker = Pipeline([("enc", encoder(False)), ("lr", lr)])
        Xs, ys = ReweighingSampler(prot_attr="sex", method=method, ranker=ranker,
                                   random_state=0).fit_resample(Xtr, ytr)
        pipe = Pipeline([("enc", encoder(False)), ("lr", lr)]).fit(Xs, ys)
        row(f"ReweighingSampler({method})", pipe.predict(Xte))
    mitigators = {
        "DisparateImpactRemover(1.0)": DisparateImpactRemover(prot_attr="prot__sex",
                                                              drop_prot_attr=True),
        "CorrelationRemover(1.0)": CorrelationRemover(prot_attr="prot__sex"),
        "LearnedFairRepresentations": LearnedFairRepresentations(
            prot_attr="prot__sex", priv_group="Male", random_state=0, max_iter=200),
    }
    for name, mit in mitigators.items():
        pipe = Pipeline([("enc", encoder(True)), ("mit", mit), ("lr", lr)]).fit(Xtr, ytr)
        row(name, pipe.predict(Xte))


def part2(Xtr, ytr, quick):
    from aif360.sklearn.preprocessing import Reweighing as AifReweighing
    from fairlearn.preprocessing import CorrelationRemover as FlCorrelationRemover

    rep = 3 if quick else 5
    print(f"\n{'task':<46}{'fairkit s':>11}{'peer s':>11}{'peer/fairkit':>13}")

    def row(name, ours, peer):
        print(f"{name:<46}{ours:>11.4f}{peer:>11.4f}{peer / ours:>13.1f}")

    Xi = Xtr.set_index("sex", drop=False)
    ys = pd.Series(ytr, index=Xi.index)
    row("Reweighing, Adult (AIF360 sklearn)",
        timed(lambda: Reweighing(prot_attr="sex").fit(Xtr, ytr), rep),
        timed(lambda: AifReweighing(prot_attr="sex").fit_transform(Xi, ys), rep))

    rng = np.random.default_rng(0)
    n = 1_000_000
    big = pd.DataFrame({"g": rng.integers(0, 2, n), "x1": rng.normal(size=n),
                        "x2": rng.exponential(size=n)})
    ybig = (rng.random(n) < 0.3 + 0.2 * big["g"]).astype(int).to_numpy()
    bigi = big.set_index("g", drop=False)
    ybi = pd.Series(ybig, index=bigi.index)
    row("Reweighing, 1M rows (AIF360 sklearn)",
        timed(lambda: Reweighing(prot_attr="g").fit(big, ybig), rep),
        timed(lambda: AifReweighing(prot_attr="g").fit_transform(bigi, ybi), rep))

    enc = encoder(True).fit(Xtr)
    E = enc.transform(Xtr)
    Enum = E.assign(prot__sex=(E["prot__sex"] == "Male").astype(float))
    row("CorrelationRemover, Adult (fairlearn)",
        timed(lambda: CorrelationRemover(prot_attr="prot__sex").fit_transform(Enum), rep),
        timed(lambda: FlCorrelationRemover(sensitive_feature_ids=["prot__sex"])
              .fit_transform(Enum), rep))
    aif_dir = _aif360_disparate_impact_remover()
    for label, frame in [("1M rows x 2 features", big), ("100k rows x 2 features", big[:100_000])]:
        ours = timed(lambda f=frame: DisparateImpactRemover(prot_attr="g").fit_transform(f), rep)
        if aif_dir is None:
            print(f"{'DisparateImpactRemover, ' + label:<46}{ours:>11.4f}"
                  f"{'n/a':>11}{'n/a':>13}   (AIF360's needs BlackBoxAuditing: set BBA_PATH)")
        else:
            row(f"DisparateImpactRemover, {label} (AIF360)", ours,
                timed(lambda f=frame: aif_dir(f, "g"), 1))
    ours = timed(lambda: DisparateImpactRemover(prot_attr="prot__sex").fit_transform(E), rep)
    print(f"{'DisparateImpactRemover, Adult encoded':<46}{ours:>11.4f}{'n/a':>11}{'n/a':>13}")

    # LFR: AIF360's sklearn LFR needs torch (not installed); its classic LFR uses
    # numerical gradients, so compare time per L-BFGS iteration on a subsample.
    from aif360.algorithms.preprocessing import LFR as AifLFR
    from aif360.datasets import BinaryLabelDataset

    m = 1000 if quick else 2000
    sub = Enum.iloc[:m]
    ysub = ytr[:m]
    it = 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours_lfr = timed(lambda: LearnedFairRepresentations(
            prot_attr="prot__sex", priv_group=1.0, max_iter=it, tol=0,
            # AIF360's objective, so both time the same function
            reconstruct_weight=0.01, fairness_weight=50.0, normalize=False,
            random_state=0).fit(sub, ysub), 3)
    ds = BinaryLabelDataset(df=sub.assign(y=ysub), label_names=["y"],
                            protected_attribute_names=["prot__sex"])
    aif = AifLFR(unprivileged_groups=[{"prot__sex": 0.0}],
                 privileged_groups=[{"prot__sex": 1.0}], k=5, verbose=0, seed=0)
    peer_lfr = timed(lambda: aif.fit(ds, maxiter=it, maxfun=10**9), 1)
    row(f"LFR fit, {m} rows, {it} L-BFGS iters (AIF360 classic)", ours_lfr, peer_lfr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--optim", action="store_true",
                    help="only the OptimizedPreprocessing section")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    Xtr, ytr = load_adult_raw("data")
    Xte, yte = load_adult_raw("test")
    print(f"Adult: {len(Xtr)} train / {len(Xte)} test rows\n")
    if args.optim:
        part_optim(Xtr, ytr, Xte, yte, args.quick)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        part1(Xtr, ytr, Xte, yte)
    part2(Xtr, ytr, args.quick)
    part_optim(Xtr, ytr, Xte, yte, args.quick)



# --------------------------------------------------------------------------------------
# OptimizedPreprocessing (Calmon et al. 2017) on discretised Adult, against AIF360's
# OptimPreproc (its OptTools optimiser). Run: python benchmarks/bench_preprocessing.py --optim
# --------------------------------------------------------------------------------------
OPT_FEATURES = ["age_decade", "edu_years", "race"]


def discretise_adult(X):
    """The paper's Adult features: age decade (capped at 70), education years bucketed to
    5 (= fewer than 6) .. 13 (= more than 12), race as white / non-white; sex kept."""
    return pd.DataFrame({
        "sex": X["sex"].to_numpy(),
        "age_decade": np.minimum(X["age"].to_numpy() // 10 * 10, 70),
        "edu_years": np.clip(X["education-num"].to_numpy(), 5, 13),
        "race": np.where(X["race"].to_numpy() == "White", "White", "Non-white"),
    }, index=X.index)


def adult_distortion(x, y, x_new, y_new):
    """Supplementary section 4.3 of the paper: education may only rise by one bucket and
    age move by one decade (else 3), an age change costs 2, lowering income costs 1."""
    de = x_new["edu_years"] - x["edu_years"]
    da = abs(x_new["age_decade"] - x["age_decade"])
    if de < 0 or de > 1 or da > 10:
        return 3.0
    if da > 0:
        return 2.0
    return 1.0 if y > y_new else 0.0


ADULT_BOUNDS = [(0.99, 0.1), (1.99, 0.05), (2.99, 0.0)]  # AIF360's demo clist / dlist


def part_optim(Xtr, ytr, Xte, yte, quick):
    from sklearn.preprocessing import FunctionTransformer

    from fairkit.preprocessing import OptimizedPreprocessing, OptimizedPreprocessingSampler

    disc = FunctionTransformer(discretise_adult)
    Dtr, Dte = disc.fit_transform(Xtr), disc.transform(Xte)
    sex = Dte["sex"].to_numpy()

    def model():
        return Pipeline([("onehot", OneHotEncoder(handle_unknown="ignore")),
                         ("lr", LogisticRegression(max_iter=1000))])

    base = model().fit(Dtr, ytr)
    p0 = base.predict(Dte)
    print(f"\nOptimizedPreprocessing on discretised Adult (sex, {', '.join(OPT_FEATURES)}); "
          "LR on one-hot features incl. sex")
    print(f"{'setting':<44}{'SPD before':>11}{'SPD after':>11}{'acc before':>11}"
          f"{'acc after':>10}{'fit s':>8}")
    settings = {
        "default (ratio eps=.05, max_distortion=1)": dict(),
        "paper Adult distortion, difference eps=.05": dict(
            discrimination="difference", distortion=adult_distortion,
            max_distortion=None, distortion_bounds=ADULT_BOUNDS),
    }
    fitted = {}
    for name, kw in settings.items():
        t0 = time.perf_counter()
        op = OptimizedPreprocessing(prot_attr="sex", random_state=0, **kw).fit(Dtr, ytr)
        fit_s = time.perf_counter() - t0
        Xres, yres = OptimizedPreprocessingSampler(
            prot_attr="sex", random_state=0, **kw).fit_resample(Dtr, ytr)
        fitted[name] = op
        pred = model().fit(Xres, yres).predict(op.transform(Dte))
        print(f"{name:<44}{spd(p0, sex):>11.4f}{spd(pred, sex):>11.4f}"
              f"{(p0 == yte).mean():>11.4f}{(pred == yte).mean():>10.4f}{fit_s:>8.2f}")

    # same problem in AIF360: OptTools is what OptimPreproc.fit runs
    # (set_features + set_distortion + optimize); AIF360's distortion bounds are per (x, y)
    # averaged over groups, ours per (d, x, y), so its optimum can only be lower.
    from aif360.algorithms.preprocessing.optim_preproc_helpers.opt_tools import OptTools

    df = Dtr.assign(income=ytr)

    def aif_distortion(old, new):
        return adult_distortion(old, old["income"], new, new["income"])

    def aif_fit():
        opt = OptTools(df=df, features=OPT_FEATURES + ["income", "sex"])
        opt.set_features(D=["sex"], X=OPT_FEATURES, Y=["income"])
        opt.set_distortion(aif_distortion, clist=[c for c, _ in ADULT_BOUNDS])
        opt.optimize(epsilon=0.05, dlist=[p for _, p in ADULT_BOUNDS], verbose=False)
        return opt

    name = "paper Adult distortion, difference eps=.05"
    kw = settings[name]
    rep = 1 if quick else 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import contextlib
        with contextlib.redirect_stdout(io.StringIO()):
            ours = timed(lambda: OptimizedPreprocessing(prot_attr="sex", **kw).fit(Dtr, ytr),
                         rep)
            peer = timed(aif_fit, rep)
            opt = aif_fit()
    print(f"\n{'fit, Adult (AIF360 OptTools.optimize)':<46}{'fairkit s':>11}{'peer s':>11}"
          f"{'peer/fairkit':>13}")
    print(f"{'':<46}{ours:>11.3f}{peer:>11.3f}{peer / ours:>13.1f}")
    print(f"optimal TV objective: fairkit {fitted[name].objective_:.6f} (distortion per "
          f"(d, x, y)), AIF360 {opt.optimum:.6f} (distortion per (x, y), looser)")


def _aif360_disparate_impact_remover():
    """AIF360's DisparateImpactRemover (repair_level=1) as f(frame, protected) or None.

    It needs the BlackBoxAuditing package, which fairkit does not depend on: install it
    anywhere (``pip install --target DIR BlackBoxAuditing``) and point BBA_PATH at DIR.
    """
    import os
    import sys

    path = os.environ.get("BBA_PATH")
    if path and path not in sys.path:
        sys.path.append(path)  # appended: the venv's own numpy/pandas stay first
    try:
        import BlackBoxAuditing  # noqa: F401
        from aif360.algorithms.preprocessing import DisparateImpactRemover as AifDIR
        from aif360.datasets import BinaryLabelDataset
    except ImportError:
        return None

    def run(frame, protected):
        data = frame.assign(label=0.0).astype(float)
        data.loc[data.index[: len(data) // 2], "label"] = 1.0
        ds = BinaryLabelDataset(df=data, label_names=["label"],
                                protected_attribute_names=[protected])
        return AifDIR(repair_level=1.0, sensitive_attribute=protected).fit_transform(ds)

    return run


if __name__ == "__main__":
    main()
