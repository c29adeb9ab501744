"""ONNX export by walking the module tree: ``export_onnx(model, path, example_input)``.

The exporter does not trace autograd graphs: each supported module class has one emitter that writes the ONNX
nodes of its eval-mode forward, and a container's emitter calls its children's. The first module without an
emitter stops the export with a :class:`~glassnet.errors.ConfigError` naming it (its dotted path and class).

Opset 17 (ONNX 1.12; onnxruntime >= 1.12 runs it). The input's axis 0 is the dynamic batch axis ``N`` (more
dynamic axes with ``dynamic_axes``); the weights are initializers in the parameters' dtype.

Op mapping (``x`` the module's input; house layouts of DESIGN.md)::

    Linear               y = x @ W + b, W (in, out)  ->  MatMul(x, W) + Add(b)   (W needs no transpose:
                         it is already (in, out); torch's (out, in) weight would be Gemm with transB=1)
    ReLU Tanh Sigmoid    Relu, Tanh, Sigmoid;  LeakyReLU(slope) -> LeakyRelu(alpha=slope)
    Softmax LogSoftmax   Softmax / LogSoftmax(axis)          (opset >= 13: along one axis, as ours)
    Dropout              nothing (eval: identity)
    Flatten(start_axis)  Reshape(x, [0]*start_axis + [-1])   (0 copies a dim: the batch stays dynamic)
    Unflatten(shape)     Reshape(x, [0, *shape])
    Sequential           its children in order
    Conv2d               Conv(x, W, b; strides, pads, dilations, group)  (W (C_out, C_in/groups, kH, kW) as ONNX)
    MaxPool2d            MaxPool(kernel_shape, strides, pads, dilations, ceil_mode)
    AvgPool2d            AveragePool(kernel_shape, strides, pads, ceil_mode, count_include_pad);
                         divisor_override is refused
    AdaptiveAvgPool2d    output 1: GlobalAveragePool; output (OH, OW) with H, W known at export (ONNX shape
                         inference on the graph so far; the input's spatial axes must not be dynamic):
                         AveragePool(kernel = stride = H/OH) when OH divides H (W likewise; kernel 1 is the
                         identity), otherwise torch's windows [floor(i·H/OH), ceil((i+1)·H/OH)) written out
                         as one Slice + ReduceMean per output row, then per output column, and a Concat
                         (the mean over a window's rectangle is the mean over its rows of the row means)
    BatchNorm1d/2d       BatchNormalization(x, γ, β, running_mean, running_var, epsilon)  (eval statistics)
    LocalResponseNorm    LRN(size, alpha, beta, bias=k): ONNX, like torch and ours, divides alpha by size.
                         Odd sizes only: for an even n torch's window is [c - n/2, c + n/2 - 1], ONNX's
                         [c - n/2 + 1, c + n/2]
    Embedding            Gather(W, indices)
    RNN / LSTM / GRU     RNN / LSTM / GRU nodes, one per layer (direction "bidirectional" when ours is),
                         between Transposes for batch-first (N, T, D) <-> ONNX's (T, N, D)
    zoo: MLP, RNNLM, CifarBasicBlock + CifarResNet (option-A shortcut: Slice(steps 2) + Pad of zero channels),
         BasicBlock, Bottleneck, ResNet (projection shortcut), AlexNet, VGG, CifarVGG, GoogLeNet (both
         variants; BasicConv2d, Inception: its four branches then Concat on channels; the auxiliary heads
         only run in training, so the eval graph has none), and through Sequential the ``glassnet train``
         CNNs (LeNet-style) and VGG/AlexNet-style stacks built from the layers above

Recurrent repacking. Ours: ``W_x (D, G·H)``, ``W_h (H, G·H)`` with gate blocks in torch's order; ONNX:
``W [dirs, G·H, D]``, ``R [dirs, G·H, H]``, ``B [dirs, 2·G·H] = [W_b | R_b]`` with its own order::

    LSTM  ours i|f|g|o  ->  ONNX i|o|f|c   blocks [0, 3, 1, 2]   W = W_x.T[blocks], R = W_h.T[blocks],
                                                                B = [b[blocks], 0];  peephole p (3, H) rows
                                                                (p_i, p_f, p_o) -> P = [p_i, p_o, p_f]
    GRU   ours r|z|n    ->  ONNX z|r|h     blocks [1, 0, 2]     reset_after=True: linear_before_reset=1,
                                                                B = [b[0][blocks], b[1][blocks]];
                                                                reset_after=False: B = [b[blocks], 0]
    RNN   one block; activations ["Tanh"] or ["Relu"];          B = [b, 0]

(``W.T[blocks]`` is the row blocks of the transpose, ``H`` rows each, in the listed order.) The exported
recurrent models start from a zero state and return ``(output, h_n[, c_n])``; a ``stateful`` carried state is
not exported, nor ``lengths``: a stateful layer that carries a state is refused (``reset_state()`` first).
onnxruntime's CPU provider runs the recurrent ops in float32 only: export float64 recurrent models after
``model.to(numpy.float32)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import nn
from glassnet.backend import to_numpy
from glassnet.errors import ConfigError
from glassnet.fileio import atomic_write_bytes

__all__ = ["export_onnx", "OPSET"]

OPSET = 17
_INT_MAX = np.iinfo(np.int64).max


class _Graph:
    """The nodes and initializers being written, with fresh value names."""

    def __init__(self, onnx, input_info=None):
        self.onnx, self.nodes, self.initializers, self._n = onnx, [], [], 0
        self.input_info = input_info  # the graph input's value info, for shape inference of inner values

    def shape(self, value: str) -> list[int | None]:
        """The dims of ``value`` by ONNX shape inference on the nodes so far (None for a dynamic dim)."""
        onnx = self.onnx
        if value == self.input_info.name:
            dims = self.input_info.type.tensor_type.shape.dim
            return [d.dim_value if d.HasField("dim_value") else None for d in dims]
        out = onnx.helper.make_tensor_value_info(value, onnx.TensorProto.UNDEFINED, None)
        # the weights enter as typed inputs (their values would be copied for nothing); small int64 constants,
        # which Reshape and Slice read, as values
        small = [t for t in self.initializers if np.prod(t.dims) <= 64]
        weights = [onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                   for t in self.initializers if np.prod(t.dims) > 64]
        graph = onnx.helper.make_graph(self.nodes, "partial", [self.input_info, *weights], [out], initializer=small)
        proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)])
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
        for v in list(inferred.graph.value_info) + list(inferred.graph.output):
            if v.name == value and v.type.tensor_type.HasField("shape"):
                return [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
        raise ConfigError(f"export_onnx: ONNX shape inference gives no shape for {value!r}")

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, array: Any) -> str:
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(to_numpy(array)), name))
        return name

    def ints(self, hint: str, values) -> str:
        return self.const(hint, np.asarray(values, dtype=np.int64))

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs) -> Any:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outs, name=self.name(f"n_{op}"), **attrs))
        return outs[0] if n_out == 1 else outs


Emitter = Callable[[_Graph, nn.Module, str, str], "str | list[str]"]
_EMITTERS: dict[type, Emitter] = {}


def _emits(*classes: type):
    def register(fn: Emitter) -> Emitter:
        for cls in classes:
            _EMITTERS[cls] = fn
        return fn
    return register


def _emit(g: _Graph, m: nn.Module, x: str, where: str) -> str | list[str]:
    """The nodes of module ``m`` (at dotted path ``where``) applied to value ``x``; returns its output name(s)."""
    fn = _EMITTERS.get(type(m))
    if fn is None:
        raise ConfigError(f"export_onnx: module {where or '<model>'} ({type(m).__name__}) has no ONNX export; "
                          f"supported: {', '.join(sorted(c.__name__ for c in _EMITTERS))}")
    return fn(g, m, x, where)


def _child(g: _Graph, m: nn.Module, attr: str, x: str, where: str) -> str:
    out = _emit(g, getattr(m, attr), x, f"{where}.{attr}" if where else attr)
    return out if isinstance(out, str) else out[0]


def _unsupported(where: str, m: nn.Module, why: str) -> ConfigError:
    return ConfigError(f"export_onnx: module {where or '<model>'} ({type(m).__name__}) cannot be exported: {why}")


# ------------------------------------------------------------------ layers
@_emits(nn.Linear)
def _linear(g, m, x, where):
    y = g.node("MatMul", [x, g.const("W", m.W.data)])  # (*, D) @ (D, H) -> (*, H): ours is already (in, out)
    return y if m.b is None else g.node("Add", [y, g.const("b", m.b.data)])


@_emits(nn.ReLU, nn.Tanh, nn.Sigmoid)
def _pointwise(g, m, x, where):
    return g.node({nn.ReLU: "Relu", nn.Tanh: "Tanh", nn.Sigmoid: "Sigmoid"}[type(m)], [x])


@_emits(nn.LeakyReLU)
def _leaky_relu(g, m, x, where):
    return g.node("LeakyRelu", [x], alpha=float(m.slope))


@_emits(nn.Softmax, nn.LogSoftmax)
def _softmax(g, m, x, where):
    return g.node(type(m).__name__, [x], axis=int(m.axis))


@_emits(nn.Dropout)
def _dropout(g, m, x, where):
    return x  # eval mode: the identity


@_emits(nn.Flatten)
def _flatten(g, m, x, where):
    if m.start_axis < 0:
        raise _unsupported(where, m, f"start_axis must be >= 0 (the rank is not tracked), got {m.start_axis}")
    return g.node("Reshape", [x, g.ints("shape", [0] * m.start_axis + [-1])])  # (N, C, H, W) -> (N, C·H·W)


@_emits(nn.Unflatten)
def _unflatten(g, m, x, where):
    return g.node("Reshape", [x, g.ints("shape", [0, *m.shape])])  # (N, C·H·W) -> (N, C, H, W)


@_emits(nn.Sequential)
def _sequential(g, m, x, where):
    for i, layer in enumerate(m):
        x = _emit(g, layer, x, f"{where}.{i}" if where else str(i))
        if not isinstance(x, str):
            raise _unsupported(where, m, f"layer {i} returns several values, a Sequential passes one")
    return x


@_emits(nn.Conv2d)
def _conv2d(g, m, x, where):
    (ph, pw), inputs = m.padding, [x, g.const("W", m.W.data)] + ([] if m.b is None else [g.const("b", m.b.data)])
    return g.node("Conv", inputs, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  pads=[ph, pw, ph, pw], dilations=list(m.dilation), group=int(m.groups))


@_emits(nn.MaxPool2d)
def _max_pool2d(g, m, x, where):
    (ph, pw) = m.padding
    return g.node("MaxPool", [x], kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=[ph, pw, ph, pw],
                  dilations=list(m.dilation), ceil_mode=int(bool(m.ceil_mode)))


@_emits(nn.AvgPool2d)
def _avg_pool2d(g, m, x, where):
    if m.divisor_override is not None:
        raise _unsupported(where, m, "divisor_override has no ONNX AveragePool equivalent")
    (ph, pw) = m.padding
    return g.node("AveragePool", [x], kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  pads=[ph, pw, ph, pw], ceil_mode=int(bool(m.ceil_mode)),
                  count_include_pad=int(bool(m.count_include_pad)))


@_emits(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool2d(g, m, x, where):
    size = m.output_size
    out_hw = (size, size) if isinstance(size, int) else tuple(size)
    if out_hw == (1, 1):
        return g.node("GlobalAveragePool", [x])  # (N, C, H, W) -> (N, C, 1, 1)
    dims = g.shape(x)
    if len(dims) != 4 or dims[2] is None or dims[3] is None:
        raise _unsupported(where, m, f"output_size {size!r} needs the input's H and W at export, got dims {dims} "
                                     "(keep the spatial axes out of dynamic_axes)")
    in_hw = (dims[2], dims[3])
    if all(i % o == 0 for i, o in zip(in_hw, out_hw)):  # equal windows: one AveragePool
        k = [i // o for i, o in zip(in_hw, out_hw)]
        return g.node("Identity", [x]) if k == [1, 1] else g.node("AveragePool", [x], kernel_shape=k, strides=k)
    for axis, size_in, size_out in ((2, in_hw[0], out_hw[0]), (3, in_hw[1], out_hw[1])):
        parts = []
        for i in range(size_out):  # torch's window i: [floor(i·H/OH), ceil((i+1)·H/OH))
            lo, hi = (i * size_in) // size_out, -((-(i + 1) * size_in) // size_out)
            part = g.node("Slice", [x, g.ints("starts", [lo]), g.ints("ends", [hi]), g.ints("axes", [axis])])
            parts.append(g.node("ReduceMean", [part], axes=[axis], keepdims=1))  # (…, 1, …)
        x = g.node("Concat", parts, axis=axis)
    return x  # (N, C, OH, OW)


@_emits(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm(g, m, x, where):
    if not m.track_running_stats:
        raise _unsupported(where, m, "track_running_stats=False normalises with batch statistics even in eval")
    C, dt = m.num_features, m.running_mean.dtype
    gamma = m.gamma.data if m.affine else np.ones(C, dt)
    beta = m.beta.data if m.affine else np.zeros(C, dt)
    stats = [g.const("running_mean", m.running_mean), g.const("running_var", m.running_var)]
    return g.node("BatchNormalization", [x, g.const("gamma", gamma), g.const("beta", beta), *stats],
                  epsilon=float(m.eps))


@_emits(nn.LocalResponseNorm)
def _lrn(g, m, x, where):
    if m.size % 2 == 0:
        raise _unsupported(where, m, f"even size {m.size}: ONNX LRN's window is one channel off torch's for even "
                                     "sizes (odd sizes agree)")
    return g.node("LRN", [x], size=int(m.size), alpha=float(m.alpha), beta=float(m.beta), bias=float(m.k))


@_emits(nn.Embedding)
def _embedding(g, m, x, where):
    return g.node("Gather", [g.const("W", m.W.data), x], axis=0)  # (V, E)[(N, T)] -> (N, T, E)


_GATE_BLOCKS = {nn.LSTM: [0, 3, 1, 2], nn.GRU: [1, 0, 2], nn.RNN: [0]}


def _blocks(a: np.ndarray, order: list[int], H: int) -> np.ndarray:
    """The ``H``-row blocks of ``a`` (axis 0) in ``order``."""
    return np.concatenate([a[k * H:(k + 1) * H] for k in order], axis=0)


def _recurrent_weights(m: nn.Module, layer: int, direction: int) -> tuple[np.ndarray, ...]:
    """One layer and direction's ONNX ``W (G·H, D)``, ``R (G·H, H)``, ``B (2·G·H,)`` and ``P (3H,)`` or None."""
    H, order = m.hidden_size, _GATE_BLOCKS[type(m)]
    W_x, W_h, b = (to_numpy(p.data) for p in m._weights(layer, direction))
    W, R = _blocks(W_x.T, order, H), _blocks(W_h.T, order, H)  # (G·H, D), (G·H, H)
    if b.ndim == 2:  # GRU reset_after: b[0] is added to x W_x, b[1] to h W_h, as ONNX's W_b and R_b
        B = np.concatenate([_blocks(b[0], order, H), _blocks(b[1], order, H)])
    else:
        B = np.concatenate([_blocks(b, order, H), np.zeros_like(b)])
    P = None
    if getattr(m, "peephole", False):
        p = to_numpy(m._weights(layer, direction, ("p",))[0].data)  # rows p_i, p_f, p_o
        P = np.concatenate([p[0], p[2], p[1]])  # ONNX P[iof]: p_i, p_o, p_f
    return W, R, B, P


@_emits(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(g, m, x, where):
    if getattr(m, "_state", None) is not None:
        raise _unsupported(where, m, "it carries a state from its last call (stateful), which the exported graph "
                                     "would not start from; call reset_state() first")
    op, dirs = type(m).__name__, m.num_directions
    attrs: dict[str, Any] = {"hidden_size": int(m.hidden_size),
                             "direction": "bidirectional" if m.bidirectional else "forward"}
    if isinstance(m, nn.RNN):
        attrs["activations"] = [{"tanh": "Tanh", "relu": "Relu"}[m.nonlinearity]] * dirs
    if isinstance(m, nn.GRU):
        attrs["linear_before_reset"] = int(m.reset_after)
    h = g.node("Transpose", [x], perm=[1, 0, 2])  # (N, T, D) -> (T, N, D)
    finals: list[list[str]] = []
    for layer in range(m.num_layers):
        packed = [_recurrent_weights(m, layer, d) for d in range(dirs)]
        W, R, B = (g.const(n, np.stack([p[i] for p in packed])) for i, n in enumerate(("W", "R", "B")))
        inputs = [h, W, R, B]
        if packed[0][3] is not None:
            inputs += ["", "", "", g.const("P", np.stack([p[3] for p in packed]))]  # no lengths, zero h0 and c0
        outs = g.node(op, inputs, n_out=3 if m.has_cell else 2, **attrs)  # Y (T, dirs, N, H), Y_h [, Y_c]
        Y = g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])  # (T, N, dirs, H)
        h = g.node("Reshape", [Y, g.ints("shape", [0, 0, -1])])  # (T, N, dirs·H): direction 0 first, as ours
        finals.append(outs[1:])  # each (dirs, N, H)
    hs = g.node("Transpose", [h], perm=[1, 0, 2])  # (N, T, dirs·H)
    states = [f[0] if len(finals) == 1 else g.node("Concat", list(f), axis=0) for f in zip(*finals)]
    return [hs, *states]  # hs, h_n (L·dirs, N, H) [, c_n]


# ------------------------------------------------------------------ zoo models
def _register_zoo() -> None:
    from glassnet.zoo import MLP, RNNLM, VGG, AlexNet, CifarResNet, CifarVGG, GoogLeNet, ResNet
    from glassnet.zoo.cifar_resnet import CifarBasicBlock
    from glassnet.zoo.googlenet import BasicConv2d, Inception
    from glassnet.zoo.resnet import BasicBlock, Bottleneck

    @_emits(MLP)
    def _mlp(g, m, x, where):
        return _child(g, m, "layers", x, where)

    @_emits(CifarBasicBlock)
    def _cifar_block(g, m, x, where):
        out = x
        for conv, bn in (("conv1", "bn1"), ("conv2", "bn2")):
            out = _child(g, m, bn, _child(g, m, conv, out, where), where)
            out = g.node("Relu", [out]) if conv == "conv1" else out
        if m.shortcut:
            short = x
            if m.subsample:  # option A: x[:, :, ::2, ::2] with (planes - C) / 2 zero channels on each side
                p = (m.planes - m.conv1.in_channels) // 2
                short = g.node("Slice", [x, g.ints("starts", [0, 0]), g.ints("ends", [_INT_MAX, _INT_MAX]),
                                         g.ints("axes", [2, 3]), g.ints("steps", [2, 2])])  # (N, C, H/2, W/2)
                short = g.node("Pad", [short, g.ints("pads", [0, p, 0, 0, 0, p, 0, 0])])  # (N, planes, H/2, W/2)
            out = g.node("Add", [out, short])
        return g.node("Relu", [out])

    @_emits(CifarResNet)
    def _cifar_resnet(g, m, x, where):
        x = g.node("Relu", [_child(g, m, "bn1", _child(g, m, "conv1", x, where), where)])  # (N, 16, H, W)
        for name in ("layer1", "layer2", "layer3"):
            x = _child(g, m, name, x, where)  # (N, 64, H/4, W/4)
        x = g.node("Reshape", [g.node("GlobalAveragePool", [x]), g.ints("shape", [0, -1])])  # mean over H, W: (N, 64)
        return _child(g, m, "linear", x, where)  # (N, K)

    @_emits(BasicBlock, Bottleneck)
    def _resnet_block(g, m, x, where):
        out, pairs = x, [("conv1", "bn1"), ("conv2", "bn2")] + ([("conv3", "bn3")] if isinstance(m, Bottleneck) else [])
        for k, (conv, bn) in enumerate(pairs):
            out = _child(g, m, bn, _child(g, m, conv, out, where), where)
            out = g.node("Relu", [out]) if k < len(pairs) - 1 else out
        identity = x if m.downsample is None else _child(g, m, "downsample", x, where)
        return g.node("Relu", [g.node("Add", [out, identity])])

    @_emits(ResNet)
    def _resnet(g, m, x, where):
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"):
            x = _child(g, m, name, x, where)
        return _child(g, m, "fc", g.node("Reshape", [x, g.ints("shape", [0, -1])]), where)  # (N, 512·e) -> (N, K)

    def _flatten(g, x):
        return g.node("Reshape", [x, g.ints("shape", [0, -1])])  # (N, C, h, w) -> (N, C·h·w)

    @_emits(AlexNet, VGG)
    def _alexnet_vgg(g, m, x, where):
        x = _child(g, m, "avgpool", _child(g, m, "features", x, where), where)  # (N, C, 6, 6) / (N, C, 7, 7)
        return _child(g, m, "classifier", _flatten(g, x), where)  # (N, K)

    @_emits(CifarVGG)
    def _cifar_vgg(g, m, x, where):
        h = _flatten(g, _child(g, m, "features", x, where))  # (N, 512, 1, 1) -> (N, 512); dropout: identity
        return _child(g, m, "classifier", h, where)

    @_emits(BasicConv2d)
    def _basic_conv(g, m, x, where):
        x = _child(g, m, "conv", x, where)
        return g.node("Relu", [x if m.bn is None else _child(g, m, "bn", x, where)])

    @_emits(Inception)
    def _inception(g, m, x, where):
        branches = [_child(g, m, f"branch{k}", x, where) for k in (1, 2, 3, 4)]  # (N, C_b, H, W) each
        return g.node("Concat", branches, axis=1)  # (N, Σ C_b, H, W)

    @_emits(GoogLeNet)
    def _googlenet(g, m, x, where):  # the eval forward: no auxiliary heads, dropout the identity
        names = ["conv1", "maxpool1", "lrn1", "conv2", "conv3", "lrn2", "maxpool2", "inception3a", "inception3b",
                 "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4",
                 "inception5a", "inception5b", "avgpool"]
        for name in names:
            if getattr(m, name) is not None:
                x = _child(g, m, name, x, where)
        return _child(g, m, "fc", _flatten(g, x), where)  # (N, 1024) -> (N, K)

    @_emits(RNNLM)
    def _rnnlm(g, m, x, where):
        e = _child(g, m, "embed", x, where)  # (N, T, E); dropout is the identity in eval
        hs, *state = _emit(g, m.rec, e, f"{where}.rec" if where else "rec")  # (N, T, H)
        return [_child(g, m, "out", hs, where), *state]  # logits (N, T, V), h_n [, c_n]


_register_zoo()


# ------------------------------------------------------------------ entry point
_ELEM_TYPES = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE", np.dtype(np.int64): "INT64",
               np.dtype(np.int32): "INT32"}


def export_onnx(model: nn.Module, path: str | os.PathLike, example_input: Any,
                dynamic_axes: dict[int, str] | None = None) -> Path:
    """Write ``model``'s eval-mode forward as an ONNX file (opset :data:`OPSET`), checked by ``onnx.checker``.

    Args:
        model: a Module built from the supported modules (module docstring); exported in eval mode (its
            training flag is restored afterwards).
        path: the ``.onnx`` file, written atomically.
        example_input: an array (or Tensor) of the input's shape and dtype (float32/float64 images or
            features, int64/int32 token ids); its axis 0 is the dynamic batch axis.
        dynamic_axes: ``{axis: name}`` of the input's dynamic axes; default ``{0: "N"}`` (add ``1: "T"`` for a
            recurrent model to take any sequence length).

    Returns:
        the path. The graph's input is ``"input"``; its outputs ``"output"`` and, for recurrent models,
        ``"h_n"`` (and ``"c_n"`` for an LSTM).

    Raises:
        ConfigError: the first module without an ONNX export (its dotted path and class) or with settings
            ONNX cannot express; ``onnx`` not installed (``pip install 'glassnet[onnx]'``); an input dtype
            other than float32/float64/int64/int32.
    """
    try:
        import onnx
    except ImportError:
        raise ConfigError("export_onnx needs the onnx package, which is not installed: "
                          "pip install 'glassnet[onnx]' (or onnx onnxruntime)") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"export_onnx: model must be a Module, got {type(model).__name__}")
    x = to_numpy(getattr(example_input, "data", example_input))
    elem = _ELEM_TYPES.get(np.asarray(x).dtype)
    if elem is None or np.ndim(x) == 0:
        raise ConfigError(f"export_onnx: example_input must be an array of float32, float64, int64 or int32 "
                          f"with a batch axis, got dtype {np.asarray(x).dtype} and shape {np.shape(x)}")
    axes = {0: "N"} if dynamic_axes is None else dict(dynamic_axes)
    shape = [axes.get(i, d) for i, d in enumerate(np.shape(x))]
    input_info = onnx.helper.make_tensor_value_info("input", getattr(onnx.TensorProto, elem), shape)
    g = _Graph(onnx, input_info)
    was_training = model.training
    model.eval()
    try:
        outs = _emit(g, model, "input", "")
    finally:
        model.train(was_training)
    outs = [outs] if isinstance(outs, str) else list(outs)
    names = ["output", "h_n", "c_n"][:len(outs)]
    g.nodes += [onnx.helper.make_node("Identity", [o], [n], name=f"n_out_{n}") for o, n in zip(outs, names)]
    graph = onnx.helper.make_graph(
        g.nodes, type(model).__name__, [input_info],
        [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in names],
        initializer=g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="glassnet")
    proto.ir_version = min(proto.ir_version, 8)  # IR 8 is what opset 17 came with: older runtimes read it
    # the outputs' types and shapes (dynamic axes symbolic) are ONNX's own shape inference, checked strictly
    try:
        inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except onnx.shape_inference.InferenceError as e:  # e.g. an example_input of the wrong shape or dtype
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"export_onnx: ONNX shape inference rejects the graph for example_input of shape "
                          f"{tuple(np.shape(x))} and dtype {np.asarray(x).dtype} (does it match the model's "
                          f"input and weights' dtype?): {first}") from None
    known = {v.name: v for v in inferred.graph.value_info}
    for out, inner in zip(proto.graph.output, outs):  # each output is an Identity of an inferred inner value
        out.type.CopyFrom(known[inner].type)
    onnx.checker.check_model(proto, full_check=True)
    return atomic_write_bytes(path, proto.SerializeToString())
