"""Risk triage (DOMAIN §5) and the straight-through test: pure functions of the report,
the rules snapshot and the materials received."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from models.catalog import BUSINESS_TZ, INCIDENT_DOCUMENTS
from models.claim import ClaimReport, Material
from models.rules import Flag, RulesSnapshot


def sum_insured_for_triage(rules: RulesSnapshot) -> Decimal | None:
    policy = rules.policy
    if policy is None:
        return None
    if policy.line == "medical" and policy.annual_limit is not None:
        return policy.annual_limit
    return policy.sum_insured


def triage(
    report: ClaimReport, rules: RulesSnapshot, materials: Iterable[Material] = ()
) -> list[Flag]:
    t = rules.triage
    flags: list[Flag] = []
    occurred = report.occurred_at
    reported = report.reported_at or occurred
    policy = rules.policy
    occurred_on = occurred.astimezone(BUSINESS_TZ).date()
    late_days = (reported.astimezone(BUSINESS_TZ).date() - occurred_on).days

    if policy is not None and (occurred_on - policy.start_date).days < t.new_policy_days:
        flags.append(
            Flag(
                code="R01",
                effect="investigate",
                reason=f"incident within {t.new_policy_days} days of the policy start",
            )
        )
    si = sum_insured_for_triage(rules)
    if report.amount_claimed >= t.amount_absolute or (
        si is not None and report.amount_claimed >= si * t.amount_share_of_sum_insured
    ):
        flags.append(
            Flag(
                code="R02",
                effect="investigate",
                reason="amount claimed is large against the sum insured or in absolute terms",
            )
        )
    if rules.prior_claims_12m + 1 >= t.claims_in_12_months:
        flags.append(
            Flag(
                code="R03",
                effect="investigate",
                reason=f"{rules.prior_claims_12m + 1} claims by the insured in 12 months",
            )
        )
    if late_days > t.late_report_days:
        flags.append(
            Flag(
                code="R04",
                effect="flag",
                reason=f"reported {late_days} days after the incident",
            )
        )
    early_docs = sorted(
        {
            m.kind
            for m in materials
            if m.kind in INCIDENT_DOCUMENTS and m.issued_on and m.issued_on < occurred_on
        }
    )
    if occurred > reported or early_docs:
        why = "incident dated after the report" if occurred > reported else ""
        if early_docs:
            why = (
                (why + "; " if why else "")
                + "documents dated before the incident: "
                + ", ".join(early_docs)
            )
        flags.append(Flag(code="R05", effect="investigate", reason=why))
    grade = report.details.get("disability_grade")
    if report.incident_type == "death" or (grade is not None and 1 <= int(grade) <= 3):
        flags.append(Flag(code="R06", effect="investigate", reason="death or disability grade 1-3"))
    if rules.watch_list_hit:
        flags.append(Flag(code="R07", effect="panel", reason="claimant or payee on the watch list"))
    return flags


def straight_through(
    report: ClaimReport,
    rules: RulesSnapshot,
    flags: list[Flag],
    missing: list[str],
    payable: Decimal,
) -> bool:
    """Fast track (STP): no flag, small amount, nothing missing, not an accidental death."""
    limit = rules.triage.stp_max_amount
    return (
        not flags
        and not missing
        and report.amount_claimed <= limit
        and payable <= limit
        and not (report.line == "accident" and report.incident_type == "death")
    )
