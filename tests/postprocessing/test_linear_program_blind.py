"""Tests for the attribute-blind mode of fairkit.postprocessing._linear_program
(``group_model``: Xian, Yin & Zhao's statistical parity on expected group rates).

Numbers come from a linear program written here with scipy on the raw rows (one policy row
per sample), from the true group probabilities of simulated data (rates computed here with
numpy), from scikit-learn's own models and metrics, and from rates counted on the data.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401 (loads OpenMP)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from fairkit.postprocessing._linear_program import LinearProgramPostprocessor


@pytest.fixture(autouse=True)
def _one_thread():
    # group_model="auto" is gradient boosting (OpenMP): one thread each, as the suite runs
    # in parallel processes on shared cores
    with threadpool_limits(limits=1):
        yield


# -- test doubles ------------------------------------------------------------------------
class ColumnProba(ClassifierMixin, BaseEstimator):
    """Probabilities read from columns ``start:stop`` of X (of the model matrix, i.e. X
    without the protected column)."""

    def __init__(self, start=0, stop=2):
        self.start = start
        self.stop = stop

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=float)[:, self.start : self.stop]


class Posterior(ClassifierMixin, BaseEstimator):
    """The true Pr(A = 1 | x) = expit(slope * x[:, col]) of :func:`simulate`."""

    def __init__(self, col=1, slope=2.0):
        self.col = col
        self.slope = slope

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        q = expit(self.slope * np.asarray(X, dtype=float)[:, self.col])
        return np.c_[1 - q, q]


class Constant(ClassifierMixin, BaseEstimator):
    """Group probabilities that do not depend on x (the group's share)."""

    def fit(self, X, y, sample_weight=None):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.share_ = counts / counts.sum()
        return self

    def predict_proba(self, X):
        return np.tile(self.share_, (len(X), 1))


class NoWeights(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


class OneColumn(Constant):
    """A broken group model: one probability column whatever it was fitted on."""

    def predict_proba(self, X):
        return np.ones((len(X), 1))


def simulate(n, seed=0, slope=2.0, p_shift=0.0, y_offset=0.8, n_classes=2, scale=1.0):
    """Features x0 (label signal) and x1 (group proxy); A | x0, x1 ~ Bernoulli(expit(slope
    x1)), so the true group posterior given both features is known. Columns: [a, x0, x1]
    (x scaled by ``scale``)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n) + p_shift
    a = (rng.random(n) < expit(slope * x1)).astype(int)
    x0 = rng.normal(size=n) + 0.8 * x1  # given x1, independent of a: x1 is the posterior
    latent = x0 + 0.5 * x1 + rng.normal(size=n)
    y = (latent > y_offset).astype(int) if n_classes == 2 else np.digitize(latent, [0.0, 1.2])
    return np.c_[a, scale * x0, scale * x1], y, a


def expected_gaps(pi, q, w=None):
    """max_a - min_a of sum_i w_i pi_ik q_ia / sum_i w_i q_ia, per class k."""
    w = np.ones(len(pi)) if w is None else w
    rates = np.array([(w * q[:, a]) @ pi / (w * q[:, a]).sum() for a in range(q.shape[1])])
    return np.ptp(rates, axis=0)


# -- against a brute-force LP on the raw rows --------------------------------------------
def raw_blind_lp(P, Q, w, tol):
    """max sum_i w_i sum_k pi_ik P_ik / sum w, one policy row per sample, with the expected
    group rates sum_i w_i Q_ia pi_ik / sum_i w_i Q_ia within tol for every pair of groups."""
    n, K = P.shape
    G = Q.shape[1]
    A_ub, b_ub = [], []
    for g in range(G):
        for h in range(G):
            if g == h:
                continue
            for k in range(K):
                row = np.zeros(n * K)
                row[np.arange(n) * K + k] = (w * Q[:, g]) / (w * Q[:, g]).sum() - (w * Q[:, h]) / (
                    w * Q[:, h]
                ).sum()
                A_ub.append(row)
                b_ub.append(tol)
    res = linprog(
        -(w[:, None] * P).ravel() / w.sum(),
        A_ub=np.array(A_ub),
        b_ub=np.array(b_ub),
        A_eq=np.kron(np.eye(n), np.ones(K)),
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return -res.fun


@pytest.mark.parametrize("n_classes, n_groups", [(2, 2), (2, 3), (3, 2)])
@pytest.mark.parametrize("tol", [0.0, 0.05])
def test_blind_lp_equals_raw_row_lp(n_classes, n_groups, tol):
    rng = np.random.default_rng(11)
    n = 36
    a = np.arange(n) % n_groups
    # group probabilities informative about a; class probabilities related to them
    Q = np.array([rng.dirichlet(1 + 4 * np.eye(n_groups)[g]) for g in a])
    P = np.array(
        [rng.dirichlet(1 + 3 * np.eye(n_classes)[(g + i) % n_classes]) for i, g in enumerate(a)]
    )
    y = np.array([rng.choice(n_classes, p=p) for p in P])
    y[:n_classes] = np.arange(n_classes)
    w = rng.integers(1, 4, n).astype(float)
    X = np.c_[a, P, Q]
    lp = LinearProgramPostprocessor(
        ColumnProba(0, n_classes).fit(X, y),
        prot_attr=0,
        prefit=True,
        cv=None,
        tol=tol,
        n_bins=10**6,
        group_model=ColumnProba(n_classes, n_classes + n_groups),
    ).fit(X, y, sample_weight=w)
    assert len(lp.policy_) == n  # every row its own cell: the binned LP is the raw one
    assert lp.objective_ == pytest.approx(raw_blind_lp(P, Q, w, tol), abs=1e-7)
    # the rule's expected rates (numpy, from the group probabilities) meet the constraint
    pi = lp.predict_proba(X)
    assert expected_gaps(pi, Q, w).max() <= tol + 1e-7
    # and predict needs no protected column: the same rule from X without it
    np.testing.assert_array_equal(lp.predict_proba(X[:, 1:]), pi)
    # the unconstrained optimum (argmax) is an upper bound; parity costs here
    assert lp.objective_ <= np.sum(w * P.max(axis=1)) / w.sum() + 1e-12


# -- synthetic data with a known group posterior ------------------------------------------
@pytest.mark.parametrize(
    "n, slope, p_shift, y_offset",
    [(4000, 2.0, 0.0, 0.8), (4000, 1.0, -1.0, 0.8), (8000, 3.0, 0.0, 2.0), (600, 2.0, 0.5, 0.0)],
)
def test_true_posterior_gives_parity_on_true_groups(n, slope, p_shift, y_offset):
    """With the true Pr(A | x) as group model: the expected-rate gap (numpy, from the true
    probabilities) is 0 on the fitting rows, and on fresh rows the gap on the *true*
    groups is sampling noise, where the unmitigated model's gap is large."""
    X, y, a = simulate(n, seed=1, slope=slope, p_shift=p_shift, y_offset=y_offset)
    X_new, y_new, a_new = simulate(40000, seed=2, slope=slope, p_shift=p_shift, y_offset=y_offset)
    model = LogisticRegression().fit(X[:, 1:], y)  # the blind model: no protected column
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a calibrated group model: no warning
        lp = LinearProgramPostprocessor(
            model,
            prot_attr=0,
            prefit=True,
            cv=None,
            group_model=Posterior(1, slope),
            random_state=0,
        ).fit(X, y)
    q = Posterior(1, slope).predict_proba(X[:, 1:])
    assert expected_gaps(lp.predict_proba(X), q).max() <= 1e-7
    # group_gap_: the gap on the true groups of the fitting rows, counted here
    pi = lp.predict_proba(X)
    counted = np.ptp([pi[a == g].mean(axis=0) for g in (0, 1)], axis=0).max()
    assert lp.group_gap_ == pytest.approx(counted, abs=1e-12)
    pi_new = lp.predict_proba(X_new[:, 1:])[:, 1]  # no protected column at predict
    gap_true = abs(pi_new[a_new == 1].mean() - pi_new[a_new == 0].mean())
    base = model.predict(X_new[:, 1:])
    gap_base = abs(base[a_new == 1].mean() - base[a_new == 0].mean())
    assert gap_base > 0.1
    # the expected rate equals the true one in expectation; held out the rule differs
    # from the fitting rows' only by the sampling of the cells (more at 600 rows)
    assert gap_true <= (0.02 if n >= 4000 else 0.05)


@pytest.mark.parametrize("tol", [0.0, 0.04])
def test_multiclass_blind_expected_parity(tol):
    X, y, a = simulate(6000, seed=3, n_classes=3)
    model = LogisticRegression().fit(X[:, 1:], y)
    lp = LinearProgramPostprocessor(
        model,
        prot_attr=0,
        prefit=True,
        cv=None,
        tol=tol,
        group_model=Posterior(1, 2.0),
    ).fit(X, y)
    assert lp.n_bins_ == 16  # auto: floor(4096 ** (1/3)) over 2 class + 1 group coordinate
    q = Posterior(1, 2.0).predict_proba(X[:, 1:])
    assert expected_gaps(lp.predict_proba(X[:, 1:]), q).max() <= tol + 1e-7
    base = model.predict_proba(X[:, 1:])
    assert expected_gaps(base, q).max() > 0.1


def test_auto_group_model_cross_fitted_on_raw_and_scaled_features():
    """group_model="auto" (gradient-boosted trees, quantile bins) reads raw and rescaled
    features alike; its out-of-fold AUC is scikit-learn's on the same folds; held out the
    true-group gap falls from the model's to a few points."""
    X, y, a = simulate(6000, seed=4)
    X_new, y_new, a_new = simulate(20000, seed=5)
    fits = {}
    for scale in (1.0, 1000.0):
        Xs = X * np.r_[1.0, scale, scale]
        fits[scale] = LinearProgramPostprocessor(
            LogisticRegression(), prot_attr=0, group_model="auto", random_state=0
        ).fit(Xs, y)
    raw, scaled = fits[1.0], fits[1000.0]
    assert raw.cv_ == 5
    np.testing.assert_allclose(
        raw.group_model_.predict_proba(X[:, 1:]),
        scaled.group_model_.predict_proba(X[:, 1:] * 1000.0),
    )
    assert raw.group_auc_ == pytest.approx(scaled.group_auc_)
    # the group proxy x1 is informative: AUC of the true posterior is the ceiling
    ceiling = roc_auc_score(a, X[:, 2])
    assert 0.7 < raw.group_auc_ <= ceiling + 0.01
    pi = raw.predict_proba(X_new[:, 1:])[:, 1]
    base = LogisticRegression().fit(X[:, 1:], y).predict_proba(X_new[:, 1:])[:, 1]
    gap = abs(pi[a_new == 1].mean() - pi[a_new == 0].mean())
    gap_base = abs(base[a_new == 1].mean() - base[a_new == 0].mean())
    assert gap_base > 0.15 and gap < 0.03


def test_auto_group_model_on_categorical_frame_without_protected_column_at_predict():
    rng = np.random.default_rng(6)
    n = 3000
    a = rng.choice(["f", "m"], n, p=[0.3, 0.7])
    job = np.where(rng.random(n) < np.where(a == "m", 0.8, 0.2), "eng", "care")
    hours = rng.normal(40, 8, n) + 5 * (a == "m")
    y = (rng.random(n) < expit((hours - 42) / 5 + (job == "eng"))).astype(int)
    df = pd.DataFrame(
        {
            "job": pd.Categorical(job),
            "sex": a,
            "hours": hours,
            "city": rng.choice(["x", "y", "z"], n),
        }
    )
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["job", "city"]), remainder="passthrough"),
        LogisticRegression(max_iter=1000),
    )
    lp = LinearProgramPostprocessor(model, prot_attr="sex", group_model="auto", random_state=0).fit(
        df, y
    )
    full = lp.predict_proba(df)
    without = lp.predict_proba(df.drop(columns="sex"))
    np.testing.assert_array_equal(full, without)
    np.testing.assert_array_equal(lp.predict(df), lp.predict(df.drop(columns="sex")))
    # the protected values are not read at predict: another value there changes nothing
    np.testing.assert_array_equal(lp.predict_proba(df.assign(sex="unseen")), full)
    assert lp.group_auc_ > 0.7
    # the frame's other columns must still be the fitted ones
    with pytest.raises(ValueError, match="without them"):
        lp.predict(df.drop(columns=["sex", "city"]))


def test_sensitive_features_route_and_missing_columns_message():
    X, y, a = simulate(2000, seed=7)
    lp = LinearProgramPostprocessor(
        LogisticRegression(), group_model=LogisticRegression(), random_state=0
    ).fit(X[:, 1:], y, sensitive_features=a)
    p = lp.predict_proba(X[:, 1:])  # no sensitive_features needed
    assert p.shape == (2000, 2)
    lp2 = LinearProgramPostprocessor(
        LogisticRegression(), prot_attr=0, group_model=LogisticRegression(), random_state=0
    ).fit(X, y)
    # same folds, same models: the same rule whether the attribute came in X or routed
    np.testing.assert_allclose(lp2.predict_proba(X[:, 1:]), p)
    with pytest.raises(ValueError, match=r"\(3 columns\) or without them \(2 columns\)"):
        lp2.predict_proba(X[:, 1:2])


# -- the group model cannot tell the groups apart ------------------------------------------
def test_constant_group_probabilities_warn_and_keep_the_model():
    X, y, a = simulate(3000, seed=8)
    model = LogisticRegression().fit(X[:, 1:], y)
    with pytest.warns(UserWarning) as record:
        lp = LinearProgramPostprocessor(
            model, prot_attr=0, prefit=True, cv=None, group_model=Constant()
        ).fit(X, y)
    messages = " | ".join(str(r.message) for r in record)
    assert re.search(r"cannot tell the groups .* AUC for them is 0\.500", messages)
    # and the true groups (which x1 predicts) keep the model's gap, said in the second
    pi = lp.predict_proba(X)[:, 1]
    gap = abs(pi[a == 1].mean() - pi[a == 0].mean())
    assert gap > 0.2 and f"differs by {gap:.4f}" in messages
    # every rule has equal expected rates: the LP is the unconstrained argmax
    P = model.predict_proba(X[:, 1:])
    assert lp.objective_ == pytest.approx(P.max(axis=1).mean(), abs=1e-9)


def test_independent_features_warn():
    rng = np.random.default_rng(9)
    n = 3000
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2))  # independent of a
    y = (x[:, 0] + rng.normal(size=n) > 0).astype(int)
    with pytest.warns(UserWarning, match="parity constraint cannot act"):
        lp = LinearProgramPostprocessor(
            LogisticRegression(), prot_attr=0, group_model=LogisticRegression(), random_state=0
        ).fit(np.c_[a, x], y)
    assert abs(lp.group_auc_ - 0.5) < 0.05
    # and a proxy-free model stays as fair on the true groups as it was (no act needed)
    pi = lp.predict_proba(x)[:, 1]
    assert abs(pi[a == 1].mean() - pi[a == 0].mean()) < 0.05


def test_group_model_missing_what_the_class_model_knows_warns():
    """A depends on x1 and x2, the group model reads x1 only, the labels follow x2: the
    expected rates under that group model are equal, the true groups' rates are not (and
    the message says so), measured here on the fitting rows."""
    rng = np.random.default_rng(16)
    n = 4000
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    a = (rng.random(n) < expit(1.5 * x1 + 1.5 * x2)).astype(int)
    y = (x2 + 0.5 * rng.normal(size=n) > 0.3).astype(int)
    X = np.c_[a, x1, x2]
    model = LogisticRegression().fit(X[:, 1:], y)
    with pytest.warns(UserWarning, match="not calibrated within the rule's cells"):
        lp = LinearProgramPostprocessor(
            model, prot_attr=0, prefit=True, cv=None, group_model=Posterior(0, 1.5)
        ).fit(X, y)
    pi = lp.predict_proba(X)[:, 1]
    counted = abs(pi[a == 1].mean() - pi[a == 0].mean())
    assert lp.group_gap_ == pytest.approx(counted, abs=1e-12)
    assert counted > 0.1
    q = Posterior(0, 1.5).predict_proba(X[:, 1:])
    assert expected_gaps(lp.predict_proba(X), q).max() <= 1e-7


# -- bad input -----------------------------------------------------------------------------
def test_bad_group_models_raise_naming_the_parameter():
    X, y, a = simulate(400, seed=10)
    with pytest.raises(ValueError, match=r"group_model.*SVC\(\)"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, group_model=SVC()).fit(X, y)
    with pytest.raises(ValueError, match=r"group_model.*'logistic'"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, group_model="logistic").fit(
            X, y
        )
    with pytest.raises(ValueError, match=r"constraints='equalized_odds'.*group_model=None"):
        LinearProgramPostprocessor(
            LogisticRegression(), prot_attr=0, group_model="auto", constraints="equalized_odds"
        ).fit(X, y)
    with pytest.raises(ValueError, match=r"group_model=NoWeights\(\) takes no sample_weight"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, group_model=NoWeights()).fit(
            X, y, sample_weight=np.ones(400)
        )
    with pytest.raises(ValueError, match=r"group_model=OneColumn\(\) must return one"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, group_model=OneColumn()).fit(
            X, y
        )


def test_single_group_attribute_and_no_feature_raise():
    X, y, a = simulate(400, seed=10)
    one = X.copy()
    one[:, 0] = 1
    with pytest.raises(ValueError, match=r"prot_attr=0 has only 1 group\(s\) \(\[1\.0\]\)"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, group_model="auto").fit(
            one, y
        )
    # only the protected column: nothing left to predict the group (or y) from
    with pytest.raises(ValueError, match=r"at least one feature .* X has 1 feature\(s\)"):
        LinearProgramPostprocessor(LogisticRegression(), prot_attr=0, group_model="auto").fit(
            X[:, :1], y
        )


# -- weights, determinism ----------------------------------------------------------------
def test_integer_weights_equal_repeated_rows_blind():
    X, y, a = simulate(600, seed=12)
    w = np.random.default_rng(0).integers(1, 4, len(y))
    model = LogisticRegression().fit(X[:, 1:], y)
    kw = dict(prot_attr=0, prefit=True, cv=None, n_bins=30, group_model=Posterior(1, 2.0))
    lw = LinearProgramPostprocessor(model, **kw).fit(X, y, sample_weight=w)
    lr = LinearProgramPostprocessor(model, **kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert lw.objective_ == pytest.approx(lr.objective_, abs=1e-9)
    np.testing.assert_allclose(lw.predict_proba(X), lr.predict_proba(X), atol=1e-6)


def test_deterministic_given_random_state():
    X, y, a = simulate(1500, seed=13)
    fits = [
        LinearProgramPostprocessor(
            LogisticRegression(), prot_attr=0, group_model="auto", random_state=3
        ).fit(X, y)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].predict(X[:, 1:]), fits[1].predict(X[:, 1:]))
    np.testing.assert_array_equal(fits[0].policy_, fits[1].policy_)


def test_prefit_still_cross_fits_the_group_model():
    X, y, a = simulate(2000, seed=14)
    model = LogisticRegression().fit(X[:, 1:], y)
    lp = LinearProgramPostprocessor(
        model, prot_attr=0, prefit=True, group_model=LogisticRegression()
    ).fit(X, y)
    assert lp.cv_ is None and lp.estimator_ is model
    # out-of-fold group probabilities: the AUC is scikit-learn's on the same 5 folds
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cells = y * 2 + a
    oof = cross_val_predict(
        LogisticRegression(),
        X[:, 1:],
        a,
        cv=StratifiedKFold(5).split(X, cells),
        method="predict_proba",
    )
    assert lp.group_auc_ == pytest.approx(roc_auc_score(a, oof[:, 1]), abs=1e-12)
