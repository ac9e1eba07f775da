"""fairkit.model_selection: public names re-exported from its modules."""

from . import _bound, _calibrate_lambda, _prequential, pareto, registry, search  # noqa: F401
from ._bound import *  # noqa: F401,F403
from ._calibrate_lambda import *  # noqa: F401,F403
from ._prequential import *  # noqa: F401,F403
from .pareto import *  # noqa: F401,F403
from .registry import *  # noqa: F401,F403
from .search import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (search, pareto, registry, _bound, _calibrate_lambda, _prequential)
    for name in module.__all__
)
