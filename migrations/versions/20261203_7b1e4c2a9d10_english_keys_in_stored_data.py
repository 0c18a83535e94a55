"""English keys in stored data: event payloads, channel values, mail language

What the code owns is stored in English: the keys of ``case_event.data``
(``canal`` → ``channel``, ``datos`` → ``data``, …, and ``etiqueta`` /
``valor`` inside a public note's ``campos`` → ``fields`` list) and the
channel values (``presencial`` → ``in_person``, ``correo`` → ``email``) in
``case.channel`` and in the ``created`` events. What people authored stays
as it is: the workflow variables under ``data`` and the form field names.
``case.language`` (new, nullable) keeps the language a citizen filed in.

``case_event`` is append-only by trigger: its triggers are read from the
catalog, dropped, the rows rewritten in batches, and the same definitions
created again, on SQLite and PostgreSQL alike. Downgrade reverses it all.

Revision ID: 7b1e4c2a9d10
Revises: 5a7c3e9d1b20
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "7b1e4c2a9d10"
down_revision = "5a7c3e9d1b20"
branch_labels = None
depends_on = None

#: Rows rewritten per round trip.
BATCH = 500

#: Per event kind: the old (Spanish) payload key → the new (English) one.
EVENT_KEYS: dict[str, dict[str, str]] = {
    "created": {"canal": "channel", "datos": "data"},
    "assigned": {"entidad": "entity", "nombre": "name"},
    "status": {"estado": "status"},
    "closed": {"fin": "end_event"},
    "reopened": {"reaperturas": "reopen_count"},
    "reminder": {"entidad": "entity"},
    "transferred": {"desde": "from", "hacia": "to"},
    "migrated": {"desde": "from", "hacia": "to"},
    "task_completed": {"tarea": "task", "datos": "data", "por": "by"},
    "public_note": {"campos": "fields"},
    "identity_unsealed": {"motivo": "reason"},
}
#: Keys of each entry of a public note's list of fields.
NOTE_KEYS = {"etiqueta": "label", "valor": "value"}
#: Channel values that change (``web``, ``phone``, ``open311`` do not).
CHANNELS = {"presencial": "in_person", "correo": "email"}


def _inverse(mapping: Mapping[str, str]) -> dict[str, str]:
    """New → old."""
    return {new: old for old, new in mapping.items()}


class Vocabulary:
    """One direction of the rewrite: which keys and values become which."""

    def __init__(self, *, forward: bool) -> None:
        """Old → new when ``forward``, new → old otherwise."""
        flip = (lambda m: dict(m)) if forward else _inverse
        self.event_keys = {kind: flip(keys) for kind, keys in EVENT_KEYS.items()}
        self.note_keys = flip(NOTE_KEYS)
        self.channels = flip(CHANNELS)
        self.note_list = "fields" if forward else "campos"
        self.channel_key = "channel" if forward else "canal"

    def payload(self, kind: str, data: Any) -> Any:
        """``data`` of an event of ``kind`` in this direction's vocabulary.

        Only the keys the code wrote are renamed: the workflow variables
        under ``data``/``datos`` are designers' names and stay.
        """
        if not isinstance(data, dict):
            return data
        keys = self.event_keys.get(kind, {})
        out = {keys.get(k, k): v for k, v in data.items()}
        fields = out.get(self.note_list)
        if kind == "public_note" and isinstance(fields, list):
            out[self.note_list] = [
                {self.note_keys.get(k, k): v for k, v in f.items()}
                if isinstance(f, dict)
                else f
                for f in fields
            ]
        channel = out.get(self.channel_key)
        if kind == "created" and isinstance(channel, str):
            out[self.channel_key] = self.channels.get(channel, channel)
        return out


def upgrade() -> None:
    """Add ``case.language``; English keys and channel values."""
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    _rewrite(Vocabulary(forward=True))


def downgrade() -> None:
    """Spanish keys and channel values again; drop ``case.language``."""
    _rewrite(Vocabulary(forward=False))
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_column("language")


def _rewrite(vocabulary: Vocabulary) -> None:
    """Rewrite channels and event payloads with the triggers out of the way."""
    conn = op.get_bind()
    cases = sa.table("case", sa.column("channel", sa.String()))
    for old, new in vocabulary.channels.items():
        conn.execute(cases.update().where(cases.c.channel == old).values(channel=new))
    triggers = _event_triggers(conn)
    for name, _definition in triggers:
        _drop_trigger(conn, name)
    _rewrite_events(conn, vocabulary)
    for _name, definition in triggers:
        conn.exec_driver_sql(definition)


def _rewrite_events(conn: sa.Connection, vocabulary: Vocabulary) -> None:
    """Every event payload in ``vocabulary``, in batches by id."""
    events = sa.table(
        "case_event",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("data", sa.JSON()),
    )
    update = (
        events.update()
        .where(events.c.id == sa.bindparam("row_id"))
        .values(data=sa.bindparam("new_data", type_=sa.JSON()))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(events.c.id, events.c.kind, events.c.data)
            .where(events.c.id > last)
            .order_by(events.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        changed = []
        for row in rows:
            new = vocabulary.payload(row.kind, row.data)
            if new != row.data:
                changed.append({"row_id": row.id, "new_data": new})
        if changed:
            conn.execute(update, changed)


def _event_triggers(conn: sa.Connection) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every trigger on ``case_event``, as the
    database itself holds them, so they come back exactly as they were."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name = 'case_event' ORDER BY name"
        )
    elif conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = 'case_event'::regclass AND NOT tgisinternal "
            "ORDER BY tgname"
        )
    else:
        raise NotImplementedError(f"triggers on {conn.dialect.name}")
    return [(str(name), str(sql)) for name, sql in rows]


def _drop_trigger(conn: sa.Connection, name: str) -> None:
    """Drop one trigger of ``case_event`` (the PostgreSQL function stays:
    ``audit_log``'s trigger uses it too)."""
    quoted = conn.dialect.identifier_preparer.quote(name)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"DROP TRIGGER {quoted} ON case_event")
    else:
        conn.exec_driver_sql(f"DROP TRIGGER {quoted}")
