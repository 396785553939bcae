"""Output every command shares, without typer, rich or pydantic, so that the staff's read
commands can print from the fast front door (commands/front.py) exactly what they print through
typer: lines, JSON, times in China Standard Time, money, and tables drawn by `Table`."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime

from models.zone import BUSINESS_TZ

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from typing import Any

    from readmodel.sql import ReadModel

ZONE_NAME = "Beijing time (UTC+8)"


def echo(text: str = "") -> None:
    """A line on stdout, as `typer.echo` writes it."""
    out = sys.stdout
    out.write(text + "\n")
    out.flush()


def read_model() -> ReadModel:
    """The read model at `settings().db_url`, for readmodel/reads.py: no settings, no SQLAlchemy."""
    from readmodel.sql import ReadModel, read_model_url

    return ReadModel(read_model_url())


def _model_class() -> Any:
    # A value is only a pydantic model if pydantic was imported by someone: never import it here.
    return getattr(sys.modules.get("pydantic"), "BaseModel", None)


def _default(value: Any) -> Any:
    model = _model_class()
    if model is not None and isinstance(value, model):
        return value.model_dump(mode="json")
    # Nor decimal: a value is only a Decimal if someone imported it.
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(value: Any) -> None:
    import json

    model = _model_class()
    if model is not None and isinstance(value, model):
        value = value.model_dump(mode="json")
    echo(json.dumps(value, ensure_ascii=False, indent=2, default=_default))


def money(value: Any) -> str:
    if value is None:
        return "-"
    from decimal import Decimal

    return f"{Decimal(str(value)):,.2f}"


def _in_business_time(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    at: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return at.astimezone(BUSINESS_TZ)


def local_time(value: Any) -> str:
    """To the second, for timelines: an ISO 8601 time (Z or an offset) in China Standard Time."""
    return "-" if value is None else _in_business_time(value).strftime("%Y-%m-%d %H:%M:%S")


def when(value: Any) -> str:
    """A time as people at the insurer read it: China Standard Time (naive values are UTC)."""
    return "-" if value is None else _in_business_time(value).strftime("%Y-%m-%d %H:%M")


def cell_width(text: str) -> int:
    """How many terminal columns a line takes: CJK characters two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


class Table:
    """A box-drawn table with a header row (and a title above it): columns as wide as their
    widest cell, never wrapped, so a table piped to a file or a script keeps every value whole."""

    def __init__(self, *columns: str, title: str | None = None, right: tuple[str, ...] = ()):
        self.columns = columns
        self.title = title
        self.right = tuple(c in right for c in columns)
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)

    def _line(self, cells: tuple[str, ...], widths: list[int], bar: str) -> list[str]:
        split = [c.split("\n") for c in cells]
        lines = []
        for n in range(max(len(s) for s in split)):
            parts = []
            for cell, width, right in zip(split, widths, self.right, strict=True):
                text = cell[n] if n < len(cell) else ""
                pad = " " * (width - cell_width(text))
                parts.append(f" {pad}{text} " if right else f" {text}{pad} ")
            lines.append(bar + bar.join(parts) + bar)
        return lines

    def __str__(self) -> str:
        every = [self.columns, *self.rows]
        widths = [
            max(cell_width(line) for row in every for line in row[i].split("\n"))
            for i in range(len(self.columns))
        ]

        def rule(left: str, fill: str, cross: str, end: str) -> str:
            return left + cross.join(fill * (w + 2) for w in widths) + end

        out = [self.title] if self.title else []
        out.append(rule("┏", "━", "┳", "┓"))
        out += self._line(self.columns, widths, "┃")
        out.append(rule("┡", "━", "╇", "┩"))
        for row in self.rows:
            out += self._line(row, widths, "│")
        out.append(rule("└", "─", "┴", "┘"))
        return "\n".join(out)


def deadline_table(deadlines: list[dict[str, Any]]) -> Table:
    """Every clock of a case (as JSON: its status's `deadlines`): due date, days left, paused
    days and why, ladder steps fired."""
    t = Table(
        *("clock", "days", "started", "due", "days left", "paused", "why", "status"),
        title=f"Deadlines (times in {ZONE_NAME})",
    )
    for d in deadlines:
        why = "; ".join(p["reason"] for p in d["pauses"])
        ext = ", ".join(f"extended to {e['days']}: {e['reason']}" for e in d["extensions"])
        fired = d["fired"]
        t.add_row(
            d["name"],
            str(d["days"]),
            when(d["started_at"]),
            when(d["due_at"]),
            str(d["days_left"]) if d["status"] in ("running", "paused", "overdue") else "-",
            f"{d['paused_days']} d" if d["paused_days"] else "-",
            "; ".join(x for x in (why, ext) if x) or "-",
            d["status"] + (f" ({', '.join(fired)})" if fired else ""),
        )
    return t
