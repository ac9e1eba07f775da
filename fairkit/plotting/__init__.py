"""fairkit.plotting: public names re-exported from its modules."""

from . import figures  # noqa: F401
from .figures import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (figures,)
    for name in module.__all__
)
