"""The monthly complaint report (README "Archive"): the month before the run, counted on
Beijing time, written into the archive's reports folder with its digest in the manifest."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from audit.archive import MANIFEST
from models.archive import ComplaintReportRequest, Manifest, month_bounds, previous_month
from models.catalog import BUSINESS_TZ
from models.tables import ComplaintPaymentRow, ComplaintRow
from settings import Settings
from tests.conftest import Engine_, RecordingRail, end_workflows, per_test_client
from worker import build_worker
from workflows.archive import ComplaintReportWorkflow


@pytest.fixture
async def archiving(
    dev_env: WorkflowEnvironment, settings: Settings, engine: Engine, rail: RecordingRail
) -> AsyncIterator[Engine_]:
    """The engine's own worker, the archive's activities included, on the dev server."""
    client, started = per_test_client(dev_env)
    async with build_worker(client, settings, engine=engine, rail=rail):
        yield Engine_(client, settings, engine, rail, dev_env)
        await end_workflows(client, started)


@pytest.mark.parametrize(
    ("at", "month"),
    [
        (datetime(2026, 12, 1, 3, 0, tzinfo=BUSINESS_TZ), "2026-11"),
        (datetime(2026, 1, 1, 3, 0, tzinfo=BUSINESS_TZ), "2025-12"),
        # 00:30 on 1 March in Beijing is still February in UTC: the month is Beijing's
        (datetime(2026, 2, 28, 16, 30, tzinfo=UTC), "2026-02"),
        (datetime(2026, 3, 15, 12, 0, tzinfo=UTC), "2026-02"),
    ],
)
def test_the_monthly_report_covers_the_month_before_the_run(at: datetime, month: str) -> None:
    assert previous_month(at) == month


def test_a_month_runs_from_its_first_midnight_in_beijing() -> None:
    start, end = month_bounds("2025-12")
    assert start == datetime(2025, 11, 30, 16, 0, tzinfo=UTC)
    assert end == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)


def _complaint(engine: Engine, complaint_id: str, received: datetime, **fields: Any) -> None:
    with Session(engine) as s:
        s.add(
            ComplaintRow(
                complaint_id=complaint_id,
                stage=fields.pop("stage", "CLOSED"),
                channel="phone",
                complainant_name="张*",
                received_at=received.astimezone(UTC),
                updated_at=received.astimezone(UTC),
                status={},
                **fields,
            )
        )
        s.commit()


async def test_the_monthly_complaint_report_lands_in_the_archive(archiving: Engine_) -> None:
    cst = BUSINESS_TZ
    # the first and last moments of March 2025 in Beijing are in it; either side is not
    _complaint(
        archiving.engine,
        "CMP-A",
        datetime(2025, 3, 1, 0, 30, tzinfo=cst),
        category="materials",
        upheld=True,
    )
    _complaint(
        archiving.engine,
        "CMP-B",
        datetime(2025, 3, 31, 23, 30, tzinfo=cst),
        category="materials",
        upheld=False,
    )
    _complaint(
        archiving.engine,
        "CMP-C",
        datetime(2025, 3, 12, 10, 0, tzinfo=cst),
        category="service_attitude",
    )
    _complaint(archiving.engine, "CMP-D", datetime(2025, 4, 1, 0, 30, tzinfo=cst), category="other")
    _complaint(
        archiving.engine, "CMP-E", datetime(2025, 2, 28, 23, 30, tzinfo=cst), category="other"
    )
    with Session(archiving.engine) as s:
        s.add(
            ComplaintPaymentRow(
                complaint_id="CMP-A",
                seq=1,
                amount=Decimal("200.00"),
                payee="张*",
                account_ref="****1234",
                idempotency_key=f"cmp-a-{uuid.uuid4()}",
                reference="REF-1",
                paid_at=datetime(2025, 3, 20, 10, 0, tzinfo=UTC),
            )
        )
        s.commit()

    result = await archiving.client.execute_workflow(
        ComplaintReportWorkflow.run,
        ComplaintReportRequest(month="2025-03"),
        id=f"complaint-report-{uuid.uuid4()}",
        task_queue=archiving.task_queue,
    )
    path = archiving.settings.archive_dir / "reports" / "complaints-2025-03.json"
    assert (result.month, result.file, result.complaints) == ("2025-03", str(path), 3)
    data = path.read_bytes()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    report = json.loads(data)
    assert report["month"] == "2025-03"
    measures = report["measures"]
    assert measures["by_category"] == {"materials": 2, "service_attitude": 1}
    assert (measures["upheld"], measures["findings"]) == (1, 2)
    assert measures["by_month"] == {"2025-03": 3}
    assert (measures["compensation_paid"], measures["compensation_total"]) == (1, "200.00")
    manifest = Manifest.model_validate_json((path.parent / MANIFEST).read_bytes())
    assert [(f.file, f.sha256) for f in manifest.files] == [(path.name, result.sha256)]
