"""Tools to check differentiable functions: yours and ours.

* :func:`gradcheck` compares a function's backward with central finite
  differences in float64, under a random upstream gradient.
* :func:`check_parity` compares outputs and gradients with any reference
  implementation (the tests use PyTorch; glassnet never imports it).
"""

from glassnet.testing.gradcheck import GradcheckError, gradcheck, numerical_grad
from glassnet.testing.parity import ParityError, assert_allclose, check_parity

__all__ = ["gradcheck", "numerical_grad", "GradcheckError", "check_parity", "assert_allclose", "ParityError"]
