"""The local activities that only touch the engine's own database run on the worker's event
loop (worker.py ON_THE_LOOP); everything that sends, and every regular activity, runs in the
worker's thread pool, where a slow SMTP server, SMS gateway or payment rail holds one thread
and not the worker."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from temporalio import activity, workflow

from activities import activity_name
from activities.deliveries import DeliveryActivities
from activities.letters import LetterActivities
from activities.notices import NoticeActivities
from activities.payments import PaymentActivities
from activities.records import RecordActivities
from worker import ON_THE_LOOP, build_activities, build_worker


@activity.defn(name="sync_claim")
def loop_probe(_: str) -> str:
    return threading.current_thread().name


@activity.defn(name="send_letter_with_notice")
def pool_probe(_: str) -> str:
    return threading.current_thread().name


@workflow.defn(name="ThreadProbe")
class ThreadProbe:
    @workflow.run
    async def run(self, _: str) -> list[str]:
        timeout = timedelta(seconds=10)
        return [
            await workflow.execute_local_activity(
                "sync_claim", "x", start_to_close_timeout=timeout
            ),
            await workflow.execute_local_activity(
                "send_letter_with_notice", "x", start_to_close_timeout=timeout
            ),
            # the same name as a regular activity: the thread pool, as every regular one
            await workflow.execute_activity("sync_claim", "x", start_to_close_timeout=timeout),
        ]


def test_only_the_database_steps_run_on_the_loop(settings, engine):
    registered = {activity_name(fn) for fn in build_activities(settings, engine)}
    assert ON_THE_LOOP <= registered
    assert activity_name(RecordActivities.sync_claim) in ON_THE_LOOP
    senders = (
        DeliveryActivities.send_letter_with_notice,
        LetterActivities.send_letter,
        NoticeActivities.notify_claimant,
        NoticeActivities.send_notice,
        PaymentActivities.pay_claim,
        PaymentActivities.pay_compensation,
    )
    assert not ON_THE_LOOP & {activity_name(fn) for fn in senders}


async def test_a_database_step_runs_on_the_loop_and_a_sender_in_the_pool(dev_env, settings):
    client = dev_env.client
    queue = f"on-the-loop-{uuid.uuid4().hex[:8]}"
    worker = build_worker(
        client,
        settings,
        task_queue=queue,
        workflows=[ThreadProbe],
        activities=[loop_probe, pool_probe],
    )
    async with worker:
        names = await client.execute_workflow(
            ThreadProbe.run, "x", id=f"thread-probe-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
    loop_thread = threading.current_thread().name  # the test's event loop runs the worker
    assert names[0] == loop_thread
    assert names[1] != loop_thread and names[2] != loop_thread
