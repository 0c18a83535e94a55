"""Database plumbing: engines, sessions, one-transaction units of work, Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
READ_ONLY = "c311_read_only"  # execution option of read sessions' connections
HELD = "c311_held_rows"  # Session.info key of hold_row
HELD_NEW = "c311_held_new"  # Session.info key of hold_new
DEFERRED = "c311_deferred_updates"  # Session.info key of defer_updates
_INSERTS: dict[tuple[str, bool], Any] = {}  # insert_statement's, per table
# UPDATE statements of save_changes, per table and columns: built once each.
_UPDATES: dict[tuple[str, tuple[str, ...]], Any] = {}
_COLUMN_KEYS: dict[Any, frozenset[str]] = {}  # save_changes: per mapper


def make_engine(url: str) -> Engine:
    """Create an SQLAlchemy engine tuned for the backend behind ``url``.

    SQLite gets a busy timeout, WAL and foreign keys, because the embedded
    default serves a web process and a worker thread at once. Query
    parameters are hidden from error messages and logs: they carry citizens'
    contact data, which must not end up in log files.
    """
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Turn on WAL and foreign keys for every new SQLite connection."""
    # pysqlite's own transaction handling would start transactions lazily and
    # late; we issue BEGIN ourselves (see _sqlite_begin_immediate).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take SQLite's write lock at BEGIN so two writers queue instead of failing.

    A deferred transaction that reads and later writes would get
    "database is locked" on upgrade; BEGIN IMMEDIATE serialises writers,
    which is what a row lock does on PostgreSQL. Sessions opened by
    :meth:`Database.read` never write, so they begin deferred and take no
    lock: a page view does not queue behind a filing.
    """
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine and the session factory of one database."""

    def __init__(self, url: str) -> None:
        """Connect lazily to ``url``."""
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessions, "before_commit", write_pending)
        # Read sessions: on PostgreSQL in autocommit (READ COMMITTED gives
        # each statement its own snapshot anyway), which saves the BEGIN
        # and ROLLBACK round trips; on SQLite a deferred transaction.
        read_options: dict[str, Any] = {READ_ONLY: True}
        if self.engine.dialect.name == "postgresql":
            read_options["isolation_level"] = "AUTOCOMMIT"
        self.read_sessions = sessionmaker(
            self.engine.execution_options(**read_options), expire_on_commit=False
        )

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where row locks and SKIP LOCKED exist."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self.sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only; closed (not committed) at the end.

        Closing releases the connection and detaches loaded rows without
        expiring them, so callers may read what they loaded. On SQLite the
        transaction begins deferred (see ``_sqlite_begin_immediate``).
        """
        session = self.read_sessions()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str) -> Any:
    """An Alembic config pointing at our migrations and the given database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def insert_new(s: Session, obj: Any) -> None:
    """INSERT a new (transient) mapped object with one Core statement.

    For a row built once with all its values, where the unit of work would
    only add bookkeeping: the attributes set on ``obj`` are written (column
    defaults fill the others in the database row, not on ``obj``), its
    primary key is set on ``obj``, and ``obj`` stays outside the session, so
    later changes to it are not saved.
    """
    mapper = inspect(obj).mapper
    result = s.connection().execute(
        insert_statement(mapper.local_table), _row_values(obj)
    )
    for column, key in zip(
        mapper.primary_key, result.inserted_primary_key or (), strict=True
    ):
        setattr(obj, mapper.get_property_by_column(column).key, key)


def hold_new(s: Session, obj: Any) -> None:
    """Hold a new object whose primary key is already set, like :func:`insert_new`.

    It is written by :func:`write_held` before the held rows (they may
    refer to it), with the values it has then, in the same round trip on
    PostgreSQL.
    """
    s.info.setdefault(HELD_NEW, []).append(obj)


def _row_values(obj: Any) -> dict[str, Any]:
    """The column values set on a transient mapped object."""
    return {
        prop.columns[0].key: obj.__dict__[prop.key]
        for prop in inspect(obj).mapper.column_attrs
        if obj.__dict__.get(prop.key) is not None
    }


def insert_statement(table: Any, *, inline: bool = False) -> Any:
    """The INSERT of ``table``, built once.

    SQLAlchemy caches compiled SQL by a statement's cache key, which each
    statement object computes once; on SQLite building a fresh statement
    per call costs about as much as running it. An ``inline`` INSERT does
    not fetch the new row's key back (no RETURNING), so nothing waits for
    its answer.
    """
    key = (table.name, inline)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = table.insert()
        if inline:
            statement = statement.inline()
        _INSERTS[key] = statement
    return statement


def hold_row(s: Session, model: Any, values: dict[str, Any], case: Any) -> None:
    """Hold an append-only row of ``model`` for ``case`` until :func:`write_held`.

    Rows only ever appended (timeline events, new tasks, a new state) need
    none of the unit of work's tracking: they are written together, one
    executemany per table, with ``case_id`` taken from ``case`` then (a new
    case gets its id only when it is inserted). Whatever is still held when
    the transaction commits is written first (see :class:`Database`).
    """
    s.info.setdefault(HELD, []).append((model, values, case))


def held_rows(s: Session, model: Any, case: Any) -> list[dict[str, Any]]:
    """The values of the rows of ``model`` held for ``case``, not yet written.

    What a step appended so far (its events, its new tasks), for code that
    reacts to the step before it is written (the mail it sends).
    """
    return [
        values
        for held_model, values, held_case in s.info.get(HELD, [])
        if held_model is model and held_case is case
    ]


def write_held(s: Session) -> None:
    """INSERT the held objects and rows, in order within each table (ids follow it)."""
    if HELD in s.info or HELD_NEW in s.info:
        conn = s.connection()
        with pipelined(conn):
            _insert_held(s, conn)


def _insert_held(s: Session, conn: Any) -> None:
    """The INSERTs of :func:`write_held`, on ``conn``, without waiting for answers."""
    new: list[Any] = s.info.pop(HELD_NEW, [])
    held: list[tuple[Any, dict[str, Any], Any]] = s.info.pop(HELD, [])
    if any(case.id is None for _, _, case in held):
        s.flush()  # a case still pending gets its id
    for obj in new:
        conn.execute(
            insert_statement(inspect(obj).mapper.local_table, inline=True),
            _row_values(obj),
        )
    tables: dict[Any, list[dict[str, Any]]] = {}
    for model, values, case in held:
        tables.setdefault(model, []).append({**values, "case_id": case.id})
    for model, rows in tables.items():
        conn.execute(insert_statement(model.__table__, inline=True), rows)


@contextmanager
def pipelined(conn: Any) -> Iterator[None]:
    """Send the statements run inside without waiting for each one's answer.

    On PostgreSQL (psycopg's pipeline mode) statements whose results nobody
    reads -- INSERTs and UPDATEs without RETURNING -- go out together and
    their answers come back at the end: one round trip for all instead of
    one each. An error surfaces when the block ends, as the SQLAlchemy
    exception the statement alone would raise (a lost connection is
    dropped from the pool). Elsewhere it does nothing.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    driver = conn.connection.driver_connection
    try:
        with driver.pipeline():
            yield
    except driver.Error as exc:  # the driver's own, raised at the sync
        if conn.dialect.is_disconnect(exc, driver, None):
            conn.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, type(driver).Error, ismulti=False
        ) from exc


def write_pending(s: Session) -> None:
    """Write what the session still holds (run before every commit)."""
    if DEFERRED in s.info:
        write_deferred(s)
    else:
        write_held(s)


def drop_held(s: Session) -> None:
    """Forget the held rows (their step failed; the session goes on)."""
    s.info.pop(HELD, None)
    s.info.pop(HELD_NEW, None)


def save_changes(s: Session, obj: Any) -> None:
    """Write a loaded mapped object's changed columns with one Core UPDATE.

    What the unit of work would do for one object, without its bookkeeping:
    the version counter (``version_id_col``) is checked and bumped, and
    :class:`~sqlalchemy.orm.exc.StaleDataError` raised if another
    transaction changed the row; the object then holds the values as
    stored and leaves the session, so no later flush looks at it again.
    """
    state = inspect(obj)
    if not state.modified:
        return
    mapper = state.mapper
    columns = _COLUMN_KEYS.get(mapper)
    if columns is None:
        columns = _COLUMN_KEYS[mapper] = frozenset(p.key for p in mapper.column_attrs)
    # Only attributes set since loading are in ``committed_state``: looking
    # at those, not at every column, is what makes this cheap.
    changed = {
        key: getattr(obj, key)
        for key in list(state.committed_state)
        if key in columns and state.attrs[key].history.has_changes()
    }
    if not changed:
        return
    version = mapper.version_id_col
    version_key = (
        mapper.get_property_by_column(version).key if version is not None else None
    )
    if version_key is not None:
        current = state.committed_state.get(version_key, getattr(obj, version_key))
        changed[version_key] = current + 1
    key = (mapper.local_table.name, tuple(sorted(changed)))
    statement = _UPDATES.get(key)
    if statement is None:
        table = mapper.local_table
        where = [
            column == bindparam(f"pk_{column.key}") for column in mapper.primary_key
        ]
        if version is not None:
            where.append(version == bindparam("pk_version"))
        statement = (
            table.update()
            .where(*where)
            .values({name: bindparam(f"v_{name}") for name in changed})
        )
        _UPDATES[key] = statement
    params = {f"v_{name}": value for name, value in changed.items()}
    for column in mapper.primary_key:
        params[f"pk_{column.key}"] = getattr(
            obj, mapper.get_property_by_column(column).key
        )
    if version_key is not None:
        params["pk_version"] = changed[version_key] - 1
    update_row(s, statement, params)
    for name, value in changed.items():
        set_committed_value(obj, name, value)
    # Written: out of the session, so no flush goes over it again (the
    # object keeps its values for whoever still reads them).
    s.expunge(obj)


def defer_updates(s: Session) -> None:
    """Hold this session's UPDATEs and rows from now until :func:`write_deferred`.

    For a batch of steps on rows the transaction has locked (the worker's
    claim): every UPDATE of :func:`update_row` and every held row is then
    written once per statement as an executemany, instead of once per step.
    A failure of any step must roll the whole transaction back (nothing
    tells which rows were its own); the caller then redoes the batch step by
    step.
    """
    s.info[DEFERRED] = {}


def deferring(s: Session) -> bool:
    """True while :func:`defer_updates` holds this session's writes."""
    return DEFERRED in s.info


def update_row(s: Session, statement: Any, params: dict[str, Any]) -> None:
    """Run an UPDATE that must match exactly one row, or hold it if deferring.

    Raises :class:`~sqlalchemy.orm.exc.StaleDataError` when it matches none
    (another transaction changed or removed the row); held UPDATEs are
    counted together by :func:`write_deferred`.
    """
    deferred: dict[Any, list[dict[str, Any]]] | None = s.info.get(DEFERRED)
    if deferred is not None:
        deferred.setdefault(statement, []).append(params)
        return
    result = s.connection().execute(statement, params)
    if result.rowcount != 1:
        raise StaleDataError(
            f"UPDATE of {statement.table.name} matched {result.rowcount} rows"
        )


def write_deferred(s: Session) -> None:
    """Write the held UPDATEs (one executemany each) and rows; stop deferring.

    Each statement's rows are counted (SQLite and psycopg report an
    executemany's total): a shortfall raises
    :class:`~sqlalchemy.orm.exc.StaleDataError`, as one UPDATE would. On
    PostgreSQL everything goes out in one pipeline, where no count comes
    back: the rows deferred there are ones the transaction locked
    (``SELECT … FOR UPDATE``), which nothing else can have changed.
    """
    deferred: dict[Any, list[dict[str, Any]]] = s.info.pop(DEFERRED, {})
    conn = s.connection()
    counts = []
    with pipelined(conn):
        for statement, rows in deferred.items():
            counts.append((statement, len(rows), conn.execute(statement, rows)))
        _insert_held(s, conn)
    if conn.dialect.name == "postgresql":
        return
    for statement, expected, result in counts:
        if result.rowcount != expected:
            raise StaleDataError(
                f"UPDATE of {statement.table.name} matched {result.rowcount} "
                f"of {expected} rows"
            )


def drop_deferred(s: Session) -> None:
    """Forget the held UPDATEs and rows and stop deferring (rolling back)."""
    s.info.pop(DEFERRED, None)
    drop_held(s)


def insert_ignore(s: Session, model: Any, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on PostgreSQL and SQLite."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(model).values(**values).on_conflict_do_nothing())
