"""fairkit.metrics: public names re-exported from its modules."""

from . import (  # noqa: F401
    dependence,
    distributed,
    frame,
    group,
    individual,
    inferred,
    mdss,
    ranking,
    regression,
    report,
    scorers,
    sep,
    streaming,
    subgroups,
)
from .dependence import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403
from .frame import *  # noqa: F401,F403
from .group import *  # noqa: F401,F403
from .individual import *  # noqa: F401,F403
from .inferred import *  # noqa: F401,F403
from .mdss import *  # noqa: F401,F403
from .ranking import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403
from .scorers import *  # noqa: F401,F403
from .sep import *  # noqa: F401,F403
from .streaming import *  # noqa: F401,F403
from .subgroups import *  # noqa: F401,F403

__all__ = sorted(
    name
    for module in (group, individual, dependence, sep, streaming, scorers, report, distributed,
                   frame, mdss, ranking, regression, subgroups, inferred)
    for name in module.__all__
)
