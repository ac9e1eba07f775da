"""Speed of PrejudiceRemover against AIF360's and of CorrelationRemover against fairlearn's
(issue 18), measured side by side in one run.

    python benchmarks/bench_speed_prejudice.py                   # everything (~10 min CPU)
    python benchmarks/bench_speed_prejudice.py --quick           # 1 AIF360 repeat at 100k
    python benchmarks/bench_speed_prejudice.py prejudice         # one part
    python benchmarks/bench_speed_prejudice.py correlation

PrejudiceRemover (``eta`` = 1 and 25, ``alpha`` = 1, AIF360's ``C`` = 1):

* Adult (the bundled training split, 30,162 rows), encoded as AIF360's ``AdultDataset``
  and its PrejudiceRemover demo do: ``fnlwgt`` dropped, the six categorical columns one-hot
  encoded, ``race`` as a White / non-White indicator, every feature column standardised;
  ``sex`` is the protected attribute (Male = privileged, group code 1 in both).
* The same without standardising (:func:`adult_raw`: 0/1 indicators, ``capital-gain`` up
  to 99,999), where the columns' scales differ by 1e5.
* Synthetic (:func:`synthetic`): 5 numeric columns and 3 categorical columns (4, 8, 12
  levels) one-hot encoded, 29 features, a binary group with a 40 / 60 split and a label
  whose base rate depends on the group; 10k, 100k and (fairkit only) 1M rows.

AIF360's ``PrejudiceRemover.fit`` writes the data to a text file and runs Kamishima's
``train_pr.py`` in a subprocess (per-group scikit-learn logistic regressions, then
``fmin_cg``); its time is the CPU time of this process plus its children. The table shows
CPU-time medians, the ratio AIF360 / fairkit, the final objective of each (the same
function: AIF360's ``f_loss_`` and fairkit's ``objective_``; ``fk(aif W)`` is fairkit's
objective evaluated at AIF360's weights, which must equal AIF360's own value), the relative
gap (AIF360 - fairkit) / fairkit, and the relative gap of fairkit's objective to a tight
reference minimum (L-BFGS from fairkit's solution with ``ftol=0``, ``gtol=1e-9``, one run,
in the standardised coordinates fairkit's fit works in).
AIF360 stops above the minimum: Kamishima's gradient has a term that is not the derivative
of its loss (``tests/inprocessing/test_prejudice_remover.py``), so its conjugate gradient
ends its line search early.

CorrelationRemover: ``fit(X).transform(X)`` and ``fit_transform(X)`` of fairkit's
(``prot_attr="s"``) and fairlearn's (``sensitive_feature_ids=["s"]``) on a DataFrame with 5
numeric features and a binary column ``s``, at 10k, 100k and 1M rows; the slope of
log(time) against log(n) over the three sizes.

BLAS / OpenMP use one thread (environment variables, set before numpy is imported, so the
AIF360 subprocess has them too, and threadpoolctl); the machine may be shared, so the
times are CPU times, not wall times.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import logging  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from fairkit.datasets import load_adult  # noqa: E402
from fairkit.inprocessing import PrejudiceRemover  # noqa: E402
from fairkit.inprocessing._prejudice_remover import _Objective  # noqa: E402
from fairkit.preprocessing import CorrelationRemover  # noqa: E402

CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship",
               "native-country"]


def adult():
    """Adult as AIF360's ``AdultDataset`` + demo encode it: features, sex, label."""
    b = load_adult()
    df = b.data.drop(columns=["fnlwgt"])
    sex = df.pop("sex").astype(str).to_numpy()
    df["race"] = (df["race"].astype(str) == "White").astype(float)
    X = pd.get_dummies(df, columns=CATEGORICAL, dtype=float)
    X = (X - X.mean()) / X.std(ddof=0)
    return X, np.where(sex == "Male", "Male", "Female"), b.target.to_numpy()


def adult_raw():
    """As :func:`adult`, without standardising (0/1 indicators, raw numeric columns)."""
    b = load_adult()
    df = b.data.drop(columns=["fnlwgt"])
    sex = df.pop("sex").astype(str).to_numpy()
    df["race"] = (df["race"].astype(str) == "White").astype(float)
    X = pd.get_dummies(df, columns=CATEGORICAL, dtype=float)
    return X, np.where(sex == "Male", "Male", "Female"), b.target.to_numpy()


def synthetic(n, seed=0):
    """Group-dependent label on numeric + one-hot columns; features, group, label."""
    rng = np.random.default_rng(seed)
    g = (rng.random(n) < 0.6).astype(int)
    num = rng.normal(size=(n, 5)) + 0.4 * g[:, None]
    blocks, logit = [num], num @ np.array([1.0, -0.7, 0.5, 0.3, 0.0])
    for k in (4, 8, 12):
        c = rng.integers(0, k, n)
        blocks.append(np.eye(k)[c])
        logit = logit + rng.normal(scale=0.5, size=k)[c]
    y = (logit + 0.8 * g + rng.logistic(size=n) > 1.0).astype(int)
    X = pd.DataFrame(np.hstack(blocks), columns=[f"f{j}" for j in range(29)])
    return X, np.where(g == 1, "b", "a"), y


def cpu_now():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def aif360_fit(X, privileged, y, eta):
    """AIF360 PrejudiceRemover fit: (cpu seconds, weights (2, d + 1), f_loss)."""
    import aif360.algorithms.inprocessing as inproc
    from aif360.algorithms.inprocessing import PrejudiceRemover as AifPR
    from aif360.datasets import BinaryLabelDataset

    kpath = os.path.join(os.path.dirname(inproc.__file__), "kamfadm-2012ecmlpkdd")
    if kpath not in sys.path:
        sys.path.insert(0, kpath)  # to unpickle the model (fadm.lr.pr)
    df = X.copy()
    df.columns = [f"f{j}" for j in range(X.shape[1])]
    df["s"], df["y"] = privileged.astype(float), y.astype(float)
    ds = BinaryLabelDataset(df=df, label_names=["y"], protected_attribute_names=["s"],
                            privileged_protected_attributes=[np.array([1.0])],
                            unprivileged_protected_attributes=[np.array([0.0])],
                            favorable_label=1.0, unfavorable_label=0.0)
    t0 = cpu_now()
    model = AifPR(eta=eta, sensitive_attr="s", class_attr="y").fit(ds)
    cpu = cpu_now() - t0
    with open(model.model_name, "rb") as fh:
        clr = pickle.load(fh)
    os.unlink(model.model_name)
    return cpu, clr.coef_.reshape(clr.n_sfv_, clr.n_features_), float(clr.f_loss_)


def fairkit_fit(X, groups, y, eta):
    est = PrejudiceRemover(eta=eta, alpha=1.0, prot_attr="__group__")
    t0 = time.process_time()
    est.fit(X.assign(__group__=groups), y)
    return time.process_time() - t0, est


def tight_minimum(objective, coef0, eta):
    """A tight L-BFGS run (in the standardised variables fairkit's fit uses) from coef0."""
    with threadpool_limits(1, user_api="blas"):
        res = minimize(objective, coef0, jac=True, method="L-BFGS-B", args=(eta, 1.0),
                       options={"maxiter": 20000, "gtol": 1e-9, "ftol": 0.0, "maxcor": 30})
    return float(res.fun)


def prejudice_part(args):
    print("\nPrejudiceRemover fit: fairkit vs AIF360 (CPU s, medians; objective values)")
    head = (f"{'data':<18}{'eta':>5}{'fairkit s':>11}{'AIF360 s':>10}{'ratio':>7}"
            f"{'fairkit obj':>15}{'AIF360 obj':>15}{'fk(aif W)':>15}{'aif-fk rel':>12}"
            f"{'fk-tight rel':>14}{'max|dW|':>9}{'iters':>7}")
    print(head)
    cases = []
    if "adult" in args.data:
        cases.append(("Adult one-hot", adult, None))
    if "adult-raw" in args.data:
        cases.append(("Adult one-hot raw", adult_raw, None))
    if "synthetic" in args.data:
        cases += [(f"synthetic {n // 1000}k", synthetic, n) for n in args.sizes]
    fk_times = {}
    for label, make, n in cases:
        X, groups, y = make() if n is None else make(n)
        codes = (groups == np.unique(groups)[1]).astype(int)
        Xd = np.c_[X.to_numpy(), np.ones(len(X))]
        counts = np.bincount(codes).astype(float)
        objective = _Objective(Xd, y.astype(float), codes, counts)
        coords = PrejudiceRemover()._coordinates(Xd, None)  # the fit's own coordinates
        scaled = _Objective(Xd, y.astype(float), codes, counts, **coords)
        for eta in args.etas:
            runs = [fairkit_fit(X, groups, y, eta) for _ in range(args.repeats)]
            fk_s = float(np.median([r[0] for r in runs]))
            est = runs[0][1]
            W = np.c_[est.coef_, est.intercept_]
            V = W * coords["scale"]  # back to the optimiser's variables
            V[:, -1] = W[:, -1] + W @ coords["shift"]
            tight = tight_minimum(scaled, V.ravel(), eta)
            fk_times[(label, eta)] = (n or len(y), fk_s)
            aif = "n/a"
            cells = [f"{'n/a':>10}{'n/a':>7}", f"{'n/a':>15}{'n/a':>15}{'n/a':>12}"]
            dW = np.nan
            if n is None or n <= args.peer_max_rows:
                reps = 1 if (args.quick and n is not None and n > 20_000) else args.repeats
                aruns = [aif360_fit(X, codes, y, eta) for _ in range(reps)]
                aif = float(np.median([r[0] for r in aruns]))
                aW, af = aruns[0][1], aruns[0][2]
                at_aif = objective(aW.ravel(), eta, 1.0)[0]
                dW = float(np.abs(W - aW).max())
                gap = (af - est.objective_) / est.objective_
                cells = [f"{aif:>10.2f}{aif / fk_s:>7.1f}",
                         f"{af:>15.6f}{at_aif:>15.6f}{gap:>12.2e}"]
            print(f"{label:<18}{eta:>5g}{fk_s:>11.3f}{cells[0]}{est.objective_:>15.6f}{cells[1]}"
                  f"{(est.objective_ - tight) / tight:>14.2e}{dW:>9.3f}{est.n_iter_:>7d}",
                  flush=True)
    for eta in args.etas:
        pts = [(n, t) for (label, e), (n, t) in fk_times.items()
               if e == eta and label.startswith("synthetic")]
        if len(pts) >= 2:
            ln, lt = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            print(f"fairkit log-log slope of fit time vs n (synthetic, eta={eta:g}): "
                  f"{np.polyfit(ln, lt, 1)[0]:.2f}")
    print("(iters: fairkit's L-BFGS iterations, both stages)")


def cr_data(n, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n).astype(float)
    X = pd.DataFrame(rng.normal(size=(n, 5)) + s[:, None], columns=[f"x{j}" for j in range(5)])
    X.insert(2, "s", s)
    return X


def median_cpu(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return float(np.median(times))


def correlation_part(args):
    from fairlearn.preprocessing import CorrelationRemover as FairlearnCR

    print("\nCorrelationRemover: fairkit vs fairlearn (CPU ms, medians)")
    print(f"{'rows':>9}{'fit+transform fk':>18}{'fairlearn':>11}{'ratio':>7}"
          f"{'fit_transform fk':>18}{'fairlearn':>11}{'ratio':>7}{'max|diff|':>11}")
    sizes, fk_t, fl_t = [10_000, 100_000, 1_000_000], [], []
    for n in sizes:
        X = cr_data(n)
        reps = 21 if n <= 10_000 else (7 if n <= 100_000 else 3)

        def fk_two(X=X):
            return CorrelationRemover(prot_attr="s").fit(X).transform(X)

        def fl_two(X=X):
            return FairlearnCR(sensitive_feature_ids=["s"]).fit(X).transform(X)

        def fk_one(X=X):
            return CorrelationRemover(prot_attr="s").fit_transform(X)

        def fl_one(X=X):
            return FairlearnCR(sensitive_feature_ids=["s"]).fit_transform(X)

        a, b = median_cpu(fk_two, reps), median_cpu(fl_two, reps)
        c, d = median_cpu(fk_one, reps), median_cpu(fl_one, reps)
        diff = float(np.abs(fk_two() - fl_two()).max())
        fk_t.append(a)
        fl_t.append(b)
        print(f"{n:>9}{a * 1e3:>18.2f}{b * 1e3:>11.2f}{b / a:>7.2f}"
              f"{c * 1e3:>18.2f}{d * 1e3:>11.2f}{d / c:>7.2f}{diff:>11.1e}", flush=True)
    ln = np.log(sizes)
    print(f"log-log slope (fit+transform, 10k-1M): fairkit {np.polyfit(ln, np.log(fk_t), 1)[0]:.2f}"
          f", fairlearn {np.polyfit(ln, np.log(fl_t), 1)[0]:.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("parts", nargs="*", default=["prejudice", "correlation"],
                   choices=["prejudice", "correlation"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true",
                   help="one AIF360 fit (not 3) above 20k rows")
    p.add_argument("--etas", type=float, nargs="+", default=[1.0, 25.0])
    p.add_argument("--data", nargs="+", default=["adult", "adult-raw", "synthetic"],
                   choices=["adult", "adult-raw", "synthetic"])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--peer-max-rows", type=int, default=100_000,
                   help="largest synthetic size AIF360 is run on")
    args = p.parse_args(argv)
    # the AIF360 subprocess runs `python`: this interpreter's
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    logging.disable(logging.WARNING)  # AIF360's notes on optional dependencies
    warnings.simplefilter("ignore", FutureWarning)
    os.environ["PYTHONWARNINGS"] = "ignore::FutureWarning"  # scikit-learn's, in AIF360's run
    threadpool_limits(1)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    if "prejudice" in args.parts:
        prejudice_part(args)
    if "correlation" in args.parts:
        correlation_part(args)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
