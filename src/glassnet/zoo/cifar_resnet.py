"""CIFAR-10 ResNets of He et al. 2016 (section 4.2): ``resnet20/32/44/56/110`` and their plain twins."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet import nn
from glassnet.autograd import Tensor
from glassnet.backend import get_array_module
from glassnet.checks import check_bool, check_size
from glassnet.zoo.cnn_init import he_normal_convs
from glassnet.zoo.torchvision import TorchvisionMixin

__all__ = ["CifarBasicBlock", "CifarResNet", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
           "plain20", "plain32", "plain44", "plain56", "plain110"]


def option_a_shortcut(x: Any, c_out: int) -> Any:
    """The paper's option-A shortcut: ``x[:, :, ::2, ::2]`` padded with zero channels to ``c_out``.

    Shapes: ``x (N, C, H, W)`` -> ``(N, c_out, ⌈H/2⌉, ⌈W/2⌉)``, ``(c_out - C) / 2`` zero channels on each
    side (as akamaster/pytorch_resnet_cifar10's ``F.pad(..., (0, 0, 0, 0, p, p))``). No parameters:
    the gradient flows to the kept pixels only.
    """
    sub = x[:, :, ::2, ::2]  # (N, C, H/2, W/2)
    n, c, h, w = sub.shape
    p = (c_out - c) // 2
    zeros = Tensor(get_array_module(sub.data).zeros((n, p, h, w), dtype=sub.dtype))
    return F.concat([zeros, sub, zeros], axis=1)  # (N, c_out, H/2, W/2)


class CifarBasicBlock(nn.Module):
    """``y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with an option-A shortcut; plain without it.

    Shapes: ``x (N, C_in, H, W)`` -> ``(N, planes, H/stride, W/stride)``. Names as
    akamaster/pytorch_resnet_cifar10: ``conv1, bn1, conv2, bn2`` (the shortcut has no parameters).
    """

    def __init__(self, c_in: int, planes: int, stride: int = 1, shortcut: bool = True, rng: Any = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride=stride, padding=1, bias=False, rng=rng)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False, rng=rng)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut, self.planes, self.subsample = shortcut, planes, stride != 1 or c_in != planes

    def forward(self, x: Any) -> Any:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))  # (N, planes, H/s, W/s)
        if self.shortcut:
            out = out + (option_a_shortcut(x, self.planes) if self.subsample else x)
        return F.relu(out)


class CifarResNet(TorchvisionMixin, nn.Module):
    """CIFAR ResNet-(6n+2): a 3x3 conv, three stages of ``n`` blocks with 16/32/64 channels, global pool, dense.

    Shapes: ``x (N, 3, 32, 32)`` -> ``conv1 (N, 16, 32, 32)`` -> ``layer1 (N, 16, 32, 32)`` ->
    ``layer2 (N, 32, 16, 16)`` -> ``layer3 (N, 64, 8, 8)`` -> global average ``(N, 64)`` -> ``linear (N, K)``.

    Names as akamaster/pytorch_resnet_cifar10 (``conv1, bn1, layer1.0.conv1, layer1.0.bn1, …, linear``),
    so :meth:`to_torchvision` gives that repository's state-dict names. ResNet-20 has 269,722 parameters,
    ResNet-56 853,018 (K = 10). Shortcuts are the paper's option A (identity, subsampled and zero-padded
    where the shape changes: parameter-free); ``shortcut=False`` gives the "plain" net of the paper's
    Figure 6 with exactly the same layers. Init: He-normal (fan-in) for convs and the Linear weight,
    as akamaster.

    Reference: He et al. 2016, "Deep Residual Learning for Image Recognition", section 4.2.

    Args:
        n: blocks per stage (depth ``6n + 2``). num_classes: K. shortcut: residual (True) or plain.
        rng: numpy Generator, int seed or None.

    Raises:
        ConfigError: bad ``n``, ``num_classes``, ``shortcut`` or ``rng``.
    """

    def __init__(self, n: int = 3, num_classes: int = 10, shortcut: bool = True, rng: Any = None) -> None:
        super().__init__()
        self.n = check_size(n, "n", "CifarResNet")
        self.num_classes = check_size(num_classes, "num_classes", "CifarResNet")
        self.shortcut = check_bool(shortcut, "shortcut", "CifarResNet")
        gen = nn.init.as_generator(rng, "CifarResNet: rng")
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False, rng=gen)
        self.bn1 = nn.BatchNorm2d(16)
        c_in = 16
        for i, (planes, stride) in enumerate(zip((16, 32, 64), (1, 2, 2)), 1):
            blocks = [CifarBasicBlock(c_in if j == 0 else planes, planes, stride if j == 0 else 1, shortcut, gen)
                      for j in range(self.n)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            c_in = planes
        self.linear = nn.Linear(64, self.num_classes, rng=gen)
        he_normal_convs(self, gen, mode="fan_in", linear=True)

    def forward(self, x: Any) -> Any:
        x = F.relu(self.bn1(self.conv1(x)))  # (N, 16, H, W)
        x = self.layer3(self.layer2(self.layer1(x)))  # (N, 64, H/4, W/4)
        return self.linear(x.mean(axis=(2, 3)))  # (N, 64) -> (N, K)

    def extra_repr(self) -> str:
        return f"depth={6 * self.n + 2}, num_classes={self.num_classes}, shortcut={self.shortcut}"


def resnet20(**kwargs: Any) -> CifarResNet:
    """ResNet-20 (n = 3; 269,722 parameters). kwargs: ``num_classes``, ``rng``."""
    return CifarResNet(3, **kwargs)


def resnet32(**kwargs: Any) -> CifarResNet:
    """ResNet-32 (n = 5)."""
    return CifarResNet(5, **kwargs)


def resnet44(**kwargs: Any) -> CifarResNet:
    """ResNet-44 (n = 7)."""
    return CifarResNet(7, **kwargs)


def resnet56(**kwargs: Any) -> CifarResNet:
    """ResNet-56 (n = 9; 853,018 parameters)."""
    return CifarResNet(9, **kwargs)


def resnet110(**kwargs: Any) -> CifarResNet:
    """ResNet-110 (n = 18)."""
    return CifarResNet(18, **kwargs)


def plain20(**kwargs: Any) -> CifarResNet:
    """Plain-20: ResNet-20's layers without shortcuts."""
    return CifarResNet(3, shortcut=False, **kwargs)


def plain32(**kwargs: Any) -> CifarResNet:
    """Plain-32."""
    return CifarResNet(5, shortcut=False, **kwargs)


def plain44(**kwargs: Any) -> CifarResNet:
    """Plain-44."""
    return CifarResNet(7, shortcut=False, **kwargs)


def plain56(**kwargs: Any) -> CifarResNet:
    """Plain-56."""
    return CifarResNet(9, shortcut=False, **kwargs)


def plain110(**kwargs: Any) -> CifarResNet:
    """Plain-110."""
    return CifarResNet(18, shortcut=False, **kwargs)
