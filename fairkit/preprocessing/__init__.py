"""fairkit.preprocessing: public names re-exported from its modules."""

from . import (  # noqa: F401
    correlation_remover,
    disparate_impact_remover,
    lfr,
    optimized_preprocessing,
    reweighing,
)
from .correlation_remover import *  # noqa: F401,F403
from .disparate_impact_remover import *  # noqa: F401,F403
from .lfr import *  # noqa: F401,F403
from .optimized_preprocessing import *  # noqa: F401,F403
from .reweighing import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (
        reweighing,
        disparate_impact_remover,
        lfr,
        correlation_remover,
        optimized_preprocessing,
    )
    for name in module.__all__
)
