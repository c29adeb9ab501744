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


def test_recorded_runs_are_built_from_full_results_and_shown_beside_quick_ones(tmp_path, coin_only, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    from glassnet.errors import DataError
    from glassnet.lab import recorded

    full = tmp_path / "full"
    report.build_report(full, quick=False, seed=5, verbose=False)
    quick_result = tmp_path / "quick"
    report.build_report(quick_result, quick=True, seed=5, verbose=False)
    target = tmp_path / "recorded.json"
    script = Path(__file__).resolve().parents[2] / "scripts" / "record_full_runs.py"
    done = subprocess.run([sys.executable, str(script), str(full / "coin" / "result.json"), "--out", str(target)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs = recorded.load_recorded(target)
    r = result(full)
    assert set(runs) == {"coin"}
    rec = runs["coin"]
    assert (rec["verdict"], rec["seed"], rec["date"], rec["cpu_seconds"]) == (r["verdict"], 5, r["date"],
                                                                               r["cpu_seconds"])
    assert rec["machine"] == r["machine"] and rec["metrics"] == {k: v for k, v in r["metrics"].items()
                                                                 if isinstance(v, (int, float))}
    # a quick result is refused: a recorded run is a full run
    with pytest.raises(DataError, match="must be a full run"):
        recorded.record_from_result(result(quick_result), "0")
    # the page of a quick report shows the recorded run, labelled as such
    monkeypatch.setattr(report, "load_recorded", lambda: runs)
    page = report.build_report(quick_result, quick=True, seed=5, verbose=False, rerun=False).read_text()
    assert "Recorded full run" in page and "not run now" in page and rec["date"] in page
    assert "Quick check" in page
    with pytest.raises(DataError, match="not a glassnet-recorded-runs file"):
        target.write_text('{"format": "other"}')
        recorded.load_recorded(target)


def test_the_shipped_recorded_runs_are_full_runs_of_known_experiments():
    from glassnet.lab import experiments
    from glassnet.lab.recorded import load_recorded

    runs = load_recorded()
    assert runs, "the package ships recorded full runs"
    known = experiments()
    for name, rec in runs.items():
        assert name in known, name
        assert rec["criterion"] == known[name].criterion, f"{name}: recorded under another criterion; rerun it"
        assert rec["verdict"] in ("supported", "not supported", "inconclusive")
        assert rec["cpu_seconds"] > 0 and rec["machine"]["numpy"]
