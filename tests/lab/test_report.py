"""``build_report``: resuming reuses a result only when it was run with the same seed and quick flag."""

import json

import pytest

from glassnet.lab import report
from tests.lab.test_base import Coin


@pytest.fixture
def coin_only(monkeypatch):
    monkeypatch.setattr(report, "experiments", lambda: {"coin": Coin})


def result(out):
    return json.loads((out / "coin" / "result.json").read_text())


@pytest.mark.parametrize("seed, quick, reused", [(3, True, True), (4, True, False), (3, False, False)])
def test_resume_reuses_only_a_result_of_the_same_seed_and_quick_flag(tmp_path, coin_only, seed, quick, reused):
    report.build_report(tmp_path, quick=True, seed=3, verbose=False)
    first = result(tmp_path)
    path = report.build_report(tmp_path, quick=quick, seed=seed, verbose=False, rerun=False)
    again = result(tmp_path)
    assert (again == first) is reused
    assert (again["seed"], again["quick"]) == (seed, quick)
    assert again["config"]["n"] == (1000 if quick else 10_000) and path.exists()


def test_resume_runs_again_over_an_unreadable_result(tmp_path, coin_only):
    (tmp_path / "coin").mkdir()
    (tmp_path / "coin" / "result.json").write_text("{truncated")
    report.build_report(tmp_path, quick=True, seed=0, verbose=False, rerun=False)
    assert result(tmp_path)["seed"] == 0
