"""Tests for fairkit.inprocessing._adversarial (Zhang, Lemoine, Mitchell 2018).

The analytic gradients are checked against central finite differences, the undebiased
logistic predictor against scikit-learn's LogisticRegression, and the fairness effect by
counting selection and error rates on held-out synthetic data.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fairkit.inprocessing._adversarial import (
    AdversarialDebiasingClassifier,
    _Adversary,
    _Predictor,
    _predictor_loss,
    _project_out,
)
from fairkit.metrics import make_fairness_scorer, statistical_parity_difference


def biased(n, seed, beta=0.8, n_groups=2):
    """Labels biased by the group (``beta``); x2 is a proxy of the group, x1 and x3 are
    independent of it. Column 0 is the group."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_groups, n)
    x1, x3 = rng.normal(size=n), rng.normal(size=n)
    x2 = a + 0.5 * rng.normal(size=n)
    y = (x1 + 0.5 * x3 + beta * a + rng.normal(size=n) > 0.5).astype(int)
    return np.c_[a, x1, x2, x3], y, a


def dp_gap(pred, a):
    rates = [pred[a == g].mean() for g in np.unique(a)]
    return max(rates) - min(rates)


def odds_gap(pred, y, a):
    return max(
        abs(pred[(a == 1) & (y == lab)].mean() - pred[(a == 0) & (y == lab)].mean())
        for lab in (0, 1)
    )


# -- gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", [0, 4])
@pytest.mark.parametrize("n_groups, n_inputs", [(2, 1), (2, 4), (3, 1), (4, 4)])
def test_gradients_match_finite_differences(hidden, n_groups, n_inputs):
    rng = np.random.default_rng(hidden * 10 + n_groups + n_inputs)
    n, d = 25, 3
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 2, n).astype(float)
    g = rng.integers(0, n_groups, n)
    wn = np.full(n, 1.0 / n)
    size = d * hidden + 2 * hidden + 1 if hidden else d + 1
    theta = rng.normal(size=size)
    adv = _Adversary(n_inputs, n_groups, np.full(n_groups, 1.0 / n_groups))
    phi = rng.normal(size=adv.phi.size)
    phi[0] = 0.7  # away from the kink of |c|

    def losses(t, p):
        z, _ = _Predictor(d, hidden, t.copy()).forward(X)
        return np.array(
            [_predictor_loss(z, y, wn)[0], adv.loss_grad(p, z, y, g, wn, grad=False)[0]]
        )

    pred = _Predictor(d, hidden, theta.copy())
    z, H = pred.forward(X)
    _, dzp = _predictor_loss(z, y, wn)
    _, gphi, dza = adv.loss_grad(phi, z, y, g, wn)
    G = pred.backward(X, H, np.c_[dzp, dza])
    h = 1e-6
    num = np.array(
        [(losses(theta + h * e, phi) - losses(theta - h * e, phi)) / (2 * h) for e in np.eye(size)]
    )
    np.testing.assert_allclose(G, num, atol=1e-8)
    num_phi = np.array(
        [
            (losses(theta, phi + h * e)[1] - losses(theta, phi - h * e)[1]) / (2 * h)
            for e in np.eye(phi.size)
        ]
    )
    np.testing.assert_allclose(gphi, num_phi, atol=1e-8)


def test_projection_term():
    # g_P = (1, 1), g_A = (2, 0): proj = (1, 0), so the step is (0, 1) - alpha (2, 0)
    out = _project_out(np.array([1.0, 1.0]), np.array([2.0, 0.0]), 0.5)
    np.testing.assert_allclose(out, [-1.0, 1.0])
    # orthogonal to g_A before the alpha term
    rng = np.random.default_rng(0)
    gp, ga = rng.normal(size=5), rng.normal(size=5)
    assert abs(_project_out(gp, ga, 0.0) @ ga) < 1e-12
    np.testing.assert_array_equal(_project_out(gp, np.zeros(5), 1.0), gp)


# -- the undebiased predictor --------------------------------------------------------------


def test_undebiased_logistic_equals_sklearn():
    X, y, _ = biased(600, 3)
    X[:, 2] *= 1000.0  # raw units: the fit standardises internally
    sk = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X[:, 1:], y)
    ref = log_loss(y, sk.predict_proba(X[:, 1:])[:, 1])
    clf = AdversarialDebiasingClassifier(
        debias=False,
        prot_attr=0,
        drop_prot_attr=True,
        learning_rate=0.1,
        learning_rate_decay=0.99,
        batch_size=600,
        max_iter=500,
        random_state=0,
    ).fit(X, y)
    ours = log_loss(y, clf.predict_proba(X)[:, 1])
    assert ours >= ref - 1e-12
    assert (ours - ref) / ref < 1e-3
    np.testing.assert_allclose(clf.coef_, sk.coef_[0], rtol=1e-3)
    np.testing.assert_allclose(clf.decision_function(X), sk.decision_function(X[:, 1:]), atol=1e-2)


# -- the fairness effect --------------------------------------------------------------------


def test_demographic_parity_gap_reduced():
    X, y, _ = biased(5000, 0)
    Xt, yt, at = biased(20000, 1)
    kw = dict(prot_attr=0, drop_prot_attr=True, random_state=0)
    plain = AdversarialDebiasingClassifier(debias=False, **kw).fit(X, y).predict(Xt)
    fair = AdversarialDebiasingClassifier(1.0, **kw).fit(X, y).predict(Xt)
    assert dp_gap(plain, at) > 0.13
    assert dp_gap(fair, at) < 0.05
    assert (fair == yt).mean() > (plain == yt).mean() - 0.02


def test_equalized_odds_gap_reduced():
    X, y, _ = biased(3000, 0, beta=1.5)
    Xt, yt, at = biased(20000, 1, beta=1.5)
    kw = dict(prot_attr=0, drop_prot_attr=True, random_state=0)
    plain = AdversarialDebiasingClassifier(debias=False, **kw).fit(X, y).predict(Xt)
    fair = (
        AdversarialDebiasingClassifier(1.0, constraint="equalized_odds", **kw).fit(X, y).predict(Xt)
    )
    assert odds_gap(plain, yt, at) > 0.07
    assert odds_gap(fair, yt, at) < 0.5 * odds_gap(plain, yt, at)
    assert (fair == yt).mean() > (plain == yt).mean() - 0.02


@pytest.mark.parametrize(
    "n, p_group, threshold",
    [(500, 0.5, 0.5), (2000, 0.15, 0.5), (2000, 0.5, 2.0)],
)
def test_gap_reduced_across_sizes_group_balance_and_raw_units(n, p_group, threshold):
    """500 rows up, a small group (15%), rare positives (threshold 2: ~15%), raw columns in
    units of 1e3 and 1e5 with an offset: the gap shrinks, accuracy stays within 2 points,
    and the units do not matter (the fit standardises)."""

    def make(n, seed, scale):
        rng = np.random.default_rng(seed)
        a = (rng.random(n) < p_group).astype(int)
        x1, x3 = rng.normal(size=n), rng.normal(size=n)
        x2 = a + 0.5 * rng.normal(size=n)
        y = (x1 + 0.5 * x3 + 0.8 * a + rng.normal(size=n) > threshold).astype(int)
        return np.c_[a, scale * x1, 100 * scale * x2, x3 + 50], y, a

    X, y, _ = make(n, 0, 1000.0)
    Xt, yt, at = make(20000, 1, 1000.0)
    kw = dict(prot_attr=0, drop_prot_attr=True, random_state=0)
    plain = AdversarialDebiasingClassifier(debias=False, **kw).fit(X, y).predict(Xt)
    model = AdversarialDebiasingClassifier(1.0, **kw).fit(X, y)
    fair = model.predict(Xt)
    assert dp_gap(fair, at) < 0.5 * dp_gap(plain, at)
    assert (fair == yt).mean() > (plain == yt).mean() - 0.02
    Xs, _, _ = make(n, 0, 1.0)
    same = AdversarialDebiasingClassifier(1.0, **kw).fit(Xs, y)
    np.testing.assert_array_equal(same.predict(make(20000, 1, 1.0)[0]), fair)


def test_hidden_layer_and_several_groups():
    X, y, _ = biased(3000, 0, beta=0.5, n_groups=3)
    Xt, _, at = biased(10000, 1, beta=0.5, n_groups=3)
    kw = dict(prot_attr=0, drop_prot_attr=True, hidden_layer_sizes=(8,), random_state=0)
    plain = AdversarialDebiasingClassifier(debias=False, **kw).fit(X, y)
    fair = AdversarialDebiasingClassifier(1.0, **kw).fit(X, y)
    assert fair.adversary_["weights"].shape == (1, 3)  # softmax over the 3 groups
    assert [w.shape for w in fair.coefs_] == [(3, 8), (8, 1)]
    assert dp_gap(fair.predict(Xt), at) < 0.5 * dp_gap(plain.predict(Xt), at)


# -- determinism, early stopping, errors ----------------------------------------------------


def test_deterministic_given_random_state():
    X, y, _ = biased(800, 0)
    kw = dict(prot_attr=0, hidden_layer_sizes=(5,), max_iter=5)
    a = AdversarialDebiasingClassifier(random_state=3, **kw).fit(X, y)
    b = AdversarialDebiasingClassifier(random_state=3, **kw).fit(X, y)
    c = AdversarialDebiasingClassifier(random_state=4, **kw).fit(X, y)
    for wa, wb in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_early_stopping_keeps_best_epoch():
    X, y, _ = biased(1000, 0)
    clf = AdversarialDebiasingClassifier(
        prot_attr=0,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        learning_rate_decay=1.0,
        random_state=0,
    ).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ < 200
    best = int(np.argmin(scores))
    assert clf.n_iter_ - 1 - best >= 3  # stopped n_iter_no_change epochs after the best


@pytest.mark.parametrize(
    "params, name",
    [
        ({"adversary_loss_weight": -0.1}, "adversary_loss_weight"),
        ({"constraint": "parity"}, "constraint"),
        ({"hidden_layer_sizes": (3, 4)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"learning_rate_decay": 0.0}, "learning_rate_decay"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_parameters_raise(params, name):
    X, y, _ = biased(100, 0)
    with pytest.raises(ValueError, match=name):
        AdversarialDebiasingClassifier(prot_attr=0, **params).fit(X, y)


def test_one_group_needs_debias_false():
    X, y, _ = biased(200, 0)
    X[:, 0] = 1
    with pytest.raises(ValueError, match="group"):
        AdversarialDebiasingClassifier(prot_attr=0).fit(X, y)
    clf = AdversarialDebiasingClassifier(prot_attr=0, debias=False, random_state=0).fit(X, y)
    assert clf.adversary_ is None and clf.groups_ == [1]


# -- scikit-learn integration ---------------------------------------------------------------


def test_pipeline_grid_search_with_fairness_scorer_and_pickle():
    X, y, _ = biased(1200, 0)
    df = pd.DataFrame(X, columns=["a", "x1", "x2", "x3"])
    labels = np.where(y == 1, "yes", "no")
    pipe = Pipeline(
        [
            ("scale", StandardScaler().set_output(transform="pandas")),
            (
                "clf",
                AdversarialDebiasingClassifier(
                    prot_attr="a", drop_prot_attr=True, max_iter=20, random_state=0
                ),
            ),
        ]
    )
    scorer = make_fairness_scorer(
        statistical_parity_difference, prot_attr="a", priv_group=1.0, pos_label="yes"
    )
    search = GridSearchCV(
        pipe,
        {"clf__adversary_loss_weight": [0.0, 1.0]},
        cv=3,
        scoring={"spd": scorer, "acc": "accuracy"},
        refit="spd",
    )
    search.fit(df, labels)
    spd = search.cv_results_["mean_test_spd"]
    # the scorer's sign makes the smaller |SPD| the higher score: debiasing wins
    assert spd[1] > spd[0]
    assert search.best_params_ == {"clf__adversary_loss_weight": 1.0}
    model = search.best_estimator_
    assert set(model.classes_) == {"no", "yes"}
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(df), model.predict_proba(df))
