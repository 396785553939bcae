"""Timeouts and retry policies for every activity call, named in one place."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Temporal retries an activity whose worker died only when its start-to-close timeout expires,
# so these bound how long a case stands still after a worker crash. Each call takes
# milliseconds; an attempt that outlives its timeout is retried, which is safe because every
# activity is idempotent (a payment on its key, which the rail honours).
DB_TIMEOUT = timedelta(seconds=10)
LETTER_TIMEOUT = timedelta(seconds=10)
PAYMENT_TIMEOUT = timedelta(seconds=15)

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
