"""Staff commands start fast: each command imports what it uses and nothing else. `claims
tasks` reads the read model, but neither the Temporal client, the worker and its replayer, the
charts, the portal, the notifier, nor the tracing and metrics libraries; `claims --help` loads
no command at all. The commands staff read with most (the work queue, the claim list, a claim,
its letters, the staff) and `claims --help` run at the front door (commands/front.py) and read
a read model at the newest revision through the DB-API alone: no typer, click, rich, pydantic,
SQLAlchemy, SQLModel, Alembic, pydantic-settings nor Temporal. What a command imports is
asserted here; how long it takes is the benchmark's (bench/startup.py, against `python -c
pass`)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import cli

ROOT = Path(__file__).resolve().parent.parent

# Never imported by a command that only reads the read model.
NOT_FOR_A_QUERY = (
    "temporalio.client",
    "temporalio.worker",
    "temporalio.worker._replayer",
    "matplotlib",
    "jinja2",
    "portal",
    "notify",
    "opentelemetry",
    "prometheus_client",
    "workflows",
    "worker",
    "client",
    "cryptography",
    "uvicorn",
    "starlette",
)
# Nor by the staff's read commands on a read model at the newest revision, nor by the help.
NOT_FOR_A_READ = (
    "typer",
    "click",
    "rich",
    "pydantic",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "pydantic_settings",
    "temporalio",
    "logging",  # security/log_masking.py masks log records apart from the values
    # The rows are plain classes (readmodel/rows.py), the types are for type checkers only,
    # paths go through os.path and a thread's connection is kept in _thread's local.
    "dataclasses",
    "inspect",
    "typing",
    "pathlib",
    "threading",
)
# Nor by the work queue without a person: its rows hold neither money nor JSON, its times
# need the insurer's time zone alone (models/zone.py), and the read model's revision is read
# from the migrations without regular expressions.
NOT_FOR_THE_QUEUE = ("re", "json", "decimal", "enum", "models.catalog", "models.roles")
READS = (
    ["tasks"],
    ["tasks", "--for", "sup1"],
    ["claim", "list"],
    ["claim", "show", "CLM-DEMO-0001"],
    ["letter", "list", "CLM-DEMO-0001"],
    ["staff", "list"],
    ["--help"],
)
# Nor by `claims --help`, which only lists the commands.
NOT_FOR_HELP = (*NOT_FOR_A_QUERY, *NOT_FOR_A_READ)


# `claims ARGS` as the console script runs it, writing the names in sys.modules when it ends
# (the typer app in cli.py ends the process with os._exit, so at that call).
DRIVER = """
import os, sys
out = sys.argv.pop(1)
end = os._exit
def dump(code):
    with open(out, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
    end(code)
os._exit = dump
sys.argv[0] = "claims"
from commands.front import main
try:
    main()
except SystemExit as exc:
    dump(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1))
"""


def imported_by(args: list[str], data: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `claims ARGS` in a fresh interpreter; the modules it imported."""
    env = {**os.environ, "CLAIMS_DATA_DIR": str(data), "COLUMNS": "120"}
    for name in ("TEMPORAL_ADDRESS", "CLAIMS_DATABASE_URL"):
        env.pop(name, None)
    out = data / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, set(out.read_text().split())


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The names of `names` that are among `modules`, or whose submodules are."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_the_work_queue_imports_neither_temporal_nor_the_worker(tmp_path):
    done, modules = imported_by(["tasks"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "0 open task(s)" in done.stdout  # the read model created on first use
    assert "commands.reading" in modules and "readmodel.reads" in modules
    assert loaded(modules, NOT_FOR_A_QUERY) == []
    assert not loaded(modules, ("commands.audit", "commands.claim", "commands.complaint"))


@pytest.mark.parametrize(
    "args",
    [["letter", "list", "CLM-1"], ["staff", "list"], ["events"], ["audit", "--help"]],
    ids=" ".join,
)
def test_other_staff_commands_import_only_what_they_use(tmp_path, args):
    done, modules = imported_by(args, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert loaded(modules, NOT_FOR_A_QUERY) == []


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's read model, with CLM-DEMO-0001 projected (as bench/startup.py makes it)."""
    from bench import startup

    data = tmp_path_factory.mktemp("demo")
    startup.prepare(data)
    return data


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_the_read_commands_import_no_database_library_nor_temporal(demo_data, args):
    done, modules = imported_by(args, demo_data)
    assert done.returncode == 0, done.stderr[-2000:]
    assert loaded(modules, NOT_FOR_A_READ) == []
    # `claim show` names the approval levels as the workflow's rules do (workflows/approval.py)
    assert loaded(modules, tuple(n for n in NOT_FOR_A_QUERY if n != "workflows")) == []
    assert "readmodel.queries" not in modules


def test_the_work_queue_reads_no_json_nor_money(demo_data):
    done, modules = imported_by(["tasks"], demo_data)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 open task(s)" in done.stdout
    assert loaded(modules, NOT_FOR_THE_QUEUE) == []


def test_a_claim_shown_from_the_read_model_is_the_projection(demo_data):
    done, _ = imported_by(["claim", "show", "CLM-DEMO-0001"], demo_data)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Claim CLM-DEMO-0001  stage PENDING_APPROVAL" in done.stdout
    assert "awaiting L2 approval (chain L1 -> L2)" in done.stdout


def test_the_help_imports_no_command(tmp_path):
    done, modules = imported_by(["--help"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "tasks" in done.stdout and "audit" in done.stdout
    assert loaded(modules, NOT_FOR_HELP) == []
    assert sorted(m for m in modules if m.startswith("commands.")) == ["commands.front"]


def test_a_noun_imports_only_its_own_commands(tmp_path):
    done, modules = imported_by(["staff", "--help"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "set-key" in done.stdout
    assert loaded(modules, NOT_FOR_A_QUERY) == []
    assert sorted(m for m in modules if m.startswith("commands.")) == [
        "commands.common",
        "commands.errors",  # the errors' words, which common.py offers
        "commands.front",  # the front door, and the output and reads it shares with typer
        "commands.plain",
        "commands.reading",
        "commands.staff",
    ]


@pytest.mark.parametrize("name", [*cli.LAZY_COMMANDS, *cli.LAZY_GROUPS])
def test_the_help_listed_before_loading_is_the_commands_own(name):
    """`claims --help` shows each command's first paragraph from cli.py without importing
    it: the same words as the command's own help."""
    help_text = cli.load(name).help or ""
    listed = (cli.LAZY_COMMANDS.get(name) or cli.LAZY_GROUPS[name])[1]
    assert inspect.cleandoc(help_text).split("\n\n")[0].strip() == listed


def test_the_commands_are_listed_in_their_order_and_all_of_them_run():
    group = typer.main.get_command(cli.app)
    names = group.list_commands(None)  # type: ignore[arg-type]
    assert names[:9] == [
        "tasks",
        "events",
        "schema",
        "codec-server",
        "new-key",
        "portal",
        "show",
        "run",
        "worker",
    ]
    assert names[9:] == list(cli.LAZY_GROUPS)
    # Whoever walks the tree (the README's test of documented commands) gets the real ones.
    claim = group.commands["claim"]  # type: ignore[attr-defined]
    assert {"show", "approve", "link", "documents"} <= set(claim.commands)
