"""Entry point of the frozen `flux-edge` binary (PyInstaller runs this file as `__main__`)."""

from __future__ import annotations

import multiprocessing
import sys

from flux_edge.cli import main

if __name__ == "__main__":
    if sys.argv[1:2] == ["__isolate-host"]:  # a server starting one of its isolate hosts
        from flux_edge.runtime.hosting.host import main as host_main

        sys.exit(host_main(sys.argv[2:]))
    # `serve --workers N` starts workers with multiprocessing's spawn method, which re-runs this
    # executable; freeze_support() turns such a child into the worker instead of a second CLI.
    multiprocessing.freeze_support()
    sys.exit(main())
