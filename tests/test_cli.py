"""The `claims` CLI driven with typer's CliRunner against the real dev server and a worker.

CLI commands run their own event loop, so each call runs in a thread while the test's loop
keeps the worker going.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.claimtools import payments, wait_stage
from tests.factories import CST, medical_report

runner = CliRunner()


async def claims(*args: str):
    result = await asyncio.to_thread(runner.invoke, app, list(args))
    return result


def _report_file(tmp_path: Path, **kw) -> tuple[str, Path]:
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
        **kw,
    )
    path = tmp_path / "claim.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    return report.claim_id, path


async def test_submit_approve_and_show_a_claim(cli_env, tmp_path):
    claim_id, path = _report_file(tmp_path)
    r = await claims("claim", "submit", str(path))
    assert r.exit_code == 0, r.output
    assert f"claim {claim_id} reported" in r.output
    r = await claims("claim", "submit", str(path))
    assert f"claim {claim_id} already exists" in r.output

    await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    await asyncio.sleep(0.3)  # the projection is written right after the stage changes
    r = await claims("tasks", "--for", "adj1", "--json")
    assert r.exit_code == 0, r.output
    assert [t["kind"] for t in json.loads(r.output) if t["case_id"] == claim_id] == ["approve"]
    r = await claims("tasks", "--for", "inv1", "--json")
    assert [t for t in json.loads(r.output) if t["case_id"] == claim_id] == []

    r = await claims("claim", "list", "--stage", "PENDING_APPROVAL", "--json")
    assert claim_id in [c["claim_id"] for c in json.loads(r.output)]

    r = await claims("claim", "approve", claim_id, "--as", "adj1", "--note", "同意")
    assert r.exit_code == 0, r.output
    assert "approve by adj1 recorded" in r.output
    await wait_stage(cli_env.client, claim_id, "CLOSED")
    await asyncio.sleep(0.3)

    r = await claims("claim", "show", claim_id, "--json")
    shown = json.loads(r.output)
    assert shown["stage"] == "CLOSED"
    assert shown["payable_amount"] == "6000.00"
    r = await claims("show", claim_id)
    assert "CLOSED" in r.output and "6,000.00" in r.output and "adj1" in r.output
    assert [p.amount for p in payments(cli_env.engine, claim_id)] == [Decimal("6000.00")]

    r = await claims("letter", "list", claim_id, "--json")
    letters = json.loads(r.output)
    assert [x["kind"] for x in letters] == ["acknowledgement", "decision", "payment"]
    r = await claims("letter", "show", letters[1]["letter_id"])
    assert "6,000.00" in r.output and "理赔决定通知书" in r.output


async def test_submit_from_options_and_add_materials(cli_env):
    r = await claims(
        "claim",
        "submit",
        "--claim-id",
        "OPT-1-" + cli_env.task_queue[-6:],
        "--policy",
        "P-MED-0001",
        "--line",
        "medical",
        "--incident",
        "outpatient",
        "--name",
        "张三",
        "--id-no",
        "110101198001011234",
        "--phone",
        "13800000000",
        "--occurred-at",
        (datetime.now(CST) - timedelta(days=2)).isoformat(),
        "--amount",
        "900",
        "--material",
        "claim_form=scan-1",
    )
    assert r.exit_code == 0, r.output
    claim_id = "OPT-1-" + cli_env.task_queue[-6:]
    st = await wait_stage(cli_env.client, claim_id, "AWAITING_MATERIALS")
    assert "invoices" in st.missing_materials
    r = await claims(
        "claim",
        "materials",
        claim_id,
        "identity=id-1",
        "bank_account=6222000011112222",
        "diagnosis_certificate=d-1",
        "invoices=i-1",
        "expense_list=e-1",
    )
    assert r.exit_code == 0, r.output
    st = await wait_stage(cli_env.client, claim_id, "CLOSED")
    # (900 - 500) x 80% = 320.00, fast track
    assert st.payable_amount == Decimal("320.00") and st.straight_through


@pytest.mark.parametrize(
    "args, message",
    [
        (["claim", "show", "NO-SUCH-CLAIM"], "error: unknown claim NO-SUCH-CLAIM"),
        (
            ["claim", "approve", "NO-SUCH-CLAIM", "--as", "adj1"],
            "error: unknown claim NO-SUCH-CLAIM",
        ),
        (["claim", "submit", "/no/such/file.json"], "error: no such file: /no/such/file.json"),
        (["claim", "submit", "--policy", "P-MED-0001"], "error: give a JSON file or the options"),
        (["claim", "materials", "X", "invoices"], "error: material must look like kind=ref"),
        (["tasks", "--for", "nobody"], "error: unknown person 'nobody'"),
        (["letter", "show", "nope"], "error: unknown letter nope"),
    ],
)
async def test_user_errors_are_one_line_and_exit_1(cli_env, args, message):
    r = await claims(*args)
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [r.output.strip()]
    assert r.output.strip().startswith(message)
    assert "Traceback" not in r.output


async def test_bad_json_and_bad_report_are_refused_before_starting(cli_env, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"policy_no": ', encoding="utf-8")
    r = await claims("claim", "submit", str(bad))
    assert r.exit_code == 1 and r.output.startswith("error: bad JSON")
    wrong = tmp_path / "wrong.json"
    data = json.loads(medical_report().model_dump_json())
    data["incident_type"] = "collision"
    wrong.write_text(json.dumps(data), encoding="utf-8")
    r = await claims("claim", "submit", str(wrong))
    assert r.exit_code == 1
    assert "incident_type 'collision' is not one of outpatient, inpatient" in r.output


async def test_an_invalid_decision_is_refused_with_its_reason(cli_env, tmp_path):
    claim_id, path = _report_file(tmp_path)
    await claims("claim", "submit", str(path))
    await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    r = await claims("claim", "reject", claim_id, "--as", "adj1", "--clause", "MED-2.1")
    assert r.exit_code == 1
    assert r.output.strip() == "error: refused: a denial needs L2 or above; adj1 is L1"
    r = await claims(
        "claim", "reject", claim_id, "--as", "sup1", "--clause", "MED-2.1", "--note", "美容费用"
    )
    assert r.exit_code == 0, r.output
    st = await wait_stage(cli_env.client, claim_id, "DENIAL_NOTIFIED")
    assert st.denial_clause == "MED-2.1"


async def test_demo_load_is_idempotent(cli_env):
    for _ in range(2):
        r = await claims("demo", "load")
        assert r.exit_code == 0
        assert "4 policies" in r.output and "14 staff" in r.output


async def test_investigation_panel_and_report_through_the_cli(cli_env, tmp_path):
    # R01: within 90 days of the policy start -> a hospital check; then the claim is approved
    claim_id, path = _report_file(
        tmp_path,
        occurred_at=datetime(2025, 3, 1, 9, 0, tzinfo=CST),
        reported_at=datetime(2025, 3, 2, 9, 0, tzinfo=CST),
    )
    await claims("claim", "submit", str(path))
    await wait_stage(cli_env.client, claim_id, "INVESTIGATING")
    await asyncio.sleep(0.3)
    r = await claims("tasks", "--for", "inv1", "--json")
    assert [t["kind"] for t in json.loads(r.output) if t["case_id"] == claim_id] == ["investigate"]
    r = await claims(
        "claim",
        "findings",
        claim_id,
        "--as",
        "inv1",
        "--task",
        "hospital_check",
        "--facts",
        "病历属实",
        "--recommend",
        "maybe",
    )
    assert r.exit_code == 1 and "--recommend must be pay, deny or reduce" in r.output
    r = await claims(
        "claim",
        "findings",
        claim_id,
        "--as",
        "inv1",
        "--task",
        "hospital_check",
        "--facts",
        "病历属实，首诊在投保后",
    )
    assert r.exit_code == 0, r.output
    assert "investigation complete" in r.output
    await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    await asyncio.sleep(0.3)
    r = await claims("claim", "show", claim_id)
    assert "hospital_check" in r.output and "病历属实" in r.output and "determination" in r.output
    r = await claims("claim", "vote", claim_id, "--as", "sup1", "amend", "--reason", "x")
    assert r.exit_code == 1 and "amend is a panel vote" in r.output
    await claims(
        "claim", "reject", claim_id, "--as", "sup1", "--clause", "MED-2.2", "--note", "既往症"
    )
    await wait_stage(cli_env.client, claim_id, "DENIAL_NOTIFIED")
    r = await claims("claim", "appeal", claim_id, "--reason", "首诊在投保后")
    assert r.exit_code == 0, r.output
    await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    r = await claims("claim", "panel", claim_id, "--as", "mgr1", "--members", "sup1,sup2,sup3")
    assert r.exit_code == 1 and "took the decision under appeal" in r.output
    r = await claims("claim", "panel", claim_id, "--as", "mgr1", "--members", "mgr1,sup2,sup3")
    assert r.exit_code == 0, r.output
    for member, vote in (("mgr1", "approve"), ("sup2", "approve"), ("sup3", "reject")):
        extra = ["--clause", "MED-2.2"] if vote == "reject" else []
        r = await claims(
            "claim", "vote", claim_id, "--as", member, vote, "--reason", f"{member} 意见", *extra
        )
        assert r.exit_code == 0, r.output
    await wait_stage(cli_env.client, claim_id, "CLOSED")
    await asyncio.sleep(0.3)
    r = await claims("claim", "show", claim_id)
    assert (
        "sup3: reject under MED-2.2 - sup3 意见 (dissent)" in r.output
        and "outcome: approve" in r.output
    )

    r = await claims("report", "claims", "--json")
    m = json.loads(r.output)
    assert m["appeals"] == 1 and m["overturn_rate"] == 1.0
    assert m["by_stage"]["CLOSED"] >= 1
    r = await claims("report", "claims")
    assert "statutory on-time rate" in r.output


async def test_withdraw_through_the_cli(cli_env, tmp_path):
    claim_id, path = _report_file(tmp_path)
    await claims("claim", "submit", str(path))
    await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    r = await claims("claim", "withdraw", claim_id, "--reason", "已获其他保险赔付")
    assert r.exit_code == 0, r.output
    st = await wait_stage(cli_env.client, claim_id, "WITHDRAWN")
    assert st.withdrawn_reason == "已获其他保险赔付"
    r = await claims("claim", "withdraw", claim_id)
    assert r.exit_code == 1
    assert any(x in r.output for x in ("already being withdrawn", "ended", "finished"))


async def test_events_are_an_ordered_feed_other_systems_can_follow(cli_env, tmp_path):
    claim_id, path = _report_file(tmp_path)
    await claims("claim", "submit", str(path))
    await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    await asyncio.sleep(0.3)
    r = await claims("events", "--since", "0")
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.output.splitlines()]
    seqs = [e["seq"] for e in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    mine = [e for e in lines if e["case_id"] == claim_id]
    stages = [e["data"]["stage"] for e in mine if e["kind"] == "stage"]
    assert stages[:3] == ["REPORTED", "ACCEPTED", "UNDER_REVIEW"]
    r = await claims("events", "--since", str(seqs[-1]))
    assert r.output.strip() == ""
