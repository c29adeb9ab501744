"""glassnet.checks: argument checks refuse what they must and name owner and argument; seeds spawn reproducibly."""

import math

import numpy as np
import pytest

from glassnet import checks
from glassnet.errors import ConfigError


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 1.0, "3", None, 0, -2])
def test_check_size_refuses_bools_floats_strings_and_small(value):
    with pytest.raises(ConfigError, match=r"^Linear: in_features must be an int >= 1, got "):
        checks.check_size(value, "in_features", "Linear")


def test_check_int_accepts_numpy_ints_and_returns_python_int():
    out = checks.check_int(np.int64(7), "n", min=0, max=7)
    assert out == 7 and type(out) is int
    with pytest.raises(ConfigError, match=r"n must be an int in \[0, 6\], got 7"):
        checks.check_int(7, "n", min=0, max=6)
    with pytest.raises(ConfigError, match=r"k must be an int <= 3, got 4"):
        checks.check_int(4, "k", max=3)


@pytest.mark.parametrize(("kwargs", "value", "ok"), [
    ({"min": 0.0, "max": 1.0, "max_open": True}, 0.0, True),
    ({"min": 0.0, "max": 1.0, "max_open": True}, 1.0, False),
    ({"min": 0.0, "min_open": True}, 0.0, False),
    ({"min": 0.0, "min_open": True}, 1e-300, True),
    ({}, math.inf, False),
    ({"finite": False}, math.inf, True),
    ({"finite": False}, math.nan, False),
    ({}, True, False),
    ({}, np.float32(2.5), True),
    ({}, "1.0", False),
])
def test_check_number_intervals(kwargs, value, ok):
    if ok:
        assert checks.check_number(value, "p", "Dropout", **kwargs) == float(value)
    else:
        with pytest.raises(ConfigError, match=r"^Dropout: p must be a "):
            checks.check_number(value, "p", "Dropout", **kwargs)


def test_check_number_message_shows_the_interval():
    with pytest.raises(ConfigError, match=r"p must be a number in \[0, 1\), got 1.5"):
        checks.check_number(1.5, "p", min=0, max=1, max_open=True)


@pytest.mark.parametrize("value", ["yes", 1, 0, None, np.array([True])])
def test_check_bool_refuses_truthy_values(value):
    with pytest.raises(ConfigError, match="must be True or False"):
        checks.check_bool(value, "bias", "Linear")
    assert checks.check_bool(np.bool_(False), "bias") is False


def test_check_choice_is_type_exact():
    assert checks.check_choice("mean", "reduction", ("sum", "mean")) == "mean"
    with pytest.raises(ConfigError, match=r"reduction must be one of 'sum', 'mean', got 'avg'"):
        checks.check_choice("avg", "reduction", ("sum", "mean"))
    with pytest.raises(ConfigError):  # True == 1 but is not the choice 1
        checks.check_choice(True, "k", (1, 2))
    with pytest.raises(ConfigError):
        checks.check_choice(np.array([1, 2]), "k", (1, 2))


def test_check_optional():
    assert checks.check_optional(None, checks.check_number, "max_norm", min=0) is None
    with pytest.raises(ConfigError):
        checks.check_optional(-1.0, checks.check_number, "max_norm", min=0)


def test_as_generator_forms():
    g = np.random.default_rng(3)
    assert checks.as_generator(g) is g
    assert checks.as_generator(5).integers(1 << 30) == np.random.default_rng(5).integers(1 << 30)
    ss = np.random.SeedSequence(9)
    assert checks.as_generator(ss).random() == np.random.default_rng(np.random.SeedSequence(9)).random()
    for bad in (-1, 1.5, True, np.random.RandomState(0), "0"):
        with pytest.raises(ConfigError, match="rng"):
            checks.as_generator(bad)


def test_manual_seed_makes_none_reproducible_and_can_be_undone():
    try:
        checks.manual_seed(11)
        a = [checks.as_generator(None).random() for _ in range(3)]
        checks.manual_seed(11)
        b = [checks.as_generator(None).random() for _ in range(3)]
        assert a == b and len(set(a)) == 3  # the same sequence of streams, each stream different
        checks.manual_seed(None)
        assert checks.as_generator(None).random() != checks.as_generator(None).random()
        with pytest.raises(ConfigError, match="manual_seed: seed must be an int >= 0"):
            checks.manual_seed(-3)
    finally:
        checks.manual_seed(None)


def test_spawn_is_seedsequence_spawn():
    kids = checks.spawn(42, 3)
    expected = [np.random.default_rng(s) for s in np.random.SeedSequence(42).spawn(3)]
    assert [k.random() for k in kids] == [e.random() for e in expected]
    firsts = [g.integers(1 << 62) for g in checks.spawn(42, 4)]
    assert len(set(firsts)) == 4  # distinct streams
    assert checks.spawn_seeds(42, 0) == []
    with pytest.raises(ConfigError, match="spawn: seed must be"):
        checks.spawn_seeds(-1, 2)
    with pytest.raises(ConfigError, match="spawn: n must be an int >= 0"):
        checks.spawn(0, -1)


def test_spawn_from_a_generator_advances_it():
    g = np.random.default_rng(1)
    a = [x.random() for x in checks.spawn(g, 2)]
    b = [x.random() for x in checks.spawn(g, 2)]
    assert a != b
    g2 = np.random.default_rng(1)
    assert [x.random() for x in checks.spawn(g2, 2)] == a
