"""``glassnet detect``: a YOLO checkpoint's boxes on image files, printed and drawn; bad input is one line."""

import json

import numpy as np
import pytest

import glassnet.cli.detect  # noqa: F401  (registers the sub-command)
from glassnet.train import Checkpoint, save_checkpoint
from glassnet.zoo import YOLOv1
from tests.cli_helpers import assert_one_line_error, invoke

NAMES = ["zero", "one", "two"]


def tiny_model():
    """An FC-head YOLO whose output is a fixed grid, whatever the image: one box in cell (row 1, col 2)."""
    model = YOLOv1(in_channels=1, image_size=32, B=1, C=3, widths=(4, 4, 8), head="fc", hidden=4, rng=0)
    grid = np.zeros((8, 8, 8), np.float32)  # (S, S, B*5 + C)
    grid[1, 2] = [0.5, 0.5, 0.5, 0.5, 0.9, 0.0, 0.1, 0.8]  # (x, y, sqrt w, sqrt h, c, p_zero, p_one, p_two)
    model.head[-1].W.data[...] = 0
    model.head[-1].b.data[...] = grid.reshape(-1)
    return model


def write_checkpoint(path, model):
    meta = {"model": "YOLOv1", "yolo": model.config(), "class_names": NAMES}
    save_checkpoint(path, Checkpoint(model=model.state_dict(), config=meta))
    return path


def write_png(path, size=(64, 48), light=False):
    from PIL import Image

    a = np.zeros(size[::-1], dtype=np.uint8)
    a[10:30, 20:28] = 255
    Image.fromarray(255 - a if light else a).save(path)
    return path


def test_detections_are_printed_in_the_files_pixels_and_drawn(tmp_path):
    ck = write_checkpoint(tmp_path / "yolo.npz", tiny_model())
    image = write_png(tmp_path / "scene.png")
    result = invoke(["detect", str(ck), str(image), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    # scores 0.9 · 0.8 = 0.72 ("two") and 0.9 · 0.1 = 0.09 (below 0.2); in the model's 32 x 32 input the
    # box has centre (2.5/8 · 32, 1.5/8 · 32) = (10, 6) and side 0.25 · 32 = 8: (6, 2, 14, 10), which is
    # (12, 3, 28, 15) in the 64 x 48 file's pixels
    assert lines[0] == f"{image}: two 0.720 12.0 3.0 28.0 15.0"
    assert len(lines) == 2 and lines[1].startswith("wrote 1 image(s)")
    assert (tmp_path / "out" / "scene.png").stat().st_size > 2000
    result = invoke(["detect", str(ck), str(image), "--out", str(tmp_path / "out"), "--score-threshold", "0.05"])
    assert result.output.count("scene.png: ") == 2 and f"{image}: zero" not in result.output


def test_untrained_model_runs_on_grey_light_and_rgb_files_and_safetensors(tmp_path):
    pytest.importorskip("safetensors")
    from glassnet import save

    model = YOLOv1(in_channels=1, image_size=32, B=2, C=3, widths=(4, 4, 8), rng=3)
    path = save(model, tmp_path / "yolo.safetensors", metadata={
        "model": "YOLOv1", "yolo": json.dumps(model.config()), "class_names": json.dumps(NAMES)})
    files = [write_png(tmp_path / "a.png"), write_png(tmp_path / "b.png", (32, 32), light=True)]
    from PIL import Image

    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "c.png")
    files.append(tmp_path / "c.png")
    result = invoke(["detect", str(path), *map(str, files), "--out", str(tmp_path / "out"),
                     "--score-threshold", "0", "--iou-threshold", "0.3"])
    assert result.exit_code == 0, result.output
    for f in files:
        assert (tmp_path / "out" / f.name).is_file() and f"{f}: " in result.output


def test_bad_input_is_one_line(tmp_path):
    ck = write_checkpoint(tmp_path / "yolo.npz", tiny_model())
    image = write_png(tmp_path / "scene.png")
    other = tmp_path / "other.npz"
    save_checkpoint(other, Checkpoint(model={}, config={"model": "mlp"}))
    assert_one_line_error(invoke(["detect", str(other), str(image)]), "is not a checkpoint of a YOLOv1")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    assert_one_line_error(invoke(["detect", str(ck), str(junk), "--out", str(tmp_path / "o")]),
                          "cannot read image")
    assert_one_line_error(invoke(["detect", str(ck), str(image), "--iou-threshold", "2"]), "iou-threshold")


def test_inputs_with_one_name_get_their_own_drawings(tmp_path):
    ck = write_checkpoint(tmp_path / "yolo.npz", tiny_model())
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = write_png(tmp_path / "a" / "x.png"), write_png(tmp_path / "b" / "x.png", light=True)
    result = invoke(["detect", str(ck), str(first), str(second), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x-2.png", "x.png"]
    assert f"{second}: drawn to x-2.png" in result.output
    assert_one_line_error(invoke(["detect", str(ck), str(first), "--score-threshold", "1.5"]), "--score-threshold")
