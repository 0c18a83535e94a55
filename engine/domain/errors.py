"""Domain errors the service layer raises; the web layer maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:
    """Mark a message for translation without translating it here.

    The engine knows no locale; the web layer translates the message id
    (``gettext(msg) % params``), and Babel extracts the ``N_`` calls.
    """
    return message


@dataclass(frozen=True)
class Message:
    """A translatable message id with its interpolation parameters."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)


class ServiceError(Exception):
    """Base class of the errors a service may raise."""

    def __init__(self, message: str, **params: Any) -> None:
        """Keep the untranslated message id and its parameters."""
        super().__init__(message % params if params else message)
        self.message = Message(message, params)


class NotFound(ServiceError):
    """The thing asked for does not exist (or must look as if it did not)."""


class NotAllowed(ServiceError):
    """The actor may not do this."""


class Conflict(ServiceError):
    """Somebody else changed the thing first."""


class ProcessFailed(ServiceError):
    """The diagram failed (a script, condition or timer); nothing was stored."""


class TooManyAttempts(ServiceError):
    """Too many failed attempts from one client: wait and try again."""


class InvalidData(ServiceError):
    """Submitted data failed validation; ``errors`` maps field to messages."""

    def __init__(self, errors: dict[str, list[Message]]) -> None:
        """Keep the per-field messages."""
        super().__init__(N_("Los datos enviados tienen errores."))
        self.errors = errors


@dataclass
class Problem:
    """One problem found while validating a bundle for deployment."""

    file: str
    element: str | None
    message: Message
    severity: str = "error"


class BundleInvalid(ServiceError):
    """A bundle failed validation; nothing was deployed."""

    def __init__(self, problems: list[Problem]) -> None:
        """Keep every problem found."""
        super().__init__(N_("El paquete tiene errores; no se desplegó nada."))
        self.problems = problems
