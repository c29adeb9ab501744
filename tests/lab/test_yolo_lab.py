"""The ``yolo`` experiment's quick configuration on seed 0 with the shared MNIST subset."""

import json
from pathlib import Path

import numpy as np
import pytest

from glassnet.lab import experiments, get_experiment, run_experiment
from glassnet.lab.detection.yolo import crop, sliding_window_detect, windows

SHARED = Path("/work/shared/data")
needs_mnist = pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="needs /work/shared/data/mnist")


def test_registered_under_object_detection_with_its_data():
    e = experiments()["yolo"]
    assert e.topic == "Object detection" and e.data == ("mnist",)
    assert "0.5" in e.criterion and e.quick_criterion


def test_windows_and_crops():
    grid = windows(96, (28, 40, 56), 8)
    assert len(grid) == 9 * 9 + 8 * 8 + 6 * 6 and grid.max() <= 96
    image = np.zeros((96, 96), np.float32)
    image[10:20, 30:40] = 1.0
    patch = crop(image, (30, 10, 40, 20))  # the bright square fills the 28x28 crop
    assert patch.shape == (28, 28) and patch.dtype == np.float32 and patch[4:24, 4:24].min() > 0.99
    assert crop(image, (-50, -50, -20, -20)).max() == 0  # beyond the border: zeros


def test_sliding_window_tightens_boxes_to_bright_pixels():
    class Always7:  # a "classifier" that calls every window a 7 with probability ~1
        def __call__(self, x):
            from glassnet.autograd import Tensor

            logits = np.full((len(x), 11), -10.0, np.float32)
            logits[:, 7] = 10.0
            return Tensor(logits)

    image = np.zeros((96, 96), np.float32)
    image[30:50, 40:46] = 1.0  # a narrow "1"-like stroke
    out = sliding_window_detect(Always7(), image, windows(96, (28,), 8), 0.5, 0.45)
    # every window that touches the stroke shrinks to the part of it inside the window (6 px wide, not 28);
    # windows that see nothing bright are dropped
    b = out["boxes"]
    assert len(b) and set(out["classes"].tolist()) == {7}
    assert (b[:, :2] >= [40, 30]).all() and (b[:, 2:] <= [46, 50]).all() and [40, 32, 46, 50] in b.tolist()


@needs_mnist
def test_quick_run(tmp_path):
    r = run_experiment(get_experiment("yolo"), quick=True, out_dir=tmp_path, seed=0, data_dir=SHARED, verbose=False,
                       printer=None)
    assert r.verdict == "supported"
    m = r.metrics
    assert 0 <= m["yolo_map50_voc"] <= 1 and 0 <= m["window_map50_coco"] <= 1
    assert m["yolo_final_loss"] < m["yolo_first_loss"]
    assert m["yolo_cpu_seconds_per_image"] > 0 and m["window_cpu_seconds_per_image"] > 0
    assert set(r.plots) == {"pr_yolo.png", "pr_sliding_window.png", "detections.png"}
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["verdict"] == "supported" and data["config"]["compare"] is False
    assert (tmp_path / "yolo.npz").stat().st_size > 1000  # the checkpoint that `glassnet detect` reads
