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
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.errors import DataError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_savez", "load_npz",
           "remove_stale_temps"]

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
