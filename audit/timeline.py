"""A case's history read as a human timeline: messages and who sent them, refusals and why,
stages, letters, payments, timers and the rules it runs under.

Each history event type has its own small reader (`READERS`); activities are recognised by the
names their definitions register (`activity_name`), the names the history records. A trail is
read by many: id numbers, phones and bank accounts in it are masked like the other views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from activities import activity_name
from activities.complaints import ComplaintActivities
from activities.deliveries import DeliveryActivities
from activities.letters import LetterActivities
from activities.payments import PaymentActivities
from activities.records import RecordActivities
from activities.rules import RulesActivities
from audit.history import decode_all
from audit.payloads import duration, failure_message, masked, message, shown, summary, who
from security.masking import mask_data, mask_text

# One entry of the trail: event_id, at (ISO 8601, Z), kind, name, who, summary, outcome,
# reason, and what the kind adds (input, payload, amount, letter_id, rules, stage_at).
Entry = dict[str, Any]

SYNC_ACTIVITIES = frozenset(
    {activity_name(RecordActivities.sync_claim), activity_name(ComplaintActivities.sync_complaint)}
)
RULES_ACTIVITIES = frozenset(
    {
        activity_name(RulesActivities.load_rules),
        activity_name(ComplaintActivities.load_complaint_rules),
    }
)
LETTER_ACTIVITY = activity_name(LetterActivities.send_letter)
# since "fewer-steps" a key node's letter goes with its notice: the letter is in the result
LETTER_WITH_NOTICE_ACTIVITY = activity_name(DeliveryActivities.send_letter_with_notice)
PAYMENT_ACTIVITY = activity_name(PaymentActivities.pay_claim)
LOCAL_ACTIVITY_MARKER = "core_local_activity"


# ============================================================ the trail


@dataclass
class Timeline:
    """The trail being read, and what later events refer back to: accepted updates by id,
    scheduled activities by event id, and how many stage changes are already shown."""

    trail: list[Entry] = field(default_factory=list)
    updates: dict[str, Entry] = field(default_factory=dict)
    activities: dict[int, str] = field(default_factory=dict)
    seen_stages: int = 0

    def add(self, event: HistoryEvent, kind: str, name: str | None, **more: Any) -> Entry:
        entry: Entry = {
            "event_id": event.event_id,
            "at": event.event_time.ToDatetime().isoformat() + "Z",
            "kind": kind,
            "name": name,
            "who": more.pop("who", None),
            "summary": mask_text(more.pop("summary", "")),
            "outcome": more.pop("outcome", None),
            "reason": masked(more.pop("reason", None)),
        }
        entry.update(mask_data(more))
        self.trail.append(entry)
        return entry


Reader = Callable[[Timeline, HistoryEvent], None]


def _started(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.workflow_execution_started_event_attributes
    args = shown(a.input.payloads)
    report = args[0] if args else None
    t.add(
        ev,
        "case",
        f"started {a.workflow_type.name}",
        who=a.identity or None,
        summary=summary(report),
        input=report,
    )


def _signaled(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.workflow_execution_signaled_event_attributes
    payload = message(shown(a.input.payloads))
    t.add(
        ev,
        "signal",
        a.signal_name,
        who=who(payload) or a.identity or None,
        summary=summary(payload),
        outcome="received",
        payload=payload,
    )


def _update_accepted(t: Timeline, ev: HistoryEvent) -> None:
    req = ev.workflow_execution_update_accepted_event_attributes.accepted_request
    payload = message(shown(req.input.args.payloads))
    t.updates[req.meta.update_id] = t.add(
        ev,
        "update",
        req.input.name,
        who=who(payload) or req.meta.identity or None,
        summary=summary(payload),
        outcome="pending",
        payload=payload,
    )


def _update_rejected(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.workflow_execution_update_rejected_event_attributes
    req = a.rejected_request
    payload = message(shown(req.input.args.payloads))
    t.add(
        ev,
        "update",
        req.input.name,
        who=who(payload) or req.meta.identity or None,
        summary=summary(payload),
        outcome="refused",
        reason=failure_message(a.failure),
        payload=payload,
    )


def _update_completed(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.workflow_execution_update_completed_event_attributes
    entry = t.updates.get(a.meta.update_id)
    if entry is None:
        return
    if a.outcome.HasField("failure"):
        entry["outcome"] = "refused"
        entry["reason"] = failure_message(a.outcome.failure)
    else:
        entry["outcome"] = "accepted"


def _activity_scheduled(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.activity_task_scheduled_event_attributes
    name = a.activity_type.name
    t.activities[ev.event_id] = name
    args = shown(a.input.payloads)
    arg = args[0] if args else None
    if not isinstance(arg, dict):
        return
    if name in SYNC_ACTIVITIES:
        _sync_entries(t, ev, arg)
    elif name == LETTER_ACTIVITY:
        _letter_entry(t, ev, arg)
    elif name == PAYMENT_ACTIVITY:
        t.add(
            ev,
            "payment",
            f"payment {arg.get('seq')}",
            summary=f"{arg.get('amount')} to {arg.get('payee')} ({arg.get('account_ref')})",
            amount=arg.get("amount"),
        )


def _activity_completed(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.activity_task_completed_event_attributes
    name = t.activities.get(a.scheduled_event_id)
    if name in RULES_ACTIVITIES:
        results = shown(a.result.payloads)
        _rules_entry(t, ev, name, results[0] if results else None)


def _activity_failed(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.activity_task_failed_event_attributes
    name = t.activities.get(a.scheduled_event_id, "activity")
    t.add(ev, "activity", name, outcome="failed", reason=failure_message(a.failure))


def _activity_timed_out(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.activity_task_timed_out_event_attributes
    name = t.activities.get(a.scheduled_event_id, "activity")
    t.add(ev, "activity", name, outcome="failed", reason=failure_message(a.failure))


def _marker(t: Timeline, ev: HistoryEvent) -> None:
    """A local activity's marker: its type is in the marker's data, its result beside it (its
    input is not recorded, which is why projection writes return what they wrote)."""
    a = ev.marker_recorded_event_attributes
    if a.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in a.details:
        return
    meta = (decode_all(a.details["data"].payloads) or [{}])[0]
    name = meta.get("activity_type", "local activity") if isinstance(meta, dict) else ""
    if a.HasField("failure"):
        t.add(ev, "activity", name, outcome="failed", reason=failure_message(a.failure))
        return
    results = decode_all(a.details["result"].payloads) if "result" in a.details else []
    result = results[0] if results and isinstance(results[0], dict) else None
    if result is None:
        return
    if name in SYNC_ACTIVITIES:
        _receipt_entries(t, ev, result)
    elif name == LETTER_ACTIVITY:
        _letter_entry(t, ev, result)
    elif name == LETTER_WITH_NOTICE_ACTIVITY and isinstance(result.get("letter"), dict):
        synced = result.get("synced")
        if isinstance(synced, dict):  # the case's read model, written first
            _receipt_entries(t, ev, synced)
        _letter_entry(t, ev, result["letter"])
    elif name in RULES_ACTIVITIES:
        _rules_entry(t, ev, name, result)


def _timer_started(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.timer_started_event_attributes
    t.add(
        ev, "timer", f"timer {a.timer_id}", summary=f"set for {duration(a.start_to_fire_timeout)}"
    )


def _timer_fired(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.timer_fired_event_attributes
    t.add(ev, "timer", f"timer {a.timer_id}", summary="fired", outcome="fired")


def _timer_canceled(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.timer_canceled_event_attributes
    t.add(ev, "timer", f"timer {a.timer_id}", summary="cancelled", outcome="cancelled")


def _completed(t: Timeline, ev: HistoryEvent) -> None:
    results = shown(ev.workflow_execution_completed_event_attributes.result.payloads)
    final = results[0] if results else None
    stage = final.get("stage") if isinstance(final, dict) else None
    t.add(ev, "case", "completed", summary=f"final stage {stage}" if stage else "")


def _failed(t: Timeline, ev: HistoryEvent) -> None:
    failure = ev.workflow_execution_failed_event_attributes.failure
    t.add(ev, "case", "failed", reason=failure_message(failure), outcome="failed")


def _terminated(t: Timeline, ev: HistoryEvent) -> None:
    a = ev.workflow_execution_terminated_event_attributes
    t.add(ev, "case", "terminated", who=a.identity or None, reason=a.reason)


def _canceled(t: Timeline, ev: HistoryEvent) -> None:
    t.add(ev, "case", "cancelled")


def _timed_out(t: Timeline, ev: HistoryEvent) -> None:
    t.add(ev, "case", "timed out")


# An update's Admitted event is followed by its Accepted or Rejected one, which the trail shows.
READERS: dict[EventType.ValueType, Reader] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: _started,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: _signaled,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: _update_accepted,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED: _update_rejected,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: _update_completed,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: _activity_scheduled,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: _activity_completed,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: _activity_failed,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: _activity_timed_out,
    EventType.EVENT_TYPE_MARKER_RECORDED: _marker,
    EventType.EVENT_TYPE_TIMER_STARTED: _timer_started,
    EventType.EVENT_TYPE_TIMER_FIRED: _timer_fired,
    EventType.EVENT_TYPE_TIMER_CANCELED: _timer_canceled,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: _completed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: _failed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: _terminated,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: _canceled,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: _timed_out,
}


def build_trail(history: WorkflowHistory) -> list[Entry]:
    """A human timeline from a (decrypted) history, in the order of its events."""
    timeline = Timeline()
    for event in history.events:
        reader = READERS.get(event.event_type)
        if reader is not None:
            reader(timeline, event)
    return timeline.trail


# ============================================== what activities carry


def _letter_entry(t: Timeline, ev: HistoryEvent, letter: dict[str, Any]) -> None:
    t.add(
        ev,
        "letter",
        letter.get("kind", "letter"),
        summary=f"{letter.get('letter_id')} to {letter.get('recipient')} "
        f"via {letter.get('channel')}",
        letter_id=letter.get("letter_id"),
    )


def _rules_entry(t: Timeline, ev: HistoryEvent, name: str, rules: Any) -> None:
    version = rules.get("version") if isinstance(rules, dict) else None
    t.add(
        ev,
        "rules",
        name,
        summary=f"rules snapshot{f' version {version}' if version else ''}",
        rules=rules,
    )


def _receipt_entries(t: Timeline, ev: HistoryEvent, receipt: dict[str, Any]) -> None:
    """What a projection write run as a local activity returned (models.records.SyncReceipt)."""
    shaped = {"status": {"history": receipt.get("history")}, "events": receipt.get("events")}
    _sync_entries(t, ev, shaped)


def _sync_entries(t: Timeline, ev: HistoryEvent, sync: dict[str, Any]) -> None:
    """Stage changes and audit events carried by one projection write."""
    status = sync.get("status") or {}
    stages = status.get("history") or []
    for change in stages[t.seen_stages :]:
        t.add(
            ev,
            "stage",
            change.get("stage"),
            summary=f"stage {change.get('stage')} at {change.get('at')}",
            stage_at=change.get("at"),
        )
    for event in sync.get("events") or []:
        _audit_event(t, ev, event)
    t.seen_stages = max(t.seen_stages, len(stages))


def _audit_event(t: Timeline, ev: HistoryEvent, event: dict[str, Any]) -> None:
    kind = event.get("kind")
    data = event.get("data") or {}
    if kind in ("decision_refused", "assessment_refused"):
        _mark_signal_refused(t, event.get("actor"), data.get("reason"))
    if kind in ("letter", "stage"):
        return  # already shown from the letter activity and the stage history
    t.add(
        ev,
        "event",
        kind,
        who=event.get("actor"),
        summary=summary(data),
        reason=data.get("reason") if kind and kind.endswith("refused") else None,
    )


def _mark_signal_refused(t: Timeline, actor: Any, reason: Any) -> None:
    """Mark the signal a refusal answers (the update refusals are already on their entries)."""
    for entry in reversed(t.trail):
        if entry["kind"] == "signal" and entry["who"] == actor and entry["outcome"] == "received":
            entry["outcome"] = "refused"
            entry["reason"] = reason
            return
