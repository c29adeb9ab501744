"""glassnet.save / glassnet.load by suffix: ``.safetensors`` round trips, reads foreign files, refuses bad ones."""

import json
import struct
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.errors import ConfigError, DataError, ShapeError
from glassnet.train import load_metadata

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def _net(seed):
    return nn.Sequential(nn.Linear(4, 3, rng=seed), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2, rng=seed + 1))


def test_model_round_trip_restores_outputs_and_buffers(tmp_path):
    a, b = _net(0), _net(5)
    a[1].running_mean[...] = np.arange(3, dtype=np.float32)
    a[1].num_batches_tracked = np.array(7, dtype=np.int64)
    path = gn.save(a, tmp_path / "m.safetensors")
    b.load_state_dict(gn.load(path))
    a.eval(), b.eval()
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    state = gn.load(path)
    assert state["1.num_batches_tracked"].dtype == np.int64 and state["1.num_batches_tracked"] == 7
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic writer left no temp file


def test_dtypes_strides_and_metadata_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(1)
    big = rng.standard_normal((5, 6))
    state = {"f32": rng.standard_normal((3, 2)).astype(np.float32), "f64_T": big.T,  # non-contiguous
             "strided": big[::2, 1::3], "i64": np.arange(-3, 3, dtype=np.int64), "scalar": np.array(2.5)}
    assert not state["f64_T"].flags.c_contiguous
    meta = {"epoch": "3", "config": json.dumps({"lr": 0.1})}
    gn.save(state, tmp_path / "s.safetensors", metadata=meta)
    back = gn.load(tmp_path / "s.safetensors")
    assert set(back) == set(state)
    for k, v in state.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        np.testing.assert_array_equal(back[k], v)
    assert load_metadata(tmp_path / "s.safetensors") == meta
    assert load_metadata(gn.save(state, tmp_path / "s.npz")) == {}


def test_reads_a_file_written_by_the_safetensors_numpy_api(tmp_path):
    rng = np.random.default_rng(2)
    arrays = {"W": rng.standard_normal((4, 3)).astype(np.float32), "n": np.array([1, 2], dtype=np.int64)}
    safetensors_numpy.save_file(arrays, str(tmp_path / "ref.safetensors"), metadata={"who": "safetensors"})
    back = gn.load(tmp_path / "ref.safetensors")
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)
    assert load_metadata(tmp_path / "ref.safetensors") == {"who": "safetensors"}
    # and the reference reader reads ours
    gn.save(arrays, tmp_path / "ours.safetensors", metadata={"k": "v"})
    ref = safetensors_numpy.load_file(str(tmp_path / "ours.safetensors"))
    for k, v in arrays.items():
        np.testing.assert_array_equal(ref[k], v)


def test_truncated_and_garbage_files_are_a_readable_data_error(tmp_path):
    good = gn.save({"W": np.ones((8, 8), np.float32)}, tmp_path / "good.safetensors").read_bytes()
    cases = {"empty": b"", "short": b"\x01\x02", "garbage": b"\xff" * 64, "cut_header": good[:20],
             "cut_data": good[:-10], "not_json": struct.pack("<Q", 4) + b"abcd",
             "json_list": struct.pack("<Q", 2) + b"[]",
             "bad_dtype": struct.pack("<Q", 52) + b'{"W":{"dtype":"X9","shape":[1],"data_offsets":[0,4]}}' + b"\0" * 4}
    for name, data in cases.items():
        p = tmp_path / f"{name}.safetensors"
        p.write_bytes(data)
        with pytest.raises(DataError, match="load: not a glassnet state file \\(safetensors\\)") as e:
            gn.load(p)
        assert "\n" not in str(e.value) and str(p) in str(e.value), name
    with pytest.raises(DataError, match="no such file"):
        gn.load(tmp_path / "missing.safetensors")


def test_loading_into_a_model_reports_names_and_shapes_as_load_state_dict(tmp_path):
    state = _net(0).state_dict()
    state["extra.W"] = np.zeros(2, np.float32)
    del state["0.b"]
    gn.save(state, tmp_path / "bad.safetensors")
    with pytest.raises(ConfigError, match=r"missing keys \['0.b'\]; unexpected keys \['extra.W'\]"):
        _net(1).load_state_dict(gn.load(tmp_path / "bad.safetensors"))
    wrong = _net(0).state_dict()
    wrong["3.W"] = np.zeros((3, 5), np.float32)
    gn.save(wrong, tmp_path / "shape.safetensors")
    with pytest.raises(ShapeError, match=r"3.W \(expected \(3, 2\), got \(3, 5\)\)"):
        _net(1).load_state_dict(gn.load(tmp_path / "shape.safetensors"))


def test_bad_arguments_and_the_missing_extra(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="metadata must be a dict of str to str"):
        gn.save({"a": np.ones(2)}, tmp_path / "m.safetensors", metadata={"n": 3})
    with pytest.raises(ConfigError, match="metadata is stored in .safetensors files only"):
        gn.save({"a": np.ones(2)}, tmp_path / "m.npz", metadata={"n": "3"})
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'glassnet\[safetensors\]'"):
        gn.save({"a": np.ones(2)}, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
