"""Every user-visible string has an English translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_extracted_message_is_translated_to_english(tmp_path: Path) -> None:
    """Extract the catalogue afresh: each message has a non-empty English text."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        fresh = read_po(f)
    po_path = ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as f:
        english = read_po(f)

    def translated(msgid) -> bool:
        entry = english.get(msgid)
        if entry is None:
            return False
        text = entry.string
        # Plural entries hold one string per form; all must be filled.
        return all(text) if isinstance(text, tuple) else bool(text)

    missing = [m.id for m in fresh if m.id and not translated(m.id)]
    assert missing == [], f"untranslated: {missing[:10]}"
    assert len(fresh) > 150


def test_english_page_uses_the_catalogue(client) -> None:
    """An English page shows English text from the compiled catalogue."""
    from tests.conftest import csrf_token

    token = csrf_token(client, "/")
    client.post("/idioma/en", data={"csrf_token": token, "next": "/"})
    html = client.get("/seguimiento").get_data(as_text=True)
    assert "Track a case" in html
    assert "Seguimiento de casos" not in html
