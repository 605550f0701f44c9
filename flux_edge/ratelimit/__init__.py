"""Rate limits shared by all worker processes of a node: GCRA over a memory-mapped table."""

from flux_edge.ratelimit.gcra import Decision, gcra
from flux_edge.ratelimit.limiter import RateLimiter, open_rate_limiter, policy_from_settings
from flux_edge.ratelimit.policy import Limit, LimitClass, RatePolicy, parse_limit

__all__ = [
    "Decision",
    "Limit",
    "LimitClass",
    "RateLimiter",
    "RatePolicy",
    "gcra",
    "open_rate_limiter",
    "parse_limit",
    "policy_from_settings",
]
