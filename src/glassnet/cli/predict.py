"""``glassnet predict WEIGHTS IMAGE...``: the top classes of a trained or pretrained model for image files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from glassnet.cli import cli
from glassnet.errors import ConfigError, DataError

__all__ = ["predict_command", "load_predictor", "read_image"]

_NAMES = {"cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
          "mnist": tuple(str(d) for d in range(10)), "digits": tuple(str(d) for d in range(10))}
_PRETRAINED = ("resnet20", "resnet56")


def read_image(path: str | Path, data: str) -> np.ndarray:
    """One image file as the model's input row: resized to the data set's size, scaled as in training.

    16-bit and float greyscale files are rescaled by their range (65535 for 16-bit) first, not clipped.
    CIFAR-10: RGB 32x32, values / 255, flattened (3·32·32,); MNIST: grey 28x28 / 255 (784,); digits: grey
    8x8 scaled to 0..16 then / 16 (64,). Dark-on-light images are inverted for MNIST and digits (their
    digits are light on dark).

    Raises:
        DataError: a file Pillow cannot read (one line naming it).
    """
    from PIL import Image, UnidentifiedImageError

    size, mode = {"cifar10": (32, "RGB"), "mnist": (28, "L"), "digits": (8, "L")}[data]
    try:
        with Image.open(path) as im:
            if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float grey: rescale, do not clip
                raw = np.asarray(im, dtype=np.float64)
                top = 65535.0 if im.mode.startswith("I;16") else max(float(raw.max()), 1.0)
                im = Image.fromarray(np.clip(raw / top * 255, 0, 255).astype(np.uint8), mode="L")
            im = im.convert(mode).resize((size, size), Image.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"predict: cannot read image {path}: {e}") from None
    if mode == "L" and a.mean() > 0.5:
        a = 1.0 - a
    if data == "digits":
        a = np.round(a * 16) / 16
    return (a.transpose(2, 0, 1) if a.ndim == 3 else a).reshape(-1)


def load_predictor(weights: str, data_dir: str | None = None) -> tuple[Any, str, Any]:
    """``(model, data set, prepare)`` for a ``glassnet train`` checkpoint or a pretrained name (``resnet20``).

    ``prepare(rows)`` turns :func:`read_image` rows into the model's input.

    Raises:
        DataError: an unreadable checkpoint. ConfigError: a checkpoint of a model that is not for images.
    """
    if weights in _PRETRAINED:
        from glassnet.zoo.pretrained import CIFAR_MEAN, CIFAR_STD, pretrained_cifar_resnet

        model = pretrained_cifar_resnet(weights, root=data_dir)

        def prepare(rows):
            x = rows.reshape(len(rows), 3, 32, 32)
            return ((x - CIFAR_MEAN.reshape(1, 3, 1, 1)) / CIFAR_STD.reshape(1, 3, 1, 1)).astype(np.float32)

        return model, "cifar10", prepare
    from glassnet.cli.train import build_model
    from glassnet.train import load_checkpoint

    ck = load_checkpoint(weights)
    config = ck.config
    if not config or "model" not in config or "data" not in config:
        raise DataError(f"predict: {weights} is not a checkpoint written by glassnet train (no model/data config)")
    if config["data"] not in _NAMES:
        raise ConfigError(f"predict: {weights} was trained on {config['data']!r}, which is not images")
    d = {"cifar10": 3072, "mnist": 784, "digits": 64}[config["data"]]
    sizes = [d, *config.get("hidden", []), 10]
    model = build_model(config["model"], config["data"], sizes, config, np.random.default_rng(0))
    model.load_state_dict(ck.model)
    return model.eval(), config["data"], lambda rows: rows.astype(np.float32)


@cli.command("predict")
@click.argument("weights")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--top", type=click.IntRange(1, 10), default=3, show_default=True, help="Classes shown per image.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Data home holding pretrained/ (or the .th files) [default: $GLASSNET_DATA or ~/.cache/glassnet].")
def predict_command(weights: str, images: tuple[str, ...], top: int, data_dir: str | None) -> None:
    """Print the top classes of WEIGHTS for each IMAGE file.

    WEIGHTS is a checkpoint of 'glassnet train' (best.npz or checkpoint.npz of an image model: mlp or cnn
    on mnist/digits/cifar10, resnet20...) or the name of a pretrained CIFAR-10 network (resnet20,
    resnet56; downloaded with a sha256 check). Images are resized to the data set's size.
    """
    from glassnet import functional as F
    from glassnet import no_grad

    model, data, prepare = load_predictor(weights, data_dir)
    rows = np.stack([read_image(p, data) for p in images])
    with no_grad():
        probs = F.softmax(model(prepare(rows)), axis=-1).data
    names = _NAMES[data]
    for path, p in zip(images, probs):
        order = np.argsort(-p)[:top]
        click.echo(f"{path}: " + ", ".join(f"{names[k]} {p[k]:.1%}" for k in order))
