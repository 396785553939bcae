"""The least a claim could do: six no-op activities in a row (coverage, materials, adjustment,
payment, letter, record). The yardstick the claim workflow is measured against."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
def noop(step: str) -> str:
    return step


@workflow.defn(name="BareSixActivities")
class BareSixActivities:
    @workflow.run
    async def run(self, claim_id: str) -> str:
        for step in ("coverage", "materials", "adjustment", "payment", "letter", "record"):
            await workflow.execute_activity(
                "bench_noop", step, start_to_close_timeout=timedelta(seconds=30)
            )
        return claim_id
