"""The directory import page (``/admin/importar``) and ``flask
import-directory``: admins only, CSRF on every POST, the dry run's table,
the apply by hash, the downloads with formulas neutralised."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from sqlalchemy import func, select

from engine.store.accounts import AuditLog, User
from engine.store.models import Entity
from tests.conftest import csrf_token
from tests.directory_fixture import directory_csv, rows_csv

ENLACE = {"tipo": "persona", "roles": "enlace"}


def upload(client: Any, text: str | bytes, name: str = "pais.csv") -> Any:
    """Send a file to the dry run, with the page's CSRF token."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    token = csrf_token(client, "/admin/importar")
    return client.post(
        "/admin/importar",
        data={"csrf_token": token, "archivo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def apply_button(page: str) -> str:
    """The hash the "Aplicar" button sends."""
    found = re.search(r'name="archivo" value="([0-9a-f]{64})"', page)
    assert found, "no Aplicar button"
    return found.group(1)


def stored(app: Any, model: Any) -> int:
    """How many rows of ``model`` are stored."""
    with app.extensions["centro311"].db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_only_admins_reach_the_import(app, client, auth) -> None:
    """Every URL answers 403 to a supervisor, on the server."""
    auth.login("supervisor")
    for url in (
        "/admin/importar",
        "/admin/importar/plantilla.csv",
        "/admin/importar/directorio.csv",
    ):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/buscar")
    sent = client.post(
        "/admin/importar",
        data={"csrf_token": token, "archivo": (io.BytesIO(b"tipo\n"), "a.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 403
    applied = client.post(
        "/admin/importar/aplicar", data={"csrf_token": token, "archivo": "0" * 64}
    )
    assert applied.status_code == 403


def test_import_posts_need_the_csrf_token(app, client, auth) -> None:
    """Without the form's token the dry run and the apply are refused."""
    auth.login("admin")
    sent = client.post(
        "/admin/importar",
        data={"archivo": (io.BytesIO(directory_csv(1, 1).encode()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 400
    page = upload(client, directory_csv(1, 1)).get_data(as_text=True)
    before = stored(app, Entity)
    applied = client.post(
        "/admin/importar/aplicar", data={"archivo": apply_button(page)}
    )
    assert applied.status_code == 400
    assert stored(app, Entity) == before


def test_dry_run_lists_problems_then_the_fixed_file_is_applied(
    app, client, auth
) -> None:
    """The table names line, column and sentence; nothing is written; the
    fixed file gets the button, and applying it shows the counts."""
    auth.login("admin")
    bad = directory_csv(2, 1).replace("buzon2@ent2.gob.pa", "buzon2-ent2")
    resp = upload(client, bad)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "1 problema: no se importará nada" in page
    row = re.search(r"<tr>\s*<td[^>]*>3</td>(.*?)</tr>", page, re.S)
    assert row and "correo" in row.group(1)
    assert "Escriba un correo electrónico válido." in row.group(1)
    assert 'name="archivo" value=' not in page
    assert stored(app, Entity) == 11

    resp = upload(client, directory_csv(2, 1))
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Entidades: 2 nuevas, 0 con cambios, 0 sin cambios." in page
    done = client.post(
        "/admin/importar/aplicar",
        data={
            "csrf_token": csrf_token(client, "/admin/importar"),
            "archivo": apply_button(page),
        },
    )
    assert done.status_code == 303
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Entidades: 2 creadas, 0 actualizadas, 0 sin cambios." in shown
    assert "Personas: 2 creadas" in shown
    assert stored(app, Entity) == 13
    people = client.get("/admin/usuarios").get_data(as_text=True)
    row = re.search(r'id="persona-enlace1.ent001">(.*?)</tr>', people, re.S)
    assert row and "Invitación pendiente" in row.group(1)

    # The same hash again: the kept file is gone, nothing is applied twice.
    again = client.post(
        "/admin/importar/aplicar",
        data={
            "csrf_token": csrf_token(client, "/admin/importar"),
            "archivo": apply_button(page),
        },
    )
    assert again.status_code == 404
    assert "súbalo otra vez" in again.get_data(as_text=True)


def test_a_file_that_is_no_utf8_csv_is_refused_beside_the_field(
    app, client, auth
) -> None:
    """Latin-1, or more bytes than IMPORT_MAX_BYTES: a sentence at the
    file input, nothing kept."""
    auth.login("admin")
    latin = "tipo,siglas,nombre\nentidad,MIVI,Jesús\n".encode("latin-1")
    resp = upload(client, latin)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert re.search(r'id="archivo-error"><li>La línea 2 no está en UTF-8', page)
    app.config["IMPORT_MAX_BYTES"] = 4096
    app.extensions["centro311"].limits.import_max_bytes = 4096
    resp = upload(client, directory_csv(100, 1))
    assert resp.status_code == 422
    assert "El archivo pasa de 4 KiB" in resp.get_data(as_text=True)
    app.extensions["centro311"].limits.import_max_rows = 10
    app.config["IMPORT_MAX_BYTES"] = 2 * 1024 * 1024
    app.extensions["centro311"].limits.import_max_bytes = 2 * 1024 * 1024
    resp = upload(client, directory_csv(11, 0))
    assert "más de 10 filas" in resp.get_data(as_text=True)


def test_downloads_neutralise_formulas_and_read_back_unchanged(
    app, client, auth
) -> None:
    """The template and the directory are CSV with a BOM; a name that is a
    formula is written as text, and the download imported again is all
    "sin cambios" (the apostrophe is taken off on the way in)."""
    auth.login("admin")
    template = client.get("/admin/importar/plantilla.csv")
    assert template.status_code == 200
    lines = template.get_data(as_text=True).splitlines()
    assert (
        lines[0]
        == "\ufefftipo,siglas,usuario,nombre,correo,sector,categorias,roles,entidad"
    )
    assert lines[1].startswith("entidad,EJEMPLO,")
    formula = "=cmd|' /C calc'!A0"
    evil = [{**ENLACE, "usuario": "malo", "nombre": formula, "correo": "m@b.pa"}]
    resp = upload(client, rows_csv([{**r, "entidad": "MOP"} for r in evil]))
    client.post(
        "/admin/importar/aplicar",
        data={
            "csrf_token": csrf_token(client, "/admin/importar"),
            "archivo": apply_button(resp.get_data(as_text=True)),
        },
    )
    with app.extensions["centro311"].db.read() as s:
        name = s.scalars(select(User.full_name).where(User.username == "malo")).one()
    assert name == formula
    download = client.get("/admin/importar/directorio.csv").get_data(as_text=True)
    cells = {row[2]: row for row in csv.reader(io.StringIO(download)) if row}
    assert cells["malo"][3] == "'" + formula
    with app.extensions["centro311"].db.read() as s:
        last = s.scalars(select(AuditLog.action).order_by(AuditLog.id.desc())).first()
    assert last == "export_directory"
    again = upload(client, download.lstrip("\ufeff")).get_data(as_text=True)
    assert "Personas: 0 nuevas, 0 con cambios, 9 sin cambios." in again
    assert "Entidades: 0 nuevas, 0 con cambios, 11 sin cambios." in again


def test_the_command_line_checks_and_applies(app, tmp_path) -> None:
    """`flask import-directory FILE` lists problems (exit 1); a clean file
    is only checked until `--aplicar`; a non-admin --by is refused."""
    runner = app.test_cli_runner()
    bad = tmp_path / "malo.csv"
    bad.write_text(directory_csv(2, 1).replace("buzon2@ent2.gob.pa", "x"))
    result = runner.invoke(args=["import-directory", str(bad)])
    assert result.exit_code == 1
    assert (
        "línea 3, columna correo: Escriba un correo electrónico válido."
        in result.output
    )
    good = tmp_path / "pais.csv"
    good.write_text(directory_csv(2, 1))
    result = runner.invoke(args=["import-directory", str(good)])
    assert result.exit_code == 0, result.output
    assert "aplíquelo con --aplicar" in result.output
    assert stored(app, Entity) == 11
    result = runner.invoke(args=["import-directory", str(good), "--aplicar"])
    assert result.exit_code == 0, result.output
    assert "2 personas nuevas" in result.output
    assert stored(app, Entity) == 13
    with app.extensions["centro311"].db.read() as s:
        summary = s.scalars(
            select(AuditLog).where(AuditLog.action == "directory_imported")
        ).one()
    assert summary.actor == "admin" and summary.detail["source"] == "cli"
    refused = runner.invoke(args=["import-directory", str(good), "--by", "supervisor"])
    assert refused.exit_code == 1
    assert "Solo un administrador" in refused.output
