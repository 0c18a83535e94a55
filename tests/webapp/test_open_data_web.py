"""``/datos``: the worker publishes the day's files; anyone downloads them."""

from __future__ import annotations

import csv
import gzip
import io
import re

from tests.conftest import must_search, post_form, receipt
from webapp.cli import worker_pass

QUEJA = {
    "categoria": "salud",
    "asunto": "Sin medicamentos en la farmacia",
    "descripcion": "La farmacia del policentro no tiene medicamentos para la presión.",
}


def test_the_worker_publishes_and_the_page_serves_the_files(app, client):
    """Before the first pass the page says so; after it, both files download."""
    number, _code = receipt(client, post_form(client, "/casos/nuevo/queja", QUEJA))
    empty = client.get("/datos").get_data(as_text=True)
    assert "Todavía no se ha publicado" in empty
    assert "<code>a_tiempo</code>" in empty

    worker_pass(app)
    page = client.get("/datos").get_data(as_text=True)
    link = must_search(r'href="(/datos/casos-[0-9-]+\.csv\.gz)"', page).group(1)
    assert "1 caso" in page
    resp = client.get(link)
    assert resp.status_code == 200
    assert resp.mimetype == "application/gzip"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(resp.data).decode())))
    assert [r["numero"] for r in rows] == [number]
    json_link = link.replace(".csv.gz", ".json.gz")
    assert client.get(json_link).status_code == 200
    assert client.get(re.sub(r"\d{4}-", "1999-", link, count=1)).status_code == 404
    assert client.get("/datos/casos-ayer.csv.gz").status_code == 404
    assert client.get(link.replace(".csv.gz", ".xls.gz")).status_code == 404
