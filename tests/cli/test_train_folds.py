"""``glassnet train ... --folds K``: the folds partition the pool, each fold is validated on its own fold, the
ensemble is the mean of the fold models, an interrupted run resumes to the same numbers, and bad options fail."""

import json
import shutil

import numpy as np
import pytest

import glassnet.cli.train  # noqa: F401  (registers the sub-command)
from glassnet.cli.folds import PROBABILITIES, fold_pool
from glassnet.cli.predict import load_predictor
from glassnet.data.classification import load_classification
from glassnet.fileio import load_npz
from glassnet.train import ModelCheckpoint, load_checkpoint
from glassnet.train.ensemble import kfold_splits
from tests.cli_helpers import assert_one_line_error, invoke

K = 2
RUN = ["train", "mlp", "--data", "digits", "--folds", str(K), "--epochs", "2", "--hidden", "16", "--lr", "0.01",
       "--seed", "1", "--quiet"]


def read(out, name):
    return json.loads((out / name).read_text())


def without_seconds(obj):
    """``obj`` with every timing removed (the only numbers two runs may differ in)."""
    if isinstance(obj, dict):
        return {k: without_seconds(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [without_seconds(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted 3-fold run."""
    out = tmp_path_factory.mktemp("folds")
    result = invoke([*RUN, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def pool():
    """The pooled training samples of digits (training split, then validation split), and its test split."""
    data = load_classification("digits")
    return (*fold_pool(data), data["x_test"], data["y_test"])


def softmax_probabilities(checkpoint, x):
    """The model's class probabilities on ``x``, the softmax written out here in NumPy."""
    model, _, prepare = load_predictor(str(checkpoint))
    z = np.asarray(model(prepare(x)).data, dtype=np.float64)  # (N, C) logits
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_folds_partition_the_pool_stratified_and_seeded(reference, pool):
    _, y_pool, _, _ = pool
    plan = read(reference, "folds.json")
    assert plan["complete"] and plan["folds"] == K and plan["n_pool"] == len(y_pool) == 1293 + 144
    val = [np.array(v) for v in plan["val_index"]]
    assert sorted(np.concatenate(val).tolist()) == list(range(len(y_pool)))  # disjoint and together all
    assert plan["fold_sizes"] == [len(v) for v in val] == [719, 718]
    counts = np.stack([np.bincount(y_pool[v], minlength=10) for v in val])  # (K, classes)
    assert (counts.max(axis=0) - counts.min(axis=0)).max() <= 1  # stratified: each class split evenly
    assert [v.tolist() for v in val] == [va.tolist() for _, va in kfold_splits(y_pool, K, seed=1)]
    assert [v.tolist() for v in val] != [va.tolist() for _, va in kfold_splits(y_pool, K, seed=2)]
    for r, v in zip(plan["results"], val):
        assert (r["n_val"], r["n_train"]) == (len(v), len(y_pool) - len(v))
        assert load_checkpoint(reference / f"fold-{r['fold']}" / "checkpoint.npz").config["fold"] == r["fold"]


def test_each_fold_is_validated_on_its_own_fold(reference, pool):
    x_pool, y_pool, _, _ = pool
    plan = read(reference, "folds.json")
    for j, (r, v) in enumerate(zip(plan["results"], plan["val_index"])):
        fold_acc = [float(np.mean(softmax_probabilities(reference / f"fold-{j}" / "checkpoint.npz", x_pool[w])
                                  .argmax(axis=1) == y_pool[w])) for w in plan["val_index"]]
        assert fold_acc[j] == pytest.approx(r["val_accuracy"], abs=1e-12)
        # a score computed on another fold (part of this model's training data) would be another number
        assert all(acc != r["val_accuracy"] for i, acc in enumerate(fold_acc) if i != j)
        fold_metrics = read(reference / f"fold-{j}", "metrics.json")
        assert fold_metrics["final"]["val_accuracy"] == r["val_accuracy"] and fold_metrics["n_val"] == len(v)


def test_ensemble_is_the_mean_of_the_fold_models(reference, pool):
    _, _, x_test, y_test = pool
    members = np.stack([softmax_probabilities(reference / f"fold-{j}" / "checkpoint.npz", x_test)
                        for j in range(K)])  # (K, N_test, C)
    saved = load_npz(reference / PROBABILITIES)
    np.testing.assert_array_equal(saved["y"], y_test)
    np.testing.assert_allclose(saved["members"], members, rtol=0, atol=1e-6)
    np.testing.assert_allclose(saved["ensemble"], members.mean(axis=0), rtol=0, atol=1e-6)
    metrics = read(reference, "metrics.json")
    assert metrics["fold_test_accuracy"] == [pytest.approx(float(np.mean(m.argmax(1) == y_test)), abs=1e-12)
                                             for m in members]
    assert metrics["test_accuracy"] == pytest.approx(float(np.mean(members.mean(0).argmax(1) == y_test)), abs=1e-12)
    nll = -np.log(members.mean(0)[np.arange(len(y_test)), y_test]).mean()
    assert metrics["test_loss"] == pytest.approx(nll, rel=1e-6)
    assert metrics["cv_val_accuracy"] == pytest.approx(np.mean(metrics["fold_val_accuracy"]), abs=1e-15)
    assert 0.5 < metrics["test_accuracy"] <= 1 and metrics["folds"] == K


def test_interrupted_run_resumes_the_unfinished_folds(reference, tmp_path, monkeypatch):
    write = ModelCheckpoint.on_epoch_end

    def stop_in_fold_0(self, trainer, logs):
        write(self, trainer, logs)  # the epoch's checkpoint is on disk, then Ctrl-C
        if self.directory.name == "fold-0" and trainer.epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", stop_in_fold_0)
    result = invoke([*RUN, "--out", str(tmp_path)])
    assert result.exit_code == 130 and "interrupted" in result.stderr and "--resume" in result.stderr
    plan = read(tmp_path, "folds.json")
    assert not plan["complete"] and plan["results"] == [] and len(plan["val_index"]) == K
    assert load_checkpoint(tmp_path / "fold-0" / "checkpoint.npz").epoch == 1
    assert not (tmp_path / "fold-1").exists() and not (tmp_path / "metrics.json").exists()
    monkeypatch.undo()
    result = invoke([*RUN, "--out", str(tmp_path), "--resume"])  # fold 0 at epoch 1 of 2, fold 1 not started
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("soft vote") for line in lines) and any(line.startswith("mean") for line in lines)
    assert "2-fold cross-validation accuracy" in result.output and "after epoch 1 of 2" in result.output
    for name in ("folds.json", "metrics.json"):
        assert without_seconds(read(tmp_path, name)) == without_seconds(read(reference, name)), name
    resumed, uninterrupted = load_npz(tmp_path / PROBABILITIES), load_npz(reference / PROBABILITIES)
    assert all(np.array_equal(resumed[k], uninterrupted[k]) for k in ("members", "ensemble", "y"))


@pytest.mark.parametrize("extra, text", [
    (["--folds", "1"], "Invalid value for '--folds'"),
    (["--folds", "2", "--distributed"], "--folds cannot go with --distributed"),
    (["--folds", "2", "--val-fraction", "0.2"], "--folds cannot go with --val-fraction"),
    (["--folds", "41"], "--folds 41 is more than the 40 samples of the rarest class in the 120 training samples"),
])
def test_bad_fold_options_give_one_line_errors(extra, text, tmp_path):
    out = tmp_path / "run"
    assert_one_line_error(invoke(["train", "mlp", "--data", "iris", "--epochs", "1", *extra, "--out", str(out)]),
                          text)
    assert not out.exists()  # a run that cannot start leaves no folder behind


def test_resume_refuses_a_missing_or_different_run(reference, tmp_path):
    assert_one_line_error(invoke([*RUN, "--out", str(tmp_path), "--resume"]), "no such file")
    assert_one_line_error(invoke([*RUN[:5], "3", *RUN[6:], "--out", str(reference), "--resume"]),
                          "--resume: --folds 3 differs from the run's 2")
    assert_one_line_error(invoke([*RUN, "--out", str(reference), "--resume", "--lr", "0.02"]),
                          "--resume: --lr 0.02 differs from the K-fold run's 0.01")


def test_resume_refuses_a_fold_checkpoint_of_other_settings(reference, tmp_path):
    shutil.copytree(reference, tmp_path, dirs_exist_ok=True)
    plan = read(tmp_path, "folds.json")
    plan["config"]["lr"] = 0.02  # as if an older run with other settings had left its fold-0/ there
    (tmp_path / "folds.json").write_text(json.dumps(plan))
    no_lr = RUN[:RUN.index("--lr")] + RUN[RUN.index("--lr") + 2:]  # the saved lr is taken
    assert_one_line_error(invoke([*no_lr, "--out", str(tmp_path), "--resume"]),
                          f"--resume: {tmp_path / 'fold-0' / 'checkpoint.npz'} was written by a run with other "
                          f"settings")
    assert read(tmp_path, "folds.json") == plan  # refused before anything is rewritten
