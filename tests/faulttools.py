"""Helpers for the fault tests: many fast-track claims at once, worker processes, and the one
check every fault test ends with (each claim closed, paid once, one of each letter)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from client import start_claim
from models.claim import ClaimReport
from models.tables import AuditEventRow, ClaimRow, LetterRow, PaymentRow, PolicyRow
from tests.claimtools import status
from tests.factories import medical_report

ROOT = Path(__file__).resolve().parent.parent
FAST_TRACK_LETTERS = ["acknowledgement", "decision", "payment"]
FAST_TRACK_PAID = Decimal("1040.00")


def fast_track_claims(
    engine: Engine, n: int, prefix: str = "F", fixed_ids: bool = False
) -> list[ClaimReport]:
    """n fast-track claims, each on a policy and insured of its own: one insured claiming n
    times would trip the frequency rule and send the claims to investigation. Fixed ids
    (`<prefix>-00000`, ...) make seeded faults repeatable; each test needs its own prefix."""
    reports = []
    with Session(engine) as s:
        base = s.get(PolicyRow, "P-MED-0001")
        assert base is not None
        for i in range(n):
            policy_no, id_no = f"P-{prefix}-{i:05d}", f"{prefix}{i:017d}"[-18:]
            s.merge(
                PolicyRow(**{**base.model_dump(), "policy_no": policy_no, "insured_id_no": id_no})
            )
            reports.append(
                medical_report(
                    policy_no=policy_no,
                    claimant={"name": "测试", "id_no": id_no, "phone": "1"},
                    **({"claim_id": f"{prefix}-{i:05d}"} if fixed_ids else {}),
                )
            )
        s.commit()
    return reports


async def start_all(client: Client, reports: list[ClaimReport], task_queue: str) -> None:
    await asyncio.gather(*[start_claim(client, r, task_queue) for r in reports])


def worker_process(
    log: Path, address: str, data_dir: Path, task_queue: str, **env: str
) -> subprocess.Popen[bytes]:
    """`python worker.py` as its own process, its output in `log`."""
    environ = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "CLAIMS_DATA_DIR": str(data_dir),
        "CLAIMS_TASK_QUEUE": task_queue,
        **env,
    }
    if "CLAIMS_DATABASE_URL" not in env:
        environ.pop("CLAIMS_DATABASE_URL", None)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")], env=environ, stdout=out, stderr=out
        )


async def pollers(client: Client, task_queue: str) -> set[str]:
    """Identities of the workers polling the activity queue."""
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return {p.identity for p in described.pollers}


async def wait_for(what: str, check: Any, timeout: float, every: float = 0.1) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def count_paid(engine: Engine, claim_ids: list[str]) -> int:
    with Session(engine) as s:
        rows = s.exec(select(PaymentRow.claim_id).where(PaymentRow.claim_id.in_(claim_ids)))  # type: ignore[attr-defined]
        return len(set(rows.all()))


def stages(engine: Engine, claim_ids: list[str]) -> Counter[str]:
    with Session(engine) as s:
        rows = s.exec(select(ClaimRow.stage).where(ClaimRow.claim_id.in_(claim_ids)))  # type: ignore[attr-defined]
        return Counter(rows.all())


async def wait_all_closed(engine: Engine, claim_ids: list[str], timeout: float) -> None:
    """Every claim CLOSED in the read model (its last write, after the payment letter)."""
    last: Counter[str] = Counter()

    def all_closed() -> bool:
        nonlocal last
        last = stages(engine, claim_ids)
        return last["CLOSED"] == len(claim_ids)

    try:
        await wait_for("every claim to close", all_closed, timeout, every=0.25)
    except AssertionError as err:
        raise AssertionError(f"{err}; stages now {dict(last)}") from None


async def assert_each_closed_and_paid_once(
    client: Client, engine: Engine, claim_ids: list[str]
) -> None:
    """Each claim CLOSED by its workflow, after PAID; one ledger row with the claim's key,
    one payment event and one of each letter."""
    statuses = await asyncio.gather(*[status(client, cid) for cid in claim_ids])
    for cid, st in zip(claim_ids, statuses, strict=True):
        assert st.stage == "CLOSED", (cid, st.stage)
        assert "PAID" in [h.stage for h in st.history], cid
        assert st.payable_amount == FAST_TRACK_PAID, cid
    with Session(engine) as s:
        ledger = s.exec(select(PaymentRow).where(PaymentRow.claim_id.in_(claim_ids))).all()  # type: ignore[attr-defined]
        letters = s.exec(select(LetterRow).where(LetterRow.case_id.in_(claim_ids))).all()  # type: ignore[attr-defined]
        paid_events = s.exec(
            select(AuditEventRow.case_id).where(
                AuditEventRow.case_id.in_(claim_ids),  # type: ignore[attr-defined]
                AuditEventRow.kind == "paid",
            )
        ).all()
    assert sorted((p.claim_id, p.idempotency_key, p.amount) for p in ledger) == sorted(
        (cid, f"{cid}:pay:1", FAST_TRACK_PAID) for cid in claim_ids
    )
    kinds: dict[str, list[str]] = {cid: [] for cid in claim_ids}
    for row in letters:
        kinds[row.case_id].append(row.kind)
    assert {cid: sorted(k) for cid, k in kinds.items()} == {
        cid: FAST_TRACK_LETTERS for cid in claim_ids
    }
    assert Counter(paid_events) == Counter(claim_ids)
