"""mAP with method="coco" against pycocotools' COCOeval (bbox, areaRng 'all', maxDets 100) on random scenes."""

import contextlib
import io
import json

import numpy as np
import pytest

from glassnet.detection import COCO_IOU_THRESHOLDS, box_convert, evaluate_detections, mean_average_precision

pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def random_scenes(seed, n_images=12, n_classes=4, size=100.0):
    """Ground truth (0-5 boxes per image) and predictions: jittered copies (some duplicated, some with the
    wrong class) plus random false alarms, all xyxy float64 with random scores."""
    g = np.random.default_rng(seed)
    gts, preds = [], []
    for _ in range(n_images):
        m = int(g.integers(0, 6))
        xy = g.uniform(0, size * 0.7, (m, 2))
        wh = g.uniform(5, size * 0.3, (m, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1)
        classes = g.integers(0, n_classes, m)
        gts.append({"boxes": boxes, "classes": classes})
        copies = g.integers(0, 3, m)  # 0, 1 or 2 detections per object: misses, hits and duplicates
        src = np.repeat(np.arange(m), copies)
        jitter = g.normal(0, 0.08, (len(src), 4)) * np.tile(wh[src], 2)
        p_boxes = boxes[src] + jitter
        p_boxes[:, 2:] = np.maximum(p_boxes[:, 2:], p_boxes[:, :2] + 0.5)
        p_classes = np.where(g.random(len(src)) < 0.15, g.integers(0, n_classes, len(src)), classes[src])
        n_false = int(g.integers(0, 3))
        f_xy = g.uniform(0, size * 0.7, (n_false, 2))
        f_boxes = np.concatenate([f_xy, f_xy + g.uniform(5, size * 0.3, (n_false, 2))], axis=1)
        preds.append({"boxes": np.concatenate([p_boxes, f_boxes]),
                      "classes": np.concatenate([p_classes, g.integers(0, n_classes, n_false)]),
                      "scores": g.random(len(src) + n_false)})
    return gts, preds


def coco_stats(tmp_path, gts, preds, n_classes):
    """COCOeval's stats from gt/result JSON files (category ids shifted by 1: COCO's ids start at 1)."""
    images, annotations, results = [], [], []
    for i, (gt, pred) in enumerate(zip(gts, preds)):
        images.append({"id": i + 1, "width": 100, "height": 100, "file_name": f"{i}.png"})
        for box, k in zip(box_convert(gt["boxes"], "xyxy", "xywh"), gt["classes"]):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(k) + 1,
                                "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": 0})
        for box, k, s in zip(box_convert(pred["boxes"], "xyxy", "xywh"), pred["classes"], pred["scores"]):
            results.append({"image_id": i + 1, "category_id": int(k) + 1, "bbox": box.tolist(), "score": float(s)})
    categories = [{"id": k + 1, "name": str(k)} for k in range(n_classes)]
    (tmp_path / "gt.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                  "categories": categories}))
    (tmp_path / "dt.json").write_text(json.dumps(results))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(tmp_path / "gt.json"))
        coco_dt = coco_gt.loadRes(str(tmp_path / "dt.json"))
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco_map_equals_cocoeval(tmp_path, seed):
    # 5 categories, the last without ground truth (COCOeval leaves it out, as we do)
    gts, preds = random_scenes(seed)
    stats = coco_stats(tmp_path, gts, preds, n_classes=5).stats
    ap50 = mean_average_precision(preds, gts, 0.5, method="coco")
    ap = mean_average_precision(preds, gts, COCO_IOU_THRESHOLDS, method="coco")
    assert 0.05 < stats[0] < 0.95  # a non-trivial case
    assert ap50 == pytest.approx(stats[1], abs=1e-6)
    assert ap == pytest.approx(stats[0], abs=1e-6)
    # the same in COCO's own box format
    as_xywh = [{**d, "boxes": box_convert(d["boxes"], "xyxy", "xywh")} for d in preds]
    gts_xywh = [{**d, "boxes": box_convert(d["boxes"], "xyxy", "xywh")} for d in gts]
    assert mean_average_precision(as_xywh, gts_xywh, COCO_IOU_THRESHOLDS, "coco", fmt="xywh") == \
        pytest.approx(stats[0], abs=1e-6)


def test_coco_ap_of_each_class_and_threshold_equals_cocoeval(tmp_path):
    gts, preds = random_scenes(3)
    ev = coco_stats(tmp_path, gts, preds, n_classes=4)
    result = evaluate_detections(preds, gts, COCO_IOU_THRESHOLDS, method="coco")
    precision = ev.eval["precision"][:, :, :, 0, 2]  # (T, R, K): area 'all', maxDets 100
    ours = np.full((10, 4), -1.0)
    ours[:, list(result.classes)] = result.ap_table
    expected = np.where((precision > -1).all(axis=1), precision.mean(axis=1), -1.0)  # -1: no ground truth
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
