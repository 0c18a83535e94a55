"""Files for the attachment tests, made with Pillow and zipfile (no binaries
checked in): a phone photo with GPS EXIF, disguised programs, polyglots, a
decompression bomb, office documents and PDFs."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image

#: Where the photo says it was taken (degrees, minutes, seconds).
GPS_LAT = (8.0, 58.0, 30.0)
GPS_LON = (79.0, 31.0, 0.0)


def gps_jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG with camera, GPS and orientation EXIF and a comment."""
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((20, 20, 200), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "TelefonoMarca"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to view
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", GPS_LAT, "W", GPS_LON
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, comment=b"comentario-oculto")
    return out.getvalue()


def plain_png(size: tuple[int, int] = (20, 10)) -> bytes:
    """A small PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 10)).save(out, "PNG")
    return out.getvalue()


def exe_bytes() -> bytes:
    """The start of a Windows program (an MZ header with a PE stub)."""
    header = bytearray(b"MZ" + b"\x90\x00" + b"\x00" * 56)
    header[0x3C:0x40] = struct.pack("<I", 64)
    return bytes(header) + b"PE\x00\x00" + b"\x00" * 200


def jpeg_with_zip_and_html() -> bytes:
    """A polyglot: a valid JPEG followed by a ZIP holding an HTML page."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.html", "<html><script>alert('xss')</script></html>")
    return gps_jpeg() + buf.getvalue() + b"<html><script>alert(1)</script>"


def gif_javascript() -> bytes:
    """A polyglot GIF/JavaScript: ``GIF89a=...;alert(1)//`` is both."""
    img = Image.new("P", (8, 8), 1)
    out = io.BytesIO()
    img.save(out, "GIF", comment=b"*/=1;alert(document.domain);/*")
    return out.getvalue() + b"\n;alert('gif-js');"


def png_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels."""
    data = bytearray(plain_png((10, 10)))
    data[16:24] = struct.pack(">II", width, height)  # IHDR width, height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def office(kind: str = "docx", extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal OOXML or ODF document, with ``extra`` entries added."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        if kind in ("odt", "ods"):
            mime = {
                "odt": "application/vnd.oasis.opendocument.text",
                "ods": "application/vnd.oasis.opendocument.spreadsheet",
            }[kind]
            archive.writestr("mimetype", mime, compress_type=zipfile.ZIP_STORED)
            archive.writestr("content.xml", "<office:document-content/>")
        else:
            archive.writestr("[Content_Types].xml", "<Types/>")
            marker = {
                "docx": "word/document.xml",
                "xlsx": "xl/workbook.xml",
                "pptx": "ppt/presentation.xml",
            }[kind]
            archive.writestr(marker, "<document/>")
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buf.getvalue()


def pdf(body: bytes = b"1 0 obj << /Type /Catalog >> endobj") -> bytes:
    """A small PDF with ``body`` between header and trailer."""
    return b"%PDF-1.7\n" + body + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
