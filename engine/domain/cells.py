"""Spreadsheet cells: the formula rule shared by what the app writes and reads.

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is run as a
formula by spreadsheets (``=cmd|…``). Every CSV the app writes puts an
apostrophe ahead of such a cell (:func:`neutralise`); a file the app reads
back (a directory import made from its own download) takes that apostrophe
off again (:func:`restore`), so a round trip changes nothing.
"""

from __future__ import annotations

#: Characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """``cell`` as text a spreadsheet will not run: an apostrophe ahead of
    a formula's first character."""
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


def restore(cell: str) -> str:
    """The value :func:`neutralise` wrote ``cell`` for (other cells as they are)."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell
