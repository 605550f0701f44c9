"""exportKey for every algorithm: raw, spki, pkcs8 and jwk (WebCrypto sections 20-33)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from flux_edge.runtime.webcrypto.errors import invalid_access, not_supported
from flux_edge.runtime.webcrypto.keys import (
    CURVE_BYTES,
    HMAC_JWK_ALG,
    RAW,
    RSA,
    RSA_JWK_ALG,
    b64url,
    int_bytes,
)
from flux_edge.runtime.webcrypto.records import material, private_key, public_key


def export_key(fmt: str, record: dict[str, Any]) -> Any:
    """The exported key: bytes, or a JWK dict; raises WebCryptoError as the spec says."""
    name = record["algorithm"]["name"]
    if name in ("HKDF", "PBKDF2"):
        raise not_supported(f"{name} keys cannot be exported")
    if not record["extractable"]:
        raise invalid_access("The key is not extractable")
    type_ = record["type"]
    if type_ == "secret":
        if fmt in RAW:
            return material(record)
        if fmt == "jwk":
            return _secret_jwk(record)
        raise not_supported(f"{name} keys cannot be exported as {fmt}")
    if fmt == "spki":
        if type_ != "public":
            raise invalid_access("Only public keys can be exported as spki")
        return material(record)
    if fmt == "pkcs8":
        if type_ != "private":
            raise invalid_access("Only private keys can be exported as pkcs8")
        return material(record)
    if fmt in ("raw", "raw-public") and name not in RSA:
        if type_ != "public":
            raise invalid_access("Only public keys can be exported as raw")
        key = public_key(record)
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        assert isinstance(key, (ed25519.Ed25519PublicKey, x25519.X25519PublicKey))
        return key.public_bytes_raw()
    if fmt == "jwk":
        return _pair_jwk(record)
    raise not_supported(f"{name} keys cannot be exported as {fmt}")


def _with_common(jwk: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    jwk["key_ops"] = list(record["usages"])
    jwk["ext"] = record["extractable"]
    return jwk


def _secret_jwk(record: dict[str, Any]) -> dict[str, Any]:
    algo = record["algorithm"]
    data = material(record)
    jwk: dict[str, Any] = {"kty": "oct", "k": b64url(data)}
    if algo["name"] == "HMAC":
        jwk["alg"] = HMAC_JWK_ALG[algo["hash"]["name"]]
    else:
        jwk["alg"] = f"A{len(data) * 8}{algo['name'][4:]}"
    return _with_common(jwk, record)


def _pair_jwk(record: dict[str, Any]) -> dict[str, Any]:
    algo = record["algorithm"]
    name = algo["name"]
    key: Any = private_key(record) if record["type"] == "private" else public_key(record)
    jwk: dict[str, Any]
    if name in RSA:
        pub = (
            key.public_key().public_numbers()
            if record["type"] == "private"
            else key.public_numbers()
        )
        jwk = {"kty": "RSA", "alg": RSA_JWK_ALG[name][algo["hash"]["name"]]}
        jwk["n"], jwk["e"] = b64url(int_bytes(pub.n)), b64url(int_bytes(pub.e))
        if record["type"] == "private":
            priv = key.private_numbers()
            for member, value in (("d", priv.d), ("p", priv.p), ("q", priv.q)):
                jwk[member] = b64url(int_bytes(value))
            for member, value in (("dp", priv.dmp1), ("dq", priv.dmq1), ("qi", priv.iqmp)):
                jwk[member] = b64url(int_bytes(value))
    elif name in ("ECDSA", "ECDH"):
        curve = algo["namedCurve"]
        size = CURVE_BYTES[curve]
        pub = (
            key.public_key().public_numbers()
            if record["type"] == "private"
            else key.public_numbers()
        )
        jwk = {
            "kty": "EC",
            "crv": curve,
            "x": b64url(int_bytes(pub.x, size)),
            "y": b64url(int_bytes(pub.y, size)),
        }
        if record["type"] == "private":
            jwk["d"] = b64url(int_bytes(key.private_numbers().private_value, size))
    else:
        public = key.public_key() if record["type"] == "private" else key
        jwk = {"kty": "OKP", "crv": name, "x": b64url(public.public_bytes_raw())}
        if name == "Ed25519":
            jwk["alg"] = "Ed25519"
        if record["type"] == "private":
            jwk["d"] = b64url(key.private_bytes_raw())
    return _with_common(jwk, record)
