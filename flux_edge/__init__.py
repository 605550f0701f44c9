"""flux-edge: a self-hosted edge-functions runtime on pooled in-process V8 isolates."""

__version__ = "0.1.0"
