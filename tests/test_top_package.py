"""The top package: subpackages reachable lazily (gn.nn.LSTM), manual_seed, and a light import."""

import subprocess
import sys

import pytest


def test_subpackages_are_reachable_from_the_top_package():
    import glassnet as gn

    assert gn.nn.LSTM.__name__ == "LSTM" and gn.optim.Adam.__name__ == "Adam"
    assert callable(gn.train.train_step) and callable(gn.checks.spawn) and gn.manual_seed is gn.checks.manual_seed
    assert {"nn", "optim", "train", "zoo", "lab"} <= set(dir(gn))
    with pytest.raises(AttributeError, match="module 'glassnet' has no attribute 'tensorflow'"):
        gn.tensorflow  # noqa: B018


def test_import_glassnet_is_light():
    code = ("import sys, glassnet; heavy = [m for m in ('matplotlib', 'torch', 'gymnasium', 'tqdm', 'sklearn') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
