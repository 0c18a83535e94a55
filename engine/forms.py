"""Task forms: JSON Schema files read from a version's bundle.

Forms are rendered by the web layer and validated here, on the server, with
``jsonschema``. A few ``x-`` keywords are ours: ``x-widget`` (textarea, radio),
``x-enum-labels``, ``x-public`` (published on the citizen's timeline),
``x-personal`` (personal data), ``x-source`` (choices filled from the
database, e.g. ``entidades``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from engine.errors import N_, InvalidData, Message

_FORMAT_CHECKER = FormatChecker()

Schema = dict[str, Any]


def fields(schema: Schema) -> dict[str, Schema]:
    """The top-level properties of a form, in declaration order."""
    props = schema.get("properties", {})
    return dict(props) if isinstance(props, dict) else {}


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
        data[name] = value.replace("\r\n", "\n")
    return data


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
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    for err in validator.iter_errors(dict(data)):
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
    if kind == "format" and value == "email":
        return [(name, Message(N_("Escriba un correo electrónico válido.")))]
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


def check_schema(schema: Any) -> list[str]:
    """Problems that make ``schema`` unusable as a form (empty when fine)."""
    if not isinstance(schema, dict):
        return ["el formulario debe ser un objeto JSON"]
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # jsonschema.SchemaError and friends
        return [str(getattr(exc, "message", exc))]
    if schema.get("type") != "object":
        return ['el formulario debe declarar "type": "object"']
    return []


def public_values(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted values of fields marked ``x-public``."""
    return {
        name: data[name]
        for name, spec in fields(schema).items()
        if spec.get("x-public") and name in data
    }


def personal_fields(schema: Schema) -> list[str]:
    """Names of fields marked ``x-personal``."""
    return [n for n, spec in fields(schema).items() if spec.get("x-personal")]
