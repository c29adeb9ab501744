"""Metrics by name, losses by name, and the History record."""

import numpy as np
import pytest

import glassnet.functional as F
from glassnet.errors import ConfigError, ShapeError
from glassnet.train import History, accuracy, get_loss, get_metric


def test_accuracy_cases():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    assert accuracy(logits, np.array([0, 1, 0, 2])) == (2.0, 4)
    # sequences with ignore_index (-100): skipped positions are not counted
    seq = logits.reshape(2, 2, 3)
    assert accuracy(seq, np.array([[0, -100], [2, -100]])) == (2.0, 2)
    # binary logits against {0, 1} targets: prediction is logit > 0
    assert accuracy(np.array([[0.3], [-2.0], [1.0]]), np.array([[1.0], [0.0], [0.0]])) == (2.0, 3)
    with pytest.raises(ShapeError, match=r"got outputs \(4, 3\) and targets \(3,\)"):
        accuracy(logits, np.array([0, 1, 2]))


def test_lookup_by_name():
    assert get_loss("softmax_cross_entropy") is F.softmax_cross_entropy
    assert get_loss("sparse_categorical_crossentropy") is F.softmax_cross_entropy
    assert get_loss("mse") is F.mean_squared_error
    assert get_metric("acc") is accuracy
    f = lambda o, t: (0.0, 1)
    assert get_metric(f) is f
    with pytest.raises(ConfigError, match="loss must be a callable or one of"):
        get_loss("nll")
    with pytest.raises(ConfigError, match="metric must be a callable or one of"):
        get_metric(3)


def test_history():
    h = History()
    assert h.last == {} and h.best("val_loss") == {} and len(h) == 0
    h.append({"epoch": 1, "loss": 1.0, "val_loss": 0.9})
    h.append({"epoch": 2, "loss": 0.5, "val_loss": 1.1, "extra": 3})
    assert h.history == {"loss": [1.0, 0.5], "val_loss": [0.9, 1.1], "extra": [None, 3]}
    assert h.best("val_loss", "min")["epoch"] == 1 and h.best("loss", "max")["epoch"] == 1
    assert History.from_dict(h.to_dict()).epochs == h.epochs
