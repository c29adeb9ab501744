"""YOLO v1: the grid targets, the sum-squared loss, and the decoding of the grid into boxes.

YOLO ("you only look once", Redmon, Divvala, Girshick & Farhadi 2016) reads detection as one regression:
the image is cut into an ``S x S`` grid; the cell that holds an object's centre is responsible for it; each
cell predicts ``B`` boxes ``(x, y, sqrt(w), sqrt(h), confidence)`` and ``C`` class scores, all at once,
by one network. Layout of a prediction, per cell (the last axis of ``pred (N, S, S, B*5 + C)``)::

    [x_1, y_1, sqrt(w_1), sqrt(h_1), c_1,  ...,  x_B, y_B, sqrt(w_B), sqrt(h_B), c_B,  p_1, ..., p_C]

* ``x, y``: the box centre's offset inside its cell, in cell units (0 to 1 from the cell's top-left corner);
* ``sqrt(w), sqrt(h)``: square roots of the box size as a share of the image; the network predicts the
  root itself, so that nothing ever takes the root of a negative number (``w = sqrt(w)^2``);
* ``c``: the confidence, trained towards ``IoU(predicted box, truth)`` on the responsible predictor, 0 on
  every other; ``p_k``: the class scores of the cell (one set per cell, not per box).

Every output is linear (no sigmoid, no softmax), as darknet's ``yolov1.cfg`` (``softmax=0``, ``sqrt=1``,
``rescore=1``; a linear ``[connected]`` layer before the ``[detection]`` layer).

* :func:`encode_targets` -- ground-truth boxes and classes -> per-cell targets ``(N, S, S, 5 + C)``;
* :func:`responsible_predictors` -- which of the B predictors answers for each object (the highest IoU);
* :func:`yolo_v1_loss` -- the loss and each of its five terms, written with ``F.`` ops (autograd
  differentiates it);
* :func:`decode_predictions` -- the grid -> per-image boxes ``xyxy``, scores, classes after per-class NMS.

Reference: Redmon et al. 2016, "You Only Look Once: Unified, Real-Time Object Detection", CVPR, eq. 3, and
darknet's ``src/detection_layer.c`` (``forward_detection_layer``, ``get_detection_detections``) and
``src/data.c`` (``fill_truth_region``), https://github.com/pjreddie/darknet (read at commit f6afaab).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import glassnet.functional as F
from glassnet.autograd import Tensor
from glassnet.backend import get_array_module, to_numpy
from glassnet.checks import check_number, check_size
from glassnet.detection.boxes import _as_boxes
from glassnet.detection.nms import batched_nms
from glassnet.errors import DataError, DTypeError, ShapeError

__all__ = ["YOLOLoss", "encode_targets", "responsible_predictors", "yolo_v1_loss", "decode_predictions"]

#: darknet's ``fill_truth_region`` drops a box narrower or lower than this share of the image
MIN_BOX_SIZE = 0.005


def _image_size(image_size, owner: str) -> tuple[int, int]:
    if isinstance(image_size, (tuple, list)):
        if len(image_size) != 2:
            raise ShapeError(f"{owner}: image_size must be an int or (H, W), got {image_size!r}")
        return check_size(image_size[0], "image_size[0]", owner), check_size(image_size[1], "image_size[1]", owner)
    side = check_size(image_size, "image_size", owner)
    return side, side


def encode_targets(boxes, classes, S: int, C: int, image_size) -> np.ndarray:
    """Per-cell YOLO targets of a batch of images.

    For each box ``(x1, y1, x2, y2)`` of image ``n`` (pixels) with centre ``(cx, cy)`` and size ``(w, h)``:
    the responsible cell is ``(row, col) = (floor(S cy / H), floor(S cx / W))`` and its target is

        t[n, row, col] = [S cx / W - col,  S cy / H - row,  w / W,  h / H,  1,  one_hot(class, C)]

    (offset in the cell, size as a share of the image, an object flag, the class). A cell without an
    object is all zeros. As darknet's ``fill_truth_region``: a cell holds at most one object -- the first
    box of the image that falls in it wins and later ones in the same cell are dropped (darknet shuffles
    the boxes first; shuffle them yourself for that) -- and a box narrower or lower than
    :data:`MIN_BOX_SIZE` of the image is dropped. Boxes are first clipped to the image, as darknet's
    ``correct_boxes`` does, so a box partly outside keeps its visible part and one wholly outside is dropped
    (it has no width left); a centre on the right or bottom edge goes to the last row or column.

    Args:
        boxes: N arrays ``(n_i, 4)``, ``xyxy`` pixels (n_i may be 0).
        classes: N integer arrays ``(n_i,)`` in ``[0, C)``.
        S: grid side. C: number of classes.
        image_size: ``H = W`` (int) or ``(H, W)`` in pixels.

    Returns:
        float64 ``(N, S, S, 5 + C)``: ``[x, y, w, h, object, p_1..p_C]`` per cell.

    Raises:
        ConfigError: S, C or image_size not positive ints.
        ShapeError: boxes and classes of different lengths, or not ``(n_i, 4)`` / ``(n_i,)``.
        DTypeError: classes that are not integers. DataError: a class outside ``[0, C)``, or a bad box.
    """
    owner = "encode_targets"
    S, C = check_size(S, "S", owner), check_size(C, "C", owner)
    H, W = _image_size(image_size, owner)
    if isinstance(boxes, np.ndarray) and boxes.dtype != object:
        raise ShapeError(f"{owner}: boxes must be a list of N per-image (n_i, 4) arrays, got one array of shape "
                         f"{boxes.shape} (one image's boxes: pass [boxes] and [classes])")
    if len(boxes) != len(classes):
        raise ShapeError(f"{owner}: boxes and classes must have one entry per image, got {len(boxes)} and "
                         f"{len(classes)}")
    t = np.zeros((len(boxes), S, S, 5 + C))  # (N, S, S, 5 + C)
    for n, (b, k) in enumerate(zip(boxes, classes)):
        if np.ndim(b) != 2 and np.size(b):
            raise ShapeError(f"{owner}: boxes[{n}] must be (n_i, 4), got shape {np.shape(b)}")
        b = _as_boxes(b, f"boxes[{n}]", owner, "xyxy").reshape(-1, 4)
        if np.ndim(k) != 1 and np.size(k):
            raise ShapeError(f"{owner}: classes[{n}] must be (n_i,), got shape {np.shape(k)}")
        k = np.asarray(k).reshape(-1)
        if k.size and not np.issubdtype(k.dtype, np.integer):
            raise DTypeError(f"{owner}: classes[{n}] must be integers, got dtype {k.dtype}")
        if k.shape != (len(b),):
            raise ShapeError(f"{owner}: classes[{n}] must be ({len(b)},), one per box, got shape {k.shape}")
        if k.size and (k.min() < 0 or k.max() >= C):
            raise DataError(f"{owner}: classes[{n}] must lie in [0, {C}), got {k.tolist()}")
        for (x1, y1, x2, y2), cls in zip(b, k):
            x1, x2 = min(max(x1, 0.0), W), min(max(x2, 0.0), W)  # clipped to the image (darknet's correct_boxes)
            y1, y2 = min(max(y1, 0.0), H), min(max(y2, 0.0), H)
            w, h = (x2 - x1) / W, (y2 - y1) / H
            if w < MIN_BOX_SIZE or h < MIN_BOX_SIZE:
                continue
            gx, gy = S * (x1 + x2) / 2 / W, S * (y1 + y2) / 2 / H  # the centre in cell units
            col, row = min(int(gx), S - 1), min(int(gy), S - 1)
            if t[n, row, col, 4]:
                continue  # the cell already holds an object (darknet: `if (truth[index]) continue;`)
            t[n, row, col, :5] = gx - col, gy - row, w, h, 1.0
            t[n, row, col, 5 + int(cls)] = 1.0
    return t


def _check_grid(pred, targets, S: int, B: int, C: int, owner: str):
    S, B, C = check_size(S, "S", owner), check_size(B, "B", owner), check_size(C, "C", owner)
    shape = tuple(pred.shape)
    if len(shape) != 4 or shape[1:] != (S, S, B * 5 + C):
        raise ShapeError(f"{owner}: pred must be (N, S, S, B*5 + C) = (N, {S}, {S}, {B * 5 + C}), got {shape}")
    if targets is not None:
        t_shape = tuple(targets.shape) if hasattr(targets, "shape") else np.shape(targets)
        if t_shape != (shape[0], S, S, 5 + C):
            raise ShapeError(f"{owner}: targets must be (N, S, S, 5 + C) = ({shape[0]}, {S}, {S}, {5 + C}) as "
                             f"encode_targets returns, got {t_shape}")
    return S, B, C


def responsible_predictors(pred, targets, S: int, B: int, C: int) -> tuple[np.ndarray, np.ndarray]:
    """Which predictor of each object cell is responsible for its object, and that predictor's IoU.

    Rule of darknet's ``forward_detection_layer``: decode each of the cell's B boxes (``w = sqrt(w)^2``) and
    take the one with the highest IoU with the truth (the first on a tie); if no box overlaps the truth at
    all (every IoU is 0), take the one nearest to it in ``rmse = ||(x/S, y/S, w, h) - (x*/S, y*/S, w*, h*)||``
    (the first on a tie). Computed on the values only: no gradient flows through the choice or the IoU.

    Args:
        pred: Tensor or array ``(N, S, S, B*5 + C)`` (see the module's layout).
        targets: ``(N, S, S, 5 + C)`` from :func:`encode_targets`.
        S, B, C: grid side, boxes per cell, classes.

    Returns:
        ``responsible`` bool ``(N, S, S, B)`` (exactly one True per object cell, none elsewhere) and
        ``iou`` float64 ``(N, S, S, B)``: every predicted box's IoU with its cell's truth (0 without object).

    Raises:
        ConfigError: S, B, C not positive ints. ShapeError: pred or targets of another shape.
        DataError: a non-finite predicted box.
    """
    S, B, C = _check_grid(pred, targets, S, B, C, "responsible_predictors")
    p = pred.data if isinstance(pred, Tensor) else pred
    xp = get_array_module(p)  # on a device the choice is made there: nothing goes to the host in a step
    p = xp.asarray(p, dtype=np.float64)
    t = xp.asarray(targets, dtype=np.float64)
    box = p[..., :B * 5].reshape(p.shape[:3] + (B, 5))  # (N, S, S, B, 5)
    # image-share units; both boxes are placed from the same cell corner, which IoU and rmse do not see
    out = xp.stack([box[..., 0] / S, box[..., 1] / S, box[..., 2] ** 2, box[..., 3] ** 2], axis=-1)  # (N,S,S,B,4)
    truth = xp.stack([t[..., 0] / S, t[..., 1] / S, t[..., 2], t[..., 3]], axis=-1)[..., None, :]  # (N,S,S,1,4)
    if not bool(xp.isfinite(out).all()):
        raise DataError("responsible_predictors: pred holds a non-finite box coordinate")
    obj = t[..., 4] > 0  # (N, S, S)
    iou = _iou_cxcywh(xp, out, truth) * obj[..., None]  # (N, S, S, B)
    rmse = xp.sqrt(((out - truth) ** 2).sum(axis=-1))  # (N, S, S, B)
    best = xp.where(iou.max(axis=-1) > 0, iou.argmax(axis=-1), rmse.argmin(axis=-1))  # (N, S, S)
    responsible = (xp.arange(B) == best[..., None]) & obj[..., None]  # (N, S, S, B)
    return responsible, iou


def _iou_cxcywh(xp, a, b):
    """IoU of ``cxcywh`` boxes broadcast elementwise, in any array module (:func:`box_iou`'s rule: 0 for no union)."""
    ax1, ay1, ax2, ay2 = a[..., 0] - a[..., 2] / 2, a[..., 1] - a[..., 3] / 2, a[..., 0] + a[..., 2] / 2, \
        a[..., 1] + a[..., 3] / 2
    bx1, by1, bx2, by2 = b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2, b[..., 0] + b[..., 2] / 2, \
        b[..., 1] + b[..., 3] / 2
    iw = xp.clip(xp.minimum(ax2, bx2) - xp.maximum(ax1, bx1), 0, None)
    ih = xp.clip(xp.minimum(ay2, by2) - xp.maximum(ay1, by1), 0, None)
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return xp.where(union > 0, inter / xp.where(union > 0, union, 1), 0)


class YOLOLoss(NamedTuple):
    """The YOLO v1 loss and its terms, each a scalar Tensor already divided by the batch size N.

    ``total = coord_xy + coord_wh + obj + noobj + cls``.
    """

    total: Tensor
    coord_xy: Tensor
    coord_wh: Tensor
    obj: Tensor
    noobj: Tensor
    cls: Tensor


def yolo_v1_loss(pred, targets, S: int, B: int, C: int, lambda_coord: float = 5.0,
                 lambda_noobj: float = 0.5) -> YOLOLoss:
    """The YOLO v1 loss (Redmon et al. 2016, eq. 3) as darknet's ``detection_layer.c`` computes it.

    With ``1^obj_ij`` = predictor j of cell i is responsible for the cell's object
    (:func:`responsible_predictors`), ``1^obj_i`` = cell i holds an object, hats the targets:

        coord_xy = λ_coord Σ_ij 1^obj_ij [(x_ij - x̂_i)² + (y_ij - ŷ_i)²]
        coord_wh = λ_coord Σ_ij 1^obj_ij [(√w_ij - √ŵ_i)² + (√h_ij - √ĥ_i)²]    (√w_ij is the network's output)
        obj      =         Σ_ij 1^obj_ij (c_ij - IoU_ij)²                       (IoU_ij: a constant, no gradient)
        noobj    = λ_noobj Σ_ij (1 - 1^obj_ij) c_ij²
        cls      =         Σ_i  1^obj_i Σ_k (p_ik - p̂_ik)²
        total    = (coord_xy + coord_wh + obj + noobj + cls) / N

    The no-object term covers *every* predictor that is not responsible -- those of empty cells and the
    other B - 1 predictors of an object cell -- and the confidence target of the responsible one is the
    IoU of its box with the truth (darknet's ``rescore=1``), not 1. Both are rules that re-implementations
    got wrong, and the tests check each.

    Args:
        pred: Tensor ``(N, S, S, B*5 + C)``, float32 or float64 (see the module's layout).
        targets: array ``(N, S, S, 5 + C)`` from :func:`encode_targets` (a constant).
        S, B, C: grid side, boxes per cell, classes.
        lambda_coord: weight of the box terms (paper: 5). lambda_noobj: weight of empty predictors (0.5).

    Returns:
        :class:`YOLOLoss` ``(total, coord_xy, coord_wh, obj, noobj, cls)``, scalar Tensors of pred's dtype,
        each term already divided by N.

    Raises:
        ConfigError: S, B, C not positive ints, or a negative lambda.
        ShapeError: pred or targets of another shape. DataError: a non-finite predicted box.

    Deviations from darknet, none of which changes a gradient's direction: darknet writes the negative
    gradient ``delta = scale (target - output)`` of each term by hand, i.e. half the gradient of the squared
    errors above (the same factor 1/2 on every term), and divides by the batch in the weight update instead
    of in the loss; its reported ``cost`` is ``|delta|²``. Here the loss is the paper's sum of squares over N.
    Darknet keeps the output planar (all class scores, then all confidences, then all boxes); here each
    cell's numbers sit together, the layout of the paper's ``S x S x (B*5 + C)`` tensor.
    """
    owner = "yolo_v1_loss"
    if not isinstance(pred, Tensor):
        pred = Tensor(pred if hasattr(pred, "shape") else np.asarray(pred))
    S, B, C = _check_grid(pred, targets, S, B, C, owner)
    lambda_coord = check_number(lambda_coord, "lambda_coord", owner, min=0.0)
    lambda_noobj = check_number(lambda_noobj, "lambda_noobj", owner, min=0.0)
    dtype = pred.data.dtype
    xp = get_array_module(pred.data)
    t = xp.asarray(targets, dtype=dtype)  # host targets go to pred's device once
    responsible, iou = responsible_predictors(pred, t, S, B, C)
    one_obj = responsible.astype(dtype)  # 1^obj_ij (N, S, S, B)
    cell_obj = t[..., 4:5]  # 1^obj_i (N, S, S, 1)
    n = pred.shape[0]

    box = F.reshape(pred[..., :B * 5], (n, S, S, B, 5))  # (N, S, S, B, 5)
    x, y, sqrt_w, sqrt_h, c = (box[..., k] for k in range(5))  # each (N, S, S, B)
    p = pred[..., B * 5:]  # (N, S, S, C)
    tx, ty = t[..., 0:1], t[..., 1:2]  # (N, S, S, 1), broadcast over the B predictors
    sqrt_tw, sqrt_th = xp.sqrt(t[..., 2:3]), xp.sqrt(t[..., 3:4])
    per_image = max(n, 1)  # an empty batch gives 0, not NaN

    coord_xy = F.sum(one_obj * ((x - tx) ** 2 + (y - ty) ** 2)) * (lambda_coord / per_image)
    coord_wh = F.sum(one_obj * ((sqrt_w - sqrt_tw) ** 2 + (sqrt_h - sqrt_th) ** 2)) * (lambda_coord / per_image)
    obj = F.sum(one_obj * (c - iou.astype(dtype)) ** 2) * (1.0 / per_image)
    noobj = F.sum((1 - one_obj) * c ** 2) * (lambda_noobj / per_image)
    cls = F.sum(cell_obj * (p - t[..., 5:]) ** 2) * (1.0 / per_image)
    return YOLOLoss(coord_xy + coord_wh + obj + noobj + cls, coord_xy, coord_wh, obj, noobj, cls)


def decode_predictions(pred, S: int, B: int, C: int, score_threshold: float = 0.1, iou_threshold: float = 0.5,
                       image_size=1) -> list[dict[str, np.ndarray]]:
    """The grid's boxes as detections: per image boxes ``xyxy``, scores and classes after per-class NMS.

    As darknet's ``get_detection_detections``: box j of cell ``(row, col)`` has centre
    ``((col + x) / S W, (row + y) / S H)`` and size ``(sqrt(w)² W, sqrt(h)² H)``; its class-specific score
    for class k is ``c_j p_k`` (the paper's ``Pr(object) IoU x Pr(class | object)``), kept when
    ``> score_threshold``, with ``c_j`` and ``p_k`` clipped at 0 first (a deliberate deviation: darknet
    multiplies the raw linear outputs, so that two negative numbers can make a high score). Every
    (box, class) pair above the threshold is a detection, as darknet keeps one probability per class per
    box; :func:`~glassnet.detection.batched_nms` then keeps the best of each class's overlapping boxes
    (``IoU > iou_threshold`` suppressed). Boxes are clipped to the image.

    Args:
        pred: Tensor or array ``(N, S, S, B*5 + C)``.
        S, B, C: grid side, boxes per cell, classes.
        score_threshold: the smallest score kept (strictly above), a number >= 0.
        iou_threshold: NMS threshold in [0, 1].
        image_size: ``H = W`` or ``(H, W)`` of the boxes returned (default 1: image shares).

    Returns:
        N dicts ``{"boxes": float64 (K, 4) xyxy, "scores": float64 (K,), "classes": int64 (K,)}``, by
        decreasing score -- the input of :func:`~glassnet.detection.evaluate_detections`.

    Raises:
        ConfigError: bad S, B, C, thresholds or image size. ShapeError: pred of another shape.
        DataError: a non-finite box or score among those above the threshold.
    """
    owner = "decode_predictions"
    S, B, C = _check_grid(pred, None, S, B, C, owner)
    score_threshold = check_number(score_threshold, "score_threshold", owner, min=0.0)
    iou_threshold = check_number(iou_threshold, "iou_threshold", owner, min=0.0, max=1.0)
    H, W = _image_size(image_size, owner)
    p = np.asarray(to_numpy(pred.data if isinstance(pred, Tensor) else pred), dtype=np.float64)  # NMS on the host
    box = p[..., :B * 5].reshape(p.shape[:3] + (B, 5))  # (N, S, S, B, 5)
    col = np.arange(S)[None, None, :, None]  # broadcast over (N, S rows, S cols, B)
    row = np.arange(S)[None, :, None, None]
    cx, cy = (col + box[..., 0]) / S * W, (row + box[..., 1]) / S * H  # (N, S, S, B)
    w, h = box[..., 2] ** 2 * W, box[..., 3] ** 2 * H
    xyxy = np.stack([np.clip(cx - w / 2, 0, W), np.clip(cy - h / 2, 0, H),
                     np.clip(cx + w / 2, 0, W), np.clip(cy + h / 2, 0, H)], axis=-1)  # (N, S, S, B, 4)
    # c_j p_k, both clipped at 0: the outputs are linear, and two negatives must not make a high score
    scores = np.maximum(box[..., 4:5], 0) * np.maximum(p[..., None, B * 5:], 0)  # (N, S, S, B, C)
    out = []
    for n in range(p.shape[0]):
        # over the S*S*B boxes; a box with no area left inside the image (clipped away, or of size 0) is none
        area = (xyxy[n, ..., 2] - xyxy[n, ..., 0]) * (xyxy[n, ..., 3] - xyxy[n, ..., 1])  # (S, S, B)
        cell_box, k = np.nonzero((scores[n].reshape(-1, C) > score_threshold) & (area.reshape(-1, 1) > 0))
        b, s = xyxy[n].reshape(-1, 4)[cell_box], scores[n].reshape(-1, C)[cell_box, k]
        if not (np.isfinite(b).all() and np.isfinite(s).all()):
            raise DataError(f"{owner}: pred[{n}] holds a non-finite box or score")
        keep = batched_nms(b, s, k.astype(np.int64), iou_threshold)
        out.append({"boxes": b[keep], "scores": s[keep], "classes": k[keep].astype(np.int64)})
    return out
