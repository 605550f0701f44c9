"""The management API as the CLI calls it: one httpx client, errors worded in one line.

No CLI framework in here: `flux_edge.cli` parses the arguments, calls these methods and prints.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from flux_edge.client.config import ClientError

FUNCTIONS = "/api/v1/functions"


class ApiError(ClientError):
    """The server refused a request (or could not be reached); the message is one line."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def error_text(response: httpx.Response) -> str:
    """The server's JSON error as one line: `Function not found (HTTP 404): No function ...`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "message" in body:
        return f"{body.get('error', 'Error')} (HTTP {response.status_code}): {body['message']}"
    text = " ".join(response.text.split())[:300]
    return f"HTTP {response.status_code}{': ' + text if text else ''}"


def unreachable(url: str, exc: httpx.TransportError) -> ApiError:
    """The error for a server that does not answer at `url`."""
    why = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        why = f"connection failed ({why}); is `flux-edge serve` running there?"
    return ApiError(f"cannot reach {url}: {why}")


class ApiClient:
    """Calls to one server's management API with one token; raises ApiError."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    @property
    def http(self) -> httpx.Client:
        """The underlying httpx client (base URL and token set), for multi-request jobs."""
        return self._http

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; the response whatever its status (transport failures raise)."""
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request whose error statuses raise ApiError; the decoded JSON body (or None)."""
        response = self.send(method, path, **kwargs)
        if response.is_error:
            raise ApiError(error_text(response), response.status_code)
        return response.json() if response.content else None

    def list_functions(self) -> list[dict[str, Any]]:
        """Every function, without code, ordered by name."""
        answer: list[dict[str, Any]] = self.call("GET", FUNCTIONS)
        return answer

    def get_function(self, name: str) -> dict[str, Any]:
        """One function with its code and settings (variable names, never values)."""
        answer: dict[str, Any] = self.call("GET", _path(name))
        return answer

    def update_function(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        """A partial update (a new version); the function as it is now."""
        answer: dict[str, Any] = self.call("PUT", _path(name), json=changes)
        return answer

    def delete_function(self, name: str) -> None:
        """Delete the function with its versions, executions and files."""
        self.call("DELETE", _path(name))

    def list_versions(self, name: str) -> list[dict[str, Any]]:
        """The version history, oldest first."""
        answer: list[dict[str, Any]] = self.call("GET", _path(name, "versions"))
        return answer

    def rollback(self, name: str, version: int) -> dict[str, Any]:
        """A new version holding version `version`'s code; the function as it is now."""
        answer: dict[str, Any] = self.call(
            "POST", _path(name, "rollback"), json={"version": version}
        )
        return answer

    def change_env(self, name: str, values: dict[str, str], unset: list[str]) -> dict[str, Any]:
        """Set `values` and remove `unset`, keeping the other variables (a new version)."""
        answer: dict[str, Any] = self.call(
            "PATCH", _path(name, "env"), json={"set": values, "unset": unset}
        )
        return answer

    def invoke(
        self,
        name: str,
        *,
        method: str,
        sub_path: str = "",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Call the function (any status is returned: the function chose it)."""
        path = _path(name, "invoke")
        if sub_path.strip("/"):
            path += "/" + sub_path.lstrip("/")
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        return self.send(method, path, content=body, headers=headers or {}, **extra)


def _path(name: str, *rest: str) -> str:
    return "/".join([FUNCTIONS, quote(name, safe=""), *rest])
