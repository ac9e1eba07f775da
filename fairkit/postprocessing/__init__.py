"""fairkit.postprocessing: public names re-exported from its modules."""

from . import (  # noqa: F401
    calibrated_equalized_odds,
    equalized_odds,
    fairttts,
    reject_option,
    threshold_optimizer,
)
from .calibrated_equalized_odds import *  # noqa: F401,F403
from .equalized_odds import *  # noqa: F401,F403
from .fairttts import *  # noqa: F401,F403
from .reject_option import *  # noqa: F401,F403
from .threshold_optimizer import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (
        fairttts,
        equalized_odds,
        calibrated_equalized_odds,
        reject_option,
        threshold_optimizer,
    )
    for name in module.__all__
)
