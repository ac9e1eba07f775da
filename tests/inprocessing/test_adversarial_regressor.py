"""Tests for AdversarialDebiasingRegressor and partial_fit of both adversarial estimators
(fairkit.inprocessing._adversarial; Zhang, Lemoine, Mitchell 2018).

The analytic gradients are checked against central finite differences, the undebiased
linear predictor against scikit-learn's LinearRegression, the fairness effect by group means
and scipy's two-sample Kolmogorov-Smirnov statistic of the predictions on held-out data, and
partial_fit against fit with the same seed.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPRegressor
from sklearn.utils.estimator_checks import check_estimator

from fairkit.base import ConstantFitWarning
from fairkit.inprocessing._adversarial import (
    AdversarialDebiasingClassifier,
    AdversarialDebiasingRegressor,
    _Adversary,
    _Predictor,
    _squared_loss,
)
from fairkit.utils._testing import CHECK_GROUPS


def make(n, seed, *, p_group=0.5, beta=1.0, scale=1.0, y_scale=5.0, y_shift=40.0):
    """Hours-per-week-like target raised by ``beta`` for group 1; x2 is a proxy of the
    group, x1 and x3 are independent of it. Column 0 is the group; ``scale`` puts the
    features in raw units."""
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < p_group).astype(int)
    x1, x3 = rng.normal(size=n), rng.normal(size=n)
    x2 = a + 0.5 * rng.normal(size=n)
    y = y_shift + y_scale * (x1 + 0.5 * x3 + beta * a + rng.normal(size=n))
    return np.c_[a, scale * x1, 100 * scale * x2, x3 + 50], y, a


def mean_gap(pred, a):
    return abs(pred[a == 1].mean() - pred[a == 0].mean())


def ks(pred, a):
    return ks_2samp(pred[a == 1], pred[a == 0]).statistic


def rmse(pred, y):
    return float(np.sqrt(np.mean((pred - y) ** 2)))


KW = dict(prot_attr=0, drop_prot_attr=True, random_state=0)


# -- gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", [0, 4])
@pytest.mark.parametrize("n_groups, n_inputs", [(2, 1), (2, 2), (3, 1), (3, 2)])
def test_regressor_gradients_match_finite_differences(hidden, n_groups, n_inputs):
    rng = np.random.default_rng(hidden * 10 + n_groups + n_inputs)
    n, d = 25, 3
    X = rng.normal(size=(n, d))
    t = rng.normal(size=n)
    g = rng.integers(0, n_groups, n)
    wn = np.full(n, 1.0 / n)
    size = d * hidden + 2 * hidden + 1 if hidden else d + 1
    theta = rng.normal(size=size)
    adv = _Adversary(n_inputs, n_groups, np.full(n_groups, 1.0 / n_groups), squash=False)
    assert adv.phi.size == n_inputs * adv.k + adv.k  # no scale parameter c
    phi = rng.normal(size=adv.phi.size)

    def losses(th, ph):
        z, _ = _Predictor(d, hidden, th.copy()).forward(X)
        return np.array([_squared_loss(z, t, wn)[0], adv.loss_grad(ph, z, t, g, wn, grad=False)[0]])

    pred = _Predictor(d, hidden, theta.copy())
    z, H = pred.forward(X)
    lp, dzp = _squared_loss(z, t, wn)
    assert lp == pytest.approx(0.5 * np.mean((z - t) ** 2), rel=1e-12)
    _, gphi, dza = adv.loss_grad(phi, z, t, g, wn)
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


# -- the undebiased predictor --------------------------------------------------------------


def test_undebiased_linear_equals_least_squares_in_raw_units():
    """debias=False is plain least squares: full-batch Adam on raw features (units of 1e3
    and 1e5 with an offset) and a raw target (mean 40, sd ~8) reaches LinearRegression's
    coefficients. (With debias=True, alpha=0 still applies the projection term, so it is
    not the plain regression.)"""
    X, y, _ = make(600, 3, scale=1000.0)
    sk = LinearRegression().fit(X[:, 1:], y)
    reg = AdversarialDebiasingRegressor(
        debias=False,
        learning_rate=0.05,
        learning_rate_decay=0.99,
        batch_size=600,
        max_iter=600,
        **KW,
    ).fit(X, y)
    np.testing.assert_allclose(reg.coef_, sk.coef_, rtol=1e-4)
    assert reg.intercept_ == pytest.approx(sk.intercept_, rel=1e-5)
    np.testing.assert_allclose(reg.predict(X), sk.predict(X[:, 1:]), atol=1e-3)
    np.testing.assert_allclose(reg.predict(X), reg._output(X[:, 1:]))
    assert reg.adversary_ is None
    assert reg.score(X, y) == pytest.approx(sk.score(X[:, 1:], y), abs=1e-8)


def test_undebiased_hidden_layer_fits_like_mlp_regressor():
    """debias=False with one hidden layer of 8 ReLU units against scikit-learn's
    MLPRegressor of the same size, epochs, batch size and Adam step (on standardised
    data, which ours does internally): the training RMSEs agree within 3% (seeds 0-2 of
    ours: 0.5%, 1.4%, 1.7% off). The initialisations differ, so the networks are compared
    by their fit, not their weights."""
    rng = np.random.default_rng(5)
    n = 1500
    X = rng.normal(size=(n, 3))
    y = np.sin(2 * X[:, 0]) + np.abs(X[:, 1]) + 0.3 * rng.normal(size=n)
    Xs, ys = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    mlp = MLPRegressor(
        hidden_layer_sizes=(8,),
        learning_rate_init=0.01,
        batch_size=64,
        max_iter=150,
        tol=0.0,
        n_iter_no_change=1000,
        alpha=0.0,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = rmse(mlp.fit(Xs, ys).predict(Xs) * y.std() + y.mean(), y)
    ours = AdversarialDebiasingRegressor(
        debias=False,
        hidden_layer_sizes=(8,),
        learning_rate=0.01,
        learning_rate_decay=1.0,
        batch_size=64,
        max_iter=150,
        random_state=0,
    ).fit(X, y, sensitive_features=rng.integers(0, 2, n))
    linear = rmse(LinearRegression().fit(X, y).predict(X), y)
    assert ref < 0.7 * linear  # the network has something to learn beyond a line
    assert rmse(ours.predict(X), y) == pytest.approx(ref, rel=0.03)


def test_target_units_do_not_matter():
    """The target is standardised inside fit: y and 1000 y - 7 give the same model up to
    round-off, in their units."""
    X, y, _ = make(800, 0)
    a = AdversarialDebiasingRegressor(1.0, hidden_layer_sizes=(4,), **KW).fit(X, y)
    b = AdversarialDebiasingRegressor(1.0, hidden_layer_sizes=(4,), **KW).fit(X, 1000 * y - 7)
    np.testing.assert_allclose(b.predict(X), 1000 * a.predict(X) - 7, rtol=1e-9, atol=1e-6)


# -- the fairness effect --------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, p_group, scale",
    [(500, 0.5, 1.0), (3000, 0.15, 1.0), (3000, 0.5, 1000.0)],
)
def test_gap_and_ks_fall_with_alpha(n, p_group, scale):
    """500 rows up, a small group (15%), raw feature units: the mean-prediction gap and
    the KS statistic between the groups fall from the plain fit to alpha=1 by half or
    more, at a bounded RMSE cost. (The plain fit's gap is ~2.5 with balanced groups, ~1.5
    with a 15% group: what the proxy x2 carries of the group's +5; RMSE ~5.3. Measured
    ratios of the gaps: 0.31, 0.43, 0.15.)"""
    X, y, _ = make(n, 0, p_group=p_group, scale=scale)
    Xt, yt, at = make(20000, 1, p_group=p_group, scale=scale)
    plain = AdversarialDebiasingRegressor(debias=False, **KW).fit(X, y).predict(Xt)
    fair = AdversarialDebiasingRegressor(1.0, **KW).fit(X, y).predict(Xt)
    assert mean_gap(plain, at) > 1.0
    assert mean_gap(fair, at) < 0.5 * mean_gap(plain, at)
    assert ks(fair, at) < 0.5 * ks(plain, at)
    # removing a 1-sd group effect costs RMSE, but not more than the group effect itself
    assert rmse(plain, yt) < rmse(fair, yt) < rmse(plain, yt) + 1.0


def test_gap_shrinks_as_alpha_grows():
    X, y, _ = make(3000, 0)
    Xt, _, at = make(20000, 1)
    gaps = [
        mean_gap(AdversarialDebiasingRegressor(alpha, **KW).fit(X, y).predict(Xt), at)
        for alpha in (0.0, 0.1, 1.0)
    ]
    plain = AdversarialDebiasingRegressor(debias=False, **KW).fit(X, y).predict(Xt)
    assert gaps[0] < mean_gap(plain, at)  # the projection alone already moves it
    assert max(gaps) < 0.3 * mean_gap(plain, at)


def test_hidden_layer_and_three_groups():
    def data(n, seed):
        r = np.random.default_rng(seed)
        a = r.integers(0, 3, n)
        x1, x2 = r.normal(size=n), a + 0.5 * r.normal(size=n)
        y = 10 * (x1 + a + r.normal(size=n))
        return np.c_[a, x1, x2], y, a

    X, y, _ = data(3000, 0)
    Xt, _, at = data(20000, 1)
    kw = dict(KW, hidden_layer_sizes=(8,))
    plain = AdversarialDebiasingRegressor(debias=False, **kw).fit(X, y).predict(Xt)
    model = AdversarialDebiasingRegressor(1.0, **kw).fit(X, y)
    fair = model.predict(Xt)
    assert model.adversary_["weights"].shape == (1, 3)  # softmax over the 3 groups
    assert "c" not in model.adversary_
    assert [w.shape for w in model.coefs_] == [(2, 8), (8, 1)]
    spread = lambda p: np.ptp([p[at == k].mean() for k in range(3)])  # noqa: E731
    assert spread(plain) > 10
    assert spread(fair) < 0.3 * spread(plain)


def test_equalized_odds_adversary_reduces_the_conditional_gap():
    """The adversary sees (prediction, target): the group's coefficient in a regression
    of the prediction on (y, group) -- the gap at equal target -- falls, while the plain
    gap in means (which the target itself has) is kept."""
    X, y, _ = make(3000, 0, beta=2.0)
    Xt, yt, at = make(20000, 1, beta=2.0)

    def conditional_gap(p):
        return abs(LinearRegression().fit(np.c_[yt, at], p).coef_[1])

    plain = AdversarialDebiasingRegressor(debias=False, **KW).fit(X, y).predict(Xt)
    eo = AdversarialDebiasingRegressor(3.0, constraint="equalized_odds", **KW).fit(X, y)
    fair = eo.predict(Xt)
    assert eo.adversary_["weights"].shape == (2, 1)
    assert conditional_gap(plain) > 0.3
    assert conditional_gap(fair) < 0.5 * conditional_gap(plain)
    assert mean_gap(fair, at) > 0.8 * mean_gap(plain, at)


# -- partial_fit ------------------------------------------------------------------------------


def _same_model(a, b):
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("hidden", [(), (5,)])
@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds"])
def test_regressor_partial_fit_equals_fit_epochs(hidden, constraint):
    X, y, _ = make(700, 0)
    kw = dict(prot_attr=0, hidden_layer_sizes=hidden, constraint=constraint, random_state=2)
    one = AdversarialDebiasingRegressor(max_iter=1, **kw).fit(X, y)
    inc = AdversarialDebiasingRegressor(**kw).partial_fit(X, y)
    _same_model(one, inc)
    assert inc.n_iter_ == 1 and inc.loss_ == one.loss_
    three = AdversarialDebiasingRegressor(max_iter=3, **kw).fit(X, y)
    inc.partial_fit(X, y).partial_fit(X, y)
    _same_model(three, inc)
    assert inc.n_iter_ == 3


@pytest.mark.filterwarnings("ignore::fairkit.base.ConstantFitWarning")  # one epoch
@pytest.mark.parametrize("hidden", [(), (5,)])
def test_classifier_partial_fit_equals_fit_epochs(hidden):
    X, y, _ = make(700, 0)
    labels = np.where(y > 45, "high", "low")
    kw = dict(prot_attr=0, hidden_layer_sizes=hidden, random_state=2)
    one = AdversarialDebiasingClassifier(max_iter=1, **kw).fit(X, labels)
    inc = AdversarialDebiasingClassifier(**kw).partial_fit(X, labels, classes=["low", "high"])
    _same_model(one, inc)
    assert list(inc.classes_) == ["high", "low"] and inc.pos_label_ == "low"
    two = AdversarialDebiasingClassifier(max_iter=2, **kw).fit(X, labels)
    inc.partial_fit(X, labels)
    _same_model(two, inc)
    np.testing.assert_array_equal(inc.predict(X), two.predict(X))


def test_partial_fit_on_chunks_converges_to_least_squares():
    """A stream of 10 chunks of 200 rows (raw units), 40 passes over it with a constant
    step: the plain predictor approaches LinearRegression's fit on all rows (RMSE within
    0.1%, every coefficient within 3% of its value; measured 0.001% and 0.8%)."""
    X, y, _ = make(2000, 4, scale=1000.0)
    sk = LinearRegression().fit(X[:, 1:], y)
    reg = AdversarialDebiasingRegressor(
        debias=False, learning_rate=0.01, learning_rate_decay=1.0, batch_size=100, **KW
    )
    losses = []
    for _ in range(40):
        for start in range(0, 2000, 200):
            reg.partial_fit(X[start : start + 200], y[start : start + 200])
        losses.append(rmse(reg.predict(X), y))
    assert reg.n_iter_ == 400
    best = rmse(sk.predict(X[:, 1:]), y)
    assert losses[0] > 1.1 * best  # far from it after the first pass
    assert losses[-1] < best * 1.001
    np.testing.assert_allclose(reg.coef_, sk.coef_, rtol=0.03, atol=0)


def test_partial_fit_continues_fit_and_survives_pickling():
    X, y, _ = make(800, 0)
    reg = AdversarialDebiasingRegressor(1.0, hidden_layer_sizes=(4,), max_iter=5, **KW)
    reg.fit(X, y)
    copy = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(copy.predict(X), reg.predict(X))
    # optimiser moments and the random generator travel with the model
    reg.partial_fit(X[:400], y[:400])
    copy.partial_fit(X[:400], y[:400])
    _same_model(reg, copy)
    assert reg.n_iter_ == copy.n_iter_ == 6
    # a sixth epoch on all rows after fit equals fit with max_iter=6
    full = AdversarialDebiasingRegressor(1.0, hidden_layer_sizes=(4,), max_iter=5, **KW)
    full.fit(X, y).partial_fit(X, y)
    six = AdversarialDebiasingRegressor(1.0, hidden_layer_sizes=(4,), max_iter=6, **KW).fit(X, y)
    _same_model(full, six)


def test_deterministic_given_random_state():
    X, y, _ = make(800, 0)
    kw = dict(prot_attr=0, hidden_layer_sizes=(5,), max_iter=5)
    a = AdversarialDebiasingRegressor(random_state=3, **kw).fit(X, y)
    b = AdversarialDebiasingRegressor(random_state=3, **kw).fit(X, y)
    c = AdversarialDebiasingRegressor(random_state=4, **kw).fit(X, y)
    _same_model(a, b)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_early_stopping_keeps_best_epoch():
    X, y, _ = make(1000, 0)
    reg = AdversarialDebiasingRegressor(
        prot_attr=0,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        learning_rate_decay=1.0,
        random_state=0,
    ).fit(X, y)
    scores = reg.validation_scores_
    assert len(scores) == reg.n_iter_ < 200
    assert reg.n_iter_ - 1 - int(np.argmin(scores)) >= 3


# -- bad input -------------------------------------------------------------------------------


def test_partial_fit_new_group_raises():
    X, y, a = make(600, 0)
    X = pd.DataFrame(X[:, 1:], columns=["x1", "x2", "x3"]).assign(sex=np.where(a, "m", "f"))
    reg = AdversarialDebiasingRegressor(prot_attr="sex", drop_prot_attr=True, random_state=0)
    reg.partial_fit(X, y)
    assert reg.groups_ == ["f", "m"]
    reg.partial_fit(X[X["sex"] == "m"], y[X["sex"] == "m"])  # one known group: fine
    X2 = X.copy()
    X2.loc[:5, "sex"] = "x"
    with pytest.raises(ValueError, match=r"partial_fit: group\(s\) \['x'\].*first call"):
        reg.partial_fit(X2, y)
    clf = AdversarialDebiasingClassifier(prot_attr="sex", drop_prot_attr=True, random_state=0)
    clf.partial_fit(X, y > 45, classes=[False, True])
    with pytest.raises(ValueError, match=r"group\(s\) \['x'\]"):
        clf.partial_fit(X2, y > 45)


def test_partial_fit_first_call_needs_every_group_when_debiasing():
    X, y, a = make(600, 0)
    with pytest.raises(ValueError, match="group"):
        AdversarialDebiasingRegressor(prot_attr=0).partial_fit(X[a == 1], y[a == 1])


def test_classifier_partial_fit_classes_errors():
    X, y, _ = make(300, 0)
    yb = (y > 45).astype(int)
    clf = AdversarialDebiasingClassifier(prot_attr=0, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, yb)
    with pytest.raises(ValueError, match=r"exactly two labels.*\[0, 1, 2\]"):
        clf.partial_fit(X, yb, classes=[0, 1, 2])
    clf.partial_fit(X[yb == 1], yb[yb == 1], classes=[0, 1])  # one label in the batch
    with pytest.raises(ValueError, match=r"label 5.*classes_ \[0, 1\]"):
        clf.partial_fit(X, np.where(yb == 1, 5, 0))
    with pytest.raises(ValueError, match=r"classes=\[0, 2\] differs"):
        clf.partial_fit(X, yb, classes=[0, 2])


def test_partial_fit_warns_that_early_stopping_cannot_act():
    X, y, _ = make(300, 0)
    reg = AdversarialDebiasingRegressor(prot_attr=0, early_stopping=True, random_state=0)
    with pytest.warns(UserWarning, match="early_stopping=True has no effect"):
        reg.partial_fit(X, y)
    assert reg.n_iter_ == 1 and reg.validation_scores_ == []


def test_partial_fit_refuses_changed_settings():
    X, y, _ = make(300, 0)
    reg = AdversarialDebiasingRegressor(prot_attr=0, random_state=0).partial_fit(X, y)
    reg.set_params(hidden_layer_sizes=(3,))
    with pytest.raises(
        ValueError, match=r"hidden_layer_sizes=\(3,\) differs.*hidden_layer_sizes=\(\)"
    ):
        reg.partial_fit(X, y)
    reg.set_params(hidden_layer_sizes=(), learning_rate=0.1)  # a step size may change
    reg.partial_fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features"):
        reg.partial_fit(X[:, :2], y)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.array(["a", "b"] * 150, dtype=object), "numeric target y.*'a'"),
        (np.array(["1.5", "x"] * 150), "numeric target y.*'x'"),
        (np.r_[np.nan, np.ones(299)], "NaN"),
    ],
)
def test_regressor_bad_target(y, match):
    X, _, _ = make(300, 0)
    with pytest.raises(ValueError, match=match):
        AdversarialDebiasingRegressor(prot_attr=0).fit(X, y)
    with pytest.raises(ValueError, match=match):
        AdversarialDebiasingRegressor(prot_attr=0).partial_fit(X, y)


def test_numeric_strings_are_a_numeric_target():
    X, y, _ = make(300, 0)
    a = AdversarialDebiasingRegressor(prot_attr=0, max_iter=2, random_state=0)
    b = AdversarialDebiasingRegressor(prot_attr=0, max_iter=2, random_state=0)
    _same_model(a.fit(X, y), b.fit(X, y.astype(str).astype(object)))


@pytest.mark.parametrize(
    "params, name",
    [
        ({"adversary_loss_weight": -1.0}, "adversary_loss_weight"),
        ({"constraint": "parity"}, "constraint"),
        ({"hidden_layer_sizes": (3, 4)}, "hidden_layer_sizes"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_parameters_raise(params, name):
    X, y, _ = make(100, 0)
    with pytest.raises(ValueError, match=name):
        AdversarialDebiasingRegressor(prot_attr=0, **params).fit(X, y)
    with pytest.raises(ValueError, match=name):
        AdversarialDebiasingRegressor(prot_attr=0, **params).partial_fit(X, y)


def test_sample_weight_is_refused():
    X, y, _ = make(100, 0)
    with pytest.raises(TypeError, match="sample_weight"):
        AdversarialDebiasingRegressor(prot_attr=0).fit(X, y, sample_weight=np.ones(100))


def test_constant_fit_warns_and_constant_target_does_not():
    X, y, _ = make(300, 0)
    X[:, 1:] = 3.0  # no feature varies: the prediction is the intercept
    with pytest.warns(ConstantFitWarning, match="AdversarialDebiasingRegressor.*mean of y"):
        AdversarialDebiasingRegressor(**KW).fit(X, y)
    X, _, _ = make(300, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFitWarning)
        reg = AdversarialDebiasingRegressor(**KW).fit(X, np.full(300, 40.0))
    np.testing.assert_allclose(reg.predict(X), 40.0)


def test_routed_sensitive_features_and_dataframe():
    X, y, a = make(600, 0)
    df = pd.DataFrame(X[:, 1:], columns=["x1", "x2", "x3"])
    routed = AdversarialDebiasingRegressor(1.0, random_state=0).fit(df, y, sensitive_features=a)
    by_col = AdversarialDebiasingRegressor(1.0, **KW).fit(X, y)
    np.testing.assert_allclose(routed.predict(df), by_col.predict(X), rtol=1e-12)
    assert list(routed.feature_names_in_) == ["x1", "x2", "x3"]
    assert routed.score(df, y) == pytest.approx(by_col.score(X, y))


# -- scikit-learn's common checks on the regressor -------------------------------------------


def test_sklearn_common_checks_regressor():
    """Every check passes on the instance proposed for the common-test table (the
    default 0.01 step size with 20 epochs underfits the checks' 200-row regression data,
    R^2 0.39 < 0.5, so the instance takes a larger step)."""
    est = AdversarialDebiasingRegressor(
        prot_attr=CHECK_GROUPS, max_iter=20, learning_rate=0.05, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed, failed
