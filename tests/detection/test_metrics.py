import numpy as np
import pytest

from glassnet.detection import average_precision, evaluate_detections, mean_average_precision, precision_recall
from glassnet.errors import ConfigError, DataError, ShapeError

GT = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], "classes": [3, 3, 3]}]
PRED = [{"boxes": [[0, 0, 10, 10], [60, 60, 70, 70], [20, 20, 30, 30]], "scores": [0.9, 0.8, 0.7],
         "classes": [3, 3, 3]}]


def test_worked_example_of_the_docstring_differs_by_method():
    r, p = [1 / 3, 1 / 3, 2 / 3], [1, 1 / 2, 2 / 3]
    expected = {"voc07": 6 / 11, "voc": 5 / 9, "coco": 56 / 101}
    for method, value in expected.items():
        assert average_precision(r, p, method) == pytest.approx(value, abs=1e-12)
        assert mean_average_precision(PRED, GT, 0.5, method) == pytest.approx(value, abs=1e-12)
    curve = precision_recall(PRED, GT, 3)
    np.testing.assert_allclose(curve.recall, r)
    np.testing.assert_allclose(curve.precision, p)
    assert curve.true_positive.tolist() == [True, False, True] and curve.n_ground_truth == 3


def test_voc_by_hand_two_images_two_classes_with_a_duplicate():
    gt = [{"boxes": [[0, 0, 10, 10], [20, 0, 30, 10]], "classes": [0, 1]},
          {"boxes": [[0, 0, 10, 10]], "classes": [0]}]
    pred = [{"boxes": [[0, 0, 10, 10], [0, 0, 10, 9], [20, 0, 30, 10]], "scores": [0.9, 0.6, 0.5],
             "classes": [0, 0, 1]},
            {"boxes": [[5, 0, 15, 10], [0, 0, 10, 10]], "scores": [0.8, 0.7], "classes": [0, 0]}]
    # class 0 by score: .9 TP (img0), .8 IoU 1/3 FP (img1), .7 TP (img1), .6 duplicate FP (img0)
    # recall 1/2, 1/2, 1, 1; precision 1, 1/2, 2/3, 1/2 -> all-point 1/2 * 1 + 1/2 * 2/3 = 5/6
    # voc07: r = 0..0.5 (6 points) -> 1, 0.6..1 (5 points) -> 2/3: (6 + 10/3) / 11; class 1: AP 1
    result = evaluate_detections(pred, gt, 0.5, "voc")
    assert result.ap == pytest.approx({0: 5 / 6, 1: 1.0}, abs=1e-12)
    assert result.map == pytest.approx((5 / 6 + 1) / 2, abs=1e-12)
    assert mean_average_precision(pred, gt, 0.5, "voc07") == pytest.approx(((6 + 10 / 3) / 11 + 1) / 2, abs=1e-12)


def test_threshold_rules_voc_strict_coco_inclusive():
    gt = [{"boxes": [[0, 0, 2, 1]], "classes": [0]}]
    pred = [{"boxes": [[0, 0, 1, 1]], "scores": [1.0], "classes": [0]}]  # IoU exactly 0.5
    assert mean_average_precision(pred, gt, 0.5, "voc") == 0.0
    assert mean_average_precision(pred, gt, 0.5, "coco") == 1.0


def test_matching_rules_voc_duplicate_coco_next_free_box():
    # two ground truths; the first detection takes A, the second overlaps A most but B above threshold
    gt = [{"boxes": [[0, 0, 10, 10], [3, 0, 13, 10]], "classes": [0, 0]}]
    pred = [{"boxes": [[0, 0, 10, 10], [1, 0, 11, 10]], "scores": [0.9, 0.8], "classes": [0, 0]}]
    assert evaluate_detections(pred, gt, 0.5, "voc").curves[0].true_positive.tolist() == [True, False]
    assert evaluate_detections(pred, gt, 0.5, "coco").curves[0].true_positive.tolist() == [True, True]


def test_classes_without_ground_truth_are_left_out_and_missed_classes_count_zero():
    gt = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "classes": [0, 1]}]
    pred = [{"boxes": [[0, 0, 10, 10], [50, 50, 60, 60]], "scores": [0.9, 0.8], "classes": [0, 7]}]
    result = evaluate_detections(pred, gt)
    assert result.classes == (0, 1) and result.ap == {0: 1.0, 1: 0.0} and result.map == 0.5
    empty = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "classes": np.zeros(0, int)}]
    assert mean_average_precision(empty, gt) == 0.0


def test_max_detections_keeps_the_best_per_image_and_class():
    gt = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "classes": [0, 0]}]
    pred = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "scores": [0.9, 0.8], "classes": [0, 0]}]
    assert mean_average_precision(pred, gt, 0.5, "voc") == 1.0
    assert mean_average_precision(pred, gt, 0.5, "voc", max_detections=1) == 0.5


def test_bad_input_is_refused_readably():
    with pytest.raises(ConfigError, match="method must be one of"):
        average_precision([0.5], [1.0], "voc12")
    with pytest.raises(DataError, match="non-decreasing"):
        average_precision([0.5, 0.4], [1.0, 1.0])
    with pytest.raises(ShapeError, match="one length"):
        average_precision([0.5], [1.0, 1.0])
    with pytest.raises(ConfigError, match="one entry per image"):
        evaluate_detections(PRED, GT + GT)
    with pytest.raises(ConfigError, match="keys boxes, scores, classes"):
        evaluate_detections([{"boxes": [[0, 0, 1, 1]], "classes": [0]}], GT)
    with pytest.raises(ConfigError, match="holds no box"):
        evaluate_detections(PRED, [{"boxes": np.zeros((0, 4)), "classes": []}])
    with pytest.raises(DataError, match="class_id 5 has no ground-truth box"):
        precision_recall(PRED, GT, 5)
    with pytest.raises(ConfigError, match="iou_threshold"):
        evaluate_detections(PRED, GT, iou_threshold=[])
