"""Documents a claimant uploads: checked (size, type read from the file's first bytes, not
from what the browser claims), stored content-addressed under the data folder
(`documents/<sha256[:2]>/<sha256>`, written atomically) and recorded per claim."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from models.portal import PortalDocumentRow
from portal import queries

MAX_BYTES = 10 * 1024 * 1024
DIGEST = re.compile(r"[0-9a-f]{64}")

# The allowed types, each known by its signature: (content type, extension).
_ISO_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


class DocumentRefused(ValueError):
    """An upload that is not taken; `reason` is the key of its message on the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    content_type: str
    path: Path


def sniff(data: bytes) -> str | None:
    """The content type of an allowed file from its first bytes; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_BRANDS:
        return "image/heic"
    return None


def path_of(data_dir: Path, sha256: str) -> Path:
    """Where a digest's file lives; a string that is not a sha256 is refused (no path from
    user input leaves the documents folder)."""
    if not DIGEST.fullmatch(sha256):
        raise DocumentRefused("digest")
    return data_dir / "documents" / sha256[:2] / sha256


def masked_name(name: str) -> str:
    """The uploaded file's name kept without personal data: only its extension, which says
    what kind of file it was (`document.pdf`). Names often carry the claimant's name or id
    number, so nothing else is kept."""
    base = unicodedata.normalize("NFKC", os.path.basename(name.replace("\\", "/")))
    ext = os.path.splitext(base)[1].lower()
    ext = ext if re.fullmatch(r"\.[a-z0-9]{1,5}", ext) else ""
    return f"document{ext}"


def store(data_dir: Path, data: bytes) -> Stored:
    """Check and store the file; the same content twice is one file."""
    if not data:
        raise DocumentRefused("empty")
    if len(data) > MAX_BYTES:
        raise DocumentRefused("too_large")
    content_type = sniff(data)
    if content_type is None:
        raise DocumentRefused("type")
    sha256 = hashlib.sha256(data).hexdigest()
    path = path_of(data_dir, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return Stored(sha256, len(data), content_type, path)


def record(*, engine: Engine, claim_id: str, kind: str, name: str, stored: Stored) -> None:
    """Record a stored document as received for the claim (once per claim, digest and
    kind)."""
    queries.record_document(
        engine=engine,
        row=PortalDocumentRow(
            claim_id=claim_id,
            sha256=stored.sha256,
            kind=kind,
            size=stored.size,
            content_type=stored.content_type,
            name=masked_name(name),
            received_at=datetime.now(UTC),
        ),
    )


def receive(
    *, engine: Engine, data_dir: Path, claim_id: str, kind: str, name: str, data: bytes
) -> Stored:
    """Store the file and record it for the claim."""
    stored = store(data_dir, data)
    record(engine=engine, claim_id=claim_id, kind=kind, name=name, stored=stored)
    return stored
