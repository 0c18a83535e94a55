"""A case's point on the map: the optional latitude and longitude of intake.

The citizen sets it with a map pin, or types it where there is no map (no
JavaScript, tiles that do not load); the address stays the form's text
field. A point is both coordinates or neither, decimal degrees (WGS 84),
inside Panama's bounding box: a point elsewhere is a typo or a device that
placed itself wrongly, and no Panamanian entity could attend it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from engine.domain.errors import N_, InvalidData, Message

#: Panama's bounding box in degrees, with a margin for its islands and its
#: borders with Costa Rica and Colombia.
PANAMA_MIN_LATITUDE = 7.0
PANAMA_MAX_LATITUDE = 9.8
PANAMA_MIN_LONGITUDE = -83.1
PANAMA_MAX_LONGITUDE = -77.1

#: Decimals kept: five decimals of a degree are about a metre, enough to
#: find a pothole or a broken street light, and no more precise than the
#: phone that set the pin.
DECIMALS = 5

#: The intake form's fields holding the point (not case data of the form:
#: they go to the case's own columns).
LATITUDE_FIELD = "latitud"
LONGITUDE_FIELD = "longitud"

#: A decimal number as people type it: a sign, digits, and a point or a
#: comma before the decimals (``8.98``, ``-79,52``). No exponents, no
#: ``nan`` or ``inf``, nothing longer than a coordinate needs.
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:[.,]\d{0,15})?|[.,]\d{1,15})")


@dataclass(frozen=True)
class Point:
    """A place in Panama, in decimal degrees."""

    latitude: float
    longitude: float


def check_point(latitude: object, longitude: object) -> Point | None:
    """The point typed or pinned at intake; None when both are empty.

    Values may be numbers or text (a form's). Raises :class:`InvalidData`
    keyed by ``latitud``/``longitud`` with a message the citizen can act
    on: one coordinate without the other, text that is not a number, or a
    point outside Panama.
    """
    if _empty(latitude) and _empty(longitude):
        return None
    errors: dict[str, list[Message]] = {}
    lat = _coordinate(
        latitude,
        LATITUDE_FIELD,
        (PANAMA_MIN_LATITUDE, PANAMA_MAX_LATITUDE),
        errors,
        example="8.98235",
        outside=N_(
            "Ese punto queda fuera de Panamá: la latitud va de %(low)s a %(high)s."
        ),
    )
    lon = _coordinate(
        longitude,
        LONGITUDE_FIELD,
        (PANAMA_MIN_LONGITUDE, PANAMA_MAX_LONGITUDE),
        errors,
        example="-79.51973",
        outside=N_(
            "Ese punto queda fuera de Panamá: la longitud va de %(low)s a %(high)s."
        ),
    )
    if errors or lat is None or lon is None:
        raise InvalidData(errors)
    return Point(round(lat, DECIMALS), round(lon, DECIMALS))


def _empty(value: object) -> bool:
    """True for an absent coordinate (None or blank text)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _coordinate(
    value: object,
    field: str,
    bounds: tuple[float, float],
    errors: dict[str, list[Message]],
    *,
    example: str,
    outside: str,
) -> float | None:
    """One coordinate as a number in ``bounds``, or None with its message."""
    if _empty(value):
        errors[field] = [
            Message(N_("Indique la latitud y la longitud, o deje las dos vacías."))
        ]
        return None
    number = _number(value)
    if number is None:
        errors[field] = [
            Message(
                N_("Escriba un número con punto decimal, por ejemplo %(example)s."),
                {"example": example},
            )
        ]
        return None
    if not bounds[0] <= number <= bounds[1]:
        errors[field] = [Message(outside, {"low": bounds[0], "high": bounds[1]})]
        return None
    return number


def _number(value: object) -> float | None:
    """A finite number from a number or from text as people type it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value.strip().replace(",", "."))
    else:
        return None
    return number if math.isfinite(number) else None
