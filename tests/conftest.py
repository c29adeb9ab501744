"""Suite-wide settings.

pytest-xdist runs one worker per core; a multi-threaded BLAS inside each worker
would oversubscribe the cores (small GEMMs then run many times slower), so
every worker keeps BLAS to one thread.
"""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    with threadpool_limits(1, user_api="blas"):
        yield
