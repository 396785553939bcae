"""The archive on disk: closed cases' histories, one JSON file per case in a folder per export
date (China Standard Time), each folder with a `manifest.json` of sha256 digests.

    archive/2026-11-29/claim-CLM-20261128-0001.json
    archive/2026-11-29/complaint-CMP-20261128-0002.json
    archive/2026-11-29/manifest.json
    archive/reports/complaints-2026-10.json
    archive/reports/manifest.json

A history file is what `claims audit export` writes (`temporal workflow show --output json`,
payloads encrypted as stored: replaying needs the payload keys of the time), keys sorted. Every
file is written to a temporary name and renamed, and left alone when it already holds the same
bytes: an export retried after a crash, or run twice, neither duplicates nor corrupts anything.

The replay side (`claims audit replay --dir`) checks each folder's manifest before anything is
replayed; a folder without a manifest is a plain folder of history files, read as before."""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pydantic
from temporalio.client import Client, WorkflowHistory

from models.archive import (
    ArchivedFile,
    ExportResult,
    ExportWindow,
    Manifest,
    business_date,
)

MANIFEST = "manifest.json"
REPORTS = "reports"
CASE_WORKFLOWS = ("ClaimWorkflow", "ComplaintWorkflow")
_EXPORT_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ================================================================ files


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def history_file_name(workflow_id: str) -> str:
    """The file a case's history is archived under. Any client may choose a workflow id:
    keep it inside the folder."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", workflow_id) + ".json"


def history_json(history: WorkflowHistory) -> bytes:
    """The history as `claims audit export` writes it, with its keys sorted: the server sends
    maps (search attributes, headers) in any order, and the same history must always give the
    same bytes, hence the same sha256."""
    document = json.loads(history.to_json())
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write_atomically(path: Path, data: bytes) -> bool:
    """Write `data` to `path` through a temporary file and a rename, so that a reader (or a
    retried attempt) sees the old file or the new one, never half of one. False, and nothing
    written, when the file already holds exactly `data`."""
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True


def read_manifest(folder: Path) -> Manifest | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    return Manifest.model_validate_json(path.read_bytes())


def write_manifest(folder: Path, manifest: Manifest) -> bool:
    data = (manifest.model_dump_json(indent=2) + "\n").encode()
    return write_atomically(folder / MANIFEST, data)


def record(
    manifest: Manifest, files: Iterable[ArchivedFile], window: ExportWindow | None = None
) -> Manifest:
    """The manifest with these files (a file of the same name replaced) and this export's
    window (one of the same `until` replaced), in a stable order: recording the same export
    twice gives the same manifest."""
    by_name = {f.file: f for f in manifest.files}
    by_name.update({f.file: f for f in files})
    exports = [w for w in manifest.exports if window is None or w.until != window.until]
    if window is not None:
        exports.append(window)
    return Manifest(
        exports=sorted(exports, key=lambda w: w.until),
        files=[by_name[name] for name in sorted(by_name)],
    )


# ============================================================= exporting


def last_export_end(root: Path, before: datetime) -> datetime | None:
    """The end of the latest export recorded in the archive that ended before `before`:
    where the next export's window starts."""
    if not root.is_dir():
        return None
    folders = sorted((p for p in root.iterdir() if _EXPORT_FOLDER.match(p.name)), reverse=True)
    for folder in folders:
        manifest = read_manifest(folder)
        ends = [w.until for w in manifest.exports if w.until < before] if manifest else []
        if ends:
            return max(ends)
    return None


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def closed_cases_query(task_queue: str, since: datetime | None, until: datetime) -> str:
    """The visibility query for the claims and complaints of this task queue that closed in
    [since, until), whatever their end (completed, failed, terminated, timed out)."""
    types = ", ".join(f"'{name}'" for name in CASE_WORKFLOWS)
    query = (
        f"WorkflowType IN ({types}) AND TaskQueue = '{task_queue}'"
        f" AND ExecutionStatus != 'Running' AND CloseTime < '{_rfc3339(until)}'"
    )
    if since is not None:
        query += f" AND CloseTime >= '{_rfc3339(since)}'"
    return query


async def export_closed(
    client: Client,
    *,
    root: Path,
    task_queue: str,
    until: datetime,
    heartbeat: Callable[[str], None] = lambda _: None,
) -> ExportResult:
    """Export the histories of the cases closed since the previous export and before `until`
    into `root/<date of until>/`, then record them in the folder's manifest. Histories are
    fetched as stored (payloads stay encrypted) and written as `claims audit export` does."""
    since = last_export_end(root, until)
    folder = root / business_date(until)
    manifest = read_manifest(folder) or Manifest()
    runs = {f.file: f.run_id for f in manifest.files}
    found = [
        (wf.id, wf.run_id)
        async for wf in client.list_workflows(closed_cases_query(task_queue, since, until))
    ]
    archived: list[ArchivedFile] = []
    written = 0
    for workflow_id, run_id in sorted(found):
        name = history_file_name(workflow_id)
        if runs.get(name, run_id) != run_id:  # another run of the same id: both are kept
            name = history_file_name(f"{workflow_id}.{run_id}")
        runs[name] = run_id
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        data = history_json(history)
        written += write_atomically(folder / name, data)
        archived.append(
            ArchivedFile(
                file=name,
                sha256=sha256_of(data),
                size=len(data),
                workflow_id=workflow_id,
                run_id=run_id,
                events=len(history.events),
            )
        )
        heartbeat(name)
    window = ExportWindow(since=since, until=until, files=sorted(f.file for f in archived))
    write_manifest(folder, record(manifest, archived, window))
    return ExportResult(
        folder=str(folder), since=since, until=until, exported=len(archived), written=written
    )


def archive_report(root: Path, name: str, data: bytes) -> ArchivedFile:
    """A report written into `root/reports/` and recorded in that folder's manifest."""
    folder = root / REPORTS
    write_atomically(folder / name, data)
    entry = ArchivedFile(file=name, sha256=sha256_of(data), size=len(data))
    write_manifest(folder, record(read_manifest(folder) or Manifest(), [entry]))
    return entry


# ============================================================= replaying


class ArchiveMismatch(Exception):
    """An archived file that is not as its folder's manifest recorded it."""


@dataclass
class ArchiveContents:
    """What `claims audit replay --dir` finds: the history files to replay, and the files that
    failed their manifest's check (one line each), which are not replayed."""

    histories: list[Path] = field(default_factory=list)
    failures: list[tuple[str, Exception]] = field(default_factory=list)


def archive_contents(folder: Path) -> ArchiveContents:
    """The history files under `folder` (with its subfolders). A folder holding a manifest
    gives the histories the manifest lists, each checked against its sha256; a file it lists
    that is missing or differs, or a JSON file it does not list, is a failure. A folder
    without a manifest gives all its JSON files, unchecked."""
    found = ArchiveContents()
    for here, _, names in sorted(os.walk(folder)):
        path = Path(here)
        jsons = sorted(n for n in names if n.endswith(".json"))
        if MANIFEST in names:
            _check(path, jsons, found)
        else:
            found.histories += [path / n for n in jsons]
    found.histories.sort()
    return found


def _check(folder: Path, jsons: list[str], found: ArchiveContents) -> None:
    try:
        manifest = read_manifest(folder)
    except (ValueError, pydantic.ValidationError) as err:
        reason = str(err).splitlines()[0]
        found.failures.append((str(folder / MANIFEST), ArchiveMismatch(f"unreadable: {reason}")))
        return
    assert manifest is not None
    listed = {f.file for f in manifest.files}
    for entry in manifest.files:
        path = folder / entry.file
        if Path(entry.file).name != entry.file or entry.file in ("", ".", ".."):
            problem = "names a file outside its folder"  # a manifest written by hand
        elif not path.is_file():
            problem = "listed in manifest.json but missing"
        elif sha256_of(path.read_bytes()) != entry.sha256:
            problem = "sha256 differs from manifest.json: changed since it was archived"
        else:
            if entry.workflow_id is not None:
                found.histories.append(path)
            continue
        found.failures.append((str(path), ArchiveMismatch(problem)))
    for name in jsons:
        if name != MANIFEST and name not in listed:
            found.failures.append(
                (str(folder / name), ArchiveMismatch("not listed in manifest.json"))
            )
