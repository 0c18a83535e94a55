"""The context every service works in: database, spec cache, clock, settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.bundles.registry import SpecCache
from engine.domain.clock import Clock, system_clock
from engine.domain.enums import Role
from engine.domain.passwords import PasswordPolicy
from engine.domain.phone_hours import DEFAULT_HOURS, PhoneHours, parse_hours
from engine.store.db import Database
from engine.store.files import FileStore, make_store
from engine.workflow import script_bounds
from engine.workflow.script_bounds import ScriptBounds

# The bounds of designer code are configured with the platform.
__all__ = ["Limits", "Platform", "ScriptBounds", "SignInSettings"]


@dataclass
class Limits:
    """Throttling and size limits the services enforce."""

    #: Failed look-ups of one case from one client in the window.
    tracking_attempts: int = 10
    #: Failed look-ups of any case from one client in the window.
    tracking_client_attempts: int = 100
    tracking_window_s: int = 900
    login_attempts: int = 10
    login_window_s: int = 900
    #: Largest attached file, and all of a case's attachments together.
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_case_bytes: int = 30 * 1024 * 1024
    #: Files sent at once (one filing, one task, one note).
    attachment_files: int = 5
    #: Files a citizen or an agent may attach when filing a case.
    intake_files: int = 3
    #: Largest image, in pixels (checked from its header, before decoding).
    attachment_max_pixels: int = 40_000_000
    #: Likely duplicates are looked for among cases filed this many days
    #: before or after the case at hand.
    duplicate_window_days: int = 30
    #: Directory import: data rows and bytes of one file (larger ones are
    #: refused at the first row or byte past the limit).
    import_max_rows: int = 5_000
    import_max_bytes: int = 2 * 1024 * 1024
    #: Open311: requests one API key may make in the window (each counts).
    open311_requests: int = 120
    open311_window_s: int = 60


#: Roles that must sign in with a second factor unless configured otherwise:
#: those who read every citizen's data, unseal identities, change processes
#: or manage users.
SECOND_FACTOR_ROLES = frozenset({Role.SUPERVISOR, Role.DESIGNER, Role.ADMIN})


@dataclass(frozen=True)
class SignInSettings:
    """Passwords, mailed links and the second factor (README "Sign-in")."""

    password_policy: PasswordPolicy = PasswordPolicy()
    #: How long an invitation link and a password-reset link stay valid.
    invite_ttl_s: int = 7 * 24 * 3600
    reset_ttl_s: int = 3600
    #: Reset requests allowed per client, and per address, in the window.
    reset_requests: int = 5
    reset_window_s: int = 3600
    #: Citizens' sign-in links to "Mis casos": how long one works, and the
    #: requests allowed per client and per address in the window.
    citizen_link_ttl_s: int = 20 * 60
    citizen_client_requests: int = 20
    citizen_address_requests: int = 5
    citizen_window_s: int = 3600
    #: Roles that may not work without a TOTP second factor.
    totp_required_roles: frozenset[str] = SECOND_FACTOR_ROLES
    #: The name authenticator apps show next to the account.
    totp_issuer: str = "Centro 311"


class Platform:
    """Everything a service function needs, built once per process."""

    def __init__(
        self,
        database_url: str,
        *,
        clock: Clock = system_clock,
        limits: Limits | None = None,
        specs: SpecCache | None = None,
        identity_key: str | None = None,
        public_url: str = "http://127.0.0.1:5000",
        bounds: ScriptBounds | None = None,
        language: str = "es",
        phone_hours: PhoneHours | None = None,
        file_store: str = "database",
        signin: SignInSettings | None = None,
    ) -> None:
        """Connect to ``database_url`` (lazily) with the given clock and limits.

        ``identity_key`` (a Fernet key) seals reserved identities; without it
        a reserved denuncia cannot be filed. ``bounds`` sets the time and
        memory bounds of designer code for the whole process (scripts run on
        one shared engine). ``language`` is the default language of mail
        (staff, and citizens whose language is not known). ``phone_hours``
        are the 3-1-1 line's opening hours (default: Panama's).
        ``file_store`` names where attachments' bytes go (see
        :mod:`engine.store.files`). ``signin`` holds the password policy,
        the lifetime of mailed links and who needs a second factor.
        """
        if bounds is not None:
            script_bounds.configure(bounds)
        self.db = Database(database_url)
        self.clock = clock
        self.limits = limits or Limits()
        self.specs = specs or SpecCache()
        self.identity_key = identity_key
        self.files: FileStore = make_store(file_store)
        self.signin = signin or SignInSettings()
        # Base address of the web app, for links in mail.
        self.public_url = public_url.rstrip("/")
        self.language = language
        self.phone_hours = phone_hours or parse_hours(DEFAULT_HOURS)
        # (loaded at, calendar): days off change rarely; reloaded each minute.
        self.calendar_cache: tuple[float, Any] | None = None
        # version id -> content hash; a deployed version never changes.
        self.version_hashes: dict[int, str] = {}

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()
