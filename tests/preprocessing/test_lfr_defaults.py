"""LearnedFairRepresentations' default fit on synthetic data nobody tuned to: sizes, raw
vs standardised features, class imbalance. It must beat (or tie) the majority class, stay
off the constant, and lower the prediction gap of a logistic regression on the same
features."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fairkit.base import ConstantFitWarning
from fairkit.preprocessing import LearnedFairRepresentations


def _data(n, pos, raw, seed=0):
    """x0, x1 shifted by the group; x0, x2, x3 carry the label; a fraction pos positive."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 4)) + np.c_[1.0 * a, 0.5 * a, 0 * a, 0 * a]
    score = 2 * (x[:, 0] + x[:, 2] + 0.5 * x[:, 3]) + rng.logistic(size=n)
    y = (score > np.quantile(score, 1 - pos)).astype(int)
    if raw:  # units far apart: a column in thousands, one of spread 0.2
        x = x * np.array([30.0, 0.2, 5.0, 1000.0]) + np.array([100.0, 0.0, -3.0, 5000.0])
    return np.c_[a, x], y, a


def _spd(pred, a):
    return abs(pred[a == 1].mean() - pred[a == 0].mean())


@pytest.mark.parametrize("n", [500, 2000])
@pytest.mark.parametrize("pos", [0.1, 0.3, 0.5])
@pytest.mark.parametrize("raw", [False, True])
def test_default_fit_learns_and_lowers_the_gap(n, pos, raw):
    X, y, a = _data(n, pos, raw)
    majority = max(y.mean(), 1 - y.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFitWarning)
        lfr = LearnedFairRepresentations(prot_attr=0, priv_group=1, random_state=0).fit(X, y)
    pred = lfr.predict(X)
    assert len(np.unique(pred)) == 2
    assert np.mean(pred == y) > majority
    lr = LogisticRegression(max_iter=1000).fit(X[:, 1:], y).predict(X[:, 1:])
    assert _spd(pred, a) < 0.75 * _spd(lr, a)


def test_default_fit_is_invariant_to_feature_units():
    # standardising inside the fit: an affine change of each feature's units gives the same
    # memberships and predictions, up to where L-BFGS-B stops (gtol=1e-4)
    X, y, _ = _data(500, 0.3, raw=False)
    Xr, yr, _ = _data(500, 0.3, raw=True)
    np.testing.assert_array_equal(y, yr)
    a = LearnedFairRepresentations(prot_attr=0, priv_group=1, random_state=0).fit(X, y)
    b = LearnedFairRepresentations(prot_attr=0, priv_group=1, random_state=0).fit(Xr, y)
    np.testing.assert_allclose(a.prototype_membership(X), b.prototype_membership(Xr),
                               atol=1e-3)
    assert np.mean(a.predict(X) == b.predict(Xr)) > 0.99
    # the reconstruction is in each one's feature units: standardised, they agree
    np.testing.assert_allclose((a.transform(X) - a.mean_) / a.scale_,
                               (b.transform(Xr) - b.mean_) / b.scale_, atol=1e-3)
    np.testing.assert_allclose(b.scale_, Xr[:, 1:].std(axis=0))


def test_fairness_weight_trades_accuracy_for_gap():
    X, y, a = _data(1000, 0.3, raw=True)
    accs, gaps = [], []
    for az in (0.0, 1.0, 3.0, 10.0):
        lfr = LearnedFairRepresentations(prot_attr=0, priv_group=1, fairness_weight=az,
                                         random_state=0).fit(X, y)
        pred = lfr.predict(X)
        accs.append(np.mean(pred == y))
        gaps.append(_spd(pred, a))
    assert np.all(np.diff(gaps) < 0.01) and gaps[-1] < gaps[0] / 3
    assert np.all(np.diff(accs) < 0.01) and accs[-1] > max(y.mean(), 1 - y.mean())


def test_aif360_weights_on_raw_features_still_collapse_and_warn():
    # the previous defaults, reachable by parameters: the fairness term (50 x a probability
    # gap) outweighs the whole label loss and the fit ends at one class
    X, y, _ = _data(500, 0.3, raw=True)
    with pytest.warns(ConstantFitWarning, match="fairness_weight=50.0"):
        lfr = LearnedFairRepresentations(prot_attr=0, priv_group=1, reconstruct_weight=0.01,
                                         fairness_weight=50.0, normalize=False,
                                         random_state=0).fit(X, y)
    assert len(np.unique(lfr.predict(X))) == 1
