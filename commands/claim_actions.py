"""`claims claim ...` steps beyond approval: investigation findings, the panel, appeal,
withdrawal. Joined to the `claim` sub-app in cli.py."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from commands.claim import AsOpt, JsonOpt, update_claim
from commands.common import UserError, handle_errors, money, print_json, signed
from models.claim import (
    Appeal,
    Assessment,
    ConvenePanel,
    Decision,
    Findings,
    FollowUp,
    MaterialsRequest,
    Withdrawal,
)

if TYPE_CHECKING:
    from workflows.claim import ClaimWorkflow

app = typer.Typer()


def _claim_workflow() -> type[ClaimWorkflow]:
    """The claim workflow's class, for its update methods: imported when a command sends one,
    so that `claims claim --help` and the read commands do not load the workflow."""
    from workflows.claim import ClaimWorkflow

    return ClaimWorkflow


Recommendation = Literal["pay", "deny", "reduce"]
RECOMMENDATIONS: dict[str, Recommendation] = {"pay": "pay", "deny": "deny", "reduce": "reduce"}


@app.command("findings")
@handle_errors
def findings(
    claim_id: str,
    as_: AsOpt,
    task: Annotated[str, typer.Option(help="The investigation task, e.g. hospital_check.")],
    facts: Annotated[str, typer.Option(help="What the investigation found.")],
    recommend: Annotated[str, typer.Option(help="pay | deny | reduce")] = "pay",
    amount: Annotated[str | None, typer.Option(help="With reduce: the amount to pay.")] = None,
    fraud: Annotated[bool, typer.Option("--fraud", help="Fraud is suspected.")] = False,
    inconclusive: Annotated[
        bool, typer.Option("--inconclusive", help="The facts could not be established.")
    ] = False,
    excluded_cause: Annotated[
        str | None,
        typer.Option(help="An excluded cause the investigation found, e.g. drunk_or_drugged."),
    ] = None,
    disability_grade: Annotated[
        int | None, typer.Option(help="The grade read from the disability appraisal report.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report an investigation task's findings (update report_findings).

    Example: claims claim findings CLM-1 --as inv1 --task hospital_check --facts "病历属实"
    """
    recommendation = RECOMMENDATIONS.get(recommend)
    if recommendation is None:
        raise UserError(f"--recommend must be pay, deny or reduce, not {recommend!r}")
    payload = Findings(
        investigator=as_,
        task=task,
        facts=facts,
        fraud_suspected=fraud,
        recommendation=recommendation,
        amount=Decimal(amount) if amount else None,
        conclusive=not inconclusive,
        excluded_cause=excluded_cause,
        disability_grade=disability_grade,
    )
    st = update_claim(claim_id, _claim_workflow().report_findings, signed(payload, claim_id))
    if as_json:
        print_json(st)
        return
    left = [v.kind for v in st.investigations if not v.done]
    tail = f"still open: {', '.join(left)}" if left else "investigation complete"
    typer.echo(f"claim {claim_id}: {task} findings by {as_} recorded; {tail}")


@app.command("assess")
@handle_errors
def assess(
    claim_id: str,
    as_: AsOpt,
    repair_cost: Annotated[str | None, typer.Option(help="Assessed repair cost.")] = None,
    total_loss: Annotated[
        bool | None, typer.Option("--total-loss/--repairable", help="Total loss or not.")
    ] = None,
    salvage: Annotated[str | None, typer.Option(help="Salvage value.")] = None,
    actual_value: Annotated[
        str | None, typer.Option(help="The vehicle's actual value at the time of loss.")
    ] = None,
    depreciation_rate: Annotated[
        str | None, typer.Option(help="Depreciation as a share of value, e.g. 0.25.")
    ] = None,
    loss_amount: Annotated[str | None, typer.Option(help="Assessed property loss.")] = None,
    value_at_risk: Annotated[
        str | None, typer.Option(help="Value at risk at the time of loss (property).")
    ] = None,
    disability_grade: Annotated[
        int | None, typer.Option(help="Grade from the disability appraisal report, 1-10.")
    ] = None,
    note: Annotated[str, typer.Option(help="The assessor's note.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record a loss assessment (定损) as an assessor (update record_assessment, signed).

    Example: claims claim assess CLM-1 --as ast1 --repair-cost 80000 --note "按维修方案核定"
    """
    given = {
        "repair_cost": repair_cost,
        "total_loss": total_loss,
        "salvage_value": salvage,
        "actual_value": actual_value,
        "depreciation_rate": depreciation_rate,
        "loss_amount": loss_amount,
        "value_at_risk": value_at_risk,
        "disability_grade": disability_grade,
    }
    figures = {k: v for k, v in given.items() if v is not None}
    payload = Assessment(assessor=as_, figures=figures, note=note)
    st = update_claim(claim_id, _claim_workflow().record_assessment, signed(payload, claim_id))
    if as_json:
        print_json(st)
        return
    flagged = [c.figure for c in st.assessment.comparisons if c.flagged] if st.assessment else []
    tail = f"; declared figures far from it: {', '.join(flagged)}" if flagged else ""
    shown = ", ".join(f"{k} {v}" for k, v in figures.items())
    typer.echo(
        f"claim {claim_id}: assessment by {as_} recorded ({shown}); adjustment follows{tail}"
    )


@app.command("notify-missing")
@handle_errors
def notify_missing(
    claim_id: str,
    as_: AsOpt,
    kind: Annotated[
        list[str], typer.Option("--kind", help="A material kind to ask for (repeatable).")
    ],
    reason: Annotated[str, typer.Option(help="Why the first notice could not list it.")],
    as_json: JsonOpt = False,
) -> None:
    """Send a second missing-materials notice (update request_materials): a compliance
    exception after the one-time notice, approved by a supervisor with a recorded reason.

    Example: claims claim notify-missing CLM-1 --as sup1 --kind police_report --reason "新情况"
    """
    payload = MaterialsRequest(by=as_, kinds=kind, reason=reason)
    st = update_claim(claim_id, _claim_workflow().request_materials, payload)
    if as_json:
        print_json(st)
        return
    typer.echo(
        f"claim {claim_id}: second notice by {as_} sent; still missing: "
        + ", ".join(st.missing_materials)
    )


@app.command("panel")
@handle_errors
def convene(
    claim_id: str,
    as_: AsOpt,
    members: Annotated[str, typer.Option(help="Three L2+ staff ids, comma separated.")],
    as_json: JsonOpt = False,
) -> None:
    """Convene the claim's panel (合议小组) with three members.

    Example: claims claim panel CLM-1 --as mgr1 --members sup1,sup2,sup3
    """
    names = [m.strip() for m in members.split(",") if m.strip()]
    state = update_claim(
        claim_id,
        _claim_workflow().convene_panel,
        signed(ConvenePanel(convener=as_, members=names), claim_id),
    )
    if as_json:
        print_json(state)
        return
    typer.echo(f"claim {claim_id}: panel convened by {as_}: {', '.join(names)}")


@app.command("vote")
@handle_errors
def vote(
    claim_id: str,
    as_: AsOpt,
    decision: Annotated[str, typer.Argument(help="approve | reject | amend")],
    reason: Annotated[str, typer.Option(help="The member's reason, kept in the panel record.")],
    amount: Annotated[str | None, typer.Option(help="With amend: the amount to pay.")] = None,
    clause: Annotated[str | None, typer.Option(help="With reject: the product clause.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Vote as a member of the claim's panel.

    Example: claims claim vote CLM-1 --as sup2 amend --amount 5000 --reason "部分费用不合理"
    """
    payload = Decision(
        approver=as_,
        decision=decision,
        note=reason,
        clause=clause,
        amount=Decimal(amount) if amount else None,
    )
    state = update_claim(claim_id, _claim_workflow().decide, signed(payload, claim_id))
    if as_json:
        print_json(state)
        return
    done = state.pending_approval_level is None
    typer.echo(
        f"claim {claim_id}: {as_} voted {decision}"
        + ("; the panel has decided" if done else "; waiting for the other members")
    )


@app.command("appeal")
@handle_errors
def appeal(
    claim_id: str,
    reason: Annotated[str, typer.Option(help="Why the claimant disagrees.")] = "",
    by: Annotated[str, typer.Option(help="Who lodges it (claimant, or a staff id).")] = "claimant",
    as_json: JsonOpt = False,
) -> None:
    """Appeal a denial within 30 days of the notice: the claim reopens for a panel review.

    Example: claims claim appeal CLM-1 --reason "首诊在投保后，附新病历"
    """
    st = update_claim(claim_id, _claim_workflow().appeal_update, Appeal(by=by, reason=reason))
    if as_json:
        print_json(st)
        return
    typer.echo(f"claim {claim_id}: appeal received; the claim goes to a panel review")


@app.command("withdraw")
@handle_errors
def withdraw(
    claim_id: str,
    reason: Annotated[str, typer.Option(help="Why the claim is withdrawn.")] = "",
    by: Annotated[str, typer.Option(help="Who asks (claimant, or a staff id).")] = "claimant",
    as_json: JsonOpt = False,
) -> None:
    """Withdraw a claim before any payment; it ends with a confirmation letter.

    Example: claims claim withdraw CLM-1 --reason "已获其他保险赔付"
    """
    from temporalio.client import WorkflowUpdateFailedError

    payload = Withdrawal(by=by, reason=reason)
    for attempt in range(50):
        try:
            st = update_claim(claim_id, _claim_workflow().withdraw_update, payload)
            break
        except WorkflowUpdateFailedError as err:
            # The claim was mid-step (writing a letter or its record): a moment later it waits
            # for someone again and takes the withdrawal.
            busy = "in the middle of a step" in str(getattr(err.cause, "message", ""))
            if not busy or attempt == 49:
                raise
            time.sleep(0.1)
    if as_json:
        print_json(st)
        return
    typer.echo(f"claim {claim_id}: withdrawn (paid so far {money(st.paid_total)})")


@app.command("follow-up")
@handle_errors
def follow_up(
    claim_id: str,
    as_: AsOpt,
    reached: Annotated[
        bool, typer.Option("--reached/--not-reached", help="Whether the claimant was reached.")
    ],
    satisfied: Annotated[
        bool | None,
        typer.Option("--satisfied/--not-satisfied", help="With --reached: the claimant's answer."),
    ] = None,
    note: Annotated[str, typer.Option(help="What the claimant said.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record the follow-up call after payment or denial (update record_follow_up, signed).

    Example: claims claim follow-up CLM-1 --as adj1 --reached --satisfied --note "满意"
    """
    payload = FollowUp(by=as_, reached=reached, satisfied=satisfied, note=note)
    st = update_claim(claim_id, _claim_workflow().record_follow_up, signed(payload, claim_id))
    if as_json:
        print_json(st)
        return
    answer = "not reached"
    if reached:
        answer = "reached, satisfied" if satisfied else "reached, not satisfied"
    typer.echo(f"claim {claim_id}: follow-up by {as_} recorded ({answer})")
