"""TOTP second factor and recovery codes: the pure parts (no database).

Codes are RFC 6238 TOTP (``pyotp``: SHA-1, 6 digits, 30-second steps, what
every authenticator app reads from the QR code). A code is accepted for the
current step or one step either side (clock drift) and only for a step later
than the last one accepted, so a code cannot be replayed. The secret is kept
encrypted with a Fernet key derived from ``IDENTITY_KEY`` for this purpose
alone (:func:`engine.domain.security.derive_key`): a sealed identity cannot
be opened as a TOTP secret, and no new secret has to be managed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno

from engine.domain.sealing import seal, unseal
from engine.domain.security import derive_key

#: HKDF purpose label of the key that encrypts TOTP secrets.
TOTP_KEY_PURPOSE = "totp-secrets-v1"
#: Length of a time step (RFC 6238's default, what authenticator apps use).
STEP_SECONDS = 30
#: Steps either side of now a code may belong to (clock drift of phones).
DRIFT_STEPS = 1
#: How many recovery codes a user gets at a time.
RECOVERY_CODES = 10
# Letters and digits people do not confuse when they copy a code by hand.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Ten characters of 32: 50 bits each, far beyond guessing under the throttle.
_RECOVERY_LENGTH = 10


def new_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def seal_secret(identity_key: str, secret: str) -> str:
    """Encrypt a TOTP secret for storage."""
    return seal(derive_key(identity_key, TOTP_KEY_PURPOSE), {"secret": secret})


def open_secret(identity_key: str, sealed: str) -> str:
    """Decrypt what :func:`seal_secret` stored; ValueError with a wrong key."""
    return str(unseal(derive_key(identity_key, TOTP_KEY_PURPOSE), sealed)["secret"])


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str, title: str) -> str:
    """The QR code of ``uri`` as inline SVG (no image request, no script)."""
    qr = segno.make(uri, error="m")
    return str(qr.svg_inline(scale=5, title=title, dark="#000", light="#fff"))


def time_step(now: datetime) -> int:
    """The TOTP time step ``now`` falls in."""
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(
    secret: str, code: str, now: datetime, last_step: int | None
) -> int | None:
    """The time step ``code`` is valid for, or None.

    Only steps after ``last_step`` count: a code already used (or one older
    than it) is refused. Every candidate is compared in constant time.
    """
    digits = "".join(ch for ch in code if not ch.isspace())
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = time_step(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), digits) and found is None:
            found = step
    return found


def looks_like_totp(code: str) -> bool:
    """True if ``code`` is six digits (spaces aside): a TOTP code, not a
    recovery code."""
    digits = "".join(ch for ch in code if not ch.isspace())
    return len(digits) == 6 and digits.isascii() and digits.isdigit()


def new_recovery_codes() -> list[str]:
    """Fresh recovery codes, shown as ``XXXXX-XXXXX``."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize_recovery_code(code: str) -> str:
    """Upper case, without spaces and dashes, as people type codes loosely."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_recovery_code(user_id: int, code: str) -> str:
    """SHA-256 of a recovery code, salted with its user's id.

    The codes are random (50 bits), so a fast hash suffices; the salt keeps
    one user's codes from matching another's.
    """
    material = f"{user_id}:{normalize_recovery_code(code)}".encode()
    return hashlib.sha256(material).hexdigest()
