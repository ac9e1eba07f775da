"""SEPConstrainedClassifier with the bound in rate units (bound_unit="rate", the default):
the training rate gap of the predictions, computed here with numpy, meets the bound; a loose
bound gives scikit-learn's logistic regression; degenerate fits warn; bad values raise."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fairkit.base import ConstantFitWarning
from fairkit.inprocessing import SEPConstrainedClassifier

SEP = dict(prot_attr="sex", unpriv_group="F", ses_attr="edu", ses_threshold=10)
CSEP = dict(SEP, effort_attr="hours", effort_threshold=40, constraint="csep")
DP = dict(prot_attr="sex", priv_group="M", constraint="demographic_parity")
DP0 = dict(prot_attr=0, priv_group=1, constraint="demographic_parity")  # numpy data


def make_data(n=1000, seed=0, women=0.5, base=0.0, raw=False):
    """Biased synthetic data: women and the less educated get fewer positive labels.

    ``women`` is the share of the unprivileged group, ``base`` shifts the log-odds (class
    imbalance), ``raw=True`` gives features on very different scales.
    """
    rng = np.random.default_rng(seed)
    sex = np.where(rng.random(n) < women, "F", "M")
    m = (sex == "M").astype(float)
    edu = rng.integers(6, 17, n)
    hours = rng.integers(20, 61, n)
    x = rng.normal(size=(n, 4)) + 0.8 * m[:, None] * np.array([1, 1, 0, 0])
    logit = base + 0.4 * (edu - 10) + 0.04 * (hours - 40) + x @ [0.8, 0.6, 0.7, 0.3] + m - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    scales = [1000.0, 0.01, 1.0, 50.0] if raw else [1.0] * 4
    X = pd.DataFrame({"sex": sex, "edu": edu, "hours": hours})
    for j in range(4):
        X[f"x{j}"] = x[:, j] * scales[j]
    return X, y


def rate_gap(X, pred, kind):
    """Training selection-rate gap of the predictions (favourable class 1), with numpy."""
    pred = np.asarray(pred) == 1
    unpriv = (X["sex"] == "F").to_numpy()
    low = (X["edu"] < 10).to_numpy()
    effort = (X["hours"] >= 40).to_numpy()
    if kind == "dp":
        return pred[~unpriv].mean() - pred[unpriv].mean()
    if kind == "sep":
        return pred.mean() - pred[unpriv & low].mean()
    return pred[effort].mean() - pred[unpriv & low & effort].mean()


DATA = {
    "balanced-500": dict(n=500, seed=1),
    "imbalanced-2000": dict(n=2000, seed=2, base=-1.5),  # about 25% positive
    "favourable-majority-2000": dict(n=2000, seed=3, base=2.0),  # about 85% positive
    "raw-scales-1500": dict(n=1500, seed=4, raw=True),
    "few-women-3000": dict(n=3000, seed=5, women=0.2),
}
KINDS = {"dp": DP, "sep": SEP, "csep": CSEP}


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("share", [0.5, 0.25])
def test_rate_bound_is_met_on_the_training_data(data, kind, share):
    X, y = make_data(**DATA[data])
    params = KINDS[kind]
    free = SEPConstrainedClassifier(**params, epsilon=np.inf).fit(X, y)
    free_gap = rate_gap(X, free.predict(X), kind)
    assert free_gap > 0.07  # the data are biased: the bound has work to do
    bound = round(share * free_gap, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither unmet nor degenerate on these data
        clf = SEPConstrainedClassifier(**params, epsilon=bound).fit(X, y)
    pred = clf.predict(X)
    gap = rate_gap(X, pred, kind)
    assert abs(gap) <= bound + 1e-12
    assert clf.train_rate_gap_ == pytest.approx(gap, abs=1e-12)
    # the least-constrained model that meets it: not far below the bound, rather than
    # the trivial constant classifier (whose gap is 0)
    assert abs(gap) >= bound - 0.02
    assert len(np.unique(pred)) == 2
    # epsilon_ is the score bound found: the score-unit fit at it is the same model
    again = SEPConstrainedClassifier(**params, epsilon=clf.epsilon_, bound_unit="score").fit(X, y)
    np.testing.assert_array_equal(again.predict(X), pred)
    assert abs(clf.score_gap_) == pytest.approx(clf.epsilon_, abs=1e-6)
    assert clf.n_solves_ <= 14


def test_rate_bound_with_hinge_loss_and_pos_label():
    X, y = make_data(n=600, seed=6)
    clf = SEPConstrainedClassifier(**SEP, loss="hinge", epsilon=0.08).fit(X, y)
    assert abs(rate_gap(X, clf.predict(X), "sep")) <= 0.08
    # favourable class 0: its selection rate is 1 - that of class 1, so the gap flips sign
    labels = np.where(y == 1, "high", "low")
    low = SEPConstrainedClassifier(**SEP, epsilon=0.08, pos_label="low").fit(X, labels)
    pred = low.predict(X) == "low"
    unpriv_low = ((X["sex"] == "F") & (X["edu"] < 10)).to_numpy()
    gap = pred.mean() - pred[unpriv_low].mean()
    assert abs(gap) <= 0.08 and low.train_rate_gap_ == pytest.approx(gap, abs=1e-12)


def test_rate_bound_honours_sample_weight_as_repetition():
    X, y = make_data(n=500, seed=7)
    w = np.random.default_rng(7).integers(0, 3, len(y))
    rep = np.repeat(np.arange(len(y)), w)
    weighted = SEPConstrainedClassifier(**DP, epsilon=0.05).fit(X, y, sample_weight=w)
    repeated = SEPConstrainedClassifier(**DP, epsilon=0.05).fit(
        X.iloc[rep].reset_index(drop=True), y[rep]
    )
    assert weighted.epsilon_ == pytest.approx(repeated.epsilon_, rel=1e-6)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-5)
    pred = weighted.predict(X) == 1
    unpriv = (X["sex"] == "F").to_numpy()
    gap = np.average(pred[~unpriv], weights=w[~unpriv]) - np.average(pred[unpriv],
                                                                     weights=w[unpriv])
    assert abs(gap) <= 0.05


@pytest.mark.parametrize("data", ["balanced-500", "raw-scales-1500"])
def test_loose_rate_bound_gives_scikit_learn_logistic_regression(data):
    X, y = make_data(**DATA[data])
    Xm = X.drop(columns="sex")
    # scale_features standardises the non-binary columns (here all), as StandardScaler does
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.7, tol=1e-10)).fit(Xm, y)
    pred = ref.predict(Xm)
    ref_gap = rate_gap(X, pred, "sep")
    clf = SEPConstrainedClassifier(**SEP, C=0.7, epsilon=ref_gap + 0.01).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), pred)
    np.testing.assert_allclose(clf.decision_function(X), ref.decision_function(Xm), atol=1e-5)
    assert clf.epsilon_ == np.inf and clf.lagrange_multiplier_ == 0 and clf.n_solves_ == 1


def _proxy_majority(n=2000, seed=0):
    """Five features shifted by the group, favourable label the majority (about 88%):
    any small mean-score gap leaves only the intercept, i.e. 'everyone favourable'."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 5)) + 1.5 * g[:, None]
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.6 * X.sum(1) + 1.5)))).astype(int)
    return np.c_[g, X], y


def test_score_bound_that_gives_the_trivial_classifier_warns():
    X, y = _proxy_majority()
    with pytest.warns(ConstantFitWarning, match=r"predicts class 1 for every training row"
                                                r".*epsilon=0.5, bound_unit='score'"):
        clf = SEPConstrainedClassifier(**DP0, bound_unit="score", epsilon=0.5).fit(X, y)
    assert (clf.predict(X) == 1).all()
    # the same data in rate units: a real classifier that meets the bound, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rate = SEPConstrainedClassifier(**DP0, epsilon=0.05).fit(X, y)
    pred = rate.predict(X)
    g = X[:, 0] == 1
    assert abs(pred[g].mean() - pred[~g].mean()) <= 0.05
    assert 0.02 < (pred == 0).mean() and (pred == y).mean() > y.mean() + 0.005


def test_nearly_constant_fit_warns():
    X, y = _proxy_majority()
    # a tight rate bound here leaves under 1% of the rows unfavourable (12% of the labels)
    with pytest.warns(ConstantFitWarning, match=r"nearly constant.*epsilon=0.01"):
        clf = SEPConstrainedClassifier(**DP0, epsilon=0.01).fit(X, y)
    share = (clf.predict(X) == 0).mean()
    assert 0 < share < 0.01


def test_rate_bound_met_only_by_a_constant_predictor_is_not_returned():
    # one feature, itself a proxy of the group: the rate gap of the predictions only
    # reaches 0 as the model becomes constant
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 600)
    x = 2.0 * a + rng.normal(size=600)
    y = (x + rng.normal(size=600) > 1).astype(int)
    X = np.c_[a, x]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = SEPConstrainedClassifier(**DP0, epsilon=0.0).fit(X, y)
    messages = {w.category: str(w.message) for w in caught}
    assert "epsilon=0.0 with bound_unit='rate' could not be met by a non-constant model" in (
        messages[UserWarning])
    # the closest non-constant model is nearly constant, and says so
    assert "nearly constant" in messages[ConstantFitWarning]
    pred = clf.predict(X)
    assert len(np.unique(pred)) == 2
    gap = pred[a == 1].mean() - pred[a == 0].mean()
    assert clf.train_rate_gap_ == pytest.approx(gap, abs=1e-12)
    assert gap > 0


def test_default_is_a_rate_bound():
    clf = SEPConstrainedClassifier(**DP)
    assert clf.bound_unit == "rate" and clf.epsilon == 0.05
    X, y = make_data(n=800, seed=8)
    clf.fit(X, y)
    assert abs(rate_gap(X, clf.predict(X), "dp")) <= 0.05


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(epsilon=-0.1), r"epsilon=-0.1 is negative.*bound_unit='rate'"),
        (dict(epsilon=-1.0, bound_unit="score"), r"epsilon=-1.0 is negative"),
        (dict(epsilon=float("nan")), r"epsilon=nan"),
        (dict(bound_unit="percent"), r"'bound_unit' parameter .* Got 'percent'"),
    ],
)
def test_bad_bound_raises(params, match):
    X, y = make_data(n=200)
    clf = SEPConstrainedClassifier(**SEP, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "coef_")
