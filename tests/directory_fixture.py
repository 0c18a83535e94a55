"""A directory CSV made up for the tests: a country's entities and enlaces."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from engine.domain.directory import COLUMNS


def directory_csv(
    entities: int = 150, per_entity: int = 2, *, extra: Sequence[dict[str, str]] = ()
) -> str:
    """A directory file: ``entities`` entities (``ENT001``…), then
    ``per_entity`` enlaces of each, then the ``extra`` rows."""
    rows: list[dict[str, str]] = []
    for n in range(1, entities + 1):
        rows.append(
            {
                "tipo": "entidad",
                "siglas": f"ENT{n:03d}",
                "nombre": f"Institución número {n}",
                "correo": f"buzon{n}@ent{n}.gob.pa",
                "sector": "Salud" if n % 2 else "Obras",
                "categorias": "salud, agua" if n % 2 else "calles",
            }
        )
    for n in range(1, entities + 1):
        for k in range(1, per_entity + 1):
            rows.append(
                {
                    "tipo": "persona",
                    "usuario": f"enlace{k}.ent{n:03d}",
                    "nombre": f"Enlace {k} de la institución {n}",
                    "correo": f"enlace{k}@ent{n}.gob.pa",
                    "roles": "enlace",
                    "entidad": f"ENT{n:03d}",
                }
            )
    rows.extend(extra)
    return rows_csv(rows)


def rows_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> str:
    """``rows`` (cells by column) as CSV text with a header."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()
