"""Weight initialisations the torchvision CNNs apply after building their layers.

Each walks a model's Conv2d / Linear layers in module order and redraws their weights from
one Generator, so a seed gives the same model every time:

* :func:`he_normal_convs` — ``W ~ N(0, 2 / fan)``, ``b = 0``, ``fan = C_out·kH·kW`` (``"fan_out"``,
  torchvision's VGG and ResNet: ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``) or
  ``C_in/g·kH·kW`` (``"fan_in"``, He et al. 2015's own choice, used by the CIFAR ResNets).
* :func:`normal_layers` — ``W ~ N(0, std²)`` clipped to ``[-2, 2]``, ``b = 0`` (VGG's Linear layers,
  ``std = 0.01``; GoogLeNet's convs and Linear layers, torch's ``trunc_normal_(std=0.01, a=-2, b=2)``,
  whose truncation at ±200 std is a clip in all but name).

Batch-norm layers keep their own init, ``gamma = 1``, ``beta = 0``, as torchvision's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet import nn
from glassnet.checks import check_choice

__all__ = ["he_normal_convs", "normal_layers"]


def _normal(gen: np.random.Generator, like: np.ndarray, std: float) -> np.ndarray:
    # drawn straight in float32 when the layer is float32: half the time of a float64 draw for VGG's 10^8 weights
    w = gen.standard_normal(like.shape, dtype=like.dtype)
    w *= like.dtype.type(std)
    return w


def he_normal_convs(model: nn.Module, rng: Any, mode: str = "fan_out", linear: bool = False) -> None:
    """Redraw every Conv2d (and, if ``linear``, every Linear) weight as ``N(0, 2 / fan)``; conv biases 0.

    Raises:
        ConfigError: ``mode`` not ``"fan_out"`` or ``"fan_in"``, a bad ``rng``.
    """
    check_choice(mode, "mode", ("fan_out", "fan_in"), "he_normal_convs")
    gen = nn.init.as_generator(rng, "he_normal_convs: rng")
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            c_out, c_in_g, kh, kw = m.W.shape
            fan = (c_out if mode == "fan_out" else c_in_g) * kh * kw
            m.W.data = _normal(gen, m.W.data, math.sqrt(2.0 / fan))
            if m.b is not None:
                m.b.data = np.zeros_like(m.b.data)
        elif linear and isinstance(m, nn.Linear):
            d, k = m.W.shape  # W (D, K): torch's fan_in is D
            fan = k if mode == "fan_out" else d
            m.W.data = _normal(gen, m.W.data, math.sqrt(2.0 / fan))


def normal_layers(model: nn.Module, rng: Any, std: float, types: tuple[type, ...]) -> None:
    """Redraw the weights of every module of ``types`` (Conv2d, Linear) as ``N(0, std²)`` in ``[-2, 2]``; biases 0."""
    gen = nn.init.as_generator(rng, "normal_layers: rng")
    for m in model.modules():
        if isinstance(m, types):
            m.W.data = np.clip(_normal(gen, m.W.data, std), -2.0, 2.0)
            if m.b is not None:
                m.b.data = np.zeros_like(m.b.data)
