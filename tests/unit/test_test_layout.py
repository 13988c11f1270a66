"""The tests' own layout. A test module imports the package and tests/support/, never
another test module or a conftest: what tests share is a helper in tests/support/ or a
fixture in a tier's conftest.py, written once. A parametrized test that collects no
case fails instead of passing as skipped (a corpus gone missing must not look green)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

TESTS = ROOT / "tests"


def imported(source: str) -> list[str]:
    """Every module and module.name a source imports; relative imports as written."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return names


def forbidden(name: str) -> bool:
    """A test module, a conftest, or anything of tests/ outside tests/support/."""
    parts = name.lstrip(".").split(".")
    if name.startswith(".") or "conftest" in parts:
        return True
    if any(part.startswith("test_") for part in parts):
        return True
    return parts[0] == "tests" and len(parts) > 1 and parts[1] != "support"


def test_the_rule_catches_what_it_is_for() -> None:
    source = (
        "from tests.e2e.test_cli import aggregator\n"
        "from tests import conftest\n"
        "import tests.unit.test_publish_sample\n"
        "from .test_websub import ATOM\n"
        "from tests.support.processes import wait_for\n"
        "from aggregator.store import Store\n"
    )
    assert [n for n in imported(source) if forbidden(n)] == [
        "tests.e2e.test_cli",
        "tests.e2e.test_cli.aggregator",
        "tests.conftest",
        "tests.unit.test_publish_sample",
        ".test_websub",
        ".test_websub.ATOM",
    ]


def test_no_test_imports_another_test_module_or_a_conftest() -> None:
    modules = sorted(TESTS.rglob("*.py"))
    assert len(modules) > 50
    found = {
        str(path.relative_to(ROOT)): bad
        for path in modules
        if (bad := [n for n in imported(path.read_text(encoding="utf-8")) if forbidden(n)])
    }
    assert found == {}, "move what they share into tests/support/ or a conftest.py"


def test_a_parametrized_test_with_no_cases_fails(tmp_path: Path) -> None:
    empty = tmp_path / "test_empty.py"
    empty.write_text(
        "import pytest\n\n\n"
        "@pytest.mark.parametrize('case', [])\n"
        "def test_each(case: object) -> None:\n"
        "    assert case\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            str(empty),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout
    assert "Empty parameter set" in done.stdout, done.stdout
