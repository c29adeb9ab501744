"""Argument checks shared by every layer, and the one way to get randomness.

Every public entry point validates what it is given with these helpers, so that
a bad value fails the same way everywhere: a :class:`~glassnet.errors.ConfigError`
(a ``ValueError``) whose message names the owner, the argument, what was
expected and what came::

    Linear: in_features must be an int >= 1, got 0
    Dropout: p must be a number in [0, 1), got 1.5

``bool`` is refused wherever a number is expected (``True`` would otherwise
silently mean 1), NaN and infinities wherever a finite number is.

Randomness: :func:`as_generator` turns a seed, a ``numpy.random.Generator`` or
None into a Generator; :func:`spawn` derives independent child streams from
one seed with NumPy's ``SeedSequence.spawn`` (instead of ``seed + 1`` or
``integers(2**31)``, whose streams are not guaranteed independent).
:func:`manual_seed` fixes what ``rng=None`` means, for users who build layers
without ``rng=`` (as ``torch.manual_seed``); the library itself never calls it.

Imports nothing of glassnet's but :mod:`glassnet.errors`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from glassnet.errors import ConfigError

__all__ = [
    "check_int", "check_size", "check_number", "check_bool", "check_choice", "check_optional",
    "as_generator", "spawn", "spawn_seeds", "manual_seed",
]


def _prefix(owner: str, name: str) -> str:
    return f"{owner}: {name}" if owner else name


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(value: Any, name: str, owner: str = "", *, min: int | None = None, max: int | None = None) -> int:
    """``value`` as a Python int within ``[min, max]`` (either bound optional).

    Raises:
        ConfigError: ``owner: name must be an int >= 1, got 0`` for a non-int (bools included) or one out of range.
    """
    if not _is_int(value) or (min is not None and value < min) or (max is not None and value > max):
        if min is not None and max is not None:
            want = f"an int in [{min}, {max}]"
        elif min is not None:
            want = f"an int >= {min}"
        elif max is not None:
            want = f"an int <= {max}"
        else:
            want = "an int"
        raise ConfigError(f"{_prefix(owner, name)} must be {want}, got {value!r}")
    return int(value)


def check_size(value: Any, name: str, owner: str = "", *, min: int = 1) -> int:
    """A size or count: an int >= ``min`` (default 1). See :func:`check_int`."""
    return check_int(value, name, owner, min=min)


def check_number(value: Any, name: str, owner: str = "", *, min: float | None = None, max: float | None = None,
                 min_open: bool = False, max_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float in the interval given by ``min``/``max`` (closed unless ``min_open``/``max_open``).

    Args:
        finite: refuse NaN and infinities (default). With False, NaN is still refused and
            ``inf`` passes when the interval allows it.

    Raises:
        ConfigError: ``owner: name must be a number in (0, inf), got 0.0``.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok:
        v = float(value)
        ok = not math.isnan(v) and (not finite or math.isfinite(v))
        ok = ok and not (min is not None and (v <= min if min_open else v < min))
        ok = ok and not (max is not None and (v >= max if max_open else v > max))
    if not ok:
        if min is None and max is None:
            want = "a finite number" if finite else "a number"
        else:
            left = "-inf" if min is None else f"{min:g}"
            right = "inf" if max is None else f"{max:g}"
            lo = "(" if (min_open or min is None) else "["
            hi = ")" if (max_open or max is None) else "]"
            want = f"a number in {lo}{left}, {right}{hi}"
        raise ConfigError(f"{_prefix(owner, name)} must be {want}, got {value!r}")
    return float(value)


def check_bool(value: Any, name: str, owner: str = "") -> bool:
    """``value`` if it is a bool (``numpy.bool_`` included); a truthy string or 1 is refused.

    Raises:
        ConfigError: ``owner: name must be True or False, got 'no'``.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{_prefix(owner, name)} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Iterable[Any], owner: str = "") -> Any:
    """``value`` if it is one of ``choices``.

    Raises:
        ConfigError: ``owner: name must be one of 'sum', 'mean', got 'avg'``.
    """
    choices = tuple(choices)
    try:
        ok = any(value == c and type(value) is type(c) for c in choices)
    except Exception:  # an array compared elementwise
        ok = False
    if not ok:
        raise ConfigError(f"{_prefix(owner, name)} must be one of {', '.join(repr(c) for c in choices)}, "
                          f"got {value!r}")
    return value


def check_optional(value: Any, check, *args: Any, **kwargs: Any) -> Any:
    """None, or ``check(value, *args, **kwargs)``: ``check_optional(max_norm, check_number, "max_norm", min=0)``."""
    return None if value is None else check(value, *args, **kwargs)


# ------------------------------------------------------------- randomness
_manual: np.random.SeedSequence | None = None


def manual_seed(seed: int | None) -> None:
    """Make ``rng=None`` reproducible: after ``manual_seed(s)``, each ``as_generator(None)`` is the next
    child of ``SeedSequence(s)`` (as ``torch.manual_seed``). ``manual_seed(None)`` restores fresh OS entropy.

    glassnet itself never calls this; passing ``rng=`` explicitly is the recommended way.

    Raises:
        ConfigError: for a seed that is not an int >= 0.
    """
    global _manual
    _manual = None if seed is None else np.random.SeedSequence(check_int(seed, "seed", "manual_seed", min=0))


def as_generator(rng: Any, name: str = "rng") -> np.random.Generator:
    """``rng`` as a ``numpy.random.Generator``.

    A Generator is returned as is (shared, not copied); an int >= 0 or a ``SeedSequence`` seeds a new one;
    None is fresh OS entropy, or the next stream of :func:`manual_seed` if it was called.

    Raises:
        ConfigError: for anything else (the legacy ``np.random.RandomState``, a float, a bool) or a negative seed.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(None if _manual is None else _manual.spawn(1)[0])
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if _is_int(rng):
        if rng < 0:
            raise ConfigError(f"{name}: a seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise ConfigError(f"{name}: expected a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def spawn_seeds(seed: Any, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child ``SeedSequence`` s of ``seed`` (an int, a SeedSequence or a Generator).

    The same seed always gives the same children; children of different indices never overlap
    (NumPy's ``SeedSequence.spawn``). A Generator spawns from its bit generator's seed sequence
    (which advances it: the next call gives new children).

    Raises:
        ConfigError: for a bad seed or ``n`` < 0.
    """
    n = check_int(n, "n", "spawn", min=0)
    if isinstance(seed, np.random.Generator):
        return seed.bit_generator.seed_seq.spawn(n)
    if isinstance(seed, np.random.SeedSequence):
        return seed.spawn(n)
    if _is_int(seed) and seed >= 0:
        return np.random.SeedSequence(int(seed)).spawn(n)
    raise ConfigError(f"spawn: seed must be an int >= 0, a SeedSequence or a Generator, got {seed!r}")


def spawn(seed: Any, n: int) -> list[np.random.Generator]:
    """``n`` independent Generators derived from ``seed`` (see :func:`spawn_seeds`)."""
    return [np.random.default_rng(s) for s in spawn_seeds(seed, n)]
