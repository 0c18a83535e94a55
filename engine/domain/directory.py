"""Plain data of the directory import: the file, its problems, the counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.domain.errors import N_, Message, ServiceError

#: The columns of a directory file, in the order the app writes them.
#: ``tipo`` says what a row is: ``entidad`` or ``persona``.
COLUMNS = (
    "tipo",
    "siglas",
    "usuario",
    "nombre",
    "correo",
    "sector",
    "categorias",
    "roles",
    "entidad",
)
#: Row kinds (the ``tipo`` column), as people write them.
ENTITY_ROW = "entidad"
PERSON_ROW = "persona"
#: Columns that belong to one kind of row only.
ENTITY_ONLY = ("siglas", "sector", "categorias")
PERSON_ONLY = ("usuario", "roles", "entidad")


@dataclass(frozen=True)
class FileRow:
    """One data row: the line it starts on, and its cells by column name."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class DirectoryFile:
    """A directory CSV read and decoded: its text (kept for the apply), the
    hash of that text, the columns it has and its rows."""

    filename: str
    text: str
    sha256: str
    columns: tuple[str, ...]
    rows: tuple[FileRow, ...]
    #: Problems of the header (unknown or repeated columns…), on line 1.
    problems: tuple[RowProblem, ...] = ()


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one cell: the line, the column and a sentence."""

    line: int
    column: str
    message: Message


@dataclass(frozen=True)
class Counts:
    """Rows of one kind by what they do (or would do) to the directory."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class ImportCheck:
    """The dry run of a file: every problem, and what applying would do."""

    filename: str
    sha256: str
    rows: int
    problems: tuple[RowProblem, ...]
    entities: Counts
    people: Counts

    @property
    def applicable(self) -> bool:
        """Whether the file may be applied: rows and no problem."""
        return self.rows > 0 and not self.problems


@dataclass(frozen=True)
class ImportResult:
    """What an apply did; ``created_users`` are the usernames made now
    (they have no password yet: each is to be invited)."""

    filename: str
    sha256: str
    entities: Counts
    people: Counts
    created_users: tuple[str, ...] = field(default_factory=tuple)


class UnreadableFile(ServiceError):
    """The file cannot be read as a directory CSV (encoding, size, rows)."""


class ImportRefused(ServiceError):
    """The file has problems: nothing was written; ``problems`` lists them."""

    def __init__(self, check: ImportCheck) -> None:
        """Keep the dry run that found the problems."""
        super().__init__(N_("El archivo tiene problemas: no se importó nada."))
        self.check = check
        self.problems = check.problems
