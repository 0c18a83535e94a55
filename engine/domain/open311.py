"""Plain dataclasses of the Open311 GeoReport v2 interface and its API keys.

The field names are the specification's (``service_code``, ``lat``…), so
the web layer writes them out as they are, in JSON or in XML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

#: Datatypes of a service definition's attributes (GeoReport v2).
DATATYPES = frozenset(
    {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
)


@dataclass(frozen=True)
class ApiKeyView:
    """An API key as the admin page lists it (never the key itself)."""

    id: int
    name: str
    prefix: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: the only moment its text exists outside the client."""

    view: ApiKeyView
    key: str


@dataclass(frozen=True)
class ApiClient:
    """The outside system a valid key names."""

    id: int
    name: str
    #: Where the request came from (the client address), for the audit log.
    client: str | None = None


@dataclass(frozen=True)
class Service:
    """One Open311 service: a case type and one of its categories."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


@dataclass(frozen=True)
class AttributeValue:
    """One choice of a list attribute."""

    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    """One extra question of a service (a field of the intake form)."""

    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: tuple[AttributeValue, ...] = ()


@dataclass(frozen=True)
class ServiceDefinition:
    """A service's attributes, in the intake form's order."""

    service_code: str
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True)
class RequestNote:
    """One entry of a request's public history (``extensions=true``)."""

    datetime: str
    summary: str
    description: str


@dataclass(frozen=True)
class ServiceRequest:
    """A case as Open311 shows it: public facts only, never personal data."""

    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str
    address: str
    address_id: str
    zipcode: str
    lat: str
    long: str
    media_url: str
    #: Only with ``extensions=true``.
    extended_attributes: dict[str, str] | None = None
    notes: tuple[RequestNote, ...] | None = None


@dataclass(frozen=True)
class FiledRequest:
    """The answer to a POST: the new case's number as the request id."""

    service_request_id: str
    service_notice: str
    account_id: str = ""


@dataclass(frozen=True)
class RequestQuery:
    """The filters of ``GET requests`` (checked by the service)."""

    ids: tuple[str, ...] = ()
    service_code: str = ""
    status: str = ""
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = 1000
    extensions: bool = False


@dataclass(frozen=True)
class PublishedFile:
    """An open-data file on offer, as ``/datos`` lists it."""

    day: date
    format: str
    rows: int
    size: int
    built_at: datetime


@dataclass(frozen=True)
class EntityFigures:
    """How one entity answered over the transparency page's period."""

    code: str
    name: str
    received: int
    closed: int
    closed_on_time: int
    overdue_open: int
    median_days: float | None
    surveys: int
    satisfaction: float | None

    @property
    def on_time_rate(self) -> float | None:
        """Closed on time ÷ (closed + overdue still open); None without cases."""
        counted = self.closed + self.overdue_open
        return self.closed_on_time / counted if counted else None


@dataclass(frozen=True)
class Transparency:
    """The figures of every entity, as of ``day``, since ``since``."""

    day: date
    since: date
    entities: tuple[EntityFigures, ...]
