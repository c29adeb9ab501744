"""Generated detection scenes: real MNIST digits pasted at random places and sizes on a black canvas.

A scene is a ``canvas x canvas`` grey image holding 1 to 5 (``digits``) handwritten digits, each with its
box -- the tight bounding box of the digit's nonzero pixels after scaling -- and its class 0-9. It is the
smallest real detection task of the course: several objects per image, of varying size, sometimes
touching, whose boxes and classes a detector (YOLO) has to find.

* :func:`make_digit_scenes` -- scenes from given digit images (seeded);
* :func:`digit_scenes` -- train scenes from MNIST's training digits, test scenes from its test digits;
* :func:`write_coco` -- the scenes as PNG files plus a COCO-format JSON (what pycocotools reads).

Boxes are ``xyxy`` in pixels with continuous coordinates (see :mod:`glassnet.detection.boxes`): a digit
occupying columns ``j0..j1`` and rows ``i0..i1`` has the box ``(j0, i0, j1 + 1, i1 + 1)``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from glassnet.checks import as_generator, check_choice, check_number, check_size
from glassnet.errors import ConfigError, DataError, ShapeError

__all__ = ["DigitScenes", "make_digit_scenes", "digit_scenes", "write_coco", "MNIST8K_TRAIN"]

#: with only the shared 8,000-image subset of MNIST's test set (``mnist8k``), its first 6,000 digits make
#: the train scenes and the last 2,000 the test scenes, so that the two never share a digit image
MNIST8K_TRAIN = 6000


class DigitScenes(NamedTuple):
    """Scenes of digits: ``images, boxes, classes = scenes``.

    Attributes:
        images: float32 ``(N, 1, H, W)`` in [0, 1], white digits on black.
        boxes: N arrays float32 ``(n_i, 4)``, ``xyxy`` pixels, one row per digit.
        classes: N arrays int64 ``(n_i,)``, the digits' labels 0-9.
    """

    images: np.ndarray
    boxes: list[np.ndarray]
    classes: list[np.ndarray]


def _scaled_digit(image: np.ndarray, size: int) -> np.ndarray:
    """A 28x28 digit resized to ``size x size`` (bilinear), cropped to its nonzero pixels: float32 in [0, 1]."""
    from PIL import Image

    patch = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR), dtype=np.float32) / 255
    rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
    return patch[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def make_digit_scenes(images, labels, n_scenes: int, canvas: int = 96, digits: tuple[int, int] = (1, 5),
                      scale: tuple[float, float] = (1.0, 2.0), max_overlap: float = 0.2, rng=None,
                      max_tries: int = 50) -> DigitScenes:
    """Scenes of MNIST digits pasted at random positions and scales on a black canvas.

    Per scene: draw a count ``n ~ U{digits[0], ..., digits[1]}``; per digit draw an image (uniformly, with
    replacement, from ``images``) and a scale ``s ~ U(scale)``, resize the 28x28 digit to
    ``round(28 s)`` pixels, crop it to its nonzero pixels (the box), and try up to ``max_tries`` uniform
    positions inside the canvas until the box's IoU with every box already placed is ``<= max_overlap``;
    a digit that finds no such place is dropped (so a crowded scene may hold fewer than ``n``, never 0:
    the first digit always fits). Where digits overlap the brighter pixel wins (``max``).

    Args:
        images: ``(M, 28, 28)`` uint8 digits (as :func:`~glassnet.data.datasets.load_mnist` returns).
        labels: ``(M,)`` their classes.
        n_scenes: N.
        canvas: the side H = W of each scene, at least ``round(28 * scale[1])``.
        digits: ``(min, max)`` digits per scene, 1 <= min <= max.
        scale: ``(min, max)`` of the size factor, 0 < min <= max.
        max_overlap: the largest IoU allowed between two boxes of a scene, in [0, 1].
        rng: numpy Generator or int seed (the same seed gives the same scenes).
        max_tries: positions tried per digit.

    Returns:
        :class:`DigitScenes`: images float32 ``(N, 1, H, W)``, per scene boxes float32 ``(n_i, 4)`` (xyxy)
        and classes int64 ``(n_i,)``.

    Raises:
        ConfigError: a bad count, range, canvas smaller than the largest digit, or overlap limit.
        ShapeError: images not ``(M, 28, 28)`` or labels not ``(M,)``.
        DataError: no images, not uint8, or an image without a nonzero pixel.
    """
    from glassnet.detection.boxes import box_iou

    owner = "make_digit_scenes"
    x, y = np.asarray(images), np.asarray(labels)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ShapeError(f"{owner}: images must be (M, 28, 28) MNIST digits, got shape {x.shape}")
    if y.shape != (len(x),):
        raise ShapeError(f"{owner}: labels must be ({len(x)},), one per image, got shape {y.shape}")
    if len(x) == 0 or x.dtype != np.uint8:
        raise DataError(f"{owner}: images must be a non-empty uint8 array, got {len(x)} images of {x.dtype}")
    n_scenes = check_size(n_scenes, "n_scenes", owner)
    canvas = check_size(canvas, "canvas", owner)
    lo_n, hi_n = (check_size(v, "digits", owner) for v in _pair(digits, "digits", owner))
    lo_s, hi_s = (check_number(v, "scale", owner, min=0.0, min_open=True) for v in _pair(scale, "scale", owner))
    if lo_n > hi_n or lo_s > hi_s:
        raise ConfigError(f"{owner}: digits and scale must be (min, max) with min <= max, got {digits}, {scale}")
    if round(28 * hi_s) > canvas:
        raise ConfigError(f"{owner}: canvas must be >= round(28 * scale[1]) = {round(28 * hi_s)}, got {canvas}")
    max_overlap = check_number(max_overlap, "max_overlap", owner, min=0.0, max=1.0)
    max_tries = check_size(max_tries, "max_tries", owner)
    g = as_generator(rng)

    scenes = np.zeros((n_scenes, 1, canvas, canvas), dtype=np.float32)  # (N, 1, H, W)
    all_boxes, all_classes = [], []
    for i in range(n_scenes):
        boxes, classes = np.zeros((0, 4), dtype=np.float32), []
        for _ in range(int(g.integers(lo_n, hi_n + 1))):
            k = int(g.integers(len(x)))
            if not x[k].any():
                raise DataError(f"{owner}: image {k} has no nonzero pixel, so no box")
            patch = _scaled_digit(x[k], round(28 * float(g.uniform(lo_s, hi_s))))  # (h, w)
            h, w = patch.shape
            for _ in range(max_tries):
                top, left = int(g.integers(canvas - h + 1)), int(g.integers(canvas - w + 1))
                box = np.array([[left, top, left + w, top + h]], dtype=np.float32)
                if not len(boxes) or box_iou(box, boxes).max() <= max_overlap:
                    break
            else:
                continue  # no free place: drop this digit
            view = scenes[i, 0, top:top + h, left:left + w]
            np.maximum(view, patch, out=view)
            boxes = np.concatenate([boxes, box])
            classes.append(int(y[k]))
        all_boxes.append(boxes)
        all_classes.append(np.asarray(classes, dtype=np.int64))
    return DigitScenes(scenes, all_boxes, all_classes)


def _pair(value, name: str, owner: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ConfigError(f"{owner}: {name} must be a (min, max) pair, got {value!r}")
    return tuple(value)


def digit_scenes(split: str = "train", data_dir: str | os.PathLike | None = None, n_scenes: int = 1000,
                 canvas: int = 96, digits: tuple[int, int] = (1, 5), scale: tuple[float, float] = (1.0, 2.0),
                 max_overlap: float = 0.2, rng=0) -> DigitScenes:
    """Detection scenes of real MNIST digits: ``"train"`` scenes from training digits, ``"test"`` from test ones.

    The digit images come from MNIST's ``train`` files (train scenes) and ``t10k`` files (test scenes), so
    no digit image is in both. Where only the shared ``mnist8k`` subset of t10k is present, its first
    :data:`MNIST8K_TRAIN` images serve the train scenes and the rest the test scenes (disjoint again).

    Args:
        split: ``"train"`` or ``"test"``.
        data_dir: the data home or the MNIST folder; None: ``$GLASSNET_DATA`` or the cache, downloading the
            official files if missing.
        n_scenes, canvas, digits, scale, max_overlap: as :func:`make_digit_scenes`.
        rng: numpy Generator or int seed (default 0: the same scenes every time).

    Returns:
        :class:`DigitScenes`.

    Raises:
        ConfigError: an unknown split, or bad scene settings.
        DataError: the MNIST files are missing or corrupt.
    """
    from glassnet.data.classification import find_prefix
    from glassnet.data.datasets.mnist import load_mnist

    check_choice(split, "split", ("train", "test"), "digit_scenes")
    official = "train" if split == "train" else "t10k"
    prefix = find_prefix(data_dir, "mnist", (official, "mnist8k"), "-images-idx3-ubyte.gz")
    x, y = load_mnist(data_dir, prefix=prefix, download=data_dir is None)
    if prefix == "mnist8k":
        part = slice(None, MNIST8K_TRAIN) if split == "train" else slice(MNIST8K_TRAIN, None)
        x, y = x[part], y[part]
    return make_digit_scenes(x, y, n_scenes, canvas, digits, scale, max_overlap, rng)


def write_coco(directory: str | os.PathLike, images, boxes, classes, class_names=None) -> Path:
    """Write scenes as ``directory/images/<id>.png`` plus ``directory/annotations.json`` in COCO format.

    The JSON holds ``images`` (``id`` from 1, ``file_name`` relative to ``directory``, ``width``,
    ``height``), ``annotations`` (``id``, ``image_id``, ``category_id``, ``bbox`` as COCO's ``[x, y, w, h]``,
    ``area = w h``, ``iscrowd = 0``) and ``categories``. COCO's category ids start at 1, so class ``k`` is
    written as ``category_id = k + 1`` (named ``class_names[k]``, default ``str(k)``).

    Args:
        directory: created if missing.
        images: float ``(N, 1, H, W)`` in [0, 1] (written as 8-bit grey PNGs) or uint8 ``(N, H, W)``.
        boxes: N arrays ``(n_i, 4)`` xyxy.
        classes: N integer arrays ``(n_i,)``.
        class_names: names of classes 0..K-1 (default: ``"0"``..``"9"``, or up to the largest class).

    Returns:
        The path of ``annotations.json`` (load it with ``pycocotools.coco.COCO(path)``).

    Raises:
        ShapeError: images of another shape, or boxes/classes not one per image and box.
        ConfigError: a class without a name.

    Reference: the COCO data format, https://cocodataset.org/#format-data (Lin et al. 2014).
    """
    from PIL import Image

    from glassnet.detection.boxes import box_convert
    from glassnet.fileio import atomic_write_bytes, atomic_write_json

    x = np.asarray(images)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]  # (N, 1, H, W) -> (N, H, W)
    if x.ndim != 3:
        raise ShapeError(f"write_coco: images must be (N, 1, H, W) or (N, H, W), got shape {np.shape(images)}")
    if x.dtype != np.uint8:
        x = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    if len(boxes) != len(x) or len(classes) != len(x):
        raise ShapeError(f"write_coco: boxes and classes must have one entry per image ({len(x)}), got "
                         f"{len(boxes)} and {len(classes)}")
    cls = [np.asarray(c, dtype=np.int64).reshape(-1) for c in classes]
    top = max((int(c.max()) for c in cls if c.size), default=9)
    names = [str(k) for k in range(max(top + 1, 10))] if class_names is None else [str(n) for n in class_names]
    if top >= len(names):
        raise ConfigError(f"write_coco: class {top} has no name in class_names ({len(names)} names)")
    root = Path(directory)
    (root / "images").mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for i, (image, b, c) in enumerate(zip(x, boxes, cls)):
        xywh = box_convert(np.asarray(b, dtype=np.float64).reshape(-1, 4), "xyxy", "xywh")
        if len(xywh) != len(c):
            raise ShapeError(f"write_coco: image {i} has {len(xywh)} boxes but {len(c)} classes")
        name = f"images/{i + 1:06d}.png"
        buffer = _png(Image.fromarray(image))
        atomic_write_bytes(root / name, buffer)
        entries.append({"id": i + 1, "file_name": name, "width": int(image.shape[1]), "height": int(image.shape[0])})
        for box, k in zip(xywh, c):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(k) + 1,
                                "bbox": [float(v) for v in box], "area": float(box[2] * box[3]), "iscrowd": 0})
    categories = [{"id": k + 1, "name": n} for k, n in enumerate(names)]
    return atomic_write_json(root / "annotations.json",
                             {"images": entries, "annotations": annotations, "categories": categories})


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()

