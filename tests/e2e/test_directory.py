"""The directory import in a real Chromium: an admin imports a country's
150 entities and 300 enlaces (a file the test makes), fixes the row the
dry run flagged and applies it; the page passes axe and fits 390 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.store.models import Entity, UserEntity
from tests.directory_fixture import directory_csv
from tests.e2e.conftest import check_a11y, shot


def test_an_admin_imports_a_country_fixing_a_flagged_row(
    app: Any, live_server: str, page: Any, tmp_path: Path
) -> None:
    """Upload with a bad address on line 8 → the table names it and offers
    no Aplicar; the fixed file → counts and Aplicar → everything stored."""
    base = live_server
    good = directory_csv(150, 2)
    broken = tmp_path / "pais.csv"
    broken.write_text(good.replace("buzon7@ent7.gob.pa", "buzon7 en ent7"))
    page.goto(f"{base}/ingresar")
    page.get_by_label("Usuario").fill("admin")
    page.get_by_label("Contraseña").fill("demo311")
    page.get_by_role("button", name="Ingresar").click()
    page.get_by_role("link", name="Importar").click()
    expect(page.get_by_role("heading", name="Importar el directorio")).to_be_visible()
    check_a11y(page, "admin-import")

    page.get_by_label("Archivo CSV").set_input_files(str(broken))
    page.get_by_role("button", name="Revisar el archivo").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "1 problema: no se importará nada"
    )
    row = page.locator("#tabla-problemas tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("8")
    expect(row).to_contain_text("correo")
    expect(row).to_contain_text("Escriba un correo electrónico válido.")
    expect(page.get_by_role("button", name="Aplicar pais.csv")).to_have_count(0)
    check_a11y(page, "admin-import-problems")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "admin-import-problems-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1200, "height": 900})

    broken.write_text(good)  # the admin fixes line 8 and uploads again
    page.get_by_label("Archivo CSV").set_input_files(str(broken))
    page.get_by_role("button", name="Revisar el archivo").click()
    review = page.locator("#revision")
    expect(review).to_contain_text("450 filas.")
    expect(review).to_contain_text("Entidades: 150 nuevas, 0 con cambios")
    expect(review).to_contain_text("Personas: 300 nuevas, 0 con cambios")
    check_a11y(page, "admin-import-clean")
    page.get_by_role("button", name="Aplicar pais.csv").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Entidades: 150 creadas, 0 actualizadas, 0 sin cambios."
        " Personas: 300 creadas, 0 actualizadas, 0 sin cambios."
    )
    shot(page, "admin-import-applied")
    with app.extensions["centro311"].db.read() as s:
        assert s.scalar(select(func.count()).select_from(Entity)) == 161
        enlaces = select(func.count()).where(UserEntity.entity_code.like("ENT%"))
        assert s.scalar(enlaces) == 300

    page.get_by_role("link", name="Personas").click()
    row = page.locator("#persona-enlace2\\.ent150")
    expect(row).to_contain_text("Invitación pendiente")
