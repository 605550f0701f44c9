"""generateKey: AES, HMAC, RSA (the three RSA algorithms), EC (ECDSA, ECDH), Ed25519 and X25519."""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from flux_edge.runtime.webcrypto.errors import operation_error, syntax_error
from flux_edge.runtime.webcrypto.keys import (
    CURVES,
    HASH_BLOCK_BITS,
    PAIR_USAGES,
    RSA,
    SECRET_USAGES,
    check_usages,
)
from flux_edge.runtime.webcrypto.normalize import Algorithm
from flux_edge.runtime.webcrypto.records import b64, make_record, pkcs8, spki

# Key generation runs on a thread that a call's timeout cannot stop: 16384-bit RSA takes minutes.
MAX_RSA_BITS = 8192


def generate_key(algorithm: Algorithm, extractable: bool, usages: list[str]) -> Any:
    """A secret key record, or {"publicKey": record, "privateKey": record}."""
    name = algorithm.name
    if name in SECRET_USAGES:
        check_usages(usages, SECRET_USAGES[name], name)
        if name == "HMAC":
            hash_name = algorithm.get("hash")
            bits = algorithm.get("length")
            if bits is None:
                bits = HASH_BLOCK_BITS[hash_name]
            if bits == 0:
                raise operation_error("HMAC key length must not be zero")
            algo: dict[str, Any] = {"name": name, "hash": {"name": hash_name}, "length": bits}
        else:
            bits = algorithm.get("length")
            if bits not in (128, 192, 256):
                raise operation_error(f"AES key length must be 128, 192 or 256, not {bits}")
            algo = {"name": name, "length": bits}
        if not usages:
            raise syntax_error("Usages cannot be empty for a secret key")
        data = bytearray(os.urandom((bits + 7) // 8))
        if bits % 8:
            data[-1] &= (0xFF << (8 - bits % 8)) & 0xFF
        return make_record("secret", algo, extractable, usages, bytes(data))
    public_usages, private_usages = PAIR_USAGES[name]
    check_usages(usages, public_usages + private_usages, name)
    key: Any
    if name in RSA:
        bits = algorithm.get("modulusLength")
        exponent = int.from_bytes(algorithm.get("publicExponent"), "big")
        if exponent not in (3, 65537):
            raise operation_error("RSA publicExponent must be 3 or 65537")
        if bits < 1024 or bits > MAX_RSA_BITS or bits % 8:
            raise operation_error(
                f"RSA modulusLength must be a multiple of 8 from 1024 to {MAX_RSA_BITS}"
            )
        key = rsa.generate_private_key(exponent, bits)
        algo = {
            "name": name,
            "modulusLength": bits,
            "publicExponent": {
                "$b": b64(exponent.to_bytes((exponent.bit_length() + 7) // 8, "big"))
            },
            "hash": {"name": algorithm.get("hash")},
        }
    elif name in ("ECDSA", "ECDH"):
        curve = algorithm.get("namedCurve")
        if curve not in CURVES:
            from flux_edge.runtime.webcrypto.errors import not_supported

            raise not_supported(f"Unsupported named curve: {curve}")
        key = ec.generate_private_key(CURVES[curve]())
        algo = {"name": name, "namedCurve": curve}
    elif name == "Ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        algo = {"name": name}
    else:
        key = x25519.X25519PrivateKey.generate()
        algo = {"name": name}
    private_record = make_record(
        "private", algo, extractable, [u for u in usages if u in private_usages], pkcs8(key)
    )
    if not private_record["usages"]:
        raise syntax_error("The private key of the pair would have no usages")
    public_record = make_record(
        "public", algo, True, [u for u in usages if u in public_usages], spki(key.public_key())
    )
    return {"publicKey": public_record, "privateKey": private_record}
