"""Categories and routing: the entities that answer a category (offered
first in pickers) and the routing table's warnings at deploy."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from engine.bundles import routing
from engine.domain.errors import (
    N_,
    Message,
    Problem,
)
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


def routing_warnings(p: Platform, files: dict[str, str]) -> list[Problem]:
    """Warnings about where a bundle's routing table sends categories.

    A rule naming an entity that does not exist or is inactive, or one
    whose categories (when it lists any) leave the rule's category out:
    the deploy goes on, and the designer is told which rule and why.
    """
    rules = routing.routing_rules(files)
    if not rules:
        return []
    with p.db.read() as s:
        known: dict[str, tuple[bool, set[str]]] = {
            code: (active, set())
            for code, active in s.execute(select(Entity.code, Entity.active))
        }
        for code, category in s.execute(
            select(EntityCategory.entity_code, EntityCategory.category)
        ):
            known[code][1].add(category)
    problems: list[Problem] = []
    for rule in rules:
        found = known.get(rule.entity)
        for category in rule.categories:
            if found is None:
                text = N_(
                    "La tabla de enrutamiento envía «%(category)s» a %(entity)s,"
                    " que no existe: los casos de esa categoría quedarán sin"
                    " entidad sugerida."
                )
            elif not found[0]:
                text = N_(
                    "La tabla de enrutamiento envía «%(category)s» a %(entity)s,"
                    " que está inactiva."
                )
            elif found[1] and category not in found[1]:
                text = N_(
                    "La tabla de enrutamiento envía «%(category)s» a %(entity)s,"
                    " que no atiende esa categoría (atiende: %(answers)s)."
                )
            else:
                continue
            problems.append(
                Problem(
                    rule.file,
                    rule.rule,
                    Message(
                        text,
                        {
                            "category": category,
                            "entity": rule.entity,
                            "answers": ", ".join(sorted(found[1])) if found else "",
                        },
                    ),
                    "warning",
                )
            )
    return problems
