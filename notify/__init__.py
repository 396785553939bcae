"""Notices that reach people (DOMAIN §11): a Notifier over one adapter per channel.

- email: SMTP at CLAIMS_SMTP_URL (notify/smtp.py); without it, email is not configured and a
  notice goes by its next channel;
- sms: an SmsProvider; by default an outbox folder, `sms-outbox` in the data folder, that an
  operator's gateway picks up (notify/sms.py);
- letter_box: the `letter_box` table the claimant's page lists (notify/letterbox.py);
- post: a print queue folder, `print-queue` in the data folder (notify/post.py).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from notify.base import Adapter, DeliveryError, Message, PermanentFailure, TransientFailure
from notify.letterbox import LetterBox
from notify.notifier import NoticeDeferred, NoticeUndeliverable, Notifier
from notify.post import PrintQueue
from notify.sms import OutboxProvider, SmsAdapter, SmsProvider
from notify.smtp import SmtpEmail, SmtpServer, SmtpUrlError
from settings import Settings

__all__ = [
    "Adapter",
    "DeliveryError",
    "LetterBox",
    "Message",
    "NoticeDeferred",
    "NoticeUndeliverable",
    "Notifier",
    "OutboxProvider",
    "PermanentFailure",
    "PrintQueue",
    "SmsAdapter",
    "SmsProvider",
    "SmtpEmail",
    "SmtpServer",
    "SmtpUrlError",
    "TransientFailure",
    "build_notifier",
    "check_settings",
    "print_queue_dir",
    "sms_outbox_dir",
]


def sms_outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "sms-outbox"


def print_queue_dir(settings: Settings) -> Path:
    return settings.data_dir / "print-queue"


def check_settings(settings: Settings) -> None:
    """Raises SmtpUrlError for a CLAIMS_SMTP_URL that cannot be used, before anything starts."""
    if settings.smtp_url:
        SmtpServer.from_url(settings.smtp_url, starttls=settings.smtp_starttls)


def build_notifier(settings: Settings, engine: Engine, sms: SmsProvider | None = None) -> Notifier:
    """The engine's notifier from its settings; `sms` replaces the outbox with a provider."""
    adapters: list[Adapter] = [
        SmsAdapter(sms or OutboxProvider(sms_outbox_dir(settings))),
        LetterBox(engine),
        PrintQueue(print_queue_dir(settings)),
    ]
    if settings.smtp_url:
        server = SmtpServer.from_url(settings.smtp_url, starttls=settings.smtp_starttls)
        adapters.append(SmtpEmail(server, settings.smtp_from))
    return Notifier(engine, adapters)
