"""The authority chain (核赔), DOMAIN §7: which levels must approve a payable amount."""

from __future__ import annotations

from decimal import Decimal

PANEL = 4  # the level number used for the panel (合议) after L3


def approval_chain(amount: Decimal, limits: dict[int, Decimal]) -> list[int]:
    """One approval per level from L1 up to the first level whose limit covers the amount;
    above the highest limit, every level and then the panel."""
    chain: list[int] = []
    for level in sorted(limits):
        chain.append(level)
        if amount <= limits[level]:
            return chain
    chain.append(PANEL)
    return chain


def level_name(level: int | None) -> str:
    if level is None:
        return "-"
    return "PANEL" if level == PANEL else f"L{level}"
