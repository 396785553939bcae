"""Signed decisions: Ed25519 over the canonical form (HMAC for cases begun before release
2026-12), a decision signed with `openssl pkeyutl -sign -rawin` in the shell and sent with the
`temporal` CLI, and every way a signature is refused (by update) or recorded and ignored (by
signal). README "Signed decisions" is the algorithm followed here.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Replayer
from typer.testing import CliRunner

import demo
import signing
from cli import app
from client import payload_codec, start_claim
from database import make_engine
from models.claim import Adjustment, Decision
from models.tables import AuditEventRow, StaffRow
from security.codec_server import CodecServer
from settings import Settings
from tests.claimtools import openssl_sign, openssl_sign_ed25519, signed, status, wait_stage
from tests.conftest import CONVERTER, TEMPORAL_BIN
from tests.factories import medical_report
from worker import WORKFLOWS
from workflows.case import RELEASE_2026_12, RELEASE_2027_02
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


def test_ed25519_demo_keys_are_deterministic_and_openssl_signs_as_the_engine(tmp_path):
    # RFC 8032 test 1: this seed's public key
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert signing.public_pem(key) == (
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
        "-----END PUBLIC KEY-----\n"
    )
    assert signing.public_pem(signing.demo_private_key("adj1")) == demo.demo_public_key("adj1")
    assert demo.demo_public_key("adj1") != demo.demo_public_key("adj2")
    fields = {"approver": "adj1", "decision": "approve", "signed_at": "2026-11-23T10:00:00+08:00"}
    canonical = signing.canonical(fields, "CLM-1").decode("utf-8")
    pem = tmp_path / "adj1.pem"
    signing.write_private_key(pem, signing.demo_private_key("adj1"))
    assert pem.stat().st_mode & 0o777 == 0o600
    ours = signing.ed25519_signature(signing.demo_private_key("adj1"), fields, "CLM-1")
    assert openssl_sign_ed25519(canonical, pem) == ours and len(ours) == 128
    public = demo.demo_public_key("adj1")
    assert signing.ed25519_matches(public, fields, "CLM-1", ours.upper())
    assert not signing.ed25519_matches(public, {**fields, "decision": "reject"}, "CLM-1", ours)
    assert not signing.ed25519_matches(public, fields, "CLM-2", ours)
    assert not signing.ed25519_matches(demo.demo_public_key("adj2"), fields, "CLM-1", ours)
    assert not signing.ed25519_matches(public, fields, "CLM-1", "zz")


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
    demo.load(engine)  # an existing person without a key gets the demo keys
    with Session(engine) as s:
        row = s.get(StaffRow, "adj1")
        assert row.signing_key == demo.demo_key_record("adj1")
        assert (row.algorithm, row.public_key) == ("ed25519", demo.demo_public_key("adj1"))
    demo.load(engine)  # twice: the same keys
    with Session(engine) as s:
        assert s.get(StaffRow, "adj1").public_key == demo.demo_public_key("adj1")
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


def _public_key(staff_id: str) -> str:
    r = runner.invoke(app, ["staff", "list", "--json"])
    assert r.exit_code == 0, r.output
    row = next(s for s in json.loads(r.output) if s["staff_id"] == staff_id)
    assert row["has_key"] and row["algorithm"] == "ed25519"
    return str(row["public_key"])


async def test_a_decision_signed_with_openssl_is_taken_and_bad_ones_are_refused(cli_env, codec_url):
    dev = cli_env
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    claim_id, wid = report.claim_id, f"claim-{report.claim_id}"
    await wait_stage(dev.client, claim_id, "PENDING_APPROVAL")
    # adj1's private key, as the demo wrote it; the public key as the staff list shows it
    key_pem = dev.settings.staff_keys_dir / "adj1.pem"
    assert _public_key("adj1") == demo.demo_public_key("adj1")

    def sign_return(at: str, note: str = "请核减非必需费用") -> dict:
        canonical = (
            f'{{"approver":"adj1","case_id":"{claim_id}","decision":"return",'
            f'"note":"{note}","signed_at":"{at}"}}'
        )
        payload = {"approver": "adj1", "decision": "return", "note": note, "signed_at": at}
        return {**payload, "signature": openssl_sign_ed25519(canonical, key_pem)}

    now = datetime.now(UTC).replace(microsecond=0)
    good = sign_return(now.isoformat().replace("+00:00", "Z"))
    # the HMAC that cases begun before the release take, over the same canonical form
    _, salt, _ = signing.parse_record(demo.demo_key_record("adj1"))
    canonical = signing.canonical(good, claim_id).decode()
    hmac = openssl_sign(canonical, "demo-adj1", salt.hex(), signing.ITERATIONS)
    refusals = {
        "unsigned": ({k: good[k] for k in ("approver", "decision", "note")}, "is not signed"),
        "tampered": ({**good, "note": "同意赔付"}, "does not match this decision"),
        "expired": (sign_return((now - timedelta(minutes=11)).isoformat()), "more than 10 min"),
        "hmac": ({**good, "signature": hmac}, "does not match this decision"),
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
    # re-adjusting is signed too, by the adjuster
    adjust = {"adjuster": "adj2", "note": "核减后"}
    r = await _temporal(
        dev, "workflow", "update", "execute", "--workflow-id", wid, "--name", "adjust",
        "--input", json.dumps(adjust),
    )  # fmt: skip
    assert r.returncode != 0 and "the decision of adj2 is not signed" in r.stderr, r.stderr
    adjust["signed_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    canonical = signing.canonical(adjust, claim_id).decode()
    adjust["signature"] = openssl_sign_ed25519(canonical, dev.settings.staff_keys_dir / "adj2.pem")
    r = await _temporal(
        dev, "workflow", "update", "execute", "--workflow-id", wid, "--name", "adjust",
        "--input", json.dumps(adjust, ensure_ascii=False),
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
        if len(st.refused_decisions) == 5:
            break
        await asyncio.sleep(0.05)
    reasons = [d.reason for d in st.refused_decisions]
    for expected, n in (
        ("is not signed", 1), ("does not match", 2), ("more than 10 min", 1), ("already used", 1)
    ):  # fmt: skip
        assert sum(expected in x for x in reasons) == n, (expected, reasons)
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
    # every refusal is recorded, the five sent by update as well as the five by signal
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


_APPROVE = Decision(approver="adj1", decision="approve")


async def _pending_claim(dev) -> tuple[str, Any]:
    """A claim waiting for adj1's approval, and its handle."""
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    wid = f"claim-{report.claim_id}"
    return report.claim_id, dev.client.get_workflow_handle_for(ClaimWorkflow.run, wid)


async def _refused_as_not_matching(handle: Any, message: Decision) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(ClaimWorkflow.decide, message)
    assert err.value.cause.type == "BadSignature"
    assert "does not match this decision under adj1's key" in err.value.cause.message


async def test_an_administrator_sets_a_key_and_the_old_key_stops_working(cli_env, monkeypatch):
    dev = cli_env
    with Session(dev.engine) as s:
        hmac_record = s.get(StaffRow, "adj1").signing_key
    r = await _claims("staff", "set-key", "adj1")
    assert r.exit_code == 0, r.output
    path = dev.settings.staff_keys_dir / "adj1.pem"
    assert r.output.splitlines() == [
        "signing key of adj1 set (ed25519)",
        f"private key written to {path} (mode 0600): give it to adj1",
    ]
    assert path.stat().st_mode & 0o777 == 0o600
    key = signing.load_private_pem(path.read_bytes(), str(path))
    with Session(dev.engine) as s:
        row = s.get(StaffRow, "adj1")
    # the table holds the public key only; the HMAC record stays for cases begun before
    assert (row.algorithm, row.public_key) == ("ed25519", signing.public_pem(key))
    assert "PRIVATE" not in row.public_key and row.signing_key == hmac_record
    assert _public_key("adj1") == signing.public_pem(key) != demo.demo_public_key("adj1")

    claim_id, handle = await _pending_claim(dev)
    # a decision signed with the old (demo) key is refused by the case itself
    await _refused_as_not_matching(handle, await signed(handle, _APPROVE))

    # a key written elsewhere: the keys folder's file is now the wrong one
    elsewhere = dev.settings.data_dir / "handed-over" / "adj1.pem"
    r = await _claims("staff", "set-key", "adj1", "--out", str(elsewhere))
    assert r.exit_code == 0 and f"private key written to {elsewhere}" in r.output, r.output
    assert elsewhere.stat().st_mode & 0o777 == 0o600
    r = await _claims("claim", "approve", claim_id, "--as", "adj1")
    assert r.exit_code == 1
    assert (
        r.output.strip() == "error: the private key given for adj1 does not match adj1's public key"
    )
    monkeypatch.setenv("CLAIMS_STAFF_KEY", str(dev.settings.data_dir / "nowhere.pem"))
    r = await _claims("claim", "approve", claim_id, "--as", "adj1")
    assert r.exit_code == 1 and "CLAIMS_STAFF_KEY names no file" in r.output
    monkeypatch.setenv("CLAIMS_STAFF_KEY", str(elsewhere))
    r = await _claims("claim", "approve", claim_id, "--as", "adj1")
    assert r.exit_code == 0, r.output
    await wait_stage(dev.client, claim_id, "CLOSED")


async def test_list_shows_each_persons_algorithm_and_public_key(cli_env):
    dev = cli_env
    with Session(dev.engine) as s:
        row = s.get(StaffRow, "h2")
        row.algorithm, row.public_key = None, None
        s.add(row)
        s.commit()
    r = await _claims("staff", "list", "--json")
    assert r.exit_code == 0, r.output
    listed = {s["staff_id"]: s for s in json.loads(r.output)}
    assert len(listed) == 14
    assert listed["sup1"]["algorithm"] == "ed25519"
    assert listed["sup1"]["public_key"] == demo.demo_public_key("sup1")
    assert listed["sup1"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert listed["h2"]["has_key"] is False and listed["h2"]["public_key"] is None
    assert not any("salt" in s or "signing_key" in s for s in listed.values())
    r = await _claims("staff", "list")
    assert r.exit_code == 0 and "signing key" in r.output and "ed25519" in r.output
    r = await _claims("staff", "set-key", "nobody")
    assert r.exit_code == 1 and r.output.strip() == "error: unknown person 'nobody'"
    r = await _claims("claim", "approve", "X", "--as", "h2")
    assert r.exit_code == 1 and "h2 has no signing key" in r.output


async def test_the_cli_signs_a_re_adjustment_and_an_unsigned_one_is_refused(cli_env):
    dev = cli_env
    claim_id, handle = await _pending_claim(dev)
    r = await _claims("claim", "return", claim_id, "--as", "adj1", "--note", "核减")
    assert r.exit_code == 0, r.output
    await wait_stage(dev.client, claim_id, "ADJUSTING")
    unsigned = Adjustment(adjuster="adj2", amount=Decimal("5500"))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(ClaimWorkflow.adjust_update, unsigned)
    assert err.value.cause.type == "BadSignature"
    assert "the decision of adj2 is not signed" in err.value.cause.message
    r = await _claims("claim", "adjust", claim_id, "--as", "adj2", "--amount", "5500")
    assert r.exit_code == 0, r.output
    assert "adjusted by adj2, payable 5,500.00" in r.output
    await wait_stage(dev.client, claim_id, "PENDING_APPROVAL")


async def test_a_case_begun_before_the_release_keeps_verifying_hmac(cli_env, monkeypatch):
    """The old worker is this code with the release patch off (signing already on): its case
    asks the check for no algorithm, so HMAC under the key record kept in the staff table."""
    dev = cli_env
    # begun before the December 2026 release, so before every later one too
    before = mock.patch(
        "temporalio.workflow.patched",
        side_effect=lambda p: p not in (RELEASE_2026_12, RELEASE_2027_02),
    )
    with before:
        claim_id, handle = await _pending_claim(dev)
        await _refused_as_not_matching(handle, await signed(handle, _APPROVE))
        # the CLI signs with HMAC when given the secret
        monkeypatch.setenv("CLAIMS_STAFF_SECRET", "demo-adj1")
        r = await _claims("claim", "return", claim_id, "--as", "adj1", "--note", "核减")
        assert r.exit_code == 0, r.output
        await wait_stage(dev.client, claim_id, "ADJUSTING")
        # re-adjusting is not signed in a case begun before the release
        await handle.execute_update(
            ClaimWorkflow.adjust_update, Adjustment(adjuster="adj2", amount=Decimal("5500"))
        )
        await wait_stage(dev.client, claim_id, "PENDING_APPROVAL")
        r = await _claims("claim", "approve", claim_id, "--as", "adj1")
        assert r.exit_code == 0, r.output
        st = await wait_stage(dev.client, claim_id, "CLOSED")
    assert [(a.approver, a.decision) for a in st.approvals] == [("adj1", "approve")]
    assert st.payable_amount == Decimal("5500.00")
    history = await handle.fetch_history()
    assert '"core_patch"' not in history.to_json()  # no release marker: as begun before it


def test_a_pkcs8_key_is_read_without_the_serialization_package_and_others_by_it(tmp_path):
    """The usual PEM (PKCS#8) is read directly, as cryptography reads it; anything else goes
    to cryptography's reader: an encrypted key or a broken file is refused naming the file."""
    from cryptography.hazmat.primitives import serialization as ser

    key = signing.new_private_key()
    pem = signing.private_pem(key)
    direct = signing.load_private_pem(pem, "adj1.pem")
    read = ser.load_pem_private_key(pem, password=None)
    assert signing.public_pem(direct) == signing.public_pem(read) == signing.public_pem(key)
    locked = key.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.BestAvailableEncryption(b"pw")
    )
    broken = pem.replace(pem.splitlines()[1][:8], b"!!!!!!!!")
    for bad in (locked, broken, b"not a key"):
        with pytest.raises(signing.SigningError) as err:
            signing.load_private_pem(bad, "keys/adj1.pem")
        assert str(err.value).startswith("keys/adj1.pem is not an unencrypted PEM private key")
