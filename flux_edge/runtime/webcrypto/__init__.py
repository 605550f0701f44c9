"""WebCrypto's privileged maths for `crypto.subtle` (everything but SHA-1/2 digests and HMAC
signing), on `cryptography`.

Imported on the first `crypto.*` host operation, so a server whose functions never use WebCrypto
does not load it. `run` is the entry point the isolate calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

# PBKDF2 above this many iterations goes to a worker thread (100,000 SHA-256 rounds take ~30 ms).
_INLINE_PBKDF2_ITERATIONS = 10_000
# Arguments larger than this (base64 characters) go to a worker thread.
_INLINE_PAYLOAD_CHARS = 256 * 1024


def _slow(kind: str, payload: Any) -> bool:
    """Whether an operation may take long enough to stall the event loop (RSA key generation,
    RSA private-key operations, long PBKDF2, large data); the rest, well under a millisecond,
    runs inline, sparing a thread hand-off that costs more than the work on a loaded machine."""
    if not isinstance(payload, dict):
        return False
    algorithm = payload.get("algorithm")
    name = str(algorithm.get("name", "") if isinstance(algorithm, dict) else algorithm).upper()
    if kind == "crypto.generateKey":
        return name.startswith("RSA")
    if kind in ("crypto.deriveBits", "crypto.deriveKey") and name == "PBKDF2":
        iterations = algorithm.get("iterations") if isinstance(algorithm, dict) else None
        return not isinstance(iterations, int) or iterations > _INLINE_PBKDF2_ITERATIONS
    key = payload.get("key") or payload.get("unwrappingKey")
    record = key.get("$k") if isinstance(key, dict) else None
    if isinstance(record, dict) and record.get("type") == "private":
        key_name = record.get("algorithm", {}).get("name", "")
        if isinstance(key_name, str) and key_name.startswith("RSA"):
            return True
    return sum(len(v["$b"]) for v in payload.values() if isinstance(v, dict) and "$b" in v) > (
        _INLINE_PAYLOAD_CHARS
    )


async def run(kind: str, payload: Any) -> dict[str, Any]:
    """Run the SubtleCrypto method `kind` ("crypto.sign", ...), on a worker thread if it is slow."""
    from flux_edge.runtime.webcrypto.service import perform

    if _slow(kind, payload):
        return await asyncio.to_thread(perform, kind, payload)
    return perform(kind, payload)
