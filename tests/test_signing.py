"""Signed decisions: the key derivation and canonical form, a decision signed with `openssl`
in the shell and sent with the `temporal` CLI, and every way a signature is refused (by update)
or recorded and ignored (by signal). README "Signed decisions" is the algorithm followed here.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Replayer
from typer.testing import CliRunner

import demo
import signing
from cli import app
from client import payload_codec, start_claim
from database import make_engine
from models.claim import Decision
from models.tables import AuditEventRow, StaffRow
from security.codec_server import CodecServer
from settings import Settings
from tests.claimtools import openssl_sign, signed, status, wait_stage
from tests.conftest import CONVERTER, TEMPORAL_BIN
from tests.factories import medical_report
from worker import WORKFLOWS
from workflows.claim import ClaimWorkflow

runner = CliRunner()

# ---- the algorithm, without a server ------------------------------------------------------


def test_the_key_is_pbkdf2_sha256_and_the_table_never_holds_the_secret():
    # PBKDF2-HMAC-SHA256("password", "salt", 1 iteration, 32 bytes), a published test vector
    assert signing.derive_key("password", b"salt", 1).hex() == (
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
    )
    record = signing.key_record("s3cret-adj1")
    assert "s3cret" not in record
    scheme, iterations, salt, key = record.split("$")
    assert (scheme, int(iterations), len(bytes.fromhex(salt))) == ("pbkdf2-sha256", 200_000, 16)
    assert signing.key_from_secret(record, "s3cret-adj1").hex() == key
    assert signing.key_record("s3cret-adj1") != record  # a fresh salt each time


def test_the_canonical_form_is_sorted_compact_utf8_json_with_the_case_id():
    fields = {
        "note": "同意",
        "approver": "adj1",
        "signature": "x",
        "signed_at": "T",
        "clause": None,
    }
    assert (
        signing.canonical(fields, "CLM-1")
        == (
            '{"approver":"adj1","case_id":"CLM-1","clause":null,"note":"同意","signed_at":"T"}'
        ).encode()
    )


def test_openssl_and_the_engine_compute_the_same_signature():
    record = demo.demo_key_record("adj1")
    _, salt, key = signing.parse_record(record)
    fields = {"approver": "adj1", "decision": "approve", "signed_at": "2026-11-23T10:00:00+08:00"}
    canonical = signing.canonical(fields, "CLM-1").decode("utf-8")
    ours = signing.signature(key, fields, "CLM-1")
    assert openssl_sign(canonical, "demo-adj1", salt.hex(), signing.ITERATIONS) == ours


def test_an_older_read_model_gains_the_key_columns(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "create table staff (staff_id varchar primary key, name varchar not null, "
            "level integer not null, roles json not null, active boolean not null)"
        )
        db.execute("insert into staff values ('adj1', '王理赔', 1, '[\"adjuster\"]', 1)")
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        row = s.get(StaffRow, "adj1")
        assert row is not None and row.signing_key is None
    demo.load(engine)  # an existing person without a key gets the demo key
    with Session(engine) as s:
        assert s.get(StaffRow, "adj1").signing_key == demo.demo_key_record("adj1")
    engine.dispose()


# ---- a decision signed in the shell, sent with the temporal CLI ------------------------------


@pytest.fixture(scope="module")
def codec_url():
    """Results come back encrypted: the temporal CLI reads them through the codec server."""
    codec = payload_codec(Settings())
    assert codec is not None
    server = CodecServer(("127.0.0.1", 0), codec, namespace="default")
    server.start()
    _CODEC["url"] = server.url
    yield server.url
    server.shutdown()
    server.server_close()


_CODEC: dict[str, str] = {}


async def _temporal(dev, *args: str) -> subprocess.CompletedProcess[str]:
    address = dev.env.client.service_client.config.target_host
    cmd = [TEMPORAL_BIN, *args, "--address", address, "--namespace", "default"]
    cmd += ["--codec-endpoint", _CODEC["url"]]
    return await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True, timeout=60)


async def _send(dev, wid: str, payload: dict, *, signal: bool = False):
    kind = ("workflow", "signal") if signal else ("workflow", "update", "execute")
    return await _temporal(
        dev, *kind, "--workflow-id", wid, "--name", "decision" if signal else "decide",
        "--input", json.dumps(payload, ensure_ascii=False),
    )  # fmt: skip


def _staff_key(cli_env, staff_id: str) -> tuple[str, int]:
    r = runner.invoke(app, ["staff", "list", "--json"])
    assert r.exit_code == 0, r.output
    row = next(s for s in json.loads(r.output) if s["staff_id"] == staff_id)
    assert row["has_key"]
    return row["salt"], row["iterations"]


async def test_a_decision_signed_with_openssl_is_taken_and_bad_ones_are_refused(cli_env, codec_url):
    dev = cli_env
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    claim_id, wid = report.claim_id, f"claim-{report.claim_id}"
    await wait_stage(dev.client, claim_id, "PENDING_APPROVAL")
    salt, iterations = _staff_key(dev, "adj1")

    def sign_return(at: str, note: str = "请核减非必需费用") -> dict:
        canonical = (
            f'{{"approver":"adj1","case_id":"{claim_id}","decision":"return",'
            f'"note":"{note}","signed_at":"{at}"}}'
        )
        payload = {"approver": "adj1", "decision": "return", "note": note, "signed_at": at}
        return {**payload, "signature": openssl_sign(canonical, "demo-adj1", salt, iterations)}

    now = datetime.now(UTC).replace(microsecond=0)
    good = sign_return(now.isoformat().replace("+00:00", "Z"))
    refusals = {
        "unsigned": ({k: good[k] for k in ("approver", "decision", "note")}, "is not signed"),
        "tampered": ({**good, "note": "同意赔付"}, "does not match this decision"),
        "expired": (sign_return((now - timedelta(minutes=11)).isoformat()), "more than 10 min"),
    }
    for name, (payload, reason) in refusals.items():
        r = await _send(dev, wid, payload)
        assert r.returncode != 0, name
        assert "BadSignature" in r.stderr and reason in r.stderr, (name, r.stderr)
        r = await _send(dev, wid, payload, signal=True)
        assert r.returncode == 0, r.stderr

    r = await _send(dev, wid, good)
    assert r.returncode == 0, r.stderr
    await wait_stage(dev.client, claim_id, "ADJUSTING")
    r = await _temporal(
        dev, "workflow", "update", "execute", "--workflow-id", wid, "--name", "adjust",
        "--input", json.dumps({"adjuster": "adj2", "note": "核减后"}),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    await wait_stage(dev.client, claim_id, "PENDING_APPROVAL")

    # The same signed return, captured and sent again, would send the claim back once more.
    r = await _send(dev, wid, good)
    assert r.returncode != 0 and "already used on this case" in r.stderr, r.stderr
    r = await _send(dev, wid, good, signal=True)
    assert r.returncode == 0, r.stderr

    for _ in range(100):
        st = await status(dev.client, claim_id)
        if len(st.refused_decisions) == 4:
            break
        await asyncio.sleep(0.05)
    reasons = [d.reason for d in st.refused_decisions]
    for expected in ("is not signed", "does not match", "more than 10 min", "already used"):
        assert sum(expected in x for x in reasons) == 1, (expected, reasons)
    assert {d.via for d in st.refused_decisions} == {"signal"}
    assert st.stage == "PENDING_APPROVAL" and st.approvals == []
    assert [h.stage for h in st.history].count("RETURNED") == 1

    r = await asyncio.to_thread(runner.invoke, app, ["claim", "approve", claim_id, "--as", "adj1"])
    assert r.exit_code == 0, r.output
    st = await wait_stage(dev.client, claim_id, "CLOSED")
    assert [(a.approver, a.decision) for a in st.approvals] == [("adj1", "approve")]

    with Session(dev.engine) as s:
        refused = s.exec(
            select(AuditEventRow).where(
                AuditEventRow.case_id == claim_id, AuditEventRow.kind == "decision_refused"
            )
        ).all()
    # every refusal is recorded, the four sent by update as well as the four by signal
    assert sorted((e.data["via"], e.data["reason"][:40]) for e in refused) == sorted(
        (via, d.reason[:40]) for via in ("signal", "update") for d in st.refused_decisions
    )

    # the signed path replays like any other history
    history = await dev.client.get_workflow_handle(wid).fetch_history()
    replayer = Replayer(workflows=WORKFLOWS, data_converter=CONVERTER)
    await replayer.replay_workflow(history)


# ---- keys through the CLI -------------------------------------------------------------------


async def _claims(*args: str):
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_an_administrator_sets_a_key_and_the_old_secret_stops_working(cli_env, monkeypatch):
    dev = cli_env
    r = await _claims("staff", "set-key", "adj1")
    assert r.exit_code == 0, r.output
    secret = r.output.split("secret (shown once, give it to adj1): ")[1].split()[0]
    with Session(dev.engine) as s:
        record = s.get(StaffRow, "adj1").signing_key
    assert secret not in record and record.startswith("pbkdf2-sha256$200000$")

    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    # the keys file still holds the demo secret
    r = await _claims("claim", "approve", report.claim_id, "--as", "adj1")
    assert r.exit_code == 1
    assert r.output.strip() == "error: the secret given for adj1 does not match adj1's signing key"
    # a decision signed with the old key is refused by the case itself
    handle = dev.client.get_workflow_handle_for(ClaimWorkflow.run, f"claim-{report.claim_id}")
    old = await signed(handle, Decision(approver="adj1", decision="approve"))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(ClaimWorkflow.decide, old)
    assert err.value.cause.type == "BadSignature"

    monkeypatch.setenv("CLAIMS_STAFF_SECRET", secret)
    r = await _claims("claim", "approve", report.claim_id, "--as", "adj1")
    assert r.exit_code == 0, r.output
    await wait_stage(dev.client, report.claim_id, "CLOSED")


async def test_set_key_with_a_chosen_secret_saves_it_and_list_shows_who_has_a_key(cli_env):
    dev = cli_env
    r = await _claims("staff", "set-key", "sup1", "--secret", "correct horse battery", "--save")
    assert r.exit_code == 0, r.output
    assert "correct horse" not in r.output and "secret saved to" in r.output
    assert signing.read_keys(dev.settings.staff_keys_file)["sup1"] == "correct horse battery"
    assert dev.settings.staff_keys_file.stat().st_mode & 0o077 == 0
    with Session(dev.engine) as s:
        row = s.get(StaffRow, "h2")
        row.signing_key = None
        s.add(row)
        s.commit()
    r = await _claims("staff", "list", "--json")
    assert r.exit_code == 0, r.output
    keys = {s["staff_id"]: s["has_key"] for s in json.loads(r.output)}
    assert keys["sup1"] is True and keys["h2"] is False and len(keys) == 14
    r = await _claims("staff", "list")
    assert r.exit_code == 0 and "signing key" in r.output
    r = await _claims("staff", "set-key", "nobody")
    assert r.exit_code == 1 and r.output.strip() == "error: unknown person 'nobody'"
    r = await _claims("claim", "approve", "X", "--as", "h2")
    assert r.exit_code == 1 and "h2 has no signing key" in r.output
