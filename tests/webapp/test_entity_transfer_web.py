"""The entity page moves an entity's open cases when it is deactivated."""

from __future__ import annotations

from sqlalchemy import select

from engine import services
from engine.services import entities
from engine.store.models import Case
from tests.conftest import csrf_token, must_search
from tests.engine.test_scenarios import who

VIAS = {
    "categoria": "vias",
    "asunto": "Hueco en la vía",
    "descripcion": "Hay un hueco enorme frente a la escuela desde hace un mes.",
}


def test_the_entity_page_asks_where_open_cases_go_and_moves_them(
    app, client, auth
) -> None:
    """MOP with an open case: the page offers the active entities, those
    answering its categories first; no choice or MOP itself is refused in
    Spanish; MUPA moves the case and deactivates MOP."""
    p = app.extensions["centro311"]
    admin = who(p, "admin")
    for code, keys in (("MOP", ["vias"]), ("MUPA", ["vias", "basura"])):
        name = entities.get_entity(p, admin, code).name
        entities.edit_entity(p, admin, code, {"name": name, "categories": keys})
    number = services.open_case(
        p,
        "queja",
        VIAS,
        actor=who(p, "agente"),
        channel="phone",
        entity_code="MOP",
    ).number
    auth.login("admin")

    page = client.get("/admin/entidades/MOP").get_data(as_text=True)
    assert "MOP tiene 1 caso abierto." in page
    group = must_search(
        r'<optgroup label="Atienden las mismas categorías">(.*?)</optgroup>', page, 16
    )
    assert 'value="MUPA"' in group.group(1) and "(vias)" in group.group(1)
    picker = must_search(r"<select id=\"destino\".*?</select>", page, 16).group(0)
    assert 'value="MOP"' not in picker and 'value="MINSA"' in picker
    assert "Transferir 1 caso y desactivar MOP" in page

    token = csrf_token(client, "/admin/entidades/MOP")
    resp = client.post(
        "/admin/entidades/MOP/activa", data={"activa": "0", "csrf_token": token}
    )
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "elija la entidad que los recibirá" in page
    resp = client.post(
        "/admin/entidades/MOP/activa",
        data={"activa": "0", "destino": "MOP", "csrf_token": token},
    )
    assert resp.status_code == 422
    assert "no pueden quedarse en MOP" in must_search(
        r'<ul class="field-errors" id="destino-error">(.*?)</ul>',
        resp.get_data(as_text=True),
        16,
    ).group(1)

    resp = client.post(
        "/admin/entidades/MOP/activa",
        data={"activa": "0", "destino": "MUPA", "csrf_token": token},
    )
    assert resp.status_code == 303
    listing = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Entidad MOP desactivada: 1 caso pasó a MUPA." in listing
    with p.db.read() as s:
        assert (
            s.scalars(select(Case.entity_code).where(Case.number == number)).one()
            == "MUPA"
        )
    assert not entities.get_entity(p, admin, "MOP").active
