"""What another system sees: a claim driven with nothing but the `temporal` CLI, started,
signalled and queried over Temporal's HTTP API with curl, the one-claim-per-id rule, and
`claims schema`. The README's integrator examples themselves run as written against
`claims run` in tests/test_readme.py; this module checks more than they show (each step's
effect, the duplicate starts, what a client without the codec server sees).

The steps that must be language-neutral use no Python client; the Python client only checks.

The HTTP API (the dev server's `--http-port`, 7243 by default) takes plain JSON values as
payloads (the json/plain encoding the engine's pydantic data converter reads). The commands
this module runs, with HTTP=127.0.0.1:7243:

    curl -sS -X POST http://$HTTP/api/v1/namespaces/default/workflows/claim-CLM-API-2 \
      -H 'Content-Type: application/json' \
      -d '{"workflowType": {"name": "ClaimWorkflow"}, "taskQueue": {"name": "claims"},
           "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE",
           "input": [{"claim_id": "CLM-API-2", "policy_no": "P-MED-0001", ...ClaimReport...}]}'

    curl -sS -X POST \
      http://$HTTP/api/v1/namespaces/default/workflows/claim-CLM-API-2/signal/submit_materials \
      -H 'Content-Type: application/json' \
      -d '{"input": [{"materials": [{"kind": "identity", "ref": "scan-1"}]}]}'

Payloads are encrypted (the engine's production path): a plain JSON start or signal is read
as it is, and the `temporal` CLI reads the engine's encrypted answers (query results, update
results) through the codec server, `--codec-endpoint http://127.0.0.1:8234`; over the HTTP API
a query's answer is decoded by the codec server's `POST /decode`. Without the codec server
the CLI prints ciphertext for a query, and an update is applied but the CLI cannot read its
answer (`payload encoding is not supported`, exit 1).

The first answers 200 `{"runId": "...", "started": true, ...}`; a taken id answers 409
`{"code": 6, "message": "Workflow execution is already running. ..."}` (a closed claim:
"Workflow execution already finished. ..."; without the reuse policy a closed claim's id would
start a second run). The second answers 200 `{"link": {...}}`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import typer
from sqlalchemy.engine import Engine
from temporalio import workflow as temporal_workflow
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

import commands.schema
import signing
from client import payload_codec, start_claim
from models.claim import ClaimReport
from security.codec_server import CodecServer
from settings import Settings
from tests.claimtools import openssl_sign_ed25519
from tests.conftest import (
    CONVERTER,
    TEMPORAL_BIN,
    end_workflows,
    per_test_client,
    running_worker,
)
from tests.factories import ALL_MEDICAL, CST, ZHANG
from workflows import search
from workflows.claim import ClaimWorkflow
from workflows.complaint import ComplaintWorkflow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, env: WorkflowEnvironment, http_port: int, codec_url: str) -> None:
        self.env = env
        self.address = env.client.service_client.config.target_host
        self.http = f"http://127.0.0.1:{http_port}/api/v1/namespaces/default"
        self.codec_url = codec_url


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[Server]:
    """A dev server of this module's own, with the HTTP API on a free port, and a codec
    server with the suite's payload keys."""
    http_port = _free_port()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        data_converter=CONVERTER,
        search_attributes=list(search.ALL),
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=["--http-port", str(http_port)],
    )
    codec = payload_codec(Settings())
    assert codec is not None
    codec_server = CodecServer(("127.0.0.1", 0), codec, namespace="default")
    codec_server.start()
    yield Server(env, http_port, codec_server.url)
    codec_server.shutdown()
    codec_server.server_close()
    await env.shutdown()


class Running:
    def __init__(self, server: Server, settings: Settings, engine: Engine, client: Any) -> None:
        self.server = server
        self.settings = settings
        self.engine = engine
        self.client = client
        self.workflow_ids: list[str] = []

    @property
    def queue(self) -> str:
        return self.settings.task_queue

    async def temporal(self, *args: str, codec: bool = True) -> subprocess.CompletedProcess[str]:
        """The `temporal` CLI against this server, reading and writing payloads through the
        codec server (unless `codec=False`); in a thread, so the worker keeps running."""
        cmd = [TEMPORAL_BIN, *args, "--address", self.server.address, "--namespace", "default"]
        if codec:
            cmd += ["--codec-endpoint", self.server.codec_url]
        return await asyncio.to_thread(
            subprocess.run, cmd, capture_output=True, text=True, timeout=60
        )

    async def curl(self, path: str, body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        cmd = [
            "curl", "-sS", "-X", "POST", f"{self.server.http}{path}",
            "-H", "Content-Type: application/json", "-d", json.dumps(body),
            "-w", "\n%{http_code}",
        ]  # fmt: skip
        return await asyncio.to_thread(
            subprocess.run, cmd, capture_output=True, text=True, timeout=60
        )

    async def http_status(self, workflow_id: str) -> dict[str, Any]:
        """The status query over the HTTP API, its encrypted answer opened by the codec
        server's `POST /decode`: curl only."""
        r = await self.curl(f"/workflows/{workflow_id}/query/status", {})
        body, code = r.stdout.rsplit("\n", 1)
        assert code == "200", r.stdout
        answer = json.loads(body)["queryResult"]
        assert answer["payloads"][0]["metadata"]["encoding"] != "anNvbi9wbGFpbg=="  # json/plain
        cmd = [
            "curl", "-sS", "-X", "POST", f"{self.server.codec_url}/decode",
            "-H", "Content-Type: application/json", "-d", json.dumps(answer),
        ]  # fmt: skip
        r = await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        payload = json.loads(r.stdout)["payloads"][0]
        return json.loads(base64.b64decode(payload["data"]))

    async def query_status(self, workflow_id: str) -> dict[str, Any]:
        r = await self.temporal(
            "workflow", "query", "--workflow-id", workflow_id, "--name", "status", "-o", "json"
        )
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        return out["queryResult"][0]

    async def wait_stage(self, workflow_id: str, stage: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        shown: dict[str, Any] = {}
        while time.monotonic() < deadline:
            shown = await self.query_status(workflow_id)
            if shown["stage"] == stage:
                return shown
            await asyncio.sleep(0.3)
        raise AssertionError(f"{workflow_id} stuck in {shown.get('stage')}, wanted {stage}")

    def payments(self, claim_id: str) -> list[tuple[str, Decimal]]:
        path = self.engine.url.database
        assert path, self.engine.url
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "select idempotency_key, amount from payments where claim_id = ?", (claim_id,)
            ).fetchall()
        return [(k, Decimal(str(a))) for k, a in rows]


@pytest.fixture
async def running(server, settings, engine, rail) -> AsyncIterator[Running]:
    """A worker on this module's server (temp SQLite database with the demo data)."""
    assert engine.url.get_backend_name() == "sqlite"
    client, started = per_test_client(server.env)
    r = Running(server, settings, engine, client)
    async with running_worker(client, settings, engine, rail):
        yield r
        await end_workflows(client, [*started, *r.workflow_ids])


def report_json(claim_id: str, **overrides: Any) -> dict[str, Any]:
    """A ClaimReport as another system writes it: plain JSON, decimals as strings."""
    occurred = (datetime.now(CST) - timedelta(days=2)).replace(microsecond=0)
    data: dict[str, Any] = {
        "claim_id": claim_id,
        "policy_no": "P-MED-0001",
        "line": "medical",
        "incident_type": "outpatient",
        "channel": "api",
        "claimant": dict(ZHANG),
        "occurred_at": occurred.isoformat(),
        "location": "北京市朝阳区",
        "description": "急性肠胃炎门诊治疗",
        "amount_claimed": "8000.00",
        "items": [{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
        "materials": [{"kind": "claim_form", "ref": "scan-claim_form"}],
    }
    data.update(overrides)
    assert data["occurred_at"].endswith("+08:00")
    ClaimReport.model_validate(data)  # the fixture itself is a valid report
    return data


def http_start(queue: str, report: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API's StartWorkflowExecution body; RejectDuplicate keeps a closed claim closed."""
    return {
        "workflowType": {"name": "ClaimWorkflow"},
        "taskQueue": {"name": queue},
        "input": [report],
        "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE",
    }


def the_rest(*have: str) -> dict[str, Any]:
    return {
        "materials": [{"kind": k, "ref": f"scan-{k}"} for k in ALL_MEDICAL if k not in have],
        "submitted_by": "integration",
    }


# ---- a. the `temporal` CLI only -------------------------------------------------------------


async def test_a_claim_driven_with_the_temporal_cli_only(running):
    claim_id = f"CLI-{uuid.uuid4().hex[:8]}"
    wid = f"claim-{claim_id}"
    running.workflow_ids.append(wid)

    r = await running.temporal(
        "workflow", "start", "--type", "ClaimWorkflow", "--task-queue", running.queue,
        "--workflow-id", wid, "--input", json.dumps(report_json(claim_id), ensure_ascii=False),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr

    shown = await running.wait_stage(wid, "AWAITING_MATERIALS")
    assert "claim_form" in shown["received_materials"]
    assert "invoices" in shown["missing_materials"]

    r = await running.temporal(
        "workflow", "signal", "--workflow-id", wid, "--name", "submit_materials",
        "--input", json.dumps(the_rest("claim_form")),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr

    shown = await running.wait_stage(wid, "PENDING_APPROVAL")
    assert shown["pending_approval_level"] == 1
    assert not shown["missing_materials"]  # the CLI prints an empty list as null

    # signed as README "Signed decisions" says, by openssl with adj1's demo private key
    at = datetime.now(CST).replace(microsecond=0).isoformat()
    canonical = (
        f'{{"approver":"adj1","case_id":"{claim_id}","decision":"approve","signed_at":"{at}"}}'
    )
    key_pem = running.settings.data_dir / "adj1-demo.pem"
    signing.write_private_key(key_pem, signing.demo_private_key("adj1"))
    sig = openssl_sign_ed25519(canonical, key_pem)
    decision = {"approver": "adj1", "decision": "approve", "signed_at": at, "signature": sig}
    r = await running.temporal(
        "workflow", "update", "execute", "--workflow-id", wid, "--name", "decide",
        "--input", json.dumps(decision), "-o", "json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    approval = json.loads(r.stdout)["result"]
    assert approval["claim_id"] == claim_id
    assert [a["approver"] for a in approval["approvals"]] == ["adj1"]

    shown = await running.wait_stage(wid, "CLOSED")
    assert "PAID" in [h["stage"] for h in shown["history"]]
    payable = Decimal(shown["payable_amount"])
    assert payable > 0
    assert running.payments(claim_id) == [(f"{claim_id}:pay:1", payable)]

    # Visibility is eventually consistent: the search attribute follows shortly.
    found: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = await running.temporal(
            "workflow", "list", "--query", f"ClaimStage='CLOSED' AND WorkflowId='{wid}'",
            "-o", "json",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        found = [w["execution"]["workflowId"] for w in json.loads(r.stdout or "[]")]
        if found:
            break
        await asyncio.sleep(0.5)
    assert found == [wid]


# ---- b. the HTTP API with curl --------------------------------------------------------------


async def test_b_claim_started_and_signalled_over_the_http_api(running):
    claim_id = f"HTTP-{uuid.uuid4().hex[:8]}"
    wid = f"claim-{claim_id}"
    running.workflow_ids.append(wid)

    r = await running.curl(f"/workflows/{wid}", http_start(running.queue, report_json(claim_id)))
    assert r.returncode == 0, r.stderr
    body, code = r.stdout.rsplit("\n", 1)
    assert code == "200", r.stdout
    assert json.loads(body)["runId"]

    handle = running.client.get_workflow_handle(wid)
    status = await _wait_py(handle, "AWAITING_MATERIALS")
    assert status["received_materials"] == ["claim_form"]

    r = await running.curl(
        f"/workflows/{wid}/signal/submit_materials", {"input": [the_rest("claim_form")]}
    )
    assert r.returncode == 0, r.stderr
    body, code = r.stdout.rsplit("\n", 1)
    assert code == "200", r.stdout

    status = await _wait_py(handle, "PENDING_APPROVAL")
    assert status["missing_materials"] == []
    assert set(status["received_materials"]) == set(ALL_MEDICAL)

    # What an HTTP client reads: the status query, decoded by the codec server.
    shown = await running.http_status(wid)
    assert shown["stage"] == "PENDING_APPROVAL"
    assert shown["claim_id"] == claim_id
    assert shown["missing_materials"] == []


async def test_b_without_the_codec_server_answers_stay_encrypted(running):
    """What the README warns of: without `--codec-endpoint` a query prints ciphertext, and an
    update is applied although the CLI cannot read its answer."""
    claim_id = f"RAW-{uuid.uuid4().hex[:8]}"
    wid = f"claim-{claim_id}"
    running.workflow_ids.append(wid)
    report = report_json(claim_id, materials=the_rest()["materials"])
    r = await running.curl(f"/workflows/{wid}", http_start(running.queue, report))
    assert r.stdout.endswith("\n200"), r.stdout
    await running.wait_stage(wid, "PENDING_APPROVAL")

    r = await running.temporal(
        "workflow", "query", "--workflow-id", wid, "--name", "status", codec=False
    )
    assert r.returncode == 0, r.stderr
    assert "YmluYXJ5L2VuY3J5cHRlZA==" in r.stdout  # base64 of binary/encrypted
    assert claim_id not in r.stdout and "张三" not in r.stdout

    at = datetime.now(CST).replace(microsecond=0).isoformat()
    canonical = (
        f'{{"approver":"adj1","case_id":"{claim_id}","decision":"approve","signed_at":"{at}"}}'
    )
    key_pem = running.settings.data_dir / "adj1-demo.pem"
    signing.write_private_key(key_pem, signing.demo_private_key("adj1"))
    decision = {
        "approver": "adj1",
        "decision": "approve",
        "signed_at": at,
        "signature": openssl_sign_ed25519(canonical, key_pem),
    }
    r = await running.temporal(
        "workflow", "update", "execute", "--workflow-id", wid, "--name", "decide",
        "--input", json.dumps(decision), codec=False,
    )  # fmt: skip
    assert r.returncode == 1
    assert "payload encoding is not supported" in r.stdout + r.stderr
    shown = await running.wait_stage(wid, "CLOSED")
    assert [a["approver"] for a in shown["approvals"]] == ["adj1"]


async def _wait_py(handle: Any, stage: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: Any = None
    while time.monotonic() < deadline:
        status = await handle.query("status")
        if status["stage"] == stage:
            return status
        await asyncio.sleep(0.3)
    raise AssertionError(f"{handle.id} stuck in {status and status['stage']}, wanted {stage}")


# ---- c. one claim per id --------------------------------------------------------------------
#
# The `temporal` CLI (1.9.1, the Go SDK) never fails a start whose id is taken: it prints the
# existing run ("Running execution: ... RunId <the first run>") and exits 0, whatever
# --id-conflict-policy says. So it is one claim while it runs; once the claim is closed the
# CLI's default reuse policy (AllowDuplicate) WOULD start a second run under the same id, so
# integrators must pass `--id-reuse-policy RejectDuplicate` (then the old run is printed).
# The HTTP API does fail a duplicate start, with one JSON error naming it.


async def test_c_the_same_claim_id_twice_is_one_claim(running):
    claim_id = f"DUP-{uuid.uuid4().hex[:8]}"
    report = ClaimReport.model_validate(report_json(claim_id))
    first, started = await start_claim(running.client, report, running.queue)
    assert started
    second, again = await start_claim(running.client, report, running.queue)
    assert not again
    assert second.id == first.id == f"claim-{claim_id}"
    running.workflow_ids.append(first.id)
    run_id = (await first.describe()).run_id
    assert (await second.describe()).run_id == run_id
    await _wait_py(first, "AWAITING_MATERIALS")

    start = (
        "workflow", "start", "--type", "ClaimWorkflow", "--task-queue", running.queue,
        "--workflow-id", first.id, "--input", json.dumps(report_json(claim_id)),
        "--id-reuse-policy", "RejectDuplicate",
    )  # fmt: skip
    r = await running.temporal(*start, "--id-conflict-policy", "Fail")
    assert r.returncode == 0, r.stderr
    assert f"RunId       {run_id}" in r.stdout  # the claim that runs, not a new one

    r = await running.curl(
        f"/workflows/{first.id}", http_start(running.queue, report_json(claim_id))
    )
    body, code = r.stdout.rsplit("\n", 1)
    assert code == "409", r.stdout
    assert json.loads(body)["message"].startswith("Workflow execution is already running.")
    assert body.count("\n") == 0

    # Closed: the engine's client still finds it, and so does a RejectDuplicate CLI start.
    await first.terminate("test: closed")
    third, again = await start_claim(running.client, report, running.queue)
    assert not again and third.id == first.id
    r = await running.temporal(*start)
    assert r.returncode == 0, r.stderr
    assert f"RunId       {run_id}" in r.stdout
    r = await running.curl(
        f"/workflows/{first.id}", http_start(running.queue, report_json(claim_id))
    )
    body, code = r.stdout.rsplit("\n", 1)
    assert code == "409", r.stdout
    assert json.loads(body)["message"].startswith("Workflow execution already finished.")
    assert (await first.describe()).run_id == run_id
    runs: list[str] = []
    deadline = time.monotonic() + 20
    while not runs and time.monotonic() < deadline:  # visibility is eventually consistent
        runs = [w.run_id async for w in running.client.list_workflows(f"WorkflowId='{first.id}'")]
        await asyncio.sleep(0.3)
    assert runs == [run_id]


# ---- d. `claims schema` ---------------------------------------------------------------------

EXPECTED_KEYS = {
    "ClaimWorkflow.input",
    "ClaimWorkflow.signal.submit_materials",
    "ClaimWorkflow.signal.decision",
    "ClaimWorkflow.signal.complaint_filed",
    "ClaimWorkflow.signal.reopen_for_review",
    "ClaimWorkflow.update.decide",
    "ClaimWorkflow.update.decide.result",
    "ClaimWorkflow.update.convene_panel",
    "ClaimWorkflow.update.report_findings",
    "ClaimWorkflow.update.adjust",
    "ClaimWorkflow.update.appeal",
    "ClaimWorkflow.update.withdraw",
    "ClaimWorkflow.update.record_follow_up",
    "ClaimWorkflow.query.status",
    "ComplaintWorkflow.input",
    "ComplaintWorkflow.signal.claim_review_outcome",
    "ComplaintWorkflow.update.assign",
    "ComplaintWorkflow.update.record_findings",
    "ComplaintWorkflow.update.propose_resolution",
    "ComplaintWorkflow.update.approve_resolution",
    "ComplaintWorkflow.update.extend",
    "ComplaintWorkflow.update.pause",
    "ComplaintWorkflow.update.resume",
    "ComplaintWorkflow.update.new_facts",
    "ComplaintWorkflow.update.execute",
    "ComplaintWorkflow.update.callback",
    "ComplaintWorkflow.update.request_review",
    "ComplaintWorkflow.update.review_decision",
    "ComplaintWorkflow.update.close",
    "ComplaintWorkflow.query.status",
}
EXPECTED_MODELS = {
    "ClaimReport", "MaterialsSubmission", "Decision", "Adjustment", "Findings", "Assessment", "MaterialsRequest", "FollowUp", "ConvenePanel",
    "Appeal", "Withdrawal", "ClaimStatus", "ApprovalState", "ComplaintReport", "Assignment",
    "ComplaintFindings", "Resolution", "ResolutionApproval", "ClockChange", "Execution",
    "Callback", "ReviewRequest", "ReviewDecision", "CloseRequest", "ComplaintStatus",
    "ComplaintLink", "ClaimReviewRequest", "ClaimReviewOutcome", "CalendarUpdate",
}  # fmt: skip


def _schema_app() -> typer.Typer:
    t = typer.Typer()
    t.command("schema")(commands.schema.schema)
    return t


def test_d_claims_schema_prints_every_message():
    r = CliRunner().invoke(_schema_app(), [])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert EXPECTED_KEYS <= set(out)
    assert {s["title"] for s in out.values()} == EXPECTED_MODELS
    report = out["ClaimWorkflow.input"]
    assert "policy_no" in report["required"]
    assert report["additionalProperties"] is False
    assert out["ClaimWorkflow.query.status"]["title"] == "ClaimStatus"
    assert out["ClaimWorkflow.update.decide.result"]["title"] == "ApprovalState"
    # What comes out is described as written: decimals are strings.
    assert out["ClaimWorkflow.query.status"]["properties"]["amount_claimed"]["type"] == "string"


def test_d_schema_of_one_message_and_to_files(tmp_path):
    r = CliRunner().invoke(_schema_app(), ["ClaimWorkflow.signal.submit_materials"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert list(out) == ["ClaimWorkflow.signal.submit_materials"]
    assert out["ClaimWorkflow.signal.submit_materials"]["required"] == ["materials"]

    r = CliRunner().invoke(_schema_app(), ["--out", str(tmp_path / "schemas")])
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert files == sorted(f"{k}.json" for k in commands.schema.MODELS)
    decide = json.loads((tmp_path / "schemas" / "ClaimWorkflow.update.decide.json").read_text())
    assert decide["title"] == "Decision"


def test_d_unknown_schema_name_is_one_line_and_exit_1():
    r = CliRunner().invoke(_schema_app(), ["ClaimWorkflow.signal.nope"])
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0
    assert r.output.startswith("error: unknown message 'ClaimWorkflow.signal.nope'")


@pytest.mark.parametrize("defn", [ClaimWorkflow, ComplaintWorkflow])
def test_d_schema_names_match_the_workflow_definitions(defn):
    """MODELS is written out for readers; this keeps it true to the workflows' handlers."""
    d = temporal_workflow._Definition.must_from_class(defn)
    name = d.name
    # The input arrives as a RawValue so that a bad report can end NOT_ACCEPTED; its JSON is
    # the workflow's report model.
    expected = {f"{name}.input": defn.report_model, f"{name}.result": d.ret_type}
    assert d.arg_types[0] is RawValue
    for sig, s in d.signals.items():
        if sig is not None:
            expected[f"{name}.signal.{sig}"] = s.arg_types[0]
    for upd, u in d.updates.items():
        if upd is not None:
            expected[f"{name}.update.{upd}"] = u.arg_types[0]
            expected[f"{name}.update.{upd}.result"] = u.ret_type
    for q, qd in d.queries.items():
        if q is not None and not q.startswith("__"):
            expected[f"{name}.query.{q}"] = qd.ret_type
    mine = {k: m for k, (m, _) in commands.schema.MODELS.items() if k.startswith(f"{name}.")}
    assert mine == expected
