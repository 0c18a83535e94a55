"""The 3-1-1 phone line's opening hours: parsing them and telling the time.

The hours are configuration (``PHONE_HOURS``), written as clauses separated
by ``;``, each a set of days and one or more time ranges::

    mon-fri 06:00-20:00; sat 08:00-12:00

Days are ``mon tue wed thu fri sat sun``, alone, as a range (``mon-fri``) or
listed with commas (``sat,sun``); a time range is ``HH:MM-HH:MM`` (``24:00``
ends at midnight), several ranges with commas (``08:00-12:00,14:00-18:00``).
A range includes its start and excludes its end: at 20:00 the line is closed.
The times are local to the configured zone (``PHONE_TIMEZONE``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The default hours: Panama's 3-1-1 line.
DEFAULT_HOURS = "mon-fri 06:00-20:00; sat 08:00-12:00"
DEFAULT_TIMEZONE = "America/Panama"

#: Day keys in ``date.weekday()`` order.
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far ahead the next opening is looked for (days off may pile up).
LOOKAHEAD_DAYS = 31

_CLAUSE = re.compile(r"^\s*(?P<days>[a-z,\-\s]+?)\s+(?P<ranges>[\d:,\-\s]+)\s*$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class PhoneHours:
    """Opening ranges per weekday, in minutes from local midnight."""

    zone: ZoneInfo
    #: ``weekday -> ((start, end), ...)``, sorted, minutes in [0, 1440].
    ranges: tuple[tuple[tuple[int, int], ...], ...]


@dataclass(frozen=True)
class PhoneLine:
    """Whether the phone line is open at a moment, and what comes next.

    Times are local to the line's zone. ``closes_at`` is set while open
    (None: open round the clock); ``opens_at`` (and ``opens_in_days``, 0
    for later today) while closed, None if no opening comes within
    :data:`LOOKAHEAD_DAYS`.
    """

    is_open: bool
    closes_at: datetime | None = None
    opens_at: datetime | None = None
    opens_in_days: int | None = None


def parse_hours(spec: str, zone: str = DEFAULT_TIMEZONE) -> PhoneHours:
    """Read the hours ``spec`` in time zone ``zone``.

    Raises ``ValueError`` with a sentence naming what is wrong (an unknown
    day, a time that is no time, a range that ends before it starts, ranges
    of one day that overlap, an unknown zone).
    """
    try:
        tz = ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"zona horaria desconocida: {zone!r}") from exc
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("el horario está vacío")
    per_day: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for clause in spec.strip().strip(";").split(";"):
        match = _CLAUSE.match(clause.lower())
        if not match:
            raise ValueError(
                f"no se entiende {clause.strip()!r}: use «días HH:MM-HH:MM», "
                "p. ej. «mon-fri 06:00-20:00»"
            )
        ranges = [_range(part) for part in match["ranges"].split(",")]
        for day in _days(match["days"]):
            per_day[day].extend(ranges)
    checked = []
    for day, ranges in enumerate(per_day):
        ranges.sort()
        for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
            if start < end:
                raise ValueError(f"los horarios del día {DAYS[day]} se solapan")
        checked.append(tuple(ranges))
    return PhoneHours(zone=tz, ranges=tuple(checked))


def _days(text: str) -> list[int]:
    """The weekdays ``text`` names (``mon-fri``, ``sat,sun``, ``wed``)."""
    found: list[int] = []
    for part in text.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"día desconocido en {part!r}: use {', '.join(DAYS)}")
        start = DAYS.index(first)
        stop = DAYS.index(last) if last else start
        if stop < start:
            raise ValueError(f"el rango de días {part!r} va hacia atrás")
        found.extend(range(start, stop + 1))
    return found


def _range(text: str) -> tuple[int, int]:
    """A time range ``HH:MM-HH:MM`` as minutes from midnight."""
    match = _RANGE.match(text.replace(" ", ""))
    if not match:
        raise ValueError(f"rango horario no válido: {text.strip()!r} (HH:MM-HH:MM)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or h1 > 23 or end > 24 * 60:
        raise ValueError(f"hora no válida en {text.strip()!r}")
    if end <= start:
        raise ValueError(f"el rango {text.strip()!r} termina antes de empezar")
    return start, end


def line_status(
    hours: PhoneHours,
    now: datetime,
    closed_day: Callable[[date], bool] = lambda day: False,
) -> PhoneLine:
    """Whether the line is open at ``now`` (aware) and when it closes or opens.

    ``closed_day`` says which local days the line stays closed whatever the
    weekday (holidays, decreed days off).
    """
    local = now.astimezone(hours.zone)
    today = local.date()
    minute = local.hour * 60 + local.minute + local.second / 60
    if not closed_day(today):
        for start, end in hours.ranges[today.weekday()]:
            if start <= minute < end:
                return PhoneLine(
                    is_open=True, closes_at=_closing(hours, today, end, closed_day)
                )
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        if closed_day(day):
            continue
        for start, _ in hours.ranges[day.weekday()]:
            if offset or start > minute:
                return PhoneLine(
                    is_open=False,
                    opens_at=_at(hours, day, start),
                    opens_in_days=offset,
                )
    return PhoneLine(is_open=False)


def _closing(
    hours: PhoneHours, day: date, end: int, closed_day: Callable[[date], bool]
) -> datetime | None:
    """When the line closes after a range of ``day`` ending at ``end``.

    A range ending at midnight goes on into the next day's range starting
    at midnight; None if the line never closes within :data:`LOOKAHEAD_DAYS`.
    """
    for _ in range(LOOKAHEAD_DAYS):
        if end < 24 * 60:
            return _at(hours, day, end)
        day += timedelta(days=1)
        follows = [e for s, e in hours.ranges[day.weekday()] if s == 0]
        if closed_day(day) or not follows:
            return _at(hours, day, 0)
        end = follows[0]
    return None


def _at(hours: PhoneHours, day: date, minutes: int) -> datetime:
    """Local ``day`` at ``minutes`` from its midnight (24:00 is the next day)."""
    midnight = datetime.combine(day, time(0), hours.zone)
    return midnight + timedelta(minutes=minutes)
