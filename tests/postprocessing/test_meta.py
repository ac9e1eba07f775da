"""Shared fit-time checks of the post-processors and the reductions wrappers (the
BasePostProcessor contract itself is in test_base.py)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fairkit.inprocessing import ExponentiatedGradientReduction, GridSearchReduction
from fairkit.postprocessing import (
    CalibratedEqualizedOdds,
    EqualizedOddsPostprocessor,
    RejectOptionClassifier,
    ThresholdOptimizer,
)


@pytest.mark.parametrize(
    "cls",
    [EqualizedOddsPostprocessor, CalibratedEqualizedOdds, RejectOptionClassifier,
     ThresholdOptimizer, ExponentiatedGradientReduction, GridSearchReduction],
)
def test_y_of_another_length_is_refused(cls):
    rng = np.random.default_rng(0)
    X = np.c_[rng.integers(0, 2, 40), rng.normal(size=40)]
    y = np.tile([0, 1], 20)
    # RejectOptionClassifier has no default privileged group (it must be named)
    extra = {"priv_group": 1} if cls is RejectOptionClassifier else {}
    est = cls(LogisticRegression(), prot_attr=0, **extra)
    with pytest.raises(ValueError, match="X has 40 rows but y has 39"):
        est.fit(X, y[:39])
    assert not hasattr(est, "groups_")  # refused before anything was stored
