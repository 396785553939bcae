"""What operations watch: `python worker.py` with CLAIMS_METRICS_PORT serves the SDK's and the
engine's Prometheus metrics, and they move as claims run; OpenTelemetry spans for a claim's
workflow and activities when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import RetryPolicy
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.exceptions import ApplicationError

import demo
from client import start_claim, start_complaint
from database import make_engine
from models.claim import Decision
from models.tables import PolicyRow
from observability import EngineMetrics, free_loopback_port
from tests.claimtools import decide, handle_for, payments, signed, status, wait_stage
from tests.conftest import end_workflows, per_test_client
from tests.factories import LI, medical_report
from tests.test_calendar import _late_claim, cst
from tests.test_complaint_workflow import complaint
from worker import build_activities, build_worker
from workflows.claim import ClaimWorkflow

ROOT = Path(__file__).resolve().parent.parent

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> tuple[Samples, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, text


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def _open(samples: Samples, stage: str) -> float:
    return value(samples, "claims_open_cases", type="claim", stage=stage)


async def scraped(port: int, ready: Callable[[Samples], bool], timeout: float = 30) -> Samples:
    """The metrics once `ready` holds of them (or as they are after `timeout` seconds)."""
    samples = scrape(port)[0]
    for _ in range(int(timeout / 0.1)):
        if ready(samples):
            break
        await asyncio.sleep(0.1)
        samples = scrape(port)[0]
    return samples


def _human_report(amount: str = "8000.00", **kw):
    # (8000 - 500) x 80% = 6000.00: above the fast-track limit, so a person decides
    return medical_report(
        amount_claimed=Decimal(amount),
        items=[{"category": "treatment", "description": "治疗费", "amount": amount}],
        **kw,
    )


SECOND_POLICY = "P-MED-0002"


def second_policy(engine) -> None:
    """The demo's medical policy again, insured 李四."""
    with Session(engine) as session:
        first = session.get(PolicyRow, "P-MED-0001")
        assert first is not None
        data = first.model_dump()
        data.update(policy_no=SECOND_POLICY, insured_name=LI["name"], insured_id_no=LI["id_no"])
        session.add(PolicyRow(**data))
        session.commit()


async def test_the_worker_serves_metrics_that_move_as_claims_run(dev_env, tmp_path):
    data_dir = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data_dir / 'claims.db'}")
    demo.load(engine)
    second_policy(engine)
    port = free_loopback_port()
    task_queue = f"claims-metrics-{uuid.uuid4()}"
    client, started = per_test_client(dev_env)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "CLAIMS_DATA_DIR": str(data_dir),
            "CLAIMS_TASK_QUEUE": task_queue,
            "CLAIMS_METRICS_PORT": str(port),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        before = None
        for _ in range(150):
            try:
                before, _ = scrape(port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        assert before is not None, "no /metrics"
        assert total(before, "claims_cases_started_total") == 0

        paid = medical_report()  # fast track: 1040.00 paid, closed
        await start_claim(client, paid, task_queue)
        unknown = medical_report(policy_no="P-NOPE-9999")  # not accepted
        await start_claim(client, unknown, task_queue)
        # on a policy of their own: a third claim in 12 months would be investigated (R03)
        denied = _human_report(policy_no=SECOND_POLICY, claimant=dict(LI))
        await start_claim(client, denied, task_queue)
        # received in January: its clocks breach as it is entered
        late = _late_claim(policy_no=SECOND_POLICY, claimant=dict(LI))
        await start_claim(client, late, task_queue)
        late_complaint = complaint(channel="regulator", received_at=cst(2026, 9, 20, 9).isoformat())
        await start_complaint(client, late_complaint, task_queue)

        await wait_stage(client, paid.claim_id, "CLOSED", timeout=60)
        await wait_stage(client, unknown.claim_id, "NOT_ACCEPTED", timeout=60)
        await wait_stage(client, denied.claim_id, "PENDING_APPROVAL", timeout=60)
        handle = handle_for(client, denied.claim_id)
        await wait_stage(client, late.claim_id, "PENDING_APPROVAL", timeout=60)
        # the status query can answer before the write of the projection: wait for it
        mid = await scraped(port, lambda m: _open(m, "PENDING_APPROVAL") == 2)
        assert _open(mid, "PENDING_APPROVAL") == 2

        # a decision by someone who may not decide: refused (update), recorded (signal)
        with pytest.raises(WorkflowUpdateFailedError):
            await decide(handle, "nobody", "approve")
        await handle.signal(
            ClaimWorkflow.decision_signal,
            await signed(handle, Decision(approver="inv1", decision="approve")),
        )
        for _ in range(100):
            if (await status(client, denied.claim_id)).refused_decisions:
                break
            await asyncio.sleep(0.1)
        await decide(handle, "sup1", "reject", clause="MED-2.2", note="既往症未如实告知")
        await wait_stage(client, denied.claim_id, "DENIAL_NOTIFIED", timeout=60)

        cases = (paid, unknown, denied, late)
        ledger: list[Decimal] = []

        def settled(m: Samples) -> bool:  # every write done and counted
            ledger[:] = [p.amount for c in cases for p in payments(engine, c.claim_id)]
            complaint_breach = {"type": "complaint", "clock": "complaint", "step": "breach"}
            return (
                _open(m, "DENIAL_NOTIFIED") == 1
                and _open(m, "PENDING_APPROVAL") == 1
                and value(m, "claims_payment_amount_yuan_count", type="claim") == len(ledger)
                and value(m, "claims_deadline_steps_total", **complaint_breach) == 1
            )

        after = await scraped(port, settled)
        text = scrape(port)[1]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        sys.stdout.write(out)  # shown when the test fails
        await end_workflows(client, started)
    assert proc.returncode in (0, -15), out

    # cases started and closed, by type and outcome
    assert value(after, "claims_cases_started_total", type="claim") == 4
    assert value(after, "claims_cases_started_total", type="complaint") == 1
    assert value(after, "claims_cases_closed_total", type="claim", outcome="paid") == 1
    assert value(after, "claims_cases_closed_total", type="claim", outcome="not_accepted") == 1
    assert value(after, "claims_stage_changes_total", type="claim", stage="DENIED") == 1
    # open cases by stage, from the read model
    assert value(after, "claims_open_cases", type="claim", stage="DENIAL_NOTIFIED") == 1
    assert value(after, "claims_open_cases", type="claim", stage="PENDING_APPROVAL") == 1
    assert total(after, "claims_open_cases") == 3  # the denied, the late claim, the complaint
    # deadline steps by clock
    for step in ("reminder", "escalation", "breach"):
        labels = {"type": "claim", "clock": "determination", "step": step}
        assert value(after, "claims_deadline_steps_total", **labels) == 1
    assert (
        value(
            after, "claims_deadline_steps_total", type="complaint", clock="complaint", step="breach"
        )
        == 1
    )
    # payments and their amounts
    # payments and their amounts: as in the ledger (the fast track's 1040.00 among them)
    assert Decimal("1040.00") in ledger
    assert value(after, "claims_payment_amount_yuan_count", type="claim") == len(ledger)
    assert value(after, "claims_payment_amount_yuan_sum", type="claim") == float(sum(ledger))
    assert value(after, "claims_paid_yuan_total", type="claim") == float(sum(ledger))
    # the refused signal is counted; a refused update leaves no event and is not
    assert (
        value(after, "claims_refused_total", type="claim", kind="decision_refused", via="signal")
        == 1
    )
    # no activity failed
    assert total(after, "claims_activity_failures_total") == 0
    # the SDK runtime's own metrics, on the same port
    assert total(after, "temporal_workflow_completed_total") >= 1 or any(
        n.startswith("temporal_workflow_task_") for n, _ in after
    ), text
    assert total(after, "temporal_request_total") > total(before, "temporal_request_total")
    assert "metrics on :" in out


def _tracer_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # the global one, as setup_tracing sets it
    return provider, exporter


async def test_a_claim_is_traced_when_an_otlp_endpoint_is_set(dev_env, settings, engine, rail):
    _, exporter = _tracer_provider()
    traced = settings.model_copy(update={"otel_endpoint": "http://127.0.0.1:4318"})
    client, started = per_test_client(dev_env)
    # a caller that traces too: the case's spans join the trace of its start
    config = client.config()
    config["interceptors"] = [*config["interceptors"], TracingInterceptor()]
    client = Client(**config)
    worker = build_worker(
        client, traced, engine=engine, activities=build_activities(traced, engine, rail)
    )
    report = medical_report()
    async with worker:
        await start_claim(client, report, traced.task_queue)
        await wait_stage(client, report.claim_id, "CLOSED", timeout=60)
        await end_workflows(client, started)
    spans = exporter.get_finished_spans()
    names = {s.name for s in spans}
    assert "RunWorkflow:ClaimWorkflow" in names, names
    assert "RunActivity:pay_claim" in names, names
    assert "RunActivity:sync_claim" in names, names
    ids = {s.attributes.get("temporalWorkflowID") for s in spans if s.attributes}
    assert f"claim-{report.claim_id}" in ids
    # one trace, begun by the caller's start: the workflow's spans and its activities'
    start = next(s for s in spans if s.name == "StartWorkflow:ClaimWorkflow")
    for name in ("RunWorkflow:ClaimWorkflow", "RunActivity:pay_claim", "RunActivity:sync_claim"):
        assert {s.context.trace_id for s in spans if s.name == name} == {start.context.trace_id}


_attempts: dict[str, int] = {}


@activity.defn(name="flaky_step")
def flaky_step(key: str) -> str:
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] == 1:
        raise ApplicationError("the first attempt fails", type="FirstAttempt")
    return "done"


@workflow.defn(name="FlakyWorkflow", sandboxed=False)
class FlakyWorkflow:
    @workflow.run
    async def run(self, key: str) -> str:
        remote = await workflow.execute_activity(
            flaky_step, key, start_to_close_timeout=timedelta(seconds=10), retry_policy=QUICK
        )
        local = await workflow.execute_local_activity(
            flaky_step,
            key + "-local",
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=QUICK,
        )
        return remote + local


QUICK = RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=3)


async def test_activity_failures_are_counted_by_activity_error_and_kind(dev_env, settings, engine):
    metrics = EngineMetrics(engine)
    client, started = per_test_client(dev_env)
    worker = build_worker(
        client,
        settings,
        engine=engine,
        workflows=[FlakyWorkflow],
        activities=[flaky_step],
        metrics=metrics,
    )
    key = str(uuid.uuid4())
    async with worker:
        result = await client.execute_workflow(
            FlakyWorkflow.run, key, id=f"flaky-{key}", task_queue=settings.task_queue
        )
    assert result == "donedone"
    for local in ("false", "true"):
        labels = {"activity": "flaky_step", "error": "FirstAttempt", "local": local}
        assert metrics.registry.get_sample_value("claims_activity_failures_total", labels) == 1
