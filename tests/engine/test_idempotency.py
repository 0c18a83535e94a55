"""A second submit of the same rendered intake form returns the first case."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from engine import services
from engine.services.platform import Platform
from engine.store.models import Case

INTAKE = {
    "categoria": "salud",
    "asunto": "Sin agua en el centro de salud",
    "descripcion": "Desde ayer no hay agua en el centro de salud de Pedregal.",
}
KEY = "k" * 32


def cases(p: Platform) -> int:
    """How many cases are stored."""
    with p.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def test_same_key_twice_gives_the_first_receipt(seeded) -> None:
    """The repeat carries the first number, no code, and files nothing."""
    first = services.open_case(seeded, "queja", INTAKE, idempotency_key=KEY)
    again = services.open_case(seeded, "queja", INTAKE, idempotency_key=KEY)
    assert not first.repeated and first.access_code
    assert again.repeated and again.number == first.number
    assert again.access_code == ""
    other = services.open_case(seeded, "queja", INTAKE, idempotency_key="x" * 32)
    assert other.number != first.number
    assert cases(seeded) == 2


def test_unusable_keys_are_ignored(seeded) -> None:
    """A key that is not a short token files normally (it is not trusted)."""
    for key in ("", "corta", "k" * 65, "espacio no vale " * 3):
        services.open_case(seeded, "queja", INTAKE, idempotency_key=key)
    assert cases(seeded) == 4


def test_six_concurrent_submits_file_one_case(seeded) -> None:
    """Six identical posts at once: one case, six receipts with its number."""
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def submit() -> None:
        barrier.wait()
        try:
            opened = services.open_case(seeded, "queja", INTAKE, idempotency_key=KEY)
            numbers.append(opened.number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(numbers) == 6 and len(set(numbers)) == 1
    assert cases(seeded) == 1
