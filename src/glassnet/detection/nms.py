"""Non-maximum suppression: keep the best-scoring box of each cluster of overlapping detections.

Greedy NMS as torchvision.ops.nms documents it: visit the boxes in decreasing score; keep a box unless a
box already kept overlaps it with ``IoU > iou_threshold`` (strictly greater: a box at exactly the threshold
survives). :func:`batched_nms` does the same within each class separately, so that a "3" never suppresses
an overlapping "8".
"""

from __future__ import annotations

import numpy as np

from glassnet.checks import check_choice, check_number
from glassnet.detection.boxes import BOX_FORMATS, _as_boxes, _convert, box_iou
from glassnet.errors import DataError, DTypeError, ShapeError

__all__ = ["nms", "batched_nms"]


def _as_scores(scores, n: int, owner: str) -> np.ndarray:
    s = np.asarray(scores)
    if not (np.issubdtype(s.dtype, np.floating) or np.issubdtype(s.dtype, np.integer)) or s.dtype == bool:
        raise DTypeError(f"{owner}: scores must be a real array, got dtype {s.dtype}")
    if s.shape != (n,):
        raise ShapeError(f"{owner}: scores must be ({n},), one per box, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise DataError(f"{owner}: scores hold a non-finite value")
    return s


def _by_score(scores: np.ndarray) -> np.ndarray:
    # decreasing score; a stable sort keeps equal scores in index order (lower index first)
    return np.argsort(-scores.astype(np.float64), kind="stable")


def _greedy(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Kept indices into ``boxes`` (xyxy, checked), by decreasing score."""
    order = _by_score(scores)
    keep = []
    while order.size:
        i, order = order[0], order[1:]
        keep.append(i)
        if order.size:
            # one row of IoUs per kept box: O(N * kept) time, O(N) memory (no N x N matrix)
            order = order[box_iou(boxes[i:i + 1], boxes[order])[0] <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def nms(boxes, scores, iou_threshold: float, fmt: str = "xyxy") -> np.ndarray:
    """Greedy non-maximum suppression.

    Visit the boxes in decreasing score; keep box ``i`` unless some kept box ``k`` has
    ``IoU(b_k, b_i) > iou_threshold``.

    Args:
        boxes: ``(N, 4)`` in format ``fmt`` (see :mod:`glassnet.detection.boxes`).
        scores: ``(N,)`` confidences (finite).
        iou_threshold: in [0, 1]; 0 keeps only boxes that overlap no kept box at all, 1 keeps every box.
        fmt: ``"xyxy"`` (default), ``"xywh"`` or ``"cxcywh"``.

    Returns:
        int64 ``(K,)``: indices of the kept boxes, sorted by decreasing score; equal scores keep index
        order (the lower index first, and so it is the one kept when the two overlap).

    Raises:
        ConfigError: ``iou_threshold`` outside [0, 1] or an unknown format.
        ShapeError: boxes not ``(N, 4)`` or scores not ``(N,)``.
        DataError: a negative box size or a non-finite coordinate or score.

    Reference: torchvision.ops.nms (same rule: boxes with IoU > iou_threshold are discarded; torchvision
    leaves the order of equal scores unspecified, here it is fixed).
    """
    iou_threshold = check_number(iou_threshold, "iou_threshold", "nms", min=0.0, max=1.0)
    b = _xyxy_2d(boxes, fmt, "nms")
    return _greedy(b, _as_scores(scores, len(b), "nms"), iou_threshold)


def batched_nms(boxes, scores, classes, iou_threshold: float, fmt: str = "xyxy") -> np.ndarray:
    """Non-maximum suppression within each class: boxes of different classes never suppress each other.

    Args:
        boxes: ``(N, 4)`` in format ``fmt``.
        scores: ``(N,)`` confidences.
        classes: ``(N,)`` integer class of each box.
        iou_threshold: in [0, 1], as :func:`nms`.
        fmt: the box format.

    Returns:
        int64 ``(K,)``: kept indices over all classes, sorted by decreasing score (equal scores: lower
        index first).

    Raises:
        ConfigError, ShapeError, DataError: as :func:`nms`; DTypeError or ShapeError for ``classes``
        that are not an integer ``(N,)`` array.

    Reference: torchvision.ops.batched_nms (which offsets each class's boxes so that one NMS call does
    all classes; the result is the same as one NMS per class, done here as the loop it stands for).
    """
    iou_threshold = check_number(iou_threshold, "iou_threshold", "batched_nms", min=0.0, max=1.0)
    b = _xyxy_2d(boxes, fmt, "batched_nms")
    s = _as_scores(scores, len(b), "batched_nms")
    c = np.asarray(classes)
    if not np.issubdtype(c.dtype, np.integer):
        raise DTypeError(f"batched_nms: classes must be an integer array, got dtype {c.dtype}")
    if c.shape != (len(b),):
        raise ShapeError(f"batched_nms: classes must be ({len(b)},), one per box, got shape {c.shape}")
    kept = [np.flatnonzero(c == k)[_greedy(b[c == k], s[c == k], iou_threshold)] for k in np.unique(c)]
    keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    keep.sort()  # index order first, so that the stable sort by score breaks ties by the lower index
    return keep[_by_score(s[keep])].astype(np.int64)


def _xyxy_2d(boxes, fmt: str, owner: str) -> np.ndarray:
    check_choice(fmt, "fmt", BOX_FORMATS, owner)
    b = _as_boxes(boxes, "boxes", owner, fmt)
    if b.ndim != 2:
        raise ShapeError(f"{owner}: boxes must be (N, 4), got shape {b.shape}")
    return _convert(b, fmt, "xyxy")
