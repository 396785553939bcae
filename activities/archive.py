"""The archive's activities: export closed cases' histories to the archive folder, and write
the monthly complaint report there (README "Archive"). Built once by the worker with its
Temporal client, settings and read model; both are idempotent (audit/archive.py writes each
file atomically and leaves one that already holds the same bytes), so a retry is harmless."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.client import Client

from audit.archive import archive_report, export_closed
from models.archive import (
    ComplaintReportResult,
    ExportRequest,
    ExportResult,
    MonthlyReportRequest,
    month_bounds,
)
from models.tables import ClaimRow, ComplaintPaymentRow, ComplaintRow
from readmodel.measures import COLUMNS, complaint_measures
from security.masking import mask_contact
from settings import Settings


class ArchiveActivities:
    def __init__(self, client: Client, settings: Settings, engine: Engine) -> None:
        self.client = client
        self.settings = settings
        self.engine = engine

    @activity.defn
    async def export_closed(self, request: ExportRequest) -> ExportResult:
        """The histories of this task queue's cases closed since the previous export and
        before `request.until`, one JSON file each, then the folder's manifest."""
        return await export_closed(
            self.client,
            root=self.settings.archive_dir,
            task_queue=self.settings.task_queue,
            until=request.until,
            heartbeat=activity.heartbeat,
        )

    @activity.defn
    def write_complaint_report(self, request: MonthlyReportRequest) -> ComplaintReportResult:
        """The complaint measures (DOMAIN §8.9, as `claims report complaints` computes them)
        of the complaints received in the month, China Standard Time, as
        `reports/complaints-YYYY-MM.json` in the archive."""
        rows, claims, paid = self._month(request.month)
        measures = complaint_measures(rows, claims, paid)
        # a complainant's key is their id number, phone or email: the report shows it masked
        measures["repeat_complainant_keys"] = [
            {**item, "key": mask_contact(item["key"])}
            for item in measures["repeat_complainant_keys"]
        ]
        report = {"month": request.month, "time_zone": "Asia/Shanghai", "measures": measures}
        data = (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode()
        name = f"complaints-{request.month}.json"
        entry = archive_report(self.settings.archive_dir, name, data)
        return ComplaintReportResult(
            month=request.month,
            file=str(self.settings.archive_dir / "reports" / name),
            complaints=measures["complaints"],
            sha256=entry.sha256,
        )

    def _month(self, month: str) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        """The month's complaints (received in it) as the report reads them, the claims
        reported in it, and the compensation paid in it."""
        # the read model holds UTC: compare with the month's bounds in UTC
        start, end = (at.astimezone(UTC) for at in month_bounds(month))

        def within(column: Any) -> Any:
            return (col(column) >= start) & (col(column) < end)

        with Session(self.engine) as s:
            complaints = s.exec(select(ComplaintRow).where(within(ComplaintRow.received_at)))
            rows = [{name: getattr(row, name) for name in COLUMNS} for row in complaints]
            reported = select(ClaimRow.claim_id).where(within(ClaimRow.reported_at))
            claims = len(s.exec(reported).all())
            payments = s.exec(
                select(ComplaintPaymentRow).where(within(ComplaintPaymentRow.paid_at))
            )
            paid = [
                {"complaint_id": p.complaint_id, "amount": p.amount, "paid_at": _iso(p.paid_at)}
                for p in payments
            ]
        return rows, claims, paid


def _iso(at: datetime) -> str:
    return at.isoformat()
