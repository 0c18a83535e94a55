"""The directory import: every rule of a row, the file's limits and
encodings, the dry run, an all-or-nothing apply, and idempotency."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.domain.clock import FrozenClock
from engine.domain.directory import COLUMNS, ImportRefused, UnreadableFile
from engine.domain.errors import NotAllowed, NotFound
from engine.domain.security import check_password
from engine.domain.views import Actor
from engine.services import accounts, directory, entities, people
from engine.services.accounts import NO_PASSWORD
from engine.services.directory_file import read_directory
from engine.services.platform import Platform
from engine.store.accounts import AuditLog, User
from engine.store.models import Entity
from engine.store.publishing import Outbox
from tests.directory_fixture import directory_csv, rows_csv
from tests.engine.test_admin import admin_of

AGENT = {"tipo": "persona", "roles": "agente_311"}
SUPERVISOR = Actor(2, "supervisor", "Sergio", frozenset({"supervisor_311"}))


def read(text: str | bytes, **limits: int) -> Any:
    """``text`` read as an uploaded directory file (default limits)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_directory(
        io.BytesIO(data),
        "directorio.csv",
        max_rows=limits.get("max_rows", 5_000),
        max_bytes=limits.get("max_bytes", 2 * 1024 * 1024),
    )


def problems(p: Platform, text: str) -> list[tuple[int, str, str]]:
    """The dry run's problems of ``text``: (line, column, Spanish sentence)."""
    check = directory.check_directory(p, admin_of(p), read(text))
    return [
        (x.line, x.column, x.message.text % x.message.params) for x in check.problems
    ]


def counts(p: Platform) -> tuple[int, int, int]:
    """Entities, users and audit records stored."""
    with p.db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Entity)) or 0,
            s.scalar(select(func.count()).select_from(User)) or 0,
            s.scalar(select(func.count()).select_from(AuditLog)) or 0,
        )


def actions(p: Platform) -> list[str]:
    """Every audit action, oldest first."""
    with p.db.read() as s:
        return list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_a_country_is_checked_then_applied_once_and_again_changes_nothing(
    seeded,
) -> None:
    """150 entities and 300 enlaces: the dry run writes nothing, the apply
    writes all with one audit record per target plus a summary, and the
    same file again is all "sin cambios" and changes nothing."""
    admin = admin_of(seeded)
    text = directory_csv()
    before = counts(seeded)
    check = directory.check_directory(seeded, admin, read(text))
    assert check.applicable and check.rows == 450
    assert (check.entities.created, check.people.created) == (150, 300)
    assert counts(seeded) == before

    done = directory.apply_directory(seeded, admin, read(text))
    assert (done.entities.created, done.people.created) == (150, 300)
    assert len(done.created_users) == 300
    entities_now, users_now, _ = counts(seeded)
    assert (entities_now, users_now) == (before[0] + 150, before[1] + 300)
    logged = actions(seeded)
    assert logged.count("entity_created") == 150
    assert logged.count("user_created") == 300
    assert logged[-1] == "directory_imported"

    again = directory.apply_directory(seeded, admin, read(text))
    assert (again.entities.unchanged, again.people.unchanged) == (150, 300)
    assert again.entities.created == again.people.updated == 0
    assert actions(seeded)[len(logged) :] == ["directory_imported"]
    assert counts(seeded)[:2] == (entities_now, users_now)


def test_imported_people_wait_for_their_invitation(seeded) -> None:
    """No password anybody knows: login fails (after the same scrypt run as
    any other) and the people page marks them "invitación pendiente"."""
    admin = admin_of(seeded)
    directory.apply_directory(seeded, admin, read(directory_csv(1, 1)))
    with pytest.raises(NotFound):
        accounts.authenticate(seeded, "enlace1.ent001", "", client="t")
    with seeded.db.read() as s:
        stored = s.scalars(
            select(User.password_hash).where(User.username == "enlace1.ent001")
        ).one()
    assert stored == NO_PASSWORD
    assert not check_password(stored, "")
    listed = {x.username: x for x in people.list_people(seeded, admin)}
    assert listed["enlace1.ent001"].invitation_pending
    assert listed["enlace1.ent001"].entity_codes == ("ENT001",)
    assert not listed["admin"].invitation_pending
    # Their invitation went out with the import, to the address in the file.
    with seeded.db.read() as s:
        address = s.scalars(
            select(User.email).where(User.username == "enlace1.ent001")
        ).one()
        sent = s.scalars(select(Outbox).where(Outbox.to == address)).all()
    assert len(sent) == 1 and "/ingresar/invitacion/" in sent[0].body


def test_every_rule_names_its_line_and_column(seeded) -> None:
    """The admin pages' rules and messages, and the file's own rules."""
    rows = [
        {"tipo": "entidad", "siglas": "min sa", "nombre": "Ministerio"},  # 2
        {"tipo": "entidad", "siglas": "NUEVA", "nombre": "", "correo": "x@"},  # 3
        {"tipo": "entidad", "siglas": "OTRA", "nombre": "O", "categorias": "Agua!"},
        {"tipo": "entidad", "siglas": "NUEVA", "nombre": "Repetida"},  # 5
        {"tipo": "entidad", "siglas": "ROL", "nombre": "R", "roles": "enlace"},  # 6
        {"tipo": "persona", "usuario": "Ana Pérez", "nombre": "Ana"},  # 7
        {**AGENT, "usuario": "ana", "nombre": "Ana", "correo": "a@b.pa"},
        {**AGENT, "usuario": "ana", "nombre": "Ana 2", "correo": "a@b.pa"},
        {
            "tipo": "persona",
            "usuario": "bea",
            "nombre": "Bea",
            "correo": "b@b.pa",
            "roles": "jefa",
        },  # 10
        {"tipo": "persona", "usuario": "cris", "nombre": "C", "roles": "enlace"},
        {
            "tipo": "persona",
            "usuario": "dani",
            "nombre": "D",
            "correo": "d@b.pa",
            "roles": "enlace",
            "entidad": "TARDE",
        },  # 12: its entity comes later
        {"tipo": "entidad", "siglas": "TARDE", "nombre": "Llega tarde"},  # 13
        {"tipo": "persona", "usuario": "eva", "nombre": "E", "roles": "ciudadano"},
        {"tipo": "ministerio", "siglas": "X"},  # 15
        {
            "tipo": "persona",
            "usuario": "fer",
            "nombre": "F",
            "correo": "f@b.pa",
            "roles": "enlace",
            "entidad": "NUEVA",
        },  # 16: NUEVA is earlier (with problems of its own): no second one
    ]
    found = problems(seeded, rows_csv(rows))
    assert found == [
        (2, "siglas", "Escriba las siglas: mayúsculas y números, hasta 20."),
        (3, "nombre", "Este campo es obligatorio."),
        (3, "correo", "Escriba un correo electrónico válido."),
        (
            4,
            "categorias",
            "Categoría no válida: agua! (minúsculas, números y guion bajo).",
        ),
        (5, "siglas", "Las siglas NUEVA ya aparecen en la línea 3."),
        (6, "roles", "La columna roles no se usa en una fila de entidad."),
        (
            7,
            "usuario",
            "Use de 2 a 80 letras minúsculas, números, punto, guion o guion bajo.",
        ),
        (7, "correo", "Escriba el correo: la invitación para entrar llega ahí."),
        (7, "roles", "Elija al menos un rol."),
        (9, "usuario", "El usuario ana ya aparece en la línea 8."),
        (10, "roles", "Rol desconocido: jefa"),
        (11, "correo", "Escriba el correo: la invitación para entrar llega ahí."),
        (11, "entidad", "Un enlace debe representar al menos a una entidad."),
        (
            12,
            "entidad",
            "La entidad TARDE no existe ni aparece en una fila anterior del archivo.",
        ),
        (14, "correo", "Escriba el correo: la invitación para entrar llega ahí."),
        (14, "roles", "Rol desconocido: ciudadano"),
        (15, "tipo", "Escriba «entidad» o «persona» en la columna tipo."),
    ]


def test_the_header_and_the_cells_are_checked(seeded) -> None:
    """Unknown and repeated columns, no tipo, more cells than columns."""
    found = problems(seeded, "tipo,siglas,nombre,clave\nentidad,A1,Uno,x,sobra\n")
    assert found == [
        (
            1,
            "clave",
            "Columna desconocida: clave. Las columnas son: tipo, siglas, usuario,"
            " nombre, correo, sector, categorias, roles, entidad.",
        ),
        (2, "", "La fila tiene 5 celdas y el encabezado 4 columnas."),
    ]
    found = problems(seeded, "Siglas,Nombre,Nombre\nA1,Uno,Otra\n")
    assert (1, "nombre", "La columna nombre está repetida.") in found
    missing = "Falta la columna tipo («entidad» o «persona» en cada fila)."
    assert (1, "tipo", missing) in found


def test_an_inactive_entity_is_refused_to_new_enlaces(seeded) -> None:
    """The people page's rule: an enlace joins an active entity."""
    admin = admin_of(seeded)
    entities.set_entity_active(seeded, admin, "MUPA", False)
    row = {"tipo": "persona", "usuario": "nuevo", "nombre": "N", "correo": "n@b.pa"}
    found = problems(seeded, rows_csv([{**row, "roles": "enlace", "entidad": "MUPA"}]))
    assert found == [(2, "entidad", "MUPA no es una entidad activa.")]
    # Its current enlace, unchanged, is no problem (a download re-imported).
    same = {"tipo": "persona", "usuario": "enlace.mupa", "roles": "enlace"}
    check = directory.check_directory(
        seeded,
        admin,
        read(rows_csv([{**same, "nombre": "Marta Enlace (MUPA)", "entidad": "MUPA"}])),
    )
    assert check.applicable and check.people.unchanged == 1


def test_a_bad_row_writes_nothing_at_all(seeded) -> None:
    """All or nothing: 449 good rows and one bad one are refused together."""
    admin = admin_of(seeded)
    bad = {"tipo": "persona", "usuario": "x", "nombre": "X", "roles": "enlace"}
    text = directory_csv(extra=[bad])
    before = counts(seeded)
    with pytest.raises(ImportRefused) as refused:
        directory.apply_directory(seeded, admin, read(text))
    assert [(x.line, x.column) for x in refused.value.problems] == [
        (452, "usuario"),
        (452, "correo"),
        (452, "entidad"),
    ]
    assert counts(seeded) == before


def test_an_update_changes_the_named_columns_and_is_audited(seeded) -> None:
    """A file without a categories column keeps them; the change is one
    ``entity_edited`` record with before and after."""
    admin = admin_of(seeded)
    entities.edit_entity(
        seeded, admin, "MOP", {"name": "Obras", "categories": "calles, puentes"}
    )
    text = "tipo,siglas,nombre,sector\nentidad,MOP,Ministerio de Obras Públicas,Obras\n"
    done = directory.apply_directory(seeded, admin, read(text))
    assert (done.entities.updated, done.entities.unchanged) == (1, 0)
    mop = entities.get_entity(seeded, admin, "MOP")
    assert mop.name == "Ministerio de Obras Públicas"
    assert mop.categories == ("calles", "puentes")
    with seeded.db.read() as s:
        edited = s.scalars(
            select(AuditLog)
            .where(AuditLog.action == "entity_edited")
            .order_by(AuditLog.id.desc())
        ).first()
    assert edited is not None and edited.detail is not None
    assert edited.detail["before"]["name"] == "Obras"
    assert edited.detail["after"]["name"] == "Ministerio de Obras Públicas"
    assert edited.detail["directory_import"] == done.sha256[:12]
    assert edited.client == "203.0.113.7"


def test_the_last_admin_keeps_the_role(seeded) -> None:
    """A file taking the role from the only active admin is refused."""
    row = {"tipo": "persona", "usuario": "admin", "nombre": "Admin Sistema"}
    found = problems(seeded, rows_csv([{**row, "roles": "supervisor_311"}]))
    assert found == [(2, "roles", "No se puede quitar al último administrador activo.")]
    other = {"tipo": "persona", "usuario": "otra", "nombre": "O", "correo": "o@b.pa"}
    both = rows_csv([{**other, "roles": "admin"}, {**row, "roles": "supervisor_311"}])
    assert problems(seeded, both) == []


def test_only_admins_import(seeded) -> None:
    """Check, apply and the directory download refuse a supervisor."""
    text = directory_csv(1, 1)
    with pytest.raises(NotAllowed):
        directory.check_directory(seeded, SUPERVISOR, read(text))
    with pytest.raises(NotAllowed):
        directory.apply_directory(seeded, SUPERVISOR, read(text))
    with pytest.raises(NotAllowed):
        directory.check_upload(seeded, SUPERVISOR, io.BytesIO(b"tipo\n"), "a.csv")
    with pytest.raises(NotAllowed):
        directory.directory_rows(seeded, SUPERVISOR)


def test_a_bom_is_read_and_other_encodings_are_refused() -> None:
    """UTF-8 with or without BOM is the same file; Latin-1 and UTF-16 are
    refused naming the first line that is not UTF-8."""
    text = "tipo,siglas,nombre\nentidad,MINSA,Ministerio de Salud\n"
    plain, marked = read(text), read("\ufeff" + text)
    assert marked.rows == plain.rows and marked.sha256 == plain.sha256
    assert plain.rows[0].cells["nombre"] == "Ministerio de Salud"
    latin = "tipo,siglas,nombre\nentidad,MOP,Obras\nentidad,MIVI,Jesús\n"
    with pytest.raises(UnreadableFile) as refused:
        read(latin.encode("latin-1"))
    assert refused.value.message.params == {"line": 3}
    assert "CSV UTF-8" in refused.value.message.text
    with pytest.raises(UnreadableFile) as refused:
        read(text.encode("utf-16"))
    assert refused.value.message.params == {"line": 1}


def test_limits_refuse_a_huge_file_without_reading_it_whole() -> None:
    """100,000 rows: refused at the row past the limit, most bytes unread;
    too many bytes: refused at the byte past the limit."""
    huge = directory_csv(100_000, 0).encode("utf-8")
    stream = io.BytesIO(huge)
    with pytest.raises(UnreadableFile) as refused:
        read_directory(stream, "x.csv", max_rows=5_000, max_bytes=len(huge))
    assert refused.value.message.params == {"n": 5_000}
    assert "divídalo" in refused.value.message.text
    assert stream.tell() < len(huge) // 10
    with pytest.raises(UnreadableFile) as refused:
        read(huge, max_bytes=64 * 1024)
    assert refused.value.message.params == {"kib": 64}
    assert len(read(directory_csv(10, 0), max_rows=10).rows) == 10
    with pytest.raises(UnreadableFile):
        read("")


def test_formula_cells_are_read_back_as_they_were_written() -> None:
    """A cell the app neutralised (``'=…``) is read without the apostrophe;
    a raw formula is kept as the text it is (never run by the app)."""
    text = "tipo,siglas,nombre\nentidad,A1,'=cmd|' /C calc'!A0\nentidad,A2,=1+1\n"
    cells = [r.cells["nombre"] for r in read(text).rows]
    assert cells == ["=cmd|' /C calc'!A0", "=1+1"]


def test_a_checked_upload_is_applied_by_its_hash_once(seeded) -> None:
    """The dry run keeps a clean file; the apply names it by hash, writes
    it and forgets it; an expired one must be uploaded again."""
    admin = admin_of(seeded)
    clock = FrozenClock(datetime(2026, 12, 4, 15, tzinfo=UTC))
    seeded.clock = clock
    data = directory_csv(2, 1).encode("utf-8")
    check = directory.check_upload(seeded, admin, io.BytesIO(data), "pais.csv")
    assert check.applicable
    done = directory.apply_upload(seeded, admin, check.sha256)
    assert (done.filename, done.entities.created) == ("pais.csv", 2)
    with pytest.raises(NotFound):
        directory.apply_upload(seeded, admin, check.sha256)
    again = directory.check_upload(seeded, admin, io.BytesIO(data), "pais.csv")
    clock.advance(hours=3)
    with pytest.raises(NotFound):
        directory.apply_upload(seeded, admin, again.sha256)
    bad = directory.check_upload(seeded, admin, io.BytesIO(b"tipo\nx\n"), "m.csv")
    assert not bad.applicable
    with pytest.raises(NotFound):  # a file with problems is not kept
        directory.apply_upload(seeded, admin, bad.sha256)


def test_the_download_imports_back_unchanged(seeded) -> None:
    """The directory download, imported as it is, is all "sin cambios"."""
    admin = admin_of(seeded)
    directory.apply_directory(seeded, admin, read(directory_csv(3, 1)))
    rows = directory.directory_rows(seeded, admin)
    assert actions(seeded)[-1] == "export_directory"
    again = directory.check_directory(
        seeded,
        admin,
        read(rows_csv([dict(zip(COLUMNS, r, strict=True)) for r in rows])),
    )
    assert again.applicable
    assert again.entities.created == again.people.created == 0
    assert again.entities.updated == again.people.updated == 0
    assert again.entities.unchanged == 14 and again.people.unchanged == 11
