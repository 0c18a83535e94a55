"""The criteria of a case search, read from the page's query string.

:func:`case_query` turns the Spanish parameters of ``/buscar`` (and of its
CSV export) into a :class:`~engine.domain.views.CaseQuery`, naming every bad
value; :mod:`engine.services.search` runs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from engine.domain.errors import N_, InvalidData, Message
from engine.domain.views import CASE_STATUSES, CHANNELS
from engine.domain.workspace import SEARCH_SORTS, CaseQuery

#: Results per page.
PAGE_SIZE = 25
#: Counting stops after this many matches (and so does paging), as the
#: inbox's counts do: at a million cases, finding 10,000 matches of a
#: common word meant reading some 200,000 rows.
COUNT_LIMIT = 1_000
#: Longest value accepted per query-string parameter.
_LIMITS = {
    "q": 200,
    "numero": 40,
    "contacto": 120,
    "entidad": 20,
    "tipo": 60,
    "estado": 10,
    "canal": 20,
    "desde": 10,
    "hasta": 10,
    "vencidos": 5,
    "orden": 20,
    "pagina": 6,
}
_TRUE = frozenset({"1", "on", "true", "si", "sí"})


def case_query(params: Mapping[str, str]) -> CaseQuery:
    """The search criteria of the page's query string (Spanish names).

    Raises :class:`InvalidData` naming every bad parameter (a date that is no
    date, an unknown status…), so the page can show the form as it was sent
    with the messages.
    """
    errors: dict[str, list[Message]] = {}

    def value(name: str) -> str:
        raw = str(params.get(name) or "").strip()
        if len(raw) > _LIMITS[name]:
            errors[name] = [
                Message(
                    N_("Demasiado largo (máximo %(n)s caracteres)."),
                    {"n": _LIMITS[name]},
                )
            ]
            return ""
        return raw

    def choice(name: str, allowed: Mapping[str, str], message: str) -> str:
        raw = value(name)
        if raw and raw not in allowed:
            errors[name] = [Message(message)]
            return ""
        return raw

    created_from = _day(value("desde"), "desde", errors)
    created_to = _day(value("hasta"), "hasta", errors)
    if created_from and created_to and created_from > created_to:
        errors["hasta"] = [Message(N_("La fecha final es anterior a la inicial."))]
    overdue = value("vencidos")
    if overdue and overdue.lower() not in _TRUE:
        errors["vencidos"] = [Message(N_("Valor no válido."))]
    page = value("pagina") or "1"
    if not page.isdigit() or not 1 <= int(page) <= -(-COUNT_LIMIT // PAGE_SIZE):
        errors["pagina"] = [Message(N_("Página no válida."))]
        page = "1"
    query = CaseQuery(
        text=value("q"),
        number=value("numero"),
        contact=value("contacto"),
        entity_code=value("entidad").upper(),
        case_type=value("tipo"),
        status=choice("estado", CASE_STATUSES, N_("Estado desconocido.")),
        channel=choice("canal", CHANNELS, N_("Canal desconocido.")),
        created_from=created_from,
        created_to=created_to,
        overdue=bool(overdue),
        sort=choice("orden", SEARCH_SORTS, N_("Orden desconocido.")) or "recientes",
        page=int(page),
    )
    if errors:
        raise InvalidData(errors)
    return query


def _day(raw: str, name: str, errors: dict[str, list[Message]]) -> date | None:
    """A day written ``AAAA-MM-DD`` (date inputs) or ``DD/MM/AAAA``."""
    if not raw:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", raw):
            day, month, year = (int(part) for part in raw.split("/"))
            return date(year, month, day)
    except ValueError:
        pass
    errors[name] = [Message(N_("Fecha no válida: use el formato DD/MM/AAAA."))]
    return None
