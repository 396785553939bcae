"""`claims complaint ...` steps: routing, findings, the resolution and its approval, the clock,
execution, callbacks, the review and closing. Joined to the `complaint` sub-app in cli.py."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from commands.common import UserError, handle_errors, signed
from commands.complaint import AsOpt, JsonOpt, done, update_complaint
from models.complaint import (
    Assignment,
    Callback,
    ClockChange,
    CloseRequest,
    ComplaintFindings,
    Execution,
    Resolution,
    ResolutionApproval,
    ReviewDecision,
    ReviewRequest,
)
from workflows.complaint import ComplaintWorkflow

app = typer.Typer()


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
    st = update_complaint(
        complaint_id,
        ComplaintWorkflow.assign,
        Assignment.model_validate({"coordinator": as_, "handler": handler, "category": category}),
    )
    done(complaint_id, f"assigned to {handler} ({st.department})", st, as_json)


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
    st = update_complaint(
        complaint_id,
        ComplaintWorkflow.record_findings,
        signed(ComplaintFindings(handler=as_, findings=facts, upheld=upheld), complaint_id),
    )
    done(complaint_id, "findings recorded", st, as_json)


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
    st = update_complaint(
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
    done(complaint_id, "resolution proposed", st, as_json)


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
    st = update_complaint(
        complaint_id,
        ComplaintWorkflow.approve_resolution,
        signed(ResolutionApproval(approver=as_, approve=not reject, note=note), complaint_id),
    )
    done(complaint_id, "sent back" if reject else f"approved by {as_}", st, as_json)


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
        st = update_complaint(complaint_id, update, ClockChange(by=as_, reason=reason, days=days))
        done(complaint_id, f"{name} recorded", st, as_json)

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
    st = update_complaint(complaint_id, ComplaintWorkflow.execute, Execution(by=as_, note=note))
    done(complaint_id, "execution recorded", st, as_json)


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
    st = update_complaint(complaint_id, ComplaintWorkflow.callback, payload)
    done(complaint_id, f"callback recorded ({result})", st, as_json)


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
    st = update_complaint(
        complaint_id, ComplaintWorkflow.request_review, ReviewRequest(reason=reason)
    )
    done(complaint_id, "review requested", st, as_json)


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
    st = update_complaint(
        complaint_id,
        ComplaintWorkflow.review_decision,
        signed(ReviewDecision(reviewer=as_, upheld=upheld, findings=findings), complaint_id),
    )
    done(complaint_id, "review decided", st, as_json)


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
    st = update_complaint(complaint_id, ComplaintWorkflow.close, CloseRequest(by=as_, note=note))
    done(complaint_id, "closing", st, as_json)
