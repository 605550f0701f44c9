"""Client-side commands that talk to a flux-edge server over its HTTP API."""
