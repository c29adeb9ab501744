"""Every functional op case, run on the fake device: no op falls back to NumPy on device data.

The cases are the ones the host tests declare (each test module's ``CASES``), not a copy; the
few Functions that no case list reaches (their host tests are written out by hand) get one
case each here, so that every ``Function`` subclass of ``glassnet.functional`` runs on the device.
"""

import numpy as np
import pytest

from glassnet import functional as F
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
from tests.helpers import Case, cupy_or_skip, run_case_on_device

MODULES = [test_activation, test_arithmetic, test_attention, test_broadcast, test_conv, test_dropout, test_embedding,
           test_linalg, test_loss, test_negative_sampling, test_recurrent, test_reduction, test_selection, test_shape]
ONLY_HERE = [  # Functions whose host tests are not case lists
    Case("reparameterize", F.reparameterize, lambda r: [r.standard_normal((3, 2)), r.standard_normal((3, 2)),
                                                        r.standard_normal((3, 2))]),
    Case("vae_loss", lambda lo, x, m, v: F.vae_loss(lo, x, m, v),
         lambda r: [r.standard_normal((3, 4)), r.random((3, 4)), r.standard_normal((3, 2)), r.standard_normal((3, 2))]),
    Case("gaussian_kl_divergence_two", lambda *a: F.gaussian_kl_divergence_two(*a, reduction="mean"),
         lambda r: [r.standard_normal((3, 2)) for _ in range(4)]),
    Case("var_std", lambda x: F.var(x, axis=1, ddof=1) + F.std(x, axis=0).sum(), lambda r: [r.standard_normal((3, 4))]),
    Case("astype", lambda x: F.astype(x, np.float64) * 2.0, lambda r: [r.standard_normal((2, 3))]),
    Case("huber_loss", lambda x, y: F.huber_loss(x, y, delta=0.5),
         lambda r: [r.standard_normal(5), r.standard_normal(5)]),
]
CASES = [case for m in MODULES for case in m.CASES] + test_recurrent.REVERSE_CASES + ONLY_HERE


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op_on_fake_device(case):
    with guard():
        run_case_on_device(case, fake_device)


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES, ids=str)
def test_op_on_cupy(case):
    run_case_on_device(case, cupy_or_skip())
