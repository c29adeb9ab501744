"""Layers: parity with torch.nn on copied weights (outputs and every gradient), modes, containers, bad input."""

import math

import numpy as np
import pytest

import glassnet.functional as F
from glassnet import nn
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.testing import check_parity

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

TOLS = [(np.float64, 1e-8), (np.float32, 1e-4)]
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def torch_layer_reference(tlayer, weights):
    """A check_parity reference running ``tlayer``; ``weights`` maps our grads to torch tensors (W transposed)."""

    def reference(inputs, upstream):
        ts = [torch.tensor(x, requires_grad=x.dtype.kind == "f") if x.dtype.kind == "f" else torch.from_numpy(x)
              for x in inputs]
        for w in tlayer.parameters():
            w.grad = None
        out = tlayer(*ts)
        out.backward(torch.from_numpy(upstream[0]))
        grads = [t.grad.numpy() for t in ts if t.requires_grad]
        grads += [fn(w.grad).numpy() for w, fn in weights]
        return [out.detach().numpy()], grads

    return reference


@pytest.mark.parametrize("dtype, tol", TOLS)
@pytest.mark.parametrize("x_shape", [(5, 4), (3, 6, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_parity_ours_to_torch(dtype, tol, x_shape, bias):
    layer = nn.Linear(4, 3, bias=bias, rng=0).to(dtype)
    tlayer = torch.nn.Linear(4, 3, bias=bias, dtype=TORCH_DTYPE[dtype])
    with torch.no_grad():
        tlayer.weight.copy_(torch.from_numpy(layer.W.data.T.copy()))  # torch's weight is (out, in)
        if bias:
            tlayer.bias.copy_(torch.from_numpy(layer.b.data))
    weights = [(tlayer.weight, lambda g: g.T)] + ([(tlayer.bias, lambda g: g)] if bias else [])
    x = np.random.default_rng(1).standard_normal(x_shape).astype(dtype)
    params = [layer.W] + ([layer.b] if bias else [])
    check_parity(layer, torch_layer_reference(tlayer, weights), [x], atol=tol, rtol=tol, params=params)
    assert layer.W.grad.shape == (4, 3) and layer.W.grad.dtype == dtype


@pytest.mark.parametrize("dtype, tol", TOLS)
def test_linear_parity_torch_to_ours(dtype, tol):
    torch.manual_seed(0)
    tlayer = torch.nn.Linear(6, 2, dtype=TORCH_DTYPE[dtype])  # torch's own default init
    layer = nn.Linear(6, 2).to(dtype)
    layer.load_state_dict({"W": tlayer.weight.detach().numpy().T, "b": tlayer.bias.detach().numpy()})
    x = np.random.default_rng(2).standard_normal((7, 6)).astype(dtype)
    weights = [(tlayer.weight, lambda g: g.T), (tlayer.bias, lambda g: g)]
    check_parity(layer, torch_layer_reference(tlayer, weights), [x], atol=tol, rtol=tol, params=[layer.W, layer.b])


def test_linear_default_init_is_torchs():
    layer = nn.Linear(256, 300, rng=0)
    bound = 1 / math.sqrt(256)
    for w in (layer.W.data, layer.b.data):
        assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(layer.W.data.std() / (bound / math.sqrt(3)) - 1) < 0.05
    torch.manual_seed(0)
    tw = torch.nn.Linear(256, 300).weight.detach().numpy()
    assert abs(tw.std() / layer.W.data.std() - 1) < 0.05  # same distribution as torch's
    np.testing.assert_array_equal(nn.Linear(3, 2, rng=5).W.data, nn.Linear(3, 2, rng=5).W.data)


@pytest.mark.parametrize("dtype, tol", TOLS)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_parity(dtype, tol, padding_idx):
    layer = nn.Embedding(6, 4, padding_idx=padding_idx, rng=0).to(dtype)
    tlayer = torch.nn.Embedding(6, 4, padding_idx=padding_idx, dtype=TORCH_DTYPE[dtype])
    with torch.no_grad():
        tlayer.weight.copy_(torch.from_numpy(layer.W.data))
    idx = np.array([[1, 2, 5, 2], [0, 5, 5, 3], [2, 2, 4, 1]])  # repeats and padding positions
    weights = [(tlayer.weight, lambda g: g)]
    check_parity(layer, torch_layer_reference(tlayer, weights), [idx], atol=tol, rtol=tol, params=[layer.W])
    if padding_idx is not None:
        k = padding_idx % 6
        assert (layer.W.data[k] == 0).all() and (layer.W.grad[k] == 0).all()
        assert (layer.W.grad[1] != 0).all()


def test_embedding_padding_row_is_never_updated_but_looked_up():
    from glassnet import optim

    layer = nn.Embedding(4, 3, padding_idx=0, rng=0).to(np.float64)
    layer.W.data[0] = 0.5  # e.g. loaded from a checkpoint: it is looked up as it is
    opt = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        y = layer(np.array([[0, 1, 0], [3, 0, 1]]))
        np.testing.assert_array_equal(y.data[0, 0], [0.5, 0.5, 0.5])
        y.backward(np.ones(y.shape))
        opt.step()
    np.testing.assert_array_equal(layer.W.data[0], [0.5, 0.5, 0.5])
    assert not np.allclose(layer.W.data[1], nn.Embedding(4, 3, padding_idx=0, rng=0).W.data[1])


def test_embedding_default_init():
    layer = nn.Embedding(500, 400, padding_idx=3, rng=0)
    w = layer.W.data
    assert w.shape == (500, 400) and w.dtype == np.float32
    assert (w[3] == 0).all()
    assert abs(np.delete(w, 3, axis=0).std() - 1) < 0.05
    assert nn.Embedding(10, 2, rng=4)(np.array([[1, 9]])).shape == (1, 2, 2)
    assert nn.Embedding(10, 2, rng=4)([1, 2, 3]).shape == (3, 2)


def test_dropout_layer_follows_mode_and_rng():
    x = np.ones((200, 50))
    a, b = nn.Dropout(0.3, rng=1), nn.Dropout(0.3, rng=1)
    ya, yb = a(x).data, b(x).data
    np.testing.assert_array_equal(ya, yb)  # same seed, same mask
    assert not np.array_equal(a(x).data, ya)  # the layer's Generator advances
    assert set(np.unique(ya)) == {0.0, 1 / 0.7}
    assert abs((ya == 0).mean() - 0.3) < 0.02
    a.eval()
    np.testing.assert_array_equal(a(x).data, x)  # identity in evaluation mode
    np.testing.assert_array_equal(nn.Dropout(0.0, rng=0)(x).data, x)
    with pytest.raises(ConfigError, match=r"Dropout: p must be a number in \[0, 1\), got 1.0"):
        nn.Dropout(1.0)
    with pytest.raises(ConfigError, match="Dropout: rng: expected a numpy.random.Generator"):
        nn.Dropout(0.5, rng="seed")


ACTIVATIONS = [
    (nn.ReLU(), torch.nn.ReLU(), (3, 5)),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2), (3, 5)),
    (nn.Sigmoid(), torch.nn.Sigmoid(), (3, 5)),
    (nn.Tanh(), torch.nn.Tanh(), (3, 5)),
    (nn.Softmax(axis=0), torch.nn.Softmax(dim=0), (3, 5)),
    (nn.LogSoftmax(), torch.nn.LogSoftmax(dim=-1), (3, 5)),
    (nn.Flatten(), torch.nn.Flatten(), (2, 3, 2, 2)),
    (nn.Flatten(start_axis=2), torch.nn.Flatten(start_dim=2), (2, 3, 2, 2)),
]


@pytest.mark.parametrize("dtype, tol", TOLS)
@pytest.mark.parametrize("ours, theirs, shape", ACTIVATIONS, ids=lambda v: repr(v) if isinstance(v, nn.Module) else "")
def test_activation_layers_match_torch(ours, theirs, shape, dtype, tol):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    check_parity(ours, torch_layer_reference(theirs, []), [x], atol=tol, rtol=tol)


def test_sequential_container():
    l1, l2 = nn.Linear(4, 3, rng=0), nn.Linear(3, 2, rng=1)
    model = nn.Sequential(l1, nn.Tanh(), l2)
    assert len(model) == 3 and model[0] is l1 and model[-1] is l2 and list(model)[1].__class__ is nn.Tanh
    assert [n for n, _ in model.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[1] is l2
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(model(x).data, l2(F.tanh(l1(x))).data)
    model.append(nn.ReLU())
    model[3] = nn.Sigmoid()
    assert isinstance(model[3], nn.Sigmoid) and len(model) == 4
    with pytest.raises(ConfigError, match="Sequential: items must be Modules, got function"):
        nn.Sequential(l1, F.relu)
    with pytest.raises(ConfigError, match="Sequential: index 4 out of range for length 4"):
        model[4]
    stack = nn.ModuleList([nn.Linear(2, 2, rng=i) for i in range(3)])
    assert [n for n, _ in stack.named_parameters()][-1] == "2.b" and len(stack[::2]) == 2


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.Linear(0, 3), ConfigError, "Linear: in_features must be an int >= 1, got 0"),
    (lambda: nn.Linear(2, 2.5), ConfigError, "Linear: out_features must be an int >= 1, got 2.5"),
    (lambda: nn.Linear(2, 3, rng=-1), ConfigError, "Linear: rng: a seed must be >= 0, got -1"),
    (lambda: nn.Linear(4, 3, rng=0)(np.ones((2, 5), np.float32)), ShapeError,
     r"Linear: x must be \(N, D\), \(N, T, D\) or \(\*, D\) with D == 4, got \(2, 5\)"),
    (lambda: nn.Linear(4, 3, rng=0)(np.ones((2, 4))), DTypeError, "mix float dtypes"),
    (lambda: nn.Embedding(0, 3), ConfigError, "Embedding: num_embeddings must be an int >= 1, got 0"),
    (lambda: nn.Embedding(5, True), ConfigError, "Embedding: embedding_dim must be an int >= 1, got True"),
    (lambda: nn.Embedding(5, 3, padding_idx=5), ConfigError,
     r"Embedding: padding_idx must be an int in \[-5, 4\], got 5"),
    (lambda: nn.Embedding(5, 3, rng=0)(np.array([0.0, 1.0])), DTypeError, "embedding: indices must be an integer"),
    (lambda: nn.Embedding(5, 3, rng=0)(np.array([0, 5])), ShapeError, r"embedding: indices must be in \[0, V\)"),
    (lambda: nn.LeakyReLU("0.1"), ConfigError, "LeakyReLU: slope must be a finite number"),
    (lambda: nn.Softmax(axis=1.0), ConfigError, "Softmax: axis must be an int, got 1.0"),
    (lambda: nn.LogSoftmax(axis=None), ConfigError, "LogSoftmax: axis must be an int, got None"),
    (lambda: nn.Flatten(start_axis="1"), ConfigError, "Flatten: start_axis must be an int"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
