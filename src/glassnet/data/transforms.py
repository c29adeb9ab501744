"""Seeded image transforms that work on a whole batch at once.

Each transform is a callable ``t(x, rng) -> x``: ``x`` is a batch of images, ``(N, C, H, W)`` float
(``(N, H, W, C)`` or ``(N, H, W)`` uint8 for :class:`ToTensor`), and ``rng`` a ``numpy.random.Generator``.
The caller (the DataLoader) supplies one generator per batch, so a resumed run draws exactly the crops and
flips of the uninterrupted one. Deterministic transforms ignore ``rng`` (it may be None); random ones
refuse None, since fresh entropy could not be replayed.

The work is vectorised over the batch: :class:`RandomCrop` gathers all N windows with one fancy index into a
``sliding_window_view``, :class:`RandomHorizontalFlip` flips the chosen samples with one masked assignment.
Only :class:`Resize` loops over images (Pillow resizes one image at a time).

Every transform matches its torchvision namesake on a batch (``torchvision.transforms``), except where a
docstring says otherwise. Bad arguments raise :class:`~glassnet.errors.ConfigError` when the transform is
built; a batch of the wrong shape raises :class:`~glassnet.errors.ShapeError`, one of the wrong dtype
:class:`~glassnet.errors.DTypeError`, when it is called.

Example (the CIFAR-10 training recipe)::

    train_tf = Compose([ToTensor(), RandomCrop(32, padding=4), RandomHorizontalFlip(),
                        Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))])
    xb = train_tf(uint8_batch, np.random.default_rng(seed))   # (N, 3, 32, 32) float32
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassnet.checks import as_generator, check_int, check_number
from glassnet.errors import ConfigError, DTypeError, ShapeError

__all__ = [
    "Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "CenterCrop", "Resize",
    "resized_size", "center_crop_box",
]


# ------------------------------------------------------------------ helpers
def _pair(value: Any, name: str, owner: str) -> tuple[int, int]:
    """An int ``s`` as ``(s, s)``, or a pair of ints ``(h, w)``; each >= 1."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"{owner}: {name} must be an int >= 1 or a pair (h, w) of them, got {value!r}")
        return (check_int(value[0], name, owner, min=1), check_int(value[1], name, owner, min=1))
    s = check_int(value, name, owner, min=1)
    return (s, s)


def _check_batch(x: Any, owner: str) -> np.ndarray:
    """``x`` as a float ``(N, C, H, W)`` ndarray (not copied)."""
    if not isinstance(x, np.ndarray):
        raise DTypeError(f"{owner}: x must be a numpy array (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        raise ShapeError(f"{owner}: x must be a batch (N, C, H, W), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise DTypeError(f"{owner}: x must be a float batch (N, C, H, W) (apply ToTensor first), got {x.dtype}")
    return x


def _generator(rng: Any, owner: str) -> np.random.Generator:
    if rng is None:
        raise ConfigError(f"{owner}: rng must be a numpy.random.Generator (or an int seed), got None: "
                          f"a random transform needs the caller's generator to be reproducible")
    return as_generator(rng, f"{owner}: rng")


def resized_size(h: int, w: int, size: int | tuple[int, int]) -> tuple[int, int]:
    """The ``(new_h, new_w)`` torchvision's ``Resize(size)`` gives an ``h x w`` image.

    An int ``size`` makes the shorter side ``size`` and the longer ``int(size * long / short)`` (truncated,
    as torchvision); a pair ``(h, w)`` is the output size itself.
    """
    if isinstance(size, tuple):
        return size
    if h <= w:
        return size, int(size * w / h)
    return int(size * h / w), size


def center_crop_box(h: int, w: int, crop_h: int, crop_w: int) -> tuple[int, int, int, int, int, int]:
    """How torchvision centre-crops ``h x w`` to ``crop_h x crop_w``: ``(pad_top, pad_bottom, pad_left,
    pad_right, top, left)``.

    A crop larger than the image first zero-pads it (``(crop - size) // 2`` before, the rest after); the crop
    then starts at ``top = int(round((h' - crop_h) / 2))``, ``left`` likewise, on the padded size ``h' x w'``.
    """
    pt, pb = ((crop_h - h) // 2, (crop_h - h + 1) // 2) if crop_h > h else (0, 0)
    pl, pr = ((crop_w - w) // 2, (crop_w - w + 1) // 2) if crop_w > w else (0, 0)
    hp, wp = h + pt + pb, w + pl + pr
    return pt, pb, pl, pr, int(round((hp - crop_h) / 2.0)), int(round((wp - crop_w) / 2.0))


# --------------------------------------------------------------- transforms
class Compose:
    """Apply transforms in order, passing the same ``rng`` to each: ``Compose([a, b])(x, rng) == b(a(x, rng), rng)``.

    The transforms draw from one generator one after the other, so the order fixes the numbers each one
    sees. An empty list is the identity. torchvision: ``transforms.Compose`` (whose transforms take no rng).

    Args:
        transforms: a sequence of callables ``t(x, rng) -> x``.

    Raises:
        ConfigError: ``transforms`` is not a sequence, or one of its items is not callable.
    """

    def __init__(self, transforms: Sequence[Callable[[np.ndarray, np.random.Generator], np.ndarray]]):
        if not isinstance(transforms, (list, tuple)):
            raise ConfigError(f"Compose: transforms must be a list or tuple of callables, got "
                              f"{type(transforms).__name__}")
        for i, t in enumerate(transforms):
            if not callable(t):
                raise ConfigError(f"Compose: transforms[{i}] must be callable t(x, rng), got {type(t).__name__}")
        self.transforms = list(transforms)

    def __call__(self, x, rng: np.random.Generator | None = None):
        for t in self.transforms:
            x = t(x, rng)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToTensor:
    """uint8 images to float32 ``(N, C, H, W)`` in [0, 1]: ``x.transpose(0, 3, 1, 2) / 255``.

    Shapes: ``(N, H, W, C)`` uint8 -> ``(N, C, H, W)`` float32; ``(N, H, W)`` uint8 (grey) -> ``(N, 1, H, W)``.
    A float array that is already ``(N, C, H, W)`` is returned unchanged (the same object). Deterministic:
    ``rng`` is ignored. torchvision: ``transforms.ToTensor`` (one image, ``(H, W, C)`` -> ``(C, H, W)``), per
    batch.

    Raises:
        ShapeError: a uint8 array that is not 3-D or 4-D, or a float one that is not 4-D.
        DTypeError: neither uint8 nor float.
    """

    def __call__(self, x, rng: np.random.Generator | None = None) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            raise DTypeError(f"ToTensor: x must be a numpy array, got {type(x).__name__}")
        if x.dtype == np.uint8:
            if x.ndim == 3:
                x = x[:, :, :, None]  # (N, H, W, 1)
            elif x.ndim != 4:
                raise ShapeError(f"ToTensor: a uint8 x must be (N, H, W, C) or (N, H, W), got shape {x.shape}")
            out = np.empty((x.shape[0], x.shape[3], x.shape[1], x.shape[2]), dtype=np.float32)  # (N, C, H, W)
            np.divide(x.transpose(0, 3, 1, 2), np.float32(255.0), out=out, dtype=np.float32)
            return out
        if np.issubdtype(x.dtype, np.floating):
            if x.ndim != 4:
                raise ShapeError(f"ToTensor: a float x must already be (N, C, H, W), got shape {x.shape}")
            return x
        raise DTypeError(f"ToTensor: x must be uint8 (N, H, W, C) or float (N, C, H, W), got {x.dtype}")

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """Per-channel standardisation: ``out[:, c] = (x[:, c] - mean[c]) / std[c]``.

    Shapes: ``(N, C, H, W)`` float -> same shape and dtype (a new array). Deterministic: ``rng`` is ignored.
    torchvision: ``transforms.Normalize(mean, std)``.

    Args:
        mean: C finite numbers (a number means C = 1).
        std: C finite numbers > 0, as many as ``mean``.

    Raises:
        ConfigError: non-numbers, non-finite values, an std <= 0, or ``mean`` and ``std`` of different lengths.
        ShapeError: ``x`` not ``(N, C, H, W)`` with C == len(mean).
        DTypeError: ``x`` not float.
    """

    def __init__(self, mean, std):
        mean = [mean] if isinstance(mean, numbers.Real) else mean
        std = [std] if isinstance(std, numbers.Real) else std
        if not isinstance(mean, (list, tuple, np.ndarray)) or len(mean) == 0:
            raise ConfigError(f"Normalize: mean must be a non-empty sequence of numbers, got {mean!r}")
        if not isinstance(std, (list, tuple, np.ndarray)) or len(std) == 0:
            raise ConfigError(f"Normalize: std must be a non-empty sequence of numbers, got {std!r}")
        if len(mean) != len(std):
            raise ConfigError(f"Normalize: mean and std must have one value per channel each, got {len(mean)} "
                              f"and {len(std)}")
        self.mean = tuple(check_number(float(m) if isinstance(m, np.floating) else m, "mean", "Normalize")
                          for m in mean)
        self.std = tuple(check_number(float(s) if isinstance(s, np.floating) else s, "std", "Normalize",
                                      min=0, min_open=True) for s in std)

    def __call__(self, x, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check_batch(x, "Normalize")
        if x.shape[1] != len(self.mean):
            raise ShapeError(f"Normalize: x must be (N, C, H, W) with C == {len(self.mean)}, got {x.shape}")
        m = np.asarray(self.mean, dtype=x.dtype).reshape(1, -1, 1, 1)  # (1, C, 1, 1)
        s = np.asarray(self.std, dtype=x.dtype).reshape(1, -1, 1, 1)
        out = np.subtract(x, m)  # (N, C, H, W), a new array: divided in place, the same values as (x - m) / s
        np.divide(out, s, out=out)
        return out

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomCrop:
    """Pad every side by ``padding`` with ``fill``, then crop a random ``size`` window per sample.

    Each sample's window starts at ``(i, j)``, drawn uniformly from ``[0, H + 2p - h] x [0, W + 2p - w]``:
    first ``i = rng.integers(0, H + 2p - h + 1, N)``, then ``j`` likewise. All N windows are gathered with one
    fancy index into a ``sliding_window_view`` of the padded batch. The CIFAR-10 recipe is
    ``RandomCrop(32, padding=4)``: 81 possible offsets, each a shift of up to 4 pixels.

    Shapes: ``(N, C, H, W)`` float -> ``(N, C, h, w)``, same dtype (a new array).
    torchvision: ``transforms.RandomCrop(size, padding, fill=fill)`` (constant padding), per sample.

    Args:
        size: int ``s`` for ``s x s``, or a pair ``(h, w)``; each >= 1.
        padding: int >= 0, added on all four sides.
        fill: finite number, the value of the padding.

    Raises:
        ConfigError: bad ``size``, ``padding`` or ``fill``; ``rng`` None or not a Generator/seed.
        ShapeError: ``x`` not ``(N, C, H, W)``, or the padded image smaller than ``size``.
        DTypeError: ``x`` not float.
    """

    def __init__(self, size, padding: int = 0, fill: float = 0.0):
        self.size = _pair(size, "size", "RandomCrop")
        self.padding = check_int(padding, "padding", "RandomCrop", min=0)
        self.fill = check_number(fill, "fill", "RandomCrop")

    def __call__(self, x, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check_batch(x, "RandomCrop")
        rng = _generator(rng, "RandomCrop")
        n, c, h, w = x.shape
        p, (ch, cw) = self.padding, self.size
        hp, wp = h + 2 * p, w + 2 * p
        if ch > hp or cw > wp:
            raise ShapeError(f"RandomCrop: size {self.size} is larger than the padded image ({hp}, {wp}) of x "
                             f"{x.shape} with padding {p}")
        if p:
            padded = np.full((n, c, hp, wp), self.fill, dtype=x.dtype)  # (N, C, H+2p, W+2p)
            padded[:, :, p:p + h, p:p + w] = x
        else:
            padded = x
        i = rng.integers(0, hp - ch + 1, size=n)  # (N,) top rows
        j = rng.integers(0, wp - cw + 1, size=n)  # (N,) left columns
        windows = np.lib.stride_tricks.sliding_window_view(padded, (ch, cw), axis=(2, 3))  # (N, C, I, J, h, w)
        # advanced indices on axes 0, 2, 3 around a slice: the broadcast N axis comes first -> (N, C, h, w)
        return windows[np.arange(n), :, i, j]

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding}, fill={self.fill})"


class RandomHorizontalFlip:
    """Flip each sample left-right with probability ``p``, independently.

    Sample k is flipped when ``rng.random(N)[k] < p`` (one draw of N numbers per call). Shapes: ``(N, C, H, W)``
    float -> same shape and dtype (a new array). torchvision: ``transforms.RandomHorizontalFlip(p)``, per sample.

    Args:
        p: number in [0, 1].

    Raises:
        ConfigError: ``p`` outside [0, 1]; ``rng`` None or not a Generator/seed.
        ShapeError: ``x`` not ``(N, C, H, W)``.
        DTypeError: ``x`` not float.
    """

    def __init__(self, p: float = 0.5):
        self.p = check_number(p, "p", "RandomHorizontalFlip", min=0, max=1)

    def __call__(self, x, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check_batch(x, "RandomHorizontalFlip")
        rng = _generator(rng, "RandomHorizontalFlip")
        flip = rng.random(x.shape[0]) < self.p  # (N,) bool
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class CenterCrop:
    """Crop the central ``size`` window of every image (the same window for the whole batch).

    The window starts at ``top = int(round((H - h) / 2))``, ``left = int(round((W - w) / 2))``; an image smaller
    than ``size`` is first zero-padded, ``(size - H) // 2`` rows above and the rest below (columns likewise),
    exactly as torchvision. Deterministic: ``rng`` is ignored.

    Shapes: ``(N, C, H, W)`` float -> ``(N, C, h, w)``, same dtype (a view when no padding is needed).
    torchvision: ``transforms.CenterCrop(size)``.

    Args:
        size: int ``s`` for ``s x s``, or a pair ``(h, w)``; each >= 1.

    Raises:
        ConfigError: bad ``size``.
        ShapeError: ``x`` not ``(N, C, H, W)``.
        DTypeError: ``x`` not float.
    """

    def __init__(self, size):
        self.size = _pair(size, "size", "CenterCrop")

    def __call__(self, x, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check_batch(x, "CenterCrop")
        ch, cw = self.size
        pt, pb, pl, pr, top, left = center_crop_box(x.shape[2], x.shape[3], ch, cw)
        if pt or pb or pl or pr:
            x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
        return x[:, :, top:top + ch, left:left + cw]

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class Resize:
    """Resize every image with Pillow's bilinear filter: an int ``size`` makes the shorter side ``size``.

    The longer side becomes ``int(size * long / short)`` (torchvision's rounding down); a pair ``(h, w)`` is the
    output size. Each channel of each image is resized as a Pillow ``"F"`` (float32) image with
    ``Image.BILINEAR``, which antialiases when shrinking, as Pillow does for ``torchvision`` PIL inputs; this
    is the one transform that loops over images. Deterministic: ``rng`` is ignored.

    Shapes: ``(N, C, H, W)`` float -> ``(N, C, new_h, new_w)``, same dtype. torchvision: ``transforms.Resize(size)``
    on PIL images (bilinear). Deviation: values are filtered in float, not rounded to uint8 as a PIL RGB image
    would be (:class:`~glassnet.data.image_folder.ImageFolder` resizes the uint8 image itself, as torchvision).

    Args:
        size: int >= 1 (shorter side), or a pair ``(h, w)``.

    Raises:
        ConfigError: bad ``size``.
        ShapeError: ``x`` not ``(N, C, H, W)``.
        DTypeError: ``x`` not float.
    """

    def __init__(self, size):
        if isinstance(size, (tuple, list)):
            self.size: int | tuple[int, int] = _pair(size, "size", "Resize")
        else:
            self.size = check_int(size, "size", "Resize", min=1)

    def __call__(self, x, rng: np.random.Generator | None = None) -> np.ndarray:
        from PIL import Image

        x = _check_batch(x, "Resize")
        n, c, h, w = x.shape
        nh, nw = resized_size(h, w, self.size)
        out = np.empty((n, c, nh, nw), dtype=x.dtype)
        for k in range(n):
            for ch in range(c):
                img = Image.fromarray(np.ascontiguousarray(x[k, ch], dtype=np.float32))  # mode "F"
                out[k, ch] = np.asarray(img.resize((nw, nh), Image.BILINEAR), dtype=np.float32)
        return out

    def __repr__(self) -> str:
        return f"Resize(size={self.size})"
