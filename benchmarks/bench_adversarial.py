"""Adversarial debiasing (Zhang, Lemoine, Mitchell 2018) on Adult, and its fit time against
scikit-learn's MLPClassifier / MLPRegressor of the same size (run on demand).

    python benchmarks/bench_adversarial.py              # every section
    python benchmarks/bench_adversarial.py adult        # the paper's direction on Adult
    python benchmarks/bench_adversarial.py regression   # the regressor: Adult hours, synthetic
    python benchmarks/bench_adversarial.py speed        # fit time vs MLPClassifier / MLPRegressor

adult: train on the published training part (adult.data), evaluate on the published test
part (adult.test), protected attribute ``sex`` (not a feature), logistic predictor as in the
paper's Adult experiment. Reported on the test part: accuracy, demographic-parity gap
(difference of selection rates), equalized-odds gap (largest of the TPR and FPR
differences), for the undebiased model and the demographic-parity and equalized-odds
adversaries, medians over seeds.

regression: AdversarialDebiasingRegressor predicting ``hours-per-week`` (raw hours) from
Adult's other columns (numeric columns in raw units, ``sex`` the protected attribute and
not a feature), and on synthetic data of 500 to 30000 rows with balanced or 15% groups
whose target is raised by 5 units for group 1 (a proxy of the group among the features).
Reported on held-out rows: RMSE, the gap of the groups' mean predictions, the two-sample
KS statistic of the groups' predictions (scipy), and for the equalized-odds adversary the
gap at equal target (the group's coefficient in a regression of the prediction on the
target and the group); medians over seeds. ``alpha=0`` is the debiased model with the
projection term alone; ``undebiased`` is ``debias=False``, plain least squares.

speed: one hidden layer of ``k`` ReLU units, the same epochs, batch size and Adam step on
both sides (MLPClassifier / MLPRegressor with ``tol=0`` and no early stopping runs every
epoch, ``alpha=0``), one BLAS thread, medians of repeated fits interleaved in the same
process. The regressor rows predict Adult's hours per week.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits

from fairkit.datasets import load_adult
from fairkit.inprocessing._adversarial import (
    AdversarialDebiasingClassifier,
    AdversarialDebiasingRegressor,
)


def adult_matrices():
    """One-hot categorical columns, standardised numeric columns (statistics of the
    training part), ``sex`` as a 0/1 column (1 = Male) kept in the frame for ``prot_attr``."""
    train = load_adult(subset="train")
    test = load_adult(subset="test")
    n_train = len(train.data)
    frame = pd.concat([train.data, test.data], ignore_index=True)
    sex = (frame["sex"].astype(str) == "Male").astype(float)
    numeric = frame.select_dtypes("number").astype(float)
    numeric = (numeric - numeric.iloc[:n_train].mean()) / numeric.iloc[:n_train].std()
    categorical = frame.select_dtypes("category").drop(columns=["sex"])
    X = pd.concat([sex.rename("sex"), numeric,
                   pd.get_dummies(categorical, dtype=float)], axis=1)
    y = np.r_[np.asarray(train.target), np.asarray(test.target)].astype(int)
    return (X.iloc[:n_train].reset_index(drop=True), y[:n_train],
            X.iloc[n_train:].reset_index(drop=True), y[n_train:])


def gaps(pred, y, a):
    """Demographic-parity gap, equalized-odds gap, and its TPR and FPR parts."""
    dp = abs(pred[a == 1].mean() - pred[a == 0].mean())
    fpr, tpr = (abs(pred[(a == 1) & (y == lab)].mean() - pred[(a == 0) & (y == lab)].mean())
                for lab in (0, 1))
    return dp, max(tpr, fpr), tpr, fpr


def adult(seeds=(0, 1, 2), alphas=(0.1, 0.3, 1.0)):
    X, y, Xt, yt = adult_matrices()
    at = Xt["sex"].to_numpy()
    print(f"Adult: {len(X)} training rows, {len(Xt)} test rows, {X.shape[1] - 1} features")
    settings = [("undebiased", dict(debias=False))]
    for alpha in alphas:
        settings.append((f"DP adversary alpha={alpha}", dict(adversary_loss_weight=alpha)))
    for alpha in alphas:
        settings.append((f"EO adversary alpha={alpha}",
                         dict(adversary_loss_weight=alpha, constraint="equalized_odds")))
    print(f"{'model':28s} {'accuracy':>9s} {'DP gap':>8s} {'EO gap':>8s} {'TPR gap':>8s} "
          f"{'FPR gap':>8s} {'fit s':>7s}"
          "   (medians over seeds " + ", ".join(map(str, seeds)) + ")")
    for name, params in settings:
        rows = []
        for seed in seeds:
            clf = AdversarialDebiasingClassifier(prot_attr="sex", drop_prot_attr=True,
                                                 random_state=seed, **params)
            t = time.perf_counter()
            with threadpool_limits(1):
                clf.fit(X, y)
            elapsed = time.perf_counter() - t
            pred = clf.predict(Xt)
            rows.append(((pred == yt).mean(), *gaps(pred, yt, at), elapsed))
        acc, dp, eo, tpr, fpr, sec = np.median(np.array(rows), axis=0)
        print(f"{name:28s} {acc:9.4f} {dp:8.4f} {eo:8.4f} {tpr:8.4f} {fpr:8.4f} {sec:7.2f}")


def hours_matrices():
    """Adult's hours per week (raw) as the target; the other numeric columns in raw units,
    one-hot categorical columns, ``sex`` (1 = Male) kept for ``prot_attr``."""
    train = load_adult(subset="train")
    test = load_adult(subset="test")
    n_train = len(train.data)
    frame = pd.concat([train.data, test.data], ignore_index=True)
    hours = frame["hours-per-week"].to_numpy(dtype=float)
    sex = (frame["sex"].astype(str) == "Male").astype(float)
    numeric = frame.select_dtypes("number").drop(columns=["hours-per-week"]).astype(float)
    categorical = frame.select_dtypes("category").drop(columns=["sex"])
    X = pd.concat([sex.rename("sex"), numeric, pd.get_dummies(categorical, dtype=float)],
                  axis=1)
    return (X.iloc[:n_train].reset_index(drop=True), hours[:n_train],
            X.iloc[n_train:].reset_index(drop=True), hours[n_train:])


def synthetic_regression(n, seed, p_group=0.5):
    """Target raised by 5 for group 1; x2 is a proxy of the group. Column 0 the group."""
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < p_group).astype(float)
    x1, x3 = rng.normal(size=n), rng.normal(size=n)
    x2 = a + 0.5 * rng.normal(size=n)
    y = 40 + 5 * (x1 + 0.5 * x3 + a + rng.normal(size=n))
    return pd.DataFrame({"g": a, "x1": x1, "x2": 100 * x2, "x3": x3 + 50}), y


def regression_scores(pred, y, a):
    """RMSE, |mean gap|, KS, |gap at equal target|."""
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    gap = abs(pred[a == 1].mean() - pred[a == 0].mean())
    ks = ks_2samp(pred[a == 1], pred[a == 0]).statistic
    cond = abs(LinearRegression().fit(np.c_[y, a], pred).coef_[1])
    return rmse, gap, ks, cond


def regression_table(title, X, y, Xt, yt, prot, seeds, alphas=(0.0, 0.1, 0.3, 1.0)):
    at = Xt[prot].to_numpy()
    settings = [("undebiased", dict(debias=False))]
    settings += [(f"DP alpha={alpha}", dict(adversary_loss_weight=alpha)) for alpha in alphas]
    settings += [("EO alpha=1.0", dict(adversary_loss_weight=1.0,
                                       constraint="equalized_odds"))]
    print(title)
    print(f"  {'model':18s} {'RMSE':>7s} {'mean gap':>9s} {'KS':>6s} {'gap|y':>6s} "
          f"{'gap/undeb':>9s} {'KS/undeb':>8s} {'fit s':>6s}")
    base = None
    for name, params in settings:
        rows = []
        for seed in seeds:
            reg = AdversarialDebiasingRegressor(prot_attr=prot, drop_prot_attr=True,
                                                random_state=seed, **params)
            t = time.perf_counter()
            with threadpool_limits(1):
                reg.fit(X, y)
            elapsed = time.perf_counter() - t
            rows.append((*regression_scores(reg.predict(Xt), yt, at), elapsed))
        rmse, gap, ks, cond, sec = np.median(np.array(rows), axis=0)
        if base is None:
            base = (gap, ks)
        print(f"  {name:18s} {rmse:7.3f} {gap:9.3f} {ks:6.3f} {cond:6.3f} "
              f"{gap / base[0]:9.2f} {ks / base[1]:8.2f} {sec:6.2f}")


def regression(seeds=(0, 1, 2)):
    X, y, Xt, yt = hours_matrices()
    regression_table(
        f"Adult hours-per-week (sex): {len(X)} training rows, {len(Xt)} test rows, "
        f"{X.shape[1] - 1} features, medians over seeds {seeds}", X, y, Xt, yt, "sex", seeds)
    for n, p_group in ((500, 0.5), (3000, 0.5), (3000, 0.15), (30000, 0.5)):
        X, y = synthetic_regression(n, 0, p_group)
        Xt, yt = synthetic_regression(20000, 1, p_group)
        regression_table(f"synthetic: {n} rows, group 1 share {p_group}", X, y, Xt, yt, "g",
                         seeds)


def _interleaved(fns, repeat):
    times = {key: [] for key in fns}
    with threadpool_limits(1):
        for _ in range(repeat):  # interleaved, so machine load hits all alike
            for key, fn in fns.items():
                t = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - t)
    return {key: float(np.median(v)) for key, v in times.items()}


def speed(hidden=(10, 100), repeat=3, max_iter=20, batch_size=128, lr=0.001):
    speed_classifier(hidden, repeat, max_iter, batch_size, lr)
    speed_regressor(hidden, repeat, max_iter, batch_size, lr)


def speed_regressor(hidden, repeat, max_iter, batch_size, lr):
    X, y, _, _ = hours_matrices()
    Xf = X.drop(columns=["sex"]).to_numpy()
    # MLPRegressor does not standardise: give it what the regressor fits internally
    Xs = (Xf - Xf.mean(axis=0)) / np.where(Xf.std(axis=0) > 0, Xf.std(axis=0), 1.0)
    ys = (y - y.mean()) / y.std()
    print(f"regressor fit time, Adult hours-per-week ({len(X)} rows, {Xf.shape[1]} "
          f"features), {max_iter} epochs, batch {batch_size}, one BLAS thread; medians of "
          f"{repeat}")
    print(f"{'hidden':>6s} {'MLPReg s':>8s} {'plain s':>8s} {'debiased s':>10s} "
          f"{'plain/MLP':>9s} {'debiased/MLP':>12s}")
    for k in hidden:
        def mlp(k=k):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                MLPRegressor(hidden_layer_sizes=(k,), solver="adam", batch_size=batch_size,
                             learning_rate_init=lr, max_iter=max_iter, tol=0.0,
                             n_iter_no_change=max_iter + 1, alpha=0.0,
                             random_state=0).fit(Xs, ys)

        def ours(debias, k=k):
            AdversarialDebiasingRegressor(
                prot_attr="sex", drop_prot_attr=True, hidden_layer_sizes=(k,),
                debias=debias, learning_rate=lr, batch_size=batch_size, max_iter=max_iter,
                random_state=0).fit(X, y)

        m = _interleaved({"mlp": mlp, "plain": lambda: ours(False),
                          "debiased": lambda: ours(True)}, repeat)
        print(f"{k:6d} {m['mlp']:8.2f} {m['plain']:8.2f} {m['debiased']:10.2f} "
              f"{m['plain'] / m['mlp']:9.2f} {m['debiased'] / m['mlp']:12.2f}")


def speed_classifier(hidden, repeat, max_iter, batch_size, lr):
    X, y, _, _ = adult_matrices()
    Xf = X.drop(columns=["sex"]).to_numpy()
    print(f"classifier fit time on Adult's training part ({len(X)} rows, {Xf.shape[1]} features), "
          f"{max_iter} epochs, batch {batch_size}, one BLAS thread; medians of {repeat}")
    print(f"{'hidden':>6s} {'MLP s':>7s} {'plain s':>8s} {'debiased s':>10s} "
          f"{'plain/MLP':>9s} {'debiased/MLP':>12s}")
    for k in hidden:
        def mlp(k=k):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                MLPClassifier(hidden_layer_sizes=(k,), solver="adam", batch_size=batch_size,
                              learning_rate_init=lr, max_iter=max_iter, tol=0.0,
                              n_iter_no_change=max_iter + 1, alpha=0.0,
                              random_state=0).fit(Xf, y)

        def ours(debias, k=k):
            AdversarialDebiasingClassifier(
                prot_attr="sex", drop_prot_attr=True, hidden_layer_sizes=(k,),
                debias=debias, learning_rate=lr, batch_size=batch_size, max_iter=max_iter,
                random_state=0).fit(X, y)

        m = _interleaved({"mlp": mlp, "plain": lambda: ours(False),
                          "debiased": lambda: ours(True)}, repeat)
        print(f"{k:6d} {m['mlp']:7.2f} {m['plain']:8.2f} {m['debiased']:10.2f} "
              f"{m['plain'] / m['mlp']:9.2f} {m['debiased'] / m['mlp']:12.2f}")


if __name__ == "__main__":
    sections = sys.argv[1:] or ["adult", "regression", "speed"]
    if "adult" in sections:
        adult()
    if "regression" in sections:
        regression()
    if "speed" in sections:
        speed()
