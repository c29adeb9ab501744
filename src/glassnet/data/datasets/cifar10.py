"""CIFAR-10, read from the official "python version" pickle batches without running code from them.

Source: Krizhevsky, *Learning Multiple Layers of Features from Tiny Images* (2009),
https://www.cs.toronto.edu/~kriz/cifar.html, archive ``cifar-10-python.tar.gz``.
Licence: no explicit licence; the authors ask that the tech report be cited when the data set is used.

A pickle can run any code it names, so a batch is (1) checked against a known sha256 — the archive's
published hash, the per-member hashes recorded when that verified archive was extracted, or the hashes of
the shared subset — and (2) read with :class:`RestrictedUnpickler`, which resolves only the few globals a
NumPy array needs and refuses everything else before it can be called.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np

from glassnet.data.datasets.catalog import register
from glassnet.data.download import dataset_dir, fetch, offline_hint, verify_file
from glassnet.errors import ConfigError, DataError

try:  # NumPy >= 2 moved numpy.core to numpy._core; pickles name either, both resolve here
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray

__all__ = [
    "load_cifar10", "read_cifar_batch", "RestrictedUnpickler", "RefusedGlobal", "CIFAR10_CLASSES", "CIFAR10_SHA256",
]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_ARCHIVE = "cifar-10-python.tar.gz"
_MEMBER_DIR = "cifar-10-batches-py"

#: sha256 of the official archive (published by Keras and TensorFlow Datasets, 170,498,071 bytes) and of the
#: files of the shared 8k subset in ``/work/shared/data/cifar10``.
CIFAR10_SHA256 = {
    _ARCHIVE: "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "cifar10_8k_batch": "21dace80d8aedc1ea27023f846f9d4456f4d88445ceda67fefffcea059780cbc",
    "batches.meta": "77aa756a2f99e6ac00ef1213b1bd85d5af5b1534353bd4dcdb5670d49defd668",
}

#: class names in label order (``batches.meta`` ``label_names``).
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class RefusedGlobal(pickle.UnpicklingError):
    """A data pickle named a global outside the allowed NumPy set (raised before anything is called)."""


def _latin1_encode(obj, encoding="latin1", errors="strict"):
    # Python 3 writes bytes in protocol-2 pickles as _codecs.encode(str, "latin1"); allow exactly that.
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1"):
        raise RefusedGlobal(f"refused _codecs.encode({type(obj).__name__}, {encoding!r})")
    return obj.encode("latin1", errors)


def _frombuffer(buf, dtype, shape, order):
    # protocol-5 array pickles call numpy's _frombuffer(buf, dtype, shape, order): a view of plain bytes
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler for data-only pickles: dicts, lists, tuples, str, bytes, numbers and NumPy arrays.

    ``find_class`` is the only way a pickle reaches a callable; it returns an object only for the globals
    an ndarray pickle names (``_reconstruct``, ``ndarray``, ``dtype``, the scalar constructor, ``_frombuffer``
    for protocol 5) under either NumPy module path, plus a latin-1-only ``_codecs.encode``. Anything else —
    ``os.system``, ``builtins.eval``, ``subprocess.Popen`` — raises :class:`RefusedGlobal` (an
    ``UnpicklingError``) before it can be called.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
        ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
        ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"refused global {module}.{name}: only NumPy arrays and plain "
                                         "containers may appear in a data pickle") from None

    def persistent_load(self, pid):
        raise RefusedGlobal("refused persistent id: only NumPy arrays and plain containers are allowed")


def _unpickle(path: Path) -> object:
    try:
        return RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(f"read_cifar_batch: no such file: {path}") from None
    except RefusedGlobal as e:
        raise DataError(f"read_cifar_batch: {path} is refused as unsafe, nothing in it was run: {e}") from e
    except Exception as e:  # a corrupt pickle can raise almost anything; none of it may escape unnamed
        raise DataError(f"read_cifar_batch: {path} is not a valid CIFAR-10 batch: {type(e).__name__}: {e}") from e


def read_cifar_batch(path: str | os.PathLike, sha256: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR python batch: sha256 check (see :func:`~glassnet.data.download.verify_file`), then
    a restricted unpickle.

    The batch is a dict with ``b"data"``: uint8 ``(N, 3072)``, each row the 1024 red, then green, then blue
    values of a 32x32 image in row-major order, and ``b"labels"``: N ints in [0, 9].

    Returns:
        x uint8 ``(N, 3, 32, 32)`` (N, C, H, W), y int64 ``(N,)``.

    Raises:
        DataError: missing file, sha256 mismatch, a refused global (e.g. a pickle that would call
            ``os.system``), or a dict without the expected keys, shapes, dtype or label range.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"read_cifar_batch: no such file: {path}")
    verify_file(path, sha256)
    batch = _unpickle(path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(f"read_cifar_batch: {path} must hold a dict with b'data' and b'labels', got {keys}")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"read_cifar_batch: {path} b'data' must be uint8 (N, 3072), got {got}")
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as e:
        raise DataError(f"read_cifar_batch: {path} b'labels' must be a list of ints: {e}") from e
    if y.shape != (len(data),) or (y.size and (y.min() < 0 or y.max() > 9)):
        raise DataError(f"read_cifar_batch: {path} b'labels' must be {len(data)} ints in 0..9, got shape {y.shape}")
    return data.reshape(-1, 3, 32, 32), y  # (N, 3072) -> (N, C, H, W): rows are R plane, G plane, B plane


def _find_batch(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / _MEMBER_DIR / name):
        if candidate.is_file():
            return candidate
    return None


@register("cifar10", "CIFAR-10 tiny colour images, 3x32x32, 10 classes (50k train + 10k test; python pickle batches)")
def load_cifar10(root: str | os.PathLike | None = None, batch: str | list[str] = "data_batch_1",
                 download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load one or several CIFAR-10 python batches, concatenated in the order given.

    Shapes: x ``(N, 3, 32, 32)`` uint8 in [0, 255] (N, C, H, W with C = RGB), y ``(N,)`` int64 in [0, 9]
    (class names in :data:`CIFAR10_CLASSES`). Each official batch has N = 10000; ``"cifar10_8k_batch"``
    (``/work/shared/data/cifar10``) has 8000 test images, 800 per class, decoded from JPEG copies.

    Source: https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (sha256 in :data:`CIFAR10_SHA256`); the
    archive is extracted with tarfile's "data" filter into ``<root>/cifar10/cifar-10-batches-py``, and each
    batch's sha256 is recorded at extraction and checked before every unpickle. Licence: cite Krizhevsky 2009.

    Args:
        root: data home or the folder holding the batches; None: ``$GLASSNET_DATA`` or ``~/.cache/glassnet``.
        batch: ``"data_batch_1"`` … ``"data_batch_5"``, ``"test_batch"``, ``"cifar10_8k_batch"``, or a list.
        download: download and extract the official archive when an official batch is missing.

    Raises:
        ConfigError: ``batch`` is not a name or a non-empty list of names.
        DataError: a batch is missing (download=False, or not an official name), fails its sha256 check,
            or is not a valid batch (see :func:`read_cifar_batch`).
    """
    names = [batch] if isinstance(batch, str) else list(batch) if isinstance(batch, (list, tuple)) else None
    if not names or not all(isinstance(n, str) and n and "/" not in n for n in names):
        raise ConfigError(f"load_cifar10: batch must be a batch name like 'data_batch_1' or a list of them, "
                          f"got {batch!r}")
    folder = dataset_dir("cifar10", root, probe=names[0])
    xs, ys = [], []
    for name in names:
        path = _find_batch(folder, name)
        if path is None:
            official = name == "test_batch" or name.startswith("data_batch_")
            if not (download and official):
                why = "download=False" if official else "not an official batch name, nothing to download"
                raise DataError(f"load_cifar10: no such file: {folder / name} ({why})")
            try:
                fetch(CIFAR10_URL, CIFAR10_SHA256[_ARCHIVE], folder, extract=True)
            except DataError as e:
                raise DataError(f"load_cifar10: {' '.join(str(e).split())}; {offline_hint(names)}") from e
            path = _find_batch(folder, name)
            if path is None:
                raise DataError(f"load_cifar10: {name} is not in {CIFAR10_URL}")
        x, y = read_cifar_batch(path, CIFAR10_SHA256.get(name))
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)
