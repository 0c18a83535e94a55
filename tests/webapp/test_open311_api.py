"""Open311 GeoReport v2 over HTTP: every endpoint in JSON and XML, keys
managed in the browser and from the command line, and a request filed
through Open311 then worked to its answer through the web pages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from lxml import etree

from engine.services import api_keys, signin
from tests.conftest import Auth, must_search, post_form, work

API = "/open311/v2"
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-05:00$")
LEAK = {
    "service_code": "queja.agua",
    "description": "Una tubería rota bota agua potable frente a la escuela.",
    "address_string": "Calle 50",
    "email": "ana@example.com",
    "first_name": "Ana",
}


@pytest.fixture
def key(app: Any) -> str:
    """A key of the system "App ciudadana"."""
    p = app.extensions["centro311"]
    return api_keys.create_key(p, signin.administrator(p), "App ciudadana").key


def as_json(resp: Any) -> Any:
    """The JSON body of a response that must say it is JSON."""
    assert resp.mimetype == "application/json"
    return json.loads(resp.get_data(as_text=True))


def as_xml(resp: Any) -> Any:
    """The XML root of a response that must say it is XML."""
    assert resp.mimetype == "text/xml"
    return etree.fromstring(resp.get_data())


def test_discovery_and_services_in_both_formats(client):
    """Discovery names the endpoint; services and definitions follow the spec."""
    found = as_json(client.get(f"{API}/discovery.json"))
    assert found["endpoints"][0]["url"].endswith("/open311/v2")
    assert "text/xml" in found["endpoints"][0]["formats"]
    root = as_xml(client.get(f"{API}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/type") == "production"

    services = as_json(client.get(f"{API}/services.json"))
    water = next(s for s in services if s["service_code"] == "queja.agua")
    assert set(water) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert water["metadata"] is True
    root = as_xml(client.get(f"{API}/services.xml"))
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert codes == [s["service_code"] for s in services]
    assert root.find("service/metadata").text == "true"

    definition = as_json(client.get(f"{API}/services/denuncia.salud.json"))
    assert definition["service_code"] == "denuncia.salud"
    reserve = definition["attributes"][1]
    assert reserve["code"] == "identidad_reservada"
    assert reserve["values"] == [
        {"key": "true", "name": "Sí"},
        {"key": "false", "name": "No"},
    ]
    root = as_xml(client.get(f"{API}/services/denuncia.salud.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute[2]/values/value[1]/key") == "true"


def test_errors_come_in_the_format_asked_for(client, key):
    """404, 403 and 400 as the spec's error list, JSON or XML."""
    missing = client.get(f"{API}/services/queja.nada.xml")
    assert missing.status_code == 404
    assert as_xml(missing).findtext("error/code") == "404"
    no_key = client.post(f"{API}/requests.json", data=LEAK)
    assert no_key.status_code == 403
    assert as_json(no_key)[0]["code"] == 403
    bad_key = client.post(f"{API}/requests.xml", data={**LEAK, "api_key": "c311_x"})
    assert bad_key.status_code == 403
    assert as_xml(bad_key).tag == "errors"
    short = client.post(
        f"{API}/requests.json", data={**LEAK, "api_key": key, "description": "corta"}
    )
    assert short.status_code == 400
    assert [e["description"].split(":")[0] for e in as_json(short)] == ["description"]
    bad_query = client.get(f"{API}/requests.xml?status=pending")
    assert bad_query.status_code == 400
    assert as_xml(bad_query).findtext("error/description").startswith("status:")
    assert client.get(f"{API}/services.csv").status_code == 404
    assert client.get(f"{API}/requests/311-1999-000001.json").status_code == 404


def test_post_then_get_in_both_formats(client, key):
    """A POST answers the new id; GET lists it and returns it as an array."""
    filed = client.post(f"{API}/requests.xml", data={**LEAK, "api_key": key})
    assert filed.status_code == 200
    root = as_xml(filed)
    assert root.tag == "service_requests"
    number = root.findtext("request/service_request_id")
    assert number and root.find("request/service_notice") is not None

    listed = as_json(client.get(f"{API}/requests.json"))
    assert [r["service_request_id"] for r in listed] == [number]
    request = listed[0]
    assert request["status"] == "open"
    assert OFFSET.match(request["requested_datetime"])
    assert "ana@example.com" not in json.dumps(listed)
    assert "notes" not in request and "extended_attributes" not in request

    one = as_json(client.get(f"{API}/requests/{number}.json?extensions=true"))
    assert isinstance(one, list) and len(one) == 1
    assert one[0]["extended_attributes"]["channel"] == "open311"
    assert one[0]["notes"][0]["summary"] == "Caso recibido"
    root = as_xml(client.get(f"{API}/requests/{number}.xml"))
    assert root.findtext("request/service_request_id") == number
    assert root.findtext("request/address") == "Calle 50"
    assert (
        client.get(f"{API}/requests.json").headers["Access-Control-Allow-Origin"] == "*"
    )


def test_a_request_filed_through_open311_is_answered_through_the_web(app, client, key):
    """Triage, acknowledgement and the answer on the staff pages; Open311
    then shows the case closed with the answer in its status notes."""
    number = as_json(
        client.post(f"{API}/requests.json", data={**LEAK, "api_key": key})
    )[0]["service_request_id"]
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MOP"},
        number,
    )
    work(app, "enlace.mop", "Acusar recibo", {}, number)
    work(
        app,
        "enlace.mop",
        "Atender la queja",
        {"accion": "responder", "respuesta": "La cuadrilla reparó la tubería."},
        number,
    )
    request = as_json(client.get(f"{API}/requests/{number}.json?extensions=true"))[0]
    assert request["agency_responsible"].startswith("Ministerio de Obras")
    assert "La cuadrilla reparó la tubería." in json.dumps(
        request["notes"], ensure_ascii=False
    )
    answered = [n for n in request["notes"] if "cuadrilla" in n["description"]]
    assert answered


def test_admin_creates_shows_once_and_revokes_a_key(app, client):
    """The key appears on the page that created it only; revoking stops it."""
    auth = Auth(client)
    auth.login("admin")
    page = post_form(client, "/admin/claves-api", {"nombre": "Portal municipal"})
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    key = must_search(r'<code id="clave"[^>]*>(c311_[^<]+)</code>', html).group(1)
    listing = client.get("/admin/claves-api").get_data(as_text=True)
    assert key not in listing and "Portal municipal" in listing
    ok = client.post(f"{API}/requests.json", data={**LEAK, "api_key": key})
    assert ok.status_code == 200
    revoke = must_search(r'action="(/admin/claves-api/\d+/revocar)"', listing).group(1)
    token = must_search(r'name="csrf_token" value="([^"]+)"', listing).group(1)
    assert client.post(revoke, data={"csrf_token": token}).status_code == 303
    refused = client.post(f"{API}/requests.json", data={**LEAK, "api_key": key})
    assert refused.status_code == 403
    again = post_form(client, "/admin/claves-api", {"nombre": "Portal municipal"})
    assert again.status_code == 422
    assert 'id="nombre-error"' in again.get_data(as_text=True)
    auth.logout()
    auth.login("agente")
    assert client.get("/admin/claves-api").status_code == 403


def test_command_line_creates_and_revokes_a_key(app, client):
    """``flask open311 create-key NAME`` prints the key once; it works."""
    runner = app.test_cli_runner()
    made = runner.invoke(args=["open311", "create-key", "Integración"])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("c311_")
    assert (
        client.post(f"{API}/requests.json", data={**LEAK, "api_key": key}).status_code
        == 200
    )
    taken = runner.invoke(args=["open311", "create-key", "Integración"])
    assert taken.exit_code == 1
    gone = runner.invoke(args=["open311", "revoke-key", "Integración"])
    assert gone.exit_code == 0, gone.output
    assert (
        client.post(f"{API}/requests.json", data={**LEAK, "api_key": key}).status_code
        == 403
    )
