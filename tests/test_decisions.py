"""Who may decide what (核赔, DOMAIN §7): `check_decision`, `check_authority`,
`check_panel_members` and `panel_outcome` from workflows.decisions, pure Python.

DOMAIN §7: one approval per level; each approver a distinct person with at least that level;
a denial needs an L2+ approval and a clause id of the product; a return goes back to adjustment;
the panel is three distinct L2+ members, the majority of the three decides, every vote and
dissent recorded. DOMAIN §1: an approver approves a case once; recused people do not decide.
Invalid decisions are refused with a reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from models.records import StaffInfo
from workflows.approval import PANEL
from workflows.decisions import (
    Panel,
    Vote,
    check_authority,
    check_decision,
    check_panel_members,
    panel_outcome,
)

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 3, 2, 10, 0, tzinfo=CST)
CLAUSES = ["MED-EX-01", "MED-EX-02"]
MEMBERS = ["sup-a", "sup-b", "mgr-c"]


def D(s: str) -> Decimal:
    return Decimal(s)


def vote(member: str, kind: str, amount: str | None = None, clause: str | None = None) -> Vote:
    return Vote(
        member=member,
        vote=kind,
        reason=f"{member} votes {kind}",
        at=AT,
        amount=D(amount) if amount is not None else None,
        clause=clause,
    )


def panel(members: list[str] | None = None, votes: list[Vote] | None = None) -> Panel:
    return Panel(
        grounds=["amount above L3"],
        convened_by="mgr-z",
        convened_at=AT,
        members=list(MEMBERS if members is None else members),
        votes=list(votes or []),
    )


def decide(**overrides) -> str | None:
    """check_decision with a valid L1 approval as the base case."""
    kwargs = {
        "claim_id": "CLM-1",
        "stage": "PENDING_APPROVAL",
        "pending_level": 1,
        "decision": "approve",
        "approver": "adj-2",
        "approved_by": [],
        "recused": {"adj-1": "adjusted this claim"},
        "clause": None,
        "clause_ids": CLAUSES,
        "amount": None,
        "panel": None,
    }
    kwargs.update(overrides)
    return check_decision(**kwargs)


def staff(sid: str, level: int, active: bool = True) -> StaffInfo:
    return StaffInfo(staff_id=sid, name=sid.upper(), level=level, roles=["approver"], active=active)


# ------------------------------------------------------------------------ check_decision


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # not in PENDING_APPROVAL: decisions only there
        pytest.param(
            {"stage": "ADJUSTING"},
            "claim CLM-1 is ADJUSTING; decisions are taken only in PENDING_APPROVAL",
            id="wrong-stage",
        ),
        pytest.param(
            {"stage": "APPROVED", "pending_level": None},
            "claim CLM-1 is APPROVED; decisions are taken only in PENDING_APPROVAL",
            id="wrong-stage-after-approval",
        ),
        # in PENDING_APPROVAL but no level pending (chain complete): refused
        pytest.param({"pending_level": None}, "PENDING_APPROVAL", id="no-pending-level"),
        # an unknown decision at a level
        pytest.param(
            {"decision": "pay"},
            "unknown decision 'pay': use approve, reject or return",
            id="unknown-decision",
        ),
        # amend is a panel vote, not a level decision
        pytest.param(
            {"decision": "amend", "pending_level": 2, "amount": D("100.00")},
            "unknown decision 'amend': use approve, reject or return (amend is a panel vote)",
            id="amend-outside-panel",
        ),
        # the L1 approver tries to approve L2 as well
        pytest.param(
            {"pending_level": 2, "approver": "adj-2", "approved_by": ["adj-2"]},
            "adj-2 has already approved this claim; each level needs another person",
            id="same-approver-twice",
        ),
        # the adjuster who computed the amount does not approve it
        pytest.param(
            {"approver": "adj-1"},
            "adj-1 adjusted this claim and cannot decide it",
            id="recused-adjuster",
        ),
        # an investigator does not approve the case they investigated
        pytest.param(
            {"approver": "inv-1", "recused": {"inv-1": "investigated this claim"}},
            "inv-1 investigated this claim and cannot decide it",
            id="recused-investigator",
        ),
        # a denial without a clause
        pytest.param(
            {"decision": "reject", "pending_level": 2, "approver": "sup-a"},
            "a denial needs a clause id of the product: MED-EX-01, MED-EX-02",
            id="reject-without-clause",
        ),
        pytest.param(
            {"decision": "reject", "pending_level": 2, "approver": "sup-a", "clause": ""},
            "a denial needs a clause id of the product: MED-EX-01, MED-EX-02",
            id="reject-with-empty-clause",
        ),
        # a denial citing a clause of another product
        pytest.param(
            {"decision": "reject", "pending_level": 2, "approver": "sup-a", "clause": "AUTO-EX-9"},
            "clause 'AUTO-EX-9' is not in this product; use one of MED-EX-01, MED-EX-02",
            id="reject-with-foreign-clause",
        ),
        # panel level, but no panel at all
        pytest.param(
            {"pending_level": PANEL, "approver": "sup-a", "panel": None},
            "the panel for claim CLM-1 has not been convened yet",
            id="panel-missing",
        ),
        # panel level, only two members named so far
        pytest.param(
            {"pending_level": PANEL, "approver": "sup-a", "panel": panel(["sup-a", "sup-b"])},
            "the panel for claim CLM-1 has not been convened yet",
            id="panel-not-convened",
        ),
        # someone outside the panel votes
        pytest.param(
            {"pending_level": PANEL, "approver": "sup-x", "panel": panel()},
            "sup-x is not a member of this claim's panel",
            id="non-member-vote",
        ),
        # a member votes twice
        pytest.param(
            {
                "pending_level": PANEL,
                "approver": "sup-a",
                "panel": panel(votes=[vote("sup-a", "approve")]),
            },
            "sup-a has already voted on this panel",
            id="second-vote",
        ),
        # return is a level decision, not a panel vote
        pytest.param(
            {"pending_level": PANEL, "approver": "sup-a", "decision": "return", "panel": panel()},
            "unknown panel vote 'return': use approve, reject or amend",
            id="unknown-panel-vote",
        ),
        # an amend vote must say how much
        pytest.param(
            {"pending_level": PANEL, "approver": "sup-a", "decision": "amend", "panel": panel()},
            "an amend vote needs the amount the member would pay",
            id="amend-without-amount",
        ),
        pytest.param(
            {
                "pending_level": PANEL,
                "approver": "sup-a",
                "decision": "amend",
                "amount": D("-1.00"),
                "panel": panel(),
            },
            "an amend vote needs the amount the member would pay",
            id="amend-negative-amount",
        ),
        # a recused member cannot vote even when on the panel
        pytest.param(
            {
                "pending_level": PANEL,
                "approver": "sup-a",
                "recused": {"sup-a": "took the decision under appeal"},
                "panel": panel(),
            },
            "sup-a took the decision under appeal and cannot decide it",
            id="recused-panel-member",
        ),
        # a panel reject vote needs a clause too
        pytest.param(
            {"pending_level": PANEL, "approver": "sup-a", "decision": "reject", "panel": panel()},
            "a denial needs a clause id of the product: MED-EX-01, MED-EX-02",
            id="panel-reject-without-clause",
        ),
    ],
)
def test_check_decision_refusals(overrides, expected):
    reason = decide(**overrides)
    assert reason is not None
    assert expected in reason


@pytest.mark.parametrize(
    "overrides",
    [
        # L1 approves
        pytest.param({}, id="l1-approve"),
        # L1 returns to adjustment: no clause needed
        pytest.param({"decision": "return"}, id="l1-return"),
        # another person approves L2 after adj-2 approved L1
        pytest.param(
            {"pending_level": 2, "approver": "sup-a", "approved_by": ["adj-2"]}, id="l2-approve"
        ),
        # a denial with a clause of the product
        pytest.param(
            {"decision": "reject", "pending_level": 2, "approver": "sup-a", "clause": "MED-EX-02"},
            id="reject-with-clause",
        ),
        # the recusal list names someone else
        pytest.param({"recused": {"inv-1": "investigated this claim"}}, id="others-recused"),
        # panel votes by members who have not voted yet
        pytest.param(
            {"pending_level": PANEL, "approver": "sup-a", "panel": panel()}, id="panel-approve"
        ),
        pytest.param(
            {
                "pending_level": PANEL,
                "approver": "sup-b",
                "decision": "amend",
                "amount": D("800000.00"),
                "panel": panel(votes=[vote("sup-a", "approve")]),
            },
            id="panel-amend-with-amount",
        ),
        pytest.param(
            {
                "pending_level": PANEL,
                "approver": "mgr-c",
                "decision": "reject",
                "clause": "MED-EX-01",
                "panel": panel(votes=[vote("sup-a", "approve"), vote("sup-b", "approve")]),
            },
            id="panel-reject-with-clause",
        ),
    ],
)
def test_check_decision_accepts(overrides):
    assert decide(**overrides) is None


def test_a_panel_vote_by_an_earlier_approver_of_the_claim_is_refused():
    # claim above 1,000,000: L1 adj-2, L2 sup-a, L3 mgr-c approved; sup-a and mgr-c then sit
    # on the panel and vote
    reason = decide(
        pending_level=PANEL,
        approver="sup-a",
        approved_by=["adj-2", "sup-a", "mgr-c"],
        panel=panel(),
    )
    assert reason is not None
    assert "sup-a" in reason


# ----------------------------------------------------------------------- check_authority


@pytest.mark.parametrize(
    ("person", "level", "decision", "expected"),
    [
        # nobody by that id
        pytest.param(None, 1, "approve", "unknown person 'ghost'", id="unknown"),
        # a staff member who left
        pytest.param(staff("ghost", 3, active=False), 1, "approve", "not active", id="inactive"),
        pytest.param(
            staff("ghost", 3, active=False), PANEL, "approve", "not active", id="inactive-panel"
        ),
        # L1 cannot approve the L2 level
        pytest.param(
            staff("ghost", 1),
            2,
            "approve",
            "ghost has authority L1; this claim needs a L2",
            id="l1-at-l2",
        ),
        # L2 cannot approve the L3 level
        pytest.param(
            staff("ghost", 2),
            3,
            "approve",
            "ghost has authority L2; this claim needs a L3",
            id="l2-at-l3",
        ),
        # a denial needs L2 or above, even on an L1-sized claim
        pytest.param(
            staff("ghost", 1),
            1,
            "reject",
            "a denial needs L2 or above; ghost is L1",
            id="l1-denial",
        ),
        # panel members are L2+
        pytest.param(
            staff("ghost", 1), PANEL, "approve", "panel members are L2 or above", id="l1-on-panel"
        ),
    ],
)
def test_check_authority_refusals(person, level, decision, expected):
    reason = check_authority(person, "ghost", level, decision)
    assert reason is not None
    assert expected in reason


@pytest.mark.parametrize(
    ("person", "level", "decision"),
    [
        pytest.param(staff("p", 1), 1, "approve", id="l1-approves-l1"),
        pytest.param(staff("p", 1), 1, "return", id="l1-returns"),
        pytest.param(staff("p", 2), 1, "reject", id="l2-denies-l1-sized-claim"),
        pytest.param(staff("p", 2), 2, "approve", id="l2-approves-l2"),
        pytest.param(staff("p", 3), 2, "reject", id="l3-denies-at-l2"),
        pytest.param(staff("p", 3), 3, "approve", id="l3-approves-l3"),
        pytest.param(staff("p", 2), PANEL, "approve", id="l2-on-panel"),
        pytest.param(staff("p", 3), PANEL, "reject", id="l3-panel-reject"),
    ],
)
def test_check_authority_ok(person, level, decision):
    assert check_authority(person, "p", level, decision) is None


# ------------------------------------------------------------------- check_panel_members


STAFF = {
    "sup-a": staff("sup-a", 2),
    "sup-b": staff("sup-b", 2),
    "mgr-c": staff("mgr-c", 3),
    "adj-1": staff("adj-1", 1),
    "sup-old": staff("sup-old", 2, active=False),
    "sup-r": staff("sup-r", 2),
}
RECUSED = {"sup-r": "investigated this claim"}


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        pytest.param(["sup-a", "sup-b"], "a panel has 3 distinct members", id="two-members"),
        pytest.param(
            ["sup-a", "sup-b", "mgr-c", "sup-r"], "a panel has 3 distinct members", id="four"
        ),
        pytest.param(["sup-a", "sup-a", "mgr-c"], "a panel has 3 distinct members", id="duplicate"),
        pytest.param(["sup-a", "sup-b", "nobody"], "unknown person 'nobody'", id="unknown"),
        pytest.param(
            ["sup-a", "adj-1", "mgr-c"],
            "adj-1 has authority L1; panel members are L2 or above",
            id="l1-member",
        ),
        pytest.param(
            ["sup-a", "sup-r", "mgr-c"],
            "sup-r investigated this claim and cannot sit on its panel",
            id="recused-member",
        ),
        # an inactive member is refused (the text names the person)
        pytest.param(["sup-a", "sup-old", "mgr-c"], "sup-old", id="inactive-member"),
    ],
)
def test_check_panel_members_refusals(members, expected):
    reason = check_panel_members(members, {m: STAFF.get(m) for m in members}, RECUSED)
    assert reason is not None
    assert expected in reason


def test_check_panel_members_ok():
    assert check_panel_members(MEMBERS, {m: STAFF[m] for m in MEMBERS}, RECUSED) is None


# ------------------------------------------------------------------------- panel_outcome

PAYABLE = D("1200000.00")


@pytest.mark.parametrize(
    ("votes", "outcome", "amount", "clause", "dissenters"),
    [
        # 3-0 approve: pay the computed amount, nobody dissents
        pytest.param(
            [vote("sup-a", "approve"), vote("sup-b", "approve"), vote("mgr-c", "approve")],
            "approve",
            PAYABLE,
            None,
            [],
            id="3-0-approve",
        ),
        # 2-1 approve over an amend: pays in full, the amend is the dissent
        pytest.param(
            [
                vote("sup-a", "approve"),
                vote("sup-b", "amend", "900000.00"),
                vote("mgr-c", "approve"),
            ],
            "approve",
            PAYABLE,
            None,
            ["sup-b"],
            id="2-1-approve-over-amend",
        ),
        # 3-0 reject: the clause of the majority
        pytest.param(
            [
                vote("sup-a", "reject", clause="MED-EX-01"),
                vote("sup-b", "reject", clause="MED-EX-01"),
                vote("mgr-c", "reject", clause="MED-EX-01"),
            ],
            "reject",
            None,
            "MED-EX-01",
            [],
            id="3-0-reject",
        ),
        # 2-1 reject: denial with the majority's clause, the approve vote is listed as dissent
        pytest.param(
            [
                vote("sup-a", "approve"),
                vote("sup-b", "reject", clause="MED-EX-02"),
                vote("mgr-c", "reject", clause="MED-EX-02"),
            ],
            "reject",
            None,
            "MED-EX-02",
            ["sup-a"],
            id="2-1-reject",
        ),
        # 2-1 reject over an amend
        pytest.param(
            [
                vote("sup-a", "reject", clause="MED-EX-01"),
                vote("sup-b", "amend", "500000.00"),
                vote("mgr-c", "reject", clause="MED-EX-01"),
            ],
            "reject",
            None,
            "MED-EX-01",
            ["sup-b"],
            id="2-1-reject-over-amend",
        ),
        # 2-1 amend (1,000,000 and 900,000) over a reject: the lowest amend of the majority
        pytest.param(
            [
                vote("sup-a", "amend", "1000000.00"),
                vote("sup-b", "reject", clause="MED-EX-01"),
                vote("mgr-c", "amend", "900000.00"),
            ],
            "amend",
            D("900000.00"),
            None,
            ["sup-b"],
            id="2-1-amend",
        ),
        # one of each: the two votes to pay carry it, at the amended amount (1,000,000 is lower
        # than the computed 1,200,000); the reject is the dissent
        pytest.param(
            [
                vote("sup-a", "approve"),
                vote("sup-b", "amend", "1000000.00"),
                vote("mgr-c", "reject", clause="MED-EX-01"),
            ],
            "amend",
            D("1000000.00"),
            None,
            ["mgr-c"],
            id="approve-amend-reject-split",
        ),
        # the same split in another order
        pytest.param(
            [
                vote("mgr-c", "reject", clause="MED-EX-01"),
                vote("sup-a", "amend", "750000.00"),
                vote("sup-b", "approve"),
            ],
            "amend",
            D("750000.00"),
            None,
            ["mgr-c"],
            id="split-other-order",
        ),
        # amend + amend + approve: amend wins with the lower of the two amounts; the approve
        # vote is in the minority
        pytest.param(
            [
                vote("sup-a", "amend", "950000.00"),
                vote("sup-b", "approve"),
                vote("mgr-c", "amend", "1100000.00"),
            ],
            "amend",
            D("950000.00"),
            None,
            ["sup-b"],
            id="amend-amend-approve",
        ),
    ],
)
def test_panel_outcome(votes, outcome, amount, clause, dissenters):
    result = panel_outcome(votes, PAYABLE)
    assert result.outcome == outcome
    assert result.amount == amount
    assert result.clause == clause
    assert [v.member for v in result.dissent] == dissenters
    # every vote is recorded, in the majority or in the dissent, exactly once
    assert sorted(v.member for v in result.majority + result.dissent) == sorted(
        v.member for v in votes
    )
    assert len(result.majority) >= 2
