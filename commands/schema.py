"""`claims schema`: the JSON Schema of everything another system sends to or reads from a case.

Every workflow input, signal and update payload, update result and query result, keyed by its
Temporal message name: `ClaimWorkflow.input`, `ClaimWorkflow.signal.submit_materials`,
`ClaimWorkflow.update.decide`, `ClaimWorkflow.update.decide.result`,
`ClaimWorkflow.query.status`, ... Payloads are plain JSON (the pydantic data converter):
what goes in is described as pydantic validates it, what comes out as pydantic writes it
(decimals as strings).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel

from commands.common import UserError, handle_errors
from models.calendars import CalendarUpdate
from models.claim import (
    Adjustment,
    Appeal,
    Assessment,
    ClaimReport,
    ConvenePanel,
    Decision,
    Findings,
    FollowUp,
    MaterialsRequest,
    MaterialsSubmission,
    Withdrawal,
)
from models.complaint import (
    Assignment,
    Callback,
    ClaimReviewOutcome,
    ClaimReviewRequest,
    ClockChange,
    CloseRequest,
    ComplaintFindings,
    ComplaintLink,
    ComplaintReport,
    ComplaintStatus,
    Execution,
    Resolution,
    ResolutionApproval,
    ReviewDecision,
    ReviewRequest,
)
from models.status import ApprovalState, ClaimStatus

Direction = Literal["in", "out"]

# The workflows' messages (workflows/claim_messages.py, workflows/claim.py,
# workflows/complaint.py): name -> (payload model, result model or None).
_CLAIM_SIGNALS: dict[str, type[BaseModel]] = {
    "submit_materials": MaterialsSubmission,
    "decision": Decision,
    "assessment": Assessment,
    "complaint_filed": ComplaintLink,
    "reopen_for_review": ClaimReviewRequest,
    "calendar_updated": CalendarUpdate,
}
_CLAIM_UPDATES: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "decide": (Decision, ApprovalState),
    "convene_panel": (ConvenePanel, ApprovalState),
    "report_findings": (Findings, ClaimStatus),
    "record_assessment": (Assessment, ClaimStatus),
    "adjust": (Adjustment, ApprovalState),
    "appeal": (Appeal, ClaimStatus),
    "withdraw": (Withdrawal, ClaimStatus),
    "request_materials": (MaterialsRequest, ClaimStatus),
    "record_follow_up": (FollowUp, ClaimStatus),
}
_COMPLAINT_SIGNALS: dict[str, type[BaseModel]] = {
    "claim_review_outcome": ClaimReviewOutcome,
    "calendar_updated": CalendarUpdate,
}
_COMPLAINT_UPDATES: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "assign": (Assignment, ComplaintStatus),
    "record_findings": (ComplaintFindings, ComplaintStatus),
    "propose_resolution": (Resolution, ComplaintStatus),
    "approve_resolution": (ResolutionApproval, ComplaintStatus),
    "extend": (ClockChange, ComplaintStatus),
    "pause": (ClockChange, ComplaintStatus),
    "resume": (ClockChange, ComplaintStatus),
    "new_facts": (ClockChange, ComplaintStatus),
    "execute": (Execution, ComplaintStatus),
    "callback": (Callback, ComplaintStatus),
    "request_review": (ReviewRequest, ComplaintStatus),
    "review_decision": (ReviewDecision, ComplaintStatus),
    "close": (CloseRequest, ComplaintStatus),
}


def _messages(
    workflow: str,
    report: type[BaseModel],
    status: type[BaseModel],
    signals: dict[str, type[BaseModel]],
    updates: dict[str, tuple[type[BaseModel], type[BaseModel]]],
) -> dict[str, tuple[type[BaseModel], Direction]]:
    out: dict[str, tuple[type[BaseModel], Direction]] = {
        f"{workflow}.input": (report, "in"),
        f"{workflow}.result": (status, "out"),
    }
    for name, model in signals.items():
        out[f"{workflow}.signal.{name}"] = (model, "in")
    for name, (arg, result) in updates.items():
        out[f"{workflow}.update.{name}"] = (arg, "in")
        out[f"{workflow}.update.{name}.result"] = (result, "out")
    out[f"{workflow}.query.status"] = (status, "out")
    return out


# Message name -> (model, "in" for what a case accepts / "out" for what it returns).
MODELS: dict[str, tuple[type[BaseModel], Direction]] = {
    **_messages("ClaimWorkflow", ClaimReport, ClaimStatus, _CLAIM_SIGNALS, _CLAIM_UPDATES),
    **_messages(
        "ComplaintWorkflow",
        ComplaintReport,
        ComplaintStatus,
        _COMPLAINT_SIGNALS,
        _COMPLAINT_UPDATES,
    ),
}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one message: as validated going in, as serialised coming out."""
    try:
        model, direction = MODELS[name]
    except KeyError:
        raise UserError(f"unknown message {name!r}; see `claims schema` for the names") from None
    schema = model.model_json_schema(mode="validation" if direction == "in" else "serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schemas(name: str | None = None) -> dict[str, dict[str, Any]]:
    names = [name] if name is not None else list(MODELS)
    return {n: json_schema(n) for n in names}


@handle_errors
def schema(
    name: Annotated[
        str | None,
        typer.Argument(help="One message, e.g. ClaimWorkflow.update.decide; all when omitted."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write one <message>.json file per message to this folder."),
    ] = None,
) -> None:
    """Print the JSON Schema of every workflow input, message payload and result.

    Keys are Temporal message names: ClaimWorkflow.input, ClaimWorkflow.signal.submit_materials,
    ClaimWorkflow.update.decide (and .result), ClaimWorkflow.query.status, and the same for
    ComplaintWorkflow.

    Example: claims schema ClaimWorkflow.input
    Example: claims schema --out schemas/
    """
    found = schemas(name)
    if out is None:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for key, value in found.items():
        path = out / f"{key}.json"
        path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        typer.echo(str(path))


app = typer.Typer(help="JSON Schemas of the engine's Temporal messages.")
app.command("schema")(schema)
