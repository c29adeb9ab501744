"""Pooling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d`` (no parameters)."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet.functional.conv import _pair
from glassnet.nn.module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


class MaxPool2d(Module):
    """Max pooling (:func:`glassnet.functional.max_pool2d`): ``x (N, C, H, W)`` -> ``(N, C, OH, OW)``.

    Args: kernel_size, stride (default ``kernel_size``), padding, dilation, ceil_mode, as ``torch.nn.MaxPool2d``.

    Raises:
        ConfigError: bad sizes (checked here, at construction).
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = _pair("MaxPool2d", "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _pair("MaxPool2d", "stride", stride, 1)
        self.padding = _pair("MaxPool2d", "padding", padding, 0)
        self.dilation = _pair("MaxPool2d", "dilation", dilation, 1)
        self.ceil_mode = ceil_mode

    def forward(self, x: Any) -> Any:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                + (", ceil_mode=True" if self.ceil_mode else ""))


class AvgPool2d(Module):
    """Average pooling (:func:`glassnet.functional.avg_pool2d`): ``x (N, C, H, W)`` -> ``(N, C, OH, OW)``.

    Args: kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, as ``torch.nn.AvgPool2d``.
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = _pair("AvgPool2d", "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _pair("AvgPool2d", "stride", stride, 1)
        self.padding = _pair("AvgPool2d", "padding", padding, 0)
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x: Any) -> Any:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (:func:`glassnet.functional.adaptive_avg_pool2d`).

    ``AdaptiveAvgPool2d(1)`` is global average pooling: ``(N, C, H, W)`` -> ``(N, C, 1, 1)``.
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Any:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
