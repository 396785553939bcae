"""Declared is not assessed (DOMAIN §6a): the amounts of auto, property and accident claims
come from the policy, invoices and the assessor's figures; exclusions; limits net of earlier
claims. Pure functions, numbers worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from models.rules import AssessedFigures, Clause, Usage
from tests.rulefixtures import D, assert_well_formed, at, items, policy, report, rules
from workflows.assessed_adjustment import adjust_assessed, vehicle_value
from workflows.assessment import compare, declared_flags, needs_assessment, read_figures
from workflows.exclusions import cause_code, cause_unknown, declared_exclusions, known_exclusion

STP = D(5000)


def assessed(**figures: Any) -> AssessedFigures:
    return AssessedFigures(assessor="ast1", at=at(date(2024, 6, 3)), **figures)


def pay(rep: Any, terms: Any, figures: AssessedFigures | None = None, **kw: Any) -> Decimal:
    result = adjust_assessed(rep, terms, kw.pop("usage", Usage()), STP, figures, **kw)
    assert_well_formed(result, result.payable)
    return result.payable


AUTO = policy("auto", sum_insured=D(150000), vehicle_value=D(150000), deductible=D(1000))


# ------------------------------------------------------------------ the vehicle's value


@pytest.mark.parametrize(
    ("occurred", "value"),
    [
        # value at inception 150,000 (policy start 2024-01-01), less 0.6 % a month
        pytest.param(date(2024, 1, 31), "150000.00", id="first-month"),
        pytest.param(date(2024, 2, 1), "149100.00", id="one-month"),
        pytest.param(date(2024, 6, 1), "145500.00", id="five-months"),
        pytest.param(date(2034, 6, 1), "37500.00", id="ten-years"),
        pytest.param(date(2036, 6, 1), "30000.00", id="floor-at-20-percent"),
    ],
)
def test_the_vehicle_is_valued_from_the_policy_less_depreciation(occurred, value):
    rep = report("auto", occurred_at=at(occurred), details={"vehicle_value": "90000"})
    assert vehicle_value(rep, AUTO, None)[0] == D(value)


def test_an_assessed_actual_value_replaces_the_depreciated_one():
    rep = report("auto", details={"vehicle_value": "90000"})
    value, line = vehicle_value(rep, AUTO, assessed(actual_value=D(120000)))
    assert value == D(120000)
    assert "declared 90,000.00, assessed 120,000.00" in line.label_en


# ------------------------------------------------------------------ auto


def test_a_declared_vehicle_value_does_not_turn_a_repair_into_a_total_loss():
    # Declared 90,000 would make 80,000 a total loss (>= 80 %) paying 89,000; the insurer's
    # value is 145,500 (five months of 0.6 % depreciation), so it is a repair: 80,000 - 1,000.
    rep = report(
        "auto", amount_claimed=D(80000), details={"vehicle_value": "90000", "cause": "collision"}
    )
    result = adjust_assessed(rep, AUTO, Usage(), STP, assessed(repair_cost=D(80000)))
    assert result.payable == D("79000.00")
    assert any("declared 80,000.00, assessed 80,000.00" in x.label_en for x in result.lines)
    assert not any("Total loss" in x.label_en for x in result.lines)


def test_a_total_loss_pays_the_actual_value_less_salvage_and_deductible():
    rep = report("auto", amount_claimed=D(130000))
    figures = assessed(repair_cost=D(130000), salvage_value=D(10000))
    # 130,000 >= 80 % of 145,500 (116,400): 145,500 - 10,000 - 1,000
    assert pay(rep, AUTO, figures) == D("134500.00")


def test_the_assessor_may_declare_a_total_loss():
    rep = report("auto", amount_claimed=D(50000))
    figures = assessed(total_loss=True, actual_value=D(60000), salvage_value=D(5000))
    assert pay(rep, AUTO, figures) == D("54000.00")


def test_a_small_invoiced_repair_needs_no_assessment_and_pays_from_the_invoices():
    rep = report(
        "auto",
        amount_claimed=D(4800),
        items=items(("parts", 3000), ("labour", 1800)),
        details={"repair_estimate": "9000"},
    )
    assert not needs_assessment(rep, rules("auto"), None)
    assert pay(rep, AUTO) == D("3800.00")


def test_auto_theft_pays_the_depreciated_value_whatever_was_declared():
    rep = report("auto", "theft", amount_claimed=D(150000), details={"vehicle_value": "150000"})
    assert needs_assessment(rep, rules("auto", "theft"), None)
    assert pay(rep, AUTO) == D("144500.00")  # 145,500 - 1,000


# ------------------------------------------------------------------ property

PROP = policy("property", sum_insured=D(500000), value_at_risk=D(1000000), deductible=D(1000))


def test_a_declared_value_at_risk_does_not_lift_the_under_insurance_share():
    # The policy records 1,000,000 at risk for 500,000 insured: a 100,000 loss pays
    # 100,000 x 1/2 - 1,000 = 49,000, though the claimant declares 500,000 at risk.
    rep = report(
        "property", amount_claimed=D(100000), details={"value_at_risk": "500000", "cause": "fire"}
    )
    assert needs_assessment(rep, rules("property"), None)
    assert pay(rep, PROP, assessed(loss_amount=D(100000))) == D("49000.00")


def test_an_assessed_value_at_risk_is_used_and_shown_beside_the_declared_one():
    rep = report("property", amount_claimed=D(100000), details={"value_at_risk": "500000"})
    figures = assessed(loss_amount=D(100000), value_at_risk=D(800000))
    result = adjust_assessed(rep, PROP, Usage(), STP, figures)
    assert result.payable == D("61500.00")  # 100,000 x 500/800 - 1,000
    assert any("declared 500,000.00, assessed 800,000.00" in x.label_en for x in result.lines)
    comparisons = compare(rep, figures)
    assert [(c.figure, c.flagged) for c in comparisons] == [
        ("loss_amount", False),
        ("value_at_risk", True),
    ]
    [flag] = declared_flags(comparisons)
    assert flag.code == "A01" and "more than 20 % below the assessed 800,000.00" in flag.reason


def test_property_limit_and_deductible_net_what_earlier_claims_of_the_year_used():
    terms = policy("property", sum_insured=D(100000), value_at_risk=D(100000), deductible=D(1000))
    rep = report("property", amount_claimed=D(50000))
    usage = Usage(paid_this_year=D(70000), deductible_used=D(1000))
    # 30,000 left of the sum insured; the year's deductible is used up
    assert pay(rep, terms, assessed(loss_amount=D(50000)), usage=usage) == D("30000.00")
    assert pay(rep, terms, assessed(loss_amount=D(50000))) == D("49000.00")
    # cases begun before limits were netted keep the per-claim figures
    old = adjust_assessed(rep, terms, usage, STP, assessed(loss_amount=D(50000)), net_limits=False)
    assert old.payable == D("49000.00")


def test_small_invoiced_goods_need_no_assessment_but_a_building_does():
    goods = report("property", amount_claimed=D(3000), items=items(("equipment", 3000)))
    building = report(
        "property",
        amount_claimed=D(3000),
        items=items(("building", 3000), age_years=2, useful_life_years=20),
    )
    assert not needs_assessment(goods, rules("property"), None)
    assert needs_assessment(building, rules("property"), None)


# ------------------------------------------------------------------ accident

ACC = policy("accident", sum_insured=D(500000))


def test_disability_takes_the_grade_from_the_appraisal_not_the_report():
    rep = report(
        "accident", "disability", amount_claimed=D(500000), details={"disability_grade": 1}
    )
    assert needs_assessment(rep, rules("accident", "disability"), None)
    assert not needs_assessment(rep, rules("accident", "disability"), 8)
    assert pay(rep, ACC, assessed(disability_grade=8)) == D("150000.00")  # 30 %
    assert pay(rep, ACC, None, grade_from_findings=9) == D("100000.00")  # 20 %


def test_accident_benefits_net_what_earlier_claims_of_the_year_paid():
    rep = report("accident", "disability", amount_claimed=D(50000))
    usage = Usage(paid_this_year=D(480000))
    assert pay(rep, ACC, assessed(disability_grade=10), usage=usage) == D("20000.00")
    injury = report(
        "accident", "injury", amount_claimed=D(60000), items=items(("treatment", 60000))
    )
    # the medical benefit is at most 10 % of the sum insured, and what the year has left
    assert pay(injury, ACC) == D("50000.00")
    assert pay(injury, ACC, usage=Usage(paid_this_year=D(470000))) == D("30000.00")


# ------------------------------------------------------------------ the assessor's figures


@pytest.mark.parametrize(
    ("figures", "line", "incident", "message"),
    [
        ({"repair_cost": "1", "colour": "red"}, "auto", "collision", "unknown figure 'colour'"),
        ({"loss_amount": "5"}, "auto", "collision", "unknown figure 'loss_amount'"),
        ({}, "auto", "collision", "needs at least one figure"),
        ({"salvage_value": "5"}, "auto", "collision", "needs repair_cost or total_loss"),
        ({"repair_cost": "1e3"}, "auto", "collision", "plain decimal number"),
        ({"repair_cost": "-5"}, "auto", "collision", "plain decimal number"),
        ({"repair_cost": "٥"}, "auto", "collision", "plain decimal number"),
        ({"repair_cost": 5.5}, "auto", "collision", "must be a decimal string"),
        ({"total_loss": "yes"}, "auto", "collision", "true or false"),
        ({"disability_grade": "11"}, "accident", "disability", "from 1 to 10"),
        ({"depreciation_rate": "1.5"}, "auto", "theft", "a share from 0 to 1"),
        ({"repair_cost": "5"}, "medical", "outpatient", "takes no assessment"),
    ],
)
def test_bad_figures_are_refused_with_one_line(figures, line, incident, message):
    with pytest.raises(ValueError, match=message):
        read_figures(figures, line, incident)


def test_good_figures_are_read_as_money_and_grades():
    got = read_figures({"repair_cost": "80000", "total_loss": False}, "auto", "collision")
    assert got == {"repair_cost": D("80000.00"), "total_loss": False}
    assert read_figures({"disability_grade": "3"}, "accident", "disability") == {
        "disability_grade": 3
    }


# ------------------------------------------------------------------ exclusions


def _with_exclusions(line: str) -> Any:
    clauses = [
        Clause(
            id="X-1",
            kind="exclusion",
            title_zh="责任免除",
            title_en="Exclusion",
            text_zh="饮酒驾驶",
            text_en="Drink driving",
            causes=["drunk_or_drugged", "intentional"],
        )
    ]
    return policy(line, clauses=clauses)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("drunk_driving", "drunk_or_drugged"),
        ("Drunk Driving", "drunk_or_drugged"),
        ("suicide", "self_inflicted"),
        ("collision", "collision"),
        ("", None),
        (None, None),
    ],
)
def test_declared_causes_are_read_as_codes(raw, code):
    assert cause_code(raw) == code


def test_a_declared_excluded_cause_is_found_with_its_clause():
    rep = report("auto", details={"cause": "drunk_driving"})
    [hit] = declared_exclusions(rep, _with_exclusions("auto"))
    assert (hit.code, hit.clause, hit.source) == ("drunk_or_drugged", "X-1", "declared")
    # a cause the product has no clause for is not an exclusion of this product
    assert declared_exclusions(report("auto", details={"cause": "racing"}), AUTO) == []


@pytest.mark.parametrize(
    ("line", "details", "unknown"),
    [
        ("auto", {}, True),
        ("auto", {"cause": "collision"}, False),
        ("auto", {"cause": "aliens"}, True),
        ("auto", {"cause": "drunk_driving"}, False),  # known: excluded
        ("property", {"cause": "burst_pipe"}, False),
        ("accident", {}, True),
        ("medical", {}, False),  # medical is fast-tracked on its invoices
    ],
)
def test_an_unknown_cause_on_auto_accident_and_property_is_flagged(line, details, unknown):
    assert cause_unknown(report(line, details=details)) is unknown


def test_an_investigator_may_only_name_a_cause_the_product_excludes():
    terms = _with_exclusions("auto")
    assert known_exclusion("auto", terms, "drunk_or_drugged") is None
    assert "unknown excluded cause 'speeding'" in (known_exclusion("auto", terms, "speeding") or "")
    assert "no exclusion clause for 'racing'" in (known_exclusion("auto", terms, "racing") or "")


def test_figures_are_compared_only_where_something_was_declared():
    rep = report("accident", "disability", amount_claimed=D(50000), details={"disability_grade": 5})
    [c] = compare(rep, assessed(disability_grade=8))
    assert (c.figure, c.declared, c.assessed, c.flagged) == ("disability_grade", 5, 8, True)
    assert "declared disability_grade 5 is more than 20 % below the assessed 8" in (
        declared_flags([c])[0].reason
    )
