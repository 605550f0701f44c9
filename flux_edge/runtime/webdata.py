"""Data tables the web prelude needs, generated from Python packages when the prelude is built.

The Encoding standard's labels come from `webencodings` (its table is generated from the
standard's encodings.json), the single-byte decoding tables from Python's codecs; the UTS #46
(IDNA) mapping table from the `idna` package (`idna_data_script`). Nothing is vendored: the
tables are built once per process and embedded in the prelude, where the files that use them
read and delete them.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from webencodings.labels import LABELS

# Single-byte encodings whose Python codec differs in name from the standard's.
_PYTHON_CODECS = {
    "ibm866": "cp866",
    "iso-8859-8-i": "iso8859-8",
    "koi8-u": "koi8-u",
    "macintosh": "mac-roman",
    "windows-874": "cp874",
    "x-mac-cyrillic": "mac-cyrillic",
}
# The standard's single-byte encodings (x-user-defined is computed by encoding.js itself).
_SINGLE_BYTE = (
    "ibm866",
    "iso-8859-2",
    "iso-8859-3",
    "iso-8859-4",
    "iso-8859-5",
    "iso-8859-6",
    "iso-8859-7",
    "iso-8859-8",
    "iso-8859-8-i",
    "iso-8859-10",
    "iso-8859-13",
    "iso-8859-14",
    "iso-8859-15",
    "iso-8859-16",
    "koi8-r",
    "koi8-u",
    "macintosh",
    "windows-874",
    "windows-1250",
    "windows-1251",
    "windows-1252",
    "windows-1253",
    "windows-1254",
    "windows-1255",
    "windows-1256",
    "windows-1257",
    "windows-1258",
    "x-mac-cyrillic",
)
# Where the standard's index differs from Python's codec: KOI8-U takes two letters of KOI8-RU,
# and windows-1255 has HEBREW POINT HOLAM HASER FOR VAV where Python's cp1255 has none.
_OVERRIDES = {"koi8-u": {0xAE: "\u045e", 0xBE: "\u040e"}, "windows-1255": {0xCA: "\u05ba"}}
# Marks a byte the index leaves undefined (a decoding error); U+FFFF is in no index.
UNDEFINED = "\uffff"


def single_byte_table(name: str) -> str:
    """The 128 code points bytes 0x80-0xFF decode to in encoding `name` (UNDEFINED for errors)."""
    codec = codecs.lookup(_PYTHON_CODECS.get(name, name))
    chars = []
    for byte in range(0x80, 0x100):
        try:
            char = codec.decode(bytes([byte]))[0]
        except UnicodeDecodeError:
            # The windows-* indexes give the C1 control for the bytes Microsoft left undefined.
            char = chr(byte) if name.startswith("windows-") and byte < 0xA0 else UNDEFINED
        chars.append(_OVERRIDES.get(name, {}).get(byte, char))
    return "".join(chars)


def _disk_cached(name: str, build: Callable[[], str]) -> str:
    """`build()`, kept in this package's __pycache__ like Python's own bytecode.

    Building the tables takes ~0.1-0.5 s, and every process that boots isolates (forked hosts,
    test workers) would pay it again. The key covers this file and the versions of the packages
    and Unicode data the tables come from; where the directory is not writable, it is built.
    """
    try:
        key = hashlib.sha256(
            "|".join(
                [
                    Path(__file__).read_text(encoding="utf-8"),
                    version("idna"),
                    version("webencodings"),
                    unicodedata.unidata_version,
                    sys.version,
                ]
            ).encode()
        ).hexdigest()[:16]
    except (OSError, PackageNotFoundError):
        # The one-file binary has neither the source nor the packages' metadata: build it.
        return build()
    path = Path(__file__).parent / "__pycache__" / f"webdata-{name}-{key}.js"
    with contextlib.suppress(OSError):
        return path.read_text(encoding="ascii")
    text = build()
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="ascii")
        os.replace(partial, path)
    return text


def lazy_literal(text: str) -> str:
    """A JavaScript function returning the string `text`.

    V8 keeps a string literal of top-level code in the heap from boot, beside the script source;
    inside a function that has not run it only scans it, and allocates the string on the first
    call. Big tables and lazily loaded sources go in such functions."""
    return f"function () {{ return {json.dumps(text)}; }}"


@cache
def encoding_data_script() -> str:
    """Defines `__flux_encoding_data` (see `_encoding_data_script`), cached on disk."""
    return _disk_cached("encoding", _encoding_data_script)


def _encoding_data_script() -> str:
    """Defines `__flux_encoding_data` (labels, and a function returning the single-byte tables as
    JSON, called when a legacy encoding is first used); encoding.js deletes it."""
    tables = {name: single_byte_table(name) for name in _SINGLE_BYTE}
    labels = json.dumps(dict(sorted(LABELS.items())))
    return (
        "Object.defineProperty(globalThis, '__flux_encoding_data', {value: "
        f"{{labels: {labels}, singleByte: {lazy_literal(json.dumps(tables))}}}, configurable: true}});"
    )


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    if number < 0:
        return "-" + _base36(-number)
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
        if number == 0:
            return digits


# Bidi classes RFC 5893's rule distinguishes, one upper-case letter each; any other class is "Z".
_BIDI_LETTERS = {
    "L": "L",
    "R": "R",
    "AL": "A",
    "AN": "N",
    "EN": "E",
    "ES": "S",
    "CS": "C",
    "ET": "T",
    "ON": "O",
    "BN": "B",
    "NSM": "M",
}


@dataclass
class _Range:
    start: int
    kind: str
    end: int
    offset: int = 0  # kind O: the mapped code point minus the code point
    mapping: str = ""  # kind M: what the range maps to


def _uts46_ranges() -> tuple[str, list[str]]:
    """The UTS #46 table as ranges "<start delta, base 36><kind>[<offset, base 36>]" joined by commas.

    Kinds: V valid (deviations included: URLs use non-transitional processing), I ignored, X
    disallowed, M mapped to the string at the next index of the returned list, O mapped to the
    code point plus the offset that follows (runs such as A-Z share one entry).
    """
    from idna.uts46data import uts46_replacements, uts46_starts, uts46_statuses

    ranges: list[_Range] = []
    count = len(uts46_starts)
    for index in range(count):
        start = uts46_starts[index]
        end = uts46_starts[index + 1] if index + 1 < count else 0x110000
        kind = chr(uts46_statuses[index]).replace("D", "V")
        replacement = uts46_replacements[index] or ""
        last = ranges[-1] if ranges else None
        if kind == "M" and len(replacement) == 1 and end - start == 1:
            offset = ord(replacement) - start
            if (
                last is not None
                and last.kind == "O"
                and last.offset == offset
                and last.end == start
            ):
                last.end = end
            else:
                ranges.append(_Range(start, "O", end, offset=offset))
        elif last is not None and kind in "VXI" and last.kind == kind and last.end == start:
            last.end = end
        else:
            ranges.append(_Range(start, kind, end, mapping=replacement))
    tokens, mappings, previous = [], [], 0
    for item in ranges:
        token = _base36(item.start - previous) + item.kind
        if item.kind == "O":
            token += _base36(item.offset)
        elif item.kind == "M":
            mappings.append(item.mapping)
        tokens.append(token)
        previous = item.start
    return ",".join(tokens), mappings


# Planes with assigned code points (the rest are unassigned, disallowed by UTS #46 anyway).
_ASSIGNED = (*range(0x32400), *range(0xE0000, 0xE1000))


def _bidi_ranges() -> str:
    """Bidi classes as ranges "<start delta, base 36><letter>" (Python's unicodedata)."""
    tokens, last_start, last_letter = [], 0, ""
    for point in _ASSIGNED:
        letter = _BIDI_LETTERS.get(unicodedata.bidirectional(chr(point)), "Z")
        if letter != last_letter:
            tokens.append(_base36(point - last_start) + letter)
            last_start, last_letter = point, letter
    return ",".join(tokens)


def _joining_ranges() -> dict[str, list[list[int]]]:
    """Joining types D, L, R, T (RFC 5892's ContextJ rule for ZERO WIDTH NON-JOINER) as ranges."""
    from idna.idnadata import joining_types

    return {
        kind: [[packed >> 32, (packed & 0xFFFFFFFF) - 1] for packed in ranges]
        for kind, ranges in joining_types.items()
        if kind in "DLRT"
    }


@cache
def idna_data_script() -> str:
    """Defines `__flux_idna_data` (see `_idna_data_script`), cached on disk."""
    return _disk_cached("idna", _idna_data_script)


def _idna_data_script() -> str:
    """Defines `__flux_idna_data`: a function returning the UTS #46 mapping, Bidi classes, joining
    types and viramas (canonical combining class 9) as JSON, which url_idna.js calls when the first
    host needing IDNA processing arrives; url_idna.js deletes the global."""
    table, mappings = _uts46_ranges()
    data = {
        "table": table,
        "mappings": mappings,
        "bidi": _bidi_ranges(),
        "joining": _joining_ranges(),
        "viramas": [p for p in _ASSIGNED if unicodedata.combining(chr(p)) == 9],
    }
    return (
        "Object.defineProperty(globalThis, '__flux_idna_data', "
        f"{{value: {lazy_literal(json.dumps(data, separators=(',', ':')))}, configurable: true}});"
    )
