"""The SubtleCrypto methods subtle.js sends to Python: arguments in, result or error out.

Each method follows the steps of its WebCrypto section (normalize, check the key's algorithm and
usages, then the algorithm's operation). Results and errors are plain JSON for the bridge: bytes as
{"$b": base64}, keys as {"$k": record}, failures as {"error": [name, message]}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flux_edge.runtime.webcrypto import (
    ciphers,
    derivation,
    exporting,
    generation,
    keys,
    signatures,
)
from flux_edge.runtime.webcrypto.errors import (
    WebCryptoError,
    data_error,
    type_error,
)
from flux_edge.runtime.webcrypto.normalize import Algorithm, normalize, to_bytes
from flux_edge.runtime.webcrypto.records import b64, check_usable, record_of


def _wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b": b64(value)}
    return value


def _key_data(fmt: str, raw: Any) -> Any:
    if fmt == "jwk":
        if not isinstance(raw, dict) or "$b" in raw or "$k" in raw:
            raise type_error("importKey: a jwk key must be given as a JsonWebKey object")
        return raw
    if not isinstance(raw, dict) or "$b" not in raw:
        raise type_error(f"importKey: {fmt} key data must be a BufferSource")
    return to_bytes(raw, "keyData")


def _usages(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(u, str) for u in raw):
        raise type_error("keyUsages must be a sequence of KeyUsage strings")
    return list(raw)


def digest(p: dict[str, Any]) -> Any:
    """digest(algorithm, data) for what subtle.js does not hash itself (SHA-3)."""
    data = to_bytes(p.get("data"), "data")
    return _wire(signatures.digest(normalize(p.get("algorithm"), "digest").name, data))


def import_key(p: dict[str, Any]) -> Any:
    """importKey(format, keyData, algorithm, extractable, keyUsages)."""
    fmt = p["format"]
    key_data = _key_data(fmt, p.get("keyData"))
    algorithm = normalize(p.get("algorithm"), "importKey")
    return {
        "$k": keys.import_key(
            fmt, key_data, algorithm, bool(p.get("extractable")), _usages(p.get("usages"))
        )
    }


def export_key(p: dict[str, Any]) -> Any:
    """exportKey(format, key)."""
    return _wire(exporting.export_key(p["format"], record_of(p.get("key"))))


def generate_key(p: dict[str, Any]) -> Any:
    """generateKey(algorithm, extractable, keyUsages)."""
    algorithm = normalize(p.get("algorithm"), "generateKey")
    result = generation.generate_key(
        algorithm, bool(p.get("extractable")), _usages(p.get("usages"))
    )
    if "publicKey" in result:
        return {
            "publicKey": {"$k": result["publicKey"]},
            "privateKey": {"$k": result["privateKey"]},
        }
    return {"$k": result}


def _prepare(
    p: dict[str, Any], op: str, usage: str, key_member: str = "key"
) -> tuple[Algorithm, dict[str, Any]]:
    algorithm = normalize(p.get("algorithm"), op)
    record = record_of(p.get(key_member), key_member)
    check_usable(record, algorithm.name, usage)
    return algorithm, record


def sign(p: dict[str, Any]) -> Any:
    """sign(algorithm, key, data)."""
    data = to_bytes(p.get("data"), "data")
    algorithm, record = _prepare(p, "sign", "sign")
    return _wire(signatures.sign(algorithm, record, data))


def verify(p: dict[str, Any]) -> Any:
    """verify(algorithm, key, signature, data)."""
    signature = to_bytes(p.get("signature"), "signature")
    data = to_bytes(p.get("data"), "data")
    algorithm, record = _prepare(p, "verify", "verify")
    return signatures.verify(algorithm, record, signature, data)


def encrypt(p: dict[str, Any]) -> Any:
    """encrypt(algorithm, key, data)."""
    data = to_bytes(p.get("data"), "data")
    algorithm, record = _prepare(p, "encrypt", "encrypt")
    return _wire(ciphers.crypt(True, algorithm, record, data))


def decrypt(p: dict[str, Any]) -> Any:
    """decrypt(algorithm, key, data)."""
    data = to_bytes(p.get("data"), "data")
    algorithm, record = _prepare(p, "decrypt", "decrypt")
    return _wire(ciphers.crypt(False, algorithm, record, data))


def _length(raw: Any) -> int | None:
    if raw is None:
        return None
    from flux_edge.runtime.webcrypto.normalize import to_integer

    return to_integer(raw, 32, "length", enforce_range=False)


def derive_bits(p: dict[str, Any]) -> Any:
    """deriveBits(algorithm, baseKey, length)."""
    algorithm, record = _prepare(p, "deriveBits", "deriveBits")
    return _wire(derivation.derive_bits(algorithm, record, _length(p.get("length"))))


def derive_key(p: dict[str, Any]) -> Any:
    """deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages)."""
    algorithm = normalize(p.get("algorithm"), "deriveBits")
    derived_type = normalize(p.get("derivedKeyType"), "importKey")
    length_type = normalize(p.get("derivedKeyType"), "get key length")
    record = record_of(p.get("key"))
    check_usable(record, algorithm.name, "deriveKey")
    length = derivation.key_length(length_type)
    secret = derivation.derive_bits(algorithm, record, length)
    usages = _usages(p.get("usages"))
    return {"$k": keys.import_key("raw", secret, derived_type, bool(p.get("extractable")), usages)}


def _wrap_algorithm(raw: Any, wrap_op: str, crypt_op: str) -> Algorithm:
    try:
        return normalize(raw, wrap_op)
    except WebCryptoError as error:
        if error.name != "NotSupportedError":
            raise
        return normalize(raw, crypt_op)


def wrap_key(p: dict[str, Any]) -> Any:
    """wrapKey(format, key, wrappingKey, wrapAlgorithm)."""
    algorithm = _wrap_algorithm(p.get("algorithm"), "wrapKey", "encrypt")
    wrapping = record_of(p.get("wrappingKey"), "wrappingKey")
    check_usable(wrapping, algorithm.name, "wrapKey")
    exported = exporting.export_key(p["format"], record_of(p.get("key")))
    data = json.dumps(exported).encode() if isinstance(exported, dict) else exported
    if algorithm.name == "AES-KW":
        return _wire(ciphers.aes_kw(True, wrapping, data))
    return _wire(ciphers.crypt(True, algorithm, wrapping, data))


def unwrap_key(p: dict[str, Any]) -> Any:
    """unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, ...)."""
    fmt = p["format"]
    wrapped = to_bytes(p.get("wrappedKey"), "wrappedKey")
    algorithm = _wrap_algorithm(p.get("algorithm"), "unwrapKey", "decrypt")
    key_algorithm = normalize(p.get("unwrappedKeyAlgorithm"), "importKey")
    unwrapping = record_of(p.get("unwrappingKey"), "unwrappingKey")
    check_usable(unwrapping, algorithm.name, "unwrapKey")
    if algorithm.name == "AES-KW":
        data = ciphers.aes_kw(False, unwrapping, wrapped)
    else:
        data = ciphers.crypt(False, algorithm, unwrapping, wrapped)
    key_data: Any = data
    if fmt == "jwk":
        try:
            key_data = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise data_error("the unwrapped key is not a JSON Web Key") from None
        if not isinstance(key_data, dict):
            raise data_error("the unwrapped key is not a JSON Web Key")
    extractable = bool(p.get("extractable"))
    return {
        "$k": keys.import_key(fmt, key_data, key_algorithm, extractable, _usages(p.get("usages")))
    }


OPERATIONS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "crypto.digest": digest,
    "crypto.importKey": import_key,
    "crypto.exportKey": export_key,
    "crypto.generateKey": generate_key,
    "crypto.sign": sign,
    "crypto.verify": verify,
    "crypto.encrypt": encrypt,
    "crypto.decrypt": decrypt,
    "crypto.deriveBits": derive_bits,
    "crypto.deriveKey": derive_key,
    "crypto.wrapKey": wrap_key,
    "crypto.unwrapKey": unwrap_key,
}


def perform(kind: str, payload: Any) -> dict[str, Any]:
    """Run one SubtleCrypto method; {"ok": result} or {"error": [name, message]}."""
    operation = OPERATIONS.get(kind)
    if operation is None:
        return {"error": ["NotSupportedError", f"unknown crypto operation {kind!r}"]}
    if not isinstance(payload, dict):
        return {"error": ["TypeError", "invalid crypto arguments"]}
    try:
        return {"ok": operation(payload)}
    except WebCryptoError as error:
        return {"error": [error.name, error.message]}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # Arguments a well-behaved subtle.js never sends (the isolate is not trusted).
        return {"error": ["OperationError", f"{kind[7:]} failed: {type(error).__name__}: {error}"]}
