"""Recurrent layers ``RNN``, ``LSTM``, ``GRU``: stacked, bidirectional, stateful, with gradient recording.

Each layer runs the fused whole-sequence functions of
:mod:`glassnet.functional.recurrent` (hand-written BPTT) once per layer and
direction. Shapes follow PyTorch's ``batch_first=True``: ``x (N, T, D)`` ->
``hs (N, T, dirs·H)`` and a final state ``h_n (L·dirs, N, H)`` (and ``c_n``
for the LSTM), row ``k = layer·dirs + direction``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import functional as F
from glassnet.autograd import Tensor, as_tensor
from glassnet.backend import to_numpy
from glassnet.checks import as_generator, check_int, check_number, check_size
from glassnet.errors import ConfigError, ShapeError
from glassnet.nn import init
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter

__all__ = ["RNN", "LSTM", "GRU"]


class _Recurrent(Module):
    """What RNN, LSTM and GRU share: parameters per layer and direction, stacking, state handling.

    Subclasses set ``gates`` (G) and ``has_cell``, and implement :meth:`_bias_shape`
    and :meth:`_run` (one fused call for one layer and direction).
    """

    gates = 1
    has_cell = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        stateful: bool = False,
        record_grad: bool = False,
        rng: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(input_size, "input_size", name)
        self.hidden_size = check_size(hidden_size, "hidden_size", name)
        self.num_layers = check_size(num_layers, "num_layers", name)
        self.dropout = check_number(dropout, "dropout", name, min=0.0, max=1.0, max_open=True)
        for flag, value in (("bidirectional", bidirectional), ("stateful", stateful), ("record_grad", record_grad)):
            if not isinstance(value, (bool, np.bool_)):
                raise ConfigError(f"{name}: {flag} must be a bool, got {value!r}")
        self.bidirectional = bool(bidirectional)
        self.stateful = bool(stateful)
        self.record_grad = bool(record_grad)
        self.num_directions = 2 if self.bidirectional else 1
        self.rng = as_generator(rng, f"{name}: rng")
        self._state = None
        self.grad_h: dict[tuple[int, int], np.ndarray] = {}

    def _make_parameters(self, extra: dict[str, tuple[int, ...]] | None = None) -> None:
        """Register ``W_x_l{l}``, ``W_h_l{l}``, ``b_l{l}`` (+ extra) per layer, ``_reverse`` for direction 1.

        Init: PyTorch's, every entry ``~ U(-1/√H, 1/√H)``.
        """
        H, G = self.hidden_size, self.gates
        for layer in range(self.num_layers):
            D = self.input_size if layer == 0 else self.num_directions * H
            for direction in range(self.num_directions):
                suffix = self._suffix(layer, direction)
                shapes = {"W_x": (D, G * H), "W_h": (H, G * H), "b": self._bias_shape(), **(extra or {})}
                for pname, shape in shapes.items():
                    setattr(self, pname + suffix, Parameter(init.linear_uniform(shape, H, self.rng)))

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def _weights(self, layer: int, direction: int, names=("W_x", "W_h", "b")) -> list[Parameter]:
        suffix = self._suffix(layer, direction)
        return [getattr(self, n + suffix) for n in names]

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.hidden_size,)

    def _run(self, x, states, layer, direction, lengths, hook):  # pragma: no cover - abstract
        raise NotImplementedError

    # ----------------------------------------------------------------- forward
    def forward(self, x: Any, state: Any = None, lengths: Any = None):
        """Run every layer and direction over ``x``.

        Args:
            x: ``(N, T, D)`` batch-first input.
            state: initial state, or None for zeros (or, when ``stateful``, the
                state carried from the previous call): ``h0 (L·dirs, N, H)``;
                for the LSTM a pair ``(h0, c0)``.
            lengths: ``(N,)`` valid lengths of a padded batch, or None.

        Returns:
            ``(hs, state)``: ``hs (N, T, dirs·H)`` the last layer's outputs (0
            past each length), and the final state in the shape of ``state``.

        Raises:
            ShapeError: if ``x`` or ``state`` has the wrong shape, or a carried
                state's batch size differs from ``x``'s.
        """
        name = type(self).__name__
        x = as_tensor(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ShapeError(f"{name}: x must be (N, T, D) with D == {self.input_size}, got {x.shape}")
        N = x.shape[0]
        if state is None and self.stateful and self._state is not None:
            state = self._state
            if state[0].shape[1] != N:
                raise ShapeError(
                    f"{name}: the carried state has batch size {state[0].shape[1]} but x has {N}; "
                    "call reset_state() before a batch of another size"
                )
        else:
            state = self._check_state(state, N)
        self.grad_h = {}
        layer_input, finals = x, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                states = [None if s is None else F.getitem(s, k) for s in state]  # each (N, H)
                hook = self._recorder(layer, direction, lengths) if self.record_grad else None
                inp = layer_input if direction == 0 else F.reverse_sequence(layer_input, lengths)
                hs, *final = self._run(inp, states, layer, direction, lengths, hook)  # hs (N, T, H)
                # the backward direction read the sequence reversed: put its outputs back in input order
                outputs.append(hs if direction == 0 else F.reverse_sequence(hs, lengths))
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else F.concat(outputs, axis=2)  # (N, T, dirs·H)
            if layer < self.num_layers - 1 and self.dropout > 0:
                layer_input = F.dropout(layer_input, p=self.dropout, training=self.training, rng=self.rng)
        new_state = tuple(F.stack([f[i] for f in finals], axis=0) for i in range(len(finals[0])))  # (L·dirs, N, H)
        if self.stateful:  # truncated BPTT: carry the values, cut the graph
            self._state = tuple(s.detach() for s in new_state)
        return layer_input, (new_state if self.has_cell else new_state[0])

    def _convert_state(self, convert) -> None:
        """``Module.to``'s hook: the carried state (stateful) goes where the weights go, detached as before."""
        if self._state is not None:
            self._state = tuple(Tensor(convert(s.data)) for s in self._state)

    def _check_state(self, state, N: int) -> tuple:
        name, H = type(self).__name__, self.hidden_size
        want = (self.num_layers * self.num_directions, N, H)
        n_states = 2 if self.has_cell else 1
        if state is None:
            return (None,) * n_states
        if self.has_cell:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise ShapeError(f"{name}: state must be a pair (h0, c0), got {type(state).__name__}")
            names = ("h0", "c0")
        else:
            state, names = (state,), ("h0",)
        out = []
        for sname, s in zip(names, state):
            s = as_tensor(s)
            if s.shape != want:
                raise ShapeError(f"{name}: {sname} must be (L·dirs, N, H) == {want}, got {s.shape}")
            out.append(s)
        return tuple(out)

    def reset_state(self) -> None:
        """Forget the state carried between calls in ``stateful`` mode (start of a new stream)."""
        self._state = None

    # -------------------------------------------------------- gradient record
    def _recorder(self, layer: int, direction: int, lengths):
        def hook(grad_h):  # total dL/dh_t (N, T, H), in the order the direction ran
            if direction == 1:
                grad_h = F.reverse_sequence(grad_h, lengths).data
            self.grad_h[(layer, direction)] = grad_h

        return hook

    def grad_h_norms(self, layer: int = -1, direction: int = 0) -> np.ndarray:
        """``||dL/dh_t||`` per step ``t``, averaged over the batch: shape ``(T,)``, in the input's time order.

        With ``record_grad=True`` every backward stores the total BPTT gradient
        ``dL/dh_t`` (from the loss at ``t`` and from every later step) of each
        layer and direction in ``self.grad_h[(layer, direction)]`` as an array
        ``(N, T, H)``; this returns its per-step L2 norm averaged over the batch.
        Plot it against ``T - t`` to see gradients vanish (or explode).

        Raises:
            ConfigError: if ``layer`` is not in ``[-L, L)`` or ``direction`` not in ``[0, dirs)``,
                or if nothing was recorded for that layer and direction.
        """
        name, L, dirs = type(self).__name__, self.num_layers, self.num_directions
        layer = check_int(layer, "layer", f"{name}.grad_h_norms", min=-L, max=L - 1)
        direction = check_int(direction, "direction", f"{name}.grad_h_norms", min=0, max=dirs - 1)
        layer = int(layer) % L  # a negative layer counts from the last
        g = self.grad_h.get((layer, direction))
        if g is None:
            raise ConfigError(
                f"{type(self).__name__}: no dL/dh recorded for layer {layer}, direction {direction}; "
                "construct with record_grad=True, run forward and backward first"
            )
        return np.linalg.norm(to_numpy(g).astype(np.float64), axis=2).mean(axis=0)  # for plots: on the host

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.stateful:
            s += ", stateful=True"
        return s


class RNN(_Recurrent):
    """Simple (Elman) RNN, stacked and optionally bidirectional: ``h_t = φ(x_t W_x + h_{t-1} W_h + b)``.

    Shapes (batch first, as PyTorch's ``batch_first=True``):
        ``x (N, T, D)`` -> ``hs (N, T, dirs·H)``, ``h_n (L·dirs, N, H)`` (row
        ``layer·dirs + direction``). Parameters per layer ``l`` (suffix
        ``_reverse`` for the backward direction): ``W_x_l{l} (D_l, H)``,
        ``W_h_l{l} (H, H)``, ``b_l{l} (H,)`` with ``D_0 = D``, ``D_l = dirs·H``.
        PyTorch's ``weight_ih_l0`` is ``W_x_l0.T``; its two biases sum to ``b_l0``.

    Init: every parameter ``~ U(-1/√H, 1/√H)`` (PyTorch's default).

    Args:
        input_size: D.
        hidden_size: H.
        num_layers: L stacked layers; each takes the previous layer's ``hs``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        dropout: dropout probability on the outputs of every layer but the last
            (training mode only).
        bidirectional: add a direction that reads each sequence backwards
            (within its length); its outputs are re-aligned with the input's
            time steps and concatenated after the forward direction's.
        stateful: keep the final state (detached: the graph is cut) as the
            initial state of the next call, for truncated BPTT over a long
            stream; :meth:`reset_state` forgets it.
        record_grad: store the total ``dL/dh_t`` of every layer and direction
            at each backward (see :meth:`grad_h_norms`).
        rng: numpy Generator, int seed or None (init and dropout).

    Raises:
        ConfigError: on bad sizes, dropout outside ``[0, 1)``, an unknown nonlinearity.
        ShapeError: (forward) on a wrong ``x`` or ``state`` shape.

    Reference: Elman, *Finding structure in time*, 1990; Schuster & Paliwal,
    *Bidirectional recurrent neural networks*, 1997.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 dropout: float = 0.0, bidirectional: bool = False, stateful: bool = False,
                 record_grad: bool = False, rng: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, dropout, bidirectional, stateful, record_grad, rng)
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self._make_parameters()

    def _run(self, x, states, layer, direction, lengths, hook):
        W_x, W_h, b = self._weights(layer, direction)
        return F.rnn(x, states[0], W_x, W_h, b, self.nonlinearity, lengths=lengths, grad_h_hook=hook)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_Recurrent):
    """Long short-term memory, stacked and optionally bidirectional, with optional peepholes.

    Per layer and step (gates packed ``i|f|g|o``; see :func:`glassnet.functional.lstm`)::

        i, f = σ(x W_x + h W_h + b + p_{i,f} ⊙ c_{t-1}),  g = tanh(…),  c_t = f ⊙ c_{t-1} + i ⊙ g
        o = σ(… + p_o ⊙ c_t),  h_t = o ⊙ tanh(c_t)

    Shapes: ``x (N, T, D)`` -> ``hs (N, T, dirs·H)``, state ``(h_n, c_n)`` each
    ``(L·dirs, N, H)``. Parameters per layer ``l``: ``W_x_l{l} (D_l, 4H)``,
    ``W_h_l{l} (H, 4H)``, ``b_l{l} (4H,)``, with ``peephole=True`` also
    ``p_l{l} (3, H)`` (rows ``p_i, p_f, p_o``); suffix ``_reverse`` for the
    backward direction.

    Init: every parameter ``~ U(-1/√H, 1/√H)`` (PyTorch's default); with
    ``forget_bias`` set, the forget-gate slice ``b[H:2H]`` is then *added*
    that constant (Keras's ``unit_forget_bias=True`` is ``forget_bias=1.0`` on
    a zero bias).

    Args: as :class:`RNN` (without ``nonlinearity``), and
        peephole: add the diagonal peephole weights of Gers & Schmidhuber (2000)
            (PyTorch has none).
        forget_bias: constant added to the forget gate's bias at init (default 0,
            PyTorch's init). A positive value starts ``f = σ(·)`` near 1, so the
            carousel ``c_t = f ⊙ c_{t-1} + …`` carries the cell (and its gradient)
            across many steps from the first update (Gers, Schmidhuber & Cummins,
            2000; Jozefowicz, Zaremba & Sutskever, 2015, recommend 1).

    Raises:
        ConfigError: on bad sizes, dropout outside ``[0, 1)``, or a non-finite ``forget_bias``.
        ShapeError: (forward) on a wrong ``x`` or ``state`` shape.

    Reference: Hochreiter & Schmidhuber, 1997; Gers, Schmidhuber & Cummins, 2000;
    Gers & Schmidhuber, *Recurrent nets that time and count*, 2000.
    """

    gates = 4
    has_cell = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False, peephole: bool = False, stateful: bool = False,
                 record_grad: bool = False, rng: Any = None, forget_bias: float = 0.0) -> None:
        super().__init__(input_size, hidden_size, num_layers, dropout, bidirectional, stateful, record_grad, rng)
        if not isinstance(peephole, (bool, np.bool_)):
            raise ConfigError(f"LSTM: peephole must be a bool, got {peephole!r}")
        self.peephole = bool(peephole)
        self.forget_bias = check_number(forget_bias, "forget_bias", "LSTM")
        self._make_parameters({"p": (3, hidden_size)} if self.peephole else None)
        H = hidden_size
        for name, param in self.named_parameters():
            if name.startswith("b_l"):
                param.data[H:2 * H] += self.forget_bias  # gates packed i|f|g|o

    def _run(self, x, states, layer, direction, lengths, hook):
        W_x, W_h, b = self._weights(layer, direction)
        p = self._weights(layer, direction, ("p",))[0] if self.peephole else None
        return F.lstm(x, states[0], states[1], W_x, W_h, b, peephole=p, lengths=lengths, grad_h_hook=hook)

    def extra_repr(self) -> str:
        extra = ", peephole=True" if self.peephole else ""
        return super().extra_repr() + extra + (f", forget_bias={self.forget_bias}" if self.forget_bias else "")


class GRU(_Recurrent):
    """Gated recurrent unit, stacked and optionally bidirectional.

    Per layer and step (gates packed ``r|z|n``; see :func:`glassnet.functional.gru`)::

        r, z = σ(x W_x + b_x + h W_h + b_h)                 (the r and z columns)
        n = tanh(x W_xn + b_xn + r ⊙ (h W_hn + b_hn))        reset_after=True (PyTorch, Keras)
        n = tanh(x W_xn + (r ⊙ h) W_hn + b_n)                reset_after=False (Cho et al. 2014)
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    Shapes: ``x (N, T, D)`` -> ``hs (N, T, dirs·H)``, ``h_n (L·dirs, N, H)``.
    Parameters per layer ``l``: ``W_x_l{l} (D_l, 3H)``, ``W_h_l{l} (H, 3H)``,
    ``b_l{l}`` of shape ``(2, 3H)`` = (``b_x``, ``b_h``), PyTorch's
    ``bias_ih``/``bias_hh``, when ``reset_after=True``, else ``(3H,)``; suffix
    ``_reverse`` for the backward direction.

    Init: every parameter ``~ U(-1/√H, 1/√H)`` (PyTorch's default).

    Args: as :class:`RNN` (without ``nonlinearity``), and
        reset_after: where the reset gate acts (see above).

    Raises:
        ConfigError: on bad sizes or dropout outside ``[0, 1)``.
        ShapeError: (forward) on a wrong ``x`` or ``state`` shape.

    Reference: Cho et al., 2014; Chung et al., *Empirical evaluation of gated
    recurrent neural networks on sequence modeling*, 2014.
    """

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False, reset_after: bool = True, stateful: bool = False,
                 record_grad: bool = False, rng: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, dropout, bidirectional, stateful, record_grad, rng)
        if not isinstance(reset_after, (bool, np.bool_)):
            raise ConfigError(f"GRU: reset_after must be a bool, got {reset_after!r}")
        self.reset_after = bool(reset_after)
        self._make_parameters()

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.hidden_size) if self.reset_after else (3 * self.hidden_size,)

    def _run(self, x, states, layer, direction, lengths, hook):
        W_x, W_h, b = self._weights(layer, direction)
        return F.gru(x, states[0], W_x, W_h, b, reset_after=self.reset_after, lengths=lengths, grad_h_hook=hook)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")

