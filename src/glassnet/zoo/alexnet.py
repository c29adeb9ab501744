"""``AlexNet``: Krizhevsky, Sutskever & Hinton 2012, as torchvision builds it (and the paper's two towers)."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet import nn
from glassnet.checks import check_choice, check_size
from glassnet.zoo.torchvision import TorchvisionMixin

__all__ = ["AlexNet"]


class AlexNet(TorchvisionMixin, nn.Module):
    """AlexNet: five conv layers with ReLU and max pooling, then three dense layers with dropout.

    Shapes: ``x (N, 3, H, W)`` (224 x 224 in the paper; any ``H, W >= 63``) -> ``features (N, 256, h, w)``
    -> ``avgpool (N, 256, 6, 6)`` -> flatten ``(N, 9216)`` -> logits ``(N, K)``.

    Modules mirror ``torchvision.models.alexnet`` name for name: ``features.{0,3,6,8,10}`` are the
    convs (``conv(11, s4, p2) 64 -> pool -> conv(5, p2) 192 -> pool -> conv(3) 384 -> conv(3) 256 ->
    conv(3) 256 -> pool``, pools 3x3 stride 2), ``avgpool`` an ``AdaptiveAvgPool2d((6, 6))``,
    ``classifier.{1,4,6}`` the Linear layers (``Dropout, 9216 -> 4096, ReLU, Dropout, 4096 -> 4096,
    ReLU, 4096 -> K``). 61,100,840 parameters with ``K = 1000``. Init: torch's layer defaults
    (``U(-1/√fan_in, 1/√fan_in)``), as torchvision.

    Deviations of torchvision from the paper (Krizhevsky et al. 2012, "ImageNet Classification with
    Deep Convolutional Neural Networks"): it is the single-tower variant of Krizhevsky's "One weird
    trick" (2014), with 64/192/384/256/256 channels instead of 96/256/384/384/256, no local response
    normalisation, no overlapping-pool tweaks beyond 3x3/2, and an adaptive 6x6 pool so any input size
    works. ``groups=2`` restores the paper's two-GPU connectivity: conv2, conv4 and conv5 see only
    the half of the previous layer's maps on their own GPU (grouped convolution), conv3 and the dense
    layers see everything. That halves those convs' ``C_in`` (``W (C_out, C_in/2, kH, kW)``), so such a
    model no longer loads torchvision weights.

    Args:
        num_classes: K. dropout: drop probability of the two dropout layers (0.5).
        groups: 1 (torchvision) or 2 (the paper's two towers).
        rng: numpy Generator, int seed or None for the weights and the dropout masks.

    Raises:
        ConfigError: bad ``num_classes``, ``groups``, ``dropout`` or ``rng``.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, groups: int = 1, rng: Any = None) -> None:
        super().__init__()
        self.num_classes = check_size(num_classes, "num_classes", "AlexNet")
        self.groups = check_choice(groups, "groups", (1, 2), "AlexNet")
        init_rng, drop_rng = nn.init.as_generator(rng, "AlexNet: rng").spawn(2)
        g = self.groups
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2, rng=init_rng), nn.ReLU(),  # (N, 64, 55, 55)
            nn.MaxPool2d(3, stride=2),                                            # (N, 64, 27, 27)
            nn.Conv2d(64, 192, 5, padding=2, groups=g, rng=init_rng), nn.ReLU(),  # (N, 192, 27, 27)
            nn.MaxPool2d(3, stride=2),                                            # (N, 192, 13, 13)
            nn.Conv2d(192, 384, 3, padding=1, rng=init_rng), nn.ReLU(),           # (N, 384, 13, 13)
            nn.Conv2d(384, 256, 3, padding=1, groups=g, rng=init_rng), nn.ReLU(),  # (N, 256, 13, 13)
            nn.Conv2d(256, 256, 3, padding=1, groups=g, rng=init_rng), nn.ReLU(),  # (N, 256, 13, 13)
            nn.MaxPool2d(3, stride=2),                                            # (N, 256, 6, 6)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout, rng=drop_rng), nn.Linear(256 * 6 * 6, 4096, rng=init_rng), nn.ReLU(),
            nn.Dropout(dropout, rng=drop_rng), nn.Linear(4096, 4096, rng=init_rng), nn.ReLU(),
            nn.Linear(4096, self.num_classes, rng=init_rng),
        )

    def forward(self, x: Any) -> Any:
        x = self.avgpool(self.features(x))  # (N, 256, 6, 6)
        return self.classifier(F.flatten(x, start_axis=1))  # (N, 9216) -> (N, K)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, groups={self.groups}"
