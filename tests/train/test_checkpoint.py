"""The checkpoint file format: exact round trip, atomic writes, readable errors, no pickle."""

import numpy as np
import pytest

from glassnet.errors import DataError
from glassnet.train import Checkpoint, load_checkpoint, save_checkpoint


def test_round_trip_is_exact(tmp_path):
    g = np.random.default_rng(7)
    g.random(3)
    rng_state = g.bit_generator.state  # 128-bit ints
    ckpt = Checkpoint(
        model={"layers.0.W": np.arange(6, dtype=np.float32).reshape(2, 3), "count": np.array(3, dtype=np.int64)},
        epoch=2, step=40,
        optimizer={"lr": 0.001, "betas": (0.9, 0.999), "t": np.float32(1.5), "state": [{"m": np.ones(3)}, {}],
                   "by_index": {0: np.zeros(2), 1: "x"}},
        loader={"rng": rng_state, "batches_done": 0},
        rngs={"layers.2.rng": rng_state},
        callbacks={"EarlyStopping": {"best": None, "wait": 1}},
        history={"epochs": [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": float("nan")}]},
        config={"hidden": [8, 4], "seed": 0}, seconds=1.25, stopped=True, extra={"note": "é"},
    )
    path = save_checkpoint(tmp_path / "c.npz", ckpt)
    back = load_checkpoint(path)
    assert back.epoch == 2 and back.step == 40 and back.seconds == 1.25 and back.stopped is True
    assert back.model.keys() == ckpt.model.keys()
    for k in ckpt.model:
        np.testing.assert_array_equal(back.model[k], ckpt.model[k])
        assert back.model[k].dtype == ckpt.model[k].dtype
    o = back.optimizer
    assert o["betas"] == (0.9, 0.999) and isinstance(o["betas"], tuple)
    assert type(o["t"]) is np.float32 and o["t"] == np.float32(1.5)
    np.testing.assert_array_equal(o["state"][0]["m"], np.ones(3))
    assert o["state"][1] == {}
    assert set(o["by_index"]) == {0, 1} and o["by_index"][1] == "x"
    assert back.loader["rng"] == rng_state and back.rngs["layers.2.rng"] == rng_state
    g2 = np.random.default_rng()
    g2.bit_generator.state = back.rngs["layers.2.rng"]
    assert g2.random() == g.random()
    assert back.history["epochs"][0] == {"epoch": 1, "loss": 0.5} and np.isnan(back.history["epochs"][1]["loss"])
    assert back.config == {"hidden": [8, 4], "seed": 0} and back.extra == {"note": "é"}
    assert back.callbacks == {"EarlyStopping": {"best": None, "wait": 1}}
    # plain npz readable without pickle, no leftover temporary file
    with np.load(path, allow_pickle=False) as z:
        assert "__meta__" in z.files and "model/layers.0.W" in z.files
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_missing_corrupt_and_foreign_files_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file: .*nope.npz"):
        load_checkpoint(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="bad.npz is not a readable .npz"):
        load_checkpoint(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W=np.zeros(2))
    with pytest.raises(DataError, match="no __meta__ entry"):
        load_checkpoint(foreign)


def test_object_arrays_and_unknown_values_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a value of type object at 'extra/f'"):
        save_checkpoint(tmp_path / "c.npz", Checkpoint(model={}, extra={"f": object()}))
    assert not (tmp_path / "c.npz").exists()
