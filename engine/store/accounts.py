"""People and their access: staff accounts and roles, the entities an enlace
represents, sign-in links and second factors, the API keys of outside
systems, throttling counters and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.models import Base


class Role(Base):
    """A role key; BPMN lane names are role keys."""

    __tablename__ = "role"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class UserRole(Base):
    """Which roles a user holds."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    role_key: Mapped[str] = mapped_column(ForeignKey("role.key"), primary_key=True)


class UserEntity(Base):
    """An entity an enlace represents (an enlace may represent several)."""

    __tablename__ = "user_entity"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    entity_code: Mapped[str] = mapped_column(
        ForeignKey("entity.code"), primary_key=True
    )


class User(Base):
    """A staff member or a citizen with an account.

    ``entities`` are the entities an enlace represents (none for anybody
    else); :attr:`entity_codes` reads them as a set of acronyms.
    """

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Bumped on logout and password change: a session cookie names the epoch
    # it was issued in, so every copy of an older cookie stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    entities: Mapped[list[UserEntity]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=UserEntity.entity_code
    )

    @property
    def entity_codes(self) -> frozenset[str]:
        """The acronyms of the entities the user represents."""
        return frozenset(e.entity_code for e in self.entities)


class RateLimit(Base):
    """Failed attempts per key in a window (tracking look-ups, logins)."""

    __tablename__ = "rate_limit"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)


class AuditLog(Base):
    """Append-only record of actions outside a case (deploys, days off…).

    ``client`` is where the action came from (the client address), when it
    came through the web. The viewer filters by person and by action, each
    newest first, hence an index on each with the time.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))


class SignInToken(Base):
    """A single-use link sent by mail: an invitation or a password reset.

    Only the SHA-256 of the token is stored (the token is random and long, so
    a fast hash suffices); the link itself exists only in the mail.
    """

    __tablename__ = "sign_in_token"
    __table_args__ = (Index("ix_sign_in_token_user_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    #: "invite" or "reset" (engine.domain.enums.TokenPurpose).
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class UserTotp(Base):
    """A user's TOTP second factor: pending until a first code confirms it."""

    __tablename__ = "user_totp"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    #: The shared secret, encrypted (Fernet, key derived from IDENTITY_KEY).
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    #: The last time step a code was accepted for: older or equal steps are
    #: refused, so a code seen over a shoulder cannot be used again.
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(Base):
    """A single-use code that stands in for a TOTP code (stored hashed)."""

    __tablename__ = "recovery_code"
    __table_args__ = (Index("ix_recovery_code_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DirectoryUpload(Base):
    """A directory file (CSV) checked by a dry run, kept for its apply.

    Web processes are stateless, so the text an admin checked waits here,
    by its SHA-256, until the "Aplicar" button names that hash (the applied
    file is the one checked) or it expires (``uploaded_at``).
    """

    __tablename__ = "directory_upload"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(index=True)


class ApiKey(Base):
    """A key an outside system files Open311 requests with.

    Only the SHA-256 of the key is kept (keys are 32 random bytes, so a
    fast hash is enough); ``prefix`` is its first characters, for people to
    tell keys apart. A revoked key stays, for the audit trail.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
