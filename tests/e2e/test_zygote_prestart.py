"""`flux-edge serve` with one worker starts its isolate hosts' fork server (the zygote) before it
imports the server (`prestart` in flux_edge/runtime/hosting/zygote.py), and its runtime adopts
that one: the zygote boots on the other CPU meanwhile, so the first hosts are up sooner. With
several workers, each worker starts its own. Read from the real processes."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ADMIN_TOKEN

ADOPTED = "adopted the isolate host zygote started before the server's imports"
CODE = "function handler(req) { return {status: 200, body: 'ok'} }"


def zygotes_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"flux_edge.runtime.hosting\x00zygote" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def deploy_and_call(server) -> None:
    admin = server.client(ADMIN_TOKEN)
    created = admin.post("/api/v1/functions", json={"name": "z", "code": CODE, "enabled": True})
    assert created.status_code == 201, created.text
    assert admin.post("/api/v1/functions/z/invoke").text == "ok"


def test_one_worker_adopts_the_zygote_it_started_before_its_imports(start_server):
    server = start_server(extra_env={"FLUX_EDGE_LOG_LEVEL": "debug"})
    deploy_and_call(server)
    assert ADOPTED in server.stdout()
    (zygote,) = zygotes_of(server.process.pid)  # the early one, and no second
    hosts = Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split()
    assert hosts  # the function's host and the spares are its children


def test_several_workers_start_their_own(start_server):
    server = start_server(args=["--workers", "2"], extra_env={"FLUX_EDGE_LOG_LEVEL": "debug"})
    deploy_and_call(server)
    assert ADOPTED not in server.stdout()
    assert zygotes_of(server.process.pid) == []  # the supervising process runs no runtime
