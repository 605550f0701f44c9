"""crypto.subtle beyond digests and HMAC, in a real runtime, checked against Python's `cryptography`.

Keys and data made on one side are used on the other: what JavaScript signs or encrypts, Python
verifies or decrypts, and the other way round; exported keys load in Python; the errors are the
DOMException names the WebCrypto spec gives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from flux_edge.runtime import PoolLimits, Runtime

from ._rtjs import RuntimeJS, js, js_error


@pytest.fixture
async def rt() -> AsyncIterator[RuntimeJS]:
    runtime = Runtime(PoolLimits(max_isolates=4))
    yield RuntimeJS(runtime)
    await runtime.close(grace=0.5)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


# Test-side helpers in JavaScript: bytes <-> base64 for the JSON that crosses.
B64_JS = """
const b64 = (buffer) => new Uint8Array(buffer).toBase64();
const bytes = (text) => Uint8Array.fromBase64(text);
const subtle = crypto.subtle;
"""

RSA_KEY = rsa.generate_private_key(65537, 2048)


def der_private(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def der_public(key: Any) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# ---- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "python_padding"),
    [
        ("{name: 'RSASSA-PKCS1-v1_5'}", padding.PKCS1v15()),
        ("{name: 'RSA-PSS', saltLength: 32}", padding.PSS(padding.MGF1(hashes.SHA256()), 32)),
    ],
)
async def test_rsa_signatures_made_in_javascript_verify_in_python(
    rt: RuntimeJS, algorithm: str, python_padding: padding.AsymmetricPadding
) -> None:
    got = await js(
        rt,
        B64_JS
        + f"""const alg = {algorithm};
        const key = await subtle.importKey('pkcs8', bytes(input.key), {{...alg, hash: 'SHA-256'}},
          false, ['sign']);
        return b64(await subtle.sign(alg, key, bytes(input.data)));""",
        {"key": b64(der_private(RSA_KEY)), "data": b64(b"payload")},
    )
    RSA_KEY.public_key().verify(unb64(got), b"payload", python_padding, hashes.SHA256())


@pytest.mark.parametrize(
    ("curve", "name", "hash_name", "hash_class"),
    [
        (ec.SECP256R1(), "P-256", "SHA-256", hashes.SHA256),
        (ec.SECP384R1(), "P-384", "SHA-384", hashes.SHA384),
        (ec.SECP521R1(), "P-521", "SHA-512", hashes.SHA512),
    ],
)
async def test_ecdsa_signatures_are_r_and_s_both_ways(
    rt: RuntimeJS, curve: ec.EllipticCurve, name: str, hash_name: str, hash_class: type
) -> None:
    key = ec.generate_private_key(curve)
    size = (curve.key_size + 7) // 8
    r, s = utils.decode_dss_signature(key.sign(b"from python", ec.ECDSA(hash_class())))
    python_signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    got = await js(
        rt,
        B64_JS
        + f"""const alg = {{name: 'ECDSA', namedCurve: '{name}', hash: '{hash_name}'}};
        const priv = await subtle.importKey('pkcs8', bytes(input.priv), alg, false, ['sign']);
        const pub = await subtle.importKey('spki', bytes(input.pub), alg, true, ['verify']);
        const text = new TextEncoder();
        return [b64(await subtle.sign(alg, priv, text.encode('from js'))),
                await subtle.verify(alg, pub, bytes(input.sig), text.encode('from python')),
                await subtle.verify(alg, pub, bytes(input.sig), text.encode('from pythoN'))];""",
        {
            "priv": b64(der_private(key)),
            "pub": b64(der_public(key.public_key())),
            "sig": b64(python_signature),
        },
    )
    js_signature = unb64(got[0])
    assert len(js_signature) == 2 * size
    der = utils.encode_dss_signature(
        int.from_bytes(js_signature[:size], "big"), int.from_bytes(js_signature[size:], "big")
    )
    key.public_key().verify(der, b"from js", ec.ECDSA(hash_class()))
    assert got[1:] == [True, False]


async def test_ed25519_keys_sign_and_verify_across_the_boundary(rt: RuntimeJS) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    got = await js(
        rt,
        B64_JS
        + """const priv = await subtle.importKey('pkcs8', bytes(input.priv), 'Ed25519', true, ['sign']);
        const pub = await subtle.importKey('raw', bytes(input.pub), {name: 'Ed25519'}, true, ['verify']);
        const data = new Uint8Array([1, 2, 3]);
        return [b64(await subtle.sign('Ed25519', priv, data)),
                await subtle.verify('Ed25519', pub, bytes(input.sig), data),
                await subtle.exportKey('jwk', priv)];""",
        {
            "priv": b64(der_private(key)),
            "pub": b64(key.public_key().public_bytes_raw()),
            "sig": b64(key.sign(bytes([1, 2, 3]))),
        },
    )
    key.public_key().verify(unb64(got[0]), bytes([1, 2, 3]))
    assert got[1] is True
    jwk = got[2]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["ext"]) == ("OKP", "Ed25519", "Ed25519", True)
    assert base64.urlsafe_b64decode(jwk["d"] + "=") == key.private_bytes_raw()


async def test_ed25519_rejects_a_small_order_public_key(rt: RuntimeJS) -> None:
    # The identity point: with R = identity and s = 0, every message "verifies" in plain OpenSSL.
    identity = bytes([1]) + bytes(31)
    got = await js(
        rt,
        B64_JS
        + """const pub = await subtle.importKey('raw', bytes(input.pub), 'Ed25519', false, ['verify']);
        return subtle.verify('Ed25519', pub, bytes(input.sig), new Uint8Array([7]));""",
        {"pub": b64(identity), "sig": b64(identity + bytes(32))},
    )
    assert got is False


# ---- SHA-3 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [256, 384, 512])
async def test_sha3_digests_match_hashlib_and_are_not_hashes_for_other_algorithms(
    rt: RuntimeJS, bits: int
) -> None:
    data = os.urandom(1000)
    got = await js(
        rt,
        B64_JS
        + f"""return [b64(await subtle.digest('sha3-{bits}', bytes(input.data))),
          await subtle.importKey('raw', new Uint8Array(8), {{name: 'HMAC', hash: 'SHA3-{bits}'}},
            false, ['sign']).catch((e) => e.name)];""",
        {"data": b64(data)},
    )
    assert got == [b64(hashlib.new(f"sha3_{bits}", data).digest()), "NotSupportedError"]


# ---- encryption ------------------------------------------------------------------------------


async def test_aes_gcm_interoperates_with_python_including_aad_and_short_tags(
    rt: RuntimeJS,
) -> None:
    key, iv = os.urandom(32), os.urandom(12)
    python_ciphertext = AESGCM(key).encrypt(iv, b"secret from python", b"aad")
    got = await js(
        rt,
        B64_JS
        + """const key = await subtle.importKey('raw', bytes(input.key), 'AES-GCM', false,
          ['encrypt', 'decrypt']);
        const gcm = {name: 'AES-GCM', iv: bytes(input.iv), additionalData: bytes(input.aad)};
        const text = new TextEncoder().encode('secret from js');
        return [b64(await subtle.encrypt(gcm, key, text)),
                new TextDecoder().decode(await subtle.decrypt(gcm, key, bytes(input.ct))),
                b64(await subtle.encrypt({...gcm, tagLength: 96}, key, text))];""",
        {"key": b64(key), "iv": b64(iv), "aad": b64(b"aad"), "ct": b64(python_ciphertext)},
    )
    assert AESGCM(key).decrypt(iv, unb64(got[0]), b"aad") == b"secret from js"
    assert got[1] == "secret from python"
    assert unb64(got[2]) == unb64(got[0])[:-4]  # the same ciphertext with a 12-byte tag


async def test_aes_gcm_rejects_a_tampered_ciphertext_with_operation_error(rt: RuntimeJS) -> None:
    error = await js_error(
        rt,
        """const key = await crypto.subtle.generateKey({name: 'AES-GCM', length: 128}, false,
          ['encrypt', 'decrypt']);
        const alg = {name: 'AES-GCM', iv: new Uint8Array(12)};
        const ct = new Uint8Array(await crypto.subtle.encrypt(alg, key, new Uint8Array(5)));
        ct[0] ^= 1;
        await crypto.subtle.decrypt(alg, key, ct);""",
    )
    assert (error.name, error.is_dom_exception) == ("OperationError", True)


async def test_aes_cbc_matches_python_with_pkcs7_padding(rt: RuntimeJS) -> None:
    key, iv, data = os.urandom(16), os.urandom(16), os.urandom(37)
    got = await js(
        rt,
        B64_JS
        + """const key = await subtle.importKey('raw', bytes(input.key), 'AES-CBC', false, ['encrypt']);
        return b64(await subtle.encrypt({name: 'AES-CBC', iv: bytes(input.iv)}, key, bytes(input.data)));""",
        {"key": b64(key), "iv": b64(iv), "data": b64(data)},
    )
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(unb64(got)) + decryptor.finalize()
    assert len(padded) == 48
    assert padded == data + bytes([11]) * 11


async def test_aes_ctr_wraps_the_counter_within_its_length_bits(rt: RuntimeJS) -> None:
    # An 8-bit counter at 0xff: the second block uses counter 0x00 in the low byte, not 0x100.
    key = os.urandom(16)
    counter = bytes(15) + b"\xff"
    data = os.urandom(40)
    got = await js(
        rt,
        B64_JS
        + """const key = await subtle.importKey('raw', bytes(input.key), 'AES-CTR', false, ['encrypt']);
        const alg = {name: 'AES-CTR', counter: bytes(input.counter), length: 8};
        return b64(await subtle.encrypt(alg, key, bytes(input.data)));""",
        {"key": b64(key), "counter": b64(counter), "data": b64(data)},
    )
    # The keystream block by block, to check where the counter wraps.
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    stream = ecb.update(counter + bytes(16) + bytes(15) + b"\x01")
    assert unb64(got) == bytes(a ^ b for a, b in zip(data, stream, strict=False))


async def test_rsa_oaep_decrypts_what_python_encrypts_with_a_label(rt: RuntimeJS) -> None:
    ciphertext = RSA_KEY.public_key().encrypt(
        b"wrapped secret",
        padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), b"label"),
    )
    got = await js(
        rt,
        B64_JS
        + """const key = await subtle.importKey('pkcs8', bytes(input.key),
          {name: 'RSA-OAEP', hash: 'SHA-256'}, false, ['decrypt']);
        const plain = await subtle.decrypt({name: 'RSA-OAEP', label: bytes(input.label)}, key,
          bytes(input.ct));
        return new TextDecoder().decode(plain);""",
        {"key": b64(der_private(RSA_KEY)), "label": b64(b"label"), "ct": b64(ciphertext)},
    )
    assert got == "wrapped secret"


# ---- derivation ------------------------------------------------------------------------------


async def test_hkdf_and_pbkdf2_derive_what_python_derives(rt: RuntimeJS) -> None:
    secret, salt, info = os.urandom(32), os.urandom(16), b"context"
    got = await js(
        rt,
        B64_JS
        + """const hkdf = await subtle.importKey('raw', bytes(input.secret), 'HKDF', false, ['deriveBits']);
        const pbkdf2 = await subtle.importKey('raw', new TextEncoder().encode('hunter2'), 'PBKDF2',
          false, ['deriveBits', 'deriveKey']);
        const aes = await subtle.deriveKey(
          {name: 'PBKDF2', salt: bytes(input.salt), iterations: 1000, hash: 'SHA-256'}, pbkdf2,
          {name: 'AES-GCM', length: 256}, true, ['encrypt']);
        return [
          b64(await subtle.deriveBits({name: 'HKDF', hash: 'SHA-384', salt: bytes(input.salt),
            info: bytes(input.info)}, hkdf, 200 * 8)),
          b64(await subtle.deriveBits({name: 'PBKDF2', salt: bytes(input.salt), iterations: 1000,
            hash: 'SHA-512'}, pbkdf2, 512)),
          b64(await subtle.exportKey('raw', aes)), aes.algorithm];""",
        {"secret": b64(secret), "salt": b64(salt), "info": b64(info)},
    )
    assert unb64(got[0]) == HKDF(hashes.SHA384(), 200, salt, info).derive(secret)
    assert unb64(got[1]) == hashlib.pbkdf2_hmac("sha512", b"hunter2", salt, 1000, 64)
    assert unb64(got[2]) == PBKDF2HMAC(hashes.SHA256(), 32, salt, 1000).derive(b"hunter2")
    assert got[3] == {"name": "AES-GCM", "length": 256}


async def test_ecdh_and_x25519_agree_with_python(rt: RuntimeJS) -> None:
    ec_python = ec.generate_private_key(ec.SECP384R1())
    x_python = x25519.X25519PrivateKey.generate()
    got = await js(
        rt,
        B64_JS
        + """const ecdh = {name: 'ECDH', namedCurve: 'P-384'};
        const mine = await subtle.generateKey(ecdh, true, ['deriveBits']);
        const theirs = await subtle.importKey('spki', bytes(input.ec), ecdh, false, []);
        const x = await subtle.generateKey('X25519', true, ['deriveBits']);
        const xTheirs = await subtle.importKey('raw', bytes(input.x), 'X25519', false, []);
        return [b64(await subtle.exportKey('spki', mine.publicKey)),
                b64(await subtle.deriveBits({name: 'ECDH', public: theirs}, mine.privateKey, null)),
                b64(await subtle.exportKey('raw', x.publicKey)),
                b64(await subtle.deriveBits({name: 'X25519', public: xTheirs}, x.privateKey, 128))];""",
        {
            "ec": b64(der_public(ec_python.public_key())),
            "x": b64(x_python.public_key().public_bytes_raw()),
        },
    )
    js_ec = serialization.load_der_public_key(unb64(got[0]))
    assert isinstance(js_ec, ec.EllipticCurvePublicKey)
    assert unb64(got[1]) == ec_python.exchange(ec.ECDH(), js_ec)
    js_x = x25519.X25519PublicKey.from_public_bytes(unb64(got[2]))
    assert unb64(got[3]) == x_python.exchange(js_x)[:16]


# ---- keys --------------------------------------------------------------------------------------


async def test_generated_rsa_keys_export_as_spki_pkcs8_and_jwk_that_python_loads(
    rt: RuntimeJS,
) -> None:
    got = await js(
        rt,
        B64_JS
        + """const pair = await subtle.generateKey({name: 'RSA-PSS', modulusLength: 1024,
          publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384'}, true, ['sign', 'verify']);
        return [b64(await subtle.exportKey('spki', pair.publicKey)),
                b64(await subtle.exportKey('pkcs8', pair.privateKey)),
                await subtle.exportKey('jwk', pair.publicKey),
                pair.publicKey.algorithm.modulusLength,
                Array.from(pair.publicKey.algorithm.publicExponent),
                pair.privateKey.usages, pair.publicKey.usages];""",
    )
    public = serialization.load_der_public_key(unb64(got[0]))
    private = serialization.load_der_private_key(unb64(got[1]), None)
    assert isinstance(public, rsa.RSAPublicKey)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.public_key().public_numbers() == public.public_numbers()
    jwk = got[2]
    assert (jwk["kty"], jwk["alg"], jwk["key_ops"]) == ("RSA", "PS384", ["verify"])
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    assert n == public.public_numbers().n
    assert got[3:] == [1024, [1, 0, 1], ["sign"], ["verify"]]


async def test_wrap_and_unwrap_with_aes_kw_match_python_key_wrap(rt: RuntimeJS) -> None:
    kek, inner = os.urandom(32), os.urandom(16)
    got = await js(
        rt,
        B64_JS
        + """const kek = await subtle.importKey('raw', bytes(input.kek), 'AES-KW', false,
          ['wrapKey', 'unwrapKey']);
        const inner = await subtle.importKey('raw', bytes(input.inner), 'AES-CBC', true, ['encrypt']);
        const wrapped = await subtle.wrapKey('raw', inner, kek, 'AES-KW');
        const back = await subtle.unwrapKey('raw', wrapped, kek, 'AES-KW', 'AES-CBC', true,
          ['decrypt']);
        return [b64(wrapped), b64(await subtle.exportKey('raw', back)), back.usages];""",
        {"kek": b64(kek), "inner": b64(inner)},
    )
    assert unb64(got[0]) == keywrap.aes_key_wrap(kek, inner)
    assert unb64(got[1]) == inner
    assert got[2] == ["decrypt"]


async def test_jwk_wrapped_with_aes_gcm_round_trips(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const s = crypto.subtle;
        const kek = await s.generateKey({name: 'AES-GCM', length: 256}, false, ['wrapKey', 'unwrapKey']);
        const pair = await s.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, true, ['sign', 'verify']);
        const alg = {name: 'AES-GCM', iv: new Uint8Array(12)};
        const wrapped = await s.wrapKey('jwk', pair.privateKey, kek, alg);
        const back = await s.unwrapKey('jwk', wrapped, kek, alg,
          {name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign']);
        const ecdsa = {name: 'ECDSA', hash: 'SHA-256'};
        const sig = await s.sign(ecdsa, back, new Uint8Array(4));
        return [back.type, back.extractable, await s.verify(ecdsa, pair.publicKey, sig, new Uint8Array(4))];""",
    )
    assert got == ["private", False, True]


async def test_key_material_is_unreachable_from_user_code(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const key = await crypto.subtle.generateKey({name: 'AES-GCM', length: 128}, false, ['encrypt']);
        const exported = await crypto.subtle.exportKey('raw', key).catch((e) => e.name);
        let constructed;
        try { new CryptoKey(); } catch (e) { constructed = e.constructor.name; }
        let forged;
        try { Object.getOwnPropertyDescriptor(CryptoKey.prototype, 'type').get.call({}); }
        catch (e) { forged = e.constructor.name; }
        return [Object.getOwnPropertyNames(key), Object.getOwnPropertySymbols(key).length,
                JSON.stringify(key), exported, constructed, forged, String(key),
                typeof __flux_subtle_connect, typeof __flux_crypto];""",
    )
    assert got == [
        [], 0, "{}", "InvalidAccessError", "TypeError", "TypeError", "[object CryptoKey]",
        "undefined", "undefined",
    ]  # fmt: skip


async def test_a_key_imported_by_top_level_code_serves_every_call(rt: RuntimeJS) -> None:
    jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(b"k" * 32).rstrip(b"=").decode()}
    prelude = (
        f"const jwk = {json.dumps(jwk)};\n"
        "const keyPromise = crypto.subtle.importKey('jwk', jwk, {name: 'HMAC', hash: 'SHA-256'},"
        " false, ['sign']);\n"
    )
    got = await js(
        rt,
        """const mac = await crypto.subtle.sign('HMAC', await keyPromise, new Uint8Array([1]));
        return new Uint8Array(mac).toHex();""",
        prelude=prelude,
    )
    import hmac

    assert got == hmac.new(b"k" * 32, b"\x01", "sha256").hexdigest()


async def test_many_operations_in_flight_at_once_all_settle(rt: RuntimeJS) -> None:
    got = await js(
        rt,
        """const key = await crypto.subtle.generateKey({name: 'AES-CTR', length: 128}, true, ['encrypt']);
        const alg = {name: 'AES-CTR', counter: new Uint8Array(16), length: 64};
        const results = await Promise.all(Array.from({length: 200}, (_, i) =>
          crypto.subtle.encrypt(alg, key, new Uint8Array([i & 255]))));
        return results.map((r) => new Uint8Array(r)[0] ^ 0).length;""",
    )
    assert got == 200


# ---- the spec's errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (
            "s.importKey('raw', new Uint8Array(16), 'AES-XYZ', false, ['encrypt'])",
            "NotSupportedError",
        ),
        ("s.importKey('raw', new Uint8Array(15), 'AES-GCM', false, ['encrypt'])", "DataError"),
        ("s.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['sign'])", "SyntaxError"),
        ("s.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['fly'])", "TypeError"),
        ("s.importKey('pem', new Uint8Array(16), 'AES-GCM', false, ['encrypt'])", "TypeError"),
        (
            "s.importKey('spki', new Uint8Array(16), 'AES-GCM', false, ['encrypt'])",
            "NotSupportedError",
        ),
        (
            "s.importKey('jwk', {kty: 'RSA', n: 'AQAB', e: 'AQAB'}, {name: 'ECDSA', namedCurve: 'P-256'},"
            " false, ['verify'])",
            "DataError",
        ),
        (
            "s.importKey('raw', new Uint8Array(65), {name: 'ECDSA', namedCurve: 'P-192'}, false, ['verify'])",
            "NotSupportedError",
        ),
        ("s.importKey('raw', new Uint8Array(16), {name: 'HMAC'}, false, ['sign'])", "TypeError"),
        ("s.generateKey({name: 'AES-GCM', length: 100}, false, ['encrypt'])", "OperationError"),
        ("s.generateKey({name: 'AES-GCM', length: 128}, false, [])", "SyntaxError"),
        (
            "s.generateKey({name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]),"
            " hash: 'SHA-256'}, false, ['sign'])",
            "SyntaxError",
        ),
        (
            "s.deriveBits({name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(), info: new Uint8Array()},"
            " await s.importKey('raw', new Uint8Array(8), 'HKDF', false, ['deriveBits']), 7)",
            "OperationError",
        ),
        (
            "s.encrypt({name: 'AES-CBC', iv: new Uint8Array(16)},"
            " await s.generateKey({name: 'AES-GCM', length: 128}, false, ['encrypt']), new Uint8Array(1))",
            "InvalidAccessError",
        ),
        (
            "s.encrypt({name: 'AES-GCM', iv: new Uint8Array(12)},"
            " await s.generateKey({name: 'AES-GCM', length: 128}, false, ['decrypt']), new Uint8Array(1))",
            "InvalidAccessError",
        ),
        (
            "s.encrypt({name: 'AES-GCM'}, await s.generateKey({name: 'AES-GCM', length: 128}, false,"
            " ['encrypt']), new Uint8Array(1))",
            "TypeError",
        ),
        (
            "s.exportKey('raw', (await s.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, true,"
            " ['sign'])).privateKey)",
            "InvalidAccessError",
        ),
        ("s.importKey('raw', new Uint8Array(16), 'PBKDF2', true, ['deriveBits'])", "SyntaxError"),
    ],
)
async def test_errors_are_the_ones_the_spec_names(rt: RuntimeJS, call: str, name: str) -> None:
    error = await js_error(rt, f"const s = crypto.subtle; await {call};")
    assert error.name == name
    assert error.is_dom_exception == (name != "TypeError")


# ---- loaded on first use -------------------------------------------------------------------------

LAZY_PROBE = """
import asyncio, sys
from flux_edge.runtime import FunctionSpec, InvokeRequest, Runtime

async def main():
    runtime = Runtime()
    request = InvokeRequest(method="GET", url="http://x/", headers=[], body=b"", execution_id="e")
    def spec(name, code):
        return FunctionSpec(function_id=name, name=name, version=1, compiled=code)
    trivial = await runtime.invoke(spec("t", "function handler() { return 'ok' }"), request)
    hmac = await runtime.invoke(spec("h", "async function handler() { return new Uint8Array("
        "await crypto.subtle.digest('SHA-256', new Uint8Array(1))).length }"), request)
    before = "cryptography" in sys.modules
    aes = await runtime.invoke(spec("a", "async function handler() { return (await "
        "crypto.subtle.generateKey({name: 'AES-GCM', length: 128}, false, ['encrypt'])).type }"), request)
    print(trivial.body.decode(), hmac.body.decode(), before, aes.body.decode(), "cryptography" in sys.modules)
    await runtime.close(grace=0.5)

asyncio.run(main())
"""


def test_python_crypto_is_imported_only_by_the_first_operation_that_needs_it() -> None:
    out = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["ok", "32", "False", "secret", "True"]
