"""The read model keeps personal data masked: a case's `status` JSON and its rows (payments,
audit events) hold no id number, phone or bank account in full; the names the listings show
stay. The full values stay with the workflow (encrypted in its history): `--full` asks it.
`claims audit trail` masks the bank account like the other views."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from sqlmodel import Session, select
from temporalio.client import WorkflowHistory
from typer.testing import CliRunner

from cli import app
from client import start_claim
from models.tables import AuditEventRow, ClaimRow, ComplaintPaymentRow, ComplaintRow, PaymentRow
from security.codec import _payloads_in
from security.masking import for_read_model, mask_data, mask_fields
from tests.claimtools import wait_stage
from tests.factories import ZHANG, medical_report
from tests.test_complaint_compensation import paid_to
from tests.test_complaint_workflow import PAYEE, complaint, start

runner = CliRunner()
HISTORIES = Path(__file__).parent / "histories"
ACCOUNT = PAYEE.account_ref
SECRETS = (ZHANG["id_no"], ZHANG["phone"], ACCOUNT)


def _rows(engine, table, **equal) -> list:
    with Session(engine) as s:
        q = select(table)
        for name, value in equal.items():
            q = q.where(getattr(table, name) == value)
        return list(s.exec(q).all())


# Lookup keys, not shown by any view: a claim's insured (matched against the policies table,
# which holds the insured's id number) and a complaint's complainant (repeat complaints).
LOOKUP_COLUMNS = {"insured_id_no", "complainant_key"}


def _text(rows: list) -> str:
    dumped = [r.model_dump(mode="json", exclude=LOOKUP_COLUMNS) for r in rows]
    return json.dumps(dumped, ensure_ascii=False)


def test_a_status_is_stored_masked_with_the_names_kept():
    status = {
        "claimant_name": "张三",
        "claimant_id_no": ZHANG["id_no"],
        "claimant_phone": ZHANG["phone"],
        "complainant_email": "zhangsan@example.com",
        "resolution": {"payee": {"name": "张三", "account_ref": ACCOUNT, "bank_name": "工行"}},
        "compensation": [{"payee": "张三", "account_ref": ACCOUNT, "amount": "800.00"}],
        "history": [{"note": f"客户来电 {ZHANG['phone']}，身份证 {ZHANG['id_no']}"}],
        "claimant_id_no_missing": None,
        "payable_amount": "1040.00",
    }
    stored = for_read_model(status)
    assert stored["claimant_name"] == "张三"
    assert stored["claimant_id_no"] == "110101********1234"
    assert stored["claimant_phone"] == "138****0000"
    assert stored["complainant_email"] == "z*******@example.com"
    assert stored["resolution"]["payee"] == {
        "name": "张三",
        "account_ref": "****1234",
        "bank_name": "工行",
    }
    assert stored["compensation"][0]["account_ref"] == "****1234"
    assert stored["history"][0]["note"] == "客户来电 138****0000，身份证 110101********1234"
    assert stored["payable_amount"] == "1040.00"
    assert for_read_model(stored) == stored  # masking twice changes nothing
    assert stored == mask_data(mask_fields(status))  # the fields, then the free text
    text = json.dumps(stored, ensure_ascii=False)
    assert not any(secret in text for secret in SECRETS)


async def test_a_paid_complaint_is_stored_masked_and_its_workflow_keeps_it_in_full(ts):
    report = complaint(category="amount_dispute", policy_no="P-MED-0001")
    cid = report.complaint_id
    st = await paid_to(ts, await start(ts, report), cid, PAYEE)
    # the bank was paid to the whole account, and the workflow keeps it
    assert [c.account_ref for c in st.compensation] == [ACCOUNT]
    assert st.complainant_id_no == ZHANG["id_no"]

    [row] = _rows(ts.engine, ComplaintRow, complaint_id=cid)
    assert row.status["complainant_name"] == "张三"
    assert row.status["complainant_id_no"] == "110101********1234"
    assert row.status["resolution"]["payee"]["account_ref"] == "****1234"
    [paid] = _rows(ts.engine, ComplaintPaymentRow, complaint_id=cid)
    assert paid.account_ref == "****1234" and paid.payee == PAYEE.name
    stored = _text([row, paid, *_rows(ts.engine, AuditEventRow, case_id=cid)])
    for secret in SECRETS:
        assert secret not in stored, secret


async def test_a_claim_is_stored_masked_and_full_asks_the_workflow(cli_env):
    report = medical_report()
    await start_claim(cli_env.client, report, cli_env.task_queue)
    await wait_stage(cli_env.client, report.claim_id, "CLOSED")
    await asyncio.sleep(0.3)  # the last projection write
    engine = cli_env.engine
    [row] = _rows(engine, ClaimRow, claim_id=report.claim_id)
    assert row.status["claimant_name"] == ZHANG["name"] == row.claimant_name
    assert (row.status["claimant_id_no"], row.status["claimant_phone"]) == (
        "110101********1234",
        "138****0000",
    )
    payments = _rows(engine, PaymentRow, claim_id=report.claim_id)
    assert payments and all(p.account_ref.startswith("****") for p in payments)
    stored = _text([row, *payments, *_rows(engine, AuditEventRow, case_id=report.claim_id)])
    assert ZHANG["id_no"] not in stored and ZHANG["phone"] not in stored

    def show(*args: str):
        return runner.invoke(app, ["claim", "show", report.claim_id, "--json", *args])

    masked = json.loads((await asyncio.to_thread(show)).output)
    assert masked["claimant_id_no"] == "110101********1234"
    r = await asyncio.to_thread(show, "--full", "--as", "sup1")
    assert r.exit_code == 0, r.output
    full = json.loads(r.output)
    assert (full["claimant_id_no"], full["claimant_phone"]) == (ZHANG["id_no"], ZHANG["phone"])
    assert full["stage"] == masked["stage"] == "CLOSED"


def _decoded(path: Path) -> str:
    history = WorkflowHistory.from_json("h", path.read_text(encoding="utf-8"))
    return b"".join(p.data for e in history.events for p in _payloads_in(e)).decode(
        "utf-8", "replace"
    )


def test_the_audit_trail_masks_the_bank_account():
    path = HISTORIES / "complaint-compensation.json"
    history = WorkflowHistory.from_json("complaint", path.read_text(encoding="utf-8"))
    # the history holds the account (the payee it was paid to)
    assert ACCOUNT.encode() in b"".join(p.data for e in history.events for p in _payloads_in(e))
    for args in ([str(path)], [str(path), "--json"]):
        r = runner.invoke(app, ["audit", "trail", *args])
        assert r.exit_code == 0, r.output
        assert ACCOUNT not in r.output
        assert "****1234" in r.output
    recorded = HISTORIES / "human-approval.json"
    account = re.search(r"doc://bank_account/[0-9a-f]{8}", _decoded(recorded))
    assert account is not None  # the account the claim was paid to, as recorded
    r = runner.invoke(app, ["audit", "trail", str(recorded)])
    payment = next(line for line in r.output.splitlines() if " payment 1 " in line)
    assert payment.endswith(f"(****{account.group()[-4:]})")
    assert account.group() not in r.output
