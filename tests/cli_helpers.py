"""Shared helpers of the command-line tests."""

from click.testing import CliRunner

from glassnet.cli import cli


def invoke(args):
    """Run ``glassnet ARGS`` in-process; exceptions propagate."""
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def assert_one_line_error(result, text):
    """A bad input gives exit status 2 and one ``glassnet: error: ...`` line containing ``text``, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error: ") and text in lines[0], result.stderr
    assert "Traceback" not in result.output
