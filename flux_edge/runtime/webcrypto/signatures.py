"""sign/verify: RSASSA-PKCS1-v1_5, RSA-PSS, ECDSA (P1363 r||s signatures), Ed25519 and HMAC."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, utils
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

from flux_edge.runtime.webcrypto.ciphers import HASH_CLASSES
from flux_edge.runtime.webcrypto.errors import operation_error
from flux_edge.runtime.webcrypto.normalize import Algorithm
from flux_edge.runtime.webcrypto.records import material, private_key, public_key

_HASHLIB = {
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
    "SHA3-256": "sha3_256",
    "SHA3-384": "sha3_384",
    "SHA3-512": "sha3_512",
}


def _rsa_padding(algorithm: Algorithm, hash_name: str) -> asym_padding.AsymmetricPadding:
    if algorithm.name == "RSA-PSS":
        return asym_padding.PSS(
            mgf=asym_padding.MGF1(HASH_CLASSES[hash_name]()),
            salt_length=algorithm.get("saltLength"),
        )
    return asym_padding.PKCS1v15()


def _curve_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> int:
    return (key.curve.key_size + 7) // 8


_P25519 = 2**255 - 19
# y of the points of order 8 (the other small orders have y 0, 1 and -1).
_Y_ORDER_8 = 0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7
_SMALL_ORDER_Y = {0, 1, _P25519 - 1, _Y_ORDER_8, _P25519 - _Y_ORDER_8}


def small_order_ed25519(encoded: bytes) -> bool:
    """Whether a point encoding (canonical or not) is one of the 8 points of small order.

    OpenSSL verifies signatures under such public keys (any message then verifies with the right
    forged signature); WebCrypto implementations reject them, and so does this one.
    """
    y = (int.from_bytes(encoded, "little") & ((1 << 255) - 1)) % _P25519
    return y in _SMALL_ORDER_Y


def sign(algorithm: Algorithm, record: dict[str, Any], data: bytes) -> bytes:
    """The signature (or MAC) of `data` (usage and name already checked)."""
    name = algorithm.name
    if name == "HMAC":
        digest = _HASHLIB[record["algorithm"]["hash"]["name"]]
        return hmac.new(material(record), data, digest).digest()
    key = private_key(record)
    if isinstance(key, rsa.RSAPrivateKey):
        hash_name = record["algorithm"]["hash"]["name"]
        try:
            return key.sign(data, _rsa_padding(algorithm, hash_name), HASH_CLASSES[hash_name]())
        except ValueError as error:
            raise operation_error(f"{name} signing failed: {error}") from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(data, ec.ECDSA(HASH_CLASSES[algorithm.get("hash")]()))
        r, s = utils.decode_dss_signature(der)
        size = _curve_bytes(key)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign(data)


def verify(algorithm: Algorithm, record: dict[str, Any], signature: bytes, data: bytes) -> bool:
    """Whether `signature` is valid for `data` (usage and name already checked)."""
    name = algorithm.name
    if name == "HMAC":
        digest = _HASHLIB[record["algorithm"]["hash"]["name"]]
        return hmac.compare_digest(hmac.new(material(record), data, digest).digest(), signature)
    key = public_key(record)
    try:
        if isinstance(key, rsa.RSAPublicKey):
            hash_name = record["algorithm"]["hash"]["name"]
            key.verify(
                signature, data, _rsa_padding(algorithm, hash_name), HASH_CLASSES[hash_name]()
            )
        elif isinstance(key, ec.EllipticCurvePublicKey):
            size = _curve_bytes(key)
            if len(signature) != 2 * size:
                return False
            r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            der = utils.encode_dss_signature(r, s)
            key.verify(der, data, ec.ECDSA(HASH_CLASSES[algorithm.get("hash")]()))
        else:
            assert isinstance(key, ed25519.Ed25519PublicKey)
            if len(signature) != 64:
                return False
            if small_order_ed25519(key.public_bytes_raw()) or small_order_ed25519(signature[:32]):
                return False
            key.verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def digest(name: str, data: bytes) -> bytes:
    """A digest by its registered name."""
    return hashlib.new(_HASHLIB[name], data).digest()
