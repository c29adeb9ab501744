"""glassnet: deep learning you can see through.

A define-by-run framework on NumPy (CuPy on a GPU) whose every forward and
backward is written out as the math, checked by finite differences and against
PyTorch, with a model zoo and a lab of experiments that measure the claims of
a deep-learning course on real data.
"""

from glassnet import functional
from glassnet.autograd import Function, Tensor, as_tensor, backward, enable_grad, is_grad_enabled, no_grad
from glassnet.backend import get_array_module, get_default_dtype, set_default_dtype
from glassnet.checks import manual_seed

F = functional

__version__ = "0.1.0"

# Subpackages are reachable from the top package (``import glassnet as gn; gn.nn.LSTM``), imported on first
# use so that ``import glassnet`` stays light (no matplotlib, gymnasium or tqdm until asked for).
_SUBPACKAGES = ("nn", "optim", "data", "text", "train", "zoo", "rl", "lab", "testing", "checks", "errors",
                "backend", "autograd", "fileio", "cli", "export", "detection")
_LAZY = {"save": ("glassnet.train", "save"), "load": ("glassnet.train", "load")}


def __getattr__(name: str):
    import importlib

    if name in _SUBPACKAGES:
        return importlib.import_module(f"glassnet.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBPACKAGES))

__all__ = [
    "Tensor", "Function", "as_tensor", "backward", "no_grad", "enable_grad", "is_grad_enabled",
    "functional", "F", "get_array_module", "get_default_dtype", "set_default_dtype", "manual_seed", "__version__",
]
