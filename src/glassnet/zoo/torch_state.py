"""Read PyTorch state dicts (``torch.save`` files, safetensors) as NumPy arrays, without torch or pickle code.

:func:`load_torch_state_dict` reads three formats; none of them is loaded by running code from the file
(DESIGN.md's rule on files). torch is never imported.

**zip** (the ``torch.save`` default since torch 1.6; writer and reader: ``torch/serialization.py``,
``_save`` and ``_load``): a zip archive (stored, not compressed) whose entries share one top folder, usually
``archive/``:

* ``archive/data.pkl`` — the pickled object. Every storage in it is a *persistent id*
  ``("storage", storage_type, key, location, numel)`` where ``storage_type`` is a global such as
  ``torch.FloatStorage``; tensors are ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
  requires_grad, backward_hooks[, metadata])`` (``nn.Parameter``: ``torch._utils._rebuild_parameter(tensor,
  requires_grad, backward_hooks)``), a state dict is a ``collections.OrderedDict``;
* ``archive/data/<key>`` — the raw bytes of storage ``key``;
* ``archive/byteorder`` — ``little`` or ``big`` (absent in old files: then little, as torch assumes); big-endian
  storages are byteswapped to native order; ``archive/version`` and the other records are not needed.

**legacy** (``torch.save(..., _use_new_zipfile_serialization=False)``, and every file from torch < 1.6, e.g. the
pretrained ResNets of ``/work/shared/data/pretrained``; ``torch/serialization.py``, ``_legacy_save`` and
``_legacy_load``): five pickles, then raw bytes, one after the other in one stream:

1. the magic number ``0x1950a86a20f9469cfc6c``; 2. the protocol version ``1001``; 3. the sys-info dict
   (``little_endian``, ``type_sizes``, ...);
4. the object, whose persistent ids are ``("storage", storage_type, root_key, location, numel, view_metadata)``
   (``view_metadata``: ``None`` or ``(view_key, offset, view_numel)``, a slice of the root storage, in elements);
5. the list of root storage keys; then, for each key in that order, an 8-byte little-endian (sys-info's byte
   order) element count followed by ``count * itemsize`` bytes of data.

**safetensors**: read by :func:`glassnet.fileio.parse_safetensors` (the format is described there; shared with
``glassnet.load``). Dtypes read: ``F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL`` (and ``U16 U32 U64``).

The pickles are read with a :class:`pickle.Unpickler` whose ``find_class`` admits only
``collections.OrderedDict``, ``torch._utils._rebuild_tensor``, ``torch._utils._rebuild_tensor_v2``,
``torch._utils._rebuild_parameter``, the typed storage classes ``torch.{Float,Double,Half,BFloat16,Long,Int,Short,
Char,Byte,Bool,ComplexFloat,ComplexDouble}Storage`` and ``torch.storage.UntypedStorage`` / ``TypedStorage`` (read
as bytes); each is mapped to a stand-in defined here, never to torch's object. Any other global is refused.

Tensors come out as C-contiguous NumPy arrays of the storage's dtype (``float32``, ``float64``, ``float16``,
``int64``, ``int32``, ``int16``, ``int8``, ``uint8``, ``bool``, ``complex64``, ``complex128``; **bfloat16 becomes
float32**, exactly, since NumPy has no bfloat16), the saved shape, and the values the saved strides and storage
offset select; two entries sharing a storage become two independent arrays.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from typing import Any

import numpy as np

from glassnet.errors import DataError
from glassnet.fileio import parse_safetensors

__all__ = ["load_torch_state_dict", "strip_prefix"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_BF16 = "bfloat16"


class _StorageType:
    """Stand-in for a torch storage class (``torch.FloatStorage`` ...): only its element dtype."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: np.dtype | str):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", dtype)  # a numpy dtype, or _BF16

    def __setattr__(self, name: str, value: Any) -> None:  # shared by every load: a pickle's BUILD must not edit it
        raise DataError(f"a storage type cannot be modified (attribute {name!r})")

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == _BF16 else np.dtype(self.dtype).itemsize

    def __repr__(self) -> str:
        return f"torch.{self.name}"


_STORAGE_TYPES = {
    name: _StorageType(name, dt)
    for name, dt in [
        ("FloatStorage", np.dtype("float32")), ("DoubleStorage", np.dtype("float64")),
        ("HalfStorage", np.dtype("float16")), ("BFloat16Storage", _BF16),
        ("LongStorage", np.dtype("int64")), ("IntStorage", np.dtype("int32")),
        ("ShortStorage", np.dtype("int16")), ("CharStorage", np.dtype("int8")),
        ("ByteStorage", np.dtype("uint8")), ("BoolStorage", np.dtype("bool")),
        ("ComplexFloatStorage", np.dtype("complex64")), ("ComplexDoubleStorage", np.dtype("complex128")),
    ]
}
_UNTYPED = _StorageType("UntypedStorage", np.dtype("uint8"))


class _Storage:
    """Stand-in for a loaded storage: its type and (once read) its raw bytes, in the file's byte order."""

    __slots__ = ("stype", "key", "numel", "data", "base", "offset")

    def __init__(self, stype: _StorageType, key: str, numel: int):
        self.stype, self.key, self.numel = stype, key, numel
        self.data: bytes | None = None
        self.base: _Storage | None = None  # legacy views: a slice of ``base`` starting at element ``offset``
        self.offset = 0

    def raw(self) -> bytes:
        if self.base is not None:
            b = self.base.raw()
            lo = self.offset * self.stype.itemsize
            out = b[lo:lo + self.numel * self.stype.itemsize]
        else:
            out = self.data
        if out is None or len(out) < self.numel * self.stype.itemsize:
            raise DataError(f"storage {self.key!r} has no data or too little ({0 if out is None else len(out)} "
                            f"bytes for {self.numel} elements of {self.stype!r})")
        return out


class _TensorRef:
    """Stand-in for a rebuilt tensor; turned into a NumPy array once every storage's bytes are known."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _int(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise DataError(f"{what} must be an int >= 0, got {x!r}")
    return x


def _rebuild_tensor(storage, storage_offset, size, stride, *_rest):
    # torch._utils._rebuild_tensor(storage, storage_offset, size, stride) and
    # _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None)
    if not isinstance(storage, _Storage):
        raise DataError(f"a tensor's storage must be a saved storage, got {type(storage).__name__}")
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)) or len(size) != len(stride):
        raise DataError(f"a tensor's size and stride must be tuples of one length, got {size!r} and {stride!r}")
    size = tuple(_int(s, "a tensor's size") for s in size)
    stride = tuple(_int(s, "a tensor's stride") for s in stride)
    return _TensorRef(storage, _int(storage_offset, "a tensor's storage_offset"), size, stride)


def _rebuild_parameter(data, requires_grad=None, backward_hooks=None, *_rest):
    if not isinstance(data, _TensorRef):
        raise DataError(f"a Parameter must wrap a tensor, got {type(data).__name__}")
    return data


class _Callable:
    """An admitted callable that a pickle's BUILD cannot modify (a plain function's attributes could be set)."""

    __slots__ = ("_fn",)

    def __init__(self, fn):
        object.__setattr__(self, "_fn", fn)

    def __call__(self, *args):
        return self._fn(*args)

    def __setattr__(self, name: str, value: Any) -> None:
        raise DataError(f"a rebuild function cannot be modified (attribute {name!r})")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _Callable(_rebuild_tensor),
    ("torch._utils", "_rebuild_tensor_v2"): _Callable(_rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): _Callable(_rebuild_parameter),
    ("torch.storage", "UntypedStorage"): _UNTYPED,
    ("torch", "UntypedStorage"): _UNTYPED,
    ("torch.storage", "TypedStorage"): _UNTYPED,
    **{("torch", name): st for name, st in _STORAGE_TYPES.items()},
}


class _Unpickler(pickle.Unpickler):
    """Admits only the globals of ``_ALLOWED`` (stand-ins); resolves ``("storage", ...)`` persistent ids."""

    def __init__(self, file, path: str, storages: dict[str, _Storage], legacy: bool):
        super().__init__(file, encoding="latin1")
        self._path, self._storages, self._legacy = path, storages, legacy

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            module = {"__builtin__": "builtins", "posix": "os", "nt": "os"}.get(module, module)
            raise DataError(f"refusing to load global {module}.{name}: {self._path} may run code when unpickled; "
                            f"only torch tensors, storages and OrderedDicts are read") from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid:
            raise DataError(f"unknown persistent id {pid!r:.80}")
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind != "storage" or len(pid) != (6 if self._legacy else 5):
            raise DataError(f"unknown persistent id {pid!r:.80}")
        stype, key, _location, numel = pid[1:5]
        if not isinstance(stype, _StorageType):
            raise DataError(f"a storage's type must be a torch storage class, got {stype!r:.80}")
        key = key.decode("ascii") if isinstance(key, bytes) else str(key)
        numel = _int(numel, "a storage's numel")
        st = self._storages.get(key)
        if st is None:
            st = self._storages[key] = _Storage(stype, key, numel)
        elif st.stype is not stype and stype is not _UNTYPED:
            if st.stype is _UNTYPED:  # first seen as bytes, now typed: reinterpret
                st.stype, st.numel = stype, st.numel // stype.itemsize
            else:
                raise DataError(f"storage {key!r} is saved as both {st.stype!r} and {stype!r}")
        view = pid[5] if self._legacy else None
        if view is None:
            return st
        if not isinstance(view, tuple) or len(view) != 3:
            raise DataError(f"a storage view must be (key, offset, size), got {view!r:.80}")
        vkey = view[0].decode("ascii") if isinstance(view[0], bytes) else str(view[0])
        v = self._storages.get("view:" + vkey)
        if v is None:
            v = _Storage(stype, vkey, _int(view[2], "a storage view's size"))
            v.base, v.offset = st, _int(view[1], "a storage view's offset")
            self._storages["view:" + vkey] = v
        return v


def _as_array(t: _TensorRef, little: bool, cache: dict[int, np.ndarray]) -> np.ndarray:
    st = t.storage
    flat = cache.get(id(st))
    if flat is None:
        raw = st.raw()
        if st.stype.dtype == _BF16:
            u = np.frombuffer(raw, dtype="<u2" if little else ">u2", count=st.numel)
            flat = (u.astype(np.uint32) << 16).view(np.float32)
        else:
            dt = np.dtype(st.stype.dtype).newbyteorder("<" if little else ">")
            flat = np.frombuffer(raw, dtype=dt, count=st.numel)
            if dt.byteorder not in ("=", "|"):
                flat = flat.astype(dt.newbyteorder("="))
        cache[id(st)] = flat
    n = flat.size
    if any(s == 0 for s in t.size):
        return np.zeros(t.size, dtype=flat.dtype)
    last = t.offset + sum((s - 1) * d for s, d in zip(t.size, t.stride))
    if last >= n:
        raise DataError(f"a tensor of size {t.size}, stride {t.stride} and offset {t.offset} reads element {last} "
                        f"of a storage of {n} elements")
    item = flat.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(flat[t.offset:], shape=t.size, strides=tuple(d * item for d in t.stride),
                                           writeable=False)
    return np.array(view, copy=True, order="C")


def _materialize(obj: Any, little: bool, cache: dict[int, np.ndarray], depth: int = 0) -> Any:
    if depth > 100:
        raise DataError("the saved object is nested more than 100 levels deep")
    if isinstance(obj, _TensorRef):
        return _as_array(obj, little, cache)
    if isinstance(obj, _Storage):
        raise DataError("a bare storage (not a tensor) cannot be read as an array")
    if isinstance(obj, dict):
        return {k: _materialize(v, little, cache, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v, little, cache, depth + 1) for v in obj)
    return obj


def _load_zip(data: bytes, path: str) -> Any:
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    for info in zf.infolist():  # torch stores its records uncompressed; refuse a zip bomb before inflating it
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > 1000 * max(info.compress_size, 1):
            raise DataError(f"{path}: record {info.filename} inflates {info.compress_size} bytes to {info.file_size}")
    pkl = [n for n in names if n == "data.pkl" or (n.endswith("/data.pkl") and n.count("/") == 1)]
    if len(pkl) != 1:
        raise DataError(f"{path}: a zip file but not a torch.save archive (no <folder>/data.pkl)")
    prefix = pkl[0][: -len("data.pkl")]
    little = True
    if prefix + "byteorder" in names:
        order = zf.read(prefix + "byteorder").strip()
        if order not in (b"little", b"big"):
            raise DataError(f"{path}: byteorder record must be 'little' or 'big', got {order[:20]!r}")
        little = order == b"little"
    storages: dict[str, _Storage] = {}
    obj = _Unpickler(io.BytesIO(zf.read(pkl[0])), path, storages, legacy=False).load()
    for key, st in storages.items():
        name = f"{prefix}data/{key}"
        if name not in names:
            raise DataError(f"{path}: storage record {name} is missing")
        if zf.getinfo(name).file_size < st.numel * st.stype.itemsize:
            raise DataError(f"{path}: storage record {name} holds {zf.getinfo(name).file_size} bytes, "
                            f"{st.numel} elements of {st.stype!r} need {st.numel * st.stype.itemsize}")
        st.data = zf.read(name)
    return _materialize(obj, little, {})


def _load_legacy(data: bytes, path: str) -> Any:
    f = io.BytesIO(data)

    def plain(what: str) -> Any:  # the header pickles hold ints and dicts only: no globals at all
        class Plain(_Unpickler):
            def find_class(self, module, name):
                raise DataError(f"refusing to load global {module}.{name}: {path}'s {what} must be plain data")

        return Plain(f, path, {}, legacy=True).load()

    if plain("magic number") != _LEGACY_MAGIC:
        raise DataError(f"{path}: not a torch.save file (wrong magic number)")
    if plain("protocol version") != _LEGACY_PROTOCOL:
        raise DataError(f"{path}: unsupported torch legacy protocol version")
    info = plain("sys info")
    little = bool(info.get("little_endian", True)) if isinstance(info, dict) else True
    storages: dict[str, _Storage] = {}
    obj = _Unpickler(f, path, storages, legacy=True).load()
    keys = plain("storage key list")
    if not isinstance(keys, list):
        raise DataError(f"{path}: the storage key list is a {type(keys).__name__}, not a list")
    for key in keys:
        key = key.decode("ascii") if isinstance(key, bytes) else str(key)
        st = storages.get(key)
        if st is None:
            raise DataError(f"{path}: storage {key!r} listed but not used")
        head = f.read(8)
        if len(head) != 8:
            raise DataError(f"{path}: truncated before storage {key!r}")
        count = struct.unpack("<q" if little else ">q", head)[0]
        nbytes = count * st.stype.itemsize
        if count < 0 or f.tell() + nbytes > len(data):
            raise DataError(f"{path}: storage {key!r} of {count} elements runs past the end of the file")
        st.data = f.read(nbytes)
        st.numel = count
    return _materialize(obj, little, {})


def _select(obj: Any, key: str | None, path: str) -> dict[str, np.ndarray]:
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            have = sorted(map(str, obj))[:10] if isinstance(obj, dict) else type(obj).__name__
            raise DataError(f"load_torch_state_dict: key {key!r} is not in {path}; it holds {have}")
        obj = obj[key]
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        where = f"entry {key!r} of {path}" if key is not None else path
        raise DataError(f"{where} is a {type(obj).__name__}, not a dict of tensors")
    out: dict[str, np.ndarray] = {}
    for k, v in obj.items():
        if not isinstance(v, np.ndarray):
            raise DataError(f"{path}: entry {k!r} is a {type(v).__name__}, not a tensor; pass key= to pick "
                            f"a dict of tensors")
        out[str(k)] = v
    return out


def load_torch_state_dict(path: str | os.PathLike, *, key: str | None = None) -> dict[str, np.ndarray]:
    """Read a ``torch.save`` file (zip or legacy format) or a safetensors file into ``{name: numpy.ndarray}``.

    Never imports torch and never runs code from the file: pickles are read by an unpickler that maps the few
    globals a state dict needs to stand-ins defined here (see the module docstring for the formats, after
    ``torch/serialization.py`` and the safetensors spec) and refuses every other.

    Args:
        path: the file. Its format is sniffed: a zip archive, a legacy stream (starts with a pickle), else
            safetensors (8-byte header length + JSON header).
        key: the entry of the saved top-level dict to return (e.g. ``"model"``). ``None``: the top-level dict
            itself, or its ``"state_dict"`` entry when it has one that is a dict (the pretrained ResNets are
            ``{"state_dict": ..., "best_prec1": ...}``).

    Returns:
        ``dict`` from the saved names, unchanged (``module.`` prefixes stay; see :func:`strip_prefix`), to
        C-contiguous arrays of the saved shape and dtype (bfloat16 -> float32); 0-d tensors become 0-d arrays.

    Raises:
        DataError: one line, for a missing or unreadable file, an unknown format, a truncated or corrupt file,
            a refused pickle global (``refusing to load global os.system: ...``), a missing ``key``, or an entry
            that is not a tensor.
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise DataError(f"load_torch_state_dict: cannot read {p}: {e.strerror or e}") from None
    if not data:
        raise DataError(f"load_torch_state_dict: {p} is empty")
    try:
        if data[:4] == b"PK\x03\x04" or zipfile.is_zipfile(io.BytesIO(data)):
            obj = _load_zip(data, p)
        elif data[:1] == b"\x80":
            obj = _load_legacy(data, p)
        elif len(data) >= 10 and data[8:9] == b"{":
            return _select(parse_safetensors(data, p)[0], key, p)
        else:
            raise DataError(f"{p}: neither a torch.save file (zip or legacy) nor safetensors")
        return _select(obj, key, p)
    except DataError as e:
        msg = " ".join(str(e).split())
        raise DataError(msg if p in msg else f"load_torch_state_dict: {p}: {msg}") from None
    except RecursionError:
        raise DataError(f"load_torch_state_dict: {p}: nested too deeply") from None
    except Exception as e:  # corrupt pickle / zip / JSON: whatever the parser raises becomes one DataError line
        msg = " ".join(f"{type(e).__name__}: {e}".split())[:200]
        raise DataError(f"load_torch_state_dict: {p} is truncated or corrupt ({msg})") from None


def strip_prefix(state: dict[str, Any], prefix: str = "module.") -> dict[str, Any]:
    """Return a new dict with ``prefix`` removed from every key that starts with it (others kept as they are).

    ``module.`` is what ``nn.DataParallel`` puts before every name (the pretrained ResNets carry it).

    Raises:
        DataError: two keys become the same after stripping.
    """
    out: dict[str, Any] = {}
    source: dict[str, str] = {}
    for k, v in state.items():
        nk = k[len(prefix):] if prefix and k.startswith(prefix) else k
        if nk in out:
            raise DataError(f"strip_prefix: keys {source[nk]!r} and {k!r} both become {nk!r} without {prefix!r}")
        out[nk], source[nk] = v, k
    return out

