"""The ``glassnet`` command: ``train``, ``lab``, ``report``, ``data``.

Every sub-command turns a glassnet error (bad option value, missing data) into
one line on stderr and exit status 2, with no traceback.
"""

from __future__ import annotations

import sys

import click

from glassnet.errors import GlassnetError

__all__ = ["main", "cli"]


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GlassnetError as e:
            click.echo(f"glassnet: error: {e}", err=True)
            ctx.exit(2)
        except FileNotFoundError as e:
            click.echo(f"glassnet: error: {e}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="glassnet")
def cli() -> None:
    """glassnet: deep learning you can see through."""


def _register() -> None:
    from glassnet.cli import lab as _lab  # noqa: F401

    for name in ("train", "data"):
        try:
            __import__(f"glassnet.cli.{name}")
        except ModuleNotFoundError as e:  # a sub-command still being written
            if e.name != f"glassnet.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``glassnet`` console script."""
    _register()
    try:
        cli.main(args=argv, prog_name="glassnet", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
