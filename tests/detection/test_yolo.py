import math

import numpy as np
import pytest

import glassnet.functional as F
from glassnet.autograd import Tensor
from glassnet.detection.yolo import decode_predictions, encode_targets, responsible_predictors, yolo_v1_loss
from glassnet.errors import ConfigError, DataError, ShapeError
from glassnet.testing import gradcheck

S, B, C = 2, 2, 3


def one_object_case():
    """One image of 100 x 100 px, S = 2, B = 2, C = 3, one digit of class 1 at (10, 20, 50, 60).

    Centre (30, 40), size 40 x 40: cell (row 0, col 0), x = 2·30/100 - 0 = 0.6, y = 0.8, w = h = 0.4.
    Predictor 1 of that cell: (x, y, √w, √h, c) = (0.5, 0.5, 0.6, 0.5, 0.7); predictor 2: (0.5, 0.7, 0.6, 0.6, 0.2);
    class scores (0.1, 0.6, 0.2). The other cells' confidences: 0.1, -0.2 | 0.3, 0.0 | 0.05, 0.4.
    """
    targets = encode_targets([np.array([[10.0, 20.0, 50.0, 60.0]])], [np.array([1])], S, C, 100)
    pred = np.zeros((1, S, S, B * 5 + C))
    pred[0, 0, 0] = [0.5, 0.5, 0.6, 0.5, 0.7, 0.5, 0.7, 0.6, 0.6, 0.2, 0.1, 0.6, 0.2]
    others = {(0, 1): (0.1, -0.2), (1, 0): (0.3, 0.0), (1, 1): (0.05, 0.4)}
    g = np.random.default_rng(0)
    for (r, c), conf in others.items():
        pred[0, r, c] = g.uniform(0, 1, B * 5 + C)  # boxes and classes of empty cells do not count
        pred[0, r, c, [4, 9]] = conf
    return pred, targets


def hand_iou():
    # image-share units, both boxes placed from the cell's corner: truth centre (0.6/2, 0.8/2) = (0.3, 0.4),
    # 0.4 x 0.4 -> [0.1, 0.5] x [0.2, 0.6], area 0.16.
    # predictor 1: centre (0.25, 0.25), 0.36 x 0.25 -> [0.07, 0.43] x [0.125, 0.375]; I = 0.33 · 0.175
    iou1 = 0.33 * 0.175 / (0.09 + 0.16 - 0.33 * 0.175)  # = 0.3004
    # predictor 2: centre (0.25, 0.35), 0.36 x 0.36 -> [0.07, 0.43] x [0.17, 0.53]; I = 0.33 · 0.33
    iou2 = 0.33 * 0.33 / (0.1296 + 0.16 - 0.33 * 0.33)  # = 0.6027: predictor 2 is responsible
    return iou1, iou2


def test_encode_targets_by_hand():
    t = encode_targets([np.array([[10.0, 20.0, 50.0, 60.0]])], [np.array([1])], S, C, 100)
    assert t.shape == (1, S, S, 5 + C)
    np.testing.assert_allclose(t[0, 0, 0], [0.6, 0.8, 0.4, 0.4, 1, 0, 1, 0], rtol=0, atol=1e-15)
    assert not t[0, 0, 1:].any() and not t[0, 1].any()
    # (H, W) differ; two boxes in one cell: the first wins
    t = encode_targets([np.array([[60.0, 0.0, 100.0, 10.0], [70.0, 6.0, 90.0, 10.0], [0, 0, 0.1, 0.1]])],
                       [np.array([2, 0, 1])], 4, C, (20, 100))
    np.testing.assert_allclose(t[0, 1, 3], [0.2, 0.0, 0.4, 0.5, 1, 0, 0, 1], atol=1e-12)
    assert t[..., 4].sum() == 1  # the second box shares cell (1, 3); the third is below MIN_BOX_SIZE
    assert encode_targets([np.zeros((0, 4))], [np.zeros(0, int)], S, C, 100).any() == 0


def test_single_object_each_term_by_hand():
    pred, targets = one_object_case()
    iou1, iou2 = hand_iou()
    responsible, iou = responsible_predictors(pred, targets, S, B, C)
    assert responsible.sum() == 1 and responsible[0, 0, 0, 1]
    np.testing.assert_allclose(iou[0, 0, 0], [iou1, iou2], rtol=1e-12)
    loss = yolo_v1_loss(Tensor(pred), targets, S, B, C)
    expect = {
        "coord_xy": 5 * ((0.5 - 0.6) ** 2 + (0.7 - 0.8) ** 2),  # = 0.1
        "coord_wh": 5 * 2 * (0.6 - math.sqrt(0.4)) ** 2,  # = 0.010534
        "obj": (0.2 - iou2) ** 2,  # target = IoU 0.6027, not 1
        # every predictor that is not responsible, the other box of the object cell (0.7) included
        "noobj": 0.5 * (0.7 ** 2 + 0.1 ** 2 + 0.2 ** 2 + 0.3 ** 2 + 0.0 ** 2 + 0.05 ** 2 + 0.4 ** 2),  # = 0.39625
        "cls": 0.1 ** 2 + (0.6 - 1) ** 2 + 0.2 ** 2,  # = 0.21, once per cell
    }
    for name, value in expect.items():
        assert getattr(loss, name).item() == pytest.approx(value, rel=1e-12, abs=1e-15), name
    assert loss.total.item() == pytest.approx(sum(expect.values()), rel=1e-12)


def test_confidence_target_is_the_iou_not_one():
    pred, targets = one_object_case()
    iou2 = hand_iou()[1]
    obj = yolo_v1_loss(Tensor(pred), targets, S, B, C).obj.item()
    wrong = (0.2 - 1.0) ** 2  # the mistake: a confidence target of 1
    assert obj == pytest.approx((0.2 - iou2) ** 2, rel=1e-12) and abs(obj - wrong) > 0.4
    # and the gradient: d obj / d c = 2 (c - IoU), pulling the confidence towards 0.6027, not towards 1
    p = Tensor(pred, requires_grad=True)
    yolo_v1_loss(p, targets, S, B, C).obj.backward()
    assert p.grad[0, 0, 0, 9] == pytest.approx(2 * (0.2 - iou2), rel=1e-12)


def test_no_object_term_covers_the_non_responsible_box_of_an_object_cell():
    pred, targets = one_object_case()
    noobj = yolo_v1_loss(Tensor(pred), targets, S, B, C).noobj.item()
    empty_cells_only = 0.5 * (0.1 ** 2 + 0.2 ** 2 + 0.3 ** 2 + 0.05 ** 2 + 0.4 ** 2)  # the mistake
    assert noobj == pytest.approx(empty_cells_only + 0.5 * 0.7 ** 2, rel=1e-12)
    assert noobj - empty_cells_only > 0.2
    p = Tensor(pred, requires_grad=True)
    yolo_v1_loss(p, targets, S, B, C).total.backward()
    assert p.grad[0, 0, 0, 4] == pytest.approx(0.5 * 2 * 0.7, rel=1e-12)  # pushed towards 0


def test_without_overlap_the_nearest_box_by_rmse_is_responsible():
    targets = encode_targets([np.array([[10.0, 20.0, 50.0, 60.0]])], [np.array([1])], S, C, 100)
    pred = np.zeros((1, S, S, B * 5 + C))
    # both boxes far outside the truth in share units (x/S = 5, 3): no overlap, predictor 2 is nearer
    pred[0, 0, 0, :10] = [10.0, 10.0, 0.1, 0.1, 0.5, 6.0, 6.0, 0.1, 0.1, 0.5]
    responsible, iou = responsible_predictors(pred, targets, S, B, C)
    assert not iou.any() and responsible[0, 0, 0].tolist() == [False, True]
    assert yolo_v1_loss(Tensor(pred), targets, S, B, C).obj.item() == pytest.approx(0.25, rel=1e-12)


def darknet_loop_reference(pred, targets, lambda_coord=5.0, lambda_noobj=0.5):
    """The loss as darknet's forward_detection_layer walks it: image, cell, predictor, written as loops."""
    n, s = pred.shape[:2]
    total = 0.0
    for b in range(n):
        for i in range(s):
            for j in range(s):
                p, t = pred[b, i, j], targets[b, i, j]
                conf = [p[5 * k + 4] for k in range(B)]
                total += sum(lambda_noobj * c ** 2 for c in conf)
                if not t[4]:
                    continue
                total += sum((p[5 * B + k] - t[5 + k]) ** 2 for k in range(C))
                tb = (t[0] / s, t[1] / s, t[2], t[3])
                best, best_iou, best_rmse = -1, 0.0, 20.0
                for k in range(B):
                    ob = (p[5 * k] / s, p[5 * k + 1] / s, p[5 * k + 2] ** 2, p[5 * k + 3] ** 2)
                    iou = cxcywh_iou(ob, tb)
                    rmse = math.sqrt(sum((u - v) ** 2 for u, v in zip(ob, tb)))
                    if best_iou > 0 or iou > 0:
                        if iou > best_iou:
                            best_iou, best = iou, k
                    elif rmse < best_rmse:
                        best_rmse, best = rmse, k
                q = p[5 * best:5 * best + 5]
                total -= lambda_noobj * q[4] ** 2
                total += (q[4] - best_iou) ** 2
                total += lambda_coord * ((q[0] - t[0]) ** 2 + (q[1] - t[1]) ** 2)
                total += lambda_coord * ((q[2] - math.sqrt(t[2])) ** 2 + (q[3] - math.sqrt(t[3])) ** 2)
    return total / n


def cxcywh_iou(a, b):
    iw = max(0.0, min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2))
    ih = max(0.0, min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2))
    union = a[2] * a[3] + b[2] * b[3] - iw * ih
    return iw * ih / union if union > 0 else 0.0


def random_batch(seed, n=3, s=3):
    g = np.random.default_rng(seed)
    boxes, classes = [], []
    for _ in range(n):
        k = int(g.integers(0, 4))
        xy = g.uniform(0, 70, (k, 2))
        boxes.append(np.concatenate([xy, xy + g.uniform(8, 30, (k, 2))], axis=1))
        classes.append(g.integers(0, C, k))
    targets = encode_targets(boxes, classes, s, C, 100)
    pred = g.uniform(-0.2, 1.0, (n, s, s, B * 5 + C))
    pred[..., [2, 3, 7, 8]] = g.uniform(0.1, 0.7, (n, s, s, 4))
    return pred, targets


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_darknet_loop_on_random_batches(seed):
    pred, targets = random_batch(seed)
    assert targets[..., 4].sum() >= 2
    loss = yolo_v1_loss(Tensor(pred), targets, 3, B, C, lambda_coord=4.0, lambda_noobj=0.25)
    assert loss.total.item() == pytest.approx(darknet_loop_reference(pred, targets, 4.0, 0.25), rel=1e-12)


def test_divided_by_the_batch_size_and_zero_object_images():
    pred, targets = one_object_case()
    one = yolo_v1_loss(Tensor(pred), targets, S, B, C).total.item()
    two = yolo_v1_loss(Tensor(np.concatenate([pred, pred])), np.concatenate([targets, targets]), S, B, C).total
    assert two.item() == pytest.approx(one, rel=1e-12)
    # an image without objects: only the no-object term, on every confidence
    empty = encode_targets([np.zeros((0, 4))], [np.zeros(0, np.int64)], S, C, 100)
    p = Tensor(pred, requires_grad=True)
    loss = yolo_v1_loss(p, empty, S, B, C)
    conf = pred[..., [4, 9]]
    assert loss.total.item() == pytest.approx(0.5 * (conf ** 2).sum(), rel=1e-12)
    assert loss.coord_xy.item() == loss.coord_wh.item() == loss.obj.item() == loss.cls.item() == 0.0
    loss.total.backward()
    grad = np.zeros_like(pred)
    grad[..., [4, 9]] = conf
    np.testing.assert_allclose(p.grad, grad, rtol=0, atol=1e-15)


def split_pred(pred):
    """(boxes (N, S, S, B, 4), confidences (N, S, S, B, 1), classes (N, S, S, C)) of a prediction."""
    n, s = pred.shape[:2]
    cells = pred[..., :5 * B].reshape(n, s, s, B, 5)
    return cells[..., :4], cells[..., 4:], pred[..., 5 * B:]


def join_pred(boxes, conf, cls):
    n, s = cls.shape[:2]
    return F.concat([F.reshape(F.concat([boxes, conf], axis=-1), (n, s, s, 5 * B)), cls], axis=-1)


def test_gradcheck_float64():
    pred, targets = random_batch(7, n=1, s=2)
    assert targets[..., 4].sum() >= 2
    boxes, conf, cls = split_pred(pred)

    def terms(boxes, conf, cls):
        loss = yolo_v1_loss(join_pred(boxes, conf, cls), targets, 2, B, C)
        return loss.coord_xy, loss.coord_wh, loss.noobj, loss.cls

    assert gradcheck(terms, [boxes, conf, cls])
    # the confidence target IoU is a constant: the obj term's gradient reaches the confidences only ...
    assert gradcheck(lambda conf, cls: yolo_v1_loss(join_pred(Tensor(boxes), conf, cls), targets, 2, B, C).obj,
                     [conf, cls])
    # ... and never the boxes, though the IoU depends on them
    b = Tensor(boxes, requires_grad=True)
    yolo_v1_loss(join_pred(b, Tensor(conf), Tensor(cls)), targets, 2, B, C).obj.backward()
    assert b.grad is None or not np.any(b.grad)


def test_float32_keeps_its_dtype():
    pred, targets = one_object_case()
    p = Tensor(pred.astype(np.float32), requires_grad=True)
    loss = yolo_v1_loss(p, targets, S, B, C)
    loss.total.backward()
    assert loss.total.data.dtype == np.float32 and p.grad.dtype == np.float32


def test_loss_errors_are_readable():
    pred, targets = one_object_case()
    with pytest.raises(ShapeError, match=r"pred must be \(N, S, S, B\*5 \+ C\) = \(N, 2, 2, 14\), got \(1, 2, 2, 13\)"):
        yolo_v1_loss(Tensor(pred), targets, S, B, 4)
    with pytest.raises(ShapeError, match="targets must be"):
        yolo_v1_loss(Tensor(pred), targets[..., :-1], S, B, C)
    with pytest.raises(ConfigError, match="lambda_noobj"):
        yolo_v1_loss(Tensor(pred), targets, S, B, C, lambda_noobj=-1)
    with pytest.raises(DataError, match="non-finite"):
        yolo_v1_loss(Tensor(np.where(pred == 0.5, np.nan, pred)), targets, S, B, C)
    with pytest.raises(DataError, match=r"classes\[0\] must lie in \[0, 3\)"):
        encode_targets([np.array([[0.0, 0, 10, 10]])], [np.array([3])], S, C, 100)
    with pytest.raises(ShapeError, match="one entry per image"):
        encode_targets([np.zeros((0, 4))], [], S, C, 100)


def test_decode_by_hand_with_nms_and_threshold():
    pred = np.zeros((2, S, S, B * 5 + C))
    # cell (row 1, col 0), predictor 1: centre ((0 + 0.5)/2, (1 + 0.25)/2) = (0.25, 0.625) of 100 px,
    # size 0.4² = 0.16 and 0.5² = 0.25 -> (17, 50, 33, 75); score 0.8 · 0.9 for class 2, 0.8 · 0.05 for class 0
    pred[0, 1, 0, :5] = [0.5, 0.25, 0.4, 0.5, 0.8]
    # predictor 2: the same box a little shifted, score 0.5 · 0.9: suppressed by NMS (same class)
    pred[0, 1, 0, 5:10] = [0.55, 0.25, 0.4, 0.5, 0.5]
    pred[0, 1, 0, 10:] = [0.05, -3.0, 0.9]
    # cell (0, 1): negative confidence and negative class score do not make a detection
    pred[0, 0, 1, 4], pred[0, 0, 1, 11] = -2.0, -2.0
    out = decode_predictions(pred, S, B, C, score_threshold=0.1, iou_threshold=0.5, image_size=100)
    assert len(out) == 2 and out[1]["boxes"].shape == (0, 4)
    np.testing.assert_allclose(out[0]["boxes"], [[17.0, 50.0, 33.0, 75.0]], atol=1e-12)
    np.testing.assert_allclose(out[0]["scores"], [0.72], rtol=1e-12)
    assert out[0]["classes"].tolist() == [2] and out[0]["classes"].dtype == np.int64
    # a lower threshold keeps class 0's box too (0.04), and a box with IoU <= 0.5 survives NMS
    out = decode_predictions(pred, S, B, C, score_threshold=0.01, iou_threshold=0.9, image_size=100)[0]
    np.testing.assert_allclose(out["scores"], [0.72, 0.45, 0.04, 0.025], rtol=1e-12)
    assert out["classes"].tolist() == [2, 2, 0, 0]


def test_decode_clips_to_the_image_and_round_trips_targets():
    boxes = [np.array([[10.0, 20.0, 50.0, 60.0], [60.0, 62.0, 96.0, 90.0]])]
    t = encode_targets(boxes, [np.array([1, 2])], 3, C, 96)
    pred = np.zeros((1, 3, 3, B * 5 + C))
    pred[..., :4] = t[..., :4]
    pred[..., 2:4] = np.sqrt(t[..., 2:4])
    pred[..., 4] = t[..., 4]
    pred[..., 10:] = t[..., 5:]
    out = decode_predictions(pred, 3, B, C, 0.5, 0.5, 96)[0]
    np.testing.assert_allclose(out["boxes"], boxes[0], atol=1e-9)
    assert out["classes"].tolist() == [1, 2]
    pred[0, 0, 0, 2] = 5.0  # a box far wider than the image
    assert decode_predictions(pred, 3, B, C, 0.5, 0.5, 96)[0]["boxes"][:, [0, 2]].min() >= 0
    with pytest.raises(ConfigError, match="iou_threshold"):
        decode_predictions(pred, 3, B, C, 0.5, 1.5)
    with pytest.raises(ShapeError, match="pred must be"):
        decode_predictions(pred[..., :-1], 3, B, C)


def torch_yolo_v1_loss(torch, pred, targets, s, lambda_coord=5.0, lambda_noobj=0.5):
    """The loss in torch, written from the paper's eq. 3 with darknet's choice of the responsible box."""
    n = pred.shape[0]
    box = pred[..., :5 * B].reshape(n, s, s, B, 5)
    t = torch.from_numpy(targets)
    with torch.no_grad():  # the responsible box and the IoU target are constants
        out = torch.stack([box[..., 0] / s, box[..., 1] / s, box[..., 2] ** 2, box[..., 3] ** 2], -1)
        truth = torch.stack([t[..., 0] / s, t[..., 1] / s, t[..., 2], t[..., 3]], -1)[..., None, :]
        lo = torch.maximum(out[..., :2] - out[..., 2:] / 2, truth[..., :2] - truth[..., 2:] / 2)
        hi = torch.minimum(out[..., :2] + out[..., 2:] / 2, truth[..., :2] + truth[..., 2:] / 2)
        inter = (hi - lo).clamp(min=0).prod(-1)
        union = out[..., 2:].prod(-1) + truth[..., 2:].prod(-1) - inter
        iou = torch.where(union > 0, inter / union.clamp(min=1e-300), torch.zeros_like(union))
        rmse = ((out - truth) ** 2).sum(-1).sqrt()
        best = torch.where(iou.max(-1).values > 0, iou.argmax(-1), rmse.argmin(-1))
        resp = torch.nn.functional.one_hot(best, B).double() * t[..., 4:5]
    x, y, sw, sh, c = box.unbind(-1)
    coord = lambda_coord * (resp * ((x - t[..., :1]) ** 2 + (y - t[..., 1:2]) ** 2
                                    + (sw - t[..., 2:3].sqrt()) ** 2 + (sh - t[..., 3:4].sqrt()) ** 2)).sum()
    conf = (resp * (c - iou) ** 2).sum() + lambda_noobj * ((1 - resp) * c ** 2).sum()
    cls = (t[..., 4:5] * (pred[..., 5 * B:] - t[..., 5:]) ** 2).sum()
    return (coord + conf + cls) / n


def test_parity_with_torch_loss_and_gradient():
    torch = pytest.importorskip("torch")
    pred, targets = random_batch(5)
    tp = torch.tensor(pred, requires_grad=True)
    ref = torch_yolo_v1_loss(torch, tp, targets, 3)
    (upstream,) = np.random.default_rng(0).normal(size=1)
    (ref * upstream).backward()
    p = Tensor(pred, requires_grad=True)
    loss = yolo_v1_loss(p, targets, 3, B, C).total
    (loss * upstream).backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=0, atol=1e-10)


def test_boxes_outside_the_image_are_clipped_or_dropped():
    """Clipped to the image first (darknet's correct_boxes): no negative cell index, no offset outside [0, 1)."""
    from glassnet.detection import encode_targets

    boxes = [np.array([[-20.0, 5.0, -4.0, 20.0],  # wholly left of the image: dropped
                       [-40.0, -40.0, -20.0, -20.0],  # wholly above-left: dropped
                       [40.0, 40.0, 60.0, 60.0],  # wholly right-below of a 32-pixel image: dropped
                       [-8.0, 0.0, 8.0, 10.0]])]  # half outside: its visible part (0, 0, 8, 10)
    t = encode_targets(boxes, [np.array([0, 1, 2, 1])], 3, 3, 32)
    assert t[..., 4].sum() == 1.0
    row, col = np.argwhere(t[0, :, :, 4])[0]
    assert (row, col) == (0, 0)
    np.testing.assert_allclose(t[0, 0, 0, :6], [3 * 4 / 32, 3 * 5 / 32, 8 / 32, 10 / 32, 1.0, 0.0])
    assert t[0, 0, 0, 6] == 1.0  # class 1
    assert ((t[..., :2] >= 0) & (t[..., :2] < 1)).all()


def test_encode_targets_refuses_one_array_for_a_batch_and_flat_boxes():
    from glassnet.detection import encode_targets
    from glassnet.errors import ShapeError

    one_image = np.array([[0.0, 0.0, 8.0, 8.0], [20.0, 20.0, 30.0, 30.0]])  # cells (0, 0) and (1, 1)
    with pytest.raises(ShapeError, match=r"one array of shape \(2, 4\)"):
        encode_targets(one_image, np.array([0, 1]), 2, 2, 32)  # read as two images before
    with pytest.raises(ShapeError, match=r"boxes\[0\] must be \(n_i, 4\), got shape \(4,\)"):
        encode_targets([np.array([0.0, 0.0, 8.0, 8.0])], [np.array([0])], 2, 2, 32)
    with pytest.raises(ShapeError, match=r"classes\[0\] must be \(n_i,\)"):
        encode_targets([one_image], [np.array([[0], [1]])], 2, 2, 32)
    assert encode_targets([one_image], [np.array([0, 1])], 2, 2, 32)[..., 4].sum() == 2


def test_decoded_boxes_have_area():
    """A box clipped away by the image edge, or predicted with size 0, is not a detection."""
    from glassnet.detection import decode_predictions

    pred = np.zeros((1, 2, 2, 5 + 1))  # S = 2, B = 1, C = 1
    pred[0, 0, 0] = [0.5, 0.5, 0.0, 0.5, 0.9, 1.0]  # zero width
    pred[0, 1, 1] = [0.5, 0.5, 0.5, 0.5, 0.8, 1.0]  # a real box
    found = decode_predictions(pred, 2, 1, 1, score_threshold=0.1, image_size=32)[0]
    assert len(found["boxes"]) == 1 and found["scores"][0] == pytest.approx(0.8)
    w = found["boxes"][:, 2] - found["boxes"][:, 0]
    assert (w > 0).all()
