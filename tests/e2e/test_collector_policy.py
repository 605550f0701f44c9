"""The garbage collector's policy of a serving process (flux_edge/collector.py).

Run in a fresh interpreter, since the policy is process-wide: the app a `flux-edge serve` worker
makes (`app_from_environment`) collects again after the start held collections, freezes its
start's heap then and again once it is up and collects the young generation less often; an app embedded
elsewhere (`create_app`) leaves the collector alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import gc, json, os, sys, time
from litestar.testing import TestClient
from flux_edge.app import app_from_environment, create_app
from flux_edge.collector import YOUNG_THRESHOLD, hold_during_start
from flux_edge.settings import load_settings

report = {"default_threshold": gc.get_threshold()[0]}
with TestClient(create_app(load_settings())) as client:
    assert client.get("/health").status_code == 200
    time.sleep(1.0)  # the deferred imports end well within this when nothing freezes
    report["embedded"] = [gc.get_freeze_count(), gc.get_threshold()[0]]
hold_during_start()  # as `flux-edge serve` does before it imports the server
app = app_from_environment()
report["at_start"] = gc.get_freeze_count()
with TestClient(app) as client:
    assert client.get("/health").status_code == 200
    deadline = time.monotonic() + 30

    def deferred_frozen():  # the HTTP API, built after the start, is frozen with the imports
        api = app._api.result() if app._api is not None and app._api.done() else None
        return api is not None and not any(o is api for o in gc.get_objects())

    while not deferred_frozen() and time.monotonic() < deadline:
        time.sleep(0.05)
    report["deferred_frozen"] = deferred_frozen()
    report["serving"] = [gc.get_freeze_count(), gc.get_threshold()[0], gc.isenabled()]
    report["young"] = YOUNG_THRESHOLD
print(json.dumps(report))
"""


def test_a_serving_app_freezes_its_start_heap_and_an_embedded_one_does_not(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env |= {"FLUX_EDGE_DATA_DIR": str(tmp_path / "data"), "FLUX_EDGE_ADMIN_TOKEN": "t" * 32}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["embedded"] == [0, report["default_threshold"]]
    frozen, threshold, collecting = report["serving"]
    assert collecting  # held while the server started, on again once its app is made
    assert report["at_start"] > 40_000  # the start's heap, frozen when collections resume
    assert frozen > 50_000  # ... and what the deferred imports added, once they are done
    assert report["deferred_frozen"]
    assert threshold == report["young"] != report["default_threshold"]
