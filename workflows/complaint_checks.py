"""Who may take a complaint's steps, and when: the refusals its messages answer with.

Plain functions over the complaint's state; a refusal is a non-retryable
`InvalidComplaintStep` the caller sees (DOMAIN §1 for the complaint roles)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.records import StaffInfo
    from models.roles import MANAGER
    from models.status import ComplaintStage
    from workflows.complaint_state import ComplaintState

BEFORE_DECISION = (
    ComplaintStage.REGISTERED,
    ComplaintStage.TRIAGED,
    ComplaintStage.INVESTIGATING,
    ComplaintStage.RESOLUTION_PROPOSED,
)
# Once the decision has gone out the complainant may ask for a review (within the window),
# whatever the callback brings; the review itself begins after the callback.
AFTER_DECISION = (
    ComplaintStage.DECIDED,
    ComplaintStage.EXECUTING,
    ComplaintStage.AWAITING_CLAIM_REVIEW,
    ComplaintStage.CALLBACK,
    ComplaintStage.REVIEW_OFFERED,
)


def refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidComplaintStep", non_retryable=True)


def check_stage(state: ComplaintState, stage: str, what: str, stages: tuple[str, ...]) -> None:
    if stage not in stages:
        raise refuse(f"complaint {state.complaint_id} is {stage}; cannot {what} now")


def check_handler(state: ComplaintState, who: str) -> None:
    """Findings, the proposal and the execution come from the assigned handler (whom
    `assign` took only from the complaint handlers)."""
    if who == state.handler:
        return
    if state.complaint_roles:
        raise refuse(
            f"{who} is not the assigned complaint handler of complaint {state.complaint_id}"
        )
    raise refuse(f"{who} is not the handler of complaint {state.complaint_id}")


def need_role(staff: StaffInfo | None, who: str, role: str) -> None:
    if staff is None or not staff.active:
        raise refuse(f"unknown person {who!r}")
    if role not in staff.roles:
        raise refuse(f"{who} is not a {role.replace('_', ' ')}")


def need_l3_manager(staff: StaffInfo | None, who: str, why: str) -> None:
    """L3 steps (an approval above the handler's limit, the review) come from a manager
    at L3: level alone is not enough, nor is any other role at that level."""
    if staff is None or not staff.active:
        raise refuse(f"unknown person {who!r}")
    if MANAGER not in staff.roles or staff.level < 3:
        raise refuse(f"{why}; {who} is not an L3 manager")
