"""Average precision and mean average precision of a detector, as PASCAL VOC and COCO compute them.

A detector's output on an image is a set of boxes with a class and a score each. For one class, rank all
its detections over all images by decreasing score and walk down the list: a detection is a *true
positive* if it matches a ground-truth box of its class in its image not matched before, else a *false
positive*. After the k-th detection,

    recall_k = TP_k / G            precision_k = TP_k / k            (G: ground-truth boxes of the class)

The average precision (AP) summarises this precision-recall curve as the area under its *interpolated*
version ``p_interp(r) = max_{k: recall_k >= r} precision_k`` (0 where no recall reaches r), which removes
the curve's zigzag; the mean over the classes is the mAP. The three ways to take the area
(:func:`average_precision`):

* ``"voc07"`` -- VOC 2007: the mean of ``p_interp`` at the 11 recalls 0, 0.1, ..., 1;
* ``"voc"`` -- VOC 2010 onwards: the exact area, ``sum_k (recall_k - recall_{k-1}) p_interp(recall_k)``;
* ``"coco"`` -- COCO: the mean of ``p_interp`` at the 101 recalls 0, 0.01, ..., 1.

Matching (:func:`evaluate_detections`), one image and class at a time, detections in decreasing score:

* VOC (``"voc07"``, ``"voc"``; the devkit's ``VOCevaldet.m``): the detection takes the ground truth it
  overlaps most; if that IoU is ``> iou_threshold`` (strictly: ``ovmax > ovthresh``) and the box is still
  free it is a TP, otherwise (too little overlap, or its best box already taken: a duplicate) a FP.
* COCO (``"coco"``; pycocotools' ``cocoeval.py``): the detection takes, among the ground truths *not yet
  matched*, the one it overlaps most with ``IoU >= iou_threshold``; a FP if there is none. The COCO mAP,
  "AP@[.5:.95]", is the mean over the 10 thresholds :data:`COCO_IOU_THRESHOLDS` of the mean over classes.

Deliberate deviations: no "difficult" (VOC) or "crowd" (COCO) flags, no COCO area ranges (all boxes count:
COCO's ``areaRng='all'``); IoU without the devkit's ``+1`` pixel offset (continuous coordinates, as
pycocotools); classes without any ground-truth box are left out of the mean (as COCOeval; the VOC devkit
would divide by zero). The results equal COCOeval's ``stats[0]`` (AP@[.5:.95]) and ``stats[1]`` (AP@.5)
for ``areaRng='all'``, ``maxDets=100`` (a test checks it).

Worked example (one image, one class, three ground-truth digits; detections scored 0.9 hit, 0.8 miss,
0.7 hit): recall ``1/3, 1/3, 2/3``, precision ``1, 1/2, 2/3``, so ``p_interp = 1`` up to recall 1/3, then
2/3 up to recall 2/3, then 0. Then

* voc07: recalls 0, .1, .2, .3 give 1 and .4, .5, .6 give 2/3: ``(4 + 3 * 2/3) / 11 = 6/11 = 0.5454...``;
* voc: ``1/3 * 1 + 1/3 * 2/3 = 5/9 = 0.5555...``;
* coco: 34 recalls (0 to .33) give 1 and 33 (.34 to .66) give 2/3: ``(34 + 22) / 101 = 56/101 = 0.5544...``.

References: Everingham, Van Gool, Williams, Winn & Zisserman 2010, "The PASCAL Visual Object Classes (VOC)
Challenge", IJCV 88 (section 4.2) and the VOC devkit (``VOCevaldet.m``, ``VOCap.m``); Lin et al. 2014,
"Microsoft COCO: Common Objects in Context", ECCV, and pycocotools' ``cocoeval.py``
(``evaluateImg``, ``accumulate``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from glassnet.checks import check_choice, check_int, check_number, check_optional
from glassnet.detection.boxes import BOX_FORMATS, _as_boxes, _convert, box_iou
from glassnet.detection.nms import _as_scores
from glassnet.errors import ConfigError, DataError, DTypeError, ShapeError

__all__ = ["AP_METHODS", "VOC_IOU_THRESHOLD", "COCO_IOU_THRESHOLDS", "average_precision", "PRCurve",
           "DetectionEvaluation", "precision_recall", "evaluate_detections", "mean_average_precision"]

AP_METHODS = ("voc07", "voc", "coco")
VOC_IOU_THRESHOLD = 0.5
#: 0.5, 0.55, ..., 0.95, computed as cocoeval.py does (its 0.8999999999999999 included) so that an IoU
#: exactly at a threshold is judged alike.
COCO_IOU_THRESHOLDS = tuple(np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True).tolist())
_COCO_RECALLS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)  # as cocoeval.py
_VOC07_RECALLS = np.arange(11) / 10  # 0, 0.1, ..., 1 correctly rounded (3/10 == 0.3, unlike 3 * 0.1)


def _envelope(precision: np.ndarray) -> np.ndarray:
    # p_interp at each detection: the best precision at this recall or any higher one (a running max from the end)
    return np.maximum.accumulate(precision[::-1])[::-1]


def _sampled(recall: np.ndarray, p_interp: np.ndarray, at: np.ndarray) -> float:
    # p_interp(r) is read at the first detection whose recall reaches r; 0 where none does
    k = np.searchsorted(recall, at, side="left")
    return float(np.where(k < len(recall), p_interp[np.minimum(k, len(recall) - 1)], 0.0).mean())


def average_precision(recall, precision, method: str = "voc") -> float:
    """The area under an interpolated precision-recall curve (see the module's docstring for the formulas).

    Args:
        recall: ``(D,)`` recall after each of the D ranked detections (non-decreasing, in [0, 1]).
        precision: ``(D,)`` precision after each detection, in [0, 1].
        method: ``"voc07"`` (11-point), ``"voc"`` (all-point, VOC 2010+) or ``"coco"`` (101-point).

    Returns:
        AP in [0, 1] as a float; 0.0 for no detections.

    Raises:
        ConfigError: an unknown method.
        ShapeError: recall and precision not 1-D of one length.
        DataError: values outside [0, 1], non-finite, or a recall that decreases.

    References: VOC devkit ``VOCap.m`` (all-point) and VOC2007's 11-point rule (Everingham et al. 2010,
    section 4.2); pycocotools ``cocoeval.py`` ``accumulate`` (101-point).
    """
    check_choice(method, "method", AP_METHODS, "average_precision")
    r, p = np.asarray(recall, dtype=np.float64), np.asarray(precision, dtype=np.float64)
    if r.ndim != 1 or r.shape != p.shape:
        raise ShapeError(f"average_precision: recall and precision must be (D,) of one length, got {r.shape} "
                         f"and {p.shape}")
    for name, v in (("recall", r), ("precision", p)):
        if not (np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()):
            raise DataError(f"average_precision: {name} must lie in [0, 1], got values in "
                            f"[{np.nanmin(v) if v.size else 0:g}, {np.nanmax(v) if v.size else 0:g}]")
    if (np.diff(r) < 0).any():
        raise DataError("average_precision: recall must be non-decreasing (detections in decreasing score)")
    if r.size == 0:
        return 0.0
    p_interp = _envelope(p)
    if method == "voc":
        # sum over the steps of the recall (r_0 = 0): (r_k - r_{k-1}) * p_interp(r_k)
        return float(np.sum(np.diff(r, prepend=0.0) * p_interp))
    return _sampled(r, p_interp, _VOC07_RECALLS if method == "voc07" else _COCO_RECALLS)


@dataclass(frozen=True)
class PRCurve:
    """The precision-recall curve of one class at one IoU threshold (the data of a PR plot).

    Attributes:
        recall: float64 ``(D,)`` after each ranked detection.
        precision: float64 ``(D,)`` after each ranked detection.
        scores: ``(D,)`` the detections' scores, decreasing.
        true_positive: bool ``(D,)`` whether each detection matched.
        n_ground_truth: G, the class's ground-truth boxes over all images.
        ap: the average precision by the evaluation's method.
    """

    recall: np.ndarray
    precision: np.ndarray
    scores: np.ndarray
    true_positive: np.ndarray
    n_ground_truth: int
    ap: float


@dataclass(frozen=True)
class DetectionEvaluation:
    """What :func:`evaluate_detections` measured.

    Attributes:
        map: the mAP: the mean of ``ap_table`` (classes with ground truth, all thresholds).
        ap: class -> AP averaged over the thresholds.
        ap_table: float64 ``(T, K)``: AP of each class (columns in ``classes`` order) at each threshold.
        classes: the K classes that have ground truth, sorted.
        iou_thresholds: the T thresholds.
        method: the AP method (which also fixes the matching rule).
        curves: class -> :class:`PRCurve` at the first threshold.
    """

    map: float
    ap: dict[int, float]
    ap_table: np.ndarray
    classes: tuple[int, ...]
    iou_thresholds: tuple[float, ...]
    method: str
    curves: dict[int, PRCurve]


def _as_images(items, name: str, fmt: str, scored: bool):
    """Per image ``(boxes xyxy (n, 4) float64, classes int64 (n,), scores (n,) or None)``."""
    if isinstance(items, Mapping) or not isinstance(items, Sequence):
        raise ConfigError(f"evaluate_detections: {name} must be a sequence with one mapping per image, "
                          f"got {type(items).__name__}")
    keys = ("boxes", "scores", "classes") if scored else ("boxes", "classes")
    out = []
    for i, item in enumerate(items):
        where = f"{name}[{i}]"
        if not isinstance(item, Mapping) or any(k not in item for k in keys):
            raise ConfigError(f"evaluate_detections: {where} must be a mapping with keys {', '.join(keys)}, "
                              f"got {sorted(item) if isinstance(item, Mapping) else type(item).__name__}")
        b = _as_boxes(item["boxes"], f"{where}['boxes']", "evaluate_detections", fmt)
        if b.ndim != 2:
            raise ShapeError(f"evaluate_detections: {where}['boxes'] must be (n, 4), got shape {b.shape}")
        c = np.asarray(item["classes"])
        if c.size == 0:
            c = c.astype(np.int64)
        if not np.issubdtype(c.dtype, np.integer):
            raise DTypeError(f"evaluate_detections: {where}['classes'] must be integers, got dtype {c.dtype}")
        if c.shape != (len(b),):
            raise ShapeError(f"evaluate_detections: {where}['classes'] must be ({len(b)},), one per box, "
                             f"got shape {c.shape}")
        s = _as_scores(item["scores"], len(b), f"evaluate_detections: {where}") if scored else None
        out.append((_convert(b.astype(np.float64), fmt, "xyxy"), c.astype(np.int64), s))
    return out


def _match(iou: np.ndarray, threshold: float, coco: bool) -> np.ndarray:
    """TP flags ``(D,)`` of an image's detections (rows of ``iou (D, G)``, in decreasing score) of one class."""
    taken = np.zeros(iou.shape[1], dtype=bool)
    tp = np.zeros(iou.shape[0], dtype=bool)
    for d in range(iou.shape[0]):
        if coco:
            # cocoeval: best still-free ground truth with IoU >= t (t capped at 1 - 1e-10); on a tie the last
            free = np.flatnonzero(~taken & (iou[d] >= min(threshold, 1 - 1e-10)))
            if free.size:
                g = free[np.flatnonzero(iou[d, free] == iou[d, free].max())[-1]]
                tp[d] = taken[g] = True
        elif iou.shape[1]:
            # VOC devkit: the most overlapped ground truth, free or not (first on a tie); taken = duplicate = FP
            g = int(np.argmax(iou[d]))
            if iou[d, g] > threshold and not taken[g]:
                tp[d] = taken[g] = True
    return tp


def _curve(dets, gts, k: int, threshold: float, method: str, max_detections: int | None) -> PRCurve:
    scores, flags, n_gt = [], [], 0
    for (db, dc, ds), (gb, gc, _) in zip(dets, gts):
        g = gb[gc == k]
        n_gt += len(g)
        order = np.flatnonzero(dc == k)
        order = order[np.argsort(-ds[order].astype(np.float64), kind="stable")][:max_detections]
        flags.append(_match(box_iou(db[order], g), threshold, method == "coco"))
        scores.append(ds[order])
    s = np.concatenate(scores) if scores else np.zeros(0)
    rank = np.argsort(-s.astype(np.float64), kind="stable")  # over all images; ties: image order, then rank
    tp = np.concatenate(flags)[rank] if flags else np.zeros(0, dtype=bool)
    tp_cum = np.cumsum(tp, dtype=np.float64)
    recall = tp_cum / max(n_gt, 1)
    precision = tp_cum / np.arange(1, len(tp) + 1)
    return PRCurve(recall, precision, s[rank], tp, n_gt, average_precision(recall, precision, method))


def _thresholds(iou_threshold) -> tuple[float, ...]:
    values = (iou_threshold,) if np.ndim(iou_threshold) == 0 else tuple(iou_threshold)
    if not values:
        raise ConfigError("evaluate_detections: iou_threshold must be a number or a non-empty sequence, got ()")
    return tuple(check_number(t, "iou_threshold", "evaluate_detections", min=0.0, max=1.0) for t in values)


def evaluate_detections(predictions, ground_truth, iou_threshold=VOC_IOU_THRESHOLD, method: str = "voc",
                        fmt: str = "xyxy", max_detections: int | None = None) -> DetectionEvaluation:
    """AP of every class, the mAP, and the precision-recall curves of a detector over a set of images.

    Args:
        predictions: one mapping per image: ``"boxes"`` ``(n, 4)``, ``"scores"`` ``(n,)``, ``"classes"``
            int ``(n,)`` (n may be 0) -- what a detector's decoding plus NMS returns.
        ground_truth: one mapping per image, in the same order: ``"boxes"`` ``(m, 4)``, ``"classes"`` ``(m,)``.
        iou_threshold: a number in [0, 1], or a sequence of them (:data:`COCO_IOU_THRESHOLDS` for COCO's
            AP@[.5:.95]); the mAP averages over them.
        method: ``"voc07"``, ``"voc"`` or ``"coco"``: the AP interpolation *and* the matching rule (VOC:
            IoU ``>`` threshold, duplicates of a taken box are FPs; COCO: IoU ``>=`` threshold, the best
            free box). See the module's docstring.
        fmt: the box format of both (``"xyxy"``, ``"xywh"``, ``"cxcywh"``).
        max_detections: keep at most this many detections per image and class, best first (COCO's
            ``maxDets``); None: 100 for ``"coco"``, no limit for the VOC methods.

    Returns:
        A :class:`DetectionEvaluation`. Classes that occur only in the predictions are ignored; a class
        with ground truth but no detection has AP 0.

    Raises:
        ConfigError: bad method, format, thresholds, or predictions/ground truth that are not sequences of
            mappings with those keys, of one length, or ground truth without any box.
        ShapeError, DTypeError, DataError: boxes, scores or classes of the wrong shape, type or value.

    References: Everingham et al. 2010 (VOC) and the VOC devkit; Lin et al. 2014 (COCO) and pycocotools'
    ``cocoeval.py``.
    """
    check_choice(method, "method", AP_METHODS, "evaluate_detections")
    check_choice(fmt, "fmt", BOX_FORMATS, "evaluate_detections")
    max_detections = check_optional(max_detections, check_int, "max_detections", "evaluate_detections", min=1)
    if max_detections is None and method == "coco":
        max_detections = 100
    thresholds = _thresholds(iou_threshold)
    dets = _as_images(predictions, "predictions", fmt, scored=True)
    gts = _as_images(ground_truth, "ground_truth", fmt, scored=False)
    if len(dets) != len(gts):
        raise ConfigError(f"evaluate_detections: predictions and ground_truth must have one entry per image, "
                          f"got {len(dets)} and {len(gts)}")
    classes = tuple(int(k) for k in np.unique(np.concatenate([c for _, c, _ in gts] or [np.zeros(0, int)])))
    if not classes:
        raise ConfigError("evaluate_detections: ground_truth holds no box, so no AP is defined")
    table = np.zeros((len(thresholds), len(classes)))
    curves = {}
    for t, threshold in enumerate(thresholds):
        for j, k in enumerate(classes):
            curve = _curve(dets, gts, k, threshold, method, max_detections)
            table[t, j] = curve.ap
            if t == 0:
                curves[k] = curve
    ap = {k: float(table[:, j].mean()) for j, k in enumerate(classes)}
    return DetectionEvaluation(float(table.mean()), ap, table, classes, thresholds, method, curves)


def mean_average_precision(predictions, ground_truth, iou_threshold=VOC_IOU_THRESHOLD, method: str = "voc",
                           fmt: str = "xyxy", max_detections: int | None = None) -> float:
    """The mAP of a detector: the mean AP over classes (and thresholds); see :func:`evaluate_detections`.

    ``mean_average_precision(p, g, 0.5, "voc07")`` is VOC2007's mAP, ``(p, g, 0.5, "voc")`` VOC2012's,
    ``(p, g, COCO_IOU_THRESHOLDS, "coco")`` COCO's AP@[.5:.95] and ``(p, g, 0.5, "coco")`` COCO's AP50.

    Raises:
        As :func:`evaluate_detections`.
    """
    return evaluate_detections(predictions, ground_truth, iou_threshold, method, fmt, max_detections).map


def precision_recall(predictions, ground_truth, class_id: int, iou_threshold: float = VOC_IOU_THRESHOLD,
                     method: str = "voc", fmt: str = "xyxy", max_detections: int | None = None) -> PRCurve:
    """The precision-recall curve of one class (for a plot: ``curve.recall``, ``curve.precision``).

    Args and matching as :func:`evaluate_detections` (one threshold).

    Raises:
        DataError: ``class_id`` has no ground-truth box. Otherwise as :func:`evaluate_detections`.
    """
    class_id = check_int(class_id, "class_id", "precision_recall")
    result = evaluate_detections(predictions, ground_truth, check_number(
        iou_threshold, "iou_threshold", "precision_recall", min=0.0, max=1.0), method, fmt, max_detections)
    if class_id not in result.curves:
        raise DataError(f"precision_recall: class_id {class_id} has no ground-truth box; classes with boxes: "
                        f"{list(result.classes)}")
    return result.curves[class_id]
