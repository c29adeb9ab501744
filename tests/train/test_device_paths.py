"""The fit loop with a model on the fake device: host batches go to the device, results equal the host run."""

import numpy as np

from glassnet import optim
from glassnet.backend import get_array_module, to_numpy
from glassnet.data import ArrayDataset, DataLoader
from glassnet.testing.fake_device import fake_device, guard
from glassnet.train import ModelCheckpoint, Trainer, load_checkpoint
from glassnet.zoo import MLP


def _fit(device, x, y, tmp_path):
    model = MLP([64, 16, 10], dropout=0.2, rng=0).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    trainer = Trainer(model, opt, clip_grad_norm=5.0, callbacks=[ModelCheckpoint(tmp_path)])
    history = trainer.fit(DataLoader(ArrayDataset(x, y), batch_size=32, shuffle=True, rng=1), 2,
                          val_loader=DataLoader(ArrayDataset(x[:64], y[:64]), batch_size=64))
    return trainer, history.history, trainer.predict(x[:10], batch_size=4)


def test_fit_evaluate_predict_and_checkpoint_on_the_fake_device(digits, tmp_path):
    x, y = digits[0][:128], digits[1][:128]
    _, host, host_logits = _fit("cpu", x, y, tmp_path / "host")
    with guard():
        trainer, history, logits = _fit(fake_device, x, y, tmp_path / "device")
    for k, values in host.items():
        np.testing.assert_allclose(history[k], values, rtol=1e-5, err_msg=k)
    assert type(logits) is np.ndarray  # predict returns host arrays
    np.testing.assert_allclose(logits, host_logits, rtol=1e-4, atol=1e-5)
    assert all(get_array_module(p.data) is fake_device for p in trainer.model.parameters())
    saved = load_checkpoint(tmp_path / "device" / "checkpoint.npz")
    assert all(type(v) is np.ndarray for v in saved.model.values())
    np.testing.assert_array_equal(saved.model["layers.0.W"], to_numpy(trainer.model.layers[0].W.data))
