"""dCov's trade-off over lam on synthetic data (issue "Good answers on data nobody tuned
to"): no jump to a constant while a fair direction exists, the exact threshold of the
one-proxy case, a constant fit that warns."""

import warnings

import dcor
import numpy as np
import pytest

from fairkit.base import ConstantFitWarning
from fairkit.inprocessing import DCovRegularizedClassifier


def _majority(y):
    return max(np.mean(y), 1 - np.mean(y))


def _spd(pred, a):
    return abs(pred[a == 1].mean() - pred[a == 0].mean())


def _mixed(n, scale, pos, seed=0):
    """x0 a proxy of the group, x1 and x2 independent of it; all three predict y."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = np.c_[rng.normal(size=n) + 1.2 * a, rng.normal(size=n), rng.normal(size=n)]
    logit = 2 * (x[:, 0] + x[:, 1] + 0.5 * x[:, 2] - 0.6) + np.log(pos / (1 - pos))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return np.c_[a, x * scale], y, a


CASES = [(500, 1.0, 0.5), (2000, 1.0, 0.3), (1000, 50.0, 0.5), (3000, 0.02, 0.15)]


@pytest.mark.parametrize("n, scale, pos", CASES)
def test_trade_off_is_gradual_over_lam(n, scale, pos):
    X, y, a = _mixed(n, scale, pos)
    lams = (0.0, 1.0, 10.0, 100.0)
    acc, dep, spd = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFitWarning)  # no lam here ends constant
        for lam in lams:
            m = DCovRegularizedClassifier(prot_attr=0, lam=lam).fit(X, y)
            p = m.predict_proba(X)[:, 1]
            acc.append(np.mean(m.predict(X) == y))
            dep.append(dcor.distance_correlation(p, a.astype(float)))
            spd.append(_spd(p, a))
    acc, dep, spd = map(np.asarray, (acc, dep, spd))
    # every fit at least as accurate as the majority class, and well above it: x1, x2
    # carry the label independently of the group
    assert np.all(acc >= _majority(y))
    assert acc[-1] > _majority(y) + 0.02
    # dependence and the gap of mean scores fall with lam, accuracy does not rise
    # (beyond a small tolerance)
    assert np.all(np.diff(dep) < 0) and np.all(np.diff(spd) < 0)
    assert np.all(np.diff(acc) < 0.01)
    assert dep[-1] < dep[0] / 4
    # no cliff: each step of the lam grid loses less than half of lam=0's dependence
    # above the final one (the old intercept-only start lost all of it at one step)
    assert np.all(-np.diff(dep) < 0.75 * (dep[0] - dep[-1]))


def _one_proxy(n, scale, pos, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = 1.5 * a + rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x - 0.75 + np.log(pos / (1 - pos)))))).astype(int)
    return np.c_[a, x * scale], y, a, x * scale


@pytest.mark.parametrize("n, scale, pos", [(500, 1.0, 0.5), (2000, 20.0, 0.25)])
def test_one_proxy_shrinks_to_zero_at_the_threshold(n, scale, pos):
    # With one feature x the only non-constant model uses the proxy. dCov^2 grows like
    # |w| near w = 0 (dCov^2(c x, S) = |c| dCov^2(x, S)), so, as for the lasso, the
    # constant is the optimum exactly when lam exceeds
    #     lam* = |mean((p0 - y) x)| / (p0 (1 - p0) dCov^2_U(x, S)),  p0 = mean(y),
    # the ratio of the log-loss slope and the penalty slope at the intercept-only model
    # (dCov^2_U from the dcor package); below lam* the weight shrinks continuously.
    X, y, a, x = _one_proxy(n, scale, pos)
    p0 = y.mean()
    lam_star = abs(np.mean((p0 - y) * x)) / (
        p0 * (1 - p0) * dcor.u_distance_covariance_sqr(x, a.astype(float)))
    weights = []
    for f in (0.0, 0.5, 0.9):
        # (near lam* an imbalanced fit may predict one class everywhere, and warn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConstantFitWarning)
            m = DCovRegularizedClassifier(prot_attr=0, lam=f * lam_star).fit(X, y)
        weights.append(m.coef_[0] * scale)
    assert np.all(np.diff(weights) < 0) and weights[-1] > 0
    # soft-thresholding: at 0.9 lam* the weight is already small against lam = 0's
    assert weights[-1] < 0.25 * weights[0]
    with pytest.warns(ConstantFitWarning, match=r"DCovRegularizedClassifier.*lam="):
        m = DCovRegularizedClassifier(prot_attr=0, lam=1.1 * lam_star).fit(X, y)
    assert m.coef_[0] == 0.0
    assert np.mean(m.predict(X) == y) == pytest.approx(_majority(y))
