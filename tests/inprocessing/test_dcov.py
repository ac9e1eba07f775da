"""Tests for fairkit.inprocessing._dcov: penalty vs dcor and finite differences, both
penalty paths, models vs scikit-learn at lam=0, fairness as lam grows, calibration, checks."""

import dcor
import joblib
import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, PoissonRegressor, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairkit._protected import encode_groups
from fairkit.inprocessing import (
    DCovRegularizedClassifier,
    DCovRegularizedRegressor,
    calibrate_lambda,
    dcov_penalty,
    plot_lambda_calibration,
)
from fairkit.inprocessing._dcov_kernels import _AbsKernel, _LevelKernel, _Order
from fairkit.inprocessing._dcov_model import _init_params, _Objective, _pack
from fairkit.metrics import (
    encode_protected_attributes,
    joint_distance_covariance,
    unfairness_ratio,
)

matplotlib.use("Agg")

DCOR = {"u": dcor.u_distance_covariance_sqr, "v": dcor.distance_covariance_sqr}


@pytest.fixture(scope="module")
def attrs():
    rng = np.random.default_rng(0)
    n = 90
    frame = pd.DataFrame(
        {
            "race": rng.choice(["a", "b", "c", "d"], n),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.normal(40, 12, n),
        }
    )
    y = rng.random(n) + 0.2 * (frame["race"] == "a") + 0.01 * frame["age"]
    return y.to_numpy(), frame


# ---------------------------------------------------------------- penalty values
@pytest.mark.parametrize("statistic", ["u", "v"])
@pytest.mark.parametrize("cols", [["race"], ["sex"], ["age"], ["race", "sex"],
                                  ["race", "sex", "age"]])
@pytest.mark.parametrize("method", ["auto", "dense"])
def test_ccdcov_penalty_equals_dcor(attrs, statistic, cols, method):
    y, frame = attrs
    s = encode_protected_attributes(frame[cols]).matrix
    expected = DCOR[statistic](y, s[:, 0] if s.shape[1] == 1 else s)
    value, _ = dcov_penalty(y, frame[cols], penalty="ccdcov", statistic=statistic,
                            method=method)
    assert value == pytest.approx(expected, abs=1e-10, rel=1e-10)


@pytest.mark.parametrize("statistic", ["u", "v"])
@pytest.mark.parametrize("method", ["auto", "dense"])
def test_dcov_penalty_sum_of_marginals(attrs, statistic, method):
    y, frame = attrs
    enc = encode_protected_attributes(frame)
    expected = sum(DCOR[statistic](y, b[:, 0] if b.shape[1] == 1 else b) for b in enc.blocks)
    value, _ = dcov_penalty(y, frame, penalty="dcov", statistic=statistic, method=method)
    assert value == pytest.approx(expected, abs=1e-10, rel=1e-10)


@pytest.mark.parametrize("statistic", ["u", "v"])
@pytest.mark.parametrize("cols", [["race"], ["age"]])
def test_jdcov_of_two_variables_equals_dcov(attrs, statistic, cols):
    y, frame = attrs
    s = encode_protected_attributes(frame[cols]).matrix
    expected = DCOR[statistic](y, s[:, 0] if s.shape[1] == 1 else s)
    value, _ = dcov_penalty(y, frame[cols], penalty="jdcov", statistic=statistic)
    assert value == pytest.approx(expected, abs=1e-10, rel=1e-10)


@pytest.mark.parametrize("statistic", ["u", "v"])
@pytest.mark.parametrize("cols", [["race", "sex"], ["race", "sex", "age"]])
@pytest.mark.parametrize("c", [1.0, 0.5])
def test_jdcov_penalty_equals_metric(attrs, statistic, cols, c):
    # the metric is an independent dense implementation built on dcor's centring
    y, frame = attrs
    expected = joint_distance_covariance(None, y, sensitive_features=frame[cols], c=c,
                                         statistic=statistic)
    for method in ("auto", "dense"):
        value, _ = dcov_penalty(y, frame[cols], penalty="jdcov", statistic=statistic, c=c,
                                method=method)
        assert value == pytest.approx(expected, abs=1e-10, rel=1e-10)


def _finite_diff(f, x, h=1e-6):
    out = np.empty_like(x)
    for k in range(len(x)):
        e = np.zeros_like(x)
        e[k] = h
        out[k] = (f(x + e) - f(x - e)) / (2 * h)
    return out


@pytest.mark.parametrize("penalty,cols", [("ccdcov", ["race"]), ("ccdcov", ["age"]),
                                          ("ccdcov", ["race", "sex", "age"]),
                                          ("dcov", ["race", "sex", "age"]),
                                          ("jdcov", ["race", "sex"]),
                                          ("jdcov", ["sex", "age"])])
@pytest.mark.parametrize("statistic", ["u", "v"])
def test_penalty_gradient_matches_finite_differences(attrs, penalty, cols, statistic):
    y, frame = attrs
    y = y[:40]
    sub = frame[cols].iloc[:40]
    _, grad = dcov_penalty(y, sub, penalty=penalty, statistic=statistic)
    fd = _finite_diff(lambda v: dcov_penalty(v, sub, penalty=penalty,
                                             statistic=statistic)[0], y)
    np.testing.assert_allclose(grad, fd, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("statistic", ["u", "v"])
@pytest.mark.parametrize("kind", ["categorical", "continuous", "intersection", "many_levels"])
def test_fast_and_dense_paths_agree_with_ties(statistic, kind):
    rng = np.random.default_rng(7)
    n = 500
    x = np.round(rng.random(n), 2)  # many ties in the predictions
    if kind == "categorical":
        s = rng.choice(list("abcde"), n)
    elif kind == "continuous":
        s = np.round(rng.normal(size=n), 1) + 0.0  # ties in S too
    elif kind == "intersection":
        s = pd.DataFrame({"a": rng.choice(list("xyz"), n), "b": rng.integers(0, 2, n)})
    else:  # sex x integer age: about 2 x 60 = 120 combinations > 64, still the level path
        s = pd.DataFrame({"sex": rng.choice(list("FM"), n), "age": rng.integers(18, 78, n)})
        fast = dcov_penalty(x, s, penalty="ccdcov", statistic=statistic, method="fast")
        matrix = encode_protected_attributes(s).matrix
        assert 64 < len(np.unique(matrix, axis=0)) <= n // 2
        assert fast[0] == pytest.approx(DCOR[statistic](x, matrix), abs=1e-12)
    for penalty in ("dcov", "ccdcov", "jdcov"):
        fast = dcov_penalty(x, s, penalty=penalty, statistic=statistic, method="fast")
        dense = dcov_penalty(x, s, penalty=penalty, statistic=statistic, method="dense")
        assert fast[0] == pytest.approx(dense[0], abs=1e-12, rel=1e-10)
        np.testing.assert_allclose(fast[1], dense[1], atol=1e-14, rtol=1e-9)
    enc = encode_protected_attributes(s)
    assert fast[0] == pytest.approx(DCOR[statistic](x, enc.matrix if enc.matrix.shape[1] > 1
                                                    else enc.matrix[:, 0]), abs=1e-12) or \
        kind in ("intersection", "many_levels")


@pytest.mark.parametrize("ties", [True, False])
def test_numba_kernels_equal_numpy_and_dense(ties):
    # the compiled kernels (used from NUMBA_MIN_ROWS rows on) against the numpy ones and
    # the explicit n x n sum, with ties in x and in s: Fenwick tree for |s_k - s_j| ...
    rng = np.random.default_rng(11)
    n = 700
    x = np.round(rng.random(n), 2) if ties else rng.random(n)
    s = np.round(rng.normal(size=n), 1) if ties else rng.normal(size=n)
    order = _Order(x)
    dense = (np.sign(x[:, None] - x[None, :]) * np.abs(s[:, None] - s[None, :])).sum(axis=1)
    for engine in ("numpy", "numba"):
        np.testing.assert_allclose(_AbsKernel(s, engine).signed_sum(order), dense,
                                   atol=1e-10, rtol=1e-12)
    const = _Order(np.full(50, 0.3))  # one tie group: every sign is 0
    np.testing.assert_allclose(_AbsKernel(s[:50], "numba").signed_sum(const), 0.0, atol=1e-12)
    # the level kernel (categorical / intersectional attributes), both engines
    codes = rng.integers(0, 7, n)
    table = rng.random((7, 7))
    table = table + table.T
    dense = (np.sign(x[:, None] - x[None, :]) * table[codes][:, codes]).sum(axis=1)
    for engine in ("numpy", "numba"):
        np.testing.assert_allclose(_LevelKernel(codes, table, engine=engine).signed_sum(order),
                                   dense, atol=1e-10, rtol=1e-12)
    np.testing.assert_allclose(
        _LevelKernel(codes[:50], table, engine="numba").signed_sum(const), 0.0, atol=1e-12)


def test_fast_path_scales_without_n_by_n():
    # 200k rows would need 320 GB as an n x n matrix; the fast path takes seconds.
    rng = np.random.default_rng(8)
    n = 200_000
    x = rng.random(n)
    s = pd.DataFrame({"sex": rng.integers(0, 2, n), "age": rng.normal(size=n)})
    value, grad = dcov_penalty(x, s, penalty="dcov", method="fast")
    assert grad.shape == (n,) and abs(value) < 1e-4  # independent: U-statistic near 0
    with pytest.raises(ValueError, match="method='fast'"):
        dcov_penalty(x[:2000], s.iloc[:2000], penalty="ccdcov", method="fast")


def test_constant_predictions_penalty_is_zero():
    s = np.array(["a", "b", "c", "a", "b", "c", "a", "b"])
    for statistic in ("u", "v"):
        value, grad = dcov_penalty(np.full(8, 0.4), s, statistic=statistic)
        assert value == pytest.approx(0.0, abs=1e-15)
        np.testing.assert_array_equal(grad, 0.0)


def test_penalty_bad_inputs():
    with pytest.raises(ValueError, match="at least 4 samples"):
        dcov_penalty([0.1, 0.2, 0.3], [0, 1, 0], statistic="u")
    with pytest.raises(ValueError, match="missing values"):
        dcov_penalty([0.1, 0.2, 0.3, 0.4], [0, 1, np.nan, 1])
    with pytest.raises(ValueError, match="penalty"):
        dcov_penalty([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], penalty="hsic")


# ---------------------------------------------------------------- model gradients
@pytest.mark.parametrize(
    "est",
    [
        DCovRegularizedClassifier(lam=2.0),
        DCovRegularizedClassifier(lam=2.0, hidden_layer_sizes=(4, 3), activation="tanh",
                                  penalty="jdcov", statistic="v"),
        DCovRegularizedRegressor(lam=2.0, hidden_layer_sizes=(5,)),
        DCovRegularizedRegressor(lam=2.0, loss="poisson", penalty="dcov"),
    ],
    ids=["logistic", "mlp-tanh-jdcov", "mlp-relu-squared", "poisson"],
)
def test_objective_gradient_finite_differences(est, attrs):
    y_pred, frame = attrs
    rng = np.random.default_rng(9)
    n = 50
    X = rng.normal(size=(n, 3))
    if est._loss == "log_loss":
        y = (rng.random(n) < 0.5).astype(float)
    elif est._loss == "poisson":
        y = rng.poisson(2.0, n).astype(float)
    else:
        y = rng.normal(size=n)
    offset = rng.normal(size=n) * 0.1 if est._loss == "poisson" else None
    hidden = tuple(est.hidden_layer_sizes)
    template = _init_params(3, hidden, rng)
    theta = _pack(template) + 0.3 * rng.normal(size=_pack(template).size)
    blocks = encode_protected_attributes(frame[["race", "sex", "age"]].iloc[:n]).blocks
    obj = _Objective(est, X, y, offset, blocks, template)
    _, grad = obj(theta)
    fd = _finite_diff(lambda t: obj(t)[0], theta)
    np.testing.assert_allclose(grad, fd, atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------- models at lam = 0
@pytest.fixture(scope="module")
def clf_data():
    rng = np.random.default_rng(1)
    n = 600
    s = rng.integers(0, 2, n)
    X = np.c_[s, rng.normal(size=n) + 1.2 * s, rng.normal(size=n)]
    y = (X[:, 1] + X[:, 2] + rng.normal(size=n) > 0.6).astype(int)
    return X, y, s


def test_lam0_classifier_equals_logistic_regression(clf_data):
    X, y, _ = clf_data
    alpha = 1e-2
    ours = DCovRegularizedClassifier(prot_attr=0, lam=0.0, alpha=alpha, tol=1e-12).fit(X, y)
    ref = LogisticRegression(C=1.0 / (alpha * len(y)), tol=1e-10).fit(X[:, 1:], y)
    # tol=1e-12 is L-BFGS's ftol: it stops within ~1e-13 of the optimal objective, which
    # leaves the coefficients within ~1e-6 and the probabilities within the same 1e-5
    np.testing.assert_allclose(ours.coef_, ref.coef_.ravel(), atol=1e-5)
    assert ours.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X[:, 1:]), atol=1e-5)


def test_lam0_regressors_equal_ridge_and_poisson():
    rng = np.random.default_rng(2)
    n = 300
    X = np.c_[rng.normal(size=n), rng.normal(size=(n, 2))]
    y = X[:, 1] - 2 * X[:, 2] + rng.normal(size=n)
    ours = DCovRegularizedRegressor(prot_attr=0, lam=0, alpha=0.1 / n, tol=1e-14).fit(X, y)
    ref = Ridge(alpha=0.1).fit(X[:, 1:], y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    expo = rng.uniform(0.5, 2.0, n)
    counts = rng.poisson(expo * np.exp(0.3 * X[:, 1] - 0.2 * X[:, 2]))
    pois = DCovRegularizedRegressor(prot_attr=0, loss="poisson", lam=0, alpha=2e-3 * expo.sum() / n,
                                    tol=1e-14).fit(X, counts, exposure=expo)
    ref = PoissonRegressor(alpha=1e-3, tol=1e-10, max_iter=1000).fit(
        X[:, 1:], counts / expo, sample_weight=expo)
    np.testing.assert_allclose(pois.coef_, ref.coef_, atol=1e-5)
    assert pois.intercept_ == pytest.approx(ref.intercept_, abs=1e-5)
    np.testing.assert_allclose(pois.predict(X, exposure=expo),
                               expo * ref.predict(X[:, 1:]), rtol=1e-4)
    np.testing.assert_allclose(pois.predict(X, offset=np.log(expo)),
                               pois.predict(X, exposure=expo))


# ---------------------------------------------------------------- fairness as lam grows
def test_classifier_dependence_falls_with_lam(clf_data):
    X, y, s = clf_data
    dcors, accs = [], []
    for lam in (0.0, 2.0, 8.0, 30.0, 100.0):
        clf = DCovRegularizedClassifier(prot_attr=0, lam=lam).fit(X, y)
        dcors.append(dcor.distance_correlation(clf.predict_proba(X)[:, 1], s.astype(float)))
        accs.append(clf.score(X, y))
    assert np.all(np.diff(dcors) < 0)  # strictly decreasing
    assert dcors[0] > 0.3 and dcors[-1] < 0.05
    assert accs[0] > 0.75
    # X[:, 2] is independent of s and predicts y: a large lam keeps it, it does not end at
    # the constant (majority rate max(mean y, 1 - mean y), about 0.54 here)
    assert accs[-1] > max(y.mean(), 1 - y.mean()) + 0.1


def test_regression_continuous_attribute_dcor_to_zero():
    # target depends on a continuous protected attribute (age) directly and through x1
    rng = np.random.default_rng(3)
    n = 500
    age = rng.normal(size=n)
    x1 = rng.normal(size=n) + age
    x2 = rng.normal(size=n)
    y = x1 + x2 + 0.5 * age + 0.3 * rng.normal(size=n)
    X = np.c_[age, x1, x2]
    values = []
    for lam in (0.0, 1.0, 4.0, 20.0, 100.0):
        reg = DCovRegularizedRegressor(prot_attr=0, lam=lam).fit(X, y)
        values.append(dcor.distance_correlation(reg.predict(X), age))
    assert np.all(np.diff(values) < 0)
    assert values[0] > 0.5 and values[-1] < 0.1
    # x2 (independent of age, slope 1) stays in the model: the fit does not end constant
    assert reg.coef_[1] > 0.5
    # group-based contracts refuse a continuous attribute; ours takes it as it is
    with pytest.raises(ValueError, match="looks continuous"):
        encode_groups(rng.normal(size=n))
    assert reg.coef_.shape == (2,)  # age removed from the model inputs


def test_mixed_type_attributes_from_dataframe():
    rng = np.random.default_rng(4)
    n = 300
    df = pd.DataFrame({
        "race": rng.choice(["A", "B", "C"], n), "sex": rng.choice(["F", "M"], n),
        "age": rng.uniform(18, 70, n), "x1": rng.normal(size=n), "x2": rng.normal(size=n),
    })
    df["x1"] += (df["race"] == "A") * 1.0
    y = (df["x1"] + df["x2"] + rng.normal(size=n) > 0.5).astype(int)
    clf = DCovRegularizedClassifier(prot_attr=["race", "sex", "age"], lam=5.0).fit(df, y)
    assert clf.coef_.shape == (2,)
    assert list(clf.feature_names_in_) == list(df.columns)
    # same fit through routed sensitive_features with the protected columns left out of X
    clf2 = DCovRegularizedClassifier(lam=5.0).fit(
        df[["x1", "x2"]], y, sensitive_features=df[["race", "sex", "age"]])
    np.testing.assert_allclose(clf.coef_, clf2.coef_, atol=1e-8)
    np.testing.assert_allclose(clf.predict_proba(df), clf2.predict_proba(df[["x1", "x2"]]))


def test_mlp_adam_early_stopping_deterministic(clf_data):
    X, y, s = clf_data
    kw = dict(prot_attr=0, lam=5.0, hidden_layer_sizes=(8,), solver="adam", batch_size=64,
              learning_rate=0.01, max_iter=300, early_stopping=True, n_iter_no_change=5,
              dropout=0.1, random_state=0)
    a = DCovRegularizedClassifier(**kw).fit(X, y)
    b = DCovRegularizedClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.n_iter_ < 300  # stopped early
    assert a.score(X, y) > 0.7
    ref = DCovRegularizedClassifier(**{**kw, "lam": 0.0}).fit(X, y)
    assert dcor.distance_correlation(a.predict_proba(X)[:, 1], s.astype(float)) < \
        dcor.distance_correlation(ref.predict_proba(X)[:, 1], s.astype(float))


def test_lbfgs_early_stopping_keeps_best(clf_data):
    X, y, _ = clf_data
    clf = DCovRegularizedClassifier(prot_attr=0, lam=1.0, early_stopping=True,
                                    n_iter_no_change=2, tol=1e-3, random_state=0).fit(X, y)
    full = DCovRegularizedClassifier(prot_attr=0, lam=1.0).fit(X, y)
    assert clf.n_iter_ < full.n_iter_


def test_pipeline_with_scaler(clf_data):
    X, y, _ = clf_data
    pipe = make_pipeline(StandardScaler(), DCovRegularizedClassifier(prot_attr=0, lam=1.0))
    assert pipe.fit(X, y).score(X, y) > 0.75


# ---------------------------------------------------------------- bad input
def test_model_bad_inputs(clf_data):
    X, y, _ = clf_data
    with pytest.raises(ValueError, match="Only binary classification"):
        DCovRegularizedClassifier(prot_attr=0).fit(X, np.arange(len(y)) % 3)
    with pytest.raises(ValueError, match=r"y has 1 class\(es\) \[1.0\]"):
        DCovRegularizedClassifier(prot_attr=0).fit(X, np.ones(len(y)))
    with pytest.raises(ValueError, match="batch_size=3"):
        DCovRegularizedClassifier(prot_attr=0, solver="adam", batch_size=3).fit(X, y)
    with pytest.raises(ValueError, match="n_samples = 3"):
        DCovRegularizedClassifier(prot_attr=0).fit(X[:3], [0, 1, 0])
    Xn = X.copy()
    Xn[5, 0] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        DCovRegularizedClassifier(prot_attr=0).fit(Xn, y)
    with pytest.raises(ValueError, match="missing values"):
        DCovRegularizedClassifier().fit(X, y, sensitive_features=np.r_[np.nan, X[1:, 0]])
    with pytest.raises(ValueError, match="No protected attribute"):
        DCovRegularizedClassifier().fit(X, y)
    with pytest.raises(ValueError, match="needs solver='adam'"):
        DCovRegularizedClassifier(prot_attr=0, dropout=0.2, hidden_layer_sizes=(3,)).fit(X, y)
    with pytest.raises(ValueError, match="penalty"):
        DCovRegularizedClassifier(prot_attr=0, penalty="hsic").fit(X, y)
    with pytest.raises(ValueError, match="n x n"):
        big = np.random.default_rng(0).normal(size=(7000, 3))
        DCovRegularizedRegressor(prot_attr=[0, 1], max_iter=1).fit(big, big[:, 2])
    with pytest.raises(ValueError, match="exposure is only"):
        DCovRegularizedRegressor(prot_attr=0).fit(X, y, exposure=np.ones(len(y)))
    with pytest.raises(ValueError, match="non-negative"):
        DCovRegularizedRegressor(prot_attr=0, loss="poisson").fit(X, -np.ones(len(y)))
    with pytest.raises(ValueError, match="strictly positive"):
        DCovRegularizedRegressor(prot_attr=0, loss="poisson").fit(X, y, exposure=np.zeros(len(y)))


# ---------------------------------------------------------------- calibration
def test_calibrate_lambda_table_and_plot(clf_data):
    X, y, s = clf_data
    age = np.random.default_rng(5).normal(40, 10, len(y))
    Xa = np.c_[X, age]
    est = DCovRegularizedClassifier(prot_attr=[0, 3], lam=0.0)
    lams = [0.0, 2.0, 8.0, 30.0]
    table = calibrate_lambda(est, Xa, y, lams=lams, random_state=0, n_jobs=1, n_bins=2)
    assert list(table["lam"]) == lams
    assert {"task_loss", "accuracy", "jsd", "uf", "ccdcov", "dcor", "jdcov", "elbow"} <= \
        set(table.columns)
    # JSD over the 2 x 2 (s x age band) subgroups falls with lam, the loss rises
    assert np.all(np.diff(table["jsd"]) < 0) and np.all(np.diff(table["ccdcov"]) < 0)
    assert table["jsd"].iloc[-1] < table["jsd"].iloc[0] / 2.5
    assert table["task_loss"].iloc[-1] > table["task_loss"].iloc[0]
    assert table["elbow"].sum() == 1
    assert table.attrs["elbow_lam"] in lams
    # the elbow is the point farthest from the chord of the scaled (loss, JSD) curve
    x = (table["task_loss"] - table["task_loss"].min()) / np.ptp(table["task_loss"])
    yv = (table["jsd"] - table["jsd"].min()) / np.ptp(table["jsd"])
    d = np.abs((x.iloc[-1] - x.iloc[0]) * (yv - yv.iloc[0])
               - (yv.iloc[-1] - yv.iloc[0]) * (x - x.iloc[0]))
    assert table.attrs["elbow_lam"] == lams[int(np.argmax(d))]
    with joblib.parallel_backend("threading"):  # no process start-up in the test budget
        parallel = calibrate_lambda(est, Xa, y, lams=lams, random_state=0, n_jobs=2,
                                    n_bins=2)
    pd.testing.assert_frame_equal(table, parallel)
    ax = plot_lambda_calibration(table)
    assert ax.get_xlabel().startswith("JSD") and len(ax.lines) == 2
    with pytest.raises(ValueError, match="lams"):
        calibrate_lambda(est, Xa, y, lams=[-1.0])
    # tolerance rule: lowest JSD among the lams within `tolerance` accuracy of lam = 0
    assert "tolerance_pick" not in table  # off by default, the elbow stays the default
    acc, jsd = table["accuracy"].to_numpy(), table["jsd"].to_numpy()
    for tol in (0.0, 0.05, 1.0):
        ruled = calibrate_lambda(est, Xa, y, lams=lams, random_state=0, n_bins=2,
                                 tolerance=tol)
        within = [i for i in range(len(lams)) if acc[0] - acc[i] <= tol + 1e-12]
        expected = lams[min(within, key=lambda i: jsd[i])]
        assert ruled.attrs["tolerance_lam"] == expected
        assert ruled["tolerance_pick"].sum() == 1 and ruled.attrs["elbow_lam"] == \
            table.attrs["elbow_lam"]
    assert ruled.attrs["tolerance_lam"] == 30.0  # tolerance 1: anything goes, lowest JSD
    ax = plot_lambda_calibration(ruled)
    assert len(ax.lines) == 3 and "tolerance" in ax.get_legend().get_texts()[1].get_text()
    with pytest.raises(ValueError, match="tolerance"):
        calibrate_lambda(est, Xa, y, lams=lams, tolerance=-0.1)


def test_unfairness_ratio_of_collapsed_model_is_zero():
    # a GLM regularised to a constant stops with coefficients ~1e-12 (COMPAS, lam=60:
    # predictions spread ~1e-11); UF must report 0 there, not a ratio of noise
    groups = np.array(["a", "b"] * 50)
    for spread in (1e-16, 1e-11):
        y = 0.4549 + spread * ((groups == "a") * (np.arange(100) % 3))
        assert 0 < np.ptp(y) < 3 * spread
        assert unfairness_ratio(None, y, sensitive_features=groups) == 0.0
    y_real = 0.45 + 1e-6 * (groups == "a")  # a tiny but real gap: all between-group
    assert unfairness_ratio(None, y_real, sensitive_features=groups) == pytest.approx(1.0)


def test_calibrate_lambda_regressor_with_validation_data():
    rng = np.random.default_rng(6)
    n = 400
    age = rng.normal(size=n)
    X = np.c_[rng.normal(size=n) + age, rng.normal(size=n)]
    y = X.sum(axis=1) + rng.normal(size=n) * 0.2
    est = DCovRegularizedRegressor(lam=0.0)
    table = calibrate_lambda(est, X[:300], y[:300], sensitive_features=age[:300],
                             validation_data=(X[300:], y[300:], age[300:]), lams=[0, 5, 50])
    assert "rmse" in table and table["dcor"].iloc[-1] < table["dcor"].iloc[0]
    assert table["rmse"].iloc[0] == pytest.approx(
        np.sqrt(np.mean((DCovRegularizedRegressor(lam=0.0).fit(
            X[:300], y[:300], sensitive_features=age[:300]).predict(X[300:]) - y[300:]) ** 2)))


# ---------------------------------------------------------------- validation layer
def test_string_feature_column_is_named():
    # issue item 13: a string feature gets an error naming the column, not pandas' message
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"sex": rng.integers(0, 2, 40), "x": rng.normal(size=40),
                       "city": rng.choice(["Ghent", "Leuven"], 40)})
    y = rng.integers(0, 2, 40)
    with pytest.raises(ValueError, match="needs numeric features, but column 'city' of X"):
        DCovRegularizedClassifier(prot_attr="sex").fit(df, y)


def test_fitted_attributes_keyword_only_and_sample_weight_refused(clf_data):
    X, y, _ = clf_data
    clf = DCovRegularizedClassifier(prot_attr=0, lam=1.0).fit(X, y)
    assert clf.groups_ == [0.0, 1.0] and clf.prot_attr_names_ == ["x0"]
    assert clf.pos_label_ == clf.classes_[1] and not hasattr(clf, "_prot_columns")
    with pytest.raises(TypeError):
        DCovRegularizedClassifier(0)  # prot_attr is keyword-only
    # no weighted form of the pairwise penalty: fit has no sample_weight parameter, so a
    # weight is refused by Python itself rather than silently dropped
    with pytest.raises(TypeError, match="sample_weight"):
        DCovRegularizedClassifier(prot_attr=0).fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match="sample_weight"):
        DCovRegularizedRegressor(prot_attr=0).fit(X, y, sample_weight=np.ones(len(y)))
    # a continuous attribute: names, no groups
    age = np.random.default_rng(1).normal(size=len(y))
    reg = DCovRegularizedRegressor(lam=1.0).fit(X, y, sensitive_features=age)
    assert reg.prot_attr_names_ == ["sensitive_feature"] and not hasattr(reg, "groups_")
