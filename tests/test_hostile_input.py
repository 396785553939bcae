"""Hostile input (issue 12): whatever a client sends, no file outside the data folder, no
workflow task that fails, no activity left retrying, no running case changed, and every refusal
one line without a stack trace.

The malformed reports themselves (non-ASCII digits, exponents, negative zero, impossible dates,
unknown nested fields) are rows of the tables in tests/test_bad_input.py, sent there to the
model, the CLI and a raw start. Here: case ids taken from the workflow id, letter paths, starts
and messages with several arguments, the failure converter, the client helpers, and property
tests that throw generated reports and messages at the model and at a running worker.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import Session, select
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Replayer

from activities.letters import letter_path
from client import (
    ENGINE_CONVERTER,
    EnginePayloadConverter,
    OneLineFailures,
    ReportRefused,
    start_claim,
    start_complaint,
)
from models.arguments import SeveralArguments
from models.claim import (
    Adjustment,
    ClaimReport,
    Decision,
    MaterialsSubmission,
)
from models.complaint import Assignment, ClockChange, ComplaintReport, Resolution
from models.tables import ClaimRow, ComplaintRow, LetterRow
from models.validation import validation_message
from tests.claimtools import decide, status, wait_stage
from tests.factories import medical_report
from tests.test_bad_input import (
    HISTORIES,
    assert_no_workflow_task_failed,
    claim_awaiting_approval,
    complaint_registered,
    good_claim,
    good_complaint,
)
from worker import INTERCEPTORS, WORKFLOWS

# ------------------------------------------------------------------ helpers


def raw(data: Any) -> RawValue:
    """A payload as any Temporal client may send it: JSON text, or bytes as they are."""
    if isinstance(data, bytes):
        return RawValue(Payload(metadata={"encoding": b"json/plain"}, data=data))
    return RawValue(
        Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(data).encode("utf-8"))
    )


def files_outside(data_dir: Path, *roots: Path) -> list[str]:
    """Every file under `roots` that is not inside the data folder."""
    inside = data_dir.resolve()
    found = []
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath, name).resolve()
                if inside not in path.parents:
                    found.append(str(path))
    return sorted(found)


async def results(client: Any, workflow_ids: list[str], timeout: float = 30) -> list[dict]:
    handles = [client.get_workflow_handle(w) for w in workflow_ids]
    return await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout)


async def stuck_activities(client: Any, workflow_ids: list[str]) -> dict[str, list[str]]:
    """Activities of these workflows that have failed at least once and are still pending."""
    stuck: dict[str, list[str]] = {}
    for workflow_id in workflow_ids:
        try:
            described = await client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            continue
        pending = [
            f"{p.activity_type.name} attempt {p.attempt}: {p.last_failure.message}"
            for p in described.raw_description.pending_activities
            if p.attempt > 1
        ]
        if pending:
            stuck[workflow_id] = pending
    return stuck


def one_line(text: str) -> bool:
    return "\n" not in text and "\r" not in text and len(text) <= 600


def _short(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# ------------------------------------------------------------------ case ids and letter paths


@pytest.mark.parametrize("case_id", ["../../x", "..", "/etc", "a/../../b", "x\x00y", "../x/y"])
def test_a_letter_path_outside_the_letters_folder_is_refused_for_good(tmp_path, case_id):
    letters = tmp_path / "data" / "letters"
    letters.mkdir(parents=True)
    with pytest.raises(ApplicationError) as refused:
        letter_path(letters, case_id, "L-1")
    assert refused.value.non_retryable and refused.value.type == "UnsafeLetterPath"
    message = refused.value.message
    assert one_line(message) and "outside the letters folder" in message
    assert str(tmp_path) not in message  # no server path
    assert files_outside(tmp_path / "data", tmp_path) == []


def test_a_letter_path_through_a_link_out_of_the_folder_is_refused(tmp_path):
    letters = tmp_path / "data" / "letters"
    letters.mkdir(parents=True)
    (letters / "CLM-LINK").symlink_to(tmp_path)
    with pytest.raises(ApplicationError, match="outside the letters folder"):
        letter_path(letters, "CLM-LINK", "CLM-LINK-acknowledgement-1")
    assert letter_path(letters, "CLM-1", "CLM-1-acknowledgement-1") == (
        letters.resolve() / "CLM-1" / "CLM-1-acknowledgement-1.txt"
    )


async def test_a_case_id_taken_from_a_hostile_workflow_id_ends_not_accepted(dev, tmp_path):
    """A report without its own id takes the workflow's: `claim-../../x` must not become
    claim `../../x` and file letters two folders up."""
    tag = uuid.uuid4().hex[:6]
    hostile = [f"../../x{tag}", f"..{tag}", f"{tmp_path}/abs{tag}", f"a b{tag}", f".hidden{tag}"]
    ids = []
    for case_id in hostile:
        claim = good_claim("unused")
        del claim["claim_id"]
        complaint = good_complaint("unused")
        del complaint["complaint_id"]
        for kind, report in (("claim", claim), ("complaint", complaint)):
            workflow_id = f"{kind}-{case_id}"
            ids.append(workflow_id)
            await dev.client.start_workflow(
                f"{kind.capitalize()}Workflow",
                raw(report),
                id=workflow_id,
                task_queue=dev.task_queue,
            )
    done = await results(dev.client, ids)
    for workflow_id, result in zip(ids, done, strict=True):
        assert result["stage"] == "NOT_ACCEPTED", workflow_id
        reason = result.get("not_accepted_reason") or result.get("decline_reason") or ""
        assert "the case id taken from the workflow id does not match" in reason, reason
        assert one_line(reason)
        key = "claim_id" if workflow_id.startswith("claim-") else "complaint_id"
        assert result[key] == ""
    await assert_no_workflow_task_failed(dev.client, ids)
    assert files_outside(dev.settings.data_dir, tmp_path) == []
    assert not Path(f"{tmp_path}/abs{tag}").exists()
    with Session(dev.engine) as s:
        assert s.exec(select(LetterRow)).all() == []
        assert s.exec(select(ClaimRow)).all() == []
        assert s.exec(select(ComplaintRow)).all() == []


# ------------------------------------------------------------------ several arguments


def test_several_untyped_arguments_are_read_as_one():
    converter = EnginePayloadConverter()
    one, two = raw({"a": 1}).payload, raw([2]).payload
    [several] = converter.from_payloads([one, two], None)
    assert isinstance(several, SeveralArguments) and several.count == 2
    assert several.payload == one
    # typed, or a single payload: as the pydantic converter reads them
    assert converter.from_payloads([one], None) == [{"a": 1}]
    assert converter.from_payloads([one, two], [dict, list]) == [{"a": 1}, [2]]
    [value] = converter.from_payloads([one], [RawValue])
    assert isinstance(value, RawValue) and not isinstance(value, SeveralArguments)


async def test_a_start_with_several_arguments_ends_not_accepted(dev):
    ids = []
    for kind, report in (("claim", good_claim), ("complaint", good_complaint)):
        for extra in ([{}], [report("X-2"), "x"], [b"not json"]):
            case_id = _short(f"TWO-{kind}")
            workflow_id = f"{kind}-{case_id}"
            ids.append(workflow_id)
            await dev.client.start_workflow(
                f"{kind.capitalize()}Workflow",
                args=[raw(report(case_id)), *(raw(e) for e in extra)],
                id=workflow_id,
                task_queue=dev.task_queue,
            )
    done = await results(dev.client, ids)
    for workflow_id, result in zip(ids, done, strict=True):
        reason = result.get("not_accepted_reason") or result.get("decline_reason") or ""
        assert result["stage"] == "NOT_ACCEPTED", workflow_id
        assert reason.startswith("the report cannot be accepted: a start carries one report: ")
        assert "one argument is expected, not" in reason and one_line(reason)
    await assert_no_workflow_task_failed(dev.client, ids)
    with Session(dev.engine) as s:
        assert s.exec(select(LetterRow)).all() == []


async def test_messages_with_several_arguments_are_refused_and_change_nothing(dev):
    handle, before = await claim_awaiting_approval(dev)
    materials = {"materials": [{"kind": "invoices", "ref": "scan-9"}]}
    await handle.signal("submit_materials", args=[materials, materials])
    await handle.signal("decision", args=[{"approver": "adj1", "decision": "approve"}, {}])
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("decide", args=[{"approver": "adj1"}, {}])
    message = refused.value.cause.message
    assert message == "one argument is expected, not 2"
    assert refused.value.cause.failure.stack_trace == ""
    after = await status(dev.client, before.claim_id)
    assert after.stage == "PENDING_APPROVAL" and after.approvals == []
    assert after.received_materials == before.received_materials
    assert after.refused_decisions == before.refused_decisions
    await assert_no_workflow_task_failed(dev.client, [handle.id])


# ------------------------------------------------------------------ one line, no stack trace


def _raised(exception: BaseException) -> BaseException:
    try:
        raise exception
    except BaseException as err:  # noqa: BLE001 - it carries its traceback now
        return err


def test_business_refusals_leave_without_a_stack_trace():
    converter = OneLineFailures()
    from temporalio.contrib.pydantic import pydantic_data_converter

    payloads = pydantic_data_converter.payload_converter
    refusal = Failure()
    cause = _raised(KeyError("inner"))
    error = ApplicationError("refused:\nnot allowed", type="InvalidStep", non_retryable=True)
    error.__cause__ = cause
    converter.to_failure(_raised(error), payloads, refusal)
    assert refusal.message == "refused: not allowed"
    assert refusal.stack_trace == "" and refusal.cause.stack_trace == ""
    assert refusal.application_failure_info.type == "InvalidStep"

    try:
        Decision.model_validate({"approver": "adj1"})
    except ValidationError as err:
        invalid = Failure()
        converter.to_failure(err, payloads, invalid)
    assert invalid.message == "invalid decision: Field required"
    assert invalid.stack_trace == ""

    undecodable = Failure()
    err = RuntimeError("Failed decoding arguments")
    err.__cause__ = KeyError("Unknown payload encoding foo/bar")
    converter.to_failure(_raised(err), payloads, undecodable)
    assert undecodable.message.startswith("the message does not decode: ")
    assert undecodable.stack_trace == "" and one_line(undecodable.message)

    bug = Failure()  # a bug keeps its trace, for whoever reads the history
    converter.to_failure(_raised(ZeroDivisionError("oops")), payloads, bug)
    assert "test_hostile_input.py" in bug.stack_trace


async def test_a_refused_update_carries_one_line_and_no_server_path(dev):
    handle, _ = await claim_awaiting_approval(dev)
    here = str(Path(__file__).resolve().parent.parent)
    for name, payload in [
        ("decide", {"approver": "nobody", "decision": "approve"}),  # refused by the claim
        ("decide", {"approver": "adj1"}),  # does not validate
        ("appeal", {"by": "claimant"}),  # not now
        ("adjust", {"adjuster": "adj1", "amount": "1e3"}),
        ("decide", raw(b"\xff not json")),
        ("decide", RawValue(Payload(metadata={"encoding": b"foo/bar"}, data=b"x"))),
    ]:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(name, payload)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError), (name, cause)
        assert cause.failure is not None and cause.failure.stack_trace == "", name
        assert one_line(cause.message) and here not in cause.message, (name, cause.message)
    await assert_no_workflow_task_failed(dev.client, [handle.id])


# ------------------------------------------------------------------ the client helpers


async def test_the_client_helpers_refuse_what_the_workflow_would(dev):
    """A report built without validation (or read leniently) is read again before starting."""
    good = medical_report()
    for change in (
        {"amount_claimed": "1e3"},
        {"occurred_at": "0001-01-01T00:00:00Z"},
        {"claimant": dict(good.claimant.model_dump(), nickname="三儿")},
        {"details": {"disability_grade": "²"}},
    ):
        data = dict(json.loads(good.model_dump_json()), **change)
        report = ClaimReport.model_construct(**data)
        with pytest.raises(ReportRefused) as refused:
            await start_claim(dev.client, report, dev.task_queue)
        assert one_line(str(refused.value)) and str(refused.value).startswith("invalid ")
    complaint = ComplaintReport.model_construct(
        **dict(good_complaint(_short("C")), received_at="0001-01-01T00:00:00+14:00")
    )
    with pytest.raises(ReportRefused, match="received_at"):
        await start_complaint(dev.client, complaint, dev.task_queue)
    with Session(dev.engine) as s:
        assert s.exec(select(ClaimRow)).all() == []


# ------------------------------------------------------------------ property tests

# Values a hostile client would try in any field: numbers in other scripts and notations,
# impossible dates, wrong types, text that is not one line, and anything JSON can say.
HOSTILE_NUMBERS = [
    "١٢٣",
    "１２３",
    "٣",
    "²",
    "1e3",
    "1E+3",
    "1_000",
    "-0.00",
    "-0",
    "+5",
    " 5",
    "NaN",
    "-Infinity",
    "9" * 40,
    "0x10",
    "",
]
HOSTILE_DATES = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "2026-03-02T09:30:00+23:59",
    "1899-12-31T23:59:59+08:00",
    "2201-01-01T00:00:00Z",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
hostile_values = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(HOSTILE_DATES),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.from_regex(r"[0-9\u0660-\u0669\uff10-\uff19_eE.+-]{1,8}", fullmatch=True),
    json_values,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON document a value can be put (keys, list items, new keys)."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
        found.append((*prefix, "unexpected_field"))
    elif isinstance(data, list):
        for n, value in enumerate(data):
            found += _paths(value, (*prefix, n))
    return found


@st.composite
def mutated(draw: Any, base: dict[str, Any], changes: int = 3) -> dict[str, Any]:
    """A good document with one to `changes` places set to hostile values or removed."""
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(min_value=1, max_value=changes))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        node = data
        for step in path[:-1]:
            node = node[step]
        if draw(st.integers(0, 9)) == 0 and isinstance(node, dict) and path[-1] in node:
            del node[path[-1]]
        elif isinstance(node, dict) or path[-1] < len(node):
            node[path[-1]] = draw(hostile_values)
    return data


def _encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


MODELS = [
    (ClaimReport, good_claim("P-1")),
    (ComplaintReport, good_complaint("P-1")),
    (Decision, {"approver": "adj1", "decision": "approve", "note": "ok", "amount": "100.00"}),
    (MaterialsSubmission, {"materials": [{"kind": "invoices", "ref": "r", "issued_on": None}]}),
    (Adjustment, {"adjuster": "adj1", "amount": "100.00", "note": ""}),
    (Assignment, {"coordinator": "cc1", "handler": "h1"}),
    (ClockChange, {"by": "mgr1", "reason": "x", "days": 30}),
    (
        Resolution,
        {
            "handler": "h1",
            "kinds": ["payment"],
            "description": "x",
            "amount": "10.00",
            "payee": {"name": "张三", "account_ref": "6222"},
        },
    ),
]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_models_refuse_hostile_input_with_one_line_and_nothing_else(data):
    model, base = data.draw(st.sampled_from(MODELS), label="model")
    raw_bytes = data.draw(
        st.one_of(
            mutated(base).map(_encode),
            st.binary(max_size=60),
            json_values.map(_encode),
        ),
        label="input",
    )
    try:
        value = model.model_validate_json(raw_bytes)
    except ValidationError as err:  # nothing else may escape
        message = validation_message(err)
        assert one_line(message) and len(message) <= 400, message
        assert message.isprintable(), message
        return
    # what was taken reads back the same, and its dates convert to UTC and to local time
    again = model.model_validate_json(value.model_dump_json())
    assert again == value
    for name in ("occurred_at", "reported_at", "received_at"):
        when = getattr(value, name, None)
        if when is not None:
            assert 1900 <= when.astimezone(UTC).year <= 2200
    case_id = getattr(value, "claim_id", None) or getattr(value, "complaint_id", None)
    if isinstance(value, ClaimReport | ComplaintReport) and case_id:
        letter_path(Path("/nonexistent/letters"), case_id, f"{case_id}-x-1")


def _collect(strategy: Any, count: int) -> list[Any]:
    """`count` examples of a strategy, drawn by hypothesis (its generation phase only): the
    worker test sends them all at once rather than one example at a time."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


hostile_ids = st.one_of(
    st.sampled_from(["../../x", "..", "/tmp/x", "a/b", ".x", "a b", "Ä", "x" * 80, ""]),
    st.text(max_size=20),
)


@st.composite
def claim_starts(draw: Any) -> tuple[str, list[bytes]]:
    """A hostile claim start: the workflow id's case id and the arguments' bytes."""
    case_id = draw(hostile_ids)
    report = draw(mutated(good_claim("placeholder")))
    if isinstance(report, dict) and draw(st.booleans()):
        report.pop("claim_id", None)  # the id comes from the workflow id then
    args = [_encode(report)]
    if draw(st.integers(0, 5)) == 0:
        args.append(_encode(draw(json_values)))
    return case_id, args


@st.composite
def claim_messages(draw: Any) -> tuple[str, str, list[bytes]]:
    """A hostile message to a claim waiting for approval: signal or update, name, arguments.
    Each leaves the claim as it was (an unsigned decision is refused and recorded)."""
    kind, name, base = draw(
        st.sampled_from(
            [
                ("signal", "decision", {"approver": "adj1", "decision": "approve"}),
                ("update", "decide", {"approver": "adj1", "decision": "approve"}),
                ("update", "adjust", {"adjuster": "adj1", "amount": "100.00"}),
                ("update", "appeal", {"by": "claimant", "reason": "x"}),
                ("signal", "submit_materials", None),
            ]
        )
    )
    if name == "submit_materials":
        # always invalid: a kind the engine does not know, or an unknown field beside a known
        # one, or an impossible date
        material = draw(
            st.sampled_from(
                [
                    {"kind": draw(st.text(max_size=10)) + "?", "ref": "r"},
                    {"kind": "invoices", "ref": "r", draw(st.sampled_from(["pages", "x"])): 1},
                    {
                        "kind": "invoices",
                        "ref": "r",
                        "issued_on": draw(st.sampled_from(HOSTILE_DATES[:6])),
                    },
                ]
            )
        )
        args = [_encode({"materials": [material]})]
    else:
        args = [_encode(draw(mutated(base)))]
    if draw(st.integers(0, 5)) == 0:
        args.append(_encode(draw(json_values)))
    if draw(st.integers(0, 9)) == 0:
        args = [draw(st.binary(min_size=1, max_size=30))]
    return kind, name, args


@st.composite
def complaint_messages(draw: Any) -> tuple[str, str, list[bytes]]:
    """A hostile update to a registered complaint; none may assign it or change its clock."""
    name, base = draw(
        st.sampled_from(
            [
                ("assign", {"coordinator": "cc1", "handler": "h1"}),
                ("extend", {"by": "mgr1", "days": 30, "reason": "x"}),
                ("callback", {"by": "h1", "reached": True}),
                (
                    "propose_resolution",
                    {"handler": "h1", "kinds": ["payment"], "description": "x", "amount": "1"},
                ),
            ]
        )
    )
    data = draw(mutated(base))
    if name == "assign" and isinstance(data, dict) and data.get("handler") == "h1":
        data["handler"] = ["h1"]  # an assignment that validates would change the case
    if name == "extend" and isinstance(data, dict) and data.get("by") == "mgr1":
        data["by"] = {"id": "mgr1"}
    args = [_encode(data)]
    if draw(st.integers(0, 5)) == 0:
        args.append(_encode(draw(json_values)))
    return "update", name, args


def _payloads(args: list[bytes]) -> list[RawValue]:
    return [RawValue(Payload(metadata={"encoding": b"json/plain"}, data=a)) for a in args]


async def _send(handle: Any, kind: str, name: str, args: list[bytes]) -> str | None:
    """Send a message; the refusal's text for an update, None for a signal or a success."""
    if kind == "signal":
        await handle.signal(name, args=_payloads(args))
        return None
    try:
        await handle.execute_update(name, args=_payloads(args))
    except WorkflowUpdateFailedError as refused:
        cause = refused.cause
        assert cause.failure is None or cause.failure.stack_trace == "", (name, args)
        return str(cause.message)
    return None


async def test_a_running_worker_takes_generated_hostile_input_without_harm(dev, tmp_path):
    """25 generated claim starts and 25 messages to a claim and to a complaint: no workflow
    task fails, no activity retries, nothing is filed outside the data folder, and the
    running cases stay as they were."""
    starts = _collect(claim_starts(), 25)
    claim_msgs = _collect(claim_messages(), 25)
    complaint_msgs = _collect(complaint_messages(), 15)

    claim, before = await claim_awaiting_approval(dev)
    complaint, complaint_before = await complaint_registered(dev)

    started = []
    for n, (case_id, args) in enumerate(starts):
        workflow_id = f"claim-{case_id}{n:02d}{uuid.uuid4().hex[:4]}"
        try:
            await dev.client.start_workflow(
                "ClaimWorkflow", args=_payloads(args), id=workflow_id, task_queue=dev.task_queue
            )
        except RPCError:
            continue  # the server refused the id or the start: nothing ran
        started.append(workflow_id)

    refusals = []
    for kind, name, args in claim_msgs:
        refusals.append(await _send(claim, kind, name, args))
    for kind, name, args in complaint_msgs:
        refusals.append(await _send(complaint, kind, name, args))
    assert all(one_line(r) for r in refusals if r is not None), refusals

    await asyncio.sleep(3)
    everything = [*started, claim.id, complaint.id]
    await assert_no_workflow_task_failed(dev.client, everything)
    assert await stuck_activities(dev.client, everything) == {}
    assert files_outside(dev.settings.data_dir, tmp_path) == []
    for workflow_id in started:
        described = await dev.client.get_workflow_handle(workflow_id).describe()
        if described.status is not None and described.status.name == "COMPLETED":
            result = await dev.client.get_workflow_handle(workflow_id).result()
            reason = result.get("not_accepted_reason") or ""
            assert one_line(reason), reason

    after = await status(dev.client, before.claim_id)
    assert after.stage == before.stage == "PENDING_APPROVAL"
    assert after.approvals == [] and after.payments == before.payments
    assert after.payable_amount == before.payable_amount
    assert sorted(after.received_materials) == sorted(before.received_materials)
    assert after.letters == before.letters
    complaint_after = await complaint.query("status")
    for key in ("stage", "handler", "coordinator", "resolution", "extensions", "callbacks"):
        assert complaint_after[key] == complaint_before[key], key

    # and the claim still works
    await decide(claim, "adj1", "approve")
    await wait_stage(dev.client, before.claim_id, "CLOSED")
    await assert_no_workflow_task_failed(dev.client, [claim.id])


async def test_a_case_begun_before_the_hostile_input_checks_replays_with_its_report():
    """A running case whose report the new checks refuse (an exponent amount, an unknown field
    in the claimant, a material's page count) replays as it ran: its history has no marker
    for the release that added the checks, so it reads the report as it did then."""
    recorded = HISTORIES / "before-assessed-losses" / "fast-track.json"
    history = json.loads(recorded.read_text(encoding="utf-8"))
    payload = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
    data = base64.b64decode(payload["payloads"][0]["data"]).decode("utf-8")
    report = json.loads(data)
    report["amount_claimed"] = "1.8e3"
    report["claimant"]["nickname"] = "三儿"
    report["materials"][0]["pages"] = 2
    older = json.dumps(report, ensure_ascii=False)
    with pytest.raises(ValidationError):
        ClaimReport.model_validate_json(older)
    payload["payloads"][0]["data"] = base64.b64encode(older.encode("utf-8")).decode()
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=ENGINE_CONVERTER, interceptors=INTERCEPTORS
    )
    await replayer.replay_workflow(WorkflowHistory.from_json("older", json.dumps(history)))
