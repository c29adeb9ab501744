"""zoo.MLP: layout, init, dropout, determinism, bad input."""

import numpy as np
import pytest

from glassnet import Tensor
from glassnet.errors import ConfigError
from glassnet.zoo import MLP


def test_layout_shapes_and_dtype():
    m = MLP([64, 32, 16, 10], rng=0)
    assert [n for n, _ in m.named_parameters()] == ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b",
                                                    "layers.4.W", "layers.4.b"]
    assert [p.shape for p in m.parameters()] == [(64, 32), (32,), (32, 16), (16,), (16, 10), (10,)]
    assert all(p.dtype == np.float32 for p in m.parameters())
    y = m(Tensor(np.ones((5, 64), np.float32)))
    assert y.shape == (5, 10) and y.dtype == np.float32
    assert m.num_parameters() == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10


def test_init_he_for_relu_xavier_for_tanh():
    relu = MLP([2000, 500, 10], rng=0).layers[0].W.data
    assert abs(relu.std() - np.sqrt(2 / 2000)) < 0.02 * np.sqrt(2 / 2000)
    tanh = MLP([2000, 500, 10], activation="tanh", rng=0).layers[0].W.data
    assert abs(tanh.std() - np.sqrt(2 / 2500)) < 0.02 * np.sqrt(2 / 2500)
    assert not MLP([4, 3, 2], rng=0).layers[0].b.data.any()


def test_same_seed_same_model_and_dropout_only_in_training():
    a, b = MLP([8, 16, 3], dropout=0.5, rng=1), MLP([8, 16, 3], dropout=0.5, rng=1)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(p.data, q.data)
    # the dropout rate does not change the initial weights (separate streams)
    assert np.array_equal(MLP([8, 16, 3], rng=1).layers[0].W.data, a.layers[0].W.data)
    x = Tensor(np.ones((4, 8), np.float32))
    assert not np.array_equal(a(x).data, a(x).data)  # fresh masks each call
    a.eval()
    assert np.array_equal(a(x).data, a(x).data)


def test_bad_input():
    with pytest.raises(ConfigError, match=r"sizes must be a list of at least two ints >= 1.*got \[3\]"):
        MLP([3])
    with pytest.raises(ConfigError, match="sizes must be"):
        MLP([3, 0, 2])
    with pytest.raises(ConfigError, match=r"activation must be one of .*got 'gelu'"):
        MLP([3, 2], activation="gelu")
    with pytest.raises(ConfigError, match=r"dropout must be a number in \[0, 1\), got 1"):
        MLP([3, 4, 2], dropout=1)
    with pytest.raises(ConfigError, match="MLP: rng"):
        MLP([3, 2], rng="seed")
