"""Adjustment (理算), DOMAIN §6: `adjust` and `manual_adjustment`.

Each expected amount is worked out by hand from the DOMAIN §6 formula in the comment beside it.
Every test also checks that the last line of the computation shows the payable amount and that
every amount is a Decimal with two places (`assert_well_formed`).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.rulefixtures import D, assert_well_formed, is_money, items, policy, report, rules
from workflows.adjustment import AdjustmentError, adjust, manual_adjustment


def line_amount(result, label_en_prefix: str) -> Decimal:
    (line,) = [x for x in result.lines if x.label_en.startswith(label_en_prefix)]
    return line.amount


# ---------------------------------------------------------------------------------------------
# Medical reimbursement: eligible = items - self_paid - cosmetic;
# payable = min(remaining annual limit, max(0, eligible - remaining deductible) x ratio).
# Default product: deductible 500, ratio 80 %, annual limit 200,000.


def test_medical_reimbursement_applies_deductible_then_ratio():
    claim = report("medical", items=items(("treatment", 3000), ("drugs", 2000)))
    result = adjust(claim, rules("medical"))
    # (5,000 - 500) x 0.8 = 3,600
    assert_well_formed(result, D("3600.00"))
    assert result.deductible_applied == D(500)


def test_medical_self_paid_and_cosmetic_items_are_not_covered():
    claim = report(
        "medical",
        amount_claimed=D(6000),
        items=items(("treatment", 3000), ("drugs", 2000), ("self_paid", 400), ("cosmetic", 600)),
    )
    result = adjust(claim, rules("medical"))
    # 6,000 - (400 + 600) = 5,000 eligible; (5,000 - 500) x 0.8 = 3,600
    assert_well_formed(result, D("3600.00"))
    assert line_amount(result, "Expenses claimed") == D("6000.00")
    assert line_amount(result, "Not covered") == D("-1000.00")
    assert line_amount(result, "Eligible expenses") == D("5000.00")
    assert line_amount(result, "Less deductible") == D("-500.00")


@pytest.mark.parametrize(
    ("claim_items", "deductible_used", "paid_this_year", "payable", "deductible_applied"),
    [
        # (5,000 - (500 - 300)) x 0.8 = 4,800 x 0.8 = 3,840
        pytest.param(
            [("treatment", 5000)], "300", "0", "3840.00", "200", id="deductible-part-used"
        ),
        # deductible used up: 5,000 x 0.8 = 4,000
        pytest.param([("treatment", 5000)], "500", "0", "4000.00", "0", id="deductible-used-up"),
        # more than the deductible recorded as used still leaves nothing to deduct
        pytest.param([("treatment", 5000)], "800", "0", "4000.00", "0", id="deductible-overused"),
        # remaining limit 200,000 - 198,000 = 2,000 < (5,000 - 500) x 0.8 = 3,600
        pytest.param(
            [("treatment", 5000)], "500", "198000", "2000.00", "0", id="remaining-limit-caps"
        ),
        # remaining limit 200,000 - 196,400 = 3,600 = (5,000 - 500) x 0.8
        pytest.param(
            [("treatment", 5000)], "0", "196400", "3600.00", "500", id="remaining-limit-exact"
        ),
        pytest.param(
            [("treatment", 5000)], "0", "200000", "0.00", "500", id="annual-limit-exhausted"
        ),
        # 300,000 - 500 = 299,500 x 0.8 = 239,600 > 200,000
        pytest.param([("surgery", 300000)], "0", "0", "200000.00", "500", id="annual-limit"),
        # eligible 400 < deductible 500: max(0, 400 - 500) x 0.8 = 0
        pytest.param([("drugs", 400)], "0", "0", "0.00", "400", id="below-deductible"),
        # only self-paid and cosmetic: eligible 0
        pytest.param(
            [("self_paid", 700), ("cosmetic", 300)], "0", "0", "0.00", "0", id="nothing-covered"
        ),
        # (500.01 - 500) x 0.8 = 0.008 -> 0.01
        pytest.param([("treatment", "500.01")], "0", "0", "0.01", "500", id="one-cent-over"),
    ],
)
def test_medical_remaining_deductible_and_annual_limit_from_usage(
    claim_items, deductible_used, paid_this_year, payable, deductible_applied
):
    claim = report("medical", items=items(*claim_items))
    snapshot = rules(
        "medical", deductible_used=D(deductible_used), paid_this_year=D(paid_this_year)
    )
    result = adjust(claim, snapshot)
    assert_well_formed(result, D(payable))
    assert result.deductible_applied == D(deductible_applied)


def test_medical_without_items_reimburses_the_amount_claimed():
    result = adjust(report("medical", amount_claimed=D(1500)), rules("medical"))
    # (1,500 - 500) x 0.8 = 800
    assert_well_formed(result, D("800.00"))


def test_medical_without_an_annual_limit_uses_the_sum_insured():
    terms = policy("medical", annual_limit=None, sum_insured=D(10000))
    claim = report("medical", items=items(("surgery", 20000)))
    result = adjust(claim, rules("medical", policy_terms=terms))
    # (20,000 - 500) x 0.8 = 15,600 > 10,000
    assert_well_formed(result, D("10000.00"))


def test_medical_ratio_rounds_half_up_at_the_end_of_the_line():
    terms = policy("medical", ratio=D("0.9"))
    claim = report("medical", items=items(("treatment", "1500.25")))
    result = adjust(claim, rules("medical", policy_terms=terms))
    # (1,500.25 - 500) x 0.9 = 900.225 -> 900.23 half-up (half-even would give 900.22)
    assert_well_formed(result, D("900.23"))


# ---------------------------------------------------------------------------------------------
# Auto own damage: payable = min(sum insured, repair) - deductible; total loss when
# repair >= 80 % of the actual value: payable = actual value - salvage - deductible.
# Default: sum insured 200,000, actual value 150,000 (80 % = 120,000), deductible 1,000.


@pytest.mark.parametrize(
    ("terms", "details", "payable"),
    [
        # 50,000 < 120,000: min(200,000, 50,000) - 1,000 = 49,000
        pytest.param({}, {"repair_estimate": "50000"}, "49000.00", id="ordinary-repair"),
        # 119,999.99 < 120,000: 119,999.99 - 1,000 = 118,999.99
        pytest.param({}, {"repair_estimate": "119999.99"}, "118999.99", id="just-below-80pct"),
        # 120,000 = 80 % of 150,000: total loss, 150,000 - 5,000 - 1,000 = 144,000
        pytest.param(
            {},
            {"repair_estimate": "120000", "salvage_value": "5000"},
            "144000.00",
            id="exactly-80pct-total-loss",
        ),
        # 130,000 > 120,000, no salvage: 150,000 - 0 - 1,000 = 149,000
        pytest.param({}, {"repair_estimate": "130000"}, "149000.00", id="above-80pct"),
        # vehicle under-insured: sum insured 100,000, value 200,000 (80 % = 160,000);
        # repair 150,000: min(100,000, 150,000) - 1,000 = 99,000
        pytest.param(
            {"sum_insured": D(100000), "vehicle_value": D(200000)},
            {"repair_estimate": "150000"},
            "99000.00",
            id="repair-capped-at-sum-insured",
        ),
        # actual value from the report: 100,000 (80 % = 80,000); repair 80,000 -> total loss,
        # 100,000 - 2,000 - 1,000 = 97,000
        pytest.param(
            {},
            {"repair_estimate": "80000", "vehicle_value": "100000", "salvage_value": "2000"},
            "97000.00",
            id="value-from-report",
        ),
        # repair 800 below the deductible 1,000: max(0, 800 - 1,000) = 0
        pytest.param({}, {"repair_estimate": "800"}, "0.00", id="below-deductible"),
    ],
)
def test_auto_own_damage_repair_or_total_loss(terms, details, payable):
    claim = report("auto", "collision", details=details)
    result = adjust(claim, rules("auto", policy_terms=policy("auto", **terms)))
    assert_well_formed(result, D(payable))


def test_auto_repair_estimate_from_items():
    claim = report(
        "auto", "collision", items=items(("parts", 30000), ("labour", 4500), ("towing", 500))
    )
    # 30,000 + 4,500 + 500 = 35,000 - 1,000 = 34,000
    assert_well_formed(adjust(claim, rules("auto")), D("34000.00"))


def test_auto_repair_estimate_from_amount_claimed():
    claim = report("auto", "collision", amount_claimed=D(8000))
    # 8,000 - 1,000 = 7,000
    assert_well_formed(adjust(claim, rules("auto")), D("7000.00"))


@pytest.mark.parametrize(
    ("terms", "payable"),
    [
        # stolen vehicle = total loss without salvage: 150,000 - 1,000 = 149,000
        pytest.param({}, "149000.00", id="theft"),
        # within the sum insured: min(100,000, 150,000) - 1,000 = 99,000
        pytest.param({"sum_insured": D(100000)}, "99000.00", id="theft-capped-at-sum-insured"),
    ],
)
def test_auto_theft_pays_the_vehicle_value(terms, payable):
    claim = report("auto", "theft", amount_claimed=D(150000))
    result = adjust(claim, rules("auto", "theft", policy_terms=policy("auto", **terms)))
    assert_well_formed(result, D(payable))


# ---------------------------------------------------------------------------------------------
# Property: loss by valuation method (building: replacement cost less straight-line
# depreciation age / life, floor 20 %; equipment market value; stock book value; jewellery and
# art appraisal), under-insurance average, then - deductible (1,000), capped at the sum insured.
# Default: sum insured 500,000 = value at risk.


@pytest.mark.parametrize(
    ("age", "life", "payable"),
    [
        # 200,000 x (1 - 10/50) = 160,000 - 1,000 = 159,000
        pytest.param("10", "50", "159000.00", id="age-10-of-50"),
        # 200,000 x (1 - 0/50) = 200,000 - 1,000 = 199,000
        pytest.param("0", "50", "199000.00", id="new-building"),
        # 200,000 x (1 - 40/50) = 40,000 = floor 20 % -> 40,000 - 1,000 = 39,000
        pytest.param("40", "50", "39000.00", id="exactly-at-floor"),
        # 200,000 x (1 - 45/50) = 20,000 < floor 40,000 -> 39,000
        pytest.param("45", "50", "39000.00", id="floor-20pct"),
        # age beyond the useful life: negative depreciated value, floor 40,000 -> 39,000
        pytest.param("60", "50", "39000.00", id="beyond-useful-life"),
        # 200,000 x (1 - 1/3) = 133,333.333... -> 133,333.33 - 1,000 = 132,333.33
        pytest.param("1", "3", "132333.33", id="repeating-fraction"),
    ],
)
def test_property_building_depreciation_with_20_percent_floor(age, life, payable):
    claim = report(
        "property",
        "fire",
        items=items(("building", 200000), age_years=D(age), useful_life_years=D(life)),
    )
    assert_well_formed(adjust(claim, rules("property")), D(payable))


def test_property_building_age_from_the_report_details():
    claim = report(
        "property",
        "fire",
        items=items(("building", 200000)),
        details={"age_years": 10, "useful_life_years": 50},
    )
    # 200,000 x (1 - 10/50) = 160,000 - 1,000 = 159,000
    assert_well_formed(adjust(claim, rules("property")), D("159000.00"))


@pytest.mark.parametrize(
    ("category", "amount", "payable"),
    [
        pytest.param("equipment", "30000", "29000.00", id="equipment-market-value"),
        pytest.param("stock", "50000", "49000.00", id="stock-book-value"),
        pytest.param("jewellery", "20000", "19000.00", id="jewellery-appraisal"),
        pytest.param("art", "12000.50", "11000.50", id="art-appraisal"),
        pytest.param("contents", "5000", "4000.00", id="contents-market-value"),
        pytest.param("equipment", "800", "0.00", id="loss-below-deductible"),
        pytest.param("stock", "1000", "0.00", id="loss-equals-deductible"),
    ],
)
def test_property_equipment_stock_and_jewellery_at_their_value(category, amount, payable):
    claim = report("property", "water", items=items((category, amount)))
    # the valued loss - 1,000 deductible
    assert_well_formed(adjust(claim, rules("property", "water")), D(payable))


def test_property_several_items_are_valued_and_added_up():
    claim = report(
        "property",
        "fire",
        items=[
            {"category": "building", "amount": D(100000), "age_years": 5, "useful_life_years": 50},
            {"category": "equipment", "amount": D(30000)},
            {"category": "stock", "amount": D(20000)},
            {"category": "jewellery", "amount": D(8000)},
        ],
    )
    result = adjust(claim, rules("property"))
    # 100,000 x (1 - 5/50) = 90,000; + 30,000 + 20,000 + 8,000 = 148,000 - 1,000 = 147,000
    assert_well_formed(result, D("147000.00"))
    assert line_amount(result, "Total assessed loss") == D("148000.00")


def test_property_without_items_values_the_amount_claimed_as_contents():
    claim = report("property", "theft", amount_claimed=D(5000))
    # 5,000 - 1,000 = 4,000
    assert_well_formed(adjust(claim, rules("property", "theft")), D("4000.00"))


@pytest.mark.parametrize(
    ("sum_insured", "value_at_risk", "loss", "payable"),
    [
        # under-insured: 100,000 x 300,000 / 600,000 = 50,000 - 1,000 = 49,000
        pytest.param("300000", "600000", "100000", "49000.00", id="half-insured"),
        # 90,000 x 400,000 / 500,000 = 72,000 - 1,000 = 71,000
        pytest.param("400000", "500000", "90000", "71000.00", id="four-fifths-insured"),
        # total loss of an under-insured risk: 600,000 x 300,000 / 600,000 = 300,000 - 1,000
        pytest.param("300000", "600000", "600000", "299000.00", id="total-loss-half-insured"),
        # fully insured: no average, 100,000 - 1,000 = 99,000
        pytest.param("500000", "500000", "100000", "99000.00", id="fully-insured"),
        # over-insured: no average either, 100,000 - 1,000 = 99,000
        pytest.param("500000", "400000", "100000", "99000.00", id="over-insured"),
        # 4,000.01 x 50,000 / 100,000 = 2,000.005 -> 2,000.01 (half-up) - 1,000 = 1,000.01
        pytest.param("50000", "100000", "4000.01", "1000.01", id="average-rounds-half-up"),
        # 10,000 x 100,000 / 300,000 = 3,333.333... -> 3,333.33 - 1,000 = 2,333.33
        pytest.param("100000", "300000", "10000", "2333.33", id="average-repeating-fraction"),
    ],
)
def test_property_under_insurance_average(sum_insured, value_at_risk, loss, payable):
    terms = policy("property", sum_insured=D(sum_insured), value_at_risk=D(value_at_risk))
    claim = report("property", "fire", items=items(("equipment", loss)))
    assert_well_formed(adjust(claim, rules("property", policy_terms=terms)), D(payable))


def test_property_value_at_risk_from_the_report():
    terms = policy("property", sum_insured=D(300000), value_at_risk=None)
    claim = report(
        "property", "fire", items=items(("stock", 100000)), details={"value_at_risk": "600000"}
    )
    # 100,000 x 300,000 / 600,000 = 50,000 - 1,000 = 49,000
    assert_well_formed(adjust(claim, rules("property", policy_terms=terms)), D("49000.00"))


def test_property_payable_is_capped_at_the_sum_insured():
    terms = policy("property", sum_insured=D(100000), value_at_risk=None)
    claim = report("property", "fire", items=items(("stock", 120000)))
    # no average (value at risk = sum insured); 120,000 - 1,000 = 119,000 > 100,000
    assert_well_formed(adjust(claim, rules("property", policy_terms=terms)), D("100000.00"))


def test_property_deductible_follows_the_product():
    terms = policy("property", deductible=D(2500))
    claim = report("property", "water", items=items(("equipment", 10000)))
    # 10,000 - 2,500 = 7,500
    assert_well_formed(adjust(claim, rules("property", "water", policy_terms=terms)), D("7500.00"))


@pytest.mark.parametrize(
    ("item", "details"),
    [
        pytest.param({"category": "building", "amount": D(200000)}, {}, id="no-age-no-life"),
        pytest.param(
            {"category": "building", "amount": D(200000), "age_years": 10}, {}, id="no-life"
        ),
        pytest.param(
            {"category": "building", "amount": D(200000)},
            {"useful_life_years": 50},
            id="life-but-no-age",
        ),
        pytest.param(
            {"category": "building", "amount": D(200000), "age_years": 10, "useful_life_years": 0},
            {},
            id="zero-useful-life",
        ),
    ],
)
def test_building_without_age_or_useful_life_cannot_be_adjusted(item, details):
    claim = report("property", "fire", items=[item], details=details)
    with pytest.raises(AdjustmentError):
        adjust(claim, rules("property"))


# ---------------------------------------------------------------------------------------------
# Personal accident: death 100 % of the sum insured; disability grade g -> (110 - 10 g) %;
# accidental medical: deductible 100, ratio 100 %, limit 10 % of the sum insured.
# Default sum insured 500,000.


def test_accident_death_pays_the_whole_sum_insured():
    claim = report("accident", "death", amount_claimed=D(500000))
    result = adjust(claim, rules("accident", "death"))
    assert_well_formed(result, D("500000.00"))


@pytest.mark.parametrize(
    ("grade", "payable"),
    [
        pytest.param(1, "500000.00", id="grade-1-100pct"),
        pytest.param(2, "450000.00", id="grade-2-90pct"),
        pytest.param(3, "400000.00", id="grade-3-80pct"),
        pytest.param(5, "300000.00", id="grade-5-60pct"),
        pytest.param("7", "200000.00", id="grade-7-as-text-40pct"),
        pytest.param(10, "50000.00", id="grade-10-10pct"),
    ],
)
def test_accident_disability_pays_by_grade(grade, payable):
    claim = report("accident", "disability", details={"disability_grade": grade})
    result = adjust(claim, rules("accident", "disability"))
    assert_well_formed(result, D(payable))


def test_accident_disability_share_rounds_half_up():
    terms = policy("accident", sum_insured=D("100000.05"))
    claim = report("accident", "disability", details={"disability_grade": 2})
    result = adjust(claim, rules("accident", "disability", policy_terms=terms))
    # 100,000.05 x 90 % = 90,000.045 -> 90,000.05 half-up (half-even would give 90,000.04)
    assert_well_formed(result, D("90000.05"))


@pytest.mark.parametrize(
    "details",
    [
        pytest.param({}, id="no-grade"),
        pytest.param({"disability_grade": 0}, id="grade-0"),
        pytest.param({"disability_grade": 11}, id="grade-11"),
    ],
)
def test_accident_disability_without_a_valid_grade_cannot_be_adjusted(details):
    claim = report("accident", "disability", details=details)
    with pytest.raises(AdjustmentError):
        adjust(claim, rules("accident", "disability"))


@pytest.mark.parametrize(
    ("sum_insured", "claim_items", "payable", "deductible_applied"),
    [
        # 3,500 - 500 self-paid = 3,000 eligible; (3,000 - 100) x 100 % = 2,900 <= 50,000
        pytest.param(
            "500000", [("treatment", 3000), ("self_paid", 500)], "2900.00", "100", id="ordinary"
        ),
        # (80,000 - 100) x 100 % = 79,900 > 10 % of 500,000 = 50,000
        pytest.param("500000", [("surgery", 80000)], "50000.00", "100", id="limit-10pct"),
        # limit 10 % of 100,000 = 10,000; (10,100 - 100) = 10,000 exactly
        pytest.param("100000", [("treatment", 10100)], "10000.00", "100", id="exactly-limit"),
        # 80 < deductible 100: 0
        pytest.param("500000", [("drugs", 80)], "0.00", "80", id="below-deductible"),
        # cosmetic not covered: (1,000 - 100) = 900
        pytest.param(
            "500000", [("treatment", 1000), ("cosmetic", 2000)], "900.00", "100", id="cosmetic"
        ),
    ],
)
def test_accidental_medical_deductible_100_ratio_100_limit_10_percent(
    sum_insured, claim_items, payable, deductible_applied
):
    terms = policy("accident", sum_insured=D(sum_insured))
    claim = report("accident", "injury", items=items(*claim_items))
    result = adjust(claim, rules("accident", "injury", policy_terms=terms))
    assert_well_formed(result, D(payable))
    assert result.deductible_applied == D(deductible_applied)


def test_adjustment_without_a_policy_is_an_error():
    with pytest.raises(AdjustmentError):
        adjust(report(), rules(policy_terms=None))


# ---------------------------------------------------------------------------------------------
# Manual adjustment after a return: the computation stays; the amount may change.


def _computed():
    claim = report("medical", items=items(("treatment", 3000), ("drugs", 2000)))
    return adjust(claim, rules("medical"))  # 3,600.00, see the first medical test


def test_manual_adjustment_without_an_amount_keeps_the_computation():
    before = _computed()
    after = manual_adjustment(before, "adjuster-2", "checked the invoices again", None)
    assert_well_formed(after, D("3600.00"))
    assert after.lines == before.lines
    assert after.deductible_applied == before.deductible_applied
    assert (after.adjuster, after.note) == ("adjuster-2", "checked the invoices again")


@pytest.mark.parametrize(
    ("amount", "payable"),
    [
        pytest.param(D(3000), "3000.00", id="reduced"),
        pytest.param(D("3600.5"), "3600.50", id="one-place"),
        # 1,234.565 -> 1,234.57 half-up (half-even would give 1,234.56)
        pytest.param(D("1234.565"), "1234.57", id="rounds-half-up"),
        pytest.param(D(0), "0.00", id="nothing-payable"),
    ],
)
def test_manual_adjustment_with_an_amount_adds_a_line_and_sets_the_payable(amount, payable):
    before = _computed()
    after = manual_adjustment(before, "adjuster-2", "partial liability", amount)
    assert_well_formed(after, D(payable))
    assert after.lines[:-1] == before.lines
    assert len(after.lines) == len(before.lines) + 1
    assert "adjuster-2" in after.lines[-1].label_en
    assert after.deductible_applied == before.deductible_applied
    assert (after.adjuster, after.note) == ("adjuster-2", "partial liability")


def test_system_adjustment_is_recorded_as_made_by_the_system():
    assert _computed().adjuster == "system"


# ---------------------------------------------------------------------------------------------
# Rounding of reported amounts: DOMAIN says amounts round half-up to 0.01.


@pytest.mark.parametrize("field", ["amount_claimed", "item_amount"])
def test_reported_amounts_round_half_up(field):
    if field == "amount_claimed":
        value = report(amount_claimed=D("100.005")).amount_claimed
    else:
        value = report(items=items(("treatment", "100.005"))).items[0].amount
    assert value == D("100.01")
    assert is_money(value)
