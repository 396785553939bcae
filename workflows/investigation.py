"""Investigation (DOMAIN §2.5 and §5): which checks a claim's risk flags call for, and what
the findings mean for the decision. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from models.rules import Flag

# Which check looks into each flag, by line. R04 (late report) is only noted in the file.
_BY_FLAG: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "R01": {
            "medical": ("hospital_check",),
            "auto": ("site_survey",),
            "property": ("site_survey",),
            "accident": ("hospital_check",),
        },
        "R02": {
            "medical": ("hospital_check",),
            "auto": ("site_survey",),
            "property": ("site_survey",),
            "accident": ("hospital_check",),
        },
        "R03": {"*": ("background_check",)},
        "R05": {"*": ("document_check",)},
        "R06": {"*": ("hospital_check", "police_record")},
        "R07": {"*": ("background_check",)},
    }
)
_THEFT_OR_ROAD = frozenset({("auto", "theft"), ("property", "theft"), ("auto", "collision")})

TASK_KINDS = (
    "site_survey",
    "hospital_check",
    "police_record",
    "document_check",
    "background_check",
    "witness",
)
RECOMMENDATIONS = ("pay", "deny", "reduce")


def plan_investigation(flags: list[Flag], line: str, incident_type: str) -> list[str]:
    """The investigation tasks for a claim's flags, each kind once, in a stable order."""
    kinds: list[str] = []
    for flag in flags:
        if flag.effect not in ("investigate", "panel"):
            continue
        table = _BY_FLAG.get(flag.code, {})
        kinds += table.get(line, table.get("*", ()))
    if kinds and (line, incident_type) in _THEFT_OR_ROAD:
        kinds.append("police_record")
    return [k for k in TASK_KINDS if k in kinds]


@dataclass
class Finding:
    task: str
    investigator: str
    facts: str
    fraud_suspected: bool
    recommendation: str
    amount: Decimal | None
    conclusive: bool
    excluded_cause: str | None = None
    disability_grade: int | None = None


@dataclass
class InvestigationResult:
    disputed: bool  # goes to the panel
    recommend_deny: bool
    cap: Decimal | None  # the lowest amount recommended by a "reduce"
    summary: str


def weigh_findings(findings: list[Finding]) -> InvestigationResult:
    inconclusive = [f.task for f in findings if not f.conclusive]
    deny = [f.task for f in findings if f.recommendation == "deny" or f.fraud_suspected]
    caps = [f.amount for f in findings if f.recommendation == "reduce" and f.amount is not None]
    parts = []
    if inconclusive:
        parts.append("inconclusive: " + ", ".join(inconclusive))
    if deny:
        parts.append("denial recommended: " + ", ".join(deny))
    if caps:
        parts.append(f"reduce to {min(caps)}")
    return InvestigationResult(
        disputed=bool(inconclusive),
        recommend_deny=bool(deny),
        cap=min(caps) if caps else None,
        summary="; ".join(parts) or "all checks support payment",
    )
