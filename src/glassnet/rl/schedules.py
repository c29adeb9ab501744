"""Schedules for exploration rates and step sizes: epsilon_t or alpha_t as a function of t.

``t`` counts whatever the caller counts (episodes for the tabular learners,
environment steps for DQN); each schedule is a small frozen dataclass called as
``schedule(t)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from glassnet.errors import ConfigError

__all__ = ["ConstantSchedule", "LinearSchedule", "ExponentialSchedule", "as_schedule"]


def _check_nonnegative(name: str, **values: float) -> None:
    for key, value in values.items():
        if not value >= 0:
            raise ConfigError(f"{name}: {key} must be >= 0, got {value}")


@dataclass(frozen=True)
class ConstantSchedule:
    """``value`` at every t."""

    value: float

    def __post_init__(self):
        _check_nonnegative("ConstantSchedule", value=self.value)

    def __call__(self, t: int) -> float:
        return self.value


@dataclass(frozen=True)
class LinearSchedule:
    """``start + (end - start) * min(t / steps, 1)``: a straight line from start to end, then flat."""

    start: float
    end: float
    steps: int

    def __post_init__(self):
        _check_nonnegative("LinearSchedule", start=self.start, end=self.end)
        if self.steps < 1:
            raise ConfigError(f"LinearSchedule: steps must be >= 1, got {self.steps}")

    def __call__(self, t: int) -> float:
        return self.start + (self.end - self.start) * min(t / self.steps, 1.0)


@dataclass(frozen=True)
class ExponentialSchedule:
    """``end + (start - end) * decay**t``: geometric approach from start to end."""

    start: float
    end: float
    decay: float

    def __post_init__(self):
        _check_nonnegative("ExponentialSchedule", start=self.start, end=self.end)
        if not 0.0 < self.decay <= 1.0:
            raise ConfigError(f"ExponentialSchedule: decay must be in (0, 1], got {self.decay}")

    def __call__(self, t: int) -> float:
        return self.end + (self.start - self.end) * self.decay**t


def as_schedule(value) -> ConstantSchedule | LinearSchedule | ExponentialSchedule:
    """A schedule from a schedule or a plain number (a constant)."""
    if callable(value):
        return value
    return ConstantSchedule(float(value))
