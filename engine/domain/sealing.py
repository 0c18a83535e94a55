"""Sealed identities: contact data of reserved denuncias, encrypted at rest."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


def new_key() -> str:
    """A fresh key for ``IDENTITY_KEY`` (urlsafe base64, 32 bytes)."""
    return str(Fernet.generate_key().decode())


def seal(key: str, contact: dict[str, Any]) -> str:
    """Encrypt a contact dict with the configured key."""
    token: bytes = Fernet(key.encode()).encrypt(json.dumps(contact).encode())
    return token.decode()


def unseal(key: str, token: str) -> dict[str, Any]:
    """Decrypt a sealed contact; raises ValueError with a wrong key."""
    try:
        raw = Fernet(key.encode()).decrypt(token.encode())
    except InvalidToken as exc:
        raise ValueError("sealed contact cannot be opened with this key") from exc
    value = json.loads(raw)
    assert isinstance(value, dict)
    return value


def seal_bytes(key: str, content: bytes) -> bytes:
    """Encrypt a file's bytes with the configured key (sealed attachments)."""
    token: bytes = Fernet(key.encode()).encrypt(content)
    return token


def unseal_bytes(key: str, token: bytes) -> bytes:
    """Decrypt what :func:`seal_bytes` sealed; raises ValueError with a wrong key."""
    try:
        content: bytes = Fernet(key.encode()).decrypt(token)
    except InvalidToken as exc:
        raise ValueError("sealed file cannot be opened with this key") from exc
    return content
