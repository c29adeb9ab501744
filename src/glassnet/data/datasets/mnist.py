"""MNIST handwritten digits, read from the official IDX gzip files.

Source: LeCun, Cortes & Burges, http://yann.lecun.com/exdb/mnist/ (downloaded from the mirrors that
torchvision and TensorFlow Datasets use, since the original host refuses scripted downloads).
Licence: CC BY-SA 3.0 (as stated by the mirrors).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from glassnet.data.datasets.catalog import register
from glassnet.data.download import dataset_dir, ensure_file
from glassnet.errors import ConfigError, DataError

__all__ = ["load_mnist", "read_idx", "MNIST_SHA256"]

_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: sha256 of the official files (published by TensorFlow Datasets, torchvision and Keras) and of the
#: ``mnist8k`` subset in ``/work/shared/data/mnist`` (first 8,000 images of t10k).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "mnist8k-images-idx3-ubyte.gz": "e6edec297155d01214c6d828796e560d18c2d11ff7789e9ca480b5ff32ed8ff3",
    "mnist8k-labels-idx1-ubyte.gz": "a4519f3b56984ff8d3a6ce4514cfe6590bae9e5a744e2549037cebe117d87d4b",
}
_OFFICIAL_PREFIXES = ("train", "t10k")

# IDX type code (third magic byte) -> big-endian dtype
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed if its name ends in ``.gz``) into an array.

    Format (LeCun's page): magic ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then
    the data in C order. The returned array has native byte order.

    Raises:
        DataError: the file is missing, not gzip, has a bad magic number or type code, or its data is
            shorter or longer than the header says (the message names the file).
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"read_idx: no such file: {path}") from None
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; truncated gzip is EOFError
        raise DataError(f"read_idx: {path} is not a readable gzip file: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"read_idx: {path} is not an IDX file: bad magic number {raw[:4].hex() or '(empty)'}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"read_idx: {path} has a truncated header: {ndim} dimensions need {header} bytes, "
                        f"got {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[raw[2]]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"read_idx: {path} is truncated or corrupt: header shape {shape} needs {expected} "
                        f"data bytes, got {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


@register("mnist", "MNIST handwritten digits, 28x28 grey images, 10 classes (60k train + 10k test; IDX gzip)")
def load_mnist(root: str | os.PathLike | None = None, prefix: str = "train",
               download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels from ``{prefix}-images-idx3-ubyte.gz`` / ``{prefix}-labels-idx1-ubyte.gz``.

    Shapes: x ``(N, 28, 28)`` uint8 in [0, 255] (row-major, white digit on black), y ``(N,)`` int64 in [0, 9].
    N = 60000 for ``"train"``, 10000 for ``"t10k"``, 8000 for the shared ``"mnist8k"`` subset.

    Source: http://yann.lecun.com/exdb/mnist/ via the torchvision / TFDS mirrors; licence CC BY-SA 3.0.
    sha256: see :data:`MNIST_SHA256` (checked on every load for these file names).

    Args:
        root: data home or the folder holding the files; None: ``$GLASSNET_DATA`` or ``~/.cache/glassnet``
            (the files are in ``<root>/mnist``).
        prefix: ``"train"``, ``"t10k"`` (official, downloadable), or any other prefix of files already present
            (``"mnist8k"`` in ``/work/shared/data``).
        download: download missing official files.

    Raises:
        ConfigError: ``prefix`` is not a non-empty string.
        DataError: a file is missing (download=False or not an official prefix), fails its sha256 check, is
            not a valid IDX file, or images and labels disagree (count, 28x28, labels outside 0..9).
    """
    if not isinstance(prefix, str) or not prefix or "/" in prefix:
        raise ConfigError(f"load_mnist: prefix must be a file-name prefix like 'train' or 't10k', got {prefix!r}")
    names = (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz")
    folder = dataset_dir("mnist", root, probe=names[0])
    paths = [
        ensure_file("load_mnist", folder, name,
                    urls=[m + name for m in _MIRRORS] if prefix in _OFFICIAL_PREFIXES else (),
                    sha256=MNIST_SHA256.get(name), download=download, expected=names)
        for name in names
    ]
    x, y = read_idx(paths[0]), read_idx(paths[1])
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError(f"load_mnist: {paths[0]} must hold uint8 images (N, 28, 28), got {x.dtype} {x.shape}")
    if y.dtype != np.uint8 or y.ndim != 1 or len(y) != len(x):
        raise DataError(f"load_mnist: {paths[1]} must hold {len(x)} uint8 labels (N,), got {y.dtype} {y.shape}")
    if y.size and y.max() > 9:
        raise DataError(f"load_mnist: {paths[1]} holds a label {int(y.max())} outside 0..9")
    return x, y.astype(np.int64)
