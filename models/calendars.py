"""Holiday calendars (data). A period whose last day is a statutory day off ends on the next
working day (Civil Code art. 203). Weekends are days off unless the State Council moves a
working day onto them (调休).

Source: the State Council General Office's annual notices on public holiday arrangements.
Years not listed count weekends only: add the notice when it is published.
"""

from __future__ import annotations

from datetime import date, timedelta


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


CN_HOLIDAYS: list[date] = [
    # 2025
    date(2025, 1, 1),
    *_span(date(2025, 1, 28), date(2025, 2, 4)),
    *_span(date(2025, 4, 4), date(2025, 4, 6)),
    *_span(date(2025, 5, 1), date(2025, 5, 5)),
    *_span(date(2025, 5, 31), date(2025, 6, 2)),
    *_span(date(2025, 10, 1), date(2025, 10, 8)),
    # 2026
    *_span(date(2026, 1, 1), date(2026, 1, 3)),
    *_span(date(2026, 2, 15), date(2026, 2, 23)),
    *_span(date(2026, 4, 4), date(2026, 4, 6)),
    *_span(date(2026, 5, 1), date(2026, 5, 5)),
    *_span(date(2026, 6, 19), date(2026, 6, 21)),
    *_span(date(2026, 9, 25), date(2026, 9, 27)),
    *_span(date(2026, 10, 1), date(2026, 10, 7)),
]

# Weekend days that are working days (调休上班).
CN_WORKDAYS: list[date] = [
    date(2025, 1, 26),
    date(2025, 2, 8),
    date(2025, 4, 27),
    date(2025, 9, 28),
    date(2025, 10, 11),
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]
