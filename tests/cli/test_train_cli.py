"""``glassnet train`` and ``glassnet data``: outputs, one-line errors, and interrupt/kill + resume."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import glassnet.cli.data  # noqa: F401  (registers the sub-commands)
import glassnet.cli.train  # noqa: F401
from glassnet.train import load_checkpoint
from tests.cli_helpers import assert_one_line_error, invoke

# Small, yet slow enough to interrupt: 81 steps per epoch, dropout (so the dropout RNG must be restored).
RUN = ["train", "mlp", "--data", "digits", "--epochs", "6", "--batch-size", "16", "--hidden", "48",
       "--dropout", "0.1", "--seed", "3", "--quiet"]
MAIN = "import sys; from glassnet.cli import main; sys.exit(main())"




def numbers(out_dir):
    metrics = json.loads((out_dir / "metrics.json").read_text())
    metrics.pop("seconds")
    return metrics


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("reference")
    result = invoke([*RUN, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_help_lists_models_and_datasets():
    result = invoke(["train", "--help"])
    assert result.exit_code == 0
    for name in ("mlp", "digits", "iris", "mnist", "cifar10", "--resume", "--data-dir", "--hidden"):
        assert name in result.output


def test_run_writes_table_metrics_plot_and_checkpoints(reference):
    m = numbers(reference)
    assert m["epochs_completed"] == 6 and m["seed"] == 3 and m["config"]["hidden"] == [48]
    assert (m["n_train"], m["n_val"], m["n_test"]) == (1293, 144, 360)  # stratified 20% test, 10% of the rest
    assert m["test_accuracy"] > 0.9 and len(m["history"]) == 6
    assert m["final"]["val_accuracy"] == m["history"][-1]["val_accuracy"]
    assert (reference / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ckpt = load_checkpoint(reference / "checkpoint.npz")
    assert ckpt.epoch == 6 and ckpt.config["dropout"] == 0.1
    assert load_checkpoint(reference / "best.npz").epoch == m["best_val"]["epoch"]
    # resuming a finished run trains nothing and reproduces the numbers
    again = invoke([*RUN, "--out", str(reference), "--resume"])
    assert again.exit_code == 0 and "test acc" in again.output and "train loss" in again.output
    assert numbers(reference) == m


@pytest.mark.parametrize("args, text", [
    (["train", "mlp", "--data", "digits", "--epochs", "0"], "Invalid value for '--epochs'"),
    (["train", "mlp", "--data", "imagenet"], "Invalid value for '--data'"),
    (["train", "transformer", "--data", "digits"], "Invalid value for 'MODEL'"),
    (["train", "mlp"], "Missing option '--data'"),
    (["train", "mlp", "--data", "digits", "--lr", "-1"], "Invalid value for '--lr'"),
    (["train", "mlp", "--data", "digits", "--frobnicate"], "No such option '--frobnicate'"),
    (["train", "mlp", "--data", "digits", "--hidden", "64,x"], "--hidden must be comma-separated positive ints"),
    (["train", "mlp", "--data", "mnist", "--data-dir", "/no/such/dir"], "--data-dir: no such directory: /no/such/dir"),
])
def test_bad_options_give_one_line_errors(args, text):
    assert_one_line_error(invoke(args), text)


def test_missing_data_files_and_checkpoint(tmp_path):
    assert_one_line_error(invoke(["train", "mlp", "--data", "mnist", "--data-dir", str(tmp_path)]), "no such file")
    assert_one_line_error(invoke([*RUN, "--out", str(tmp_path / "none"), "--resume"]), "no such file")


def test_resume_refuses_changed_settings(reference):
    result = invoke([*RUN, "--out", str(reference), "--resume", "--lr", "0.01"])
    assert_one_line_error(result, "--resume: --lr 0.01 differs from the checkpoint's 0.001")


def test_real_process_bad_option_has_no_traceback():
    p = subprocess.run([sys.executable, "-c", MAIN, "train", "mlp", "--data", "digits", "--batch-size", "x"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [
        "glassnet: error: Invalid value for '--batch-size': 'x' is not a valid integer range. "
        "(see 'glassnet train --help')"]


def start_and_wait_for_checkpoint(out):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", MAIN, *RUN, "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint after 60 s"
        time.sleep(0.01)
    return proc


def test_sigint_then_resume_gives_the_same_metrics(reference, tmp_path):
    proc = start_and_wait_for_checkpoint(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    assert not (tmp_path / "metrics.json").exists()
    assert 1 <= load_checkpoint(tmp_path / "checkpoint.npz").epoch < 6
    result = invoke([*RUN, "--out", str(tmp_path), "--resume"])
    assert result.exit_code == 0, result.output
    assert numbers(tmp_path) == numbers(reference)


def test_sigkill_leaves_a_loadable_checkpoint_and_resume_matches(reference, tmp_path):
    proc = start_and_wait_for_checkpoint(tmp_path)
    time.sleep(0.02)  # somewhere in the next epoch, possibly mid-write
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    ckpt = load_checkpoint(tmp_path / "checkpoint.npz")
    # on an idle machine the six epochs can all be done before the kill lands (killed while writing metrics)
    assert 1 <= ckpt.epoch <= 6 and all(np.isfinite(v).all() for v in ckpt.model.values())
    result = invoke([*RUN, "--out", str(tmp_path), "--resume"])
    assert result.exit_code == 0, result.output
    assert numbers(tmp_path) == numbers(reference)


def test_data_lists_and_downloads():
    result = invoke(["data"])
    assert result.exit_code == 0
    for name in ("digits", "iris", "mnist", "cifar10"):
        assert name in result.output
    assert "embedded" in invoke(["data", "download", "digits"]).output
    assert_one_line_error(invoke(["data", "download", "imagenet"]), "unknown data set 'imagenet'")
