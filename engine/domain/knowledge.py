"""Plain dataclasses of the knowledge base for agents and enlaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ArticleView:
    """A knowledge-base article (its body is Markdown, rendered safely)."""

    id: int
    entity_code: str | None
    entity_name: str | None
    topic: str
    title: str
    body: str
    published: bool
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    lock_version: int
    #: Whether the actor who asked may edit, publish and unpublish it.
    may_edit: bool = False


@dataclass(frozen=True)
class ArticleQuery:
    """Knowledge-base search criteria (every one optional)."""

    text: str = ""
    entity_code: str = ""
    topic: str = ""
    #: Staff who write articles may include drafts; agents never see them.
    include_drafts: bool = False


@dataclass(frozen=True)
class ArticleList:
    """Articles found, with what the search form offers."""

    query: ArticleQuery
    articles: list[ArticleView]
    #: (code, name) of the entities the filter offers.
    entities: list[tuple[str, str]]
    #: Topics in use, sorted.
    topics: list[str]
    #: Whether the actor may write articles (supervisor or enlace).
    may_write: bool
    #: True when more matched than :attr:`limit` (only the first are shown).
    more: bool = False
    limit: int = 0


@dataclass(frozen=True)
class ArticleForm:
    """What the article form shows: the article edited (None: a new one)."""

    article: ArticleView | None
    entities: list[tuple[str, str]]
    topics: list[str]
