"""Fixtures of the hostile catalogue: the module's control function and an after-case health check."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import ServerProcess

from .support import CONTROL_CODE, assert_unharmed, deploy


@pytest.fixture(scope="module")
def control(admin: httpx.Client) -> str:
    """A well-behaved function deployed once per module; every case re-checks its answer."""
    return deploy(admin, CONTROL_CODE, timeout_seconds=5)


@pytest.fixture
def unharmed(server: ServerProcess, admin: httpx.Client, control: str) -> Callable[[], None]:
    """Call after a case: the server is healthy and the control function answers correctly."""
    assert_unharmed(server.url, admin, control)  # healthy before, so a failure is the case's
    return lambda: assert_unharmed(server.url, admin, control)
