"""Open311's services: what an outside system may file, read from the
intake forms of the newest versions.

One service per case type and category (``queja.agua``): the code is made
of the case type's key and the category's key, so it stays the same across
versions as long as the designers keep the category. A case type whose
intake form says ``"x-open311": false`` is not offered (nor listed by
:mod:`engine.services.open311_requests`). The intake form's conventional
fields take the specification's standard parameters (:class:`FormMap`);
every other field a citizen fills is an attribute of the service
definition.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from engine.bundles import forms
from engine.domain.errors import N_, NotFound
from engine.domain.open311 import (
    Attribute,
    AttributeValue,
    Service,
    ServiceDefinition,
)
from engine.services.common import (
    REAL_CASE,
    latest_versions,
    parsed_version,
    sources_for,
)
from engine.services.platform import Platform
from engine.store.models import Case

#: The intake field whose values split a case type into services.
CATEGORY = "categoria"
#: The conventional fields that take the standard parameters.
DESCRIPTION = "descripcion"
ADDRESS = "ubicacion"
SUBJECT = "asunto"
#: Longer text fields are ``text`` rather than ``string``.
LONG_TEXT = 300
#: Labels of a yes/no attribute's values.
YES_NO = (AttributeValue("true", "Sí"), AttributeValue("false", "No"))


@dataclass(frozen=True)
class FormMap:
    """Which intake fields take the standard parameters of a POST."""

    description: str | None
    address: str | None
    email: str | None
    phone: str | None
    name: str | None

    @property
    def standard(self) -> frozenset[str]:
        """The fields filled from standard parameters, never attributes."""
        return frozenset(
            f
            for f in (
                CATEGORY,
                self.description,
                self.address,
                self.email,
                self.phone,
                self.name,
            )
            if f
        )


@dataclass(frozen=True)
class Offered:
    """A case type on offer: its newest version's citizen intake form."""

    case_type: str
    version_id: int
    title: str
    schema: forms.Schema
    categories: tuple[tuple[str, str], ...]

    def code(self, category: str) -> str:
        """The service code of one category."""
        return f"{self.case_type}.{category}"


def form_map(schema: forms.Schema) -> FormMap:
    """The fields of ``schema`` that the standard parameters fill.

    ``descripcion`` and ``ubicacion`` by name (the case types' convention);
    contact fields by what they are: the first email-format and phone-format
    personal fields, and the first other personal text field for the name.
    """
    specs = forms.fields(schema)
    personal = forms.personal_fields(schema)

    def first(formats: frozenset[str]) -> str | None:
        return next((n for n in personal if specs[n].get("format") in formats), None)

    name = next(
        (
            n
            for n in personal
            if specs[n].get("type", "string") == "string"
            and specs[n].get("format") not in forms.CONTACT_FORMATS
        ),
        None,
    )
    return FormMap(
        description=DESCRIPTION if DESCRIPTION in specs else None,
        address=ADDRESS if ADDRESS in specs else None,
        email=first(forms.EMAIL_FORMATS),
        phone=first(forms.PHONE_FORMATS),
        name=name,
    )


def _categories(spec: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    keys = [str(k) for k in spec.get("enum", [])]
    labels = spec.get("x-enum-labels") or keys
    return tuple(zip(keys, (str(label) for label in labels), strict=False))


def offered(p: Platform, s: Session) -> list[Offered]:
    """The case types offered through Open311, by key."""
    found: list[Offered] = []
    for row in sorted(latest_versions(s), key=lambda r: r.case_type):
        parsed = parsed_version(p, row)
        intake = parsed.form(parsed.start_form)
        if intake.get("x-open311") is False:
            continue
        schema = forms.without_staff_fields(intake)
        category = forms.fields(schema).get(CATEGORY)
        categories = _categories(category) if category else ()
        found.append(
            Offered(
                case_type=row.case_type,
                version_id=row.id,
                title=row.title,
                schema=schema,
                categories=categories or (("", ""),),
            )
        )
    return found


def published_cases(kinds: Collection[str]) -> ColumnElement[bool]:
    """The cases the outside may see (Open311, open data): of an offered
    case type (``kinds``), never a reserved-identity denuncia, never a
    practice case."""
    return and_(Case.case_type.in_(kinds), Case.identity_reserved.is_(False), REAL_CASE)


def is_published(case: Case, kinds: Collection[str]) -> bool:
    """:func:`published_cases` for one loaded case."""
    return case.case_type in kinds and not case.identity_reserved and not case.practice


def _service(kind: Offered, category: str, label: str) -> Service:
    description = str(kind.schema.get("description", ""))
    return Service(
        service_code=kind.code(category) if category else kind.case_type,
        service_name=f"{kind.title}: {label}" if label else kind.title,
        description=description,
        metadata=bool(attributes(kind.schema, {})),
        type="realtime",
        keywords=", ".join(w for w in (kind.case_type, category) if w),
        group=kind.title,
    )


def list_services(p: Platform) -> list[Service]:
    """Every service on offer, case type by case type."""
    with p.db.read() as s:
        return [
            _service(kind, category, label)
            for kind in offered(p, s)
            for category, label in kind.categories
        ]


def find_service(p: Platform, s: Session, code: str) -> tuple[Offered, str]:
    """The case type and category of a service code (NotFound otherwise)."""
    case_type, _, category = code.partition(".")
    for kind in offered(p, s):
        if kind.case_type == case_type and any(
            c == category for c, _ in kind.categories
        ):
            return kind, category
    raise NotFound(N_("No hay un servicio con ese código."))


def service_definition(p: Platform, code: str) -> ServiceDefinition:
    """The attributes of one service, in the intake form's order."""
    with p.db.read() as s:
        kind, _category = find_service(p, s, code)
        sources = sources_for(s, kind.schema)
    return ServiceDefinition(
        service_code=code, attributes=attributes(kind.schema, sources)
    )


def attributes(
    schema: forms.Schema, sources: Mapping[str, list[tuple[str, str]]]
) -> tuple[Attribute, ...]:
    """The intake fields a POST fills through ``attribute[CODE]``."""
    standard = form_map(schema).standard
    required = set(schema.get("required", []))
    found: list[Attribute] = []
    for name, spec in forms.fields(schema).items():
        if name in standard:
            continue
        datatype, values = _datatype(spec, sources)
        found.append(
            Attribute(
                variable=True,
                code=name,
                datatype=datatype,
                # The subject is made from the description when not given.
                required=name in required and name != SUBJECT,
                datatype_description=str(spec.get("description", "")),
                order=len(found) + 1,
                description=str(spec.get("title", name)),
                values=values,
            )
        )
    return tuple(found)


def _datatype(
    spec: Mapping[str, Any], sources: Mapping[str, list[tuple[str, str]]]
) -> tuple[str, tuple[AttributeValue, ...]]:
    """The GeoReport datatype of a field, and its values for a list."""
    kind = spec.get("type", "string")
    if spec.get("x-source"):
        choices = sources.get(str(spec["x-source"]), [])
        return "singlevaluelist", tuple(AttributeValue(k, v) for k, v in choices)
    if kind == "boolean":
        return "singlevaluelist", YES_NO
    if kind == "array":
        items = spec.get("items") or {}
        return "multivaluelist", tuple(
            AttributeValue(k, v) for k, v in _categories(items)
        )
    if "enum" in spec:
        return "singlevaluelist", tuple(
            AttributeValue(k, v) for k, v in _categories(spec)
        )
    if kind in ("number", "integer"):
        return "number", ()
    if spec.get("format") in ("date", "date-time"):
        return "datetime", ()
    if spec.get("x-widget") == "textarea" or spec.get("maxLength", 0) > LONG_TEXT:
        return "text", ()
    return "string", ()
