"""Data-parallel training under a real ``mpiexec -n 2``: the same parameters as one process, and no hang on failure."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")

WORKER = Path(__file__).with_name("mpi_worker.py")
_local = Path(sys.executable).with_name("mpiexec")
MPIEXEC = str(_local) if _local.exists() else shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec (pip install mpich)")


def _mpiexec(*args, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(WORKER), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_two_ranks_end_with_the_parameters_of_one_process_with_the_global_batch(tmp_path):
    from glassnet.data import DataLoader
    from tests.distributed.mpi_worker import build_trainer, problem

    run = _mpiexec("parity", str(tmp_path), "float64")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "parity ok" in run.stdout  # rank 0 also checked that both ranks hold the same parameters
    ours = np.load(tmp_path / "params.npz")
    # one process, global batch 2 x 4 = 8, the same shuffling stream and the same incomplete-batch rule
    data, model = problem("float64")
    loader = DataLoader(data, batch_size=8, shuffle=True, rng=3, drop_last=True)
    build_trainer(model).fit(loader, epochs=2)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(ours[name], p.data, rtol=0, atol=1e-10, err_msg=name)
    assert int(ours["exchanges"]) == 2 * (48 // 8)  # one allreduce per step


def test_a_rank_that_raises_ends_the_whole_job_instead_of_hanging(tmp_path):
    run = _mpiexec("raise", str(tmp_path), timeout=60)
    assert run.returncode != 0
    assert "rank 1/2" in run.stdout + run.stderr


def test_importing_distributed_does_not_import_mpi4py():
    code = "import sys, glassnet.distributed; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
