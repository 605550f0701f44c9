"""crypto.js, sha.js and subtle.js in a real isolate (HMAC keys in a real runtime): digests and
HMAC against hashlib/hmac, the ChaCha20 generator against RFC 8439 vectors and a Python model,
getRandomValues limits and randomUUID."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import struct
from collections.abc import AsyncIterator

import pytest
from py_mini_racer import JSEvalException, MiniRacer

from flux_edge.runtime import PoolLimits, Runtime
from flux_edge.runtime.webapi import JS_DIR

from ._jsload import has_global, web_isolate
from ._rtjs import RuntimeJS, js, js_error

ALGORITHMS = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
# Padding boundaries of 64-byte (SHA-1/256) and 128-byte (SHA-384/512) blocks.
LENGTHS = [0, 1, 3, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000]
MEBIBYTE = 1 << 20
PATTERN_JS = (
    "const d = new Uint8Array({n}); for (let i = 0; i < d.length; i++) d[i] = (i * 31 + 7) & 255;"
)


def pattern(n: int) -> bytes:
    """The same bytes PATTERN_JS builds, for inputs too large to pass as hex."""
    return bytes((i * 31 + 7) & 255 for i in range(n))


@pytest.fixture
async def mr() -> AsyncIterator[MiniRacer]:
    isolate = await web_isolate(upto="subtle.js")
    yield isolate
    isolate.close()


# ---- digest ----


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("length", LENGTHS)
async def test_digest_matches_hashlib_at_block_boundaries(
    mr: MiniRacer, algorithm: str, length: int
) -> None:
    data = os.urandom(length)
    got = await js(
        mr, f"return hex(await crypto.subtle.digest('{algorithm}', unhex('{data.hex()}')))"
    )
    assert got == hashlib.new(ALGORITHMS[algorithm], data).hexdigest()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_digest_of_one_mebibyte_matches_hashlib(mr: MiniRacer, algorithm: str) -> None:
    got = await js(
        mr,
        PATTERN_JS.format(n=MEBIBYTE) + f"return hex(await crypto.subtle.digest('{algorithm}', d))",
    )
    assert got == hashlib.new(ALGORITHMS[algorithm], pattern(MEBIBYTE)).hexdigest()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_digest_of_non_ascii_text_matches_hashlib(mr: MiniRacer, algorithm: str) -> None:
    data = "héllo wörld, 日本語, emoji 😀 and a lone ß".encode()
    got = await js(
        mr, f"return hex(await crypto.subtle.digest('{algorithm}', unhex('{data.hex()}')))"
    )
    assert got == hashlib.new(ALGORITHMS[algorithm], data).hexdigest()


async def test_digest_hashes_only_the_viewed_bytes_of_typed_arrays_and_dataviews(
    mr: MiniRacer,
) -> None:
    results = await js(
        mr,
        """const whole = unhex('00616263ff');
        const inputs = [whole.subarray(1, 4), new DataView(whole.buffer, 1, 3),
                        whole.slice(1, 4).buffer];
        const digest = async (x) => hex(await crypto.subtle.digest('SHA-256', x));
        return Promise.all(inputs.map(digest));""",
    )
    assert results == [hashlib.sha256(b"abc").hexdigest()] * 3


async def test_digest_accepts_algorithm_objects_and_any_letter_case(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const d = new Uint8Array([97, 98, 99]);
        return [hex(await crypto.subtle.digest({ name: 'sha-256' }, d)),
                hex(await crypto.subtle.digest('Sha-1', d))];""",
    )
    sha1 = hashlib.sha1(b"abc", usedforsecurity=False).hexdigest()
    assert got == [hashlib.sha256(b"abc").hexdigest(), sha1]


async def test_digest_resolves_to_an_arraybuffer(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const p = crypto.subtle.digest('SHA-512', new Uint8Array(0));
        const value = await p;
        return [p instanceof Promise, value instanceof ArrayBuffer, value.byteLength];""",
    )
    assert got == [True, True, 64]


async def test_digest_rejects_unknown_algorithms_with_not_supported_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "await crypto.subtle.digest('MD5', new Uint8Array(1))")
    assert error.name == "NotSupportedError"


async def test_unsupported_algorithm_errors_are_dom_exceptions(mr: MiniRacer) -> None:
    if not await has_global(mr, "DOMException"):
        pytest.skip("DOMException comes from an earlier web prelude file that does not exist yet")
    error = await js_error(mr, "await crypto.subtle.digest('SHA-3', new Uint8Array(1))")
    assert (error.name, error.is_dom_exception) == ("NotSupportedError", True)


async def test_digest_rejects_data_that_is_not_a_buffer_source(mr: MiniRacer) -> None:
    error = await js_error(mr, "await crypto.subtle.digest('SHA-256', 'abc')")
    assert error.constructor == "TypeError"


async def test_digest_reports_bad_arguments_by_rejecting_not_throwing(mr: MiniRacer) -> None:
    got = await js(
        mr,
        "const p = crypto.subtle.digest('SHA-256');p.catch(() => {});return p instanceof Promise;",
    )
    assert got is True


# ---- HMAC (keys are made by the host bridge: a real runtime) ----


@pytest.fixture
async def rt() -> AsyncIterator[RuntimeJS]:
    runtime = Runtime(PoolLimits(max_isolates=4))
    yield RuntimeJS(runtime)
    await runtime.close(grace=0.5)


async def sign_and_verify(rt: RuntimeJS, algorithm: str, key: bytes, data_js: str) -> list[object]:
    return await js(
        rt,
        f"""{data_js}
        const key = await crypto.subtle.importKey('raw', unhex('{key.hex()}'),
          {{ name: 'HMAC', hash: '{algorithm}' }}, false, ['sign', 'verify']);
        const mac = await crypto.subtle.sign('HMAC', key, d);
        return [hex(mac), await crypto.subtle.verify('HMAC', key, mac, d)];""",
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("length", [0, 3, 55, 56, 64, 129])
async def test_hmac_signature_matches_python_hmac(
    rt: RuntimeJS, algorithm: str, length: int
) -> None:
    key, data = os.urandom(32), os.urandom(length)
    got = await sign_and_verify(rt, algorithm, key, f"const d = unhex('{data.hex()}');")
    assert got == [hmac.new(key, data, ALGORITHMS[algorithm]).hexdigest(), True]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("key_length", [1, 64, 128, 200])
async def test_hmac_keys_shorter_and_longer_than_the_block_match_python(
    rt: RuntimeJS, algorithm: str, key_length: int
) -> None:
    key, data = os.urandom(key_length), "clé ünïcode".encode()
    got = await sign_and_verify(rt, algorithm, key, f"const d = unhex('{data.hex()}');")
    assert got == [hmac.new(key, data, ALGORITHMS[algorithm]).hexdigest(), True]


@pytest.mark.parametrize("algorithm", ["SHA-256", "SHA-512"])
async def test_hmac_of_one_mebibyte_matches_python_hmac(rt: RuntimeJS, algorithm: str) -> None:
    key = os.urandom(32)
    got = await sign_and_verify(rt, algorithm, key, PATTERN_JS.format(n=MEBIBYTE))
    assert got == [hmac.new(key, pattern(MEBIBYTE), ALGORITHMS[algorithm]).hexdigest(), True]


async def test_hmac_verify_rejects_a_tampered_signature_or_message(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const key = await crypto.subtle.importKey('raw', new Uint8Array([1, 2, 3]),
          { name: 'HMAC', hash: { name: 'SHA-256' } }, false, ['sign', 'verify']);
        const data = new Uint8Array([9, 9, 9]);
        const mac = new Uint8Array(await crypto.subtle.sign({ name: 'HMAC' }, key, data));
        const flipped = mac.slice(); flipped[31] ^= 1;
        return [await crypto.subtle.verify('HMAC', key, flipped, data),
                await crypto.subtle.verify('HMAC', key, mac, new Uint8Array([9, 9, 8])),
                await crypto.subtle.verify('HMAC', key, mac.subarray(0, 31), data),
                await crypto.subtle.verify('HMAC', key, mac, data)];""",
    )
    assert got == [False, False, False, True]


async def test_imported_key_reports_its_algorithm_usages_and_type(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const key = await crypto.subtle.importKey('raw', new Uint8Array(16),
          { name: 'hmac', hash: 'sha-384' }, true, ['verify', 'sign', 'verify']);
        return [key instanceof CryptoKey, key.type, key.extractable, key.algorithm, key.usages,
                Object.prototype.toString.call(key)];""",
    )
    assert got == [
        True, "secret", True, {"name": "HMAC", "hash": {"name": "SHA-384"}, "length": 128},
        ["sign", "verify"], "[object CryptoKey]",
    ]  # fmt: skip


async def test_mutating_a_keys_algorithm_object_does_not_change_the_mac(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const key = await crypto.subtle.importKey('raw', new Uint8Array([7]),
          { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        key.algorithm.hash.name = 'SHA-1';
        return hex(await crypto.subtle.sign('HMAC', key, new Uint8Array(0)));""",
    )
    assert got == hmac.new(b"\x07", b"", "sha256").hexdigest()


@pytest.mark.parametrize(
    ("usages", "error_name"),
    [("[]", "SyntaxError"), ("['encrypt']", "SyntaxError"), ("['fly']", "TypeError")],
)
async def test_import_key_rejects_bad_usages(rt: RuntimeJS, usages: str, error_name: str) -> None:
    error = await js_error(
        rt,
        "await crypto.subtle.importKey('raw', new Uint8Array(8),"
        f" {{ name: 'HMAC', hash: 'SHA-256' }}, false, {usages})",
    )
    assert error.name == error_name


async def test_import_key_rejects_empty_key_data_with_data_error(rt: RuntimeJS) -> None:
    error = await js_error(
        rt,
        "await crypto.subtle.importKey('raw', new Uint8Array(0),"
        " { name: 'HMAC', hash: 'SHA-1' }, false, ['sign'])",
    )
    assert error.name == "DataError"


async def test_import_key_requires_a_hash(rt: RuntimeJS) -> None:
    error = await js_error(
        rt,
        "await crypto.subtle.importKey('raw', new Uint8Array(4),"
        " { name: 'HMAC' }, false, ['sign'])",
    )
    assert error.constructor == "TypeError"


@pytest.mark.parametrize(
    "call",
    [
        "crypto.subtle.importKey('raw', new Uint8Array(4), { name: 'AES' }, false, ['encrypt'])",
        "crypto.subtle.importKey('spki', new Uint8Array(4), { name: 'HMAC', hash: 'SHA-256' }, false,"
        " ['sign'])",
        "crypto.subtle.generateKey({ name: 'HMAC', hash: 'MD5' }, false, ['sign'])",
        "crypto.subtle.sign({ name: 'AES-OCB' }, await crypto.subtle.generateKey("
        "{ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']), new Uint8Array(1))",
    ],
)
async def test_unsupported_formats_and_operations_reject_with_not_supported_error(
    rt: RuntimeJS, call: str
) -> None:
    error = await js_error(rt, f"await {call}")
    assert error.name == "NotSupportedError"


async def test_a_verify_only_key_cannot_sign(rt: RuntimeJS) -> None:
    error = await js_error(
        rt,
        """const key = await crypto.subtle.importKey('raw', new Uint8Array(4),
          { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
        await crypto.subtle.sign('HMAC', key, new Uint8Array(1));""",
    )
    assert error.name == "InvalidAccessError"


async def test_export_key_returns_the_raw_bytes_of_an_extractable_key(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const key = await crypto.subtle.importKey('raw', unhex('00ff10'),
          { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
        return hex(await crypto.subtle.exportKey('raw', key));""",
    )
    assert got == "00ff10"


async def test_export_key_refuses_a_non_extractable_key(rt: RuntimeJS) -> None:
    error = await js_error(
        rt,
        """const key = await crypto.subtle.importKey('raw', new Uint8Array(4),
          { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        await crypto.subtle.exportKey('raw', key);""",
    )
    assert error.name == "InvalidAccessError"


async def test_generated_hmac_keys_are_block_sized_random_and_usable(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const alg = { name: 'HMAC', hash: 'SHA-512' };
        const a = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
        const b = await crypto.subtle.generateKey(alg, true, ['sign']);
        const raw = hex(await crypto.subtle.exportKey('raw', a));
        const mac = await crypto.subtle.sign('HMAC', a, new Uint8Array(3));
        const other = hex(await crypto.subtle.exportKey('raw', b));
        return [a.algorithm.length, raw.length / 2, raw !== other, raw, hex(mac)];""",
    )
    assert got[:3] == [1024, 128, True]
    assert got[4] == hmac.new(bytes.fromhex(got[3]), bytes(3), "sha512").hexdigest()


# ---- the generator ----


# Column then diagonal quarter rounds (RFC 8439 section 2.3).
ROUND_INDEXES = [(0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                 (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)]  # fmt: skip


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """RFC 8439 section 2.3 from the text: the reference the JavaScript is checked against."""

    def rotl(v: int, n: int) -> int:
        return ((v << n) | (v >> (32 - n))) & 0xFFFFFFFF

    def quarter(s: list[int], a: int, b: int, c: int, d: int) -> None:
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF
        s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF
        s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF
        s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF
        s[b] = rotl(s[b] ^ s[c], 7)

    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *struct.unpack("<8I", key), counter,
             *struct.unpack("<3I", nonce)]  # fmt: skip
    work = list(state)
    for _ in range(10):
        for a, b, c, d in ROUND_INDEXES:
            quarter(work, a, b, c, d)
    return struct.pack("<16I", *((w + s) & 0xFFFFFFFF for w, s in zip(work, state, strict=True)))


def model_stream(entropy: bytes, n: int) -> bytes:
    """crypto.js's generator: key = bytes 0..31 xor bytes 44..63 (folded), nonce = bytes 32..43;
    each refill makes 16 blocks, the first 32 bytes becoming the next key (fast key erasure)."""
    key = bytearray(entropy[:32])
    for i, byte in enumerate(entropy[44:64]):
        key[i] ^= byte
    nonce, out = entropy[32:44], b""
    while len(out) < n:
        pool = b"".join(chacha20_block(bytes(key), block, nonce) for block in range(16))
        key, out = bytearray(pool[:32]), out + pool[32:]
    return out[:n]


async def test_chacha20_block_function_matches_rfc_8439_test_vectors() -> None:
    # RFC 8439 appendix A.1, test vectors 1 and 2: all-zero key and nonce, counters 0 and 1.
    # With all-zero entropy the first output is block 0 minus its first 32 bytes (the next key).
    mr = await web_isolate(entropy=bytes(64), upto="subtle.js")
    try:
        got = await js(mr, "return hex(crypto.getRandomValues(new Uint8Array(96)))")
    finally:
        mr.close()
    assert got[:64] == "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
    assert got[64:] == (
        "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
        "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
    )


async def test_generator_output_follows_the_fast_key_erasure_model_across_refills() -> None:
    entropy = os.urandom(64)
    mr = await web_isolate(entropy=entropy, upto="subtle.js")
    try:
        # Odd request sizes cross the 992-byte refill boundary at different offsets.
        got = await js(
            mr,
            """let out = '';
            for (const n of [1, 7, 500, 991, 2, 4096, 33, 65536]) {
              out += hex(crypto.getRandomValues(new Uint8Array(n)));
            }
            return out;""",
        )
    finally:
        mr.close()
    assert bytes.fromhex(got) == model_stream(entropy, 1 + 7 + 500 + 991 + 2 + 4096 + 33 + 65536)


async def test_entropy_global_is_deleted_when_crypto_loads(mr: MiniRacer) -> None:
    assert await js(mr, "return '__flux_entropy' in globalThis") is False


@pytest.mark.parametrize("value", ["undefined", "'abcd'", "'zz'.repeat(64)"])
async def test_crypto_refuses_to_load_without_64_bytes_of_entropy(value: str) -> None:
    mr = MiniRacer()
    try:
        await mr.eval_cancelable(f"globalThis.__flux_entropy = {value};")
        with pytest.raises(JSEvalException, match="__flux_entropy"):
            await mr.eval_cancelable((JS_DIR / "crypto.js").read_text(encoding="utf-8"))
        assert await mr.eval_cancelable("typeof crypto") == "undefined"
    finally:
        mr.close()


async def test_isolates_with_different_entropy_produce_different_streams() -> None:
    first, second = await web_isolate(upto="subtle.js"), await web_isolate(upto="subtle.js")
    try:
        code = "return hex(crypto.getRandomValues(new Uint8Array(32)))"
        assert await js(first, code) != await js(second, code)
    finally:
        first.close()
        second.close()


# ---- getRandomValues and randomUUID ----


async def test_get_random_values_fills_and_returns_the_same_array(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const a = new Uint32Array(64);
        const b = crypto.getRandomValues(a);
        return [a === b, a.some((x) => x !== 0)];""",
    )
    assert got == [True, True]


async def test_get_random_values_never_repeats_a_block(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const seen = new Set();
        for (let i = 0; i < 40; i++) {
          const chunk = crypto.getRandomValues(new Uint8Array(65536));
          for (let j = 0; j < chunk.length; j += 16) seen.add(hex(chunk.subarray(j, j + 16)));
        }
        return seen.size;""",
    )
    assert got == 40 * 65536 // 16


@pytest.mark.parametrize(
    "array_type",
    ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
     "Uint32Array", "BigInt64Array", "BigUint64Array"],
)  # fmt: skip
async def test_get_random_values_accepts_every_integer_array_type(
    mr: MiniRacer, array_type: str
) -> None:
    got = await js(
        mr,
        f"const a = new {array_type}(32); crypto.getRandomValues(a); return a.some((x) => x != 0)",
    )
    assert got is True


async def test_get_random_values_fills_only_the_viewed_part_of_a_buffer(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const buffer = new Uint8Array(64);
        crypto.getRandomValues(new Uint8Array(buffer.buffer, 16, 32));
        const zero = (part) => part.every((x) => x === 0);
        return [zero(buffer.subarray(0, 16)), zero(buffer.subarray(48)),
                !zero(buffer.subarray(16, 48))];""",
    )
    assert got == [True, True, True]


@pytest.mark.parametrize(
    "array", ["new Float32Array(4)", "new Float64Array(4)", "new DataView(new ArrayBuffer(4))"]
)
async def test_get_random_values_rejects_non_integer_views_with_type_mismatch(
    mr: MiniRacer, array: str
) -> None:
    error = await js_error(mr, f"crypto.getRandomValues({array})")
    assert error.name == "TypeMismatchError"


@pytest.mark.parametrize("value", ["[1, 2]", "new ArrayBuffer(4)", "undefined", "'abc'"])
async def test_get_random_values_rejects_non_views_with_type_error(
    mr: MiniRacer, value: str
) -> None:
    error = await js_error(mr, f"crypto.getRandomValues({value})")
    assert error.constructor == "TypeError"


async def test_get_random_values_allows_exactly_65536_bytes(mr: MiniRacer) -> None:
    assert await js(mr, "return crypto.getRandomValues(new Uint32Array(16384)).byteLength") == 65536


async def test_get_random_values_over_65536_bytes_throws_quota_exceeded(mr: MiniRacer) -> None:
    error = await js_error(mr, "crypto.getRandomValues(new Uint8Array(65537))")
    assert error.name == "QuotaExceededError"


async def test_random_uuid_is_a_version_4_variant_1_uuid(mr: MiniRacer) -> None:
    uuids = await js(mr, "return Array.from({ length: 200 }, () => crypto.randomUUID())")
    pattern_v4 = re.compile(
        r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    )
    assert all(pattern_v4.match(u) for u in uuids)


async def test_random_uuids_are_unique(mr: MiniRacer) -> None:
    assert (
        await js(
            mr, "return new Set(Array.from({ length: 20000 }, () => crypto.randomUUID())).size"
        )
        == 20000
    )


async def test_crypto_globals_are_non_enumerable_writable_and_configurable(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """return ['crypto', 'Crypto', 'SubtleCrypto', 'CryptoKey'].map((name) => {
          const d = Object.getOwnPropertyDescriptor(globalThis, name);
          return [name, d.enumerable, d.writable, d.configurable];
        });""",
    )
    assert got == [
        [name, False, True, True] for name in ["crypto", "Crypto", "SubtleCrypto", "CryptoKey"]
    ]


async def test_crypto_interfaces_cannot_be_constructed_by_user_code(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """return ['Crypto', 'SubtleCrypto', 'CryptoKey'].map((name) => {
          try { new globalThis[name](); } catch (e) { return e.constructor.name; }
          return 'constructed';
        });""",
    )
    assert got == ["TypeError"] * 3
