"""Issue 8, training side: each test is a defect of the fit loop, its checkpoints and its files."""

import json
import os
import struct

import numpy as np
import pytest
from sklearn import datasets

import glassnet.cli.train  # noqa: F401  (registers the sub-command)
import glassnet.train.checkpoint as checkpoint_module
from glassnet import fileio, optim
from glassnet.data import ArrayDataset, DataLoader
from glassnet.errors import DataError, NonFiniteError
from glassnet.train import Checkpoint, ModelCheckpoint, Trainer, load, load_checkpoint, save, save_checkpoint
from glassnet.zoo import MLP
from tests.cli_helpers import assert_one_line_error, invoke


@pytest.fixture(scope="module")
def digits():
    x, y = datasets.load_digits(return_X_y=True)
    x = (x / np.float32(16)).astype(np.float32)
    return x[:300], y[:300], x[300:450], y[300:450]


def make(digits, out, lr=0.05, batch_size=50):
    x, y, xv, yv = digits
    model = MLP([64, 16, 10], rng=np.random.default_rng(0))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr), metrics=["accuracy"],
                      callbacks=[ModelCheckpoint(out, monitor="val_loss")])
    loader = DataLoader(ArrayDataset(x, y), batch_size=batch_size, shuffle=True, rng=1)
    val = DataLoader(ArrayDataset(xv, yv), batch_size=256)
    return trainer, loader, val


class Killed(BaseException):
    """The process 'dies' (kill -9): nothing after it runs, no handler catches it."""


# ---------------------------------------------------------------- defect 3: a stale best.npz after a resume
EPOCHS = 6


def _uninterrupted(digits, out):
    trainer, loader, val = make(digits, out)
    trainer.fit(loader, EPOCHS, val_loader=val)
    return trainer


def _assert_same_best(resumed_dir, reference_dir):
    best, ref = load_checkpoint(resumed_dir / "best.npz"), load_checkpoint(reference_dir / "best.npz")
    history = load_checkpoint(resumed_dir / "checkpoint.npz").history["epochs"]
    best_epoch = int(np.argmin([h["val_loss"] for h in history])) + 1
    assert best.epoch == best_epoch == ref.epoch
    for k, v in ref.model.items():
        np.testing.assert_array_equal(best.model[k], v)


def test_kill_after_the_last_checkpoint_of_an_improving_epoch_keeps_best_in_step(digits, tmp_path, monkeypatch):
    ref = tmp_path / "ref"
    trainer = _uninterrupted(digits, ref)
    losses = [h["val_loss"] for h in trainer.history.epochs]
    assert int(np.argmin(losses)) + 1 == EPOCHS  # precondition: the last epoch is the best

    run = tmp_path / "run"
    real_save = checkpoint_module.save_checkpoint

    def dying_save(path, ckpt):
        out = real_save(path, ckpt)
        if ckpt.epoch == EPOCHS and os.path.basename(path) == "checkpoint.npz":
            raise Killed  # right after checkpoint.npz of the last epoch is replaced
        return out

    monkeypatch.setattr(checkpoint_module, "save_checkpoint", dying_save)
    trainer, loader, val = make(digits, run)
    with pytest.raises(Killed):
        trainer.fit(loader, EPOCHS, val_loader=val)
    monkeypatch.setattr(checkpoint_module, "save_checkpoint", real_save)

    trainer, loader, val = make(digits, run)
    trainer.resume(run / "checkpoint.npz")
    trainer.fit(loader, EPOCHS, val_loader=val)
    _assert_same_best(run, ref)


def test_resume_repairs_a_best_npz_behind_the_history(digits, tmp_path, monkeypatch):
    """A run directory whose best.npz missed the last, improving epoch (as older glassnet left it)."""
    ref = tmp_path / "ref"
    _uninterrupted(digits, ref)
    run = tmp_path / "run"
    real_save = checkpoint_module.save_checkpoint

    def save_without_last_best(path, ckpt):
        if ckpt.epoch == EPOCHS and os.path.basename(path) == "best.npz":
            return path  # lost
        return real_save(path, ckpt)

    monkeypatch.setattr(checkpoint_module, "save_checkpoint", save_without_last_best)
    trainer, loader, val = make(digits, run)
    trainer.fit(loader, EPOCHS, val_loader=val)
    monkeypatch.setattr(checkpoint_module, "save_checkpoint", real_save)
    assert load_checkpoint(run / "best.npz").epoch == EPOCHS - 1

    trainer, loader, val = make(digits, run)
    trainer.resume(run / "checkpoint.npz")
    trainer.fit(loader, EPOCHS, val_loader=val)
    _assert_same_best(run, ref)


def test_kill_between_the_two_writes_of_an_epoch_resumes_to_the_same_best(digits, tmp_path, monkeypatch):
    ref = tmp_path / "ref"
    _uninterrupted(digits, ref)
    run = tmp_path / "run"
    real_save = checkpoint_module.save_checkpoint
    kill_at = EPOCHS - 2
    writes: list[str] = []

    def dying_save(path, ckpt):
        if ckpt.epoch == kill_at and writes.count(f"{kill_at}") == 1:
            raise Killed  # the second file of epoch `kill_at` is never written
        out = real_save(path, ckpt)
        if ckpt.epoch == kill_at:
            writes.append(f"{kill_at}")
        return out

    monkeypatch.setattr(checkpoint_module, "save_checkpoint", dying_save)
    trainer, loader, val = make(digits, run)
    with pytest.raises(Killed):
        trainer.fit(loader, EPOCHS, val_loader=val)
    monkeypatch.setattr(checkpoint_module, "save_checkpoint", real_save)
    # whatever was on disk, the checkpoint never names a best that best.npz does not hold
    last = load_checkpoint(run / "checkpoint.npz")
    assert load_checkpoint(run / "best.npz").epoch >= last.callbacks["ModelCheckpoint"]["best_epoch"]

    trainer, loader, val = make(digits, run)
    trainer.resume(run / "checkpoint.npz")
    trainer.fit(loader, EPOCHS, val_loader=val)
    _assert_same_best(run, ref)


# ----------------------------------------------- defect 4: a diverged update reached checkpoint.npz and best.npz
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_overflowing_update_stops_before_any_checkpoint_is_written(digits, tmp_path):
    trainer, loader, val = make(digits, tmp_path, lr=1e39, batch_size=5000)  # one step per epoch
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(NonFiniteError, match=r"epoch 1, step 1\b.*not finite"):
            trainer.fit(loader, 5, val_loader=val)
    assert not (tmp_path / "checkpoint.npz").exists() and not (tmp_path / "best.npz").exists()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_later_overflow_leaves_the_previous_finite_checkpoint(digits, tmp_path):
    trainer, loader, val = make(digits, tmp_path, lr=0.05, batch_size=5000)
    trainer.fit(loader, 2, val_loader=val)
    trainer.optimizer.lr = 1e39
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(NonFiniteError, match=r"epoch 3, step 3\b"):
            trainer.fit(loader, 5, val_loader=val)
    for name in ("checkpoint.npz", "best.npz"):
        ckpt = load_checkpoint(tmp_path / name)
        assert ckpt.epoch == 2 and all(np.isfinite(v).all() for v in ckpt.model.values())


def test_save_checkpoint_refuses_non_finite_weights(tmp_path):
    w = np.ones((2, 3), np.float32)
    w[1, 2] = np.nan
    with pytest.raises(NonFiniteError, match=r"'layers.0.W' is not finite"):
        save_checkpoint(tmp_path / "c.npz", Checkpoint(model={"layers.0.W": w, "n": np.arange(3)}, epoch=4))
    assert not (tmp_path / "c.npz").exists()


# ------------------------------------------------------- defect 6: malformed checkpoints escaped as tracebacks
def _good(tmp_path):
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, Checkpoint(model={"w": np.arange(6, dtype=np.float32)}, epoch=1, step=3,
                                     history={"epochs": [{"epoch": 1, "loss": 0.5}]}))
    return path


def _patch_headers(path, local_offset, central_offset, fmt, change):
    data = bytearray(path.read_bytes())
    for sig, off in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        i = data.find(sig)
        while i != -1:
            (value,) = struct.unpack_from(fmt, data, i + off)
            struct.pack_into(fmt, data, i + off, change(value))
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))


def _encrypted(tmp_path):
    path = _good(tmp_path)
    _patch_headers(path, 6, 8, "<H", lambda v: v | 1)  # general-purpose flag bit 0: encrypted
    return path


def _unknown_compression(tmp_path):
    path = _good(tmp_path)
    _patch_headers(path, 8, 10, "<H", lambda v: 99)
    return path


def _random_bytes(tmp_path):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    return path


def _with_meta(change):
    def make_file(tmp_path):
        path = _good(tmp_path)
        arrays = fileio.load_npz(path)
        meta = json.loads(arrays["__meta__"].tobytes().decode())
        change(meta)
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        np.savez(path, **arrays)
        return path
    return make_file


MALFORMED = {
    "encrypted": _encrypted,
    "compression 99": _unknown_compression,
    "random bytes": _random_bytes,
    "no epoch": _with_meta(lambda m: m.pop("epoch")),
    "no step": _with_meta(lambda m: m.pop("step")),
    "epoch a text": _with_meta(lambda m: m.update(epoch="three")),
    "history a list": _with_meta(lambda m: m.update(history=[1, 2])),
    "callbacks a text": _with_meta(lambda m: m.update(callbacks="x")),
    "dangling array": _with_meta(lambda m: m.update(optimizer={"m": {"__array__": "optimizer/nope"}})),
}


def _one_line(e):
    text = str(e.value)
    assert "\n" not in text and "allow_pickle" not in text, text


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_checkpoint_is_one_data_error(tmp_path, case):
    path = MALFORMED[case](tmp_path)
    with pytest.raises(DataError, match="checkpoint") as e:
        load_checkpoint(path)
    _one_line(e)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("case", ["encrypted", "compression 99", "random bytes"])
def test_malformed_npz_is_one_data_error_in_load_npz_and_glassnet_load(tmp_path, case):
    path = MALFORMED[case](tmp_path)
    with pytest.raises(DataError) as e:
        fileio.load_npz(path)
    _one_line(e)
    with pytest.raises(DataError, match="^load: ") as e:
        load(path)
    _one_line(e)


def test_load_npz_of_a_single_npy_and_of_pickled_objects(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3))
    with pytest.raises(DataError, match="single .npy"):
        fileio.load_npz(tmp_path / "a.npy")
    np.savez(tmp_path / "o.npz", o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="pickled") as e:
        fileio.load_npz(tmp_path / "o.npz")
    _one_line(e)
    save({"w": np.ones(2)}, tmp_path / "ok.npz")
    np.testing.assert_array_equal(load(tmp_path / "ok.npz")["w"], np.ones(2))


@pytest.mark.parametrize("case", ["encrypted", "random bytes", "no epoch"])
def test_cli_resume_from_a_malformed_checkpoint_exits_2_with_one_line(tmp_path, case):
    MALFORMED[case](tmp_path)
    result = invoke(["train", "mlp", "--data", "iris", "--epochs", "2", "--hidden", "8", "--quiet",
                     "--out", str(tmp_path), "--resume"])
    assert_one_line_error(result, "checkpoint")
    assert "allow_pickle" not in result.output


# ------------------------------------------------------------ defect 7: temp files of killed writers piled up
def test_remove_stale_temps_removes_only_our_leftovers(tmp_path):
    ours = [tmp_path / ".checkpoint.npz.k2j3_x.tmp", tmp_path / ".best.npz.abc.tmp"]
    others = [tmp_path / ".metrics.json.abc.tmp", tmp_path / "checkpoint.npz.tmp", tmp_path / ".checkpoint.npz.x.part",
              tmp_path / "checkpoint.npz"]
    for p in ours + others:
        p.write_bytes(b"x")
    removed = fileio.remove_stale_temps(tmp_path, ["checkpoint.npz", "best.npz"])
    assert sorted(removed) == sorted(ours)
    assert all(not p.exists() for p in ours) and all(p.exists() for p in others)
    assert fileio.remove_stale_temps(tmp_path / "missing", ["checkpoint.npz"]) == []


def test_a_run_starts_by_removing_the_temps_a_kill_left(digits, tmp_path):
    stale = [tmp_path / ".checkpoint.npz.q1w2e3.tmp", tmp_path / ".best.npz.r4t5y6.tmp"]
    for p in stale:
        p.write_bytes(b"partial")
    trainer, loader, val = make(digits, tmp_path)
    trainer.fit(loader, 1, val_loader=val)
    assert not any(p.exists() for p in stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.npz", "checkpoint.npz"]


# ------------------------------------------------- defect 10: download.py's own atomic write (no fsync, 0600)
def test_download_sidecars_use_fileio_atomic_writes(tmp_path, monkeypatch):
    from glassnet.data import download

    assert not hasattr(download, "_write_atomic_text")
    monkeypatch.setattr(fileio, "_UMASK", 0o022)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    target = tmp_path / "train.csv"
    target.write_bytes(b"a,b\n1,2\n")
    digest = "0" * 64
    download._record_sha256(target, digest)
    sidecar = tmp_path / "train.csv.sha256"
    assert sidecar.read_text() == f"{digest}  train.csv\n"
    assert sidecar.stat().st_mode & 0o777 == 0o644
    assert synced


# ------------------------------------------------------------------ one training step for every loop
def test_trainer_and_rl_take_their_steps_through_train_step(digits, tmp_path, monkeypatch):
    import glassnet.rl.dqn as dqn
    import glassnet.rl.reinforce as reinforce
    import glassnet.train.trainer as trainer_module
    from glassnet.train import step

    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs.get("where"))
        return step.train_step(*args, **kwargs)

    for module in (trainer_module, dqn, reinforce):
        monkeypatch.setattr(module, "train_step", counting)
    trainer, loader, val = make(digits, tmp_path)
    trainer.fit(loader, 1, val_loader=val)
    assert len(calls) == len(loader) and calls[0] == "fit at epoch 1, step 1 (batch 1 of 6)"
