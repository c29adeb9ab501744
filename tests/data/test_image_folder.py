"""glassnet.data.image_folder.ImageFolder on small folder trees of PNG/JPEG files written with Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from glassnet.data.dataset import Dataset
from glassnet.data.image_folder import ImageFolder
from glassnet.data.loader import DataLoader
from glassnet.errors import ConfigError, DataError, ShapeError


def _write(path, h, w, seed, mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(a).convert(mode).save(path)
    return a


@pytest.fixture
def tree(tmp_path):
    """root/{cat,dog,eel}: PNGs (lossless) of one size, a grey PNG, a JPEG in a nested folder, and noise files."""
    root = tmp_path / "imgs"
    arrays = {}
    arrays["dog/b.png"] = _write(root / "dog" / "b.png", 12, 16, 1)
    arrays["dog/a.PNG"] = _write(root / "dog" / "a.PNG", 12, 16, 2)
    arrays["cat/z.png"] = _write(root / "cat" / "z.png", 12, 16, 3)
    _write(root / "cat" / "sub" / "y.jpg", 12, 16, 4)
    arrays["eel/g.png"] = _write(root / "eel" / "g.png", 12, 16, 5, mode="L")
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "readme.md").write_text("top-level file, not a class")
    _write(root / ".hidden" / "x.png", 12, 16, 6)
    _write(root / "dog" / ".ipynb_checkpoints" / "c.png", 12, 16, 7)
    return root, arrays


def test_classes_samples_and_labels_in_torchvision_order(tree):
    root, _ = tree
    ds = ImageFolder(root)
    assert isinstance(ds, Dataset)
    assert ds.classes == ["cat", "dog", "eel"]
    assert ds.class_to_idx == {"cat": 0, "dog": 1, "eel": 2}
    rel = [(str(p)[len(str(root)) + 1:], y) for p, y in ds.samples]
    assert rel == [("cat/z.png", 0), ("cat/sub/y.jpg", 0), ("dog/a.PNG", 1), ("dog/b.png", 1), ("eel/g.png", 2)]
    assert ds.targets == [0, 0, 1, 1, 2]
    assert len(ds) == 5


def test_item_is_float_chw_in_unit_range_and_equals_the_file(tree):
    torch = pytest.importorskip("torch")
    root, arrays = tree
    ds = ImageFolder(root)
    x, y = ds[2]  # dog/a.PNG
    assert x.dtype == np.float32 and x.shape == (3, 12, 16)
    assert isinstance(y, np.int64) and y == 1
    ref = (torch.from_numpy(arrays["dog/a.PNG"]).permute(2, 0, 1).float() / 255).numpy()
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-7)
    grey, label = ds[-1]  # eel/g.png: L converted to RGB repeats the channel
    assert label == 2 and grey.shape == (3, 12, 16)
    np.testing.assert_array_equal(grey[0], grey[1])
    np.testing.assert_allclose(grey[0], arrays["eel/g.png"] / np.float32(255), atol=1e-7)


def test_resize_then_center_crop_matches_pillow_pipeline(tree):
    root, _ = tree
    ds = ImageFolder(root, size=6, crop=(4, 5))
    x, _ = ds[0]
    assert x.shape == (3, 4, 5)
    # torchvision: Resize(6) -> 6 x int(6 * 16 / 12) = 6 x 8 (PIL bilinear), CenterCrop: top round(1.0) = 1,
    # left round(1.5) = 2 (half to even), ToTensor
    im = Image.open(ds.samples[0][0]).convert("RGB").resize((8, 6), Image.BILINEAR)
    ref = np.asarray(im)[1:5, 2:7].transpose(2, 0, 1) / np.float32(255)
    np.testing.assert_array_equal(x, ref.astype(np.float32))


def test_batch_index_stacks_like_single_items(tree):
    root, _ = tree
    ds = ImageFolder(root, size=8, crop=8)
    idx = np.array([4, 0, 2])
    xb, yb = ds[idx]
    assert xb.shape == (3, 3, 8, 8) and xb.dtype == np.float32
    assert yb.dtype == np.int64 and yb.tolist() == [2, 0, 1]
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(xb[k], ds[int(i)][0])
    xs, ys = ds[1:3]
    assert xs.shape == (2, 3, 8, 8) and ys.tolist() == [0, 1]
    xe, ye = ds[np.array([], dtype=np.int64)]
    assert xe.shape == (0, 3, 8, 8) and ye.shape == (0,)


def test_data_loader_batches_an_image_folder(tree):
    root, _ = tree
    ds = ImageFolder(root, crop=10)
    batches = list(DataLoader(ds, batch_size=2, shuffle=True, rng=0))
    assert [b[0].shape for b in batches] == [(2, 3, 10, 10), (2, 3, 10, 10), (1, 3, 10, 10)]
    assert sorted(np.concatenate([b[1] for b in batches]).tolist()) == [0, 0, 1, 1, 2]


def test_index_errors(tree):
    root, _ = tree
    ds = ImageFolder(root)
    with pytest.raises(IndexError, match="out of range"):
        ds[5]
    with pytest.raises(IndexError, match="out of range"):
        ds[np.array([0, 9])]
    with pytest.raises(IndexError, match="1-D int array"):
        ds[np.array([0.5])]


def test_mixed_sizes_batch_needs_a_crop(tmp_path):
    _write(tmp_path / "a" / "1.png", 8, 8, 0)
    _write(tmp_path / "a" / "2.png", 9, 8, 1)
    with pytest.raises(ShapeError, match="different shapes"):
        ImageFolder(tmp_path)[np.array([0, 1])]
    xb, _ = ImageFolder(tmp_path, size=4, crop=4)[np.array([0, 1])]
    assert xb.shape == (2, 3, 4, 4)


def test_crop_larger_than_image_zero_pads(tmp_path):
    a = _write(tmp_path / "a" / "1.png", 3, 4, 0)
    x, _ = ImageFolder(tmp_path, crop=(6, 5))[0]
    assert x.shape == (3, 6, 5)
    np.testing.assert_allclose(x[:, 1:4, 0:4], a.transpose(2, 0, 1) / np.float32(255), atol=1e-7)
    assert x[:, 0].sum() == 0 and x[:, 4:].sum() == 0 and x[:, :, 4].sum() == 0


def test_custom_extensions_are_case_insensitive(tree):
    root, _ = tree
    ds = ImageFolder(root, extensions=(".PNG",))
    assert len(ds) == 4 and not any(p.endswith(".jpg") for p, _ in ds.samples)
    # as torchvision, a class folder without a matching file is an error, not a silently missing class
    with pytest.raises(DataError, match=r"no images in class folders \['dog', 'eel'\]"):
        ImageFolder(root, extensions=".jpg")


def test_errors_on_the_tree(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        ImageFolder(tmp_path / "file")
    with pytest.raises(DataError, match="no class folders"):
        ImageFolder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("x")
    with pytest.raises(DataError, match="no images at all"):
        ImageFolder(tmp_path)
    _write(tmp_path / "b" / "1.png", 4, 4, 0)
    with pytest.raises(DataError, match=r"no images in class folders \['a'\]"):
        ImageFolder(tmp_path)


def test_corrupt_image_is_a_one_line_data_error_naming_the_file(tmp_path):
    _write(tmp_path / "a" / "good.png", 4, 4, 0)
    bad = tmp_path / "a" / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg\n at all")
    trunc = tmp_path / "b" / "trunc.png"
    _write(trunc, 32, 32, 1)
    trunc.write_bytes(trunc.read_bytes()[:60])
    ds = ImageFolder(tmp_path)
    for path in (bad, trunc):
        i = [p for p, _ in ds.samples].index(str(path))
        with pytest.raises(DataError) as e:
            ds[i]
        msg = str(e.value)
        assert str(path) in msg and "\n" not in msg and msg.startswith("ImageFolder: cannot read image")
    with pytest.raises(DataError, match="bad.jpg"):
        ds[np.arange(len(ds))]


@pytest.mark.parametrize("kwargs", [dict(size=0), dict(size=2.0), dict(crop=(2,)), dict(crop=0),
                                    dict(extensions=()), dict(extensions=(3,))])
def test_bad_args(tree, kwargs):
    root, _ = tree
    with pytest.raises(ConfigError, match="ImageFolder"):
        ImageFolder(root, **kwargs)
