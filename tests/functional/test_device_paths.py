"""Every functional op case, run on the fake device: no op falls back to NumPy on device data.

The cases are the ones the host tests declare (each test module's ``CASES``), not a copy.
"""

import pytest

from glassnet.testing.fake_device import fake_device, guard
from tests.functional import (
    test_activation,
    test_arithmetic,
    test_attention,
    test_broadcast,
    test_conv,
    test_dropout,
    test_embedding,
    test_linalg,
    test_loss,
    test_negative_sampling,
    test_recurrent,
    test_reduction,
    test_selection,
    test_shape,
)
from tests.helpers import cupy_or_skip, run_case_on_device

MODULES = [test_activation, test_arithmetic, test_attention, test_broadcast, test_conv, test_dropout, test_embedding,
           test_linalg, test_loss, test_negative_sampling, test_recurrent, test_reduction, test_selection, test_shape]
CASES = [case for m in MODULES for case in m.CASES] + test_recurrent.REVERSE_CASES


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op_on_fake_device(case):
    with guard():
        run_case_on_device(case, fake_device)


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=str)
def test_op_on_cupy(case):
    run_case_on_device(case, cupy_or_skip())
