"""The case search index: what it holds, how it is kept, how it is matched.

``case_search`` has one row per case (:class:`~engine.store.models.CaseSearch`):
the text of the case in ``document`` and the citizen's contact normalized for
matching. Filing a case starts the row (:func:`index_new_case`) and
completing a task appends what was written on it (:func:`append_text`),
both with the free text of the form only (``engine.bundles.forms.free_text``:
choice codes and formatted values are not words). The migration that
creates the index fills it from stored events (:func:`backfill`).

Full-text matching is per dialect, behind :func:`text_condition`:

- PostgreSQL: a generated column ``document_tsv =
  to_tsvector('spanish', c311_unaccent(document))`` with a GIN index,
  matched with ``websearch_to_tsquery('spanish', c311_unaccent(:q))``, which
  accepts any input without a syntax error; Spanish stemming, accents folded.
  The contact columns and ``case.number`` have trigram indexes, so substring
  matches (``LIKE '%…%'``) use an index too.
- SQLite: an FTS5 table ``case_search_fts`` (``unicode61 remove_diacritics
  2``, external content on ``case_search``, kept by triggers). FTS5 has no
  Spanish stemmer, so each word of the query is a quoted prefix
  (``"tuberia"*``): the user's characters never reach FTS5's query syntax.

The knowledge base's articles (``kb_article``) have the same machinery
over their title, topic and body (a generated ``document_tsv`` column, an
FTS5 table ``kb_article_fts``), matched by the same builder
(:func:`matching_rows`).

The migrations create those objects; the models do not know them (see
:data:`UNMODELLED`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    TextClause,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from engine.domain.enums import EventKind
from engine.store.db import hold_row
from engine.store.models import Case, CaseEvent, CaseSearch

#: Database objects the migration creates beside the models (per dialect):
#: the schema comparison leaves them out.
UNMODELLED = frozenset(
    {
        "document_tsv",
        "ix_case_search_document_tsv",
        "ix_case_search_email_trgm",
        "ix_case_search_digits_trgm",
        "ix_case_search_name_trgm",
        "ix_case_number_trgm",
        "ix_kb_article_document_tsv",
    }
)
#: The FTS5 table on SQLite, and the prefix of its shadow tables.
FTS_TABLE = "case_search_fts"
#: The FTS5 table of knowledge-base articles (title, topic, body).
KB_FTS_TABLE = "kb_article_fts"

#: A document stops growing here (PostgreSQL refuses a tsvector over 1 MB).
MAX_DOCUMENT = 200_000
#: At most this many words of a query are matched (each one costs a lookup).
MAX_WORDS = 12

_WORD = re.compile(r"\w+")
#: What a phone number may be written with (digits, spaces, + - . / ( )).
_PHONE_LIKE = re.compile(r"^[+\d\s().\-/]+$")
#: Event kinds whose data carries text typed into a form.
_TEXT_EVENTS = frozenset({EventKind.CREATED, EventKind.TASK_COMPLETED, EventKind.NOTE})
#: Appends text to a case's document (kept within MAX_DOCUMENT); built once.
_APPEND = (
    update(CaseSearch)
    .where(CaseSearch.case_id == bindparam("of_case"))
    .values(
        document=func.substr(CaseSearch.document + bindparam("text"), 1, MAX_DOCUMENT)
    )
)


def is_unmodelled(name: str | None) -> bool:
    """Whether a database object is one the migration adds beside the models."""
    return bool(name) and (
        name in UNMODELLED or str(name).startswith((FTS_TABLE, KB_FTS_TABLE))
    )


def fold(value: str) -> str:
    """Lower-case ``value`` and strip its accents (``Núñez`` → ``nunez``)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def event_texts(kind: str, data: Mapping[str, Any] | None) -> list[str]:
    """The searchable text a stored event carries, for :func:`backfill`.

    Without the form at hand, every string counts. The only reader of event
    payload keys in search: the intake data of a
    ``created`` event, the submitted data of a ``task_completed`` event
    (internal notes and answers to the citizen among them) and the text of
    a ``note`` event. Personal fields
    never reach these payloads (they go to the case's contact).
    """
    if kind not in _TEXT_EVENTS or not isinstance(data, Mapping):
        return []
    if kind == EventKind.NOTE:  # a staff note: its text
        return list(_strings(data.get("text")))
    return list(_strings(data.get("data")))


def _strings(value: Any) -> Iterator[str]:
    """The non-empty strings inside a JSON value, in order."""
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not str(key).startswith("_"):
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def split_contact(
    contact: Mapping[str, Any] | None,
) -> tuple[list[str], list[str], list[str]]:
    """A contact's values as (names and other text, emails, phone numbers).

    Told apart by their values, not by field names, which designers choose:
    an ``@`` makes an email, only phone characters with four digits or more a
    phone number.
    """
    names: list[str] = []
    emails: list[str] = []
    phones: list[str] = []
    for value in (contact or {}).values():
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if "@" in value:
            emails.append(value)
        elif _PHONE_LIKE.match(value) and len(_digits(value)) >= 4:
            phones.append(value)
        else:
            names.append(value)
    return names, emails, phones


def _digits(value: str) -> str:
    """Only the digits of ``value``."""
    return "".join(ch for ch in value if ch.isdigit())


def phone_digits(value: str) -> str:
    """A phone number's digits without Panama's country code.

    ``+507 6123-4567``, ``00507 61234567`` and ``6123-4567`` all give
    ``61234567``, so the stored number and the one searched meet whatever
    way each was written. Other countries keep their code.
    """
    digits = _digits(value)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("507") and len(digits) - 3 in (7, 8):
        digits = digits[3:]
    return digits


def contact_columns(
    contact: Mapping[str, Any] | None, reserved: bool
) -> dict[str, str]:
    """The normalized contact columns of a case; empty for a reserved identity."""
    if reserved:
        contact = None
    names, emails, phones = split_contact(contact)
    return {
        "contact_email": " ".join(e.lower() for e in emails),
        "contact_digits": " ".join(phone_digits(p) for p in phones),
        "contact_name": " ".join(fold(n) for n in names),
    }


def _joined(document: str, texts: list[str]) -> str:
    """``document`` with ``texts`` appended, within :data:`MAX_DOCUMENT`."""
    joined = " ".join(t for t in [document, *texts] if t)
    return joined[:MAX_DOCUMENT]


def index_new_case(s: Session, case: Case, texts: list[str]) -> None:
    """Start a new case's search row: number, subject, contact, intake text.

    Held with the case's other new rows (see ``engine.store.db.hold_row``).
    """
    hold_row(
        s,
        CaseSearch,
        {
            "document": _joined(
                "",
                [case.number, case.subject, *(t for t in texts if t != case.subject)],
            ),
            **contact_columns(case.contact, case.identity_reserved),
        },
        case,
    )


def append_text(s: Session, case: Case, texts: list[str]) -> None:
    """Add what staff or the citizen wrote on a task to the case's row."""
    if texts:
        s.connection().execute(
            _APPEND, {"of_case": case.id, "text": " " + _joined("", texts)}
        )


def backfill(conn: Connection, batch: int = 1000) -> int:
    """Build the search rows of every case from its stored events.

    For the migration that creates the index: reads only the columns it
    needs (later changes to the models do not break it) and walks the cases
    in batches of ``batch``, each with one query for their events. Returns
    the number of cases indexed.
    """
    cases = select(
        Case.id, Case.number, Case.subject, Case.contact, Case.identity_reserved
    ).order_by(Case.id)
    done, last = 0, 0
    while chunk := conn.execute(cases.where(Case.id > last).limit(batch)).all():
        ids = [row.id for row in chunk]
        texts: dict[int, list[str]] = {i: [] for i in ids}
        events = (
            select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.data)
            .where(CaseEvent.case_id.in_(ids), CaseEvent.kind.in_(_TEXT_EVENTS))
            .order_by(CaseEvent.case_id, CaseEvent.at, CaseEvent.id)
        )
        for case_id, kind, data in conn.execute(events):
            texts[case_id].extend(event_texts(kind, data))
        rows = [
            {
                "case_id": row.id,
                "document": _joined(
                    "",
                    [
                        row.number,
                        row.subject or "",
                        *(t for t in texts[row.id] if t != row.subject),
                    ],
                ),
                **contact_columns(row.contact, bool(row.identity_reserved)),
            }
            for row in chunk
        ]
        conn.execute(insert(CaseSearch), rows)
        done, last = done + len(rows), ids[-1]
    return done


def query_words(query: str) -> list[str]:
    """The words of a text query (letters and digits), at most MAX_WORDS."""
    return _WORD.findall(query)[:MAX_WORDS]


def text_condition(dialect: str, query: str) -> ColumnElement[bool] | None:
    """``case.id`` among the cases whose text matches ``query``.

    None when the query holds no word at all (only punctuation): there is
    nothing to match, and no dialect is handed a query it could stumble on.
    """
    matching = matching_rows(dialect, query, "case_search")
    if matching is None:
        return None
    return Case.id.in_(matching.columns(case_id=Case.id.type))


def text_checked_per_row(
    dialect: str, query: str, case_id: ColumnElement[int]
) -> ColumnElement[bool] | None:
    """Whether the text of the case ``case_id`` (a column) matches ``query``.

    Unlike :func:`text_condition`, meant to be tested row by row on an
    ordered walk of cases: on PostgreSQL an ``EXISTS`` that reads the
    case's one search row by its key, fenced by ``OFFSET 0`` so that the
    planner keeps it per row instead of first gathering every match through
    the GIN index (which costs as much as there are matches). On SQLite the
    FTS5 matches are gathered once, as in :func:`text_condition`. None when
    the query holds no word at all.
    """
    if not query_words(query):
        return None
    if dialect != "postgresql":
        matching = matching_rows(dialect, query, "case_search")
        assert matching is not None  # the query has words
        return case_id.in_(matching.columns(case_id=Case.id.type))
    own_row = (
        select(CaseSearch.case_id)
        .where(
            CaseSearch.case_id == case_id, text(_ROW_MATCH).bindparams(search_q=query)
        )
        .offset(0)
    )
    return own_row.exists()


#: The match of one search row (PostgreSQL), for :func:`text_checked_per_row`.
_ROW_MATCH = (
    "case_search.document_tsv @@ "
    "websearch_to_tsquery('spanish', c311_unaccent(:search_q))"
)

#: The full-text indexes and their match queries: (PostgreSQL, SQLite FTS5),
#: each selecting the key of the matching rows. Written out, never built
#: from names: only the bound parameters come from the user.
_MATCHES = {
    "case_search": (
        "SELECT case_id FROM case_search WHERE document_tsv @@ "
        "websearch_to_tsquery('spanish', c311_unaccent(:search_q))",
        "SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH :search_fts",
    ),
    "kb_article": (
        "SELECT id FROM kb_article WHERE document_tsv @@ "
        "websearch_to_tsquery('spanish', c311_unaccent(:search_q))",
        "SELECT rowid FROM kb_article_fts WHERE kb_article_fts MATCH :search_fts",
    ),
}


def matching_rows(
    dialect: str, query: str, index: Literal["case_search", "kb_article"]
) -> TextClause | None:
    """The keys of the rows of full-text ``index`` whose text matches ``query``.

    One query builder for every full-text index (cases, knowledge-base
    articles): on PostgreSQL the ``document_tsv`` column with the web search
    syntax, on SQLite the FTS5 table with each word a quoted prefix. None
    when the query holds no word at all.
    """
    words = query_words(query)
    if not words:
        return None
    postgresql, sqlite = _MATCHES[index]
    if dialect == "postgresql":
        return text(postgresql).bindparams(search_q=query)
    # Every word quoted (a double quote doubled inside), so AND, OR,
    # NEAR, *, ^, :, ( and " typed by the user are just characters.
    fts = " ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return text(sqlite).bindparams(search_fts=fts)


def _like(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere (its wildcards escaped)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contact_condition(query: str) -> ColumnElement[bool] | None:
    """``case.id`` among the cases whose citizen contact matches ``query``.

    An email (or part of one) when it holds ``@``; phone digits when it is
    written like a phone number, in any format (``+507 6123-4567`` and
    ``61234567`` both find ``6123-4567``); otherwise every word must appear
    in the name, accents and case aside. None when nothing is left to match.
    Reserved identities have empty contact columns: they never match.
    """
    query = query.strip()
    condition: ColumnElement[bool]
    if "@" in query:
        condition = CaseSearch.contact_email.like(_like(query.lower()), escape="\\")
    elif _PHONE_LIKE.match(query) and len(_digits(query)) >= 4:
        digits = phone_digits(query)
        condition = CaseSearch.contact_digits.like(_like(digits), escape="\\")
    else:
        words = query_words(fold(query))
        if not words:
            return None
        condition = and_(
            *(CaseSearch.contact_name.like(_like(w), escape="\\") for w in words)
        )
    return Case.id.in_(select(CaseSearch.case_id).where(condition))


def number_condition(query: str) -> ColumnElement[bool] | None:
    """The case with this tracking number, or whose number holds ``query``."""
    query = query.strip().upper()
    if not query:
        return None
    if re.fullmatch(r"\d{3}-\d{4}-\d{6}", query):
        return Case.number == query
    return Case.number.like(_like(query), escape="\\")


#: How much of a case's document describes it (number, subject, intake
#: text come first; notes and answers follow): the words duplicates are
#: matched on are taken from here.
SIMILAR_PREFIX = 2000
#: Shorter words say little about what a case is about (articles,
#: prepositions, "de", "la", "en"…): they are left out of the comparison.
SIMILAR_MIN_LENGTH = 4

_DOCUMENT_START = select(func.substr(CaseSearch.document, 1, SIMILAR_PREFIX)).where(
    CaseSearch.case_id == bindparam("of_case")
)


def describing_words(s: Session, case_id: int) -> list[str]:
    """The words a case is described by, for comparing it with others.

    From the beginning of its search document (subject and intake text),
    folded, without numbers (the tracking number is there too) or short
    words, each once, at most :data:`MAX_WORDS`.
    """
    start = s.execute(_DOCUMENT_START, {"of_case": case_id}).scalar() or ""
    words: dict[str, None] = {}
    for word in _WORD.findall(fold(start)):
        if len(word) >= SIMILAR_MIN_LENGTH and not word.isdigit():
            words.setdefault(word)
        if len(words) == MAX_WORDS:
            break
    return list(words)


def similarity(
    s: Session, dialect: str, words: list[str], case_ids: list[int]
) -> dict[int, float]:
    """How much each of ``case_ids`` shares ``words``: case id → score.

    Only the cases sharing at least one word are in the answer; a higher
    score is a closer text. The caller narrows ``case_ids`` first (category,
    dates), and only those rows are compared, whatever the size of the
    table: on PostgreSQL ``ts_rank`` over their Spanish full-text vectors
    (stemmed, accents folded), read first by key in a materialized CTE so
    that no plan walks the text index over every case; on SQLite the words
    each one shares (:func:`shared_words`), from the start of its document.
    """
    if not words or not case_ids:
        return {}
    if dialect != "postgresql":
        rows = s.execute(
            select(
                CaseSearch.case_id, func.substr(CaseSearch.document, 1, SIMILAR_PREFIX)
            ).where(CaseSearch.case_id.in_(case_ids))
        )
        scores = {int(i): float(shared_words(words, doc or "")) for i, doc in rows}
        return {i: score for i, score in scores.items() if score > 0}
    # websearch syntax: any word, never a syntax error.
    query = func.websearch_to_tsquery("spanish", func.c311_unaccent(" or ".join(words)))
    vector: ColumnElement[Any] = literal_column("case_search.document_tsv")
    chosen = (
        select(CaseSearch.case_id, vector.label("tsv"))
        .where(CaseSearch.case_id.in_(case_ids))
        .cte("chosen")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    rows = s.execute(
        select(chosen.c.case_id, func.ts_rank(chosen.c.tsv, query)).where(
            chosen.c.tsv.op("@@")(query)
        )
    )
    return {int(case_id): float(score) for case_id, score in rows}


#: Letters of a word compared when SQLite looks for shared words: a crude
#: stem, so that "tubería" and "tuberías", "reparar" and "reparada" meet.
STEM = 5


def shared_words(words: list[str], document: str) -> int:
    """How many of ``words`` (folded) start the same as a word of ``document``."""
    stems = {
        w[:STEM] for w in _WORD.findall(fold(document)) if len(w) >= SIMILAR_MIN_LENGTH
    }
    return len({w[:STEM] for w in words} & stems)
