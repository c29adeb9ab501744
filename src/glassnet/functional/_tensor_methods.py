"""Python operators and convenience methods on :class:`Tensor`.

autograd may not import functional (imports point one way), so functional
installs the operators onto Tensor when it is imported.
"""

from __future__ import annotations

import functools

from glassnet import functional as F
from glassnet.autograd import Tensor


def _varargs(args: tuple):
    """``x.reshape(2, 3)`` and ``x.reshape((2, 3))`` alike, as NumPy allows."""
    return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _method(f):
    """``f`` as a Tensor method (``x.sum(dim=0)`` is ``F.sum(x, dim=0)``), with ``f``'s name and docstring."""
    @functools.wraps(f)
    def method(self, *args, **kwargs):
        return f(self, *args, **kwargs)
    return method


def _install() -> None:
    T = Tensor
    T.__add__ = lambda a, b: F.add(a, b)
    T.__radd__ = lambda a, b: F.add(b, a)
    T.__sub__ = lambda a, b: F.sub(a, b)
    T.__rsub__ = lambda a, b: F.sub(b, a)
    T.__mul__ = lambda a, b: F.mul(a, b)
    T.__rmul__ = lambda a, b: F.mul(b, a)
    T.__truediv__ = lambda a, b: F.div(a, b)
    T.__rtruediv__ = lambda a, b: F.div(b, a)
    T.__neg__ = lambda a: F.neg(a)
    T.__pow__ = lambda a, c: F.pow(a, c)
    T.__matmul__ = lambda a, b: F.matmul(a, b)
    T.__rmatmul__ = lambda a, b: F.matmul(b, a)
    T.__getitem__ = lambda a, idx: F.getitem(a, idx)
    T.exp = lambda a: F.exp(a)
    T.log = lambda a: F.log(a)
    T.sqrt = lambda a: F.sqrt(a)
    # reductions take axis/keepdims and their torch aliases dim/keepdim; argmax/argmin return integer arrays
    for f in (F.sum, F.mean, F.max, F.min, F.var, F.std, F.logsumexp, F.argmax, F.argmin, F.astype):
        setattr(T, f.__name__, _method(f))
    T.reshape = lambda a, *shape: F.reshape(a, _varargs(shape))
    T.transpose = lambda a, *axes: F.transpose(a, _varargs(axes) or None)
    T.T = property(lambda a: F.transpose(a), doc="The transpose (all axes reversed), differentiable.")
    T.broadcast_to = lambda a, shape: F.broadcast_to(a, shape)
    T.sum_to = lambda a, shape: F.sum_to(a, shape)
    T.tanh = lambda a: F.tanh(a)
    T.sigmoid = lambda a: F.sigmoid(a)
    T.relu = lambda a: F.relu(a)
    T.clip = lambda a, lo, hi: F.clip(a, lo, hi)


_install()
