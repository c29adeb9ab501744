"""export_onnx: each exported model, run by onnxruntime, gives glassnet's eval outputs (float32).

Tolerance: ``assert_allclose(ort, ours, rtol=1e-5, atol=1e-5)`` (relative plus absolute, float32: the two
runtimes sum in different orders, so a few ulps of the larger activations differ).
"""

import numpy as np
import pytest

from glassnet import nn
from glassnet.errors import ConfigError
from glassnet.export import OPSET, export_onnx
from glassnet.zoo import MLP, RNNLM, resnet18
from glassnet.zoo.cifar_resnet import resnet20

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RTOL = ATOL = 1e-5


def _randomise_batch_norm(model, rng):
    """Running statistics and affine parameters far from (0, 1, 1, 0), so eval mode matters."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            C = m.num_features
            m.running_mean[...] = rng.normal(0, 0.5, C)
            m.running_var[...] = rng.uniform(0.5, 2.0, C)
            m.gamma.data[...] = rng.uniform(0.5, 1.5, C)
            m.beta.data[...] = rng.normal(0, 0.2, C)
    return model


def _run(model, x, tmp_path, **kwargs):
    """(onnxruntime outputs, glassnet eval outputs) for input x."""
    path = export_onnx(model, tmp_path / "m.onnx", x, **kwargs)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})
    model.eval()
    ours = model(x)
    ours = ours if isinstance(ours, tuple) else (ours,)
    flat = []
    for o in ours:  # RNNLM: (logits, (h_n, c_n))
        flat += list(o) if isinstance(o, tuple) else [o]
    return got, [o.data for o in flat]


def _check(model, x, tmp_path, **kwargs):
    got, want = _run(model, x, tmp_path, **kwargs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    return got


def test_mlp_matches_with_a_dynamic_batch(tmp_path):
    model = MLP([12, 16, 8, 3], activation="tanh", dropout=0.3, rng=0)
    x = np.random.default_rng(0).standard_normal((5, 12)).astype(np.float32)
    _check(model, x, tmp_path)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x7 = np.random.default_rng(1).standard_normal((7, 12)).astype(np.float32)  # another batch size
    np.testing.assert_allclose(sess.run(None, {"input": x7})[0], model(x7).data, rtol=RTOL, atol=ATOL)
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == OPSET >= 17


def test_lenet_style_cnn_of_glassnet_train(tmp_path):
    from glassnet.cli.train import build_model

    model = build_model("cnn", "mnist", [784, 10], {"dropout": 0.5, "activation": "relu"}, rng=0)
    x = np.random.default_rng(2).random((3, 784)).astype(np.float32)  # flat rows -> Unflatten -> LeNet
    _check(model, x, tmp_path)


def test_cifar_resnet20_with_randomised_batch_norm(tmp_path):
    rng = np.random.default_rng(3)
    model = _randomise_batch_norm(resnet20(rng=0), rng)
    x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    got, train_mode = _check(model, x, tmp_path)[0], model.train()(x).data
    assert np.abs(got - train_mode).max() > 1e-2  # eval statistics are the ones exported


def test_resnet18_basic_blocks_and_projection_shortcuts(tmp_path):
    rng = np.random.default_rng(4)
    model = _randomise_batch_norm(resnet18(num_classes=5, rng=0), rng)
    _check(model, rng.standard_normal((2, 3, 64, 64)).astype(np.float32), tmp_path)


def test_bottleneck_block(tmp_path):
    from glassnet.zoo.resnet import Bottleneck

    rng = np.random.default_rng(5)
    model = _randomise_batch_norm(nn.Sequential(Bottleneck(8, 4, stride=2, rng=0), Bottleneck(16, 4, rng=1)), rng)
    _check(model, rng.standard_normal((2, 8, 9, 9)).astype(np.float32), tmp_path)


def test_vgg_alexnet_style_net_with_lrn_pools_grouped_dilated_convs(tmp_path):
    rng = np.random.default_rng(6)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=2, padding=2, rng=0), nn.ReLU(),
        nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),                          # AlexNet's overlapping pool
        nn.Conv2d(8, 12, 3, padding=2, dilation=2, groups=4, rng=1), nn.LeakyReLU(0.1),
        nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), nn.BatchNorm2d(12),
        nn.Conv2d(12, 12, 3, padding=1, rng=2), nn.Sigmoid(), nn.AvgPool2d(2, padding=1, ceil_mode=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 16, rng=3), nn.BatchNorm1d(16), nn.Tanh(),
        nn.Dropout(0.5, rng=4), nn.Linear(16, 6, rng=5), nn.LogSoftmax())
    _randomise_batch_norm(model, rng)
    _check(model, rng.standard_normal((2, 3, 29, 29)).astype(np.float32) * 3, tmp_path)
    soft = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Softmax(axis=1))
    _check(soft, rng.standard_normal((2, 4)).astype(np.float32), tmp_path)


def test_lstm_language_model_logits_and_final_state(tmp_path):
    model = RNNLM(50, 8, 16, cell="lstm", num_layers=2, dropout=0.2, rng=0)
    tokens = np.random.default_rng(7).integers(0, 50, (3, 6)).astype(np.int64)
    got = _check(model, tokens, tmp_path, dynamic_axes={0: "N", 1: "T"})
    assert [g.shape for g in got] == [(3, 6, 50), (2, 3, 16), (2, 3, 16)]
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    longer = np.random.default_rng(8).integers(0, 50, (2, 11)).astype(np.int64)
    np.testing.assert_allclose(sess.run(None, {"input": longer})[0], model(longer)[0].data, rtol=RTOL, atol=ATOL)


def test_gate_repacking_is_not_the_identity(tmp_path):
    """A swapped pair of gate blocks must break parity: the repacking is tested, not accidental."""
    from glassnet.export import onnx as exporter

    model = RNNLM(20, 4, 5, cell="lstm", rng=1)
    tokens = np.random.default_rng(9).integers(0, 20, (2, 4)).astype(np.int64)
    blocks = exporter._GATE_BLOCKS[nn.LSTM]
    try:
        exporter._GATE_BLOCKS[nn.LSTM] = [0, 1, 2, 3]  # ours i|f|g|o taken as ONNX's i|o|f|c
        got, want = _run(model, tokens, tmp_path)
    finally:
        exporter._GATE_BLOCKS[nn.LSTM] = blocks
    assert np.abs(got[0] - want[0]).max() > 1e-3


@pytest.mark.parametrize("layer", [
    lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True, rng=0),
    lambda: nn.LSTM(4, 5, peephole=True, forget_bias=1.0, rng=0),
    lambda: nn.GRU(4, 5, bidirectional=True, rng=0),
    lambda: nn.GRU(4, 5, reset_after=False, rng=0),
    lambda: nn.RNN(4, 5, num_layers=2, nonlinearity="relu", rng=0),
], ids=["lstm-bi-2", "lstm-peephole", "gru-bi", "gru-reset-before", "rnn-relu-2"])
def test_recurrent_layers(tmp_path, layer):
    x = np.random.default_rng(10).standard_normal((3, 7, 4)).astype(np.float32)
    _check(layer(), x, tmp_path)


def test_refusals_name_the_module(tmp_path):
    x = np.zeros((1, 3, 8, 8), np.float32)
    cases = [
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 2, 3)), r"module 1 \(ConvTranspose2d\) has no ONNX"),
        (nn.Sequential(nn.LocalResponseNorm(4)), r"even size 4"),
        (nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), r"divisor_override"),
        (nn.Sequential(nn.BatchNorm2d(3, track_running_stats=False)), r"track_running_stats=False"),
    ]
    for model, match in cases:
        with pytest.raises(ConfigError, match=match):
            export_onnx(model, tmp_path / "bad.onnx", x)
    with pytest.raises(ConfigError, match=r"0 \(AdaptiveAvgPool2d\) cannot be exported: output_size \(2, 2\) needs"):
        export_onnx(nn.Sequential(nn.AdaptiveAvgPool2d((2, 2))), tmp_path / "bad.onnx", x,
                    dynamic_axes={0: "N", 2: "H", 3: "W"})
    assert not (tmp_path / "bad.onnx").exists()
    with pytest.raises(ConfigError, match=r"shape inference rejects the graph for example_input of shape \(1, 5\)"):
        export_onnx(MLP([4, 3], rng=0), tmp_path / "bad.onnx", np.zeros((1, 5), np.float32))  # 5 features, not 4
    stateful = nn.LSTM(3, 4, stateful=True, rng=0)
    stateful(np.zeros((1, 2, 3), np.float32))
    with pytest.raises(ConfigError, match="carries a state from its last call"):
        export_onnx(stateful, tmp_path / "bad.onnx", np.zeros((1, 2, 3), np.float32))
    stateful.reset_state()
    export_onnx(stateful, tmp_path / "reset.onnx", np.zeros((1, 2, 3), np.float32))
    assert not (tmp_path / "bad.onnx").exists()
    with pytest.raises(ConfigError, match="example_input must be an array of float32"):
        export_onnx(nn.ReLU(), tmp_path / "bad.onnx", np.zeros(3, dtype=np.float16))


@pytest.mark.parametrize("in_hw, out_hw", [((6, 9), (2, 3)), ((7, 5), (3, 2)), ((1, 1), (6, 6)), ((4, 4), (4, 4)),
                                           ((10, 3), (4, 1))])
def test_adaptive_avg_pool_any_output_size(tmp_path, in_hw, out_hw):
    """Equal windows (one AveragePool), torch's overlapping unequal windows (slices), upsampling from 1x1."""
    x = np.random.default_rng(1).standard_normal((2, 3, *in_hw)).astype(np.float32)
    got = _check(nn.Sequential(nn.AdaptiveAvgPool2d(out_hw)), x, tmp_path)
    assert got[0].shape == (2, 3, *out_hw)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node}
    divisible = in_hw[0] % out_hw[0] == 0 and in_hw[1] % out_hw[1] == 0
    assert ("Slice" in ops) is not divisible


@pytest.mark.slow
def test_zoo_alexnet_and_vgg_with_adaptive_pools(tmp_path):
    """AlexNet at 63x63 (features 1x1, pooled up to 6x6) and VGG-11-BN at 32x32 (1x1 up to 7x7).

    The 4096-wide classifiers are swapped for narrow ones of the same kinds of layers (Dropout, Linear, ReLU):
    exporting 100M weights spends its time in protobuf, not in what is being tested.
    """
    from glassnet.zoo import AlexNet, vgg11

    rng = np.random.default_rng(2)
    for model, x, flat in ((AlexNet(num_classes=5, rng=0), (2, 3, 63, 63), 256 * 6 * 6),
                           (_randomise_batch_norm(vgg11(batch_norm=True, num_classes=5, rng=0), rng), (2, 3, 32, 32),
                            512 * 7 * 7)):
        model.classifier = nn.Sequential(nn.Dropout(0.5, rng=0), nn.Linear(flat, 16, rng=1), nn.ReLU(),
                                         nn.Linear(16, 5, rng=2))
        _check(model, rng.standard_normal(x).astype(np.float32), tmp_path)


def test_zoo_cifar_vgg(tmp_path):
    from glassnet.zoo import CifarVGG

    rng = np.random.default_rng(3)
    model = _randomise_batch_norm(CifarVGG("A", num_classes=4, rng=0), rng)
    _check(model, rng.standard_normal((2, 3, 32, 32)).astype(np.float32), tmp_path)


@pytest.mark.parametrize("variant", ["torchvision", "paper"])
def test_zoo_googlenet_both_variants(tmp_path, variant):
    from glassnet.zoo import GoogLeNet

    rng = np.random.default_rng(4)
    model = GoogLeNet(num_classes=6, aux_logits=True, variant=variant, rng=0)  # aux heads: training only
    model = _randomise_batch_norm(model, rng)
    got = _check(model, rng.standard_normal((2, 3, 64, 64)).astype(np.float32), tmp_path)
    assert got[0].shape == (2, 6)
