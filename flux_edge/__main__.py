"""`python -m flux_edge` is the `flux-edge` command."""

from flux_edge.cli import main

raise SystemExit(main())
