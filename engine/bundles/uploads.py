"""Safe reading of uploaded bundles: a zip, or several files.

A designer uploads a bundle as one ``.zip`` or as several ``.bpmn``, ``.dmn``
and ``.json`` files (possibly with a zip among them). Everything here treats
the upload as hostile: limits on the number of files, their sizes (the sizes a
zip declares *and* the bytes actually read, so a lying header cannot exhaust
memory), the compression ratio, path traversal, symlinks, file types and text
encoding. The result is the ``name -> text`` mapping :func:`parse_bundle`
takes; folders inside a zip are flattened to base names, except a ``tests``
folder's scenarios, which keep it (``tests/<name>.json``).

Every refusal raises :class:`BundleInvalid` with Spanish problems, like the
rest of bundle validation, so the deploy screen shows them the same way.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from typing import Any

from engine.bundles.markup import MAX_FILE_BYTES
from engine.bundles.scenario_files import SCENARIO_FOLDER
from engine.domain.errors import N_, BundleInvalid, Message, Problem

__all__ = [
    "ALLOWED_SUFFIXES",
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "read_files",
    "read_zip",
]

#: The file types a bundle may hold.
ALLOWED_SUFFIXES = (".bpmn", ".dmn", ".json")

#: Most entries a zip (or an upload) may have, folders included.
MAX_MEMBERS = 50

#: Largest total of all files of a bundle, uncompressed, in bytes.
MAX_TOTAL_BYTES = 10 * 1024 * 1024

#: Highest compression ratio accepted for one zip member.
MAX_RATIO = 100

#: Members smaller than this are not held to :data:`MAX_RATIO`: a few
#: kilobytes of repetitive XML or JSON compress very well and bomb nothing.
RATIO_FLOOR_BYTES = 64 * 1024

#: Bytes read from a zip member at a time.
READ_CHUNK = 64 * 1024

#: Entries operating systems add to zips; skipped rather than refused.
_SYSTEM_FOLDERS = ("__MACOSX/",)
_SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

_DRIVE = re.compile(r"^[A-Za-z]:")

#: What zipfile raises on archives broken in one way or another (bad headers,
#: corrupt deflate data, CRC mismatches, unsupported versions or methods).
_BROKEN_ZIP = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    NotImplementedError,
    EOFError,
    OSError,
    ValueError,
    IndexError,
    KeyError,
    RuntimeError,
)


def _problem(file: str, text: str, **params: Any) -> Problem:
    """A bundle-reading problem (always an error, never tied to an element)."""
    return Problem(file, None, Message(text, params), "error")


def _refuse(file: str, text: str, **params: Any) -> BundleInvalid:
    """A :class:`BundleInvalid` with one problem."""
    return BundleInvalid([_problem(file, text, **params)])


def _mib(size: int) -> str:
    """A byte count for people: ``2 MiB``, ``512 KiB`` or ``80 bytes``."""
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB".replace(".", ",")
    if size >= 1024:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


def _path_problem(path: str) -> Problem | None:
    """Why ``path`` is not a safe relative path inside a bundle, if it is not."""
    if not path:
        return _problem(path, N_("Hay un archivo sin nombre."))
    if "\\" in path or _DRIVE.match(path):
        return _problem(
            path,
            N_(
                "La ruta «%(name)s» usa barras invertidas o una letra de unidad: "
                "no se admite en un paquete."
            ),
            name=path,
        )
    if path.startswith("/"):
        return _problem(
            path,
            N_(
                "La ruta «%(name)s» es absoluta: los archivos del paquete deben "
                "tener rutas relativas."
            ),
            name=path,
        )
    if ".." in path.split("/"):
        return _problem(
            path,
            N_(
                "La ruta «%(name)s» contiene «..»: no se admiten rutas que salgan "
                "de la carpeta del paquete."
            ),
            name=path,
        )
    if "\0" in path or any(ord(c) < 32 for c in path):
        return _problem(
            path,
            N_("La ruta «%(name)s» contiene caracteres de control."),
            name=path.encode("unicode_escape").decode("ascii"),
        )
    return None


def _type_problem(name: str) -> Problem | None:
    """A problem when ``name`` is not a bundle file type."""
    stem, dot, suffix = name.rpartition(".")
    if stem and f"{dot}{suffix}" in ALLOWED_SUFFIXES:
        return None
    return _problem(
        name,
        N_(
            "«%(name)s» no es un archivo de paquete: solo se admiten archivos "
            ".bpmn, .dmn y .json (o un .zip que los contenga)."
        ),
        name=name,
    )


def _decode(name: str, data: bytes) -> tuple[str | None, Problem | None]:
    """The UTF-8 text of a file (a leading BOM dropped), or why it is not."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, _problem(
            name,
            N_(
                "«%(name)s» no está codificado en UTF-8: guárdelo con la "
                "codificación UTF-8 y vuelva a subirlo."
            ),
            name=name,
        )


def _size_problem(name: str, size: int) -> Problem | None:
    """A problem when one file is larger than :data:`MAX_FILE_BYTES`."""
    if size <= MAX_FILE_BYTES:
        return None
    return _problem(
        name,
        N_(
            "«%(name)s» ocupa %(size)s sin comprimir; el máximo por archivo es "
            "%(limit)s."
        ),
        name=name,
        size=_mib(size),
        limit=_mib(MAX_FILE_BYTES),
    )


def _total_problem(file: str) -> BundleInvalid:
    """The refusal for a bundle over :data:`MAX_TOTAL_BYTES`."""
    return _refuse(
        file,
        N_("Los archivos del paquete ocupan más de %(limit)s sin comprimir."),
        limit=_mib(MAX_TOTAL_BYTES),
    )


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read one member, never holding more than ``limit`` + one chunk of bytes.

    Raises :class:`MemberTooLarge` as soon as more than ``limit`` bytes come out,
    whatever the header declared.
    """
    parts: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while True:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise MemberTooLarge(size)
            parts.append(chunk)
    return b"".join(parts)


class MemberTooLarge(Exception):
    """A member produced more bytes than allowed while being read."""

    def __init__(self, size: int) -> None:
        """Keep how many bytes had come out when reading stopped."""
        super().__init__(size)
        self.size = size


def bundle_name(path: str) -> str:
    """A zip member's name in the bundle: its base name, or ``tests/<base>``
    for a scenario in a ``tests`` folder (at any depth)."""
    parts = path.split("/")
    if len(parts) >= 2 and parts[-2] == SCENARIO_FOLDER and parts[-1].endswith(".json"):
        return f"{SCENARIO_FOLDER}/{parts[-1]}"
    return parts[-1]


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    """Whether a member is a symbolic link (Unix mode bits in the header)."""
    mode = info.external_attr >> 16
    return bool(mode) and stat.S_ISLNK(mode)


def read_zip(data: bytes, name: str = "") -> dict[str, str]:
    """The bundle files of a zip archive, checked for every hazard.

    ``name`` is the uploaded file's name, used in messages. Folders are
    flattened (``forms/registro.json`` becomes ``registro.json``); operating
    system clutter (``__MACOSX/``, ``.DS_Store``) is skipped. Raises
    :class:`BundleInvalid` when the data is not a zip, has more than
    :data:`MAX_MEMBERS` entries, a member over :data:`MAX_FILE_BYTES` or a
    total over :data:`MAX_TOTAL_BYTES` uncompressed (declared or actually
    read), a compression ratio over :data:`MAX_RATIO`, an unsafe path, a
    symlink, an encrypted member, a file type other than ``.bpmn``, ``.dmn``
    and ``.json``, two files with the same base name, or text that is not
    UTF-8. Problems with individual members are all listed together.
    """
    label = name or "paquete.zip"
    if len(data) > MAX_TOTAL_BYTES:
        raise _refuse(
            label,
            N_("El archivo .zip pesa más de %(limit)s."),
            limit=_mib(MAX_TOTAL_BYTES),
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _BROKEN_ZIP:
        raise _refuse(
            label, N_("«%(name)s» no es un archivo .zip válido."), name=label
        ) from None
    with archive:
        try:
            return _read_archive(archive, label)
        except _BROKEN_ZIP:  # a header broken in a way not caught earlier
            raise _refuse(
                label, N_("«%(name)s» no es un archivo .zip válido."), name=label
            ) from None


def _read_archive(archive: zipfile.ZipFile, label: str) -> dict[str, str]:
    """Check and read every member of an open archive (see :func:`read_zip`)."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _refuse(
            label,
            N_("El .zip tiene %(count)s entradas; el máximo es %(limit)s."),
            count=len(infos),
            limit=MAX_MEMBERS,
        )
    problems: list[Problem] = []
    wanted: list[tuple[str, zipfile.ZipInfo]] = []
    seen: dict[str, str] = {}
    declared_total = 0
    for info in infos:
        path = info.filename
        problem = _path_problem(path)
        if problem is not None:
            problems.append(problem)
            continue
        if _is_symlink(info):
            problems.append(
                _problem(
                    path,
                    N_(
                        "«%(name)s» es un enlace simbólico: un paquete no puede "
                        "contener enlaces."
                    ),
                    name=path,
                )
            )
            continue
        if info.is_dir():
            continue
        base = path.rsplit("/", 1)[-1]
        if path.startswith(_SYSTEM_FOLDERS) or base in _SYSTEM_FILES:
            continue
        key = bundle_name(path)
        if info.flag_bits & 0x1:
            problems.append(
                _problem(
                    path,
                    N_("«%(name)s» está cifrado: suba el paquete sin contraseña."),
                    name=path,
                )
            )
            continue
        problem = _type_problem(base) or _size_problem(path, info.file_size)
        if problem is not None:
            problems.append(problem)
            continue
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            problems.append(
                _problem(
                    path,
                    N_(
                        "«%(name)s» se comprime en una proporción de %(ratio)s a 1 "
                        "(el máximo es %(limit)s a 1): parece una bomba de "
                        "compresión."
                    ),
                    name=path,
                    ratio=info.file_size // max(info.compress_size, 1),
                    limit=MAX_RATIO,
                )
            )
            continue
        if key in seen:
            problems.append(
                _problem(
                    key,
                    N_(
                        "Hay dos archivos llamados «%(name)s» (%(first)s y "
                        "%(second)s): las carpetas del .zip se aplanan, así que "
                        "los nombres deben ser únicos."
                    ),
                    name=key,
                    first=seen[key],
                    second=path,
                )
            )
            continue
        seen[key] = path
        declared_total += info.file_size
        wanted.append((key, info))
    if declared_total > MAX_TOTAL_BYTES:
        raise _total_problem(label)
    if problems:
        raise BundleInvalid(problems)
    files: dict[str, str] = {}
    total = 0
    for base, info in wanted:
        room = MAX_TOTAL_BYTES - total
        try:
            raw = read_member(archive, info, min(MAX_FILE_BYTES, room))
        except MemberTooLarge:
            if room >= MAX_FILE_BYTES:
                raise _refuse(
                    info.filename,
                    N_(
                        "«%(name)s» ocupa más de %(limit)s sin comprimir, "
                        "aunque el .zip declara menos."
                    ),
                    name=info.filename,
                    limit=_mib(MAX_FILE_BYTES),
                ) from None
            raise _total_problem(label) from None
        except _BROKEN_ZIP as exc:
            raise _refuse(
                info.filename,
                N_("No se pudo leer «%(name)s» del .zip: %(detail)s"),
                name=info.filename,
                detail=str(exc) or exc.__class__.__name__,
            ) from None
        total += len(raw)
        text, problem = _decode(info.filename, raw)
        if problem is not None:
            problems.append(problem)
        elif text is not None:
            files[base] = text
    if problems:
        raise BundleInvalid(problems)
    if not files:
        raise _refuse(
            label,
            N_("«%(name)s» no contiene ningún archivo .bpmn, .dmn ni .json."),
            name=label,
        )
    return files


def read_files(named: list[tuple[str, bytes]]) -> dict[str, str]:
    """The bundle files of an upload of several files (a zip among them or not).

    Each ``(name, data)`` pair is one uploaded file. The same rules as
    :func:`read_zip` apply: safe names, allowed types, at most
    :data:`MAX_MEMBERS` files, :data:`MAX_FILE_BYTES` each and
    :data:`MAX_TOTAL_BYTES` in all, UTF-8 text, unique names. A ``.zip`` is
    expanded with :func:`read_zip` and its files join the others (a name in
    both is an error). Raises :class:`BundleInvalid` listing every problem.
    """
    if len(named) > MAX_MEMBERS:
        raise _refuse(
            "",
            N_("Se subieron %(count)s archivos; el máximo es %(limit)s."),
            count=len(named),
            limit=MAX_MEMBERS,
        )
    if sum(len(data) for _, data in named) > MAX_TOTAL_BYTES:
        raise _total_problem("")
    problems: list[Problem] = []
    files: dict[str, str] = {}
    origin: dict[str, str] = {}

    def add(base: str, text: str, source: str) -> None:
        if base in files:
            problems.append(
                _problem(
                    base,
                    N_(
                        "Hay dos archivos llamados «%(name)s» (%(first)s y "
                        "%(second)s): los nombres deben ser únicos."
                    ),
                    name=base,
                    first=origin[base],
                    second=source,
                )
            )
            return
        files[base] = text
        origin[base] = source

    for name, data in named:
        problem = _path_problem(name)
        if problem is not None:
            problems.append(problem)
            continue
        base = name.rsplit("/", 1)[-1]
        if base.lower().endswith(".zip"):
            try:
                expanded = read_zip(data, base)
            except BundleInvalid as exc:
                problems.extend(exc.problems)
                continue
            for member, content in expanded.items():
                add(member, content, f"{base}: {member}")
            continue
        problem = _type_problem(base) or _size_problem(base, len(data))
        if problem is None:
            decoded, problem = _decode(base, data)
            if decoded is not None:
                add(base, decoded, base)
        if problem is not None:
            problems.append(problem)
    if problems:
        raise BundleInvalid(problems)
    if len(files) > MAX_MEMBERS:
        raise _refuse(
            "",
            N_("El paquete tiene %(count)s archivos; el máximo es %(limit)s."),
            count=len(files),
            limit=MAX_MEMBERS,
        )
    if sum(len(text.encode()) for text in files.values()) > MAX_TOTAL_BYTES:
        raise _total_problem("")
    if not files:
        raise _refuse("", N_("No se subió ningún archivo .bpmn, .dmn ni .json."))
    return files
