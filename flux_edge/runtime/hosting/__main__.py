"""`python -m flux_edge.runtime.hosting FD HEAP_MB`: an isolate host (started by the server)."""

import sys

from flux_edge.collector import hold_during_start

hold_during_start()  # while the runtime is imported; the zygote and a host resume collections
from flux_edge.runtime.hosting.host import main  # noqa: E402

raise SystemExit(main(sys.argv[1:]))
