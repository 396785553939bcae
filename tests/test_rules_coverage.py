"""Acceptance and coverage check (受理 / 核对保单), DOMAIN §2.2: `check_coverage`."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from models.claim import ClaimReport
from models.rules import RulesSnapshot
from tests.rulefixtures import (
    END,
    INSURED_ID,
    NOW,
    OTHER_ID,
    START,
    at,
    day_after_start,
    policy,
    report,
    rules,
)
from workflows.coverage import check_coverage

AFTER_THE_YEAR = at(date(2025, 1, 10), 12)


def refused(result, code: str, clause_id: str | None = None) -> None:
    assert result.accepted is False
    assert result.reason_code == code
    assert result.clause_id == clause_id
    assert result.reason_zh and result.reason_en  # the not-accepted letter names the reason


def accepted(result) -> None:
    assert result.accepted is True
    assert result.reason_code is None
    assert result.clause_id is None


def test_a_covered_claim_is_accepted():
    accepted(check_coverage(report(), rules(), NOW))


@pytest.mark.parametrize("line", ["medical", "auto", "property", "accident"])
def test_a_covered_claim_is_accepted_on_every_line(line):
    accepted(check_coverage(report(line), rules(line), NOW))


def test_policy_not_found_is_refused():
    result = check_coverage(report(), rules(policy_terms=None), NOW)
    refused(result, "POLICY_NOT_FOUND")


@pytest.mark.parametrize(
    ("reported_line", "policy_line"),
    [("auto", "medical"), ("medical", "accident"), ("property", "auto"), ("accident", "property")],
)
def test_claim_on_a_line_the_policy_does_not_cover_is_refused(reported_line, policy_line):
    result = check_coverage(report(reported_line), rules(policy_line), NOW)
    refused(result, "LINE_NOT_COVERED")


@pytest.mark.parametrize("status", ["lapsed", "cancelled"])
def test_policy_not_in_force_is_refused(status):
    snapshot = rules(policy_terms=policy(status=status))
    refused(check_coverage(report(), snapshot, NOW), "POLICY_NOT_IN_FORCE")


@pytest.mark.parametrize(
    ("claimant_id", "details", "outcome"),
    [
        pytest.param(INSURED_ID, {}, None, id="insured-reports-for-themself"),
        pytest.param(OTHER_ID, {}, "IDENTITY_MISMATCH", id="stranger-reports"),
        pytest.param(
            OTHER_ID, {"insured_id_no": INSURED_ID}, None, id="beneficiary-names-the-insured"
        ),
        pytest.param(
            OTHER_ID,
            {"insured_id_no": "110101197003035678"},
            "IDENTITY_MISMATCH",
            id="beneficiary-names-someone-else",
        ),
        pytest.param(
            INSURED_ID,
            {"insured_id_no": OTHER_ID},
            "IDENTITY_MISMATCH",
            id="insured-reports-for-another-insured",
        ),
    ],
)
def test_identity_of_the_insured_must_match_the_policy(claimant_id, details, outcome):
    result = check_coverage(report(claimant_id=claimant_id, details=details), rules(), NOW)
    if outcome is None:
        accepted(result)
    else:
        refused(result, outcome)


# The accident line has no waiting period, so the policy period alone decides these rows.
@pytest.mark.parametrize(
    ("occurred_on", "outcome"),
    [
        pytest.param(date(2023, 12, 31), "OUTSIDE_POLICY_PERIOD", id="day-before-start"),
        pytest.param(START, None, id="start-day"),
        pytest.param(END, None, id="end-day"),
        pytest.param(date(2025, 1, 1), "OUTSIDE_POLICY_PERIOD", id="day-after-end"),
    ],
)
def test_incident_must_fall_inside_the_policy_period(occurred_on, outcome):
    claim = report("accident", occurred_at=at(occurred_on))
    result = check_coverage(claim, rules("accident"), AFTER_THE_YEAR)
    if outcome is None:
        accepted(result)
    else:
        refused(result, outcome, clause_id="ACC-1.1")  # names the product's cover clause


@pytest.mark.parametrize(
    "occurred_at",
    [
        pytest.param(at(START, 0, 0), id="first-minute-of-start-day"),
        pytest.param(at(END, 23, 59), id="last-minute-of-end-day"),
    ],
)
def test_policy_period_covers_whole_days(occurred_at):
    claim = report("auto", occurred_at=occurred_at)
    accepted(check_coverage(claim, rules("auto"), AFTER_THE_YEAR))


def test_outside_period_without_a_cover_clause_names_no_clause():
    snapshot = rules("accident", policy_terms=policy("accident", clauses=[]))
    claim = report("accident", occurred_at=at(date(2023, 12, 31)))
    refused(check_coverage(claim, snapshot, AFTER_THE_YEAR), "OUTSIDE_POLICY_PERIOD")


@pytest.mark.parametrize(
    ("occurred_at", "now", "outcome"),
    [
        pytest.param(at(date(2024, 6, 16)), NOW, "OCCURRED_IN_FUTURE", id="next-day"),
        pytest.param(
            datetime(2024, 6, 15, 12, 1, tzinfo=NOW.tzinfo), NOW, "OCCURRED_IN_FUTURE", id="+1min"
        ),
        pytest.param(NOW, NOW, None, id="same-instant"),
        pytest.param(at(date(2024, 6, 15), 11, 59), NOW, None, id="one-minute-earlier"),
    ],
)
def test_incident_after_the_time_of_the_check_is_refused(occurred_at, now, outcome):
    claim = report("auto", occurred_at=occurred_at, reported_at=now)
    result = check_coverage(claim, rules("auto"), now)
    if outcome is None:
        accepted(result)
    else:
        refused(result, outcome)


# Medical default product: a 30-day waiting period for illness. The policy is in force from the
# start date, so the 30 days are START .. START+29 (clause MED-3.1 "the 30 days from the start of
# the policy"); START+30 is the first day an illness is covered.
@pytest.mark.parametrize(
    ("occurred_on", "details", "outcome"),
    [
        pytest.param(START, {}, "WAITING_PERIOD", id="illness-on-start-day"),
        pytest.param(day_after_start(14), {}, "WAITING_PERIOD", id="illness-day-15"),
        pytest.param(
            day_after_start(14), {"cause": "illness"}, "WAITING_PERIOD", id="explicit-illness"
        ),
        pytest.param(day_after_start(29), {}, "WAITING_PERIOD", id="illness-day-30"),
        pytest.param(day_after_start(30), {}, None, id="illness-day-31"),
        pytest.param(day_after_start(45), {}, None, id="illness-after-waiting-period"),
        pytest.param(START, {"cause": "accident"}, None, id="accident-on-start-day"),
        pytest.param(day_after_start(14), {"cause": "accident"}, None, id="accident-day-15"),
    ],
)
def test_waiting_period_refuses_illness_but_not_accident(occurred_on, details, outcome):
    claim = report("medical", occurred_at=at(occurred_on), details=details)
    result = check_coverage(claim, rules("medical"), NOW)
    if outcome is None:
        accepted(result)
    else:
        refused(result, outcome, clause_id="MED-3.1")


def test_no_waiting_period_on_a_product_without_one():
    snapshot = rules("medical", policy_terms=policy("medical", waiting_period_days=0))
    claim = report("medical", occurred_at=at(day_after_start(3)))
    accepted(check_coverage(claim, snapshot, NOW))


@pytest.mark.parametrize("line", ["auto", "property", "accident"])
def test_waiting_period_applies_to_illness_on_medical_products_only(line):
    snapshot = rules(line, policy_terms=policy(line, waiting_period_days=30))
    claim = report(line, occurred_at=at(day_after_start(3)))
    accepted(check_coverage(claim, snapshot, NOW))


def test_refusal_reason_names_the_policy_and_the_dates():
    claim: ClaimReport = report("accident", occurred_at=at(date(2025, 1, 1)))
    snapshot: RulesSnapshot = rules("accident")
    result = check_coverage(claim, snapshot, AFTER_THE_YEAR)
    assert "2025-01-01" in result.reason_en
    assert "2024-01-01" in result.reason_en and "2024-12-31" in result.reason_en
    assert "2025-01-01" in result.reason_zh
