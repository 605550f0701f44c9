"""A JSR registry on loopback for tests: packages we write, laid out as JSR's registry API serves
them (https://jsr.io/docs/api): `/@scope/name/meta.json` (versions, yanked, latest),
`/@scope/name/<version>_meta.json` (manifest with `sha256-<hex>` checksums, exports) and the files
at `/@scope/name/<version>/<path>`. A plain static HTTP server serves the tree, as a CDN would.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import re
import ssl
import threading
import time
from pathlib import Path
from typing import Any

# Relative static imports and re-exports, for the moduleGraph2 JSR computes at publish time.
_RELATIVE = re.compile(r"""(?:from|import)\s*["'](\.\.?/[^"']+)["']""")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Any = self.server
        is_file = not self.path.endswith("meta.json")
        with server.lock:
            server.in_flight += is_file
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            if is_file and server.delay:
                time.sleep(server.delay)  # a registry far away: each file costs a round trip
            super().do_GET()
        finally:
            with server.lock:
                server.in_flight -= is_file

    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


class JsrFixture:
    """Publishes packages into `root` and serves them over HTTP (or HTTPS with `tls`)."""

    def __init__(self, root: Path, tls: ssl.SSLContext | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.requests = []  # type: ignore[attr-defined]
        self._httpd.lock = threading.Lock()  # type: ignore[attr-defined]
        self._httpd.in_flight = self._httpd.max_in_flight = 0  # type: ignore[attr-defined]
        self._httpd.delay = 0.0  # type: ignore[attr-defined]
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[str]:
        """Paths requested so far."""
        return self._httpd.requests  # type: ignore[attr-defined, no-any-return]

    @property
    def max_in_flight(self) -> int:
        """The most file requests served at once so far."""
        return self._httpd.max_in_flight  # type: ignore[attr-defined, no-any-return]

    def slow_files(self, seconds: float) -> None:
        """Make each file request take `seconds` (metadata stays fast)."""
        self._httpd.delay = seconds  # type: ignore[attr-defined]

    def publish(
        self,
        name: str,
        version: str,
        files: dict[str, str],
        exports: dict[str, str] | str = "./mod.ts",
        *,
        yanked: bool = False,
    ) -> None:
        """Publish `files` as `name@version` (exports normalized to object form, as JSR does)."""
        folder = self.root / name
        manifest = {}
        for path, text in files.items():
            data = text.encode()
            target = folder / version / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            manifest["/" + path] = {
                "size": len(data),
                "checksum": "sha256-" + hashlib.sha256(data).hexdigest(),
            }
        normalized = {".": exports} if isinstance(exports, str) else exports
        graph = {
            "/" + path: {"dependencies": [
                {"type": "static", "kind": "import", "specifier": specifier}
                for specifier in _RELATIVE.findall(text)
            ]}
            for path, text in files.items()
            if path.endswith((".ts", ".js"))
        }  # fmt: skip
        version_meta = {"manifest": manifest, "moduleGraph2": graph, "exports": normalized}
        (folder / f"{version}_meta.json").write_text(json.dumps(version_meta))
        meta_path = folder / "meta.json"
        scope, package = name[1:].split("/")
        meta = (
            json.loads(meta_path.read_text())
            if meta_path.exists()
            else {"scope": scope, "name": package, "versions": {}}
        )
        meta["versions"][version] = {"yanked": True} if yanked else {}
        live = [v for v, info in meta["versions"].items() if not info.get("yanked")]
        meta["latest"] = max(live, key=lambda v: tuple(int(p) for p in v.split("-")[0].split(".")))
        meta_path.write_text(json.dumps(meta))

    def tamper(self, name: str, version: str, path: str, text: str) -> None:
        """Change a published file without updating its checksum (a compromised mirror)."""
        (self.root / name / version / path).write_text(text)

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()
