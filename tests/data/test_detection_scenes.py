import contextlib
import io
import json

import numpy as np
import pytest

from glassnet.data.datasets import digit_scenes, make_digit_scenes, write_coco
from glassnet.detection import box_iou
from glassnet.errors import ConfigError, ShapeError


def fake_digits(n=20, seed=0):
    """Blocks of random size inside 28x28, with labels: tight boxes are known."""
    g = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), dtype=np.uint8)
    for k in range(n):
        top, left = g.integers(0, 10, 2)
        x[k, top:top + 12, left:left + 8] = 200
    return x, g.integers(0, 10, n)


def check_scenes(scenes, canvas, max_overlap, digits):
    images, boxes, classes = scenes
    assert images.dtype == np.float32 and images.shape[1:] == (1, canvas, canvas)
    assert 0 <= images.min() and images.max() <= 1
    for img, b, c in zip(images, boxes, classes):
        assert b.shape == (len(c), 4) and digits[0] <= len(c) <= digits[1] and c.dtype == np.int64
        assert (b[:, :2] >= 0).all() and (b[:, 2:] <= canvas).all() and (b[:, 2:] > b[:, :2]).all()
        iou = box_iou(b, b)
        assert (iou[~np.eye(len(b), dtype=bool)] <= max_overlap + 1e-9).all()
        # each box is tight: ink on all four borders of the box, none outside the union of boxes
        for x1, y1, x2, y2 in b.astype(int):
            patch = img[0, y1:y2, x1:x2]
            assert patch[0].any() and patch[-1].any() and patch[:, 0].any() and patch[:, -1].any()
        inside = np.zeros((canvas, canvas), dtype=bool)
        for x1, y1, x2, y2 in b.astype(int):
            inside[y1:y2, x1:x2] = True
        assert not img[0][~inside].any()


def test_scenes_lie_in_the_canvas_respect_the_overlap_and_are_tight():
    x, y = fake_digits()
    scenes = make_digit_scenes(x, y, 30, canvas=64, digits=(2, 4), scale=(1.0, 1.5), max_overlap=0.1, rng=3)
    check_scenes(scenes, 64, 0.1, (1, 4))
    assert sum(len(c) for c in scenes.classes) > 60  # most digits found a place


def test_zero_overlap_means_disjoint_boxes():
    x, y = fake_digits()
    scenes = make_digit_scenes(x, y, 20, canvas=64, digits=(3, 3), max_overlap=0.0, rng=1)
    check_scenes(scenes, 64, 0.0, (1, 3))


def test_same_seed_same_scenes_other_seed_other_scenes():
    x, y = fake_digits()
    a = make_digit_scenes(x, y, 5, canvas=64, rng=7)
    b = make_digit_scenes(x, y, 5, canvas=64, rng=7)
    c = make_digit_scenes(x, y, 5, canvas=64, rng=8)
    np.testing.assert_array_equal(a.images, b.images)
    assert all(np.array_equal(p, q) for p, q in zip(a.boxes, b.boxes))
    assert all(np.array_equal(p, q) for p, q in zip(a.classes, b.classes))
    assert not np.array_equal(a.images, c.images)


def test_bad_arguments_raise_readable_errors():
    x, y = fake_digits()
    with pytest.raises(ShapeError, match=r"images must be \(M, 28, 28\)"):
        make_digit_scenes(x[:, :20], y, 2)
    with pytest.raises(ConfigError, match=r"canvas must be >= round\(28 \* scale\[1\]\) = 56, got 40"):
        make_digit_scenes(x, y, 2, canvas=40, scale=(1.0, 2.0))
    with pytest.raises(ConfigError, match="min <= max"):
        make_digit_scenes(x, y, 2, digits=(4, 2))
    with pytest.raises(ConfigError, match="max_overlap"):
        make_digit_scenes(x, y, 2, max_overlap=1.5)
    with pytest.raises(ConfigError, match="split"):
        digit_scenes("val")


def test_mnist_scenes_train_and_test_are_reproducible(shared_data):
    train = digit_scenes("train", shared_data, n_scenes=20, rng=0)
    again = digit_scenes("train", shared_data, n_scenes=20, rng=0)
    test = digit_scenes("test", shared_data, n_scenes=20, rng=0)
    np.testing.assert_array_equal(train.images, again.images)
    assert not np.array_equal(train.images, test.images)  # other digit images, same seed
    check_scenes(train, 96, 0.2, (1, 5))
    check_scenes(test, 96, 0.2, (1, 5))


def test_write_coco_loads_in_pycocotools(tmp_path):
    pytest.importorskip("pycocotools")
    from PIL import Image
    from pycocotools.coco import COCO

    x, y = fake_digits()
    images, boxes, classes = make_digit_scenes(x, y, 4, canvas=64, rng=2)
    path = write_coco(tmp_path, images, boxes, classes)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    assert sorted(coco.getImgIds()) == [1, 2, 3, 4] and len(coco.getCatIds()) == 10
    for i in range(4):
        info = coco.loadImgs(i + 1)[0]
        png = np.asarray(Image.open(tmp_path / info["file_name"]))
        np.testing.assert_array_equal(png, np.round(images[i, 0] * 255).astype(np.uint8))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=i + 1))
        got = np.array([a["bbox"] for a in anns]).reshape(-1, 4)
        np.testing.assert_array_equal(got[:, :2], boxes[i][:, :2])
        np.testing.assert_array_equal(got[:, :2] + got[:, 2:], boxes[i][:, 2:])
        assert [a["category_id"] - 1 for a in anns] == classes[i].tolist()
    assert json.loads(path.read_text())["categories"][0] == {"id": 1, "name": "0"}
