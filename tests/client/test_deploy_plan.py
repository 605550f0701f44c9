"""What `flux-edge functions deploy` uploads for a folder, and the packages its progress line names."""

from __future__ import annotations

import json
from pathlib import Path

from flux_edge.client.deploy import plan_deploys


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_package_json_dependencies_and_specifiers_are_named(tmp_path: Path) -> None:
    _write(
        tmp_path / "functions" / "hello" / "index.ts", 'import ms from "ms";\nimport "npm:zod@3";\n'
    )
    _write(tmp_path / "functions" / "_shared" / "cors.ts", "import { x } from 'jsr:@std/path@1';\n")
    _write(
        tmp_path / "functions" / "package.json",
        json.dumps({"dependencies": {"ms": "2.1.3"}, "devDependencies": {"typescript": "5"}}),
    )
    (plan,) = plan_deploys(tmp_path)
    assert plan.name == "hello"
    assert sorted(plan.files) == ["_shared/cors.ts", "hello/index.ts", "package.json"]
    # devDependencies are never resolved by the server, so the line does not name them.
    assert plan.named_packages() == ["jsr:@std/path@1", "npm:ms@2.1.3", "npm:zod@3"]


def test_a_function_folders_own_package_json_counts_too(tmp_path: Path) -> None:
    _write(tmp_path / "greet" / "index.js", 'import dayjs from "dayjs";\nexport default {};\n')
    _write(tmp_path / "greet" / "package.json", json.dumps({"dependencies": {"dayjs": "^1.11"}}))
    (plan,) = plan_deploys(tmp_path / "greet")
    assert "greet/package.json" in plan.files
    assert plan.named_packages() == ["npm:dayjs@^1.11"]


def test_a_package_json_without_usable_dependencies_names_nothing(tmp_path: Path) -> None:
    for manifest in ("not json", "[]", '{"dependencies": ["ms"]}', "{}"):
        _write(tmp_path / "functions" / "f" / "index.ts", "export default {};\n")
        _write(tmp_path / "functions" / "package.json", manifest)
        (plan,) = plan_deploys(tmp_path)
        assert plan.named_packages() == [], manifest
