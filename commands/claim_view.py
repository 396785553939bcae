"""`claims claim show` as text: one small renderer per part of a claim, printed in order.
Each prints nothing when its part is empty."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table

from commands.common import console, deadline_table, money, when
from workflows.approval import level_name

if TYPE_CHECKING:
    from models.status import ClaimStatus, InvestigationView
    from readmodel.rows import ComplaintRecord, Letter


@dataclass(frozen=True)
class ClaimView:
    """What `claim show` prints: the status, the identity as the viewer may see it, and the
    letters and complaints from the read model."""

    status: ClaimStatus
    id_no: str | None
    phone: str | None
    letters: Sequence[Letter]
    complaints: Sequence[ComplaintRecord]


def _header(v: ClaimView) -> None:
    st = v.status
    console.print(f"[bold]Claim {st.claim_id}[/bold]  stage [bold]{st.stage}[/bold]")
    console.print(
        f"policy {st.policy_no}  {st.line}/{st.incident_type}  claimant {st.claimant_name}  "
        f"channel {st.channel}  reported {when(st.reported_at)}",
        markup=False,
    )
    console.print(f"id {v.id_no or '-'}  phone {v.phone or '-'}", markup=False)
    console.print(
        f"claimed {money(st.amount_claimed)}  payable {money(st.payable_amount)}  "
        f"reserve {money(st.reserve)}" + ("  [fast track]" if st.straight_through else "")
    )


def _approval(v: ClaimView) -> None:
    st = v.status
    if st.pending_approval_level:
        chain = " -> ".join(level_name(lv) for lv in st.approval_chain)
        console.print(f"awaiting {level_name(st.pending_approval_level)} approval (chain {chain})")


def _materials_and_flags(v: ClaimView) -> None:
    st = v.status
    if st.missing_materials:
        console.print("missing materials: " + ", ".join(st.missing_materials))
    if st.flags:
        console.print(
            "risk flags: " + "; ".join(f"{f.code} {f.reason}" for f in st.flags), markup=False
        )
    for hit in st.exclusions:
        console.print(
            f"excluded cause: {hit.code} ({hit.source}), clause {hit.clause} proposed", markup=False
        )


def _refusals(v: ClaimView) -> None:
    st = v.status
    if st.not_accepted_reason:
        console.print(f"not accepted: {st.not_accepted_reason}")
    if st.denial_clause:
        console.print(
            f"denied under clause {st.denial_clause}: {st.denial_reason or ''}", markup=False
        )


def _deadlines(v: ClaimView) -> None:
    st = v.status
    if st.breaches:
        console.print("[bold]deadline breached:[/bold] " + ", ".join(st.breaches))
    if st.deadlines:
        console.print(deadline_table(st.deadlines))


def _recommendation(v: InvestigationView) -> str:
    if not v.done:
        return "-"
    return (
        f"{v.recommendation}"
        + (f" {money(v.amount)}" if v.amount is not None else "")
        + (" (fraud suspected)" if v.fraud_suspected else "")
        + (" (inconclusive)" if v.conclusive is False else "")
    )


def _investigation(v: ClaimView) -> None:
    st = v.status
    if not st.investigations:
        return
    t = Table(title="Investigation", title_justify="left")
    for c in ("task", "investigator", "due", "finding", "recommendation"):
        t.add_column(c)
    for task in st.investigations:
        facts = task.facts or "open"
        t.add_row(task.kind, task.investigator, when(task.due_at), facts, _recommendation(task))
    console.print(t)
    if st.investigation_summary:
        console.print(f"investigation: {st.investigation_summary}")


def _assessment(v: ClaimView) -> None:
    if not v.status.assessment:
        return
    fig = v.status.assessment.figures
    given = fig.model_dump(exclude={"assessor", "at", "note"})
    shown = ", ".join(f"{k} {val}" for k, val in given.items() if val is not None)
    console.print(f"assessment by {fig.assessor} ({when(fig.at)}): {shown}", markup=False)
    for c in v.status.assessment.comparisons:
        mark = "  (flagged: more than 20 % apart)" if c.flagged else ""
        shown_as: Callable[[object], str] = str if c.figure == "disability_grade" else money
        console.print(
            f"  {c.figure}: declared {shown_as(c.declared)}, assessed {shown_as(c.assessed)}{mark}",
            markup=False,
        )


def _panel(v: ClaimView) -> None:
    p = v.status.panel
    if not p:
        return
    console.print(
        f"panel (grounds: {', '.join(p.grounds)}): "
        + (
            f"members {', '.join(p.members)}, convened by {p.convened_by}"
            if p.members
            else "not convened yet"
        )
    )
    for vote in p.votes:
        amount = f" {money(vote.amount)}" if vote.amount is not None else ""
        clause = f" under {vote.clause}" if vote.clause else ""
        dissent = " (dissent)" if vote.member in p.dissent else ""
        console.print(
            f"  {vote.member}: {vote.vote}{amount}{clause} - {vote.reason}{dissent}", markup=False
        )
    if p.outcome:
        console.print(f"  outcome: {p.outcome}" + (f" {money(p.amount)}" if p.amount else ""))


def _open_tasks(v: ClaimView) -> None:
    if not v.status.open_tasks:
        return
    t = Table(title="Open tasks", title_justify="left")
    for c in ("task", "who", "due"):
        t.add_column(c)
    for task in v.status.open_tasks:
        t.add_row(task.kind, task.assignee or task.role, when(task.due_at))
    console.print(t)


def _adjustment(v: ClaimView) -> None:
    adjustment = v.status.adjustment
    if not adjustment:
        return
    t = Table(title=f"Adjustment (by {adjustment.adjuster})", title_justify="left")
    t.add_column("step")
    t.add_column("amount", justify="right")
    t.add_column("how")
    for ln in adjustment.lines:
        t.add_row(ln.label_en, money(ln.amount), ln.formula)
    console.print(t)


def _decisions(v: ClaimView) -> None:
    st = v.status
    if not (st.approvals or st.refused_decisions):
        return
    t = Table(title="Decisions", title_justify="left")
    for c in ("at", "level", "who", "decision", "note"):
        t.add_column(c)
    for a in st.approvals:
        lvl = "SYSTEM" if a.level == 0 else level_name(a.level)
        t.add_row(when(a.at), lvl, a.approver, a.decision, a.clause or a.note)
    for r in st.refused_decisions:
        t.add_row(when(r.at), "-", r.approver, f"{r.decision} (refused)", r.reason)
    console.print(t)


def _payments(v: ClaimView) -> None:
    if not v.status.payments:
        return
    t = Table(title="Payments", title_justify="left")
    for c in ("seq", "amount", "reference", "paid"):
        t.add_column(c)
    for p in v.status.payments:
        t.add_row(str(p.seq), money(p.amount), p.reference, when(p.paid_at))
    console.print(t)


def _complaints(v: ClaimView) -> None:
    if not v.complaints:
        return
    console.print(
        "complaints: "
        + "; ".join(
            f"{c.complaint_id} {c.category or '-'} {c.stage}"
            + (" (escalated the claim)" if c.category == "payment_timeliness" else "")
            for c in v.complaints
        ),
        markup=False,
    )


def _care_and_follow_up(v: ClaimView) -> None:
    st = v.status
    if st.special_care:
        console.print(f"special care: advisor {st.advisor or '-'}", markup=False)
    f = st.follow_up
    if f is not None:
        answer = "not reached"
        if f.reached:
            answer = "reached, satisfied" if f.satisfied else "reached, not satisfied"
        console.print(f"follow-up: {answer} ({f.by}, {when(f.at)})", markup=False)


def _letters(v: ClaimView) -> None:
    if not v.letters:
        return
    t = Table(title="Letters", title_justify="left")
    for c in ("letter", "kind", "sent", "sha256"):
        t.add_column(c)
    for r in v.letters:
        t.add_row(r.letter_id, r.kind, when(r.sent_at), r.sha256[:12])
    console.print(t)


def _history(v: ClaimView) -> None:
    console.print("history: " + " -> ".join(h.stage for h in v.status.history))


RENDERERS: tuple[Callable[[ClaimView], None], ...] = (
    _header,
    _approval,
    _materials_and_flags,
    _refusals,
    _deadlines,
    _investigation,
    _assessment,
    _panel,
    _open_tasks,
    _adjustment,
    _decisions,
    _payments,
    _complaints,
    _care_and_follow_up,
    _letters,
    _history,
)


def print_claim(view: ClaimView) -> None:
    for render in RENDERERS:
        render(view)
