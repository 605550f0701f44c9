"""WebCrypto's privileged maths for `crypto.subtle` (everything but digests), on `cryptography`.

Imported on the first `crypto.*` host operation, so a server whose functions never use WebCrypto
does not load it. `run` is the entry point the isolate calls; it works on a thread, since RSA key
generation and PBKDF2 take long enough to stall the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def run(kind: str, payload: Any) -> dict[str, Any]:
    """Run the SubtleCrypto method `kind` ("crypto.sign", ...) on a worker thread."""
    from flux_edge.runtime.webcrypto.service import perform

    return await asyncio.to_thread(perform, kind, payload)
