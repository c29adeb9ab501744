"""The lab's contract: an experiment states a claim, measures it, and gives a verdict.

An experiment is a subclass of :class:`Experiment` in its own module of
``glassnet.lab``. It declares

* ``name`` (the command-line name, e.g. ``"long-dependency"``), ``topic``
  (the course section it belongs to), ``claim`` (one sentence of the course)
  and ``criterion`` (the measurable rule that decides the verdict);
* ``Config``: a dataclass whose fields each carry a one-line description in
  ``field(metadata={"help": ...})``; its defaults are the full run;
* ``quick``: the overrides that make the quick run (seconds, used by the tests);
* ``run(config, ctx) -> Outcome``: the experiment itself, top to bottom.

:func:`run_experiment` seeds, times, runs, prints the table, writes
``result.json`` (``name``, ``claim``, ``criterion``, ``verdict``, ``metrics``,
``config``, ``seed``, ``seconds``, ``table``, ``plots``) atomically and the
plots as PNG, and prints ``verdict: <verdict>`` last.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from glassnet.errors import ConfigError
from glassnet.fileio import atomic_write_bytes, atomic_write_json

__all__ = [
    "Experiment", "Outcome", "Result", "RunContext", "VERDICTS", "SUPPORTED", "NOT_SUPPORTED", "INCONCLUSIVE",
    "make_config", "run_experiment", "verdict_from",
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


class RunContext:
    """What an experiment gets besides its config: seed, folders, progress and plots.

    Attributes:
        seed: the run's seed; ``rng`` is ``numpy.random.default_rng(seed)``.
        out_dir: where plots go (None: plots are not saved).
        data_dir: where real data sets are looked for (None: the default cache).
        quick: True for the quick configuration.
        verbose: show progress bars and log lines.
    """

    def __init__(self, seed: int, out_dir: Path | None, data_dir: Path | None, quick: bool, verbose: bool = True):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.out_dir = out_dir
        self.data_dir = data_dir
        self.quick = quick
        self.verbose = verbose
        self.plots: list[str] = []

    def progress(self, iterable=None, total: int | None = None, desc: str = ""):
        """A tqdm progress bar (disabled when not verbose)."""
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, disable=not self.verbose, leave=False, dynamic_ncols=True)

    def log(self, message: str) -> None:
        if self.verbose:
            from tqdm.auto import tqdm

            tqdm.write(message)

    def savefig(self, fig, name: str) -> None:
        """Save a matplotlib figure as ``<out_dir>/<name>.png`` atomically and close it."""
        import io

        import matplotlib.pyplot as plt

        if self.out_dir is not None:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            atomic_write_bytes(self.out_dir / f"{name}.png", buf.getvalue())
            self.plots.append(f"{name}.png")
        plt.close(fig)


class Experiment:
    """Base class of lab experiments (see the module docstring for the contract)."""

    name: ClassVar[str]
    topic: ClassVar[str]
    claim: ClassVar[str]
    criterion: ClassVar[str]
    Config: ClassVar[type]
    quick: ClassVar[dict[str, Any]] = {}

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

    Returns:
        The :class:`Result` (also written to ``out_dir/result.json``).

    Raises:
        ConfigError: for an unknown config key; whatever the experiment raises.
    """
    config = make_config(experiment, quick, overrides)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(seed, out, Path(data_dir) if data_dir is not None else None, quick, verbose)
    start = time.perf_counter()
    outcome = experiment().run(config, ctx)
    seconds = time.perf_counter() - start
    if outcome.verdict not in VERDICTS:
        raise ConfigError(f"{experiment.name}: verdict must be one of {VERDICTS}, got {outcome.verdict!r}")
    result = Result(
        name=experiment.name, claim=experiment.claim, criterion=experiment.criterion, verdict=outcome.verdict,
        metrics=outcome.metrics, config=dataclasses.asdict(config), seed=seed, seconds=round(seconds, 3),
        quick=quick, topic=experiment.topic, table=outcome.table, notes=outcome.notes, plots=list(ctx.plots),
    )
    if out is not None:
        atomic_write_json(out / "result.json", dataclasses.asdict(result))
    if printer is not None:
        printer(format_result(result))
        if out is not None:
            printer("wrote " + ", ".join(str(out / f) for f in ["result.json", *result.plots]))
        printer(f"verdict: {result.verdict}")
    return result


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
    lines.append(f"({result.seconds:.1f} s, seed {result.seed}{', quick' if result.quick else ''})")
    return "\n".join(lines)
