"""What the page does through Temporal: the same messages, by their contract names, that the
CLI sends (start ClaimWorkflow with a ClaimReport, signal `submit_materials`, update `appeal`,
start a ComplaintWorkflow naming the claim). Whatever stops a message (a refusal, an engine
that cannot be reached) comes back as `ActionRefused` with a one-line reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from client import ReportRefused, start_claim, start_complaint
from models.claim import Appeal, ClaimReport, Material, MaterialsSubmission
from models.complaint import ComplaintReport
from models.ids import claim_id_of, claim_workflow_id, complaint_id_of
from models.status import ClaimStatus
from models.validation import one_line, validation_message


class ActionRefused(Exception):
    """The engine did not take what the page sent; the message is one line. `unreachable`:
    the engine could not be asked (its error text is the server's, not for the claimant)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@contextmanager
def refusals() -> Iterator[None]:
    """The ways a message can fail, as one ActionRefused (the page shows its own words)."""
    try:
        yield
    except ReportRefused as err:
        raise ActionRefused(str(err)) from None
    except ValidationError as err:
        raise ActionRefused(validation_message(err)) from None
    except WorkflowUpdateFailedError as err:
        raise ActionRefused(one_line(str(err.cause or err))) from None
    except (RPCError, WorkflowQueryFailedError, TimeoutError, OSError, RuntimeError) as err:
        raise ActionRefused(one_line(str(err)) or type(err).__name__, unreachable=True) from None


class Messages:
    """The page's way to the engine: a client made on first use (so the page starts while
    Temporal is still coming up, and tries again after a failed connection) and the task
    queue new cases start on."""

    def __init__(self, connect: Callable[[], Awaitable[Client]], task_queue: str) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self.task_queue = task_queue

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.wait_for(self._connect(), timeout=10)
            return self._client

    async def report(self, report: ClaimReport) -> tuple[str, bool]:
        """Start the claim; the claim id and whether this call started it (the same form
        sent twice is one claim)."""
        with refusals():
            handle, started = await start_claim(await self.client(), report, self.task_queue)
        return claim_id_of(handle.id), started

    async def submit_materials(self, claim_id: str, materials: list[Material]) -> None:
        with refusals():
            client = await self.client()
            handle = client.get_workflow_handle(claim_workflow_id(claim_id))
            sub = MaterialsSubmission(materials=materials, submitted_by="claimant")
            await handle.signal("submit_materials", sub)

    async def appeal(self, claim_id: str, reason: str) -> None:
        with refusals():
            client = await self.client()
            handle = client.get_workflow_handle(claim_workflow_id(claim_id))
            await handle.execute_update(
                "appeal", Appeal(by="claimant", reason=reason), result_type=ClaimStatus
            )

    async def complain(self, claim_id: str, matter: str, remedy: str, category: str) -> str:
        """File a complaint about the claim, in the claimant's name and with their contact
        details as the claim holds them (its status query: the read model keeps them masked)."""
        with refusals():
            client = await self.client()
            handle = client.get_workflow_handle(claim_workflow_id(claim_id))
            st = await handle.query("status", result_type=ClaimStatus)
            report = ComplaintReport.model_validate(
                {
                    "channel": "web",
                    "complainant": {"name": st.claimant_name, "phone": st.claimant_phone},
                    "policy_no": st.policy_no,
                    "claim_id": claim_id,
                    "category": category,
                    "matter": matter,
                    "remedy_sought": remedy,
                }
            )
            complaint, _ = await start_complaint(client, report, self.task_queue)
        return complaint_id_of(complaint.id)
