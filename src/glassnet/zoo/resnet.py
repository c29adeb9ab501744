"""``ResNet`` 18/34/50 (He, Zhang, Ren & Sun 2016) as torchvision builds them: ``BasicBlock``, ``Bottleneck``."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet import nn
from glassnet.checks import check_choice, check_size
from glassnet.errors import ConfigError
from glassnet.zoo.cnn_init import he_normal_convs
from glassnet.zoo.torchvision import TorchvisionMixin

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50"]


def _downsample(c_in: int, c_out: int, stride: int, rng: Any) -> nn.Sequential | None:
    """Projection shortcut (the paper's option B): ``conv1x1(stride) + BN`` when the shape changes, else None."""
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False, rng=rng), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a shortcut: ``y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Shapes: ``x (N, C_in, H, W)`` -> ``y (N, planes, H/stride, W/stride)``; ``conv1`` carries the stride.
    ``shortcut`` is the identity, or ``downsample`` (1x1 conv with the stride + BN) when the shape
    changes. ``expansion = 1``.
    """

    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1, rng: Any = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride=stride, padding=1, bias=False, rng=rng)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False, rng=rng)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _downsample(c_in, planes, stride, rng)

    def forward(self, x: Any) -> Any:
        out = F.relu(self.bn1(self.conv1(x)))  # (N, planes, H/s, W/s)
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4), with a shortcut: ``y = relu(bn3(conv3(...)) + shortcut(x))``.

    Shapes: ``x (N, C_in, H, W)`` -> ``y (N, 4·planes, H/stride, W/stride)``. As torchvision ("ResNet
    v1.5") the stride sits on the 3x3 ``conv2``; the paper (and Caffe's ResNet-50) puts it on the first
    1x1 conv, which skips three quarters of the input. ``expansion = 4``.
    """

    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1, rng: Any = None) -> None:
        super().__init__()
        c_out = planes * self.expansion
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False, rng=rng)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False, rng=rng)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False, rng=rng)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.downsample = _downsample(c_in, c_out, stride, rng)

    def forward(self, x: Any) -> Any:
        out = F.relu(self.bn1(self.conv1(x)))    # (N, planes, H, W)
        out = F.relu(self.bn2(self.conv2(out)))  # (N, planes, H/s, W/s)
        out = self.bn3(self.conv3(out))          # (N, 4·planes, H/s, W/s)
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}
_DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3))}


class ResNet(TorchvisionMixin, nn.Module):
    """ImageNet ResNet: a 7x7/2 conv stem and 3x3/2 max pool, four stages of residual blocks, global average pool.

    Shapes: ``x (N, 3, H, W)`` (224 x 224 in the paper) -> stem ``(N, 64, H/4, W/4)`` -> ``layer1..4`` with
    ``64, 128, 256, 512`` planes (x ``expansion``), strides ``1, 2, 2, 2`` -> ``(N, 512·e, H/32, W/32)``
    -> ``avgpool (N, 512·e, 1, 1)`` -> ``fc`` logits ``(N, K)``.

    Modules mirror ``torchvision.models.resnet*``: ``conv1, bn1, relu, maxpool, layer1..layer4`` (each a
    Sequential of blocks, ``layer2.0.downsample.{0,1}`` the projection), ``avgpool, fc``. ResNet-18 has
    11,689,512 parameters, ResNet-34 21,797,672, ResNet-50 25,557,032 (K = 1000). Init as torchvision:
    convs He-normal with fan-out, batch norm 1 / 0, ``fc`` torch's Linear default.

    Reference: He et al. 2016, "Deep Residual Learning for Image Recognition". Deviations of torchvision:
    projection shortcuts only where the shape changes (the paper's option B), and Bottleneck's stride on
    the 3x3 conv (v1.5, see :class:`Bottleneck`).

    Args:
        block: ``"basic"`` or ``"bottleneck"``. layers: blocks per stage, four ints.
        num_classes: K. rng: numpy Generator, int seed or None.

    Raises:
        ConfigError: an unknown ``block``, bad ``layers``, ``num_classes`` or ``rng``.
    """

    def __init__(self, block: str = "basic", layers: tuple[int, ...] = (2, 2, 2, 2), num_classes: int = 1000,
                 rng: Any = None) -> None:
        super().__init__()
        self.block = check_choice(block, "block", tuple(_BLOCKS), "ResNet")
        if not isinstance(layers, (list, tuple)) or len(layers) != 4:
            raise ConfigError(f"ResNet: layers must be four block counts, got {layers!r}")
        self.layers = tuple(check_size(n, f"layers[{i}]", "ResNet") for i, n in enumerate(layers))
        self.num_classes = check_size(num_classes, "num_classes", "ResNet")
        gen = nn.init.as_generator(rng, "ResNet: rng")
        cls = _BLOCKS[block]
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False, rng=gen)  # (N, 64, H/2, W/2)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)  # (N, 64, H/4, W/4)
        c_in = 64
        for i, (planes, n, stride) in enumerate(zip((64, 128, 256, 512), self.layers, (1, 2, 2, 2)), 1):
            blocks = []
            for j in range(n):
                blocks.append(cls(c_in, planes, stride if j == 0 else 1, rng=gen))
                c_in = planes * cls.expansion
            setattr(self, f"layer{i}", nn.Sequential(*blocks))  # (N, planes·e, H/(4·2^(i-1)), ·)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * cls.expansion, self.num_classes, rng=gen)
        he_normal_convs(self, gen, mode="fan_out")

    def forward(self, x: Any) -> Any:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (N, 512·e, H/32, W/32)
        return self.fc(F.flatten(self.avgpool(x), start_axis=1))  # (N, 512·e) -> (N, K)

    def extra_repr(self) -> str:
        return f"block={self.block!r}, layers={self.layers}, num_classes={self.num_classes}"


def _resnet(depth: int, kwargs: dict[str, Any]) -> ResNet:
    block, layers = _DEPTHS[depth]
    return ResNet(block, layers, **kwargs)


def resnet18(**kwargs: Any) -> ResNet:
    """ResNet-18: BasicBlocks (2, 2, 2, 2); 11,689,512 parameters. kwargs: ``num_classes``, ``rng``."""
    return _resnet(18, kwargs)


def resnet34(**kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlocks (3, 4, 6, 3); 21,797,672 parameters."""
    return _resnet(34, kwargs)


def resnet50(**kwargs: Any) -> ResNet:
    """ResNet-50: Bottlenecks (3, 4, 6, 3); 25,557,032 parameters."""
    return _resnet(50, kwargs)
