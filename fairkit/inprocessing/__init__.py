"""fairkit.inprocessing: public names re-exported from its modules."""

from . import aranyani, dcov, prejudice_remover, reductions, sep  # noqa: F401
from .aranyani import *  # noqa: F401,F403
from .dcov import *  # noqa: F401,F403
from .prejudice_remover import *  # noqa: F401,F403
from .reductions import *  # noqa: F401,F403
from .sep import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (dcov, sep, aranyani, prejudice_remover, reductions)
    for name in module.__all__
)
