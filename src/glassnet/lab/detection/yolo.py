"""yolo: one network that regresses boxes and classes on a grid, against a sliding-window classifier.

The course: earlier detectors proposed regions and classified each one separately, which was complex and
slow; YOLO (Redmon et al. 2016) turns detection into one regression, solved by one CNN in one pass. Here
both detect MNIST digits on generated scenes (:func:`~glassnet.data.datasets.digit_scenes`; the train
scenes use other digit images than the test scenes):

* YOLO v1 (:class:`~glassnet.zoo.YOLOv1`, the loss :func:`~glassnet.detection.yolo_v1_loss`, decoding
  with per-class NMS), trained from scratch on fresh train scenes every epoch;
* the two-stage baseline: a small CNN (the course's LeNet) trained to classify 28x28 crops into the ten
  digits or background; at test time every square window of a few sizes at a fixed stride is cropped,
  resized to 28x28 and classified; a window whose best digit class scores above the threshold is a
  detection, its box shrunk to the bright pixels inside it (a classical post-process that spares the
  baseline from reporting square boxes for narrow digits), then per-class NMS.

Both are scored with the same :func:`~glassnet.detection.evaluate_detections` (VOC all-point AP and
COCO's 101-point AP at IoU 0.5) and timed the same way: CPU seconds per image, one image at a time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

import glassnet.functional as F
from glassnet import no_grad
from glassnet.data.datasets.detection_scenes import digit_scenes
from glassnet.detection import (
    batched_nms,
    box_iou,
    decode_predictions,
    encode_targets,
    evaluate_detections,
    yolo_v1_loss,
)
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.detection import TOPIC, draw_detections
from glassnet.lab.images import lenet, train_classifier
from glassnet.optim import Adam
from glassnet.train.step import train_step
from glassnet.zoo import YOLOv1

NAMES = tuple(str(d) for d in range(10))
BACKGROUND = 10  # the sliding-window classifier's eleventh class
CROP = 28  # the classifier's input side


def scenes(config, split: str, n: int, seed, data_dir):
    return digit_scenes(split, data_dir, n, config.canvas, (config.min_digits, config.max_digits),
                        (config.min_scale, config.max_scale), config.max_overlap, rng=seed)


def ground_truth(s) -> list[dict]:
    return [{"boxes": b.astype(np.float64), "classes": c} for b, c in zip(s.boxes, s.classes)]


def evaluate(predictions: list[dict], truth: list[dict]) -> dict:
    """mAP@0.5 the VOC way (all-point) and the COCO way (101 points, IoU >= 0.5) and the VOC PR curves."""
    voc = evaluate_detections(predictions, truth, 0.5, "voc")
    coco = evaluate_detections(predictions, truth, 0.5, "coco")
    curves = {str(k): {"recall": c.recall.tolist(), "precision": c.precision.tolist(), "ap": c.ap}
              for k, c in voc.curves.items()}
    return {"map_voc": voc.map, "map_coco": coco.map, "ap": {str(k): v for k, v in voc.ap.items()}, "curves": curves}


def as_lists(predictions: list[dict]) -> list[dict]:
    return [{k: v.tolist() for k, v in p.items()} for p in predictions]


# --------------------------------------------------------------------------------------------- YOLO
def train_yolo(config, ctx, seeds, test) -> dict:
    """Train YOLOv1 on fresh train scenes each epoch; return its scores, timing and shown detections."""
    init_seq, batch_seq, scene_seq = seeds
    model = YOLOv1(1, config.canvas, None, config.B, 10, tuple(config.widths), rng=np.random.default_rng(init_seq))
    S, B, C = model.S, model.B, model.C
    opt = Adam(list(model.parameters()), lr=config.lr)
    batch_rng = np.random.default_rng(batch_seq)
    steps_per_epoch = math.ceil(config.n_train / config.batch_size)
    total, step, history = config.epochs * steps_per_epoch, 0, []
    bar = ctx.progress(total=total, desc="yolo")
    scene_seeds = scene_seq.spawn(config.epochs)
    for epoch in range(1, config.epochs + 1):
        train = scenes(config, "train", config.n_train, scene_seeds[epoch - 1], ctx.data_dir)
        targets = encode_targets(train.boxes, train.classes, S, C, config.canvas)  # (N, S, S, 5 + C)
        order = batch_rng.permutation(config.n_train)
        terms = np.zeros(6)
        model.train()
        for lo in range(0, config.n_train, config.batch_size):
            idx = order[lo:lo + config.batch_size]
            # cosine decay of the learning rate from lr to lr / 20 over the whole run
            opt.lr = config.lr * (0.05 + 0.95 * (1 + math.cos(math.pi * step / total)) / 2)
            step += 1
            xb, tb = train.images[idx], targets[idx]

            def loss(xb=xb, tb=tb):
                parts = yolo_v1_loss(model(xb), tb, S, B, C, config.lambda_coord, config.lambda_noobj)
                return parts.total, parts

            result = train_step(opt, loss, max_norm=config.max_norm, where=f"yolo epoch {epoch}, step {step}",
                                model=model)
            terms += [float(t.item()) for t in result.outputs]
            bar.update(1)
        mean = terms / steps_per_epoch
        record = {"epoch": epoch, **{k: float(v) for k, v in zip(result.outputs._fields, mean)}}
        history.append(record)
        ctx.log(f"yolo epoch {epoch}: loss {record['total']:.3f} (xy {record['coord_xy']:.3f}, wh "
                f"{record['coord_wh']:.3f}, obj {record['obj']:.3f}, noobj {record['noobj']:.3f}, cls "
                f"{record['cls']:.3f})")
    bar.close()
    model.eval()

    def detect(x):
        with no_grad():
            return decode_predictions(model(x), S, B, C, config.score_threshold, config.nms_iou, config.canvas)

    predictions = [d for lo in range(0, len(test.images), 50) for d in detect(test.images[lo:lo + 50])]
    cpu = _cpu_per_image(detect, test.images[:config.n_timed])
    if ctx.out_dir is not None:
        _save_checkpoint(ctx.out_dir / "yolo.npz", model, config, history)
    return {**evaluate(predictions, ground_truth(test)), "cpu_seconds_per_image": cpu, "history": history,
            "parameters": model.num_parameters(), "grid": S, "shown": as_lists(predictions[:config.shown])}


def _cpu_per_image(detect, images: np.ndarray) -> float:
    """CPU seconds per image of ``detect`` run on one image at a time (process time: the load of other
    programs on the machine does not count)."""
    detect(images[:1])  # warm up
    start = time.process_time()
    for i in range(len(images)):
        detect(images[i:i + 1])
    return (time.process_time() - start) / max(len(images), 1)


def _save_checkpoint(path, model, config, history) -> None:
    from glassnet.train import Checkpoint, save_checkpoint

    meta = {"model": "YOLOv1", "yolo": model.config(), "class_names": list(NAMES),
            "score_threshold": config.score_threshold, "iou_threshold": config.nms_iou}
    save_checkpoint(path, Checkpoint(model=model.state_dict(), epoch=config.epochs, config=meta,
                                     history={"epochs": history}))


# ----------------------------------------------------------------------------------- sliding window
def crop(image: np.ndarray, box) -> np.ndarray:
    """The square ``box`` (xyxy, may reach past the border: zeros there) of ``image (H, W)`` resized to 28x28."""
    from PIL import Image

    pad = CROP * 3
    padded = np.pad(image, pad)
    x1, y1, x2, y2 = (float(v) + pad for v in box)
    resized = Image.fromarray(padded, mode="F").resize((CROP, CROP), Image.BILINEAR, box=(x1, y1, x2, y2))
    return np.asarray(resized, dtype=np.float32)


def classifier_crops(s, rng, negatives_per_digit: int, window_sizes) -> tuple[np.ndarray, np.ndarray]:
    """Training crops: each digit in a square around its box (jittered), and background windows.

    A digit crop is a square of side ``max(w, h) · U(1, 1.25)`` around the box's centre shifted by up to 10%
    of the side; a background crop is a window of one of ``window_sizes`` at a uniform place whose IoU with
    every digit's box is below 0.3 (it may hold parts of digits: the classifier must learn to say no to those).
    """
    xs, ys = [], []
    canvas = s.images.shape[-1]
    for image, boxes, classes in zip(s.images[:, 0], s.boxes, s.classes):
        for (x1, y1, x2, y2), k in zip(boxes, classes):
            side = max(x2 - x1, y2 - y1) * rng.uniform(1.0, 1.25)
            cx, cy = (x1 + x2) / 2 + rng.uniform(-0.1, 0.1) * side, (y1 + y2) / 2 + rng.uniform(-0.1, 0.1) * side
            xs.append(crop(image, (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)))
            ys.append(int(k))
        wanted, tries = negatives_per_digit * len(boxes), 0
        while wanted and tries < 20 * negatives_per_digit * max(len(boxes), 1):
            tries += 1
            side = float(rng.choice(window_sizes))
            x, y = rng.uniform(0, canvas - side, 2)
            window = np.array([[x, y, x + side, y + side]])
            if len(boxes) and box_iou(window, boxes).max() >= 0.3:
                continue
            xs.append(crop(image, window[0]))
            ys.append(BACKGROUND)
            wanted -= 1
    return np.stack(xs)[:, None], np.asarray(ys, dtype=np.int64)  # (M, 1, 28, 28), (M,)


def windows(canvas: int, sizes, stride: int) -> np.ndarray:
    """Every square window ``(W, 4)`` xyxy of each size, at ``stride`` pixels, inside the canvas."""
    out = [(x, y, x + s, y + s) for s in sizes for y in range(0, canvas - s + 1, stride)
           for x in range(0, canvas - s + 1, stride)]
    return np.asarray(out, dtype=np.float64)


def sliding_window_detect(model, image: np.ndarray, grid: np.ndarray, score_threshold: float, nms_iou: float,
                          bright: float = 0.25) -> dict:
    """Detections of one image ``(H, W)``: classify every window, keep the confident ones, tighten, NMS."""
    x = np.stack([crop(image, w) for w in grid])[:, None]  # (W, 1, 28, 28)
    with no_grad():
        probs = F.softmax(model(x), axis=-1).data  # (W, 11)
    digit = probs[:, :BACKGROUND].argmax(axis=1)
    score = probs[np.arange(len(grid)), digit]
    keep = np.flatnonzero(score > score_threshold)
    boxes, kept = [], []
    for i in keep:
        x1, y1, x2, y2 = grid[i].astype(int)
        patch = image[y1:y2, x1:x2] > bright
        rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
        if rows.size:  # the box of the bright pixels inside the window
            boxes.append((x1 + cols[0], y1 + rows[0], x1 + cols[-1] + 1, y1 + rows[-1] + 1))
            kept.append(i)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s, k = score[kept].astype(np.float64), digit[kept].astype(np.int64)
    order = batched_nms(b, s, k, nms_iou)
    return {"boxes": b[order], "scores": s[order], "classes": k[order]}


def train_sliding_window(config, ctx, seeds, test) -> dict:
    init_seq, batch_seq, scene_seq, crop_seq = seeds
    train = scenes(config, "train", config.window_train_scenes, scene_seq, ctx.data_dir)
    crop_rng = np.random.default_rng(crop_seq)
    x_train, y_train = classifier_crops(train, crop_rng, config.negatives_per_digit, config.window_sizes)
    held = SimpleNamespace(images=test.images[:100], boxes=test.boxes[:100], classes=test.classes[:100])
    x_test, y_test = classifier_crops(held, crop_rng, config.negatives_per_digit, config.window_sizes)
    model = lenet(1, CROP, np.random.default_rng(init_seq), width=tuple(config.window_widths), num_classes=11)
    history = train_classifier(model, {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test},
                               epochs=config.window_epochs, batch_size=64, lr=config.window_lr,
                               rng=np.random.default_rng(batch_seq), progress=ctx.progress, desc="window classifier",
                               evaluate_every=config.window_epochs)
    model.eval()
    grid = windows(config.canvas, config.window_sizes, config.window_stride)

    def detect(x):
        return [sliding_window_detect(model, image, grid, config.score_threshold, config.nms_iou)
                for image in x[:, 0]]

    predictions = [d for lo in range(0, len(test.images), 50) for d in detect(test.images[lo:lo + 50])]
    cpu = _cpu_per_image(detect, test.images[:config.n_timed])
    return {**evaluate(predictions, ground_truth(test)), "cpu_seconds_per_image": cpu, "windows": len(grid),
            "crop_accuracy": history[-1]["test_accuracy"], "crops": len(x_train),
            "parameters": model.num_parameters(), "shown": as_lists(predictions[:config.shown])}


# ------------------------------------------------------------------------------------------ experiment
class YOLOExperiment(Experiment):
    name = "yolo"
    topic = TOPIC
    claim = ("YOLO turns detection into one regression solved by one CNN in one pass: it detects the digits of "
             "unseen scenes well, and faster than a two-stage detector that classifies windows one by one.")
    criterion = ("on held-out scenes of MNIST test digits, YOLO v1's mAP@0.5 (VOC all-point) is >= 0.5 (the "
                 "paper: 63.4 on VOC2007) and its CPU time per image is below the sliding-window classifier's, "
                 "both timed on one image at a time and scored by the same evaluation")

    @dataclass
    class Config:
        n_train: int = field(default=3000, metadata={"help": "train scenes per epoch (fresh scenes every epoch)"})
        n_test: int = field(default=500, metadata={"help": "held-out test scenes (MNIST test digits)"})
        canvas: int = field(default=96, metadata={"help": "side of a scene in pixels"})
        min_digits: int = field(default=1, metadata={"help": "fewest digits in a scene"})
        max_digits: int = field(default=5, metadata={"help": "most digits in a scene"})
        min_scale: float = field(default=1.0, metadata={"help": "smallest digit scale (x 28 pixels)"})
        max_scale: float = field(default=2.0, metadata={"help": "largest digit scale (x 28 pixels)"})
        max_overlap: float = field(default=0.2, metadata={"help": "largest IoU between two digits of a scene"})
        epochs: int = field(default=12, metadata={"help": "YOLO training epochs"})
        batch_size: int = field(default=32, metadata={"help": "YOLO scenes per step"})
        lr: float = field(default=2e-3, metadata={"help": "YOLO's Adam learning rate (cosine decay to lr / 20)"})
        max_norm: float = field(default=10.0, metadata={"help": "gradient-norm clipping of YOLO's steps"})
        widths: tuple = field(default=(8, 16, 32, 64, 128), metadata={"help": "YOLO backbone widths"})
        B: int = field(default=2, metadata={"help": "boxes per cell"})
        lambda_coord: float = field(default=5.0, metadata={"help": "weight of the box terms (paper: 5)"})
        lambda_noobj: float = field(default=0.5, metadata={"help": "weight of the no-object term (paper: 0.5)"})
        score_threshold: float = field(default=0.01, metadata={"help": "smallest score kept as a detection"})
        nms_iou: float = field(default=0.45, metadata={"help": "NMS IoU threshold (both detectors)"})
        window_train_scenes: int = field(default=1500, metadata={"help": "train scenes cut into classifier crops"})
        negatives_per_digit: int = field(default=2, metadata={"help": "background crops per digit crop"})
        window_epochs: int = field(default=4, metadata={"help": "epochs of the window classifier"})
        window_lr: float = field(default=1e-3, metadata={"help": "the window classifier's Adam learning rate"})
        window_widths: tuple = field(default=(16, 32, 128), metadata={"help": "LeNet conv1, conv2, dense widths"})
        window_sizes: tuple = field(default=(28, 40, 56), metadata={"help": "sides of the sliding windows (px)"})
        window_stride: int = field(default=8, metadata={"help": "stride of the sliding windows (px)"})
        n_timed: int = field(default=50, metadata={"help": "test images timed one at a time for each detector"})
        shown: int = field(default=6, metadata={"help": "test scenes drawn with their boxes"})
        compare: bool = field(default=True, metadata={"help": "judge the full criterion (False: the quick check)"})

    quick = {"n_train": 96, "n_test": 16, "epochs": 2, "batch_size": 16, "widths": (4, 8, 8, 16, 16),
             "window_train_scenes": 40, "window_epochs": 1, "window_widths": (4, 8, 16), "window_stride": 16,
             "n_timed": 4, "shown": 2, "score_threshold": 0.2, "compare": False}
    quick_criterion = ("a smoke run of seconds (96 train scenes, 2 epochs): both detectors produce scored, finite "
                       "results on 16 test scenes and YOLO's loss falls; so short a run cannot reach the mAP bar")
    data = ("mnist",)

    def run(self, config, ctx):
        test_seq, yolo_init, yolo_batch, yolo_scenes, sw_init, sw_batch, sw_scenes, sw_crops = ctx.spawn_seeds(8)
        test = scenes(config, "test", config.n_test, test_seq, ctx.data_dir)
        yolo = ctx.unit("yolo", lambda: train_yolo(config, ctx, (yolo_init, yolo_batch, yolo_scenes), test))
        sw = ctx.unit("sliding-window", lambda: train_sliding_window(
            config, ctx, (sw_init, sw_batch, sw_scenes, sw_crops), test))

        self._plots(ctx, test, yolo, sw, config.shown)
        speedup = sw["cpu_seconds_per_image"] / max(yolo["cpu_seconds_per_image"], 1e-12)
        metrics = {"yolo_map50_voc": yolo["map_voc"], "yolo_map50_coco": yolo["map_coco"],
                   "yolo_images_per_second": 1 / max(yolo["cpu_seconds_per_image"], 1e-12),
                   "yolo_cpu_seconds_per_image": yolo["cpu_seconds_per_image"],
                   "window_map50_voc": sw["map_voc"], "window_map50_coco": sw["map_coco"],
                   "window_cpu_seconds_per_image": sw["cpu_seconds_per_image"], "window_speedup_of_yolo": speedup,
                   "window_crop_accuracy": sw["crop_accuracy"], "yolo_parameters": yolo["parameters"],
                   "window_parameters": sw["parameters"], "windows_per_image": sw["windows"],
                   "yolo_final_loss": yolo["history"][-1]["total"], "yolo_first_loss": yolo["history"][0]["total"]}
        rows = [{"detector": "YOLO v1", "mAP@0.5 VOC": yolo["map_voc"], "mAP@0.5 COCO": yolo["map_coco"],
                 "CPU ms / image": 1000 * yolo["cpu_seconds_per_image"], "parameters": yolo["parameters"]},
                {"detector": "sliding window", "mAP@0.5 VOC": sw["map_voc"], "mAP@0.5 COCO": sw["map_coco"],
                 "CPU ms / image": 1000 * sw["cpu_seconds_per_image"], "parameters": sw["parameters"]}]
        if config.compare:
            ok = yolo["map_voc"] >= 0.5 and yolo["cpu_seconds_per_image"] < sw["cpu_seconds_per_image"]
        else:
            finite = all(np.isfinite(v) for v in metrics.values())
            ok = finite and metrics["yolo_final_loss"] < metrics["yolo_first_loss"]
        notes = [f"YOLO: {yolo['grid']}x{yolo['grid']} grid, {config.B} boxes per cell, one forward pass per image; "
                 f"sliding window: {sw['windows']} windows per image (sides {list(config.window_sizes)}, stride "
                 f"{config.window_stride}), each cropped, resized and classified; YOLO is {speedup:.1f}x faster.",
                 f"window classifier accuracy on held-out crops (digits and background): {sw['crop_accuracy']:.3f}",
                 "per-class AP (VOC) of YOLO: " + ", ".join(f"{k}: {v:.2f}" for k, v in yolo["ap"].items())]
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _plots(ctx, test, yolo, sw, shown: int) -> None:
        for key, result in (("yolo", yolo), ("sliding_window", sw)):
            curves = {int(k): SimpleNamespace(**{n: np.asarray(v) for n, v in c.items()})
                      for k, c in result["curves"].items()}
            label = "YOLO v1" if key == "yolo" else "sliding window"
            ctx.savefig(plotting.pr_curves(curves, title=f"{label}: mAP@0.5 {result['map_voc']:.3f} (VOC)"),
                        f"pr_{key}")
        n = min(shown, len(test.images))
        fig, axes = ctx.figure(2, n, size=(2.2 * n, 4.6), squeeze=False,
                               title="test scenes: true boxes (green, dashed) and as many of the best detections "
                                     "(red) as there are digits")
        for row, (label, result) in enumerate((("YOLO", yolo), ("sliding window", sw))):
            for i in range(n):
                d, k = result["shown"][i], len(test.boxes[i])  # detections are sorted by decreasing score
                draw_detections(axes[row, i], test.images[i], np.asarray(d["boxes"])[:k], np.asarray(d["classes"])[:k],
                                np.asarray(d["scores"])[:k], true_boxes=test.boxes[i], true_classes=test.classes[i],
                                title=f"{label}, scene {i}")
        ctx.savefig(fig, "detections")
