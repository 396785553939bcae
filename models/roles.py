"""Who may do what (DOMAIN §1): authority is role and level.

Claim approvals, re-adjustments and panel seats come from the claims line (adjusters,
supervisors, managers) only, whatever the level of anyone else; findings from investigators;
assessments from assessors; complaint steps from complaint staff; registration from intake.
One table here, read by the workflows' checks and by the work queue, so that the queue never
offers a task its holder would be refused.
"""

from __future__ import annotations

from collections.abc import Iterable

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
CLAIM_DECIDERS = frozenset({ADJUSTER, SUPERVISOR, MANAGER})
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


def decides_claims(roles: Iterable[str]) -> bool:
    return not CLAIM_DECIDERS.isdisjoint(roles)


def missing_role(person: str, roles: Iterable[str], needed: Iterable[str], what: str) -> str | None:
    """One line naming the role a person lacks for `what`, or None when they hold one."""
    needed = tuple(needed)
    if not set(needed).isdisjoint(roles):
        return None
    names = " or ".join(ROLE_NAMES.get(r, (r, r))[1] for r in needed)
    return f"{person} is not {_article(names)} {names}; {what} needs that role"


def _article(words: str) -> str:
    return "an" if words[:1] in "aeiou" else "a"
