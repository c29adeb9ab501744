"""Dates written in many formats, paired with their ISO 8601 form ``YYYY-MM-DD``: a seq2seq task, generated.

Formats are chosen to be unambiguous: month-first only with slashes (US) and a spelled month, day-first
only with dots (European) and spelled months, and the Japanese 年月日 form. Month and weekday names are
spelled out in English from fixed tables (never the locale's).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from glassnet.checks import check_int
from glassnet.errors import ConfigError

__all__ = ["load_dates", "DATE_FORMATS"]

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _fmt(name: str, d: dt.date) -> str:
    M, Mon, wd = _MONTHS[d.month - 1], _MONTHS[d.month - 1][:3], _DAYS[d.weekday()]
    return {
        "us_long": f"{M} {d.day}, {d.year}",             # September 27, 1994
        "us_short": f"{Mon} {d.day}, {d.year}",          # Sep 27, 1994
        "us_weekday": f"{wd}, {M} {d.day}, {d.year}",    # Tuesday, September 27, 1994
        "us_slash": f"{d.month}/{d.day}/{d.year}",       # 9/27/1994
        "eu_long": f"{d.day} {M} {d.year}",              # 27 September 1994
        "eu_short": f"{d.day} {Mon.upper()} {d.year}",   # 27 SEP 1994
        "eu_dot": f"{d.day:02d}.{d.month:02d}.{d.year}",  # 27.09.1994
        "compact": f"{d.year}{d.month:02d}{d.day:02d}",  # 19940927
        "japanese": f"{d.year}年{d.month}月{d.day}日",     # 1994年9月27日
        "lower": f"{wd.lower()} {d.day} {M.lower()} {d.year}",  # tuesday 27 september 1994
    }[name]


#: The format names :func:`load_dates` draws from.
DATE_FORMATS = ("us_long", "us_short", "us_weekday", "us_slash", "eu_long", "eu_short", "eu_dot", "compact",
                "japanese", "lower")


def load_dates(n: int, rng=None, formats=DATE_FORMATS, start: str = "1950-01-01",
               end: str = "2049-12-31") -> tuple[list[str], list[str]]:
    """``n`` random dates (uniform over the days from ``start`` to ``end``), each in a random format.

    Args:
        n: number of pairs.
        rng: Generator or seed: the same seed gives the same pairs.
        formats: names from :data:`DATE_FORMATS` to draw from (uniformly).
        start, end: ISO dates bounding the range (inclusive).

    Returns:
        ``(sources, targets)``: two lists of ``n`` strings, e.g. ``"Sep 27, 1994"`` -> ``"1994-09-27"``.

    Raises:
        ConfigError: for ``n < 0``, an unknown format, or an empty date range.
    """
    n = check_int(n, "n", "load_dates", min=0)
    bad = [f for f in formats if f not in DATE_FORMATS]
    if bad or not formats:
        raise ConfigError(f"load_dates: formats must be a non-empty subset of {', '.join(DATE_FORMATS)}, "
                          f"got {list(formats)!r}")
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    span = (last - first).days + 1
    if span < 1:
        raise ConfigError(f"load_dates: end ({end}) must not be before start ({start})")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    offsets = rng.integers(0, span, n)
    kinds = rng.integers(0, len(formats), n)
    dates = [first + dt.timedelta(days=int(o)) for o in offsets]
    return [_fmt(formats[k], d) for k, d in zip(kinds, dates)], [d.isoformat() for d in dates]
