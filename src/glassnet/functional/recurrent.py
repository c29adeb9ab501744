"""Recurrent networks: RNN, LSTM and GRU over whole sequences, with hand-written BPTT.

Two ways to run the same cells, which tests show give equal outputs and gradients:

* **fused** :func:`rnn`, :func:`lstm`, :func:`gru`: one :class:`Function` per
  sequence. Forward runs the time loop on arrays; backward is backpropagation
  through time (BPTT) written out step by step, from ``t = T`` back to ``1``.
* **composed** :func:`rnn_composed`, :func:`lstm_composed`, :func:`gru_composed`:
  a Python loop over the step functions :func:`rnn_cell`, :func:`lstm_cell`,
  :func:`gru_cell`, built from primitive ops (``linear``, ``matmul``,
  ``sigmoid``, ``tanh``, ``mul``, ``add``, ``getitem``, ``stack``). Autograd
  through that unrolled graph *is* BPTT.

Layout (DESIGN.md): ``x (N, T, D)`` batch-first; ``W_x (D, G·H)``,
``W_h (H, G·H)``, ``b (G·H,)`` with the ``G`` gates packed in PyTorch's order
(LSTM ``i|f|g|o``, GRU ``r|z|n``), so torch's ``weight_ih`` is ``W_x.T``.
Inside the fused functions arrays are kept time-major ``(T, N, ·)`` so that
each step's block is contiguous, and every product that does not depend on the
recurrence is one GEMM over all ``T·N`` rows: ``x W_x`` before the loop,
``dW_x = xᵀ dA``, ``dW_h = h_{t-1}ᵀ dA`` and ``dx = dA W_xᵀ`` after it. Only
``h_{t-1} W_h`` (forward) and ``dA_t W_hᵀ`` (backward) run per step.
:func:`gru` also takes a per-sequence input ``cond (N, D_c)`` appended to every
step's input (a decoder's context vector): its share ``cond W_xc`` of the gates
is one GEMM over the N rows, and its gradients use ``Σ_t dA_t``, instead of
T copies of ``cond`` in every product over the ``T·N`` rows.

Padded batches: with ``lengths (N,)``, sequence ``n`` is valid for
``t < lengths[n]``. At later steps its state is carried unchanged, its output
is 0, and those steps get no gradient; the final state is the state after the
last valid step (what ``pack_padded_sequence`` gives in PyTorch). The fused GRU
also skips those steps' work: it runs the batch longest first, so the sequences
still running at step ``t`` are the first rows (see :class:`GRUFunction`).

Reference: Elman (1990); Hochreiter & Schmidhuber (1997), Gers, Schmidhuber &
Cummins (2000) (forget gate), Gers & Schmidhuber (2000) (peepholes); Cho et al.
(2014) (GRU); Werbos (1990) (BPTT). docs/recurrent.md writes out every equation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from glassnet import functional as F
from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import FLOAT_DTYPES, get_array_module
from glassnet.errors import ConfigError, DTypeError, ShapeError

__all__ = [
    "rnn",
    "lstm",
    "gru",
    "rnn_cell",
    "lstm_cell",
    "gru_cell",
    "rnn_composed",
    "lstm_composed",
    "gru_composed",
    "reverse_sequence",
]


def _sigmoid_(a, neg_scale=-1.0) -> None:
    """In place ``a <- σ(s a) = 1 / (1 + e^{-s a})`` with ``neg_scale = -s`` (a number or a per-column array).

    ``e^{-s a}`` may overflow to ``inf`` for very negative ``a``; then ``σ = 0``
    exactly, which is right (:meth:`_Recurrent.apply` silences NumPy's overflow warning).
    """
    xp = get_array_module(a)
    a *= neg_scale
    xp.exp(a, out=a)
    a += 1.0
    xp.reciprocal(a, out=a)


class _Recurrent(Function):
    """What RNN, LSTM and GRU share: input GEMM, padding masks, output layout, the final GEMMs.

    ``lengths`` (an int array ``(N,)`` or None) and ``grad_h_hook`` (called in
    backward with the total ``dL/dh_t`` for all ``t``, ``(N, T, H)``) are
    settings, not inputs: neither has a gradient.
    """

    def __init__(self, lengths=None, grad_h_hook: Callable | None = None):
        self.lengths = lengths
        self.grad_h_hook = grad_h_hook

    def apply(self, *inputs):
        with np.errstate(over="ignore", under="ignore"):  # σ's e^{-a} may overflow to inf: σ = 0 is then exact
            return super().apply(*inputs)

    # ------------------------------------------------------------ forward parts
    def _project_input(self, x, W_x, b_x, cond=None):
        """``A[t] = x_t W_x + b_x`` for every step in one GEMM; ``A`` becomes the gates in place.

        With ``cond (N, D_c)`` the step input is ``[x_t; cond]`` and ``W_x`` is ``(D + D_c, G·H)``:
        ``A[t] = x_t W_x[:D] + (cond W_x[D:] + b_x)``, the bracket computed once for all steps.
        """
        xp = self.xp
        N, T, D = x.shape
        x_tm = xp.ascontiguousarray(x.transpose(1, 0, 2))  # (T, N, D)
        A = xp.matmul(x_tm.reshape(T * N, D), W_x[:D]).reshape(T, N, W_x.shape[1])  # (T, N, G·H)
        A += b_x if cond is None else cond @ W_x[D:] + b_x  # (N, G·H) broadcast over the T steps
        if self.lengths is None:
            self.valid = self.invalid = None
        else:
            lengths = xp.asarray(self.lengths)
            self.valid = (xp.arange(T)[:, None] < lengths[None, :])[:, :, None]  # (T, N, 1) bool
            self.invalid = ~self.valid
        return x_tm, A

    def _keep_state_past_length(self, t, new, old) -> None:
        """Past a sequence's length its state is carried unchanged: ``s_t = s_{t-1}``."""
        if self.invalid is not None:
            self.xp.copyto(new, old, where=self.invalid[t])

    def _output(self, Hs):
        """``hs (N, T, H)`` from the carried states ``Hs (T+1, N, H)``: zero past each length."""
        out = Hs[1:] if self.valid is None else Hs[1:] * self.valid  # (T, N, H)
        return self.xp.ascontiguousarray(out.transpose(1, 0, 2))  # (N, T, H)

    # ----------------------------------------------------------- backward parts
    def _grad_output_time_major(self, grad_hs):
        """``grad_hs (N, T, H)`` -> ``(T, N, H)``; padded outputs are constants, so their gradient is dropped."""
        g = grad_hs.transpose(1, 0, 2)  # (T, N, H)
        return self.xp.ascontiguousarray(g) if self.valid is None else g * self.valid

    def _masked(self, t, g):
        """The part of a carried gradient that flows into step ``t``'s cell (zero past the length)."""
        return g if self.valid is None else g * self.valid[t]

    def _pass_through_past_length(self, t, grad_prev, grad_next) -> None:
        """Where ``s_t = s_{t-1}`` (past the length) ``dL/ds_{t-1} = dL/ds_t``."""
        if self.invalid is not None:
            self.xp.copyto(grad_prev, grad_next, where=self.invalid[t])

    def _record(self, dH) -> None:
        """Hand the total ``dL/dh_t`` of every step, ``(N, T, H)``, to the hook."""
        if self.grad_h_hook is not None:
            self.grad_h_hook(self.xp.ascontiguousarray(dH.transpose(1, 0, 2)))

    def _input_grads(self, x_tm, W_x, dA, cond=None, cond_index=None):
        """``dx = dA W_xᵀ`` and ``dW_x = xᵀ dA``, each one GEMM over all ``T·N`` rows.

        With ``cond`` (input number ``cond_index``), which every step reads: ``S = Σ_t dA_t (N, G·H)``,
        ``dW_x[D:] = condᵀ S`` and ``dcond = S W_x[D:]ᵀ``. Returns ``(grad_x, grad_W_x, grad_cond)``.
        """
        T, N, D = x_tm.shape
        dA2 = dA.reshape(T * N, dA.shape[2])  # (T·N, G·H)
        grad_x = grad_cond = None
        if self.needs_input_grad[0]:
            grad_x = self.xp.ascontiguousarray((dA2 @ W_x[:D].T).reshape(T, N, D).transpose(1, 0, 2))  # (N, T, D)
        grad_W_x = x_tm.reshape(T * N, D).T @ dA2  # (D, G·H)
        if cond is not None:
            S = dA.sum(axis=0)  # (N, G·H): the gradient reaching the constant input, summed over the steps
            grad_W_x = self.xp.concatenate([grad_W_x, cond.T @ S])  # (D + D_c, G·H)
            if self.needs_input_grad[cond_index]:
                grad_cond = S @ W_x[D:].T  # (N, D_c)
        return grad_x, grad_W_x, grad_cond


class RNNFunction(_Recurrent):
    def __init__(self, nonlinearity="tanh", lengths=None, grad_h_hook=None):
        super().__init__(lengths, grad_h_hook)
        self.nonlinearity = nonlinearity

    def forward(self, x, h0, W_x, W_h, b):
        xp = self.xp
        N, T, _ = x.shape
        H = W_h.shape[0]
        x_tm, A = self._project_input(x, W_x, b)  # A[t] = x_t W_x + b   (T, N, H)
        Hs = xp.empty((T + 1, N, H), dtype=x.dtype)  # h_0 … h_T
        Hs[0] = h0
        for t in range(T):
            a, h = A[t], Hs[t + 1]
            a += Hs[t] @ W_h  # a_t = x_t W_x + h_{t-1} W_h + b
            if self.nonlinearity == "tanh":
                xp.tanh(a, out=h)  # h_t = tanh(a_t)
            else:
                xp.maximum(a, 0, out=h)  # h_t = max(a_t, 0)
            self._keep_state_past_length(t, h, Hs[t])
        self.save_for_backward(x_tm, Hs, W_x, W_h)
        return self._output(Hs), Hs[T].copy()

    # dL/da_t = dL/dh_t ⊙ tanh'(a_t) = dL/dh_t ⊙ (1 - h_t²)   (relu: ⊙ [h_t > 0])
    # dL/dh_{t-1} = dL/da_t W_hᵀ   (+ dL/dh_{t-1} from the output at t-1)
    def backward(self, grad_hs, grad_hT):
        xp = self.xp
        x_tm, Hs, W_x, W_h = self.saved
        T, N, H = Hs.shape[0] - 1, Hs.shape[1], Hs.shape[2]
        gh = self._grad_output_time_major(grad_hs)  # (T, N, H)
        dA = xp.empty((T, N, H), dtype=Hs.dtype)
        dH = xp.empty((T, N, H), dtype=Hs.dtype) if self.grad_h_hook else None
        dh = grad_hT.copy()  # dL/dh_t arriving from step t+1 (at t = T: from h_T)
        for t in reversed(range(T)):
            dh = dh + gh[t]  # total dL/dh_t
            if dH is not None:
                dH[t] = dh
            h = Hs[t + 1]
            if self.nonlinearity == "tanh":
                xp.multiply(self._masked(t, dh), 1 - h * h, out=dA[t])
            else:
                xp.multiply(self._masked(t, dh), h > 0, out=dA[t])
            dh_prev = dA[t] @ W_h.T  # (N, H)
            self._pass_through_past_length(t, dh_prev, dh)
            dh = dh_prev
        self._record(dH)
        grad_x, grad_W_x, _ = self._input_grads(x_tm, W_x, dA)
        grad_W_h = Hs[:-1].reshape(T * N, H).T @ dA.reshape(T * N, H)  # Σ_t h_{t-1}ᵀ dA_t   (H, H)
        grad_b = dA.sum(axis=(0, 1))
        return grad_x, dh, grad_W_x, grad_W_h, grad_b


class LSTMFunction(_Recurrent):
    def forward(self, x, h0, c0, W_x, W_h, b, peephole=None):
        xp = self.xp
        N, T, _ = x.shape
        H = W_h.shape[0]
        x_tm, A = self._project_input(x, W_x, b)  # A[t] = x_t W_x + b   (T, N, 4H), becomes i|f|g|o in place
        Hs = xp.empty((T + 1, N, H), dtype=x.dtype)  # h_0 … h_T
        Cs = xp.empty((T + 1, N, H), dtype=x.dtype)  # c_0 … c_T
        TC = xp.empty((T, N, H), dtype=x.dtype)  # tanh(c_t)
        Hs[0], Cs[0] = h0, c0
        hw = xp.empty((N, 4 * H), dtype=x.dtype)
        ig = xp.empty((N, H), dtype=x.dtype)
        # σ for i|f|o and tanh(a_g) = 2σ(2 a_g) - 1 for g: one exp pass over the packed block (scale -s per column)
        G = 3 if peephole is not None else 4  # with peepholes o needs c_t first
        neg_scale = xp.full(G * H, -1.0, dtype=x.dtype)
        neg_scale[2 * H : 3 * H] = -2.0
        for t in range(T):
            h_prev, c_prev, c, a = Hs[t], Cs[t], Cs[t + 1], A[t]
            a += xp.matmul(h_prev, W_h, out=hw)  # a_t = x_t W_x + h_{t-1} W_h + b   (N, 4H)
            if peephole is not None:  # i and f also look at the old cell c_{t-1}
                a[:, :H] += peephole[0] * c_prev
                a[:, H : 2 * H] += peephole[1] * c_prev
            _sigmoid_(a[:, : G * H], neg_scale)  # i_t, f_t, (o_t) = σ(a_i), σ(a_f), (σ(a_o)); σ(2 a_g)
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            g *= 2.0
            g -= 1.0  # g_t = tanh(a_g)
            xp.multiply(f, c_prev, out=c)
            c += xp.multiply(i, g, out=ig)  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
            if peephole is not None:  # o looks at the new cell c_t
                o += peephole[2] * c
                _sigmoid_(o)  # o_t = σ(a_o + p_o ⊙ c_t)
            xp.tanh(c, out=TC[t])
            xp.multiply(o, TC[t], out=Hs[t + 1])  # h_t = o_t ⊙ tanh(c_t)
            self._keep_state_past_length(t, Hs[t + 1], h_prev)
            self._keep_state_past_length(t, c, c_prev)
        self.save_for_backward(x_tm, A, Hs, Cs, TC, W_x, W_h, peephole)
        return self._output(Hs), Hs[T].copy(), Cs[T].copy()

    # h = o ⊙ tanh(c):      dL/do = dL/dh ⊙ tanh(c),   dL/dc += dL/dh ⊙ o ⊙ (1 - tanh²(c))
    # c = f ⊙ c' + i ⊙ g:   dL/df = dL/dc ⊙ c',  dL/di = dL/dc ⊙ g,  dL/dg = dL/dc ⊙ i,  dL/dc' = dL/dc ⊙ f
    # σ' = σ (1 - σ), tanh' = 1 - tanh²; a_t = x_t W_x + h_{t-1} W_h + b  ->  dL/dh_{t-1} += dA_t W_hᵀ
    def backward(self, grad_hs, grad_hT, grad_cT):
        xp = self.xp
        x_tm, A, Hs, Cs, TC, W_x, W_h, p = self.saved
        T, N, H = TC.shape
        gh = self._grad_output_time_major(grad_hs)  # (T, N, H)
        dA = xp.empty_like(A)  # dL/da_t for the four gates   (T, N, 4H)
        dH = xp.empty((T, N, H), dtype=A.dtype) if self.grad_h_hook else None
        dh, dc = grad_hT.copy(), grad_cT.copy()  # dL/dh_t, dL/dc_t arriving from step t+1
        for t in reversed(range(T)):
            dh = dh + gh[t]  # total dL/dh_t: from the output at t and from step t+1
            if dH is not None:
                dH[t] = dh
            a, d, c_prev, tc = A[t], dA[t], Cs[t], TC[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            dh_in, dc_in = self._masked(t, dh), self._masked(t, dc)
            d[:, 3 * H :] = dh_in * tc * o * (1 - o)  # dL/da_o
            dct = dc_in + dh_in * o * (1 - tc * tc)  # dL/dc_t: from step t+1 (the carousel) and through h_t
            if p is not None:
                dct += d[:, 3 * H :] * p[2]  # o_t peeks at c_t
            d[:, :H] = dct * g * i * (1 - i)  # dL/da_i
            d[:, H : 2 * H] = dct * c_prev * f * (1 - f)  # dL/da_f
            d[:, 2 * H : 3 * H] = dct * i * (1 - g * g)  # dL/da_g
            # The constant error carousel: the cell gradient goes back in time multiplied by the forget
            # gate alone (no squashing function, no weight matrix), so with f ≈ 1 it neither vanishes
            # nor explodes however many steps it travels.
            dc_prev = dct * f
            if p is not None:  # i_t and f_t peek at c_{t-1}
                dc_prev += d[:, :H] * p[0] + d[:, H : 2 * H] * p[1]
            dh_prev = d @ W_h.T  # (N, H)
            self._pass_through_past_length(t, dh_prev, dh)
            self._pass_through_past_length(t, dc_prev, dc)
            dh, dc = dh_prev, dc_prev
        self._record(dH)
        grad_x, grad_W_x, _ = self._input_grads(x_tm, W_x, dA)
        dA2 = dA.reshape(T * N, 4 * H)
        grad_W_h = Hs[:-1].reshape(T * N, H).T @ dA2  # Σ_t h_{t-1}ᵀ dA_t   (H, 4H)
        grad_b = dA2.sum(axis=0)
        grads = (grad_x, dh, dc, grad_W_x, grad_W_h, grad_b)
        if p is None:
            return grads
        grad_p = xp.stack(
            [
                (dA[:, :, :H] * Cs[:-1]).sum(axis=(0, 1)),  # dL/dp_i = Σ_t dL/da_i ⊙ c_{t-1}
                (dA[:, :, H : 2 * H] * Cs[:-1]).sum(axis=(0, 1)),  # dL/dp_f = Σ_t dL/da_f ⊙ c_{t-1}
                (dA[:, :, 3 * H :] * Cs[1:]).sum(axis=(0, 1)),  # dL/dp_o = Σ_t dL/da_o ⊙ c_t
            ]
        )
        return (*grads, grad_p)


class GRUFunction(_Recurrent):
    """The fused GRU. With ``lengths`` the sequences are processed longest first (a stable sort, undone on the
    way out), so that at step ``t`` the ``k_t = #{n : lengths[n] > t}`` sequences still running are the first
    ``k_t`` rows: each step's products and gate math run on those rows only (what ``pack_padded_sequence``
    does in PyTorch), the others carry their state (forward) and their gradient (backward) unchanged."""

    def __init__(self, reset_after=True, lengths=None, grad_h_hook=None):
        super().__init__(lengths, grad_h_hook)
        self.reset_after = reset_after

    def _sort_by_length(self, N: int, T: int) -> None:
        """``self.order`` (longest first, or None if already so), ``self.inverse`` and ``self.active``,
        the number of running sequences at each step; ``self.lengths`` is in the sorted order afterwards."""
        self.order = self.inverse = None
        if self.lengths is None:
            self.active = [N] * T
            return
        lengths = self.lengths  # the step counts drive the Python loop: a host copy if they sit on a device
        lengths = lengths if type(lengths) is np.ndarray else self.xp.asnumpy(lengths)
        if (np.diff(lengths) > 0).any():
            order = np.argsort(-lengths, kind="stable")
            self.order, self.inverse = self.xp.asarray(order), self.xp.asarray(np.argsort(order))
            lengths = self.lengths = lengths[order]
        self.active = (lengths[None, :] > np.arange(T)[:, None]).sum(axis=1).tolist()  # k_t, non-increasing

    def forward(self, x, h0, W_x, W_h, b, cond=None):
        xp = self.xp
        N, T, _ = x.shape
        H = W_h.shape[0]
        self._sort_by_length(N, T)
        if self.order is not None:
            x, h0 = x[self.order], h0[self.order]
            cond = None if cond is None else cond[self.order]
        x_tm, A = self._project_input(x, W_x, b[0] if self.reset_after else b, cond)  # x_t W_x + b_x  (T, N, 3H)
        Hs = xp.empty((T + 1, N, H), dtype=x.dtype)  # h_0 … h_T
        Hs[0] = h0
        # reset_after: W_hn h_{t-1} + b_hn (before r multiplies it); else r ⊙ h_{t-1} (before W_hn)
        S = xp.empty((T, N, H), dtype=x.dtype) if self.lengths is None else xp.zeros((T, N, H), dtype=x.dtype)
        if self.reset_after:
            HW = xp.empty((N, 3 * H), dtype=x.dtype)
        else:
            W_hrz, W_hn = xp.ascontiguousarray(W_h[:, : 2 * H]), xp.ascontiguousarray(W_h[:, 2 * H :])
            HW = xp.empty((N, 2 * H), dtype=x.dtype)
            HN = xp.empty((N, H), dtype=x.dtype)
        for t, k in enumerate(self.active):  # rows k: are past their length: s_t = s_{t-1}
            if k < N:
                Hs[t + 1, k:] = Hs[t, k:]
            if k == 0:
                continue
            h_prev, h, a, s, hw = Hs[t, :k], Hs[t + 1, :k], A[t, :k], S[t, :k], HW[:k]
            rz, n = a[:, : 2 * H], a[:, 2 * H :]
            if self.reset_after:
                xp.matmul(h_prev, W_h, out=hw)
                hw += b[1]  # h_{t-1} W_h + b_h   (k, 3H)
                rz += hw[:, : 2 * H]
                _sigmoid_(rz)  # r_t, z_t = σ(x W_xr + b_xr + h W_hr + b_hr), σ(… z …)
                s[...] = hw[:, 2 * H :]
                n += rz[:, :H] * s  # x W_xn + b_xn + r_t ⊙ (h_{t-1} W_hn + b_hn)
            else:
                rz += xp.matmul(h_prev, W_hrz, out=hw)
                _sigmoid_(rz)  # r_t, z_t = σ(x W_xr + h W_hr + b_r), σ(… z …)
                xp.multiply(rz[:, :H], h_prev, out=s)  # r_t ⊙ h_{t-1}
                n += xp.matmul(s, W_hn, out=HN[:k])  # x W_xn + (r_t ⊙ h_{t-1}) W_hn + b_n
            xp.tanh(n, out=n)  # n_t
            z = rz[:, H:]
            xp.subtract(h_prev, n, out=h)
            h *= z
            h += n  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1} = n_t + z_t ⊙ (h_{t-1} - n_t)
        self.save_for_backward(x_tm, A, Hs, S, W_x, W_h, cond)
        if self.order is None:
            return self._output(Hs), Hs[T].copy()
        return self._output(Hs)[self.inverse], Hs[T][self.inverse]

    # h = (1 - z) n + z h':  dL/dn = dL/dh (1 - z),  dL/dz = dL/dh (h' - n),  dL/dh' ∋ dL/dh z
    # reset_after:  a_n = x W_xn + b_xn + r (h' W_hn + b_hn): dL/dr = dL/da_n (h' W_hn + b_hn),
    #                                                         dL/d(h' W_hn + b_hn) = r dL/da_n
    # reset_before: a_n = x W_xn + (r h') W_hn + b_n:         dL/d(r h') = dL/da_n W_hnᵀ, dL/dr = dL/d(r h') h'
    # past the length (rows k_t:): s_t = s_{t-1}, so dL/ds_{t-1} = dL/ds_t and the gates get no gradient
    def backward(self, grad_hs, grad_hT):
        xp = self.xp
        x_tm, A, Hs, S, W_x, W_h, cond = self.saved
        T, N, H = S.shape
        if self.order is not None:
            grad_hs, grad_hT = grad_hs[self.order], grad_hT[self.order]
        gh = self._grad_output_time_major(grad_hs)  # (T, N, H)
        dA = xp.empty_like(A)  # dL/d(pre-activations) on the x side: r|z|n   (T, N, 3H)
        # dL/d(h_{t-1} W_h): equal to dA for r, z; for n it is r ⊙ dL/da_n (reset_after) or dL/da_n
        dAh = xp.empty_like(A) if self.reset_after else dA
        dH = xp.empty((T, N, H), dtype=A.dtype) if self.grad_h_hook else None
        if not self.reset_after:
            W_hrz, W_hn = W_h[:, : 2 * H], W_h[:, 2 * H :]
        dh = grad_hT.copy()
        for t in reversed(range(T)):
            k = self.active[t]
            dh = dh + gh[t]  # total dL/dh_t
            if dH is not None:
                dH[t] = dh
            if k < N:
                dA[t, k:] = 0
                if self.reset_after:
                    dAh[t, k:] = 0
            if k == 0:
                continue
            h_prev, a, d, dah = Hs[t, :k], A[t, :k], dA[t, :k], dAh[t, :k]
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            dh_in = dh[:k]
            d[:, 2 * H :] = dh_in * (1 - z) * (1 - n * n)  # dL/da_n
            d[:, H : 2 * H] = dh_in * (h_prev - n) * z * (1 - z)  # dL/da_z
            dh_prev = dh_in * z  # h_t depends on h_{t-1} directly through z ⊙ h_{t-1}
            if self.reset_after:
                d[:, :H] = d[:, 2 * H :] * S[t, :k] * r * (1 - r)  # dL/da_r
                dah[:, : 2 * H] = d[:, : 2 * H]
                xp.multiply(d[:, 2 * H :], r, out=dah[:, 2 * H :])
                dh_prev += dah @ W_h.T
            else:
                d_rh = d[:, 2 * H :] @ W_hn.T  # dL/d(r_t ⊙ h_{t-1})   (k, H)
                d[:, :H] = d_rh * h_prev * r * (1 - r)  # dL/da_r
                dh_prev += d_rh * r + d[:, : 2 * H] @ W_hrz.T
            dh[:k] = dh_prev  # rows k: pass dL/dh_t through unchanged
        self._record(dH if dH is None or self.order is None else dH[:, self.inverse])
        grad_x, grad_W_x, grad_cond = self._input_grads(x_tm, W_x, dA, cond, 5)
        H_prev = Hs[:-1].reshape(T * N, H)
        if self.reset_after:
            dAh2 = dAh.reshape(T * N, 3 * H)
            grad_W_h = H_prev.T @ dAh2  # Σ_t h_{t-1}ᵀ dAh_t   (H, 3H)
            grad_b = xp.stack([dA.sum(axis=(0, 1)), dAh2.sum(axis=0)])  # (2, 3H): b_x, b_h
        else:
            grad_W_h = xp.concatenate(
                [
                    H_prev.T @ dA[:, :, : 2 * H].reshape(T * N, 2 * H),  # Σ_t h_{t-1}ᵀ dA_rz
                    S.reshape(T * N, H).T @ dA[:, :, 2 * H :].reshape(T * N, H),  # Σ_t (r ⊙ h_{t-1})ᵀ dA_n
                ],
                axis=1,
            )
            grad_b = dA.sum(axis=(0, 1))
        if self.order is not None:
            grad_x = None if grad_x is None else grad_x[self.inverse]
            dh = dh[self.inverse]
            grad_cond = None if grad_cond is None else grad_cond[self.inverse]
        if cond is None:
            return grad_x, dh, grad_W_x, grad_W_h, grad_b
        return grad_x, dh, grad_W_x, grad_W_h, grad_b, grad_cond


# ------------------------------------------------------------------ input checks
def _check(name: str, x, states: dict, W_x, W_h, b, G: int, lengths, two_biases=False, peephole=None,
           cond_size: int = 0):
    """Validate and convert the inputs of a recurrent function; returns tensors and lengths.

    ``states`` maps a state's name (``h0``, ``c0``) to a value or None (zeros). ``cond_size``: the last
    rows of ``W_x`` that read a per-sequence input rather than ``x``.
    """
    x, W_x, W_h, b = (as_tensor(v) for v in (x, W_x, W_h, b))
    named = {"x": x, "W_x": W_x, "W_h": W_h, "b": b}
    states = {k: None if v is None else as_tensor(v) for k, v in states.items()}
    named.update({k: v for k, v in states.items() if v is not None})
    if peephole is not None:
        peephole = as_tensor(peephole)
        named["peephole"] = peephole
    for k, v in named.items():
        if v.dtype not in FLOAT_DTYPES:
            raise DTypeError(f"{name}: {k} must be float32 or float64, got {v.dtype}")
        if v.dtype != x.dtype:
            raise DTypeError(f"{name}: {k} has dtype {v.dtype} but x has {x.dtype}; cast one of them with .astype")
    if W_h.ndim != 2 or W_h.shape[1] != G * W_h.shape[0]:
        raise ShapeError(f"{name}: W_h must be (H, {G}·H), got {W_h.shape}")
    H = W_h.shape[0]
    if W_x.ndim != 2 or W_x.shape[1] != G * H:
        raise ShapeError(f"{name}: W_x must be (D, {G}·H) with {G}·H == {G * H}, got {W_x.shape}")
    D = W_x.shape[0] - cond_size
    if x.ndim != 3 or x.shape[2] != D:
        rows = f" (W_x has {W_x.shape[0]} rows, cond {cond_size} columns)" if cond_size else ""
        raise ShapeError(f"{name}: x must be (N, T, D) with D == {D}{rows}, got {x.shape}")
    N, T = x.shape[0], x.shape[1]
    b_shape = (2, G * H) if two_biases else (G * H,)
    if b.shape != b_shape:
        which = " = (b_x, b_h) for reset_after=True" if two_biases else ""
        raise ShapeError(f"{name}: b must have shape {b_shape}{which}, got {b.shape}")
    if peephole is not None and peephole.shape != (3, H):
        raise ShapeError(f"{name}: peephole must be (3, H) == (3, {H}) for p_i, p_f, p_o, got {peephole.shape}")
    for k, v in states.items():
        if v is None:
            states[k] = Tensor(get_array_module(x).zeros((N, H), dtype=x.dtype))
        elif v.shape != (N, H):
            raise ShapeError(f"{name}: {k} must be (N, H) == ({N}, {H}), got {v.shape}")
    if lengths is not None:
        lengths = get_array_module(x).asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if lengths.dtype.kind not in "iu":
            raise DTypeError(f"{name}: lengths must be an integer array, got dtype {lengths.dtype}")
        if lengths.shape != (N,):
            raise ShapeError(f"{name}: lengths must be (N,) == ({N},), got {lengths.shape}")
        if N and (lengths.min() < 0 or lengths.max() > T):
            raise ShapeError(
                f"{name}: lengths must lie in [0, T] = [0, {T}], got min {lengths.min()} and max {lengths.max()}"
            )
        lengths = lengths.astype(np.int64)
    return x, states, W_x, W_h, b, peephole, lengths


def _check_choice(name: str, what: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{name}: {what} must be one of {choices}, got {value!r}")


# ---------------------------------------------------------------- fused wrappers
def rnn(x, h0, W_x, W_h, b, nonlinearity="tanh", lengths=None, grad_h_hook=None) -> tuple[Tensor, Tensor]:
    """Simple (Elman) RNN over a whole sequence, with hand-written BPTT.

    .. math::

        h_t = \\phi(x_t W_x + h_{t-1} W_h + b), \\qquad \\phi = \\tanh \\text{ or } \\mathrm{relu}

    Backward (BPTT), from ``t = T`` down to 1, with ``dh_t`` the total ``dL/dh_t``
    (from the output at ``t`` plus from step ``t+1``)::

        dA_t = dh_t ⊙ φ'(a_t)            (tanh: 1 - h_t², relu: [h_t > 0])
        dh_{t-1} += dA_t W_hᵀ
        dW_x = Σ_t x_tᵀ dA_t,  dW_h = Σ_t h_{t-1}ᵀ dA_t,  db = Σ_t Σ_n dA_t

    The product of ``T - t`` factors ``W_hᵀ diag(φ')`` in ``dL/dh_t`` is why the
    gradient vanishes or explodes over long distances.

    Shapes: ``x (N, T, D)``, ``h0 (N, H)`` or None (zeros), ``W_x (D, H)``,
    ``W_h (H, H)``, ``b (H,)``, ``lengths (N,)`` ints in ``[0, T]`` or None.
    Returns ``hs (N, T, H)`` (every ``h_t``; 0 at ``t >= lengths[n]``) and
    ``h_T (N, H)`` (the state after each sequence's last valid step).
    dtype: float32 or float64, the same for all inputs.

    Args:
        nonlinearity: ``"tanh"`` or ``"relu"``.
        lengths: valid length of each sequence of a padded batch; later steps
            keep the state unchanged, output 0 and get no gradient.
        grad_h_hook: called in backward with the total ``dL/dh_t`` of every
            step, an array ``(N, T, H)`` (to measure vanishing gradients).

    Raises:
        ShapeError: on a wrong shape of any input or out-of-range lengths.
        DTypeError: on non-float inputs, float32 mixed with float64, or non-integer lengths.
        ConfigError: on an unknown nonlinearity.

    Reference: Elman, *Finding structure in time*, 1990; Werbos, *Backpropagation
    through time*, 1990. PyTorch's ``nn.RNN`` has two biases ``b_ih + b_hh``; we
    have their sum.
    """
    _check_choice("rnn", "nonlinearity", nonlinearity, ("tanh", "relu"))
    x, st, W_x, W_h, b, _, lengths = _check("rnn", x, {"h0": h0}, W_x, W_h, b, 1, lengths)
    return RNNFunction(nonlinearity, lengths, grad_h_hook).apply(x, st["h0"], W_x, W_h, b)


def lstm(x, h0, c0, W_x, W_h, b, peephole=None, lengths=None, grad_h_hook=None) -> tuple[Tensor, Tensor, Tensor]:
    """Long short-term memory over a whole sequence, with hand-written BPTT.

    .. math::

        [a_i | a_f | a_g | a_o] &= x_t W_x + h_{t-1} W_h + b \\\\
        i_t &= σ(a_i + p_i ⊙ c_{t-1}), \\quad f_t = σ(a_f + p_f ⊙ c_{t-1}), \\quad g_t = \\tanh(a_g) \\\\
        c_t &= f_t ⊙ c_{t-1} + i_t ⊙ g_t \\\\
        o_t &= σ(a_o + p_o ⊙ c_t), \\quad h_t = o_t ⊙ \\tanh(c_t)

    Legend: ``i`` input gate, ``f`` forget gate, ``g`` candidate cell, ``o``
    output gate, ``c`` cell (the memory), ``h`` hidden state and output, ``p``
    the optional peephole weights (all zero without peepholes), ``⊙`` elementwise.

    Backward at step ``t`` (total ``dh_t``, and ``dc_t`` arriving from ``t+1``)::

        dA_o = dh_t ⊙ tanh(c_t) ⊙ o(1 - o)
        dc   = dc_t + dh_t ⊙ o ⊙ (1 - tanh²(c_t)) + dA_o ⊙ p_o
        dA_i = dc ⊙ g ⊙ i(1 - i),  dA_f = dc ⊙ c_{t-1} ⊙ f(1 - f),  dA_g = dc ⊙ i ⊙ (1 - g²)
        dc_{t-1} = dc ⊙ f_t + dA_i ⊙ p_i + dA_f ⊙ p_f       <- the constant error carousel
        dh_{t-1} += dA_t W_hᵀ

    The carousel: without peepholes the cell gradient travels back in time
    multiplied by ``f`` only, with no weight matrix and no squashing derivative,
    so it survives long distances while the forget gate stays open.

    Shapes: ``x (N, T, D)``, ``h0, c0 (N, H)`` or None (zeros), ``W_x (D, 4H)``,
    ``W_h (H, 4H)``, ``b (4H,)`` (gates packed ``i|f|g|o`` as in PyTorch),
    ``peephole (3, H)`` rows ``p_i, p_f, p_o`` or None, ``lengths (N,)`` ints in
    ``[0, T]`` or None. Returns ``hs (N, T, H)`` (0 at ``t >= lengths[n]``),
    ``h_T (N, H)`` and ``c_T (N, H)`` (after each sequence's last valid step).
    dtype: float32 or float64, the same for all inputs.

    Args:
        peephole: diagonal weights from the cell into the gates (Gers &
            Schmidhuber 2000): ``i`` and ``f`` see ``c_{t-1}``, ``o`` sees ``c_t``.
        lengths: valid length of each sequence of a padded batch; later steps
            keep the state unchanged, output 0 and get no gradient.
        grad_h_hook: called in backward with the total ``dL/dh_t``, ``(N, T, H)``.

    Raises:
        ShapeError: on a wrong shape of any input or out-of-range lengths,
            e.g. ``lstm: x must be (N, T, D) with D == 32, got (4, 7, 31)``.
        DTypeError: on non-float inputs, float32 mixed with float64, or non-integer lengths.

    Reference: Hochreiter & Schmidhuber, *Long short-term memory*, 1997 (the
    CEC); Gers, Schmidhuber & Cummins, 2000 (forget gate); Gers & Schmidhuber,
    *Recurrent nets that time and count*, 2000 (peepholes). PyTorch's
    ``nn.LSTM`` has two biases ``b_ih + b_hh``; we have their sum, and it has
    no peepholes.
    """
    x, st, W_x, W_h, b, p, lengths = _check("lstm", x, {"h0": h0, "c0": c0}, W_x, W_h, b, 4, lengths, peephole=peephole)
    inputs = (x, st["h0"], st["c0"], W_x, W_h, b) + (() if p is None else (p,))
    return LSTMFunction(lengths, grad_h_hook).apply(*inputs)


def gru(x, h0, W_x, W_h, b, reset_after=True, lengths=None, grad_h_hook=None, cond=None) -> tuple[Tensor, Tensor]:
    """Gated recurrent unit over a whole sequence, with hand-written BPTT.

    .. math::

        r_t &= σ(x_t W_{xr} + h_{t-1} W_{hr} + b_r), \\quad z_t = σ(x_t W_{xz} + h_{t-1} W_{hz} + b_z) \\\\
        n_t &= \\tanh(x_t W_{xn} + b_{xn} + r_t ⊙ (h_{t-1} W_{hn} + b_{hn}))
            \\quad \\text{(reset\\_after=True: PyTorch, Keras, cuDNN)} \\\\
        n_t &= \\tanh(x_t W_{xn} + (r_t ⊙ h_{t-1}) W_{hn} + b_n)
            \\quad \\text{(reset\\_after=False: Cho et al. 2014)} \\\\
        h_t &= (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    Legend: ``r`` reset gate, ``z`` update gate, ``n`` candidate state. The two
    variants differ only in where the reset gate acts: after the recurrent
    product (then ``h_{t-1} W_h`` for all three gates is one GEMM, and ``b_hn``
    must stay separate from ``b_xn`` because ``r`` multiplies it) or before it
    (as in the paper: ``r`` decides how much of ``h_{t-1}`` enters ``W_hn``, a
    second GEMM per step). They are different functions of the same weights.

    Backward at step ``t`` (total ``dh_t``)::

        dA_n = dh_t ⊙ (1 - z) ⊙ (1 - n²),   dA_z = dh_t ⊙ (h_{t-1} - n) ⊙ z(1 - z)
        dA_r = dA_n ⊙ (h_{t-1} W_hn + b_hn) ⊙ r(1 - r)              (reset_after)
        dA_r = (dA_n W_hnᵀ) ⊙ h_{t-1} ⊙ r(1 - r)                     (reset_before)
        dh_{t-1} = dh_t ⊙ z + [dA_r | dA_z | r ⊙ dA_n] W_hᵀ           (reset_after)
        dh_{t-1} = dh_t ⊙ z + (dA_n W_hnᵀ) ⊙ r + [dA_r | dA_z] W_hrzᵀ (reset_before)

    Shapes: ``x (N, T, D)``, ``h0 (N, H)`` or None (zeros), ``W_x (D, 3H)``,
    ``W_h (H, 3H)`` (gates packed ``r|z|n`` as in PyTorch); ``b`` is ``(2, 3H)``
    = ``(b_x, b_h)`` for ``reset_after=True`` (PyTorch's ``b_ih``, ``b_hh``) and
    ``(3H,)`` for ``reset_after=False``; ``lengths (N,)`` ints in ``[0, T]`` or
    None. Returns ``hs (N, T, H)`` (0 at ``t >= lengths[n]``) and ``h_T (N, H)``.
    With ``cond (N, D_c)``: ``W_x (D + D_c, 3H)``. dtype: float32 or float64,
    the same for all inputs.

    Args:
        reset_after: where the reset gate acts (see above).
        lengths: valid length of each sequence of a padded batch; later steps
            keep the state unchanged, output 0 and get no gradient.
        grad_h_hook: called in backward with the total ``dL/dh_t``, ``(N, T, H)``.
        cond: a per-sequence input read at every step, or None: the step input
            is ``[x_t; cond]`` (the same function as ``x`` concatenated with
            ``cond`` repeated T times, e.g. a decoder fed its context vector),
            but ``cond W_x[D:]`` is one GEMM over N rows and its gradients use
            ``Σ_t dA_t``, instead of T copies of ``cond`` in every ``T·N``-row
            product. Equal to the concatenated input up to float rounding.

    Raises:
        ShapeError: on a wrong shape of any input (including ``b`` for the
            chosen variant and ``cond`` not ``(N, D_c)`` with ``D + D_c`` rows
            of ``W_x``) or out-of-range lengths.
        DTypeError: on non-float inputs, float32 mixed with float64, or non-integer lengths.
        ConfigError: if ``reset_after`` is not a bool.

    Reference: Cho et al., *Learning phrase representations using RNN
    encoder-decoder for statistical machine translation*, 2014. PyTorch's
    ``nn.GRU`` is ``reset_after=True``.
    """
    _check_choice("gru", "reset_after", reset_after, (True, False))
    reset_after = bool(reset_after)
    cond = None if cond is None else as_tensor(cond)
    if cond is not None and cond.ndim != 2:
        raise ShapeError(f"gru: cond must be (N, D_c), got shape {cond.shape}")
    x, st, W_x, W_h, b, _, lengths = _check("gru", x, {"h0": h0}, W_x, W_h, b, 3, lengths, two_biases=reset_after,
                                            cond_size=0 if cond is None else cond.shape[1])
    if cond is None:
        return GRUFunction(reset_after, lengths, grad_h_hook).apply(x, st["h0"], W_x, W_h, b)
    if cond.shape[0] != x.shape[0]:
        raise ShapeError(f"gru: cond must be (N, D_c) with N == {x.shape[0]} (x's), got {cond.shape}")
    if cond.dtype != x.dtype:
        raise DTypeError(f"gru: cond has dtype {cond.dtype} but x has {x.dtype}; cast one of them with .astype")
    return GRUFunction(reset_after, lengths, grad_h_hook).apply(x, st["h0"], W_x, W_h, b, cond)


# -------------------------------------------------- composed from primitive ops
# The same cells, one time step each, written with differentiable primitives only.
# Looping over them builds the unrolled graph; autograd through it is BPTT.
def _cols(a, k: int, H: int):
    """Gate ``k`` of packed pre-activations: ``a[:, kH:(k+1)H]``."""
    return F.getitem(a, (slice(None), slice(k * H, (k + 1) * H)))


def rnn_cell(x_t, h, W_x, W_h, b, nonlinearity="tanh") -> Tensor:
    """One RNN step from primitive ops: ``h_t = φ(x_t W_x + b + h_{t-1} W_h)``.

    Shapes: ``x_t (N, D)``, ``h (N, H)``, ``W_x (D, H)``, ``W_h (H, H)``, ``b (H,)``
    -> ``h_t (N, H)``. See :func:`rnn` for the fused sequence version.
    """
    a = F.linear(x_t, W_x, b) + F.matmul(h, W_h)  # (N, H)
    return F.tanh(a) if nonlinearity == "tanh" else F.relu(a)


def lstm_cell(x_t, h, c, W_x, W_h, b, peephole=None) -> tuple[Tensor, Tensor]:
    """One LSTM step from primitive ops; returns ``(h_t, c_t)``.

    Shapes: ``x_t (N, D)``, ``h, c (N, H)``, ``W_x (D, 4H)``, ``W_h (H, 4H)``,
    ``b (4H,)``, ``peephole (3, H)`` or None. Equations as in :func:`lstm`.
    """
    H = h.shape[1]
    a = F.linear(x_t, W_x, b) + F.matmul(h, W_h)  # (N, 4H) packed i|f|g|o
    a_i, a_f, a_g, a_o = (_cols(a, k, H) for k in range(4))  # each (N, H)
    if peephole is not None:
        a_i = a_i + F.getitem(peephole, 0) * c
        a_f = a_f + F.getitem(peephole, 1) * c
    i, f, g = F.sigmoid(a_i), F.sigmoid(a_f), F.tanh(a_g)
    c_t = f * c + i * g
    if peephole is not None:
        a_o = a_o + F.getitem(peephole, 2) * c_t
    h_t = F.sigmoid(a_o) * F.tanh(c_t)
    return h_t, c_t


def gru_cell(x_t, h, W_x, W_h, b, reset_after=True) -> Tensor:
    """One GRU step from primitive ops; returns ``h_t``.

    Shapes: ``x_t (N, D)``, ``h (N, H)``, ``W_x (D, 3H)``, ``W_h (H, 3H)``,
    ``b (2, 3H)`` for ``reset_after=True`` else ``(3H,)``. Equations as in :func:`gru`.
    """
    H = h.shape[1]
    if reset_after:
        xw = F.linear(x_t, W_x, F.getitem(b, 0))  # (N, 3H) packed r|z|n
        hw = F.linear(h, W_h, F.getitem(b, 1))  # (N, 3H)
        r = F.sigmoid(_cols(xw, 0, H) + _cols(hw, 0, H))
        z = F.sigmoid(_cols(xw, 1, H) + _cols(hw, 1, H))
        n = F.tanh(_cols(xw, 2, H) + r * _cols(hw, 2, H))
    else:
        xw = F.linear(x_t, W_x, b)  # (N, 3H)
        hw = F.matmul(h, F.getitem(W_h, (slice(None), slice(0, 2 * H))))  # (N, 2H) r|z
        r = F.sigmoid(_cols(xw, 0, H) + _cols(hw, 0, H))
        z = F.sigmoid(_cols(xw, 1, H) + _cols(hw, 1, H))
        n = F.tanh(_cols(xw, 2, H) + F.matmul(r * h, _cols(W_h, 2, H)))
    return (1.0 - z) * n + z * h


def _unroll(step, x: Tensor, states: tuple, lengths) -> tuple:
    """Run ``states = step(x_t, *states)`` for t = 1 … T; returns ``(hs (N, T, H), *final states)``."""
    N, T = x.shape[0], x.shape[1]
    outs = []
    for t in range(T):
        new = step(F.getitem(x, (slice(None), t)), *states)  # x_t (N, D)
        new = new if isinstance(new, tuple) else (new,)
        if lengths is not None:  # past its length a sequence keeps its state and outputs 0
            m = (t < lengths)[:, None].astype(x.dtype)  # (N, 1): 1 while valid
            new = tuple(m * s_new + (1.0 - m) * s for s_new, s in zip(new, states))
            outs.append(m * new[0])
        else:
            outs.append(new[0])
        states = new
    H = states[0].shape[1]
    hs = F.stack(outs, axis=1) if outs else Tensor(np.zeros((N, 0, H), dtype=x.dtype))  # (N, T, H)
    return (hs, *states)


def rnn_composed(x, h0, W_x, W_h, b, nonlinearity="tanh", lengths=None) -> tuple[Tensor, Tensor]:
    """:func:`rnn` as a Python loop over :func:`rnn_cell`: the same outputs and gradients, by autograd.

    Arguments, shapes, returns and raises as in :func:`rnn` (no ``grad_h_hook``).
    """
    _check_choice("rnn", "nonlinearity", nonlinearity, ("tanh", "relu"))
    x, st, W_x, W_h, b, _, lengths = _check("rnn", x, {"h0": h0}, W_x, W_h, b, 1, lengths)
    return _unroll(lambda x_t, h: rnn_cell(x_t, h, W_x, W_h, b, nonlinearity), x, (st["h0"],), lengths)


def lstm_composed(x, h0, c0, W_x, W_h, b, peephole=None, lengths=None) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`lstm` as a Python loop over :func:`lstm_cell`: the same outputs and gradients, by autograd.

    Arguments, shapes, returns and raises as in :func:`lstm` (no ``grad_h_hook``).
    """
    x, st, W_x, W_h, b, p, lengths = _check("lstm", x, {"h0": h0, "c0": c0}, W_x, W_h, b, 4, lengths, peephole=peephole)
    step = lambda x_t, h, c: lstm_cell(x_t, h, c, W_x, W_h, b, p)
    return _unroll(step, x, (st["h0"], st["c0"]), lengths)


def gru_composed(x, h0, W_x, W_h, b, reset_after=True, lengths=None) -> tuple[Tensor, Tensor]:
    """:func:`gru` as a Python loop over :func:`gru_cell`: the same outputs and gradients, by autograd.

    Arguments, shapes, returns and raises as in :func:`gru` (no ``grad_h_hook``).
    """
    _check_choice("gru", "reset_after", reset_after, (True, False))
    x, st, W_x, W_h, b, _, lengths = _check("gru", x, {"h0": h0}, W_x, W_h, b, 3, lengths, two_biases=bool(reset_after))
    return _unroll(lambda x_t, h: gru_cell(x_t, h, W_x, W_h, b, bool(reset_after)), x, (st["h0"],), lengths)


# ----------------------------------------------------------- sequence reversal
class ReverseSequence(Function):
    def __init__(self, lengths=None):
        self.lengths = lengths

    def _index(self, N, T):
        xp = self.xp
        t = xp.arange(T)[None, :]  # (1, T)
        if self.lengths is None:
            return xp.arange(N)[:, None], T - 1 - t
        L = xp.asarray(self.lengths)[:, None]  # (N, 1)
        return xp.arange(N)[:, None], xp.where(t < L, L - 1 - t, t)  # (N, T): padding stays in place

    def forward(self, x):
        rows, cols = self._index(x.shape[0], x.shape[1])
        return x[rows, cols]

    # the reversal is a permutation that is its own inverse: reverse the gradient the same way
    def backward(self, grad_y):
        rows, cols = self._index(grad_y.shape[0], grad_y.shape[1])
        return grad_y[rows, cols]


def reverse_sequence(x, lengths=None) -> Tensor:
    """Reverse each sequence of a batch in time, within its length: ``y[n, t] = x[n, lengths[n] - 1 - t]``.

    Steps ``t >= lengths[n]`` (padding) stay where they are. This is how the
    backward direction of a bidirectional RNN reads a padded batch, and how its
    outputs are put back in the input's time order (the map is its own inverse).
    Backward: the same reversal applied to ``grad_y``.

    Shapes: ``x (N, T, *)`` -> ``y (N, T, *)``; ``lengths (N,)`` ints in ``[0, T]``
    or None (all ``T``). dtype: that of ``x``.

    Raises:
        ShapeError: if ``x`` has fewer than 2 dimensions, or on bad ``lengths``.
        DTypeError: if ``lengths`` is not an integer array.
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"reverse_sequence: x must be (N, T, *), got {x.shape}")
    if lengths is not None:
        lengths = get_array_module(x).asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
        if lengths.dtype.kind not in "iu":
            raise DTypeError(f"reverse_sequence: lengths must be an integer array, got dtype {lengths.dtype}")
        if lengths.shape != (x.shape[0],):
            raise ShapeError(f"reverse_sequence: lengths must be (N,) == ({x.shape[0]},), got {lengths.shape}")
        if x.shape[0] and (lengths.min() < 0 or lengths.max() > x.shape[1]):
            raise ShapeError(f"reverse_sequence: lengths must lie in [0, T] = [0, {x.shape[1]}]")
    return ReverseSequence(lengths).apply(x)
