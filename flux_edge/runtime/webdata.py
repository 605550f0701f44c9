"""Data tables the web prelude needs, generated from Python packages when the prelude is built.

The Encoding standard's labels come from `webencodings` (its table is generated from the
standard's encodings.json), the single-byte decoding tables from Python's codecs; the UTS #46
(IDNA) mapping table from the `idna` package (`idna_data_script`). Nothing is vendored: the
tables are built once per process and embedded in the prelude, where the files that use them
read and delete them.
"""

from __future__ import annotations

import codecs
import json
from functools import cache

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


@cache
def encoding_data_script() -> str:
    """Defines `__flux_encoding_data` (labels, and the single-byte tables as a JSON string that
    encoding.js parses only when a legacy encoding is first used); encoding.js deletes it."""
    tables = {name: single_byte_table(name) for name in _SINGLE_BYTE}
    data = {"labels": dict(sorted(LABELS.items())), "singleByte": json.dumps(tables)}
    return (
        "Object.defineProperty(globalThis, '__flux_encoding_data', "
        f"{{value: {json.dumps(data)}, configurable: true}});"
    )
