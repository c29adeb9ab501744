"""Atomic file writing: a crash mid-write never leaves a broken file behind.

Every writer writes to a temporary file in the target's directory, flushes
and fsyncs it, then ``os.replace``-s it over the target (atomic on POSIX and
Windows). A reader therefore sees either the old file or the new one.
"""

from __future__ import annotations

import glob
import io
import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.errors import ConfigError, DataError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_savez", "load_npz",
           "remove_stale_temps", "atomic_save_safetensors", "load_safetensors", "parse_safetensors"]

# mkstemp creates its file with mode 0600; a written file gets the mode open() would give it (0666 less the
# umask), or results and checkpoints would be unreadable to the rest of a team. Read once: os.umask can only
# be read by setting it, which is not safe once threads run.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _temp_prefix(name: str) -> str:
    return f".{name}."


_TEMP_SUFFIX = ".tmp"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; create parent directories. Returns the path.

    The temporary file is ``.<name>.<random>.tmp`` beside the target; a ``kill -9`` mid-write
    leaves it behind (the target is intact), and :func:`remove_stale_temps` removes it later.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        # also on KeyboardInterrupt: remove the partial temp file, keep the old target
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def remove_stale_temps(directory: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Delete the temporary files :func:`atomic_write_bytes` left in ``directory`` for the targets ``names``.

    A writer killed mid-write (``kill -9``, power loss) cannot remove its ``.<name>.<random>.tmp``;
    call this when a run starts, before it writes, so such leftovers do not pile up. Only files of
    exactly that naming, for the given target names, are touched; a missing directory is no error.
    Do not call it while another process may be writing the same targets.

    Returns:
        the paths removed.
    """
    directory = Path(directory)
    removed: list[Path] = []
    for name in names:
        pattern = glob.escape(_temp_prefix(name)) + "*" + glob.escape(_TEMP_SUFFIX)
        for tmp in directory.glob(pattern):
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NumPy scalars and arrays become numbers and lists)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False) + "\n")


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Save arrays to an ``.npz`` file atomically (no pickled objects: object arrays are refused)."""
    for k, v in arrays.items():
        if np.asarray(v).dtype == object:
            raise TypeError(f"atomic_savez: array {k!r} has dtype object, which would need pickle")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file with ``allow_pickle=False`` (never runs code from the file).

    Returns:
        name -> array, for every entry of the archive.

    Raises:
        DataError: the file is missing, or is not a readable ``.npz`` archive of arrays (random bytes,
            a single ``.npy``, a truncated or damaged archive, an encrypted entry, an unsupported
            compression method, an entry that would need unpickling); one line naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise DataError(f"{path} is not a readable .npz archive: it is a single .npy array")
        with z:
            return {k: z[k] for k in z.files}
    except DataError:
        raise
    except NotImplementedError:  # zipfile: "That compression method is not supported"
        raise DataError(f"{path} is not a readable .npz archive: an entry uses an unknown compression") from None
    except RuntimeError:  # zipfile: "File ... is encrypted, password required for extraction"
        raise DataError(f"{path} is not a readable .npz archive: an entry is encrypted") from None
    except ValueError as e:
        # NumPy's message for data that is neither zip nor .npy suggests allow_pickle=True: never do that
        what = "an entry holds pickled objects, which are refused" if "pickle" in str(e) and zipfile.is_zipfile(path) \
            else "neither a zip archive nor an .npy array"
        raise DataError(f"{path} is not a readable .npz archive: {what}") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path} is not a readable .npz archive ({detail})") from None


def atomic_save_safetensors(path: str | os.PathLike, arrays: dict[str, np.ndarray],
                            metadata: dict[str, str] | None = None) -> Path:
    """Save arrays (and a ``str -> str`` metadata map) as a ``.safetensors`` file, atomically.

    The bytes come from the reference writer, ``safetensors.numpy.save`` (an optional extra, imported here
    only); arrays are made C-contiguous first, since the format stores dense row-major data.

    Raises:
        ConfigError: the ``safetensors`` package is not installed (``pip install 'glassnet[safetensors]'``),
            or ``metadata`` is not a dict of strings to strings.
        TypeError: an array of dtype object.
    """
    if metadata is not None and (not isinstance(metadata, dict)
                                 or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise ConfigError(f"safetensors: metadata must be a dict of str to str, got {metadata!r:.80}")
    try:
        from safetensors.numpy import save as safetensors_save
    except ImportError:
        raise ConfigError("writing .safetensors needs the safetensors package, which is not installed: "
                          "pip install 'glassnet[safetensors]' (or safetensors)") from None
    dense = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype == object:
            raise TypeError(f"atomic_save_safetensors: array {k!r} has dtype object")
        dense[k] = np.array(a, order="C", copy=None)  # not ascontiguousarray: it makes a 0-d array 1-d
    return atomic_write_bytes(path, safetensors_save(dense, metadata=metadata))


# safetensors dtype codes (spec: https://github.com/huggingface/safetensors, "Format"); BF16 is read as float32
_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
              "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?", "BF16": "bfloat16"}


def _st_int(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise DataError(f"{what} must be an int >= 0, got {x!r:.40}")
    return x


def parse_safetensors(data: bytes, path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Decode the bytes of a safetensors file into ``(arrays, metadata)`` without any third-party code.

    Format: an 8-byte little-endian unsigned header length ``n``, ``n`` bytes of UTF-8 JSON
    ``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {str: str}}``
    (offsets relative to the end of the header), then the little-endian data. Arrays come out C-contiguous
    in native byte order, of the stored dtype (``BF16`` becomes float32, exactly).

    Raises:
        DataError: a short or truncated file, a header that is not a JSON object, an entry without dtype,
            shape or data_offsets, an unknown dtype, offsets that do not fit the shape or the data; one line
            naming ``path``.
    """
    if len(data) < 8:
        raise DataError(f"{path}: not a safetensors file: {len(data)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise DataError(f"{path}: safetensors header of {n} bytes runs past the end of the file "
                        f"({len(data)} bytes): truncated, or not a safetensors file")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: safetensors header is not UTF-8 JSON ({type(e).__name__})") from None
    if not isinstance(header, dict):
        raise DataError(f"{path}: safetensors header is not a JSON object")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise DataError(f"{path}: safetensors __metadata__ must be a map of strings to strings")
    body = memoryview(data)[8 + n:]
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise DataError(f"{path}: safetensors entry {name!r} lacks dtype, shape or data_offsets")
        dt = _ST_DTYPES.get(info["dtype"])
        if dt is None:
            raise DataError(f"{path}: safetensors entry {name!r} has unsupported dtype {info['dtype']!r:.20}")
        if not isinstance(info["shape"], list) or not isinstance(info["data_offsets"], list) \
                or len(info["data_offsets"]) != 2:
            raise DataError(f"{path}: safetensors entry {name!r} needs a shape list and two data_offsets")
        shape = tuple(_st_int(s, f"{path}: {name}'s shape") for s in info["shape"])
        lo, hi = (_st_int(o, f"{path}: {name}'s data_offsets") for o in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64))
        item = 2 if dt == "bfloat16" else np.dtype(dt).itemsize
        if hi > len(body) or hi - lo != count * item:
            raise DataError(f"{path}: safetensors entry {name!r} data_offsets [{lo}, {hi}] do not fit its shape "
                            f"{shape} x {item} bytes or the file's {len(body)} data bytes (truncated?)")
        buf = bytes(body[lo:hi])
        if dt == "bfloat16":  # bfloat16 is the top half of a float32
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(buf, dtype=dt).astype(np.dtype(dt).newbyteorder("="))
        out[name] = a.reshape(shape).copy()
    return out, dict(metadata)


def load_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a ``.safetensors`` file into ``(arrays, metadata)`` (:func:`parse_safetensors`; needs no extra).

    Raises:
        DataError: the file is missing or unreadable, or :func:`parse_safetensors` refuses it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    return parse_safetensors(data, str(path))
