"""Every way fetch is refused: the flag, and addresses outside the public internet.

The bridge here has no FLUX_EDGE_NET_ALLOW, except where a test says otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flux_edge.runtime import FunctionSpec, Permissions, PoolLimits, Runtime
from flux_edge.runtime.capabilities import CapabilityBridge
from tests.runtime.capabilities.conftest import LocalServer, RunFunction, answer
from tests.runtime.conftest import make_request

CATCH = """
  try {{ const r = await fetch({url}); return ["fetched", r.status]; }}
  catch (e) {{ return [e.name, e instanceof Deno.errors.PermissionDenied, e.message]; }}
"""


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {"net_allow": ""}


async def test_fetch_rejects_with_permission_denied_when_allow_net_is_false(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(
        CATCH.format(url=f'"{local_server.url}/echo"'),
        permissions=Permissions(allow_net=False),
    )
    name, is_denied, message = answer(result)
    assert (name, is_denied) == ("PermissionDenied", True)
    assert "allow_net is false" in message
    assert local_server.requests == []


async def test_loopback_is_refused_without_an_allow_list(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(CATCH.format(url=f'"{local_server.url}/echo"'))
    name, is_denied, message = answer(result)
    assert (name, is_denied) == ("PermissionDenied", True)
    assert "loopback" in message
    assert "FLUX_EDGE_NET_ALLOW" in message
    assert local_server.requests == []


async def test_a_name_resolving_to_loopback_is_refused(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(CATCH.format(url=f'"http://localhost:{local_server.port}/echo"'))
    name, is_denied, message = answer(result)
    assert (name, is_denied) == ("PermissionDenied", True)
    assert "localhost" in message
    assert local_server.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://172.16.5.4:8080/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://169.254.10.1/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 written as one number
        ("http://100.64.0.1/", "non-public"),
        ("http://224.0.0.1/", "multicast"),
    ],
)
async def test_non_public_addresses_are_refused(run_js: RunFunction, url: str, reason: str):
    result = await run_js(CATCH.format(url=f'"{url}"'))
    name, is_denied, message = answer(result)
    assert (name, is_denied) == ("PermissionDenied", True)
    assert f"{reason} address" in message


class TestWithLoopbackAllowed:
    @pytest.fixture
    def bridge_options(self) -> dict[str, Any]:
        return {"net_allow": "127.0.0.0/8"}

    async def test_a_redirect_to_a_refused_address_is_refused(
        self, run_js: RunFunction, local_server: LocalServer
    ):
        to = "http://169.254.169.254/latest/meta-data/"
        result = await run_js(CATCH.format(url=f'"{local_server.url}/redirect?to={to}"'))
        name, is_denied, message = answer(result)
        assert (name, is_denied) == ("PermissionDenied", True)
        assert "cloud metadata" in message
        assert len(local_server.requests) == 1

    async def test_the_allow_list_opens_only_its_own_range(self, run_js: RunFunction):
        result = await run_js(CATCH.format(url='"http://10.0.0.1/"'))
        assert answer(result)[:2] == ["PermissionDenied", True]

    async def test_python_refuses_even_when_javascript_does_not_check(
        self, run_js: RunFunction, local_server: LocalServer
    ):
        # A function cannot reach the bridge itself; this drives it directly to show the
        # Python-side check stands on its own.
        from flux_edge.runtime import HostOpError

        bridge = CapabilityBridge(net_allow="127.0.0.0/8")
        spec = FunctionSpec(
            function_id="f",
            name="f",
            version=1,
            compiled="",
            permissions=Permissions(allow_net=False),
        )
        payload = {"id": 1, "method": "GET", "url": f"{local_server.url}/echo"}
        with pytest.raises(HostOpError) as raised:
            await bridge.run("fetch", payload, make_request(), spec, deadline=1e18)
        await bridge.aclose()
        assert raised.value.type == "PermissionDenied"
        assert local_server.requests == []


async def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
):
    # A rebinding resolver: the first answer is allowed, every later one is a private address.
    import asyncio
    import socket

    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo
    lookups: list[str] = []

    async def rebinding(host: Any, port: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return await real_getaddrinfo(host, port, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.255.255.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    bridge = CapabilityBridge(net_allow="127.0.0.0/8")
    spec = FunctionSpec(function_id="f", name="f", version=1, compiled="")
    url = f"http://rebind.test:{local_server.port}/echo"
    try:
        answer_ = await bridge.run(
            "fetch", {"id": 1, "method": "GET", "url": url}, make_request(), spec, deadline=1e18
        )
    finally:
        await bridge.aclose()
    assert answer_["status"] == 200
    assert lookups == ["rebind.test"]
    assert local_server.requests[-1]["headers"]["host"] == f"rebind.test:{local_server.port}"


class CountingBridge(CapabilityBridge):
    """The real bridge, recording which operations reached Python."""

    def __init__(self) -> None:
        super().__init__(net_allow="127.0.0.0/8")
        self.kinds: list[str] = []

    async def run(self, kind: str, *args: Any) -> Any:
        self.kinds.append(kind)
        return await super().run(kind, *args)


async def test_refused_flags_are_refused_in_javascript_without_asking_python(
    local_server: LocalServer, tmp_path: Path
):
    bridge = CountingBridge()
    runtime = Runtime(PoolLimits(max_isolates=2), host=bridge)
    code = f"""
      async function handler(req) {{
        const names = [];
        for (const attempt of [
          () => fetch("{local_server.url}/echo"),
          () => Deno.readTextFile("a.txt"),
          () => Deno.writeTextFile("a.txt", "x"),
        ]) {{
          try {{ await attempt(); }} catch (e) {{ names.push(e.name); }}
        }}
        return names;
      }}
    """
    spec = FunctionSpec(
        function_id="no-flags", name="no-flags", version=1, compiled=code,
        permissions=Permissions(allow_net=False, allow_read=False, allow_write=False),
        files_dir=str(tmp_path),
    )  # fmt: skip
    try:
        result = await runtime.invoke(spec, make_request())
    finally:
        await runtime.close(grace=0.5)
        await bridge.aclose()
    assert json.loads(result.body) == ["PermissionDenied"] * 3
    assert bridge.kinds == []
