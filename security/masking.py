"""Masking of id numbers, phone numbers and bank accounts for the read model, listings,
reports and logs.

Listings show `110101********1234` and `138****0000`; the single-case views show the full
value only to staff whose role needs it (FULL_VIEW_ROLES), and only when asked (`--full`).
"""

from __future__ import annotations

import re
from functools import lru_cache

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
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
    if len(text) < 11:  # shorter than any mobile number: nothing to mask
        return text
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


def mask_account(value: str | None) -> str | None:
    """A bank account as views show it: `****1234`, the last four kept (as on the letters)."""
    if not value:
        return value
    return "****" + value[-4:] if len(value) > 4 else value


# Fields by the ends of their names: what the read model and the shared views keep masked.
_FIELD_MASKS = (
    ("id_no", mask_id_no),
    ("phone", mask_phone),
    ("email", mask_email),
    ("account_ref", mask_account),
)


def mask_fields(value: Any) -> Any:
    """Nested dicts and lists with every id number, phone, email and bank account field
    (`*id_no`, `*phone`, `*email`, `account_ref`) masked; other values as they are."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            mask = next((m for end, m in _FIELD_MASKS if str(key).endswith(end)), None)
            out[key] = mask(item) if mask and isinstance(item, str) else mask_fields(item)
        return out
    if isinstance(value, list | tuple):
        return [mask_fields(v) for v in value]
    return value


def for_read_model(status: dict[str, Any]) -> dict[str, Any]:
    """A case's `status` as the read model stores it: id numbers, phones, emails and bank
    accounts masked, in their fields and in free text; names kept (the listings show them).
    The full values stay with the workflow, encrypted in its history: `--full` asks it.
    The same as `mask_data(mask_fields(status))`, in one pass (every sync of every case)."""
    masked: dict[str, Any] = _masked(status)
    return masked


@lru_cache(maxsize=4096)  # bounded: a report's free-form details bring keys of their own
def _field_mask(name: str) -> Any:
    return next((m for end, m in _FIELD_MASKS if name.endswith(end)), None)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            mask = _field_mask(str(key))
            out[key] = mask_data(mask(item)) if mask and isinstance(item, str) else _masked(item)
        return out
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def may_see_full(roles: Iterable[str], active: bool = True) -> bool:
    """Whether a member of staff with these roles may see id numbers and phones in full."""
    return active and bool(FULL_VIEW_ROLES & set(roles))
