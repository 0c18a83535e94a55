"""Open311 GeoReport v2 at ``/open311/v2/``, in JSON and in XML.

Every path ends in its format (``services.json``, ``requests/ID.xml``);
errors come in the format asked for, as the specification's list of
``{code, description}``. Reading needs no key; ``POST requests`` needs an
``api_key`` (see :mod:`engine.services.api_keys`). The views only turn
HTTP into service calls and dataclasses into documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

from flask import Blueprint, Response, request, url_for
from flask_babel import gettext
from lxml import etree

from engine.domain.errors import (
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
    ServiceError,
    TooManyAttempts,
)
from engine.services import open311_catalog, open311_requests
from webapp.helpers import client_key, platform, translate

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMATS = {"json": "application/json", "xml": "text/xml"}
#: The element of each item of a list, in XML (the specification's names).
ITEM = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "notes": "note",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
#: When the specification's changes were last followed here.
CHANGESET = "2026-12-05T00:00:00-05:00"


def _document(value: Any) -> Any:
    """Dataclasses as dicts, dropping the extension fields not asked for."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _document(v) for k, v in asdict(value).items() if v is not None}
    if isinstance(value, dict):
        return {k: _document(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_document(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _element(tag: str, value: Any) -> etree._Element:
    node = etree.Element(tag)
    if isinstance(value, dict):
        for key, child in value.items():
            node.append(_element(key, child))
    elif isinstance(value, list):
        for child in value:
            node.append(_element(ITEM.get(tag, "item"), child))
    else:
        node.text = _text(value)
    return node


def _respond(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    """``body`` in ``fmt``: JSON as it is, XML under the element ``root``."""
    document = _document(body)
    if fmt == "xml":
        payload = etree.tostring(
            _element(root, document), xml_declaration=True, encoding="utf-8"
        )
    else:
        payload = json.dumps(document, ensure_ascii=False).encode("utf-8")
    response = Response(
        payload, status=status, content_type=f"{FORMATS[fmt]}; charset=utf-8"
    )
    # Public data: any web page may read it (the key travels in POSTs only).
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _errors(fmt: str, status: int, descriptions: list[str]) -> Response:
    return _respond(
        fmt,
        "errors",
        [{"code": status, "description": d} for d in descriptions],
        status,
    )


def _answer(fmt: str, root: str, call: Callable[[], Any]) -> Response:
    """Run ``call``; its result as ``root``, or its failure as the error list."""
    if fmt not in FORMATS:
        return _errors("json", 404, [gettext("Formato desconocido: use json o xml.")])
    try:
        return _respond(fmt, root, call())
    except InvalidData as exc:
        return _errors(fmt, 400, _described(exc.errors))
    except NotAllowed as exc:
        return _errors(fmt, 403, [translate(exc.message)])
    except NotFound as exc:
        return _errors(fmt, 404, [translate(exc.message)])
    except TooManyAttempts:
        return _errors(
            fmt, 429, [gettext("Demasiadas solicitudes con esta clave; espere.")]
        )
    except ServiceError as exc:
        return _errors(fmt, 400, [translate(exc.message)])


def _described(errors: Mapping[str, list[Message]]) -> list[str]:
    """One description per problem, naming the parameter."""
    return [f"{name}: {translate(m)}" for name, found in errors.items() for m in found]


def _split(name: str) -> tuple[str, str]:
    """``queja.agua.json`` → (``queja.agua``, ``json``)."""
    stem, _, fmt = name.rpartition(".")
    return stem, fmt


@bp.get("/discovery.<fmt>")
def discovery(fmt: str) -> Response:
    """Where this endpoint is and what it speaks."""
    base = url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0]
    return _answer(
        fmt,
        "discovery",
        lambda: {
            "changeset": CHANGESET,
            "contact": gettext("Centro de Atención Ciudadana 3-1-1 de Panamá"),
            "key_service": gettext(
                "Pida una clave al administrador del Centro 311 (Administración "
                "→ Claves de la API)."
            ),
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": list(FORMATS.values()),
                }
            ],
        },
    )


@bp.get("/services.<fmt>")
def services(fmt: str) -> Response:
    """Every service on offer."""
    return _answer(fmt, "services", lambda: open311_catalog.list_services(platform()))


@bp.get("/services/<name>")
def service_definition(name: str) -> Response:
    """A service's attributes."""
    code, fmt = _split(name)
    return _answer(
        fmt,
        "service_definition",
        lambda: open311_catalog.service_definition(platform(), code),
    )


@bp.route("/requests.<fmt>", methods=["GET", "POST"])
def requests(fmt: str) -> Response:
    """List requests, or file one (with an ``api_key``)."""
    if request.method == "POST":
        form = request.form.to_dict(flat=False)
        key = (form.pop("api_key", None) or [request.args.get("api_key", "")])[-1]
        return _answer(
            fmt,
            "service_requests",
            lambda: [
                open311_requests.file_request(
                    platform(), key, form, client=client_key()
                )
            ],
        )
    return _answer(
        fmt,
        "service_requests",
        lambda: open311_requests.list_requests(
            platform(), open311_requests.request_query(request.args)
        ),
    )


@bp.get("/requests/<name>")
def one_request(name: str) -> Response:
    """One request, as an array of one."""
    number, fmt = _split(name)
    extensions = request.args.get("extensions", "").lower() == "true"
    return _answer(
        fmt,
        "service_requests",
        lambda: [
            open311_requests.get_request(platform(), number, extensions=extensions)
        ],
    )
