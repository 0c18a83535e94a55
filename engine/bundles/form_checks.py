"""A bundle's forms at deploy: a form that is no JSON Schema stops the
deploy; warnings (it deploys anyway) name a required yes/no that could only
be answered yes, an answer to the citizen nobody publishes, and contact-like
fields not marked personal."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from engine.bundles.forms import (
    CONTACT_WORDS,
    Schema,
    fields,
    pattern_problem,
    personal_fields,
)
from engine.bundles.markup import problem
from engine.domain.errors import N_, Problem


def contact_like_fields(schema: Schema) -> list[str]:
    """Fields whose name suggests contact data but that are not personal.

    Deploy warns about them: their values would go into the workflow data
    that every staff member on the case sees.
    """
    personal = set(personal_fields(schema))
    found = []
    for name, spec in fields(schema).items():
        if name in personal or spec.get("x-personal") is False:
            continue
        if _name_words(name) & CONTACT_WORDS:
            found.append(name)
    return found


#: Name parts of fields that look like the answer the citizen is waiting for.
ANSWER_WORDS = frozenset({"respuesta", "responder", "dictamen", "answer"})


def _name_words(name: str) -> set[str]:
    """A field name's words, lower case and without accents."""
    plain = unicodedata.normalize("NFKD", name.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return set(plain.replace("-", "_").split("_"))


def unpublished_answers(schema: Schema) -> list[str]:
    """Fields that read like an answer to the citizen but are not ``x-public``.

    Deploy warns about them: the citizen would never see what the entity
    answered (a field named like ``respuesta``, or whose title speaks to the
    citizen, without ``"x-public": true``).
    """
    found = []
    for name, spec in fields(schema).items():
        if "x-public" in spec or spec.get("enum") or spec.get("type") != "string":
            continue
        title = str(spec.get("title", "")).lower()
        if _name_words(name) & ANSWER_WORDS or "ciudadano" in title:
            found.append(name)
    return found


def unanswerable_booleans(schema: Schema) -> list[str]:
    """Required yes/no fields shown with a widget that cannot say "no".

    A required boolean is rendered as Sí/No radio buttons; one that asks for
    another widget (a single checkbox) could only be answered "yes".
    """
    required = set(schema.get("required", []))
    return [
        name
        for name, spec in fields(schema).items()
        if name in required
        and spec.get("type") == "boolean"
        and spec.get("x-widget") not in (None, "radio")
    ]


def read_form(name: str, text: str) -> tuple[Any, list[Problem]]:
    """A form file's schema (None when it is not JSON) and its problems:
    errors that stop the deploy, warnings about what would strand a case
    or expose a citizen's data."""
    problems: list[Problem] = []
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(
            problem(
                name,
                None,
                N_("El JSON no es válido: %(detail)s"),
                detail=str(exc),
            )
        )
        return None, problems
    for detail in check_schema(schema):
        problems.append(
            problem(
                name,
                None,
                N_("El formulario no es un JSON Schema válido: %(detail)s"),
                detail=detail,
            )
        )
    if isinstance(schema, dict):
        for field in contact_like_fields(schema):
            problems.append(
                problem(
                    name,
                    field,
                    N_(
                        "El campo «%(field)s» parece un dato de contacto "
                        "pero no es personal: su valor quedará a la vista "
                        "de todo el personal del caso. Márquelo con "
                        '"x-personal": true (o use "format": "email" o '
                        '"phone"), o con "x-personal": false si es a '
                        "propósito."
                    ),
                    "warning",
                    field=field,
                )
            )
        for field in unanswerable_booleans(schema):
            problems.append(
                problem(
                    name,
                    field,
                    N_(
                        "El campo «%(field)s» es un sí/no obligatorio "
                        "mostrado con otro control (x-widget): solo se "
                        "podría responder «sí» y el caso quedaría "
                        "detenido. Quite el x-widget (se muestra como "
                        "Sí/No) o hágalo opcional."
                    ),
                    "warning",
                    field=field,
                )
            )
    return schema, problems


def answer_problems(form: str, schema: Schema) -> list[Problem]:
    """Warnings about a staff form whose answer to the citizen nobody
    publishes."""
    problems: list[Problem] = []
    for field in unpublished_answers(schema):
        problems.append(
            problem(
                form,
                field,
                N_(
                    "El campo «%(field)s» parece la respuesta al "
                    "ciudadano, pero no es público: el ciudadano "
                    'nunca la verá. Márquelo con "x-public": true, '
                    'o con "x-public": false si es solo para el '
                    "personal."
                ),
                "warning",
                field=field,
            )
        )
    return problems


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a form, depth first (the form itself included)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def external_refs(schema: Any) -> list[str]:
    """``$ref``/``$dynamicRef`` values that point outside the form itself."""
    return [
        value
        for node in _objects(schema)
        for key in ("$ref", "$dynamicRef")
        if isinstance(value := node.get(key), str) and not value.startswith("#")
    ]


def patterns(schema: Any) -> list[str]:
    """Every regular expression in a form (``pattern``, ``patternProperties``)."""
    found: list[str] = []
    for node in _objects(schema):
        if isinstance(node.get("pattern"), str):
            found.append(node["pattern"])
        if isinstance(node.get("patternProperties"), dict):
            found.extend(str(key) for key in node["patternProperties"])
    return found


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
    problems = [
        f"la referencia «{ref}» apunta fuera del formulario (solo se admiten "
        "referencias internas que empiezan por #)"
        for ref in external_refs(schema)
    ]
    for name, spec in (schema.get("properties") or {}).items():
        label = spec.get("x-public-title") if isinstance(spec, dict) else None
        if label is not None and not (isinstance(label, str) and label.strip()):
            problems.append(
                f"x-public-title del campo «{name}» debe ser un texto "
                "(la etiqueta que lee el ciudadano)"
            )
    for pattern in patterns(schema):
        detail = pattern_problem(pattern)
        if detail is not None:
            problems.append(
                f"la expresión regular «{pattern[:80]}» no se admite ({detail}); "
                "no use retrorreferencias ni búsquedas hacia adelante o atrás"
            )
    return problems
