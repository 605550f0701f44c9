"""Package entry points and integrity checks, on package folders written by the test."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from flux_edge.runtime.codeforms.npm import PackageError, _verify, split_npm_specifier
from flux_edge.runtime.codeforms.packages import (
    PackageResolutionError,
    is_esm_file,
    package_entry,
)


def _package(root: Path, manifest: dict[str, object], files: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps(manifest))
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("export default 1;\n")
    return root


def test_exports_conditions_follow_the_package_key_order(tmp_path: Path) -> None:
    root = _package(
        tmp_path / "p",
        {
            "exports": {
                ".": {"types": "./x.d.ts", "node": "./node.js", "worker": "./worker.js",
                      "import": "./esm.js", "require": "./cjs.cjs"},
                "./sub/*": {"import": "./dist/sub/*.mjs", "default": "./dist/sub/*.js"},
                "./hidden": None,
            }
        },
        ["node.js", "worker.js", "esm.js", "cjs.cjs", "dist/sub/a.mjs", "dist/sub/a.js"],
    )  # fmt: skip
    assert package_entry(root, "", require=False) == "worker.js"
    assert package_entry(root, "sub/a", require=False) == "dist/sub/a.mjs"
    assert package_entry(root, "sub/a", require=True) == "dist/sub/a.js"
    with pytest.raises(PackageResolutionError, match=r"does not export '\./hidden'"):
        package_entry(root, "hidden", require=False)


def test_without_exports_module_wins_for_import_and_main_for_require(tmp_path: Path) -> None:
    root = _package(
        tmp_path / "p",
        {"module": "es/index.js", "main": "lib/index"},
        ["es/index.js", "lib/index.js"],
    )
    assert package_entry(root, "", require=False) == "es/index.js"
    assert package_entry(root, "", require=True) == "lib/index.js"
    assert package_entry(root, "lib", require=True) == "lib/index.js"


def test_a_js_file_is_esm_by_type_or_by_its_syntax(tmp_path: Path) -> None:
    root = _package(tmp_path / "p", {"type": "module"}, [])
    assert is_esm_file(root, "a.js", "module.exports = 1")
    plain = _package(tmp_path / "q", {}, [])
    assert not is_esm_file(plain, "a.js", "const x = require('y');\nmodule.exports = x;")
    assert is_esm_file(plain, "a.js", "import x from 'y';\nexport default x;")
    assert not is_esm_file(plain, "a.cjs", "export default 1")


def test_a_tarball_that_does_not_match_its_integrity_is_refused() -> None:
    data = b"the tarball"
    good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    _verify(data, good, "npm:x@1.0.0")
    with pytest.raises(PackageError, match="does not match its integrity hash"):
        _verify(data + b"!", good, "npm:x@1.0.0")


@pytest.mark.parametrize(
    ("specifier", "expected"),
    [
        ("hono@4/jwt", ("hono", "4", "jwt")),
        ("@hono/zod-validator@^0.4.1", ("@hono/zod-validator", "^0.4.1", "")),
        ("zod", ("zod", "", "")),
        ("@scope/pkg/deep/file.js", ("@scope/pkg", "", "deep/file.js")),
    ],
)
def test_npm_specifiers_split_into_name_range_and_sub_path(
    specifier: str, expected: tuple[str, str, str]
) -> None:
    assert split_npm_specifier(specifier) == expected
