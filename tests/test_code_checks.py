"""The code is checked as CI runs the suite: mypy --strict over everything outside tests/
(configured in pyproject.toml), ruff with the project's rules, no source file over 400 lines,
and no import that runs back up from activities/ or models/ into workflows/ (the arrows are
cli/commands -> client -> workflows -> models, and worker -> activities -> models + tables)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
# Not the engine's source: the tests, and what tools and runs leave in the checkout.
NOT_SOURCE = {"tests", "build", "data", "node_modules"}
LOWER_ROOMS = ("activities", "models")  # they must not import from workflows/


def source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in NOT_SOURCE or any(
            p.startswith(".") or p == "__pycache__" or p.endswith(".egg-info") for p in parts
        ):
            continue
        yield path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.timeout(600)  # a first run, with no mypy cache, takes a minute on a busy machine
def test_mypy_strict_passes_on_all_source() -> None:
    result = _run("mypy")  # pyproject.toml [tool.mypy]: strict, every module outside tests/
    assert result.returncode == 0, f"mypy --strict found errors:\n{result.stdout}{result.stderr}"


def test_ruff_passes() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"


def test_no_source_file_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in source_files()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"source files over {MAX_LINES} lines (split them by what they do): {long}"


def imported_modules(source: str, package: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in a module's source, relative imports made absolute
    from the module's package (`("models",)` for models/x.py)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module
            for alias in node.names:  # `from .. import workflows`
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name


def upward_imports(path: Path) -> Iterator[str]:
    package = path.relative_to(ROOT).parent.parts
    for line, module in imported_modules(path.read_text(encoding="utf-8"), package):
        if module == "workflows" or module.startswith("workflows."):
            yield f"{path.relative_to(ROOT)}:{line} imports {module}"


def test_activities_and_models_do_not_import_workflows() -> None:
    upward = [
        found
        for room in LOWER_ROOMS
        for path in sorted((ROOT / room).rglob("*.py"))
        for found in upward_imports(path)
    ]
    assert not upward, "activities/ and models/ import from workflows/:\n" + "\n".join(upward)


@pytest.mark.parametrize(
    ("source", "package", "module"),
    [
        ("import workflows.claim\n", ("models",), "workflows.claim"),
        ("from workflows.money import fmt\n", ("activities",), "workflows.money"),
        ("from ..workflows import money\n", ("models",), "workflows.money"),
        ("from .. import workflows\n", ("activities",), "workflows"),
        ("from .records import receipt\n", ("activities",), "activities.records"),
    ],
)
def test_the_import_check_reads_absolute_and_relative_imports(
    source: str, package: tuple[str, ...], module: str
) -> None:
    assert module in {m for _, m in imported_modules(source, package)}
