"""`claims audit ...`: the auditors' tools. Export a case's Temporal history as JSON (the same
format as `temporal workflow show --output json`), replay histories against the current
workflow code, and read a history as a human timeline.

Histories hold personal data encrypted: an export stays encrypted as stored; replay and the
trail decrypt with the configured payload keys (histories written before encryption, and plain
payloads that integrators sent, read as they are)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from audit.replay import Replayed, Source, Toolkit, default_jobs, replay_all
from commands.common import (
    ZONE_NAME,
    UserError,
    console,
    handle_errors,
    local_time,
    print_json,
    run,
    settings,
    temporal,
)
from models.ids import PREFIXES

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHistory
    from temporalio.worker import Replayer

app = typer.Typer(
    help="Auditors' tools: export, replay and read the history of a claim or complaint.",
    no_args_is_help=True,
)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "audit"


def __getattr__(name: str) -> Any:
    """`build_trail`, imported when first asked for (the timeline reads the activities'
    models, which the other audit commands do not need)."""
    if name == "build_trail":
        from audit.timeline import build_trail

        return build_trail
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ============================================================== histories


async def resolve_workflow_id(client: Client, case_id: str) -> str:
    """A full workflow id as it is; a bare case id is tried as a claim, then a complaint."""
    from temporalio.service import RPCError, RPCStatusCode

    if case_id.startswith(PREFIXES):
        return case_id
    for prefix in PREFIXES:
        try:
            await client.get_workflow_handle(prefix + case_id).describe()
            return prefix + case_id
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
    raise UserError(f"unknown case {case_id}: no claim-{case_id} or complaint-{case_id}")


async def fetch(client: Client, case_id: str) -> WorkflowHistory:
    workflow_id = await resolve_workflow_id(client, case_id)
    return await client.get_workflow_handle(workflow_id).fetch_history()


async def query_ids(client: Client, query: str) -> list[str]:
    return [wf.id async for wf in client.list_workflows(query)]


def decrypted(history: WorkflowHistory) -> WorkflowHistory:
    """A copy of the history with its payloads decrypted by the configured keys (as it is
    when no key is configured: encrypted payloads then stay unreadable)."""
    from audit import history as history_files
    from client import payload_codec

    return history_files.decrypted(history, payload_codec(settings()))


def load_file(path: Path) -> WorkflowHistory:
    """A history file, decrypted; its workflow id from the case id in its start input."""
    from audit import history as history_files
    from client import payload_codec

    return history_files.load_file(path, payload_codec(settings()))


def _write(history: WorkflowHistory, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(history.to_json() + "\n", encoding="utf-8")


@app.command("export")
@handle_errors
def export(
    case_id: Annotated[str | None, typer.Argument(help="Claim or complaint id.")] = None,
    query: Annotated[
        str | None,
        typer.Option("--query", help="Visibility query, e.g. \"ClaimStage='CLOSED'\"."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File (one case) or folder (--query); default stdout."),
    ] = None,
) -> None:
    """Write a case's full history as JSON, as `temporal workflow show --output json` does.

    Examples: claims audit export CLM-1 --out CLM-1.json;
    claims audit export --query "ClaimStage='CLOSED'" --out histories/
    """
    if (case_id is None) == (query is None):
        raise UserError("give one case id or --query")
    if case_id is not None:
        history = run(_fetch_one(case_id))
        if out is None:
            typer.echo(history.to_json())
        else:
            _write(history, out)
            typer.echo(f"{history.workflow_id}: {len(history.events)} events -> {out}")
        return
    if out is None:
        raise UserError("--query needs --out FOLDER")
    assert query is not None
    count = run(_export_many(query, out))
    typer.echo(f"exported {count} histories to {out}")


async def _fetch_one(case_id: str) -> WorkflowHistory:
    return await fetch(await temporal(), case_id)


async def _export_many(query: str, out: Path) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    client = await temporal()
    ids = await query_ids(client, query)
    out.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("exporting", total=len(ids))
        for workflow_id in ids:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            # Any client may choose a workflow id: keep it inside the folder.
            _write(history, out / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', workflow_id)}.json")
            progress.advance(task)
    return len(ids)


# ================================================================= replay


def replayer() -> Replayer:
    from temporalio.worker import Replayer

    from client import data_converter
    from worker import INTERCEPTORS, WORKFLOWS, workflow_runner

    return Replayer(
        workflows=WORKFLOWS,
        data_converter=data_converter(settings()),
        workflow_runner=workflow_runner(),
        interceptors=INTERCEPTORS,
    )


# What each replaying process uses (functions it imports by name: see audit/replay.py).
ENGINE = Toolkit(
    replayer=replayer, load_file=load_file, connect=temporal, resolve=resolve_workflow_id
)


async def replay_one(history: WorkflowHistory) -> Exception | None:
    """None when the history replays cleanly against the current code, else the failure."""
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    return result.replay_failure


@app.command("replay")
@handle_errors
def replay(
    case_ids: Annotated[
        list[str] | None, typer.Argument(help="Claim or complaint ids on the server.")
    ] = None,
    query: Annotated[str | None, typer.Option("--query", help="Visibility query.")] = None,
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="History JSON file (repeatable).")
    ] = None,
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Folder of history JSON files.")
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            help="Processes replaying at once; default: the cores (fewer for few histories).",
        ),
    ] = None,
) -> None:
    """Replay histories against the current workflow code; exit 1 if any does not.

    Examples: claims audit replay CLM-1; claims audit replay --dir tests/histories
    (--dir includes its subfolders); claims audit replay --dir data/archive (each archive
    folder's files are checked against its manifest.json first: a file that differs fails);
    claims audit replay --query "ClaimStage='CLOSED'" --jobs 2
    """
    from audit.archive import archive_contents

    files = list(file or [])
    unchecked: list[tuple[str, Exception]] = []
    if folder is not None:
        if not folder.is_dir():
            raise UserError(f"no such folder: {folder}")
        contents = archive_contents(folder)  # with subfolders (older code's histories)
        files += contents.histories
        unchecked += contents.failures
    if not (case_ids or query or files or unchecked):
        raise UserError("give case ids, --query, --file or --dir")
    sources = [Source(file=f) for f in files] + [Source(case_id=c) for c in case_ids or []]
    if query:
        sources += [Source(case_id=w) for w in run(_query_ids(query))]
    for name, failure in unchecked:
        typer.echo(f"{name}: FAILED {type(failure).__name__}: {failure}")
    failed = len(unchecked)
    started = time.monotonic()
    with _progress(len(sources)) as show:
        replay_all(sources, ENGINE, jobs or default_jobs(len(sources)), show)
        failed += show.failed
    seconds = time.monotonic() - started
    replay_failed = failed - len(unchecked)
    typer.echo(
        f"replayed {len(sources)} histories in {seconds:.1f} s "
        f"({len(sources) / seconds if seconds else 0:.1f}/s), {replay_failed} failed",
        err=True,
    )
    if failed:
        typer.echo(f"{failed} of {len(sources) + len(unchecked)} histories do not replay", err=True)
        raise typer.Exit(1)


async def _query_ids(query: str) -> list[str]:
    return await query_ids(await temporal(), query)


class _Shown:
    """Prints each outcome as one line; counts the failures."""

    def __init__(self, line: Callable[[str], None], advance: Callable[[], None]) -> None:
        self.line = line
        self.advance = advance
        self.failed = 0

    def __call__(self, replayed: Replayed) -> None:
        if replayed.failure is None:
            self.line(f"{replayed.name}: replays cleanly")
        else:
            self.failed += 1
            self.line(f"{replayed.name}: FAILED {replayed.failure}")
        self.advance()


@contextmanager
def _progress(total: int) -> Iterator[_Shown]:
    """Outcomes as lines; on a terminal, under a progress bar with the rate."""
    if not (console.is_terminal and sys.stdout.isatty()) or total == 0:
        yield _Shown(typer.echo, lambda: None)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("replaying", total=total)

        def line(text: str) -> None:
            progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

        yield _Shown(line, lambda: progress.advance(task))


# ================================================================== trail


def render_html(workflow_id: str, trail: list[dict[str, Any]]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "htm", "xml", "j2"]),
    )
    shown = [{**e, "local_at": local_time(e.get("at"))} for e in trail]
    return env.get_template("trail.html.j2").render(workflow_id=workflow_id, trail=shown)


@app.command("trail")
@handle_errors
def trail(
    case_id: Annotated[str, typer.Argument(help="Claim or complaint id (or a history file).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the timeline as an HTML page.")
    ] = None,
) -> None:
    """The case's history as a timeline: messages and who sent them, refusals and why, stages,
    letters, payments, timers and the rules it runs under.

    Example: claims audit trail CLM-1 --html trail.html
    """
    from audit.timeline import build_trail

    path = Path(case_id)
    if case_id.endswith(".json") and path.is_file():
        history = load_file(path)
    else:
        history = decrypted(run(_fetch_one(case_id)))
    entries = build_trail(history)
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(history.workflow_id, entries), encoding="utf-8")
    if as_json:
        print_json(entries)
        return
    if html is not None:
        typer.echo(f"{history.workflow_id}: {len(entries)} entries -> {html}")
        return
    typer.echo(
        f"Audit trail of {history.workflow_id} ({len(history.events)} events; times in {ZONE_NAME})"
    )
    for e in entries:
        line = f"{local_time(e['at'])}  {e['kind']:<8} {e['name']}"
        if e["who"]:
            line += f"  by {e['who']}"
        if e["outcome"] and e["kind"] in ("signal", "update", "activity", "case"):
            line += f"  [{e['outcome']}]"
        if e["reason"]:
            line += f"  reason: {e['reason']}"
        if e["summary"] and e["kind"] not in ("stage",):
            line += f"  - {e['summary']}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
