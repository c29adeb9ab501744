"""Data sets: embedded (scikit-learn), downloaded with sha256 checks (MNIST, CIFAR-10, text corpora, SGD dialogues).

Every loader returns NumPy arrays (or lists of tokens for text) and reads from ``root`` — the data home
(``$GLASSNET_DATA`` or ``~/.cache/glassnet`` by default; ``/work/shared/data`` in development) or the
data set's own folder; see :mod:`glassnet.data.download` for the rule. :func:`available` lists them.
"""

from glassnet.data.datasets.catalog import available, register
from glassnet.data.datasets.cifar10 import CIFAR10_CLASSES, load_cifar10, read_cifar_batch
from glassnet.data.datasets.embedded import load_digits, load_iris
from glassnet.data.datasets.mnist import load_mnist, read_idx
from glassnet.data.datasets.sgd import SGD_SHA256, load_sgd, read_sgd_dialogues
from glassnet.data.datasets.text import (
    join_sentences,
    load_neko,
    load_ptb,
    load_small_parallel_enja,
    load_tinyshakespeare,
)

__all__ = [
    "available", "register",
    "load_iris", "load_digits",
    "load_mnist", "read_idx",
    "load_cifar10", "read_cifar_batch", "CIFAR10_CLASSES",
    "load_ptb", "join_sentences", "load_tinyshakespeare", "load_small_parallel_enja", "load_neko",
    "load_sgd", "read_sgd_dialogues", "SGD_SHA256",
]
from glassnet.data.datasets.dates import DATE_FORMATS, load_dates  # noqa: E402,F401  (generated: dates)
from glassnet.data.datasets.detection_scenes import (  # noqa: E402,F401  (generated: detection scenes)
    DigitScenes,
    digit_scenes,
    make_digit_scenes,
    write_coco,
)
from glassnet.data.datasets.generated import *  # noqa: E402,F403  (binary_addition, adding_problem, appears_later)
