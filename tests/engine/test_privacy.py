"""Privacy and data that is what it claims: transfers end access, unsealing is
for supervisors' eyes, contact fields stay out of workflow data whatever the
designer named them, and forms never fetch anything."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import services
from engine.bundles import forms, registry
from engine.domain.clock import FrozenClock
from engine.domain.errors import BundleInvalid, InvalidData, NotAllowed
from engine.services.platform import Platform
from engine.store.models import Case, CaseEvent
from engine.store.publishing import Outbox
from engine.workflow.calendar import PANAMA
from tests.conftest import IDENTITY_KEY, seed
from tests.engine.test_scenarios import do, transfer_mop_to_idaan, who

ROOT = Path(__file__).resolve().parent.parent.parent
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"
QUEJA = {
    "categoria": "vias",
    "asunto": "Hueco en la vía",
    "descripcion": "Hay un hueco enorme frente a la escuela desde hace un mes.",
    "nombre": "Vecina Preocupada",
    "correo": "vecina@example.pa",
    "telefono": "6123-4567",
}


@pytest.fixture
def p(db_url: str, demo_hash: str) -> Iterator[Platform]:
    """A seeded platform on a frozen clock (a Monday morning in Panama)."""
    clock = FrozenClock(datetime(2026, 11, 9, 9, 0, tzinfo=PANAMA))
    platform = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    seed(platform, demo_hash)
    yield platform
    platform.close()


def transferred_case(p: Platform) -> str:
    """A queja MOP worked, declared not its competence, moved to IDAAN."""
    opened = services.open_case(p, "queja", QUEJA)
    do(
        p,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": "MOP"},
        opened.number,
    )
    transfer_mop_to_idaan(p, opened.number)
    return opened.number


# --- Transfers end access ----------------------------------------------------------


def test_transfer_ends_the_former_entitys_access(p) -> None:
    """MOP's enlace opened the case while it was MOP's; after the transfer
    neither the case page nor its old task shows the case (or the citizen)."""
    number = transferred_case(p)
    mop = who(p, "enlace.mop")
    with pytest.raises(NotAllowed):
        services.get_case(p, mop, number)
    with p.db.read() as s:
        from engine.store.models import HumanTask

        old = s.scalars(
            select(HumanTask).where(
                HumanTask.entity_code == "MOP", HumanTask.state == "completed"
            )
        ).first()
    assert old is not None
    with pytest.raises(NotAllowed):
        services.get_task(p, mop, old.id)
    # The new entity sees it, with the contact.
    idaan = services.get_case(p, who(p, "supervisor"), number)
    assert idaan.entity_code == "IDAAN" and idaan.contact


# --- Unsealing is for supervisors' eyes ------------------------------------------


def test_unsealing_event_is_shown_to_supervisors_only(p) -> None:
    """The enlace of the entity does not see who unsealed, nor the reason."""
    data = {
        "categoria": "salud",
        "asunto": "Cobro indebido",
        "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
        "nombre": "Testigo",
        "identidad_reservada": True,
    }
    opened = services.open_case(p, "denuncia", data)
    do(
        p,
        "agente",
        "Clasificar la denuncia",
        {"decision": "aceptar", "entidad": "MINSA"},
        opened.number,
    )
    reason = "Requerimiento del Ministerio Público, oficio 123."
    services.unseal_identity(p, who(p, "supervisor"), opened.number, reason)
    for username in ("enlace.minsa", "agente"):
        view = services.get_case(p, who(p, username), opened.number)
        assert not [e for e in view.events if e.kind == "identity_unsealed"]
        assert reason not in repr(view)
    supervisor = services.get_case(p, who(p, "supervisor"), opened.number)
    assert [e.data for e in supervisor.events if e.kind == "identity_unsealed"] == [
        {"reason": reason, "role": "supervisor_311"}
    ]


# --- Contact data by format, whatever its name -----------------------------------


def bundle_with_email_field(personal: bool | None) -> dict[str, str]:
    """The street-light bundle with an ``email`` field (and a phone) added."""
    files = registry.read_bundle_dir(ALUMBRADO)
    schema = json.loads(files["registro.json"])
    email: dict = {"type": "string", "title": "Email", "format": "email"}
    if personal is not None:
        email["x-personal"] = personal
    schema["properties"]["email"] = email
    schema["properties"]["movil"] = {
        "type": "string",
        "title": "Móvil",
        "format": "phone",
    }
    files["registro.json"] = json.dumps(schema)
    return files


def test_email_format_is_personal_and_gets_the_receipt(p) -> None:
    """An unmarked email field stays out of workflow data; the receipt goes to it."""
    services.deploy_version(p, bundle_with_email_field(None), deployed_by="tests")
    opened = services.open_case(
        p,
        "alumbrado",
        {
            "direccion": "Calle 50 y Vía Brasil",
            "email": "luz@example.pa",
            "movil": "+507 6123-4567",
        },
    )
    assert opened.email == "luz@example.pa"
    with p.db.read() as s:
        case = s.scalars(select(Case)).one()
        created = s.scalars(select(CaseEvent).where(CaseEvent.kind == "created")).one()
        sent_to = [m.to for m in s.scalars(select(Outbox))]
    assert case.contact == {"email": "luz@example.pa", "movil": "+507 6123-4567"}
    assert "luz@example.pa" not in json.dumps(created.data)
    assert "6123" not in json.dumps(created.data)
    assert sent_to == ["luz@example.pa"]
    agent_view = services.get_case(p, who(p, "agente"), opened.number)
    assert "email" not in agent_view.data and "movil" not in agent_view.data


def test_designer_may_opt_out_of_personal(p) -> None:
    """``x-personal: false`` keeps an email field in the workflow data."""
    services.deploy_version(p, bundle_with_email_field(False), deployed_by="tests")
    opened = services.open_case(
        p,
        "alumbrado",
        {"direccion": "Calle 50 y Vía Brasil", "email": "luz@example.pa"},
    )
    view = services.get_case(p, who(p, "agente"), opened.number)
    assert view.data.get("email") == "luz@example.pa"


def test_validator_warns_about_contact_like_fields() -> None:
    """A field named like contact data but not personal is a deploy warning."""
    files = registry.read_bundle_dir(ALUMBRADO)
    schema = json.loads(files["registro.json"])
    schema["properties"]["telefono_contacto"] = {"type": "string", "title": "Teléfono"}
    files["registro.json"] = json.dumps(schema)
    parsed = registry.parse_bundle(files)
    warned = [w for w in parsed.warnings if w.element == "telefono_contacto"]
    assert warned and warned[0].severity == "warning"


@pytest.mark.parametrize(
    "address",
    [
        "victim@example.com\nBcc: x@evil.test",
        "victim@example.com\r\nBcc: x@evil.test",
        "no-es-correo",
        "a@b",
    ],
)
def test_intake_refuses_addresses_that_are_not_addresses(p, address) -> None:
    """The citizen is told beside the field; nothing is filed or queued."""
    with pytest.raises(InvalidData) as caught:
        services.open_case(p, "queja", {**QUEJA, "correo": address})
    assert "correo" in caught.value.errors
    with p.db.read() as s:
        assert s.scalars(select(Case)).all() == []
        assert s.scalars(select(Outbox)).all() == []


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        ("6123-4567", True),
        ("+507 6123-4567", True),
        ("+1 202 555 0143", True),
        ("llámeme", False),
        ("123", False),
        ("6123-4567\nX", False),
    ],
)
def test_phone_fields_are_phone_numbers(phone: str, valid: bool) -> None:
    """``format: phone`` is checked with phonenumbers (Panama by default)."""
    schema = {
        "type": "object",
        "properties": {"t": {"type": "string", "format": "phone"}},
    }
    assert (forms.validate(schema, {"t": phone}) == {}) is valid


# --- $ref never leaves the form ---------------------------------------------------


class _Counter(http.server.BaseHTTPRequestHandler):
    """Counts requests; answers slowly, like a target meant to hold a worker."""

    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        """Record the request and answer a schema after a pause."""
        _Counter.hits.append(self.path)
        time.sleep(2)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    """A local HTTP server that must receive no request."""
    _Counter.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def ref_schema(target: str) -> dict:
    """A form whose field is defined by a reference to ``target``."""
    return {
        "type": "object",
        "properties": {"x": {"$ref": target}, "y": {"$ref": "#/$defs/local"}},
        "$defs": {"local": {"type": "string", "maxLength": 3}},
    }


def test_external_refs_are_refused_at_deploy(server, tmp_path) -> None:
    """Deploy lists http and file references as problems; nothing is fetched."""
    secret = tmp_path / "secreto.json"
    secret.write_text('{"const": "CONTENIDO-SECRETO"}')
    files = registry.read_bundle_dir(ALUMBRADO)
    schema = json.loads(files["registro.json"])
    schema["properties"]["a"] = {"$ref": f"{server}/esquema.json"}
    schema["properties"]["b"] = {"$ref": secret.as_uri()}
    files["registro.json"] = json.dumps(schema)
    with pytest.raises(BundleInvalid) as caught:
        registry.parse_bundle(files)
    text = " ".join(str(pr.message.params) for pr in caught.value.problems)
    assert "esquema.json" in text and "secreto.json" in text
    assert "CONTENIDO-SECRETO" not in text
    assert _Counter.hits == []


@pytest.mark.parametrize("kind", ["http", "file"])
def test_validation_never_fetches_a_reference(server, tmp_path, kind) -> None:
    """Validating against a form with an outside reference: an error, at once."""
    secret = tmp_path / "secreto.json"
    secret.write_text('{"const": "CONTENIDO-SECRETO"}')
    target = f"{server}/esquema.json" if kind == "http" else secret.as_uri()
    started = time.monotonic()
    errors = forms.validate(ref_schema(target), {"x": "hola", "y": "abcd"})
    assert time.monotonic() - started < 1.0
    assert "" in errors
    assert "CONTENIDO-SECRETO" not in repr(errors)
    assert _Counter.hits == []


def test_local_refs_still_work() -> None:
    """References inside the form resolve as before."""
    errors = forms.validate(ref_schema("#/$defs/local"), {"x": "hola", "y": "ab"})
    assert set(errors) == {"x"}


def test_backtracking_pattern_runs_in_linear_time() -> None:
    """``^(a+)+$`` on a crafted input answers at once (RE2), as a mismatch."""
    schema = {
        "type": "object",
        "properties": {"t": {"type": "string", "pattern": "^(a+)+$"}},
    }
    started = time.monotonic()
    errors = forms.validate(schema, {"t": "a" * 5000 + "!"})
    assert time.monotonic() - started < 0.5
    assert "t" in errors


def test_patterns_that_need_backtracking_are_refused_at_deploy() -> None:
    """Backreferences and lookaround cannot run in RE2: deploy says so."""
    files = registry.read_bundle_dir(ALUMBRADO)
    schema = json.loads(files["registro.json"])
    schema["properties"]["numero_poste"]["pattern"] = r"^(a)\1(?=b)$"
    files["registro.json"] = json.dumps(schema)
    with pytest.raises(BundleInvalid) as caught:
        registry.parse_bundle(files)
    assert any(
        "expresión regular" in str(pr.message.params) for pr in caught.value.problems
    )
