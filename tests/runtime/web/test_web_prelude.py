"""The web prelude as the runtime loads it: webapi.py's files concatenated, in one script."""

from __future__ import annotations

import json
import os

from py_mini_racer import MiniRacer

from flux_edge.runtime.prelude import prelude_source
from flux_edge.runtime.webapi import web_prelude_source

from ._jsload import entropy_script

# The globals through which web files hand internals to later ones; each is deleted by its last reader.
HANDOFF_GLOBALS = [
    "__flux_entropy",
    "__flux_webutil",
    "__flux_url",
    "__flux_crypto",
    "__flux_blob",
    "__flux_abort",
    "__flux_streams",
]


async def test_the_web_prelude_leaves_only_the_boundary_internals_for_the_core_prelude() -> None:
    mr = MiniRacer()
    try:
        await mr.eval_cancelable(entropy_script(os.urandom(64)))
        await mr.eval_cancelable(web_prelude_source())
        left = await mr.eval_cancelable(
            f"JSON.stringify({json.dumps(HANDOFF_GLOBALS)}.filter((name) => name in globalThis))"
        )
        assert json.loads(left) == []
        assert await mr.eval_cancelable("typeof globalThis.__flux_web") == "object"
    finally:
        mr.close()


def test_the_whole_prelude_is_latin1_so_v8_keeps_its_source_in_one_byte_per_character() -> None:
    # One character above U+00FF anywhere makes V8 store the whole ~350 KB script as UTF-16,
    # which every isolate then holds twice over (escape it, e.g. "\\u2026").
    source = prelude_source()
    wide = sorted({char for char in source if ord(char) > 0xFF})
    assert wide == []


def test_the_whole_prelude_is_ascii_so_v8_keeps_its_source_one_byte() -> None:
    # V8 keeps every script's source for lazy compilation; one character above U+00FF anywhere
    # stores the whole ~300 KB prelude as two-byte, ~290 KB more heap in every isolate.
    source = prelude_source()
    assert [ch for ch in source if ord(ch) > 0x7F] == []
