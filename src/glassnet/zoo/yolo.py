"""``YOLOv1``: a small YOLO v1 detector (Redmon et al. 2016) for small grey or colour images."""

from __future__ import annotations

from typing import Any

from glassnet import functional as F
from glassnet import nn
from glassnet.checks import check_choice, check_size
from glassnet.errors import ConfigError

__all__ = ["YOLOv1"]


class YOLOv1(nn.Module):
    """A small YOLO v1: a conv / batch-norm / leaky-ReLU backbone down to an ``S x S`` grid, then a head.

    Shapes: ``x (N, in_channels, image_size, image_size)`` -> ``(N, S, S, B*5 + C)`` with
    ``S = image_size / 2^(len(widths) - 1)``, in the layout of :mod:`glassnet.detection.yolo` (per cell
    ``B x (x, y, sqrt(w), sqrt(h), confidence)`` then ``C`` class scores, all linear), which
    :func:`~glassnet.detection.yolo_v1_loss` trains and :func:`~glassnet.detection.decode_predictions` reads.

    Backbone (``features``): for each width but the last, ``conv3x3 -> BatchNorm2d -> LeakyReLU(0.1) ->
    MaxPool2d(2)`` (halving the side), then ``conv3x3 -> BatchNorm2d -> LeakyReLU(0.1)`` at the last width
    on the ``S x S`` grid. Convolutions have no bias (the batch norm's shift is one), as darknet's
    ``batch_normalize=1`` layers. Head:

    * ``"conv"`` (default): a 1x1 convolution from the last width to ``B*5 + C`` channels, moved to
      channels-last: ``(N, B*5 + C, S, S) -> (N, S, S, B*5 + C)``;
    * ``"fc"``, as the paper: flatten ``(N, widths[-1]·S²)`` -> ``Linear(hidden)`` -> LeakyReLU(0.1) ->
      ``Dropout(0.5)`` -> ``Linear(S²·(B*5 + C))`` -> reshape to ``(N, S, S, B*5 + C)``.

    With the defaults (``in_channels=1``, ``image_size=96``, ``widths=(8, 16, 32, 64, 128)``, ``B=2``,
    ``C=10``, conv head): ``S = 6`` and 101,068 parameters (convolutions 97,992, batch norms 496, head
    2,580); with ``head="fc", hidden=256``: 1,463,432.

    Init: convolutions and linear layers as ``glassnet.nn``'s defaults (torch's), batch norm ``gamma = 1,
    beta = 0``; the head's bias is 0.

    Deliberate deviations from the paper: 5 layers instead of 24 (plus 4 pools), widths of 8-128
    instead of 64-1024, no ImageNet pre-training (trained from scratch on the generated scenes), batch
    normalisation (from YOLO v2; darknet's ``yolov1.cfg`` uses it too) and a 1x1 conv head by default:
    each cell sees a 78-pixel receptive field instead of the whole image, with far fewer parameters (the
    paper's FC head has 4096 hidden units and sees everything).

    Args:
        in_channels: image channels (1 grey, 3 RGB). image_size: the side of the square input.
        S: grid side (must equal ``image_size / 2^(len(widths) - 1)``; None: that value).
        B: boxes per cell (paper: 2). C: classes (paper: 20 for VOC; 10 for digits).
        widths: channels of the backbone's convolutions, one per stage.
        head: ``"conv"`` or ``"fc"``. hidden: units of the FC head's hidden layer.
        rng: numpy Generator, int seed or None for the weights and the dropout mask.

    Raises:
        ConfigError: non-positive sizes, an unknown head, or an image size that the pools do not divide into
            S cells.

    Reference: Redmon, Divvala, Girshick & Farhadi 2016, "You Only Look Once: Unified, Real-Time Object
    Detection", CVPR (figure 3, section 2.1); darknet's ``cfg/yolov1.cfg`` and ``cfg/yolov1-tiny.cfg``.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 96, S: int | None = None, B: int = 2, C: int = 10,
                 widths: tuple[int, ...] = (8, 16, 32, 64, 128), head: str = "conv", hidden: int = 256,
                 rng: Any = None) -> None:
        super().__init__()
        owner = "YOLOv1"
        self.in_channels = check_size(in_channels, "in_channels", owner)
        self.image_size = check_size(image_size, "image_size", owner)
        self.B, self.C = check_size(B, "B", owner), check_size(C, "C", owner)
        self.widths = tuple(check_size(w, "widths", owner) for w in widths)
        if not self.widths:
            raise ConfigError(f"{owner}: widths must hold at least one width, got {widths!r}")
        self.head_kind = check_choice(head, "head", ("conv", "fc"), owner)
        self.hidden = check_size(hidden, "hidden", owner)
        stride = 2 ** (len(self.widths) - 1)
        if self.image_size % stride:
            raise ConfigError(f"{owner}: image_size must be a multiple of 2^(len(widths) - 1) = {stride}, got "
                              f"{self.image_size}")
        self.S = self.image_size // stride if S is None else check_size(S, "S", owner)
        if self.S != self.image_size // stride:
            raise ConfigError(f"{owner}: S must be image_size / {stride} = {self.image_size // stride} with "
                              f"{len(self.widths)} widths, got {S}")
        init_rng, drop_rng = nn.init.as_generator(rng, "YOLOv1: rng").spawn(2)
        layers, c_in = [], self.in_channels
        for k, width in enumerate(self.widths):
            layers += [nn.Conv2d(c_in, width, 3, padding=1, bias=False, rng=init_rng), nn.BatchNorm2d(width),
                       nn.LeakyReLU(0.1)]
            if k < len(self.widths) - 1:
                layers.append(nn.MaxPool2d(2))  # (N, width, side / 2, side / 2)
            c_in = width
        self.features = nn.Sequential(*layers)  # (N, widths[-1], S, S)
        out = self.B * 5 + self.C
        if self.head_kind == "conv":
            self.head = nn.Conv2d(c_in, out, 1, rng=init_rng)  # (N, B*5 + C, S, S)
        else:
            self.head = nn.Sequential(
                nn.Flatten(), nn.Linear(c_in * self.S ** 2, self.hidden, rng=init_rng), nn.LeakyReLU(0.1),
                nn.Dropout(0.5, rng=drop_rng), nn.Linear(self.hidden, self.S ** 2 * out, rng=init_rng))
        final = self.head if self.head_kind == "conv" else self.head[-1]
        final.b.data[...] = 0

    def forward(self, x: Any) -> Any:
        h = self.head(self.features(x))
        if self.head_kind == "conv":
            return F.transpose(h, (0, 2, 3, 1))  # (N, B*5 + C, S, S) -> (N, S, S, B*5 + C)
        return F.reshape(h, (-1, self.S, self.S, self.B * 5 + self.C))  # (N, S²·(B*5+C)) -> (N, S, S, B*5+C)

    def config(self) -> dict[str, Any]:
        """The constructor's arguments (without ``rng``), JSON-able: ``YOLOv1(**model.config())`` rebuilds it."""
        return {"in_channels": self.in_channels, "image_size": self.image_size, "S": self.S, "B": self.B,
                "C": self.C, "widths": list(self.widths), "head": self.head_kind, "hidden": self.hidden}

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, image_size={self.image_size}, S={self.S}, B={self.B}, "
                f"C={self.C}, head={self.head_kind!r}")
