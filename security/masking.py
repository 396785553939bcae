"""Masking of id numbers and phone numbers for listings, reports and logs.

Listings show `110101********1234` and `138****0000`; the single-case views show the full
value only to staff whose role needs it (FULL_VIEW_ROLES), and only when asked (`--full`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

# Who may see a claimant's or complainant's id number and phone in full: those who verify
# identity or call the person back (supervisors, managers, complaint coordinators, special-care
# advisors, investigators). Adjusters, handlers and intake see the masked form.
FULL_VIEW_ROLES = frozenset(
    {"supervisor", "manager", "complaint_coordinator", "special_care_advisor", "investigator"}
)

# A mainland resident id number (18 characters, the last may be X) or a mobile number, standing
# alone: not part of a longer run of digits such as a bank account or a payment reference.
_ID_NO = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")


def mask_id_no(value: str | None) -> str | None:
    """`110101198001011234` -> `110101********1234`: region and last four kept."""
    if not value:
        return value
    if len(value) < 10:
        return "*" * (len(value) - 2) + value[-2:] if len(value) > 2 else "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """`13800000000` -> `138****0000`: prefix and last four kept."""
    if not value:
        return value
    if len(value) < 8:
        return "*" * (len(value) - 2) + value[-2:] if len(value) > 2 else "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_email(value: str | None) -> str | None:
    """`zhangsan@example.com` -> `z*******@example.com`."""
    if not value or "@" not in value:
        return value
    local, domain = value.split("@", 1)
    return local[:1] + "*" * max(len(local) - 1, 1) + "@" + domain


def mask_contact(value: str | None) -> str | None:
    """An id number, a phone or an email, whichever it is, masked."""
    if not value:
        return value
    if "@" in value:
        return mask_email(value)
    if _ID_NO.fullmatch(value):
        return mask_id_no(value)
    return mask_phone(value)


def mask_text(text: str) -> str:
    """Every id number and mobile number inside free text, masked."""
    text = _ID_NO.sub(lambda m: mask_id_no(m.group(0)) or "", text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)) or "", text)


def mask_data(value: Any) -> Any:
    """Every string inside nested dicts and lists, masked as mask_text does."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v) for v in value]
    return value


def may_see_full(roles: Iterable[str], active: bool = True) -> bool:
    """Whether a member of staff with these roles may see id numbers and phones in full."""
    return active and bool(FULL_VIEW_ROLES & set(roles))


class MaskingFilter(logging.Filter):
    """Masks id numbers and phone numbers in every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def mask_logs(logger: logging.Logger | None = None) -> None:
    """Add the masking filter to every handler of the logger (the root logger by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
