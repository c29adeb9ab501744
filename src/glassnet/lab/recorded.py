"""Recorded full runs: what the lab's full configurations measured, kept in the package for the report.

A quick run checks a smaller rule in seconds; the claim is decided by the full
run, which takes minutes to a quarter of an hour. So that a reader of a quick
report still sees what the full run found, the package carries
``recorded.json``, written by ``scripts/record_full_runs.py`` from the
``result.json`` files of real full runs (never typed by hand), with each run's
verdict, key numbers, seed, date, CPU seconds and machine. The report shows it
beside the quick result, labelled as recorded.

Format (version 1): ``{"format": "glassnet-recorded-runs", "version": 1,
"experiments": {name: record}}`` where a record holds ``verdict``,
``criterion``, ``metrics`` (the scalar metrics, at most :data:`KEY_NUMBERS`),
``seed``, ``date``, ``seconds``, ``cpu_seconds``, ``machine`` and ``glassnet``
(the version that ran it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from glassnet.errors import DataError

__all__ = ["FORMAT", "VERSION", "KEY_NUMBERS", "load_recorded", "record_from_result", "build_recorded"]

FORMAT = "glassnet-recorded-runs"
VERSION = 1
KEY_NUMBERS = 12


def _flat(metrics: dict[str, Any], prefix: str = ""):
    for k, v in metrics.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _key_numbers(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics a reader compares at a glance: finite numbers, booleans and None (nested dicts as ``a.b``),
    in their order, at most :data:`KEY_NUMBERS`."""
    out: dict[str, Any] = {}
    for k, v in _flat(metrics):
        if isinstance(v, bool) or v is None or (isinstance(v, (int, float)) and math.isfinite(v)):
            out[k] = v
        if len(out) == KEY_NUMBERS:
            break
    return out


def record_from_result(result: dict[str, Any], version: str) -> dict[str, Any]:
    """One record from a full run's ``result.json`` content.

    Raises:
        DataError: the result is a quick run, or lacks a field a record needs.
    """
    if result.get("quick") is not False:
        raise DataError(f"{result.get('name', '?')}: a recorded run must be a full run "
                        f"(quick is {result.get('quick')!r})")
    try:
        return {"verdict": result["verdict"], "criterion": result["criterion"],
                "metrics": _key_numbers(result["metrics"]), "seed": result["seed"], "date": result["date"],
                "seconds": result["seconds"], "cpu_seconds": result["cpu_seconds"], "machine": result["machine"],
                "glassnet": version}
    except KeyError as e:
        raise DataError(f"{result.get('name', '?')}: result.json has no {e.args[0]!r} field "
                        f"(written by an older glassnet? run it again)") from None


def build_recorded(results: Iterable[dict[str, Any]], version: str,
                   previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The content of ``recorded.json``: ``previous`` records updated with one per result (the last wins)."""
    experiments = dict((previous or {}).get("experiments", {}))
    for r in results:
        experiments[r["name"]] = record_from_result(r, version)
    return {"format": FORMAT, "version": VERSION, "experiments": dict(sorted(experiments.items()))}


def load_recorded(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The recorded full runs by experiment name (``{}`` if none are recorded).

    Args:
        path: a ``recorded.json``; default the one shipped in ``glassnet.lab``.

    Raises:
        DataError: a file that is not a recorded-runs file of a known version.
    """
    if path is None:
        ref = resources.files("glassnet.lab").joinpath("recorded.json")
        if not ref.is_file():
            return {}
        text = ref.read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise DataError(f"recorded runs: unreadable JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise DataError(f"recorded runs: not a {FORMAT} file of version {VERSION}")
    return dict(data.get("experiments", {}))
