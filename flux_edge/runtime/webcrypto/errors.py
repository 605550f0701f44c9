"""The errors WebCrypto operations reject with, named as the JavaScript side builds them."""

from __future__ import annotations


class WebCryptoError(Exception):
    """A failure JavaScript turns into a `DOMException` of `name` (or a `TypeError`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def not_supported(message: str) -> WebCryptoError:
    """The algorithm, format or parameter is not one this runtime implements."""
    return WebCryptoError("NotSupportedError", message)


def invalid_access(message: str) -> WebCryptoError:
    """The key may not be used this way (wrong algorithm, usage, type or extractability)."""
    return WebCryptoError("InvalidAccessError", message)


def data_error(message: str) -> WebCryptoError:
    """The key data is malformed or does not match the algorithm."""
    return WebCryptoError("DataError", message)


def operation_error(message: str) -> WebCryptoError:
    """The operation failed for an operation-specific reason (bad IV, tag, length...)."""
    return WebCryptoError("OperationError", message)


def syntax_error(message: str) -> WebCryptoError:
    """The usages requested are not valid for the key."""
    return WebCryptoError("SyntaxError", message)


def type_error(message: str) -> WebCryptoError:
    """A WebIDL conversion failed (a missing member, a value of the wrong type)."""
    return WebCryptoError("TypeError", message)
