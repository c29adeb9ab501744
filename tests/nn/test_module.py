"""Module: registration, names, modes, state dicts and their rejections, dtype casts, repr."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.errors import ConfigError, DTypeError, ShapeError


class Block(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.fc = nn.Linear(3, 4, rng=rng)
        self.scale = nn.Parameter(np.ones(4, dtype=np.float32))
        self.register_buffer("running_mean", np.zeros(4, dtype=np.float32))
        self.register_buffer("count", np.zeros((), dtype=np.int64))
        self.drop = nn.Dropout(0.5, rng=rng)

    def forward(self, x):
        return self.drop(self.fc(x) * self.scale)


class Net(nn.Module):
    def __init__(self, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Parameter(rng.standard_normal((5, 3)).astype(np.float32))
        self.blocks = [Block(rng), Block(rng)]  # a plain list becomes a ModuleList
        self.head = nn.Linear(4, 2, bias=False, rng=rng)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)[:, :3]
        return x


# a module's own parameters come before its children's (as in PyTorch)
NAMES = ["embed", "blocks.0.scale", "blocks.0.fc.W", "blocks.0.fc.b",
         "blocks.1.scale", "blocks.1.fc.W", "blocks.1.fc.b", "head.W"]


def test_registration_and_nested_names_in_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NAMES
    assert isinstance(net.blocks, nn.ModuleList) and len(net.blocks) == 2
    assert [n for n, _ in net.named_children()] == ["blocks", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "", "blocks", "blocks.0", "blocks.0.fc", "blocks.0.drop", "blocks.1", "blocks.1.fc", "blocks.1.drop", "head"]
    assert [n for n, _ in net.named_buffers()] == [
        "blocks.0.running_mean", "blocks.0.count", "blocks.1.running_mean", "blocks.1.count"]
    assert [n for n, _ in net.named_parameters(prefix="model")][0] == "model.embed"
    assert list(net.parameters())[2] is net.blocks[0].fc.W
    assert net.head.b is None
    assert net.num_parameters() == 15 + 2 * (12 + 4 + 4) + 8
    # same construction, same order and values
    again = Net()
    for (n1, p1), (n2, p2) in zip(net.named_parameters(), again.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(p1.data, p2.data)


def test_shared_parameter_counted_once():
    m = nn.Module()
    m.a = nn.Linear(2, 2, rng=0)
    m.b = nn.Linear(2, 2, rng=1)
    m.b.W = m.a.W  # tied weights
    assert [n for n, _ in m.named_parameters()] == ["a.W", "a.b", "b.b"]
    assert m.num_parameters() == 4 + 2 + 2


def test_reassign_and_delete():
    m = nn.Module()
    m.w = nn.Parameter(np.ones(2))
    m.w = nn.Linear(2, 2, rng=0)  # a name moves from parameters to modules
    assert [n for n, _ in m.named_parameters()] == ["w.W", "w.b"]
    m.w = None
    assert m.w is None and list(m.parameters()) == []
    m.x = 3
    del m.x
    with pytest.raises(AttributeError):
        _ = m.x
    with pytest.raises(AttributeError, match="object has no attribute 'nothing'"):
        del m.nothing


def test_wrong_kind_of_assignment_raises():
    m = nn.Linear(2, 3, rng=0)
    with pytest.raises(ConfigError, match="Linear: attribute 'W' holds a Parameter; assign a Parameter or None, "
                                          "got ndarray"):
        m.W = np.ones((2, 3))
    with pytest.raises(ConfigError, match="Sequential: attribute '0' holds a Module"):
        setattr(nn.Sequential(nn.ReLU()), "0", 5)

    class Forgetful(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(ConfigError, match=r"Forgetful: call super\(\).__init__\(\) before assigning attribute 'w'"):
        Forgetful()


def test_buffers():
    m = nn.Module()
    m.register_buffer("stats", np.arange(3.0))
    m.stats = np.ones(3)  # assignment replaces the buffer
    assert dict(m.named_buffers())["stats"].tolist() == [1.0, 1.0, 1.0]
    m.register_buffer("later", None)
    assert list(m.state_dict()) == ["stats"]
    with pytest.raises(ConfigError, match="register_buffer: name must be a non-empty string without '.'"):
        m.register_buffer("a.b", np.ones(1))
    m.p = nn.Parameter(np.ones(1))
    with pytest.raises(ConfigError, match="register_buffer: attribute 'p' already exists"):
        m.register_buffer("p", np.ones(1))
    with pytest.raises(DTypeError, match="buffer 'text' must be numeric"):
        m.register_buffer("text", np.array(["a"]))


def test_train_eval_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.blocks[1].train()
    assert net.blocks[1].drop.training and not net.blocks[0].drop.training
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ConfigError, match="Net.train: mode must be a bool, got 'no'"):
        net.train("no")


def test_eval_turns_dropout_off():
    net = Net()
    x = np.ones((2, 3), dtype=np.float32)
    net.eval()
    y1, y2 = net(x).data, net(x).data
    np.testing.assert_array_equal(y1, y2)
    net.train()
    assert (net(x).data == 0).any()


def test_zero_grad():
    net = Net()
    for p in net.parameters():
        p.grad = np.ones_like(p.data)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_backward_reaches_every_used_parameter():
    net = Net()
    net.eval()
    y = net(np.ones((2, 3), dtype=np.float32))
    y.backward(np.ones(y.shape, dtype=np.float32))
    used = {n for n, p in net.named_parameters() if p.grad is not None}
    assert used == {n for n in NAMES if n.startswith("blocks")}


def test_state_dict_round_trip():
    a, b = Net(seed=0), Net(seed=1)
    a.blocks[0].running_mean = np.full(4, 2.5, dtype=np.float32)
    state = a.state_dict()
    assert list(state) == NAMES + ["blocks.0.running_mean", "blocks.0.count", "blocks.1.running_mean",
                                   "blocks.1.count"]
    assert all(type(v) is np.ndarray for v in state.values())
    state["embed"][0, 0] = 99.0  # a copy: the module is untouched
    assert a.embed.data[0, 0] != 99.0
    params_before = list(b.parameters())
    assert b.load_state_dict(a.state_dict()) == ([], [])
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)
    assert all(p is q for p, q in zip(params_before, b.parameters()))  # same Parameter objects
    assert b.blocks[0].count.dtype == np.int64


def test_loaded_state_does_not_alias_the_given_arrays():
    a, b = Net(seed=0), Net(seed=1)
    state = a.state_dict()
    b.load_state_dict(state)
    state["blocks.0.fc.W"][:] = 0.0
    state["blocks.0.running_mean"][:] = 7.0
    assert np.abs(b.blocks[0].fc.W.data).sum() > 0
    assert (b.blocks[0].running_mean == 0).all()


def test_load_casts_to_the_module_dtype():
    m = nn.Linear(2, 3, rng=0)
    m.load_state_dict({"W": np.ones((2, 3)), "b": np.zeros(3)})  # float64 into float32
    assert m.W.dtype == np.float32 and m.W.data.sum() == 6.0


def test_load_rejects_missing_keys():
    net = Net()
    state = net.state_dict()
    del state["blocks.1.fc.b"], state["head.W"]
    with pytest.raises(ConfigError, match=r"^Net.load_state_dict: missing keys \['blocks.1.fc.b', 'head.W'\]$"):
        net.load_state_dict(state)


def test_load_rejects_unexpected_keys():
    net = Net()
    state = {**net.state_dict(), "extra.W": np.ones(2)}
    with pytest.raises(ConfigError, match=r"^Net.load_state_dict: unexpected keys \['extra.W'\]$"):
        net.load_state_dict(state)


def test_load_rejects_mis_shaped_keys():
    net = Net()
    state = net.state_dict()
    state["head.W"] = state["head.W"].T
    state["blocks.0.running_mean"] = np.zeros(5)
    with pytest.raises(ShapeError, match=r"^Net.load_state_dict: shape mismatch: head.W \(expected \(4, 2\), got "
                                         r"\(2, 4\)\), blocks.0.running_mean \(expected \(4,\), got \(5,\)\)$"):
        net.load_state_dict(state)


def test_load_lists_every_problem_at_once_and_changes_nothing():
    net = Net()
    before = net.state_dict()
    state = {k: v + 1 for k, v in before.items() if k != "embed"}
    state["head.W"] = np.ones((3, 3))
    state["bogus"] = np.ones(1)
    with pytest.raises(ConfigError) as info:
        net.load_state_dict(state)
    assert str(info.value) == ("Net.load_state_dict: missing keys ['embed']; unexpected keys ['bogus']; "
                               "shape mismatch: head.W (expected (4, 2), got (3, 3))")
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_non_strict_and_bad_values():
    net = Net()
    state = net.state_dict()
    del state["embed"]
    state["bogus"] = np.ones(1)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["embed"] and result.unexpected_keys == ["bogus"]
    state["head.W"] = np.ones((1, 1))
    with pytest.raises(ShapeError, match="shape mismatch: head.W"):
        net.load_state_dict(state, strict=False)
    with pytest.raises(DTypeError, match=r"^Linear.load_state_dict: not numeric: W \(dtype <U1\)$"):
        nn.Linear(4, 2, bias=False).load_state_dict({"W": np.full((4, 2), "x")})
    with pytest.raises(ConfigError, match="Net.load_state_dict: state must be a mapping of names to arrays, got list"):
        net.load_state_dict([1])


def test_to_float64_casts_params_grads_and_float_buffers():
    net = Net()
    params = list(net.parameters())
    net.blocks[0].fc.W.grad = np.ones((3, 4), dtype=np.float32)
    assert net.to(np.float64) is net
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(p is q for p, q in zip(params, net.parameters()))
    assert net.blocks[0].fc.W.grad.dtype == np.float64
    assert net.blocks[0].running_mean.dtype == np.float64 and net.blocks[0].count.dtype == np.int64
    y = net.eval()(np.ones((2, 3)))
    assert y.dtype == np.float64
    net.to("float32")
    assert net.embed.dtype == np.float32
    net.to("cpu")
    with pytest.raises(ConfigError, match=r"Net.to: target must be float32, float64, 'cpu' or 'cuda', got <class "):
        net.to(np.int32)
    with pytest.raises(ConfigError, match="got 'gpu'"):
        net.to("gpu")


def test_repr_shows_the_tree():
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Dropout(0.1),
                          nn.Sequential(nn.Linear(8, 2, bias=False, rng=1), nn.LogSoftmax()))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.1)\n"
        "  (3): Sequential(\n"
        "    (0): Linear(in_features=8, out_features=2, bias=False)\n"
        "    (1): LogSoftmax(axis=-1)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.Module()) == "Module()"
    assert repr(nn.Parameter(np.zeros(2))).startswith("Parameter(array([0., 0.]), requires_grad=True")


def test_parameter():
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    assert p.requires_grad and isinstance(p, gn.Tensor) and p.creator is None
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    with pytest.raises(DTypeError, match="requires_grad needs a float array"):
        nn.Parameter(np.arange(3))


def test_forward_not_implemented():
    with pytest.raises(NotImplementedError, match="Module: forward is not implemented"):
        nn.Module()(1)


def test_deepcopy_gives_an_independent_model():
    import copy

    net = Net()
    twin = copy.deepcopy(net)
    assert [n for n, _ in twin.named_parameters()] == NAMES
    twin.blocks[0].fc.W.data += 1.0
    assert not np.array_equal(twin.blocks[0].fc.W.data, net.blocks[0].fc.W.data)
