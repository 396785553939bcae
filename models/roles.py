"""Who may do what (DOMAIN §1): authority is role and level.

Claim approvals, re-adjustments and panel seats come from the claims line (adjusters,
supervisors, managers) only, whatever the level of anyone else; findings from investigators;
assessments from assessors; complaint steps from complaint staff; registration from intake.
One table here, read by the workflows' checks and by the work queue, so that the queue never
offers a task its holder would be refused.
"""

from __future__ import annotations

from types import MappingProxyType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

ADJUSTER = "adjuster"
SUPERVISOR = "supervisor"
MANAGER = "manager"
INVESTIGATOR = "investigator"
ASSESSOR = "assessor"
COMPLAINT_COORDINATOR = "complaint_coordinator"
COMPLAINT_HANDLER = "complaint_handler"
INTAKE = "intake"
SPECIAL_CARE_ADVISOR = "special_care_advisor"

ROLES = (
    ADJUSTER,
    SUPERVISOR,
    MANAGER,
    INVESTIGATOR,
    ASSESSOR,
    COMPLAINT_COORDINATOR,
    COMPLAINT_HANDLER,
    INTAKE,
    SPECIAL_CARE_ADVISOR,
)

# The claims line: approvals (核赔), re-adjustment (理算) and the panel (合议小组).
CLAIM_DECIDER_ROLES = (ADJUSTER, SUPERVISOR, MANAGER)
CLAIM_DECIDERS = frozenset(CLAIM_DECIDER_ROLES)
COMPLAINT_STAFF = frozenset({COMPLAINT_COORDINATOR, COMPLAINT_HANDLER})

ROLE_NAMES: dict[str, tuple[str, str]] = {
    ADJUSTER: ("理赔专员", "adjuster"),
    SUPERVISOR: ("理赔主管", "claims supervisor"),
    MANAGER: ("理赔经理", "claims manager"),
    INVESTIGATOR: ("调查员", "investigator"),
    ASSESSOR: ("定损员", "assessor"),
    COMPLAINT_COORDINATOR: ("投诉协调员", "complaint coordinator"),
    COMPLAINT_HANDLER: ("投诉处理专员", "complaint handler"),
    INTAKE: ("受理员", "intake clerk"),
    SPECIAL_CARE_ADVISOR: ("特殊关怀顾问", "special-care advisor"),
}


# ================================================================== the work queue


class Pool:
    """Who may take an unassigned work item: a holder of one of `roles` at `level` or above.
    (A plain class, as Offer: the work queue's commands start without importing dataclasses.)"""

    __slots__ = ("roles", "level")

    def __init__(self, roles: frozenset[str], level: int = 0) -> None:
        self.roles = roles
        self.level = level

    def admits(self, roles: Iterable[str], level: int) -> bool:
        return level >= self.level and not self.roles.isdisjoint(roles)


def _pool(*roles: str, level: int = 0) -> Pool:
    return Pool(frozenset(roles), level)


# Pooled work, by the item's role, on a claim. An item's role L1..L3 is its level (the
# workflows open role Ln at level n): approvals, re-adjustment, the panel, a complaint's
# escalation of the claim, and the claim's clock reminders, escalations and breaches.
CLAIM_POOLS: Mapping[str, Pool] = MappingProxyType(
    {
        "L1": _pool(*CLAIM_DECIDERS, level=1),
        "L2": _pool(*CLAIM_DECIDERS, level=2),
        "L3": _pool(*CLAIM_DECIDERS, level=3),
        "investigator": _pool(INVESTIGATOR),
        "assessor": _pool(ASSESSOR),
    }
)
# On a complaint: the coordinator owns the complaint clock and its L1/L2 steps (as the
# workflow checks, by role whatever the level); L3 (the resolution's L3 approval, the review,
# escalations and breaches) is a manager's.
COMPLAINT_POOLS: Mapping[str, Pool] = MappingProxyType(
    {
        "L1": _pool(COMPLAINT_COORDINATOR),
        "L2": _pool(COMPLAINT_COORDINATOR),
        "L3": _pool(MANAGER, level=3),
        "coordinator": _pool(COMPLAINT_COORDINATOR),
    }
)
# Kinds that need more than their role says: only L3 (a manager) convenes a panel.
KIND_LEVELS: Mapping[str, int] = MappingProxyType({"convene_panel": 3})
# Any other role is offered to nobody from the pool: "claimant" (the claimant's own step) and
# the complaint "handler" steps, which are assigned. An item assigned to a person is theirs.


class Offer:
    """What a person (their roles and authority level) may take from the pool: item roles on
    claims and on complaints, and the kinds they may not take whatever the role."""

    __slots__ = ("claim_roles", "complaint_roles", "too_senior")

    def __init__(self, roles: Iterable[str], level: int) -> None:
        held = frozenset(roles)
        self.claim_roles = frozenset(r for r, p in CLAIM_POOLS.items() if p.admits(held, level))
        self.complaint_roles = frozenset(
            r for r, p in COMPLAINT_POOLS.items() if p.admits(held, level)
        )
        self.too_senior = frozenset(k for k, need in KIND_LEVELS.items() if level < need)


def offer(roles: Iterable[str], level: int) -> Offer:
    """The pooled work a person (their roles and authority level) may take."""
    return Offer(roles, level)


def may_take(
    kind: str,
    role: str,
    complaint: bool,
    assignee: str | None,
    person: str,
    roles: Iterable[str],
    level: int,
) -> bool:
    """Whether a person may take a work item: one assigned to them always; an unassigned one
    when the pool of its role, on a claim or on a complaint, admits them."""
    if assignee is not None:
        return assignee == person
    mine = offer(roles, level)
    pooled = mine.complaint_roles if complaint else mine.claim_roles
    return role in pooled and kind not in mine.too_senior


def decides_claims(roles: Iterable[str]) -> bool:
    return not CLAIM_DECIDERS.isdisjoint(roles)


def missing_role(person: str, roles: Iterable[str], needed: Iterable[str], what: str) -> str | None:
    """One line naming the role a person lacks for `what`, or None when they hold one."""
    needed = tuple(needed)
    if not set(needed).isdisjoint(roles):
        return None
    words = [ROLE_NAMES.get(r, (r, r))[1] for r in needed]
    names = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return f"{person} is not {_article(names)} {names}: {what} needs that role"


def _article(words: str) -> str:
    return "an" if words[:1] in "aeiou" else "a"
