"""The citizen's progress indicator: where a case stands among its
diagram's milestones (see :mod:`engine.bundles.milestones`)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.domain.enums import CaseStatus, EventKind
from engine.domain.errors import N_
from engine.domain.views import EventView, Milestone

#: The milestones of a case type whose diagram declares none: key, label.
DEFAULT_MILESTONES = (
    ("recibido", N_("Recibido")),
    ("en_tramite", N_("En trámite")),
    ("cerrado", N_("Cerrado")),
)
#: The seed diagrams' milestone labels: in the catalogue so that the page,
#: which translates every label, has them in English too (until bundles
#: carry their own translations).
SEED_LABELS = (
    N_("Recibido"),
    N_("En revisión por el 311"),
    N_("Asignado a una entidad"),
    N_("Respondido"),
    N_("Cerrado"),
)
#: The step the indicator adds while the case waits for the citizen, by
#: what it waits for: an answer to the entity's question, or a rating.
WAITING_KEY = "su_turno"
WAITING_LABELS = {
    "answer": N_("Esperando su respuesta"),
    "rate": N_("Esperando su calificación"),
}
#: Public events that show a case without declared milestones is moving.
_PROGRESS = frozenset(
    {
        EventKind.ASSIGNED,
        EventKind.PUBLIC_NOTE,
        EventKind.NOTE,
        EventKind.TRANSFERRED,
        EventKind.REOPENED,
    }
)


def milestones(
    declared: Sequence[tuple[str, str]],
    current: str | None,
    status: str,
    timeline: Sequence[EventView],
    *,
    waiting: str = "",
) -> list[Milestone]:
    """Where a case stands, in its diagram's milestones.

    ``declared`` are the version's (key, label) pairs, ``current`` the key
    the case stands at, ``timeline`` its public events (``milestone`` ones
    among them). A milestone is reached if the case ever reached it and it
    does not come after where the case stands now (a reopened case is
    answered again); the first is always reached. Without declared
    milestones: received → in progress (any public sign of work) → closed.
    ``waiting``: the citizen has something to do (``answer`` a question,
    ``rate`` the answer): that is a step of its own, right after the
    milestone the case stands at (which shows as reached), so the bar never
    says the case is further along while it waits for the citizen.
    """
    if not declared:
        moving = any(e.kind in _PROGRESS for e in timeline)
        declared = DEFAULT_MILESTONES
        current = (
            "cerrado"
            if status == CaseStatus.CLOSED
            else ("en_tramite" if moving else "recibido")
        )
        ever = {"recibido", "en_tramite"} if current != "recibido" else set()
        ever |= {current}
    else:
        ever = {
            str(e.data.get("key")) for e in timeline if e.kind == EventKind.MILESTONE
        }
    keys = [key for key, _ in declared]
    here = keys.index(current) if current in keys else 0
    reached = {keys[0]} | {k for k in ever if k in keys and keys.index(k) <= here}
    reached.add(keys[here])
    steps = [
        Milestone(key, label, key in reached, i == here and not waiting)
        for i, (key, label) in enumerate(declared)
    ]
    if waiting:
        label = WAITING_LABELS.get(waiting, WAITING_LABELS["answer"])
        steps.insert(here + 1, Milestone(WAITING_KEY, label, False, True, True))
    return steps
