"""`claims claim show` as text: one small renderer per part of a claim, printed in order.
Each prints nothing when its part is empty. A claim is read as its status's JSON (the read
model's `claims.status`, or the workflow's answer dumped as JSON), so the fast front door
(commands/front.py) prints it without building the contract's models."""

from __future__ import annotations

from commands.plain import Table, deadline_table, echo, money, when
from workflows.approval import level_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from readmodel.rows import ComplaintRecord, Letter

    Status = dict[str, Any]


class ClaimView:
    """What `claim show` prints: the status (as JSON), the identity as the viewer may see it,
    and the letters and complaints from the read model. (A plain class, not a NamedTuple:
    `claim show` starts without importing typing.)"""

    __slots__ = ("status", "id_no", "phone", "letters", "complaints")

    def __init__(
        self,
        status: Status,
        id_no: str | None,
        phone: str | None,
        letters: Sequence[Letter],
        complaints: Sequence[ComplaintRecord],
    ) -> None:
        self.status = status
        self.id_no = id_no
        self.phone = phone
        self.letters = letters
        self.complaints = complaints


def _header(v: ClaimView) -> None:
    st = v.status
    echo(f"Claim {st['claim_id']}  stage {st['stage']}")
    echo(
        f"policy {st['policy_no']}  {st['line']}/{st['incident_type']}  "
        f"claimant {st['claimant_name']}  channel {st['channel']}  "
        f"reported {when(st['reported_at'])}"
    )
    echo(f"id {v.id_no or '-'}  phone {v.phone or '-'}")
    echo(
        f"claimed {money(st['amount_claimed'])}  payable {money(st.get('payable_amount'))}  "
        f"reserve {money(st.get('reserve'))}"
        + ("  [fast track]" if st.get("straight_through") else "")
    )


def _approval(v: ClaimView) -> None:
    st = v.status
    if st.get("pending_approval_level"):
        chain = " -> ".join(level_name(lv) for lv in st["approval_chain"])
        echo(f"awaiting {level_name(st['pending_approval_level'])} approval (chain {chain})")


def _materials_and_flags(v: ClaimView) -> None:
    st = v.status
    if st.get("missing_materials"):
        echo("missing materials: " + ", ".join(st["missing_materials"]))
    if st.get("flags"):
        echo("risk flags: " + "; ".join(f"{f['code']} {f['reason']}" for f in st["flags"]))
    for hit in st.get("exclusions") or ():
        echo(f"excluded cause: {hit['code']} ({hit['source']}), clause {hit['clause']} proposed")


def _refusals(v: ClaimView) -> None:
    st = v.status
    if st.get("not_accepted_reason"):
        echo(f"not accepted: {st['not_accepted_reason']}")
    if st.get("denial_clause"):
        echo(f"denied under clause {st['denial_clause']}: {st.get('denial_reason') or ''}")


def _deadlines(v: ClaimView) -> None:
    st = v.status
    if st.get("breaches"):
        echo("deadline breached: " + ", ".join(st["breaches"]))
    if st.get("deadlines"):
        echo(str(deadline_table(st["deadlines"])))


def _recommendation(task: Status) -> str:
    if not task.get("done"):
        return "-"
    amount = task.get("amount")
    return (
        f"{task['recommendation']}"
        + (f" {money(amount)}" if amount is not None else "")
        + (" (fraud suspected)" if task.get("fraud_suspected") else "")
        + (" (inconclusive)" if task.get("conclusive") is False else "")
    )


def _investigation(v: ClaimView) -> None:
    st = v.status
    if not st.get("investigations"):
        return
    t = Table("task", "investigator", "due", "finding", "recommendation", title="Investigation")
    for task in st["investigations"]:
        facts = task.get("facts") or "open"
        t.add_row(
            task["kind"],
            task["investigator"],
            when(task.get("due_at")),
            facts,
            _recommendation(task),
        )
    echo(str(t))
    if st.get("investigation_summary"):
        echo(f"investigation: {st['investigation_summary']}")


def _assessment(v: ClaimView) -> None:
    assessment = v.status.get("assessment")
    if not assessment:
        return
    fig = assessment["figures"]
    given = {k: val for k, val in fig.items() if k not in ("assessor", "at", "note")}
    shown = ", ".join(f"{k} {val}" for k, val in given.items() if val is not None)
    echo(f"assessment by {fig['assessor']} ({when(fig['at'])}): {shown}")
    for c in assessment.get("comparisons") or ():
        mark = "  (flagged: more than 20 % apart)" if c.get("flagged") else ""
        shown_as: Callable[[object], str] = str if c["figure"] == "disability_grade" else money
        echo(
            f"  {c['figure']}: declared {shown_as(c['declared'])}, "
            f"assessed {shown_as(c['assessed'])}{mark}"
        )


def _panel(v: ClaimView) -> None:
    p = v.status.get("panel")
    if not p:
        return
    members = p.get("members")
    echo(
        f"panel (grounds: {', '.join(p['grounds'])}): "
        + (
            f"members {', '.join(members)}, convened by {p.get('convened_by', '')}"
            if members
            else "not convened yet"
        )
    )
    for vote in p.get("votes") or ():
        amount = f" {money(vote['amount'])}" if vote.get("amount") is not None else ""
        clause = f" under {vote['clause']}" if vote.get("clause") else ""
        dissent = " (dissent)" if vote["member"] in (p.get("dissent") or ()) else ""
        echo(f"  {vote['member']}: {vote['vote']}{amount}{clause} - {vote['reason']}{dissent}")
    if p.get("outcome"):
        echo(f"  outcome: {p['outcome']}" + (f" {money(p['amount'])}" if p.get("amount") else ""))


def _open_tasks(v: ClaimView) -> None:
    if not v.status.get("open_tasks"):
        return
    t = Table("task", "who", "due", title="Open tasks")
    for task in v.status["open_tasks"]:
        t.add_row(task["kind"], task.get("assignee") or task["role"], when(task.get("due_at")))
    echo(str(t))


def _adjustment(v: ClaimView) -> None:
    adjustment = v.status.get("adjustment")
    if not adjustment:
        return
    t = Table(
        "step",
        "amount",
        "how",
        title=f"Adjustment (by {adjustment['adjuster']})",
        right=("amount",),
    )
    for ln in adjustment["lines"]:
        t.add_row(ln["label_en"], money(ln["amount"]), ln.get("formula") or "")
    echo(str(t))


def _decisions(v: ClaimView) -> None:
    st = v.status
    if not (st.get("approvals") or st.get("refused_decisions")):
        return
    t = Table("at", "level", "who", "decision", "note", title="Decisions")
    for a in st.get("approvals") or ():
        lvl = "SYSTEM" if a["level"] == 0 else level_name(a["level"])
        t.add_row(when(a["at"]), lvl, a["approver"], a["decision"], a.get("clause") or a["note"])
    for r in st.get("refused_decisions") or ():
        t.add_row(when(r["at"]), "-", r["approver"], f"{r['decision']} (refused)", r["reason"])
    echo(str(t))


def _payments(v: ClaimView) -> None:
    if not v.status.get("payments"):
        return
    t = Table("seq", "amount", "reference", "paid", title="Payments")
    for p in v.status["payments"]:
        t.add_row(str(p["seq"]), money(p["amount"]), p["reference"], when(p.get("paid_at")))
    echo(str(t))


def _complaints(v: ClaimView) -> None:
    if not v.complaints:
        return
    echo(
        "complaints: "
        + "; ".join(
            f"{c.complaint_id} {c.category or '-'} {c.stage}"
            + (" (escalated the claim)" if c.category == "payment_timeliness" else "")
            for c in v.complaints
        )
    )


def _care_and_follow_up(v: ClaimView) -> None:
    st = v.status
    if st.get("special_care"):
        echo(f"special care: advisor {st.get('advisor') or '-'}")
    f = st.get("follow_up")
    if f is not None:
        answer = "not reached"
        if f.get("reached"):
            answer = "reached, satisfied" if f.get("satisfied") else "reached, not satisfied"
        echo(f"follow-up: {answer} ({f['by']}, {when(f['at'])})")


def _letters(v: ClaimView) -> None:
    if not v.letters:
        return
    t = Table("letter", "kind", "sent", "sha256", title="Letters")
    for r in v.letters:
        t.add_row(r.letter_id, r.kind, when(r.sent_at), r.sha256[:12])
    echo(str(t))


def _history(v: ClaimView) -> None:
    echo("history: " + " -> ".join(h["stage"] for h in v.status.get("history") or ()))


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
