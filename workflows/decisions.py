"""Who may decide what (核赔, DOMAIN §7): the checks on a decision and the panel's majority.

Pure functions over plain data, used by the claim workflow and unit-tested on their own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from models.records import StaffInfo
from models.roles import CLAIM_DECIDER_ROLES, missing_role
from workflows.approval import PANEL, level_name

LEVEL_DECISIONS = ("approve", "reject", "return")
PANEL_VOTES = ("approve", "reject", "amend")
PANEL_SIZE = 3
PANEL_MIN_LEVEL = 2
DENIAL_MIN_LEVEL = 2


@dataclass
class Vote:
    member: str
    vote: str
    reason: str
    at: datetime
    amount: Decimal | None = None
    clause: str | None = None


@dataclass
class Panel:
    grounds: list[str]
    convened_by: str = ""
    convened_at: datetime | None = None
    members: list[str] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)

    @property
    def convened(self) -> bool:
        return len(self.members) == PANEL_SIZE

    @property
    def complete(self) -> bool:
        return self.convened and len(self.votes) == PANEL_SIZE

    def waiting_for(self) -> list[str]:
        voted = {v.member for v in self.votes}
        return [m for m in self.members if m not in voted]


@dataclass
class PanelOutcome:
    outcome: str  # approve / reject / amend
    amount: Decimal | None
    clause: str | None
    majority: list[Vote]
    dissent: list[Vote]


def check_decision(
    *,
    claim_id: str,
    stage: str,
    pending_level: int | None,
    decision: str,
    approver: str,
    approved_by: list[str],
    recused: dict[str, str],
    clause: str | None,
    clause_ids: list[str],
    amount: Decimal | None,
    panel: Panel | None,
) -> str | None:
    """The checks that need no lookup. Returns the reason for refusing, or None."""
    if stage != "PENDING_APPROVAL" or pending_level is None:
        return f"claim {claim_id} is {stage}; decisions are taken only in PENDING_APPROVAL"
    if pending_level == PANEL:
        problem = _vote_problem(claim_id, approver, decision, amount, approved_by, panel)
    else:
        problem = _level_decision_problem(approver, decision, approved_by)
    if problem is None and approver in recused:
        problem = f"{approver} {recused[approver]} and cannot decide it"
    if problem is None and decision == "reject":
        problem = _clause_problem(clause, clause_ids)
    return problem


def _vote_problem(
    claim_id: str,
    approver: str,
    decision: str,
    amount: Decimal | None,
    approved_by: list[str],
    panel: Panel | None,
) -> str | None:
    if panel is None or not panel.convened:
        return f"the panel for claim {claim_id} has not been convened yet"
    if approver not in panel.members:
        return f"{approver} is not a member of this claim's panel"
    if any(v.member == approver for v in panel.votes):
        return f"{approver} has already voted on this panel"
    if approver in approved_by:
        return f"{approver} has already approved this claim and cannot vote on its panel"
    return _ballot_problem(decision, amount)


def _ballot_problem(decision: str, amount: Decimal | None) -> str | None:
    if decision not in PANEL_VOTES:
        return f"unknown panel vote {decision!r}: use approve, reject or amend"
    if decision == "amend" and (amount is None or amount < 0):
        return "an amend vote needs the amount the member would pay"
    return None


def _level_decision_problem(approver: str, decision: str, approved_by: list[str]) -> str | None:
    if decision not in LEVEL_DECISIONS:
        hint = " (amend is a panel vote)" if decision == "amend" else ""
        return f"unknown decision {decision!r}: use approve, reject or return{hint}"
    if approver in approved_by:
        return f"{approver} has already approved this claim; each level needs another person"
    return None


def _clause_problem(clause: str | None, clause_ids: list[str]) -> str | None:
    if not clause:
        return "a denial needs a clause id of the product: " + ", ".join(clause_ids)
    if clause not in clause_ids:
        return f"clause {clause!r} is not in this product; use one of " + ", ".join(clause_ids)
    return None


def check_authority(
    staff: StaffInfo | None, approver: str, level: int, decision: str, by_role: bool = False
) -> str | None:
    """The checks that need the staff record: known, active, a claims role (`by_role`, cases
    started since authority is role and level, DOMAIN §1), enough authority."""
    if staff is None:
        return f"unknown person {approver!r}"
    if not staff.active:
        return f"{approver} is not active"
    if by_role:
        what = "a panel seat" if level == PANEL else "a claim decision"
        refused = missing_role(approver, staff.roles, CLAIM_DECIDER_ROLES, what)
        if refused:
            return refused
    return _level_problem(staff, approver, level, decision)


def _level_problem(staff: StaffInfo, approver: str, level: int, decision: str) -> str | None:
    """Enough authority for the level, and for a denial."""
    if level == PANEL:
        if staff.level < PANEL_MIN_LEVEL:
            return f"{approver} has authority L{staff.level}; panel members are L2 or above"
        return None
    if staff.level < level:
        need = level_name(level)
        return f"{approver} has authority L{staff.level}; this claim needs a {need} decision"
    if decision == "reject" and staff.level < DENIAL_MIN_LEVEL:
        return f"a denial needs L2 or above; {approver} is L{staff.level}"
    return None


def check_panel_members(
    members: list[str],
    staff: dict[str, StaffInfo | None],
    recused: dict[str, str],
    by_role: bool = False,
) -> str | None:
    if len(members) != PANEL_SIZE or len(set(members)) != PANEL_SIZE:
        return f"a panel has {PANEL_SIZE} distinct members"
    for m in members:
        problem = _member_problem(m, staff.get(m), recused, by_role)
        if problem:
            return problem
    return None


def _member_problem(
    m: str, info: StaffInfo | None, recused: dict[str, str], by_role: bool
) -> str | None:
    if info is None:
        return f"unknown person {m!r}"
    if not info.active:
        return f"{m} is not active"
    if by_role:
        refused = missing_role(m, info.roles, CLAIM_DECIDER_ROLES, "a panel seat")
        if refused:
            return refused
    if info.level < PANEL_MIN_LEVEL:
        return f"{m} has authority L{info.level}; panel members are L2 or above"
    if m in recused:
        return f"{m} {recused[m]} and cannot sit on its panel"
    return None


def panel_outcome(votes: list[Vote], payable: Decimal) -> PanelOutcome:
    """The majority of three decides. With one vote of each kind, the two votes to pay carry
    it at the amended amount (the lower of the two). Amend votes that win pay the lowest
    amount a member of the majority would pay."""
    counts = Counter(v.vote for v in votes)
    winner, n = counts.most_common(1)[0]
    if n < 2:
        winner = "amend"
        majority = [v for v in votes if v.vote in ("approve", "amend")]
    else:
        majority = [v for v in votes if v.vote == winner]
    dissent = [v for v in votes if v not in majority]
    if winner == "reject":
        return PanelOutcome("reject", None, majority[0].clause, majority, dissent)
    if winner == "approve":
        return PanelOutcome("approve", payable, None, majority, dissent)
    amounts = [
        v.amount if v.vote == "amend" and v.amount is not None else payable for v in majority
    ]
    return PanelOutcome("amend", min(amounts), None, majority, dissent)
