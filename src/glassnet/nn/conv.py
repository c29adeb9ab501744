"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d`` on images ``(N, C, H, W)``."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet.autograd import as_tensor
from glassnet.checks import as_generator, check_bool, check_size
from glassnet.errors import ConfigError, ShapeError
from glassnet.functional.conv import _pair
from glassnet.nn import init
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter

__all__ = ["Conv2d", "ConvTranspose2d"]


def _channels(layer: str, in_channels: Any, out_channels: Any, groups: Any) -> tuple[int, int, int]:
    c_in = check_size(in_channels, "in_channels", layer)
    c_out = check_size(out_channels, "out_channels", layer)
    g = check_size(groups, "groups", layer)
    if c_in % g or c_out % g:
        raise ConfigError(f"{layer}: in_channels {c_in} and out_channels {c_out} must both be divisible by "
                          f"groups {g}")
    return c_in, c_out, g


def _weights(layer: Module, shape: tuple[int, ...], fan_in: int, bias: Any, rng: Any) -> None:
    """``layer.W`` of ``shape`` and ``layer.b (C_out,)``, both ~ U(-1/√fan_in, 1/√fan_in) (torch's default)."""
    name = type(layer).__name__
    check_bool(bias, "bias", name)
    rng = as_generator(rng, f"{name}: rng")
    layer.W = Parameter(init.linear_uniform(shape, fan_in, rng))
    layer.b = Parameter(init.linear_uniform((layer.out_channels,), fan_in, rng)) if bias else None


class Conv2d(Module):
    """2-D convolution layer: ``y = conv2d(x, W, b)`` (:func:`glassnet.functional.conv2d`).

    Shapes: ``x (N, C_in, H, W)`` -> ``y (N, C_out, OH, OW)``, ``OH = floor((H + 2·pad - d·(k - 1) - 1) / s) + 1``;
    ``W (C_out, C_in/groups, kH, kW)`` (torch's ``weight``, loaded without a transpose), ``b (C_out,)``.
    dtype: float32 parameters by default; ``x`` must have the parameters' dtype.

    Init (torch's default, so weights can be compared): ``W, b ~ U(-1/√fan_in, 1/√fan_in)`` with
    ``fan_in = C_in/groups · kH · kW`` (torch's ``kaiming_uniform_(a=√5)``).

    Args:
        in_channels, out_channels: C_in, C_out. kernel_size, stride, padding, dilation: ints or pairs.
        groups: independent channel groups. bias: add ``b``. rng: Generator, int seed or None.

    Raises:
        ConfigError: bad sizes, channels not divisible by ``groups``, a bad ``rng``.
        ShapeError: (forward) ``x`` not ``(N, C_in, H, W)`` with this ``C_in``.

    Reference: LeCun et al. 1998; ``torch.nn.Conv2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, rng: Any = None) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.groups = _channels("Conv2d", in_channels, out_channels, groups)
        self.kernel_size = _pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride, self.dilation = _pair("Conv2d", "stride", stride, 1), _pair("Conv2d", "dilation", dilation, 1)
        self.padding = _pair("Conv2d", "padding", padding, 0)
        kh, kw = self.kernel_size
        _weights(self, (self.out_channels, self.in_channels // self.groups, kh, kw),
                 self.in_channels // self.groups * kh * kw, bias, rng)

    def forward(self, x: Any) -> Any:
        x = as_tensor(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"Conv2d: x must be (N, C_in, H, W) with C_in == {self.in_channels}, got {x.shape}")
        return F.conv2d(x, self.W, self.b, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}" + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")
                + (f", groups={self.groups}" if self.groups != 1 else "") + f", bias={self.b is not None}")


class ConvTranspose2d(Module):
    """Transposed convolution layer (learned upsampling): ``y = conv_transpose2d(x, W, b)``.

    Shapes: ``x (N, C_in, H, W)`` -> ``y (N, C_out, OH, OW)``,
    ``OH = (H - 1)·s - 2·pad + d·(k - 1) + output_padding + 1``; ``W (C_in, C_out/groups, kH, kW)``
    (torch's layout), ``b (C_out,)``. dtype: float32 parameters by default.

    Init (torch's default): ``W, b ~ U(-1/√fan_in, 1/√fan_in)`` with torch's ``fan_in = C_out/groups · kH · kW``
    (torch computes it from the weight's second axis).

    Raises:
        ConfigError: bad sizes. ShapeError: (forward) ``x`` not ``(N, C_in, H, W)``.

    Reference: Zeiler et al. 2010; ``torch.nn.ConvTranspose2d``; DCGAN (Radford et al. 2016).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 rng: Any = None) -> None:
        super().__init__()
        layer = "ConvTranspose2d"
        self.in_channels, self.out_channels, self.groups = _channels(layer, in_channels, out_channels, groups)
        self.kernel_size = _pair(layer, "kernel_size", kernel_size, 1)
        self.stride, self.dilation = _pair(layer, "stride", stride, 1), _pair(layer, "dilation", dilation, 1)
        self.padding = _pair(layer, "padding", padding, 0)
        self.output_padding = _pair(layer, "output_padding", output_padding, 0)
        kh, kw = self.kernel_size
        # torch takes fan_in from the weight's second axis: C_out/groups · kH · kW
        _weights(self, (self.in_channels, self.out_channels // self.groups, kh, kw),
                 self.out_channels // self.groups * kh * kw, bias, rng)

    def forward(self, x: Any) -> Any:
        x = as_tensor(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"ConvTranspose2d: x must be (N, C_in, H, W) with C_in == {self.in_channels}, "
                             f"got {x.shape}")
        return F.conv_transpose2d(x, self.W, self.b, self.stride, self.padding, self.output_padding, self.groups,
                                  self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}, bias={self.b is not None}")


