"""Users, roles, entities and demo data."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.enums import Role
from engine.domain.errors import (
    N_,
    InvalidData,
    Message,
    NotAllowed,
    NotFound,
    TooManyAttempts,
)
from engine.domain.passwords import policy_problems
from engine.domain.security import check_password, dummy_password_hash, hash_password
from engine.domain.views import ROLES, Actor, EntityView
from engine.services.platform import Platform
from engine.store.accounts import Role as RoleRow
from engine.store.accounts import User, UserEntity, UserRole
from engine.store.models import Entity
from engine.store.throttle import check_rate, count_failure

#: Shortest password of the length-only check that seeds and tests ask for
#: with ``min_password``; people's passwords follow the full policy
#: (``engine.domain.passwords``, ``Platform.signin.password_policy``).
MIN_PASSWORD = 8

#: What an account without a password stores: no password matches it (it is
#: not a scrypt hash), so an invited user signs in only after the mailed link.
#: The password hash of someone who has not chosen a password yet (invited,
#: or made by the directory import). It has the shape of a real scrypt hash,
#: so a login attempt costs the same scrypt run as any other and says
#: nothing by its timing; no password hashes to an all-zero digest.
NO_PASSWORD = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="

#: Panamanian entities of the demo data: acronym → name.
DEMO_ENTITIES: dict[str, str] = {
    "MINSA": "Ministerio de Salud",
    "MOP": "Ministerio de Obras Públicas",
    "IDAAN": "Instituto de Acueductos y Alcantarillados Nacionales",
    "MIVIOT": "Ministerio de Vivienda y Ordenamiento Territorial",
    "ATTT": "Autoridad del Tránsito y Transporte Terrestre",
    "AAUD": "Autoridad de Aseo Urbano y Domiciliario",
    "MEDUCA": "Ministerio de Educación",
    "CSS": "Caja de Seguro Social",
    "ASEP": "Autoridad Nacional de los Servicios Públicos",
    "MIAMBIENTE": "Ministerio de Ambiente",
    "MUPA": "Municipio de Panamá",
}

#: Demo users: username → (full name, roles, entities of an enlace).
DEMO_USERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "agente": ("Ana Agente", (Role.AGENT,), ()),
    "supervisor": ("Sergio Supervisor", (Role.SUPERVISOR,), ()),
    Role.DESIGNER: ("Diana Diseñadora", (Role.DESIGNER,), ()),
    Role.ADMIN: ("Admin Sistema", (Role.ADMIN,), ()),
    "enlace.minsa": ("Elena Enlace (MINSA)", (Role.LIAISON,), ("MINSA",)),
    "enlace.mop": ("Mario Enlace (MOP)", (Role.LIAISON,), ("MOP",)),
    "enlace.mupa": ("Marta Enlace (MUPA)", (Role.LIAISON,), ("MUPA",)),
    # One enlace of two entities: she answers the cases of both.
    "enlace.vivienda": (
        "Irene Enlace (IDAAN y MIVIOT)",
        (Role.LIAISON,),
        ("IDAAN", "MIVIOT"),
    ),
}


def ensure_roles(p: Platform) -> None:
    """Create the role rows the app knows (idempotent)."""
    with p.db.transaction() as s:
        for key, name in ROLES.items():
            if s.get(RoleRow, key) is None:
                s.add(RoleRow(key=key, name=name))


def upsert_entity(p: Platform, code: str, name: str, active: bool = True) -> None:
    """Create or update an entity."""
    with p.db.transaction() as s:
        row = s.get(Entity, code)
        if row is None:
            s.add(Entity(code=code, name=name, active=active))
        else:
            row.name = name
            row.active = active


def list_entities(p: Platform) -> list[EntityView]:
    """Every entity, by code."""
    with p.db.read() as s:
        rows = s.scalars(select(Entity).order_by(Entity.code))
        return [EntityView(r.code, r.name, r.active) for r in rows]


def role_errors(
    roles: Iterable[str], entity_codes: Iterable[str]
) -> dict[str, list[Message]]:
    """What is wrong with a set of roles: unknown keys, an enlace without
    any entity."""
    roles = tuple(roles)
    errors: dict[str, list[Message]] = {}
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        errors["roles"] = [
            Message(N_("Rol desconocido: %(role)s"), {"role": unknown[0]})
        ]
    if Role.LIAISON in roles and not tuple(entity_codes):
        errors["entity_codes"] = [
            Message(N_("Un enlace debe representar al menos a una entidad."))
        ]
    return errors


def entity_errors(s: Session, entity_codes: Iterable[str]) -> dict[str, list[Message]]:
    """A message under ``entity_codes`` naming the first code that is not an
    active entity (none when every one is)."""
    codes = sorted(set(entity_codes))
    active = set(
        s.scalars(
            select(Entity.code).where(Entity.code.in_(codes), Entity.active.is_(True))
        )
    )
    wrong = [c for c in codes if c not in active]
    if not wrong:
        return {}
    return {
        "entity_codes": [
            Message(N_("%(code)s no es una entidad activa."), {"code": wrong[0]})
        ]
    }


def entity_rows(codes: Iterable[str]) -> list[UserEntity]:
    """The ``user_entity`` rows of an enlace of ``codes``, by acronym."""
    return [UserEntity(entity_code=c) for c in sorted(set(codes))]


def password_errors(
    p: Platform,
    password: str | None,
    *,
    username: str = "",
    full_name: str = "",
    min_password: int | None = None,
) -> dict[str, list[Message]]:
    """Messages under ``password`` if it breaks the password policy
    (``Platform.signin.password_policy``), or, with ``min_password`` (the
    demo data and tests), if it is shorter than that. None: no password
    (an invitation will set one)."""
    if password is None:
        return {}
    if min_password is not None:
        if len(password) >= min_password:
            return {}
        return {
            "password": [
                Message(
                    N_("La contraseña debe tener al menos %(n)s caracteres."),
                    {"n": min_password},
                )
            ]
        }
    problems = policy_problems(
        password, p.signin.password_policy, username=username, full_name=full_name
    )
    return {"password": problems} if problems else {}


def create_user(
    p: Platform,
    username: str,
    full_name: str,
    password: str | None,
    roles: Iterable[str],
    *,
    entity_codes: Iterable[str] = (),
    email: str | None = None,
    min_password: int | None = None,
) -> Actor:
    """Create a user with hashed password; an enlace must name one or more
    active entities (others hold none).

    The password follows the policy (``Platform.signin.password_policy``)
    unless ``min_password`` asks for a length check only (the demo data and
    tests). ``None`` creates the user without a password: they choose one
    through an invitation (``signin.invite_user``).
    """
    roles = tuple(roles)
    codes = (
        tuple(sorted({c.strip().upper() for c in entity_codes if c.strip()}))
        if Role.LIAISON in roles
        else ()
    )
    errors = role_errors(roles, codes)
    errors.update(
        password_errors(
            p,
            password,
            username=username,
            full_name=full_name,
            min_password=min_password,
        )
    )
    if errors:
        raise InvalidData(errors)
    with p.db.transaction() as s:
        if s.scalars(select(User).where(User.username == username)).first():
            raise InvalidData(
                {"username": [Message(N_("Ese nombre de usuario ya existe."))]}
            )
        errors = entity_errors(s, codes)
        if errors:
            raise InvalidData(errors)
        user = User(
            username=username,
            full_name=full_name,
            email=email,
            password_hash=(
                NO_PASSWORD if password is None else hash_password(password)
            ),
            created_at=p.clock(),
            active=True,
        )
        user.roles = [UserRole(role_key=r) for r in roles]
        user.entities = entity_rows(codes)
        s.add(user)
        s.flush()
        return actor_from_user(user)


def actor_from_user(user: User) -> Actor:
    """A user row as an Actor."""
    return Actor(
        id=user.id,
        username=user.username,
        name=user.full_name,
        roles=frozenset(r.role_key for r in user.roles),
        entity_codes=user.entity_codes,
        session_epoch=user.session_epoch,
    )


def load_actor(p: Platform, user_id: int, epoch: int) -> Actor | None:
    """The active user with this id, as an Actor, if ``epoch`` is current.

    ``epoch`` is the session epoch the session was issued in; logout and
    password changes bump the user's epoch, so older sessions load nobody.
    """
    with p.db.read() as s:
        user = s.get(User, user_id)
        if user is None or not user.active or user.session_epoch != epoch:
            return None
        return actor_from_user(user)


def end_sessions(p: Platform, user_id: int) -> None:
    """Revoke every session of a user (logout: all copies of the cookie)."""
    with p.db.transaction() as s:
        user = s.get(User, user_id, with_for_update=True)
        if user is not None:
            user.session_epoch += 1


def set_password(p: Platform, actor: Actor, user_id: int, new_password: str) -> Actor:
    """Change a user's password and revoke every session they have.

    Only the user themself or an admin may do it. Returns the user with the
    new session epoch, so a user changing their own password can be given a
    fresh session while every other copy of the old cookie stops working.
    """
    if actor.id != user_id and not actor.has(Role.ADMIN):
        raise NotAllowed(
            N_("Solo la propia persona o un administrador cambia la clave.")
        )
    with p.db.read() as s:
        target = s.get(User, user_id)
        names = (target.username, target.full_name) if target else ("", "")
    problems = policy_problems(
        new_password,
        p.signin.password_policy,
        username=names[0],
        full_name=names[1],
    )
    if problems:
        raise InvalidData({"password": problems})
    # Hash outside the transaction: scrypt is slow on purpose and must not
    # hold the row lock.
    password_hash = hash_password(new_password)
    with p.db.transaction() as s:
        user = s.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound(N_("Ese usuario no existe."))
        user.password_hash = password_hash
        user.session_epoch += 1
        s.flush()
        return actor_from_user(user)


def authenticate(p: Platform, username: str, password: str, *, client: str) -> Actor:
    """Check a username and password; failures are throttled per client.

    Raises :class:`NotFound` for any wrong pair (no hint which part was
    wrong) and :class:`TooManyAttempts` past the limit. An unknown or
    inactive user costs the same password check as a known one (against a
    dummy hash), so timing does not tell which usernames exist.
    """
    now = p.clock()
    key = f"login:{client}"
    with p.db.transaction() as s:
        check_rate(s, key, now, p.limits.login_attempts, p.limits.login_window_s)
        user = s.scalars(select(User).where(User.username == username.strip())).first()
        known = user is not None and user.active
        stored = (
            user.password_hash
            if user is not None and user.active
            else dummy_password_hash()
        )
        # Always run scrypt, and only then decide: the time must not depend
        # on whether the user exists.
        ok = check_password(stored, password) and known
        if not ok:
            count_failure(s, key, now, p.limits.login_window_s)
        actor = actor_from_user(user) if ok and user is not None else None
    if actor is None:
        raise NotFound(N_("Usuario o contraseña incorrectos."))
    return actor


def seed_demo(p: Platform, password: str) -> list[str]:
    """Entities and one user per role for the demo (idempotent).

    Returns the usernames created now (existing ones are left alone).
    """
    ensure_roles(p)
    for code, name in DEMO_ENTITIES.items():
        upsert_entity(p, code, name)
    created = []
    for username, (name, roles, entities) in DEMO_USERS.items():
        with p.db.read() as s:
            exists = s.scalars(select(User).where(User.username == username)).first()
        if exists is None:
            create_user(
                p,
                username,
                name,
                password,
                roles,
                entity_codes=entities,
                min_password=1,
            )
            created.append(username)
    return created


__all__ = [
    "DEMO_ENTITIES",
    "DEMO_USERS",
    "MIN_PASSWORD",
    "NO_PASSWORD",
    "NotFound",
    "TooManyAttempts",
    "authenticate",
    "create_user",
    "end_sessions",
    "ensure_roles",
    "entity_errors",
    "entity_rows",
    "list_entities",
    "load_actor",
    "password_errors",
    "role_errors",
    "seed_demo",
    "set_password",
    "upsert_entity",
]
