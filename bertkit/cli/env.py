"""`bertkit env`: versions and hardware facts to paste into a bug report."""

from __future__ import annotations

import json

from bertkit.cli.common import JsonOpt, out_console


def env_command(as_json: JsonOpt = False) -> None:
    """Show versions of bertkit and its libraries, the devices found and their bf16 support.

    Example: bertkit env --json
    """
    from rich.table import Table

    from bertkit.env import environment_info

    info = environment_info()
    if as_json:
        print(json.dumps(info, indent=2))
        return
    table = Table(title="bertkit environment", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for name, version in info["versions"].items():  # type: ignore[union-attr]
        table.add_row(name, version or "not installed")
    for key, value in info.items():
        if key != "versions":
            table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    out_console().print(table)
