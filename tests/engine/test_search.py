"""Case search: by number, text, contact and filters; visibility; counts and
paging; reserved identities never matched; any input answered; the export
audited and for supervisors only; the index built for existing cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, select, text

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.enums import Role
from engine.domain.errors import InvalidData, NotAllowed
from engine.domain.workspace import CaseQuery, SearchPage
from engine.services import accounts, search
from engine.services.platform import Platform
from engine.store import db as dbmod
from engine.store import search_index
from engine.store.accounts import AuditLog
from engine.store.models import Case, CaseSearch
from engine.workflow.calendar import PANAMA
from tests.conftest import (
    DEMO_PASSWORD,
    IDENTITY_KEY,
    ON_POSTGRES,
    postgres_url,
    seed,
)
from tests.engine.test_scenarios import do, transfer_mop_to_idaan, who

PIPE = {
    "categoria": "agua",
    "asunto": "Tubería rota en Calle 50",
    "descripcion": "El agua se pierde por una tubería rota frente a la escuela.",
    "nombre": "María José Núñez",
    "correo": "Maria.Nunez@example.pa",
    "telefono": "6123-4567",
}
POTHOLE = {
    "categoria": "vias",
    "asunto": "Hueco en la vía",
    "descripcion": "Hay un hueco enorme en la carretera de Chepo desde hace un mes.",
    "nombre": "Pedro Pérez",
    "telefono": "+507 6999-8888",
}
WITNESS = {
    "categoria": "salud",
    "asunto": "Cobro indebido de citas",
    "descripcion": "Un funcionario cobra por citas que deberían ser gratuitas.",
    "nombre": "Testigo Reservado",
    "correo": "testigo@example.pa",
    "telefono": "6555-1212",
    "identidad_reservada": True,
}


@pytest.fixture
def clock() -> FrozenClock:
    """A Monday morning in Panama."""
    return FrozenClock(datetime(2026, 11, 9, 9, 0, tzinfo=PANAMA))


@pytest.fixture
def p(db_url: str, demo_hash: str, clock: FrozenClock) -> Iterator[Platform]:
    """A seeded platform on the frozen clock, with an enlace for IDAAN."""
    platform = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    seed(platform, demo_hash)
    idaan_enlace(platform)
    yield platform
    platform.close()


def idaan_enlace(p: Platform) -> None:
    """IDAAN's enlace (the demo has none), with the demo password."""
    accounts.create_user(
        p,
        "enlace.idaan",
        "Iván Enlace (IDAAN)",
        DEMO_PASSWORD,
        [Role.LIAISON],
        entity_codes=["IDAAN"],
        min_password=len(DEMO_PASSWORD),
    )


def find(p: Platform, username: str = "agente", **params: str) -> SearchPage:
    """Search as ``username`` with the page's query-string parameters."""
    return services.search_cases(p, who(p, username), services.case_query(params))


def numbers(page: SearchPage) -> set[str]:
    """The case numbers on a page."""
    return {hit.number for hit in page.hits}


def route(p: Platform, number: str, entity: str, kind: str = "queja") -> None:
    """The agent accepts the case for ``entity``."""
    task = "Clasificar la queja" if kind == "queja" else "Clasificar la denuncia"
    do(p, "agente", task, {"decision": "aceptar", "entidad": entity}, number)


@pytest.fixture
def cases(p: Platform) -> dict[str, str]:
    """A phoned-in queja for IDAAN, a web queja for MOP, a reserved denuncia
    for MINSA: name → number."""
    agent = who(p, "agente")
    pipe = services.open_case(p, "queja", PIPE, actor=agent, channel="phone")
    pothole = services.open_case(p, "queja", POTHOLE)
    witness = services.open_case(p, "denuncia", WITNESS)
    route(p, pipe.number, "IDAAN")
    route(p, pothole.number, "MOP")
    route(p, witness.number, "MINSA", "denuncia")
    return {"pipe": pipe.number, "pothole": pothole.number, "witness": witness.number}


# --- Number and text ---------------------------------------------------------------


def test_finds_a_case_by_its_number_whole_or_in_part(p, cases) -> None:
    """The whole number finds that case; a part finds the cases holding it."""
    assert numbers(find(p, numero=cases["pothole"])) == {cases["pothole"]}
    assert numbers(find(p, numero=cases["pothole"].lower())) == {cases["pothole"]}
    assert numbers(find(p, numero=cases["pothole"][-6:])) == {cases["pothole"]}
    assert numbers(find(p, numero="2026-0000")) == set(cases.values())
    assert numbers(find(p, numero="311-1999-000001")) == set()
    # The number is in the text too.
    assert numbers(find(p, q=cases["witness"])) == {cases["witness"]}


def test_finds_a_word_of_the_description_with_or_without_accents(p, cases) -> None:
    """Accents and case are folded both ways; every word must match."""
    for query in ("tuberia", "TUBERÍA", "Tubería rota", "escuela", "ESCUELA agua"):
        assert numbers(find(p, q=query)) == {cases["pipe"]}, query
    assert numbers(find(p, q="Chepo")) == {cases["pothole"]}
    assert numbers(find(p, q="vía")) == {cases["pothole"]}
    assert numbers(find(p, q="tubería Chepo")) == set()
    assert numbers(find(p, q="inexistente")) == set()


@pytest.mark.postgres
def test_postgresql_stems_spanish_words(p, cases) -> None:
    """Plural and verb forms meet the stored words (Spanish stemming)."""
    assert p.db.is_postgres
    assert numbers(find(p, q="tuberías rotas")) == {cases["pipe"]}
    assert numbers(find(p, q="escuelas")) == {cases["pipe"]}
    assert numbers(find(p, q="cobrando citas")) == {cases["witness"]}
    # The web search syntax is understood, never an error.
    assert numbers(find(p, q="tubería or Chepo")) == {cases["pipe"], cases["pothole"]}
    assert numbers(find(p, q="agua -escuela")) == set()


def test_words_match_as_each_database_can(p, cases) -> None:
    """PostgreSQL matches Spanish stems; SQLite's FTS5 (no Spanish stemmer)
    matches each word as the beginning of a stored word."""
    if p.db.is_postgres:
        assert numbers(find(p, q="tuberías")) == {cases["pipe"]}
        assert numbers(find(p, q="funcionarios cobran")) == {cases["witness"]}
    else:
        assert numbers(find(p, q="tuber")) == {cases["pipe"]}
        assert numbers(find(p, q="funcionari cobr")) == {cases["witness"]}


def test_finds_what_staff_wrote_on_tasks(p, cases) -> None:
    """Internal notes and answers are searchable once the task is done."""
    assert numbers(find(p, q="acueductos")) == set()
    do(
        p,
        "enlace.idaan",
        "Acusar recibo",
        {"nota": "Pasado a la unidad de acueductos de San Miguelito."},
        cases["pipe"],
    )
    assert numbers(find(p, q="acueductos miguelito")) == {cases["pipe"]}


# --- Contact -------------------------------------------------------------------------


def test_finds_the_callers_phone_in_any_format(p, cases) -> None:
    """Digits are compared, with or without Panama's country code."""
    for phone in ("6123-4567", "61234567", "+507 6123-4567", "(507) 6123 4567", "4567"):
        assert numbers(find(p, contacto=phone)) == {cases["pipe"]}, phone
    for phone in ("6999 8888", "+50769998888", "00507 6999-8888"):
        assert numbers(find(p, contacto=phone)) == {cases["pothole"]}, phone
    assert numbers(find(p, contacto="6000-0000")) == set()


def test_finds_the_citizens_email_and_name(p, cases) -> None:
    """Email in any case, in part; the name's words in any order and accents."""
    assert numbers(find(p, contacto="maria.nunez@EXAMPLE.pa")) == {cases["pipe"]}
    assert numbers(find(p, contacto="nunez@")) == {cases["pipe"]}
    assert numbers(find(p, contacto="núñez maría")) == {cases["pipe"]}
    assert numbers(find(p, contacto="PEREZ")) == {cases["pothole"]}
    assert numbers(find(p, contacto="maria perez")) == set()
    # The contact is not part of the text.
    assert numbers(find(p, q="Núñez")) == set()


def test_a_reserved_identity_is_never_matched_nor_shown(p, cases) -> None:
    """Name, phone and email of a reserved denuncia find nothing, and the case
    (found by its text) comes without contact, even for the supervisor."""
    for contact in ("Testigo Reservado", "6555-1212", "testigo@example.pa"):
        assert numbers(find(p, "supervisor", contacto=contact)) == set(), contact
    assert numbers(find(p, "supervisor", q="Testigo")) == set()
    (hit,) = find(p, "supervisor", q="cobro indebido").hits
    assert hit.number == cases["witness"] and hit.identity_reserved
    assert (hit.contact_names, hit.contact_emails, hit.contact_phones) == ([], [], [])
    with p.db.read() as s:
        row = s.scalars(
            select(CaseSearch)
            .join(Case, Case.id == CaseSearch.case_id)
            .where(Case.number == cases["witness"])
        ).one()
    assert (row.contact_email, row.contact_digits, row.contact_name) == ("", "", "")
    assert "Testigo" not in row.document and "6555" not in row.document


def test_a_hit_carries_the_contact_of_an_open_identity(p, cases) -> None:
    """Who may see the case sees its contact in the results too."""
    (hit,) = find(p, "enlace.idaan", numero=cases["pipe"]).hits
    assert hit.contact_names == ["María José Núñez"]
    assert hit.contact_phones == ["6123-4567"]
    assert hit.contact_emails == ["Maria.Nunez@example.pa"]
    assert (hit.entity_code, hit.entity_name) == (
        "IDAAN",
        "Instituto de Acueductos y Alcantarillados Nacionales",
    )
    assert hit.channel == "phone" and hit.type_title == "Queja"


# --- Filters, counts, paging ---------------------------------------------------------


def test_filters_combine(p, cases, clock) -> None:
    """Entity, type, status, channel, created days (Panama) and overdue."""
    assert numbers(find(p, entidad="mop")) == {cases["pothole"]}
    assert numbers(find(p, tipo="denuncia")) == {cases["witness"]}
    assert numbers(find(p, canal="phone")) == {cases["pipe"]}
    assert numbers(find(p, canal="web", tipo="queja")) == {cases["pothole"]}
    assert numbers(find(p, estado="closed")) == set()
    assert numbers(find(p, estado="open")) == set(cases.values())
    # Filed on Monday 9 November in Panama: 20:30 that day is 01:30 UTC the next.
    clock.advance(hours=11, minutes=30)
    late = services.open_case(p, "queja", POTHOLE).number
    assert numbers(find(p, desde="2026-11-09", hasta="2026-11-09")) == {
        *cases.values(),
        late,
    }
    assert numbers(find(p, desde="10/11/2026")) == set()
    assert numbers(find(p, hasta="2026-11-08")) == set()
    # Overdue: past the entity's acknowledgement deadline, still open.
    assert numbers(find(p, vencidos="1")) == set()
    clock.advance(days=10)
    services.fire_due_timers(p)
    overdue = find(p, vencidos="1")
    assert numbers(overdue) == set(cases.values())
    assert all(hit.overdue for hit in overdue.hits)


def test_pages_counts_and_order(p, clock) -> None:
    """25 a page, counts per status, sorted by creation, due date or number."""
    for i in range(30):
        clock.advance(minutes=1)
        services.open_case(p, "queja", {**POTHOLE, "asunto": f"Hueco {i}"})
    first, second = find(p, q="hueco"), find(p, q="hueco", pagina="2")
    assert first.total == 30 and first.counts == {"open": 30, "closed": 0}
    assert first.pages == 2 and not first.capped
    assert len(first.hits) == 25 and len(second.hits) == 5
    assert first.hits[0].subject == "Hueco 29"  # newest first
    assert numbers(first).isdisjoint(numbers(second))
    oldest = find(p, q="hueco", orden="antiguos")
    assert oldest.hits[0].subject == "Hueco 0"
    by_number = [h.number for h in find(p, orden="numero").hits]
    assert by_number == sorted(by_number)
    assert find(p, orden="vencimiento").total == 30
    assert find(p, q="hueco", pagina="3").hits == []


def test_counts_stop_at_the_limit(p, monkeypatch) -> None:
    """Beyond COUNT_LIMIT the total says "more than", and paging stops there;
    the page itself is still the right one."""
    for i in range(4):
        services.open_case(p, "queja", {**POTHOLE, "asunto": f"Hueco {i}"})
    monkeypatch.setattr(search, "COUNT_LIMIT", 3)
    page = find(p)
    assert page.capped and page.total == 4 and page.count_limit == 3
    assert page.pages == 1
    assert [h.subject for h in page.hits] == [f"Hueco {i}" for i in (3, 2, 1, 0)]
    monkeypatch.setattr(search, "COUNT_LIMIT", 4)
    page = find(p, orden="antiguos")
    assert not page.capped and page.counts == {"open": 4, "closed": 0}
    assert [h.subject for h in page.hits] == [f"Hueco {i}" for i in (0, 1, 2, 3)]


def test_pages_beyond_the_limit_are_the_same_walked_or_gathered(
    p, clock, monkeypatch
) -> None:
    """Beyond COUNT_LIMIT a search by words walks the cases in the page's
    order; a walk too short for a full page falls back to gathering every
    match. Either way each page holds what the sorted results hold there."""
    for i in range(12):
        clock.advance(minutes=1)
        fields = POTHOLE if i % 3 else PIPE  # every third one is a pipe
        services.open_case(p, "queja", {**fields, "asunto": f"{fields['asunto']} {i}"})
    every = {
        sort: [h.number for h in find(p, q="hueco", orden=sort).hits]
        for sort in ("recientes", "antiguos", "vencimiento", "numero")
    }
    assert len(every["recientes"]) == 8
    monkeypatch.setattr(search, "COUNT_LIMIT", 3)
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    for walk in (1, 2, 100):  # short walks fall back to gathering; 100 is enough
        monkeypatch.setattr(search, "WALK_PER_RESULT", walk)
        for sort, expected in every.items():
            got = [
                find(p, q="hueco", orden=sort, pagina=str(page)).hits for page in (1, 2)
            ]
            assert all(len(hits) == 2 for hits in got), (walk, sort)
            assert [h.number for hits in got for h in hits] == expected[:4], (
                walk,
                sort,
            )
    page = find(p, q="hueco")
    assert page.capped and page.total == 4 and page.pages == 2


def test_a_walked_page_keeps_the_other_criteria(p, cases, clock, monkeypatch) -> None:
    """The walk checks the words case by case, after the other criteria and
    the actor's scope: an enlace's walk meets its entity's cases only."""
    for i in range(6):
        clock.advance(minutes=1)
        number = services.open_case(p, "queja", {**PIPE, "asunto": f"Fuga {i}"}).number
        route(p, number, "IDAAN" if i % 2 else "MOP")
    monkeypatch.setattr(search, "COUNT_LIMIT", 1)
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    monkeypatch.setattr(search, "WALK_PER_RESULT", 100)
    page = find(p, "enlace.idaan", q="fuga")
    assert page.capped
    assert [h.subject for h in page.hits] == ["Fuga 5", "Fuga 3"]
    assert {h.entity_code for h in page.hits} == {"IDAAN"}
    by_agent = find(p, q="fuga", entidad="MOP", canal="web")
    assert [h.subject for h in by_agent.hits] == ["Fuga 4", "Fuga 2"]


# --- Who sees what -------------------------------------------------------------------


def test_an_enlace_finds_only_its_entitys_cases(p, cases) -> None:
    """Whatever the criteria, another entity's case never comes back."""
    assert numbers(find(p, "enlace.mop")) == {cases["pothole"]}
    minsa = cases["witness"]
    for params in (
        {"entidad": "MINSA"},
        {"numero": minsa},
        {"q": "cobro indebido"},
        {"tipo": "denuncia"},
        {"entidad": "MINSA", "q": "funcionario", "estado": "open"},
    ):
        page = find(p, "enlace.mop", **params)
        assert page.hits == [] and page.total == 0, params
    assert numbers(find(p, "enlace.minsa", numero=minsa)) == {minsa}
    assert numbers(find(p, "supervisor")) == set(cases.values())


def test_a_transfer_moves_the_case_to_the_new_entitys_search(p) -> None:
    """MOP loses sight of a case it transferred; IDAAN finds it."""
    number = services.open_case(p, "queja", POTHOLE).number
    route(p, number, "MOP")
    assert numbers(find(p, "enlace.mop", q="Chepo")) == {number}
    transfer_mop_to_idaan(p, number)
    assert numbers(find(p, "enlace.mop", q="Chepo")) == set()
    assert numbers(find(p, "enlace.idaan", q="Chepo")) == {number}
    # MOP's reason ("not our competence") is searchable text of the case;
    # the choice it made (a code) is not.
    assert numbers(find(p, "enlace.idaan", q="agua IDAAN")) == {number}
    assert numbers(find(p, "enlace.idaan", q="no_competencia")) == set()


def test_only_staff_and_enlaces_search(p, cases) -> None:
    """Anonymous users, designers and admins are refused."""
    for actor in (None, who(p, "disenador"), who(p, "admin")):
        with pytest.raises(NotAllowed):
            services.search_cases(p, actor, CaseQuery())
        with pytest.raises(NotAllowed):
            services.search_options(p, actor)
    options = services.search_options(p, who(p, "enlace.mop"))
    assert [e.code for e in options.entities] == ["MOP"] and not options.may_export
    assert services.search_options(p, who(p, "supervisor")).may_export


# --- Any input -----------------------------------------------------------------------

NASTY = [
    "\"'; DROP TABLE case; --",
    "a* OR b NEAR(",
    '"',
    ")",
    "(",
    "*",
    "^tuberia",
    "tuberia:rota",
    "col:umn AND NOT x",
    "NEAR(a b, 2)",
    "%",
    "_",
    "\\",
    "' OR 1=1 --",
    "tubería & | ! <->",
    "'\"",
]


def test_search_syntax_characters_are_answered_normally(p, cases) -> None:
    """SQL and FTS syntax is just text in every criterion."""
    for value in NASTY:
        for name in ("q", "numero", "contacto"):
            find(p, **{name: value})
    assert numbers(find(p, q="tuberia:rota")) == {cases["pipe"]}
    assert numbers(find(p, q='"tubería"*')) == {cases["pipe"]}
    # LIKE's wildcards are escaped: "_" is no "any character".
    assert numbers(find(p, contacto="n_nez")) == set()
    assert numbers(find(p, numero="_")) == set()
    assert numbers(find(p, numero="%")) == set()
    # A criterion with nothing to match (only punctuation) is left out.
    assert find(p, q='"').total == find(p, contacto="%").total == 3
    with p.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 3


def test_bad_criteria_are_named(p) -> None:
    """Each bad parameter gets its message; the form can say which."""
    with pytest.raises(InvalidData) as err:
        services.case_query(
            {
                "desde": "31/02/2026",
                "hasta": "mañana",
                "estado": "perdido",
                "canal": "paloma",
                "orden": "azar",
                "pagina": "0",
                "vencidos": "quizá",
                "q": "x" * 201,
            }
        )
    assert set(err.value.errors) == {
        "desde",
        "hasta",
        "estado",
        "canal",
        "orden",
        "pagina",
        "vencidos",
        "q",
    }
    with pytest.raises(InvalidData) as err:
        services.case_query({"desde": "2026-11-10", "hasta": "2026-11-09"})
    assert set(err.value.errors) == {"hasta"}
    query = services.case_query(
        {"desde": "9/11/2026", "entidad": " mop ", "vencidos": "on", "pagina": "4"}
    )
    assert query.created_from == date(2026, 11, 9) and query.entity_code == "MOP"
    assert query.overdue and query.page == 4 and query.sort == "recientes"


# --- Export --------------------------------------------------------------------------


def audit_rows(p: Platform) -> list[AuditLog]:
    """The export records of the audit log."""
    with p.db.read() as s:
        return list(
            s.scalars(select(AuditLog).where(AuditLog.action == "export_cases"))
        )


def test_export_is_for_supervisors_and_audited(p, cases) -> None:
    """Agents and enlaces are refused (nothing recorded); a supervisor's export
    is recorded with its criteria before any row, and has no sealed contact."""
    query = services.case_query({"estado": "open"})
    for username in ("agente", "enlace.minsa"):
        with pytest.raises(NotAllowed):
            services.export_cases(p, who(p, username), query)
    assert audit_rows(p) == []
    rows = services.export_cases(p, who(p, "supervisor"), query)
    (record,) = audit_rows(p)  # recorded before the first row is read
    assert record.actor == "supervisor"
    assert record.detail == {
        "criteria": {"status": "open"},
        "sort": "recientes",
        "cases": 3,
    }
    hits = list(rows)
    assert [h.number for h in hits] == sorted(cases.values(), reverse=True)
    witness = next(h for h in hits if h.number == cases["witness"])
    assert witness.identity_reserved and not witness.contact_phones
    assert "Testigo" not in repr(witness) and "6555" not in repr(witness)
    pipe = next(h for h in hits if h.number == cases["pipe"])
    assert pipe.contact_phones == ["6123-4567"]


def test_export_reads_in_chunks_in_order(p, monkeypatch) -> None:
    """Chunked reads keep the order of the search."""
    for i in range(7):
        services.open_case(p, "queja", {**POTHOLE, "asunto": f"Hueco {i}"})
    monkeypatch.setattr(search, "EXPORT_CHUNK", 3)
    query = services.case_query({"orden": "numero"})
    hits = list(services.export_cases(p, who(p, "supervisor"), query))
    assert [h.number for h in hits] == sorted(h.number for h in hits)
    assert len(hits) == 7


# --- The index of existing cases -----------------------------------------------------


def _own_database(tmp_path: Path) -> str:
    """A database of this test's own (a schema of its own on PostgreSQL)."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path}/backfill.db"
    url = postgres_url()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS search_backfill CASCADE"))
        conn.execute(text("CREATE SCHEMA search_backfill"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3Dsearch_backfill"


def test_the_migration_indexes_existing_cases(tmp_path, demo_hash, clock) -> None:
    """Cases filed before the index existed are found after the upgrade, by
    description, notes and contact; a reserved identity still is not."""
    url = _own_database(tmp_path)
    dbmod.upgrade(url)
    p = Platform(url, clock=clock, identity_key=IDENTITY_KEY)
    try:
        seed(p, demo_hash)
        idaan_enlace(p)
        pipe = services.open_case(p, "queja", PIPE).number
        witness = services.open_case(p, "denuncia", WITNESS).number
        route(p, pipe, "IDAAN")
        do(p, "enlace.idaan", "Acusar recibo", {"nota": "Unidad de acueductos"}, pipe)
        with p.db.transaction() as s:
            s.execute(delete(CaseSearch))
        assert numbers(find(p, q="tuberia")) == set()
        dbmod.downgrade(url, "5a7c3e9d1b20")
        dbmod.upgrade(url)
        assert numbers(find(p, q="tuberia escuela")) == {pipe}
        assert numbers(find(p, q="acueductos")) == {pipe}
        assert numbers(find(p, contacto="+507 6123 4567")) == {pipe}
        assert numbers(find(p, q="cobro")) == {witness}
        assert numbers(find(p, contacto="6555-1212")) == set()
        # Batch by batch, the same rows.
        with p.db.engine.begin() as conn:
            conn.execute(delete(CaseSearch))
            assert search_index.backfill(conn, batch=1) == 2
        assert numbers(find(p, q="acueductos")) == {pipe}
    finally:
        p.close()
        if ON_POSTGRES:
            engine = create_engine(postgres_url())
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA search_backfill CASCADE"))
            engine.dispose()
