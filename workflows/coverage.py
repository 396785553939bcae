"""Acceptance and coverage check (受理 / 核对保单), DOMAIN §2.2: a pure function of the report,
the policy terms in the rules snapshot and the time of the check.

Whether the policy was in force is judged on the day of the incident (Beijing time) from the
policy's status history, never by today's status: a policy cancelled after the incident still
covers it, and a change effective on day D applies to an incident on D. Cases started before
this rule (workflow patch "coverage-on-incident-date") keep the check by today's status."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import MappingProxyType

from models.catalog import BUSINESS_TZ
from models.claim import ClaimReport
from models.rules import CoverageResult, PolicyTerms, RulesSnapshot, status_on


def _refuse(code: str, zh: str, en: str, clause_id: str | None = None) -> CoverageResult:
    return CoverageResult(
        accepted=False, reason_code=code, reason_zh=zh, reason_en=en, clause_id=clause_id
    )


def insured_id_of(report: ClaimReport) -> str:
    """The insured named by the report: the claimant, unless a beneficiary reports for them."""
    return str(report.details.get("insured_id_no") or report.claimant.id_no)


def is_illness(report: ClaimReport) -> bool:
    return report.line == "medical" and report.details.get("cause", "illness") != "accident"


# How a letter names the change that ended cover: (zh, en).
_ENDED_BY = MappingProxyType(
    {
        "lapsed": ("失效", "lapsed"),
        "cancelled": ("解除合同", "cancelled"),
        "surrendered": ("退保", "surrendered"),
    }
)


def _not_in_force_on(policy: PolicyTerms, day: date) -> CoverageResult | None:
    """The refusal when `policy` was not in force on `day`, naming the change and its date."""
    in_force, change = status_on(policy, day)
    if in_force:
        return None
    if change is None:
        return _refuse(
            "POLICY_NOT_IN_FORCE",
            f"保单 {policy.policy_no} 在出险日 {day} 不在保险责任有效状态。",
            f"Policy {policy.policy_no} was not in force on {day}, the day of the incident.",
        )
    zh, en = _ENDED_BY[change.event]
    when = "on that day" if day == change.effective_on else "after that"
    return _refuse(
        "POLICY_NOT_IN_FORCE",
        f"保单 {policy.policy_no} 已于 {change.effective_on} {zh}，"
        f"出险日 {day} 不在保险责任有效期间内。",
        f"Policy {policy.policy_no} was {en} with effect from {change.effective_on}; "
        f"the incident on {day} is {when}.",
    )


def check_coverage(
    report: ClaimReport, rules: RulesSnapshot, now: datetime, *, by_incident_date: bool = False
) -> CoverageResult:
    """Accepted, or the first reason the claim cannot be accepted. `by_incident_date` judges
    the policy's status on the day of the incident from its history (every case started since
    the patch "coverage-on-incident-date"); without it, today's status decides, as it did for
    the cases started before."""
    policy = rules.policy
    if policy is None:
        return _refuse(
            "POLICY_NOT_FOUND",
            f"未查询到保单 {report.policy_no}。",
            f"No policy {report.policy_no} was found.",
        )
    refusal = _policy_refusal(report, policy, by_incident_date)
    if refusal is None:
        refusal = _date_refusal(report, policy, now, by_incident_date)
    return refusal if refusal is not None else CoverageResult(accepted=True)


def _policy_refusal(
    report: ClaimReport, policy: PolicyTerms, by_incident_date: bool
) -> CoverageResult | None:
    """The policy does not cover this line, is not in force today (cases judged by today's
    status), or insures someone else."""
    if policy.line != report.line:
        return _refuse(
            "LINE_NOT_COVERED",
            f"保单 {policy.policy_no} 不承保该类保险责任（{report.line}）。",
            f"Policy {policy.policy_no} does not cover the {report.line} line.",
        )
    if not by_incident_date and policy.status != "in_force":
        status_zh = {"lapsed": "已失效", "cancelled": "已退保"}.get(policy.status, policy.status)
        return _refuse(
            "POLICY_NOT_IN_FORCE",
            f"保单 {policy.policy_no} {status_zh}，出险时不在保险责任有效状态。",
            f"Policy {policy.policy_no} is {policy.status}, not in force.",
        )
    if insured_id_of(report) != policy.insured_id_no:
        return _refuse(
            "IDENTITY_MISMATCH",
            "报案人/被保险人身份信息与保单记载不一致。",
            "The insured's identity does not match the policy.",
        )
    return None


def _date_refusal(
    report: ClaimReport, policy: PolicyTerms, now: datetime, by_incident_date: bool
) -> CoverageResult | None:
    """The incident falls outside the policy period, after the policy ended, after the
    report, or within the waiting period of an illness."""
    occurred_on = report.occurred_at.astimezone(BUSINESS_TZ).date()
    if occurred_on < policy.start_date or occurred_on > policy.end_date:
        clause = policy.clause_of_kind("coverage")
        return _refuse(
            "OUTSIDE_POLICY_PERIOD",
            f"出险日期 {occurred_on} 不在保险期间 {policy.start_date} 至 {policy.end_date} 内。",
            f"The incident on {occurred_on} is outside the policy period "
            f"{policy.start_date} to {policy.end_date}.",
            clause.id if clause else None,
        )
    if by_incident_date and (refusal := _not_in_force_on(policy, occurred_on)) is not None:
        return refusal
    if report.occurred_at > now:
        return _refuse(
            "OCCURRED_IN_FUTURE",
            "出险时间晚于报案受理时间，无法受理。",
            "The incident time is later than the time of the report.",
        )
    if is_illness(report) and policy.waiting_period_days:
        waiting_ends = policy.start_date + timedelta(days=policy.waiting_period_days)
        if occurred_on < waiting_ends:
            clause = policy.clause_of_kind("waiting_period")
            return _refuse(
                "WAITING_PERIOD",
                f"疾病发生在等待期（{policy.waiting_period_days} 天，至 {waiting_ends}）内。",
                f"The illness began within the {policy.waiting_period_days}-day waiting period "
                f"(until {waiting_ends}).",
                clause.id if clause else None,
            )
    return None
