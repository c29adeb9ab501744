"""``GoogLeNet`` / Inception v1 (Szegedy et al. 2015) as torchvision builds it, and the paper's variant."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet import nn
from glassnet.checks import check_bool, check_choice, check_size
from glassnet.zoo.cnn_init import normal_layers
from glassnet.zoo.torchvision import TorchvisionMixin

__all__ = ["BasicConv2d", "Inception", "InceptionAux", "GoogLeNet"]


class BasicConv2d(nn.Module):
    """``relu(bn(conv(x)))``: a conv without bias, BatchNorm2d(eps=0.001), ReLU (torchvision's ``BasicConv2d``).

    ``batch_norm=False`` (the paper's variant): ``relu(conv(x))`` with a conv bias and no ``bn``.
    Shapes: ``x (N, C_in, H, W)`` -> ``(N, C_out, OH, OW)``; kwargs go to ``Conv2d``.
    """

    def __init__(self, c_in: int, c_out: int, batch_norm: bool = True, rng: Any = None, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=not batch_norm, rng=rng, **kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001) if batch_norm else None

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        return F.relu(x if self.bn is None else self.bn(x))


class Inception(nn.Module):
    """The four-branch Inception module; the branches' outputs are concatenated along channels.

    ``y = [branch1(x) | branch2(x) | branch3(x) | branch4(x)]``: ``branch1`` a 1x1 conv (``ch1x1``);
    ``branch2`` 1x1 (``ch3x3red``) -> 3x3 (``ch3x3``); ``branch3`` 1x1 (``ch5x5red``) -> ``k x k`` (``ch5x5``);
    ``branch4`` 3x3/1 max pool -> 1x1 (``pool_proj``). Shapes: ``x (N, C_in, H, W)`` ->
    ``(N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.

    Deviation: torchvision's ``branch3`` uses a 3x3 conv (``branch3_kernel=3``, the default, so its
    weights load) where the paper has 5x5; ``branch3_kernel=5`` is the paper's.
    """

    def __init__(self, c_in: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, branch3_kernel: int = 3, batch_norm: bool = True, rng: Any = None) -> None:
        super().__init__()
        k = check_choice(branch3_kernel, "branch3_kernel", (3, 5), "Inception")
        bn = batch_norm
        self.branch1 = BasicConv2d(c_in, ch1x1, bn, rng, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(c_in, ch3x3red, bn, rng, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, bn, rng, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(c_in, ch5x5red, bn, rng, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, bn, rng, kernel_size=k, padding=k // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(c_in, pool_proj, bn, rng, kernel_size=1))

    def forward(self, x: Any) -> Any:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]  # (N, C_b, H, W) each
        return F.concat(branches, axis=1)  # (N, Σ C_b, H, W)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4x4 average pool, 1x1 conv to 128, dense 2048 -> 1024, ReLU, dropout 0.7, dense -> K.

    Shapes: ``x (N, C_in, H, W)`` -> ``(N, 128, 4, 4)`` -> ``(N, 2048)`` -> logits ``(N, K)``. torchvision pools
    adaptively to 4x4; the paper uses a 5x5/3 average pool, which gives 4x4 on its 14x14 maps.
    """

    def __init__(self, c_in: int, num_classes: int, batch_norm: bool = True, dropout: float = 0.7,
                 rng: Any = None, drop_rng: Any = None) -> None:
        super().__init__()
        self.conv = BasicConv2d(c_in, 128, batch_norm, rng, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024, rng=rng)
        self.fc2 = nn.Linear(1024, num_classes, rng=rng)
        self.dropout = nn.Dropout(dropout, rng=drop_rng)

    def forward(self, x: Any) -> Any:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))  # (N, 128, 4, 4)
        x = F.relu(self.fc1(F.flatten(x, start_axis=1)))  # (N, 2048) -> (N, 1024)
        return self.fc2(self.dropout(x))  # (N, K)


# (c_in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj): the paper's Table 1
_INCEPTIONS = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32), "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64), "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64), "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128), "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(TorchvisionMixin, nn.Module):
    """GoogLeNet (Inception v1): a conv stem, nine Inception modules in three groups, global pool, dense.

    Shapes: ``x (N, 3, 224, 224)`` -> stem ``(N, 192, 28, 28)`` -> 3a, 3b ``(N, 480, 28, 28)`` -> pool
    -> 4a..4e ``(N, 832, 14, 14)`` -> pool -> 5a, 5b ``(N, 1024, 7, 7)`` -> ``avgpool (N, 1024, 1, 1)``
    -> dropout -> ``fc (N, K)``. All max pools use ``ceil_mode=True`` as torchvision (and Caffe).

    Modules mirror ``torchvision.models.googlenet``: ``conv1, maxpool1, conv2, conv3, maxpool2,
    inception3a, …, inception5b, aux1, aux2, avgpool, dropout, fc``. 6,624,904 parameters with
    ``aux_logits=False``, 13,004,888 with the two auxiliary classifiers (K = 1000). In training mode
    with ``aux_logits`` the forward returns ``(logits, aux2, aux1)`` (torchvision's ``GoogLeNetOutputs``
    order; ``aux1`` after 4a, ``aux2`` after 4d), otherwise the logits alone. Init as torchvision:
    conv and Linear weights ``N(0, 0.01²)`` truncated to ``[-2, 2]``, biases 0, batch norm 1 / 0.

    Reference: Szegedy et al. 2015, "Going Deeper with Convolutions". Deviations of torchvision from the
    paper: batch norm in every conv (BasicConv2d; the paper predates batch norm), 3x3 instead of 5x5 in
    each module's third branch, no local response normalisation, dropout 0.2 instead of 0.4 before
    ``fc``, adaptive pools. ``variant="paper"`` builds the paper's net instead: convs with bias and no
    batch norm, 5x5 third branches, LRN (size 5, α = 1e-4, β = 0.75, k = 2, as AlexNet; the paper gives
    no constants) after ``maxpool1`` and after ``conv3``, dropout 0.4; its names differ from
    torchvision's (``conv1.conv.bias``, no ``.bn``), so it does not load torchvision weights.

    Args:
        num_classes: K. aux_logits: build ``aux1``, ``aux2``. variant: ``"torchvision"`` or ``"paper"``.
        branch3_kernel: 3 or 5 (None: 3 for torchvision, 5 for the paper). dropout: before ``fc``
            (None: 0.2 / 0.4). dropout_aux: inside the auxiliary classifiers (0.7).
        rng: numpy Generator, int seed or None.

    Raises:
        ConfigError: bad ``num_classes``, ``variant``, ``branch3_kernel``, dropout or ``rng``.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, variant: str = "torchvision",
                 branch3_kernel: int | None = None, dropout: float | None = None, dropout_aux: float = 0.7,
                 rng: Any = None) -> None:
        super().__init__()
        self.num_classes = check_size(num_classes, "num_classes", "GoogLeNet")
        self.aux_logits = check_bool(aux_logits, "aux_logits", "GoogLeNet")
        self.variant = check_choice(variant, "variant", ("torchvision", "paper"), "GoogLeNet")
        paper = variant == "paper"
        k = (5 if paper else 3) if branch3_kernel is None else branch3_kernel
        p_drop = (0.4 if paper else 0.2) if dropout is None else dropout
        bn = not paper
        init_rng, drop_rng = nn.init.as_generator(rng, "GoogLeNet: rng").spawn(2)
        self.conv1 = BasicConv2d(3, 64, bn, init_rng, kernel_size=7, stride=2, padding=3)  # (N, 64, H/2, W/2)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 64, H/4, W/4)
        self.lrn1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0) if paper else None
        self.conv2 = BasicConv2d(64, 64, bn, init_rng, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, bn, init_rng, kernel_size=3, padding=1)  # (N, 192, H/4, W/4)
        self.lrn2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0) if paper else None
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 192, H/8, W/8)
        for name in ("inception3a", "inception3b"):
            setattr(self, name, Inception(*_INCEPTIONS[name], branch3_kernel=k, batch_norm=bn, rng=init_rng))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 480, H/16, W/16)
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            setattr(self, name, Inception(*_INCEPTIONS[name], branch3_kernel=k, batch_norm=bn, rng=init_rng))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)  # (N, 832, H/32, W/32)
        for name in ("inception5a", "inception5b"):
            setattr(self, name, Inception(*_INCEPTIONS[name], branch3_kernel=k, batch_norm=bn, rng=init_rng))
        if self.aux_logits:
            self.aux1 = InceptionAux(512, self.num_classes, bn, dropout_aux, init_rng, drop_rng)
            self.aux2 = InceptionAux(528, self.num_classes, bn, dropout_aux, init_rng, drop_rng)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p_drop, rng=drop_rng)
        self.fc = nn.Linear(1024, self.num_classes, rng=init_rng)
        normal_layers(self, init_rng, std=0.01, types=(nn.Conv2d, nn.Linear))

    def forward(self, x: Any) -> Any:
        x = self.maxpool1(self.conv1(x))  # (N, 64, H/4, W/4)
        x = x if self.lrn1 is None else self.lrn1(x)
        x = self.conv3(self.conv2(x))  # (N, 192, H/4, W/4)
        x = x if self.lrn2 is None else self.lrn2(x)
        x = self.maxpool3(self.inception3b(self.inception3a(self.maxpool2(x))))  # (N, 480, H/16, W/16)
        x = self.inception4a(x)  # (N, 512, H/16, W/16)
        aux = self.training and self.aux1 is not None
        aux1 = self.aux1(x) if aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (N, 528, H/16, W/16)
        aux2 = self.aux2(x) if aux else None
        x = self.maxpool4(self.inception4e(x))  # (N, 832, H/32, W/32)
        x = self.inception5b(self.inception5a(x))  # (N, 1024, H/32, W/32)
        x = self.fc(self.dropout(F.flatten(self.avgpool(x), start_axis=1)))  # (N, 1024) -> (N, K)
        return (x, aux2, aux1) if aux else x

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, aux_logits={self.aux_logits}, variant={self.variant!r}"
