"""Safe reading of uploaded bundles: zips and loose files."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from engine import bundles
from engine.bundles import registry, uploads
from engine.domain.errors import BundleInvalid, Problem

ROOT = Path(__file__).resolve().parent.parent.parent
MIB = 1024 * 1024


def queja_files() -> dict[str, str]:
    """The queja seed bundle, as the app deploys it."""
    return registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")["queja"]


def make_zip(
    members: list[tuple[str, bytes]],
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip archive built in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def refused(call: object, *args: object) -> list[Problem]:
    """The problems of a refused read."""
    assert callable(call)
    with pytest.raises(BundleInvalid) as err:
        call(*args)
    return err.value.problems


def sentences(problems: list[Problem]) -> list[str]:
    """The problems' sentences, interpolated."""
    return [p.message.text % p.message.params for p in problems]


def test_good_zip_round_trips_to_the_seed_files():
    """Zipping the queja seed (in folders) reads back to the same files."""
    files = queja_files()
    members = []
    for name, text in sorted(files.items()):
        folder = "queja/formularios/" if name.endswith(".json") else "queja/"
        members.append((folder + name, text.encode()))
    data = make_zip([("queja/", b""), *members])
    assert bundles.read_zip(data) == files
    assert registry.parse_bundle(bundles.read_zip(data)).case_type == "queja"


def test_loose_files_and_a_zip_are_merged():
    """Several uploaded files, one of them a zip, make one bundle."""
    files = queja_files()
    forms = {n: t for n, t in files.items() if n.endswith(".json")}
    rest = [(n, t.encode()) for n, t in files.items() if not n.endswith(".json")]
    upload = [
        *rest,
        ("formularios.zip", make_zip([(n, t.encode()) for n, t in forms.items()])),
    ]
    assert bundles.read_files(upload) == files


def test_a_bom_is_dropped():
    """Files saved by Windows editors with a UTF-8 BOM are read as text."""
    data = make_zip([("registro.json", "\ufeff{}".encode())])
    assert bundles.read_zip(data) == {"registro.json": "{}"}


def test_os_clutter_is_skipped():
    """macOS resource forks and .DS_Store do not get in the way."""
    data = make_zip(
        [
            ("queja.bpmn", b"<x/>"),
            ("__MACOSX/._queja.bpmn", b"\x00\x05\x16\x07"),
            (".DS_Store", b"\x00\x00\x00\x01Bud1"),
        ]
    )
    assert bundles.read_zip(data) == {"queja.bpmn": "<x/>"}


def test_not_a_zip():
    """Random bytes are refused with a sentence, not a traceback."""
    problems = refused(bundles.read_zip, b"PK\x03\x04 this is not really a zip")
    assert "no es un archivo .zip válido" in sentences(problems)[0]


def test_zip_bomb_is_refused():
    """A few MB of zeros compressed to a few KB are refused before reading."""
    zeros = bytes(3 * MIB)
    data = make_zip([("bomba.bpmn", zeros)])
    assert len(data) < 10 * 1024
    problems = refused(bundles.read_zip, data)
    assert problems[0].file == "bomba.bpmn"
    assert "sin comprimir" in sentences(problems)[0]


def test_compression_ratio_is_limited():
    """A member under the size limit but compressed over 100:1 is refused."""
    data = make_zip([("bomba.json", bytes(MIB + MIB // 2))])
    problems = refused(bundles.read_zip, data)
    assert "bomba de compresión" in sentences(problems)[0]


def test_total_size_is_limited():
    """Members under 2 MiB each, but over 10 MiB together, are refused."""
    import random

    rng = random.Random(311)
    members = [
        (f"f{i}.json", bytes(rng.getrandbits(8) for _ in range(2 * MIB - 10)))
        for i in range(6)
    ]
    data = make_zip(members, zipfile.ZIP_STORED)
    problems = refused(bundles.read_zip, data)
    assert any("más de 10 MiB" in s for s in sentences(problems))


def _patch_sizes(data: bytes, name: bytes, declared: int) -> bytes:
    """Rewrite the uncompressed size a zip declares for ``name`` (both headers)."""
    buffer = bytearray(data)
    # Local file header: signature, ..., uncompressed size at offset 22.
    local = buffer.find(b"PK\x03\x04")
    while local != -1:
        name_len = int.from_bytes(buffer[local + 26 : local + 28], "little")
        if buffer[local + 30 : local + 30 + name_len] == name:
            buffer[local + 22 : local + 26] = declared.to_bytes(4, "little")
        local = buffer.find(b"PK\x03\x04", local + 4)
    # Central directory entry: uncompressed size at offset 24.
    central = buffer.find(b"PK\x01\x02")
    while central != -1:
        name_len = int.from_bytes(buffer[central + 28 : central + 30], "little")
        if buffer[central + 46 : central + 46 + name_len] == name:
            buffer[central + 24 : central + 28] = declared.to_bytes(4, "little")
        central = buffer.find(b"PK\x01\x02", central + 4)
    return bytes(buffer)


def test_a_lying_header_cannot_bomb_memory():
    """A member declaring 100 bytes but holding 3 MB of zeros is refused."""
    data = _patch_sizes(
        make_zip([("mentira.bpmn", bytes(3 * MIB))]), b"mentira.bpmn", 100
    )
    problems = refused(bundles.read_zip, data)
    assert problems and problems[0].file == "mentira.bpmn"


def test_reading_counts_bytes_whatever_the_header():
    """Reading a member stops as soon as more bytes come out than allowed.

    (Python's zipfile also stops at the declared size and then fails the CRC
    check; the count is our own guard, independent of that behaviour.)
    """
    data = make_zip([("grande.json", b" " * (3 * uploads.READ_CHUNK))])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("grande.json")
        with pytest.raises(uploads.MemberTooLarge) as err:
            uploads.read_member(archive, info, uploads.READ_CHUNK + 1)
    assert err.value.size == 2 * uploads.READ_CHUNK


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../../etc/x.bpmn", "«..»"),
        ("forms/../../x.json", "«..»"),
        ("/tmp/x.bpmn", "absoluta"),
        ("C:/Windows/x.bpmn", "letra de unidad"),
        ("forms\\registro.json", "barras invertidas"),
    ],
)
def test_path_traversal_is_refused(name: str, words: str):
    """Names that climb out, are absolute or Windows-style are refused."""
    data = make_zip([("queja.bpmn", b"<x/>"), (name, b"{}")])
    problems = refused(bundles.read_zip, data)
    assert [p.file for p in problems] == [name]
    assert words in sentences(problems)[0]
    upload = refused(bundles.read_files, [(name, b"{}")])
    assert words in sentences(upload)[0]


def test_symlinks_are_refused():
    """A member flagged as a symbolic link is refused."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("registro.json")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    problems = refused(bundles.read_zip, buffer.getvalue())
    assert "enlace simbólico" in sentences(problems)[0]


def test_too_many_members():
    """More than 50 entries are refused before anything is read."""
    data = make_zip([(f"f{i}.json", b"{}") for i in range(51)])
    problems = refused(bundles.read_zip, data)
    assert "51 entradas" in sentences(problems)[0]
    loose = refused(bundles.read_files, [(f"f{i}.json", b"{}") for i in range(51)])
    assert "51 archivos" in sentences(loose)[0]


@pytest.mark.parametrize(
    "name", ["script.py", "leeme.txt", "queja.BPMN", ".json", "x.zip.exe"]
)
def test_wrong_file_types_are_refused(name: str):
    """Only .bpmn, .dmn and .json belong in a bundle."""
    problems = refused(bundles.read_zip, make_zip([(name, b"print(1)")]))
    assert "solo se admiten archivos" in sentences(problems)[0]
    assert (
        "solo se admiten" in sentences(refused(bundles.read_files, [(name, b"x")]))[0]
    )


def test_bad_utf8_is_refused():
    """Latin-1 text is refused with the file's name."""
    latin1 = "<bpmn name='Atención'/>".encode("latin-1")
    problems = refused(bundles.read_zip, make_zip([("queja.bpmn", latin1)]))
    assert problems[0].file == "queja.bpmn"
    assert "UTF-8" in sentences(problems)[0]
    assert (
        "UTF-8" in sentences(refused(bundles.read_files, [("queja.bpmn", latin1)]))[0]
    )


def test_same_base_name_in_two_folders():
    """Flattening folders must not silently drop a file."""
    data = make_zip([("a/registro.json", b"{}"), ("b/registro.json", b"{}")])
    problems = refused(bundles.read_zip, data)
    assert "a/registro.json" in sentences(problems)[0]
    assert "b/registro.json" in sentences(problems)[0]


def test_same_name_in_a_zip_and_loose():
    """A loose file and a zip member with the same name are refused."""
    upload = [("registro.json", b"{}"), ("p.zip", make_zip([("registro.json", b"{}")]))]
    problems = refused(bundles.read_files, upload)
    assert "registro.json" in sentences(problems)[0]


def test_loose_file_size_is_limited():
    """A loose file over 2 MiB is refused."""
    problems = refused(bundles.read_files, [("queja.bpmn", b" " * (2 * MIB + 1))])
    assert "2 MiB" in sentences(problems)[0]


def test_empty_uploads_are_refused():
    """An empty zip or no files at all is refused with a sentence."""
    assert "ningún archivo" in sentences(refused(bundles.read_zip, make_zip([])))[0]
    assert "ningún archivo" in sentences(refused(bundles.read_files, []))[0]


def test_several_member_problems_are_listed_together():
    """Each bad member is reported, not only the first."""
    data = make_zip([("../x.bpmn", b""), ("notas.txt", b""), ("ok.json", b"{}")])
    problems = refused(bundles.read_zip, data)
    assert [p.file for p in problems] == ["../x.bpmn", "notas.txt"]


def test_corrupted_zips_are_refused_cleanly():
    """Random damage to a good zip gives BundleInvalid or the files, never a crash."""
    import random

    good = make_zip([("a/queja.bpmn", b"<x>" + b"hola " * 500 + b"</x>")])
    rng = random.Random(311)
    for _ in range(1500):
        damaged = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.2:
            damaged = damaged[: rng.randrange(len(damaged))]
        try:
            bundles.read_zip(bytes(damaged))
        except BundleInvalid as err:
            assert err.problems and all(sentences(err.problems))
