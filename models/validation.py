"""What every report accepts as text and money, and how a refusal reads: one line naming the
field and the reason.

Text fields are bounded (a 1 MB description would be copied into every status, history event
and letter of the case) and free of control characters and lone surrogates (they cannot be
written as UTF-8 to a letter or a database). Money arrives as a decimal string or an integer:
a float such as 0.1 is not exact in binary, so it is refused rather than rounded silently.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails

MAX_AMOUNT = Decimal("1000000000000")  # 10^12: far above any sum insured, far below overflow
_LINE_BREAKS = frozenset("\n\r\t")

# Validation context for a report of a case that began before these checks: it is read as it
# was then, so the case replays (see workflows/case.py read_report).
LENIENT = {"lenient": True}
# The same for a case that began before the checks against hostile input (non-ASCII digits,
# exponents, negative zero, dates outside EARLIEST_YEAR-LATEST_YEAR, unknown nested fields).
BEFORE_HARDENING = {"before_hardening": True}

# One pattern for every case id, whether a report gives it or it is taken from the workflow
# id: it names a folder of letters, so no separators, no leading dot, nothing but ASCII.
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_CASE_ID = re.compile(CASE_ID_PATTERN, re.ASCII)

# Dates a claim or complaint can carry; anything outside cannot be real and some cannot even be
# converted to UTC or to local time.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
MAX_UTC_OFFSET = timedelta(hours=14)

# How long a refusal may be: one line a person reads, whatever the input held.
MAX_MESSAGE = 400


def strict(info: ValidationInfo) -> bool:
    return not (info.context or {}).get("lenient")


def hardened(info: ValidationInfo) -> bool:
    """The checks against hostile input apply (every report and message since they exist)."""
    context = info.context or {}
    return not (context.get("lenient") or context.get("before_hardening"))


def safe_case_id(value: str) -> bool:
    return _CASE_ID.fullmatch(value) is not None


def _clean(value: str, allowed: frozenset[str], separators: bool = False) -> str:
    for ch in value:
        if ch in allowed:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise ValueError(f"control character U+{ord(ch):04X} is not allowed")
        if category == "Cs":
            raise ValueError("the text is not valid Unicode (a lone surrogate)")
        if separators and category in ("Zl", "Zp"):
            raise ValueError(f"line separator U+{ord(ch):04X} is not allowed")
    return value


def _text(max_length: int, allowed: frozenset[str]) -> AfterValidator:
    def check(value: str, info: ValidationInfo) -> str:
        if not strict(info):
            return value
        if len(value) > max_length:
            raise ValueError(f"at most {max_length:,} characters, not {len(value):,}")
        # One-line fields (names, references) refuse Unicode's line separators too.
        return _clean(value, allowed, separators=hardened(info) and not allowed)

    return AfterValidator(check)


# A name, an id, a phone number: one short line.
Name = Annotated[str, _text(200, frozenset())]
# A document reference, an address: one line.
OneLine = Annotated[str, _text(2000, frozenset())]
# A narrative (description, matter, note): line breaks allowed.
LongText = Annotated[str, _text(20_000, _LINE_BREAKS)]


# A number as a person writes it: ASCII digits, an optional point and decimals, a minus sign
# only so that a negative amount is refused as negative.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def plain_number(text: str, what: str = "amounts") -> None:
    """Refuse a number that Python's Decimal reads but no person writes: other scripts' digits
    ("١٢٣", "１２３"), exponents ("1e3"), underscores ("1_000"), signs and spaces. Text that is
    no number at all is left to the type's own message."""
    if _PLAIN_NUMBER.fullmatch(text):
        return
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return
    if not number.is_finite():
        return
    if not text.isascii():
        raise ValueError(f'write {what} with the digits 0-9, as in "1800.50"')
    raise ValueError(f'write {what} as in "1800.50": no exponent, underscore, sign or space')


def _no_float(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, float) and strict(info):
        raise ValueError('give amounts as decimal strings such as "1800.50", not floats')
    if isinstance(value, str) and hardened(info):
        plain_number(value)
    return value


def money(value: Decimal, negative_zero: bool = False) -> Decimal:
    """An amount in yuan, rounded to the fen; never negative (nor -0), never absurd."""
    if value < 0 or (value.is_signed() and not negative_zero):
        raise ValueError("amounts cannot be negative")
    if value >= MAX_AMOUNT:
        raise ValueError(f"amounts must be below {MAX_AMOUNT:,}")
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _money(value: Decimal, info: ValidationInfo) -> Decimal:
    if not strict(info):  # as before: only negative amounts were refused
        if value < 0:
            raise ValueError("amounts cannot be negative")
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return money(value, negative_zero=not hardened(info))  # -0.00 was taken before


Money = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_money)]


def _amount(value: Decimal, info: ValidationInfo) -> Decimal:
    money(value, negative_zero=not hardened(info))  # the same checks
    return value


# Checked like Money but kept as sent: a signed message's amount is signed as the sender wrote
# it ("5500" stays "5500"), so rounding it here would break the signature.
SignedAmount = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_amount)]


# Clocks of the sender and the engine differ a little; a date a day ahead is a time zone.
CLOCK_SKEW = timedelta(minutes=5)


def in_future(value: datetime | date | None, now: datetime) -> bool:
    if value is None:
        return False
    if isinstance(value, datetime):
        return value > now + CLOCK_SKEW
    return value > (now + timedelta(days=1)).date()


def _in_range(value: datetime | date, info: ValidationInfo) -> datetime | date:
    if not hardened(info):
        return value
    years = [value.year]
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValueError("a UTC offset is at most 14 hours")
        try:
            years.append(value.astimezone(UTC).year)
        except (OverflowError, ValueError):
            years.append(0)
    if not all(EARLIEST_YEAR <= year <= LATEST_YEAR for year in years):
        raise ValueError(f"dates must fall in the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return value


# A time with its UTC offset, and a calendar day, that a claim or complaint can carry.
When = Annotated[AwareDatetime, AfterValidator(_in_range)]
Day = Annotated[date, AfterValidator(_in_range)]


def _plain_decimal(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, str) and hardened(info):
        plain_number(value, "numbers")
    return value


# A number that is not money (years of age, of useful life): written as a person writes it.
PlainDecimal = Annotated[Decimal, BeforeValidator(_plain_decimal)]


class Closed(BaseModel):
    """A part of a report (the claimant, an item, a document): a field it does not have is
    refused with its name, as at the top of the report, instead of being dropped."""

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_fields(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and hardened(info):
            unknown = [key for key in data if key not in cls.model_fields]
            if unknown:
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [
                        InitErrorDetails(type="extra_forbidden", loc=(str(key),), input=data[key])
                        for key in unknown
                    ],
                )
        return data


def check_details(details: dict[str, Any]) -> None:
    """`details` is free-form, but bounded: it is kept in the case's history."""
    if len(details) > 100:
        raise ValueError(f"details has at most 100 entries, not {len(details):,}")
    for key, value in details.items():
        if len(key) > 200 or not key.isprintable():
            raise ValueError("details names are at most 200 printable characters")
        if isinstance(value, str):
            if len(value) > 2000:
                raise ValueError(f"details.{key} is at most 2,000 characters")
            _clean(value, frozenset(), separators=True)
    if len(json.dumps(details, default=str, ensure_ascii=False)) > 20_000:
        raise ValueError("details is at most 20,000 characters")


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """Text as one printable line of at most `limit` characters (a refusal may quote input)."""
    flat = " ".join(text.split())
    if not flat.isprintable():
        flat = "".join(
            ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in flat
        )
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def validation_message(err: ValidationError) -> str:
    """The first problem as one line: `invalid amount_claimed: Input should be ...`."""
    first = err.errors(include_url=False, include_input=False)[0]
    where = ".".join(one_line(str(p), 60) for p in first.get("loc", ())) or "input"
    msg = str(first.get("msg", "invalid"))
    extra = f" ({err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return one_line(f"invalid {where}: {msg}{extra}")
