"""Reading a directory CSV: UTF-8 (with or without BOM), bounded, streamed.

The file is read line by line from its stream, so a huge one is refused at
the first line past the limits (``Limits.import_max_bytes``,
``Limits.import_max_rows``) without being read whole. Each line is decoded
as UTF-8 on its own, so a file saved in another encoding (Latin-1, a
spreadsheet's UTF-16) is refused naming the first line that is not UTF-8.
Cells the app neutralised as text when it wrote them (``'=…``) are read
back as they were (:func:`engine.domain.cells.restore`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Iterator
from typing import IO

from engine.domain.cells import restore
from engine.domain.directory import (
    COLUMNS,
    DirectoryFile,
    FileRow,
    RowProblem,
    UnreadableFile,
)
from engine.domain.errors import N_, Message

#: Byte-order marks of encodings a spreadsheet may save in instead of UTF-8.
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"


def read_directory(
    stream: IO[bytes], filename: str, *, max_rows: int, max_bytes: int
) -> DirectoryFile:
    """The rows of a directory CSV read from ``stream`` (bytes).

    Raises :class:`UnreadableFile` with a Spanish sentence when the file is
    not UTF-8, is larger than ``max_bytes``, has more than ``max_rows`` data
    rows, is empty or is not a CSV file. Problems of the header (unknown or
    repeated columns, no ``tipo``) come back in ``problems``.
    """
    lines: list[str] = []
    reader = csv.reader(_decoded(stream, max_bytes, lines))
    header: list[str] | None = None
    rows: list[FileRow] = []
    problems: list[RowProblem] = []
    line = 0  # the last physical line the reader took
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines separate nothing
            if header is None:
                header = [_column_name(c) for c in cells]
                problems.extend(_header_problems(header, start))
                continue
            if len(rows) == max_rows:
                raise UnreadableFile(
                    N_(
                        "El archivo tiene más de %(n)s filas: divídalo en"
                        " archivos de %(n)s filas como máximo."
                    ),
                    n=max_rows,
                )
            rows.append(FileRow(start, _cells(header, cells)))
            if any(c.strip() for c in cells[len(header) :]):
                problems.append(
                    RowProblem(
                        start,
                        "",
                        Message(
                            N_(
                                "La fila tiene %(n)s celdas y el encabezado"
                                " %(columns)s columnas."
                            ),
                            {"n": len(cells), "columns": len(header)},
                        ),
                    )
                )
    except csv.Error as exc:
        raise UnreadableFile(
            N_("La línea %(line)s no se puede leer como CSV: %(reason)s."),
            line=reader.line_num,
            reason=str(exc),
        ) from None
    if header is None:
        raise UnreadableFile(N_("El archivo está vacío: falta el encabezado."))
    text = "".join(lines)
    return DirectoryFile(
        filename=filename[:200],
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        columns=tuple(c for c in header if c in COLUMNS),
        rows=tuple(rows),
        problems=tuple(problems),
    )


def read_text(text: str, filename: str, *, max_rows: int) -> DirectoryFile:
    """A kept file's text read again, as :func:`read_directory` read it."""
    data = text.encode("utf-8")
    return read_directory(
        io.BytesIO(data), filename, max_rows=max_rows, max_bytes=len(data)
    )


def _decoded(stream: IO[bytes], max_bytes: int, kept: list[str]) -> Iterator[str]:
    """The stream's lines decoded as UTF-8 (a BOM dropped), each also kept
    in ``kept``; :class:`UnreadableFile` past ``max_bytes`` or on the first
    line that is not UTF-8."""
    total = 0
    number = 0
    while True:
        # Never read more than the limit allows, plus one byte to notice.
        raw = stream.readline(max_bytes - total + 1)
        if not raw:
            return
        total += len(raw)
        if total > max_bytes:
            raise UnreadableFile(
                N_("El archivo pasa de %(kib)s KiB: divídalo en varios."),
                kib=max_bytes // 1024,
            )
        number += 1
        if number == 1:
            if raw.startswith(_UTF16_BOMS):
                raise UnreadableFile(_NOT_UTF8, line=1)
            raw = raw.removeprefix(_UTF8_BOM)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableFile(_NOT_UTF8, line=number) from None
        if "\x00" in line:
            raise UnreadableFile(_NOT_UTF8, line=number)
        kept.append(line)
        yield line


#: Why a file is refused when a line is not UTF-8 (or has NUL bytes).
_NOT_UTF8 = N_(
    "La línea %(line)s no está en UTF-8. Guarde el archivo como «CSV UTF-8»"
    " (en la hoja de cálculo: Guardar como… CSV UTF-8) y vuelva a subirlo."
)


def _column_name(cell: str) -> str:
    """A header cell as a column name: trimmed, lower case, no accents."""
    folded = unicodedata.normalize("NFKD", cell.strip().lower())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _cells(header: list[str], cells: list[str]) -> dict[str, str]:
    """A row's cells by known column name, trimmed, formulas restored."""
    return {
        name: restore(value.strip())
        for name, value in zip(header, cells, strict=False)
        if name in COLUMNS
    }


def _header_problems(header: list[str], line: int) -> Iterator[RowProblem]:
    """Unknown, repeated and missing columns of the header (on ``line``)."""
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name not in COLUMNS:
            yield RowProblem(
                line,
                name[:40],
                Message(
                    N_("Columna desconocida: %(column)s. Las columnas son: %(all)s."),
                    {"column": name[:40], "all": ", ".join(COLUMNS)},
                ),
            )
        elif name in seen:
            repeated = N_("La columna %(column)s está repetida.")
            yield RowProblem(line, name, Message(repeated, {"column": name}))
        seen.add(name)
    if "tipo" not in seen:
        yield RowProblem(
            line,
            "tipo",
            Message(N_("Falta la columna tipo («entidad» o «persona» en cada fila).")),
        )
