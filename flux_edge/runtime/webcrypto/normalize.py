"""Algorithm normalization (WebCrypto section 18.4) over the plain values JavaScript sends.

subtle.js converts every argument at call time, generically: an algorithm becomes a dict of the
members any WebCrypto dictionary has, a BufferSource `{"$b": base64}`, a CryptoKey `{"$k": record}`,
another object `{"$bad": ...}`. Here each algorithm's dictionary type is applied: required members,
WebIDL numeric conversions, and the hash member normalized in its turn.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Any

from flux_edge.runtime.webcrypto.errors import not_supported, type_error

HASHES = ("SHA-1", "SHA-256", "SHA-384", "SHA-512")
# digest() only: no other algorithm of the spec takes a SHA-3 hash.
SHA3 = ("SHA3-256", "SHA3-384", "SHA3-512")

# Per operation: registered algorithm name -> its parameter dictionary (None: plain Algorithm).
_RSA_HASHED_IMPORT = "RsaHashedImportParams"
_SUPPORTED: dict[str, dict[str, str | None]] = {
    "digest": dict.fromkeys(HASHES + SHA3),
    "hash": dict.fromkeys(HASHES),
    "importKey": {
        "RSASSA-PKCS1-v1_5": _RSA_HASHED_IMPORT,
        "RSA-PSS": _RSA_HASHED_IMPORT,
        "RSA-OAEP": _RSA_HASHED_IMPORT,
        "ECDSA": "EcKeyImportParams",
        "ECDH": "EcKeyImportParams",
        "Ed25519": None,
        "X25519": None,
        "AES-CTR": None,
        "AES-CBC": None,
        "AES-GCM": None,
        "AES-KW": None,
        "HMAC": "HmacImportParams",
        "HKDF": None,
        "PBKDF2": None,
    },
    "generateKey": {
        "RSASSA-PKCS1-v1_5": "RsaHashedKeyGenParams",
        "RSA-PSS": "RsaHashedKeyGenParams",
        "RSA-OAEP": "RsaHashedKeyGenParams",
        "ECDSA": "EcKeyGenParams",
        "ECDH": "EcKeyGenParams",
        "Ed25519": None,
        "X25519": None,
        "AES-CTR": "AesKeyGenParams",
        "AES-CBC": "AesKeyGenParams",
        "AES-GCM": "AesKeyGenParams",
        "AES-KW": "AesKeyGenParams",
        "HMAC": "HmacKeyGenParams",
    },
    "sign": {
        "RSASSA-PKCS1-v1_5": None,
        "RSA-PSS": "RsaPssParams",
        "ECDSA": "EcdsaParams",
        "Ed25519": None,
        "HMAC": None,
    },
    "encrypt": {
        "RSA-OAEP": "RsaOaepParams",
        "AES-CTR": "AesCtrParams",
        "AES-CBC": "AesCbcParams",
        "AES-GCM": "AesGcmParams",
    },
    "deriveBits": {
        "ECDH": "EcdhKeyDeriveParams",
        "X25519": "EcdhKeyDeriveParams",
        "HKDF": "HkdfParams",
        "PBKDF2": "Pbkdf2Params",
    },
    "get key length": {
        "AES-CTR": "AesDerivedKeyParams",
        "AES-CBC": "AesDerivedKeyParams",
        "AES-GCM": "AesDerivedKeyParams",
        "AES-KW": "AesDerivedKeyParams",
        "HMAC": "HmacImportParams",
        "HKDF": None,
        "PBKDF2": None,
    },
    "wrapKey": {"AES-KW": None},
}
_SUPPORTED["verify"] = _SUPPORTED["sign"]
_SUPPORTED["decrypt"] = _SUPPORTED["encrypt"]
_SUPPORTED["unwrapKey"] = _SUPPORTED["wrapKey"]

# Member kinds: "hash" (HashAlgorithmIdentifier), "bytes" (BufferSource), "key" (CryptoKey),
# "string", and (bits, enforce_range) for WebIDL integers.
_MemberType = str | tuple[int, bool]
_DICTIONARIES: dict[str, dict[str, tuple[_MemberType, bool]]] = {
    _RSA_HASHED_IMPORT: {"hash": ("hash", True)},
    "EcKeyImportParams": {"namedCurve": ("string", True)},
    "HmacImportParams": {"hash": ("hash", True), "length": ((32, True), False)},
    "RsaHashedKeyGenParams": {
        "modulusLength": ((32, True), True),
        "publicExponent": ("bytes", True),
        "hash": ("hash", True),
    },
    "EcKeyGenParams": {"namedCurve": ("string", True)},
    "AesKeyGenParams": {"length": ((16, True), True)},
    "HmacKeyGenParams": {"hash": ("hash", True), "length": ((32, True), False)},
    "RsaPssParams": {"saltLength": ((32, True), True)},
    "EcdsaParams": {"hash": ("hash", True)},
    "RsaOaepParams": {"label": ("bytes", False)},
    "AesCtrParams": {"counter": ("bytes", True), "length": ((8, True), True)},
    "AesCbcParams": {"iv": ("bytes", True)},
    "AesGcmParams": {
        "iv": ("bytes", True),
        "additionalData": ("bytes", False),
        "tagLength": ((8, True), False),
    },
    "EcdhKeyDeriveParams": {"public": ("key", True)},
    "HkdfParams": {"hash": ("hash", True), "salt": ("bytes", True), "info": ("bytes", True)},
    "Pbkdf2Params": {
        "salt": ("bytes", True),
        "iterations": ((32, True), True),
        "hash": ("hash", True),
    },
    "AesDerivedKeyParams": {"length": ((16, True), True)},
}


@dataclass
class Algorithm:
    """A normalized algorithm: its registered name and its converted parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def get(self, member: str, default: Any = None) -> Any:
        """A parameter's converted value, or `default` when it was not given."""
        return self.params.get(member, default)


def registered_name(raw: Any, op: str) -> tuple[str, dict[str, Any]]:
    """The registered name for `raw` under `op` (case-insensitive) and the raw member dict."""
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise type_error("Algorithm: the name member is required")
    name = raw["name"]
    for candidate in _SUPPORTED[op]:
        if candidate.upper() == name.upper():
            return candidate, raw
    what = "a hash" if op == "hash" else op
    raise not_supported(f"Unrecognized or unsupported algorithm for {what}: {name}")


def normalize(raw: Any, op: str) -> Algorithm:
    """The spec's "normalize an algorithm" for operation `op`; raises WebCryptoError."""
    name, members = registered_name(raw, op)
    dictionary = _SUPPORTED[op][name]
    algorithm = Algorithm(name)
    if dictionary is None:
        return algorithm
    for member, (kind, required) in _DICTIONARIES[dictionary].items():
        value = members.get(member)
        if value is None and member not in members:
            if required:
                raise type_error(f"{dictionary}: the {member} member is required")
            continue
        algorithm.params[member] = _convert(value, kind, f"{dictionary}.{member}")
    return algorithm


def _convert(value: Any, kind: _MemberType, what: str) -> Any:
    if kind == "hash":
        return normalize(value if isinstance(value, dict) else _to_string(value), "hash").name
    if kind == "bytes":
        return to_bytes(value, what)
    if kind == "key":
        if not isinstance(value, dict) or "$k" not in value:
            raise type_error(f"{what} is not a CryptoKey")
        return value["$k"]
    if kind == "string":
        return _to_string(value)
    assert isinstance(kind, tuple)
    return to_integer(value, kind[0], what, enforce_range=kind[1])


def to_bytes(value: Any, what: str) -> bytes:
    """A BufferSource sent as {"$b": base64}; anything else is a TypeError."""
    if not isinstance(value, dict) or not isinstance(value.get("$b"), str):
        raise type_error(f"{what} is not an ArrayBuffer, a typed array or a DataView")
    return base64.b64decode(value["$b"])


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_string(float(value))
    if isinstance(value, dict) and "$n" in value:
        return str(value["$n"])
    return "[object Object]"


def _number_string(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


def _to_number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, dict) and "$n" in value:
        return float(str(value["$n"]).replace("Infinity", "inf"))
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return (
                float(int(text, 0)) if text.lower().startswith(("0x", "0o", "0b")) else float(text)
            )
        except ValueError:
            return math.nan
    return math.nan


def to_integer(value: Any, bits: int, what: str, *, enforce_range: bool) -> int:
    """WebIDL conversion to an unsigned integer of `bits` bits ([EnforceRange] if asked)."""
    number = _to_number(value)
    if enforce_range:
        if math.isnan(number) or math.isinf(number):
            raise type_error(f"{what} is not a finite number")
        integer = int(number)
        if integer < 0 or integer >= 2**bits:
            raise type_error(f"{what} is outside the range of an unsigned {bits}-bit integer")
        return integer
    if math.isnan(number) or math.isinf(number):
        return 0
    result: int = int(number) % 2**bits
    return result


def hash_of(algorithm_record: dict[str, Any]) -> str:
    """The hash name a key's algorithm record holds."""
    return str(algorithm_record["hash"]["name"])
