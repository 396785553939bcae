"""What the staff's read commands print: `claims tasks`, `claims claim list` and `show`, `claims
letter list` and `claims staff list`, read from the read model (readmodel/reads.py) and printed
with commands/plain.py, without typer, rich, pydantic or SQLAlchemy. Their typer commands and
the fast front door (commands/front.py) both call these, so the two print the same."""

from __future__ import annotations

from commands.plain import ZONE_NAME, Table, echo, money, print_json, read_model, when

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from typing import Any

    from readmodel.rows import ClaimRecord, WorkItem


def open_items(person: str | None, limit: int = 100) -> list[WorkItem]:
    """The work queue of a person (all open items but the claimants' without one)."""
    from readmodel import reads

    return reads.open_items(engine=read_model(), person=person, limit=limit)


def print_tasks(person: str | None, limit: int, as_json: bool) -> None:
    """`claims tasks`: the work queue, soonest due first."""
    rows = open_items(person, limit)
    if as_json:
        keys = ("key", "case_id", "kind", "role", "assignee", "due_at", "priority")
        print_json([{k: getattr(r, k) for k in keys} for r in rows])
        return
    t = Table("due", "case", "task", "role", "assignee")
    for r in rows:
        t.add_row(when(r.due_at), r.case_id, r.kind, r.role, r.assignee or "-")
    echo(str(t))
    echo(f"{len(rows)} open task(s)" + (f" for {person}" if person else "") + f"; {ZONE_NAME}")


def claim_rows(
    *,
    stage: str | None = None,
    line: str | None = None,
    policy: str | None = None,
    limit: int = 50,
) -> list[ClaimRecord]:
    """Claims from the read model, newest first (each filter has an index ending in the report
    time, so the newest rows are read first and the scan stops at the limit)."""
    from readmodel import reads

    return reads.claims(engine=read_model(), stage=stage, line=line, policy=policy, limit=limit)


def print_claims(
    stage: str | None, line: str | None, policy: str | None, limit: int, as_json: bool
) -> None:
    """`claims claim list`: claims from the read model, newest first."""
    rows = claim_rows(stage=stage, line=line, policy=policy, limit=limit)
    if as_json:
        print_json(
            [
                {
                    "claim_id": r.claim_id,
                    "stage": r.stage,
                    "line": r.line,
                    "incident_type": r.incident_type,
                    "policy_no": r.policy_no,
                    "claimant_name": r.claimant_name,
                    "reported_at": r.reported_at,
                    "amount_claimed": r.amount_claimed,
                    "payable_amount": r.payable_amount,
                    "pending_approval_level": r.pending_level,
                }
                for r in rows
            ]
        )
        return
    columns = ("claim", "stage", "line", "policy", "claimant", "claimed", "payable", "reported")
    t = Table(*columns, right=("claimed", "payable"))
    for r in rows:
        t.add_row(
            r.claim_id,
            r.stage,
            f"{r.line}/{r.incident_type}",
            r.policy_no,
            r.claimant_name,
            money(r.amount_claimed),
            money(r.payable_amount),
            when(r.reported_at),
        )
    echo(str(t))
    echo(f"{len(rows)} claim(s)")


def print_claim(
    claim_id: str, status: dict[str, Any], id_no: str | None, phone: str | None
) -> None:
    """`claims claim show` as text: the claim's status (as JSON) with the identity as the
    viewer may see it, and its letters and complaints from the read model."""
    from commands.claim_view import ClaimView
    from commands.claim_view import print_claim as print_view
    from readmodel import reads

    letters = reads.letters_of(engine=read_model(), case_id=claim_id)
    complaints = reads.complaints_about(engine=read_model(), claim_id=claim_id)
    print_view(ClaimView(status, id_no, phone, letters, complaints))


class NotProjected(LookupError):
    """The claim has no status in the read model: only its workflow can say it."""


def show_claim(claim_id: str) -> None:
    """`claims claim show ID` from the read model, masked (README "Personal data")."""
    from readmodel import reads
    from security.masking import mask_id_no, mask_phone

    row = reads.claim(engine=read_model(), claim_id=claim_id)
    if row is None or not row.status:
        raise NotProjected(claim_id)
    status = row.status
    id_no = mask_id_no(status.get("claimant_id_no"))
    print_claim(claim_id, status, id_no, mask_phone(status.get("claimant_phone")))


def print_letters(case_id: str, as_json: bool) -> None:
    """`claims letter list`: a case's letters, in the order they were sent."""
    from readmodel import reads
    from security.masking import mask_text

    rows = reads.letters_of(engine=read_model(), case_id=case_id)
    if as_json:
        print_json(
            [
                {
                    **{k: getattr(r, k) for k in r.fields if k != "body"},
                    "recipient": mask_text(r.recipient),
                }
                for r in rows
            ]
        )
        return
    t = Table("letter", "kind", "language", "channel", "sent (Beijing time)", "file")
    for r in rows:
        t.add_row(r.letter_id, r.kind, r.language, r.channel, when(r.sent_at), r.path)
    echo(str(t))


def print_staff(as_json: bool) -> None:
    """`claims staff list`: the staff, their level and roles, and each one's signing key."""
    from readmodel import reads

    out: list[dict[str, Any]] = []
    for r in reads.staff(engine=read_model()):
        has_key = bool(r.algorithm and r.public_key)
        out.append(
            {
                "staff_id": r.staff_id,
                "name": r.name,
                "level": r.level,
                "roles": list(r.roles or []),
                "active": r.active,
                "has_key": has_key,
                "algorithm": r.algorithm if has_key else None,
                "public_key": r.public_key if has_key else None,
                "key_set_at": r.key_set_at,
            }
        )
    if as_json:
        print_json(out)
        return
    t = Table("staff", "name", "level", "roles", "active", "signing key", "key set")
    for s in out:
        t.add_row(
            s["staff_id"],
            s["name"],
            f"L{s['level']}" if s["level"] else "-",
            ", ".join(s["roles"]),
            "yes" if s["active"] else "no",
            s["algorithm"] or "-",
            when(s["key_set_at"]) if s["has_key"] else "-",
        )
    echo(str(t))
