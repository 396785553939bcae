"""Material checklists (DOMAIN §4): `RulesSnapshot.required_materials` over the catalog data.

The expected lists are DOMAIN §4 written out by hand in `tests.rulefixtures`; the snapshots here
are built from the catalog (`models.catalog`), which is what the engine loads.
"""

from __future__ import annotations

import pytest

from models.catalog import CHECKLISTS, COMMON_MATERIALS, INCIDENT_TYPES, MATERIAL_KINDS
from models.rules import RulesSnapshot
from tests.rulefixtures import DOMAIN_AUTHORITY_LIMITS, DOMAIN_CHECKLISTS, DOMAIN_COMMON

PAIRS = sorted(DOMAIN_CHECKLISTS)


def snapshot(line: str, incident_type: str, held: list[str] | None = None) -> RulesSnapshot:
    return RulesSnapshot(
        version="test",
        common_materials=list(COMMON_MATERIALS),
        checklist=list(CHECKLISTS[(line, incident_type)]),
        held_materials=held or [],
        authority_limits=dict(DOMAIN_AUTHORITY_LIMITS),
    )


def test_catalog_has_exactly_the_line_and_incident_pairs_of_domain():
    catalog_pairs = {(line, kind) for line, kinds in INCIDENT_TYPES.items() for kind in kinds}
    assert catalog_pairs == set(DOMAIN_CHECKLISTS)
    assert set(CHECKLISTS) == set(DOMAIN_CHECKLISTS)


def test_common_three_are_claim_form_identity_and_bank_account():
    assert tuple(COMMON_MATERIALS) == DOMAIN_COMMON


@pytest.mark.parametrize(("line", "incident_type"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_checklist_is_the_common_three_plus_the_line_and_incident_list(line, incident_type):
    required = snapshot(line, incident_type).required_materials
    expected = [*DOMAIN_COMMON, *DOMAIN_CHECKLISTS[(line, incident_type)]]
    assert sorted(required) == sorted(expected)
    assert len(required) == len(set(required)), "nothing asked for twice"
    assert required[:3] == list(DOMAIN_COMMON), "the common three come first"
    assert all(kind in MATERIAL_KINDS for kind in required)


@pytest.mark.parametrize(
    ("line", "incident_type", "held", "expected"),
    [
        pytest.param(
            "medical",
            "outpatient",
            ["identity", "bank_account"],
            ["claim_form", "diagnosis_certificate", "invoices", "expense_list"],
            id="identity-and-account-on-file",
        ),
        pytest.param(
            "medical",
            "inpatient",
            ["discharge_summary"],
            [*DOMAIN_COMMON, "diagnosis_certificate", "invoices", "expense_list"],
            id="hospital-sent-discharge-summary",
        ),
        pytest.param(
            "auto",
            "collision",
            ["driving_licence", "vehicle_licence", "photos"],
            [*DOMAIN_COMMON, "accident_report", "repair_estimate"],
            id="licences-and-survey-photos-held",
        ),
        pytest.param(
            "property",
            "theft",
            ["police_report", "ownership_proof"],
            [*DOMAIN_COMMON, "loss_list", "photos"],
            id="police-report-held",
        ),
        pytest.param(
            "accident",
            "death",
            ["identity", "death_certificate", "household_cancellation"],
            ["claim_form", "bank_account", "accident_proof", "relationship_proof"],
            id="registry-documents-held",
        ),
        pytest.param(
            "accident",
            "disability",
            ["fire_report", "keys_handover"],
            [*DOMAIN_COMMON, "accident_proof", "disability_appraisal"],
            id="held-material-not-on-the-list-changes-nothing",
        ),
        pytest.param(
            "auto",
            "theft",
            [*DOMAIN_COMMON, "vehicle_licence", "police_report", "keys_handover"],
            [],
            id="everything-held",
        ),
    ],
)
def test_materials_already_held_are_not_asked_for(line, incident_type, held, expected):
    required = snapshot(line, incident_type, held).required_materials
    assert sorted(required) == sorted(expected)
    assert not set(required) & set(held)
