"""Errors the use cases raise; the HTTP layer maps each kind to a status code.

Every error carries a short `title` and a `message` that says what went wrong and how to fix it,
which is exactly the contract's error body.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every expected failure of a use case."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


class InvalidInputError(ServiceError):
    """The request breaks a rule (HTTP 400). `line`/`column` (and `file`, for multi-file
    functions) locate errors in code."""

    def __init__(
        self,
        title: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        file: str | None = None,
    ) -> None:
        super().__init__(title, message)
        self.line = line
        self.column = column
        self.file = file


class NotFoundError(ServiceError):
    """The named function, version or token does not exist (HTTP 404)."""


class ConflictError(ServiceError):
    """The request clashes with existing state, e.g. a duplicate name (HTTP 409)."""
