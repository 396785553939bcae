"""A testing aid: make a share of activity calls fail with a retryable error.

`CLAIMS_FAULT_RATE=0.3` makes 30 % of the worker's activity calls (database, letters, payments,
rule look-ups; local activities too, since they are the same callables) raise. Half of the
faults strike before the activity does its work, half after it has done and committed it, so a
run with faults shows that every activity is safe to retry: the cases end as they would without
faults and nothing is written twice. `CLAIMS_FAULT_SEED` makes the choice repeatable: it then
depends only on the seed, the workflow, the activity and the attempt, not on timing.

Never set it in production.
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import activity_name

FAULT_TYPE = "InjectedFault"
log = logging.getLogger("claims.faults")


class FaultSwitch:
    def __init__(self, rate: float, seed: int | None = None) -> None:
        self.rate = rate
        self.seed = seed

    def _draw(self) -> float:
        if self.seed is None:
            return random.random()
        info = activity.info()
        key = f"{self.seed}:{info.workflow_id}:{info.activity_id}:{info.attempt}"
        return random.Random(key).random()

    def before(self) -> float:
        """Draw once per call; raise now if the draw falls in the first half of the rate."""
        draw = self._draw()
        if draw < self.rate / 2:
            self._raise("before the work")
        return draw

    def after(self, draw: float) -> None:
        if draw < self.rate:
            self._raise("after the work was done")

    @staticmethod
    def _raise(when: str) -> None:
        info = activity.info()
        message = f"injected fault {when} in {info.activity_type} (attempt {info.attempt})"
        log.warning("%s of %s", message, info.workflow_id)
        raise ApplicationError(message, type=FAULT_TYPE)

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """The same activity (name, argument and result types) with faults injected."""
        name = activity_name(fn)
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn, updated=())
            async def faulty_async(*args: Any) -> Any:
                draw = self.before()
                result = await fn(*args)
                self.after(draw)
                return result

            return activity.defn(name=name)(faulty_async)

        @functools.wraps(fn, updated=())
        def faulty(*args: Any) -> Any:
            draw = self.before()
            result = fn(*args)
            self.after(draw)
            return result

        return activity.defn(name=name)(faulty)


def with_faults(
    activities: list[Callable[..., Any]], rate: float, seed: int | None = None
) -> list[Callable[..., Any]]:
    """Wrap every activity in the fault switch; a rate of 0 returns them unchanged."""
    if rate <= 0:
        return activities
    switch = FaultSwitch(rate, seed)
    return [switch.wrap(fn) for fn in activities]
