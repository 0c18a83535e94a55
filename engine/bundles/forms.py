"""Task forms: JSON Schema files read from a version's bundle.

Forms are rendered by the web layer and validated here, on the server, with
``jsonschema``. A few ``x-`` keywords are ours: ``x-widget`` (textarea, radio),
``x-enum-labels``, ``x-public`` (published on the citizen's timeline),
``x-personal`` (personal data), ``x-source`` (choices filled from the
database: ``entidades``, ``articulos``), ``x-staff`` (an intake field only
311 staff see and fill; a citizen's form has no such field).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import re2
from email_validator import EmailNotValidError, validate_email
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from engine.domain.errors import N_, InvalidData, Message

Schema = dict[str, Any]

#: Formats that hold contact data: personal unless a field says otherwise.
EMAIL_FORMATS = frozenset({"email", "idn-email"})
PHONE_FORMATS = frozenset({"phone", "tel"})
CONTACT_FORMATS = EMAIL_FORMATS | PHONE_FORMATS

#: Name parts of fields that look like contact data (for deploy warnings).
CONTACT_WORDS = frozenset(
    {
        "correo",
        "email",
        "mail",
        "telefono",
        "tel",
        "celular",
        "movil",
        "whatsapp",
        "cedula",
        "pasaporte",
        "nombre",
        "nombres",
        "apellido",
        "apellidos",
    }
)

#: Phone numbers without a country code are read as Panamanian.
PHONE_REGION = "PA"

_FORMAT_CHECKER = FormatChecker()


def _is_email(value: object) -> bool:
    """An address mail can go to: no CR/LF, a real domain form.

    ``email-validator`` checks the syntax (and refuses line breaks and other
    characters that would let an address inject mail headers); deliverability
    is not checked, so filing never waits on DNS.
    """
    if not isinstance(value, str):
        return True
    validate_email(value, check_deliverability=False)
    return True


def _is_phone(value: object) -> bool:
    """A possible phone number (Panamanian unless it has a country code)."""
    if not isinstance(value, str):
        return True
    return is_phone(value)


def _is_datetime(value: object) -> bool:
    """An RFC 3339 date and time with its offset (``date-time``).

    jsonschema checks ``date-time`` only with an optional package; this is
    the same rule with the standard library.
    """
    if not isinstance(value, str):
        return True
    if not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", value
    ):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


_FORMAT_CHECKER.checks("date-time")(_is_datetime)
for _name in EMAIL_FORMATS:
    _FORMAT_CHECKER.checks(_name, raises=(EmailNotValidError,))(_is_email)
for _name in PHONE_FORMATS:
    _FORMAT_CHECKER.checks(_name)(_is_phone)


def is_phone(value: str) -> bool:
    """Whether ``value`` reads as a valid phone number (region PA by default)."""
    if len(value) > 40:
        return False
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def is_email(value: str) -> bool:
    """Whether ``value`` is an address mail may be sent to (no header tricks)."""
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# --- Regular expressions ----------------------------------------------------
# Form patterns are designer content run on citizens' text. Python's ``re``
# backtracks, so ``^(a+)+$`` takes exponential time on a crafted input; RE2
# matches in linear time and refuses the constructs that need backtracking
# (backreferences, lookaround), which deploy reports.

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The RE2 program of a form pattern (raises ``re2.error`` if refused)."""
    return re2.compile(pattern, options=_RE2_OPTIONS)


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern cannot be used (None when RE2 accepts it)."""
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        return str(detail)
    return None


def _pattern(
    validator: Any, pattern: Any, instance: Any, schema: Schema
) -> Iterator[ValidationError]:
    """The ``pattern`` keyword, matched by RE2."""
    if not validator.is_type(instance, "string") or not isinstance(pattern, str):
        return
    try:
        matched = compile_pattern(pattern).search(instance)
    except re2.error:
        yield ValidationError(f"{pattern!r} is not a usable pattern")
        return
    if matched is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Any, instance: Any, schema: Schema
) -> Iterator[ValidationError]:
    """The ``patternProperties`` keyword, matched by RE2."""
    if not validator.is_type(instance, "object") or not isinstance(patterns, dict):
        return
    for pattern, subschema in patterns.items():
        try:
            program = compile_pattern(pattern)
        except re2.error:
            yield ValidationError(f"{pattern!r} is not a usable pattern")
            continue
        for key, value in instance.items():
            if program.search(key):
                yield from validator.descend(
                    value, subschema, path=key, schema_path=pattern
                )


_FormValidator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties},
)


def _refuse(uri: str) -> Any:
    """Retrieval hook: references never leave the form (no file, no network)."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


#: A registry that resolves nothing outside the form being validated.
_LOCAL_ONLY: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]


def validator_for(schema: Schema) -> Any:
    """A validator for a form: RE2 patterns, our formats, local ``$ref`` only.

    Built once per form object: the forms of a parsed version live as long
    as its cached spec, and a validator only reads its schema, so one serves
    every request (a few hundred forms at most are kept).
    """
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    validator = _FormValidator(
        schema, format_checker=_FORMAT_CHECKER, registry=_LOCAL_ONLY
    )
    if len(_VALIDATORS) >= _VALIDATORS_KEPT:
        _VALIDATORS.clear()  # atomic, whatever other threads do meanwhile
    # The schema is kept with its validator, so its id is not reused.
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


_VALIDATORS: dict[int, tuple[Schema, Any]] = {}
_VALIDATORS_KEPT = 512


def fields(schema: Schema) -> dict[str, Schema]:
    """The top-level properties of a form, in declaration order."""
    props = schema.get("properties", {})
    return dict(props) if isinstance(props, dict) else {}


def staff_fields(schema: Schema) -> list[str]:
    """Names of the fields marked ``x-staff`` (filled only by 311 staff)."""
    return [name for name, spec in fields(schema).items() if spec.get("x-staff")]


def without_staff_fields(schema: Schema) -> Schema:
    """The form as citizens get it: no ``x-staff`` fields (nor their
    ``required`` entries), so a citizen can neither see nor send them."""
    hidden = set(staff_fields(schema))
    if not hidden:
        return schema
    kept = dict(schema)
    kept["properties"] = {
        name: spec for name, spec in fields(schema).items() if name not in hidden
    }
    if isinstance(schema.get("required"), list):
        kept["required"] = [n for n in schema["required"] if n not in hidden]
    return kept


def coerce(
    schema: Schema, raw: Mapping[str, Sequence[str]], *, max_field: int = 20000
) -> dict[str, Any]:
    """Turn submitted form values (lists of strings) into typed data.

    Empty optional values are dropped, so "not given" is absent rather than
    an empty string; numbers and booleans are converted where the schema says
    so; anything unparseable is kept as text so validation reports it beside
    its field instead of losing it. Values are clipped at ``max_field`` chars
    as a last guard (the schema's ``maxLength`` gives the friendly message).
    """
    data: dict[str, Any] = {}
    for name, spec in fields(schema).items():
        values = [v[:max_field] for v in raw.get(name, [])]
        kind = spec.get("type", "string")
        if kind == "array":
            chosen = [v for v in values if v != ""]
            if chosen:
                data[name] = chosen
            continue
        if kind == "boolean":
            if values:
                data[name] = values[-1] in ("1", "true", "on", "si", "sí")
            continue
        value = values[-1].strip() if values else ""
        if value == "":
            continue
        if kind in ("integer", "number"):
            try:
                number = float(value.replace(",", "."))
                data[name] = int(number) if kind == "integer" else number
            except ValueError:
                data[name] = value
            continue
        if spec.get("format") == "date-time":
            value = local_datetime(value)
        data[name] = value.replace("\r\n", "\n")
    return data


#: What a browser's ``datetime-local`` input sends (no seconds, no offset).
_LOCAL_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
#: The time zone of a date and time typed without one.
LOCAL_ZONE = ZoneInfo("America/Panama")


def local_datetime(value: str) -> str:
    """A ``datetime-local`` value as RFC 3339 in Panama time, as ``date-time``
    requires (``2026-11-04T14:30`` → ``2026-11-04T14:30:00-05:00``); any
    other text is returned as typed, for validation to report."""
    if not _LOCAL_DATETIME.fullmatch(value):
        return value
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=LOCAL_ZONE)
    except ValueError:
        return value
    return moment.isoformat()


def validate(
    schema: Schema,
    data: Mapping[str, Any],
    sources: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[Message]]:
    """Validate ``data`` against a form; returns messages per field.

    ``sources`` gives the allowed values of ``x-source`` fields (e.g. the
    active entity codes for ``entidades``). The key ``""`` holds messages that
    belong to no single field.
    """
    errors: dict[str, list[Message]] = {}
    try:
        found = list(validator_for(schema).iter_errors(dict(data)))
    except Unresolvable:
        # A reference outside the form (deploy refuses them; older versions
        # may hold one): never fetched, reported instead.
        return {"": [Message(N_("El formulario hace referencia a otro documento."))]}
    for err in found:
        for name, message in _describe(err, data):
            bucket = errors.setdefault(name, [])
            if message not in bucket:
                bucket.append(message)
    for name, spec in fields(schema).items():
        source = spec.get("x-source")
        if source and name in data and sources is not None:
            allowed = sources.get(str(source), ())
            if data[name] not in allowed:
                errors.setdefault(name, []).append(
                    Message(N_("Elija una de las opciones de la lista."))
                )
    return errors


def check(
    schema: Schema,
    data: Mapping[str, Any],
    sources: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Raise :class:`InvalidData` unless ``data`` is valid for ``schema``."""
    errors = validate(schema, data, sources)
    if errors:
        raise InvalidData(errors)


def _describe(err: Any, data: Mapping[str, Any]) -> list[tuple[str, Message]]:
    """Translate one jsonschema error into (field, message) pairs."""
    path = [str(p) for p in err.absolute_path]
    name = path[0] if path else ""
    kind = err.validator
    value = err.validator_value
    if kind == "required":
        missing = [f for f in value if f not in data]
        return [(f, Message(N_("Este campo es obligatorio."))) for f in missing]
    if kind == "maxLength":
        msg = N_("Escriba como máximo %(limit)s caracteres.")
        return [(name, Message(msg, {"limit": value}))]
    if kind == "minLength":
        if value <= 1:
            return [(name, Message(N_("Este campo es obligatorio.")))]
        msg = N_("Escriba al menos %(limit)s caracteres.")
        return [(name, Message(msg, {"limit": value}))]
    if kind == "format" and value in EMAIL_FORMATS:
        return [(name, Message(N_("Escriba un correo electrónico válido.")))]
    if kind == "format" and value in PHONE_FORMATS:
        return [(name, Message(N_("Escriba un número de teléfono válido.")))]
    if kind == "format" and value == "date":
        msg = N_("Escriba una fecha que exista, como año-mes-día: 2026-11-04.")
        return [(name, Message(msg))]
    if kind == "format" and value == "date-time":
        msg = N_("Escriba una fecha y hora que existan, como 2026-11-04 14:30.")
        return [(name, Message(msg))]
    if kind == "pattern" or kind == "format":
        return [(name, Message(N_("El formato no es válido.")))]
    if kind in ("enum", "const"):
        return [(name, Message(N_("Elija una de las opciones de la lista.")))]
    if kind == "type":
        if value in ("integer", "number"):
            return [(name, Message(N_("Escriba un número.")))]
        return [(name, Message(N_("El valor no es del tipo esperado.")))]
    if kind in ("minimum", "exclusiveMinimum"):
        return [(name, Message(N_("El valor es demasiado pequeño.")))]
    if kind in ("maximum", "exclusiveMaximum"):
        return [(name, Message(N_("El valor es demasiado grande.")))]
    if kind == "additionalProperties":
        return [("", Message(N_("El formulario recibió campos desconocidos.")))]
    return [(name, Message(N_("El valor no es válido.")))]


def public_values(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted values of fields marked ``x-public``."""
    return {
        name: data[name]
        for name, spec in fields(schema).items()
        if spec.get("x-public") and name in data
    }


def public_title(name: str, spec: Schema) -> str:
    """The label a published field shows the citizen: its ``x-public-title``
    (written for the citizen), else its ``title`` (written for staff), else
    its name."""
    label = spec.get("x-public-title") or spec.get("title")
    return label if isinstance(label, str) and label else name


def free_text(schema: Schema, data: Mapping[str, Any]) -> list[str]:
    """What people wrote in the form's free-text fields, for case search.

    Text fields only: choices (``enum``, ``oneOf``, ``const``, ``x-source``)
    are codes, and formatted values (dates, emails, phones) are not words.
    """
    texts = []
    for name, spec in fields(schema).items():
        value = data.get(name)
        if (
            isinstance(value, str)
            and value.strip()
            and spec.get("type", "string") == "string"
            and not any(k in spec for k in ("enum", "oneOf", "const", "x-source"))
            and "format" not in spec
        ):
            texts.append(value.strip())
    return texts


def personal_fields(schema: Schema) -> list[str]:
    """Names of personal fields: kept out of workflow data, shown to few.

    A field is personal when marked ``x-personal: true``, and by default when
    its ``format`` is an email or phone format (``x-personal: false`` opts
    out): a new case type cannot leak a citizen's address by forgetting the
    mark.
    """
    return [
        name
        for name, spec in fields(schema).items()
        if spec.get("x-personal")
        or (
            spec.get("format") in CONTACT_FORMATS
            and spec.get("x-personal") is not False
        )
    ]


def contact_email(schema: Schema, contact: Mapping[str, Any] | None) -> str | None:
    """The citizen's email among the contact data, found by the form's format.

    The first field with an email format that holds a valid address wins,
    whatever the designer named it.
    """
    if not contact:
        return None
    for name, spec in fields(schema).items():
        value = contact.get(name)
        if (
            spec.get("format") in EMAIL_FORMATS
            and isinstance(value, str)
            and is_email(value)
        ):
            return value
    return None
