"""``glassnet detect CHECKPOINT IMAGE...``: a YOLO v1 model's boxes on image files, drawn and printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from glassnet.cli import cli
from glassnet.errors import ConfigError, DataError, DTypeError, ShapeError

__all__ = ["detect_command", "load_detector", "read_scene"]

MODEL = "YOLOv1"


def load_detector(path: str | Path) -> tuple[Any, list[str], dict[str, Any]]:
    """``(model in eval mode, class names, stored config)`` of a YOLO v1 checkpoint.

    Two kinds of file are read:

    * a checkpoint ``.npz`` (:func:`glassnet.train.save_checkpoint`, what the lab ``yolo`` writes as
      ``yolo.npz``) whose config holds ``"model": "YOLOv1"``, ``"yolo"`` (the model's
      :meth:`~glassnet.zoo.YOLOv1.config`) and ``"class_names"``;
    * a ``.safetensors`` state (:func:`glassnet.save`) whose metadata holds ``"model": "YOLOv1"`` and the
      JSON texts ``"yolo"`` and ``"class_names"``.

    Raises:
        DataError: a file that is not readable or not of a YOLO v1 model (one line naming it).
    """
    from glassnet.zoo import YOLOv1

    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        from glassnet.train.serialization import load, load_metadata

        state, meta = load(path), load_metadata(path)
        try:
            config = {"model": meta.get("model"), "yolo": json.loads(meta["yolo"]),
                      "class_names": json.loads(meta["class_names"])}
        except (KeyError, ValueError) as e:
            raise DataError(f"detect: {path} has no YOLO metadata ('model', 'yolo', 'class_names'): {e}") from None
    else:
        from glassnet.train import load_checkpoint

        ck = load_checkpoint(path)
        state, config = ck.model, ck.config
    if config.get("model") != MODEL or not isinstance(config.get("yolo"), dict):
        raise DataError(f"detect: {path} is not a checkpoint of a {MODEL} (its config names model "
                        f"{config.get('model')!r}); train one with 'glassnet lab yolo'")
    try:
        model = YOLOv1(**config["yolo"], rng=0)
    except (ConfigError, TypeError) as e:
        raise DataError(f"detect: {path} holds a YOLO config that does not build a model: {e}") from None
    try:
        model.load_state_dict(state)
    except (ConfigError, ShapeError, DTypeError) as e:
        raise DataError(f"detect: {path} does not hold the weights of its YOLO config: {e}") from None
    names = [str(n) for n in config.get("class_names") or range(model.C)]
    if len(names) != model.C:
        raise DataError(f"detect: {path} names {len(names)} classes for a model of {model.C}")
    return model.eval(), names, config


def read_scene(path: str | Path, channels: int, size: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """An image file as the model's input and for drawing.

    Returns ``(x (channels, size, size) float32 in [0, 1], the original picture (H, W) or (H, W, 3) float in
    [0, 1], (H, W))``. Grey for a 1-channel model, RGB for 3 channels; resized to ``size x size`` (bilinear)
    when it differs. A grey picture that is mostly light (mean > 0.5) is inverted first: the digit
    scenes are light digits on black.

    Raises:
        DataError: a file Pillow cannot read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            picture = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.float32) / 255
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"detect: cannot read image {path}: {e}") from None
    if channels == 1 and picture.mean() > 0.5:
        picture = 1.0 - picture
    h, w = picture.shape[:2]
    x = picture
    if (h, w) != (size, size):
        mode = "F" if channels == 1 else "RGB"
        source = Image.fromarray(x, mode="F") if channels == 1 else Image.fromarray(np.uint8(np.round(x * 255)), mode)
        x = np.asarray(source.resize((size, size), Image.BILINEAR), dtype=np.float32)
        x = x if channels == 1 else x / 255
    x = x[None] if channels == 1 else x.transpose(2, 0, 1)  # (C, size, size)
    return x.astype(np.float32), picture, (h, w)


@cli.command("detect")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="detections", show_default=True,
              help="Folder for the images with their boxes drawn (PNG, one per input).")
@click.option("--score-threshold", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Smallest class-specific score (confidence x class score) shown.")
@click.option("--iou-threshold", type=click.FloatRange(0, 1), default=0.45, show_default=True,
              help="Non-maximum suppression: a box overlapping a better one of its class by more is dropped.")
def detect_command(checkpoint: str, images: tuple[str, ...], out_dir: str, score_threshold: float,
                   iou_threshold: float) -> None:
    """Detect objects with the YOLO v1 model CHECKPOINT in each IMAGE file.

    CHECKPOINT is the yolo.npz of 'glassnet lab yolo' (or a .safetensors of the model with its YOLO
    metadata). Prints one line per detection, 'IMAGE: CLASS SCORE x1 y1 x2 y2' (pixels of the image as
    given), and writes OUT/<image name>.png with the boxes and labels drawn (inputs whose names would give
    the same file, such as a/x.png and b/x.jpg, get x.png, x-2.png, ... in the order given).
    """
    from glassnet import no_grad
    from glassnet.detection import decode_predictions
    from glassnet.lab import plotting
    from glassnet.lab.detection import draw_detections

    model, names, _ = load_detector(checkpoint)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    taken: dict[str, int] = {}
    for path in images:
        x, picture, (h, w) = read_scene(path, model.in_channels, model.image_size)
        with no_grad():
            found = decode_predictions(model(x[None]), model.S, model.B, model.C, score_threshold, iou_threshold,
                                       model.image_size)[0]
        boxes = found["boxes"] * np.array([w, h, w, h]) / model.image_size  # back to the file's pixels
        for b, k, s in zip(boxes, found["classes"], found["scores"]):
            click.echo(f"{path}: {names[k]} {s:.3f} " + " ".join(f"{v:.1f}" for v in b))
        if not len(boxes):
            click.echo(f"{path}: no detection above {score_threshold}")
        fig, ax = plotting.figure(size=(4, 4 * h / w))
        draw_detections(ax, picture, boxes, found["classes"], found["scores"], names=names, title=Path(path).name)
        stem = Path(path).stem
        taken[stem] = taken.get(stem, 0) + 1
        target = out / (f"{stem}.png" if taken[stem] == 1 else f"{stem}-{taken[stem]}.png")
        plotting.save_png(fig, target)
        if taken[stem] > 1:
            click.echo(f"{path}: drawn to {target.name} ({stem}.png is an earlier input's)")
    click.echo(f"wrote {len(images)} image(s) to {out}")
