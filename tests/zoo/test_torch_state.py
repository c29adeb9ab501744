"""``glassnet.zoo.torch_state``: torch.save files (zip and legacy) and safetensors read without torch or pickle code."""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from glassnet.errors import DataError
from glassnet.zoo.torch_state import load_torch_state_dict, strip_prefix

torch = pytest.importorskip("torch")

PRETRAINED = Path("/work/shared/data/pretrained")
FORMATS = [pytest.param(True, id="zip"), pytest.param(False, id="legacy")]


def _save(obj, path: Path, zip_format: bool) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=zip_format)
    assert zipfile.is_zipfile(path) == zip_format
    return path


def _assert_same(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for k, t in want.items():
        a = got[k]
        ref = t.detach().numpy()
        assert isinstance(a, np.ndarray), k
        assert a.dtype == ref.dtype, (k, a.dtype, ref.dtype)
        assert a.shape == ref.shape, k
        assert a.flags.c_contiguous, k
        np.testing.assert_array_equal(a, ref, err_msg=k)


def _one_line_data_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert excinfo.type is DataError
    assert "\n" not in msg and msg
    return msg


@pytest.mark.parametrize("zip_format", FORMATS)
def test_round_trip_dtypes_views_and_shared_storage(tmp_path, zip_format):
    g = torch.Generator().manual_seed(0)
    big = torch.randn(5, 6, generator=g)
    shared = torch.arange(12, dtype=torch.float64)
    want = {
        "f32": torch.randn(3, 4, generator=g),
        "f64": torch.randn(2, 3, 2, dtype=torch.float64, generator=g),
        "i64": torch.arange(-5, 7, dtype=torch.int64).reshape(3, 4),
        "i32": torch.tensor([1, -2, 3], dtype=torch.int32),
        "u8": torch.tensor([0, 7, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
        "f16": torch.randn(4, generator=g).half(),
        "transposed": torch.randn(3, 5, generator=g).t(),  # non-contiguous strides (1, 5)
        "slice": big[2:4, 1:5],  # storage_offset 13, strides (6, 1)
        "row": big[3],  # shares big's storage, offset 18
        "shared_a": shared[:6].view(2, 3),
        "shared_b": shared[4:].view(4, 2),  # same storage as shared_a, overlapping
        "scalar": torch.tensor(3.5),
        "scalar_int": torch.tensor(7, dtype=torch.int64),
        "empty": torch.zeros(0, 3),
    }
    assert not want["transposed"].is_contiguous() and want["slice"].storage_offset() == 13
    path = _save(want, tmp_path / "sd.pt", zip_format)
    got = load_torch_state_dict(path)
    _assert_same(got, want)
    assert got["scalar"].shape == () and got["scalar"].dtype == np.float32
    # two entries sharing a storage come out as independent arrays
    got["shared_a"][0, 0] = 100.0
    assert got["shared_b"][0, 0] == 4.0


@pytest.mark.parametrize("zip_format", FORMATS)
def test_bfloat16_becomes_float32(tmp_path, zip_format):
    t = torch.randn(6, generator=torch.Generator().manual_seed(1)).bfloat16()
    got = load_torch_state_dict(_save({"w": t}, tmp_path / "bf.pt", zip_format))
    assert got["w"].dtype == np.float32
    np.testing.assert_array_equal(got["w"], t.float().numpy())


class _Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4, 2)


@pytest.mark.parametrize("zip_format", FORMATS)
def test_module_state_dict_with_bn_buffers(tmp_path, zip_format):
    torch.manual_seed(0)
    m = _Small()
    m.bn(torch.randn(2, 4, 5, 5))  # running stats move, num_batches_tracked becomes 1
    sd = m.state_dict()
    got = load_torch_state_dict(_save(sd, tmp_path / "m.pt", zip_format))
    _assert_same(got, sd)
    assert got["bn.num_batches_tracked"].dtype == np.int64 and got["bn.num_batches_tracked"] == 1
    # a checkpoint-shaped dict: the "state_dict" entry is returned; key= picks another
    ck = {"state_dict": sd, "optimizer": {"lr": torch.tensor(0.1)}, "epoch": 3}
    path = _save(ck, tmp_path / "ck.pt", zip_format)
    _assert_same(load_torch_state_dict(path), sd)
    np.testing.assert_allclose(load_torch_state_dict(path, key="optimizer")["lr"], 0.1)
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path, key="epoch")
    assert "epoch" in _one_line_data_error(e)
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path, key="nope")
    assert "nope" in _one_line_data_error(e)


@pytest.mark.parametrize("zip_format", FORMATS)
def test_parameters_are_read(tmp_path, zip_format):
    p = torch.nn.Parameter(torch.randn(2, 2))
    got = load_torch_state_dict(_save({"p": p}, tmp_path / "p.pt", zip_format))
    np.testing.assert_array_equal(got["p"], p.detach().numpy())


@pytest.mark.parametrize("name, n_entries, n_params, best",
                         [("resnet20-12fca82f.th", 97, 269_722, 91.78), ("resnet56-4bfd9763.th", 277, 853_018, 93.62)])
def test_pretrained_resnets(name, n_entries, n_params, best):
    path = PRETRAINED / name
    if not path.exists():
        pytest.skip(f"{path} absent")
    assert not zipfile.is_zipfile(path)
    sd = load_torch_state_dict(path)
    assert len(sd) == n_entries
    assert all(k.startswith("module.") for k in sd)
    assert all(v.dtype == np.float32 for v in sd.values())
    # the learnable parameters: conv weights (no bias), BatchNorm weight/bias, the linear layer's weight and bias;
    # the remaining entries are BatchNorm's running_mean / running_var buffers
    learnable = {k: v for k, v in sd.items() if not k.endswith(("running_mean", "running_var"))}
    assert sum(v.size for v in learnable.values()) == n_params
    kinds = {k.rsplit(".", 1)[-1] for k in learnable}
    assert kinds == {"weight", "bias"}
    convs = [k for k in learnable if sd[k].ndim == 4]
    assert all(k.endswith("weight") for k in convs)
    assert sd["module.linear.weight"].shape == (10, 64) and sd["module.linear.bias"].shape == (10,)
    n_bn = sum(1 for k in sd if k.endswith("running_mean"))
    assert n_entries == len(convs) + 4 * n_bn + 2  # conv w, bn (w, b, mean, var), linear (w, b)
    # exactly torch's values
    ref = torch.load(path, weights_only=True, map_location="cpu")
    assert ref["best_prec1"] == pytest.approx(best, abs=0.01)
    _assert_same(sd, ref["state_dict"])
    stripped = strip_prefix(sd)
    assert list(stripped) == [k[len("module."):] for k in sd] and stripped["conv1.weight"] is sd["module.conv1.weight"]


# ---- hostile and broken files ----------------------------------------------------------------------------------

class _System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _Eval:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        import builtins
        return (builtins.eval, (self.code,))


def _replace_data_pkl(path: Path, payload: bytes) -> None:
    with zipfile.ZipFile(path) as zf:
        entries = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for info, data in entries:
            zf.writestr(info, payload if info.filename.endswith("/data.pkl") else data)


@pytest.mark.parametrize("evil, refused", [(_System, "os.system"), (_Eval, "builtins.eval")])
def test_malicious_zip_pickle_is_refused_and_not_run(tmp_path, evil, refused):
    marker = tmp_path / "pwned"
    path = _save({"w": torch.ones(2)}, tmp_path / "evil.pt", True)
    if evil is _System:
        obj = {"w": evil(f"touch {marker}")}
    else:
        obj = {"w": evil(f"open({str(marker)!r}, 'w').close()")}
    _replace_data_pkl(path, pickle.dumps(obj, protocol=2))
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path)
    msg = _one_line_data_error(e)
    assert msg.startswith("refusing to load global") or "refusing to load global" in msg
    assert refused in msg
    assert not marker.exists()
    # sanity: the same pickle does run the command when loaded the unsafe way
    pickle.loads(pickle.dumps(obj, protocol=2))
    assert marker.exists()


def test_malicious_legacy_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    buf = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(header, buf, protocol=2)
    pickle.dump({"w": _System(f"touch {marker}")}, buf, protocol=2)
    pickle.dump([], buf, protocol=2)
    path = tmp_path / "evil.th"
    path.write_bytes(buf.getvalue())
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path)
    assert "refusing to load global" in _one_line_data_error(e) and "system" in str(e.value)
    assert not marker.exists()


def test_header_pickles_admit_no_globals(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.th"
    path.write_bytes(pickle.dumps(_System(f"touch {marker}"), protocol=2))
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path)
    assert "refusing to load global" in _one_line_data_error(e)
    assert not marker.exists()


def test_other_torch_globals_are_refused(tmp_path):
    # a real torch global the loader does not need is refused too, by name
    path = _save({"w": torch.ones(2)}, tmp_path / "x.pt", True)
    payload = b"\x80\x02ctorch.serialization\nload\nq\x00."
    _replace_data_pkl(path, payload)
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path)
    assert "torch.serialization.load" in _one_line_data_error(e)


@pytest.mark.parametrize("zip_format", FORMATS)
def test_truncated_files(tmp_path, zip_format):
    data = _save({"w": torch.randn(50, 20), "b": torch.randn(20)}, tmp_path / "ok.pt", zip_format).read_bytes()
    for cut in (1, 9, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 1):
        p = tmp_path / f"cut{cut}.pt"
        p.write_bytes(data[:cut])
        with pytest.raises(DataError) as e:
            load_torch_state_dict(p)
        _one_line_data_error(e)


def test_random_empty_missing_files(tmp_path):
    rng = np.random.default_rng(0)
    cases = {"random.bin": rng.bytes(4096), "empty.pt": b"", "text.pt": b"hello world\n",
             "pickle_start.pt": b"\x80\x02" + rng.bytes(100), "bad_json.safetensors": struct.pack("<Q", 5) + b"{not}",
             "huge_header.safetensors": struct.pack("<Q", 1 << 40) + b"{}"}
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(DataError) as e:
            load_torch_state_dict(p)
        assert str(p) in _one_line_data_error(e)
    with pytest.raises(DataError) as e:
        load_torch_state_dict(tmp_path / "missing.pt")
    assert "missing.pt" in _one_line_data_error(e)
    with pytest.raises(DataError) as e:
        load_torch_state_dict(tmp_path)  # a directory
    _one_line_data_error(e)


def test_zip_that_is_not_torch(tmp_path):
    p = tmp_path / "other.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(DataError) as e:
        load_torch_state_dict(p)
    assert "data.pkl" in _one_line_data_error(e)


def test_tensor_past_its_storage_is_refused(tmp_path):
    # a crafted size that would make as_strided read past the storage's bytes
    path = _save({"w": torch.arange(4, dtype=torch.float32)}, tmp_path / "w.pt", True)
    with zipfile.ZipFile(path) as zf:
        pkl = zf.read(next(n for n in zf.namelist() if n.endswith("/data.pkl")))
    # size (4,) is pickled as BININT1 4 then TUPLE1; make it (400,) via BININT2
    assert b"K\x04\x85" in pkl
    _replace_data_pkl(path, pkl.replace(b"K\x04\x85", b"M\x90\x01\x85", 1))
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path)
    assert "storage" in _one_line_data_error(e)


def test_big_endian_zip_is_byteswapped(tmp_path):
    want = {"x": torch.randn(3, 2, dtype=torch.float32), "y": torch.tensor([1, 2 ** 40], dtype=torch.int64)}
    path = _save(want, tmp_path / "le.pt", True)
    got_le = load_torch_state_dict(path)
    dtypes = {}
    with zipfile.ZipFile(path) as zf:
        entries = [(i, zf.read(i)) for i in zf.infolist()]
    # map storage keys to dtypes by content: each tensor has its own storage
    for info, data in entries:
        if "/data/" in info.filename:
            for t in want.values():
                if data == t.numpy().tobytes():
                    dtypes[info.filename] = t.numpy().dtype
    assert len(dtypes) == 2
    big = tmp_path / "be.pt"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as zf:
        for info, data in entries:
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif info.filename in dtypes:
                data = np.frombuffer(data, dtypes[info.filename]).byteswap().tobytes()
            zf.writestr(info, data)
    got = load_torch_state_dict(big)
    for k in want:
        assert got[k].dtype.isnative and got[k].dtype == got_le[k].dtype
        np.testing.assert_array_equal(got[k], got_le[k])


# ---- safetensors -----------------------------------------------------------------------------------------------

_ST_CODES = {np.dtype("float64"): "F64", np.dtype("float32"): "F32", np.dtype("float16"): "F16",
             np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("int8"): "I8", np.dtype("uint8"): "U8",
             np.dtype("bool"): "BOOL"}


def _write_safetensors(path: Path, arrays: dict, extra: dict | None = None) -> None:
    """The documented format: u64 LE header size, JSON header, then the little-endian bytes back to back."""
    header, blobs, off = {"__metadata__": {"format": "np"}}, [], 0
    for name, a in arrays.items():
        if isinstance(a, tuple):  # ("BF16", raw uint16 array)
            code, a = a
        else:
            code = _ST_CODES[a.dtype]
        b = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header.update(extra or {})
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_safetensors_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"w": rng.standard_normal((3, 4)).astype(np.float32), "d": rng.standard_normal(5),
              "h": rng.standard_normal((2, 2)).astype(np.float16), "i": np.arange(6, dtype=np.int64).reshape(2, 3),
              "m": np.array([True, False, True]), "s": np.array(2.5, dtype=np.float32),
              "u": np.arange(4, dtype=np.uint8), "e": np.zeros((0, 2), np.float32)}
    p = tmp_path / "a.safetensors"
    _write_safetensors(p, arrays)
    got = load_torch_state_dict(p)
    assert list(got) == list(arrays)
    for k, a in arrays.items():
        assert got[k].dtype == a.dtype and got[k].shape == a.shape
        np.testing.assert_array_equal(got[k], a)
    # bf16: the upper half of a float32
    f = np.array([1.0, -2.5, 3.140625], np.float32)
    _write_safetensors(p, {"b": ("BF16", (f.view(np.uint32) >> 16).astype(np.uint16))})
    np.testing.assert_array_equal(load_torch_state_dict(p)["b"], f)


def test_safetensors_bad_offsets(tmp_path):
    p = tmp_path / "bad.safetensors"
    _write_safetensors(p, {"w": np.zeros(4, np.float32)}, extra={"v": {"dtype": "F32", "shape": [8],
                                                                       "data_offsets": [0, 32]}})
    with pytest.raises(DataError) as e:
        load_torch_state_dict(p)
    assert "'v'" in _one_line_data_error(e)
    _write_safetensors(p, {"w": np.zeros(4, np.float32)}, extra={"v": {"dtype": "Q99", "shape": [1],
                                                                       "data_offsets": [0, 4]}})
    with pytest.raises(DataError) as e:
        load_torch_state_dict(p)
    assert "Q99" in _one_line_data_error(e)


def test_strip_prefix():
    a, b, c = np.zeros(1), np.ones(1), np.ones(2)
    assert strip_prefix({"module.a": a, "module.b": b, "c": c}) == {"a": a, "b": b, "c": c}
    assert list(strip_prefix({"enc.x": a}, "enc.")) == ["x"]
    with pytest.raises(DataError):
        strip_prefix({"module.a": a, "a": b})


def test_import_does_not_import_torch():
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    r = subprocess.run([sys.executable, "-c", "import glassnet.zoo.torch_state, sys; "
                        "assert 'torch' not in sys.modules, 'torch imported'"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


# ---- hand-written legacy streams: storage views (torch < 1.x wrote them) and big-endian machines -------------------

class _FakeStorage:
    def __init__(self, key, numel, view=None):
        self.key, self.numel, self.view = key, numel, view


class _FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride)

    def __reduce__(self):
        return (torch._utils._rebuild_tensor, self.args)


class _LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _FakeStorage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel, obj.view)
        return None


@pytest.mark.parametrize("little", [True, False], ids=["little", "big"])
def test_hand_written_legacy_stream_with_views(tmp_path, little):
    base = np.arange(10, dtype=np.float32) * 1.5
    root = _FakeStorage("root", 10)
    view = _FakeStorage("root", 10, view=("v1", 3, 5))  # elements 3..7 of root
    obj = {"state_dict": collections.OrderedDict(
        [("all", _FakeTensor(root, 0, (2, 5), (5, 1))), ("view", _FakeTensor(view, 1, (2, 2), (1, 2)))]),
        "best_prec1": 12.5}
    buf = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": little}):
        pickle.dump(header, buf, protocol=2)
    _LegacyPickler(buf, protocol=2).dump(obj)
    pickle.dump(["root"], buf, protocol=2)
    order = "<" if little else ">"
    buf.write(struct.pack(order + "q", 10) + base.astype(order + "f4").tobytes())
    path = tmp_path / "hand.th"
    path.write_bytes(buf.getvalue())
    got = load_torch_state_dict(path)
    np.testing.assert_array_equal(got["all"], base.reshape(2, 5))
    v = base[3:8]
    np.testing.assert_array_equal(got["view"], np.lib.stride_tricks.as_strided(v[1:], (2, 2), (4, 8)))
    assert got["view"].dtype == np.float32 and got["view"].dtype.isnative
    if little:  # torch agrees
        ref = torch.load(path, weights_only=True)["state_dict"]
        _assert_same(got, ref)
    # cut inside the raw bytes
    path.write_bytes(buf.getvalue()[:-3])
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path)
    _one_line_data_error(e)


def test_build_cannot_modify_shared_stand_ins(tmp_path):
    # GLOBAL torch.FloatStorage, then BUILD with slot state {"dtype": ...}: would change every later load
    path = _save({"w": torch.ones(2)}, tmp_path / "x.pt", True)
    payload = (b"\x80\x02ctorch\nFloatStorage\nq\x00"
               b"N}q\x01X\x05\x00\x00\x00dtypeq\x02X\x02\x00\x00\x00i1q\x03s\x86q\x04b.")
    _replace_data_pkl(path, payload)
    with pytest.raises(DataError) as e:
        load_torch_state_dict(path)
    assert "cannot be modified" in _one_line_data_error(e)
    good = _save({"w": torch.ones(2)}, tmp_path / "good.pt", True)
    assert load_torch_state_dict(good)["w"].dtype == np.float32
