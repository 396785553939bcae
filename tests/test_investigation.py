"""Investigation (DOMAIN §2.5 and §5): `plan_investigation` and `weigh_findings` from
workflows.investigation, pure Python.

§5: R01, R02, R03, R05, R06 investigate, R07 investigates and sends the case to the panel,
R04 (late report) is only a note in the file. Which check looks into which flag:

- R01 (new policy) and R02 (large amount): a hospital check for medical and accident claims,
  a site survey for auto and property claims;
- R03 (frequent claimant) and R07 (watch list): a background check;
- R05 (inconsistent dates): a document check;
- R06 (death, disability 1-3): a hospital check and the police record;
- a theft (auto or property) or a road collision also needs the police record, once there is
  anything to investigate at all.

Tasks come in a fixed order (site_survey, hospital_check, police_record, document_check,
background_check, witness), each kind once.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.rules import Flag
from workflows.investigation import Finding, plan_investigation, weigh_findings

EFFECT = {
    "R01": "investigate",
    "R02": "investigate",
    "R03": "investigate",
    "R04": "flag",
    "R05": "investigate",
    "R06": "investigate",
    "R07": "panel",
}

# every (line, incident type) of DOMAIN §4
CASES = [
    ("medical", "outpatient"),
    ("medical", "inpatient"),
    ("auto", "collision"),
    ("auto", "theft"),
    ("property", "fire"),
    ("property", "water"),
    ("property", "theft"),
    ("accident", "injury"),
    ("accident", "disability"),
    ("accident", "death"),
]
POLICE = {("auto", "collision"), ("auto", "theft"), ("property", "theft")}


def flags(*codes: str) -> list[Flag]:
    return [Flag(code=c, effect=EFFECT[c], reason=f"rule {c}") for c in codes]


def expected_for(code: str, line: str, incident: str) -> list[str]:
    """The expectation written out from the table in the module docstring."""
    if code == "R04":
        return []
    if code in ("R01", "R02"):
        first = ["site_survey"] if line in ("auto", "property") else ["hospital_check"]
    elif code in ("R03", "R07"):
        first = ["background_check"]
    elif code == "R05":
        first = ["document_check"]
    else:  # R06
        first = ["hospital_check", "police_record"]
    kinds = set(first)
    if (line, incident) in POLICE:
        kinds.add("police_record")
    order = [
        "site_survey",
        "hospital_check",
        "police_record",
        "document_check",
        "background_check",
        "witness",
    ]
    return [k for k in order if k in kinds]


@pytest.mark.parametrize(
    ("code", "line", "incident"),
    [
        pytest.param(code, line, incident, id=f"{code}-{line}-{incident}")
        for code in EFFECT
        for line, incident in CASES
    ],
)
def test_plan_for_each_flag_and_line(code, line, incident):
    assert plan_investigation(flags(code), line, incident) == expected_for(code, line, incident)


@pytest.mark.parametrize(
    ("codes", "line", "incident", "tasks"),
    [
        # no flag: nothing to investigate
        pytest.param([], "medical", "outpatient", [], id="no-flags"),
        # R04 alone is a note: no task, not even the police record of a theft
        pytest.param(["R04"], "auto", "theft", [], id="R04-theft-no-task"),
        pytest.param(["R04"], "medical", "outpatient", [], id="R04-medical-no-task"),
        # R06 on an accident death: hospital check and police record
        pytest.param(
            ["R06"], "accident", "death", ["hospital_check", "police_record"], id="R06-death"
        ),
        # R01 on an auto collision: site survey, then the police record for the road accident
        pytest.param(
            ["R01"], "auto", "collision", ["site_survey", "police_record"], id="R01-collision"
        ),
        # R02 on a property theft: site survey plus the police record
        pytest.param(
            ["R02"], "property", "theft", ["site_survey", "police_record"], id="R02-prop-theft"
        ),
        # R02 on a property fire: site survey only
        pytest.param(["R02"], "property", "fire", ["site_survey"], id="R02-prop-fire"),
        # R01 + R02 + R06 on an accident death: the hospital check once, the police record once
        pytest.param(
            ["R01", "R02", "R06"],
            "accident",
            "death",
            ["hospital_check", "police_record"],
            id="no-duplicates",
        ),
        # R06 on an auto collision: police record from R06 and from the collision, once
        pytest.param(
            ["R06"], "auto", "collision", ["hospital_check", "police_record"], id="R06-collision"
        ),
        # R07 (panel effect) + R03 on medical: one background check
        pytest.param(["R07", "R03"], "medical", "inpatient", ["background_check"], id="R03-R07"),
        # R04 + R03 on an auto theft: background check, and the police record for the theft
        pytest.param(
            ["R04", "R03"],
            "auto",
            "theft",
            ["police_record", "background_check"],
            id="R04-with-R03-theft",
        ),
        # everything on a medical claim, flags in reverse order: still the fixed order
        pytest.param(
            ["R07", "R06", "R05", "R04", "R03", "R02", "R01"],
            "medical",
            "outpatient",
            ["hospital_check", "police_record", "document_check", "background_check"],
            id="all-flags-medical",
        ),
        # everything on an auto collision
        pytest.param(
            ["R01", "R02", "R03", "R04", "R05", "R06", "R07"],
            "auto",
            "collision",
            [
                "site_survey",
                "hospital_check",
                "police_record",
                "document_check",
                "background_check",
            ],
            id="all-flags-collision",
        ),
    ],
)
def test_plan_combinations(codes, line, incident, tasks):
    planned = plan_investigation(flags(*codes), line, incident)
    assert planned == tasks
    assert len(planned) == len(set(planned))


@pytest.mark.parametrize(
    ("codes", "line", "incident"),
    [
        pytest.param(["R01", "R05", "R07"], "medical", "outpatient", id="medical"),
        pytest.param(["R02", "R03", "R06"], "auto", "theft", id="auto-theft"),
        pytest.param(["R01", "R05", "R06", "R07"], "property", "theft", id="property-theft"),
    ],
)
def test_plan_order_does_not_depend_on_flag_order(codes, line, incident):
    forward = plan_investigation(flags(*codes), line, incident)
    backward = plan_investigation(flags(*reversed(codes)), line, incident)
    assert forward == backward
    assert forward  # something to do in each of these cases


# ---------------------------------------------------------------------------- findings


def finding(
    task: str,
    recommendation: str = "pay",
    *,
    fraud: bool = False,
    amount: str | None = None,
    conclusive: bool = True,
) -> Finding:
    return Finding(
        task=task,
        investigator="inv-1",
        facts=f"{task} done",
        fraud_suspected=fraud,
        recommendation=recommendation,
        amount=Decimal(amount) if amount is not None else None,
        conclusive=conclusive,
    )


@pytest.mark.parametrize(
    ("findings", "disputed", "deny", "cap", "summary_parts"),
    [
        # nothing found against the claim
        pytest.param([], False, False, None, ["all checks support payment"], id="no-findings"),
        pytest.param(
            [finding("site_survey"), finding("police_record")],
            False,
            False,
            None,
            ["all checks support payment"],
            id="all-pay",
        ),
        # an inconclusive check makes the case disputed (goes to the panel)
        pytest.param(
            [finding("site_survey"), finding("witness", conclusive=False)],
            True,
            False,
            None,
            ["inconclusive: witness"],
            id="inconclusive",
        ),
        # fraud suspected, even with a "pay" recommendation, recommends a denial
        pytest.param(
            [finding("hospital_check", fraud=True), finding("document_check")],
            False,
            True,
            None,
            ["denial recommended: hospital_check"],
            id="fraud-suspected",
        ),
        # a deny recommendation
        pytest.param(
            [finding("background_check", "deny")],
            False,
            True,
            None,
            ["denial recommended: background_check"],
            id="deny",
        ),
        # one reduce
        pytest.param(
            [finding("site_survey", "reduce", amount="80000.00")],
            False,
            False,
            Decimal("80000.00"),
            ["reduce to 80000.00"],
            id="one-reduce",
        ),
        # two reduces: the cap is the lower amount
        pytest.param(
            [
                finding("site_survey", "reduce", amount="80000.00"),
                finding("hospital_check", "reduce", amount="65000.50"),
            ],
            False,
            False,
            Decimal("65000.50"),
            ["reduce to 65000.50"],
            id="two-reduces-lower-wins",
        ),
        # all at once: the summary mentions each
        pytest.param(
            [
                finding("witness", conclusive=False),
                finding("police_record", "deny"),
                finding("document_check", fraud=True),
                finding("site_survey", "reduce", amount="50000.00"),
                finding("hospital_check", "reduce", amount="70000.00"),
            ],
            True,
            True,
            Decimal("50000.00"),
            [
                "inconclusive: witness",
                "denial recommended: police_record, document_check",
                "reduce to 50000.00",
            ],
            id="everything",
        ),
    ],
)
def test_weigh_findings(findings, disputed, deny, cap, summary_parts):
    result = weigh_findings(findings)
    assert result.disputed is disputed
    assert result.recommend_deny is deny
    assert result.cap == cap
    for part in summary_parts:
        assert part in result.summary
    if disputed or deny or cap is not None:
        assert "all checks support payment" not in result.summary
