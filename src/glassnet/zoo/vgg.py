"""``VGG`` 11/13/16/19 with and without batch norm: Simonyan & Zisserman 2015, as torchvision builds them."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet import nn
from glassnet.checks import as_generator, check_bool, check_choice, check_number, check_size
from glassnet.errors import ShapeError
from glassnet.zoo.cnn_init import he_normal_convs, normal_layers
from glassnet.zoo.torchvision import TorchvisionMixin

__all__ = ["VGG", "CifarVGG", "VGG_CONFIGS", "vgg11", "vgg13", "vgg16", "vgg19"]

# the paper's Table 1: conv widths (3x3, padding 1) and "M" for a 2x2/2 max pool
VGG_CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
_DEPTHS = {11: "A", 13: "B", 16: "D", 19: "E"}


class VGG(TorchvisionMixin, nn.Module):
    """VGG: stacks of 3x3 convs (stride 1, padding 1) with ReLU, 2x2 max pools, then three dense layers.

    Shapes: ``x (N, 3, H, W)`` (224 x 224 in the paper; ``H, W >= 32``) -> ``features (N, 512, H/32, W/32)``
    -> ``avgpool (N, 512, 7, 7)`` -> ``(N, 25088)`` -> logits ``(N, K)``.

    Modules mirror ``torchvision.models.vgg*``: ``features.<i>`` is the Sequential of
    ``Conv2d [, BatchNorm2d], ReLU`` per conv and ``MaxPool2d(2, 2)`` per ``"M"``; ``avgpool`` an
    ``AdaptiveAvgPool2d((7, 7))``; ``classifier.{0,3,6}`` the Linear layers (``25088 -> 4096, ReLU,
    Dropout, 4096 -> 4096, ReLU, Dropout, 4096 -> K``). VGG16 has 138,357,544 parameters, VGG19
    143,667,240 (K = 1000). Init as torchvision: convs He-normal with fan-out
    ``N(0, 2/(C_out·9))``, biases 0; Linear ``N(0, 0.01²)``, biases 0; batch norm 1 / 0.

    Deviations of torchvision from the paper (Simonyan & Zisserman 2015, "Very Deep Convolutional
    Networks for Large-Scale Image Recognition"): the ``_bn`` variants add batch norm (Ioffe & Szegedy
    2015, after the paper); the adaptive 7x7 pool lets any input size through (the paper evaluates
    densely by turning the dense layers into convs); configuration C (1x1 convs) and LRN (A-LRN) are
    not offered.

    Args:
        config: ``"A"`` (VGG11), ``"B"`` (VGG13), ``"D"`` (VGG16) or ``"E"`` (VGG19).
        batch_norm: insert ``BatchNorm2d`` after each conv.
        num_classes: K. dropout: drop probability of the two dropout layers (0.5).
        init_weights: redraw the weights as torchvision does (above); False keeps the layers' own
            ``U(-1/√fan_in, 1/√fan_in)`` (as torchvision's ``init_weights=False``) and builds faster.
        rng: numpy Generator, int seed or None for the weights and the dropout masks.

    Raises:
        ConfigError: an unknown ``config``, a bad ``num_classes``, ``dropout`` or ``rng``.
    """

    def __init__(self, config: str = "D", batch_norm: bool = False, num_classes: int = 1000,
                 dropout: float = 0.5, init_weights: bool = True, rng: Any = None) -> None:
        super().__init__()
        self.config = check_choice(config, "config", tuple(VGG_CONFIGS), "VGG")
        self.batch_norm = check_bool(batch_norm, "batch_norm", "VGG")
        self.num_classes = check_size(num_classes, "num_classes", "VGG")
        init_rng, drop_rng = as_generator(rng, "VGG: rng").spawn(2)
        self.features = _features(config, batch_norm, init_rng)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096, rng=init_rng), nn.ReLU(), nn.Dropout(dropout, rng=drop_rng),
            nn.Linear(4096, 4096, rng=init_rng), nn.ReLU(), nn.Dropout(dropout, rng=drop_rng),
            nn.Linear(4096, self.num_classes, rng=init_rng),
        )
        if check_bool(init_weights, "init_weights", "VGG"):
            he_normal_convs(self, init_rng, mode="fan_out")
            normal_layers(self, init_rng, std=0.01, types=(nn.Linear,))

    def forward(self, x: Any) -> Any:
        x = self.avgpool(self.features(x))  # (N, 512, 7, 7)
        return self.classifier(F.flatten(x, start_axis=1))  # (N, 25088) -> (N, K)

    def extra_repr(self) -> str:
        return f"config={self.config!r}, batch_norm={self.batch_norm}, num_classes={self.num_classes}"


def _features(config: str, batch_norm: bool, rng: Any) -> nn.Sequential:
    """``features``: per width ``Conv2d(3x3, padding 1) [, BatchNorm2d], ReLU``, per ``"M"`` a 2x2/2 max pool."""
    layers: list[nn.Module] = []
    c_in = 3
    for v in VGG_CONFIGS[config]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))  # (N, C, H, W) -> (N, C, H/2, W/2)
            continue
        layers.append(nn.Conv2d(c_in, v, 3, padding=1, rng=rng))  # (N, c_in, H, W) -> (N, v, H, W)
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        c_in = v
    return nn.Sequential(*layers)


class CifarVGG(nn.Module):
    """VGG's convolutional stack for 32x32 images, with one dense layer on the 512 features.

    Shapes: ``x (N, 3, 32, 32)`` -> ``features (N, 512, 1, 1)`` (five 2x2 pools) -> ``(N, 512)`` ->
    [Dropout] -> logits ``(N, K)``.

    ``features`` is built exactly as :class:`VGG`'s (the same module names, so a torchvision
    ``features.*`` state dict loads); the 7x7 adaptive pool and the three 4096-wide dense layers,
    sized for 224x224 ImageNet images (120M of VGG16's 138M parameters), are replaced by one
    ``Linear(512, K)``, as CIFAR-10 versions of VGG commonly do (a deviation from the paper, which
    has no CIFAR experiment). VGG-11 with batch norm has 9,231,114 parameters for K = 10.
    Init: convs He-normal with fan-out, biases 0; the Linear layer its own ``U(-1/√512, 1/√512)``.

    Args:
        config: ``"A"`` (11 layers), ``"B"`` (13), ``"D"`` (16) or ``"E"`` (19).
        batch_norm: insert ``BatchNorm2d`` after each conv (default True: without it the deeper
            configurations barely train from scratch with SGD).
        num_classes: K. dropout: drop probability before the dense layer (0 = none).
        rng: numpy Generator, int seed or None for the weights and the dropout mask.

    Raises:
        ConfigError: an unknown ``config``, a bad ``num_classes``, ``dropout`` or ``rng``.
    """

    def __init__(self, config: str = "A", batch_norm: bool = True, num_classes: int = 10, dropout: float = 0.0,
                 rng: Any = None) -> None:
        super().__init__()
        self.config = check_choice(config, "config", tuple(VGG_CONFIGS), "CifarVGG")
        self.batch_norm = check_bool(batch_norm, "batch_norm", "CifarVGG")
        self.num_classes = check_size(num_classes, "num_classes", "CifarVGG")
        dropout = check_number(dropout, "dropout", "CifarVGG", min=0.0, max=1.0, max_open=True)
        init_rng, drop_rng = as_generator(rng, "CifarVGG: rng").spawn(2)
        self.features = _features(config, self.batch_norm, init_rng)
        he_normal_convs(self.features, init_rng, mode="fan_out")
        self.dropout = nn.Dropout(dropout, rng=drop_rng) if dropout else None
        self.classifier = nn.Linear(512, self.num_classes, rng=init_rng)

    def forward(self, x: Any) -> Any:
        if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
            raise ShapeError(f"CifarVGG: x must be (N, 3, 32, 32), got {tuple(x.shape)}")
        h = F.flatten(self.features(x), start_axis=1)  # (N, 512, 1, 1) -> (N, 512)
        if self.dropout is not None:
            h = self.dropout(h)
        return self.classifier(h)  # (N, K)

    def extra_repr(self) -> str:
        return f"config={self.config!r}, batch_norm={self.batch_norm}, num_classes={self.num_classes}"


def _vgg(depth: int, batch_norm: bool, kwargs: dict[str, Any]) -> VGG:
    return VGG(_DEPTHS[depth], batch_norm=batch_norm, **kwargs)


def vgg11(batch_norm: bool = False, **kwargs: Any) -> VGG:
    """VGG11, configuration A (8 convs + 3 dense). kwargs: ``num_classes``, ``dropout``, ``rng``."""
    return _vgg(11, batch_norm, kwargs)


def vgg13(batch_norm: bool = False, **kwargs: Any) -> VGG:
    """VGG13, configuration B (10 convs + 3 dense)."""
    return _vgg(13, batch_norm, kwargs)


def vgg16(batch_norm: bool = False, **kwargs: Any) -> VGG:
    """VGG16, configuration D (13 convs + 3 dense; 138,357,544 parameters)."""
    return _vgg(16, batch_norm, kwargs)


def vgg19(batch_norm: bool = False, **kwargs: Any) -> VGG:
    """VGG19, configuration E (16 convs + 3 dense; 143,667,240 parameters)."""
    return _vgg(19, batch_norm, kwargs)
