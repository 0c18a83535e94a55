"""Categories and routing: the entities that answer a category (offered
first in pickers) and the routing table's warnings at deploy."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from engine.bundles import decision_checks, routing
from engine.bundles.decision_checks import EntityFacts
from engine.domain.errors import Problem
from engine.services.platform import Platform
from engine.store.models import Entity, EntityCategory


def category_entities(p: Platform, category: str | None = None) -> dict[str, list[str]]:
    """Category → the active entities that answer it (the routing choices);
    only ``category``'s when given."""
    query = (
        select(EntityCategory.category, EntityCategory.entity_code)
        .join(Entity, Entity.code == EntityCategory.entity_code)
        .where(Entity.active.is_(True))
        .order_by(EntityCategory.category, EntityCategory.entity_code)
    )
    if category is not None:
        query = query.where(EntityCategory.category == category)
    with p.db.read() as s:
        rows = s.execute(query).all()
    found: dict[str, list[str]] = {}
    for key, code in rows:
        found.setdefault(key, []).append(code)
    return found


def answering_first(
    p: Platform, choices: Sequence[tuple[str, str]], category: str | None
) -> list[tuple[str, str]]:
    """Entity choices (code, label) with those answering ``category`` first.

    For the pickers that send a case to an entity (classifying it,
    transferring it): each group keeps its order (by acronym).
    """
    if not category:
        return list(choices)
    answering = set(category_entities(p, category).get(category, ()))
    return sorted(choices, key=lambda choice: choice[0] not in answering)


def known_entities(p: Platform) -> dict[str, EntityFacts]:
    """Every entity code the database knows: active or not, and the
    categories it answers (what the routing checks compare against)."""
    with p.db.read() as s:
        active = {
            str(code): bool(on)
            for code, on in s.execute(select(Entity.code, Entity.active))
        }
        answers: dict[str, set[str]] = {}
        for code, category in s.execute(
            select(EntityCategory.entity_code, EntityCategory.category)
        ):
            answers.setdefault(code, set()).add(category)
    return {
        code: EntityFacts(on, frozenset(answers.get(code, ())))
        for code, on in active.items()
    }


def routing_warnings(p: Platform, files: dict[str, str]) -> list[Problem]:
    """Warnings about where a bundle's routing table sends categories.

    A rule naming an entity that does not exist or is inactive, or one
    whose categories (when it lists any) leave the rule's category out:
    the deploy goes on, and the designer is told which rule and why
    (:func:`engine.bundles.decision_checks.check_routing_entities`, given
    the database's entities).
    """
    if not routing.routing_rules(files):
        return []
    return decision_checks.check_routing_entities(files, known_entities(p))
