"""Complaints through the `claims` CLI on the dev server: file, route, decide, execute,
call back and close; errors are one line."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

from tests.test_cli import claims


async def _show(cid: str) -> dict:
    r = await claims("complaint", "show", cid, "--json")
    return json.loads(r.output) if r.exit_code == 0 else {}


async def _wait(cid: str, stage: str) -> dict:
    st: dict = {}
    for _ in range(200):
        st = await _show(cid)
        if st.get("stage") == stage:
            return st
        await asyncio.sleep(0.1)
    raise AssertionError(f"{cid} stuck in {st.get('stage')}, wanted {stage}")


async def test_a_complaint_from_filing_to_closing_through_the_cli(cli_env):
    cid = f"CMP-CLI-{uuid.uuid4().hex[:6]}"
    r = await claims(
        "complaint",
        "file",
        "--complaint-id",
        cid,
        "--name",
        "张三",
        "--phone",
        "13800000000",
        "--policy",
        "P-MED-0001",
        "--category",
        "service_attitude",
        "--matter",
        "客服电话长时间无人接听",
        "--remedy",
        "改进服务",
    )
    assert r.exit_code == 0, r.output
    assert f"complaint {cid} filed" in r.output
    await _wait(cid, "REGISTERED")
    kinds: list[str] = []
    for _ in range(100):  # the work item is written right after the registration
        r = await claims("tasks", "--for", "cc1", "--json")
        kinds = [t["kind"] for t in json.loads(r.output) if t["case_id"] == cid]
        if kinds:
            break
        await asyncio.sleep(0.1)
    assert kinds == ["assign_complaint"]
    r = await claims("tasks", "--for", "sup1", "--json")
    assert [t for t in json.loads(r.output) if t["case_id"] == cid] == []
    r = await claims("complaint", "assign", cid, "--as", "h1", "--handler", "h1")
    assert r.exit_code == 1 and "h1 is not a complaint coordinator" in r.output
    r = await claims("complaint", "assign", cid, "--as", "cc1", "--handler", "h1")
    assert r.exit_code == 0, r.output
    await _wait(cid, "INVESTIGATING")
    r = await claims("complaint", "extend", cid, "--as", "cc1", "--reason", "需调取通话录音")
    assert r.exit_code == 0, r.output
    r = await claims("complaint", "extend", cid, "--as", "cc1", "--reason", "复杂")
    assert r.exit_code == 1 and "needs L3 approval" in r.output
    r = await claims(
        "complaint", "findings", cid, "--as", "h1", "--facts", "高峰期坐席不足", "--upheld"
    )
    assert r.exit_code == 0, r.output
    propose = ("complaint", "propose", cid, "--as", "h1", "--kind", "apology")
    propose += ("--kind", "process_fix", "--description", "致歉并增加高峰坐席")
    r = await claims(*propose)
    assert r.exit_code == 1
    assert r.output.strip() == (
        "error: refused: a complaint decision states its findings, basis and reasons: "
        "basis and reasons are missing"
    )
    r = await claims(*propose, "--basis", "《服务规范》第3条", "--reasons", "高峰期接通率过低")
    assert r.exit_code == 0, r.output
    await _wait(cid, "RESOLUTION_PROPOSED")
    r = await claims("complaint", "approve", cid, "--as", "cc1")
    assert r.exit_code == 0, r.output
    await _wait(cid, "EXECUTING")
    r = await claims("complaint", "close", cid, "--as", "cc1")
    assert r.exit_code == 1
    assert r.output.startswith("error: refused: no complaint is closed without resolution")
    r = await claims("complaint", "execute", cid, "--as", "h1", "--note", "已致歉，坐席已增加")
    assert r.exit_code == 0, r.output
    await _wait(cid, "CALLBACK")
    r = await claims("complaint", "callback", cid, "--as", "cc1", "maybe")
    assert r.exit_code == 1 and "satisfied, not-satisfied or no-answer" in r.output
    r = await claims("complaint", "callback", cid, "--as", "cc1", "satisfied", "--note", "满意")
    assert r.exit_code == 0, r.output
    st = await _wait(cid, "CLOSED")
    assert st["outcome"] == "satisfied" and st["extensions"] == 1
    r = await claims("complaint", "show", cid)
    assert "CLOSED" in r.output and "extended to 30" in r.output
    r = await claims("complaint", "list", "--json")
    assert cid in [c["complaint_id"] for c in json.loads(r.output)]
    r = await claims("report", "complaints", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["complaints"] >= 1


async def test_complaint_errors_are_one_line(cli_env):
    r = await claims("complaint", "show", "NOPE")
    assert r.exit_code == 1 and r.output.strip() == "error: unknown complaint NOPE"
    r = await claims("complaint", "file", "--name", "x")
    assert r.exit_code == 1 and "at least --name and --matter" in r.output
    r = await claims("complaint", "assign", "NOPE", "--as", "cc1", "--handler", "h1")
    assert r.exit_code == 1 and r.output.strip() == "error: unknown complaint NOPE"


async def test_a_claim_shows_the_complaint_about_it(cli_env, tmp_path):
    from tests.claimtools import wait_stage
    from tests.test_cli import _report_file

    claim_id, path = _report_file(tmp_path)
    await claims("claim", "submit", str(path))
    await wait_stage(cli_env.client, claim_id, "PENDING_APPROVAL")
    await asyncio.sleep(0.3)
    cid = f"CMP-CLI-{uuid.uuid4().hex[:6]}"
    r = await claims(
        "complaint",
        "file",
        "--complaint-id",
        cid,
        "--name",
        "张三",
        "--phone",
        "1",
        "--claim",
        claim_id,
        "--category",
        "payment_timeliness",
        "--matter",
        "赔款迟迟未到",
    )
    assert r.exit_code == 0, r.output
    await _wait(cid, "REGISTERED")
    expected = f"{cid} payment_timeliness REGISTERED (escalated the claim)"
    for _ in range(100):
        r = await claims("claim", "show", claim_id)
        if expected in r.output:
            break
        await asyncio.sleep(0.1)
    assert expected in r.output
    esc: list[dict] = []
    for _ in range(100):
        r = await claims("tasks", "--for", "sup1", "--json")
        esc = [t for t in json.loads(r.output) if t["case_id"] == claim_id]
        if "complaint_escalation" in [t["kind"] for t in esc]:
            break
        await asyncio.sleep(0.1)
    assert "complaint_escalation" in [t["kind"] for t in esc]
    assert all(t["priority"] == 100 for t in esc)


async def test_compensation_is_proposed_with_its_payee_and_shown_masked(cli_env):
    cid = f"CMP-CLI-{uuid.uuid4().hex[:6]}"
    filed = ("--complaint-id", cid, "--name", "张三", "--phone", "13800000000")
    filed += ("--policy", "P-MED-0001", "--category", "amount_dispute")
    r = await claims("complaint", "file", *filed, "--matter", "理算漏计一项费用")
    assert r.exit_code == 0, r.output
    await _wait(cid, "REGISTERED")
    r = await claims("complaint", "assign", cid, "--as", "cc1", "--handler", "h1")
    assert r.exit_code == 0, r.output
    await _wait(cid, "INVESTIGATING")
    r = await claims("complaint", "findings", cid, "--as", "h1", "--facts", "漏计", "--upheld")
    assert r.exit_code == 0, r.output
    pay = ("complaint", "propose", cid, "--as", "h1", "--kind", "payment")
    pay += ("--description", "补付漏计费用", "--amount", "800")
    pay += ("--basis", "保险条款 MED-1.1", "--reasons", "理算漏计一项费用")
    r = await claims(*pay)
    assert r.exit_code == 1
    assert r.output.strip() == (
        "error: refused: a resolution that pays money needs its payee: name and bank account "
        "(payee)"
    )
    r = await claims(*pay, "--payee-name", "张三")
    assert r.exit_code == 1
    assert r.output.strip() == "error: a payee needs both --payee-name and --payee-account"
    r = await claims(
        *pay, "--payee-name", "张三", "--payee-account", "6222020200001234", "--payee-bank", "工行"
    )
    assert r.exit_code == 0, r.output
    await _wait(cid, "RESOLUTION_PROPOSED")
    r = await claims("complaint", "approve", cid, "--as", "cc1")
    assert r.exit_code == 0, r.output
    await _wait(cid, "EXECUTING")
    r = await claims("complaint", "execute", cid, "--as", "h1", "--note", "已补付")
    assert r.exit_code == 0, r.output
    st = await _wait(cid, "CALLBACK")
    key = f"complaint:{cid}:pay:1"
    assert [(c["idempotency_key"], c["amount"]) for c in st["compensation"]] == [(key, "800.00")]
    # masked wherever it is shown, unless --full by a role that may see it
    assert st["compensation"][0]["account_ref"] == "****1234"
    assert st["resolution"]["payee"]["account_ref"] == "****1234"
    r = await claims("complaint", "show", cid)
    assert r.exit_code == 0, r.output
    assert "payee 张三  account ****1234  bank 工行" in r.output
    assert "compensation paid 800.00 to 张三 (****1234)" in r.output and key in r.output
    assert "6222020200001234" not in r.output
    r = await claims("complaint", "show", cid, "--full", "--as", "cc1")
    assert "6222020200001234" in r.output
    r = await claims("report", "complaints", "--json")
    m = json.loads(r.output)
    assert m["compensation_paid"] >= 1 and Decimal(m["compensation_total"]) >= Decimal("800")
