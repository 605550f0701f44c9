"""The HTTP server `flux-edge serve` runs: uvicorn's httptools protocol with flux-edge's limits,
light request cycles and whole-response writes (docs/architecture.md)."""
