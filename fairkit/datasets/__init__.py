"""fairkit.datasets: public names re-exported from its modules."""

from . import _files, adult, compas, hmda, lar, synthetic  # noqa: F401
from ._files import *  # noqa: F401,F403
from .adult import *  # noqa: F401,F403
from .compas import *  # noqa: F401,F403
from .hmda import *  # noqa: F401,F403
from .lar import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (_files, adult, compas, hmda, lar, synthetic)
    for name in module.__all__
)
