"""Pooling on images ``(N, C, H, W)``: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``.

Pooling slides a window over each channel and keeps one number per window:
the largest (max pooling: a little translation invariance, the course's
"robust to small shifts") or the mean. The windows are a strided view of the
padded input (no copy); backward sends each output's gradient back to the
window it came from with one vectorised strided add per kernel offset
(``col2im``), into a buffer of the *input's* size (so a stride that skips the
last row still gives that row a zero gradient).

Max pooling's derivative is 1 at the window's maximum and 0 elsewhere; on ties
the whole gradient goes to one position, the first in row-major order, as in
torch (not split between the tied positions).
"""

from __future__ import annotations

import operator
from typing import Any

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.functional.conv import _col2im_add, _pair, _windows, conv_output_size

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]


def _extent(size: int, kernel: int, stride: int, padding: int, dilation: int, out: int) -> int:
    """Padded length the windows need: the left padding, the input, and enough on the right for the last window."""
    return max(size + 2 * padding, (out - 1) * stride + dilation * (kernel - 1) + 1)


def _padded(xp, x, padding: tuple[int, int], extent: tuple[int, int], value: float):
    """``x`` padded by ``padding`` on the left/top and up to ``extent`` on the right/bottom, with ``value``."""
    n, c, h, w = x.shape
    ph, pw = padding
    if padding == (0, 0) and extent == (h, w):
        return x
    out = xp.full((n, c) + extent, value, dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


class MaxPool2d(Function):
    """y = max over each window; dy/dx = 1 at the (first) argmax of the window, 0 elsewhere.

    Forward and backward loop over the kH·kW offsets of the window, each a strided view of the padded
    input the size of the output (a running maximum, strictly greater wins, so the first maximum is
    kept on ties); reducing a copied ``(..., kH·kW)`` window tensor along its short last axis is
    several times slower in NumPy.
    """

    def __init__(self, kernel, stride, padding, dilation, out_hw):
        self.kernel, self.stride, self.padding, self.dilation, self.out_hw = kernel, stride, padding, dilation, out_hw

    def _offset(self, a, p: int, q: int):
        """The view of ``a (N, C, Hp, Wp)`` that offset ``(p, q)`` of every window reads: ``(N, C, OH, OW)``."""
        (sh, sw), (dh, dw), (oh, ow) = self.stride, self.dilation, self.out_hw
        return a[:, :, p * dh:p * dh + sh * (oh - 1) + 1:sh, q * dw:q * dw + sw * (ow - 1) + 1:sw]

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        self.extent = tuple(_extent(s, k, st, p, d, o) for s, k, st, p, d, o in
                            zip(x.shape[2:], self.kernel, self.stride, self.padding, self.dilation, self.out_hw))
        x_pad = _padded(xp, x, self.padding, self.extent, -xp.inf)
        kh, kw = self.kernel
        y = self._offset(x_pad, 0, 0).copy()
        arg = xp.zeros(y.shape, dtype=xp.int8 if kh * kw < 128 else xp.int32)  # window offset of the maximum
        for o in range(1, kh * kw):
            v = self._offset(x_pad, *divmod(o, kw))
            better = v > y  # strictly: a tie keeps the earlier (row-major first) position, as torch
            xp.copyto(y, v, where=better)
            arg[better] = o
        self.argmax = arg
        return y

    def backward(self, grad_y):
        xp = self.xp
        n, c, h, w = self.x_shape
        kh, kw = self.kernel
        grad_pad = xp.zeros((n, c) + self.extent, dtype=grad_y.dtype)
        overlap = any(s < k * d for s, k, d in zip(self.stride, self.kernel, self.dilation))
        for o in range(kh * kw):
            hit = self.argmax == o
            region = self._offset(grad_pad, *divmod(o, kw))
            if overlap:  # windows share pixels: their gradients add up
                region += grad_y * hit
            else:  # each pixel belongs to one window: write, do not add
                xp.copyto(region, grad_y, where=hit)
        ph, pw = self.padding
        return grad_pad[:, :, ph:ph + h, pw:pw + w]


class AvgPool2d(Function):
    """y = Σ window / divisor; dy/dx = 1/divisor for every pixel of the window."""

    def __init__(self, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
        self.kernel, self.stride, self.padding, self.out_hw = kernel, stride, padding, out_hw
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def _divisor(self, x_shape, dtype):
        """Per-output window sizes ``(OH, OW)``: cells of the window inside the padded (or the real) input."""
        xp = self.xp
        h, w = x_shape[2:]
        ph, pw = self.padding
        if self.divisor_override is not None:
            return xp.asarray(self.divisor_override, dtype=dtype)
        mask = xp.zeros((1, 1) + self.extent, dtype=dtype)
        if self.count_include_pad:  # the padding counts, the ceil_mode overhang beyond it does not (torch)
            mask[:, :, :h + 2 * ph, :w + 2 * pw] = 1
        else:
            mask[:, :, ph:ph + h, pw:pw + w] = 1
        win = _windows(xp, mask, self.kernel, self.stride, (1, 1), self.out_hw)
        return win.sum(axis=(-2, -1))[0, 0]

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        self.extent = tuple(_extent(s, k, st, p, 1, o) for s, k, st, p, o in
                            zip(x.shape[2:], self.kernel, self.stride, self.padding, self.out_hw))
        x_pad = _padded(xp, x, self.padding, self.extent, 0.0)
        self.divisor = self._divisor(x.shape, x.dtype)
        win = _windows(xp, x_pad, self.kernel, self.stride, (1, 1), self.out_hw)
        return win.sum(axis=(-2, -1)) / self.divisor

    def backward(self, grad_y):
        xp = self.xp
        n, c, h, w = self.x_shape
        kh, kw = self.kernel
        g = grad_y / self.divisor  # (N, C, OH, OW)
        grad_pad = xp.zeros((n, c) + self.extent, dtype=grad_y.dtype)
        cols = xp.broadcast_to(g[..., None, None], g.shape + (kh, kw))
        _col2im_add(grad_pad, cols, self.stride, (1, 1))
        ph, pw = self.padding
        return grad_pad[:, :, ph:ph + h, pw:pw + w]


def _check_image(fn: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{fn}: x must be (N, C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise DTypeError(f"{fn}: x must be a float array, got dtype {x.dtype}")


def _pool_args(fn: str, x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool):
    kernel = _pair(fn, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair(fn, "stride", stride, 1)
    padding = _pair(fn, "padding", padding, 0)
    dilation = _pair(fn, "dilation", dilation, 1)
    if not isinstance(ceil_mode, bool):
        raise ConfigError(f"{fn}: ceil_mode must be a bool, got {ceil_mode!r}")
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise ConfigError(f"{fn}: padding {padding} must be at most half the kernel {kernel} (as torch)")
    out_hw = tuple(conv_output_size(s, k, st, p, d, ceil_mode) for s, k, st, p, d in
                   zip(x.shape[2:], kernel, stride, padding, dilation))
    if min(out_hw) < 1:
        raise ShapeError(f"{fn}: kernel {kernel} (dilation {dilation}) is larger than the padded input "
                         f"{x.shape[2:]} + 2·{padding}")
    return kernel, stride, padding, dilation, out_hw


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False) -> Tensor:
    """Max pooling: the largest value of each ``kH x kW`` window of each channel.

    Formula: ``y[n, c, i, j] = max_{p,q} x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]`` (padding is -inf,
    so it never wins). Backward: the gradient of ``y[n, c, i, j]`` goes to the window's argmax; on ties
    to the first in row-major order (torch's choice); windows that overlap add their gradients.

    Shapes: ``x (N, C, H, W)`` -> ``y (N, C, OH, OW)``, ``OH = floor((H + 2·pad - d·(k - 1) - 1) / s) + 1``
    (``ceil`` with ``ceil_mode``, dropping a last window that would start in the right padding).
    dtype: ``x``'s.

    Args:
        kernel_size: int or pair. stride: int or pair, default ``kernel_size`` (non-overlapping).
        padding: int or pair, at most half the kernel. dilation: int or pair. ceil_mode: see above
            (GoogLeNet's pools use it).

    Raises:
        ShapeError: ``x`` not 4-D or the window larger than the padded input.
        ConfigError: bad sizes. DTypeError: non-float ``x``.

    Reference: Ranzato et al. 2007; Krizhevsky et al. 2012 (overlapping 3x3/2 pools);
    ``torch.nn.functional.max_pool2d``.
    """
    x = as_tensor(x)
    _check_image("max_pool2d", x)
    kernel, stride, padding, dilation, out_hw = _pool_args("max_pool2d", x, kernel_size, stride, padding,
                                                           dilation, ceil_mode)
    return MaxPool2d(kernel, stride, padding, dilation, out_hw).apply(x)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Average pooling: the mean of each ``kH x kW`` window of each channel.

    Formula: ``y[n, c, i, j] = Σ_{p,q} x_pad[n, c, i·s_h + p, j·s_w + q] / |window|`` with zero padding;
    ``|window|`` counts the padding when ``count_include_pad`` (torch's default), else only the real
    pixels, and never the ``ceil_mode`` overhang; ``divisor_override`` replaces it. Backward: each pixel
    of a window gets ``grad_y / |window|``.

    Shapes: ``x (N, C, H, W)`` -> ``y (N, C, OH, OW)`` as :func:`max_pool2d`. dtype: ``x``'s.

    Raises:
        ShapeError, ConfigError, DTypeError: as :func:`max_pool2d`; a ``divisor_override`` that is not an
            int >= 1.

    Reference: LeCun et al. 1998 (subsampling); ``torch.nn.functional.avg_pool2d``.
    """
    x = as_tensor(x)
    _check_image("avg_pool2d", x)
    kernel, stride, padding, _, out_hw = _pool_args("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if not isinstance(count_include_pad, bool):
        raise ConfigError(f"avg_pool2d: count_include_pad must be a bool, got {count_include_pad!r}")
    if divisor_override is not None and (isinstance(divisor_override, bool) or
                                         not isinstance(divisor_override, int) or divisor_override < 1):
        raise ConfigError(f"avg_pool2d: divisor_override must be an int >= 1 or None, got {divisor_override!r}")
    return AvgPool2d(kernel, stride, padding, out_hw, count_include_pad, divisor_override).apply(x)


def _bins(size: int, out: int) -> list[tuple[int, int]]:
    """Adaptive pooling's windows: ``[floor(i·size/out), ceil((i+1)·size/out))`` for each output ``i``."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


class AdaptiveAvgPool2d(Function):
    """y[i, j] = mean of its bin; dy/dx = 1/|bin| on the bin."""

    def __init__(self, out_hw):
        self.out_hw = out_hw

    def forward(self, x):
        xp = self.xp
        self.x_shape = x.shape
        self.rows, self.cols = _bins(x.shape[2], self.out_hw[0]), _bins(x.shape[3], self.out_hw[1])
        y = xp.empty(x.shape[:2] + self.out_hw, dtype=x.dtype)
        for i, (r0, r1) in enumerate(self.rows):
            for j, (c0, c1) in enumerate(self.cols):
                y[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
        return y

    def backward(self, grad_y):
        grad = self.xp.zeros(self.x_shape, dtype=grad_y.dtype)
        for i, (r0, r1) in enumerate(self.rows):
            for j, (c0, c1) in enumerate(self.cols):
                grad[:, :, r0:r1, c0:c1] += (grad_y[:, :, i, j] / ((r1 - r0) * (c1 - c0)))[:, :, None, None]
        return grad


def adaptive_avg_pool2d(x, output_size: Any) -> Tensor:
    """Average pooling to a fixed output size whatever the input's (ResNet's and GoogLeNet's global pool).

    Formula: output ``(i, j)`` is the mean of rows ``[floor(i·H/OH), ceil((i+1)·H/OH))`` and the
    matching columns (bins may overlap when ``H`` is not a multiple of ``OH``, as torch). Backward: each
    pixel of a bin gets ``grad_y / |bin|``, summed over the bins that hold it.

    Shapes: ``x (N, C, H, W)`` -> ``y (N, C, OH, OW)``; ``output_size`` an int or a pair (``None`` in a
    pair keeps that input size). dtype: ``x``'s.

    Raises:
        ShapeError: ``x`` not 4-D. ConfigError: a bad ``output_size``. DTypeError: non-float ``x``.

    Reference: ``torch.nn.functional.adaptive_avg_pool2d``; Lin et al. 2014 (global average pooling).
    """
    x = as_tensor(x)
    _check_image("adaptive_avg_pool2d", x)
    sizes = output_size if hasattr(output_size, "__iter__") else (output_size, output_size)
    try:
        sizes = tuple(x.shape[2 + i] if s is None else operator.index(s) for i, s in enumerate(sizes))
    except TypeError:
        raise ConfigError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}") from None
    if len(sizes) != 2 or min(sizes) < 1 or any(isinstance(s, bool) for s in sizes):
        raise ConfigError(f"adaptive_avg_pool2d: output_size must be an int >= 1 or a pair, got {output_size!r}")
    return AdaptiveAvgPool2d(sizes).apply(x)
