"""Pretrained weights: the CIFAR-10 ResNets of akamaster/pytorch_resnet_cifar10, downloaded with sha256 checks.

The files are ``torch.save`` dicts ``{"state_dict": ..., "best_prec1": ...}`` in torch's legacy format,
keys prefixed ``module.`` (DataParallel); they are read by :func:`~glassnet.zoo.load_torch_state_dict`
without torch and without running code from them. Inputs: RGB in [0, 1] normalised with the ImageNet
mean and standard deviation (:data:`CIFAR_MEAN`, :data:`CIFAR_STD`), as the repository's ``trainer.py``.

Source: https://github.com/akamaster/pytorch_resnet_cifar10 (``pretrained_models/``), BSD-2-Clause;
its README reports test errors of 8.27% (ResNet-20) and 6.61% (ResNet-56) on CIFAR-10.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from glassnet.checks import check_choice
from glassnet.data.download import data_home, ensure_file
from glassnet.zoo.cifar_resnet import CifarResNet, resnet20, resnet56
from glassnet.zoo.torch_state import load_torch_state_dict, strip_prefix

__all__ = ["PRETRAINED", "CIFAR_MEAN", "CIFAR_STD", "pretrained_cifar_resnet", "normalize_cifar"]

_BASE = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
# name -> (file, sha256, builder)
PRETRAINED: dict[str, tuple[str, str, Any]] = {
    "resnet20": ("resnet20-12fca82f.th", "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8", resnet20),
    "resnet56": ("resnet56-4bfd9763.th", "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367", resnet56),
}
CIFAR_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
CIFAR_STD = np.array([0.229, 0.224, 0.225], np.float32)


def normalize_cifar(x: np.ndarray) -> np.ndarray:
    """uint8 images ``(N, 3, 32, 32)`` -> float32 normalised as the pretrained models expect."""
    return ((np.asarray(x, np.float32) / 255 - CIFAR_MEAN.reshape(1, 3, 1, 1)) / CIFAR_STD.reshape(1, 3, 1, 1)).astype(
        np.float32)


def pretrained_cifar_resnet(name: str = "resnet20", root: str | os.PathLike | None = None,
                            download: bool = True) -> CifarResNet:
    """A zoo CIFAR ResNet with the published weights loaded, in evaluation mode.

    The file is looked for in ``root`` (or ``<data home>/pretrained``), downloaded if missing and
    allowed, and checked against its sha256 before it is read.

    Raises:
        ConfigError: an unknown ``name`` (``resnet20``, ``resnet56``).
        DataError: the file is missing (offline), fails its checksum, or is not a readable torch file.
    """
    check_choice(name, "name", tuple(PRETRAINED), "pretrained_cifar_resnet")
    file, sha256, build = PRETRAINED[name]
    home = data_home(root)
    folder = home if (home / file).is_file() else home / "pretrained"
    path = ensure_file("pretrained_cifar_resnet", folder, file, urls=[_BASE + file], sha256=sha256,
                       download=download)
    model = build()
    report = model.load_torchvision(strip_prefix(load_torch_state_dict(path)), strict=False)
    # the files predate torch's num_batches_tracked; nothing else may be missing
    problems = report.unexpected + report.mismatched + [k for k in report.missing
                                                        if not k.endswith("num_batches_tracked")]
    if problems:
        from glassnet.errors import DataError

        raise DataError(f"pretrained_cifar_resnet: {path} does not fit {name}: {', '.join(problems[:5])}")
    return model.eval()
