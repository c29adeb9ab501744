"""Layers and models: ``Module``, ``Parameter``, weight ``init``, and the layers built on them.

Every layer is a :class:`Module` whose parameters are registered by attribute
assignment; dense weights use the ``(in, out)`` layout, ``y = x @ W + b``.
"""

from glassnet.nn import init
from glassnet.nn.activation import Flatten, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, Unflatten
from glassnet.nn.container import ModuleList, Sequential
from glassnet.nn.conv import Conv2d, ConvTranspose2d
from glassnet.nn.dropout import Dropout
from glassnet.nn.embedding import Embedding
from glassnet.nn.linear import Linear
from glassnet.nn.module import LoadResult, Module
from glassnet.nn.normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from glassnet.nn.parameter import Parameter
from glassnet.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from glassnet.nn.recurrent import GRU, LSTM, RNN

__all__ = [
    "Parameter", "Module", "LoadResult", "ModuleList", "Sequential", "init",
    "Linear", "Embedding", "Dropout",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten", "Unflatten",
    "RNN", "LSTM", "GRU",
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "BatchNorm1d", "BatchNorm2d", "LocalResponseNorm",
]
