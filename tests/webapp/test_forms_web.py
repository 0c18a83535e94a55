"""How forms render: a required yes/no as two radios with no default, an
optional one as a checkbox, dates as native inputs with a hint, short
enums as radios, and a linked error summary that takes the focus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from engine import services
from engine.bundles.reading import read_bundle_dir
from tests.conftest import csrf_token

PODA = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "poda"


def deploy_poda(app: Any, required: tuple[str, ...] = (), **fields: dict) -> None:
    """Deploy the tree-pruning bundle, its intake form's fields changed."""
    files = read_bundle_dir(PODA)
    schema = json.loads(files["registro.json"])
    schema["properties"].update(fields)
    schema["required"] += list(required)
    files["registro.json"] = json.dumps(schema)
    services.deploy_version(app.extensions["centro311"], files, deployed_by="t")


def test_yes_no_dates_and_short_enums_render_as_people_answer_them(app, client):
    """Radios Sí/No unchecked; a checkbox when optional; native date inputs;
    a four-value enum as radios and a twelve-value one as a select."""
    deploy_poda(
        app,
        urgente={"type": "boolean", "title": "¿Es urgente?"},
        tamano={"type": "string", "title": "Tamaño", "enum": ["a", "b", "c", "d"]},
        barrio={
            "type": "string",
            "title": "Barrio",
            "enum": [f"b{n}" for n in range(12)],
        },
    )
    page = client.get("/casos/nuevo/poda").get_data(as_text=True)
    assert 'type="checkbox" id="urgente"' in page
    assert re.search(r'<input type="date" id="fecha_observada"[^>]*>', page)
    assert 'aria-describedby="fecha_observada-hint"' in page
    assert page.count('name="tamano"') == 4 and 'type="radio" id="tamano-0"' in page
    assert '<select id="barrio"' in page


def test_an_empty_required_yes_no_is_refused_with_a_linked_summary(app, client):
    """The summary comes first, focused, linking to the first radio; what
    was typed stays."""
    deploy_poda(
        app,
        required=("acepta",),
        acepta={"type": "boolean", "title": "¿Acepta las condiciones?"},
    )
    schema_url = "/casos/nuevo/poda"
    resp = client.post(
        schema_url,
        data={
            "csrf_token": csrf_token(client, schema_url),
            "asunto": "Rama caída",
            "direccion": "Calle 50",
            "fecha_observada": "2026-02-30",
        },
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    summary = re.search(
        r'<div class="error-summary"[^>]*autofocus>(.*?)</div>', page, re.S
    )
    assert summary, "no focused error summary"
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(1))
    expected = "Desde cuándo lo nota: Escriba una fecha que exista"
    assert any(
        href == "fecha_observada" and text.startswith(expected) for href, text in links
    )
    assert any(href == "acepta-0" for href, _ in links)
    assert 'value="Rama caída"' in page and 'value="2026-02-30"' in page
