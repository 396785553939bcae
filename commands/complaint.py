"""`claims complaint ...`: file complaints, look at them, and take each step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from client import check_dates, start_complaint
from commands.common import (
    FullOpt,
    UserError,
    ViewerOpt,
    case_status,
    console,
    deadline_table,
    full_view_allowed,
    handle_errors,
    identity,
    money,
    newest,
    print_json,
    read_json,
    run,
    settings,
    signed,
    temporal,
    when,
)
from models.complaint import (
    Assignment,
    Callback,
    ClockChange,
    CloseRequest,
    ComplaintFindings,
    ComplaintReport,
    ComplaintStatus,
    Execution,
    Resolution,
    ResolutionApproval,
    ReviewDecision,
    ReviewRequest,
)
from models.ids import complaint_id_of, complaint_workflow_id
from models.tables import ComplaintRow
from security.masking import mask_account
from workflows.complaint import ComplaintWorkflow

app = typer.Typer(help="File complaints, look at them and take each step.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
AsOpt = Annotated[str, typer.Option("--as", help="Staff id of the person acting.")]


def _update(complaint_id: str, update: Any, payload: Any) -> ComplaintStatus:
    async def go() -> Any:
        client = await temporal()
        handle = client.get_workflow_handle_for(
            ComplaintWorkflow.run, complaint_workflow_id(complaint_id)
        )
        return await handle.execute_update(update, payload)

    return run(go())


def _masked_accounts(st: ComplaintStatus) -> ComplaintStatus:
    """The status with the payee's bank account masked wherever it appears."""
    resolution = st.resolution
    if resolution and resolution.get("payee"):
        payee = resolution["payee"]
        resolution = {
            **resolution,
            "payee": {**payee, "account_ref": mask_account(payee.get("account_ref"))},
        }
    paid = [
        p.model_copy(update={"account_ref": mask_account(p.account_ref)}) for p in st.compensation
    ]
    return st.model_copy(update={"resolution": resolution, "compensation": paid})


def _done(complaint_id: str, what: str, st: ComplaintStatus, as_json: bool) -> None:
    if as_json:
        print_json(_masked_accounts(st))
    else:
        typer.echo(f"complaint {complaint_id}: {what}; now {st.stage}")


@app.command("file")
@handle_errors
def file(
    path: Annotated[Path | None, typer.Argument(help="A ComplaintReport as JSON.")] = None,
    complaint_id: Annotated[str | None, typer.Option(help="Your complaint id.")] = None,
    channel: Annotated[
        str, typer.Option(help="phone, email, wechat, app, web, branch, letter, agent, regulator")
    ] = "phone",
    name: Annotated[str | None, typer.Option(help="Complainant's name.")] = None,
    phone: Annotated[str | None, typer.Option(help="Complainant's phone.")] = None,
    email: Annotated[str | None, typer.Option(help="Complainant's email.")] = None,
    id_no: Annotated[str | None, typer.Option(help="Complainant's id number.")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy number, if any.")] = None,
    claim: Annotated[str | None, typer.Option(help="The claim complained about, if any.")] = None,
    category: Annotated[
        str | None,
        typer.Option(
            help="claim_decision, materials, "
            "payment_timeliness, service_attitude, "
            "amount_dispute, other"
        ),
    ] = None,
    matter: Annotated[str | None, typer.Option(help="What the complaint is about.")] = None,
    remedy: Annotated[str, typer.Option(help="What the complainant asks for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """File a complaint from a JSON file or from options.

    Example: claims complaint file --name 张三 --phone 138 --matter "赔款迟迟未到账"
    """
    if path is not None:
        data = read_json(path)
    else:
        if not (name and matter):
            raise UserError("give a JSON file or at least --name and --matter")
        data = {
            "complaint_id": complaint_id,
            "channel": channel,
            "complainant": {"name": name, "phone": phone, "email": email, "id_no": id_no},
            "policy_no": policy,
            "claim_id": claim,
            "category": category,
            "matter": matter,
            "remedy_sought": remedy,
        }
    report = ComplaintReport.model_validate(data)
    check_dates(report)

    async def go() -> tuple[str, bool]:
        client = await temporal()
        handle, started = await start_complaint(client, report, settings().task_queue)
        return complaint_id_of(handle.id), started

    cid, started = run(go())
    if as_json:
        print_json(
            {"complaint_id": cid, "workflow_id": complaint_workflow_id(cid), "started": started}
        )
    else:
        typer.echo(
            f"complaint {cid} "
            + ("filed" if started else "already exists")
            + f" (workflow {complaint_workflow_id(cid)})"
        )


def load(complaint_id: str, full: bool = False) -> ComplaintStatus:
    return case_status(
        ComplaintStatus,
        ComplaintRow,
        complaint_id,
        complaint_workflow_id(complaint_id),
        "complaint",
        full,
    )


@app.command("show")
@handle_errors
def show(
    complaint_id: str, as_json: JsonOpt = False, full: FullOpt = False, viewer: ViewerOpt = None
) -> None:
    """Show one complaint: stage, priority, handler, clock, resolution, callbacks, letters.
    The complainant's id number and phone are masked unless `--full --as STAFF` with the
    right role.

    Example: claims complaint show CMP-20261123-0001 --full --as cc1
    """
    shown_in_full = full_view_allowed(viewer, full, complaint_id, "complaint show")
    st = load(complaint_id, shown_in_full)
    id_no, phone = identity(st.complainant_id_no, st.complainant_phone, shown_in_full)
    if not shown_in_full:
        st = _masked_accounts(st)
    if as_json:
        print_json(st.model_copy(update={"complainant_id_no": id_no, "complainant_phone": phone}))
        return
    p = console.print
    p(
        f"[bold]Complaint {st.complaint_id}[/bold]  stage [bold]{st.stage}[/bold]  "
        f"priority {st.priority}"
    )
    p(
        f"complainant {st.complainant_name}"
        + (f" (+{st.complainants - 1} more)" if st.complainants > 1 else "")
        + f"  channel {st.channel}  received {when(st.received_at)}",
        markup=False,
    )
    p(f"id {id_no or '-'}  phone {phone or '-'}", markup=False)
    if st.priority_reasons:
        p("priority because: " + "; ".join(st.priority_reasons), markup=False)
    if st.claim_id or st.policy_no:
        p(f"claim {st.claim_id or '-'}  policy {st.policy_no or '-'}")
    p(
        f"category {st.category or '-'}  department {st.department or '-'}  "
        f"handler {st.handler or '-'}  advisor {st.advisor or '-'}"
    )
    p(f"matter: {st.matter}", markup=False)
    if st.decline_reason:
        p(f"declined: {st.decline_reason}", markup=False)
    if st.findings:
        p(f"findings ({'upheld' if st.upheld else 'not upheld'}): {st.findings}", markup=False)
    if st.resolution:
        r = st.resolution
        amount = f" {r['amount']}" if r.get("amount") else ""
        p(f"resolution: {', '.join(r['kinds'])}{amount} - {r['description']}", markup=False)
        if r.get("payee"):
            payee = r["payee"]
            bank = f"  bank {payee['bank_name']}" if payee.get("bank_name") else ""
            p(f"  payee {payee['name']}  account {payee['account_ref']}{bank}", markup=False)
        for a in st.resolution_approvals:
            p(
                f"  {'approved' if a['approve'] else 'sent back'} by {a['approver']} "
                f"({a['as']}) {a['note']}",
                markup=False,
            )
    for c in st.compensation:
        p(
            f"compensation paid {money(c.amount)} to {c.payee} ({c.account_ref}) "
            f"{when(c.paid_at)} ref {c.reference} ledger {c.idempotency_key}",
            markup=False,
        )
    if st.claim_review:
        p(f"claim re-review: {st.claim_review.get('outcome') or 'waiting for the panel'}")
    if st.deadlines:
        p(deadline_table(st.deadlines))
    for c in st.callbacks:
        outcome = ("satisfied" if c.satisfied else "not satisfied") if c.reached else "no answer"
        p(f"callback {when(c.at)} by {c.by}: {outcome} {c.note}", markup=False)
    if st.open_tasks:
        p("open tasks: " + ", ".join(f"{x.kind} ({x.assignee or x.role})" for x in st.open_tasks))
    p("letters: " + ", ".join(st.letters))
    p("history: " + " -> ".join(h.stage for h in st.history))


@app.command("list")
@handle_errors
def list_complaints(
    stage: Annotated[str | None, typer.Option(help="Only this stage.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    priority: Annotated[str | None, typer.Option(help="urgent, high or normal.")] = None,
    claim: Annotated[str | None, typer.Option(help="Only complaints about this claim.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List complaints, newest first.

    Example: claims complaint list --priority urgent
    """
    rows = newest(
        ComplaintRow,
        ComplaintRow.received_at,
        limit,
        stage=stage.upper() if stage else None,
        category=category,
        priority=priority,
        claim_id=claim,
    )
    if as_json:
        print_json(
            [
                {
                    k: getattr(r, k)
                    for k in (
                        "complaint_id",
                        "stage",
                        "channel",
                        "category",
                        "priority",
                        "claim_id",
                        "complainant_name",
                        "handler",
                        "received_at",
                        "outcome",
                    )
                }
                for r in rows
            ]
        )
        return
    t = Table()
    for c in (
        "complaint",
        "stage",
        "priority",
        "category",
        "channel",
        "claim",
        "complainant",
        "handler",
        "received",
    ):
        t.add_column(c)
    for r in rows:
        t.add_row(
            r.complaint_id,
            r.stage,
            r.priority,
            r.category or "-",
            r.channel,
            r.claim_id or "-",
            r.complainant_name,
            r.handler or "-",
            when(r.received_at),
        )
    console.print(t)
    typer.echo(f"{len(rows)} complaint(s)")


@app.command("assign")
@handle_errors
def assign(
    complaint_id: str,
    as_: AsOpt,
    handler: Annotated[str, typer.Option(help="The handler's staff id.")],
    category: Annotated[str | None, typer.Option(help="Set or change the category.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Route the complaint to a handler (the coordinator's step).

    Example: claims complaint assign CMP-1 --as cc1 --handler h1 --category service_attitude
    """
    st = _update(
        complaint_id,
        ComplaintWorkflow.assign,
        Assignment(coordinator=as_, handler=handler, category=category),
    )
    _done(complaint_id, f"assigned to {handler} ({st.department})", st, as_json)


@app.command("findings")
@handle_errors
def findings(
    complaint_id: str,
    as_: AsOpt,
    facts: Annotated[str, typer.Option(help="What the investigation found.")],
    upheld: Annotated[
        bool, typer.Option("--upheld/--not-upheld", help="Is the complaint substantiated?")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Record the handler's findings.

    Example: claims complaint findings CMP-1 --as h1 --facts "录音证实" --upheld
    """
    st = _update(
        complaint_id,
        ComplaintWorkflow.record_findings,
        signed(ComplaintFindings(handler=as_, findings=facts, upheld=upheld), complaint_id),
    )
    _done(complaint_id, "findings recorded", st, as_json)


@app.command("propose")
@handle_errors
def propose(
    complaint_id: str,
    as_: AsOpt,
    kind: Annotated[
        list[str],
        typer.Option(help="apology, explanation, re_review, payment, process_fix (repeatable)"),
    ],
    description: Annotated[str, typer.Option(help="The resolution in words.")],
    basis: Annotated[str, typer.Option(help="Rules and clauses it rests on.")] = "",
    reasons: Annotated[str, typer.Option(help="Why.")] = "",
    amount: Annotated[str | None, typer.Option(help="With payment: the amount.")] = None,
    payee_name: Annotated[
        str | None, typer.Option(help="With payment: who is paid (account holder).")
    ] = None,
    payee_account: Annotated[
        str | None, typer.Option(help="With payment: the payee's bank account number.")
    ] = None,
    payee_bank: Annotated[str | None, typer.Option(help="With payment: the bank's name.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose a resolution (the handler's step). A payment names its payee and bank account:
    compensation is paid on the complaint ledger, never as a claim payment.

    Example: claims complaint propose CMP-1 --as h1 --kind apology --description "书面致歉"

    Example: claims complaint propose CMP-1 --as h1 --kind payment --description "补偿"
    --amount 800 --payee-name 张三 --payee-account 6222020200001234
    """
    payee = None
    if payee_name or payee_account or payee_bank:
        if not (payee_name and payee_account):
            raise UserError("a payee needs both --payee-name and --payee-account")
        payee = {"name": payee_name, "account_ref": payee_account, "bank_name": payee_bank}
    st = _update(
        complaint_id,
        ComplaintWorkflow.propose_resolution,
        Resolution.model_validate(
            {
                "handler": as_,
                "kinds": kind,
                "description": description,
                "basis": basis,
                "reasons": reasons,
                "amount": amount,
                "payee": payee,
            }
        ),
    )
    _done(complaint_id, "resolution proposed", st, as_json)


@app.command("approve")
@handle_errors
def approve(
    complaint_id: str,
    as_: AsOpt,
    reject: Annotated[bool, typer.Option("--reject", help="Send it back instead.")] = False,
    note: Annotated[str, typer.Option(help="Note.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Approve the proposed resolution (coordinator; L3 when it pays above the limit).

    Example: claims complaint approve CMP-1 --as cc1
    """
    st = _update(
        complaint_id,
        ComplaintWorkflow.approve_resolution,
        signed(ResolutionApproval(approver=as_, approve=not reject, note=note), complaint_id),
    )
    _done(complaint_id, "sent back" if reject else f"approved by {as_}", st, as_json)


def _clock_step(name: str, update: Any, doc: str) -> None:
    @app.command(name)
    @handle_errors
    def step(
        complaint_id: str,
        as_: AsOpt,
        reason: Annotated[str, typer.Option(help="Why (or the new facts).")] = "",
        days: Annotated[int | None, typer.Option(help="extend: the new total.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        st = _update(complaint_id, update, ClockChange(by=as_, reason=reason, days=days))
        _done(complaint_id, f"{name} recorded", st, as_json)

    step.__doc__ = doc


_clock_step(
    "extend",
    ComplaintWorkflow.extend,
    "Extend the time limit: to 30 days with a reason, to 60 with L3.\n\n"
    'Example: claims complaint extend CMP-1 --as cc1 --reason "需调取外部记录"',
)
_clock_step(
    "pause",
    ComplaintWorkflow.pause,
    "Pause the clock for external_appraisal or mediation.\n\n"
    "Example: claims complaint pause CMP-1 --as cc1 --reason mediation",
)
_clock_step(
    "resume",
    ComplaintWorkflow.resume,
    "Resume the paused clock.\n\nExample: claims complaint resume CMP-1 --as cc1",
)
_clock_step(
    "facts",
    ComplaintWorkflow.new_facts,
    "Record new facts: the 15-day period starts again.\n\n"
    'Example: claims complaint facts CMP-1 --as cc1 --reason "新的就诊记录"',
)


@app.command("execute")
@handle_errors
def execute(
    complaint_id: str,
    as_: AsOpt,
    note: Annotated[str, typer.Option(help="What was done.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record that the resolution was carried out (a payment is made now, once).

    Example: claims complaint execute CMP-1 --as h1 --note "已书面致歉"
    """
    st = _update(complaint_id, ComplaintWorkflow.execute, Execution(by=as_, note=note))
    _done(complaint_id, "execution recorded", st, as_json)


@app.command("callback")
@handle_errors
def callback(
    complaint_id: str,
    as_: AsOpt,
    result: Annotated[str, typer.Argument(help="satisfied, not-satisfied or no-answer")],
    note: Annotated[str, typer.Option(help="Notes; required for no-answer.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record one satisfaction callback attempt.

    Example: claims complaint callback CMP-1 --as cc1 satisfied
    """
    if result not in ("satisfied", "not-satisfied", "no-answer"):
        raise UserError("the callback result is satisfied, not-satisfied or no-answer")
    payload = Callback(
        by=as_,
        reached=result != "no-answer",
        satisfied=None if result == "no-answer" else result == "satisfied",
        note=note,
    )
    st = _update(complaint_id, ComplaintWorkflow.callback, payload)
    _done(complaint_id, f"callback recorded ({result})", st, as_json)


@app.command("review")
@handle_errors
def review(
    complaint_id: str,
    reason: Annotated[str, typer.Option(help="Why the complainant asks.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """The complainant asks the superior office for a review (within 30 days).

    Example: claims complaint review CMP-1 --reason "对处理结果不满意"
    """
    st = _update(complaint_id, ComplaintWorkflow.request_review, ReviewRequest(reason=reason))
    _done(complaint_id, "review requested", st, as_json)


@app.command("review-decision")
@handle_errors
def review_decision(
    complaint_id: str,
    as_: AsOpt,
    findings: Annotated[str, typer.Option(help="The review's findings.")],
    upheld: Annotated[bool, typer.Option("--upheld/--changed", help="Original handling upheld?")],
    as_json: JsonOpt = False,
) -> None:
    """Decide the review (L3, the superior office).

    Example: claims complaint review-decision CMP-1 --as mgr1 --findings "原处理适当" --upheld
    """
    st = _update(
        complaint_id,
        ComplaintWorkflow.review_decision,
        signed(ReviewDecision(reviewer=as_, upheld=upheld, findings=findings), complaint_id),
    )
    _done(complaint_id, "review decided", st, as_json)


@app.command("close")
@handle_errors
def close(
    complaint_id: str,
    as_: AsOpt,
    note: Annotated[str, typer.Option(help="Note.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Close a complaint whose resolution is carried out and callback recorded.

    Example: claims complaint close CMP-1 --as cc1
    """
    st = _update(complaint_id, ComplaintWorkflow.close, CloseRequest(by=as_, note=note))
    _done(complaint_id, "closing", st, as_json)
