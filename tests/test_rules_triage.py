"""Risk triage R01..R07 and the fast track (DOMAIN §5): `triage` and `straight_through`.

The default report (see tests.rulefixtures) trips no rule: a medical outpatient claim of 3,000
on 2024-06-01, 152 days into a policy that started on 2024-01-01, reported the next morning,
no prior claims, not on the watch list.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from models.catalog import TRIAGE
from models.claim import Material
from models.rules import Flag
from tests.rulefixtures import (
    OCCURRED,
    D,
    at,
    day_after_start,
    policy,
    report,
    rules,
)
from workflows.triage import straight_through, triage

OCCURRED_ON = OCCURRED.date()


def codes(flags: list[Flag]) -> set[str]:
    return {f.code for f in flags}


def test_default_triage_numbers_match_domain():
    assert TRIAGE == {
        "new_policy_days": 90,
        "amount_share_of_sum_insured": D("0.5"),
        "amount_absolute": D(100000),
        "claims_in_12_months": 3,
        "late_report_days": 30,
        "stp_max_amount": D(5000),
    }


def test_an_ordinary_claim_trips_no_rule():
    assert triage(report(), rules()) == []


# R01: incident within 90 days of the policy start. The policy is in force from its start date,
# so START is day 1 and START+89 is day 90 (the same count as the waiting period).
@pytest.mark.parametrize(
    ("days_after_start", "expected"),
    [
        pytest.param(0, {"R01"}, id="start-day"),
        pytest.param(30, {"R01"}, id="day-31"),
        pytest.param(89, {"R01"}, id="day-90"),
        pytest.param(90, set(), id="day-91"),
        pytest.param(120, set(), id="day-121"),
    ],
)
def test_r01_incident_soon_after_policy_start(days_after_start, expected):
    claim = report("auto", occurred_at=at(day_after_start(days_after_start)))
    assert codes(triage(claim, rules("auto"))) == expected


# R02: amount claimed >= 50 % of the sum insured, or >= 100,000. For medical products the
# annual limit stands for the sum insured.
@pytest.mark.parametrize(
    ("line", "terms", "amount", "expected"),
    [
        # auto, sum insured 150,000: 50 % = 75,000
        pytest.param("auto", {"sum_insured": D(150000)}, "75000.00", {"R02"}, id="auto-half-si"),
        pytest.param("auto", {"sum_insured": D(150000)}, "74999.99", set(), id="auto-below-half"),
        # property, sum insured 500,000: 50 % = 250,000, so only the 100,000 absolute bites
        pytest.param("property", {}, "100000.00", {"R02"}, id="property-absolute"),
        pytest.param("property", {}, "99999.99", set(), id="property-below-absolute"),
        # medical, annual limit 150,000 under a sum insured of 1,000,000: 50 % of the annual
        # limit = 75,000 (50 % of the sum insured would be 500,000)
        pytest.param(
            "medical",
            {"sum_insured": D(1000000), "annual_limit": D(150000)},
            "75000.00",
            {"R02"},
            id="medical-half-annual-limit",
        ),
        pytest.param(
            "medical",
            {"sum_insured": D(1000000), "annual_limit": D(150000)},
            "74999.99",
            set(),
            id="medical-below-half-annual-limit",
        ),
        # medical without an annual limit: the sum insured, 100,000 -> 50,000
        pytest.param(
            "medical",
            {"sum_insured": D(100000), "annual_limit": None},
            "50000.00",
            {"R02"},
            id="medical-no-annual-limit-uses-si",
        ),
        # accident, sum insured 1,000,000: 50 % = 500,000; absolute 100,000 bites first
        pytest.param(
            "accident", {"sum_insured": D(1000000)}, "100000.00", {"R02"}, id="accident-absolute"
        ),
        pytest.param(
            "accident", {"sum_insured": D(1000000)}, "99999.99", set(), id="accident-below"
        ),
    ],
)
def test_r02_large_amount_against_sum_insured_or_absolute(line, terms, amount, expected):
    snapshot = rules(line, policy_terms=policy(line, **terms))
    claim = report(line, amount_claimed=D(amount))
    assert codes(triage(claim, snapshot)) == expected


def test_r02_absolute_threshold_applies_without_a_policy():
    snapshot = rules("auto", policy_terms=None)
    assert codes(triage(report("auto", amount_claimed=D(100000)), snapshot)) == {"R02"}
    assert codes(triage(report("auto", amount_claimed=D("99999.99")), snapshot)) == set()


# R03: 3 or more claims by the insured in 12 months, this claim included.
@pytest.mark.parametrize(
    ("prior_claims_12m", "expected"),
    [(0, set()), (1, set()), (2, {"R03"}), (5, {"R03"})],
    ids=["first-claim", "second-claim", "third-claim", "sixth-claim"],
)
def test_r03_third_claim_in_twelve_months(prior_claims_12m, expected):
    snapshot = rules(prior_claims_12m=prior_claims_12m)
    assert codes(triage(report(), snapshot)) == expected


# R04: reported more than 30 days after the incident (incident 2024-06-01 10:00).
@pytest.mark.parametrize(
    ("reported_at", "expected"),
    [
        pytest.param(OCCURRED, set(), id="same-moment"),
        pytest.param(at(date(2024, 7, 1)), set(), id="30-days"),  # June has 30 days
        pytest.param(at(date(2024, 7, 1), 23, 59), set(), id="30-days-late-evening"),
        pytest.param(at(date(2024, 7, 2)), {"R04"}, id="31-days"),
        pytest.param(at(date(2024, 8, 1)), {"R04"}, id="61-days"),
    ],
)
def test_r04_late_report(reported_at, expected):
    flags = triage(report(reported_at=reported_at), rules())
    assert codes(flags) == expected


def test_r04_late_report_counts_calendar_days():
    # incident 2024-06-01 10:00; report 2024-07-02 09:00 is 31 calendar days later
    # (counted from the next day), but only 30 days and 23 hours of elapsed time.
    flags = triage(report(reported_at=at(date(2024, 7, 2), 9)), rules())
    assert codes(flags) == {"R04"}


def test_r04_only_notes_the_file():
    (flag,) = triage(report(reported_at=at(date(2024, 7, 2))), rules())
    assert (flag.code, flag.effect) == ("R04", "flag")


# R05: inconsistent dates — incident after the report, or an incident document issued before
# the incident.
@pytest.mark.parametrize(
    ("reported_at", "materials", "expected"),
    [
        pytest.param(at(OCCURRED_ON, 9), [], {"R05"}, id="reported-an-hour-before-incident"),
        pytest.param(at(OCCURRED_ON - timedelta(days=1)), [], {"R05"}, id="reported-day-before"),
        pytest.param(OCCURRED, [], set(), id="reported-at-the-incident"),
        pytest.param(
            None,
            [],
            set(),
            id="no-report-time",
        ),
        pytest.param(
            at(date(2024, 6, 2)),
            [("invoices", OCCURRED_ON - timedelta(days=1))],
            {"R05"},
            id="invoice-dated-day-before-incident",
        ),
        pytest.param(
            at(date(2024, 6, 2)),
            [("diagnosis_certificate", date(2023, 11, 30))],
            {"R05"},
            id="diagnosis-months-before",
        ),
        pytest.param(
            at(date(2024, 6, 2)),
            [("invoices", OCCURRED_ON), ("diagnosis_certificate", date(2024, 6, 3))],
            set(),
            id="documents-dated-on-and-after-incident",
        ),
        pytest.param(
            at(date(2024, 6, 2)),
            [("identity", date(2015, 3, 1)), ("bank_account", date(2020, 1, 1))],
            set(),
            id="old-identity-is-not-an-incident-document",
        ),
        pytest.param(
            at(date(2024, 6, 2)),
            [("invoices", None)],
            set(),
            id="undated-document",
        ),
    ],
)
def test_r05_inconsistent_dates(reported_at, materials, expected):
    claim = report(reported_at=reported_at)
    received = [
        Material(kind=kind, ref=f"{kind}-1", issued_on=issued) for kind, issued in materials
    ]
    assert codes(triage(claim, rules(), received)) == expected


# R06: death, or disability grade 1-3.
@pytest.mark.parametrize(
    ("incident_type", "details", "expected"),
    [
        pytest.param("death", {}, {"R06"}, id="death"),
        pytest.param("disability", {"disability_grade": 1}, {"R06"}, id="grade-1"),
        pytest.param("disability", {"disability_grade": 3}, {"R06"}, id="grade-3"),
        pytest.param("disability", {"disability_grade": "3"}, {"R06"}, id="grade-3-as-text"),
        pytest.param("disability", {"disability_grade": 4}, set(), id="grade-4"),
        pytest.param("disability", {"disability_grade": 10}, set(), id="grade-10"),
        pytest.param("injury", {}, set(), id="injury"),
    ],
)
def test_r06_death_or_severe_disability(incident_type, details, expected):
    claim = report("accident", incident_type, details=details)
    assert codes(triage(claim, rules("accident", incident_type))) == expected


@pytest.mark.parametrize(
    ("watch_list_hit", "expected"), [(True, {"R07"}), (False, set())], ids=["hit", "clear"]
)
def test_r07_watch_list(watch_list_hit, expected):
    assert codes(triage(report(), rules(watch_list_hit=watch_list_hit))) == expected


def test_r07_sends_the_case_to_the_panel():
    (flag,) = triage(report(), rules(watch_list_hit=True))
    assert (flag.code, flag.effect) == ("R07", "panel")


def test_every_rule_at_once_with_its_effect():
    claim = report(
        "accident",
        "death",
        occurred_at=at(day_after_start(10)),  # R01
        reported_at=at(day_after_start(10) + timedelta(days=40)),  # R04
        amount_claimed=D(500000),  # R02
    )
    snapshot = rules("accident", "death", prior_claims_12m=2, watch_list_hit=True)  # R03, R07
    received = [Material(kind="accident_proof", ref="AP-1", issued_on=day_after_start(5))]  # R05
    effects = {f.code: f.effect for f in triage(claim, snapshot, received)}
    assert effects == {
        "R01": "investigate",
        "R02": "investigate",
        "R03": "investigate",
        "R04": "flag",
        "R05": "investigate",
        "R06": "investigate",
        "R07": "panel",
    }


# Fast track: no flag, amount <= 5,000, materials complete, line not accident-death.
R04_FLAG = Flag(code="R04", effect="flag", reason="reported 31 days after the incident")
R01_FLAG = Flag(code="R01", effect="investigate", reason="new policy")


@pytest.mark.parametrize(
    ("line", "incident_type", "amount", "payable", "flags", "missing", "expected"),
    [
        pytest.param("medical", "outpatient", "3000", "2000", [], [], True, id="small-clean"),
        pytest.param("medical", "outpatient", "5000.00", "5000.00", [], [], True, id="at-5000"),
        pytest.param("medical", "outpatient", "5000.01", "5000.01", [], [], False, id="above-5000"),
        pytest.param(
            "medical", "outpatient", "3000", "2000", [R04_FLAG], [], False, id="note-only-flag"
        ),
        pytest.param(
            "medical", "outpatient", "3000", "2000", [R01_FLAG], [], False, id="investigate-flag"
        ),
        pytest.param(
            "medical", "outpatient", "3000", "2000", [], ["invoices"], False, id="missing"
        ),
        pytest.param("accident", "injury", "3000", "2900", [], [], True, id="accident-injury"),
        pytest.param(
            "accident", "disability", "5000", "5000", [], [], True, id="accident-disability"
        ),
        pytest.param("accident", "death", "5000", "5000", [], [], False, id="accident-death"),
        pytest.param("auto", "collision", "4000", "3000", [], [], True, id="auto-collision"),
    ],
)
def test_straight_through_processing(
    line, incident_type, amount, payable, flags, missing, expected
):
    details = {"disability_grade": 10} if incident_type == "disability" else {}
    claim = report(line, incident_type, amount_claimed=D(amount), details=details)
    snapshot = rules(line, incident_type)
    assert straight_through(claim, snapshot, flags, missing, D(payable)) is expected
