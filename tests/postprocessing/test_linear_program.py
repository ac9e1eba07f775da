"""Tests for fairkit.postprocessing._linear_program (Xian & Zhao's linear post-processing).

Numbers come from a linear program written here with scipy directly on the raw rows, from
fairkit's ThresholdOptimizer (which equals fairlearn's) on the same probabilities, and from
rates counted directly on the data.
"""

import pickle
import warnings

import numpy as np
import pytest
from scipy.optimize import linprog
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fairkit.base import ConstantFitWarning
from fairkit.postprocessing import ThresholdOptimizer
from fairkit.postprocessing._linear_program import LinearProgramPostprocessor


def synthetic(n, seed=0, n_classes=2, shift=1.0, p_group=0.5):
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < p_group).astype(int)
    x = rng.normal(size=(n, 2)) + shift * a[:, None]
    latent = x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n)
    if n_classes == 2:
        y = (latent > 0.8).astype(int)
    else:
        y = np.digitize(latent, [0.3, 1.6])
    return np.c_[a, x], y, a


def rates(pred_proba, a):
    return np.array([pred_proba[a == g].mean(axis=0) for g in np.unique(a)])


def expected_accuracy(proba, y, classes):
    return float(np.mean(proba[np.arange(len(y)), np.searchsorted(classes, y)]))


# -- against fairkit's ThresholdOptimizer (= fairlearn) ----------------------------------
# Both rules are fitted on the same model's probabilities on the same rows. The LP maximises
# accuracy in expectation under those probabilities (Xian & Zhao), ThresholdOptimizer the
# accuracy on the labels, so each wins its own criterion on the fitting rows: the LP's
# expected accuracy is at least ThresholdOptimizer's (whose rule is feasible for the LP up
# to the grid), and on the labels ThresholdOptimizer leads in-sample by its fit to label
# noise (measured 0.0015 at 10,000 fitting rows, 0.005 at 2,000), which vanishes held out.
def _compare_with_threshold_optimizer(model, X_fit, y_fit, X_test, y_test, prot):
    lp = LinearProgramPostprocessor(
        model, prot_attr=prot, prefit=True, cv=None, random_state=0
    ).fit(X_fit, y_fit)
    to = ThresholdOptimizer(
        model,
        prot_attr=prot,
        prefit=True,
        cv=None,
        constraints="demographic_parity",
        random_state=0,
    )
    to.fit(X_fit, y_fit)
    out = {}
    for name, X, y in (("fit", X_fit, y_fit), ("test", X_test, y_test)):
        a = np.asarray(X[prot] if hasattr(X, "columns") else X[:, prot])
        P = model.predict_proba(X)
        out[name] = [
            (
                expected_accuracy(p, np.asarray(y), lp.classes_),  # on the labels
                float(np.mean(np.sum(p * P, axis=1))),  # under the model's probabilities
                np.ptp(rates(p[:, 1], a)),
            )
            for p in (lp.predict_proba(X), to.predict_proba(X))
        ]
    return out


def _check(out, label_gap_fit):
    (acc_lp, exp_lp, spd_lp), (acc_to, exp_to, spd_to) = out["fit"]
    assert spd_lp < 1e-6  # tol=0: exact parity on the fitting rows
    assert spd_lp == pytest.approx(spd_to, abs=0.002)
    assert exp_lp >= exp_to - 2e-4
    assert acc_lp == pytest.approx(acc_to, abs=label_gap_fit)
    (acc_lp, exp_lp, spd_lp), (acc_to, exp_to, spd_to) = out["test"]
    assert acc_lp >= acc_to - 0.005  # held out the LP does no worse
    assert abs(spd_lp - spd_to) < 0.015  # two rules' held-out parity: sampling noise


@pytest.mark.parametrize(
    "n, p_group, seed, gap",
    [(4000, 0.5, 0, 0.008), (3000, 0.2, 1, 0.01), (20000, 0.5, 0, 0.0025), (20000, 0.2, 1, 0.0025)],
)
def test_binary_parity_matches_threshold_optimizer_synthetic(n, p_group, seed, gap):
    X, y, a = synthetic(n, seed=seed, p_group=p_group)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.5, random_state=seed)
    model = LogisticRegression().fit(X_fit, y_fit)
    _check(_compare_with_threshold_optimizer(model, X_fit, y_fit, X_test, y_test, 0), gap)


def test_binary_parity_matches_threshold_optimizer_adult():
    from fairkit.datasets import load_adult

    X, y = load_adult(return_X_y=True)
    X = X[["age", "education-num", "hours-per-week", "capital-gain", "sex", "race"]]
    X_model, X_rest, y_model, y_rest = train_test_split(
        X, y, train_size=0.4, random_state=0, stratify=y
    )
    X_fit, X_test, y_fit, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest
    )
    ct = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["sex", "race"]), remainder=StandardScaler()
    )
    model = make_pipeline(ct, LogisticRegression(max_iter=1000)).fit(X_model, y_model)
    out = _compare_with_threshold_optimizer(model, X_fit, y_fit, X_test, y_test, "sex")
    _check(out, 0.003)


# -- against a brute-force LP on the raw rows --------------------------------------------
def raw_lp(P, a, w, tol, constraints, labels=None):
    """max sum_i w_i sum_k pi_ik P_ik, one policy row per sample, pairwise group gaps <= tol.

    ``labels``: the classes y whose conditional rates are equalised (all by default)."""
    n, K = P.shape
    groups = np.unique(a)
    labels = range(K) if labels is None else labels
    A_ub, b_ub = [], []
    for g, h in [(g, h) for g in groups for h in groups if g != h]:
        for y in labels:
            for k in range(K):
                if constraints == "demographic_parity" and y != labels[0]:
                    continue
                if constraints == "equal_opportunity" and k != y:
                    continue
                wy = w if constraints == "demographic_parity" else w * P[:, y]
                row = np.zeros(n * K)
                for grp, sign in ((g, 1.0), (h, -1.0)):
                    m = a == grp
                    row[np.flatnonzero(m) * K + k] = sign * wy[m] / wy[m].sum()
                A_ub.append(row)
                b_ub.append(tol)
    A_eq = np.kron(np.eye(n), np.ones(K))
    res = linprog(
        -(w[:, None] * P).ravel() / w.sum(),
        A_ub=np.array(A_ub),
        b_ub=np.array(b_ub),
        A_eq=A_eq,
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return -res.fun


class FixedProba(ClassifierMixin, BaseEstimator):
    """Test double: class probabilities read from the last columns of X."""

    def __init__(self, n_classes=2):
        self.n_classes = n_classes

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.asarray(X)[:, -self.n_classes :]


@pytest.mark.parametrize(
    "constraints", ["demographic_parity", "equal_opportunity", "equalized_odds"]
)
@pytest.mark.parametrize("n_classes, tol", [(2, 0.0), (2, 0.05), (3, 0.0), (3, 0.1)])
def test_small_problem_matches_raw_row_lp(constraints, n_classes, tol):
    rng = np.random.default_rng(3)
    n = 30
    a = np.repeat([0, 1, 2], 10)
    P = np.array([rng.dirichlet(1 + 3 * np.eye(n_classes)[g % n_classes]) for g in a])
    y = np.array([rng.choice(n_classes, p=p) for p in P])
    y[:n_classes] = np.arange(n_classes)
    w = rng.integers(1, 4, n).astype(float)
    X = np.c_[a, P]
    # grid fine enough that every row is its own cell: the binned LP is the raw one
    model = FixedProba(n_classes).fit(X, y)
    lp = LinearProgramPostprocessor(
        model, prot_attr=0, prefit=True, cv=None, constraints=constraints, tol=tol, n_bins=10**6
    ).fit(X, y, sample_weight=w)
    assert len(lp.policy_) == n
    # binary equal opportunity: only the favourable class's (class 1) recall
    labels = [1] if (constraints == "equal_opportunity" and n_classes == 2) else None
    expect = raw_lp(P, a, w, tol, constraints, labels)
    assert lp.objective_ == pytest.approx(expect, abs=1e-7)
    # and the rule's own rates (under the probabilities) meet the constraint
    pi = lp.predict_proba(X)
    for k in range(n_classes):
        if constraints == "demographic_parity":
            r = [np.average(pi[a == g, k], weights=w[a == g]) for g in range(3)]
            assert np.ptp(r) <= tol + 1e-7
    # a coarse grid can only lose objective
    coarse = LinearProgramPostprocessor(
        model, prot_attr=0, prefit=True, cv=None, constraints=constraints, tol=tol, n_bins=3
    )
    with warnings.catch_warnings():  # a 3-step grid may leave only a constant rule
        warnings.simplefilter("ignore", ConstantFitWarning)
        coarse.fit(X, y, sample_weight=w)
    assert coarse.objective_ <= expect + 1e-7


def test_integer_weights_equal_repeated_rows():
    X, y, a = synthetic(600, seed=5)
    w = np.random.default_rng(0).integers(1, 4, len(y))
    model = LogisticRegression().fit(X, y)
    kw = dict(prot_attr=0, prefit=True, cv=None, n_bins=50)
    lw = LinearProgramPostprocessor(model, **kw).fit(X, y, sample_weight=w)
    lr = LinearProgramPostprocessor(model, **kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert lw.objective_ == pytest.approx(lr.objective_, abs=1e-9)
    np.testing.assert_allclose(lw.predict_proba(X), lr.predict_proba(X), atol=1e-6)
    # zero weights: as if the rows were absent
    w0 = np.where(np.arange(len(y)) % 3 == 0, 0, 1)
    l0 = LinearProgramPostprocessor(model, **kw).fit(X, y, sample_weight=w0)
    ld = LinearProgramPostprocessor(model, **kw).fit(X[w0 > 0], y[w0 > 0])
    np.testing.assert_allclose(l0.predict_proba(X), ld.predict_proba(X), atol=1e-6)


# -- multiclass ----------------------------------------------------------------------------
@pytest.mark.parametrize("tol", [0.0, 0.03])
def test_multiclass_parity_gap_within_tol(tol):
    X, y, a = synthetic(6000, seed=2, n_classes=3)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.5, random_state=0)
    a_fit, a_test = X_fit[:, 0], X_test[:, 0]
    model = LogisticRegression().fit(X, y)
    unfair = np.ptp(rates(model.predict_proba(X_test), a_test), axis=0).max()
    assert unfair > 0.1  # there is something to remove
    lp = LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, tol=tol, random_state=0).fit(
        X_fit, y_fit
    )
    # on the out-of-fold probabilities the rule was fitted on: exact
    assert lp.cv_ == 5
    gap_fit = np.ptp(rates(lp.predict_proba(X_fit), a_fit), axis=0)
    gap_test = np.ptp(rates(lp.predict_proba(X_test), a_test), axis=0)
    assert gap_fit.max() <= tol + 0.01  # refitted model on all rows vs out-of-fold
    # held out, a group's score distribution differs by sampling (measured: tol + 0.03)
    assert gap_test.max() <= tol + 0.04
    # draws follow the rule
    pred = lp.predict(X_test)
    drawn = np.array([[np.mean(pred[a_test == g] == k) for k in range(3)] for g in (0, 1)])
    assert np.ptp(drawn, axis=0).max() <= tol + 0.06
    # in-sample with cv=None and prefit: exact on the fitting rows
    lp0 = LinearProgramPostprocessor(model, prot_attr=0, tol=tol, prefit=True, cv=None).fit(
        X_fit, y_fit
    )
    assert np.ptp(rates(lp0.predict_proba(X_fit), a_fit), axis=0).max() <= tol + 1e-7


def test_multiclass_equalized_odds_under_probabilities():
    X, y, a = synthetic(3000, seed=4, n_classes=3)
    model = LogisticRegression().fit(X, y)
    lp = LinearProgramPostprocessor(
        model, prot_attr=0, constraints="equalized_odds", tol=0.02, prefit=True, cv=None
    ).fit(X, y)
    P, pi = model.predict_proba(X), lp.predict_proba(X)
    for yy in range(3):
        r = [(pi[a == g] * P[a == g, yy : yy + 1]).sum(0) / P[a == g, yy].sum() for g in (0, 1)]
        assert np.abs(r[0] - r[1]).max() <= 0.02 + 1e-7
    # and on the labels, roughly (the model is calibrated)
    for yy in range(3):
        r = [pi[(a == g) & (y == yy)].mean(0) for g in (0, 1)]
        assert np.abs(r[0] - r[1]).max() <= 0.08


def test_string_labels_and_pos_label():
    X, y, a = synthetic(1500, seed=6)
    labels = np.where(y == 1, "yes", "no")
    lp = LinearProgramPostprocessor(
        LogisticRegression(),
        prot_attr=0,
        constraints="equal_opportunity",
        pos_label="yes",
        random_state=0,
    ).fit(X, labels)
    assert list(lp.classes_) == ["no", "yes"] and lp.pos_label_ == "yes"
    assert set(lp.predict(X)) <= {"no", "yes"}


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, name",
    [
        ({"tol": -0.1}, "tol"),
        ({"constraints": "parity"}, "constraints"),
        ({"n_bins": 0}, "n_bins"),
    ],
)
def test_bad_parameters_raise_naming_them(params, name):
    X, y, _ = synthetic(200)
    with pytest.raises(ValueError, match=name):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, **params).fit(X, y)


def test_other_bad_inputs():
    X, y, _ = synthetic(200)
    with pytest.raises(ValueError, match="pos_label"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, pos_label=7).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0).fit(
            X, y, sample_weight=-np.ones(len(y))
        )
    with pytest.raises(ValueError, match="estimator"):
        LinearProgramPostprocessor(prot_attr=0).fit(X, y)
    lp = LinearProgramPostprocessor(LogisticRegression(), prot_attr=0).fit(X, y)
    X2 = X.copy()
    X2[0, 0] = 5
    with pytest.raises(ValueError, match="not seen during fit"):
        lp.predict(X2)


# -- scikit-learn integration -----------------------------------------------------------
def test_pipeline_and_pickle():
    X, y, a = synthetic(800, seed=7)
    pipe = make_pipeline(
        StandardScaler(),
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, random_state=0),
    )
    # scaling maps the two group values onto two other values: still two groups
    pipe.fit(X, y)
    before = pipe.predict_proba(X)
    clone_ = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(clone_.predict_proba(X), before)
    np.testing.assert_array_equal(clone_.predict(X), pipe.predict(X))
    assert 0.5 < pipe.score(X, y) <= 1.0


def test_unseen_cell_takes_nearest_cell_of_its_group():
    X, y, a = synthetic(400, seed=8)
    model = LogisticRegression().fit(X, y)
    lp = LinearProgramPostprocessor(model, prot_attr=0, prefit=True, cv=None, n_bins=1000).fit(X, y)
    far = np.array([[0, 8.0, 8.0], [1, -8.0, -8.0]])  # p(1|x) ~ 1 and ~ 0
    p = lp.predict_proba(far)
    assert p[0, 1] == pytest.approx(1.0) and p[1, 0] == pytest.approx(1.0)


def test_many_classes_fine_grid_unpacked_cells():
    # 5 classes on a 10**6-step grid: cell keys too large for one int64 (compared whole);
    # parity is still exact on the fitting rows, and a batch predicts like its rows one by one
    rng = np.random.default_rng(9)
    a = rng.integers(0, 2, 400)
    P = np.array([rng.dirichlet(1 + 2 * np.eye(5)[(g + i) % 5]) for i, g in enumerate(a)])
    y = np.array([rng.choice(5, p=p) for p in P])
    X = np.c_[a, P]
    model = FixedProba(5).fit(X, y)
    lp = LinearProgramPostprocessor(
        model, prot_attr=0, prefit=True, cv=None, tol=0.02, n_bins=10**6
    ).fit(X, y)
    assert lp._cell_packed is None
    pi = lp.predict_proba(X)
    assert np.ptp(rates(pi, a), axis=0).max() <= 0.02 + 1e-7
    np.testing.assert_allclose(lp.predict_proba(X[:7]), pi[:7])


def test_auto_bins_exact_root():
    # n_bins="auto" is floor(4096 ** (1 / (n_classes - 1))): 16 with 4 classes (16**3 =
    # 4096), though 4096 ** (1/3) is 15.999... in floating point; 8 with 5 classes
    rng = np.random.default_rng(10)
    for n_classes, expect in ((4, 16), (5, 8)):
        a = rng.integers(0, 2, 200)
        P = rng.dirichlet(np.ones(n_classes), 200)
        y = np.arange(200) % n_classes
        lp = LinearProgramPostprocessor(
            FixedProba(n_classes).fit(None, y), prot_attr=0, prefit=True, cv=None, tol=0.5
        ).fit(np.c_[a, P], y)
        assert lp.n_bins_ == expect
