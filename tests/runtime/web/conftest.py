"""A real V8 isolate holding the web prelude up to performance.js, for the base web API tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from py_mini_racer import MiniRacer

from flux_edge.runtime.webapi import JS_DIR, WEB_FILES, web_file_scripts

# The files under test here, and everything before them in webapi.py's load order.
BASE_WEB_FILES = WEB_FILES[: WEB_FILES.index("performance.js") + 1]


def load_web_files(mr: MiniRacer, names: Iterable[str]) -> list[str]:
    """Evaluates the named prelude files that exist, in order; returns the names loaded.

    Files another engineer has not written yet are skipped, so these tests are not blocked.
    """
    loaded = []
    for name in names:
        path = JS_DIR / name
        if path.exists():
            for script in web_file_scripts(name):
                mr.eval(script)
            loaded.append(name)
    return loaded


class WebIsolate:
    """An isolate with the base web prelude; evaluates expressions and reads their values."""

    def __init__(self, mr: MiniRacer) -> None:
        self.mr = mr

    def eval(self, code: str) -> Any:
        """The value of `code`, which must be a primitive (mini-racer converts only those)."""
        return self.mr.eval(code)

    def json(self, code: str) -> Any:
        """The value of the expression `code`, passed through JSON.stringify."""
        text = self.mr.eval(f"JSON.stringify({code})")
        return None if text is None else json.loads(text)

    def error(self, code: str) -> dict[str, Any]:
        """Runs statements `code`, which must throw; returns the error's name, class and message."""
        result = self.json(
            f"""(() => {{
              try {{ {code}; }} catch (e) {{
                return {{name: e.name, constructor: e.constructor.name, message: e.message,
                         code: e.code ?? null, isError: e instanceof Error}};
              }}
              return null;
            }})()"""
        )
        assert result is not None, f"expected {code!r} to throw"
        return dict(result)


@pytest.fixture
async def web() -> AsyncIterator[WebIsolate]:
    # Created inside the test's running loop, so mini-racer evaluates on this thread directly.
    mr = MiniRacer()
    load_web_files(mr, BASE_WEB_FILES)
    yield WebIsolate(mr)
    mr.close()


def js_string(value: str) -> str:
    """A JavaScript string literal for `value` (JSON escapes survive non-ASCII and surrogates)."""
    return json.dumps(value)


def js_bytes(data: bytes) -> str:
    """A JavaScript expression building a Uint8Array holding `data`."""
    return f"new Uint8Array({list(data)})"
