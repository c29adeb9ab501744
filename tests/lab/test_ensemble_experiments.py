"""The ensembles experiment's quick configuration on seed 0 with the shared MNIST subset."""

import json
from pathlib import Path

import numpy as np
import pytest

from glassnet.lab import experiments, get_experiment, run_experiment

SHARED = Path("/work/shared/data")
pytestmark = pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="needs /work/shared/data (MNIST subset)")


def test_ensembles_quick(tmp_path):
    assert {n for n, e in experiments().items() if e.topic == "Ensembles"} == {"ensembles"}
    r = run_experiment(get_experiment("ensembles"), quick=True, out_dir=tmp_path, seed=0, data_dir=SHARED,
                       verbose=False, printer=None)
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["verdict"] == r.verdict == "supported" and data["topic"] == "Ensembles"
    assert r.plots and all((tmp_path / p).stat().st_size > 3000 for p in r.plots)
    m = r.metrics
    for name in ("same", "diverse"):
        assert len(m[f"{name}_member_errors"]) == len(m[f"{name}_error_by_m"]) == 5
        assert m[f"{name}_error_by_m"][0] == m[f"{name}_member_errors"][0]  # M = 1 is the first member
        assert m[f"{name}_ensemble_error"] == m[f"{name}_error_by_m"][-1]
        assert m[f"{name}_ensemble_error"] <= np.mean(m[f"{name}_member_errors"])
        assert 0 < m[f"{name}_disagreement"] < 1
    assert m["same_member_errors"][0] == m["diverse_member_errors"][0]  # member 0 (a LeNet) is shared
