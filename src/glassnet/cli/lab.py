"""``glassnet lab`` and ``glassnet report``."""

from __future__ import annotations

from pathlib import Path

import click

from glassnet.cli import cli, set_interrupt_hint
from glassnet.errors import ConfigError


def _parse_sets(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@cli.command("lab")
@click.argument("name", required=False)
@click.option("--quick", is_flag=True, help="Run the quick configuration (seconds) instead of the full one.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for result.json and plots [default: runs/lab/NAME].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The run's one seed.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder holding the real data sets [default: the download cache].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a config field (repeatable).")
@click.option("--show-config", is_flag=True, help="Print the experiment's config fields and exit.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run in --out: reuse the parts it finished (same seed and settings).")
def lab_command(name, quick, out, seed, data_dir, sets, show_config, quiet, resume):
    """List experiments, or run experiment NAME.

    Each experiment states a claim of the course, measures it, prints a table,
    saves plots and ends with the line 'verdict: supported | not supported |
    inconclusive' ('quick check: ...' with --quick, naming the smaller rule a
    quick run checks). The exit status is 0 whenever the run completed. The
    list marks the experiments that need downloaded data ('glassnet data').
    """
    import dataclasses

    from glassnet.lab import experiments, get_experiment, run_experiment

    if name is None:
        topic = None
        for exp_name, exp in experiments().items():
            if exp.topic != topic:
                topic = exp.topic
                click.echo(f"\n{topic}")
            needs = f"[needs data: {', '.join(exp.data)}] " if exp.data else ""
            click.echo(f"  {exp_name:22s} {needs}{exp.claim}")
        click.echo("\n[needs data: ...]: download it first with 'glassnet data download NAME', or pass --data-dir")
        return
    exp = get_experiment(name)
    if show_config:
        quick_values = exp.quick
        for f in dataclasses.fields(exp.Config):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            q = f"  (quick: {quick_values[f.name]})" if f.name in quick_values else ""
            click.echo(f"{f.name} = {default!r}{q}\n    {f.metadata.get('help', '')}")
        return
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ConfigError(f"--data-dir: no such directory: {data_dir}")
    out = Path(out) if out else Path("runs") / "lab" / name
    try:  # before the run: an --out under a file or without permission fails now, not after it
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out: cannot create folder {out}: {e.strerror}") from None
    set_interrupt_hint(f"the finished parts of the run are in {out}; continue with the same command plus --resume")
    run_experiment(exp, quick=quick, out_dir=out, seed=seed, data_dir=data_dir, overrides=_parse_sets(sets),
                   verbose=not quiet, resume=resume)


@cli.command("report")
@click.option("--out", type=click.Path(file_okay=False), default="runs/report", show_default=True,
              help="Folder for the per-experiment results and report.html.")
@click.option("--full", is_flag=True, help="Run the full configurations (slow) instead of the quick ones.")
@click.option("--only", multiple=True, metavar="NAME", help="Run only these experiments (repeatable).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--resume", is_flag=True, help="Reuse results already in --out instead of running them again.")
def report_command(out, full, only, seed, data_dir, resume):
    """Run every experiment and write one HTML page with all claims, verdicts, tables and plots."""
    from glassnet.lab.registry import get_experiment
    from glassnet.lab.report import build_report

    for n in only:
        get_experiment(n)
    set_interrupt_hint(f"the experiments already run are in {out}; continue with the same command plus --resume")
    path = build_report(out, quick=not full, names=only or None, seed=seed, data_dir=data_dir, rerun=not resume)
    click.echo(f"report: {path}")
