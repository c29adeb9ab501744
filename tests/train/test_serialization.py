"""glassnet.save / glassnet.load: a model's state round-trips through a safe .npz; bad files are DataError."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.errors import ConfigError, DataError


def test_round_trip_restores_the_outputs(tmp_path):
    a = nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
    b = nn.Sequential(nn.Linear(4, 3, rng=5), nn.ReLU(), nn.Linear(3, 2, rng=6))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    gn.save(a, tmp_path / "m.npz")
    b.load_state_dict(gn.load(tmp_path / "m.npz"))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert set(gn.load(tmp_path / "m.npz")) == set(a.state_dict())


def test_bad_inputs(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        gn.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(DataError, match="not a glassnet state file") as e:
        gn.load(tmp_path / "junk.npz")
    assert "allow_pickle" not in str(e.value)
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError):
        gn.load(tmp_path / "obj.npz")
    with pytest.raises(ConfigError, match="save: obj must be a Module"):
        gn.save([1, 2], tmp_path / "x.npz")
    with pytest.raises(ConfigError, match="numeric array"):
        gn.save({"s": np.array(["a"])}, tmp_path / "x.npz")



def test_keras_fit_uses_only_the_callbacks_it_was_given():
    """Issue 8 defect 5: fit() three times with callbacks=[c] ran c six times (earlier calls' stayed registered)."""
    from glassnet.train import Callback, SequentialModel

    class Count(Callback):
        def __init__(self):
            self.epochs = 0

        def on_epoch_end(self, trainer, logs):
            self.epochs += 1

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 2, 40)
    model = SequentialModel(nn.Linear(4, 2, rng=0))
    model.compile(optimizer="sgd", lr=0.1)
    c, d = Count(), Count()
    for _ in range(3):
        model.fit(x, y, epochs=1, batch_size=20, callbacks=[c], verbose=0)
    assert c.epochs == 3
    model.fit(x, y, epochs=2, batch_size=20, callbacks=[d], verbose=0)
    assert (c.epochs, d.epochs) == (3, 2)
    with pytest.raises(ConfigError, match="fit: callbacks must be Callback objects"):
        model.fit(x, y, epochs=1, callbacks=["early"], verbose=0)
