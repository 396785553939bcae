"""The complaint's rules as plain code, without Temporal: the priority a complaint is
registered with, the resolution's approval chain, and the records the status shows with the
keys the contract has always carried."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from models.complaint import ComplaintReport, ComplaintRules, Resolution, ResolutionApproval
from models.records import StaffInfo
from models.roles import COMPLAINT_COORDINATOR, MANAGER
from workflows.complaint_approvals import ResolutionApprovals
from workflows.complaint_intake import priority_of
from workflows.complaint_state import Approval, ClaimReview, ComplaintState

RECEIVED = date(2026, 11, 2)
RULES = ComplaintRules(version="test", handler_limit=Decimal("5000"), group_size=20)


def _report(**fields: Any) -> ComplaintReport:
    complainant = {"name": "张三", "phone": "13800000000", **fields.pop("complainant", {})}
    return ComplaintReport.model_validate(
        {"channel": "phone", "matter": "理赔太慢", "complainant": complainant, **fields}
    )


@pytest.mark.parametrize(
    ("fields", "label", "reasons", "care"),
    [
        ({}, "normal", [], False),
        ({"channel": "regulator"}, "urgent", ["forwarded by the regulator"], False),
        ({"media": True}, "urgent", ["media attention"], False),
        ({"medical_emergency": True}, "urgent", ["medical emergency"], False),
        (
            {"complainant": {"birth_date": "1961-11-02"}},
            "high",
            ["aged 65 or over"],
            True,
        ),
        ({"complainant": {"birth_date": "1961-11-03"}}, "normal", [], False),  # 64 that day
        ({"complainant": {"special_care": "seriously_ill"}}, "high", ["seriously ill"], True),
        (
            {"media": True, "complainant": {"special_care": True}},
            "urgent",
            ["media attention", "special care"],
            True,
        ),
    ],
)
def test_a_complaint_is_registered_with_its_priority(fields, label, reasons, care):
    priority = priority_of(_report(**fields), RULES, RECEIVED)
    assert (priority.label, priority.reasons, priority.special_care) == (label, reasons, care)


def test_a_group_and_a_repeat_complaint_raise_the_priority():
    group = _report(complainants=[{"name": f"p{n}", "phone": "1"} for n in range(19)])
    assert priority_of(group, RULES, RECEIVED).reasons == ["group of 20 complainants"]
    repeat = RULES.model_copy(update={"repeat_count": 2})
    priority = priority_of(_report(), repeat, RECEIVED)
    assert (priority.label, priority.special_care) == ("high", False)
    assert priority.reasons == ["repeat complaint (2 in 12 months)"]


def _chain(amount: str | None, roles: bool = True) -> ResolutionApprovals:
    state = ComplaintState(complaint_roles=roles, rules=RULES, handler="h1")
    chain = ResolutionApprovals(state)
    kinds = ["payment"] if amount else ["apology"]
    chain.propose(
        Resolution(
            handler="h1",
            kinds=kinds,
            description="道歉",
            amount=Decimal(amount) if amount else None,
        )
    )
    return chain


def _staff(staff_id: str, level: int, *roles: str) -> StaffInfo:
    return StaffInfo(staff_id=staff_id, name=staff_id, level=level, roles=list(roles))


AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_coordinator_approves_a_resolution_within_the_handlers_limit():
    chain = _chain("5000")
    assert chain.next_step() == "coordinator" and not chain.needs_l3
    a = ResolutionApproval(approver="cc1")
    acting_as = chain.acting_as(_staff("cc1", 2, COMPLAINT_COORDINATOR), a)
    chain.take(a, acting_as, AT)
    assert chain.approved and chain.next_step() is None


def test_above_the_limit_an_l3_manager_approves_after_the_coordinator():
    chain = _chain("5000.01")
    first = ResolutionApproval(approver="cc1")
    chain.take(first, chain.acting_as(_staff("cc1", 2, COMPLAINT_COORDINATOR), first), AT)
    assert not chain.approved and chain.next_step() == "L3"
    again = ResolutionApproval(approver="cc1")
    with pytest.raises(ApplicationError, match="cc1 is not an L3 manager"):
        chain.acting_as(_staff("cc1", 3, COMPLAINT_COORDINATOR), again)
    l3 = ResolutionApproval(approver="m1")
    chain.take(l3, chain.acting_as(_staff("m1", 3, MANAGER), l3), AT)
    assert chain.approved


def test_the_handler_cannot_approve_and_a_refusal_sends_the_resolution_back():
    chain = _chain(None)
    own = ResolutionApproval(approver="h1")
    with pytest.raises(ApplicationError, match="handler who proposed"):
        chain.acting_as(_staff("h1", 2, COMPLAINT_COORDINATOR), own)
    no = ResolutionApproval(approver="cc1", approve=False, note="再查")
    chain.take(no, "coordinator", AT)
    assert chain.state.resolution is None and not chain.approved
    with pytest.raises(ApplicationError, match="came in meanwhile"):
        chain.take(ResolutionApproval(approver="cc2"), "coordinator", AT)


def test_the_status_shows_approvals_and_the_claim_review_with_their_old_keys():
    approval = Approval(approver="cc1", acting_as="coordinator", approve=True, note="", at="t")
    assert approval.view() == {
        "approver": "cc1",
        "as": "coordinator",
        "approve": True,
        "note": "",
        "at": "t",
    }
    review = ClaimReview("CLM-1", AT)
    assert list(review.view()) == ["claim_id", "requested_at", "outcome"]
    review.outcome, review.answered, review.payable_amount = "overturned", True, "800.00"
    assert review.view() == {
        "claim_id": "CLM-1",
        "requested_at": AT,
        "outcome": "overturned",
        "payable_amount": "800.00",
    }
