"""Notices to claimants and complainants (DOMAIN §11): what a workflow asks to send and what it
gets back. Plain pydantic models, safe inside a workflow; the table rows are in
models/notice_tables.py and never cross into one.

A notice is sent once per key (`claim:<id>:ack`): the `notices` table remembers each channel
tried for a key, and a notice already sent answers with its first receipt.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER_BOX = "letter_box"  # the claimant's page lists it
    POST = "post"  # the print queue


class NoticeStatus(StrEnum):
    RETRYING = "retrying"  # the last attempt on this channel failed; it is tried again
    FAILED = "failed"  # given up on this channel (refused, or out of attempts)
    SENT = "sent"  # handed over: the SMTP server, the SMS outbox, the print queue, the page
    DELIVERED = "delivered"  # the gateway, the post or the page confirmed it reached the person


# Formal notices (models.catalog.FORMAL_NOTICES) go in writing; an SMS only points to them.
# The claim page's letter box is writing too (DOMAIN §11: email, post or the page's letter box).
WRITTEN_CHANNELS = (Channel.EMAIL, Channel.POST, Channel.LETTER_BOX)


class Contact(BaseModel):
    """Where the person can be reached. It travels encrypted in the workflow's history and is
    written only where the channel needs it (the message itself); logs and the `notices`
    table never hold it."""

    name: str = ""
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None


class NoticeRequest(BaseModel):
    case_id: str
    key: str = Field(description="idempotency key, e.g. `claim:<id>:ack`")
    kind: str = Field(description="ack, missing_materials, decision, ... (letter kinds)")
    channels: list[Channel] = Field(default_factory=lambda: [Channel.SMS, Channel.EMAIL])
    subject: str = ""
    text: str = ""
    letter_path: str | None = Field(default=None, description="a letter file to send with it")
    recipient: Contact = Field(default_factory=Contact)
    language: str = "zh-CN"
    link: str | None = Field(default=None, description="the case's page, for the SMS pointer")


class NoticeReceipt(BaseModel):
    key: str
    channel: Channel
    status: NoticeStatus
    sent_at: datetime
    attempts: int = Field(description="attempts on every channel, this one included")
    reference: str = ""
    pointer_key: str | None = Field(default=None, description="the SMS pointing to it")
