"""Helpers for driving a claim in tests: wait for a stage, read letters and payments."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import Session, select

from models.status import ClaimStatus
from models.tables import LetterRow, PaymentRow
from workflows.claim import ClaimWorkflow


def handle_for(client: Any, claim_id: str) -> Any:
    return client.get_workflow_handle_for(ClaimWorkflow.run, f"claim-{claim_id}")


async def status(client: Any, claim_id: str) -> ClaimStatus:
    return await handle_for(client, claim_id).query(ClaimWorkflow.status)


async def wait_stage(client: Any, claim_id: str, *stages: str, timeout: float = 20) -> ClaimStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            last = await status(client, claim_id)
            if last.stage in stages:
                return last
        except Exception:  # noqa: BLE001 - the workflow may not have run its first task yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"claim {claim_id} never reached {stages}; last: {last and last.stage}")


def letters(engine: Any, claim_id: str) -> list[LetterRow]:
    with Session(engine) as s:
        rows = s.exec(select(LetterRow).where(LetterRow.case_id == claim_id)).all()
        return sorted(rows, key=lambda r: r.sent_at)


def letter_kinds(engine: Any, claim_id: str) -> list[str]:
    return [r.kind for r in letters(engine, claim_id)]


def payments(engine: Any, claim_id: str) -> list[PaymentRow]:
    with Session(engine) as s:
        return list(s.exec(select(PaymentRow).where(PaymentRow.claim_id == claim_id)).all())
