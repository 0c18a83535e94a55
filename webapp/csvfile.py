"""CSV files the app writes: safe to open in a spreadsheet.

Cells people typed (case subjects, names, audit details) may start with a
character that makes a spreadsheet run the cell as a formula (``=cmd|…``);
every CSV the app writes goes through :func:`csv_line`, which writes such a
cell as text (a leading apostrophe).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response, stream_with_context

# The rule lives in the engine: the directory import reads it back.
from engine.domain.cells import FORMULA_START, neutralise

__all__ = ["FORMULA_START", "csv_download", "csv_line", "neutralise"]


def csv_line(cells: Iterable[str]) -> str:
    """One CSV line, formulas neutralised."""
    out = io.StringIO()
    csv.writer(out).writerow([neutralise(c) for c in cells])
    return out.getvalue()


def csv_download(
    filename: str, header: list[str], rows: Iterable[list[str]]
) -> Response:
    """A streamed CSV download (a BOM first, for spreadsheets)."""

    def lines() -> Iterator[str]:
        """The file, one line at a time."""
        yield "\ufeff" + csv_line(header)
        for row in rows:
            yield csv_line(row)

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
