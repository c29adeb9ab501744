"""glassnet: deep learning you can see through.

A define-by-run framework on NumPy (CuPy on a GPU) whose every forward and
backward is written out as the math, checked by finite differences and against
PyTorch, with a model zoo and a lab of experiments that measure the claims of
a deep-learning course on real data.
"""

from glassnet import functional
from glassnet.autograd import Function, Tensor, as_tensor, backward, enable_grad, is_grad_enabled, no_grad
from glassnet.backend import get_array_module, get_default_dtype, set_default_dtype

F = functional

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "as_tensor", "backward", "no_grad", "enable_grad", "is_grad_enabled",
    "functional", "F", "get_array_module", "get_default_dtype", "set_default_dtype", "__version__",
]
