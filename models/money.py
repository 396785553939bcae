"""Money helpers: Decimal only, rounded half-up to the cent at the end of each line."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(value: Decimal | None) -> str:
    """12345.6 -> '12,345.60' for letters."""
    if value is None:
        return "-"
    return f"{cents(value):,.2f}"
