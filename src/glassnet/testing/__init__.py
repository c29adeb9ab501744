"""Tools to check differentiable functions: yours and ours.

* :func:`gradcheck` compares a function's backward with central finite
  differences in float64, under a random upstream gradient.
* :func:`check_parity` compares outputs and gradients with any reference
  implementation (the tests use PyTorch; glassnet never imports it).
* :mod:`glassnet.testing.fake_device` (imported on its own, as it registers an
  array module) is a GPU stand-in on the CPU whose arrays refuse to become host
  arrays implicitly: ``gradcheck(..., device=fake_device)`` and
  ``Module.to(fake_device)`` prove that a code path never falls back to NumPy.
"""

from glassnet.testing.gradcheck import GradcheckError, gradcheck, numerical_grad
from glassnet.testing.parity import ParityError, assert_allclose, check_parity

__all__ = ["gradcheck", "numerical_grad", "GradcheckError", "check_parity", "assert_allclose", "ParityError"]
