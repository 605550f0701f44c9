"""A function updated or deleted through one worker of `flux-edge serve --workers 2` is followed
by the other at once (flux_edge/service/sibling_notices.py): read from the real processes and the
logs API."""

from __future__ import annotations

import os
import time

from tests.conftest import ADMIN_TOKEN
from tests.e2e.test_zygote_prestart import children, eventually, zygotes_of

CODE = "function handler(req) { console.log('call', req.body); return 'ok'; }"


def sockets(pid: int) -> int:
    fds = f"/proc/{pid}/fd"
    return sum(1 for fd in os.listdir(fds) if os.readlink(f"{fds}/{fd}").startswith("socket:"))


def test_a_function_deleted_through_one_worker_leaves_them_all(start_server):
    server = start_server(args=["--workers", "2"])
    admin = server.client(ADMIN_TOKEN)
    (zygote,) = zygotes_of(server.process.pid)
    assert eventually(lambda: len(children(zygote)) == 4), children(zygote)  # 2 spares each
    created = admin.post("/api/v1/functions", json={"name": "gone", "code": CODE, "enabled": True})
    assert created.status_code == 201, created.text

    def both_workers_run_it() -> bool:
        # Fresh connections land on either worker. The first took a spare for the function's
        # host (and boots another spare); the second joins that host: one socket more than a
        # spare's, and no host of its own.
        with server.client(ADMIN_TOKEN) as fresh:
            assert fresh.post("/api/v1/functions/gone/invoke", content="old").text == "ok"
        counts = sorted(sockets(host) for host in children(zygote))
        return len(counts) == 5 and counts[-1] == counts[0] + 1 and counts[-2] == counts[0]

    assert eventually(both_workers_run_it, timeout=60), children(zygote)
    # An update through one worker: the other warms the new version in the host it has.
    updated = admin.put("/api/v1/functions/gone", json={"code": CODE.replace("'ok'", "'new'")})
    assert updated.status_code == 200, updated.text
    for _ in range(6):
        with server.client(ADMIN_TOKEN) as fresh:
            assert fresh.post("/api/v1/functions/gone/invoke", content="old").text == "new"
    assert len(children(zygote)) == 5  # in the host the workers share
    time.sleep(0.5)  # the last calls' summaries reach their worker's log buffer
    assert admin.delete("/api/v1/functions/gone").status_code == 204
    # The other worker leaves the host too, not after its idle timeout (10 minutes): it ends.
    assert eventually(lambda: len(children(zygote)) == 4, timeout=10), children(zygote)
    # A new function of that name starts with an empty log on every worker.
    created = admin.post("/api/v1/functions", json={"name": "gone", "code": CODE, "enabled": True})
    assert created.status_code == 201, created.text
    for _ in range(6):
        with server.client(ADMIN_TOKEN) as fresh:
            read = fresh.get("/api/v1/functions/gone/logs", params={"follow": "false"})
        assert read.status_code == 200
        assert "call old" not in read.text, read.text
    assert "sibling_notice_failed" not in server.stdout() + server.stderr()
