"""Plain dataclasses of the administration pages: entities, people, audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.domain.errors import N_

#: Labels of the audit log's action keys, for people (the keys stay English).
AUDIT_ACTIONS: dict[str, str] = {
    "deploy": N_("Versión desplegada"),
    "deploy_refused": N_("Despliegue rechazado"),
    "migrate": N_("Casos movidos de versión"),
    "export_cases": N_("Exportación de casos"),
    "export_audit": N_("Exportación de la auditoría"),
    "kb_article_created": N_("Artículo creado"),
    "kb_article_edited": N_("Artículo editado"),
    "kb_article_published": N_("Artículo publicado"),
    "kb_article_unpublished": N_("Artículo retirado"),
    "task_claimed": N_("Tarea tomada"),
    "task_released": N_("Tarea liberada"),
    "task_assigned": N_("Tarea asignada"),
    "entity_created": N_("Entidad creada"),
    "entity_edited": N_("Entidad editada"),
    "entity_deactivated": N_("Entidad desactivada"),
    "entity_reactivated": N_("Entidad reactivada"),
    "case_transferred": N_("Caso transferido de entidad"),
    "user_created": N_("Persona creada"),
    "user_edited": N_("Persona editada"),
    "user_deactivated": N_("Persona desactivada"),
    "user_reactivated": N_("Persona reactivada"),
    "directory_imported": N_("Directorio importado"),
    "export_directory": N_("Exportación del directorio"),
    "api_key_created": N_("Clave de la API creada"),
    "api_key_revoked": N_("Clave de la API revocada"),
    "open311_request": N_("Caso recibido por Open311"),
}


@dataclass(frozen=True)
class EntityAdmin:
    """An entity as the admin pages show and edit it."""

    code: str
    name: str
    sector: str
    email: str | None
    active: bool
    categories: tuple[str, ...]
    open_cases: int = 0
    people: int = 0


@dataclass(frozen=True)
class TransferChoice:
    """An active entity that may receive another's open cases, with the
    categories both answer (the closest matches are offered first)."""

    code: str
    name: str
    shared: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityDeactivated:
    """What deactivating an entity did: its open cases moved to ``to``."""

    entity: EntityAdmin
    to: str | None = None
    moved: int = 0


@dataclass(frozen=True)
class Person:
    """A staff member as the admin pages show and edit them."""

    id: int
    username: str
    full_name: str
    email: str | None
    roles: tuple[str, ...]
    #: The entities an enlace represents, by acronym (empty for the rest).
    entity_codes: tuple[str, ...]
    active: bool
    created_at: datetime
    held_tasks: int = 0
    #: Created without a password (by the directory import): waiting for
    #: the invitation that lets them choose one.
    invitation_pending: bool = False


@dataclass(frozen=True)
class Deactivated:
    """What deactivating a person did: sessions ended, tasks released."""

    person: Person
    released: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AuditQuery:
    """The audit viewer's filters, as given (empty: no filter)."""

    actor: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None
    #: Keyset paging: show records older than this id (None: the newest).
    before: int | None = None

    def criteria(self) -> dict[str, Any]:
        """The filters given, for the export's own audit record."""
        found: dict[str, Any] = {
            "actor": self.actor,
            "action": self.action,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in found.items() if v}


@dataclass(frozen=True)
class AuditEntry:
    """One audit record: who, what, when, from where, on which case/version."""

    id: int
    at: datetime
    actor: str
    action: str
    client: str | None
    case: str | None
    version: str | None
    target: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first, with the next page's key."""

    entries: list[AuditEntry]
    next_before: int | None
    actions: dict[str, str]
