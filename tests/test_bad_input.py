"""Bad input is refused with one clear line, changes nothing, and never fails a workflow task.

One table of malformed claim reports and one of complaint reports, each sent three ways: the
model, the `claims` CLI (one line, exit 1, no workflow, no row), and a raw JSON start by type
name that bypasses every client-side check (the case ends NOT_ACCEPTED with the reason and
writes nothing). Malformed signals and updates to a running claim and complaint change nothing.
Every history is read back for a WorkflowTaskFailed event. Template syntax and HTML in free
text are accepted and come out literally in letters and escaped in the HTML audit trail.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from pydantic import ValidationError
from sqlmodel import Session, select
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from client import ReportRefused, start_claim, start_complaint
from commands.audit import build_trail, decrypted, render_html
from models.claim import ClaimReport, impossible_dates
from models.complaint import ComplaintReport
from models.complaint import impossible_dates as complaint_impossible_dates
from models.tables import ClaimRow, ComplaintRow, LetterRow
from models.validation import validation_message
from tests.claimtools import decide, status, wait_letter, wait_stage
from tests.factories import medical_report
from tests.test_cli import claims
from worker import WORKFLOWS

HISTORIES = Path(__file__).parent / "histories"
FUTURE = (datetime.now(UTC) + timedelta(days=400)).isoformat()
MB = "x" * 1_000_000


@dataclass(frozen=True)
class Bad:
    """One malformed report: how it differs from a good one, and what the refusal says.

    `cli` is in the CLI's line; `flow` in the reason of the case started with the raw JSON
    (defaults to `cli`); `written` when the engine's answer is a business outcome with a letter
    (an unknown policy, an incident in the future: NOT_ACCEPTED per DOMAIN §2.2)."""

    id: str
    change: Callable[[dict[str, Any]], Any]
    cli: str
    flow: str | None = None
    written: bool = False


def set_(path: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        node: Any = data
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[int(last) if last.isdigit() else last] = value
        return data

    return change


def drop(path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(data: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path.split(".")
        node: Any = data
        for p in parents:
            node = node[p]
        del node[last]
        return data

    return change


def whole(value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda _data: value


def number(text: str) -> str:
    """A JSON number literal written as is (json.dumps would quote it or refuse it)."""
    return f"@@{text}@@"


CLAIMS = [
    # missing fields and wrong types
    Bad("missing-policy", drop("policy_no"), "invalid policy_no: Field required"),
    Bad("missing-line", drop("line"), "invalid line: Field required"),
    Bad("missing-claimant", drop("claimant"), "invalid claimant: Field required"),
    Bad("missing-name", drop("claimant.name"), "invalid claimant.name: Field required"),
    Bad("missing-occurred", drop("occurred_at"), "invalid occurred_at: Field required"),
    Bad("missing-amount", drop("amount_claimed"), "invalid amount_claimed: Field required"),
    Bad("empty-object", whole({}), "invalid policy_no: Field required"),
    Bad("array-not-object", whole([1, 2]), "invalid input: Input should be"),
    Bad("string-not-object", whole("claim"), "invalid input: Input should be"),
    Bad("empty-policy", set_("policy_no", ""), "invalid policy_no: String should have at least"),
    Bad("policy-as-number", set_("policy_no", 1001), "invalid policy_no: Input should be a valid"),
    Bad("claimant-as-string", set_("claimant", "张三"), "invalid claimant: Input should be"),
    Bad("items-not-a-list", set_("items", "drugs"), "invalid items: Input should be a valid"),
    Bad("details-not-a-dict", set_("details", [1]), "invalid details: Input should be"),
    Bad("typo-field", set_("polcy_no", "P-MED-0001"), "invalid polcy_no: Extra inputs"),
    Bad("claim-id-path", set_("claim_id", "../etc/passwd"), "invalid claim_id: String should"),
    Bad("claim-id-spaces", set_("claim_id", "A B"), "invalid claim_id: String should match"),
    # amounts
    Bad("amount-abc", set_("amount_claimed", "abc"), "invalid amount_claimed: Input should be"),
    Bad("amount-1e400", set_("amount_claimed", "1e400"), "no exponent"),
    Bad("amount-1e400-number", set_("amount_claimed", number("1e400")), "not floats"),
    Bad("amount-nan", set_("amount_claimed", "NaN"), "should be a finite number"),
    Bad("amount-nan-literal", set_("amount_claimed", number("NaN")), "invalid amount_claimed"),
    Bad("amount-infinity", set_("amount_claimed", "Infinity"), "should be a finite number"),
    Bad("amount-negative", set_("amount_claimed", "-5"), "amounts cannot be negative"),
    Bad("amount-float", set_("amount_claimed", number("1800.5")), "not floats"),
    Bad("amount-bool", set_("amount_claimed", True), "invalid amount_claimed: Decimal input"),
    Bad("amount-comma", set_("amount_claimed", "1,800"), "invalid amount_claimed: Input should"),
    Bad("amount-huge", set_("amount_claimed", "9" * 40), "amounts must be below"),
    Bad("item-negative", set_("items.0.amount", "-1200"), "invalid items.0.amount: Value error"),
    Bad("item-abc", set_("items.1.amount", "six hundred"), "invalid items.1.amount: Input"),
    Bad("item-float", set_("items.0.amount", number("1200.1")), "not floats"),
    Bad("detail-nan", set_("details", {"vehicle_value": "NaN"}), "details.vehicle_value must be"),
    Bad("detail-abc", set_("details", {"salvage_value": "lots"}), "details.salvage_value is not"),
    Bad("grade-abc", set_("details", {"disability_grade": "II"}), "disability_grade must be"),
    # what Python's int() and Decimal() read but no person writes (issue 12)
    Bad("grade-superscript", set_("details", {"disability_grade": "²"}), "disability_grade must"),
    Bad("grade-arabic-indic", set_("details", {"disability_grade": "٣"}), "disability_grade must"),
    Bad("amount-arabic-indic", set_("amount_claimed", "١٨٠٠"), "with the digits 0-9"),
    Bad("amount-full-width", set_("amount_claimed", "１８００.００"), "with the digits 0-9"),
    Bad("amount-exponent", set_("amount_claimed", "1.8e3"), "no exponent"),
    Bad("amount-underscore", set_("amount_claimed", "1_800"), "underscore"),
    Bad("amount-negative-zero", set_("amount_claimed", "-0.00"), "amounts cannot be negative"),
    Bad(
        "amount-spaces", set_("amount_claimed", " 1800 "), "no exponent, underscore, sign or space"
    ),
    Bad(
        "item-exponent",
        set_("items.0.amount", "1.2E3"),
        "invalid items.0.amount: Value error, write",
    ),
    Bad("item-age-full-width", set_("items.0.age_years", "１"), "items.0.age_years: Value error"),
    Bad(
        "detail-underscore", set_("details", {"vehicle_value": "150_000"}), "details.vehicle_value"
    ),
    Bad("details-too-many", set_("details", {f"k{i}": i for i in range(101)}), "at most 100"),
    # dates
    Bad("occurred-naive", set_("occurred_at", "2026-03-02T09:30:00"), "should have timezone"),
    Bad("occurred-words", set_("occurred_at", "yesterday"), "invalid occurred_at: Input should"),
    Bad(
        "occurred-future",
        set_("occurred_at", FUTURE),
        "invalid report: occurred_at is in the future",
        flow="The incident time is later than the time of the report.",
        written=True,
    ),
    Bad("reported-future", set_("reported_at", FUTURE), "reported_at is in the future"),
    Bad(
        "birth-future",
        set_("claimant.birth_date", FUTURE[:10]),
        "claimant.birth_date is in the future",
    ),
    Bad(
        "invoice-future",
        set_("materials.4.issued_on", FUTURE[:10]),
        "materials.4.issued_on is in the future",
    ),
    Bad("invoice-date-words", set_("materials.4.issued_on", "soon"), "issued_on: Input should"),
    Bad("occurred-year-1", set_("occurred_at", "0001-01-01T00:00:00Z"), "years 1900 to 2200"),
    Bad("occurred-year-9999", set_("occurred_at", "9999-12-31T23:59:59-12:00"), "years 1900 to"),
    Bad("reported-year-1", set_("reported_at", "0001-01-01T00:00:00+14:00"), "invalid reported_at"),
    Bad(
        "occurred-offset-20h", set_("occurred_at", "2026-03-02T09:30:00+20:00"), "at most 14 hours"
    ),
    Bad("birth-1800", set_("claimant.birth_date", "1800-01-01"), "invalid claimant.birth_date"),
    Bad("invoice-2300", set_("materials.4.issued_on", "2300-01-01"), "years 1900 to 2200"),
    # codes
    Bad(
        "unknown-policy",
        set_("policy_no", "P-NOPE-9999"),
        "invalid policy_no: no policy P-NOPE-9999 is on record",
        flow="No policy P-NOPE-9999 was found.",
        written=True,
    ),
    Bad("unknown-line", set_("line", "marine"), "invalid line: Input should be"),
    Bad("unknown-incident", set_("incident_type", "flood"), "incident_type 'flood' is not one"),
    Bad("incident-of-other-line", set_("incident_type", "collision"), "'collision' is not one"),
    Bad("unknown-channel", set_("channel", "fax"), "invalid channel: Input should be"),
    Bad("unknown-category", set_("items.0.category", "spa"), "item category 'spa' is not one"),
    Bad("unknown-material", set_("materials.0.kind", "selfie"), "unknown material kind 'selfie'"),
    Bad("unknown-language", set_("claimant.language", "fr"), "invalid claimant.language"),
    # text
    Bad(
        "description-1mb",
        set_("description", MB),
        "description: Value error, at most 20,000 characters, not 1,000,000",
    ),
    Bad(
        "name-1mb",
        set_("claimant.name", MB),
        "invalid claimant.name: Value error, at most 200 characters",
    ),
    Bad("name-nul", set_("claimant.name", "张\x00三"), "control character U+0000"),
    Bad("description-bell", set_("description", "痛\x07"), "control character U+0007"),
    Bad("phone-newline", set_("claimant.phone", "138\n0000"), "control character U+000A"),
    Bad("name-line-separator", set_("claimant.name", "张\u2028三"), "line separator U+2028"),
    # unknown fields, nested as at the top
    Bad("claimant-extra", set_("claimant.nickname", "三儿"), "invalid claimant.nickname: Extra"),
    Bad("item-extra", set_("items.0.colour", "red"), "invalid items.0.colour: Extra inputs"),
    Bad("material-extra", set_("materials.0.pages", 3), "invalid materials.0.pages: Extra"),
    Bad(
        "name-lone-surrogate",
        set_("claimant.name", "\ud800"),
        "invalid claimant.name: ",
        flow="invalid input: Invalid JSON",
    ),
    Bad("not-utf8", whole(b'{"policy_no": "P-\xff\xfe"}'), "not UTF-8", flow="invalid input"),
    Bad("not-json", whole(b'{"policy_no": '), "bad JSON", flow="invalid input: Invalid JSON"),
]

COMPLAINTS = [
    Bad("missing-complainant", drop("complainant"), "invalid complainant: Field required"),
    Bad("missing-matter", drop("matter"), "invalid matter: Field required"),
    Bad("empty-matter", set_("matter", ""), "invalid matter: String should have at least"),
    Bad("missing-channel", drop("channel"), "invalid channel: Field required"),
    Bad("unknown-channel", set_("channel", "fax"), "invalid channel: Input should be"),
    Bad("unknown-category", set_("category", "rudeness"), "invalid category: Input should be"),
    Bad("no-contact", set_("complainant", {"name": "张三"}), "needs a phone or an email"),
    Bad("received-naive", set_("received_at", "2026-03-02T09:30:00"), "should have timezone"),
    Bad("received-future", set_("received_at", FUTURE), "received_at is in the future"),
    Bad("birth-future", set_("complainant.birth_date", FUTURE[:10]), "birth_date is in the"),
    Bad("name-control", set_("complainant.name", "张\x1b[31m三"), "control character U+001B"),
    Bad("matter-1mb", set_("matter", MB), "invalid matter: Value error, at most 20,000 characters"),
    Bad("typo-field", set_("remedy", "道歉"), "invalid remedy: Extra inputs"),
    Bad("group-not-list", set_("complainants", "李四"), "invalid complainants: Input should be"),
    Bad("media-words", set_("media", "yes please"), "invalid media: Input should be a valid"),
    Bad("care-unknown", set_("complainant.special_care", "vip"), "invalid complainant.special"),
    Bad("complaint-id-slash", set_("complaint_id", "a/b"), "invalid complaint_id: String"),
    Bad("claim-id-dots", set_("claim_id", "../../x"), "invalid claim_id: Value error, a claim id"),
    Bad("complainant-extra", set_("complainant.nickname", "三儿"), "invalid complainant.nickname"),
    Bad(
        "group-extra",
        set_("complainants", [{"name": "李四", "phone": "13900000000", "age": 70}]),
        "invalid complainants.0.age: Extra inputs",
    ),
    Bad("received-year-1", set_("received_at", "0001-01-01T00:00:00+14:00"), "years 1900 to"),
    Bad("birth-year-1", set_("complainant.birth_date", "0001-01-01"), "years 1900 to 2200"),
    Bad("array-not-object", whole([]), "invalid input: Input should be"),
    Bad("not-utf8", whole(b'{"matter": "\xc3\x28"}'), "not UTF-8", flow="invalid input"),
]


def good_claim(claim_id: str) -> dict[str, Any]:
    data = json.loads(medical_report(claim_id=claim_id).model_dump_json())
    data["materials"][4]["issued_on"] = data["occurred_at"][:10]  # the invoice: that day
    return data


def good_complaint(complaint_id: str) -> dict[str, Any]:
    return {
        "complaint_id": complaint_id,
        "channel": "phone",
        "complainant": {"name": "张三", "id_no": "110101198001011234", "phone": "13800000000"},
        "policy_no": "P-MED-0001",
        "category": "payment_timeliness",
        "matter": "赔款迟迟未到账",
        "remedy_sought": "尽快赔付",
    }


def body(case: Bad, good: dict[str, Any]) -> bytes:
    """The malformed report as the bytes another system would send."""
    data = case.change(good)
    if isinstance(data, bytes):
        return data
    text = json.dumps(data, ensure_ascii=True)
    return re.sub(r'"@@(.*?)@@"', r"\1", text).encode("utf-8")


def _short(case_id: str) -> str:
    return f"{case_id}-{uuid.uuid4().hex[:6]}"


# ------------------------------------------------------------------ the model


def test_the_tables_are_large_enough():
    assert len(CLAIMS) + len(COMPLAINTS) >= 50
    assert len({c.id for c in CLAIMS}) == len(CLAIMS)
    assert len({c.id for c in COMPLAINTS}) == len(COMPLAINTS)


def _expected(case: Bad) -> str:
    """The model reads the JSON as the workflow does; dates are checked as the CLI does."""
    return case.cli if case.written else (case.flow or case.cli)


def _model_refusal(model: Any, dates: Callable[..., str | None], raw: bytes) -> str | None:
    try:
        report = model.model_validate_json(raw)
    except ValidationError as err:
        return validation_message(err)
    problem = dates(report, datetime.now(UTC))
    return f"invalid report: {problem}" if problem else None


@pytest.mark.parametrize(
    "case", [c for c in CLAIMS if c.id != "unknown-policy"], ids=lambda c: c.id
)
def test_the_claim_model_refuses_with_one_line_naming_the_field(case):
    message = _model_refusal(ClaimReport, impossible_dates, body(case, good_claim("M-1")))
    assert message is not None and _expected(case) in message
    assert "\n" not in message and len(message) < 500


@pytest.mark.parametrize("case", COMPLAINTS, ids=lambda c: c.id)
def test_the_complaint_model_refuses_with_one_line_naming_the_field(case):
    raw = body(case, good_complaint("M-1"))
    message = _model_refusal(ComplaintReport, complaint_impossible_dates, raw)
    assert message is not None and _expected(case) in message
    assert "\n" not in message and len(message) < 500


# ------------------------------------------------------------------ the CLI


def _rows(engine: Any, table: Any, ids: list[str]) -> list[Any]:
    key = table.claim_id if table is ClaimRow else table.complaint_id
    with Session(engine) as s:
        return list(s.exec(select(table).where(key.in_(ids))).all())  # type: ignore[attr-defined]


async def _not_started(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        return err.status == RPCStatusCode.NOT_FOUND
    return False


@pytest.fixture
def quick_cli(cli_env, monkeypatch):
    """typer rebuilds the command tree on every call (0.4 s); sixty calls build it once."""
    monkeypatch.setattr(typer.testing, "_get_command", functools.cache(typer.testing._get_command))
    return cli_env


async def _cli_refuses_all(cli_env, tmp_path: Path, kind: str) -> None:
    cases, good, command = (
        (CLAIMS, good_claim, ["claim", "submit"])
        if kind == "claim"
        else (COMPLAINTS, good_complaint, ["complaint", "file"])
    )
    ids = []
    for case in cases:
        case_id = _short(f"CLI-{case.id}")
        ids.append(case_id)
        path = tmp_path / f"{case.id}.json"
        path.write_bytes(body(case, good(case_id)))
        r = await claims(*command, str(path))
        out = r.output.strip()
        assert r.exit_code == 1, (case.id, out)
        assert out.splitlines() == [out], (case.id, out)
        assert out.startswith("error: ") and case.cli in out, (case.id, out)
        assert "Traceback" not in out and len(out) < 500, (case.id, out)
        assert await _not_started(cli_env.client, f"{kind}-{case_id}"), case.id
    assert _rows(cli_env.engine, ClaimRow if kind == "claim" else ComplaintRow, ids) == []


async def test_the_cli_refuses_every_bad_claim_report_and_starts_nothing(quick_cli, tmp_path):
    await _cli_refuses_all(quick_cli, tmp_path, "claim")


async def test_the_cli_refuses_every_bad_complaint_report_and_starts_nothing(quick_cli, tmp_path):
    await _cli_refuses_all(quick_cli, tmp_path, "complaint")


# ------------------------------------------------------------------ raw JSON starts


async def assert_no_workflow_task_failed(client: Client, workflow_ids: list[str]) -> None:
    async def failures(workflow_id: str) -> list[str]:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        return [
            e.workflow_task_failed_event_attributes.failure.message
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]

    found = await asyncio.gather(*(failures(w) for w in workflow_ids))
    failed = {w: f for w, f in zip(workflow_ids, found, strict=True) if f}
    assert failed == {}


async def _start_raw(client: Client, workflow_type: str, workflow_id: str, raw: bytes, tq: str):
    payload = Payload(metadata={"encoding": b"json/plain"}, data=raw)
    return await client.start_workflow(
        workflow_type, RawValue(payload), id=workflow_id, task_queue=tq
    )


async def _raw_starts_end_not_accepted(dev, kind: str) -> None:
    cases, good, workflow_type, reason_field = (
        (CLAIMS, good_claim, "ClaimWorkflow", "not_accepted_reason")
        if kind == "claim"
        else (COMPLAINTS, good_complaint, "ComplaintWorkflow", "decline_reason")
    )
    ids = {case.id: _short(f"RAW-{case.id}") for case in cases}
    handles = await asyncio.gather(
        *(
            _start_raw(
                dev.client,
                workflow_type,
                f"{kind}-{ids[case.id]}",
                body(case, good(ids[case.id])),
                dev.task_queue,
            )
            for case in cases
        )
    )
    results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 60)
    for case, result in zip(cases, results, strict=True):
        assert result["stage"] == "NOT_ACCEPTED", (case.id, result["stage"])
        reason = result[reason_field] or ""
        assert (case.flow or case.cli.removeprefix("invalid report: ")) in reason, (case.id, reason)
        assert "\n" not in reason and len(reason) < 600, (case.id, reason)
    await assert_no_workflow_task_failed(dev.client, [h.id for h in handles])
    # The audit trail of a refused case reads whatever was sent, even bytes that are not JSON.
    for case, handle in zip(cases, handles, strict=True):
        if case.id in ("not-utf8", "not-json", "description-1mb", "matter-1mb"):
            trail = build_trail(decrypted(await handle.fetch_history()))
            assert trail[-1]["summary"] == "final stage NOT_ACCEPTED", case.id
            assert "final stage NOT_ACCEPTED" in render_html(handle.id, trail)
    quiet = [ids[c.id] for c in cases if not c.written]
    assert _rows(dev.engine, ClaimRow if kind == "claim" else ComplaintRow, quiet) == []
    with Session(dev.engine) as s:
        letters = s.exec(select(LetterRow).where(LetterRow.case_id.in_(quiet))).all()  # type: ignore[attr-defined]
    assert letters == []


async def test_raw_json_claim_starts_end_not_accepted_and_write_nothing(dev):
    await _raw_starts_end_not_accepted(dev, "claim")


async def test_raw_json_complaint_starts_end_not_accepted_and_write_nothing(dev):
    await _raw_starts_end_not_accepted(dev, "complaint")


async def test_a_start_without_a_report_ends_not_accepted(dev):
    handle = await dev.client.start_workflow(
        "ClaimWorkflow", id=f"claim-{_short('EMPTY')}", task_queue=dev.task_queue
    )
    result = await asyncio.wait_for(handle.result(), 20)
    assert result["stage"] == "NOT_ACCEPTED"
    assert result["not_accepted_reason"] == "the report cannot be accepted: no report was given"
    await assert_no_workflow_task_failed(dev.client, [handle.id])


# ------------------------------------------------------------------ signals and updates


async def claim_awaiting_approval(dev: Any) -> tuple[Any, Any]:
    """A claim that waits for one L1 approval (8,000.00, no flags): its handle and status."""
    report = medical_report(
        amount_claimed="8000.00",
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    handle = await dev.client.start_workflow(
        "ClaimWorkflow", report, id=f"claim-{report.claim_id}", task_queue=dev.task_queue
    )
    return handle, await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")


async def test_malformed_signals_and_updates_change_nothing_on_a_running_claim(dev):
    handle, before = await claim_awaiting_approval(dev)

    signals = [
        ("submit_materials", {"materials": [{"kind": "selfie", "ref": "x"}]}),
        ("submit_materials", {}),
        ("submit_materials", {"materials": "invoices"}),
        ("decision", {"approver": 5, "decision": "approve"}),
        ("decision", {"approver": "adj1", "decision": "approve", "amount": "-5"}),
        ("decision", {"approver": "adj1", "decision": "approve", "note": "\x00"}),
        ("decision", "approve"),
        ("decision", {"approver": "nobody", "decision": "approve"}),
        ("decision", {"approver": "adj1", "decision": "maybe"}),
    ]
    for name, payload in signals:
        await handle.signal(name, payload)
    updates = [
        ("decide", {"approver": "adj1"}, "decision"),
        ("decide", {"approver": "nobody", "decision": "approve"}, "nobody"),
        ("decide", {"approver": "adj1", "decision": "maybe"}, "maybe"),
        ("decide", {"approver": "adj1", "decision": "approve", "amount": 1.5}, "floats"),
        ("adjust", {"adjuster": "adj1", "amount": "-100"}, "negative"),
        ("report_findings", {"investigator": "inv1", "task": "x", "facts": ""}, "facts"),
        ("convene_panel", {"convener": "mgr1", "members": "sup1"}, "members"),
        ("appeal", {"by": "claimant", "reason": "\x07"}, "control character"),
        ("withdraw", {"by": 5}, "by"),
        ("no_such_update", {}, "no_such_update"),
    ]
    for name, payload, words in updates:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(name, payload)
        message = str(refused.value.cause)
        assert words in message and "\n" not in message, (name, message)

    after = await status(dev.client, before.claim_id)
    assert after.stage == "PENDING_APPROVAL"
    assert after.approvals == [] and after.payable_amount == before.payable_amount
    assert sorted(after.received_materials) == sorted(before.received_materials)
    # the two well-formed decision signals that name a stranger or a bad verdict are recorded
    assert len(after.refused_decisions) == 2
    await assert_no_workflow_task_failed(dev.client, [handle.id])

    # the case still works
    await decide(handle, "adj1", "approve")
    await wait_stage(dev.client, before.claim_id, "CLOSED")
    await assert_no_workflow_task_failed(dev.client, [handle.id])


async def complaint_registered(dev: Any) -> tuple[Any, dict[str, Any]]:
    """A complaint registered and waiting to be assigned: its handle and status."""
    cid = _short("CMP-BAD")
    handle = await dev.client.start_workflow(
        "ComplaintWorkflow", good_complaint(cid), id=f"complaint-{cid}", task_queue=dev.task_queue
    )
    for _ in range(200):
        st = await handle.query("status")
        if st["stage"] == "REGISTERED" and st["open_tasks"]:
            break
        await asyncio.sleep(0.05)
    return handle, st


async def test_malformed_updates_change_nothing_on_a_running_complaint(dev):
    handle, _ = await complaint_registered(dev)
    updates = [
        ("assign", {"coordinator": "mgr1"}, "handler"),
        ("assign", {"coordinator": "ghost", "handler": "adj1"}, "ghost"),
        (
            "propose_resolution",
            {"handler": "adj1", "kinds": ["payment"], "description": "x", "amount": "-10"},
            "negative",
        ),
        ("extend", {"by": "mgr1", "days": "many"}, "days"),
        ("callback", {"by": "mgr1", "reached": "perhaps"}, "reached"),
        ("close", {}, "by"),
    ]
    for name, payload, words in updates:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(name, payload)
        message = str(refused.value.cause)
        assert words in message and "\n" not in message, (name, message)
    st = await handle.query("status")
    assert st["stage"] == "REGISTERED" and st["handler"] is None
    await assert_no_workflow_task_failed(dev.client, [handle.id])


# ------------------------------------------------------------------ free text stays inert

INJECTED = "{{ 7*7 }} {% for x in range(3) %}x{% endfor %} <script>alert(1)</script><b>粗</b>"


async def test_template_syntax_and_html_in_free_text_come_out_literally(cli_env, tmp_path):
    data = good_claim(_short("INERT"))
    data["claimant"]["name"] = "张三 " + INJECTED
    data["description"] = "门诊 " + INJECTED
    path = tmp_path / "inert.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    r = await claims("claim", "submit", str(path))
    assert r.exit_code == 0, r.output
    claim_id = data["claim_id"]
    await wait_stage(cli_env.client, claim_id, "CLOSED")
    assert "acknowledgement" in await wait_letter(cli_env.engine, claim_id, "acknowledgement")
    with Session(cli_env.engine) as s:
        rows = s.exec(select(LetterRow).where(LetterRow.case_id == claim_id)).all()
    for row in rows:
        text = Path(row.path).read_text(encoding="utf-8")
        assert INJECTED in text, row.kind  # had it been rendered, the literal would be gone

    cid = _short("INERT-C")
    complaint = good_complaint(cid)
    complaint["matter"] = INJECTED
    complaint["complainant"]["name"] = "{{ 7*7 }}"
    cpath = tmp_path / "inert-complaint.json"
    cpath.write_text(json.dumps(complaint, ensure_ascii=False), encoding="utf-8")
    r = await claims("complaint", "file", str(cpath))
    assert r.exit_code == 0, r.output
    await wait_letter(cli_env.engine, cid, "complaint_acknowledgement")
    with Session(cli_env.engine) as s:
        row = s.exec(select(LetterRow).where(LetterRow.case_id == cid)).first()
    assert row is not None
    text = Path(row.path).read_text(encoding="utf-8")
    assert "{{ 7*7 }}" in text and "<script>alert(1)</script>" in text

    page = tmp_path / "trail.html"
    r = await claims("audit", "trail", claim_id, "--html", str(page))
    assert r.exit_code == 0, r.output
    html = page.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in html and "<script>" not in html and "<b>粗</b>" not in html
    assert "{{ 7*7 }}" in html


def test_reported_before_occurred_and_items_that_do_not_add_up_are_accepted():
    """Decided: these are facts for the risk rules and the adjuster, not input errors. An
    incident dated after its report is flag R05 (DOMAIN §5); the adjustment pays from the items
    and the claimed figure sets the reserve (DOMAIN §6)."""
    data = good_claim("OK-1")
    data["reported_at"] = "2026-03-01T09:00:00+08:00"  # a day before it occurred
    data["items"][0]["amount"] = "100.00"  # items 700.00, claimed 1800.00
    data["amount_claimed"] = 1800  # a JSON integer is exact, so it is taken
    report = ClaimReport.model_validate(data)
    assert impossible_dates(report, datetime.now(UTC)) is None
    assert str(report.amount_claimed) == "1800.00"


async def test_the_client_helpers_refuse_a_report_dated_in_the_future(dev):
    report = medical_report(reported_at=datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(ReportRefused, match="^invalid report: reported_at is in the future$"):
        await start_claim(dev.client, report, dev.task_queue)
    assert await _not_started(dev.client, f"claim-{report.claim_id}")
    complaint = ComplaintReport.model_validate(
        dict(good_complaint(_short("C-F")), received_at=FUTURE)
    )
    with pytest.raises(ReportRefused, match="received_at is in the future"):
        await start_complaint(dev.client, complaint, dev.task_queue)
    assert await _not_started(dev.client, f"complaint-{complaint.complaint_id}")


async def test_a_case_begun_before_the_checks_replays_with_the_report_it_had():
    """A running case whose report the checks would now refuse (a float amount, a control
    character) replays as it ran: no marker for `refuse-invalid-report` (nor for the release
    that refuses hostile input) in its history, recorded before either."""
    recorded = HISTORIES / "before-assessed-losses" / "fast-track.json"
    history = json.loads(recorded.read_text(encoding="utf-8"))
    payload = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
    data = base64.b64decode(payload["payloads"][0]["data"]).decode("utf-8")
    older = data.replace('"amount_claimed":"1800.00"', '"amount_claimed":1800.0')
    older = older.replace('"description":"', '"description":"\\u0007', 1)
    assert older != data and '"amount_claimed":1800.0' in older
    with pytest.raises(ValidationError):
        ClaimReport.model_validate_json(older)
    payload["payloads"][0]["data"] = base64.b64encode(older.encode("utf-8")).decode()
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory.from_json("older", json.dumps(history)))
