"""Readers on small files the tests write: IDX gzip (MNIST), CIFAR pickle batches, text corpora.

Also: corrupt and truncated files, and malicious pickles that must be refused without running.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from glassnet.data import datasets
from glassnet.data.datasets import load_cifar10, load_mnist, read_cifar_batch, read_idx
from glassnet.data.datasets.cifar10 import RestrictedUnpickler
from glassnet.errors import ConfigError, DataError


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))


@pytest.fixture
def tiny_mnist(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 0, 9, 1, 7], dtype=np.uint8)
    write_mnist(tmp_path / "mnist", "tiny", images, labels)
    return tmp_path, images, labels


def test_read_idx_round_trips_every_type(tmp_path):
    for code, dtype in [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                        (0x0D, np.float32), (0x0E, np.float64)]:
        a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        path = tmp_path / f"a{code}.idx"
        path.write_bytes(idx_bytes(a, code))
        got = read_idx(path)
        np.testing.assert_array_equal(got, a)
        assert got.dtype == np.dtype(dtype) and got.dtype.isnative


def test_load_mnist_reads_tiny_files(tiny_mnist):
    root, images, labels = tiny_mnist
    x, y = load_mnist(root, prefix="tiny", download=False)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.dtype == np.uint8 and x.shape == (5, 28, 28) and y.dtype == np.int64
    x2, _ = load_mnist(root / "mnist", prefix="tiny", download=False)  # root may be the data set's own folder
    np.testing.assert_array_equal(x2, images)


@pytest.mark.parametrize("corrupt, match", [
    (lambda raw: raw[:-10], "truncated or corrupt"),
    (lambda raw: raw + b"\x00", "truncated or corrupt"),
    (lambda raw: raw[:10], "truncated header"),
    (lambda raw: b"\x12\x34" + raw[2:], "bad magic number"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], "bad magic number"),
    (lambda raw: b"", "bad magic number"),
])
def test_corrupt_idx_raises_data_error_naming_the_file(tiny_mnist, corrupt, match):
    root, _, _ = tiny_mnist
    path = root / "mnist" / "tiny-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(corrupt(raw)))
    with pytest.raises(DataError, match=match) as info:
        load_mnist(root, prefix="tiny", download=False)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("damage", [lambda gz: gz[: len(gz) // 2], lambda gz: b"plain bytes, not gzip"])
def test_broken_gzip_raises_data_error(tiny_mnist, damage):
    root, _, _ = tiny_mnist
    path = root / "mnist" / "tiny-labels-idx1-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match="tiny-labels-idx1-ubyte.gz"):
        load_mnist(root, prefix="tiny", download=False)


def test_mnist_images_and_labels_must_agree(tmp_path):
    write_mnist(tmp_path, "n", np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(DataError, match="must hold 3 uint8 labels"):
        load_mnist(tmp_path, prefix="n", download=False)
    write_mnist(tmp_path, "w", np.zeros((3, 28, 27), np.uint8), np.zeros(3, np.uint8))
    with pytest.raises(DataError, match=r"\(N, 28, 28\)"):
        load_mnist(tmp_path, prefix="w", download=False)
    write_mnist(tmp_path, "l", np.zeros((1, 28, 28), np.uint8), np.array([10], np.uint8))
    with pytest.raises(DataError, match="outside 0..9"):
        load_mnist(tmp_path, prefix="l", download=False)


def test_mnist_missing_files_and_known_hash(tmp_path):
    with pytest.raises(DataError, match=r"no such file: .*train-images-idx3-ubyte.gz; put the file there, "
                       r"or download it"):
        load_mnist(tmp_path, prefix="train", download=False)
    with pytest.raises(DataError, match="no download URL"):
        load_mnist(tmp_path, prefix="other", download=True)  # not official: never downloads
    # a file under an official name is checked against the published sha256
    write_mnist(tmp_path / "mnist", "t10k", np.zeros((1, 28, 28), np.uint8), np.zeros(1, np.uint8))
    with pytest.raises(DataError, match="expected 8d422c7b"):
        load_mnist(tmp_path, prefix="t10k", download=False)


@pytest.mark.parametrize("prefix", ["", None, 3, "a/b"])
def test_mnist_bad_prefix_raises_config_error(tmp_path, prefix):
    with pytest.raises(ConfigError, match="prefix"):
        load_mnist(tmp_path, prefix=prefix, download=False)


# ---- CIFAR-10 -----------------------------------------------------------------------------------------


def cifar_batch(n: int = 4, seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)  # (N, C, H, W)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    batch = {b"batch_label": b"tiny", b"labels": labels, b"data": images.reshape(n, 3072),
             b"filenames": [b"%d.png" % i for i in range(n)]}
    return batch, images, np.array(labels)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_read_cifar_batch_round_trips(tmp_path, protocol):
    batch, images, labels = cifar_batch()
    path = tmp_path / "tiny_batch"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    x, y = read_cifar_batch(path)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert x.shape == (4, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    # row layout: the first 1024 values of a row are the red plane
    np.testing.assert_array_equal(x[1, 0].ravel(), batch[b"data"][1, :1024])


def test_numpy_scalars_in_a_batch_are_allowed(tmp_path):
    batch, images, labels = cifar_batch()
    batch[b"labels"] = [np.int64(v) for v in labels]  # pickled through numpy's scalar constructor
    path = tmp_path / "scalars_batch"
    path.write_bytes(pickle.dumps(batch, protocol=2))
    assert b"scalar" in path.read_bytes()
    np.testing.assert_array_equal(read_cifar_batch(path)[1], labels)


def test_load_cifar10_concatenates_batches_and_checks_sha256(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    parts = [cifar_batch(3, seed=s) for s in (1, 2)]
    for name, (batch, _, _) in zip(["b1", "b2"], parts):
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    x, y = load_cifar10(tmp_path, batch=["b1", "b2"], download=False)
    np.testing.assert_array_equal(x, np.concatenate([parts[0][1], parts[1][1]]))
    np.testing.assert_array_equal(y, np.concatenate([parts[0][2], parts[1][2]]))
    x1, _ = read_cifar_batch(folder / "b1", hashlib.sha256((folder / "b1").read_bytes()).hexdigest())
    np.testing.assert_array_equal(x1, parts[0][1])
    with pytest.raises(DataError, match="fails its sha256 check"):
        read_cifar_batch(folder / "b1", "0" * 64)
    # the shared subset's name carries its known hash: a different file under that name is refused
    (folder / "cifar10_8k_batch").write_bytes(pickle.dumps(parts[0][0], protocol=2))
    with pytest.raises(DataError, match="expected 21dace80"):
        load_cifar10(tmp_path, batch="cifar10_8k_batch", download=False)


class RunsShell:
    """A pickle payload that would run a shell command when unpickled by plain pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class CallsEval:
    def __reduce__(self):
        return eval, ("__import__('os').getcwd()",)


@pytest.mark.parametrize("make_payload", [
    lambda marker: {b"data": RunsShell(marker), b"labels": []},
    lambda marker: RunsShell(marker),
    lambda marker: {b"data": CallsEval(), b"labels": []},
])
def test_malicious_pickle_is_refused_without_running(tmp_path, make_payload):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_batch"
    path.write_bytes(pickle.dumps(make_payload(marker), protocol=2))
    refused = r"refused as unsafe.*refused global (posix|os|nt|__builtin__|builtins)\.(system|eval)"
    with pytest.raises(DataError, match=refused):
        read_cifar_batch(path)
    assert not marker.exists()


def test_restricted_unpickler_refuses_non_latin1_codecs():
    payload = pickle.dumps(b"\xff", protocol=2).replace(b"latin1", b"rot_13")
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        RestrictedUnpickler(__import__("io").BytesIO(payload), encoding="bytes").load()


@pytest.mark.parametrize("payload, match", [
    (b"\x80\x02garbage", "not a valid CIFAR-10 batch"),
    (b"", "not a valid CIFAR-10 batch"),
    (pickle.dumps([1, 2, 3], protocol=2), "must hold a dict"),
    (pickle.dumps({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]}, protocol=2), r"uint8 \(N, 3072\)"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.int16), b"labels": [0, 1]}, protocol=2), r"uint8 \(N, 3072\)"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, protocol=2), "2 ints in 0..9"),
    (pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}, protocol=2), "ints in 0..9"),
])
def test_corrupt_cifar_batch_raises_data_error(tmp_path, payload, match):
    path = tmp_path / "bad_batch"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=match):
        read_cifar_batch(path)


def test_cifar_bad_arguments_and_missing_files(tmp_path):
    for bad in ([], "", 3, ["ok", None], "../x"):
        with pytest.raises(ConfigError, match="batch"):
            load_cifar10(tmp_path, batch=bad, download=False)
    with pytest.raises(DataError, match=r"no such file: .*data_batch_1 \(download=False\)"):
        load_cifar10(tmp_path, batch="data_batch_1", download=False)
    with pytest.raises(DataError, match="not an official batch name"):
        load_cifar10(tmp_path, batch="my_batch", download=True)


# ---- text -----------------------------------------------------------------------------------------------


def test_text_readers_on_tiny_files(tmp_path):
    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb" / "ptb.train.txt").write_text(" the <unk> cat \n a N b \n", encoding="utf-8")
    (tmp_path / "small_parallel_enja").mkdir()
    (tmp_path / "small_parallel_enja" / "test.en").write_text("i see .\nyes .\n", encoding="utf-8")
    (tmp_path / "small_parallel_enja" / "test.ja").write_text("見 る 。\nはい 。\n", encoding="utf-8")
    (tmp_path / "aozora").mkdir()
    (tmp_path / "aozora" / "neko.txt").write_bytes("一\r\r\n\r\r\n\u3000吾輩は猫である。\r\r\n".encode())

    with pytest.raises(DataError, match="expected fcea919f"):  # ptb.train.txt has a published hash
        datasets.load_ptb("train", tmp_path, download=False)
    en, ja = datasets.load_small_parallel_enja("test", tmp_path, download=False)  # no published hash
    assert en == [["i", "see", "."], ["yes", "."]] and ja == [["見", "る", "。"], ["はい", "。"]]
    assert datasets.load_neko(tmp_path, download=False) == ["一", "\u3000吾輩は猫である。"]
    assert datasets.join_sentences([["a", "b"], ["c"]]) == ["a", "b", "<eos>", "c", "<eos>"]
    assert datasets.join_sentences([["a"], ["b"]], eos=None) == ["a", "b"]


def test_text_errors(tmp_path):
    with pytest.raises(ConfigError, match="split must be one of 'train', 'valid', 'test'"):
        datasets.load_ptb("validation", tmp_path, download=False)
    with pytest.raises(ConfigError, match="split"):
        datasets.load_small_parallel_enja("valid", tmp_path, download=False)
    with pytest.raises(DataError, match=r"no such file: .*ptb\.valid\.txt"):
        datasets.load_ptb("valid", tmp_path, download=False)
    with pytest.raises(DataError, match=r"no such file: .*input\.txt"):
        datasets.load_tinyshakespeare(tmp_path, download=False)
    folder = tmp_path / "small_parallel_enja"
    folder.mkdir()
    (folder / "test.en").write_text("a\nb\n", encoding="utf-8")
    (folder / "test.ja").write_text("a\n", encoding="utf-8")
    with pytest.raises(DataError, match="line-aligned"):
        datasets.load_small_parallel_enja("test", tmp_path, download=False)
    (tmp_path / "aozora").mkdir()
    (tmp_path / "aozora" / "neko.txt").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(DataError, match="not UTF-8"):
        datasets.load_neko(tmp_path, download=False)


def test_embedded_datasets():
    x, y = datasets.load_iris()
    assert x.shape == (150, 4) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [50, 50, 50])
    np.testing.assert_allclose(x[0], [5.1, 3.5, 1.4, 0.2], rtol=0, atol=1e-6)
    x, y = datasets.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and set(np.unique(y)) == set(range(10))


def test_available_lists_every_loader_with_a_one_line_description():
    table = datasets.available()
    assert set(table) >= {"iris", "digits", "mnist", "cifar10", "ptb", "tinyshakespeare",
                          "small_parallel_enja", "neko"}
    assert list(table) == sorted(table)
    assert all(isinstance(d, str) and d and "\n" not in d for d in table.values())


# ---- the download path of each loader, pointed at file:// URLs (no network) -------------------------------


def test_load_mnist_downloads_official_names_from_the_mirrors(tmp_path, monkeypatch):
    from glassnet.data.datasets import mnist

    remote = tmp_path / "remote"
    images, labels = np.full((2, 28, 28), 7, np.uint8), np.array([1, 2], np.uint8)
    write_mnist(remote, "t10k", images, labels)
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in remote.iterdir()}
    monkeypatch.setattr(mnist, "_MIRRORS", ((tmp_path / "dead").as_uri() + "/", remote.as_uri() + "/"))
    monkeypatch.setattr(mnist, "MNIST_SHA256", hashes)
    x, y = load_mnist(tmp_path / "home", prefix="t10k", download=True)
    np.testing.assert_array_equal(x, images)
    assert (tmp_path / "home" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_load_cifar10_downloads_verifies_and_extracts_the_archive(tmp_path, monkeypatch):
    import io
    import tarfile

    from glassnet.data.datasets import cifar10

    batch, images, labels = cifar_batch(3)
    data = pickle.dumps(batch, protocol=2)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(cifar10, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setitem(cifar10.CIFAR10_SHA256, "cifar-10-python.tar.gz",
                        hashlib.sha256(archive.read_bytes()).hexdigest())
    x, y = load_cifar10(tmp_path / "home", batch="test_batch", download=True)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    extracted = tmp_path / "home" / "cifar10" / "cifar-10-batches-py" / "test_batch"
    assert extracted.with_name("test_batch.sha256").is_file()  # recorded at extraction
    extracted.write_bytes(pickle.dumps(cifar_batch(3, seed=5)[0], protocol=2))
    with pytest.raises(DataError, match="fails its sha256 check"):  # checked before every unpickle
        load_cifar10(tmp_path / "home", batch="test_batch", download=False)
    with pytest.raises(DataError, match="data_batch_1 is not in"):
        load_cifar10(tmp_path / "home", batch="data_batch_1", download=True)


def test_text_without_published_hash_is_trusted_on_first_use(tmp_path, monkeypatch, capsys):
    from glassnet.data.datasets import text

    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "test.en").write_text("hello .\n", encoding="utf-8")
    (remote / "test.ja").write_text("こんにちは 。\n", encoding="utf-8")
    monkeypatch.setattr(text, "_ENJA_URL", remote.as_uri() + "/")
    en, ja = datasets.load_small_parallel_enja("test", tmp_path / "home", download=True)
    assert en == [["hello", "."]] and ja == [["こんにちは", "。"]]
    assert "trusting first download" in capsys.readouterr().out
    cached = tmp_path / "home" / "small_parallel_enja" / "test.ja"
    cached.write_text("改竄 。\n", encoding="utf-8")
    with pytest.raises(DataError, match="recorded in test.ja.sha256"):
        datasets.load_small_parallel_enja("test", tmp_path / "home", download=False)
