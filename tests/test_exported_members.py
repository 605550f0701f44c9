"""The public API importable from `flux_edge` (docs/embedding.md's version policy)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import flux_edge

PUBLIC = [
    "CodeError",
    "FunctionSpec",
    "HostLimits",
    "HostedRuntime",
    "InvokeRequest",
    "InvokeResult",
    "Permissions",
    "PoolLimits",
    "Runtime",
    "RuntimeUnavailableError",
    "Settings",
    "__version__",
    "compile_source",
    "create_app",
    "load_settings",
]


def test_the_public_names_are_exactly_these():
    assert sorted(flux_edge.__all__) == sorted(PUBLIC)


def test_every_public_name_imports_and_is_documented():
    for name in PUBLIC:
        value = getattr(flux_edge, name)
        assert value is not None
        if name != "__version__":
            assert value.__doc__, name  # every public class and function says what it is
    assert "Runtime" in dir(flux_edge)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchThing"):
        flux_edge.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_loads_no_runtime():
    # The CLI imports flux_edge first; V8 and Litestar load only when a name is used.
    probe = (
        "import sys, flux_edge; print('py_mini_racer' in sys.modules, 'litestar' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert output.split() == ["False", "False"]
