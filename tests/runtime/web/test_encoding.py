"""TextEncoder and TextDecoder against Python's UTF-8 codec."""

from __future__ import annotations

import codecs
import random

import pytest

from .conftest import WebIsolate, js_bytes, js_string

TEXTS = [
    "",
    "plain ascii",
    "caf\u00e9 na\u00efve \u00fcber",
    "\u20ac \u4e2d\u6587 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4",
    "astral \U0001f600\U0001f680 \U00010348 \U0010ffff",
    "\u0000 control \u007f \u0080 \u07ff \u0800 \uffff",
]
# Ill-formed UTF-8: lone continuation, truncated sequences, overlongs, surrogates, > U+10FFFF.
BAD_BYTES = [
    b"\x80",
    b"a\xbfb",
    b"\xc3",
    b"\xc3(",
    b"\xe2\x82",
    b"\xe2\x82(",
    b"\xf0\x9f\x98",
    b"\xf0\x9f\x98a",
    b"\xc0\xaf",
    b"\xe0\x80\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xff\xfe",
    b"\xe2\x28\xa1",
    b"\xf0\x28\x8c\xbc",
]
RANDOM = random.Random(99)  # noqa: S311 - seeded test data, not secrets
# Random bytes biased towards the high half, where the decoder's error paths are.
RANDOM_BYTES = [
    bytes(
        RANDOM.choice((RANDOM.randrange(0x80, 0x100), RANDOM.randrange(0, 0x100))) for _ in range(n)
    )
    for n in (5, 17, 64, 64, 200, 200, 1000)
]


@pytest.mark.parametrize("text", TEXTS)
async def test_encode_matches_python_utf8(web: WebIsolate, text: str) -> None:
    assert (
        bytes(web.json(f"Array.from(new TextEncoder().encode({js_string(text)}))")) == text.encode()
    )


@pytest.mark.parametrize("text", TEXTS)
async def test_decode_matches_python_utf8(web: WebIsolate, text: str) -> None:
    assert web.eval(f"new TextDecoder().decode({js_bytes(text.encode())})") == text


async def test_lone_surrogates_encode_as_the_replacement_character(web: WebIsolate) -> None:
    # A JS string can hold lone surrogates; USVString conversion turns each into U+FFFD.
    got = bytes(web.json(r'Array.from(new TextEncoder().encode("a\ud800b\udc00"))'))
    assert got == "a\ufffdb\ufffd".encode()


@pytest.mark.parametrize("data", BAD_BYTES + RANDOM_BYTES, ids=lambda data: data.hex()[:16])
async def test_invalid_sequences_decode_like_python_replace(web: WebIsolate, data: bytes) -> None:
    assert web.eval(f"new TextDecoder().decode({js_bytes(data)})") == data.decode(
        "utf-8", "replace"
    )


@pytest.mark.parametrize("data", BAD_BYTES[:8] + RANDOM_BYTES[:3], ids=lambda data: data.hex()[:16])
async def test_streaming_in_any_split_matches_python_incremental_decoder(
    web: WebIsolate, data: bytes
) -> None:
    for cut in range(len(data) + 1):
        python = codecs.getincrementaldecoder("utf-8")("replace")
        expected = python.decode(data[:cut]) + python.decode(data[cut:], final=True)
        got = web.eval(
            f"""(() => {{ const d = new TextDecoder(), all = {js_bytes(data)};
              return d.decode(all.subarray(0, {cut}), {{stream: true}}) +
                     d.decode(all.subarray({cut})); }})()"""
        )
        assert got == expected, f"split at {cut}"


async def test_streaming_one_byte_at_a_time_keeps_partial_sequences(web: WebIsolate) -> None:
    text = "\u20ac\U0001f600\u00e9"
    got = web.eval(
        f"""(() => {{ const d = new TextDecoder(), all = {js_bytes(text.encode())};
          let out = ''; for (const b of all) out += d.decode(new Uint8Array([b]), {{stream: true}});
          return out + d.decode(); }})()"""
    )
    assert got == text


async def test_a_truncated_sequence_at_the_end_of_a_stream_is_replaced(web: WebIsolate) -> None:
    got = web.eval(
        "(() => { const d = new TextDecoder();"
        " return d.decode(new Uint8Array([0x61, 0xe2, 0x82]), {stream: true}) + '|' + d.decode(); })()"
    )
    assert got == "a|" + b"\xe2\x82".decode("utf-8", "replace")


@pytest.mark.parametrize("data", BAD_BYTES[:6], ids=lambda data: data.hex())
async def test_fatal_mode_throws_a_type_error_where_python_strict_raises(
    web: WebIsolate, data: bytes
) -> None:
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    error = web.error(f"new TextDecoder('utf-8', {{fatal: true}}).decode({js_bytes(data)})")
    assert error["name"] == "TypeError"


async def test_fatal_decoder_is_usable_after_an_error(web: WebIsolate) -> None:
    got = web.eval(
        "(() => { const d = new TextDecoder('utf-8', {fatal: true});"
        " try { d.decode(new Uint8Array([0xff])); } catch {}"
        " return d.decode(new Uint8Array([0x6f, 0x6b])); })()"
    )
    assert got == "ok"


async def test_leading_bom_is_stripped_like_utf8_sig(web: WebIsolate) -> None:
    data = "\ufeffhello".encode()
    assert web.eval(f"new TextDecoder().decode({js_bytes(data)})") == data.decode("utf-8-sig")


async def test_ignore_bom_keeps_the_bom(web: WebIsolate) -> None:
    data = "\ufeffhello".encode()
    got = web.eval(f"new TextDecoder('utf-8', {{ignoreBOM: true}}).decode({js_bytes(data)})")
    assert got == data.decode("utf-8")


async def test_bom_split_across_streaming_calls_is_still_stripped(web: WebIsolate) -> None:
    got = web.eval(
        "(() => { const d = new TextDecoder();"
        " return d.decode(new Uint8Array([0xef, 0xbb]), {stream: true})"
        " + d.decode(new Uint8Array([0xbf, 0x68, 0x69])); })()"
    )
    assert got == "hi"


async def test_decode_accepts_array_buffer_data_view_and_offset_views(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const bytes = new TextEncoder().encode('xx\u00e9t\u00e9xx'), d = new TextDecoder();
          return [d.decode(bytes.buffer),
                  d.decode(new DataView(bytes.buffer, 2, bytes.length - 4)),
                  d.decode(new Uint8Array(bytes.buffer, 2, bytes.length - 4)),
                  d.decode(new Uint16Array(new Uint8Array([104, 105]).buffer)),
                  d.decode()]; })()"""
    )
    assert got == ["xx\u00e9t\u00e9xx", "\u00e9t\u00e9", "\u00e9t\u00e9", "hi", ""]


async def test_decode_rejects_non_buffer_input(web: WebIsolate) -> None:
    assert web.error("new TextDecoder().decode('text')")["name"] == "TypeError"


async def test_labels_are_trimmed_of_ascii_whitespace_only(web: WebIsolate) -> None:
    got = web.json(
        "[' UTF8 ', '\\tunicode-1-1-utf-8\\n', 'utf-8', 'latin1', 'UTF-16', 'unicodefffe',"
        " 'x-user-defined'].map((l) => new TextDecoder(l).encoding)"
    )
    assert got == [
        "utf-8",
        "utf-8",
        "utf-8",
        "windows-1252",
        "utf-16le",
        "utf-16be",
        "x-user-defined",
    ]
    # A vertical tab or a non-ASCII space is not ASCII whitespace: the label is unknown.
    for label in ["\\vutf-8", "utf-8\\u00a0", "\\u3000utf-8", "utf-\\u212a8", "replacement"]:
        assert web.error(f"new TextDecoder('{label}')")["name"] == "RangeError"
    # The legacy multi-byte encodings are known labels we do not decode.
    assert "not supported" in web.error("new TextDecoder('shift_jis')")["message"]


@pytest.mark.parametrize(
    ("label", "codec"),
    [("utf-16le", "utf-16-le"), ("utf-16be", "utf-16-be")],
)
async def test_utf16_decoding_matches_python(web: WebIsolate, label: str, codec: str) -> None:
    text = "h\u00e9 \u20ac \U0001f600!"
    data = text.encode(codec)
    assert web.json(f"new TextDecoder('{label}').decode({js_bytes(data)})") == text
    # Streaming byte by byte keeps half characters and surrogate pairs across calls.
    got = web.json(
        f"""(() => {{ const d = new TextDecoder('{label}'); const b = {js_bytes(data)};
        let out = ''; for (const x of b) out += d.decode(new Uint8Array([x]), {{stream: true}});
        return out + d.decode(); }})()"""
    )
    assert got == text
    # A lone surrogate and an odd trailing byte each become U+FFFD; fatal throws instead.
    lone = b"\x00\xd8" if codec.endswith("le") else b"\xd8\x00"
    broken = "a".encode(codec) + lone + "b".encode(codec) + b"\x01"
    assert web.json(f"new TextDecoder('{label}').decode({js_bytes(broken)})") == "a\ufffdb\ufffd"
    fatal = web.error(f"new TextDecoder('{label}', {{fatal: true}}).decode({js_bytes(broken)})")
    assert fatal["name"] == "TypeError"


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("windows-1252", "cp1252"),
        ("iso-8859-2", "iso8859-2"),
        ("koi8-r", "koi8-r"),
        ("ibm866", "cp866"),
    ],
)
async def test_single_byte_decoding_matches_python(web: WebIsolate, label: str, codec: str) -> None:
    data = bytes(b for b in range(256) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
    assert web.json(f"new TextDecoder('{label}').decode({js_bytes(data)})") == data.decode(codec)


async def test_single_byte_undefined_bytes_are_errors_and_windows_c1_bytes_are_not(
    web: WebIsolate,
) -> None:
    # iso-8859-3 has no character at 0xA5; windows-1252 gives 0x81 its C1 control.
    assert web.json("new TextDecoder('iso-8859-3').decode(new Uint8Array([0xa5]))") == "\ufffd"
    assert (
        web.error("new TextDecoder('iso-8859-3', {fatal: true}).decode(new Uint8Array([0xa5]))")[
            "name"
        ]
        == "TypeError"
    )
    assert (
        web.json("new TextDecoder('windows-1252', {fatal: true}).decode(new Uint8Array([0x81]))")
        == "\x81"
    )
    assert (
        web.json("new TextDecoder('x-user-defined').decode(new Uint8Array([0x41, 0x80, 0xff]))")
        == "A\uf780\uf7ff"
    )


async def test_encode_into_stops_before_a_character_that_does_not_fit(web: WebIsolate) -> None:
    text = "a\u00e9\u20ac\U0001f600"
    for size in range(len(text.encode()) + 2):
        got = web.json(
            f"(() => {{ const out = new Uint8Array({size});"
            f" const r = new TextEncoder().encodeInto({js_string(text)}, out);"
            " return [r.read, r.written, Array.from(out.subarray(0, r.written))]; })()"
        )
        prefix = ""
        for char in text:
            if len((prefix + char).encode()) > size:
                break
            prefix += char
        utf16_units = len(prefix.encode("utf-16-le")) // 2
        assert got == [utf16_units, len(prefix.encode()), list(prefix.encode())], f"size {size}"


async def test_large_text_round_trips(web: WebIsolate) -> None:
    text = ("h\u00e9llo w\u00f6rld \U0001f600 \u4e2d " * 6000)[:100_000]
    got = web.json(
        f"(() => {{ const s = {js_string(text)}, b = new TextEncoder().encode(s);"
        " return [b.length, new TextDecoder().decode(b) === s]; })()"
    )
    assert got == [len(text.encode()), True]


async def test_encoder_and_decoder_report_their_settings(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const d = new TextDecoder('utf-8', {fatal: 1, ignoreBOM: 'yes'});"
        " return [new TextEncoder().encoding, d.encoding, d.fatal, d.ignoreBOM,"
        " Object.prototype.toString.call(d)]; })()"
    )
    assert got == ["utf-8", "utf-8", True, True, "[object TextDecoder]"]


async def test_ascii_decodes_to_itself_and_a_bom_after_it_is_text(web: WebIsolate) -> None:
    # ASCII input skips the decoder's state machine; a stream that began with ASCII has begun,
    # so a BOM later in it is a character (as Python's utf-8-sig decoder keeps it).
    python = codecs.getincrementaldecoder("utf-8-sig")()
    expected = python.decode(b"ab") + python.decode("\ufeffc".encode(), final=True)
    got = web.json(
        """(() => { const d = new TextDecoder(), long = 'x'.repeat(9000) + 'é';
          const streamed = d.decode(new Uint8Array([0x61, 0x62]), {stream: true}) +
                           d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x63]));
          const ascii = new Uint8Array(128).map((_, i) => i);
          return [streamed, new TextDecoder('utf-8', {fatal: true}).decode(ascii),
                  new TextDecoder().decode(new TextEncoder().encode(long)) === long,
                  new TextDecoder().decode(new Uint8Array(0))]; })()"""
    )
    assert got == [expected, "".join(map(chr, range(128))), True, ""]
