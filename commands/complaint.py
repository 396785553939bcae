"""`claims complaint ...`: file complaints and look at them (each step: complaint_actions)."""

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
    db,
    full_view_allowed,
    handle_errors,
    identity,
    print_json,
    read_json,
    run,
    settings,
    temporal,
    when,
)
from commands.complaint_view import ComplaintView, print_complaint
from models.complaint import ComplaintReport, ComplaintStatus
from models.ids import complaint_id_of, complaint_workflow_id
from readmodel import queries
from security.masking import mask_account
from workflows.complaint import ComplaintWorkflow

app = typer.Typer(help="File complaints, look at them and take each step.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
AsOpt = Annotated[str, typer.Option("--as", help="Staff id of the person acting.")]


def update_complaint(complaint_id: str, update: Any, payload: Any) -> ComplaintStatus:
    async def go() -> Any:
        client = await temporal()
        handle = client.get_workflow_handle_for(
            ComplaintWorkflow.run, complaint_workflow_id(complaint_id)
        )
        return await handle.execute_update(update, payload)

    status: ComplaintStatus = run(go())
    return status


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


def done(complaint_id: str, what: str, st: ComplaintStatus, as_json: bool) -> None:
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
    row = queries.complaint(engine=db(), complaint_id=complaint_id)
    workflow_id = complaint_workflow_id(complaint_id)
    return case_status(ComplaintStatus, row, workflow_id, "complaint", complaint_id, full)


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
    print_complaint(ComplaintView(st, id_no, phone))


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
    rows = queries.complaints(
        engine=db(),
        stage=stage,
        category=category,
        priority=priority,
        claim_id=claim,
        limit=limit,
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
