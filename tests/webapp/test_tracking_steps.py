"""The citizen's progress steps come from the tracking service; the page
only translates their labels."""

from __future__ import annotations

from tests.conftest import csrf_token, post_form, receipt

QUEJA = {
    "categoria": "salud",
    "asunto": "Sin citas",
    "descripcion": "No dan citas de medicina general desde hace un mes.",
}


def test_step_labels_follow_the_interface_language(app):
    """Spanish by default; in English the same steps read in English."""
    citizen = app.test_client()
    number, code = receipt(citizen, post_form(citizen, "/casos/nuevo/queja", QUEJA))
    html = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    assert "En revisión por el 311" in html.get_data(as_text=True)
    token = csrf_token(citizen, "/")
    citizen.post("/idioma/en", data={"csrf_token": token, "next": "/"})
    html = post_form(citizen, "/seguimiento", {"numero": number, "codigo": code})
    page = html.get_data(as_text=True)
    assert '<span class="step-label">Under review by 311</span>' in page
    assert '<span class="step-label">Assigned to an entity</span>' in page
    # The public status reads in English too, from the bundle's texts.
    assert '<span class="step-label">En revisión' not in page
    assert '<strong id="estado-publico">Under review by 311</strong>' in page
