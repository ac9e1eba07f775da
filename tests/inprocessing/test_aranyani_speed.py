"""The compiled engine of AranyaniClassifier's batch-size-1 loop against the NumPy loop.

``_learn_one_by_one_numpy`` (the loop before the engines, kept as the fallback when numba
is missing) is the reference.

* ``"exact"`` (the default with numba) leaves the matrix-vector products and ``exp`` to
  NumPy and compiles the rest with the same operations in the same order, so it must be
  bit-identical: every array of the fitted state is compared with ``assert_array_equal``.
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import fairkit.inprocessing._aranyani_forest as forest
from fairkit.inprocessing import AranyaniClassifier
from fairkit.utils._adam import Adam

pytest.importorskip("numba")


def _data(n, d, n_groups=2, n_classes=2, raw=False, positives=0.5, seed=0):
    rng = np.random.RandomState(seed)
    a = rng.randint(0, n_groups, n)
    X = rng.normal(size=(n, d)) + 0.5 * a[:, None]
    if raw:  # columns in the hundreds and thousands
        X = X * rng.uniform(1, 1000, size=d) + rng.uniform(-500, 500, size=d)
    X = np.column_stack([a, X])
    score = X[:, 1] + 0.5 * X[:, 2] + rng.normal(size=n)
    if n_classes == 2:
        y = (score > np.quantile(score, 1 - positives)).astype(int)
    else:
        y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return X, y


def _fit_both(monkeypatch, X, y, engine, **params):
    out = {}
    engine = "exact"
    for name in ("numpy", engine):
        monkeypatch.setattr(forest, "_ENGINE", name)
        clf = AranyaniClassifier(prot_attr=0, random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out[name] = clf.fit(X, y)
    return out["numpy"], out[engine]


def _state(clf):
    return {"params": clf._params, "grad": clf._grad, "m": clf._opt.m[0],
            "v": clf._opt.v[0], "counts": clf.group_counts_, "agg_s": clf._agg_s,
            "agg_g": clf._agg_g, "loss_curve": np.array(clf.loss_curve_)}


CASES = [
    # (n, d, groups, classes, raw, positives, params)
    (500, 3, 2, 2, False, 0.5, dict(lam=1.0)),
    (500, 3, 2, 2, True, 0.5, dict(lam=0.0, standardize=False, max_iter=3)),  # raw
    (2000, 5, 2, 2, False, 0.5, dict(lam=0.0)),
    (2000, 5, 2, 2, True, 0.1, dict(lam=1.0, n_trees=5, depth=2)),  # imbalanced
    (3000, 4, 2, 2, False, 0.5, dict(lam=5.0, smoothing="reference", depth=6, n_trees=2)),
    (1500, 4, 3, 2, False, 0.3, dict(lam=1.0)),  # per-group gaps to the pooled mean
    (1500, 4, 2, 2, False, 0.5, dict(lam=1.0, constraint="equalized_odds")),
    (1500, 4, 3, 3, False, 0.5, dict(lam=0.5, constraint="equalized_odds")),
    (1000, 4, 2, 10, False, 0.5, dict(lam=1.0, n_trees=2, depth=3)),  # 10 classes
    (6000, 30, 2, 2, False, 0.5, dict(lam=1.0, n_trees=1, depth=1)),  # one pass
]


@pytest.mark.parametrize("n, d, groups, classes, raw, positives, params", CASES)
def test_exact_engine_is_bit_identical_to_numpy_loop(monkeypatch, n, d, groups, classes,
                                                     raw, positives, params):
    X, y = _data(n, d, groups, classes, raw, positives, seed=n + d)
    ref, new = _fit_both(monkeypatch, X, y, "exact", **params)
    assert new.n_iter_ == ref.n_iter_ and new.t_ == ref.t_ == new._opt.t
    for name, value in _state(ref).items():
        np.testing.assert_array_equal(_state(new)[name], value, err_msg=name)
    np.testing.assert_array_equal(new.predict_proba(X), ref.predict_proba(X))


def test_prequential_predictions_of_a_chunked_stream(monkeypatch):
    # partial_fit in chunks with record=True (the test-then-train predictions)
    X, y = _data(3000, 6, seed=7)
    out = {}
    engine = "exact"
    for name in ("numpy", engine):
        monkeypatch.setattr(forest, "_ENGINE", name)
        clf = AranyaniClassifier(prot_attr=0, random_state=4, lam=1.0)
        preds = [clf._partial_fit(X[i:i + 700], y[i:i + 700], [0, 1] if i == 0 else None,
                                  None, record=True) for i in range(0, 3000, 700)]
        out[name] = (np.concatenate(preds), clf)
    np.testing.assert_array_equal(out[engine][0], out["numpy"][0])
    np.testing.assert_array_equal(out[engine][1]._params, out["numpy"][1]._params)
    assert out[engine][1]._loss_sum == out["numpy"][1]._loss_sum


def test_auto_engine_is_exact_with_numba_and_numpy_without(monkeypatch):
    X, y = _data(300, 4, seed=9)
    calls = []
    for name in ("_learn_rows_exact", "_learn_one_by_one_numpy"):
        original = getattr(forest._SoftForest, name)

        def spy(self, *args, _name=name, _original=original):
            calls.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(forest._SoftForest, name, spy)
    monkeypatch.setattr(forest, "_ENGINE", "auto")
    fits = []
    for has_numba in (True, False):
        monkeypatch.setattr(forest, "_numba_available", lambda has=has_numba: has)
        clf = AranyaniClassifier(prot_attr=0, random_state=3, max_iter=1)
        fits.append(clf.fit(X, y)._params)
    assert calls == ["_learn_rows_exact", "_learn_one_by_one_numpy"]
    np.testing.assert_array_equal(fits[0], fits[1])


def test_first_adam_step_moves_each_parameter_by_the_learning_rate(monkeypatch):
    # Kingma & Ba: the first step is lr * g / (|g| + eps) = lr * sign(g) for |g| >> eps,
    # worked by hand from the update rule (m_hat = g, v_hat = g^2).
    monkeypatch.setattr(forest, "_ENGINE", "exact")
    X, y = _data(1, 6, seed=5)
    clf = AranyaniClassifier(prot_attr=0, random_state=2, learning_rate=0.01)
    clf.partial_fit(X, y, classes=[0, 1])
    start = AranyaniClassifier(prot_attr=0, random_state=2, learning_rate=0.01)
    start._start(np.array([0, 1]), X.shape[1])
    moved = start._params - clf._params
    g = clf._grad
    big = np.abs(g) > 1e-4
    assert big.sum() > 50
    np.testing.assert_allclose(moved[big], 0.01 * np.sign(g[big]), rtol=1e-3)
    assert clf.t_ == 1 and clf._opt.t == 1


def test_pickle_mid_stream_resumes_exactly(monkeypatch):
    monkeypatch.setattr(forest, "_ENGINE", "auto")
    X, y = _data(1200, 5, seed=8)
    whole = AranyaniClassifier(prot_attr=0, random_state=0).partial_fit(X, y, classes=[0, 1])
    half = AranyaniClassifier(prot_attr=0, random_state=0).partial_fit(
        X[:600], y[:600], classes=[0, 1])
    half = pickle.loads(pickle.dumps(half)).partial_fit(X[600:], y[600:])
    np.testing.assert_array_equal(half._params, whole._params)
    np.testing.assert_array_equal(half._opt.v[0], whole._opt.v[0])
    assert half.t_ == whole.t_ == 1200


def test_adam_moments_are_those_step_creates_and_checked():
    p = np.zeros(3)
    opt = Adam(0.1)
    m, v = opt._moments([p])
    np.testing.assert_array_equal(m[0], np.zeros(3))
    opt.step([p], [np.array([1.0, -2.0, 0.0])])
    # after one step m = (1 - 0.9) g and v = (1 - 0.999) g^2, the same arrays
    assert opt._moments([p])[0][0] is m[0]
    np.testing.assert_allclose(m[0], [0.1, -0.2, 0.0])
    np.testing.assert_allclose(v[0], [0.001, 0.004, 0.0])
    with pytest.raises(ValueError, match="reset"):
        opt._moments([np.zeros(4)])


def test_import_does_not_import_numba():
    code = ("import sys, fairkit, fairkit.inprocessing; "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
