"""What every report accepts as text and money, and how a refusal reads: one line naming the
field and the reason.

Text fields are bounded (a 1 MB description would be copied into every status, history event
and letter of the case) and free of control characters and lone surrogates (they cannot be
written as UTF-8 to a letter or a database). Money arrives as a decimal string or an integer:
a float such as 0.1 is not exact in binary, so it is refused rather than rounded silently.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationError, ValidationInfo

MAX_AMOUNT = Decimal("1000000000000")  # 10^12: far above any sum insured, far below overflow
_LINE_BREAKS = frozenset("\n\r\t")

# Validation context for a report of a case that began before these checks: it is read as it
# was then, so the case replays (see workflows/case.py read_report).
LENIENT = {"lenient": True}


def strict(info: ValidationInfo) -> bool:
    return not (info.context or {}).get("lenient")


def _clean(value: str, allowed: frozenset[str]) -> str:
    for ch in value:
        if ch in allowed:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise ValueError(f"control character U+{ord(ch):04X} is not allowed")
        if category == "Cs":
            raise ValueError("the text is not valid Unicode (a lone surrogate)")
    return value


def _text(max_length: int, allowed: frozenset[str]) -> AfterValidator:
    def check(value: str, info: ValidationInfo) -> str:
        if not strict(info):
            return value
        if len(value) > max_length:
            raise ValueError(f"at most {max_length:,} characters, not {len(value):,}")
        return _clean(value, allowed)

    return AfterValidator(check)


# A name, an id, a phone number: one short line.
Name = Annotated[str, _text(200, frozenset())]
# A document reference, an address: one line.
OneLine = Annotated[str, _text(2000, frozenset())]
# A narrative (description, matter, note): line breaks allowed.
LongText = Annotated[str, _text(20_000, _LINE_BREAKS)]


def _no_float(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, float) and strict(info):
        raise ValueError('give amounts as decimal strings such as "1800.50", not floats')
    return value


def money(value: Decimal) -> Decimal:
    """An amount in yuan, rounded to the fen; never negative, never absurd."""
    if value < 0:
        raise ValueError("amounts cannot be negative")
    if value >= MAX_AMOUNT:
        raise ValueError(f"amounts must be below {MAX_AMOUNT:,}")
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _money(value: Decimal, info: ValidationInfo) -> Decimal:
    if not strict(info):  # as before: only negative amounts were refused
        if value < 0:
            raise ValueError("amounts cannot be negative")
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return money(value)


Money = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_money)]


def _amount(value: Decimal, info: ValidationInfo) -> Decimal:
    money(value)  # the same checks
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


def validation_message(err: ValidationError) -> str:
    """The first problem as one line: `invalid amount_claimed: Input should be ...`."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "input"
    msg = " ".join(str(first.get("msg", "invalid")).split())
    extra = f" ({err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"invalid {where}: {msg}{extra}"
