"""A center's years of cases, made up in bulk for ``make bench-scale``.

:func:`grow` adds cases to a migrated database until it holds a given
number, with a realistic spread: four case types, the demo entities plus
generated ones (150 in all), five years of filing dates, most old cases
closed and about half the recent ones open, some overdue, seven in ten
with a caller's name, phone and email (one in five a caller seen before),
about three timeline events and one task per case, and the search row the
engine keeps. Subjects and descriptions come from a few dozen Spanish
templates and places, so common words are common and rare ones rare.

The rows are written straight into the tables (``COPY`` on PostgreSQL,
executemany on SQLite), a chunk per transaction, without running any
workflow: no workflow state is stored, so these cases can be searched,
listed and counted, not worked. A fixed seed makes every run the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text

from engine.store import search_index
from engine.store.db import insert_statement
from engine.store.models import (
    Case,
    CaseEvent,
    CaseSearch,
    Entity,
    HumanTask,
    ProcessVersion,
)
from engine.store.search_index import fold

#: The moment the data ends (the benchmark's clock).
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
YEARS = 5
CHUNK = 20_000
TYPES = (("queja", 0.6), ("denuncia", 0.15), ("sugerencia", 0.15), ("consulta", 0.1))
CHANNELS = (("web", 0.45), ("phone", 0.45), ("in_person", 0.05), ("email", 0.05))
PLACES = [
    "Bella Vista", "San Francisco", "Calidonia", "Curundú", "El Chorrillo",
    "Santa Ana", "Betania", "Pueblo Nuevo", "Juan Díaz", "Pedregal",
    "Tocumen", "Las Cumbres", "Chilibre", "Arraiján", "La Chorrera",
    "Colón", "David", "Santiago", "Chitré", "Las Tablas", "Penonomé",
    "Aguadulce", "Boquete", "Changuinola", "Bocas del Toro", "Almirante",
    "Soná", "Capira", "San Miguelito", "Ancón",
]  # fmt: skip
SUBJECTS = [
    ("Fuga de agua en {place}", "agua", "IDAAN"),
    ("Sin agua potable desde hace {n} días en {place}", "agua", "IDAAN"),
    ("Alcantarilla tapada en la calle {n} de {place}", "agua", "IDAAN"),
    ("Bache profundo en la vía principal de {place}", "vias", "MOP"),
    ("Puente peatonal dañado en {place}", "vias", "MOP"),
    ("Semáforo apagado en el cruce de {place}", "transito", "ATTT"),
    ("Buses que no respetan la parada en {place}", "transito", "ATTT"),
    ("Basura acumulada hace {n} días en {place}", "basura", "AAUD"),
    ("No pasa el camión recolector por {place}", "basura", "AAUD"),
    ("Falta de medicamentos en el centro de salud de {place}", "salud", "MINSA"),
    ("Mala atención en el hospital de {place}", "salud", "MINSA"),
    ("Cita médica reprogramada {n} veces en la policlínica", "seguro_social", "CSS"),
    ("Escuela sin maestro de matemáticas en {place}", "educacion", "MEDUCA"),
    ("Aulas con techo filtrado en {place}", "educacion", "MEDUCA"),
    ("Apagones frecuentes en {place}", "servicios_publicos", "ASEP"),
    ("Tala de árboles sin permiso en {place}", "ambiente", "MIAMBIENTE"),
    ("Quema de basura y humo en {place}", "ambiente", "MIAMBIENTE"),
    ("Vivienda en riesgo de derrumbe en {place}", "vivienda", "MIVIOT"),
    ("Parque sin iluminación en {place}", "municipal", "MUPA"),
    ("Permiso de construcción demorado en el municipio", "municipal", "MUPA"),
]
DETAILS = [
    "Los vecinos hemos llamado varias veces y nadie responde.",
    "La situación empeora cuando llueve y los niños pasan por ahí.",
    "Hay adultos mayores afectados y necesitamos una solución pronto.",
    "Adjunto la ubicación exacta: frente a la tienda de la esquina.",
    "El problema lleva más de un mes y ya hubo un accidente.",
    "Pedimos que una cuadrilla venga a revisar lo antes posible.",
    "El funcionario nos dijo que no era su responsabilidad.",
    "Solicito información sobre el estado de mi trámite.",
]
FIRST = [
    "María", "José", "Ana", "Luis", "Carmen", "Carlos", "Rosa", "Juan",
    "Elena", "Pedro", "Lucía", "Jorge", "Isabel", "Ricardo", "Marta",
    "Fernando", "Gloria", "Rubén", "Yolanda", "Édgar",
]  # fmt: skip
LAST = [
    "González", "Rodríguez", "Pérez", "Sánchez", "Castillo", "Herrera",
    "Díaz", "Morales", "Vásquez", "Batista", "Ríos", "Núñez", "Quintero",
    "Jaén", "Ortega", "Cedeño", "Pinzón", "Araúz", "Samudio", "Villarreal",
]  # fmt: skip
#: The entities that take most cases.
BIG_ENTITIES = frozenset({"MINSA", "IDAAN", "MOP", "CSS", "MUPA", "AAUD"})
OPEN_STATUSES = ["Asignada a la entidad", "En atención por la entidad", "Recibida"]
LIAISON_TASKS = ["Acusar recibo", "Atender la queja"]


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    """One value of (value, weight) pairs."""
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def ensure_entities(engine: Engine, total: int = 150) -> list[str]:
    """The entity codes, adding generated ones until there are ``total``."""
    with engine.begin() as conn:
        codes = list(conn.execute(select(Entity.code).order_by(Entity.code)).scalars())
        missing = [
            {"code": f"E{n:03d}", "name": f"Entidad pública {n}", "active": True}
            for n in range(1, total - len(codes) + 1)
        ]
        if missing:
            conn.execute(insert_statement(Entity.__table__), missing)
    return codes + [f"E{n:03d}" for n in range(1, len(missing) + 1)]


def version_ids(engine: Engine) -> dict[str, int]:
    """The latest deployed version id of each case type."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ProcessVersion.case_type, func.max(ProcessVersion.id)).group_by(
                ProcessVersion.case_type
            )
        ).all()
    return {str(t): int(i) for t, i in rows}


def case_count(engine: Engine) -> int:
    """How many cases the database holds."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Case)).scalar_one())


class Maker:
    """Builds the rows of consecutive cases, deterministically."""

    def __init__(self, entities: list[str], versions: dict[str, int]) -> None:
        """Remember the choices; seed the generator."""
        self.rng = random.Random(311)
        self.entities = entities
        # A few big entities take most of the cases, as in a real center.
        self.weights = [30.0 if code in BIG_ENTITIES else 1.0 for code in entities]
        self.known = frozenset(entities)
        self.versions = versions
        self.types = tuple((t, w) for t, w in TYPES if t in versions)
        self.callers: list[dict[str, str]] = []
        self.per_year: dict[int, int] = {}

    def caller(self) -> dict[str, str]:
        """A caller: one seen before (one in five) or a new one."""
        rng = self.rng
        if self.callers and rng.random() < 0.2:
            return rng.choice(self.callers)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        n = len(self.callers)
        contact = {
            "nombre": f"{first} {last} {rng.choice(LAST)}",
            "correo": f"{fold(first)}.{fold(last)}{n}@correo.pa",
            "telefono": f"6{rng.randrange(10**7):07d}",
        }
        self.callers.append(contact)
        return contact

    def rows(self, case_id: int) -> dict[str, list[dict[str, Any]]]:
        """The rows of case ``case_id``: case, search, events, tasks."""
        rng = self.rng
        created = NOW - timedelta(seconds=rng.random() ** 1.3 * YEARS * 365 * 86400)
        age_days = (NOW - created).days
        case_type = pick(rng, self.types)
        template, category, home = rng.choice(SUBJECTS)
        subject = template.format(place=rng.choice(PLACES), n=rng.randint(2, 90))
        description = " ".join(rng.sample(DETAILS, 2))
        entity = (
            home
            if home in self.known and rng.random() < 0.7
            else rng.choices(self.entities, self.weights)[0]
        )
        is_open = rng.random() < (0.5 if age_days < 60 else 0.03)
        contact = self.caller() if rng.random() < 0.7 else None
        reserved = (
            case_type == "denuncia" and contact is not None and rng.random() < 0.3
        )
        due = created + timedelta(days=rng.randint(5, 20))
        overdue = is_open and due < NOW
        self.per_year[created.year] = serial = self.per_year.get(created.year, 0) + 1
        number = f"311-{created.year}-{serial:06d}"
        case = {
            "id": case_id,
            "number": number,
            "case_type": case_type,
            "process_version_id": self.versions[case_type],
            "entity_code": entity,
            "channel": pick(rng, CHANNELS),
            "subject": subject,
            "category": category,
            "contact": None if reserved else contact,
            "access_code_hash": "x",
            "status": "open" if is_open else "closed",
            "public_status": rng.choice(OPEN_STATUSES) if is_open else "Cerrado",
            "created_at": created,
            "updated_at": created,
            "closed_at": None if is_open else due - timedelta(days=2),
            "due_at": due if is_open else None,
            "overdue_at": due if overdue else None,
            "reopen_count": 0,
            "identity_reserved": reserved,
            "lock_version": 1,
        }
        search = {
            "case_id": case_id,
            "document": " ".join([number, subject, description, category]),
            **search_index.contact_columns(contact, reserved),
        }
        events = [
            self.event(case_id, created, "created", "Caso recibido", True),
            self.event(case_id, created + timedelta(hours=3), "assigned", entity, True),
        ]
        if not is_open:
            events.append(
                self.event(case_id, due - timedelta(days=2), "closed", "Cerrado", True)
            )
        task = {
            "id": f"{case_id:08d}-0000-4000-8000-000000000000",
            "case_id": case_id,
            "bpmn_id": "atender",
            "name": rng.choice(LIAISON_TASKS),
            "role": "enlace",
            "entity_code": entity,
            "form": "atencion.json",
            "state": "ready" if is_open else "completed",
            "created_at": created + timedelta(hours=3),
            "due_at": due,
            "completed_at": None if is_open else due - timedelta(days=2),
            "completed_by_label": None if is_open else "Enlace",
        }
        return {"case": [case], "search": [search], "events": events, "task": [task]}

    @staticmethod
    def event(
        case_id: int, at: datetime, kind: str, summary: str, public: bool
    ) -> dict[str, Any]:
        """One timeline row."""
        return {
            "case_id": case_id,
            "at": at,
            "kind": kind,
            "actor_label": "",
            "summary": summary,
            "data": None,
            "public": public,
        }


TABLES: dict[str, Any] = {
    "case": Case.__table__,
    "search": CaseSearch.__table__,
    "events": CaseEvent.__table__,
    "task": HumanTask.__table__,
}


def chunks(maker: Maker, first: int, last: int) -> Iterator[dict[str, list[Any]]]:
    """The rows of cases ``first``..``last`` (ids), a chunk at a time."""
    for start in range(first, last + 1, CHUNK):
        batch: dict[str, list[Any]] = {name: [] for name in TABLES}
        for case_id in range(start, min(start + CHUNK, last + 1)):
            for name, rows in maker.rows(case_id).items():
                batch[name].extend(rows)
        yield batch


def grow(engine: Engine, maker: Maker, target: int, progress: Any = None) -> int:
    """Add cases until the database holds ``target``; how many were added."""
    have = case_count(engine)
    if have >= target:
        return 0
    with engine.connect() as conn:
        top = conn.execute(select(func.max(Case.id))).scalar() or 0
    first, last = int(top) + 1, int(top) + target - have
    with _indexes_later(engine, last - first + 1):
        _write(engine, maker, first, last, progress)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), "
                    '(SELECT max(id) FROM "case"))'
                )
            )
        # What autovacuum does to a table that grew: statistics, and the
        # visibility map that lets counts read indexes alone.
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as conn:
            for table in TABLES.values():
                conn.execute(text(f'VACUUM ANALYZE "{table.name}"'))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return last - first + 1


#: Growing by more than this many cases on PostgreSQL drops the tables'
#: secondary indexes first and builds them again after: one build of an
#: index over a million rows costs a fraction of a million insertions.
REINDEX_ABOVE = 100_000


@contextmanager
def _indexes_later(engine: Engine, adding: int) -> Iterator[None]:
    """Without the written tables' secondary indexes while writing many rows.

    The definitions are read back from ``pg_indexes`` (what the migrations
    created, whatever it is) and run again afterwards; primary keys and
    unique constraints stay.
    """
    if engine.dialect.name != "postgresql" or adding <= REINDEX_ABOVE:
        yield
        return
    names = [t.name for t in TABLES.values()]
    with engine.begin() as conn:
        found = conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() "
                "AND i.tablename = ANY(:names) AND NOT EXISTS ("
                "SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            ),
            {"names": names},
        ).all()
        for name, _ in found:
            conn.execute(text(f'DROP INDEX "{name}"'))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("SET maintenance_work_mem = '256MB'"))
            for _, definition in found:
                conn.execute(text(definition))


def _write(engine: Engine, maker: Maker, first: int, last: int, progress: Any) -> None:
    """Write cases ``first``..``last``, a chunk per transaction."""
    for batch in chunks(maker, first, last):
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                _copy(conn, batch)
            else:
                for name, table in TABLES.items():
                    conn.execute(insert_statement(table, inline=True), batch[name])
        if progress is not None:
            progress(batch["case"][-1]["id"] - first + 1, last - first + 1)


def _copy(conn: Any, batch: dict[str, list[dict[str, Any]]]) -> None:
    """Write a chunk with PostgreSQL's COPY (through psycopg)."""
    driver = conn.connection.driver_connection
    with driver.cursor() as cur:
        for name, table in TABLES.items():
            rows = batch[name]
            columns = list(rows[0])
            quoted = ", ".join(f'"{c}"' for c in columns)
            with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(
                        [
                            json.dumps(v) if isinstance(v, dict) else v
                            for v in row.values()
                        ]
                    )
