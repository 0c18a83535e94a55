"""The citizen's milestones, declared by the diagram.

The start event lists a case type's milestones in order in its property
``hitos``: ``clave: Etiqueta`` pairs separated by ``;`` (a key alone is its
own label). Any element may carry ``hito`` naming one of those keys: when
the case reaches it (a task that becomes ready, an event passed) that is
where the case stands, and when the case closes it stands at the last one.
The tracking page's step indicator follows them. A case type that declares
none gets three: received, in progress, closed (``engine.services.tracking``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.bundles.markup import problem
from engine.domain.errors import N_, Problem

#: The start event's property listing the milestones, and an element's.
LIST_PROPERTY = "hitos"
ELEMENT_PROPERTY = "hito"
_KEY = re.compile(r"[a-z0-9_]{1,40}")


def parse_list(raw: str) -> list[tuple[str, str]]:
    """``clave: Etiqueta; …`` as (key, label) pairs in order (first wins)."""
    pairs: dict[str, str] = {}
    for part in raw.split(";"):
        key, _, label = part.partition(":")
        key, label = key.strip(), label.strip()
        if key:
            pairs.setdefault(key, label or key)
    return list(pairs.items())


def declared(
    start_props: Mapping[str, str],
    elements: Mapping[str, Mapping[str, str]],
    file: str,
) -> tuple[list[tuple[str, str]], list[Problem]]:
    """The milestones in order, and what is wrong with the declarations.

    A key that is not lower-case letters, digits and ``_``, or an element's
    ``hito`` missing from the list, cannot be shown: errors.
    """
    pairs = parse_list(start_props.get(LIST_PROPERTY, ""))
    problems = [
        problem(
            file,
            None,
            N_(
                "La clave de hito «%(key)s» no es válida: use minúsculas, "
                "dígitos y «_» (por ejemplo «en_revision: En revisión»)."
            ),
            key=key,
        )
        for key, _ in pairs
        if not _KEY.fullmatch(key)
    ]
    keys = {key for key, _ in pairs}
    for bpmn_id, props in elements.items():
        key = of(props)
        if key and key not in keys:
            problems.append(
                problem(
                    file,
                    bpmn_id,
                    N_(
                        "El hito «%(key)s» no está en la lista «hitos» del "
                        "evento de inicio."
                    ),
                    key=key,
                )
            )
    return pairs, problems


def of(props: Mapping[str, Any]) -> str | None:
    """The milestone key an element marks (None: none)."""
    key = str(props.get(ELEMENT_PROPERTY) or "").strip()
    return key or None
