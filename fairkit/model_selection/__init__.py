"""fairkit.model_selection: public names re-exported from its modules."""

from . import pareto, registry, search  # noqa: F401
from .pareto import *  # noqa: F401,F403
from .registry import *  # noqa: F401,F403
from .search import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (search, pareto, registry)
    for name in module.__all__
)
