"""What an attached file is, by its content: checks, cleaning, safe names.

Every file a citizen or staff member attaches goes through :func:`inspect`
before anything is stored. The type is read from the bytes (``filetype``'s
signatures, then the format's own structure), never from the name. What is
kept:

- **images** (JPEG, PNG, WebP, GIF): decoded by Pillow and re-encoded, so
  the stored file holds pixels only: no EXIF (a phone's GPS position), no
  comments or profiles, and nothing appended after the image (a polyglot
  JPEG+ZIP or GIF+script loses its second part). Orientation is applied
  first, so a rotated photo still looks right. Images larger than
  ``max_pixels`` are refused from their header, before decoding (a
  "decompression bomb");
- **PDF**, kept as is: it must start with a PDF header, end with ``%%EOF``,
  and name no active content (JavaScript, launch actions, embedded files);
- **office documents** (docx, xlsx, pptx, odt, ods, odp), kept as is: a ZIP
  with the format's marker entries, no macros and no executable or script
  inside, and a bounded uncompressed size.

Everything else is refused with a message naming the file.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.domain.errors import N_, Message

#: Image formats kept (Pillow format → stored MIME type, extension, format).
_IMAGES = {
    "JPEG": ("image/jpeg", "jpg", "JPEG"),
    "PNG": ("image/png", "png", "PNG"),
    "WEBP": ("image/webp", "webp", "WEBP"),
    "GIF": ("image/png", "png", "PNG"),  # first frame, as PNG
}
#: Office formats: MIME type, extension and the ZIP entry that marks each.
_OOXML = {
    "word/document.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    "xl/workbook.xml": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
    ),
}
_ODF = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
#: ZIP detections that may be an office document (checked by structure).
_ZIP_KINDS = frozenset({"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp"})
#: Entries no document needs: macros, programs and scripts.
_EXECUTABLE_NAME = re.compile(
    r"(vbaproject\.bin|\.(exe|dll|com|scr|bat|cmd|msi|ps1|vbs|vbe|js|jse|wsf|"
    r"jar|sh|elf|app|bin|lnk|hta|cpl))$",
    re.IGNORECASE,
)
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
#: Detected types that are programs (named as such when refused).
_PROGRAMS = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/wasm",
        "application/x-shockwave-flash",
        "application/x-google-chrome-extension",
    }
)
#: Names of active PDF content, after ``#xx`` escapes are decoded.
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
#: An office document may not unpack to more than this many times its size.
_OFFICE_RATIO = 100
_OFFICE_MAX_ENTRIES = 2000


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: what is stored and how it is named."""

    filename: str
    content_type: str
    content: bytes
    sha256: str
    #: Whether the stored bytes were re-encoded (images).
    cleaned: bool


class FileRefused(Exception):
    """A file failed a check; ``message`` says why, naming the file."""

    def __init__(self, message: Message) -> None:
        """Keep the translatable message."""
        super().__init__(message.text % message.params)
        self.message = message


def _refuse(text: str, name: str, **params: object) -> FileRefused:
    """The refusal of file ``name`` with message ``text``."""
    return FileRefused(Message(text, {"name": name, **params}))


def safe_name(name: str, extension: str) -> str:
    """A file name safe to store and to offer in a download.

    Only the last path part, without control characters, quotes or
    separators, at most 100 characters, with the extension of the detected
    type (a ``.jpg`` that is a PNG is named ``.png``).
    """
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(
        ch
        for ch in base
        if unicodedata.category(ch)[0] != "C" and ch not in "\"'<>:|?*;"
    ).strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem.strip(" .")[:100] or "adjunto"
    return f"{stem}.{extension}"


def shown_name(name: str) -> str:
    """The name a citizen gave a file, cleaned, for messages about it."""
    stem = safe_name(name, "x")[:-2]
    original = name.rsplit(".", 1)[-1] if "." in name else ""
    original = "".join(ch for ch in original if ch.isalnum())[:10]
    return f"{stem}.{original}" if original else stem


def inspect(name: str, data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedFile:
    """Check a file by its content and return what may be stored.

    Raises :class:`FileRefused` (with a Spanish message naming the file)
    for an empty or oversize file, an unknown or refused type, a broken
    image or document, or an image of more than ``max_pixels`` pixels.
    """
    shown = shown_name(name)
    if not data:
        raise _refuse(N_("El archivo «%(name)s» está vacío."), shown)
    if len(data) > max_bytes:
        raise _refuse(
            N_("El archivo «%(name)s» pesa más de %(limit)s."),
            shown,
            limit=size_text(max_bytes),
        )
    kind = filetype.guess(data)
    extension = kind.extension if kind is not None else None
    if extension in ("jpg", "png", "gif", "webp", "apng"):
        return _image(name, shown, data, max_pixels)
    if extension == "pdf":
        return _pdf(name, shown, data)
    if extension in _ZIP_KINDS:
        return _office(name, shown, data)
    if data.startswith(_EXECUTABLE_MAGIC) or (kind and kind.mime in _PROGRAMS):
        raise _refuse(
            N_(
                "El archivo «%(name)s» es un programa, no una foto ni un "
                "documento: no se acepta."
            ),
            shown,
        )
    raise _refuse(
        N_(
            "El archivo «%(name)s» no es de un tipo aceptado. Adjunte fotos "
            "(JPEG, PNG, WebP, GIF), PDF o documentos de oficina (Word, Excel, "
            "PowerPoint, OpenDocument)."
        ),
        shown,
    )


def size_text(size: int) -> str:
    """A byte count for messages: ``10 MB``, ``300 KB``."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(size // 1024, 1)} KB"


def _checked(
    name: str, content_type: str, extension: str, content: bytes, *, cleaned: bool
) -> CheckedFile:
    """A :class:`CheckedFile` with its safe name and hash."""
    return CheckedFile(
        filename=safe_name(name, extension),
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        cleaned=cleaned,
    )


def _image(name: str, shown: str, data: bytes, max_pixels: int) -> CheckedFile:
    """Decode, bound and re-encode an image without its metadata."""
    broken = _refuse(N_("La imagen «%(name)s» está dañada o no se puede leer."), shown)
    too_big = _refuse(
        N_("La imagen «%(name)s» es demasiado grande (más de %(limit)s megapíxeles)."),
        shown,
        limit=max_pixels // 1_000_000,
    )
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it: refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                # The header gives the size: refuse before decoding anything.
                width, height = probe.size
                if width * height > max_pixels:
                    raise too_big
                if probe.format not in _IMAGES:
                    raise broken
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                content_type, extension, out_format = _IMAGES[str(img.format)]
                img.seek(0)
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                pixels = _without_metadata(upright, out_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except FileRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise broken from None
    return _checked(name, content_type, extension, pixels, cleaned=True)


def _without_metadata(img: Image.Image, out_format: str) -> bytes:
    """The image's pixels encoded afresh: no EXIF, comments, profiles."""
    mode = img.mode
    if out_format == "JPEG" and mode not in ("RGB", "L"):
        img = img.convert("RGB")
    elif out_format == "PNG" and mode not in ("RGB", "RGBA", "L", "LA", "P"):
        img = img.convert("RGBA")
    # A new image from the pixels alone carries no info dict to leak.
    clean = Image.new(img.mode, img.size)
    clean.paste(img)
    if img.mode == "P":
        palette = img.getpalette()
        if palette is not None:
            clean.putpalette(palette)
    out = io.BytesIO()
    options: dict[str, object] = {}
    if out_format == "JPEG":
        options = {"quality": 90, "optimize": True}
    clean.save(out, format=out_format, **options)
    return out.getvalue()


def _pdf(name: str, shown: str, data: bytes) -> CheckedFile:
    """Accept a PDF as is if its header, trailer and content look right."""
    if not re.match(rb"%PDF-[12]\.\d", data[:8]) or b"%%EOF" not in data[-1024:]:
        raise _refuse(N_("El PDF «%(name)s» está dañado o incompleto."), shown)
    names = _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    if _PDF_ACTIVE.search(names):
        raise _refuse(
            N_(
                "El PDF «%(name)s» contiene programas, archivos incrustados o "
                "formularios activos; guárdelo o imprímalo como un PDF simple."
            ),
            shown,
        )
    return _checked(name, "application/pdf", "pdf", data, cleaned=False)


def _office(name: str, shown: str, data: bytes) -> CheckedFile:
    """Accept an office document as is if its ZIP structure is the format's."""
    refused = _refuse(
        N_(
            "El archivo «%(name)s» no es un documento de oficina válido "
            "(Word, Excel, PowerPoint u OpenDocument)."
        ),
        shown,
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > _OFFICE_MAX_ENTRIES or sum(
                e.file_size for e in entries
            ) > _OFFICE_RATIO * len(data):
                raise refused
            names = {e.filename for e in entries}
            for entry in entries:
                if _EXECUTABLE_NAME.search(entry.filename):
                    raise _executable(shown)
                if not entry.is_dir():
                    with archive.open(entry) as member:
                        if member.read(4).startswith(_EXECUTABLE_MAGIC):
                            raise _executable(shown)
            found = _office_kind(archive, names)
    except FileRefused:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        NotImplementedError,
        EOFError,
    ):
        raise refused from None
    if found is None:
        raise refused
    content_type, extension = found
    return _checked(name, content_type, extension, data, cleaned=False)


def _executable(shown: str) -> FileRefused:
    """The refusal of a document that carries a program or macros."""
    return _refuse(
        N_(
            "El documento «%(name)s» contiene macros o programas; guárdelo sin "
            "macros (por ejemplo .docx, .xlsx) o como PDF."
        ),
        shown,
    )


def _office_kind(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, str] | None:
    """(MIME type, extension) of an OOXML or ODF archive, or None."""
    if "[Content_Types].xml" in names:
        for marker, found in _OOXML.items():
            if marker in names:
                return found
        return None
    if "mimetype" in names:
        mime = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
        if mime in _ODF and "content.xml" in names:
            return mime, _ODF[mime]
    return None
