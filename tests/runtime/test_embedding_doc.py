"""docs/embedding.md's Python programs run as written and print what the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"
_BLOCK = re.compile(r"^```(?P<lang>\w+)\n(?P<body>.*?)^```$", re.DOTALL | re.MULTILINE)


def programs() -> list[tuple[str, str]]:
    """Each complete program (a python block that runs `asyncio.run`) and the text block after it."""
    blocks = [(m["lang"], m["body"]) for m in _BLOCK.finditer(PAGE.read_text())]
    return [
        (body, blocks[i + 1][1])
        for i, (lang, body) in enumerate(blocks)
        if lang == "python" and "asyncio.run(" in body and blocks[i + 1][0] == "text"
    ]


def test_the_page_has_its_two_programs():
    assert len(programs()) == 2


def test_each_program_prints_what_the_page_shows(tmp_path):
    for index, (code, expected) in enumerate(programs()):
        script = tmp_path / f"example_{index}.py"
        script.write_text(code)
        run = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=90, cwd=tmp_path
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout == expected, run.stderr
