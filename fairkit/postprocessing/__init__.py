"""Post-processing mitigators: equalized-odds and calibrated equalized-odds post-processing,
reject option classification, group-specific thresholds, TTTS and FairTTTS, fair regression
by Wasserstein barycenter, an optimal linear-program post-processor (multiclass); fair
re-ranking of a top-k list.

The implementation modules are private; the public names are re-exported here.
"""

from ._barycenter import WassersteinFairRegressor
from ._calibrated_equalized_odds import CalibratedEqualizedOdds, CostUnreachableWarning
from ._equalized_odds import EqualizedOddsPostprocessor
from ._fairttts import BoostNoEffectWarning, FairTTTSClassifier, TTTSClassifier
from ._linear_program import LinearProgramPostprocessor
from ._reject_option import RejectOptionClassifier
from ._reranking import DeterministicReranker
from ._threshold_optimizer import ThresholdOptimizer

__all__ = [
    "BoostNoEffectWarning",
    "CalibratedEqualizedOdds",
    "CostUnreachableWarning",
    "DeterministicReranker",
    "EqualizedOddsPostprocessor",
    "FairTTTSClassifier",
    "LinearProgramPostprocessor",
    "RejectOptionClassifier",
    "TTTSClassifier",
    "ThresholdOptimizer",
    "WassersteinFairRegressor",
]
