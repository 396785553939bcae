"""Exclusions (责任免除), DOMAIN §6a: the causes a product does not cover, found in what the
claimant declared (`details.cause`) or in an investigator's findings (`excluded_cause`).

Pure functions over the report and the policy terms in the rules snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable

from models.catalog import (
    CAUSE_ALIASES,
    CAUSE_REQUIRED_FOR_FAST_TRACK,
    COVERED_CAUSES,
    EXCLUSION_CAUSES,
)
from models.claim import ClaimReport
from models.rules import ExclusionHit, ExclusionSource, PolicyTerms


def cause_code(raw: object) -> str | None:
    """A declared cause as a code: lower case, words joined by underscores, aliases resolved."""
    if raw is None:
        return None
    text = str(raw).strip().lower().replace("-", "_").replace(" ", "_")
    if not text:
        return None
    return CAUSE_ALIASES.get(text, text)


def excluded_causes(line: str) -> tuple[str, ...]:
    return (*EXCLUSION_CAUSES["*"], *EXCLUSION_CAUSES.get(line, ()))


def exclusion_hit(
    policy: PolicyTerms | None, line: str, code: str | None, source: ExclusionSource
) -> ExclusionHit | None:
    """The exclusion a cause falls under, when the line excludes it and the product states it
    in a clause; None otherwise."""
    if policy is None or code is None or code not in excluded_causes(line):
        return None
    clause = policy.exclusion_clause(code)
    if clause is None:
        return None
    return ExclusionHit(code=code, clause=clause.id, source=source)


def declared_exclusions(report: ClaimReport, policy: PolicyTerms | None) -> list[ExclusionHit]:
    hit = exclusion_hit(policy, report.line, cause_code(report.details.get("cause")), "declared")
    return [hit] if hit else []


def findings_exclusions(
    line: str, policy: PolicyTerms | None, codes: Iterable[str | None]
) -> list[ExclusionHit]:
    hits = [exclusion_hit(policy, line, cause_code(c), "findings") for c in codes]
    return [h for h in hits if h is not None]


def merge(*groups: list[ExclusionHit]) -> list[ExclusionHit]:
    """Each (code, source) once, in the order found."""
    seen: dict[tuple[str, str], ExclusionHit] = {}
    for group in groups:
        for hit in group:
            seen.setdefault((hit.code, hit.source), hit)
    return list(seen.values())


def cause_unknown(report: ClaimReport) -> bool:
    """An auto, accident or property claim whose cause is missing or not one the engine knows
    (neither covered nor excluded): it is never fast-tracked."""
    if report.line not in CAUSE_REQUIRED_FOR_FAST_TRACK:
        return False
    code = cause_code(report.details.get("cause"))
    if code is None:
        return True
    return code not in COVERED_CAUSES.get(report.line, ()) and code not in excluded_causes(
        report.line
    )


def known_exclusion(line: str, policy: PolicyTerms | None, raw: str) -> str | None:
    """Why an investigator's `excluded_cause` cannot be taken, or None when it can."""
    code = cause_code(raw)
    if code is None or code not in excluded_causes(line):
        return f"unknown excluded cause {raw!r}; for this line: " + ", ".join(excluded_causes(line))
    if policy is None or policy.exclusion_clause(code) is None:
        return f"the product states no exclusion clause for {code!r}"
    return None
