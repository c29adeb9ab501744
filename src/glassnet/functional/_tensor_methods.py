"""Python operators and convenience methods on :class:`Tensor`.

autograd may not import functional (imports point one way), so functional
installs the operators onto Tensor when it is imported.
"""

from __future__ import annotations

from glassnet import functional as F
from glassnet.autograd import Tensor


def _varargs(args: tuple):
    """``x.reshape(2, 3)`` and ``x.reshape((2, 3))`` alike, as NumPy allows."""
    return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


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
    T.sum = lambda a, axis=None, keepdims=False: F.sum(a, axis=axis, keepdims=keepdims)
    T.mean = lambda a, axis=None, keepdims=False: F.mean(a, axis=axis, keepdims=keepdims)
    T.max = lambda a, axis=None, keepdims=False: F.max(a, axis=axis, keepdims=keepdims)
    T.reshape = lambda a, *shape: F.reshape(a, _varargs(shape))
    T.transpose = lambda a, *axes: F.transpose(a, _varargs(axes) or None)
    T.T = property(lambda a: F.transpose(a))
    T.broadcast_to = lambda a, shape: F.broadcast_to(a, shape)
    T.sum_to = lambda a, shape: F.sum_to(a, shape)
    T.tanh = lambda a: F.tanh(a)
    T.sigmoid = lambda a: F.sigmoid(a)
    T.relu = lambda a: F.relu(a)
    T.clip = lambda a, lo, hi: F.clip(a, lo, hi)


_install()
