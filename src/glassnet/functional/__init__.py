"""Every differentiable op of glassnet, one file per family (``import glassnet.functional as F``).

Each op is a :class:`~glassnet.autograd.Function` subclass (forward and
backward written as the math, side by side) plus a snake_case wrapper that
checks its input and carries the public docstring. Each family module lists
its public ops in ``__all__``; this package re-exports them all.
"""

from glassnet.functional.arithmetic import *  # noqa: F403
from glassnet.functional.broadcast import *  # noqa: F403
from glassnet.functional.reduction import *  # noqa: F403
from glassnet.functional.shape import *  # noqa: F403
from glassnet.functional.selection import *  # noqa: F403
from glassnet.functional.linalg import *  # noqa: F403
from glassnet.functional.activation import *  # noqa: F403
from glassnet.functional.loss import *  # noqa: F403
from glassnet.functional.dropout import *  # noqa: F403
from glassnet.functional.embedding import *  # noqa: F403
from glassnet.functional.recurrent import *  # noqa: F403
from glassnet.functional.attention import *  # noqa: F403
from glassnet.functional.negative_sampling import *  # noqa: F403
from glassnet.functional.conv import *  # noqa: F403
from glassnet.functional.pooling import *  # noqa: F403
from glassnet.functional.normalization import *  # noqa: F403
from glassnet.functional.latent import *  # noqa: F403
from glassnet.functional import _tensor_methods  # noqa: F401,E402  (installs Tensor operators)
