"""`python -m flux_edge.runtime.hosting FD HEAP_MB`: an isolate host (started by the server)."""

import sys

from flux_edge.runtime.hosting.host import main

raise SystemExit(main(sys.argv[1:]))
