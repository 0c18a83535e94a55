"""An enlace of two entities through the web: both entities' cases in the
inbox, the search, the case page and its files; a third entity's by no URL.
And ``flask create-user`` making an enlace of several entities.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.store.accounts import User
from engine.store.models import Attachment, Case
from tests.conftest import Auth, csrf_token, work
from tests.sample_files import plain_png
from tests.webapp.test_attachments_web import file_with, filed

#: The demo enlace of two entities and the entities it represents.
ENLACE = "enlace.vivienda"


def routed(app, client, entity: str) -> tuple[str, str]:
    """A queja with a file, classified for ``entity``: (number, file id)."""
    number, _ = filed(client, file_with(client, [(plain_png(), f"{entity}.png")]))
    work(
        app,
        "agente",
        "Clasificar la queja",
        {"decision": "aceptar", "entidad": entity},
        number,
    )
    with app.extensions["centro311"].db.read() as s:
        file_id = s.scalars(
            select(Attachment.id)
            .join(Case, Case.id == Attachment.case_id)
            .where(Case.number == number)
        ).one()
    return number, file_id


def link(number: str) -> str:
    """The link a result row has to its case page."""
    return f'href="/casos/{number}"'


def test_an_enlace_of_two_entities_sees_both_and_not_a_third(app, client) -> None:
    """IDAAN's and MIVIOT's cases are in the inbox's entity tab, the search
    and the case pages with their files; MOP's answers 403 at every URL and
    appears nowhere."""
    idaan = routed(app, client, "IDAAN")
    miviot = routed(app, client, "MIVIOT")
    mop = routed(app, client, "MOP")
    enlace = app.test_client()
    Auth(enlace).login(ENLACE)

    inbox = enlace.get("/tareas?tab=entity").get_data(as_text=True)
    assert idaan[0] in inbox and miviot[0] in inbox and mop[0] not in inbox
    assert "IDAAN, MIVIOT" in inbox  # the tab names both entities
    unclaimed = enlace.get("/tareas?tab=role").get_data(as_text=True)
    assert idaan[0] in unclaimed and miviot[0] in unclaimed
    assert mop[0] not in unclaimed

    found = enlace.get("/buscar").get_data(as_text=True)
    assert link(idaan[0]) in found and link(miviot[0]) in found
    assert link(mop[0]) not in found
    assert "Casos asignados a IDAAN, MIVIOT." in found
    by_number = enlace.get(f"/buscar?numero={mop[0]}").get_data(as_text=True)
    assert link(mop[0]) not in by_number

    for number, file_id in (idaan, miviot):
        page = enlace.get(f"/casos/{number}")
        assert page.status_code == 200
        assert f"/casos/{number}/adjuntos/{file_id}" in page.get_data(as_text=True)
        assert enlace.get(f"/casos/{number}/adjuntos/{file_id}").status_code == 200

    number, file_id = mop
    assert enlace.get(f"/casos/{number}").status_code == 403
    assert enlace.get(f"/casos/{number}/adjuntos/{file_id}").status_code == 403
    token = csrf_token(enlace, "/tareas")
    resp = enlace.post(
        f"/casos/{number}/notas", data={"nota": "Hola", "csrf_token": token}
    )
    assert resp.status_code == 403


def test_the_enlace_works_a_task_of_each_entity_named_by_it(app, client) -> None:
    """The enlace acknowledges an IDAAN case and a MIVIOT case from its
    inbox; each timeline names the entity of its case as the one it acted
    for."""
    for entity in ("IDAAN", "MIVIOT"):
        number, _ = routed(app, client, entity)
        work(app, ENLACE, "Acusar recibo", {}, number)
        enlace = app.test_client()
        Auth(enlace).login(ENLACE)
        page = enlace.get(f"/casos/{number}").get_data(as_text=True)
        assert f"Enlace ({entity})" in page


def test_create_user_takes_entities_repeated_or_with_commas(app) -> None:
    """``--entity A --entity B`` and ``--entity A,B`` both make an enlace of
    two; an unknown one is refused by name."""
    runner = app.test_cli_runner()
    p = app.extensions["centro311"]
    for username, option in (
        ("uno", ["--entity", "MOP", "--entity", "mupa"]),
        ("dos", ["--entity", "MOP, MUPA"]),
    ):
        result = runner.invoke(
            args=[
                "create-user",
                username,
                "--name",
                username.title(),
                "--role",
                "enlace",
                *option,
                "--password",
                "Tres-ranas-verdes-2026",
            ]
        )
        assert result.exit_code == 0, result.output
        with p.db.read() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            assert user.entity_codes == {"MOP", "MUPA"}
    refused = runner.invoke(
        args=[
            "create-user",
            "cuatro",
            "--name",
            "Cuatro",
            "--role",
            "enlace",
            "--entity",
            "NADA",
            "--password",
            "Tres-ranas-verdes-2026",
        ]
    )
    assert refused.exit_code == 1 and "NADA" in refused.output
