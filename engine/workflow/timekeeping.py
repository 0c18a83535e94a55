"""The engine's notion of "now" and of business days, for diagrams.

Services run a workflow step inside :func:`at`, which sets the current time
and business calendar for that thread of work. SpiffWorkflow's timer events
read the time through the patched ``datetime`` below, and the helper
functions scripts may call (``plazo_habil``, ``antes_de``, …) read both. So a
test or the worker can move time with an injectable clock and the diagram
sees the same instant everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

from engine.workflow.calendar import BusinessCalendar

_NOW: ContextVar[datetime | None] = ContextVar("centro311_now", default=None)
_CALENDAR: ContextVar[BusinessCalendar | None] = ContextVar(
    "centro311_calendar", default=None
)
_DEFAULT_CALENDAR = BusinessCalendar()


class _EngineDatetime(datetime):
    """``datetime`` whose ``now()`` follows the engine's current time."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _EngineDatetime:
        """The engine's current time (the real time outside :func:`at`)."""
        fixed = _NOW.get()
        if fixed is None:
            return super().now(tz)
        # Same semantics as datetime.now: naive local time without ``tz``.
        return cls.fromtimestamp(fixed.timestamp(), tz)


# SpiffWorkflow's timers call ``datetime.now(timezone.utc)`` in this module.
_spiff_timer.datetime = _EngineDatetime


@contextmanager
def at(now: datetime, calendar: BusinessCalendar | None = None) -> Iterator[None]:
    """Run the enclosed workflow work at ``now`` with ``calendar``."""
    if now.tzinfo is None:
        raise ValueError("the engine's time must be timezone-aware")
    token_now = _NOW.set(now)
    token_cal = _CALENDAR.set(calendar)
    try:
        yield
    finally:
        _NOW.reset(token_now)
        _CALENDAR.reset(token_cal)


def now() -> datetime:
    """The engine's current time, aware UTC."""
    fixed = _NOW.get()
    return fixed.astimezone(UTC) if fixed else datetime.now(UTC)


def calendar() -> BusinessCalendar:
    """The business calendar in force."""
    return _CALENDAR.get() or _DEFAULT_CALENDAR


def _parse(value: str) -> datetime:
    """An ISO datetime from task data, as aware UTC."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --------------------------------------------------------------------------
# Functions diagrams may call (the whitelist of the restricted environment).
# Dates travel through task data as ISO strings with offset.


def ahora() -> str:
    """The current time as an ISO string."""
    return now().isoformat()


def plazo_habil(dias: int) -> str:
    """End of the ``dias``-th business day from now (ISO string)."""
    return calendar().add_business_days(now(), int(dias)).isoformat()


def antes_de(fecha: str, horas: float) -> str:
    """``horas`` hours before the ISO date ``fecha`` (ISO string)."""
    return (_parse(fecha) - timedelta(hours=float(horas))).isoformat()


def dias_habiles_restantes(fecha: str) -> int:
    """Business days left from now until the ISO date ``fecha`` (at least 0)."""
    return max(0, calendar().business_days_between(now(), _parse(fecha)))


def vencido(fecha: str | None) -> bool:
    """True if the ISO date ``fecha`` has passed."""
    return bool(fecha) and _parse(str(fecha)) < now()


SCRIPT_HELPERS: dict[str, Callable[..., Any]] = {
    "ahora": ahora,
    "plazo_habil": plazo_habil,
    "antes_de": antes_de,
    "dias_habiles_restantes": dias_habiles_restantes,
    "vencido": vencido,
}
