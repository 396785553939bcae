"""A staff decision (`claims claim approve`, `reject`, `return`): the signed update `decide`
sent to the claim, over Temporal's HTTP API where the settings lead to one. Run by the typer
commands and by the front door (commands/front.py) alike, so neither typer, rich, pydantic nor
Temporal's SDK is imported unless the way round (the SDK) or `--json` needs them."""

from __future__ import annotations

from typing import Any

from commands.errors import UserError, signature_of, temporal_error
from commands.plain import echo, print_json
from models.ids import claim_workflow_id

# Decision's text limits (models/validation.py: `Name`, and `LongText` for the note), which
# tests/test_decision_http.py holds to the model: text within them, printable but for line
# breaks in the note, is valid without asking pydantic.
NAME_MAX, NOTE_MAX = 200, 20_000
NOT_FOUND = 5  # gRPC's status code, as the HTTP API gives it


def decision_fields(
    approver: str, decision: str, note: str = "", clause: str | None = None
) -> dict[str, Any]:
    """A staff decision as the JSON the pydantic converter writes for `models.claim.Decision`:
    every field, in the model's order, unsigned."""
    return {
        "signed_at": None,
        "signature": None,
        "approver": approver,
        "decision": decision,
        "note": note,
        "clause": clause,
        "amount": None,
    }


def _plainly_valid(fields: dict[str, Any]) -> bool:
    def fits(text: str, limit: int, allowed: str = "") -> bool:
        return len(text) <= limit and text.translate(dict.fromkeys(map(ord, allowed))).isprintable()

    names = [fields["approver"], fields["decision"], fields["clause"] or ""]
    return all(fits(n, NAME_MAX) for n in names) and fits(fields["note"], NOTE_MAX, "\n\r\t")


def send_decision(claim_id: str, fields: dict[str, Any]) -> Any:
    """The signed decision to the claim's update `decide`, over Temporal's HTTP API when the
    settings lead to one (commands/http_update.py: no SDK, no pydantic), else, or when that
    does not answer, with the SDK under the same update id. Its ApprovalState as plain JSON."""
    import uuid

    from commands import http_update

    update_id = str(uuid.uuid4())
    target = http_update.http_target()
    if target is not None:
        try:
            workflow_id = claim_workflow_id(claim_id)
            return http_update.execute_update(target, workflow_id, "decide", fields, update_id)
        except http_update.Unreachable:
            pass  # the SDK's gRPC, which reports an engine that is not running
        except http_update.UpdateRefused as exc:
            raise UserError(f"refused: {exc}") from None
        except http_update.HttpError as exc:
            raise UserError(temporal_error(exc.code == NOT_FOUND, exc.message)) from None
    from commands import claim  # typer and Temporal's SDK: only on this way round

    return claim.update_claim(claim_id, "decide", fields, update_id=update_id)


def decide(claim_id: str, as_json: bool = False, **given: Any) -> None:
    """Sign a staff decision as the acting person, send it and say what it did."""
    import signing
    from commands.http_update import Environment
    from workflows.approval import level_name

    fields = decision_fields(**given)
    if not _plainly_valid(fields):
        from models.claim import Decision

        Decision.model_validate(fields)  # refused as pydantic words it
    env = Environment()
    fields["signed_at"] = signing.signed_now()
    unsigned = {k: v for k, v in fields.items() if k != "signature"}
    who = fields["approver"]
    fields["signature"] = signature_of(
        who, unsigned, claim_id, env.staff_keys_dir, env.staff_keys_file
    )
    # The update ClaimWorkflow.decide, by its name. Its ApprovalState comes back as plain JSON,
    # made the model (models/status.py) only to be printed whole.
    state = send_decision(claim_id, fields)
    if as_json:
        from models.status import ApprovalState

        print_json(ApprovalState.model_validate(state))
        return
    level = state["pending_approval_level"]
    nxt = f"next: {level_name(level)} approval" if level else "approval chain complete"
    echo(f"claim {claim_id}: {fields['decision']} by {who} recorded; {nxt}")


def approve(claim_id: str, as_: str, note: str = "", as_json: bool = False) -> None:
    decide(claim_id, as_json, approver=as_, decision="approve", note=note)


def reject(claim_id: str, as_: str, clause: str, note: str = "", as_json: bool = False) -> None:
    decide(claim_id, as_json, approver=as_, decision="reject", clause=clause, note=note)


def return_(claim_id: str, as_: str, note: str = "", as_json: bool = False) -> None:
    decide(claim_id, as_json, approver=as_, decision="return", note=note)
