"""An injectable clock so tests can move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until told to move (for tests)."""

    def __init__(self, at: datetime) -> None:
        """Start at ``at`` (must be timezone-aware)."""
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.at = at

    def __call__(self) -> datetime:
        """Return the frozen time."""
        return self.at

    def advance(self, **delta: float) -> None:
        """Move forward by a ``timedelta(**delta)``."""
        self.at += timedelta(**delta)
