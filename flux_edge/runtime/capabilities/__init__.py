"""Capabilities: the privileged work (fetch, files) JavaScript asks Python for, behind one bridge."""

from flux_edge.runtime.capabilities.bridge import CapabilityBridge
from flux_edge.runtime.capabilities.policy import AddressDenied, OutboundPolicy

__all__ = ["AddressDenied", "CapabilityBridge", "OutboundPolicy"]
