"""Activities, grouped by what they touch: the read model, rules, letters and payments.

Workflows call them by method reference (`workflow.execute_activity_method(
PaymentActivities.pay_claim, ...)`), and whatever needs the name an activity is registered and
recorded under (the audit trail reading a history) asks its definition with `activity_name`
rather than spelling it: histories keep these names, so they never change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity


def activity_name(fn: Callable[..., Any]) -> str:
    """The name `fn` is registered under, from its `@activity.defn`:
    `activity_name(RecordActivities.sync_claim) == "sync_claim"`."""
    name = activity._Definition.must_from_callable(fn).name
    if name is None:  # a dynamic activity answers to any name
        raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} is a dynamic activity: no name")
    return name
