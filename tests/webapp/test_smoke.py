"""A first walk through the pages."""

from tests.conftest import post_form


def test_home_lists_deployed_case_types(client):
    """The home page offers the queja, the deployed case type."""
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Queja" in html
    assert "/casos/nuevo/queja" in html


def test_intake_then_track(client):
    """Filing a queja gives a number and code that open its tracking page."""
    resp = post_form(
        client,
        "/casos/nuevo/queja",
        {
            "asunto": "Basura sin recoger",
            "descripcion": "Hace dos semanas que no pasa el camión.",
        },
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert "311-" in html
