"""The worker: builds its clients once, registers the workflows and activities, runs.

`python worker.py` runs a worker alone against TEMPORAL_ADDRESS or a temporal.toml profile
(default 127.0.0.1:7233; README "Settings").
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    HandleQueryInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from activities import activity_name
from activities.archive import ArchiveActivities
from activities.complaints import ComplaintActivities
from activities.deliveries import DeliveryActivities
from activities.faults import with_faults
from activities.letters import LetterActivities
from activities.notices import NoticeActivities
from activities.payments import PaymentActivities, PaymentRail
from activities.records import RecordActivities
from activities.rules import RulesActivities
from activities.signatures import SignatureActivities
from client import connect, ensure_search_attributes, payload_codec, with_one_line_failures
from database import engine_for, upgrade_at_start
from models.arguments import SeveralArguments
from notify import SmtpUrlError, build_notifier, check_settings
from observability import EngineMetrics, serve_metrics, setup_tracing, tracing_interceptors
from portal.tokens import link_secret
from security.codec import PayloadKeyError, no_key_message
from security.log_masking import mask_logs
from settings import Settings, TemporalSettingsError, get_settings
from workflows.archive import ArchiveWorkflow, ComplaintReportWorkflow
from workflows.claim import ClaimWorkflow
from workflows.complaint import ComplaintWorkflow

WORKFLOWS = [ClaimWorkflow, ComplaintWorkflow, ArchiveWorkflow, ComplaintReportWorkflow]


def _several(args: Sequence[Any]) -> SeveralArguments | None:
    return next((a for a in args if isinstance(a, SeveralArguments)), None)


def _refused(several: SeveralArguments) -> ApplicationError:
    return ApplicationError(several.reason, type="InvalidMessage", non_retryable=True)


class _OneArgumentInbound(WorkflowInboundInterceptor):
    """A signal with several arguments is dropped, as one whose payload does not decode;
    an update or query with several is refused with one line. (A start with several ends
    NOT_ACCEPTED in the workflow itself.)"""

    async def handle_signal(self, input: HandleSignalInput) -> None:
        several = _several(input.args)
        if several is not None:
            workflow.logger.warning("signal %s dropped: %s", input.signal, several.reason)
            return
        await super().handle_signal(input)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        several = _several(input.args)
        if several is not None:
            raise _refused(several)
        return await super().handle_query(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        several = _several(input.args)
        if several is not None:
            raise _refused(several)
        super().handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        several = _several(input.args)  # an update without a validator
        if several is not None:
            raise _refused(several)
        return await super().handle_update_handler(input)


class OneArgument(Interceptor):
    """Every engine message is one argument (models/arguments.py). Workers and replayers
    both carry it, so that a history with such a message replays as it ran."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _OneArgumentInbound


INTERCEPTORS: tuple[Interceptor, ...] = (OneArgument(),)

# The local activities that only read or write the engine's own database, in a millisecond or
# two: they run on the worker's event loop, as the workflow code does. Handed to the thread pool
# and back, each cost the worker more than its own work (docs/benchmarks.md, the profile). None
# of them waits on anything but the database: the activities that send (letters with their
# notices, notices, payments: SMTP, an SMS gateway, a payment rail) and every regular activity
# keep the thread pool.
ON_THE_LOOP = frozenset(
    activity_name(fn)
    for fn in (
        RulesActivities.load_rules,
        RulesActivities.get_staff,
        RulesActivities.check_watch_list,
        SignatureActivities.verify_signature,
        SignatureActivities.check_signer,
        RecordActivities.sync_claim,
        ComplaintActivities.load_complaint_rules,
        ComplaintActivities.sync_complaint,
    )
)


class _OnTheLoopInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.is_local and info.activity_type in ON_THE_LOOP:
            return input.fn(*input.args)
        return await super().execute_activity(input)


class OnTheLoop(Interceptor):
    """Runs the local activities of ON_THE_LOOP on the event loop; innermost, so that the
    metrics and tracing interceptors see them as they see the others."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _OnTheLoopInbound(next)


def workflow_runner() -> UnsandboxedWorkflowRunner:
    """Workers and replayers run the workflows outside Temporal's sandbox.

    The sandbox guarded nothing here any more: the workflow modules were passed through it
    (imported once, not again for every case), and a passed-through module reads the real
    clock and does real I/O unstopped. What guards them is tests/test_workflow_code.py, which
    reads their source for clocks, randomness, I/O and module state. What the sandbox still
    cost was an activation of its own for every workflow task and local activity, and a run
    of its code for every payload it encrypted or decoded: about a sixth of the claims
    worker's time (docs/benchmarks.md, the profile)."""
    return UnsandboxedWorkflowRunner()


log = logging.getLogger("claims.worker")


def build_activities(
    settings: Settings,
    engine: Engine,
    rail: PaymentRail | None = None,
    client: Client | None = None,
) -> list[Callable[..., Any]]:
    """The engine's activities; with `client`, the archive's too (they read histories)."""
    rules = RulesActivities(engine)
    records = RecordActivities(engine)
    letters = LetterActivities(engine, settings.letters_dir)
    payments = PaymentActivities(engine, rail)
    notices = NoticeActivities(build_notifier(settings, engine), link_secret=link_secret(settings))
    complaints = ComplaintActivities(engine)
    signatures = SignatureActivities(engine)
    deliveries = DeliveryActivities(letters, notices, records)
    activities: list[Callable[..., Any]] = [
        complaints.load_complaint_rules,
        complaints.sync_complaint,
        rules.load_rules,
        rules.get_staff,
        rules.check_watch_list,
        signatures.verify_signature,
        signatures.check_signer,
        records.sync_claim,
        letters.send_letter,
        payments.pay_claim,
        payments.pay_compensation,
        notices.send_notice,
        notices.notify_claimant,
        deliveries.send_letter_with_notice,
    ]
    if client is not None:
        archive = ArchiveActivities(client, settings, engine)
        activities += [archive.export_closed, archive.write_complaint_report]
    # The fault switch (a testing aid, off unless CLAIMS_FAULT_RATE is set) wraps every
    # activity registered here, local activities included.
    return with_faults(activities, settings.fault_rate, settings.fault_seed)


def build_worker(
    client: Client,
    settings: Settings,
    *,
    engine: Engine | None = None,
    rail: PaymentRail | None = None,
    task_queue: str | None = None,
    activities: Sequence[Callable[..., Any]] | None = None,
    interceptors: Sequence[Interceptor] = (),
    workflows: list[type] | None = None,
    metrics: EngineMetrics | None = None,
) -> Worker:
    """The engine's worker; `workflows` and `activities` replace the engine's own (tests, and
    the benchmark's yardstick, which must run under exactly these settings). With `metrics`
    its activities are counted (observability.py); with OTEL_EXPORTER_OTLP_ENDPOINT set its
    workflows and activities are traced."""
    observing = [*tracing_interceptors(settings)]
    if metrics is not None:
        observing.append(metrics.interceptor())
    return Worker(
        with_one_line_failures(client),
        task_queue=task_queue or settings.task_queue,
        workflows=workflows if workflows is not None else WORKFLOWS,
        activities=activities
        if activities is not None
        else build_activities(settings, engine or engine_for(settings.db_url), rail, client),
        # activities and local activities share the thread pool (but for ON_THE_LOOP's)
        activity_executor=ThreadPoolExecutor(max_workers=2 * settings.activity_slots),
        max_concurrent_activities=settings.activity_slots,
        max_concurrent_local_activities=settings.activity_slots,
        max_concurrent_workflow_tasks=settings.workflow_task_slots,
        max_cached_workflows=settings.cached_workflows,
        interceptors=[*INTERCEPTORS, *observing, *interceptors, OnTheLoop()],
        workflow_runner=workflow_runner(),
    )


PLAIN_PAYLOADS = "payloads NOT encrypted (CLAIMS_PAYLOAD_ENCRYPTION=off)"


def payload_protection(settings: Settings) -> str:
    """How this worker writes payloads, in words for its status lines. Fails closed: without
    a payload key it refuses (PayloadKeyError, one line saying how to make or point at a key)
    unless CLAIMS_PAYLOAD_ENCRYPTION=off."""
    codec = payload_codec(settings)
    if codec is not None and codec.encrypts:
        return f"payloads encrypted (AES-GCM, active key {codec.active_kid})"
    if settings.payload_encryption:
        raise PayloadKeyError(no_key_message(settings.key_file))
    return PLAIN_PAYLOADS


def settle_collector() -> None:
    """For a worker about to run for weeks: what starting made (modules, models' schemas, the
    engine) is set aside from the cyclic garbage collector's passes (`gc.freeze`), so a full
    pass walks the cases' objects only. With 500 claims through one worker it cut the time
    spent collecting by about a fifth (1.7 s to 1.3 s), the full passes' by 40 %. The
    thresholds stay Python's: collecting the youngest generation less often let evicted
    cases' garbage pile up (470 MB instead of 250 MB with 5,000 claims waiting)."""
    gc.collect()
    gc.freeze()


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    payloads = payload_protection(settings)  # before anything starts
    check_settings(settings)
    if not settings.payload_encryption:
        log.warning("%s: histories hold personal data in clear", payloads)
    log.info("read model %s", upgrade_at_start(settings.db_url))
    engine = engine_for(settings.db_url)
    # before the client: the SDK's metrics come from the runtime the client is made with
    metrics = serve_metrics(settings, engine)
    setup_tracing(settings)
    client = await connect(settings)
    added = await ensure_search_attributes(client, settings.namespace)
    if added:
        log.info("registered search attributes: %s", ", ".join(added))
    worker = build_worker(client, settings, engine=engine, metrics=metrics)
    if settings.fault_rate:
        log.warning("fault switch on: %.0f %% of activity calls fail", 100 * settings.fault_rate)
    log.info(
        "worker on %s namespace=%s task_queue=%s %s",
        settings.address,
        settings.namespace,
        settings.task_queue,
        payloads,
    )
    settle_collector()
    if stop is None:
        await worker.run()
        return
    async with worker:
        await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    mask_logs()  # id numbers and phones never reach the log in full
    try:
        asyncio.run(run_worker(get_settings()))
    except KeyboardInterrupt:
        pass
    except (PayloadKeyError, TemporalSettingsError, SmtpUrlError) as exc:  # unusable: one line
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
