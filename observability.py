"""What an operations team watches: Prometheus metrics and OpenTelemetry traces of a worker.

`CLAIMS_METRICS_PORT` set: the worker serves `/metrics` on that port (all interfaces), with
  - the Temporal SDK's own metrics (`temporal_*`: task slots, polls, latencies, failures),
    exported by the SDK runtime on a loopback port of its own and served here with the rest;
  - the engine's (`claims_*`): cases started and closed, open cases by stage (read from the
    read model at each scrape), deadline steps by clock, payments and their amounts, refused
    decisions and signatures, activity failures.

The engine's figures are counted by an activity interceptor, never inside a workflow (whose
code must stay deterministic): from the audit events each projection write (`sync_claim`,
`sync_complaint`, and the one `send_letter_with_notice` may begin with) carries once it has
succeeded, each event once per worker.

`OTEL_EXPORTER_OTLP_ENDPOINT` set: workflows and activities are traced through
`temporalio.contrib.opentelemetry.TracingInterceptor`, exported over OTLP/HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import urllib.request
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities import activity_name
from activities.complaints import ComplaintActivities
from activities.deliveries import DeliveryActivities
from activities.records import RecordActivities
from models.records import AuditEventIn
from models.status import CLAIM_ENDED, COMPLAINT_ENDED, ClaimStage, ComplaintStage
from models.tables import ClaimRow, ComplaintRow
from settings import Settings

log = logging.getLogger("claims.observability")

CLOCK_STEPS = ("reminder", "escalation", "breach")
REFUSALS = ("decision_refused", "assessment_refused")
# yuan; a claim's payment runs from a few hundred to a few hundred thousand
AMOUNT_BUCKETS = (100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000)
SYNCS = {
    activity_name(RecordActivities.sync_claim): "claim",
    activity_name(ComplaintActivities.sync_complaint): "complaint",
}
# a claim's letter with its notice, which may begin with the claim's projection write
WITH_NOTICE = activity_name(DeliveryActivities.send_letter_with_notice)
FIRST_STAGE = {"claim": ClaimStage.REPORTED, "complaint": ComplaintStage.RECEIVED}
COUNTED_KEYS = 200_000  # audit events remembered as counted, newest kept


class EngineMetrics:
    """The engine's own metrics in a registry of their own (one per worker)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.started = Counter(
            "claims_cases_started", "Cases started, by type", ["type"], registry=r
        )
        self.closed = Counter(
            "claims_cases_closed",
            "Cases that reached an end stage, by type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.stage_changes = Counter(
            "claims_stage_changes",
            "Stage changes, by type and stage",
            ["type", "stage"],
            registry=r,
        )
        self.deadline_steps = Counter(
            "claims_deadline_steps",
            "Statutory clocks' reminders, escalations and breaches, by type, clock and step",
            ["type", "clock", "step"],
            registry=r,
        )
        self.payments = Histogram(
            "claims_payment_amount_yuan",
            "Payments made (claim settlements, complaint compensation) and their amounts",
            ["type"],
            buckets=AMOUNT_BUCKETS,
            registry=r,
        )
        self.paid = Counter(
            "claims_paid_yuan", "Money paid, in yuan, by type", ["type"], registry=r
        )
        self.refused = Counter(
            "claims_refused",
            "Refused decisions and signatures, by type, kind and channel (update or signal)",
            ["type", "kind", "via"],
            registry=r,
        )
        self.activity_failures = Counter(
            "claims_activity_failures",
            "Activity attempts that failed, by activity, error type and whether it was local",
            ["activity", "error", "local"],
            registry=r,
        )
        r.register(OpenCases(engine))
        self._counted: OrderedDict[tuple[str, int], None] = OrderedDict()

    def interceptor(self) -> Interceptor:
        return MetricsInterceptor(self)

    def count_sync(self, case_type: str, sync: Any) -> None:
        """Count the audit events of a projection write that succeeded, each once: a write
        that runs again (a lost workflow task) carries the same events, remembered here by
        case and sequence number. (A write run again on another worker counts twice there.)"""
        st = sync.status
        case_id = st.claim_id if case_type == "claim" else st.complaint_id
        for e in sync.events:
            key = (case_id, e.seq)
            if key in self._counted:
                continue
            self._counted[key] = None
            if len(self._counted) > COUNTED_KEYS:
                self._counted.popitem(last=False)
            self._count(case_type, st, e)

    def _count(self, case_type: str, st: Any, e: AuditEventIn) -> None:
        if e.kind == "stage":
            stage = str(e.data.get("stage", ""))
            self.stage_changes.labels(case_type, stage).inc()
            if stage == FIRST_STAGE[case_type]:
                self.started.labels(case_type).inc()
            if stage in (CLAIM_ENDED if case_type == "claim" else COMPLAINT_ENDED):
                self.closed.labels(case_type, _outcome(case_type, stage, st, e)).inc()
        elif e.kind.startswith("clock_") and e.kind[6:] in CLOCK_STEPS:
            clock = str(e.data.get("clock", ""))
            self.deadline_steps.labels(case_type, clock, e.kind[6:]).inc()
        elif e.kind == "paid" and "amount" in e.data:
            amount = float(Decimal(str(e.data["amount"])))
            self.payments.labels(case_type).observe(amount)
            self.paid.labels(case_type).inc(amount)
        elif e.kind in REFUSALS:
            self.refused.labels(case_type, e.kind, str(e.data.get("via", ""))).inc()


def _outcome(case_type: str, stage: str, st: Any, e: AuditEventIn) -> str:
    """A closed claim was paid or denied (or neither: closed without either); a complaint
    closes with its own outcome; the other end stages are their own outcome."""
    if stage not in (ClaimStage.CLOSED, ComplaintStage.CLOSED):
        return stage.lower()
    if case_type == "complaint":
        return str(e.data.get("outcome") or "closed").lower()
    if st.payments:
        return "paid"
    if any(h.stage == ClaimStage.DENIED for h in st.history):
        return "denied"
    return "closed"


class OpenCases(Collector):
    """`claims_open_cases{type,stage}`, read from the read model at each scrape. Every worker
    reports the same figures: aggregate them with max(), not sum()."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Metric]:
        return [GaugeMetricFamily("claims_open_cases", "Open cases by type and stage")]

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "claims_open_cases", "Open cases by type and stage", labels=["type", "stage"]
        )
        try:
            with Session(self.engine) as session:
                for case_type, table, ended in (
                    ("claim", ClaimRow, CLAIM_ENDED),
                    ("complaint", ComplaintRow, COMPLAINT_ENDED),
                ):
                    rows = session.exec(
                        select(table.stage, func.count())
                        .where(col(table.stage).not_in(ended))
                        .group_by(table.stage)
                    ).all()
                    for stage, n in rows:
                        gauge.add_metric([case_type, stage], n)
        except Exception:  # a scrape must answer even while the database does not
            log.exception("open cases: the read model did not answer")
        yield gauge


class _MetricsInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: EngineMetrics) -> None:
        super().__init__(next)
        self.metrics = metrics

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        try:
            result = await self.next.execute_activity(input)
        except BaseException as err:
            if not isinstance(err, asyncio.CancelledError):
                error = err.type if isinstance(err, ApplicationError) and err.type else None
                self.metrics.activity_failures.labels(
                    info.activity_type, error or type(err).__name__, str(info.is_local).lower()
                ).inc()
            raise
        case_type = SYNCS.get(info.activity_type)
        if case_type is not None and input.args:
            self.metrics.count_sync(case_type, input.args[0])
        elif info.activity_type == WITH_NOTICE and input.args and input.args[0].sync:
            self.metrics.count_sync("claim", input.args[0].sync)  # the write it began with
        return result


class MetricsInterceptor(Interceptor):
    def __init__(self, metrics: EngineMetrics) -> None:
        self.metrics = metrics

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _MetricsInbound(next, self.metrics)


class SdkMetrics(Collector):
    """The SDK runtime's Prometheus metrics, read from its loopback endpoint at each scrape
    and served with the engine's."""

    def __init__(self, address: str) -> None:
        self.url = f"http://{address}/metrics"

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310
                text = response.read().decode()
        except OSError:
            log.exception("the SDK's metrics endpoint did not answer")
            return []
        return list(text_string_to_metric_families(text))


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metrics_runtime(sdk_address: str) -> Runtime:
    """A runtime whose SDK metrics are exported in Prometheus format on `sdk_address`."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=sdk_address)))


def serve_metrics(settings: Settings, engine: Engine) -> EngineMetrics | None:
    """Start serving metrics on CLAIMS_METRICS_PORT (None when it is unset).

    Call before the first Temporal client is made: the SDK runtime with the Prometheus
    exporter becomes the process's default, which `client.connect` and the worker built on
    that client use.
    """
    if settings.metrics_port is None:
        return None
    sdk_address = f"127.0.0.1:{free_loopback_port()}"
    Runtime.set_default(metrics_runtime(sdk_address), error_if_already_set=True)
    metrics = EngineMetrics(engine)
    metrics.registry.register(SdkMetrics(sdk_address))
    start_http_server(settings.metrics_port, registry=metrics.registry)
    log.info("metrics on :%d/metrics", settings.metrics_port)
    return metrics


def tracing_interceptors(settings: Settings) -> list[Interceptor]:
    """The OpenTelemetry tracing interceptor when OTEL_EXPORTER_OTLP_ENDPOINT is set; it uses
    the global tracer provider (`setup_tracing`)."""
    if not settings.otel_endpoint:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    # workflow spans also for cases started by a caller that does not trace
    return [TracingInterceptor(always_create_workflow_spans=True)]


def setup_tracing(settings: Settings) -> None:
    """The global tracer provider, exporting over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
    (the exporter reads that and the other OTEL_EXPORTER_OTLP_* variables itself)."""
    if not settings.otel_endpoint:
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "claims-worker"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("traces to %s", settings.otel_endpoint)
