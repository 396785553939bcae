"""The archive's messages and its manifest: the nightly export of closed cases' histories and
the monthly complaint report (workflows/archive.py, activities/archive.py, audit/archive.py).

Times are aware UTC datetimes on the wire; folder names and months are China Standard Time,
the business calendar of every report (models/catalog.py BUSINESS_TZ)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from models.catalog import BUSINESS_TZ

MANIFEST_FORMAT = "claims-archive/1"


# Visibility records a case's close moments after it happens (longer on a busy cluster): an
# export lists the cases closed before `until` only this long after it, so that none closed
# just before is missed, for the next export starts at `until`.
VISIBILITY_SETTLE = timedelta(minutes=1)


class ArchiveRequest(BaseModel):
    """The nightly export's input. `until` unset: the time the schedule meant the run for
    (a manual start: the workflow's start). The export waits until `until + settle`."""

    until: datetime | None = None
    settle: timedelta = VISIBILITY_SETTLE


class ExportRequest(BaseModel):
    """Export the histories of the cases closed before `until` and since the previous export
    (the latest export recorded in the archive's manifests that ended before `until`)."""

    until: datetime


class ExportResult(BaseModel):
    folder: str
    since: datetime | None
    until: datetime
    exported: int = Field(description="histories in this export's window")
    written: int = Field(description="files written by this attempt (0 when all were there)")


class ComplaintReportRequest(BaseModel):
    """The monthly complaint report's input. `month` (YYYY-MM) unset: the month before the
    one the schedule meant the run for."""

    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class MonthlyReportRequest(BaseModel):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class ComplaintReportResult(BaseModel):
    month: str
    file: str
    complaints: int
    sha256: str


class ArchivedFile(BaseModel):
    """One file of an archive folder: a case's history (with its workflow id, run id and
    event count) or a report."""

    file: str
    sha256: str
    size: int
    workflow_id: str | None = None
    run_id: str | None = None
    events: int | None = None


class ExportWindow(BaseModel):
    """One export into the folder: the cases closed in [since, until)."""

    since: datetime | None
    until: datetime
    files: list[str] = Field(default_factory=list)


class Manifest(BaseModel):
    """`manifest.json` of an archive folder: every file with its sha256, and the windows the
    exports into the folder covered."""

    format: str = MANIFEST_FORMAT
    exports: list[ExportWindow] = Field(default_factory=list)
    files: list[ArchivedFile] = Field(default_factory=list)


def business_date(at: datetime) -> str:
    """The date in China Standard Time, YYYY-MM-DD (an archive folder's name)."""
    return at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d")


def previous_month(at: datetime) -> str:
    """The month before `at`'s, in China Standard Time: YYYY-MM."""
    first = at.astimezone(BUSINESS_TZ).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in China Standard Time."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=BUSINESS_TZ)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=BUSINESS_TZ)
    return start, end
