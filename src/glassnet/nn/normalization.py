"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LocalResponseNorm``."""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import functional as F
from glassnet.autograd import as_tensor
from glassnet.checks import check_bool, check_number, check_size
from glassnet.errors import ShapeError
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LocalResponseNorm"]


class _BatchNorm(Module):
    """Batch normalisation per channel (axis 1): ``y = γ (x - μ) / √(σ² + ε) + β`` (:func:`F.batch_norm`).

    Training mode normalises with the batch's statistics and moves the running ones
    (``running = (1 - momentum)·running + momentum·batch``, the *unbiased* batch variance, as torch;
    ``momentum=None``: the cumulative average ``1 / num_batches_tracked``); evaluation mode
    (``eval()``) normalises with the running statistics.

    Parameters ``gamma (C,)`` (init 1) and ``beta (C,)`` (init 0) (torch's ``weight`` and ``bias``);
    buffers, in ``state_dict`` but not parameters: ``running_mean (C,)`` (0), ``running_var (C,)`` (1),
    ``num_batches_tracked`` (int64 0-d).

    Args:
        num_features: C. eps: added to σ². momentum: in [0, 1] or None.
        affine: learn ``gamma`` and ``beta``. track_running_stats: keep running statistics (without
            them the batch statistics are used in evaluation too).

    Raises:
        ConfigError: bad arguments. ShapeError: (forward) ``x`` of the wrong rank or channel count.

    Reference: Ioffe & Szegedy 2015; ``torch.nn.BatchNorm1d`` / ``BatchNorm2d``.
    """

    _ranks: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = check_size(num_features, "num_features", name)
        self.eps = check_number(eps, "eps", name, min=0.0, min_open=True)
        self.momentum = None if momentum is None else check_number(momentum, "momentum", name, min=0.0, max=1.0)
        self.affine = check_bool(affine, "affine", name)
        self.track_running_stats = check_bool(track_running_stats, "track_running_stats", name)
        c = self.num_features
        self.gamma = Parameter(np.ones(c, dtype=np.float32)) if affine else None
        self.beta = Parameter(np.zeros(c, dtype=np.float32)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=np.float32))
            self.register_buffer("running_var", np.ones(c, dtype=np.float32))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: Any) -> Any:
        x = as_tensor(x)
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}: x must be {self._layout} with C == {self.num_features}, "
                             f"got {x.shape}")
        use_batch = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked = self.num_batches_tracked + 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None, self.gamma, self.beta,
                            training=use_batch, momentum=0.0 if momentum is None else momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    __doc__ = (_BatchNorm.__doc__ or "") + "\n    Shapes: ``x (N, C)`` or ``(N, C, L)`` -> ``y`` like ``x``.\n"
    _ranks = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    __doc__ = (_BatchNorm.__doc__ or "") + "\n    Shapes: ``x (N, C, H, W)`` -> ``y`` like ``x``.\n"
    _ranks = (4,)
    _layout = "(N, C, H, W)"


class LocalResponseNorm(Module):
    """Local response normalisation across channels (:func:`glassnet.functional.local_response_norm`).

    ``y_c = x_c / (k + (α/n) Σ_{c' near c} x_c'²)^β`` with torch's ``α/n`` convention (the docstring of
    the function gives the paper's and Caffe's constants). Shapes: ``x (N, C, ...)`` -> like ``x``.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = check_size(size, "size", "LocalResponseNorm")
        self.alpha = check_number(alpha, "alpha", "LocalResponseNorm")
        self.beta = check_number(beta, "beta", "LocalResponseNorm")
        self.k = check_number(k, "k", "LocalResponseNorm")

    def forward(self, x: Any) -> Any:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
