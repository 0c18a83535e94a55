"""Business days in Panama: weekends, national holidays and decreed days off.

Ley 38 de 2000 counts terms in business days. Holidays come from the
``holidays`` package (Spanish names, observed Mondays included); admins add
ad-hoc days off (*asuetos*). Deadlines fall at the end of the business day,
in America/Panama time, and are handled as aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PANAMA = ZoneInfo("America/Panama")


@lru_cache(maxsize=64)
def _national(year: int) -> dict[date, str]:
    """Panama's national holidays of a year, with Spanish names."""
    return dict(holidays.country_holidays("PA", years=[year], language="es"))


class BusinessCalendar:
    """Which days are working days, and deadlines counted in them."""

    def __init__(self, days_off: Iterable[date] = ()) -> None:
        """A calendar with extra ``days_off`` on top of national holidays."""
        self.days_off = frozenset(days_off)

    def holiday_name(self, day: date) -> str | None:
        """The holiday or day-off name of ``day``, or None."""
        if day in self.days_off:
            return "Asueto"
        return _national(day.year).get(day)

    def is_business_day(self, day: date) -> bool:
        """Monday to Friday and not a holiday or decreed day off."""
        return day.weekday() < 5 and self.holiday_name(day) is None

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The end of the ``days``-th business day after ``start`` (UTC).

        The day of ``start`` itself does not count, whatever the hour: a
        queja filed on Friday at 19:00 with 2 days is due at the end of the
        second business day after Friday. ``days`` = 0 gives the end of the
        day of ``start`` if it is a business day, else the next one.
        """
        day = start.astimezone(PANAMA).date()
        if days <= 0:
            while not self.is_business_day(day):
                day += timedelta(days=1)
            return _end_of_day(day)
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        return _end_of_day(day)

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Business days after ``start``'s day up to and including ``end``'s."""
        first = start.astimezone(PANAMA).date()
        last = end.astimezone(PANAMA).date()
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count += 1
        return count


def _end_of_day(day: date) -> datetime:
    """23:59:59 of ``day`` in Panama, as UTC."""
    local = datetime.combine(day, time(23, 59, 59), tzinfo=PANAMA)
    return local.astimezone(UTC)
