"""The README documents every setting and every CLI command (they drift
otherwise: each capability adds some)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from callcenter.cli import app as cli_app
from callcenter.config import Settings

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _documented_settings() -> set[str]:
    """Names in the configuration table, expanding `CALLCENTER_A` / `_B` rows."""
    names: set[str] = set()
    for line in README.splitlines():
        if not line.startswith("| `CALLCENTER_"):
            continue
        first = line.split("|")[1]
        for token in re.findall(r"`(CALLCENTER)?_([A-Z0-9_]+)`", first):
            names.add(token[1].lower())
    return names


def test_every_setting_has_a_row_in_the_configuration_table():
    missing = sorted(set(Settings.model_fields) - _documented_settings())
    assert not missing, f"settings without a README row: {missing}"


def test_every_command_is_listed():
    line = next(ln for ln in README.splitlines() if ln.startswith("`callcenter serve"))
    listed = {part.split()[0] for part in line.strip("`.").removeprefix("callcenter ").split(" | ")}
    commands = set(get_command(cli_app).commands)  # type: ignore[attr-defined]
    assert commands <= listed, f"commands missing from README: {sorted(commands - listed)}"
