"""AlexNet, VGG, GoogLeNet and ResNet against torchvision's layouts, and small torch twins on shared weights."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn as tnn

from glassnet.autograd import Tensor
from glassnet.errors import ConfigError, ShapeError
from glassnet.zoo import (
    AlexNet,
    GoogLeNet,
    load_torchvision,
    plain20,
    resnet18,
    resnet20,
    resnet34,
    resnet50,
    resnet56,
    to_torchvision,
    vgg11,
    vgg16,
    vgg19,
)
from glassnet.zoo.cifar_resnet import CifarResNet
from glassnet.zoo.googlenet import Inception
from glassnet.zoo.resnet import BasicBlock, Bottleneck
from glassnet.zoo.torchvision import torchvision_names

torch.set_num_threads(1)

REFERENCE = json.loads(Path("/work/shared/reference/torchvision_state_dicts.json").read_text())["models"]

# reference key -> glassnet builder (VGG without torchvision's redraw of 10^8 weights: same names, faster)
BUILDERS = {
    "alexnet": lambda: AlexNet(rng=0),
    "vgg11": lambda: vgg11(init_weights=False, rng=0),
    "vgg16": lambda: vgg16(init_weights=False, rng=0),
    "vgg16_bn": lambda: vgg16(batch_norm=True, init_weights=False, rng=0),
    "vgg19": lambda: vgg19(init_weights=False, rng=0),
    "googlenet": lambda: GoogLeNet(rng=0),
    "googlenet_aux": lambda: GoogLeNet(aux_logits=True, rng=0),
    "resnet18": lambda: resnet18(rng=0),
    "resnet34": lambda: resnet34(rng=0),
    "resnet50": lambda: resnet50(rng=0),
}
COUNTS = {"alexnet": 61_100_840, "vgg16": 138_357_544, "vgg19": 143_667_240, "googlenet": 6_624_904,
          "googlenet_aux": 13_004_888, "resnet18": 11_689_512, "resnet50": 25_557_032}

# ---------------------------------------------------------------- torchvision layouts


@pytest.mark.parametrize("key", sorted(BUILDERS))
def test_names_shapes_dtypes_and_parameter_counts_equal_torchvision(key):
    model = BUILDERS[key]()
    ref = REFERENCE[key]
    assert model.num_parameters() == ref["num_params"] == COUNTS.get(key, ref["num_params"])
    state = to_torchvision(model)
    assert [[k, list(v.shape), str(v.dtype)] for k, v in state.items()] == ref["state_dict"]  # torch's order too


def test_cifar_resnet_counts_and_akamaster_names():
    assert resnet20(rng=0).num_parameters() == 269_722
    assert resnet56(rng=0).num_parameters() == 853_018
    assert plain20(rng=0).num_parameters() == 269_722  # option A shortcuts have no parameters
    names = list(to_torchvision(resnet20(rng=0)))
    assert names[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert "layer1.0.conv1.weight" in names and "layer3.2.bn2.running_var" in names
    assert names[-2:] == ["linear.weight", "linear.bias"]


def test_load_torchvision_round_trip_and_reports_by_name():
    a, b = resnet18(num_classes=7, rng=1), resnet18(num_classes=7, rng=2)
    state = to_torchvision(a)
    state["bn1.running_mean"] = np.arange(64, dtype=np.float32)
    state["bn1.num_batches_tracked"] = np.array(5, dtype=np.int64)
    assert a.load_torchvision(state) == ([], [], [])
    assert b.load_torchvision(state) == ([], [], [])
    np.testing.assert_array_equal(b.fc.W.data, state["fc.weight"].T)
    np.testing.assert_array_equal(b.bn1.running_mean, np.arange(64))
    assert int(b.bn1.num_batches_tracked) == 5
    for k, v in to_torchvision(b).items():
        np.testing.assert_array_equal(v, state[k])

    bad = dict(state)
    del bad["layer1.0.conv1.weight"]
    bad["extra.weight"] = np.zeros(3, np.float32)
    bad["fc.weight"] = np.zeros((7, 511), np.float32)
    with pytest.raises(ConfigError, match=r"layer1\.0\.conv1\.weight.*extra\.weight.*fc\.weight"):
        load_torchvision(b, bad)
    only_shape = dict(state, **{"fc.bias": np.zeros(8, np.float32)})
    with pytest.raises(ShapeError, match=r"fc\.bias \(expected \(7,\), got \(8,\)\)"):
        load_torchvision(b, only_shape)
    before = b.conv1.W.data.copy()
    bad["conv1.weight"] = np.ones((64, 3, 7, 7), np.float32)
    report = load_torchvision(b, bad, strict=False)
    assert report.missing == ["layer1.0.conv1.weight"] and report.unexpected == ["extra.weight"]
    assert report.mismatched == ["fc.weight (expected (7, 512), got (7, 511))"]
    assert not np.array_equal(before, b.conv1.W.data) and np.all(b.conv1.W.data == 1)  # the good ones load
    with pytest.raises(ConfigError, match="mapping"):
        load_torchvision(b, [("fc.bias", 1)])


# ---------------------------------------------------------------- forwards and options


def test_small_forwards_alexnet_two_towers_vgg_bn_resnet():
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    for model in (AlexNet(num_classes=3, rng=0), AlexNet(num_classes=3, groups=2, rng=0)):
        assert model.eval()(x).shape == (1, 3)
    towers = AlexNet(groups=2, rng=0)
    assert towers.features[3].W.shape == (192, 32, 5, 5) and towers.features[6].W.shape == (384, 192, 3, 3)
    with pytest.raises(ConfigError, match="groups"):
        AlexNet(groups=3)
    assert vgg11(batch_norm=True, num_classes=4, init_weights=False, rng=0).eval()(x[:, :, :32, :32]).shape == (1, 4)
    assert resnet18(num_classes=3, rng=0).eval()(x[:, :, :32, :32]).shape == (1, 3)


def test_googlenet_aux_outputs_and_paper_variant():
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    net = GoogLeNet(num_classes=5, aux_logits=True, rng=0)
    logits, aux2, aux1 = net(x)  # training mode: (logits, aux2, aux1)
    assert logits.shape == aux2.shape == aux1.shape == (1, 5)
    assert net.eval()(x).shape == (1, 5)
    paper = GoogLeNet(num_classes=5, variant="paper", rng=0)
    assert paper.inception3a.branch3[1].conv.W.shape == (32, 16, 5, 5)
    assert paper.conv1.bn is None and paper.conv1.conv.b is not None and paper.lrn1 is not None
    assert paper.eval()(x).shape == (1, 5)
    with pytest.raises(ConfigError, match="variant"):
        GoogLeNet(variant="v3")


def test_cifar_resnets_are_deterministic_and_plain_twins_differ_only_in_shortcuts():
    a, b = resnet20(rng=3), plain20(rng=3)
    for (ka, va), (kb, vb) in zip(to_torchvision(a).items(), to_torchvision(b).items()):
        assert ka == kb
        np.testing.assert_array_equal(va, vb)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    assert not np.allclose(a.eval()(x).data, b.eval()(x).data)
    with pytest.raises(ConfigError, match="shortcut"):
        CifarResNet(shortcut="no")


# ---------------------------------------------------------------- torch twins (parity)


class TorchCifarBlock(tnn.Module):
    def __init__(self, c_in, planes, stride, shortcut=True):
        super().__init__()
        self.conv1 = tnn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.pad = (planes - c_in) // 2 if stride != 1 or c_in != planes else None
        self.shortcut = shortcut

    def forward(self, x):
        out = self.bn2(self.conv2(TF.relu(self.bn1(self.conv1(x)))))
        if self.shortcut:
            out = out + (x if self.pad is None else TF.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad)))
        return TF.relu(out)


class TorchCifarResNet(tnn.Module):  # akamaster/pytorch_resnet_cifar10, option A
    def __init__(self, n=3, num_classes=10, shortcut=True):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        c_in = 16
        for i, (planes, stride) in enumerate(zip((16, 32, 64), (1, 2, 2)), 1):
            blocks = [TorchCifarBlock(c_in if j == 0 else planes, planes, stride if j == 0 else 1, shortcut)
                      for j in range(n)]
            setattr(self, f"layer{i}", tnn.Sequential(*blocks))
            c_in = planes
        self.linear = tnn.Linear(64, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(TF.relu(self.bn1(self.conv1(x))))))
        return self.linear(x.mean(dim=(2, 3)))


class TorchBasicConv2d(tnn.Module):
    def __init__(self, c_in, c_out, **kw):
        super().__init__()
        self.conv = tnn.Conv2d(c_in, c_out, bias=False, **kw)
        self.bn = tnn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return TF.relu(self.bn(self.conv(x)))


class TorchInception(tnn.Module):  # torchvision.models.googlenet.Inception, branch3's kernel as an argument
    def __init__(self, c_in, c1, c3r, c3, c5r, c5, pp, k=3):
        super().__init__()
        self.branch1 = TorchBasicConv2d(c_in, c1, kernel_size=1)
        self.branch2 = tnn.Sequential(TorchBasicConv2d(c_in, c3r, kernel_size=1),
                                      TorchBasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TorchBasicConv2d(c_in, c5r, kernel_size=1),
                                      TorchBasicConv2d(c5r, c5, kernel_size=k, padding=k // 2))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                      TorchBasicConv2d(c_in, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def _downsample(c_in, c_out, stride):
    if stride == 1 and c_in == c_out:
        return None
    return tnn.Sequential(tnn.Conv2d(c_in, c_out, 1, stride, bias=False), tnn.BatchNorm2d(c_out))


class TorchBasicBlock(tnn.Module):  # torchvision.models.resnet.BasicBlock
    def __init__(self, c_in, planes, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = _downsample(c_in, planes, stride)

    def forward(self, x):
        out = self.bn2(self.conv2(TF.relu(self.bn1(self.conv1(x)))))
        return TF.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchBottleneck(tnn.Module):  # torchvision.models.resnet.Bottleneck (v1.5: stride on conv2)
    def __init__(self, c_in, planes, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.downsample = _downsample(c_in, planes * 4, stride)

    def forward(self, x):
        out = TF.relu(self.bn2(self.conv2(TF.relu(self.bn1(self.conv1(x))))))
        out = self.bn3(self.conv3(out))
        return TF.relu(out + (x if self.downsample is None else self.downsample(x)))


def _check_parity(ours, theirs, x_shape, seed=0):
    """Shared weights (via to_torchvision); eval outputs, then train-mode outputs, every gradient, running stats."""
    rng = np.random.default_rng(seed)
    ours.to(np.float64)
    theirs.double()
    # non-trivial batch-norm state, so that eval mode really uses the running statistics
    state = to_torchvision(ours)
    for k in state:
        if k.endswith(("running_mean", "bn1.bias", "bn2.bias", "bn.bias")):
            state[k] = rng.standard_normal(state[k].shape) * 0.1
        elif k.endswith(("running_var", "bn1.weight", "bn.weight")):
            state[k] = rng.uniform(0.5, 1.5, state[k].shape)
    ours.load_torchvision(state) if hasattr(ours, "load_torchvision") else load_torchvision(ours, state)
    theirs.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    x = rng.standard_normal(x_shape)

    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-8, atol=1e-8)

    ours.train()
    theirs.train()
    xt, xg = torch.from_numpy(x).requires_grad_(True), Tensor(x, requires_grad=True)
    y_ref = theirs(xt)
    y = ours(xg)
    np.testing.assert_allclose(y.data, y_ref.detach().numpy(), rtol=1e-8, atol=1e-8)
    g = rng.standard_normal(y.shape)
    (y_ref * torch.from_numpy(g)).sum().backward()
    (y * Tensor(g)).sum().backward()
    np.testing.assert_allclose(xg.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-8)
    params = dict(ours.named_parameters())
    torch_params = dict(theirs.named_parameters())
    names = torchvision_names(ours)
    assert set(torch_params) <= set(names)
    for torch_name, p in torch_params.items():
        grad = params[names[torch_name]].grad
        grad = grad.T if p.ndim == 2 else grad  # Linear: W (D, K) = weight.T
        np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-8, atol=1e-8, err_msg=torch_name)
    after = to_torchvision(ours)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(after[k], v.numpy(), rtol=1e-8, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("shortcut", [True, False])
def test_cifar_resnet20_matches_a_torch_twin(shortcut):
    _check_parity(CifarResNet(3, num_classes=4, shortcut=shortcut, rng=0),
                  TorchCifarResNet(3, num_classes=4, shortcut=shortcut), (2, 3, 8, 8))


@pytest.mark.parametrize("k", [3, 5])
def test_inception_module_matches_a_torch_twin(k):
    cfg = (6, 3, 2, 4, 2, 3, 2)
    _check_parity(Inception(*cfg, branch3_kernel=k, rng=0), TorchInception(*cfg, k=k), (2, 6, 5, 5))


@pytest.mark.parametrize("block,twin,c_in,planes,stride", [
    (BasicBlock, TorchBasicBlock, 4, 4, 1), (BasicBlock, TorchBasicBlock, 4, 6, 2),
    (Bottleneck, TorchBottleneck, 8, 2, 1), (Bottleneck, TorchBottleneck, 4, 3, 2),
])
def test_resnet_blocks_match_torch_twins(block, twin, c_in, planes, stride):
    _check_parity(block(c_in, planes, stride, rng=0), twin(c_in, planes, stride), (2, c_in, 5, 5))


# ---------------------------------------------------------------- whole models against torch twins


class TorchResNet(tnn.Module):  # torchvision.models.resnet.ResNet
    def __init__(self, block, layers, num_classes):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        expansion = 4 if block is TorchBottleneck else 1
        c_in = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), 1):
            blocks = []
            for j in range(n):
                blocks.append(block(c_in, planes, 2 if (j == 0 and i > 1) else 1))
                c_in = planes * expansion
            setattr(self, f"layer{i}", tnn.Sequential(*blocks))
        self.fc = tnn.Linear(512 * expansion, num_classes)

    def forward(self, x):
        x = TF.max_pool2d(TF.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(TF.adaptive_avg_pool2d(x, 1), 1))


# torchvision.models.googlenet's Inception widths: (c_in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool proj)
TORCH_INCEPTIONS = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32), "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64), "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64), "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128), "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class TorchGoogLeNet(tnn.Module):  # torchvision.models.GoogLeNet(aux_logits=False, transform_input=False)
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = TorchBasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.conv2 = TorchBasicConv2d(64, 64, kernel_size=1)
        self.conv3 = TorchBasicConv2d(64, 192, kernel_size=3, padding=1)
        for name, cfg in TORCH_INCEPTIONS.items():
            setattr(self, name, TorchInception(*cfg))
        self.fc = tnn.Linear(1024, num_classes)

    def forward(self, x):
        def pool(x, k=3):
            return TF.max_pool2d(x, k, 2, ceil_mode=True)

        x = pool(self.conv3(self.conv2(pool(self.conv1(x)))))
        x = pool(self.inception3b(self.inception3a(x)))
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            x = getattr(self, name)(x)
        x = self.inception5b(self.inception5a(pool(x, 2)))
        return self.fc(torch.flatten(TF.adaptive_avg_pool2d(x, 1), 1))  # dropout 0 in both


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "resnet50", "googlenet"])
def test_whole_imagenet_models_match_torch_twins(name):
    """Every layer of the whole network at once: eval and train outputs, input and parameter gradients, stats."""
    if name == "googlenet":
        ours, theirs, shape = GoogLeNet(num_classes=5, dropout=0.0, rng=0), TorchGoogLeNet(5), (2, 3, 40, 40)
    else:
        build, block, layers = {"resnet18": (resnet18, TorchBasicBlock, (2, 2, 2, 2)),
                                "resnet50": (resnet50, TorchBottleneck, (3, 4, 6, 3))}[name]
        ours, theirs, shape = build(num_classes=5, rng=0), TorchResNet(block, layers, 5), (2, 3, 64, 64)
    _check_parity(ours, theirs, shape)


def test_cifar_vgg_features_carry_torchvision_names_and_match_a_torch_twin():
    from glassnet.zoo import CifarVGG

    deep = CifarVGG("D", rng=0)  # the same features.* names, shapes and order as torchvision's vgg16_bn
    ref = [e for e in REFERENCE["vgg16_bn"]["state_dict"] if e[0].startswith("features.")]
    assert [[k, list(v.shape), str(v.dtype)] for k, v in to_torchvision(deep).items() if k.startswith("features.")] \
        == ref
    # VGG-11: torchvision's vgg11 less its three dense layers, plus batch norm's gamma and beta, plus 512->10
    dense = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    widths = (64, 128, 256, 256, 512, 512, 512, 512)
    assert CifarVGG("A", rng=0).num_parameters() == REFERENCE["vgg11"]["num_params"] - dense + 2 * sum(widths) + 5130
    model = CifarVGG("A", num_classes=4, rng=0)
    layers, c_in = [], 3
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
        else:
            layers += [tnn.Conv2d(c_in, v, 3, padding=1), tnn.BatchNorm2d(v), tnn.ReLU()]
            c_in = v

    class TorchCifarVGG(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(*layers)
            self.classifier = tnn.Linear(512, 4)

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    _check_parity(model, TorchCifarVGG(), (2, 3, 32, 32))
    with pytest.raises(ShapeError, match=r"\(N, 3, 32, 32\)"):
        model(np.zeros((1, 3, 28, 28)))
    with pytest.raises(ConfigError, match="dropout"):
        CifarVGG(dropout=1.0)
