"""Optimizers, learning-rate schedules and gradient clipping.

Each optimizer updates its parameters in place on their arrays, once per
``step()``; its docstring gives the update rule as math and the paper.
"""

from glassnet.optim.adagrad import AdaGrad
from glassnet.optim.adam import Adam
from glassnet.optim.clip import clip_grad_norm_, clip_grad_value_
from glassnet.optim.lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LRScheduler,
    StepLR,
)
from glassnet.optim.optimizer import Optimizer
from glassnet.optim.rmsprop import RMSprop
from glassnet.optim.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "AdaGrad", "RMSprop", "Adam",
    "clip_grad_norm_", "clip_grad_value_",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
]
