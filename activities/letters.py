"""Letters: rendered from jinja2 templates (zh-CN and en), written as files a person can open,
and stored with a content hash as evidence of notice (CBIRC 2020 art. 21)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import jinja2
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio import activity

from models.catalog import (
    COMPANY_HOTLINE,
    COMPANY_NAME,
    INCIDENT_NAMES,
    LINE_NAMES,
    MATERIAL_KINDS,
    REGULATOR_HOTLINE,
)
from models.records import LetterRecord, LetterRequest
from models.tables import LetterRow
from workflows.money import fmt

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("zh-CN", "en")


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if "T" in text or " " in text.strip():
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    return date.fromisoformat(text)


def _mask(ref: object) -> str:
    text = str(ref or "")
    return "****" + text[-4:] if len(text) > 4 else text


def build_environment(language: str) -> jinja2.Environment:
    """One environment per language, built once per worker; templates compile once."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / language),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    idx = 0 if language == "zh-CN" else 1

    def _date(value: object) -> str:
        d = _as_date(value)
        return f"{d.year}年{d.month}月{d.day}日" if idx == 0 else f"{d.day} {d:%B %Y}"

    env.filters.update(
        money=lambda v: fmt(Decimal(str(v))),
        date=_date,
        material=lambda code: MATERIAL_KINDS.get(code, (code, code))[idx],
        line_name=lambda code: LINE_NAMES.get(code, (code, code))[idx],
        incident_name=lambda code: INCIDENT_NAMES.get(code, (code, code))[idx],
        mask=_mask,
    )
    env.globals.update(
        company_name=COMPANY_NAME[language],
        hotline=COMPANY_HOTLINE,
        regulator_hotline=REGULATOR_HOTLINE,
        language=language,
    )
    return env


class LetterActivities:
    def __init__(self, engine: Engine, letters_dir: Path) -> None:
        self.engine = engine
        self.letters_dir = letters_dir
        self.envs = {lang: build_environment(lang) for lang in LANGUAGES}

    def render(self, req: LetterRequest, sent_at: datetime) -> str:
        env = self.envs.get(req.language) or self.envs["zh-CN"]
        template = env.get_template(f"{req.kind}.txt.j2")
        return template.render(
            **req.context,
            letter_id=req.letter_id,
            sent_on=sent_at.date().isoformat(),
        )

    @activity.defn(name="send_letter")
    def send_letter(self, req: LetterRequest) -> LetterRecord:
        """Render, file and record a letter once; a retry returns the letter already sent."""
        with Session(self.engine) as session:
            existing = session.get(LetterRow, req.letter_id)
            if existing is not None:
                return _record(existing)
            sent_at = datetime.now(UTC)
            body = self.render(req, sent_at)
            digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
            folder = self.letters_dir / req.case_id
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{req.letter_id}.txt"
            path.write_text(body, encoding="utf-8")
            row = LetterRow(
                letter_id=req.letter_id,
                case_id=req.case_id,
                kind=req.kind,
                language=req.language,
                channel=req.channel,
                recipient=req.recipient,
                sent_at=sent_at,
                sha256=digest,
                path=str(path.resolve()),
                body=body,
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # a concurrent attempt recorded it first
                session.rollback()
                existing = session.get(LetterRow, req.letter_id)
                assert existing is not None
                return _record(existing)
            return _record(row)


def _record(row: LetterRow) -> LetterRecord:
    return LetterRecord(
        letter_id=row.letter_id,
        kind=row.kind,
        path=row.path,
        sha256=row.sha256,
        sent_at=row.sent_at,
        recipient=row.recipient,
        channel=row.channel,
    )
