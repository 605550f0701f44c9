"""An httpx transport whose every TCP connection goes through the outbound policy.

Why a network backend and not URL rewriting: rewriting `https://name/` to `https://IP/` with a
`Host` header and the `sni_hostname` extension would also work for one request, but httpcore pools
connections by URL origin, so a TLS connection verified for one name could be reused for another
name on the same IP. Here the URL keeps the name (pool key, `Host`, SNI and certificate checks all
stay on it) and only the socket connect is ours: httpcore asks `connect_tcp(name, port)`, we
resolve the name, check every address and connect to a checked IP literal. Nothing resolves the
name a second time, so DNS rebinding has no window.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any, cast

import httpcore
import httpx

from flux_edge.runtime.capabilities.policy import OutboundPolicy


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with name resolution and the address check done by us."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve `host`, refuse it if no address is allowed, then try the allowed ones in order."""
        try:
            addresses = await self._policy.resolve(host, port)
        except OSError as error:  # socket.gaierror: the name does not resolve
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never used: the transport is built without `uds`."""
        raise httpcore.ConnectError("unix sockets are not reachable from functions")

    async def sleep(self, seconds: float) -> None:
        """Used by httpcore's retry back-off."""
        await self._inner.sleep(seconds)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """A pooled HTTP/1.1 transport (like httpx.AsyncHTTPTransport) over GuardedNetworkBackend.

    httpcore exceptions are not mapped to httpx ones: the caller (net.py) turns both kinds into
    JavaScript errors.
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            # trust_env=False: the server's SSL_CERT_FILE and friends are not the functions' business.
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            network_backend=GuardedNetworkBackend(policy),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request through the guarded pool."""
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=cast(AsyncIterable[bytes], request.stream),
            extensions=request.extensions,
        )
        response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(cast(AsyncIterable[bytes], response.stream)),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()
