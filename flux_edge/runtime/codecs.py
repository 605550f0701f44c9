"""The compression behind CompressionStream and DecompressionStream: Python's zlib and Brotli.

JavaScript sends each chunk as a `zlib` host operation; the isolate answers it here, without the
HostBridge (compression needs no permission and no I/O). A call's codecs live until the call ends.
zlib and Brotli run in C, far faster than a deflate written in JavaScript, and a chunk crosses the
bridge as base64 either way (docs/web-platform.md has the figures).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Literal, Protocol

import brotli  # type: ignore[import-untyped]  # ships no type information
import msgspec

Format = Literal["deflate", "deflate-raw", "gzip", "brotli"]

# zlib's wbits for each zlib format of the Compression standard.
_WBITS = {"deflate": zlib.MAX_WBITS, "deflate-raw": -zlib.MAX_WBITS, "gzip": zlib.MAX_WBITS | 16}
# Brotli input kept to recover the output before trailing junk (see _BrotliInflate.feed).
_BROTLI_REPLAY_BYTES = 1024 * 1024


class ZlibOp(msgspec.Struct, frozen=True):
    """One chunk for one codec: `finish` ends the stream, `drop` forgets the codec (cancel)."""

    id: int
    mode: Literal["compress", "decompress"]
    format: Format
    data: str
    finish: bool = False
    drop: bool = False


class CodecError(Exception):
    """A chunk the codec cannot take; `type` names the JavaScript error class to reject with."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


class _Codec(Protocol):
    def feed(self, data: bytes, finish: bool) -> tuple[bytes, str | None]:
        """The output for `data`, and an error that ends the stream after that output."""
        ...


class _Deflate:
    def __init__(self, fmt: Format) -> None:
        self._codec = zlib.compressobj(wbits=_WBITS[fmt])

    def feed(self, data: bytes, finish: bool) -> tuple[bytes, str | None]:
        out = self._codec.compress(data)
        return (out + self._codec.flush() if finish else out), None


class _Inflate:
    def __init__(self, fmt: Format, max_output: int) -> None:
        self._codec = zlib.decompressobj(wbits=_WBITS[fmt])
        self._max_output = max_output

    def feed(self, data: bytes, finish: bool) -> tuple[bytes, str | None]:
        codec = self._codec
        if codec.eof and data:
            return b"", "data after the end of the compressed stream"
        try:
            out = codec.decompress(data, self._max_output)
        except zlib.error as error:
            return b"", str(error)
        if codec.unconsumed_tail:
            raise _too_big(self._max_output)
        if codec.unused_data:
            return out, "data after the end of the compressed stream"
        if finish and not codec.eof:
            return out, "the compressed stream is truncated"
        return out, None


class _BrotliDeflate:
    def __init__(self) -> None:
        self._codec = brotli.Compressor()

    def feed(self, data: bytes, finish: bool) -> tuple[bytes, str | None]:
        out: bytes = self._codec.process(data)
        return (out + self._codec.finish() if finish else out), None


class _BrotliInflate:
    def __init__(self, max_output: int) -> None:
        self._codec = brotli.Decompressor()
        self._max_output = max_output
        self._seen: list[bytes] | None = []  # the input so far, while small enough to replay
        self._seen_bytes = 0

    def feed(self, data: bytes, finish: bool) -> tuple[bytes, str | None]:
        codec = self._codec
        if codec.is_finished() and data:
            return b"", "data after the end of the compressed stream"
        try:
            out: bytes = codec.process(data, output_buffer_limit=self._max_output)
        except brotli.error:
            # Brotli reports trailing junk as a failure of the whole chunk; the standard wants
            # the output before it delivered first. Replaying the input finds it.
            return self._output_before_failure(data), "invalid or trailing Brotli data"
        if not codec.can_accept_more_data():
            raise _too_big(self._max_output)
        self._remember(data)
        if finish and not codec.is_finished():
            return out, "the compressed stream is truncated"
        return out, None

    def _remember(self, data: bytes) -> None:
        if self._seen is None:
            return
        self._seen_bytes += len(data)
        self._seen = None if self._seen_bytes > _BROTLI_REPLAY_BYTES else [*self._seen, data]

    def _output_before_failure(self, data: bytes) -> bytes:
        if self._seen is None or len(data) > _BROTLI_REPLAY_BYTES:
            return b""
        replay = brotli.Decompressor()
        for earlier in self._seen:
            replay.process(earlier, output_buffer_limit=self._max_output)
        out = bytearray()
        for index in range(len(data)):
            if replay.is_finished():
                break
            try:
                out += replay.process(data[index : index + 1], output_buffer_limit=self._max_output)
            except brotli.error:
                break
        return bytes(out[: self._max_output])


def _too_big(limit: int) -> CodecError:
    return CodecError(
        "RangeError", f"Memory limit exceeded: a decompressed chunk passes {limit} bytes"
    )


class CallCodecs:
    """The codecs of one call. `max_output` bounds what one chunk may inflate to (a small bomb
    must not make Python allocate gigabytes on the isolate's behalf)."""

    def __init__(self, max_output: int) -> None:
        self._max_output = max_output
        self._codecs: dict[int, _Codec] = {}

    def run(self, payload: object) -> dict[str, str | None]:
        """Feed one chunk; returns {"data": base64 of the output, "error": message or None}.
        An error (corrupt, truncated or trailing data) ends the stream with a TypeError after the
        output is delivered, as the standard says."""
        try:
            op = msgspec.convert(payload, ZlibOp)
            data = base64.b64decode(op.data, validate=True)
        except (msgspec.ValidationError, binascii.Error) as invalid:
            raise CodecError("TypeError", f"invalid compression operation: {invalid}") from None
        if op.drop:
            self._codecs.pop(op.id, None)
            return {"data": "", "error": None}
        codec = self._codecs.get(op.id)
        if codec is None:
            codec = self._codecs[op.id] = self._new_codec(op)
        out, error = codec.feed(data, op.finish)
        if op.finish or error is not None:
            self._codecs.pop(op.id, None)
        return {"data": base64.b64encode(out).decode("ascii"), "error": error}

    def _new_codec(self, op: ZlibOp) -> _Codec:
        if op.format == "brotli":
            if op.mode == "compress":
                return _BrotliDeflate()
            return _BrotliInflate(self._max_output)
        if op.mode == "compress":
            return _Deflate(op.format)
        return _Inflate(op.format, self._max_output)
