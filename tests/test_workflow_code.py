"""The workflow modules run outside Temporal's sandbox (worker.workflow_runner: imported once,
shared by every case), so nothing at run time stops a clock read, randomness or I/O inside
them. This reads their source instead: only deterministic imports, no wall clock, no I/O builtins, no
mutable module state shared between cases."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
ALLOWED_IMPORTS = (
    "__future__",
    "asyncio",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "types",
    "typing",
    "pydantic",
    "temporalio",
    "models",
    "workflows",
    # the activity definitions, named by method reference and run by Temporal, never called
    "activities",
)
CLOCK_READS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
IO_BUILTINS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}
MUTABLE = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


def problems(source: str) -> list[str]:
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                if not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED_IMPORTS):
                    found.append(f"line {node.lineno}: imports {name}")
        elif isinstance(node, ast.Call):
            fn = node.func
            if isinstance(fn, ast.Attribute) and fn.attr in CLOCK_READS:
                owner = fn.value.id if isinstance(fn.value, ast.Name) else ""
                if owner != "workflow":
                    found.append(f"line {node.lineno}: reads the clock with {owner}.{fn.attr}()")
            if isinstance(fn, ast.Name) and fn.id in IO_BUILTINS:
                found.append(f"line {node.lineno}: calls {fn.id}()")
        elif isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
    for node in tree.body:  # module level
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, MUTABLE):
            found.append(f"line {node.lineno}: mutable module-level value")
    return found


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.py")), ids=lambda p: p.name)
def test_workflow_modules_are_deterministic_by_construction(path):
    assert problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from datetime import datetime\nx = datetime.now()",
            "reads the clock with datetime.now()",
        ),
        ("import time\n", "imports time"),
        ("import random\n", "imports random"),
        ("from sqlmodel import Session\n", "imports sqlmodel"),
        ("def f():\n    open('x')\n", "calls open()"),
        ("CACHE = {}\n", "mutable module-level value"),
        ("SEEN = []\n", "mutable module-level value"),
        ("def f():\n    global N\n", "global N"),
    ],
)
def test_the_check_catches_what_the_sandbox_would_have(source, expected):
    assert any(expected in p for p in problems(source)), problems(source)


def test_workflow_now_is_allowed():
    assert problems("from temporalio import workflow\nx = workflow.now()\n") == []
