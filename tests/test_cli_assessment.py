"""The assessor's and the supervisor's commands: `claims claim assess` on a claim waiting in
ASSESSING, and `claims claim notify-missing` for a second notice; the work queue offers the
assessment to assessors only."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from pathlib import Path

from models.claim import ClaimReport
from tests.claimtools import wait_stage
from tests.factories import (
    ALL_AUTO_COLLISION,
    ZHANG,
    materials,
    medical_report,
    recent_incident,
)
from tests.test_cli import claims


def _auto_file(tmp_path: Path) -> tuple[str, Path]:
    report = ClaimReport.model_validate(
        dict(
            claim_id=f"T-{uuid.uuid4().hex[:10]}",
            policy_no="P-AUTO-0001",
            line="auto",
            incident_type="collision",
            claimant=dict(ZHANG),
            occurred_at=recent_incident(),  # reported today: its clocks start with the case
            amount_claimed=Decimal("30000.00"),
            details={"repair_estimate": "30000", "cause": "collision"},
            materials=[m.model_dump() for m in materials(*ALL_AUTO_COLLISION)],
        )
    )
    path = tmp_path / "auto.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    return str(report.claim_id), path


async def _queue(person: str, claim_id: str) -> list[str]:
    r = await claims("tasks", "--for", person, "--json")
    assert r.exit_code == 0, r.output
    return [t["kind"] for t in json.loads(r.output) if t["case_id"] == claim_id]


async def test_an_assessor_assesses_through_the_cli(cli_env, tmp_path):
    claim_id, path = _auto_file(tmp_path)
    r = await claims("claim", "submit", str(path))
    assert r.exit_code == 0, r.output
    await wait_stage(cli_env.client, claim_id, "ASSESSING")
    await asyncio.sleep(0.3)  # the projection is written right after the stage changes
    assert await _queue("ast1", claim_id) == ["assess"]
    assert await _queue("adj1", claim_id) == []
    assert await _queue("h1", claim_id) == []

    r = await claims("claim", "assess", claim_id, "--as", "sup1", "--repair-cost", "18000")
    assert r.exit_code == 1
    assert r.output.strip() == (
        "error: refused: sup1 is not an assessor: an assessment needs that role"
    )
    r = await claims(
        "claim", "assess", claim_id, "--as", "ast1", "--repair-cost", "18000", "--note", "核定"
    )
    assert r.exit_code == 0, r.output
    assert "assessment by ast1 recorded" in r.output
    assert "declared figures far from it: repair_cost" in r.output
    st = await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    assert st.payable_amount == Decimal("17000.00")
    await asyncio.sleep(0.3)
    r = await claims("claim", "show", claim_id)
    assert r.exit_code == 0, r.output
    assert "assessment by ast1" in r.output
    assert "repair_cost: declared 30,000.00, assessed 18,000.00  (flagged" in r.output
    assert "A01" in r.output


async def test_a_second_notice_through_the_cli(cli_env, tmp_path):
    report = medical_report(materials=[m.model_dump() for m in materials("claim_form")])
    path = tmp_path / "claim.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    r = await claims("claim", "submit", str(path))
    assert r.exit_code == 0, r.output
    await wait_stage(cli_env.client, report.claim_id, "AWAITING_MATERIALS")
    args = ("claim", "notify-missing", report.claim_id, "--kind", "discharge_summary")
    r = await claims(*args, "--as", "sup1", "--reason", "")
    assert r.exit_code == 1
    assert "needs the supervisor's reason" in r.output
    r = await claims(*args, "--as", "sup1", "--reason", "费用清单显示曾住院")
    assert r.exit_code == 0, r.output
    assert "second notice by sup1 sent" in r.output and "discharge_summary" in r.output
    r = await claims("letter", "list", report.claim_id, "--json")
    kinds = [x["kind"] for x in json.loads(r.output)]
    assert kinds.count("missing_materials") == 1 and kinds.count("additional_materials") == 1
