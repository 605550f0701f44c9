"""Key records: what a CryptoKey holds privately in JavaScript, and the key objects they load as.

A record is plain JSON: type, algorithm (as `CryptoKey.algorithm` shows it), extractable, usages and
the key material (base64: raw bytes for a secret key, SPKI DER for a public key, PKCS #8 DER for a
private key). Python keeps nothing between operations: each one loads the keys it is sent.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from flux_edge.runtime.webcrypto.errors import invalid_access, operation_error, type_error

USAGE_ORDER = (
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "deriveKey",
    "deriveBits",
    "wrapKey",
    "unwrapKey",
)

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | x25519.X25519PrivateKey
)
PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | x25519.X25519PublicKey
)


def b64(data: bytes) -> str:
    """Bytes as the base64 text the JSON bridge carries."""
    return base64.b64encode(data).decode("ascii")


def make_record(
    type_: str, algorithm: dict[str, Any], extractable: bool, usages: list[str], data: bytes
) -> dict[str, Any]:
    """A key record; usages deduplicated, in the spec's order."""
    return {
        "type": type_,
        "algorithm": algorithm,
        "extractable": extractable,
        "usages": [usage for usage in USAGE_ORDER if usage in usages],
        "data": b64(data),
    }


def record_of(value: Any, what: str = "key") -> dict[str, Any]:
    """The record of a CryptoKey argument ({"$k": record}), checked for shape."""
    record = value.get("$k") if isinstance(value, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("data"), str):
        raise type_error(f"{what} is not a CryptoKey")
    if not isinstance(record.get("algorithm"), dict) or not isinstance(record.get("usages"), list):
        raise type_error(f"{what} is not a CryptoKey")
    return record


def material(record: dict[str, Any]) -> bytes:
    """The raw bytes of a record's key material."""
    return base64.b64decode(record["data"])


def check_usable(record: dict[str, Any], name: str, usage: str) -> None:
    """The spec's checks before an operation: same algorithm, and the usage is allowed."""
    if record["algorithm"].get("name") != name:
        raise invalid_access(f"The key is a {record['algorithm'].get('name')} key, not {name}")
    if usage not in record["usages"]:
        raise invalid_access(f"The key does not allow the '{usage}' usage")


def private_key(record: dict[str, Any]) -> PrivateKey:
    """The private key object of a 'private' record."""
    if record["type"] != "private":
        raise invalid_access("The operation needs a private key")
    return _load_private(record["data"])


def public_key(record: dict[str, Any]) -> PublicKey:
    """The public key object of a 'public' record."""
    if record["type"] != "public":
        raise invalid_access("The operation needs a public key")
    return _load_public(record["data"])


# Loading (and, for RSA, checking) a DER key costs more than most operations with it: the same
# key used again, as a JWT verifier does, is loaded once. Keyed by the material itself, so only a
# caller holding the key's bytes can hit its entry.
@lru_cache(maxsize=64)
def _load_private(data: str) -> PrivateKey:
    try:
        key = serialization.load_der_private_key(
            base64.b64decode(data), None, unsafe_skip_rsa_key_validation=True
        )
    except ValueError as error:
        raise operation_error(f"cannot load the private key: {error}") from None
    assert isinstance(key, PrivateKey)
    return key


@lru_cache(maxsize=64)
def _load_public(data: str) -> PublicKey:
    try:
        key = serialization.load_der_public_key(base64.b64decode(data))
    except ValueError as error:
        raise operation_error(f"cannot load the public key: {error}") from None
    assert isinstance(key, PublicKey)
    return key


def spki(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo DER of a public key."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pkcs8(key: PrivateKey) -> bytes:
    """PKCS #8 PrivateKeyInfo DER of a private key (unencrypted)."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
