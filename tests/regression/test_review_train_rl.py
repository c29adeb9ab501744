"""Review of the training loop, the CLI and the RL parts as a new user meets them: each test is a bug found."""

import os
import stat
import warnings
from dataclasses import dataclass

import pytest

import glassnet.cli.data  # noqa: F401  (registers the sub-commands)
import glassnet.cli.lab  # noqa: F401
import glassnet.cli.train  # noqa: F401
from glassnet.cli import cli
from glassnet.fileio import atomic_write_bytes
from glassnet.lab.base import Experiment, Outcome, run_experiment
from tests.cli_helpers import assert_one_line_error, invoke

TINY = ["train", "mlp", "--data", "iris", "--epochs", "2", "--hidden", "8", "--quiet"]




@pytest.mark.parametrize("args, text", [
    # click's usage block (3 lines, no "glassnet: error:") for every command but train
    (["lab", "value-iteration", "--bogus"], "No such option '--bogus'"),
    (["report", "--frobnicate"], "No such option '--frobnicate'"),
    (["data", "bogus"], "No such command 'bogus'"),
    (["--bogus"], "No such option '--bogus'"),
    (["nope"], "No such command 'nope'"),
    # a negative seed reached numpy's SeedSequence: a ValueError traceback
    (["lab", "value-iteration", "--quick", "--seed", "-1"], "Invalid value for '--seed'"),
    (["train", "mlp", "--data", "iris", "--seed", "-1"], "Invalid value for '--seed'"),
    (["report", "--seed", "-1"], "Invalid value for '--seed'"),
    # the argument was named '{mlp}' in the message
    (["train", "transformer", "--data", "iris"], "Invalid value for 'MODEL'"),
])
def test_usage_errors_are_one_line_everywhere(args, text):
    result = invoke(args)
    assert_one_line_error(result, text)
    assert "see 'glassnet" in result.stderr


def test_out_under_a_file_is_one_line_before_training(tmp_path):
    # was: one epoch of training, then a NotADirectoryError traceback
    (tmp_path / "file").write_text("x")
    result = invoke([*TINY, "--out", str(tmp_path / "file" / "run")])
    assert_one_line_error(result, "--out: cannot create folder")
    assert "train loss" not in result.output


def test_lab_out_under_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_one_line_error(invoke(["lab", "value-iteration", "--quick", "--out", str(tmp_path / "file" / "x")]),
                          "Not a directory")


def test_multi_line_error_messages_become_one_line():
    # e.g. fetch's "every mirror failed:" followed by one line per mirror (MNIST without network)
    from glassnet.errors import DataError

    @cli.command("_review_multiline", hidden=True)
    def _multiline():
        raise DataError("fetch: every mirror failed:\n  fetch: mirror a failed\n  fetch: mirror b failed")

    try:
        result = invoke(["_review_multiline"])
    finally:
        cli.commands.pop("_review_multiline")
    assert_one_line_error(result, "every mirror failed: | fetch: mirror a failed | fetch: mirror b failed")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    result = invoke([*TINY, "--out", str(out), "--schedule", "cosine"])
    assert result.exit_code == 0, result.output
    return out, result


def test_success_lists_best_npz_among_written_files(finished):
    out, result = finished
    wrote = [line for line in result.output.splitlines() if line.startswith("wrote ")]
    assert wrote and str(out / "best.npz") in wrote[0] and str(out / "checkpoint.npz") in wrote[0]


def test_resume_refuses_fewer_epochs_than_done(finished):
    # was: exit 0, reporting "after 2 epochs" for --epochs 1
    out, _ = finished
    assert_one_line_error(invoke([*TINY[:4], "--epochs", "1", *TINY[6:], "--out", str(out), "--resume"]),
                          "--epochs 1 is fewer than the 2 epochs")


def test_resume_refuses_new_epochs_with_cosine_schedule(finished):
    # was: T_max stayed the old --epochs, so epochs past it climbed the learning rate back up
    out, _ = finished
    assert_one_line_error(invoke([*TINY[:4], "--epochs", "4", *TINY[6:], "--out", str(out), "--resume"]),
                          "cosine schedule")


def test_diverging_run_names_the_step_without_numpy_warnings(tmp_path):
    # numpy's overflow warnings printed four more lines above the error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoke(["train", "mlp", "--data", "digits", "--epochs", "1", "--lr", "1e38", "--optimizer", "sgd",
                         "--quiet", "--out", str(tmp_path)])
    assert_one_line_error(result, "at epoch 1, step ")
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    # was: mkstemp's 0600, so metrics, plots and checkpoints were unreadable to anyone else
    umask = os.umask(0o022)
    os.umask(umask)
    path = atomic_write_bytes(tmp_path / "f.bin", b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


class _Const(Experiment):
    name = "_review-const"
    topic = "review"
    claim = "c"
    criterion = "c"

    @dataclass
    class Config:
        n: int = 1

    def run(self, config, ctx):
        return Outcome("supported", {"n": config.n})


def test_lab_run_prints_what_it_wrote_and_verdict_last(tmp_path, capsys):
    run_experiment(_Const, out_dir=tmp_path, verbose=False)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "verdict: supported"
    assert lines[-2] == f"wrote {tmp_path / 'result.json'}"


def test_rl_table_names_the_evaluation_size():
    # the quick runs evaluate 20 episodes; the table said "(100 ep.)"
    from glassnet.lab.rl.policy_gradient import PolicyGradient

    r = run_experiment(PolicyGradient, quick=True, overrides={"episodes": 4, "eval_episodes": 3}, verbose=False,
                       printer=None)
    assert "final eval mean (3 ep.)" in r.table[0]
