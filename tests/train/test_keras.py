"""The Keras-style front end: compile, fit, evaluate, predict."""

import numpy as np
import pytest

from glassnet import nn, optim
from glassnet.errors import ConfigError, ShapeError
from glassnet.train import EarlyStopping, History, Model, SequentialModel, make_optimizer


def net(seed=0):
    return SequentialModel(nn.Linear(64, 32, rng=seed), nn.ReLU(), nn.Linear(32, 10, rng=seed + 1))


def test_compile_fit_evaluate_predict(digits):
    x, y, xt, yt = digits
    model = net()
    model.compile(optimizer="adam", loss="softmax_cross_entropy", metrics=["accuracy"], lr=0.01)
    history = model.fit(x, y, epochs=8, batch_size=32, validation_split=0.2, seed=0, verbose=0)
    assert isinstance(history, History) and len(history) == 8
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history.history["val_accuracy"][-1] > 0.75  # chance is 0.1
    result = model.evaluate(xt, yt)
    assert set(result) == {"loss", "accuracy"} and result["accuracy"] > 0.75
    logits = model.predict(xt.astype(np.float64))  # float input cast to the model's float32
    assert logits.shape == (300, 10) and logits.dtype == np.float32
    assert np.mean(logits.argmax(1) == yt) == result["accuracy"]
    # a second fit continues (epochs counted per call, as in Keras)
    more = model.fit(x, y, epochs=2, batch_size=32, validation_data=(xt, yt), verbose=0)
    assert [e["epoch"] for e in more.epochs] == [9, 10]


def test_same_seed_same_run(digits):
    x, y, _, _ = digits
    runs = []
    for _ in range(2):
        model = net()
        model.compile("sgd", lr=0.1)
        runs.append(model.fit(x, y, epochs=2, batch_size=50, seed=3, verbose=0).history["loss"])
    assert runs[0] == runs[1]


def test_optimizer_object_mse_loss_and_callbacks():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))  # (64, 1)
    model = SequentialModel(nn.Linear(3, 1, rng=0))
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.1), loss="mse", metrics=[])
    h = model.fit(x, y, epochs=200, batch_size=16, validation_data=(x, y), verbose=0,
                  callbacks=[EarlyStopping("val_loss", patience=3, min_delta=1e-9)])
    assert h.history["loss"][-1] < 1e-6 and len(h) < 200


def test_model_mixin_on_a_custom_module():
    class Net(Model, nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2, rng=0)

        def forward(self, x):
            return self.fc(x)

    x = np.array([[0, 1], [1, 0]] * 10, dtype=np.float32)
    y = np.array([1, 0] * 10)
    m = Net()
    m.compile("adam", lr=0.1)
    m.fit(x, y, epochs=20, batch_size=4, verbose=0)
    assert m.evaluate(x, y)["accuracy"] == 1.0


def test_bad_input(digits):
    x, y, _, _ = digits
    model = net()
    with pytest.raises(ConfigError, match=r"call compile\(...\) before fit"):
        model.fit(x, y)
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        model.compile(optimizer="lbfgs")
    with pytest.raises(ConfigError, match="give lr only with an optimizer name"):
        make_optimizer(optim.SGD(model.parameters(), lr=0.1), model.parameters(), lr=0.2)
    model.compile()
    with pytest.raises(ShapeError, match="x and y must have the same length N, got 600 and 599"):
        model.fit(x, y[:-1])
    with pytest.raises(ConfigError, match="not both"):
        model.fit(x, y, validation_data=(x, y), validation_split=0.1)
    with pytest.raises(ConfigError, match=r"validation_split must be in \[0, 1\), got 1.5"):
        model.fit(x, y, validation_split=1.5)
    with pytest.raises(ConfigError, match="epochs must be an int >= 0"):
        model.fit(x, y, epochs=1.5)
    with pytest.raises(ShapeError, match="evaluate: x and y must have the same length"):
        model.evaluate(x, y[:3])
    with pytest.raises(ConfigError, match="batch_size must be an int >= 1"):
        model.predict(x, batch_size=0)
