"""The fit loop: learning, exact resume, non-finite stops, callbacks, bad input."""

import re

import numpy as np
import pytest

import glassnet.functional as F
from glassnet import nn, optim
from glassnet.data import ArrayDataset, DataLoader
from glassnet.errors import ConfigError, DataError, NonFiniteError, ShapeError
from glassnet.train import EarlyStopping, ModelCheckpoint, Trainer, load_checkpoint, model_generators
from glassnet.zoo import MLP


def make(digits, seed=0, dropout=0.2, callbacks=(), lr=1e-2, opt="adam", scheduler=False):
    x, y, xv, yv = digits
    model = MLP([64, 32, 10], dropout=dropout, rng=seed)
    o = optim.Adam(model.parameters(), lr=lr) if opt == "adam" else optim.SGD(model.parameters(), lr=lr)
    sched = optim.StepLR(o, step_size=1, gamma=0.5) if scheduler else None
    trainer = Trainer(model, o, callbacks=callbacks, scheduler=sched)
    loader = DataLoader(ArrayDataset(x, y), batch_size=32, shuffle=True, rng=seed + 1)
    val = DataLoader(ArrayDataset(xv, yv), batch_size=128)
    return trainer, loader, val


def test_fit_learns_and_records_history(digits):
    trainer, loader, val = make(digits)
    history = trainer.fit(loader, 5, val_loader=val)
    h = history.history
    assert list(h) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert len(history) == 5 and trainer.epoch == 5 and trainer.step == 5 * len(loader)
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["val_accuracy"][-1] > 0.85
    # evaluate agrees with the last validation record; predict gives logits of every sample
    assert trainer.evaluate(val) == {"loss": h["val_loss"][-1], "accuracy": h["val_accuracy"][-1]}
    logits = trainer.predict(digits[2], batch_size=7)
    assert logits.shape == (300, 10) and logits.dtype == np.float32
    assert np.mean(logits.argmax(1) == digits[3]) == h["val_accuracy"][-1]
    assert trainer.model.training  # evaluate/predict restore the mode


def test_resume_from_checkpoint_is_bit_identical(digits, tmp_path):
    """4 epochs straight == 2 epochs, checkpoint, fresh objects, resume, 2 more: same bits (dropout, Adam, StepLR)."""
    straight, loader, val = make(digits, scheduler=True, callbacks=[EarlyStopping(patience=10)])
    straight.fit(loader, 4, val_loader=val)

    first, loader, val = make(digits, scheduler=True,
                              callbacks=[ModelCheckpoint(tmp_path), EarlyStopping(patience=10)])
    first.fit(loader, 2, val_loader=val)
    # everything rebuilt from scratch (same seeds), then the checkpoint's state loaded over it
    second, loader, val = make(digits, scheduler=True,
                               callbacks=[ModelCheckpoint(tmp_path), EarlyStopping(patience=10)])
    second.resume(tmp_path / "checkpoint.npz")
    assert second.epoch == 2 and len(second.history) == 2
    second.fit(loader, 4, val_loader=val)

    a, b = straight.model.state_dict(), second.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert straight.history.epochs == second.history.epochs
    assert straight.optimizer.lr == second.optimizer.lr == 1e-2 * 0.5**4
    assert straight.callbacks[0].state_dict() == second.callbacks[0].state_dict()


def test_resume_without_restoring_rngs_would_differ(digits, tmp_path):
    """The control for the test above: the dropout and shuffle RNG states matter."""
    straight, loader, val = make(digits)
    straight.fit(loader, 2)
    other, loader2, _ = make(digits)
    other.model.load_state_dict(straight.model.state_dict())
    other.optimizer.load_state_dict(straight.optimizer.state_dict())
    other.epoch = 2
    straight.fit(loader, 3)
    other.fit(loader2, 3)  # fresh loader and dropout generators: not the same batches or masks
    assert not np.array_equal(straight.model.state_dict()["layers.0.W"], other.model.state_dict()["layers.0.W"])


def test_checkpoint_holds_rngs_and_best(digits, tmp_path):
    trainer, loader, val = make(digits, callbacks=[ModelCheckpoint(tmp_path, monitor="val_loss")])
    trainer.fit(loader, 3, val_loader=val)
    assert set(model_generators(trainer.model)) == {"layers.2.rng"}  # one Generator shared by the Dropouts
    last, best = load_checkpoint(tmp_path / "checkpoint.npz"), load_checkpoint(tmp_path / "best.npz")
    assert last.epoch == 3 and last.step == 3 * len(loader) and set(last.rngs) == {"layers.2.rng"}
    losses = [e["val_loss"] for e in trainer.history.epochs]
    assert best.epoch == int(np.argmin(losses)) + 1
    assert last.callbacks["ModelCheckpoint"] == {"best": min(losses), "best_epoch": best.epoch}
    assert last.loader == loader.state_dict()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_learning_rate_stops_with_non_finite_error_naming_the_step(digits):
    trainer, loader, _ = make(digits, dropout=0.0, lr=1e12, opt="sgd")
    before = None
    with pytest.raises(NonFiniteError, match=r"fit at epoch \d+, step \d+ \(batch \d+ of 19\): loss is (nan|inf)") as e:
        before = trainer.model.state_dict()
        trainer.fit(loader, 5)
    step = int(re.search(r"step (\d+)", str(e.value)).group(1))
    assert trainer.step == step - 1  # the bad step was not taken
    assert before is not None and all(np.isfinite(v).all() for v in trainer.model.state_dict().values())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_gradient_stops_before_the_update(digits):
    x, y, _, _ = digits
    model = MLP([64, 8, 10], rng=0)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1),
                      loss=lambda out, t: F.sum(F.sqrt(out * 0.0)))  # loss 0, d sqrt(u)/du = inf at u = 0
    before = model.state_dict()
    with pytest.raises(NonFiniteError,
                       match=r"fit at epoch 1, step 1 \(batch 1 of \d+\): gradient of 'layers.0.W' is not finite"):
        trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=50), 1)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


def test_early_stopping_stops_and_is_remembered(digits, tmp_path):
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.5)  # nothing improves by 0.5
    trainer, loader, val = make(digits, callbacks=[stopper, ModelCheckpoint(tmp_path)])
    trainer.fit(loader, 10, val_loader=val)
    assert trainer.epoch == 2 and stopper.stopped_epoch == 2 and trainer.stop_training
    again, loader, val = make(digits, callbacks=[EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.5),
                                                 ModelCheckpoint(tmp_path)])
    again.resume(tmp_path / "checkpoint.npz")
    again.fit(loader, 10, val_loader=val)
    assert again.epoch == 2  # a stopped run stays stopped


def test_progress_bar_runs(digits, capsys):
    trainer, loader, val = make(digits)
    trainer.fit(loader, 1, val_loader=val, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "val_accuracy=" in err


def test_bad_input(digits, tmp_path):
    model = MLP([64, 8, 10], rng=0)
    opt = optim.Adam(model.parameters())
    with pytest.raises(ConfigError, match="model must be a glassnet.nn.Module, got list"):
        Trainer([model], opt)
    with pytest.raises(ConfigError, match="optimizer must be a glassnet.optim.Optimizer"):
        Trainer(model, "adam")
    with pytest.raises(ConfigError, match=r"loss must be a callable or one of \["):
        Trainer(model, opt, loss="hinge")
    with pytest.raises(ConfigError, match="metric must be a callable or one of"):
        Trainer(model, opt, metrics=["f1"])
    with pytest.raises(ConfigError, match="clip_grad_norm must be a number > 0"):
        Trainer(model, opt, clip_grad_norm=0)
    with pytest.raises(ConfigError, match="patience must be an int >= 1"):
        EarlyStopping(patience=0)
    trainer = Trainer(model, opt)
    loader = DataLoader(ArrayDataset(digits[0], digits[1]), batch_size=64)
    with pytest.raises(ConfigError, match="epochs must be an int >= 0, got -1"):
        trainer.fit(loader, -1)
    with pytest.raises(ConfigError, match="a batch must be a tuple"):
        trainer.fit([np.zeros((2, 64), np.float32)], 1)
    with pytest.raises(ConfigError, match="monitor 'val_loss' is not among the logged values"):
        Trainer(model, opt, callbacks=[EarlyStopping()]).fit(loader, 1)
    with pytest.raises(ShapeError, match="Linear: x must be"):
        trainer.predict(np.zeros((3, 5), np.float32))
    with pytest.raises(DataError, match="no such file"):
        trainer.resume(tmp_path / "missing.npz")
    # a checkpoint of another architecture names the mismatch
    trainer.fit(loader, 1)
    Trainer(model, opt, callbacks=[ModelCheckpoint(tmp_path, monitor=None)]).fit(
        DataLoader(ArrayDataset(digits[0], digits[1]), batch_size=64), 1)
    with pytest.raises(ConfigError, match=r"random generators \['extra'\] differ from the checkpoint's \[\]"):
        Trainer(model, opt, rngs={"extra": np.random.default_rng(0)}).resume(tmp_path / "checkpoint.npz")
    wider = MLP([64, 9, 10], rng=0)
    with pytest.raises((ShapeError, ConfigError), match="layers.0.W"):
        Trainer(wider, optim.Adam(wider.parameters())).resume(tmp_path / "checkpoint.npz")


def test_sequential_model_and_multi_input_batches():
    """Any Module works; the last field of a batch is the target, the others are inputs."""

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2, rng=0), nn.Linear(4, 2, rng=1)

        def forward(self, x1, x2):
            return self.a(x1) + self.b(x2)

    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(40, 3)).astype(np.float32), rng.normal(size=(40, 4)).astype(np.float32)
    t = (x1[:, 0] + x2[:, 1] > 0).astype(np.int64)
    model = Pair()
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=0.05))
    h = trainer.fit(DataLoader(ArrayDataset(x1, x2, t), batch_size=10, shuffle=True, rng=0), 30)
    assert h.history["accuracy"][-1] >= 0.95
