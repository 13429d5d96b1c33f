"""Running the CLI in-process, as a user would, with stdout and stderr apart."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bertkit.cli.app import app


def run_cli(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def assert_clean_error(result, *fragments: str) -> None:
    """Exit code 1, a message on stderr naming what went wrong, and no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
