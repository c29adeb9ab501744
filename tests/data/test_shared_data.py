"""Integration: the real loaders on the real files in the shared data folder (skipped without it).

Expected counts are computed here independently of the loaders (raw bytes, split lines, np.bincount).
"""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from glassnet.data import datasets

README_SHA256 = {
    "mnist/mnist8k-images-idx3-ubyte.gz": "e6edec297155d01214c6d828796e560d18c2d11ff7789e9ca480b5ff32ed8ff3",
    "mnist/mnist8k-labels-idx1-ubyte.gz": "a4519f3b56984ff8d3a6ce4514cfe6590bae9e5a744e2549037cebe117d87d4b",
    "cifar10/cifar10_8k_batch": "21dace80d8aedc1ea27023f846f9d4456f4d88445ceda67fefffcea059780cbc",
    "ptb/ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "small_parallel_enja/train.en": "148b05dcd28638fe20ee84f2b1127001c80982be352007dda241fb759adadc76",
    "small_parallel_enja/train.ja": "fc81a1434349ec98a449d7ae9cd2530057f689637684ecfed3501ea6a8a07ecc",
    "aozora/neko.txt": "72e3008e697709532b1e25e1596d3bd455f99ecab7de6adb32386828de8ab80e",
    "tinyshakespeare/input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
}


@pytest.mark.parametrize("rel", sorted(README_SHA256))
def test_shared_files_match_the_readme_sha256(shared_data, rel):
    assert hashlib.sha256((shared_data / rel).read_bytes()).hexdigest() == README_SHA256[rel]


def test_mnist8k(shared_data):
    x, y = datasets.load_mnist(shared_data, prefix="mnist8k", download=False)
    assert x.shape == (8000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (8000,) and y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    # independent decode: skip the 16- and 8-byte headers of the gzip-decompressed IDX files
    raw_x = gzip.decompress((shared_data / "mnist/mnist8k-images-idx3-ubyte.gz").read_bytes())
    raw_y = gzip.decompress((shared_data / "mnist/mnist8k-labels-idx1-ubyte.gz").read_bytes())
    np.testing.assert_array_equal(x.ravel(), np.frombuffer(raw_x[16:], np.uint8))
    np.testing.assert_array_equal(y, np.frombuffer(raw_y[8:], np.uint8))
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the first labels of MNIST t10k


def test_cifar10_8k(shared_data):
    x, y = datasets.load_cifar10(shared_data, batch="cifar10_8k_batch", download=False)
    assert x.shape == (8000, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y, minlength=10), [800] * 10)
    assert 60 < x.mean() < 200 and x.std() > 30  # real images, not a constant fill


def test_ptb_valid_token_count(shared_data):
    sentences = datasets.load_ptb("valid", shared_data, download=False)
    raw = (shared_data / "ptb/ptb.valid.txt").read_text(encoding="utf-8")
    lines = raw.splitlines()
    words = sum(len(line.split()) for line in lines)
    assert len(sentences) == len(lines) == 3370 and sum(map(len, sentences)) == words == 70390
    stream = datasets.join_sentences(sentences)
    assert len(stream) == words + len(lines) == 73760  # words plus one <eos> per sentence
    assert sum(t == "<unk>" for t in stream) == raw.split().count("<unk>") > 0
    assert len(set(stream)) <= 10000


def test_small_parallel_enja_train_and_dev(shared_data):
    en, ja = datasets.load_small_parallel_enja("train", shared_data, download=False)
    assert len(en) == len(ja) == 50000
    assert en[0] == ["i", "can", "'t", "tell", "who", "will", "arrive", "first", "."]
    assert ja[0][:3] == ["誰", "が", "一番"]
    en, ja = datasets.load_small_parallel_enja("dev", shared_data, download=False)
    assert len(en) == len(ja) == 500


def test_tinyshakespeare_and_neko(shared_data):
    text = datasets.load_tinyshakespeare(shared_data, download=False)
    assert len(text) == 1115394 and len(set(text)) == 65 and text.startswith("First Citizen:")
    neko = datasets.load_neko(shared_data, download=False)
    raw = (shared_data / "aozora/neko.txt").read_bytes().decode("utf-8")
    assert len(neko) == sum(1 for line in raw.split("\n") if line.strip()) == 9210
    assert neko[:2] == ["一", "\u3000吾輩は猫である。"] and not any("\r" in line for line in neko)
