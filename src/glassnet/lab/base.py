"""The lab's contract: an experiment states a claim, measures it, and gives a verdict.

An experiment is a subclass of :class:`Experiment` in its own module of
``glassnet.lab``. It declares

* ``name`` (the command-line name, e.g. ``"long-dependency"``), ``topic``
  (the course section it belongs to), ``claim`` (one sentence of the course)
  and ``criterion`` (the measurable rule that decides the verdict);
* ``Config``: a dataclass whose fields each carry a one-line description in
  ``field(metadata={"help": ...})``; its defaults are the full run;
* ``quick``: the overrides that make the quick run (seconds, used by the tests), and
  ``quick_criterion``: the smaller rule a quick run checks (a quick run never claims
  the full criterion: its last line is ``quick check: <verdict> (<quick criterion>)``);
* ``data``: the downloaded data sets it needs (catalog names; ``glassnet lab`` marks
  them). A :class:`~glassnet.errors.DataError` raised while running (data missing
  or corrupt) makes the result ``inconclusive`` with a how-to-get-it note;
* ``run(config, ctx) -> Outcome``: the experiment itself, top to bottom.

Randomness comes from ``ctx.rng`` (the run's generator) and ``ctx.spawn(n)``
(independent child generators, ``SeedSequence.spawn``). An experiment whose
full run takes more than a minute splits its work into units with
``ctx.unit(key, fn)``: with ``--resume`` a unit finished by an interrupted run is
read back instead of run again (its result is JSON). Plots are drawn with
:mod:`glassnet.lab.plotting` (``ctx.figure``) and saved with ``ctx.savefig``.

:func:`run_experiment` seeds, times, runs, prints the table, writes
``result.json`` (``name``, ``claim``, ``criterion``, ``verdict``, ``metrics``,
``config``, ``seed``, ``seconds``, ``table``, ``plots``) atomically and the
plots as PNG, and prints ``verdict: <verdict>`` last.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from glassnet.errors import ConfigError, DataError
from glassnet.fileio import atomic_write_json
from glassnet.lab import plotting

__all__ = [
    "Experiment", "Outcome", "Result", "RunContext", "VERDICTS", "SUPPORTED", "NOT_SUPPORTED", "INCONCLUSIVE",
    "make_config", "run_experiment", "verdict_from", "machine_info",
]

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)


def verdict_from(ok: bool) -> str:
    """``supported`` if ``ok`` else ``not supported``."""
    return SUPPORTED if ok else NOT_SUPPORTED


@dataclass
class Outcome:
    """What an experiment's ``run`` returns.

    Attributes:
        verdict: one of ``supported``, ``not supported``, ``inconclusive``.
        metrics: the numbers the criterion looks at (JSON-serialisable).
        table: rows (dicts with the same keys) printed as the result table.
        notes: free-text lines printed under the table (e.g. generated samples).
    """

    verdict: str
    metrics: dict[str, Any]
    table: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Result:
    """The record written to ``result.json``."""

    name: str
    claim: str
    criterion: str
    verdict: str
    metrics: dict[str, Any]
    config: dict[str, Any]
    seed: int
    seconds: float
    quick: bool
    topic: str
    table: list[dict[str, Any]]
    notes: list[str]
    plots: list[str]
    quick_criterion: str = ""
    date: str = ""
    cpu_seconds: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)
    resumed_units: int = 0


class RunContext:
    """What an experiment gets besides its config: seed, folders, randomness, progress, plots, resumable units.

    Attributes:
        seed: the run's seed; ``rng`` is ``numpy.random.default_rng(SeedSequence(seed))``.
        out_dir: where plots go (None: plots are not saved, units are not kept).
        data_dir: where real data sets are looked for (None: the default cache).
        quick: True for the quick configuration.
        verbose: show progress bars and log lines.
        resume: reuse the units (:meth:`unit`) that an interrupted run with the same
            seed, quick flag and config left in ``out_dir/units``.
    """

    def __init__(self, seed: int, out_dir: Path | None, data_dir: Path | None, quick: bool, verbose: bool = True,
                 resume: bool = False, config: Any = None):
        self.seed = seed
        self._seed_seq = np.random.SeedSequence(seed)
        self.rng = np.random.default_rng(self._seed_seq)
        self.out_dir = out_dir
        self.data_dir = data_dir
        self.quick = quick
        self.verbose = verbose
        self.resume = resume
        self.plots: list[str] = []
        self.resumed_units = 0
        self._units_dir = out_dir / "units" if out_dir is not None else None
        if self._units_dir is not None:
            self._prepare_units(config)

    # ----------------------------------------------------------- randomness
    def spawn(self, n: int) -> list[np.random.Generator]:
        """``n`` new generators independent of ``rng`` and of every earlier ``spawn`` (``SeedSequence.spawn``).

        The k-th call gives the same generators for the same seed, whatever was drawn from ``rng``.
        """
        return [np.random.default_rng(s) for s in self.spawn_seeds(n)]

    def spawn_seeds(self, n: int) -> list[np.random.SeedSequence]:
        """``n`` child ``SeedSequence`` s, as :meth:`spawn` but unmade: ``default_rng(s)`` twice gives the same stream.

        For the same stream in several places (the same initial weights for every cell compared, the same
        batches for every configuration). :meth:`spawn` and this method share one counter of children.
        """
        from glassnet.checks import check_int

        return self._seed_seq.spawn(check_int(n, "n", "RunContext.spawn", min=0))

    # ------------------------------------------------------------- progress
    def progress(self, iterable=None, total: int | None = None, desc: str = ""):
        """A tqdm progress bar (disabled when not verbose)."""
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, disable=not self.verbose, leave=False, dynamic_ncols=True)

    def log(self, message: str) -> None:
        if self.verbose:
            from tqdm.auto import tqdm

            tqdm.write(message)

    # ---------------------------------------------------------------- plots
    @staticmethod
    def figure(nrows: int = 1, ncols: int = 1, **kwargs: Any):
        """:func:`glassnet.lab.plotting.figure`: ``fig, ax = ctx.figure()``."""
        return plotting.figure(nrows, ncols, **kwargs)

    def savefig(self, fig, name: str) -> None:
        """Save a matplotlib figure as ``<out_dir>/<name>.png`` atomically (nothing when ``out_dir`` is None)."""
        if self.out_dir is not None:
            plotting.save_png(fig, self.out_dir / f"{name}.png")
            self.plots.append(f"{name}.png")

    # ---------------------------------------------------------------- units
    def _prepare_units(self, config: Any) -> None:
        stamp = {"seed": self.seed, "quick": self.quick,
                 "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else None}
        stamp = json.loads(json.dumps(stamp, default=str))
        stamp_file = self._units_dir / "_run.json"
        if self.resume:
            try:
                same = json.loads(stamp_file.read_text()) == stamp
            except (OSError, ValueError):
                same = False
            if same:
                return
        if self._units_dir.exists():  # a fresh run, or a resume of other settings: start over
            shutil.rmtree(self._units_dir)
        atomic_write_json(stamp_file, stamp)

    def unit(self, key: str, fn: Callable[[], Any]) -> Any:
        """The JSON result of ``fn()``, computed once: resumable work.

        With ``resume`` and a result of ``key`` saved by an interrupted run of the same settings,
        that result is returned without calling ``fn``; otherwise ``fn()`` runs and its result is written
        atomically to ``out_dir/units/<key>.json``. Either way the value returned is the JSON round trip
        (tuples come back as lists), so a resumed run computes exactly what an uninterrupted one does.

        ``fn`` must draw its randomness from generators made for it (``ctx.spawn``), never from ``ctx.rng``,
        or skipping it would shift the random numbers of the units after it.

        Raises:
            ConfigError: a key that is not a non-empty ``[A-Za-z0-9_.=-]`` string, or a result JSON cannot hold.
        """
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_.=-]+", key) or key.startswith("_"):
            raise ConfigError(f"RunContext.unit: key must be a non-empty string of letters, digits and _.=- "
                              f"not starting with _, got {key!r}")
        path = self._units_dir / f"{key}.json" if self._units_dir is not None else None
        if path is not None and self.resume and path.exists():
            try:
                value = json.loads(path.read_text())["value"]
                self.resumed_units += 1
                return value
            except (OSError, ValueError, KeyError):
                pass  # a damaged unit is recomputed
        value = fn()
        try:
            text = json.dumps({"value": value})
        except TypeError as e:
            raise ConfigError(f"RunContext.unit {key!r}: the result must be JSON-serialisable ({e})") from None
        if path is not None:
            atomic_write_json(path, json.loads(text))
        return json.loads(text)["value"]


def machine_info() -> dict[str, Any]:
    """Where a run ran: CPU model, logical cores, OS, Python and NumPy versions (for recorded results)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(terse=True),
            "python": platform.python_version(), "numpy": np.__version__}


class Experiment:
    """Base class of lab experiments (see the module docstring for the contract)."""

    name: ClassVar[str]
    topic: ClassVar[str]
    claim: ClassVar[str]
    criterion: ClassVar[str]
    Config: ClassVar[type]
    quick: ClassVar[dict[str, Any]] = {}
    quick_criterion: ClassVar[str] = ""
    data: ClassVar[tuple[str, ...]] = ()

    def run(self, config: Any, ctx: RunContext) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError


def _coerce(name: str, f: dataclasses.Field, value: Any) -> Any:
    """Turn a command-line string into the field's type (int, float, bool, str, tuple/list of those)."""
    if not isinstance(value, str):
        return value
    default = f.default if f.default is not dataclasses.MISSING else (
        f.default_factory() if f.default_factory is not dataclasses.MISSING else None
    )
    try:
        if isinstance(default, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, (tuple, list)):
            kind = type(default[0]) if default else str
            items = [kind(v) for v in value.split(",") if v != ""]
            return type(default)(items)
    except ValueError:
        raise ConfigError(f"{name}: cannot read {value!r} as {type(default).__name__}") from None
    return value


def make_config(experiment: type[Experiment], quick: bool = False, overrides: dict[str, Any] | None = None):
    """Build ``experiment.Config`` (full defaults, or with ``quick`` applied) plus ``overrides``.

    Raises:
        ConfigError: for an unknown key or a value of the wrong type, naming both.
    """
    fields = {f.name: f for f in dataclasses.fields(experiment.Config)}
    values: dict[str, Any] = dict(experiment.quick) if quick else {}
    for key, value in (overrides or {}).items():
        key = key.replace("-", "_")
        if key not in fields:
            raise ConfigError(
                f"{experiment.name}: unknown config key {key!r}; known keys: {', '.join(sorted(fields))}"
            )
        values[key] = _coerce(f"{experiment.name}.{key}", fields[key], value)
    return experiment.Config(**values)


def one_blas_thread():
    """A context that limits BLAS to one thread: the recurrent and dialogue models multiply small matrices, where
    extra BLAS threads only add synchronisation (7x slower per step measured on a shared 2-core machine)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def run_experiment(
    experiment: type[Experiment],
    *,
    quick: bool = False,
    out_dir: str | Path | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    verbose: bool = True,
    printer: Callable[[str], None] | None = print,
    resume: bool = False,
) -> Result:
    """Run one experiment: configure, seed, time, run, print, write ``result.json`` and plots.

    Args:
        experiment: the Experiment subclass.
        quick: use its quick configuration.
        out_dir: folder for ``result.json`` and PNG plots (None: write nothing).
        seed: the one seed of the run.
        data_dir: folder with real data sets (passed to loaders).
        overrides: config fields to change, e.g. ``{"epochs": 3}``.
        verbose: progress bars and log lines.
        printer: where the table and the verdict line go (None: silent).
        resume: reuse the units an interrupted run with the same settings left in ``out_dir``.

    Returns:
        The :class:`Result` (also written to ``out_dir/result.json``).

    Raises:
        ConfigError: for an unknown config key; whatever the experiment raises.
    """
    config = make_config(experiment, quick, overrides)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(seed, out, Path(data_dir) if data_dir is not None else None, quick, verbose,
                     resume=resume, config=config)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        outcome = experiment().run(config, ctx)
    except DataError as e:  # missing or corrupt data: nothing measured, nothing claimed
        outcome = missing_data_outcome(experiment, e)
    seconds = time.perf_counter() - start
    if outcome.verdict not in VERDICTS:
        raise ConfigError(f"{experiment.name}: verdict must be one of {VERDICTS}, got {outcome.verdict!r}")
    result = Result(
        name=experiment.name, claim=experiment.claim, criterion=experiment.criterion, verdict=outcome.verdict,
        metrics=outcome.metrics, config=dataclasses.asdict(config), seed=seed, seconds=round(seconds, 3),
        quick=quick, topic=experiment.topic, table=outcome.table, notes=outcome.notes, plots=list(ctx.plots),
        quick_criterion=experiment.quick_criterion if quick else "",
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        cpu_seconds=round(time.process_time() - cpu_start, 3), machine=machine_info(),
        resumed_units=ctx.resumed_units,
    )
    if out is not None:
        atomic_write_json(out / "result.json", dataclasses.asdict(result))
    if printer is not None:
        printer(format_result(result))
        if out is not None:
            printer("wrote " + ", ".join(str(out / f) for f in ["result.json", *result.plots]))
        printer(final_line(result))
    return result


def final_line(result: Result) -> str:
    """The last line of a run: ``verdict: supported``, or for a quick run ``quick check: supported (<rule>)``."""
    if result.quick:
        return f"quick check: {result.verdict} ({result.quick_criterion or 'the full criterion on a smaller run'})"
    return f"verdict: {result.verdict}"


def missing_data_outcome(experiment: type[Experiment], error: DataError) -> Outcome:
    """An ``inconclusive`` outcome for a run that could not read its data, with how to get it."""
    message = " ".join(str(error).split())
    how = (f"get the data with `glassnet data download {experiment.data[0]}`"
           + "".join(f" and `glassnet data download {d}`" for d in experiment.data[1:])
           + " or pass --data-dir" if experiment.data else "pass --data-dir with the data set's files")
    notes = [f"data not available: {message}", f"to run it: {how}"]
    return Outcome(INCONCLUSIVE, {"missing_data": message}, notes=notes)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Rows of dicts as a plain-text table (floats to 4 significant digits)."""
    from tabulate import tabulate

    if not rows:
        return ""
    return tabulate(rows, headers="keys", floatfmt=".4g", tablefmt="simple")


def format_result(result: Result) -> str:
    lines = [f"{result.name}  ({result.topic})", f"claim:     {result.claim}", f"criterion: {result.criterion}", ""]
    table = format_table(result.table)
    if table:
        lines += [table, ""]
    lines += result.notes
    resumed = f", {result.resumed_units} units resumed" if result.resumed_units else ""
    lines.append(f"({result.seconds:.1f} s, seed {result.seed}{', quick' if result.quick else ''}{resumed})")
    return "\n".join(lines)
