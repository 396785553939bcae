"""A staff decision over Temporal's HTTP API (commands/http_update.py): the payload is the one the SDK
sends (the pydantic converter's JSON, sealed by the codec), the settings are the SDK path's,
the command's output and refusals are the same, it falls back to the SDK under the same update
id when the HTTP API does not answer, and the command's process never imports the SDK."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic
import pytest
from temporalio.api.common.v1 import Payload
from typer.testing import CliRunner

from cli import app
from client import ENGINE_CONVERTER, start_claim
from commands import claim as claim_commands
from commands import deciding, front, http_update
from models.claim import Decision
from security.codec import EncryptionCodec, new_key_entry, parse_keys
from settings import Settings, get_settings
from tests import test_secured_cluster as secured
from tests.claimtools import status as claim_status
from tests.claimtools import wait_stage
from tests.conftest import end_workflows, per_test_client, running_worker
from tests.factories import medical_report
from tests.test_integrators import _free_port, server  # noqa: F401 - the module's server

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
RING = parse_keys(f"{new_key_entry('k2')},{new_key_entry('k1')}")
TRICKY = '同意 "quoted" \\ back/slash\ttab\nline é ✓ 𝄞 <&>'


def _target(ring: list[tuple[str, bytes]] = RING, encrypts: bool = True) -> Any:
    return http_update.HttpTarget("http://127.0.0.1:1", "default", None, None, ring, encrypts)


def _payload(item: dict[str, Any]) -> Payload:
    metadata = {k: base64.b64decode(v) for k, v in item["metadata"].items()}
    return Payload(metadata=metadata, data=base64.b64decode(item["data"]))


# ---- the payload -----------------------------------------------------------------------------


def test_the_lean_payload_is_what_the_sdk_sends_and_opens_with_the_codec():
    signed = Decision(approver="adj1", decision="approve", note=TRICKY).model_copy(
        update={"signed_at": "2026-11-29T12:00:00Z", "signature": "ab" * 64}
    )
    fields = deciding.decision_fields("adj1", "approve", TRICKY)
    assert deciding._plainly_valid(fields)
    fields.update(signed_at="2026-11-29T12:00:00Z", signature="ab" * 64)
    [sdk] = ENGINE_CONVERTER.payload_converter.to_payloads([signed])
    assert http_update.json_data(fields) == sdk.data
    rejected = Decision(approver="sup1", decision="reject", clause="MED-2.1")
    plain = deciding.decision_fields("sup1", "reject", clause="MED-2.1")
    [sdk] = ENGINE_CONVERTER.payload_converter.to_payloads([rejected])
    assert http_update.json_data(plain) == sdk.data

    sealed = _payload(http_update.encode(_target(), fields))
    assert sealed.metadata["encryption-key-id"] == b"k2"
    opened = EncryptionCodec(RING).decode_one(sealed)
    assert dict(opened.metadata) == {"encoding": b"json/plain"}
    assert opened.data == sdk.data or json.loads(opened.data) == fields
    # encryption off, or no key: the converter's payload in clear
    for target in (_target(encrypts=False), _target(ring=[])):
        assert _payload(http_update.encode(target, fields)) == Payload(
            metadata={"encoding": b"json/plain"}, data=http_update.json_data(fields)
        )


def test_the_codecs_answers_open_with_the_lean_decoder():
    answer = {"claim_id": "C-1", "pending_approval_level": None, "note": TRICKY}
    [plain] = ENGINE_CONVERTER.payload_converter.to_payloads([answer])
    plain.metadata["extra"] = b"kept"
    sealed = EncryptionCodec(list(reversed(RING))).encode_one(plain)  # sealed with k1
    item = {
        "metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
        "data": base64.b64encode(sealed.data).decode(),
    }
    assert http_update.decode(_target(), item) == answer
    assert http_update.parse_payload(plain.SerializeToString()) == (
        dict(plain.metadata),
        plain.data,
    )
    assert http_update.decode(_target(), answer) == answer  # the HTTP API's json/plain shorthand
    with pytest.raises(ValueError, match="unknown key id 'k1'"):
        http_update.decode(_target(ring=RING[:1]), item)


def test_the_screen_for_plainly_valid_text_matches_the_model():
    for field, limit in (("note", deciding.NOTE_MAX), ("clause", deciding.NAME_MAX)):
        Decision.model_validate({"approver": "a", "decision": "d", field: "x" * limit})
        with pytest.raises(pydantic.ValidationError):
            Decision.model_validate({"approver": "a", "decision": "d", field: "x" * (limit + 1)})
    valid = deciding.decision_fields("adj1", "approve", TRICKY)
    assert deciding._plainly_valid(valid)
    Decision.model_validate(valid)
    for bad in ("x\x07", "x" * (deciding.NOTE_MAX + 1)):
        fields = deciding.decision_fields("adj1", "approve", bad)
        assert not deciding._plainly_valid(fields)
        with pytest.raises(pydantic.ValidationError):
            Decision.model_validate(fields)


# ---- the settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"claims_data_dir": "/srv/claims", "TEMPORAL_NAMESPACE": "claims-prod"},
        {"DATA_DIR": "/x", "NAMESPACE": "ns", "PAYLOAD_KEY_FILE": "/etc/k"},
        {"CLAIMS_NAMESPACE": "old", "CLAIMS_PAYLOAD_KEY_FILE": "/etc/claims/keys"},
    ],
)
def test_the_environment_is_read_as_the_settings_read_it(monkeypatch, tmp_path, environ):
    for name in list(os.environ):
        if name.startswith(("CLAIMS_", "TEMPORAL_")) or name.lower() in ("data_dir", "namespace"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", os.devnull)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    s, env = Settings(), http_update.Environment()
    assert (env.data_dir, env.key_file, env.namespace) == (s.data_dir, s.key_file, s.namespace)
    assert (env.staff_keys_dir, env.staff_keys_file) == (s.staff_keys_dir, s.staff_keys_file)


def test_where_the_http_api_is(tmp_path):
    base = {"TEMPORAL_CONFIG_FILE": os.devnull, "HOME": str(tmp_path)}
    embedded = http_update.http_target({**base, "CLAIMS_HTTP_PORT": "17243"})
    assert embedded is not None and embedded.base == "http://127.0.0.1:17243"
    assert embedded.api_key is None and embedded.tls is None
    # the embedded server ignores the key and TLS, as client.connect_config does
    ignored = http_update.http_target({**base, "TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "true"})
    assert ignored is not None and ignored.api_key is None
    cluster = {**base, "TEMPORAL_ADDRESS": "temporal.internal:7233"}
    assert http_update.http_target(cluster) is None  # no CLAIMS_TEMPORAL_HTTP: the SDK
    given = {**cluster, "CLAIMS_TEMPORAL_HTTP": "https://temporal.internal:7243/"}
    keyed = http_update.http_target({**given, "TEMPORAL_API_KEY": "k-1"})
    assert keyed is not None and (keyed.base, keyed.api_key) == (
        "https://temporal.internal:7243",
        "k-1",
    )
    plain = {**cluster, "CLAIMS_TEMPORAL_HTTP": "http://temporal.internal:7243"}
    assert http_update.http_target(plain) is not None
    for unsure in (
        {**plain, "TEMPORAL_API_KEY": "k-1"},  # a key in clear where the SDK uses TLS
        {**plain, "TEMPORAL_TLS": "true"},
        {**given, "TEMPORAL_TLS_SERVER_NAME": "frontend"},  # not reproduced over HTTPS
        {**given, "TEMPORAL_GRPC_META_X": "1"},
        {**given, "TEMPORAL_PROFILE": "prod"},
        {**given, "CLAIMS_PAYLOAD_ENCRYPTION": "maybe"},
    ):
        assert http_update.http_target(unsure) is None, unsure
    profile = tmp_path / "temporal.toml"
    profile.write_text('[profile.default]\naddress = "x:7233"\n')
    assert http_update.http_target({**base, "TEMPORAL_CONFIG_FILE": str(profile)}) is None
    assert http_update.http_target({**base, "TEMPORAL_CONFIG_FILE": str(tmp_path / "no")}) is None


# ---- against a server with its HTTP API ------------------------------------------------------


@pytest.fixture
async def staff(server, settings, engine, rail, monkeypatch) -> AsyncIterator[Any]:  # noqa: F811
    """The `claims` command's environment: this module's server, named with its HTTP API, a
    worker on the test's queue and data folder (the demo staff's keys)."""
    client, started = per_test_client(server.env)
    environ = {
        "TEMPORAL_CONFIG_FILE": os.devnull,
        "TEMPORAL_ADDRESS": server.address,
        "CLAIMS_TEMPORAL_HTTP": server.http.split("/api/")[0],
        "CLAIMS_TASK_QUEUE": settings.task_queue,
        "CLAIMS_DATA_DIR": str(settings.data_dir),
    }
    for name in [k for k in os.environ if k.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLAIMS_STAFF_SECRET", raising=False)
    monkeypatch.delenv("CLAIMS_STAFF_KEY", raising=False)
    get_settings.cache_clear()
    async with running_worker(client, settings, engine, rail):
        yield client, environ
        await end_workflows(client, started)
    get_settings.cache_clear()


async def _pending(client: Any) -> str:
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    await start_claim(client, report, get_settings().task_queue)
    assert report.claim_id is not None
    await wait_stage(client, report.claim_id, "PENDING_APPROVAL")
    return report.claim_id


async def _claims(*args: str) -> Any:
    return await asyncio.to_thread(runner.invoke, app, list(args))


def _no_sdk(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the decision went through the SDK")


async def test_decisions_over_the_http_api_end_to_end(staff, monkeypatch):
    client, _ = staff
    monkeypatch.setattr(claim_commands, "update_claim", _no_sdk)
    denied = await _pending(client)  # two claims: a third on the policy would be investigated
    r = await _claims("claim", "reject", denied, "--as", "adj1", "--clause", "MED-2.1")
    assert r.exit_code == 1
    assert r.output.strip() == "error: refused: a denial needs L2 or above; adj1 is L1"
    r = await _claims("claim", "approve", "NO-SUCH-CLAIM", "--as", "adj1")
    assert r.output.strip() == "error: unknown claim NO-SUCH-CLAIM" and r.exit_code == 1
    r = await _claims("claim", "reject", denied, "--as", "sup1", "--clause", "MED-2.1")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"claim {denied}: reject by sup1 recorded; approval chain complete"
    await wait_stage(client, denied, "DENIAL_NOTIFIED")

    paid = await _pending(client)
    r = await _claims("claim", "approve", paid, "--as", "adj1", "--note", TRICKY, "--json")
    assert r.exit_code == 0, r.output
    state = json.loads(r.output)
    assert [(a["approver"], a["note"]) for a in state["approvals"]] == [("adj1", TRICKY)]
    st = await wait_stage(client, paid, "CLOSED")
    assert st.payable_amount == Decimal("6000.00")


async def test_without_an_http_api_the_sdk_sends_it_under_the_same_update_id(staff, monkeypatch):
    client, _ = staff
    claim_id = await _pending(client)
    monkeypatch.setenv("CLAIMS_TEMPORAL_HTTP", f"http://127.0.0.1:{_free_port()}")  # refused
    r = await _claims("claim", "return", claim_id, "--as", "adj1", "--note", "核减自费药")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"claim {claim_id}: return by adj1 recorded; ")

    # The HTTP API takes the decision but its answer is lost: the SDK sends it again under
    # the same update id, and Temporal applies it once.
    other = await _pending(client)
    monkeypatch.setenv("CLAIMS_TEMPORAL_HTTP", staff[1]["CLAIMS_TEMPORAL_HTTP"])
    real_post, ids = http_update._post, []

    def lost_answer(target: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
        ids.append(body["request"]["meta"]["updateId"])
        real_post(target, path, body)
        raise http_update.Unreachable("connection reset")

    real_update, sent = claim_commands.update_claim, []

    def recording(*args: Any, **kwargs: Any) -> Any:
        sent.append(kwargs["update_id"])
        return real_update(*args, **kwargs)

    monkeypatch.setattr(http_update, "_post", lost_answer)
    monkeypatch.setattr(claim_commands, "update_claim", recording)
    r = await _claims("claim", "approve", other, "--as", "adj1", "--json")
    assert r.exit_code == 0, r.output
    assert ids == sent and len(ids) == 1
    assert [a["approver"] for a in json.loads(r.output)["approvals"]] == ["adj1"]


async def test_an_answer_without_an_outcome_yet_is_asked_again_under_the_same_id(
    staff, monkeypatch
):
    """The server may stop waiting before the claim answers (its long poll ends): with no
    outcome, or DEADLINE_EXCEEDED. The command asks again under the same update id until
    the outcome comes, and the decision is applied once."""
    client, _ = staff
    claim_id = await _pending(client)
    real_post, ids = http_update._post, []

    def slow_server(target: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
        ids.append(body["request"]["meta"]["updateId"])
        if len(ids) == 1:  # taken by the claim, but answered before its outcome
            answer = real_post(target, path, body)
            return {k: v for k, v in answer.items() if k != "outcome"}
        if len(ids) == 2:
            raise http_update.HttpError(http_update.DEADLINE_EXCEEDED, "context deadline exceeded")
        return real_post(target, path, body)

    monkeypatch.setattr(http_update, "_post", slow_server)
    r = await _claims("claim", "approve", claim_id, "--as", "adj1", "--json")
    assert r.exit_code == 0, r.output
    assert len(ids) == 3 and len(set(ids)) == 1
    assert [a["approver"] for a in json.loads(r.output)["approvals"]] == ["adj1"]
    st = await wait_stage(client, claim_id, "CLOSED")
    assert [a.approver for a in st.approvals] == ["adj1"]


# The command as `claims` runs it, reporting the modules it imported as it ends (cli.py ends
# the process with os._exit, past atexit).
WRAPPER = """
import json, os, sys
end = os._exit
def report(code):
    print("MODULES", json.dumps(sorted(sys.modules)), file=sys.stderr, flush=True)
    end(code)
os._exit = report
from cli import app
sys.argv = ["claims", *sys.argv[1:]]
app()
"""


# The same through the front door, the `claims` entry point (commands/front.py).
FRONT_WRAPPER = """
import json, sys
from commands.front import main
sys.argv = ["claims", *sys.argv[1:]]
try:
    main()
finally:
    print("MODULES", json.dumps(sorted(sys.modules)), file=sys.stderr, flush=True)
"""


@pytest.mark.parametrize(
    ("wrapper", "heavy"),
    [
        (WRAPPER, {"temporalio", "grpc", "pydantic", "sqlalchemy"}),
        (FRONT_WRAPPER, {"temporalio", "grpc", "pydantic", "sqlalchemy", "typer", "rich"}),
    ],
    ids=["through typer", "through the front door"],
)
async def test_the_decision_process_imports_no_temporal_sdk(staff, wrapper, heavy):
    client, environ = staff
    claim_id = await _pending(client)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}, **environ}
    cmd = [sys.executable, "-c", wrapper, "claim", "approve", claim_id, "--as", "adj1"]
    done = await asyncio.to_thread(
        subprocess.run, cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert f"claim {claim_id}: approve by adj1 recorded" in done.stdout
    modules = json.loads(done.stderr.split("MODULES ", 1)[1])
    assert {m.split(".")[0] for m in modules} & heavy == set()


async def test_the_front_door_says_a_refusal_as_typer_does_and_sends_once(staff, capsys):
    """A decision from the front door: refused in the same line and exit code as through
    typer, never handed to typer to be sent again; a good one recorded once."""
    client, _ = staff
    claim_id = await _pending(client)
    refused = ["claim", "reject", claim_id, "--as", "adj1", "--clause", "MED-2.1"]
    code = await asyncio.to_thread(front.run_fast, refused)
    assert code == 1
    said = capsys.readouterr()
    assert (said.out, said.err.strip()) == (
        "",
        "error: refused: a denial needs L2 or above; adj1 is L1",
    )
    code = await asyncio.to_thread(front.run_fast, ["claim", "approve", claim_id, "--as", "adj1"])
    assert code == 0
    assert capsys.readouterr().out.startswith(f"claim {claim_id}: approve by adj1 recorded; ")
    st = await wait_stage(client, claim_id, "CLOSED")
    assert [a.approver for a in st.approvals] == ["adj1"]
    # what the front door cannot read (a missing --as) goes to typer, which names it
    assert front.run_fast(["claim", "approve", claim_id]) is None


@pytest.mark.skipif(secured.NGINX is None, reason="nginx is not installed (.ci/run installs it)")
async def test_a_decision_reaches_the_http_api_through_an_mtls_proxy(staff, monkeypatch, tmp_path):
    """Over HTTPS with a client certificate, as a cluster's load balancer asks for it: nginx
    terminates mutual TLS in front of the server's HTTP API. The decision goes that way, not
    through the SDK; a client without a certificate is refused and sends nothing."""
    client, environ = staff
    certs = tmp_path / "certs"
    secured.make_certificates(certs)
    upstream = environ["CLAIMS_TEMPORAL_HTTP"].removeprefix("http://")
    nginx, port = secured.start_nginx(
        tmp_path / "nginx", certs, 0, location=f"proxy_pass http://{upstream};"
    )
    try:
        monkeypatch.setenv("CLAIMS_TEMPORAL_HTTP", f"https://127.0.0.1:{port}")
        monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(certs / "ca.pem"))
        claim_id = await _pending(client)

        # The CA alone: nginx refuses the connection without a certificate (its 400 page is
        # not the HTTP API's answer), so the decision is handed to the SDK's way, which here
        # is refused too; nothing reached the claim.
        handed: list[str] = []

        def refused(*args: Any, **kwargs: Any) -> Any:
            handed.append(kwargs["update_id"])
            raise claim_commands.UserError("cannot reach Temporal")

        monkeypatch.setattr(claim_commands, "update_claim", refused)
        r = await _claims("claim", "approve", claim_id, "--as", "adj1")
        assert (r.exit_code, r.output.strip()) == (1, "error: cannot reach Temporal")
        assert len(handed) == 1
        assert (await claim_status(client, claim_id)).stage == "PENDING_APPROVAL"

        monkeypatch.setattr(claim_commands, "update_claim", _no_sdk)
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(certs / "client.pem"))
        monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(certs / "client.key"))
        r = await _claims("claim", "approve", claim_id, "--as", "adj1")
        assert r.exit_code == 0, r.output
        assert (
            r.output.strip()
            == f"claim {claim_id}: approve by adj1 recorded; approval chain complete"
        )
        st = await wait_stage(client, claim_id, "CLOSED")
        assert [a.approver for a in st.approvals] == ["adj1"]
    finally:
        secured.stop(nginx)
    log = (tmp_path / "nginx" / "access.log").read_text()
    assert f"/workflows/claim-{claim_id}/update/decide" in log and '" 200 ' in log
