"""Encryption fails closed: a worker (`python worker.py`, `claims worker`, the worker inside
`claims run`) without a payload key refuses to start with one line saying how to make or
point at a key; `CLAIMS_PAYLOAD_ENCRYPTION=off` lets it run with payloads in clear, and it says
so at start and in every status line. The embedded engine still makes its key file on first
start, so the quick start is unchanged."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

import demo
from client import ENGINE_CONVERTER, payload_codec, start_claim
from database import make_engine
from engine import ensure_key_file, run_engine
from security.codec import ENCODING, EncryptionCodec, PayloadKeyError, _payloads_in
from settings import Settings
from tests.claimtools import handle_for, wait_stage
from tests.conftest import TEMPORAL_BIN, TEST_PAYLOAD_KEYS
from tests.factories import ZHANG, medical_report
from worker import PLAIN_PAYLOADS, payload_protection

ROOT = Path(__file__).resolve().parent.parent


def _env_without_keys(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_PAYLOAD")}
    return {**env, "CLAIMS_DATA_DIR": str(data_dir), **extra}


@pytest.mark.parametrize(
    "command",
    [["worker.py"], ["cli.py", "worker"], ["cli.py", "run"]],
    ids=["python worker.py", "claims worker", "claims run"],
)
def test_a_worker_without_a_payload_key_refuses_to_start_in_one_line(tmp_path, command):
    data_dir = tmp_path / "data"
    # an existing server is named, so nothing would start a server or make a key file
    env = _env_without_keys(data_dir, TEMPORAL_ADDRESS="127.0.0.1:1")
    done = subprocess.run(
        [sys.executable, *[str(ROOT / command[0]), *command[1:]]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: no payload key: set CLAIMS_PAYLOAD_KEYS=")
    assert "claims new-key" in line and "CLAIMS_PAYLOAD_KEY_FILE" in line
    assert str(data_dir / "payload-keys") in line
    assert "CLAIMS_PAYLOAD_ENCRYPTION=off" in line
    assert not (data_dir / "claims.db").exists()  # refused before touching the read model


def test_the_embedded_engine_makes_its_key_and_so_starts_as_before(tmp_path):
    s = Settings(data_dir=tmp_path / "data", payload_keys="")
    with pytest.raises(PayloadKeyError, match="no payload key"):
        payload_protection(s)
    assert ensure_key_file(s)  # what `claims run` does on its first start
    assert payload_protection(s) == "payloads encrypted (AES-GCM, active key k1)"
    # a key in the environment is enough, and no file is made
    keyed = Settings(data_dir=tmp_path / "keyed", payload_keys=TEST_PAYLOAD_KEYS)
    assert payload_protection(keyed).endswith("active key test-1)")
    assert not (tmp_path / "keyed" / "payload-keys").exists()


def test_claims_run_against_a_cluster_refuses_before_starting_anything(tmp_path):
    s = Settings(data_dir=tmp_path / "data", payload_keys="", temporal_address="127.0.0.1:1")
    said: list[str] = []
    with pytest.raises(PayloadKeyError, match="no payload key"):
        run_engine(s, announce=said.append)
    assert said == []
    assert not (tmp_path / "data" / "claims.db").exists()


def test_off_runs_without_a_key_and_makes_none(tmp_path):
    s = Settings(data_dir=tmp_path / "data", payload_keys="", payload_encryption=False)
    assert payload_protection(s) == PLAIN_PAYLOADS
    assert not ensure_key_file(s)
    assert not (tmp_path / "data" / "payload-keys").exists()
    # off with keys configured: new payloads in clear, those sealed earlier still decode
    sealing = payload_codec(Settings(payload_keys=TEST_PAYLOAD_KEYS))
    opening = payload_codec(Settings(payload_keys=TEST_PAYLOAD_KEYS, payload_encryption=False))
    assert isinstance(opening, EncryptionCodec) and not opening.encrypts
    assert (
        payload_protection(Settings(payload_keys=TEST_PAYLOAD_KEYS, payload_encryption=False))
        == PLAIN_PAYLOADS
    )
    plain = ENGINE_CONVERTER.payload_converter.to_payloads([{"name": ZHANG["name"]}])[0]
    assert opening.encode_one(plain) == plain
    assert opening.decode_one(sealing.encode_one(plain)) == plain


def test_claims_run_with_encryption_off_says_so_in_every_status_line(tmp_path):
    """`claims run` against a cluster that is not there: the banner lines before it fails to
    connect all carry the flag."""
    s = Settings(
        data_dir=tmp_path / "data",
        payload_keys="",
        payload_encryption=False,
        temporal_address="127.0.0.1:1",
    )
    said: list[str] = []

    async def no_server(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("no server")

    import engine

    original = engine.connect_with_retry
    engine.connect_with_retry = no_server  # type: ignore[assignment]
    try:
        with pytest.raises(ConnectionError):
            run_engine(s, announce=said.append)
    finally:
        engine.connect_with_retry = original  # type: ignore[assignment]
    assert len(said) >= 5
    assert all(line.endswith("  [payloads NOT encrypted]") for line in said), said
    assert any(
        line.startswith("payloads   NOT encrypted (CLAIMS_PAYLOAD_ENCRYPTION") for line in said
    )
    assert not (tmp_path / "data" / "payload-keys").exists()


async def test_a_worker_with_encryption_off_runs_a_claim_in_clear_and_says_so(tmp_path):
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        data_converter=ENGINE_CONVERTER,
        ui=False,
        dev_server_log_level="error",
    )
    data_dir = tmp_path / "data"
    demo.load(make_engine(f"sqlite:///{data_dir / 'claims.db'}"))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env=_env_without_keys(
            data_dir,
            TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
            CLAIMS_TASK_QUEUE="claims-plain",
            CLAIMS_PAYLOAD_ENCRYPTION="off",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(100):  # the worker registers the search attributes first
            try:
                report = medical_report()
                await start_claim(env.client, report, "claims-plain")
                break
            except Exception:  # noqa: BLE001 - not registered yet
                await asyncio.sleep(0.2)
        await wait_stage(env.client, report.claim_id, "CLOSED", timeout=30)
        history = await handle_for(env.client, report.claim_id).fetch_history()
        payloads = [p for e in history.events for p in _payloads_in(e)]
        assert payloads and all(p.metadata.get("encoding") != ENCODING for p in payloads)
        assert ZHANG["id_no"].encode() in b"".join(p.data for p in payloads)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        await env.shutdown()
    warning = next(line for line in out.splitlines() if "WARNING claims.worker" in line)
    assert "payloads NOT encrypted (CLAIMS_PAYLOAD_ENCRYPTION=off)" in warning
    status = next(line for line in out.splitlines() if "worker on" in line)
    assert status.endswith("payloads NOT encrypted (CLAIMS_PAYLOAD_ENCRYPTION=off)")
