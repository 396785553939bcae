"""The audit timeline as a library (audit/timeline.py): built from recorded histories and from
events made by hand, without a server. Each history event type has its reader; activities are
known by the names their definitions register."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import ActivityType, Payload, Payloads, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    TimerStartedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
)
from temporalio.client import WorkflowHistory

from audit.history import load_file
from audit.payloads import duration, summary
from audit.timeline import (
    LETTER_ACTIVITY,
    PAYMENT_ACTIVITY,
    READERS,
    RULES_ACTIVITIES,
    SYNC_ACTIVITIES,
    build_trail,
)

HISTORIES = Path(__file__).parent / "histories"
AT = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)


def _recorded(name: str) -> list[dict[str, Any]]:
    # the committed histories are in clear (written without a payload key)
    return build_trail(load_file(HISTORIES / f"{name}.json", None))


def _json(value: Any) -> Payloads:
    data = json.dumps(value, ensure_ascii=False).encode()
    return Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=data)])


def _event(event_id: int, event_type: EventType.ValueType, **attributes: Any) -> HistoryEvent:
    at = Timestamp()
    at.FromDatetime(AT.replace(tzinfo=None))
    return HistoryEvent(event_id=event_id, event_type=event_type, event_time=at, **attributes)


def _trail(*events: HistoryEvent) -> list[dict[str, Any]]:
    return build_trail(WorkflowHistory("claim-T-1", list(events)))


def _started() -> HistoryEvent:
    return _event(
        1,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
            workflow_type=WorkflowType(name="ClaimWorkflow"),
            input=_json({"claim_id": "T-1", "amount_claimed": "100.00", "items": []}),
            identity="intake@desk",
        ),
    )


# ============================================================ recorded


def test_a_fast_track_claim_reads_from_report_to_close() -> None:
    trail = _recorded("fast-track")
    first = trail[0]
    started = json.loads((HISTORIES / "fast-track.json").read_text(encoding="utf-8"))["events"][0]
    recorder = started["workflowExecutionStartedEventAttributes"]["identity"]
    assert recorder.endswith("@vm")  # the recording process (scripts/record_histories.py)
    assert (first["kind"], first["name"], first["who"]) == (
        "case",
        "started ClaimWorkflow",
        recorder,
    )
    assert first["summary"].startswith("claim_id=HIST-fast-track, policy_no=P-MED-0001")
    stages = [e["name"] for e in trail if e["kind"] == "stage"]
    assert stages == [
        "REPORTED",
        "ACCEPTED",
        "UNDER_REVIEW",
        "ADJUSTING",
        "APPROVED",
        "PAYING",
        "PAID",
        "CLOSED",
    ]
    rules = next(e for e in trail if e["kind"] == "rules")
    assert (rules["name"], rules["summary"]) == ("load_rules", "rules snapshot version CN-2025.1")
    letters = [e["name"] for e in trail if e["kind"] == "letter"]
    assert letters == ["acknowledgement", "decision", "payment"]
    (payment,) = [e for e in trail if e["kind"] == "payment"]
    assert payment["name"] == "payment 1" and payment["amount"] == "1040.00"


def test_the_trail_masks_phones_and_bank_accounts() -> None:
    trail = _recorded("fast-track")
    letter = next(e for e in trail if e["kind"] == "letter")
    assert "<138****0000>" in letter["summary"]
    (payment,) = [e for e in trail if e["kind"] == "payment"]
    assert payment["summary"].startswith("1040.00 to 张三 (****")


def test_a_refused_signal_carries_the_refusal_from_the_audit_events() -> None:
    trail = _recorded("human-approval")
    (signal,) = [e for e in trail if e["kind"] == "signal"]
    assert (signal["name"], signal["who"], signal["outcome"]) == ("decision", "nobody", "refused")
    assert signal["reason"] == "unknown person 'nobody'"
    (update,) = [e for e in trail if e["kind"] == "update"]
    assert (update["name"], update["who"], update["outcome"]) == ("decide", "adj1", "accepted")


def test_a_complaint_reads_update_by_update_to_its_close() -> None:
    trail = _recorded("complaint-happy-path")
    updates = [(e["name"], e["who"], e["outcome"]) for e in trail if e["kind"] == "update"]
    assert updates == [
        ("assign", "cc1", "accepted"),
        ("record_findings", "h1", "accepted"),
        ("propose_resolution", "h1", "accepted"),
        ("approve_resolution", "cc1", "accepted"),
        ("execute", "h1", "accepted"),
        ("callback", "cc1", "accepted"),
    ]
    assert (trail[-1]["kind"], trail[-1]["name"], trail[-1]["summary"]) == (
        "case",
        "completed",
        "final stage CLOSED",
    )


@pytest.mark.parametrize(
    "path", sorted(HISTORIES.rglob("*.json")), ids=lambda p: str(p.relative_to(HISTORIES))
)
def test_every_recorded_history_reads_as_a_timeline_in_event_order(path: Path) -> None:
    trail = build_trail(load_file(path, None))
    assert trail[0]["kind"] == "case" and trail[0]["name"].startswith("started ")
    ids = [e["event_id"] for e in trail]
    assert ids == sorted(ids)


# ========================================================== constructed


def test_a_signal_names_who_sent_it_from_its_payload() -> None:
    signal = _event(
        5,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        workflow_execution_signaled_event_attributes=WorkflowExecutionSignaledEventAttributes(
            signal_name="submit_materials",
            input=_json(
                {"materials": [{"kind": "invoices", "ref": "scan-17"}], "submitted_by": "sup1"}
            ),
            identity="cli@host",
        ),
    )
    entry = _trail(_started(), signal)[1]
    assert entry == {
        "event_id": 5,
        "at": "2026-11-23T01:02:03Z",
        "kind": "signal",
        "name": "submit_materials",
        "who": "sup1",
        "summary": 'materials=[{"kind": "invoices", "ref": "scan-17"}], submitted_by=sup1',
        "outcome": "received",
        "reason": None,
        "payload": {"materials": [{"kind": "invoices", "ref": "scan-17"}], "submitted_by": "sup1"},
    }


def test_a_failed_activity_is_named_by_its_scheduled_event() -> None:
    scheduled = _event(
        7,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
            activity_type=ActivityType(name=PAYMENT_ACTIVITY),
            input=_json({"seq": 2, "amount": "80.00", "payee": "李四", "account_ref": "****1234"}),
        ),
    )
    failed = _event(
        9,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        activity_task_failed_event_attributes=ActivityTaskFailedEventAttributes(
            scheduled_event_id=7, failure=Failure(message="", cause=Failure(message="bank down"))
        ),
    )
    _, payment, failure = _trail(_started(), scheduled, failed)
    assert (payment["kind"], payment["name"], payment["summary"]) == (
        "payment",
        "payment 2",
        "80.00 to 李四 (****1234)",
    )
    assert (failure["kind"], failure["name"], failure["outcome"], failure["reason"]) == (
        "activity",
        PAYMENT_ACTIVITY,
        "failed",
        "bank down",
    )


def test_timers_and_termination() -> None:
    timer = _event(
        3,
        EventType.EVENT_TYPE_TIMER_STARTED,
        timer_started_event_attributes=TimerStartedEventAttributes(
            timer_id="4", start_to_fire_timeout=Duration(seconds=90061)
        ),
    )
    ended = _event(
        4,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        workflow_execution_terminated_event_attributes=WorkflowExecutionTerminatedEventAttributes(
            reason="opened in error", identity="ops@host"
        ),
    )
    _, t, end = _trail(_started(), timer, ended)
    assert (t["name"], t["summary"]) == ("timer 4", "set for 1d 1h 1m 1s")
    assert (end["name"], end["who"], end["reason"]) == ("terminated", "ops@host", "opened in error")


def test_events_without_a_reader_are_left_out() -> None:
    task = _event(2, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    admitted = _event(3, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED)
    assert [e["event_id"] for e in _trail(_started(), task, admitted)] == [1]


def test_each_reader_is_keyed_by_its_event_type() -> None:
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in READERS
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED not in READERS
    assert len(READERS) == 18


def test_activities_are_known_by_the_names_their_definitions_register() -> None:
    assert SYNC_ACTIVITIES == {"sync_claim", "sync_complaint"}
    assert RULES_ACTIVITIES == {"load_rules", "load_complaint_rules"}
    assert (LETTER_ACTIVITY, PAYMENT_ACTIVITY) == ("send_letter", "pay_claim")


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (59, "59s"), (3600, "1h"), (518400 + 57600, "6d 16h")]
)
def test_durations_read_in_days_hours_minutes_seconds(seconds: int, shown: str) -> None:
    assert duration(Duration(seconds=seconds)) == shown


def test_a_summary_leaves_out_empty_values_and_stops_at_the_limit() -> None:
    assert summary({"a": "x", "b": None, "c": [], "d": 2}) == "a=x, d=2"
    assert summary(None) == ""
    assert summary({"note": "x" * 300}, limit=20) == "note=" + "x" * 14 + "…"
