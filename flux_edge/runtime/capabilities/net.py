"""`fetch` for functions: httpx over the guarded transport, with redirects, caps and abort.

Redirects are followed here, one hop at a time, so every hop is a new request whose connection
passes the outbound policy; each hop counts as a subrequest. Errors become the JavaScript errors a
browser gives: TypeError("fetch failed: ...") for anything network-shaped, PermissionDenied for a
refused address.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import http.cookiejar
import time
from typing import Any, Literal

import httpcore
import httpx
import msgspec

from flux_edge import __version__
from flux_edge.runtime.capabilities.policy import AddressDenied, OutboundPolicy
from flux_edge.runtime.capabilities.transport import GuardedTransport
from flux_edge.runtime.host_bridge import HostOpError
from flux_edge.runtime.types import InvokeRequest

MAX_REDIRECTS = 20
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})
# Set by httpx from the body and URL, or meaningless per hop: a function cannot set them.
DROPPED_REQUEST_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te"}
)
DEFAULT_REQUEST_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "user-agent": f"flux-edge/{__version__}",
}
# Dropped when a redirect turns the request into a bodiless GET (Fetch "request-body-header names").
BODY_HEADERS = ("content-type", "content-encoding", "content-language", "content-location")
# Credentials must not follow a redirect to another origin.
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


class FetchPayload(msgspec.Struct, frozen=True):
    """What fetch.js sends: one request, its id (for abort) and the redirect mode."""

    id: int
    method: str
    url: str
    headers: list[tuple[str, str]] = []
    bodyBase64: str | None = None
    redirect: Literal["follow", "error", "manual"] = "follow"


class AbortPayload(msgspec.Struct, frozen=True):
    """What fetch.js sends to cancel the fetch `id` of the same call."""

    id: int


class _NoCookies(http.cookiejar.CookiePolicy):
    """One client serves every function: a shared cookie jar would leak between them."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


class _FetchTooBig(Exception):
    pass


class NetCapability:
    """Runs fetches for calls: one pooled client, per-call subrequest counts and abort handles."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        max_subrequests: int = 50,
        max_response_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self.policy = policy
        self.max_subrequests = max_subrequests
        self.max_response_bytes = max_response_bytes
        self._client: httpx.AsyncClient | None = None
        self._subrequests: dict[str, int] = {}
        self._inflight: dict[str, dict[int, asyncio.Task[dict[str, Any]]]] = {}
        self._aborted: dict[str, set[int]] = {}

    def _get_client(self) -> httpx.AsyncClient:
        # Created on first use, inside the serving loop; trust_env=False: the server's proxy
        # variables and .netrc are not the functions' to use.
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=GuardedTransport(self.policy),
                trust_env=False,
                cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            )
        return self._client

    async def fetch(self, raw: Any, request: InvokeRequest, deadline: float) -> dict[str, Any]:
        """Run one fetch for `request`'s call; abortable through `abort` until it finishes."""
        payload = _convert(raw, FetchPayload)
        key = request.execution_id
        if payload.id in self._aborted.get(key, ()):
            raise HostOpError("AbortError", "The operation was aborted.")
        work = asyncio.get_running_loop().create_task(self._fetch(payload, key, deadline))
        self._inflight.setdefault(key, {})[payload.id] = work
        try:
            return await work
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our own task is being cancelled (the isolate closed): not an abort
            raise HostOpError("AbortError", "The operation was aborted.") from None
        finally:
            handles = self._inflight.get(key)
            if handles is not None:
                handles.pop(payload.id, None)

    def abort(self, raw: Any, request: InvokeRequest) -> None:
        """Cancel a fetch of the same call (or remember the id, if it has not started yet)."""
        payload = _convert(raw, AbortPayload)
        task = self._inflight.get(request.execution_id, {}).get(payload.id)
        if task is not None:
            task.cancel()
        else:
            self._aborted.setdefault(request.execution_id, set()).add(payload.id)

    def call_finished(self, request: InvokeRequest) -> None:
        """Forget the call's counts and cancel its fetches still running."""
        key = request.execution_id
        self._subrequests.pop(key, None)
        self._aborted.pop(key, None)
        for task in self._inflight.pop(key, {}).values():
            task.cancel()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ---- the work ----------------------------------------------------------------------------
    async def _fetch(self, payload: FetchPayload, key: str, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HostOpError("TypeError", "fetch failed: the call has no time left")
        try:
            async with asyncio.timeout(remaining):
                return await self._follow(payload, key, remaining)
        except TimeoutError:
            raise HostOpError(
                "TypeError",
                f"fetch failed: no response within the call's remaining {remaining:.3g} s",
            ) from None
        except AddressDenied as error:
            raise HostOpError("PermissionDenied", f"fetch {payload.url}: {error}") from None
        except _FetchTooBig:
            raise HostOpError(
                "TypeError",
                f"fetch failed: the response body of {payload.url} is larger than "
                f"{self.max_response_bytes} bytes (max_fetch_response_bytes)",
            ) from None
        except (
            httpx.HTTPError,
            httpx.InvalidURL,
            httpcore.TimeoutException,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            OSError,
        ) as error:
            raise HostOpError("TypeError", f"fetch failed: {_describe(error)}") from None

    async def _follow(self, payload: FetchPayload, key: str, seconds: float) -> dict[str, Any]:
        url = _parse_url(payload.url)
        method = payload.method
        headers = _request_headers(payload.headers)
        body = _body_bytes(payload.bodyBase64)
        client = self._get_client()
        for hop in range(MAX_REDIRECTS + 1):
            self._count_subrequest(key)
            request = httpx.Request(
                method,
                url,
                headers=headers,
                content=body,
                extensions={"timeout": httpx.Timeout(seconds).as_dict()},
            )
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                location = response.headers.get("location")
                if response.status_code not in REDIRECT_STATUSES or location is None:
                    return await self._answer(response, method, url, redirected=hop > 0)
                if payload.redirect == "manual":
                    return await self._answer(response, method, url, redirected=hop > 0)
                if payload.redirect == "error":
                    raise HostOpError(
                        "TypeError", f"fetch failed: {url} redirected and redirect is 'error'"
                    )
            finally:
                await response.aclose()
            next_url = _parse_url(str(url.join(location)))
            if (response.status_code in (301, 302) and method == "POST") or (
                response.status_code == 303 and method != "HEAD"
            ):
                method, body = "GET", None
                for name in BODY_HEADERS:
                    headers.pop(name, None)
            if (next_url.scheme, next_url.host, next_url.port) != (url.scheme, url.host, url.port):
                for name in CREDENTIAL_HEADERS:
                    headers.pop(name, None)
            url = next_url
        raise HostOpError("TypeError", f"fetch failed: more than {MAX_REDIRECTS} redirects")

    def _count_subrequest(self, key: str) -> None:
        count = self._subrequests.get(key, 0) + 1
        if count > self.max_subrequests:
            raise HostOpError(
                "TypeError",
                f"fetch failed: too many subrequests: a call may make at most "
                f"{self.max_subrequests} (redirects count; max_subrequests)",
            )
        self._subrequests[key] = count

    async def _answer(
        self, response: httpx.Response, method: str, url: httpx.URL, *, redirected: bool
    ) -> dict[str, Any]:
        has_body = method != "HEAD" and response.status_code not in NULL_BODY_STATUSES
        body: bytes | None = None
        if has_body:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                raise _FetchTooBig
            chunks: list[bytes] = []
            size = 0
            # Decoded bytes count, so a small gzip bomb is stopped at the same size.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise _FetchTooBig
                chunks.append(chunk)
            body = b"".join(chunks)
        return {
            "status": response.status_code,
            "statusText": response.reason_phrase,
            "headers": [
                [name.decode("latin-1"), value.decode("latin-1")]
                for name, value in response.headers.raw
            ],
            "bodyBase64": None if body is None else base64.b64encode(body).decode("ascii"),
            "url": str(url),
            "redirected": redirected,
        }


def _convert(raw: Any, type_: type[Any]) -> Any:
    try:
        return msgspec.convert(raw, type_)
    except msgspec.ValidationError as error:
        raise HostOpError(
            "TypeError", f"fetch failed: bad request from the prelude: {error}"
        ) from None


def _parse_url(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise HostOpError("TypeError", f"fetch failed: invalid URL {text!r}: {error}") from None
    if url.scheme not in ("http", "https"):
        raise HostOpError(
            "TypeError", f"fetch failed: URL scheme {url.scheme!r} is not supported (http, https)"
        )
    if not url.host:
        raise HostOpError("TypeError", f"fetch failed: the URL {text!r} has no host")
    return url


def _request_headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    given: dict[str, str] = {}
    for name, value in pairs:
        lower = name.lower()
        if lower in DROPPED_REQUEST_HEADERS:
            continue
        given[lower] = f"{given[lower]}, {value}" if lower in given else value
    return {**DEFAULT_REQUEST_HEADERS, **given}


def _body_bytes(encoded: str | None) -> bytes | None:
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise HostOpError("TypeError", f"fetch failed: bad body encoding: {error}") from None


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, httpcore.TimeoutException | httpx.TimeoutException):
        return f"timed out ({text})"
    return text
