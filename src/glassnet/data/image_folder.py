"""ImageFolder: an image classification data set laid out as one subfolder per class (ImageNet's layout).

::

    root/cat/001.jpg
    root/cat/kitten/002.png     (files in nested folders count for their top-level class)
    root/dog/003.jpeg

Classes are the subfolders of ``root`` sorted by name (label 0, 1, ...), samples the image files under each,
walked in sorted order as torchvision's ``datasets.ImageFolder`` does, so both give the same labels and order.
Images are read with Pillow when indexed, not when the data set is built.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from glassnet.checks import check_int
from glassnet.data.dataset import Dataset
from glassnet.data.transforms import center_crop_box, resized_size
from glassnet.errors import ConfigError, DataError, ShapeError

__all__ = ["ImageFolder"]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class ImageFolder(Dataset):
    """Images in ``root/<class>/...``, read with Pillow as float32 ``(3, H, W)`` in [0, 1], with int64 labels.

    ``dataset[i]`` is ``(image, label)``: the file opened with Pillow and ``.convert("RGB")``, resized
    (bilinear, on the uint8 image) so that its shorter side is ``size`` when given, centre-cropped to ``crop``
    when given, then scaled to [0, 1] as float32 ``(3, H, W)``; ``label`` is a ``np.int64``. An int array (or a
    slice, or a list of ints) index returns the stacked batch ``(images (B, 3, H, W), labels (B,))``, the way
    :class:`~glassnet.data.ArrayDataset` answers ``dataset[array]``; its images must share one size (give
    ``crop``, or ``size`` for images of one aspect ratio). torchvision: ``datasets.ImageFolder(root,
    transform=Compose([Resize(size), CenterCrop(crop), ToTensor()]))``.

    Attributes:
        classes: the class folder names, sorted; label ``k`` is ``classes[k]``.
        class_to_idx: ``{name: label}``.
        samples: ``[(path, label), ...]`` sorted by class, then path (torchvision's order).
        targets: the labels of ``samples``.

    Args:
        root: the folder holding one subfolder per class. Hidden folders and files (names starting with
            ``.``, e.g. ``.ipynb_checkpoints``) are skipped (torchvision keeps them).
        size: int >= 1, the shorter side after resizing, or None (no resize).
        crop: int ``s`` (``s x s``) or a pair ``(h, w)``, the centre crop after resizing, or None. A crop larger
            than the image zero-pads it, as torchvision's ``CenterCrop``.
        extensions: file name endings that count as images, compared case-insensitively.

    Raises:
        ConfigError: bad ``size``, ``crop`` or ``extensions``.
        DataError: ``root`` missing or not a folder, no class folders, a class folder with no images (as
            torchvision), and, when indexed, an image file Pillow cannot read (the message names the file).
        ShapeError: a batch index whose images come out with different sizes.
        IndexError: an index out of range.
    """

    def __init__(self, root: str | os.PathLike, size: int | None = None, crop=None,
                 extensions: tuple[str, ...] = (".jpg", ".jpeg", ".png")):
        self.size = None if size is None else check_int(size, "size", "ImageFolder", min=1)
        self.crop = None if crop is None else self._check_crop(crop)
        if isinstance(extensions, str):
            extensions = (extensions,)
        if not isinstance(extensions, (tuple, list)) or not extensions or not all(
                isinstance(e, str) and e for e in extensions):
            raise ConfigError(f"ImageFolder: extensions must be a non-empty tuple of file endings like '.png', "
                              f"got {extensions!r}")
        self.extensions = tuple(e.lower() for e in extensions)
        self.root = Path(root)
        if not self.root.is_dir():
            why = "is not a folder" if self.root.exists() else "does not exist"
            raise DataError(f"ImageFolder: root {self.root} {why}")
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith("."))
        if not self.classes:
            raise DataError(f"ImageFolder: no class folders in {self.root} (expected root/<class>/<image>)")
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}
        self.samples: list[tuple[str, int]] = []
        empty = []
        for c in self.classes:
            found = self._find_images(self.root / c)
            if not found:
                empty.append(c)
            self.samples.extend((p, self.class_to_idx[c]) for p in found)
        if empty:
            what = "no images at all" if len(empty) == len(self.classes) else f"no images in class folders {empty}"
            raise DataError(f"ImageFolder: {what} under {self.root} (extensions {list(self.extensions)})")
        self.targets = [label for _, label in self.samples]

    @staticmethod
    def _check_crop(crop) -> tuple[int, int]:
        if isinstance(crop, (tuple, list)):
            if len(crop) != 2:
                raise ConfigError(f"ImageFolder: crop must be an int >= 1 or a pair (h, w) of them, got {crop!r}")
            return (check_int(crop[0], "crop", "ImageFolder", min=1), check_int(crop[1], "crop", "ImageFolder", min=1))
        c = check_int(crop, "crop", "ImageFolder", min=1)
        return (c, c)

    def _find_images(self, folder: Path) -> list[str]:
        out = []
        for dirpath, _, filenames in sorted(os.walk(folder, followlinks=True)):
            if any(part.startswith(".") for part in Path(dirpath).relative_to(folder).parts):
                continue
            for name in sorted(filenames):
                if not name.startswith(".") and name.lower().endswith(self.extensions):
                    out.append(os.path.join(dirpath, name))
        return out

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, path: str) -> np.ndarray:
        """One image file as float32 ``(3, H, W)`` in [0, 1], resized and cropped as the data set is.

        Raises:
            DataError: Pillow cannot open or decode the file (the message names it).
        """
        from PIL import Image

        try:
            with Image.open(path) as im:
                img = im.convert("RGB")  # decodes the whole file
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise DataError(_one_line(f"ImageFolder: cannot read image {path}: {type(e).__name__}: {e}")) from e
        if self.size is not None:
            nh, nw = resized_size(img.height, img.width, self.size)
            if (nh, nw) != (img.height, img.width):
                img = img.resize((nw, nh), Image.BILINEAR)
        a = np.asarray(img, dtype=np.uint8)  # (H, W, 3)
        if self.crop is not None:
            ch, cw = self.crop
            pt, pb, pl, pr, top, left = center_crop_box(a.shape[0], a.shape[1], ch, cw)
            if pt or pb or pl or pr:
                a = np.pad(a, ((pt, pb), (pl, pr), (0, 0)))
            a = a[top:top + ch, left:left + cw]
        return np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)  # (3, H, W)

    batch_indexing = True  # dataset[int array] returns the stacked batch: the DataLoader asks for whole batches

    def __getitem__(self, index):
        n = len(self.samples)
        if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
            i = int(index)
            if not -n <= i < n:
                raise IndexError(f"ImageFolder: index {i} out of range for {n} images")
            path, label = self.samples[i]
            return self.load(path), np.int64(label)
        if isinstance(index, slice):
            idx = np.arange(n)[index]
        else:
            idx = np.asarray(index)
            if idx.ndim != 1 or not (np.issubdtype(idx.dtype, np.integer) or idx.size == 0):
                raise IndexError(f"ImageFolder: index must be an int, a slice or a 1-D int array, got "
                                 f"{type(index).__name__} with shape {idx.shape} and dtype {idx.dtype}")
            idx = idx.astype(np.int64)
            bad = idx[(idx < -n) | (idx >= n)]
            if bad.size:
                raise IndexError(f"ImageFolder: index {int(bad[0])} out of range for {n} images")
        images = [self.load(self.samples[int(i)][0]) for i in idx]
        labels = np.array([self.samples[int(i)][1] for i in idx], dtype=np.int64)  # (B,)
        if not images:
            h, w = self.crop if self.crop is not None else (0, 0)
            return np.zeros((0, 3, h, w), np.float32), labels
        shapes = sorted({im.shape for im in images})
        if len(shapes) > 1:
            raise ShapeError(f"ImageFolder: images of one batch have different shapes {shapes}; give crop= "
                             f"to make them one size")
        return np.stack(images), labels  # (B, 3, H, W), (B,)

    def __repr__(self) -> str:
        return (f"ImageFolder(root={str(self.root)!r}, size={self.size}, crop={self.crop}, "
                f"{len(self.classes)} classes, {len(self.samples)} images)")
