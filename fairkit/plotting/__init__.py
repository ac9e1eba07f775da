"""fairkit.plotting: public names re-exported from its modules."""

from . import _lambda, _prequential, figures  # noqa: F401
from ._lambda import *  # noqa: F401,F403
from ._prequential import *  # noqa: F401,F403
from .figures import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (figures, _lambda, _prequential)
    for name in module.__all__
)
