"""The knowledge base: articles staff answer common questions from.

Supervisors write, edit, publish and unpublish any article; an enlace only
its own entity's. Agents read and search the published ones (from the
intake and task pages) and link the article that answered a *consulta*
(the ``x-source: articulos`` form field). Every change is one transaction
with its ``audit_log`` record; an edit made on a stale copy (its
``lock_version`` is no longer the stored one) raises :class:`Conflict`
naming who changed the article first.

Search reads the per-dialect full-text index of ``kb_article`` through the
case search's query builder (:func:`engine.store.search_index.matching_rows`):
Spanish stemming with accents folded on PostgreSQL, word prefixes on SQLite;
any input is answered, whatever characters it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.domain.enums import Role
from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
)
from engine.domain.knowledge import ArticleForm, ArticleList, ArticleQuery, ArticleView
from engine.domain.views import Actor
from engine.services.common import STAFF_ROLES
from engine.services.platform import Platform
from engine.store import search_index
from engine.store.accounts import AuditLog
from engine.store.db import save_changes
from engine.store.models import Entity
from engine.store.publishing import KbArticle

#: Articles listed per search (the rest: narrow the search).
LIMIT = 50
#: The entity filter's value for general 311 articles (entity codes are
#: upper-case acronyms).
GENERAL = "general"

#: Longest value of each article field, and of each search parameter.
_FIELD_LIMITS = {"title": 200, "topic": 80, "body": 20_000}
_QUERY_LIMITS = {"q": 200, "entidad": 20, "tema": 80}
_READERS = (*STAFF_ROLES, Role.LIAISON)


def may_write(actor: Actor | None, entity_code: str | None = None) -> bool:
    """Whether ``actor`` writes articles (of ``entity_code`` when given).

    Supervisors write every article; an enlace only its entities' (never a
    general 311 article).
    """
    if actor is None:
        return False
    if actor.has(Role.SUPERVISOR):
        return True
    if not actor.has(Role.LIAISON) or not actor.entity_codes:
        return False
    return entity_code is None or entity_code in actor.entity_codes


def _may_edit(actor: Actor | None, article: KbArticle) -> bool:
    """Whether ``actor`` may change this article."""
    if actor is None:
        return False
    if actor.has(Role.SUPERVISOR):
        return True
    return (
        actor.has(Role.LIAISON)
        and article.entity_code is not None
        and article.entity_code in actor.entity_codes
    )


def _check_reader(actor: Actor | None) -> Actor:
    """311 staff and enlaces read the knowledge base; nobody else."""
    if actor is None or not actor.has(*_READERS):
        raise NotAllowed(
            N_("La base de conocimiento es para el personal del 311 y los enlaces.")
        )
    return actor


def article_query(params: Mapping[str, str], *, drafts: bool = False) -> ArticleQuery:
    """Search criteria from the page's query string (``q``, ``entidad``, ``tema``).

    Raises :class:`InvalidData` for a value longer than its field allows.
    """
    errors: dict[str, list[Message]] = {}
    values: dict[str, str] = {}
    for name, limit in _QUERY_LIMITS.items():
        raw = str(params.get(name) or "").strip()
        if len(raw) > limit:
            errors[name] = [
                Message(N_("Demasiado largo (máximo %(n)s caracteres)."), {"n": limit})
            ]
            raw = ""
        values[name] = raw
    if errors:
        raise InvalidData(errors)
    entity = values["entidad"]
    return ArticleQuery(
        text=values["q"],
        entity_code=GENERAL if entity.lower() == GENERAL else entity.upper(),
        topic=values["tema"],
        include_drafts=drafts,
    )


def search_articles(
    p: Platform, actor: Actor | None, query: ArticleQuery, *, limit: int = LIMIT
) -> ArticleList:
    """The articles matching ``query``, newest change first, at most ``limit``.

    Agents see only published articles; with ``include_drafts`` a
    supervisor also sees every draft and an enlace its entity's.
    """
    actor = _check_reader(actor)
    with p.db.read() as s:
        found = select(KbArticle)
        drafts = query.include_drafts and may_write(actor)
        if not drafts:
            found = found.where(KbArticle.published.is_(True))
        elif not actor.has(Role.SUPERVISOR):
            found = found.where(
                KbArticle.published.is_(True)
                | KbArticle.entity_code.in_(sorted(actor.entity_codes))
            )
        matching = search_index.matching_rows(
            s.get_bind().dialect.name, query.text, "kb_article"
        )
        if matching is not None:
            found = found.where(
                KbArticle.id.in_(matching.columns(id=KbArticle.id.type))
            )
        elif query.text.strip():
            found = found.where(KbArticle.id.is_(None))  # only punctuation
        if query.entity_code == GENERAL:
            found = found.where(KbArticle.entity_code.is_(None))
        elif query.entity_code:
            found = found.where(KbArticle.entity_code == query.entity_code)
        if query.topic:
            found = found.where(KbArticle.topic == query.topic)
        rows = list(
            s.scalars(
                found.order_by(KbArticle.updated_at.desc(), KbArticle.id.desc()).limit(
                    limit + 1
                )
            )
        )
        entities, topics = _choices(s)
        names = dict(entities)
    return ArticleList(
        query=query,
        articles=[_view(a, names, actor) for a in rows[:limit]],
        entities=entities,
        topics=topics,
        may_write=may_write(actor),
        more=len(rows) > limit,
        limit=limit,
    )


def get_article(p: Platform, actor: Actor | None, article_id: int) -> ArticleView:
    """One article; a draft only for those who may edit it (else NotFound)."""
    actor = _check_reader(actor)
    with p.db.read() as s:
        article = s.get(KbArticle, article_id)
        if article is None or not (article.published or _may_edit(actor, article)):
            raise NotFound(N_("El artículo no existe."))
        return _view(article, _entity_names(s, [article.entity_code]), actor)


def article_form(
    p: Platform, actor: Actor | None, article_id: int | None = None
) -> ArticleForm:
    """What the article form needs: the article to edit (None: a new one),
    the entities and the topics in use. Refuses who may not write it."""
    if not may_write(actor):
        raise NotAllowed(
            N_("Solo los supervisores del 311 y los enlaces escriben artículos.")
        )
    current = None
    if article_id is not None:
        current = get_article(p, actor, article_id)
        if not current.may_edit:
            raise NotAllowed(N_("No puede modificar este artículo."))
    with p.db.read() as s:
        entities, topics = _choices(s)
    return ArticleForm(article=current, entities=entities, topics=topics)


def _choices(s: Session) -> tuple[list[tuple[str, str]], list[str]]:
    """The active entities (code, name) and the topics of published articles."""
    entities = [
        (code, name)
        for code, name in s.execute(
            select(Entity.code, Entity.name)
            .where(Entity.active.is_(True))
            .order_by(Entity.code)
        )
    ]
    topics = sorted(
        s.scalars(
            select(KbArticle.topic).where(KbArticle.published.is_(True)).distinct()
        )
    )
    return entities, topics


def create_article(
    p: Platform, actor: Actor | None, data: Mapping[str, Any]
) -> ArticleView:
    """A new article (a draft unless ``published``); audited.

    ``data``: ``title``, ``topic``, ``body`` (Markdown), ``entity_code``
    (empty: general 311 article) and ``published``.
    """
    if not may_write(actor):
        raise NotAllowed(
            N_("Solo los supervisores del 311 y los enlaces escriben artículos.")
        )
    assert actor is not None
    now = p.clock()
    with p.db.transaction() as s:
        values = _checked(s, actor, data)
        article = KbArticle(
            **values,
            published=bool(data.get("published")),
            created_by=actor.username,
            created_at=now,
            updated_by=actor.username,
            updated_at=now,
        )
        s.add(article)
        s.flush()
        _audit(s, actor, "kb_article_created", article, now)
        return _view(article, _entity_names(s, [article.entity_code]), actor)


def edit_article(
    p: Platform,
    actor: Actor | None,
    article_id: int,
    data: Mapping[str, Any],
    lock_version: int,
) -> ArticleView:
    """Change an article's text, entity or topic; audited.

    ``lock_version`` is the one the editor started from: if somebody saved
    the article since, :class:`Conflict` names who and when.
    """
    return _change(p, actor, article_id, lock_version, data, None)


def set_published(
    p: Platform,
    actor: Actor | None,
    article_id: int,
    published: bool,
    lock_version: int,
) -> ArticleView:
    """Publish or unpublish an article; audited, stale copies refused."""
    return _change(p, actor, article_id, lock_version, None, published)


def _change(
    p: Platform,
    actor: Actor | None,
    article_id: int,
    lock_version: int,
    data: Mapping[str, Any] | None,
    published: bool | None,
) -> ArticleView:
    """Lock, check, change and audit one article; one transaction."""
    now = p.clock()
    try:
        with p.db.transaction() as s:
            article = s.scalars(
                select(KbArticle).where(KbArticle.id == article_id).with_for_update()
            ).first()
            if actor is None or not may_write(actor):
                raise NotAllowed(N_("No puede modificar este artículo."))
            if article is None:
                raise NotFound(N_("El artículo no existe."))
            if not _may_edit(actor, article):
                raise NotAllowed(N_("No puede modificar este artículo."))
            if article.lock_version != lock_version:
                raise _stale(article)
            if data is not None:
                for key, value in _checked(s, actor, data).items():
                    setattr(article, key, value)
                action = "kb_article_edited"
            else:
                article.published = bool(published)
                action = (
                    "kb_article_published" if published else "kb_article_unpublished"
                )
            article.updated_by = actor.username
            article.updated_at = now
            save_changes(s, article)
            _audit(s, actor, action, article, now)
            return _view(article, _entity_names(s, [article.entity_code]), actor)
    except StaleDataError:
        with p.db.read() as s:
            current = s.get(KbArticle, article_id)
            if current is not None:
                raise _stale(current) from None
        raise NotFound(N_("El artículo no existe.")) from None


def _stale(article: KbArticle) -> Conflict:
    """The conflict of an edit made on an older copy of ``article``."""
    return Conflict(
        N_(
            "%(who)s modificó este artículo el %(when)s, después de que usted "
            "lo abriera. Vuelva a abrirlo para ver sus cambios."
        ),
        who=article.updated_by,
        when=article.updated_at,
    )


def _checked(s: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """The article fields of ``data``, validated (InvalidData naming each).

    An enlace's article is always one of its entities' (the only one, or
    the one it chose); a supervisor's names an active entity or none (a
    general 311 article).
    """
    errors: dict[str, list[Message]] = {}
    values: dict[str, Any] = {}
    for key, limit in _FIELD_LIMITS.items():
        value = str(data.get(key) or "").strip()
        if not value:
            errors[key] = [Message(N_("Este campo es obligatorio."))]
        elif len(value) > limit:
            errors[key] = [
                Message(N_("Demasiado largo (máximo %(n)s caracteres)."), {"n": limit})
            ]
        values[key] = value
    entity = str(data.get("entity_code") or "").strip().upper() or None
    if not actor.has(Role.SUPERVISOR):
        own = sorted(actor.entity_codes)
        if len(own) == 1:
            entity = own[0]
        elif entity not in own:
            errors["entity_code"] = [Message(N_("Elija una de sus entidades."))]
    elif entity is not None and not s.scalar(
        select(Entity.code).where(Entity.code == entity, Entity.active.is_(True))
    ):
        errors["entity_code"] = [Message(N_("Entidad desconocida."))]
    values["entity_code"] = entity
    if errors:
        raise InvalidData(errors)
    return values


def _audit(
    s: Session, actor: Actor, action: str, article: KbArticle, now: datetime
) -> None:
    """The audit record of a change, in the change's transaction."""
    s.add(
        AuditLog(
            at=now,
            actor=actor.username,
            action=action,
            detail={
                "article": article.id,
                "title": article.title,
                "entity": article.entity_code,
                "published": article.published,
                "lock_version": article.lock_version,
            },
        )
    )


def _entity_names(s: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Names of the entities ``codes`` names."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return dict(
        s.execute(select(Entity.code, Entity.name).where(Entity.code.in_(wanted))).all()
    )


def _view(
    article: KbArticle, names: Mapping[str, str], actor: Actor | None
) -> ArticleView:
    """An article row as plain data."""
    return ArticleView(
        id=article.id,
        entity_code=article.entity_code,
        entity_name=names.get(article.entity_code or ""),
        topic=article.topic,
        title=article.title,
        body=article.body,
        published=article.published,
        created_by=article.created_by,
        created_at=article.created_at,
        updated_by=article.updated_by,
        updated_at=article.updated_at,
        lock_version=article.lock_version,
        may_edit=_may_edit(actor, article),
    )


def linked_articles(s: Session, ids: Iterable[Any]) -> list[ArticleView]:
    """The published articles among ``ids`` (as stored in events), in order.

    For the citizen's tracking page: an article unpublished since is not
    shown (the answer's note still names its title).
    """
    wanted: list[int] = []
    for value in ids:
        if str(value).isdigit() and int(value) not in wanted:
            wanted.append(int(value))
    if not wanted:
        return []
    rows = {
        a.id: a
        for a in s.scalars(
            select(KbArticle).where(
                KbArticle.id.in_(wanted), KbArticle.published.is_(True)
            )
        )
    }
    names = _entity_names(s, [a.entity_code for a in rows.values()])
    return [_view(rows[i], names, None) for i in wanted if i in rows]
