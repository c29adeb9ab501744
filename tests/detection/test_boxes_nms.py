import numpy as np
import pytest

from glassnet.detection import batched_nms, box_area, box_convert, box_iou, nms
from glassnet.errors import ConfigError, DataError, ShapeError

XYXY = np.array([[0.0, 0.0, 4.0, 2.0], [1.0, 1.0, 3.0, 5.0]])
XYWH = np.array([[0.0, 0.0, 4.0, 2.0], [1.0, 1.0, 2.0, 4.0]])
CXCYWH = np.array([[2.0, 1.0, 4.0, 2.0], [2.0, 3.0, 2.0, 4.0]])


@pytest.mark.parametrize("fmt,boxes", [("xyxy", XYXY), ("xywh", XYWH), ("cxcywh", CXCYWH)])
def test_conversions_by_hand_and_round_trip(fmt, boxes):
    np.testing.assert_array_equal(box_convert(boxes, fmt, "xyxy"), XYXY)
    np.testing.assert_array_equal(box_convert(XYXY, "xyxy", fmt), boxes)
    for other in ("xyxy", "xywh", "cxcywh"):
        np.testing.assert_allclose(box_convert(box_convert(boxes, fmt, other), other, fmt), boxes, atol=1e-12)
    np.testing.assert_array_equal(box_area(boxes, fmt), [8.0, 8.0])


def test_iou_by_hand_pairwise_and_elementwise():
    # overlap [1, 3] x [1, 2] = 2, union 8 + 8 - 2 = 14
    iou = box_iou(XYXY, XYXY)
    np.testing.assert_allclose(iou, [[1.0, 2 / 14], [2 / 14, 1.0]], rtol=0, atol=1e-15)
    assert box_iou(XYXY, XYXY[:1]).shape == (2, 1)
    np.testing.assert_allclose(box_iou(XYXY, XYXY[::-1], pairwise=False), [2 / 14, 2 / 14])
    np.testing.assert_allclose(box_iou(XYWH, XYWH, fmt="xywh"), iou)
    # YOLO's layout: (N, S, S, B, 4) predictions against (N, S, S, 1, 4) targets
    pred = np.random.default_rng(0).uniform(0, 1, (2, 3, 3, 2, 4)) * [1, 1, 0, 0] + [0, 0, 1, 1]
    assert box_iou(pred, pred[..., :1, :], fmt="cxcywh", pairwise=False).shape == (2, 3, 3, 2)
    assert box_iou(np.zeros((0, 4)), XYXY).shape == (0, 2)
    assert box_iou(XYXY.astype(np.float32), XYXY.astype(np.float32)).dtype == np.float32


def test_iou_matches_torch_box_iou_on_random_boxes():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(1)
    a = np.concatenate([xy := g.uniform(0, 10, (7, 2)), xy + g.uniform(0, 5, (7, 2))], axis=1)
    b = np.concatenate([xy := g.uniform(0, 10, (5, 2)), xy + g.uniform(0, 5, (5, 2))], axis=1)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    lt, rb = torch.max(ta[:, None, :2], tb[None, :, :2]), torch.min(ta[:, None, 2:], tb[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda t: (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])  # noqa: E731
    ref = inter / (area(ta)[:, None] + area(tb)[None, :] - inter)
    np.testing.assert_allclose(box_iou(a, b), ref.numpy(), rtol=0, atol=1e-12)


def test_zero_area_boxes_give_zero_not_nan():
    point, line = [[1.0, 1.0, 1.0, 1.0]], [[0.0, 1.0, 3.0, 1.0]]
    assert box_iou(point, point)[0, 0] == 0.0 and box_iou(line, line)[0, 0] == 0.0
    assert box_iou(point, XYXY).tolist() == [[0.0, 0.0]]
    assert not np.isnan(box_iou(np.zeros((3, 4)), np.zeros((2, 4)))).any()


def test_invalid_boxes_raise_readable_errors():
    with pytest.raises(DataError, match=r"x2 >= x1 and y2 >= y1 .* got box \[3.0, 0.0, 1.0, 2.0\] at index \(1,\)"):
        box_iou([[0, 0, 1, 1], [3, 0, 1, 2]], XYXY)
    with pytest.raises(DataError, match="w >= 0 and h >= 0"):
        box_convert([[0, 0, -1, 1]], "xywh", "xyxy")
    with pytest.raises(DataError, match="non-finite"):
        box_area([[0, 0, np.nan, 1]])
    with pytest.raises(ShapeError, match=r"must be \(\.\.\., 4\) boxes"):
        box_iou([[0, 0, 1]], XYXY)
    with pytest.raises(ShapeError, match=r"pairwise IoU needs a \(N, 4\)"):
        box_iou(XYXY[None], XYXY)
    with pytest.raises(ConfigError, match="fmt must be one of"):
        box_iou(XYXY, XYXY, fmt="yxyx")


def greedy_reference(boxes, scores, t):
    """The rule in torchvision's docs, written as the loop over an IoU matrix."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    iou, keep = box_iou(boxes, boxes), []
    for i in order:
        if all(iou[i, k] <= t for k in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_equals_the_greedy_rule(t):
    g = np.random.default_rng(2)
    xy = g.uniform(0, 20, (40, 2))
    boxes = np.concatenate([xy, xy + g.uniform(2, 8, (40, 2))], axis=1)
    scores = np.round(g.random(40), 1)  # many ties
    keep = nms(boxes, scores, t)
    assert keep.tolist() == greedy_reference(boxes, scores, t)
    assert keep.dtype == np.int64 and (np.diff(scores[keep]) <= 0).all()


def test_nms_threshold_is_strict_and_ties_keep_the_lower_index():
    boxes = np.array([[0.0, 0, 2, 1], [1.0, 0, 3, 1]])  # IoU 1/3
    assert nms(boxes, [0.5, 0.5], 1 / 3).tolist() == [0, 1]  # IoU == threshold: kept
    assert nms(boxes, [0.5, 0.5], 0.3).tolist() == [0]  # equal scores: the lower index wins
    assert nms(boxes, [0.4, 0.5], 0.3).tolist() == [1]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_batched_nms_never_suppresses_across_classes():
    boxes = np.array([[0.0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60]])
    scores = np.array([0.6, 0.9, 0.6, 0.6])
    classes = np.array([0, 0, 1, 1])
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == [1, 2, 3]
    g = np.random.default_rng(3)
    xy = g.uniform(0, 20, (30, 2))
    boxes = np.concatenate([xy, xy + g.uniform(2, 8, (30, 2))], axis=1)
    scores, classes = np.round(g.random(30), 1), g.integers(0, 3, 30)
    expected = [i for k in range(3) for i in np.flatnonzero(classes == k)[nms(boxes[classes == k],
                                                                              scores[classes == k], 0.4)]]
    expected.sort(key=lambda i: (-scores[i], i))
    assert batched_nms(boxes, scores, classes, 0.4).tolist() == expected


def test_nms_bad_input():
    with pytest.raises(ShapeError, match=r"scores must be \(2,\)"):
        nms(XYXY, [0.1], 0.5)
    with pytest.raises(ConfigError, match=r"iou_threshold must be a number in \[0, 1\]"):
        nms(XYXY, [0.1, 0.2], 1.5)
    with pytest.raises(DataError, match="non-finite"):
        nms(XYXY, [0.1, np.nan], 0.5)
    with pytest.raises(ShapeError, match=r"classes must be \(2,\)"):
        batched_nms(XYXY, [0.1, 0.2], [0], 0.5)
