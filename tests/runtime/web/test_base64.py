"""atob and btoa against Python's base64 module."""

from __future__ import annotations

import base64
import random

import pytest

from .conftest import WebIsolate, js_string

RANDOM = random.Random(1234)  # noqa: S311 - seeded test data, not secrets
SAMPLES = [b"", b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar", bytes(range(256))] + [
    RANDOM.randbytes(length) for length in (1, 2, 3, 31, 32, 33, 1000, 30_001)
]


def python_accepts(encoded: str) -> bool:
    """Whether Python's strict decoder takes `encoded`."""
    try:
        base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error is a ValueError
        return False
    return True


@pytest.mark.parametrize("data", SAMPLES, ids=lambda data: f"{len(data)}-bytes")
async def test_btoa_matches_b64encode(web: WebIsolate, data: bytes) -> None:
    assert web.eval(f"btoa({js_string(data.decode('latin-1'))})") == base64.b64encode(data).decode()


@pytest.mark.parametrize("data", SAMPLES, ids=lambda data: f"{len(data)}-bytes")
async def test_atob_matches_b64decode(web: WebIsolate, data: bytes) -> None:
    encoded = base64.b64encode(data).decode()
    assert web.eval(f"atob({js_string(encoded)})") == data.decode("latin-1")


async def test_atob_ignores_ascii_whitespace_anywhere(web: WebIsolate) -> None:
    assert web.eval(r'atob(" Zm9v\nYmFy\t\r\f ")') == base64.b64decode("Zm9vYmFy").decode()


async def test_atob_accepts_missing_padding_unlike_python(web: WebIsolate) -> None:
    # forgiving-base64 (HTML) accepts unpadded input; Python insists on padding.
    with pytest.raises(ValueError, match="padding"):
        base64.b64decode("Zm9vYg")
    assert web.eval('atob("Zm9vYg")') == "foob"


@pytest.mark.parametrize("bad", ["Zm9vY", "Zm9v*mFy", "Zm=9v", "Zm9vYg===", "€"])
async def test_atob_rejects_what_strict_python_rejects(web: WebIsolate, bad: str) -> None:
    assert not python_accepts(bad)
    error = web.error(f"atob({js_string(bad)})")
    assert (error["name"], error["code"], error["constructor"]) == (
        "InvalidCharacterError",
        5,
        "DOMException",
    )


async def test_btoa_rejects_characters_above_latin1(web: WebIsolate) -> None:
    error = web.error('btoa("caf\u00e9 \u20ac")')
    assert error["name"] == "InvalidCharacterError"
    assert error["isError"] is True


async def test_btoa_and_atob_convert_their_argument_to_a_string(web: WebIsolate) -> None:
    assert web.eval("btoa(null)") == base64.b64encode(b"null").decode()
    assert web.eval("atob({toString: () => 'Zm9v'})") == base64.b64decode("Zm9v").decode()


async def test_missing_argument_is_a_type_error(web: WebIsolate) -> None:
    assert web.error("atob()")["name"] == "TypeError"
    assert web.error("btoa()")["name"] == "TypeError"


async def test_globals_are_non_enumerable_and_writable(web: WebIsolate) -> None:
    got = web.json(
        "['atob', 'btoa', 'DOMException'].map((name) => {"
        " const d = Object.getOwnPropertyDescriptor(globalThis, name);"
        " return [d.enumerable, d.writable, d.configurable]; })"
    )
    assert got == [[False, True, True]] * 3


async def test_dom_exception_has_name_message_and_legacy_code(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const e = new DOMException('gone', 'AbortError');"
        " return [e.name, e.message, e.code, e instanceof Error, String(e),"
        " new DOMException('x', 'CustomName').code, new DOMException().name]; })()"
    )
    assert got == ["AbortError", "gone", 20, True, "AbortError: gone", 0, "Error"]
