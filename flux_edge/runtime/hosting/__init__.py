"""Isolates in supervised host processes: the server's default runtime (see docs/runtime.md)."""

from flux_edge.runtime.hosting.runtime import HostedRuntime, HostLimits

__all__ = ["HostLimits", "HostedRuntime"]
