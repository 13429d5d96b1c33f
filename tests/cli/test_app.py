import json
import subprocess
import sys

import pytest

from tests.cli.helpers import run_cli

COMMANDS = ["fill-mask", "classify", "ner", "qa", "finetune", "evaluate", "env", "recipe"]


def test_root_help_lists_every_command():
    result = run_cli("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = run_cli(command, "--help")
    assert result.exit_code == 0, result.stdout
    assert "Usage" in result.stdout


def test_version():
    from bertkit import __version__

    result = run_cli("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\nfrom bertkit.cli.app import app\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'accelerate') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_env_json_reports_versions_and_devices():
    result = run_cli("env", "--json")
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["versions"]["torch"]
    assert info["versions"]["transformers"]
    assert isinstance(info["cpu_fast_bf16"], bool)
    assert info["memory_allocator"] in ("system malloc", "tcmalloc", "jemalloc")
    assert "cuda_available" in info
