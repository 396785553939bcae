"""Holiday calendars. A period whose last day is a statutory day off ends on the next working
day (Civil Code art. 203). Weekends are days off unless the State Council moves a working day
onto them (调休).

Source: the State Council General Office's annual notice on public holiday arrangements, as
the maintained `chinesecalendar` package publishes it (pip, updated after each notice, usually
in November). The rules activities read it when a case starts and the case keeps what it read
(`DeadlineRules.holidays` / `workdays` / `calendar_years`); a year the package does not cover
yet is not counted on weekends alone but flagged on the case. When a new release adds a year,
`claims calendar refresh` sends it to every open case (signal `calendar_updated`).

This module holds no dates of its own; it names the payload and reads the package.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

SOURCE = "chinesecalendar"


class CalendarUpdate(BaseModel):
    """Signal `calendar_updated`: the holidays and make-up working days of the years covered
    (each of these years replaces the case's own), and where they came from."""

    holidays: list[date] = Field(default_factory=list, max_length=5000)
    workdays: list[date] = Field(default_factory=list, max_length=5000)
    years: list[int] = Field(default_factory=list, max_length=200)
    source: str = ""


def published_calendar(since_year: int | None = None) -> CalendarUpdate:
    """The PRC calendar as the installed `chinesecalendar` release has it: every year it
    covers (from `since_year` on, when given), with their holidays and make-up working days."""
    import chinese_calendar

    holidays = sorted(chinese_calendar.holidays)
    workdays = sorted(chinese_calendar.workdays)
    years = sorted({d.year for d in holidays} | {d.year for d in workdays})
    if since_year is not None:
        years = [y for y in years if y >= since_year]
    wanted = set(years)
    return CalendarUpdate(
        holidays=[d for d in holidays if d.year in wanted],
        workdays=[d for d in workdays if d.year in wanted],
        years=years,
        source=f"{SOURCE} {getattr(chinese_calendar, '__version__', '')}".strip(),
    )
