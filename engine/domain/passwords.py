"""The password policy: length over composition, common passwords refused.

It follows current guidance (NIST SP 800-63B, section 5.1.1.2): a minimum
length (12 by default), a generous maximum, any characters (spaces and
accents included), no rule about digits or symbols, no forced periodic
change, and a check against passwords attackers try first. That check uses
the ``zxcvbn`` library: its list of the 30,000 most common passwords, and its
estimate of how many guesses a password needs (dictionary words, names,
keyboard patterns, sequences, repetitions, dates and the user's own name).
The policy applies when a password is chosen; existing passwords (the demo
password) keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from engine.domain.errors import N_, Message

#: Characters zxcvbn rates. Its running time grows fast with length (about
#: 0.2 s at 48 characters, seconds at 72); a prefix that is hard to guess
#: makes the whole password hard to guess, so longer ones are rated by it.
RATED_PREFIX = 48

#: zxcvbn's score of at least 10^8 guesses (3 of 0-4): below that a password
#: falls to an offline attack on a leaked hash in moments.
MIN_SCORE = 3

#: Words of the service itself that must not make up a password.
SERVICE_WORDS = ("centro311", "centro 311", "311", "panama", "panamá")


@dataclass(frozen=True)
class PasswordPolicy:
    """How long a chosen password must and may be."""

    min_length: int = 12
    max_length: int = 128


@cache
def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the most common passwords (lower case)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def policy_problems(
    password: str,
    policy: PasswordPolicy,
    *,
    username: str = "",
    full_name: str = "",
) -> list[Message]:
    """Why ``password`` may not be chosen by this user (empty: it may).

    Each message is a Spanish message id for the web layer to translate.
    Length is checked first and alone: rating a password that is too short
    or too long is pointless (and, for a very long one, slow).
    """
    length = len(password)
    if length < policy.min_length:
        return [
            Message(
                N_("La contraseña debe tener al menos %(n)s caracteres."),
                {"n": policy.min_length},
            )
        ]
    if length > policy.max_length:
        return [
            Message(
                N_("La contraseña puede tener como máximo %(n)s caracteres."),
                {"n": policy.max_length},
            )
        ]
    folded = password.casefold()
    name = username.strip().casefold()
    if name and name in folded:
        return [Message(N_("La contraseña no puede contener su nombre de usuario."))]
    if folded in common_passwords():
        return [
            Message(
                N_(
                    "Esa contraseña está entre las más usadas: es de las "
                    "primeras que se prueban. Elija otra."
                )
            )
        ]
    words = [username, *full_name.split(), *SERVICE_WORDS]
    rating = zxcvbn(
        password[:RATED_PREFIX],
        user_inputs=[w for w in words if w],
        max_length=RATED_PREFIX,
    )
    if int(rating["score"]) < MIN_SCORE:
        return [
            Message(
                N_(
                    "Esa contraseña es fácil de adivinar. Evite palabras y "
                    "nombres comunes, secuencias (1234, qwerty), repeticiones "
                    "y fechas: una frase de varias palabras poco usuales "
                    "sirve bien."
                )
            )
        ]
    return []
