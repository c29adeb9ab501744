"""Object detection: YOLO v1 against a sliding-window classifier, on generated scenes of MNIST digits.

Besides ``TOPIC``, what the detection experiments and ``glassnet detect`` share: :func:`draw_detections`,
which draws an image with its predicted (and true) boxes and labels on a matplotlib axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["TOPIC", "draw_detections"]

TOPIC = "Object detection"


def draw_detections(ax: Any, image: np.ndarray, boxes, classes, scores=None, *, names: Sequence[str] | None = None,
                    true_boxes=None, true_classes=None, title: str = "") -> Any:
    """Draw ``image`` with its detections (red, labelled ``class score``) and true boxes (green, dashed).

    Args:
        ax: a matplotlib Axes.
        image: ``(H, W)``, ``(1, H, W)`` or ``(3, H, W)`` floats in [0, 1], or ``(H, W, 3)``.
        boxes: ``(K, 4)`` xyxy pixels; classes ``(K,)`` ints; scores ``(K,)`` or None.
        names: class names (default: the class numbers).
        true_boxes, true_classes: the ground truth, drawn when given.
        title: the axes' title.

    Returns:
        ``ax``.
    """
    from matplotlib.patches import Rectangle

    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)  # (C, H, W) -> (H, W[, 3])
    ax.imshow(np.clip(a, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    label = (lambda k: names[int(k)]) if names is not None else (lambda k: str(int(k)))
    if true_boxes is not None:
        for (x1, y1, x2, y2), k in zip(np.asarray(true_boxes).reshape(-1, 4), np.asarray(true_classes).reshape(-1)):
            ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="lime", linestyle="--", lw=1))
            ax.text(x1, y2, label(k), color="lime", fontsize=6, va="top")
    scores = np.full(len(np.asarray(classes).reshape(-1)), np.nan) if scores is None else np.asarray(scores)
    for (x1, y1, x2, y2), k, s in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(classes).reshape(-1), scores):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="red", lw=1))
        ax.text(x1, y1, label(k) if np.isnan(s) else f"{label(k)} {s:.2f}", color="red", fontsize=6,
                va="bottom")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
    return ax
