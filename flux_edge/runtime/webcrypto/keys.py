"""importKey for every algorithm: raw, spki, pkcs8 and jwk (WebCrypto sections 20-33), and the
tables of usages, curves and JWK names that exporting.py and generation.py share."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from flux_edge.runtime.webcrypto.errors import (
    data_error,
    not_supported,
    syntax_error,
)
from flux_edge.runtime.webcrypto.normalize import Algorithm
from flux_edge.runtime.webcrypto.records import (
    PrivateKey,
    PublicKey,
    b64,
    make_record,
    pkcs8,
    spki,
)

AES = ("AES-CTR", "AES-CBC", "AES-GCM", "AES-KW")
SECRET_USAGES = {
    **dict.fromkeys(AES[:3], ("encrypt", "decrypt", "wrapKey", "unwrapKey")),
    "AES-KW": ("wrapKey", "unwrapKey"),
    "HMAC": ("sign", "verify"),
    "HKDF": ("deriveKey", "deriveBits"),
    "PBKDF2": ("deriveKey", "deriveBits"),
}
# (public usages, private usages) of the key-pair algorithms.
PAIR_USAGES = {
    "RSASSA-PKCS1-v1_5": (("verify",), ("sign",)),
    "RSA-PSS": (("verify",), ("sign",)),
    "RSA-OAEP": (("encrypt", "wrapKey"), ("decrypt", "unwrapKey")),
    "ECDSA": (("verify",), ("sign",)),
    "ECDH": ((), ("deriveKey", "deriveBits")),
    "Ed25519": (("verify",), ("sign",)),
    "X25519": ((), ("deriveKey", "deriveBits")),
}
RSA = ("RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP")
CURVES: dict[str, type[ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
}
CURVE_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66}
CURVE_OF_KEY = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
RSA_JWK_ALG = {
    "RSASSA-PKCS1-v1_5": {
        "SHA-1": "RS1",
        "SHA-256": "RS256",
        "SHA-384": "RS384",
        "SHA-512": "RS512",
    },
    "RSA-PSS": {"SHA-1": "PS1", "SHA-256": "PS256", "SHA-384": "PS384", "SHA-512": "PS512"},
    "RSA-OAEP": {
        "SHA-1": "RSA-OAEP",
        "SHA-256": "RSA-OAEP-256",
        "SHA-384": "RSA-OAEP-384",
        "SHA-512": "RSA-OAEP-512",
    },
}
HMAC_JWK_ALG = {"SHA-1": "HS1", "SHA-256": "HS256", "SHA-384": "HS384", "SHA-512": "HS512"}
ECDSA_JWK_ALG = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
JWK_USE = {"ECDH": "enc", "X25519": "enc", "RSA-OAEP": "enc", **dict.fromkeys(AES, "enc")}
HASH_BLOCK_BITS = {"SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024}
RAW = ("raw", "raw-secret")


def check_usages(usages: list[str], allowed: tuple[str, ...], name: str) -> None:
    """SyntaxError if a requested usage is not one the key can have."""
    for usage in usages:
        if usage not in allowed:
            raise syntax_error(f"Cannot create a {name} key with usage '{usage}'")


def b64url_decode(text: Any, what: str) -> bytes:
    """A JWK member's base64url value; DataError if it is missing or malformed."""
    if not isinstance(text, str):
        raise data_error(f"JWK member {what} is missing")
    if "=" in text or "+" in text or "/" in text:
        raise data_error(f"JWK member {what} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise data_error(f"JWK member {what} is not base64url") from None


def b64url(data: bytes) -> str:
    """Bytes as unpadded base64url, as JWK members are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_bytes(value: int, size: int = 0) -> bytes:
    return value.to_bytes(max(size, (value.bit_length() + 7) // 8, 1), "big")


def _b64url_int(jwk: dict[str, Any], member: str) -> int:
    return int.from_bytes(b64url_decode(jwk.get(member), member), "big")


def _check_jwk_common(
    jwk: dict[str, Any], kty: str, name: str, usages: list[str], extractable: bool
) -> None:
    if jwk.get("kty") != kty:
        raise data_error(f"JWK kty must be {kty!r} for a {name} key")
    use = jwk.get("use")
    if usages and use is not None and use != JWK_USE.get(name, "sig"):
        raise data_error(f"JWK use {use!r} does not fit a {name} key")
    key_ops = jwk.get("key_ops")
    if key_ops is not None:
        if len(set(key_ops)) != len(key_ops):
            raise data_error("JWK key_ops holds a value twice")
        missing = [usage for usage in usages if usage not in key_ops]
        if missing:
            raise data_error(f"JWK key_ops does not allow {', '.join(missing)}")
    if jwk.get("ext") is False and extractable:
        raise data_error("JWK ext is false but the key is asked to be extractable")


# ---- import ----------------------------------------------------------------------------------
def import_key(
    fmt: str, key_data: Any, algorithm: Algorithm, extractable: bool, usages: list[str]
) -> dict[str, Any]:
    """The record of the imported key; raises WebCryptoError as the spec says."""
    name = algorithm.name
    if name in SECRET_USAGES:
        record = _import_secret(fmt, key_data, algorithm, extractable, usages)
    elif name in RSA:
        record = _import_rsa(fmt, key_data, algorithm, extractable, usages)
    elif name in ("ECDSA", "ECDH"):
        record = _import_ec(fmt, key_data, algorithm, extractable, usages)
    else:
        record = _import_okp(fmt, key_data, algorithm, extractable, usages)
    if record["type"] in ("secret", "private") and not record["usages"]:
        raise syntax_error(f"Usages cannot be empty when importing a {record['type']} key")
    return record


def _import_secret(
    fmt: str, key_data: Any, algorithm: Algorithm, extractable: bool, usages: list[str]
) -> dict[str, Any]:
    name = algorithm.name
    check_usages(usages, SECRET_USAGES[name], name)
    if name in ("HKDF", "PBKDF2"):
        if fmt not in RAW:
            raise not_supported(f"{name} keys can only be imported as raw")
        if extractable:
            raise syntax_error(f"{name} keys cannot be extractable")
        return make_record("secret", {"name": name}, False, usages, key_data)
    if fmt == "jwk":
        _check_jwk_common(key_data, "oct", name, usages, extractable)
        data = b64url_decode(key_data.get("k"), "k")
    elif fmt in RAW:
        data = key_data
    else:
        raise not_supported(f"{name} keys cannot be imported as {fmt}")
    bits = len(data) * 8
    alg = key_data.get("alg") if fmt == "jwk" else None
    if name == "HMAC":
        hash_name = algorithm.get("hash")
        if bits == 0:
            raise data_error("HMAC key data must not be empty")
        length = algorithm.get("length")
        if length is not None and (length > bits or length <= bits - 8):
            raise data_error(f"HMAC length {length} does not match {len(data)} bytes of key data")
        if alg is not None and alg != HMAC_JWK_ALG[hash_name]:
            raise data_error(f"JWK alg {alg!r} does not match HMAC with {hash_name}")
        algo = {
            "name": name,
            "hash": {"name": hash_name},
            "length": length if length is not None else bits,
        }
        return make_record("secret", algo, extractable, usages, data)
    if bits not in (128, 192, 256):
        raise data_error(f"AES key data must be 128, 192 or 256 bits, not {bits}")
    if alg is not None and alg != f"A{bits}{name[4:]}":
        raise data_error(f"JWK alg {alg!r} does not match a {bits}-bit {name} key")
    return make_record("secret", {"name": name, "length": bits}, extractable, usages, data)


def _pair_usages(name: str, type_: str, usages: list[str]) -> None:
    public_usages, private_usages = PAIR_USAGES[name]
    check_usages(usages, public_usages if type_ == "public" else private_usages, name)


def _load_spki(data: bytes) -> PublicKey:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, TypeError) as error:
        raise data_error(f"not a valid SubjectPublicKeyInfo: {error}") from None
    assert isinstance(key, PublicKey) or True
    return key  # type: ignore[return-value]


def _load_pkcs8(data: bytes) -> PrivateKey:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_der_private_key(data, None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError) as error:
        raise data_error(f"not a valid PKCS #8 PrivateKeyInfo: {error}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        check_rsa_private(key.private_numbers())
    return key  # type: ignore[return-value]


def check_rsa_private(numbers: rsa.RSAPrivateNumbers) -> None:
    """The consistency checks of a private RSA key (as BoringSSL's), without OpenSSL's primality
    tests: those cost ~50 ms a key, and a key that passes these is what the owner gave us."""
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    p, q, d = numbers.p, numbers.q, numbers.d
    consistent = (
        p > 1
        and q > 1
        and p * q == n
        and e > 1
        and (d * e) % (p - 1) == 1 % (p - 1)
        and (d * e) % (q - 1) == 1 % (q - 1)
        and numbers.dmp1 == d % (p - 1)
        and numbers.dmq1 == d % (q - 1)
        and (numbers.iqmp * q) % p == 1
    )
    if not consistent:
        raise data_error("the RSA private key is not consistent (n, e, d, p, q, dp, dq, qi)")


def _import_rsa(
    fmt: str, key_data: Any, algorithm: Algorithm, extractable: bool, usages: list[str]
) -> dict[str, Any]:
    name = algorithm.name
    hash_name = algorithm.get("hash")
    key: Any
    if fmt == "spki":
        _pair_usages(name, "public", usages)
        key = _load_spki(key_data)
    elif fmt == "pkcs8":
        _pair_usages(name, "private", usages)
        key = _load_pkcs8(key_data)
    elif fmt == "jwk":
        _pair_usages(name, "private" if "d" in key_data else "public", usages)
        _check_jwk_common(key_data, "RSA", name, usages, extractable)
        alg = key_data.get("alg")
        if alg is not None and alg != RSA_JWK_ALG[name][hash_name]:
            raise data_error(f"JWK alg {alg!r} does not match {name} with {hash_name}")
        key = _rsa_from_jwk(key_data)
    else:
        raise not_supported(f"{name} keys cannot be imported as {fmt}")
    if not isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        raise data_error(f"the key data is not an RSA key ({name})")
    numbers = (
        key.public_key().public_numbers()
        if isinstance(key, rsa.RSAPrivateKey)
        else key.public_numbers()
    )
    algo = {
        "name": name,
        "modulusLength": numbers.n.bit_length(),
        "publicExponent": {"$b": b64(int_bytes(numbers.e))},
        "hash": {"name": hash_name},
    }
    if isinstance(key, rsa.RSAPrivateKey):
        return make_record("private", algo, extractable, usages, pkcs8(key))
    return make_record("public", algo, extractable, usages, spki(key))


def _rsa_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey | rsa.RSAPrivateKey:
    public = rsa.RSAPublicNumbers(_b64url_int(jwk, "e"), _b64url_int(jwk, "n"))
    try:
        if "d" not in jwk:
            return public.public_key()
        if "oth" in jwk:
            raise not_supported("RSA JWKs with more than two primes are not supported")
        members = [_b64url_int(jwk, m) for m in ("d", "p", "q", "dp", "dq", "qi")]
        d, p, q, dp, dq, qi = members
        numbers = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, public)
        check_rsa_private(numbers)
        return numbers.private_key(unsafe_skip_rsa_key_validation=True)
    except ValueError as error:
        raise data_error(f"invalid RSA JWK: {error}") from None


def _import_ec(
    fmt: str, key_data: Any, algorithm: Algorithm, extractable: bool, usages: list[str]
) -> dict[str, Any]:
    name = algorithm.name
    curve_name = algorithm.get("namedCurve")
    if curve_name not in CURVES:
        raise not_supported(f"Unsupported named curve: {curve_name}")
    curve = CURVES[curve_name]()
    key: Any
    if fmt in ("raw", "raw-public"):
        _pair_usages(name, "public", usages)
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, key_data)
        except ValueError as error:
            raise data_error(f"not a valid {curve_name} point: {error}") from None
    elif fmt == "spki":
        _pair_usages(name, "public", usages)
        key = _load_spki(key_data)
    elif fmt == "pkcs8":
        _pair_usages(name, "private", usages)
        key = _load_pkcs8(key_data)
    elif fmt == "jwk":
        _pair_usages(name, "private" if "d" in key_data else "public", usages)
        _check_jwk_common(key_data, "EC", name, usages, extractable)
        if key_data.get("crv") != curve_name:
            raise data_error(f"JWK crv {key_data.get('crv')!r} is not {curve_name}")
        alg = key_data.get("alg")
        if name == "ECDSA" and alg is not None and alg != ECDSA_JWK_ALG[curve_name]:
            raise data_error(f"JWK alg {alg!r} does not match ECDSA on {curve_name}")
        key = _ec_from_jwk(key_data, curve)
    else:
        raise not_supported(f"{name} keys cannot be imported as {fmt}")
    if not isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        raise data_error(f"the key data is not an EC key ({name})")
    if CURVE_OF_KEY.get(key.curve.name) != curve_name:
        raise data_error(f"the key is on {key.curve.name}, not {curve_name}")
    algo = {"name": name, "namedCurve": curve_name}
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return make_record("private", algo, extractable, usages, pkcs8(key))
    return make_record("public", algo, extractable, usages, spki(key))


def _ec_from_jwk(
    jwk: dict[str, Any], curve: ec.EllipticCurve
) -> ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey:
    size = (curve.key_size + 7) // 8
    x, y = b64url_decode(jwk.get("x"), "x"), b64url_decode(jwk.get("y"), "y")
    if len(x) != size or len(y) != size:
        raise data_error(f"JWK x and y must be {size} bytes")
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve
    )
    try:
        if "d" not in jwk:
            return public.public_key()
        d = b64url_decode(jwk.get("d"), "d")
        if len(d) != size:
            raise data_error(f"JWK d must be {size} bytes")
        return ec.EllipticCurvePrivateNumbers(int.from_bytes(d, "big"), public).private_key()
    except ValueError as error:
        raise data_error(f"invalid EC JWK: {error}") from None


_OKP_TYPES: dict[str, tuple[Any, Any]] = {
    "Ed25519": (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey),
    "X25519": (x25519.X25519PublicKey, x25519.X25519PrivateKey),
}


def _import_okp(
    fmt: str, key_data: Any, algorithm: Algorithm, extractable: bool, usages: list[str]
) -> dict[str, Any]:
    name = algorithm.name
    public_type, private_type = _OKP_TYPES[name]
    key: Any
    if fmt in ("raw", "raw-public"):
        _pair_usages(name, "public", usages)
        if len(key_data) != 32:
            raise data_error(f"{name} public keys are 32 bytes, not {len(key_data)}")
        key = public_type.from_public_bytes(key_data)
    elif fmt == "spki":
        _pair_usages(name, "public", usages)
        key = _load_spki(key_data)
    elif fmt == "pkcs8":
        _pair_usages(name, "private", usages)
        key = _load_pkcs8(key_data)
    elif fmt == "jwk":
        _pair_usages(name, "private" if "d" in key_data else "public", usages)
        _check_jwk_common(key_data, "OKP", name, usages, extractable)
        if key_data.get("crv") != name:
            raise data_error(f"JWK crv {key_data.get('crv')!r} is not {name}")
        alg = key_data.get("alg")
        if name == "Ed25519" and alg is not None and alg not in ("Ed25519", "EdDSA"):
            raise data_error(f"JWK alg {alg!r} does not fit an Ed25519 key")
        x = b64url_decode(key_data.get("x"), "x")
        if len(x) != 32:
            raise data_error("JWK x must be 32 bytes")
        if "d" in key_data:
            d = b64url_decode(key_data.get("d"), "d")
            if len(d) != 32:
                raise data_error("JWK d must be 32 bytes")
            key = private_type.from_private_bytes(d)
            if key.public_key().public_bytes_raw() != x:
                raise data_error("JWK d does not belong to x")
        else:
            key = public_type.from_public_bytes(x)
    else:
        raise not_supported(f"{name} keys cannot be imported as {fmt}")
    if isinstance(key, private_type):
        return make_record("private", {"name": name}, extractable, usages, pkcs8(key))
    if isinstance(key, public_type):
        return make_record("public", {"name": name}, extractable, usages, spki(key))
    raise data_error(f"the key data is not an {name} key")
