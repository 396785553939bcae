"""Timeouts and retry policies for every activity call, named in one place."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

DB_TIMEOUT = timedelta(seconds=30)
LETTER_TIMEOUT = timedelta(seconds=60)
PAYMENT_TIMEOUT = timedelta(minutes=2)

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
# A payment is idempotent on its key, so retrying is safe; back off more gently.
PAYMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["PaymentRejected"],
)
