"""The HTTP client deploys fetch with (npm registry, JSR registry, URL imports), and what a failed
fetch tells the user.

TLS: the public CAs (certifi's bundle, or `SSL_CERT_FILE` when set, as httpx does), plus the CAs of
FLUX_EDGE_CA_FILE for a private registry or mirror. A certificate that does not verify fails the
deploy with the reason (docs/modules.md, "TLS").
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Final

import certifi
import httpx

from flux_edge.runtime.types import CodeError

TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH: Final = frozenset({62, 64})


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The TLS context deploy fetches verify servers with."""
    base = os.environ.get("SSL_CERT_FILE") or certifi.where()
    context = ssl.create_default_context(cafile=base)
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise CodeError(
                f"FLUX_EDGE_CA_FILE {str(ca_file)!r} cannot be used: {exc.__class__.__name__}: {exc}"
            ) from None
    return context


def new_client(ca_file: Path | None = None) -> httpx.Client:
    """An HTTP client for deploy fetches (redirects followed, TLS as tls_context)."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=True, verify=tls_context(ca_file))


def describe_failure(exc: httpx.HTTPError) -> str:
    """Why a fetch failed, in words: a TLS verification failure names the reason and the fix."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = (cause.verify_message or str(cause)).rstrip(".")
            if cause.verify_code in _NAME_MISMATCH:
                return f"its TLS certificate is not valid for the host ({reason})"
            return (
                f"its TLS certificate is not trusted ({reason}); a private CA can be trusted "
                "with FLUX_EDGE_CA_FILE"
            )
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({cause.reason or cause})"
        cause = cause.__cause__ or cause.__context__
    detail = str(exc)
    return f"{exc.__class__.__name__}: {detail}" if detail else exc.__class__.__name__
