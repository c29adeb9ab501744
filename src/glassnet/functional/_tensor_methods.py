"""Python operators and convenience methods on :class:`Tensor`.

autograd may not import functional (imports point one way), so functional
installs the operators onto Tensor when it is imported.
"""

from __future__ import annotations

from glassnet import functional as F
from glassnet.autograd import Tensor


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
    T.exp = lambda a: F.exp(a)
    T.log = lambda a: F.log(a)
    T.sqrt = lambda a: F.sqrt(a)
    optional = {
        "__matmul__": lambda a, b: F.matmul(a, b),
        "__rmatmul__": lambda a, b: F.matmul(b, a),
        "__getitem__": lambda a, idx: F.getitem(a, idx),
        "sum": lambda a, axis=None, keepdims=False: F.sum(a, axis=axis, keepdims=keepdims),
        "mean": lambda a, axis=None, keepdims=False: F.mean(a, axis=axis, keepdims=keepdims),
        "max": lambda a, axis=None, keepdims=False: F.max(a, axis=axis, keepdims=keepdims),
        "reshape": lambda a, *shape: F.reshape(a, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape),
        "transpose": lambda a, *axes: F.transpose(a, (axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes) or None),
        "T": property(lambda a: F.transpose(a)),
        "broadcast_to": lambda a, shape: F.broadcast_to(a, shape),
        "sum_to": lambda a, shape: F.sum_to(a, shape),
        "tanh": lambda a: F.tanh(a),
        "sigmoid": lambda a: F.sigmoid(a),
        "relu": lambda a: F.relu(a),
        "clip": lambda a, lo, hi: F.clip(a, lo, hi),
    }
    for name, fn in optional.items():
        # bound only once the family that defines the op exists
        op = name.strip("_").replace("rmatmul", "matmul").replace("getitem", "getitem")
        op = {"T": "transpose"}.get(op, op)
        if hasattr(F, op):
            setattr(T, name, fn)


_install()
