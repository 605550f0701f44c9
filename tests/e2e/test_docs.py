"""The README documents every setting."""

from __future__ import annotations

from pathlib import Path

import msgspec

from flux_edge.settings import ENV_PREFIX, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_settings_table_lists_every_setting():
    readme = README.read_text()
    missing = [
        field.name
        for field in msgspec.structs.fields(Settings)
        if f"| `{ENV_PREFIX}{field.name.upper()}` |" not in readme
    ]
    assert missing == []
