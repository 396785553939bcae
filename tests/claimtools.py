"""Helpers for driving a claim in tests: sign decisions, wait for a stage, read letters and
payments."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from temporalio.client import WorkflowHandle

import demo
import signing
from models.claim import Decision
from models.status import ClaimStatus
from models.tables import LetterRow, PaymentRow
from workflows.claim import ClaimWorkflow

_TIME_SKIPPING: dict[int, Any] = {}


def register_time_skipping(client: Any, env: Any) -> None:
    """Handles made for this client let time skip while a test awaits their result (the SDK
    does that only for handles returned by start_workflow)."""
    _TIME_SKIPPING[id(client)] = env


class _SkippingHandle(WorkflowHandle):
    _env: Any

    async def result(self, **kwargs: Any) -> Any:
        async with self._env.time_skipping_unlocked():
            return await super().result(**kwargs)


def handle_for(client: Any, claim_id: str, prefix: str = "claim", run: Any = None) -> Any:
    handle = client.get_workflow_handle_for(run or ClaimWorkflow.run, f"{prefix}-{claim_id}")
    env = _TIME_SKIPPING.get(id(client))
    if env is not None:
        handle.__class__ = _SkippingHandle
        handle._env = env
    return handle


async def case_time(handle: Any) -> datetime:
    """The case's clock: the time-skipping server's where time skips, else the wall clock."""
    env = _TIME_SKIPPING.get(id(handle._client))
    return await env.get_current_time() if env is not None else datetime.now(UTC)


async def signed(handle: Any, message: Any, at: datetime | str | None = None) -> Any:
    """The message signed by the person it names with their demo Ed25519 key (what cases
    begun since release 2026-12 verify), at the case's current time unless `at` is given."""
    key = signing.demo_private_key(message.signer)
    case_id = handle.id.split("-", 1)[1]
    return signing.sign_ed25519(message, case_id, key, at or await case_time(handle))


async def hmac_signed(handle: Any, message: Any, at: datetime | str | None = None) -> Any:
    """The same with the demo HMAC key (secret demo-<id>): cases begun before the release."""
    key = signing.parse_record(demo.demo_key_record(message.signer))[2]
    case_id = handle.id.split("-", 1)[1]
    return signing.sign(message, case_id, key, at or await case_time(handle))


# What another system runs: derive the key from the secret, sign the canonical form.
SIGN_SH = r"""
KEY=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt "pass:$SECRET" \
        -kdfopt "hexsalt:$SALT" -kdfopt "iter:$ITERATIONS" PBKDF2 | tr -d ':' | tr 'A-F' 'a-f')
printf '%s' "$CANONICAL" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" | sed 's/^.*= //'
"""


def openssl_sign(canonical: str, secret: str, salt: str, iterations: int) -> str:
    """The hex signature of a canonical form, computed by `openssl` in the shell."""
    env = {"SECRET": secret, "SALT": salt, "ITERATIONS": str(iterations), "CANONICAL": canonical}
    r = subprocess.run(["bash", "-c", SIGN_SH], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


# The same since release 2026-12: an Ed25519 signature by openssl over the canonical form (a
# file: `-rawin` signs a file, not a pipe), as hex.
SIGN_ED25519_SH = r"""
printf '%s' "$CANONICAL" > "$WORK/canonical"
openssl pkeyutl -sign -rawin -inkey "$KEY" -in "$WORK/canonical" -out "$WORK/signature"
od -An -tx1 -v "$WORK/signature" | tr -d ' \n'
"""


def openssl_sign_ed25519(canonical: str, key_pem: Path) -> str:
    """The hex Ed25519 signature of a canonical form by `openssl pkeyutl -sign -rawin`."""
    with tempfile.TemporaryDirectory() as work:
        env = {"CANONICAL": canonical, "KEY": str(key_pem), "WORK": work}
        r = subprocess.run(["bash", "-c", SIGN_ED25519_SH], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


async def decide(handle: Any, approver: str, decision: str, **kw: Any) -> Any:
    """A signed decision through update `decide`."""
    msg = await signed(handle, Decision(approver=approver, decision=decision, **kw))
    return await handle.execute_update(ClaimWorkflow.decide, msg)


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


async def wait_letter(engine: Any, claim_id: str, kind: str, timeout: float = 20) -> list[str]:
    """The letter kinds sent for a case once `kind` is among them (the letter activity may still
    be running when the status already shows the new stage)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        kinds = letter_kinds(engine, claim_id)
        if kind in kinds or asyncio.get_running_loop().time() > deadline:
            return kinds
        await asyncio.sleep(0.05)


def payments(engine: Any, claim_id: str) -> list[PaymentRow]:
    with Session(engine) as s:
        return list(s.exec(select(PaymentRow).where(PaymentRow.claim_id == claim_id)).all())


def task_kinds(st: Any) -> list[str]:
    """The kinds of a case's open tasks, without the calendar checks: those open wherever a
    deadline falls in a year the installed holiday calendar does not cover yet, so whether
    there is one depends on the day the tests run (tests/test_calendar.py tests them)."""
    return [t.kind for t in st.open_tasks if t.kind != "calendar_check"]
