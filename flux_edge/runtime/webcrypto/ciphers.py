"""encrypt/decrypt (AES-CTR, AES-CBC, AES-GCM, RSA-OAEP) and AES-KW wrapping (WebCrypto 24-30)."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, keywrap, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from flux_edge.runtime.webcrypto.errors import operation_error
from flux_edge.runtime.webcrypto.normalize import Algorithm
from flux_edge.runtime.webcrypto.records import material, private_key, public_key

HASH_CLASSES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA-1": hashes.SHA1,
    "SHA-256": hashes.SHA256,
    "SHA-384": hashes.SHA384,
    "SHA-512": hashes.SHA512,
}
_GCM_TAG_BITS = (32, 64, 96, 104, 112, 120, 128)


def crypt(encrypt: bool, algorithm: Algorithm, record: dict[str, Any], data: bytes) -> bytes:
    """Encrypt or decrypt `data` with the key of `record` (usage and name already checked)."""
    name = algorithm.name
    if name == "RSA-OAEP":
        return _rsa_oaep(encrypt, algorithm, record, data)
    key = material(record)
    if name == "AES-CBC":
        return _aes_cbc(encrypt, algorithm.get("iv"), key, data)
    if name == "AES-CTR":
        return _aes_ctr(algorithm.get("counter"), algorithm.get("length"), key, data)
    return _aes_gcm(encrypt, algorithm, key, data)


def _aes_cbc(encrypt: bool, iv: bytes, key: bytes, data: bytes) -> bytes:
    if len(iv) != 16:
        raise operation_error("AES-CBC needs a 16-byte iv")
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    if encrypt:
        padder = padding.PKCS7(128).padder()
        encryptor = cipher.encryptor()
        return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
    if not data or len(data) % 16:
        raise operation_error("AES-CBC ciphertext must be a non-empty multiple of 16 bytes")
    decryptor = cipher.decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise operation_error("AES-CBC decryption failed: bad padding") from None


def _aes_ctr(counter: bytes, length: int, key: bytes, data: bytes) -> bytes:
    if len(counter) != 16:
        raise operation_error("AES-CTR needs a 16-byte counter")
    if length == 0 or length > 128:
        raise operation_error("AES-CTR length must be between 1 and 128")
    blocks = (len(data) + 15) // 16
    if length < 128 and blocks > 2**length:
        raise operation_error("AES-CTR: the message is longer than the counter allows")
    value = int.from_bytes(counter, "big")
    mask = (1 << length) - 1
    # The counter is the low `length` bits: it wraps there, not at 128 bits as modes.CTR does, so
    # the message is split where it would wrap.
    before_wrap = (mask - (value & mask) + 1) * 16
    first, rest = data[:before_wrap], data[before_wrap:]
    out = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor().update(first)
    if rest:
        wrapped = (value & ~mask).to_bytes(16, "big")
        out += Cipher(algorithms.AES(key), modes.CTR(wrapped)).encryptor().update(rest)
    return out


def _aes_gcm(encrypt: bool, algorithm: Algorithm, key: bytes, data: bytes) -> bytes:
    iv = algorithm.get("iv")
    aad = algorithm.get("additionalData")
    tag_bits = algorithm.get("tagLength", 128)
    if tag_bits not in _GCM_TAG_BITS:
        raise operation_error(f"AES-GCM tagLength {tag_bits} is not one of {_GCM_TAG_BITS}")
    if len(iv) == 0:
        raise operation_error("AES-GCM needs a non-empty iv")
    tag_bytes = tag_bits // 8
    if encrypt:
        encryptor = Cipher(algorithms.AES(key), modes.GCM(iv, min_tag_length=4)).encryptor()
        if aad is not None:
            encryptor.authenticate_additional_data(aad)
        out = encryptor.update(data) + encryptor.finalize()
        return out + encryptor.tag[:tag_bytes]
    if len(data) < tag_bytes:
        raise operation_error("AES-GCM ciphertext is shorter than its tag")
    body, tag = data[: len(data) - tag_bytes], data[len(data) - tag_bytes :]
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=4)).decryptor()
    if aad is not None:
        decryptor.authenticate_additional_data(aad)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise operation_error("AES-GCM decryption failed: the tag does not match") from None


def _rsa_oaep(encrypt: bool, algorithm: Algorithm, record: dict[str, Any], data: bytes) -> bytes:
    hash_class = HASH_CLASSES[record["algorithm"]["hash"]["name"]]
    oaep = asym_padding.OAEP(
        mgf=asym_padding.MGF1(hash_class()),
        algorithm=hash_class(),
        label=algorithm.get("label") or None,
    )
    try:
        if encrypt:
            key = public_key(record)
            assert isinstance(key, rsa.RSAPublicKey)
            return key.encrypt(data, oaep)
        private = private_key(record)
        assert isinstance(private, rsa.RSAPrivateKey)
        return private.decrypt(data, oaep)
    except ValueError as error:
        raise operation_error(f"RSA-OAEP failed: {error}") from None


def aes_kw(wrap: bool, record: dict[str, Any], data: bytes) -> bytes:
    """AES key wrap (RFC 3394) with the key of `record`."""
    key = material(record)
    if wrap:
        if len(data) % 8 or len(data) < 16:
            raise operation_error("AES-KW wraps a multiple of 8 bytes, at least 16")
        return keywrap.aes_key_wrap(key, data)
    try:
        return keywrap.aes_key_unwrap(key, data)
    except (keywrap.InvalidUnwrap, ValueError):
        raise operation_error("AES-KW unwrap failed: the integrity check does not match") from None
