"""Atomic file writing: a crash mid-write never leaves a broken file behind.

Every writer writes to a temporary file in the target's directory, flushes
and fsyncs it, then ``os.replace``-s it over the target (atomic on POSIX and
Windows). A reader therefore sees either the old file or the new one.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_savez", "load_npz"]

# mkstemp creates its file with mode 0600; a written file gets the mode open() would give it (0666 less the
# umask), or results and checkpoints would be unreadable to the rest of a team. Read once: os.umask can only
# be read by setting it, which is not safe once threads run.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; create parent directories. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    """Load every array of an ``.npz`` file with ``allow_pickle=False`` (never runs code from the file)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
