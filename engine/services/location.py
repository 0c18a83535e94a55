"""Where a case is: the intake form's address field and the case's map pin.

An intake form names its address field with ``"x-location": true`` (a text
field); the intake page offers the optional map pin below it, and the pin
is stored on the case (:mod:`engine.domain.geo`), not in the form's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.bundles import forms
from engine.domain.views import LocationView
from engine.store.models import Case

#: The form keyword marking the address field.
LOCATION_KEYWORD = "x-location"


def location_field(schema: forms.Schema) -> str | None:
    """The form's address field (the first text field marked ``x-location``)."""
    for name, spec in forms.fields(schema).items():
        if spec.get(LOCATION_KEYWORD) is True and spec.get("type") == "string":
            return name
    return None


def location_view(
    case: Case, schema: forms.Schema, data: Mapping[str, Any]
) -> LocationView | None:
    """The case's address (from its intake ``data``) and pin; None if neither."""
    name = location_field(schema)
    value = data.get(name) if name else None
    address = value.strip() if isinstance(value, str) else ""
    if not address and case.latitude is None:
        return None
    return LocationView(
        address=address, latitude=case.latitude, longitude=case.longitude
    )
