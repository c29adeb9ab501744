"""``glassnet lab``, ``glassnet report`` and ``glassnet data``: listing, --resume, Ctrl-C, offline reports."""

import json

import pytest

import glassnet.cli.data  # noqa: F401  (registers the sub-commands)
import glassnet.cli.lab  # noqa: F401
from glassnet.cli import INTERRUPTED
from tests.cli_helpers import invoke


def test_lab_list_marks_the_experiments_that_need_downloaded_data():
    result = invoke(["lab"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert "[needs data: small_parallel_enja]" in lines["translate-enja"]
    assert "[needs data: tinyshakespeare, ptb]" in lines["language-model"]
    assert "needs data" not in lines["binary-addition"] and "needs data" not in lines["q-learning"]
    assert "glassnet data download NAME" in result.output


@pytest.mark.parametrize("command", [["lab", "binary-addition", "--quick"], ["report", "--only", "binary-addition"]])
def test_ctrl_c_prints_one_line_and_exits_130(monkeypatch, tmp_path, command):
    from glassnet.lab import get_experiment

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(get_experiment("binary-addition"), "run", interrupted)
    result = invoke([*command, "--out", str(tmp_path / "out")])
    assert result.exit_code == INTERRUPTED == 130, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted: ") and "--resume" in lines[0], result.stderr
    assert "Aborted" not in result.output and "Traceback" not in result.output


def test_lab_resume_reuses_the_units_of_an_interrupted_run(monkeypatch, tmp_path):
    """Interrupt long-dependency's quick run after its first unit; --resume reads it back, same numbers."""
    from glassnet.lab import base

    out = tmp_path / "run"
    whole = invoke(["lab", "long-dependency", "--quick", "--quiet", "--out", str(tmp_path / "whole"),
                    "--set", "cells=rnn,gru"])
    assert whole.exit_code == 0, whole.output
    real_unit = base.RunContext.unit

    def unit_then_interrupt(self, key, fn):
        value = real_unit(self, key, fn)
        if key.startswith("gru"):
            raise KeyboardInterrupt
        return value

    monkeypatch.setattr(base.RunContext, "unit", unit_then_interrupt)
    cut = invoke(["lab", "long-dependency", "--quick", "--quiet", "--out", str(out), "--set", "cells=rnn,gru"])
    assert cut.exit_code == 130 and not (out / "result.json").exists()
    monkeypatch.setattr(base.RunContext, "unit", real_unit)
    resumed = invoke(["lab", "long-dependency", "--quick", "--quiet", "--out", str(out), "--set", "cells=rnn,gru",
                      "--resume"])
    assert resumed.exit_code == 0, resumed.output
    a = json.loads((tmp_path / "whole" / "result.json").read_text())
    b = json.loads((out / "result.json").read_text())
    assert b["resumed_units"] == 2 and a["resumed_units"] == 0
    assert a["metrics"] == b["metrics"] and [r["test MSE"] for r in a["table"]] == [r["test MSE"] for r in b["table"]]
    assert resumed.output.rstrip().splitlines()[-1].startswith("quick check: ")


def test_report_offline_with_an_empty_data_dir_exits_0_with_a_page(tmp_path, monkeypatch):
    """No network and no data: the experiments that need data are inconclusive with a how-to, the page is written."""
    import urllib.request

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GLASSNET_DATA", str(empty))
    out = tmp_path / "report"
    result = invoke(["report", "--out", str(out), "--only", "translate-enja", "--only", "word2vec",
                     "--only", "language-model"])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    for name in ("translate-enja", "word2vec", "language-model"):
        r = json.loads((out / name / "result.json").read_text())
        assert r["verdict"] == "inconclusive" and "missing_data" in r["metrics"], r
        assert any("glassnet data download" in n for n in r["notes"]), r["notes"]
        assert f"id='{name}'" in page
    assert "3 inconclusive" in page


def test_data_lists_the_home_folder_and_the_files_present(tmp_path):
    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb" / "ptb.valid.txt").write_text("a b c\n")
    result = invoke(["data", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"data home: {tmp_path}" in result.output
    assert f"{tmp_path / 'ptb'}: ptb.valid.txt" in result.output
    assert f"not downloaded ({tmp_path / 'mnist'})" in result.output
    assert "embedded" in result.output.split("iris", 1)[1].splitlines()[1]


def test_data_download_takes_the_same_data_dir_flag_as_the_other_commands(tmp_path):
    result = invoke(["data", "download", "digits", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "embedded" in result.output
