"""`claims claim ...`: report, show, list and act on claims."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from commands import deciding
from commands.common import (
    FullOpt,
    UserError,
    ViewerOpt,
    case_status,
    db,
    full_view_allowed,
    handle_errors,
    identity,
    money,
    print_json,
    read_json,
    read_model,
    run,
    settings,
    signed,
    temporal,
)
from commands.reading import claim_rows as claim_rows  # bench/readmodel.py and the tests time it
from commands.reading import print_claim, print_claims
from models.ids import claim_id_of, claim_workflow_id
from readmodel import reads

if TYPE_CHECKING:
    from models.status import ClaimStatus

# `claims claim list` and `show` read the read model only: the Temporal client, the workflow
# and the contract's models are imported by the commands that send a message.

app = typer.Typer(help="Report claims, look at them and act on them.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
AsOpt = Annotated[str, typer.Option("--as", help="Staff id of the person acting.")]
NoteOpt = Annotated[str, typer.Option("--note", help="Note kept with the decision.")]


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        if "=" not in v:
            raise UserError(f"{what} must look like kind=ref, got {v!r}")
        k, r = v.split("=", 1)
        out.append((k.strip(), r.strip()))
    return out


def _report_from_options(**o: Any) -> dict[str, Any]:
    missing = [
        n
        for n in ("policy", "line", "incident", "name", "id_no", "phone", "occurred_at", "amount")
        if not o.get(n)
    ]
    if missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        raise UserError(f"give a JSON file or the options {flags}")
    items = []
    for raw in o["item"] or []:
        parts = raw.split(":")
        if len(parts) != 3:
            raise UserError(f"--item must look like category:description:amount, got {raw!r}")
        items.append({"category": parts[0], "description": parts[1], "amount": parts[2]})
    return {
        "claim_id": o["claim_id"],
        "policy_no": o["policy"],
        "line": o["line"],
        "incident_type": o["incident"],
        "channel": o["channel"],
        "claimant": {
            "name": o["name"],
            "id_no": o["id_no"],
            "phone": o["phone"],
            "email": o["email"],
            "language": o["language"],
        },
        "occurred_at": o["occurred_at"],
        "location": o["location"] or "",
        "description": o["description"] or "",
        "amount_claimed": o["amount"],
        "items": items,
        "materials": [{"kind": k, "ref": r} for k, r in _pairs(o["material"] or [], "--material")],
    }


@app.command("submit")
@handle_errors
def submit(
    file: Annotated[
        Path | None, typer.Argument(help="A ClaimReport as JSON ('-' for stdin).")
    ] = None,
    claim_id: Annotated[
        str | None, typer.Option(help="Your claim id; the same id twice is one claim.")
    ] = None,
    policy: Annotated[str | None, typer.Option(help="Policy number.")] = None,
    line: Annotated[str | None, typer.Option(help="medical | auto | property | accident")] = None,
    incident: Annotated[str | None, typer.Option(help="Incident type for the line.")] = None,
    channel: Annotated[str, typer.Option(help="Reporting channel.")] = "phone",
    name: Annotated[str | None, typer.Option(help="Claimant's name.")] = None,
    id_no: Annotated[str | None, typer.Option(help="Claimant's id number.")] = None,
    phone: Annotated[str | None, typer.Option(help="Claimant's phone.")] = None,
    email: Annotated[str | None, typer.Option(help="Claimant's email.")] = None,
    language: Annotated[str, typer.Option(help="Letters in zh-CN or en.")] = "zh-CN",
    occurred_at: Annotated[str | None, typer.Option(help="ISO 8601 with offset.")] = None,
    amount: Annotated[str | None, typer.Option(help="Amount claimed, e.g. 1800.00")] = None,
    item: Annotated[list[str] | None, typer.Option(help="category:description:amount")] = None,
    material: Annotated[list[str] | None, typer.Option(help="kind=ref, repeatable")] = None,
    location: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report a claim from a JSON file or from options.

    Example: claims claim submit claim.json
    """
    from client import check_dates, start_claim
    from models.claim import ClaimReport
    from readmodel import queries

    data = read_json(file) if file is not None else _report_from_options(**locals())
    report = ClaimReport.model_validate(data)
    check_dates(report)
    if not queries.policy_exists(engine=db(), policy_no=report.policy_no):
        raise UserError(f"invalid policy_no: no policy {report.policy_no} is on record")

    async def go() -> tuple[str, bool]:
        client = await temporal()
        handle, started = await start_claim(client, report, settings().task_queue)
        return claim_id_of(handle.id), started

    claim_id_, started = run(go())
    if as_json:
        print_json(
            {"claim_id": claim_id_, "workflow_id": claim_workflow_id(claim_id_), "started": started}
        )
    elif started:
        typer.echo(f"claim {claim_id_} reported (workflow {claim_workflow_id(claim_id_)})")
    else:
        typer.echo(f"claim {claim_id_} already exists (workflow {claim_workflow_id(claim_id_)})")


def load_status(claim_id: str, full: bool = False) -> ClaimStatus:
    """From the read model (masked); a claim not yet projected, or wanted in full, is asked
    for through Temporal."""
    from models.status import ClaimStatus

    row = reads.claim(engine=read_model(), claim_id=claim_id)
    return case_status(ClaimStatus, row, claim_workflow_id(claim_id), "claim", claim_id, full)


@app.command("show")
@handle_errors
def show(
    claim_id: str, as_json: JsonOpt = False, full: FullOpt = False, viewer: ViewerOpt = None
) -> None:
    """Show one claim: stage, amounts, missing materials, deadlines, decisions, letters. The
    claimant's id number and phone are masked unless `--full --as STAFF` with the right role.

    Example: claims claim show CLM-20261123-0001 --full --as sup1
    """
    shown_in_full = full_view_allowed(viewer, full, claim_id, "claim show")
    st = load_status(claim_id, shown_in_full)
    id_no, phone = identity(st.claimant_id_no, st.claimant_phone, shown_in_full)
    if as_json:
        print_json(st.model_copy(update={"claimant_id_no": id_no, "claimant_phone": phone}))
        return
    print_claim(claim_id, st.model_dump(mode="json"), id_no, phone)


@app.command("list")
@handle_errors
def list_claims(
    stage: Annotated[
        str | None, typer.Option(help="Only this stage, e.g. PENDING_APPROVAL.")
    ] = None,
    line: Annotated[str | None, typer.Option(help="Only this line.")] = None,
    policy: Annotated[str | None, typer.Option(help="Only this policy number.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List claims from the read model, newest first.

    Example: claims claim list --stage PENDING_APPROVAL
    """
    print_claims(stage, line, policy, limit, as_json)


@app.command("materials")
@handle_errors
def add_materials(
    claim_id: str,
    materials: Annotated[list[str], typer.Argument(help="kind=ref pairs, e.g. invoices=scan-17")],
    by: Annotated[str | None, typer.Option("--by", help="Who brought them.")] = None,
) -> None:
    """Add materials to a claim (signal submit_materials).

    Example: claims claim materials CLM-1 invoices=scan-17 expense_list=scan-18
    """
    from models.claim import Material, MaterialsSubmission
    from workflows.claim import ClaimWorkflow

    sub = MaterialsSubmission(
        materials=[Material(kind=k, ref=r) for k, r in _pairs(materials, "material")],
        submitted_by=by,
    )

    async def go() -> None:
        client = await temporal()
        handle = client.get_workflow_handle_for(ClaimWorkflow.run, claim_workflow_id(claim_id))
        await handle.signal(ClaimWorkflow.submit_materials, sub)

    run(go())
    typer.echo(f"claim {claim_id}: received {', '.join(m.kind for m in sub.materials)}")


def update_claim(
    claim_id: str,
    update: Any,
    payload: Any,
    result_type: Any = None,
    update_id: str | None = None,
) -> Any:
    """Send an update to a claim's workflow and return its result. `update` is a method of
    ClaimWorkflow, or the update's name (its result as `result_type`, else plain JSON): a staff
    decision names it, so the command does not import the workflow and all it runs. An
    `update_id` given twice is applied once."""

    async def go() -> Any:
        client = await temporal()
        if isinstance(update, str):
            named = client.get_workflow_handle(claim_workflow_id(claim_id))
            return await named.execute_update(
                update, payload, id=update_id, result_type=result_type
            )
        from workflows.claim import ClaimWorkflow

        handle = client.get_workflow_handle_for(ClaimWorkflow.run, claim_workflow_id(claim_id))
        return await handle.execute_update(update, payload, id=update_id)

    return run(go())


@app.command("approve")
@handle_errors
def approve(claim_id: str, as_: AsOpt, note: NoteOpt = "", as_json: JsonOpt = False) -> None:
    """Approve at the pending level as a named person.

    Example: claims claim approve CLM-1 --as adj1
    """
    deciding.approve(claim_id, as_, note, as_json)


@app.command("reject")
@handle_errors
def reject(
    claim_id: str,
    as_: AsOpt,
    clause: Annotated[str, typer.Option(help="Clause id of the product the denial rests on.")],
    note: NoteOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Deny the claim under a clause of the product (L2 or above).

    Example: claims claim reject CLM-1 --as sup1 --clause MED-2.2 --note "既往症"
    """
    deciding.reject(claim_id, as_, clause, note, as_json)


@app.command("return")
@handle_errors
def return_(claim_id: str, as_: AsOpt, note: NoteOpt = "", as_json: JsonOpt = False) -> None:
    """Send the claim back to adjustment with a note; the approval chain restarts.

    Example: claims claim return CLM-1 --as sup1 --note "核减自费药"
    """
    deciding.return_(claim_id, as_, note, as_json)


@app.command("adjust")
@handle_errors
def adjust(
    claim_id: str,
    as_: AsOpt,
    amount: Annotated[str | None, typer.Option(help="The payable amount you set.")] = None,
    note: NoteOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Re-adjust a returned claim (update adjust), optionally setting the payable amount.

    Example: claims claim adjust CLM-1 --as adj2 --amount 5500 --note "核减不合理费用"
    """
    from models.claim import Adjustment
    from workflows.claim import ClaimWorkflow

    adj = Adjustment(adjuster=as_, note=note, amount=Decimal(amount) if amount else None)
    state = update_claim(claim_id, ClaimWorkflow.adjust_update, signed(adj, claim_id))
    if as_json:
        print_json(state)
    else:
        typer.echo(f"claim {claim_id}: adjusted by {as_}, payable {money(state.payable_amount)}")
