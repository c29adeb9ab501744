"""Object detection: boxes, IoU, non-maximum suppression, average precision and mAP.

* :mod:`~glassnet.detection.boxes` -- the formats ``xyxy``, ``xywh`` (COCO) and ``cxcywh`` (YOLO),
  :func:`box_convert`, :func:`box_area`, :func:`box_iou` (pairwise ``(N, M)`` or broadcast elementwise).
* :mod:`~glassnet.detection.nms` -- greedy :func:`nms` and per-class :func:`batched_nms`.
* :mod:`~glassnet.detection.metrics` -- :func:`average_precision` (VOC2007 11-point, VOC2010+ all-point,
  COCO 101-point), :func:`evaluate_detections` / :func:`mean_average_precision` with the VOC and COCO
  matching rules, :func:`precision_recall` curves.
* :mod:`~glassnet.detection.yolo` -- YOLO v1's :func:`encode_targets`, :func:`yolo_v1_loss` and
  :func:`decode_predictions`.

The pieces fit a detector's output: a decoder turns the network's grid into per-image ``boxes``,
``scores``, ``classes``; :func:`batched_nms` keeps the best; the list of
``{"boxes", "scores", "classes"}`` mappings, one per image, is what :func:`evaluate_detections` reads.
The generated scenes of MNIST digits to train on live in :mod:`glassnet.data.datasets.detection_scenes`.
"""

from glassnet.detection.boxes import BOX_FORMATS, box_area, box_convert, box_iou
from glassnet.detection.metrics import (
    AP_METHODS,
    COCO_IOU_THRESHOLDS,
    VOC_IOU_THRESHOLD,
    DetectionEvaluation,
    PRCurve,
    average_precision,
    evaluate_detections,
    mean_average_precision,
    precision_recall,
)
from glassnet.detection.nms import batched_nms, nms
from glassnet.detection.yolo import YOLOLoss, decode_predictions, encode_targets, responsible_predictors, yolo_v1_loss

__all__ = [
    "BOX_FORMATS", "box_convert", "box_area", "box_iou",
    "nms", "batched_nms",
    "AP_METHODS", "VOC_IOU_THRESHOLD", "COCO_IOU_THRESHOLDS", "average_precision", "PRCurve",
    "DetectionEvaluation", "evaluate_detections", "mean_average_precision", "precision_recall",
    "YOLOLoss", "encode_targets", "responsible_predictors", "yolo_v1_loss", "decode_predictions",
]
