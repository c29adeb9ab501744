"""The ``glassnet`` command: ``train``, ``predict``, ``detect``, ``chat``, ``lab``, ``report``, ``data``.

Every sub-command turns a glassnet error (bad option value, missing data) into
one line on stderr and exit status 2, with no traceback; Ctrl-C ends any of
them with one line (what was kept, how to continue) and exit status 130, the
shell's convention for SIGINT.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from glassnet.errors import GlassnetError

__all__ = ["main", "cli", "OneLineError", "INTERRUPTED", "set_interrupt_hint"]

INTERRUPTED = 130  # 128 + SIGINT
_HINT = "glassnet.interrupt_hint"


def set_interrupt_hint(hint: str) -> None:
    """What the one line printed on Ctrl-C says after ``interrupted: `` (what is kept, how to continue)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta[_HINT] = hint


class OneLineError(click.ClickException):
    """An error shown as one line ``glassnet: error: ...`` on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"glassnet: error: {self.format_message()}", err=True)


def _one_line(e: click.UsageError) -> OneLineError:
    """A click usage error (bad option, unknown command) as one line that points to the command's --help."""
    message = " ".join(e.format_message().split())  # click's "Choose from:" lists span lines
    path = e.ctx.command_path.split()[1:] if e.ctx is not None else []
    return OneLineError(f"{message} (see '{' '.join(['glassnet', *path, '--help'])}')")


class _Group(click.Group):
    """The top-level group: every error of every sub-command becomes one line and exit status 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            raise _one_line(e) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:  # raised while a sub-command parses its options
            raise _one_line(e) from None
        except KeyboardInterrupt:
            hint = ctx.find_root().meta.get(_HINT, "nothing was kept")
            click.echo(f"\ninterrupted: {hint}", err=True)
            ctx.exit(INTERRUPTED)
        except (GlassnetError, OSError) as e:
            # OSError: an output folder under a file, a full disk, no permission: the user's to fix
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            raise OneLineError(" | ".join(lines) or type(e).__name__) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="glassnet")
def cli() -> None:
    """glassnet: deep learning you can see through."""


def _register() -> None:
    from glassnet.cli import lab as _lab  # noqa: F401

    for name in ("train", "data", "predict", "detect", "chat"):
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
