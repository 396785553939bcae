"""`claims complaint show` as text: one small renderer per part of a complaint, printed in
order. Each prints nothing when its part is empty."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from commands.common import console, deadline_table, echo, money, when
from models.complaint import ComplaintStatus


@dataclass(frozen=True)
class ComplaintView:
    """What `complaint show` prints: the status and the identity as the viewer may see it."""

    status: ComplaintStatus
    id_no: str | None
    phone: str | None


def _header(v: ComplaintView) -> None:
    st = v.status
    console.print(
        f"[bold]Complaint {st.complaint_id}[/bold]  stage [bold]{st.stage}[/bold]  "
        f"priority {st.priority}"
    )
    console.print(
        f"complainant {st.complainant_name}"
        + (f" (+{st.complainants - 1} more)" if st.complainants > 1 else "")
        + f"  channel {st.channel}  received {when(st.received_at)}",
        markup=False,
    )
    console.print(f"id {v.id_no or '-'}  phone {v.phone or '-'}", markup=False)
    if st.priority_reasons:
        console.print("priority because: " + "; ".join(st.priority_reasons), markup=False)


def _routing(v: ComplaintView) -> None:
    st = v.status
    if st.claim_id or st.policy_no:
        console.print(f"claim {st.claim_id or '-'}  policy {st.policy_no or '-'}")
    console.print(
        f"category {st.category or '-'}  department {st.department or '-'}  "
        f"handler {st.handler or '-'}  advisor {st.advisor or '-'}"
    )
    console.print(f"matter: {st.matter}", markup=False)


def _outcome(v: ComplaintView) -> None:
    st = v.status
    if st.decline_reason:
        console.print(f"declined: {st.decline_reason}", markup=False)
    if st.findings:
        upheld = "upheld" if st.upheld else "not upheld"
        console.print(f"findings ({upheld}): {st.findings}", markup=False)


def _resolution(v: ComplaintView) -> None:
    r = v.status.resolution
    if not r:
        return
    amount = f" {r['amount']}" if r.get("amount") else ""
    console.print(f"resolution: {', '.join(r['kinds'])}{amount} - {r['description']}", markup=False)
    if r.get("payee"):
        payee = r["payee"]
        bank = f"  bank {payee['bank_name']}" if payee.get("bank_name") else ""
        console.print(
            f"  payee {payee['name']}  account {payee['account_ref']}{bank}", markup=False
        )
    for a in v.status.resolution_approvals:
        console.print(
            f"  {'approved' if a['approve'] else 'sent back'} by {a['approver']} "
            f"({a['as']}) {a['note']}",
            markup=False,
        )


def _compensation(v: ComplaintView) -> None:
    for c in v.status.compensation:
        console.print(
            f"compensation paid {money(c.amount)} to {c.payee} ({c.account_ref}) "
            f"{when(c.paid_at)} ref {c.reference} ledger {c.idempotency_key}",
            markup=False,
        )


def _review_and_deadlines(v: ComplaintView) -> None:
    st = v.status
    if st.claim_review:
        console.print(
            f"claim re-review: {st.claim_review.get('outcome') or 'waiting for the panel'}"
        )
    if st.deadlines:
        echo(str(deadline_table([d.model_dump(mode="json") for d in st.deadlines])))


def _callbacks(v: ComplaintView) -> None:
    for c in v.status.callbacks:
        outcome = ("satisfied" if c.satisfied else "not satisfied") if c.reached else "no answer"
        console.print(f"callback {when(c.at)} by {c.by}: {outcome} {c.note}", markup=False)


def _tasks_letters_history(v: ComplaintView) -> None:
    st = v.status
    if st.open_tasks:
        console.print(
            "open tasks: " + ", ".join(f"{x.kind} ({x.assignee or x.role})" for x in st.open_tasks)
        )
    console.print("letters: " + ", ".join(st.letters))
    console.print("history: " + " -> ".join(h.stage for h in st.history))


RENDERERS: tuple[Callable[[ComplaintView], None], ...] = (
    _header,
    _routing,
    _outcome,
    _resolution,
    _compensation,
    _review_and_deadlines,
    _callbacks,
    _tasks_letters_history,
)


def print_complaint(view: ComplaintView) -> None:
    for render in RENDERERS:
        render(view)
