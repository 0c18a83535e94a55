"""The directory import in a real Chromium: an admin imports a country's
150 entities and 300 enlaces (a file the test makes), fixes the row the
dry run flagged and applies it; the page passes axe and fits 390 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.store.accounts import UserEntity
from engine.store.models import Entity
from tests.directory_fixture import directory_csv
from tests.e2e.conftest import admin_signs_in, import_country


def test_an_admin_imports_a_country_fixing_a_flagged_row(
    app: Any, live_server: str, page: Any, tmp_path: Path
) -> None:
    """Upload with a bad address on line 8 → the table names it and offers
    no Aplicar; the fixed file → counts and Aplicar → everything stored."""
    admin_signs_in(page, live_server)
    import_country(page, tmp_path / "pais.csv", directory_csv(150, 2))
    with app.extensions["centro311"].db.read() as s:
        assert s.scalar(select(func.count()).select_from(Entity)) == 161
        enlaces = select(func.count()).where(UserEntity.entity_code.like("ENT%"))
        assert s.scalar(enlaces) == 300

    page.get_by_role("link", name="Personas").click()
    row = page.locator("#persona-enlace2\\.ent150")
    expect(row).to_contain_text("Invitación pendiente")
