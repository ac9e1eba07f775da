"""Pre-processing mitigators: reweighing and resampling, feature repair and decorrelation,
learned fair representations, optimized pre-processing.

The implementation modules are private; the public names are re-exported here.
"""

from ._correlation_remover import CorrelationRemover
from ._disparate_impact_remover import DisparateImpactRemover
from ._lfr import LearnedFairRepresentations, lfr_objective
from ._optimized_preprocessing import OptimizedPreprocessing, OptimizedPreprocessingSampler
from ._reweighing import Reweighing, ReweighingClassifier, reweighing_factors
from ._reweighing_sampler import ReweighingSampler

__all__ = [
    "CorrelationRemover",
    "DisparateImpactRemover",
    "LearnedFairRepresentations",
    "OptimizedPreprocessing",
    "OptimizedPreprocessingSampler",
    "Reweighing",
    "ReweighingClassifier",
    "ReweighingSampler",
    "lfr_objective",
    "reweighing_factors",
]
