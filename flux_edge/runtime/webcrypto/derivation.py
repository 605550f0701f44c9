"""deriveBits (ECDH, X25519, HKDF, PBKDF2) and the "get key length" of deriveKey."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from flux_edge.runtime.webcrypto.ciphers import HASH_CLASSES
from flux_edge.runtime.webcrypto.errors import invalid_access, operation_error, type_error
from flux_edge.runtime.webcrypto.keys import HASH_BLOCK_BITS
from flux_edge.runtime.webcrypto.normalize import Algorithm
from flux_edge.runtime.webcrypto.records import material, private_key, public_key, record_of

# PBKDF2 runs on a thread that a call's timeout cannot stop: a bound keeps one call from holding
# it for minutes (OWASP asks for 600,000 iterations with SHA-256; this is 16 times that).
MAX_PBKDF2_ITERATIONS = 10_000_000


def derive_bits(algorithm: Algorithm, record: dict[str, Any], length: int | None) -> bytes:
    """The spec's derive bits operation (usage and name already checked)."""
    name = algorithm.name
    if name in ("ECDH", "X25519"):
        secret = _agree(algorithm, record)
        if length is None:
            return secret
        if length > len(secret) * 8:
            raise operation_error(
                f"{name} gives {len(secret) * 8} bits, fewer than the {length} asked"
            )
        out = bytearray(secret[: (length + 7) // 8])
        if length % 8:
            out[-1] &= (0xFF << (8 - length % 8)) & 0xFF
        return bytes(out)
    if length is None:
        raise operation_error(f"{name} needs a length")
    if length % 8:
        raise operation_error(f"{name} length must be a multiple of 8")
    if length == 0:
        return b""
    hash_class = HASH_CLASSES[algorithm.get("hash")]
    key = material(record)
    if name == "HKDF":
        if length // 8 > 255 * hash_class().digest_size:
            raise operation_error("HKDF length is more than 255 times the hash length")
        return HKDF(hash_class(), length // 8, algorithm.get("salt"), algorithm.get("info")).derive(
            key
        )
    iterations = algorithm.get("iterations")
    if iterations == 0:
        raise operation_error("PBKDF2 iterations must not be zero")
    if iterations > MAX_PBKDF2_ITERATIONS:
        raise operation_error(f"PBKDF2 iterations above {MAX_PBKDF2_ITERATIONS} are refused")
    return PBKDF2HMAC(hash_class(), length // 8, algorithm.get("salt"), iterations).derive(key)


def _agree(algorithm: Algorithm, record: dict[str, Any]) -> bytes:
    peer = record_of({"$k": algorithm.get("public")}, "public")
    if peer["type"] != "public":
        raise invalid_access("The public member must be a public key")
    if peer["algorithm"].get("name") != algorithm.name:
        raise invalid_access(f"The public key is not an {algorithm.name} key")
    if record["type"] != "private":
        raise invalid_access(f"{algorithm.name} derives from a private key")
    mine = private_key(record)
    theirs = public_key(peer)
    if isinstance(mine, ec.EllipticCurvePrivateKey):
        if peer["algorithm"].get("namedCurve") != record["algorithm"].get("namedCurve"):
            raise invalid_access("The public key is on another curve")
        assert isinstance(theirs, ec.EllipticCurvePublicKey)
        return mine.exchange(ec.ECDH(), theirs)
    assert isinstance(mine, x25519.X25519PrivateKey)
    assert isinstance(theirs, x25519.X25519PublicKey)
    try:
        return mine.exchange(theirs)
    except ValueError:
        raise operation_error(
            "X25519: the shared secret is all zero (a small-order point)"
        ) from None


def key_length(algorithm: Algorithm) -> int | None:
    """The spec's "get key length" of deriveKey's derivedKeyType."""
    name = algorithm.name
    if name in ("HKDF", "PBKDF2"):
        return None
    length = algorithm.get("length")
    if name == "HMAC":
        if length is None:
            return HASH_BLOCK_BITS[algorithm.get("hash")]
        if length == 0:
            raise type_error("HMAC length must not be zero")
        return int(length)
    if length not in (128, 192, 256):
        raise operation_error(f"AES key length must be 128, 192 or 256, not {length}")
    return int(length)
