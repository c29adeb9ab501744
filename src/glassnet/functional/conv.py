"""Convolutions on images ``(N, C, H, W)``: ``conv2d`` by im2col and one GEMM, and ``conv_transpose2d``.

The course writes a convolution as a matrix product. Lay every receptive
field of the (padded) input out as one row (``im2col``)::

    cols[(n, i, j), (c, p, q)] = x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]      (N·OH·OW, C·kH·kW)

and the convolution is one GEMM with the filters flattened to columns::

    y[(n, i, j), o] = Σ_{c,p,q} cols[(n, i, j), (c, p, q)] · W[o, c, p, q] + b[o]

Backward is two more products on the same columns plus ``col2im``::

    dW = Gᵀ cols            (C_out, C·kH·kW): every window weighted by its output gradient
    db = Σ_{n,i,j} G
    dcols = G W              (N·OH·OW, C·kH·kW), then col2im adds each row back onto the
                             pixels its window covered (overlapping windows accumulate)

``dx`` is computed by col2im rather than as a transposed convolution of ``G``:
the columns' layout is already there, and col2im handles stride, dilation,
padding and groups with one loop over the kH·kW kernel offsets (each a
vectorised strided add), and it writes into a buffer of the *input's* size, so
inputs of 7 and 8 pixels (both giving 4 outputs at stride 2) each get their
own correct gradient (the 8th pixel, never read, gets 0).

The window view is a strided view (no copy); the one copy is the GEMM's
column matrix, ``N·OH·OW·C·kH·kW`` floats. Above :data:`IM2COL_BYTES` the
batch is processed in chunks (backward then recomputes each chunk's columns
instead of keeping them), so VGG-16's first layers at batch 32 (3.7 GB of
columns in float32) run in bounded memory. Nothing is upcast: float32 stays
float32.

Layouts follow torch, so a torch weight loads without a transpose:
``conv2d``'s ``W (C_out, C_in/groups, kH, kW)``, ``conv_transpose2d``'s
``W (C_in, C_out/groups, kH, kW)``.
"""

from __future__ import annotations

import operator
from typing import Any

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import ConfigError, DTypeError, ShapeError

__all__ = ["conv2d", "conv_transpose2d", "conv_output_size", "IM2COL_BYTES", "SHIFTED_GEMM", "SHIFT_TILE_BYTES"]

IM2COL_BYTES = 256 * 2**20  # the largest column matrix built at once (bytes); larger batches go in chunks
SHIFTED_GEMM = True  # stride-1, ungrouped convolutions by kH·kW shifted GEMMs instead of im2col (see Conv2d)
SHIFT_TILE_BYTES = 64 * 2**10  # the shifted GEMMs work on column tiles of about this size, to stay in L2
_SHIFTED_MIN_HW = 256  # smaller maps (8x8) go by im2col: the padded grid would waste (10·10 - 8·8)/64 of the work


def _pair(fn: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as ``(h, w)``, each >= ``minimum``."""
    try:
        pair = (value, value) if not hasattr(value, "__iter__") else tuple(value)
        if len(pair) != 2 or any(isinstance(v, bool) for v in pair):
            raise TypeError
        pair = tuple(operator.index(v) for v in pair)
    except TypeError:
        raise ConfigError(f"{fn}: {name} must be an int or a pair of ints, got {value!r}") from None
    if min(pair) < minimum:
        raise ConfigError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return pair  # type: ignore[return-value]


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window sliding over ``size`` inputs (one spatial axis).

    Shapes: every argument and the result are Python ints (a length in pixels, a window size, a step).

    Formula: ``floor((size + 2·padding - dilation·(kernel - 1) - 1) / stride) + 1`` (``ceil`` with
    ``ceil_mode``, where a last window that would start in the right padding is dropped, as torch).
    """
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _windows(xp, x_pad, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
            out_hw: tuple[int, int]):
    """The receptive fields of ``x_pad (N, C, Hp, Wp)`` as a strided view ``(N, C, OH, OW, kH, kW)`` (no copy)."""
    n, c = x_pad.shape[:2]
    s_n, s_c, s_h, s_w = x_pad.strides
    shape = (n, c, out_hw[0], out_hw[1], kernel[0], kernel[1])
    strides = (s_n, s_c, s_h * stride[0], s_w * stride[1], s_h * dilation[0], s_w * dilation[1])
    return xp.lib.stride_tricks.as_strided(x_pad, shape=shape, strides=strides, writeable=False)


def _col2im_add(out, cols, stride: tuple[int, int], dilation: tuple[int, int]) -> None:
    """Add ``cols (N, C, OH, OW, kH, kW)`` back onto the pixels of ``out (N, C, Hp, Wp)`` each window covered."""
    oh, ow, kh, kw = cols.shape[2:]
    for p in range(kh):
        h0 = p * dilation[0]
        for q in range(kw):
            w0 = q * dilation[1]
            out[:, :, h0:h0 + stride[0] * (oh - 1) + 1:stride[0], w0:w0 + stride[1] * (ow - 1) + 1:stride[1]] += \
                cols[:, :, :, :, p, q]


def _chunks(n: int, bytes_per_sample: int) -> list[tuple[int, int]]:
    step = max(1, IM2COL_BYTES // max(bytes_per_sample, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)] or [(0, 0)]


def _pad(xp, x, padding: tuple[int, int]):
    if padding == (0, 0):
        return x
    ph, pw = padding
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


class Conv2d(Function):
    """y = W im2col(x) + b, per group; backward dW = G colsᵀ, dx = col2im(Wᵀ G).

    The columns are laid out ``(C·kH·kW, N·OH·OW)`` (Caffe's layout, the transpose of the course's
    rows): copying the window view into it and adding each kernel offset back in ``col2im`` then read
    and write runs of whole output rows, which is several times faster in NumPy than the row layout.

    Stride 1 without groups (every 3x3 of a ResNet but the downsampling ones) takes a shortcut that
    is the same sum in another order: with the padded input flattened to ``X (C, N·Hp·Wp)``, kernel
    offset ``(p, q)`` reads the same matrix shifted by ``s = p·d_h·Wp + q·d_w`` columns, so
    ``Y = Σ_{p,q} W[:, :, p, q] · X[:, s:s+L]`` is kH·kW GEMMs on views of one array, computed on the
    whole padded grid and cropped, with no kH·kW-fold column matrix (1.5x faster and 9x less memory on
    a 16-channel 3x3 layer); backward is the same shifts transposed. It is used where it measured faster
    (kernels up to 3x3, at least 8 channels, maps of at least 16x16); :data:`SHIFTED_GEMM` switches it off.
    """

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def _columns(self, x_pad, lo: int, hi: int):
        """The columns of samples ``lo:hi``, per group: ``(g, C/g·kH·kW, (hi-lo)·OH·OW)``."""
        g = self.groups
        win = _windows(self.xp, x_pad[lo:hi], self.kernel, self.stride, self.dilation, self.out_hw)
        n, c, oh, ow, kh, kw = win.shape
        win = win.transpose(1, 4, 5, 0, 2, 3)  # (C, kH, kW, N, OH, OW), a view
        return win.reshape(g, (c // g) * kh * kw, n * oh * ow)  # the copy: im2col

    def forward(self, x, W, b=None):
        xp, g = self.xp, self.groups
        n, c, h, w = x.shape
        c_out, _, kh, kw = W.shape
        self.kernel, self.x_shape = (kh, kw), x.shape
        self.out_hw = oh, ow = tuple(conv_output_size(s, k, st, p, d) for s, k, st, p, d in
                                     zip((h, w), self.kernel, self.stride, self.padding, self.dilation))
        # measured (1 thread): the shifts win on few channels over large maps (ResNet's 16x32² and 32x16²
        # layers, 1.2-1.8x), lose where a GEMM of K = C would be thin (C < 8) or the maps are small
        self.shifted = (SHIFTED_GEMM and self.stride == (1, 1) and g == 1 and kh * kw <= 9 and c >= 8
                        and h * w >= _SHIFTED_MIN_HW)
        if self.shifted:
            # columns per tile: about SHIFT_TILE_BYTES of the widest of X, Y, G (measured: 1024 columns at
            # 16 channels, a third less time in backward than whole-width products)
            self.tile = min(max(256, SHIFT_TILE_BYTES // (max(c, c_out) * x.itemsize)), self._grid()[2])
            return self._forward_shifted(x, W, b)
        x_pad = _pad(xp, x, self.padding)
        Wg = W.reshape(g, c_out // g, -1)  # (g, C_out/g, C/g·kH·kW)
        self.chunks = _chunks(n, oh * ow * c * kh * kw * x.itemsize)
        y = xp.empty((c_out, n, oh, ow), dtype=x.dtype)  # CNHW, transposed to NCHW at the end
        cols_kept = None
        for lo, hi in self.chunks:
            cols = self._columns(x_pad, lo, hi)  # (g, K, M)
            y[:, lo:hi] = xp.matmul(Wg, cols).reshape(c_out, hi - lo, oh, ow)  # (g, C_out/g, M)
            if len(self.chunks) == 1:
                cols_kept = cols
        if b is not None:
            y += b[:, None, None, None]
        # one chunk: keep its columns for dW; several: keep the padded input and rebuild them chunk by chunk
        self.save_for_backward(x_pad if cols_kept is None else None, cols_kept, W)
        return y.transpose(1, 0, 2, 3)  # (N, C_out, OH, OW), a view of the CNHW buffer

    # ---- stride 1, no groups: kH·kW shifted GEMMs on the flattened padded input
    def _grid(self):
        """The flattened grid: ``(hp, wp, L, shifts, (lead, r0, c0))``.

        Sample ``n``'s pixel ``(i, j)`` sits in ``X`` at column ``lead + n·hp·wp + (i + r0)·wp + (j + c0)``, output
        ``(i, j)`` at ``n·hp·wp + i·wp + j``; ``L = N·hp·wp`` positions are computed and kernel offset ``k``
        reads ``X[:, l + shifts[k]]``. A "same" convolution (``(k - 1)·d = 2·pad``, so ``OH = H``) shares its
        zeros between neighbours: ``pw`` zero columns after each row serve as the next row's left padding
        and ``ph`` zero rows after each sample as the next sample's top padding, so ``hp·wp = (H + ph)(W + pw)``
        (81 for an 8x8 map) instead of ``(H + 2ph)(W + 2pw)`` (100); a lead of ``ph·wp + pw`` zeros in front
        serves sample 0, and ``shifts[k] = lead + (p·d_h - ph)·wp + (q·d_w - pw)``. Other paddings pad each
        sample on all sides (``r0, c0 = ph, pw``).
        """
        n, c, h, w = self.x_shape
        (ph, pw), (dh, dw), (kh, kw) = self.padding, self.dilation, self.kernel
        if (kh - 1) * dh == 2 * ph and (kw - 1) * dw == 2 * pw:  # shared padding
            hp, wp = h + ph, w + pw
            lead, r0, c0 = ph * wp + pw, 0, 0
            shifts = [lead + (p * dh - ph) * wp + (q * dw - pw) for p in range(kh) for q in range(kw)]
        else:
            hp, wp, lead, r0, c0 = h + 2 * ph, w + 2 * pw, 0, ph, pw
            shifts = [p * dh * wp + q * dw for p in range(kh) for q in range(kw)]
        return hp, wp, n * hp * wp, shifts, (lead, r0, c0)

    def _forward_shifted(self, x, W, b):
        xp = self.xp
        n, c, h, w = x.shape
        c_out, _, kh, kw = W.shape
        oh, ow = self.out_hw
        hp, wp, L, shifts, (lead, r0, c0) = self._grid()
        X = xp.zeros((c, L + shifts[-1]), dtype=x.dtype)  # (C, N·hp·wp) plus room for the shifts
        X[:, lead:lead + L].reshape(c, n, hp, wp)[:, :, r0:r0 + h, c0:c0 + w] = x.transpose(1, 0, 2, 3)
        Wk = xp.ascontiguousarray(W.transpose(2, 3, 0, 1)).reshape(kh * kw, c_out, c)  # (kH·kW, C_out, C)
        Y = xp.empty((c_out, L), dtype=x.dtype)
        buf = xp.empty((c_out, self.tile), dtype=x.dtype)
        # Y[:, l] = Σ_k W_k X[:, l + s_k], a tile of columns at a time so that its X and Y stay in cache
        for lo in range(0, L, self.tile):
            hi = min(lo + self.tile, L)
            y, b_k = Y[:, lo:hi], buf[:, :hi - lo]
            xp.matmul(Wk[0], X[:, lo + shifts[0]:hi + shifts[0]], out=y)
            for k, s in enumerate(shifts[1:], 1):
                xp.matmul(Wk[k], X[:, lo + s:hi + s], out=b_k)
                y += b_k
        if b is not None:
            Y += b[:, None]
        self.save_for_backward(X, Wk)
        # output (i, j) of sample n sits at grid position (n, i, j): crop the rest of the padded grid
        return Y.reshape(c_out, n, hp, wp)[:, :, :oh, :ow].transpose(1, 0, 2, 3)

    def _backward_shifted(self, grad_y):
        xp = self.xp
        X, Wk = self.saved
        n, c, h, w = self.x_shape
        c_out, kh, kw = Wk.shape[1], *self.kernel
        oh, ow = self.out_hw
        hp, wp, L, shifts, (lead, r0, c0) = self._grid()
        need = self.needs_input_grad
        G = xp.zeros((c_out, L), dtype=grad_y.dtype)  # the gradient on the grid, 0 where no output is
        G.reshape(c_out, n, hp, wp)[:, :, :oh, :ow] = grad_y.transpose(1, 0, 2, 3)
        grad_x = grad_W = dX = None
        if need[1]:
            grad_W = xp.zeros((kh * kw, c_out, c), dtype=grad_y.dtype)  # (kH·kW, C_out, C)
            dW_k = xp.empty((c_out, c), dtype=grad_y.dtype)
        if need[0]:
            dX = xp.zeros_like(X)
            WkT = xp.ascontiguousarray(Wk.transpose(0, 2, 1))  # (kH·kW, C, C_out)
            buf = xp.empty((c, self.tile), dtype=grad_y.dtype)
        # one tile of G's columns at a time, used by all 2·kH·kW products while it is in cache
        for lo in range(0, L, self.tile):
            hi = min(lo + self.tile, L)
            G_t = G[:, lo:hi]
            for k, s in enumerate(shifts):
                if grad_W is not None:  # dW[:, :, p, q] = G X_sᵀ, summed over the tiles
                    xp.matmul(G_t, X[:, lo + s:hi + s].T, out=dW_k)
                    grad_W[k] += dW_k
                if dX is not None:  # dX_s += W[:, :, p, q]ᵀ G
                    xp.matmul(WkT[k], G_t, out=buf[:, :hi - lo])
                    dX[:, lo + s:hi + s] += buf[:, :hi - lo]
        if grad_W is not None:
            grad_W = grad_W.reshape(kh, kw, c_out, c).transpose(2, 3, 0, 1)
        if dX is not None:
            grad_x = dX[:, lead:lead + L].reshape(c, n, hp, wp)[:, :, r0:r0 + h, c0:c0 + w].transpose(1, 0, 2, 3)
        grads = [grad_x, grad_W]
        if len(need) == 3:
            grads.append(grad_y.sum(axis=(0, 2, 3)) if need[2] else None)
        return tuple(grads)

    def backward(self, grad_y):
        if self.shifted:
            return self._backward_shifted(grad_y)
        xp, g = self.xp, self.groups
        x_pad, cols_kept, W = self.saved
        n, c, h, w = self.x_shape
        c_out, cg, kh, kw = W.shape
        oh, ow = self.out_hw
        need = self.needs_input_grad
        G = grad_y.transpose(1, 0, 2, 3)  # (C_out, N, OH, OW), a view
        Wg = W.reshape(g, c_out // g, -1)  # (g, C_out/g, K)
        grad_W = xp.zeros((g, c_out // g, cg * kh * kw), dtype=W.dtype) if need[1] else None
        canvas = None
        if need[0]:
            ph, pw = self.padding
            canvas = xp.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=grad_y.dtype)  # CNHW, as the columns
        for lo, hi in self.chunks:
            Gc = xp.ascontiguousarray(G[:, lo:hi]).reshape(g, c_out // g, (hi - lo) * oh * ow)  # (g, C_out/g, M)
            if grad_W is not None:
                cols = cols_kept if cols_kept is not None else self._columns(x_pad, lo, hi)
                grad_W += xp.matmul(Gc, cols.transpose(0, 2, 1))  # (g, C_out/g, K)
            if canvas is not None:
                dcols = xp.matmul(Wg.transpose(0, 2, 1), Gc)  # (g, K, M)
                dcols = dcols.reshape(c, kh, kw, hi - lo, oh, ow).transpose(0, 3, 4, 5, 1, 2)  # (C, N, OH, OW, kH, kW)
                _col2im_add(canvas[:, lo:hi], dcols, self.stride, self.dilation)
        grad_x = None
        if canvas is not None:
            ph, pw = self.padding
            grad_x = canvas[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)
        grads = [grad_x, grad_W.reshape(W.shape) if grad_W is not None else None]
        if len(need) == 3:
            grads.append(grad_y.sum(axis=(0, 2, 3)) if need[2] else None)
        return tuple(grads)


class ConvTranspose2d(Function):
    """The adjoint of Conv2d in x: y = col2im(x W) + b; backward dx = im2col(G) Wᵀ, dW = xᵀ im2col(G)."""

    def __init__(self, stride, padding, output_padding, dilation, groups):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.dilation, self.groups = dilation, groups

    def forward(self, x, W, b=None):
        xp, g = self.xp, self.groups
        n, c_in, h, w = x.shape
        _, cog, kh, kw = W.shape
        c_out = cog * g
        self.kernel, self.x_shape = (kh, kw), x.shape
        # the canvas every window is added onto, before the padding is cropped: (H-1)·s + d·(k-1) + 1 + output_padding
        self.canvas = tuple((s - 1) * st + d * (k - 1) + 1 + op for s, st, d, k, op in
                            zip((h, w), self.stride, self.dilation, self.kernel, self.output_padding))
        ph, pw = self.padding
        Hout, Wout = self.canvas[0] - 2 * ph, self.canvas[1] - 2 * pw
        X = x.transpose(0, 2, 3, 1).reshape(n * h * w, g, c_in // g).transpose(1, 0, 2)  # (g, M, C_in/g)
        Wg = W.reshape(g, c_in // g, cog * kh * kw)  # (g, C_in/g, C_out/g·kH·kW)
        cols = xp.matmul(X, Wg)  # (g, M, C_out/g·kH·kW)
        cols = cols.reshape(g, n, h, w, cog, kh, kw).transpose(1, 0, 4, 2, 3, 5, 6).reshape(n, c_out, h, w, kh, kw)
        canvas = xp.zeros((n, c_out) + self.canvas, dtype=x.dtype)
        _col2im_add(canvas, cols, self.stride, self.dilation)
        y = canvas[:, :, ph:ph + Hout, pw:pw + Wout]
        if b is not None:
            y = y + b[:, None, None]
        self.save_for_backward(x, W)
        return y

    def backward(self, grad_y):
        xp, g = self.xp, self.groups
        x, W = self.saved
        n, c_in, h, w = x.shape
        _, cog, kh, kw = W.shape
        need = self.needs_input_grad
        ph, pw = self.padding
        # the gradient on the canvas: grad_y where the crop kept it, 0 in the cropped margins
        canvas = xp.zeros((n, cog * g) + self.canvas, dtype=grad_y.dtype)
        canvas[:, :, ph:ph + grad_y.shape[2], pw:pw + grad_y.shape[3]] = grad_y
        win = _windows(xp, canvas, self.kernel, self.stride, self.dilation, (h, w))  # (N, C_out, H, W, kH, kW)
        gcols = win.reshape(n, g, cog, h, w, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6).reshape(g, n * h * w, -1)
        Wg = W.reshape(g, c_in // g, cog * kh * kw)
        grad_x = grad_W = None
        if need[0]:
            gx = xp.matmul(gcols, Wg.transpose(0, 2, 1))  # (g, M, C_in/g)
            grad_x = gx.transpose(1, 0, 2).reshape(n, h, w, c_in).transpose(0, 3, 1, 2)
        if need[1]:
            X = x.transpose(0, 2, 3, 1).reshape(n * h * w, g, c_in // g).transpose(1, 0, 2)  # (g, M, C_in/g)
            grad_W = xp.matmul(X.transpose(0, 2, 1), gcols).reshape(W.shape)  # (g, C_in/g, K)
        grads = [grad_x, grad_W]
        if len(need) == 3:
            grads.append(grad_y.sum(axis=(0, 2, 3)) if need[2] else None)
        return tuple(grads)


def _check_operands(fn: str, x: Tensor, W: Tensor, b: Tensor | None) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{fn}: x must be (N, C, H, W), got shape {x.shape}")
    if W.ndim != 4:
        raise ShapeError(f"{fn}: W must be 4-D, got shape {W.shape}")
    for name, t in (("x", x), ("W", W), ("b", b)):
        if t is not None and t.dtype.kind != "f":
            raise DTypeError(f"{fn}: {name} must be a float array, got dtype {t.dtype}")
    dtypes = {name: t.dtype for name, t in (("x", x), ("W", W), ("b", b)) if t is not None}
    if len(set(dtypes.values())) > 1:
        got = ", ".join(f"{name} {d}" for name, d in dtypes.items())
        raise DTypeError(f"{fn}: x, W and b must share one dtype (float32 or float64), got {got}")


def conv2d(x, W, b=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as every deep-learning library): im2col and one GEMM per group.

    Formula: ``y[n, o, i, j] = b[o] + Σ_{c,p,q} W[o, c, p, q] · x_pad[n, g(o)·C/g + c, i·s_h + p·d_h,
    j·s_w + q·d_w]`` with ``x_pad`` zero-padded by ``padding`` and ``g(o)`` the group of output channel
    ``o``. Backward (see the module docstring): ``dW = Gᵀ cols``, ``db = Σ G``, ``dx = col2im(G W)``.

    Shapes: ``x (N, C_in, H, W)``, ``W (C_out, C_in/groups, kH, kW)`` (torch's layout), ``b (C_out,)`` or
    None -> ``y (N, C_out, OH, OW)`` with ``OH = floor((H + 2·pad_h - d_h·(kH - 1) - 1) / s_h) + 1``
    (:func:`conv_output_size`). dtype: the operands' (all float32 or all float64, never upcast).

    Args:
        stride, padding, dilation: an int or a pair ``(h, w)``; stride and dilation >= 1, padding >= 0
            (zeros).
        groups: ``C_in`` and ``C_out`` split into this many independent groups (AlexNet's two towers:
            2; depthwise: ``C_in``).

    Raises:
        ShapeError: ``x`` not 4-D, ``W`` not 4-D, channels that do not match ``W`` and ``groups``, a ``b``
            that is not ``(C_out,)``, or a kernel larger than the padded input.
        ConfigError: a bad stride, padding, dilation or groups.
        DTypeError: non-float operands or mixed dtypes.

    Reference: LeCun et al. 1998 (convolutional networks); the im2col formulation of Chellapilla et al.
    2006 and Caffe; ``torch.nn.functional.conv2d`` (same arguments and layouts).
    """
    x, W = as_tensor(x), as_tensor(W)
    b = as_tensor(b, like=W) if b is not None else None
    _check_operands("conv2d", x, W, b)
    stride, dilation = _pair("conv2d", "stride", stride, 1), _pair("conv2d", "dilation", dilation, 1)
    padding = _pair("conv2d", "padding", padding, 0)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ConfigError(f"conv2d: groups must be an int >= 1, got {groups!r}")
    c_out, cg = W.shape[:2]
    if x.shape[1] != cg * groups or c_out % groups:
        raise ShapeError(f"conv2d: x has {x.shape[1]} channels and W is {W.shape} with groups={groups}; "
                         f"need C_in == W.shape[1]·groups and C_out divisible by groups")
    if b is not None and b.shape != (c_out,):
        raise ShapeError(f"conv2d: b must be (C_out,) with C_out == {c_out}, got {b.shape}")
    for axis, size, k, s, p, d in zip("HW", x.shape[2:], W.shape[2:], stride, padding, dilation):
        if conv_output_size(size, k, s, p, d) < 1:
            raise ShapeError(f"conv2d: the kernel ({k} with dilation {d}) is larger than the padded input "
                             f"along {axis} ({size} + 2·{p}); x {x.shape}, W {W.shape}")
    operands = [x, W] if b is None else [x, W, b]
    return Conv2d(stride, padding, dilation, groups).apply(*operands)


def conv_transpose2d(x, W, b=None, stride=1, padding=0, output_padding=0, groups: int = 1,
                     dilation=1) -> Tensor:
    """Transposed convolution ("deconvolution", the gradient of ``conv2d`` in its input): upsampling.

    Formula: every input pixel scatters its filter, ``canvas[n, o, i·s_h + p·d_h, j·s_w + q·d_w] +=
    Σ_c x[n, c, i, j] · W[c, o, p, q]`` (within a group), then ``padding`` is cropped from each side and
    ``y = canvas + b``. It is the adjoint of ``conv2d`` with the same arguments: ``<conv2d(u, W), v> =
    <u, conv_transpose2d(v, W)>``. Backward: ``dx = im2col(G) Wᵀ``, ``dW = xᵀ im2col(G)``, ``db = Σ G``.

    Shapes: ``x (N, C_in, H, W)``, ``W (C_in, C_out/groups, kH, kW)`` (torch's layout), ``b (C_out,)`` or
    None -> ``y (N, C_out, OH, OW)`` with ``OH = (H - 1)·s_h - 2·pad_h + d_h·(kH - 1) + output_padding_h + 1``.
    dtype: the operands'.

    Args:
        stride, padding, output_padding, dilation: ints or pairs; ``output_padding`` (< stride or <
            dilation, as torch) adds rows/columns at the bottom/right, choosing among the input sizes
            that a strided ``conv2d`` maps to the same output size.
        groups: as ``conv2d``.

    Raises:
        ShapeError, ConfigError, DTypeError: as ``conv2d``; ``output_padding`` not smaller than stride
            or dilation.

    Reference: Zeiler et al. 2010; Dumoulin & Visin 2016 (convolution arithmetic); DCGAN's generator
    (Radford et al. 2016); ``torch.nn.functional.conv_transpose2d`` (same arguments; note torch's order
    ``groups`` before ``dilation``, kept here).
    """
    x, W = as_tensor(x), as_tensor(W)
    b = as_tensor(b, like=W) if b is not None else None
    _check_operands("conv_transpose2d", x, W, b)
    fn = "conv_transpose2d"
    stride, dilation = _pair(fn, "stride", stride, 1), _pair(fn, "dilation", dilation, 1)
    padding, output_padding = _pair(fn, "padding", padding, 0), _pair(fn, "output_padding", output_padding, 0)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ConfigError(f"{fn}: groups must be an int >= 1, got {groups!r}")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ConfigError(f"{fn}: output_padding {output_padding} must be smaller than stride {stride} or "
                          f"dilation {dilation}")
    c_in, cog = W.shape[:2]
    if x.shape[1] != c_in or c_in % groups:
        raise ShapeError(f"{fn}: x has {x.shape[1]} channels but W is {W.shape} (C_in, C_out/groups, kH, kW) "
                         f"with groups={groups}")
    if b is not None and b.shape != (cog * groups,):
        raise ShapeError(f"{fn}: b must be (C_out,) with C_out == {cog * groups}, got {b.shape}")
    for axis, size, k, s, p, d, op in zip("HW", x.shape[2:], W.shape[2:], stride, padding, dilation,
                                          output_padding):
        if (size - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            raise ShapeError(f"{fn}: padding {p} leaves no output along {axis} for input {size} and kernel {k}")
    operands = [x, W] if b is None else [x, W, b]
    return ConvTranspose2d(stride, padding, output_padding, dilation, groups).apply(*operands)
