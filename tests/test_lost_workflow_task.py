"""Local activities run again when their workflow task is lost (a worker crash, a task timeout
on an overloaded worker). Everything they do must be safe to repeat: the claim's own records
are not mistaken for an earlier report, and nothing is written twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.worker import (
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from client import start_claim
from tests.claimtools import handle_for, letter_kinds, payments, wait_stage
from tests.conftest import end_workflows, per_test_client
from tests.factories import medical_report
from worker import build_activities, build_worker

_LOST: set[str] = set()  # workflows whose first payment command was lost once


class _LoseFirstPaymentTask(Interceptor):
    """Fails the workflow task that would schedule a claim's first payment, once: by then the
    task has run its local activities (rules, letters, projection writes)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                class Outbound(WorkflowOutboundInterceptor):
                    def start_activity(self, input: StartActivityInput) -> Any:
                        wid = workflow.info().workflow_id
                        if input.activity == "pay_claim" and wid not in _LOST:
                            _LOST.add(wid)
                            raise RuntimeError("workflow task lost (test)")
                        return super().start_activity(input)

                super().init(Outbound(outbound))

        return Inbound


async def test_a_lost_workflow_task_repeats_its_local_activities_harmlessly(
    dev_env, settings, engine, rail
):
    client, started = per_test_client(dev_env)
    worker = build_worker(
        client,
        settings,
        engine=engine,
        activities=build_activities(settings, engine, rail),
        interceptors=[_LoseFirstPaymentTask()],
    )
    report = medical_report()
    async with worker:
        await start_claim(client, report, settings.task_queue)
        st = await wait_stage(client, report.claim_id, "CLOSED", "NOT_ACCEPTED", timeout=60)
    history = await handle_for(client, report.claim_id).fetch_history()
    await end_workflows(client, started)

    failed = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed, "the workflow task was never lost: the test did not test anything"
    assert st.stage == "CLOSED", st.not_accepted_reason
    # (1,800 - 500 deductible) x 80 %, paid once
    assert [p.amount for p in payments(engine, report.claim_id)] == [Decimal("1040.00")]
    assert sorted(letter_kinds(engine, report.claim_id)) == [
        "acknowledgement",
        "decision",
        "payment",
    ]
