"""Small real data for the training tests: a slice of scikit-learn's digits, scaled to [0, 1]."""

import numpy as np
import pytest

from glassnet.data import datasets


@pytest.fixture(scope="session")
def digits():
    x, y = datasets.load_digits()
    x = (x / np.float32(16)).astype(np.float32)
    return x[:600], y[:600], x[600:900], y[600:900]


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """Tiny matrices: one BLAS thread is fastest, and steady when the cores are shared."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
