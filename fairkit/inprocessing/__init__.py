"""In-processing mitigators: distance-covariance regularised models, SEP-constrained linear
classifier, Aranyani online fair forest, prejudice remover, the reductions approach,
GerryFair, adversarial debiasing, Celis et al.'s meta-algorithm.

The implementation modules are private; the public names are re-exported here.
``calibrate_lambda``, ``plot_lambda_calibration``, ``prequential_evaluation``,
``plot_prequential`` and ``PrequentialResult`` live in :mod:`fairkit.model_selection` and
:mod:`fairkit.plotting`; they stay importable from here, where they were first published.
"""

from ._adversarial import AdversarialDebiasingClassifier, AdversarialDebiasingRegressor
from ._aranyani import (
    AranyaniClassifier,
    PrequentialResult,
    plot_prequential,
    prequential_evaluation,
    smoothed_abs,
    smoothed_abs_derivative,
)
from ._dcov import (
    DCovRegularizedClassifier,
    DCovRegularizedRegressor,
    calibrate_lambda,
    dcov_penalty,
    plot_lambda_calibration,
)
from ._gerryfair import GerryFairClassifier
from ._meta_fair import MetaFairClassifier
from ._prejudice_remover import PrejudiceRemover
from ._reductions import ExponentiatedGradientReduction, GridSearchReduction
from ._sep import ADULT_SEP_DEFAULTS, SEPConstrainedClassifier

__all__ = [
    "ADULT_SEP_DEFAULTS",
    "AdversarialDebiasingClassifier",
    "AdversarialDebiasingRegressor",
    "AranyaniClassifier",
    "DCovRegularizedClassifier",
    "DCovRegularizedRegressor",
    "ExponentiatedGradientReduction",
    "GerryFairClassifier",
    "GridSearchReduction",
    "MetaFairClassifier",
    "PrejudiceRemover",
    "PrequentialResult",
    "SEPConstrainedClassifier",
    "calibrate_lambda",
    "dcov_penalty",
    "plot_lambda_calibration",
    "plot_prequential",
    "prequential_evaluation",
    "smoothed_abs",
    "smoothed_abs_derivative",
]
