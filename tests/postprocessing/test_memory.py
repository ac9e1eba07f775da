"""``memory``: the cache of the wrapped model's fits shared by every cross-fitting estimator.

A cached fit must give exactly what an uncached fit gives, and a second fit of the same
model on the same rows must load it instead of refitting (counted by a model that records
its fits)."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from fairkit.postprocessing import (
    CalibratedEqualizedOdds,
    EqualizedOddsPostprocessor,
    LinearProgramPostprocessor,
    RejectOptionClassifier,
    ThresholdOptimizer,
    WassersteinFairRegressor,
)

FITS = []


class CountingLogistic(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        FITS.append(len(X))
        return super().fit(X, y, sample_weight=sample_weight)


class CountingLinear(LinearRegression):
    def fit(self, X, y, sample_weight=None):
        FITS.append(len(X))
        return super().fit(X, y, sample_weight=sample_weight)


def _data(n=600, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    X = pd.DataFrame({"x1": rng.normal(size=n) + a, "x2": rng.normal(size=n), "a": a})
    z = X.x1 + 0.5 * X.x2 + rng.normal(scale=0.5, size=n)
    y = z.to_numpy() if regression else (z > 0.5).astype(int).to_numpy()
    return X, y


CASES = [
    (ThresholdOptimizer, {"random_state": 0}, {"constraints": "equalized_odds"}),
    (CalibratedEqualizedOdds, {"random_state": 0}, {"cost_constraint": "fpr"}),
    (RejectOptionClassifier, {"priv_group": 1}, {"metric_ub": 0.1}),
    (EqualizedOddsPostprocessor, {}, {"random_state": 1}),
    (LinearProgramPostprocessor, {"random_state": 0}, {"tol": 0.05}),
]


@pytest.mark.parametrize("cls, kwargs, other", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_cached_fit_equals_uncached_and_refits_nothing(cls, kwargs, other, tmp_path):
    X, y = _data()
    plain = cls(CountingLogistic(), prot_attr="a", **kwargs).fit(X, y)
    FITS.clear()
    cached = cls(CountingLogistic(), prot_attr="a", memory=str(tmp_path), **kwargs).fit(X, y)
    # 5 cross-fitting folds on 4/5 of the rows each, then the final fit on all 600 rows
    assert sorted(FITS) == [480] * 5 + [600]
    out = "decision_function" if cls is RejectOptionClassifier else "predict_proba"
    np.testing.assert_array_equal(getattr(cached, out)(X), getattr(plain, out)(X))
    np.testing.assert_array_equal(cached.estimator_.coef_, plain.estimator_.coef_)
    FITS.clear()
    again = cls(CountingLogistic(), prot_attr="a", memory=joblib.Memory(str(tmp_path), verbose=0),
                **kwargs, **other).fit(X, y)
    assert FITS == []  # the rule's parameters changed, the model's fits are loaded
    uncached = cls(CountingLogistic(), prot_attr="a", **kwargs, **other).fit(X, y)
    np.testing.assert_array_equal(getattr(again, out)(X), getattr(uncached, out)(X))


def test_a_different_model_or_rows_is_refitted(tmp_path):
    X, y = _data()
    ThresholdOptimizer(CountingLogistic(), prot_attr="a", memory=str(tmp_path)).fit(X, y)
    FITS.clear()
    ThresholdOptimizer(CountingLogistic(C=0.1), prot_attr="a", memory=str(tmp_path)).fit(X, y)
    assert len(FITS) == 6
    FITS.clear()
    ThresholdOptimizer(CountingLogistic(), prot_attr="a", memory=str(tmp_path)).fit(
        X.assign(x2=X.x2 * 2), y)
    assert len(FITS) == 6
    FITS.clear()
    # one row less: the fold that held that row out trains on the same 480 rows as before
    # (loaded), the other four folds and the final fit see new rows (refitted)
    ThresholdOptimizer(CountingLogistic(), prot_attr="a", memory=str(tmp_path)).fit(
        X.iloc[:-1], y[:-1])
    assert sorted(FITS) == [479] * 4 + [599]
    FITS.clear()
    w = np.ones(len(y))
    w[0] = 2.0
    CalibratedEqualizedOdds(CountingLogistic(), prot_attr="a", memory=str(tmp_path)).fit(
        X, y)
    assert FITS == []  # another post-processor on the same model and rows
    CalibratedEqualizedOdds(CountingLogistic(), prot_attr="a", memory=str(tmp_path)).fit(
        X, y, sample_weight=w)
    assert len(FITS) == 6  # fit parameters are part of the key


def test_regressor_memory(tmp_path):
    X, y = _data(regression=True)
    plain = WassersteinFairRegressor(CountingLinear(), prot_attr="a").fit(X, y)
    cached = WassersteinFairRegressor(CountingLinear(), prot_attr="a",
                                      memory=str(tmp_path)).fit(X, y)
    FITS.clear()
    half = WassersteinFairRegressor(CountingLinear(), prot_attr="a", alpha=0.5,
                                    memory=str(tmp_path)).fit(X, y)
    assert FITS == []
    np.testing.assert_array_equal(cached.predict(X), plain.predict(X))
    ref = WassersteinFairRegressor(CountingLinear(), prot_attr="a", alpha=0.5).fit(X, y)
    np.testing.assert_array_equal(half.predict(X), ref.predict(X))


def test_grid_search_over_the_rule_fits_the_model_once_per_rows(tmp_path):
    X, y = _data()
    FITS.clear()
    search = GridSearchCV(
        ThresholdOptimizer(CountingLogistic(), prot_attr="a", memory=str(tmp_path),
                           random_state=0),
        {"constraints": ["demographic_parity", "equalized_odds",
                         "true_positive_rate_parity"]},
        cv=3, refit=False)
    search.fit(X, y)
    # 3 outer folds x (5 cross-fits + 1 final) fits, not 3 x that
    assert len(FITS) == 3 * 6


@pytest.mark.parametrize("bad", [5, ["dir"], object()])
def test_bad_memory_is_refused_by_name(bad):
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="'memory' parameter"):
        ThresholdOptimizer(LogisticRegression(), prot_attr="a", memory=bad).fit(X, y)
