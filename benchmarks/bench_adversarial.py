"""Adversarial debiasing (Zhang, Lemoine, Mitchell 2018) on Adult, and its fit time against
scikit-learn's MLPClassifier of the same size (run on demand).

    python benchmarks/bench_adversarial.py            # both sections
    python benchmarks/bench_adversarial.py adult      # the paper's direction on Adult
    python benchmarks/bench_adversarial.py speed      # fit time vs MLPClassifier

adult: train on the published training part (adult.data), evaluate on the published test
part (adult.test), protected attribute ``sex`` (not a feature), logistic predictor as in the
paper's Adult experiment. Reported on the test part: accuracy, demographic-parity gap
(difference of selection rates), equalized-odds gap (largest of the TPR and FPR
differences), for the undebiased model and the demographic-parity and equalized-odds
adversaries, medians over seeds.

speed: one hidden layer of ``k`` ReLU units, the same epochs, batch size and Adam step on
both sides (MLPClassifier with ``tol=0`` and no early stopping runs every epoch), one BLAS
thread, medians of repeated fits in the same process.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from fairkit.datasets import load_adult
from fairkit.inprocessing._adversarial import AdversarialDebiasingClassifier


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


def speed(hidden=(10, 100), repeat=3, max_iter=20, batch_size=128, lr=0.001):
    X, y, _, _ = adult_matrices()
    Xf = X.drop(columns=["sex"]).to_numpy()
    print(f"fit time on Adult's training part ({len(X)} rows, {Xf.shape[1]} features), "
          f"{max_iter} epochs, batch {batch_size}, one BLAS thread; medians of {repeat}")
    print(f"{'hidden':>6s} {'MLP s':>7s} {'plain s':>8s} {'debiased s':>10s} "
          f"{'plain/MLP':>9s} {'debiased/MLP':>12s}")
    for k in hidden:
        def mlp(k=k):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                MLPClassifier((k,), solver="adam", batch_size=batch_size,
                              learning_rate_init=lr, max_iter=max_iter, tol=0.0,
                              n_iter_no_change=max_iter + 1, alpha=0.0,
                              random_state=0).fit(Xf, y)

        def ours(debias, k=k):
            AdversarialDebiasingClassifier(
                prot_attr="sex", drop_prot_attr=True, hidden_layer_sizes=(k,),
                debias=debias, learning_rate=lr, batch_size=batch_size, max_iter=max_iter,
                random_state=0).fit(X, y)

        times = {"mlp": [], "plain": [], "debiased": []}
        with threadpool_limits(1):
            for _ in range(repeat):  # interleaved, so machine load hits all alike
                for key, fn in (("mlp", mlp), ("plain", lambda: ours(False)),
                                ("debiased", lambda: ours(True))):
                    t = time.perf_counter()
                    fn()
                    times[key].append(time.perf_counter() - t)
        m = {key: float(np.median(v)) for key, v in times.items()}
        print(f"{k:6d} {m['mlp']:7.2f} {m['plain']:8.2f} {m['debiased']:10.2f} "
              f"{m['plain'] / m['mlp']:9.2f} {m['debiased'] / m['mlp']:12.2f}")


if __name__ == "__main__":
    sections = sys.argv[1:] or ["adult", "speed"]
    if "adult" in sections:
        adult()
    if "speed" in sections:
        speed()
