"""Letters: rendered from jinja2 templates (zh-CN and en), written as files a person can open,
and stored with a content hash as evidence of notice (CBIRC 2020 art. 21)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.wording import rmb_capitals, settlement_in_words
from database import insert_new
from models.catalog import (
    APPROVAL_LEVEL_NAMES,
    BUSINESS_TZ,
    COMPANY_HOTLINE,
    COMPANY_NAME,
    COMPLAINT_REGULATION,
    FORMAL_NOTICES,
    INCIDENT_NAMES,
    LINE_NAMES,
    LOCAL_TIME_NAME,
    MATERIAL_KINDS,
    REGULATOR_HOTLINE,
)
from models.money import fmt
from models.records import LetterRecord, LetterRequest
from models.roles import CLAIM_DECIDERS, ROLE_NAMES, ROLES
from models.tables import LetterRow, StaffRow, table_of
from prepared import Prepared
from security.masking import mask_account, mask_phone, mask_text

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("zh-CN", "en")
LETTERS = table_of(LetterRow)
# what a letter's record (models.records.LetterRecord) takes from its row
_RECORD_COLUMNS = tuple(LETTERS.c[name] for name in LetterRecord.model_fields)
_SENT = Prepared(select(*_RECORD_COLUMNS).where(LETTERS.c.letter_id == bindparam("letter_id")))


def _local(value: object) -> datetime:
    """A moment in the insurer's local time (Beijing time); a time without an offset is UTC,
    as Temporal and the read model keep times."""
    moment = value if isinstance(value, datetime) else None
    if moment is None:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BUSINESS_TZ)


def _as_date(value: object) -> date:
    """The day a letter names: a moment's local date (a letter sent at 00:30 Beijing time on
    2 March is dated 2 March), or a calendar day as given."""
    if isinstance(value, datetime):
        return _local(value).date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if "T" in text or " " in text:
        return _local(text).date()
    return date.fromisoformat(text)


def _mask(ref: object) -> str:
    """A bank account in a letter: masked as every view masks it."""
    return mask_account(str(ref or "")) or ""


class People:
    """Staff as letters name them: name and title, never the id (王理赔（一级核赔，理赔专员）),
    the approval level being the person's own. Read from the staff table when a letter needs
    them, once per letter."""

    SPECIAL: Mapping[str, tuple[str, str]] = {
        "system": ("系统", "the system"),
        "panel": ("合议小组", "the claims panel"),
        "claimant": ("您本人", "you"),
    }

    def __init__(self, engine: Engine | None, language: str) -> None:
        self.engine = engine
        self.idx = 0 if language == "zh-CN" else 1
        self._rows: dict[str, StaffRow | None] = {}

    def row(self, staff_id: str) -> StaffRow | None:
        if staff_id not in self._rows:
            found = None
            if self.engine is not None:
                with Session(self.engine) as session:
                    found = session.get(StaffRow, staff_id)
            self._rows[staff_id] = found
        return self._rows[staff_id]

    def __call__(self, staff_id: object, with_id: bool = False, with_level: bool = False) -> str:
        """Name and title; `with_level` where the person decided at their approval level (核赔),
        `with_id` in internal records (the claim or complaint file), which keep the staff
        number beside the name."""
        sid = str(staff_id or "")
        if sid in self.SPECIAL:
            return self.SPECIAL[sid][self.idx]
        row = self.row(sid) if sid else None
        if row is None:
            return sid
        title = next((ROLE_NAMES[r][self.idx] for r in ROLES if r in row.roles), "")
        parts = []
        if (
            with_level
            and row.level in APPROVAL_LEVEL_NAMES
            and not CLAIM_DECIDERS.isdisjoint(row.roles)
        ):
            parts.append(APPROVAL_LEVEL_NAMES[row.level][self.idx])
        if title:
            parts.append(title)
        if with_id:
            parts.append(("工号 " if self.idx == 0 else "staff no. ") + sid)
        if not parts:
            return row.name
        return (
            f"{row.name}（{'，'.join(parts)}）"
            if self.idx == 0
            else f"{row.name} ({', '.join(parts)})"
        )


_VERDICTS: Mapping[str, tuple[str, str]] = {
    "approve": ("同意赔付", "approved"),
    "reject": ("拒绝赔付", "refused"),
    "return": ("退回重新理算", "returned for re-adjustment"),
    "amend": ("调整金额后赔付", "approved at an amended amount"),
}


def build_environment(language: str) -> jinja2.Environment:
    """One environment per language, built once per worker; templates compile once."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / language),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # the templates ship with the code: no stat of the file per letter
    )
    idx = 0 if language == "zh-CN" else 1
    zone = LOCAL_TIME_NAME[language]

    def _date(value: object) -> str:
        d = _as_date(value)
        return f"{d.year}年{d.month}月{d.day}日" if idx == 0 else f"{d.day} {d:%B %Y}"

    def _datetime(value: object) -> str:
        """A time of day always says its zone: 2026年3月2日 00:30（北京时间）."""
        t = _local(value)
        if idx == 0:
            return f"{_date(t)} {t:%H:%M}（{zone}）"
        return f"{_date(t)}, {t:%H:%M} ({zone})"

    def _rmb(value: object) -> str:
        """An amount in a sentence: in figures, and in zh-CN also in capitals (大写)."""
        amount = Decimal(str(value))
        if idx == 0:
            return f"人民币 {fmt(amount)} 元（大写：{rmb_capitals(amount)}）"
        return f"CNY {fmt(amount)}"

    @jinja2.pass_context
    def _person(
        ctx: jinja2.runtime.Context,
        staff_id: object,
        with_id: bool = False,
        with_level: bool = False,
    ) -> str:
        return str(ctx["_people"](staff_id, with_id, with_level))

    @jinja2.pass_context
    def _approval(ctx: jinja2.runtime.Context, a: Mapping[str, Any]) -> str:
        """Who decided at one step of the approval chain, by name and their own level."""
        level, who = str(a.get("level")), str(a.get("approver", ""))
        if level == "SYSTEM" or who == "system":
            return ("系统自动核赔（快速理赔）", "Approved automatically (fast track)")[idx]
        if level == "PANEL" or who == "panel":
            return (
                "合议小组审议（三人合议，多数决定）",
                "Claims panel (majority decision of three members)",
            )[idx]
        verdict = _VERDICTS.get(str(a.get("decision") or ""))
        person = ctx["_people"](who, with_level=True)
        if idx == 0:
            return f"核赔人：{person}" + (f"，意见：{verdict[0]}" if verdict else "")
        return f"Decided by {person}" + (f": {verdict[1]}" if verdict else "")

    @jinja2.pass_context
    def _settlement(ctx: jinja2.runtime.Context, lines: list[Mapping[str, Any]]) -> Any:
        """The computation in words, each deduction with its clause and reason."""
        return settlement_in_words(lines, ctx, idx == 0, ctx["_people"])

    env.filters.update(
        money=lambda v: fmt(Decimal(str(v))),
        rmb=_rmb,
        capitals=lambda v: rmb_capitals(Decimal(str(v))),
        date=_date,
        datetime=_datetime,
        material=lambda code: MATERIAL_KINDS.get(code, (code, code))[idx],
        line_name=lambda code: LINE_NAMES.get(code, (code, code))[idx],
        incident_name=lambda code: INCIDENT_NAMES.get(code, (code, code))[idx],
        mask=_mask,
        person=_person,
        approval=_approval,
    )
    env.globals.update(
        company_name=COMPANY_NAME[language],
        hotline=COMPANY_HOTLINE,
        regulator_hotline=REGULATOR_HOTLINE,
        complaint_regulation=COMPLAINT_REGULATION[language],
        language=language,
        settlement=_settlement,
    )
    return env


def delivery_channel(req: LetterRequest) -> str:
    """How a letter goes: a formal notice never by SMS alone (DOMAIN §11). To a claimant with
    no email it goes by post, the letter file being the print copy, and the SMS only points
    to it (a later notifier sends and tracks both)."""
    if req.kind in FORMAL_NOTICES and req.channel == "sms":
        return "post"
    return req.channel


class LetterActivities:
    def __init__(self, engine: Engine, letters_dir: Path) -> None:
        self.engine = engine
        self.letters_dir = letters_dir
        self.envs = {lang: build_environment(lang) for lang in LANGUAGES}

    def render(self, req: LetterRequest, sent_at: datetime) -> str:
        env = self.envs.get(req.language) or self.envs["zh-CN"]
        template = env.get_template(f"{req.kind}.txt.j2")
        context = {
            **req.context,
            "letter_id": req.letter_id,
            "sent_on": _local(sent_at).date().isoformat(),
            "sent_at": sent_at.isoformat(),
            "_people": People(self.engine, req.language),
        }
        body = template.render(**context)
        if delivery_channel(req) != req.channel:
            contact = re.search(r"<([^<>]*)>", req.recipient)
            body += env.get_template("_delivery.txt.j2").render(
                channel=delivery_channel(req),
                sms_to=mask_phone(contact.group(1)) if contact else mask_text(req.recipient),
            )
        return body

    @activity.defn(name="send_letter")
    def send_letter(self, req: LetterRequest) -> LetterRecord:
        """Render, file and record a letter once; a retry returns the letter already sent.
        Plain statements, not the ORM: this runs for every letter of every case."""
        with self.engine.connect() as conn:
            existing = _sent(conn, req.letter_id)
            if existing is not None:
                return existing
            sent_at = datetime.now(UTC)
            body = self.render(req, sent_at)
            digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
            path = letter_path(self.letters_dir, req.case_id, req.letter_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            row = {
                "letter_id": req.letter_id,
                "case_id": req.case_id,
                "kind": req.kind,
                "language": req.language,
                "channel": delivery_channel(req),
                "recipient": req.recipient,
                "sent_at": sent_at,
                "sha256": digest,
                "path": str(path.resolve()),
                "body": body,
            }
            # a concurrent attempt may have recorded it first: its record stands, and its
            # body goes back on file (this attempt wrote its own, dated a moment later)
            if not insert_new(conn, LETTERS, [row], ("letter_id",)):
                recorded_body = conn.execute(
                    select(LETTERS.c.body).where(LETTERS.c.letter_id == req.letter_id)
                ).scalar_one()
                path.write_text(recorded_body, encoding="utf-8")
            conn.commit()
            # read back as the database keeps it (a retry reads the same record)
            recorded = _sent(conn, req.letter_id)
            assert recorded is not None
            return recorded


def letter_path(letters_dir: Path, case_id: str, letter_id: str) -> Path:
    """Where a letter is filed, `<letters>/<case>/<letter>.txt`, resolved. Case ids are
    checked before a case starts, but whatever a client sends, a path that would leave the
    letters folder (separators, `..`, an absolute id, a link out of it) is refused for good:
    retrying cannot make it safe."""
    root = letters_dir.resolve()
    try:
        path = (root / case_id / f"{letter_id}.txt").resolve()
    except (OSError, ValueError):  # a NUL byte, a loop of links
        path = None
    if path is None or root not in path.parents:
        raise ApplicationError(
            f"letter {letter_id[:80]!r} of case {case_id[:80]!r} would be filed outside the "
            "letters folder",
            type="UnsafeLetterPath",
            non_retryable=True,
        )
    return path


def _sent(conn: Connection, letter_id: str) -> LetterRecord | None:
    """The letter's record, if it was sent."""
    found = _SENT.run(conn, {"letter_id": letter_id}).first()
    return None if found is None else LetterRecord(**found)
