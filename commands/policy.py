"""`claims policy ...`: a policy's terms and its status history (DOMAIN §2.2).

Coverage is judged by the status on the day of the incident, so a change of status is recorded
with the day it takes effect (Beijing time), never by overwriting the status: a claim for an
incident before a cancellation is still covered. Each change appends a history row and sets
the policy's `status` to the status in force today."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from commands.common import (
    FullOpt,
    UserError,
    ViewerOpt,
    console,
    db,
    full_view_allowed,
    handle_errors,
    identity,
    print_json,
    when,
)
from models.catalog import BUSINESS_TZ
from models.rules import STATUS_AFTER, PolicyStatusChange, PolicyTerms, status_on
from models.tables import PolicyStatusRow
from readmodel import queries

app = typer.Typer(help="Policies: terms and status history.", no_args_is_help=True)

EffectiveOpt = Annotated[
    str,
    typer.Option("--effective", help="The day the change takes effect, YYYY-MM-DD (Beijing time)."),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, kept in the history.")]
ByOpt = Annotated[
    str | None, typer.Option("--as", help="Staff id of the person recording the change.")
]

# The statuses each change may follow. A reinstatement also undoes a cancellation or a
# surrender recorded in error; a cancelled or surrendered policy takes no other change.
ALLOWED_FROM: dict[str, set[str]] = {
    "lapsed": {"in_force"},
    "cancelled": {"in_force", "lapsed"},
    "surrendered": {"in_force", "lapsed"},
    "reinstated": {"lapsed", "cancelled", "surrendered"},
}
STATUS_WORD = {
    "in_force": "in force",
    "lapsed": "lapsed",
    "cancelled": "cancelled",
    "surrendered": "surrendered",
}


def today() -> date:
    """Today at the insurer (Beijing time)."""
    return datetime.now(BUSINESS_TZ).date()


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"bad date {text!r}: give the day as YYYY-MM-DD") from None


def status_today(policy: PolicyTerms, day: date) -> str:
    """The policy's status on `day`: as the change in effect then leaves it, else (no history,
    or `day` before the first change) as its `status` column says."""
    _, change = status_on(policy, day)
    return STATUS_AFTER[change.event] if change is not None else policy.status


def change_refusal(policy: PolicyTerms, event: str, effective_on: date) -> str | None:
    """Why `event` effective on `effective_on` cannot be recorded for `policy`, or None.
    Changes are recorded in date order (a change never takes effect before the latest one
    recorded), inside the policy period, and only from a status that allows them."""
    history = sorted(policy.status_history, key=lambda c: c.effective_on)
    refusal = _date_refusal(policy, effective_on, history)
    if refusal is not None:
        return refusal
    no = policy.policy_no
    status = STATUS_AFTER[history[-1].event] if history else policy.status
    if status in ALLOWED_FROM[event]:
        return None
    since = f" from {history[-1].effective_on}" if history else ""
    if event == "reinstated":
        return f"{no} is in force{since}: only a policy that is not in force can be reinstated"
    if STATUS_AFTER[event] == status:
        return f"{no} is already {STATUS_WORD[status]}{since}"
    return f"{no} is {STATUS_WORD[status]}{since}: it cannot be {event} now"


def _date_refusal(
    policy: PolicyTerms, effective_on: date, history: list[PolicyStatusChange]
) -> str | None:
    """A change outside the policy period, or before the latest change recorded."""
    no = policy.policy_no
    if effective_on < policy.start_date:
        return f"{no} starts on {policy.start_date}: a change cannot take effect before it"
    if effective_on > policy.end_date:
        return f"{no} ends on {policy.end_date}: a change cannot take effect after it"
    if history and effective_on < history[-1].effective_on:
        last = history[-1]
        return (
            f"{no} already has a change effective {last.effective_on} ({last.event}): "
            "record changes in date order"
        )
    return None


def record_change(
    engine: Engine,
    policy_no: str,
    event: str,
    effective_on: date,
    reason: str,
    recorded_by: str = "cli",
    on: date | None = None,
) -> tuple[PolicyStatusRow, str]:
    """Append a status change to the policy's history and set its `status` to the status in
    force on `on` (today); returns the row and that status. Refused with a UserError."""
    if not reason.strip():
        raise UserError("give a reason (--reason): it is kept in the history")

    def status_after(policy: PolicyTerms) -> str:
        refusal = change_refusal(policy, event, effective_on)
        if refusal is not None:
            raise UserError(f"refused: {refusal}")
        change = PolicyStatusChange.model_validate(
            {"event": event, "effective_on": effective_on, "reason": reason.strip()}
        )
        changed = policy.model_copy(update={"status_history": [*policy.status_history, change]})
        return status_today(changed, on or today())

    try:
        return queries.record_policy_change(
            engine=engine,
            policy_no=policy_no,
            event=event,
            effective_on=effective_on,
            reason=reason.strip(),
            recorded_by=recorded_by,
            status_after=status_after,
        )
    except queries.NotFound as exc:
        raise UserError(str(exc)) from None


def _local(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BUSINESS_TZ).isoformat()


@app.command("show")
@handle_errors
def show(
    policy_no: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    full: FullOpt = False,
    viewer: ViewerOpt = None,
) -> None:
    """A policy's terms and its status history: each change, the day it took effect and why,
    and the status today. The insured's id number is masked unless `--full --as`.

    Example: claims policy show P-AUTO-0001
    """
    shown_in_full = full_view_allowed(viewer, full, policy_no, "policy show")
    record = queries.policy(engine=db(), policy_no=policy_no)
    if record is None:
        raise UserError(f"unknown policy {policy_no}")
    policy, row, history = record.terms, record.row, record.history
    id_no, _ = identity(policy.insured_id_no, None, shown_in_full)
    out: dict[str, Any] = {
        "policy_no": policy.policy_no,
        "line": policy.line,
        "product_code": policy.product_code,
        "insured_name": policy.insured_name,
        "insured_id_no": id_no,
        "start_date": policy.start_date,
        "end_date": policy.end_date,
        "status_today": status_today(policy, today()),
        "terms": dict(row.terms),
        "clauses": [c.id for c in policy.clauses],
        "history": [
            {
                "seq": h.seq,
                "event": h.event,
                "effective_on": h.effective_on,
                "status": STATUS_AFTER.get(h.event, h.event),
                "reason": h.reason,
                "recorded_at": _local(h.recorded_at),
                "recorded_by": h.recorded_by,
            }
            for h in history
        ],
    }
    if as_json:
        print_json(out)
        return
    typer.echo(
        f"Policy {policy.policy_no}  {policy.line}  product {policy.product_code}  "
        f"status today {STATUS_WORD.get(out['status_today'], out['status_today'])}"
    )
    typer.echo(f"insured {policy.insured_name}  id {id_no}")
    typer.echo(f"period {policy.start_date} to {policy.end_date}")
    typer.echo("terms: " + ", ".join(f"{k} {v}" for k, v in out["terms"].items()))
    typer.echo("clauses: " + (", ".join(out["clauses"]) or "-"))
    if not history:
        typer.echo(f"no status history: {policy.status} from the start date, as recorded")
        return
    t = Table(title="Status history", title_justify="left")
    for c in ("seq", "event", "effective", "status from then", "reason", "recorded", "by"):
        t.add_column(c)
    for h in history:
        t.add_row(
            str(h.seq),
            h.event,
            str(h.effective_on),
            STATUS_WORD.get(STATUS_AFTER.get(h.event, ""), h.event),
            h.reason or "-",
            when(h.recorded_at),
            h.recorded_by,
        )
    console.print(t)


def _record(event: str, policy_no: str, effective: str, reason: str, by: str | None) -> None:
    effective_on = parse_day(effective)
    if by is not None and queries.staff_member(engine=db(), staff_id=by) is None:
        raise UserError(f"unknown person {by!r}")
    row, status = record_change(db(), policy_no, event, effective_on, reason, by or "cli")
    typer.echo(
        f"policy {policy_no}: {event} with effect from {effective_on} (history #{row.seq}); "
        f"status today {STATUS_WORD[status]}"
    )


@app.command("cancel")
@handle_errors
def cancel(policy_no: str, effective: EffectiveOpt, reason: ReasonOpt, by: ByOpt = None) -> None:
    """Cancel the policy (解除合同) from a day. Incidents before that day stay covered.

    Example: claims policy cancel P-AUTO-0001 --effective 2026-03-01 --reason "投保人申请解除合同"
    """
    _record("cancelled", policy_no, effective, reason, by)


@app.command("lapse")
@handle_errors
def lapse(policy_no: str, effective: EffectiveOpt, reason: ReasonOpt, by: ByOpt = None) -> None:
    """Record that the policy lapsed (失效) from a day, e.g. a premium unpaid after the grace
    period.

    Example: claims policy lapse P-MED-0001 --effective 2026-04-01 --reason "宽限期满未缴续期保费"
    """
    _record("lapsed", policy_no, effective, reason, by)


@app.command("reinstate")
@handle_errors
def reinstate(policy_no: str, effective: EffectiveOpt, reason: ReasonOpt, by: ByOpt = None) -> None:
    """Reinstate a policy that is not in force (复效) from a day; incidents between the lapse
    and that day stay uncovered. Also undoes a cancellation recorded in error.

    Example: claims policy reinstate P-MED-0001 --effective 2026-05-10 --reason "补缴保费，复效"
    """
    _record("reinstated", policy_no, effective, reason, by)


@app.command("surrender")
@handle_errors
def surrender(policy_no: str, effective: EffectiveOpt, reason: ReasonOpt, by: ByOpt = None) -> None:
    """Record the policyholder's surrender (退保) from a day.

    Example: claims policy surrender P-PROP-0001 --effective 2026-06-30 --reason "投保人退保"
    """
    _record("surrendered", policy_no, effective, reason, by)
