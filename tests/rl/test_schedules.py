import pytest

from glassnet.errors import ConfigError
from glassnet.rl.schedules import ConstantSchedule, ExponentialSchedule, LinearSchedule, as_schedule


def test_schedules_values():
    lin = LinearSchedule(1.0, 0.1, 10)
    assert [lin(0), lin(5), lin(10), lin(1000)] == [1.0, pytest.approx(0.55), pytest.approx(0.1), pytest.approx(0.1)]
    exp = ExponentialSchedule(1.0, 0.0, 0.5)
    assert [exp(0), exp(1), exp(3)] == [1.0, 0.5, 0.125]
    assert as_schedule(0.3)(99) == 0.3 and as_schedule(lin) is lin
    assert ConstantSchedule(0.2)(7) == 0.2


def test_schedules_reject_bad_values():
    with pytest.raises(ConfigError, match="LinearSchedule: steps must be >= 1, got 0"):
        LinearSchedule(1.0, 0.1, 0)
    with pytest.raises(ConfigError, match=r"ExponentialSchedule: decay must be in \(0, 1\], got 1.5"):
        ExponentialSchedule(1.0, 0.1, 1.5)
    with pytest.raises(ConfigError, match="ConstantSchedule: value must be >= 0, got -1"):
        ConstantSchedule(-1)
