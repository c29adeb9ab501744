"""Bounding boxes: the three coordinate formats, areas, and intersection over union.

Formats (the names torchvision and COCO use), each a last axis of 4 numbers in image coordinates
(x to the right, y down, continuous: a pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``):

* ``"xyxy"`` -- corners ``(x1, y1, x2, y2)`` with ``x1 <= x2``, ``y1 <= y2`` (VOC, torchvision);
* ``"xywh"`` -- top-left corner and size ``(x, y, w, h)`` (COCO's ``bbox``);
* ``"cxcywh"`` -- centre and size ``(cx, cy, w, h)`` (YOLO's predictions).

IoU is plain NumPy (no gradient): YOLO's choice of the responsible box and every metric use it as a number.
"""

from __future__ import annotations

import numpy as np

from glassnet.checks import check_bool, check_choice
from glassnet.errors import DataError, DTypeError, ShapeError

__all__ = ["BOX_FORMATS", "box_convert", "box_area", "box_iou"]

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def _as_boxes(boxes, name: str, owner: str, fmt: str) -> np.ndarray:
    """``boxes`` as a float array ``(..., 4)`` with finite coordinates and non-negative sizes."""
    a = np.asarray(boxes)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise DTypeError(f"{owner}: {name} must be a real array of boxes, got dtype {a.dtype}")
    if a.ndim == 1 and a.size == 0:  # [] is "no boxes"
        a = a.reshape(0, 4)
    if a.ndim == 0 or a.shape[-1] != 4:
        raise ShapeError(f"{owner}: {name} must be (..., 4) boxes in {fmt!r} format, got shape {a.shape}")
    a = a.astype(np.float64) if np.issubdtype(a.dtype, np.integer) else a
    if not np.isfinite(a).all():
        raise DataError(f"{owner}: {name} holds a non-finite coordinate")
    if fmt == "xyxy":
        w, h = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
        sizes = "x2 >= x1 and y2 >= y1"
    else:
        w, h = a[..., 2], a[..., 3]
        sizes = "w >= 0 and h >= 0"
    bad = (w < 0) | (h < 0)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{owner}: {name} must have {sizes} ({fmt!r} format), got box {a[where].tolist()} "
                        f"at index {where}")
    return a


def box_convert(boxes, in_fmt: str, out_fmt: str) -> np.ndarray:
    """Convert boxes between ``"xyxy"``, ``"xywh"`` and ``"cxcywh"``.

    Formulas (through corners): ``xywh -> xyxy``: ``(x, y, x + w, y + h)``;
    ``cxcywh -> xyxy``: ``(cx - w/2, cy - h/2, cx + w/2, cy + h/2)``; and the inverses.

    Shapes: ``(..., 4)`` in, the same out. dtype: a float input keeps its dtype; integers become float64.

    Raises:
        ConfigError: an unknown format.
        ShapeError: the last axis is not 4.
        DataError: a non-finite coordinate, or a negative size (``x2 < x1``, ``w < 0``, ...).

    Reference: torchvision.ops.box_convert (same format names).
    """
    check_choice(in_fmt, "in_fmt", BOX_FORMATS, "box_convert")
    check_choice(out_fmt, "out_fmt", BOX_FORMATS, "box_convert")
    return _convert(_as_boxes(boxes, "boxes", "box_convert", in_fmt), in_fmt, out_fmt)


def _convert(a: np.ndarray, in_fmt: str, out_fmt: str) -> np.ndarray:
    if in_fmt == out_fmt:
        return a.copy()
    p, q, r, s = (a[..., k] for k in range(4))
    if in_fmt == "xywh":
        x1, y1, x2, y2 = p, q, p + r, q + s
    elif in_fmt == "cxcywh":
        x1, y1, x2, y2 = p - r / 2, q - s / 2, p + r / 2, q + s / 2
    else:
        x1, y1, x2, y2 = p, q, r, s
    if out_fmt == "xyxy":
        out = (x1, y1, x2, y2)
    elif out_fmt == "xywh":
        out = (x1, y1, x2 - x1, y2 - y1)
    else:
        out = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return np.stack(out, axis=-1).astype(a.dtype, copy=False)


def box_area(boxes, fmt: str = "xyxy") -> np.ndarray:
    """Areas ``(x2 - x1) * (y2 - y1)`` of boxes ``(..., 4)`` -> ``(...)``.

    Raises:
        ConfigError, ShapeError, DataError: as :func:`box_convert`.
    """
    check_choice(fmt, "fmt", BOX_FORMATS, "box_area")
    a = _as_boxes(boxes, "boxes", "box_area", fmt)
    if fmt == "xyxy":
        return (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    return a[..., 2] * a[..., 3]


def box_iou(a, b, fmt: str = "xyxy", pairwise: bool = True) -> np.ndarray:
    """Intersection over union (Jaccard index) of boxes.

    ``IoU(A, B) = |A ∩ B| / |A ∪ B| = I / (area(A) + area(B) - I)`` with
    ``I = max(0, min(x2, x2') - max(x1, x1')) * max(0, min(y2, y2') - max(y1, y1'))``,
    continuous coordinates (no ``+1`` pixel offset, as pycocotools; the VOC devkit adds 1 to widths
    because it counts integer pixels). Where the union is 0 (two zero-area boxes) the IoU is 0, never NaN.

    Shapes:
        pairwise=True: ``a (N, 4)``, ``b (M, 4)`` -> ``(N, M)`` with ``[i, j] = IoU(a_i, b_j)``.
        pairwise=False: ``a (..., 4)`` and ``b (..., 4)`` broadcast against each other -> the broadcast
        shape without the last axis (``(N, S, S, B, 4)`` against ``(N, S, S, 1, 4)`` gives each predicted
        box's IoU with its cell's ground truth, as YOLO needs).

    dtype: float64 for float64 or integer boxes, float32 when both are float32.

    Raises:
        ConfigError: an unknown format or a non-bool ``pairwise``.
        ShapeError: a last axis that is not 4, pairwise inputs that are not 2-D, shapes that do not broadcast.
        DataError: a non-finite coordinate or a negative size.

    Reference: Everingham et al. 2010, "The PASCAL Visual Object Classes (VOC) Challenge", IJCV 88, eq. 1.
    """
    check_choice(fmt, "fmt", BOX_FORMATS, "box_iou")
    check_bool(pairwise, "pairwise", "box_iou")
    a = _convert(_as_boxes(a, "a", "box_iou", fmt), fmt, "xyxy")
    b = _convert(_as_boxes(b, "b", "box_iou", fmt), fmt, "xyxy")
    if pairwise:
        if a.ndim != 2 or b.ndim != 2:
            raise ShapeError(f"box_iou: pairwise IoU needs a (N, 4) and b (M, 4), got {a.shape} and {b.shape}")
        a, b = a[:, None, :], b[None, :, :]  # (N, 1, 4), (1, M, 4)
    else:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ShapeError(f"box_iou: a {a.shape} and b {b.shape} do not broadcast") from None
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    union = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
             + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter)
    # union == 0 only when both boxes have zero area, and then the intersection is 0 too: define IoU = 0
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0).astype(np.result_type(a, b))
