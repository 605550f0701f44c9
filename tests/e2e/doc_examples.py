"""Extracts the runnable examples of README.md and docs/*.md (the rules are in docs/README.md).

Fenced blocks, in document order:
- `js`/`javascript`/`ts`/`typescript`: a function, deployed by the test (name from
  `<!-- doc-test: function NAME {settings} -->`, else `<file>-<line>`); with
  `<!-- doc-test: file NAME -->` it is written to that file for the shell examples to deploy; with
  `<!-- doc-test: node -->` it is a client program run by Node beside tests/clients' packages.
- `bash`/`sh`/`shell` blocks that contain `curl`, or that follow `<!-- doc-test: cli -->`: run by
  bash against the test server, with FLUX, TOKEN and FLUX_EDGE_JWT_SECRET set to the server's, and
  for the `flux-edge` command FLUX_EDGE_URL, FLUX_EDGE_TOKEN, FLUX_EDGE_DATA_DIR (the server's) and
  XDG_CONFIG_HOME (the page's own, for `flux-edge login`).
- `<!-- doc-test: skip REASON -->` keeps a block out, and must say why.
Expected output: `# => TEXT` (shell) and `// => TEXT` (node) lines; each TEXT must appear in the
block's output, in order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_URL = "http://127.0.0.1:8080"

FUNCTION_LANGS = frozenset({"js", "javascript", "ts", "typescript"})
SHELL_LANGS = frozenset({"bash", "sh", "shell"})
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
_MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<kind>[a-z]+)\s*(?P<rest>.*?)\s*-->\s*$")
_EXPECT = re.compile(r"^\s*(?:#|.*//)\s*=>\s?(?P<text>.*)$")

Kind = Literal["function", "file", "node", "shell", "skip"]
_SHELL_MARKERS = frozenset({"", "cli"})


@dataclass
class Example:
    """One fenced block that the docs test runs (or skips, with a reason)."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    kind: Kind
    name: str = ""  # function name or file name
    settings: dict[str, object] = field(default_factory=dict)
    reason: str = ""

    @property
    def where(self) -> str:
        """`README.md:12`, for failure messages."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def expectations(self) -> list[str]:
        """The `# => TEXT` / `// => TEXT` texts, in order."""
        found = []
        for line in self.text.splitlines():
            match = _EXPECT.match(line)
            if match and (self.kind == "shell") == line.lstrip().startswith("#"):
                found.append(match.group("text").strip())
        return found


def doc_files() -> list[Path]:
    """README.md and every markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _blocks(path: Path) -> list[tuple[int, str, str, str | None]]:
    """(fence line, info word, body, the marker comment right above it or None)."""
    lines = path.read_text().splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence = opening.group("fence")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            body.append(lines[end])
            end += 1
        previous = next((ln for ln in reversed(lines[:index]) if ln.strip()), None)
        marker = previous if previous is not None and _MARKER.match(previous) else None
        blocks.append((index + 1, opening.group("info").lower(), "\n".join(body) + "\n", marker))
        index = end + 1
    return blocks


def extract(path: Path) -> list[Example]:
    """The runnable (and explicitly skipped) examples of one markdown file, in order."""
    examples = []
    for line, lang, text, marker_line in _blocks(path):
        marker = _MARKER.match(marker_line) if marker_line else None
        kind, rest = (marker.group("kind"), marker.group("rest")) if marker else ("", "")
        runnable = lang in FUNCTION_LANGS or (
            lang in SHELL_LANGS and ("curl" in text or kind == "cli")
        )
        if not runnable and kind != "skip":
            continue
        example = Example(path, line, lang, text, "function")
        if kind == "skip":
            example.kind, example.reason = "skip", rest
        elif lang in SHELL_LANGS and kind in _SHELL_MARKERS:
            example.kind = "shell"
        elif lang in SHELL_LANGS:
            raise ValueError(f"{path.name}:{line}: doc-test marker {kind!r} on a shell block")
        elif kind == "node":
            example.kind = "node"
        elif kind == "file":
            example.kind, example.name = "file", rest
        elif kind in ("function", ""):
            name, _, settings = rest.partition(" ")
            example.name = name or f"{path.stem.lower()}-{line}"
            example.settings = json.loads(settings) if settings.strip() else {}
        else:
            raise ValueError(f"{path.name}:{line}: unknown doc-test marker {kind!r}")
        examples.append(example)
    return examples


def shell_script(
    example: Example, url: str, token: str, jwt_secret: str, data_dir: Path, config_home: Path
) -> str:
    """The block as bash runs it: the test server's URL, token, JWT secret and data dir; curl fails
    on HTTP errors unless the example shows the status itself (-i, -I, -w)."""
    body = example.text.replace(DOCUMENTED_URL, url)
    body = re.sub(r"(?m)^export TOKEN=.*$", f"export TOKEN={token}", body)
    body = re.sub(r"(?m)FLUX_EDGE_TOKEN=\.\.\.", f"FLUX_EDGE_TOKEN={token}", body)
    prologue = f"""set -euo pipefail
export FLUX={url} TOKEN={token} FLUX_EDGE_JWT_SECRET={jwt_secret}
export FLUX_EDGE_URL={url} FLUX_EDGE_TOKEN={token} FLUX_EDGE_DATA_DIR={data_dir}
export XDG_CONFIG_HOME={config_home}
curl() {{
  local arg
  for arg in "$@"; do
    case "$arg" in
      --include|--head|--write-out|-w*|-I*|-i*|-[!-]*[iIw]*) command curl "$@"; return;;
    esac
  done
  command curl --fail-with-body "$@"
}}
"""
    return prologue + body


def node_program(example: Example, url: str) -> str:
    """The block as Node runs it, against the test server."""
    return example.text.replace(DOCUMENTED_URL, url)


def expected_in_order(expected: list[str], output: str) -> str | None:
    """None when every expected text appears in `output` in order, else the first one missing."""
    position = 0
    for text in expected:
        found = output.find(text, position)
        if found < 0:
            return text
        position = found + len(text)
    return None
