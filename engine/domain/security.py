"""Password and access-code hashing with the standard library only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# scrypt parameters: about 16 MiB and tens of milliseconds per hash.
_N, _R, _P = 2**14, 8, 1
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud by phone


def hash_password(password: str) -> str:
    """Hash a password with scrypt and a random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    salt64 = base64.b64encode(salt).decode()
    digest64 = base64.b64encode(digest).decode()
    return f"scrypt${_N}${_R}${_P}${salt64}${digest64}"


def check_password(stored: str, password: str) -> bool:
    """Compare a password with its stored hash in constant time."""
    try:
        scheme, n, r, p, salt64, digest64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt64),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=32,
    )
    return hmac.compare_digest(digest, base64.b64decode(digest64))


@cache
def dummy_password_hash() -> str:
    """A hash of a random password, computed once per process.

    Login checks the password against it when the user is unknown or
    inactive, so that a wrong username costs the same scrypt run as a wrong
    password and response times do not reveal which usernames exist.
    """
    return hash_password(secrets.token_urlsafe(16))


def derive_key(secret: str, purpose: str) -> str:
    """A Fernet key derived from ``secret`` for one ``purpose`` (HKDF-SHA256).

    The purpose label keeps keys for different uses apart: a value sealed for
    one purpose cannot be opened as another, and the app's signing secret is
    never used directly as an encryption key.
    """
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"centro311:{purpose}".encode(),
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode())).decode()


def new_access_code(length: int = 8) -> str:
    """A random access code citizens can read and type (about 40 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def normalize_access_code(code: str) -> str:
    """Upper-case and strip spaces and dashes, as people type codes loosely."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def token_digest(token: str) -> str:
    """The stored form of a random token (mailed links, API keys): its SHA-256.

    Tokens are long and random, never chosen by a person, so a fast unsalted
    hash is enough: only the digest is kept, the token travels once.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_access_code(number: str, code: str) -> str:
    """A salted hash of an access code (salted with the case number).

    Codes are random, so a fast hash suffices; the number as salt keeps equal
    codes on different cases from sharing a hash.
    """
    material = f"{number}:{normalize_access_code(code)}".encode()
    return hashlib.sha256(material).hexdigest()


def check_access_code(number: str, code: str, stored: str) -> bool:
    """Check an access code in constant time."""
    return hmac.compare_digest(hash_access_code(number, code), stored)
