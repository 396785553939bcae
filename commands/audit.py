"""`claims audit ...`: the auditors' tools. Export a case's Temporal history as JSON (the same
format as `temporal workflow show --output json`), replay histories against the current
workflow code, and read a history as a human timeline.

Histories hold personal data encrypted: an export stays encrypted as stored; replay and the
trail decrypt with the configured payload keys (histories written before encryption, and plain
payloads that integrators sent, read as they are)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from client import data_converter, payload_codec
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
from models.ids import PREFIXES, claim_workflow_id, complaint_workflow_id
from security.codec import decode_in_place
from security.masking import mask_data, mask_fields, mask_text

app = typer.Typer(
    help="Auditors' tools: export, replay and read the history of a claim or complaint.",
    no_args_is_help=True,
)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "audit"
# fields of a message payload that name the person acting, in order of preference
WHO_FIELDS = (
    "approver",
    "by",
    "convener",
    "coordinator",
    "handler",
    "investigator",
    "assessor",
    "adjuster",
    "reviewer",
    "submitted_by",
)


# ============================================================== histories


async def resolve_workflow_id(client: Client, case_id: str) -> str:
    """A full workflow id as it is; a bare case id is tried as a claim, then a complaint."""
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


def decode(payload: Payload) -> Any:
    encoding = payload.metadata.get("encoding", b"").decode()
    if encoding == "binary/null":
        return None
    if encoding.startswith("json"):
        try:
            return json.loads(payload.data)
        except ValueError:  # a raw start that was not JSON (the case refused it)
            return f"<{len(payload.data)} bytes that are not JSON>"
    return base64.b64encode(payload.data).decode()


def decode_all(payloads: Iterable[Payload]) -> list[Any]:
    return [decode(p) for p in payloads]


def workflow_id_of(history: WorkflowHistory | list[HistoryEvent], fallback: str) -> str:
    """The workflow id a history belongs to: from the case id in the start input (the JSON
    itself does not carry the workflow id), else the fallback (the file's name)."""
    events = history.events if isinstance(history, WorkflowHistory) else history
    if events and events[0].HasField("workflow_execution_started_event_attributes"):
        attrs = events[0].workflow_execution_started_event_attributes
        args = decode_all(attrs.input.payloads)
        report = args[0] if args and isinstance(args[0], dict) else {}
        if report.get("claim_id"):
            return claim_workflow_id(report["claim_id"])
        if report.get("complaint_id"):
            return complaint_workflow_id(report["complaint_id"])
    return fallback


def decrypted(history: WorkflowHistory) -> WorkflowHistory:
    """A copy of the history with its payloads decrypted by the configured keys (as it is
    when no key is configured: encrypted payloads then stay unreadable)."""
    codec = payload_codec(settings())
    if codec is None:
        return history
    events = []
    for event in history.events:
        copy = HistoryEvent()
        copy.CopyFrom(event)
        decode_in_place(codec, copy)
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)


def load_file(path: Path) -> WorkflowHistory:
    """A history file, decrypted; its workflow id from the case id in its start input."""
    text = path.read_text(encoding="utf-8")
    history = decrypted(WorkflowHistory.from_json(path.stem, text))
    return WorkflowHistory(workflow_id_of(history, path.stem), history.events)


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
    from worker import INTERCEPTORS, WORKFLOWS, workflow_runner

    return Replayer(
        workflows=WORKFLOWS,
        data_converter=data_converter(settings()),
        workflow_runner=workflow_runner(),
        interceptors=INTERCEPTORS,
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
) -> None:
    """Replay histories against the current workflow code; exit 1 if any does not.

    Examples: claims audit replay CLM-1; claims audit replay --dir tests/histories
    (--dir includes its subfolders); claims audit replay --dir data/archive (each archive
    folder's files are checked against its manifest.json first: a file that differs fails)
    """
    from audit.archive import archive_contents

    files = list(file or [])
    unchecked: list[tuple[str, Exception | None]] = []
    if folder is not None:
        if not folder.is_dir():
            raise UserError(f"no such folder: {folder}")
        contents = archive_contents(folder)  # with subfolders (older code's histories)
        files += contents.histories
        unchecked += contents.failures
    if not (case_ids or query or files or unchecked):
        raise UserError("give case ids, --query, --file or --dir")
    results = unchecked + run(_replay_all(list(case_ids or []), query, files))
    failed = 0
    for name, failure in results:
        if failure is None:
            typer.echo(f"{name}: replays cleanly")
        else:
            failed += 1
            typer.echo(f"{name}: FAILED {type(failure).__name__}: {failure}")
    if failed:
        typer.echo(f"{failed} of {len(results)} histories do not replay", err=True)
        raise typer.Exit(1)


async def _replay_all(
    case_ids: list[str], query: str | None, files: list[Path]
) -> list[tuple[str, Exception | None]]:
    histories: list[tuple[str, WorkflowHistory]] = [(str(f), load_file(f)) for f in files]
    if case_ids or query:
        client = await temporal()
        ids = list(case_ids) + (await query_ids(client, query) if query else [])
        for case_id in ids:
            history = await fetch(client, case_id)
            histories.append((history.workflow_id, history))
    return [(name, await replay_one(h)) for name, h in histories]


# ================================================================== trail


def _who(payload: Any) -> str | None:
    if isinstance(payload, dict):
        for field in WHO_FIELDS:
            if payload.get(field):
                return str(payload[field])
    return None


def _summary(payload: Any, limit: int = 200) -> str:
    if payload is None:
        return ""
    if isinstance(payload, dict):
        text = ", ".join(
            f"{k}={json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
            for k, v in payload.items()
            if v not in (None, [], {}, "")
        )
    else:
        text = json.dumps(payload, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(d: Any) -> str:
    seconds = int(d.ToTimedelta().total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours)
    parts += [f"{minutes}m"] * bool(minutes) + [f"{secs}s"] * bool(secs)
    return " ".join(parts) or "0s"


def _failure_message(failure: Any) -> str:
    return failure.message or (failure.cause.message if failure.HasField("cause") else "")


def _masked(text: str | None) -> str | None:
    return mask_text(text) if text else text


def _shown(payloads: Iterable[Payload]) -> list[Any]:
    """Payloads as the trail shows them: bank accounts (and id number, phone and email
    fields) masked like the other views, summaries included."""
    return mask_fields(decode_all(payloads))


def build_trail(history: WorkflowHistory) -> list[dict[str, Any]]:
    """A human timeline from the history: messages, stages, letters, payments, timers, rules."""
    trail: list[dict[str, Any]] = []
    updates: dict[str, dict[str, Any]] = {}
    activities: dict[int, str] = {}
    timers: dict[str, str] = {}
    seen_stages = 0

    def add(event: HistoryEvent, kind: str, name: str, **more: Any) -> dict[str, Any]:
        entry = {
            "event_id": event.event_id,
            "at": event.event_time.ToDatetime().isoformat() + "Z",
            "kind": kind,
            "name": name,
            "who": more.pop("who", None),
            # a trail is read by many: id numbers and phones in it are masked
            "summary": mask_text(more.pop("summary", "")),
            "outcome": more.pop("outcome", None),
            "reason": _masked(more.pop("reason", None)),
        }
        entry.update(mask_data(more))
        trail.append(entry)
        return entry

    for ev in history.events:
        t = ev.event_type
        if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            a = ev.workflow_execution_started_event_attributes
            args = _shown(a.input.payloads)
            report = args[0] if args else None
            add(
                ev,
                "case",
                f"started {a.workflow_type.name}",
                who=a.identity or None,
                summary=_summary(report),
                input=report,
            )
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a = ev.workflow_execution_signaled_event_attributes
            args = _shown(a.input.payloads)
            payload = args[0] if len(args) == 1 else args
            add(
                ev,
                "signal",
                a.signal_name,
                who=_who(payload) or a.identity or None,
                summary=_summary(payload),
                outcome="received",
                payload=payload,
            )
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED:
            pass  # followed by Accepted or Rejected
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            a = ev.workflow_execution_update_accepted_event_attributes
            req = a.accepted_request
            args = _shown(req.input.args.payloads)
            payload = args[0] if len(args) == 1 else args
            updates[req.meta.update_id] = add(
                ev,
                "update",
                req.input.name,
                who=_who(payload) or req.meta.identity or None,
                summary=_summary(payload),
                outcome="pending",
                payload=payload,
            )
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED:
            a = ev.workflow_execution_update_rejected_event_attributes
            req = a.rejected_request
            args = _shown(req.input.args.payloads)
            payload = args[0] if len(args) == 1 else args
            add(
                ev,
                "update",
                req.input.name,
                who=_who(payload) or req.meta.identity or None,
                summary=_summary(payload),
                outcome="refused",
                reason=_failure_message(a.failure),
                payload=payload,
            )
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            a = ev.workflow_execution_update_completed_event_attributes
            entry = updates.get(a.meta.update_id)
            if entry is not None:
                if a.outcome.HasField("failure"):
                    entry["outcome"] = "refused"
                    entry["reason"] = _failure_message(a.outcome.failure)
                else:
                    entry["outcome"] = "accepted"
        elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = ev.activity_task_scheduled_event_attributes
            name = a.activity_type.name
            activities[ev.event_id] = name
            args = _shown(a.input.payloads)
            arg = args[0] if args else None
            if name in ("sync_claim", "sync_complaint") and isinstance(arg, dict):
                seen_stages = _sync_entries(ev, arg, seen_stages, trail, add)
            elif name == "send_letter" and isinstance(arg, dict):
                _letter_entry(ev, arg, add)
            elif name == "pay_claim" and isinstance(arg, dict):
                add(
                    ev,
                    "payment",
                    f"payment {arg.get('seq')}",
                    summary=f"{arg.get('amount')} to {arg.get('payee')} ({arg.get('account_ref')})",
                    amount=arg.get("amount"),
                )
        elif t == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            a = ev.activity_task_completed_event_attributes
            name = activities.get(a.scheduled_event_id)
            if name in ("load_rules", "load_complaint_rules"):
                results = _shown(a.result.payloads)
                _rules_entry(ev, name, results[0] if results else None, add)
        elif t == EventType.EVENT_TYPE_MARKER_RECORDED:
            seen_stages = _local_activity_entries(ev, seen_stages, trail, add)
        elif t in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        ):
            attrs = (
                ev.activity_task_failed_event_attributes
                if t == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
                else ev.activity_task_timed_out_event_attributes
            )
            add(
                ev,
                "activity",
                activities.get(attrs.scheduled_event_id, "activity"),
                outcome="failed",
                reason=_failure_message(attrs.failure),
            )
        elif t == EventType.EVENT_TYPE_TIMER_STARTED:
            a = ev.timer_started_event_attributes
            timers[a.timer_id] = _duration(a.start_to_fire_timeout)
            add(ev, "timer", f"timer {a.timer_id}", summary=f"set for {timers[a.timer_id]}")
        elif t == EventType.EVENT_TYPE_TIMER_FIRED:
            a = ev.timer_fired_event_attributes
            add(ev, "timer", f"timer {a.timer_id}", summary="fired", outcome="fired")
        elif t == EventType.EVENT_TYPE_TIMER_CANCELED:
            a = ev.timer_canceled_event_attributes
            add(ev, "timer", f"timer {a.timer_id}", summary="cancelled", outcome="cancelled")
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            results = _shown(ev.workflow_execution_completed_event_attributes.result.payloads)
            final = results[0] if results else None
            stage = final.get("stage") if isinstance(final, dict) else None
            add(ev, "case", "completed", summary=f"final stage {stage}" if stage else "")
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = ev.workflow_execution_failed_event_attributes.failure
            add(ev, "case", "failed", reason=_failure_message(failure), outcome="failed")
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            a = ev.workflow_execution_terminated_event_attributes
            add(ev, "case", "terminated", who=a.identity or None, reason=a.reason)
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            add(ev, "case", "cancelled")
        elif t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            add(ev, "case", "timed out")
    return trail


def _local_activity_entries(ev: HistoryEvent, seen: int, trail, add) -> int:  # type: ignore[no-untyped-def]
    """A local activity's marker: its type is in the marker's data, its result beside it (its
    input is not recorded, which is why projection writes return what they wrote)."""
    a = ev.marker_recorded_event_attributes
    if a.marker_name != "core_local_activity" or "data" not in a.details:
        return seen
    meta = (decode_all(a.details["data"].payloads) or [{}])[0]
    name = meta.get("activity_type", "local activity") if isinstance(meta, dict) else ""
    if a.HasField("failure"):
        add(ev, "activity", name, outcome="failed", reason=_failure_message(a.failure))
        return seen
    results = decode_all(a.details["result"].payloads) if "result" in a.details else []
    result = results[0] if results and isinstance(results[0], dict) else None
    if result is None:
        return seen
    if name in ("sync_claim", "sync_complaint"):
        shaped = {"status": {"history": result.get("history")}, "events": result.get("events")}
        return _sync_entries(ev, shaped, seen, trail, add)
    if name == "send_letter":
        _letter_entry(ev, result, add)
    elif name in ("load_rules", "load_complaint_rules"):
        _rules_entry(ev, name, result, add)
    return seen


def _letter_entry(ev: HistoryEvent, letter: dict[str, Any], add) -> None:  # type: ignore[no-untyped-def]
    add(
        ev,
        "letter",
        letter.get("kind", "letter"),
        summary=f"{letter.get('letter_id')} to {letter.get('recipient')} "
        f"via {letter.get('channel')}",
        letter_id=letter.get("letter_id"),
    )


def _rules_entry(ev: HistoryEvent, name: str, rules: Any, add) -> None:  # type: ignore[no-untyped-def]
    version = rules.get("version") if isinstance(rules, dict) else None
    add(
        ev,
        "rules",
        name,
        summary=f"rules snapshot{f' version {version}' if version else ''}",
        rules=rules,
    )


def _sync_entries(ev: HistoryEvent, sync: dict[str, Any], seen: int, trail, add) -> int:  # type: ignore[no-untyped-def]
    """Stage changes and audit events carried by one projection write."""
    status = sync.get("status") or {}
    stages = status.get("history") or []
    for change in stages[seen:]:
        add(
            ev,
            "stage",
            change.get("stage"),
            summary=f"stage {change.get('stage')} at {change.get('at')}",
            stage_at=change.get("at"),
        )
    for event in sync.get("events") or []:
        kind = event.get("kind")
        data = event.get("data") or {}
        if kind in ("decision_refused", "assessment_refused"):
            # mark the signal it answers; the update refusals are already on their entries
            for entry in reversed(trail):
                if (
                    entry["kind"] == "signal"
                    and entry["who"] == event.get("actor")
                    and entry["outcome"] == "received"
                ):
                    entry["outcome"] = "refused"
                    entry["reason"] = data.get("reason")
                    break
        if kind in ("letter", "stage"):
            continue  # already shown from the letter activity and the stage history
        add(
            ev,
            "event",
            kind,
            who=event.get("actor"),
            summary=_summary(data),
            reason=data.get("reason") if kind and kind.endswith("refused") else None,
        )
    return max(seen, len(stages))


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
