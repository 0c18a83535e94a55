"""On the web, a runaway or broken diagram gives a clear message, never a 500,
and the page keeps what the citizen typed."""

from __future__ import annotations

import time
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import func, select

from engine import services
from engine.bundles import registry
from engine.store.models import Case
from tests.conftest import post_form

BUNDLE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "bundles" / "temporizador"
)


def deploy_intake_script(app, script: str) -> None:
    """The timer fixture with ``script`` run while the case is filed."""
    files = registry.read_bundle_dir(BUNDLE)
    first = "vence = plazo_habil(1)"
    files["temporizador.bpmn"] = files["temporizador.bpmn"].replace(
        f"<bpmn:script>{first}</bpmn:script>",
        f"<bpmn:script>{escape(first + chr(10) + script)}</bpmn:script>",
    )
    services.deploy_version(app.extensions["centro311"], files, deployed_by="tests")


def stored(app) -> int:
    """How many cases are stored."""
    with app.extensions["centro311"].db.read() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def test_runaway_filing_answers_with_a_message_in_about_the_bound(app, client):
    """An endless loop at intake: 422 with the reason, text kept, no case."""
    deploy_intake_script(app, "x = divisor\nwhile x > 0:\n    x = x + 1")
    started = time.monotonic()
    resp = post_form(client, "/casos/nuevo/temporizador", {"divisor": "7"})
    took = time.monotonic() - started
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "falló" in html and "fijar_plazo" in html
    assert 'value="7"' in html
    assert took < 4.0, f"took {took:.2f} s"
    assert stored(app) == 0
    assert client.get("/healthz").status_code == 200


def test_unstorable_value_at_intake_is_a_message_not_a_500(app, client):
    """A value the state cannot hold: the same clear message."""
    deploy_intake_script(app, "g = (i for i in [divisor])")
    resp = post_form(client, "/casos/nuevo/temporizador", {"divisor": "7"})
    assert resp.status_code == 422
    assert "falló" in resp.get_data(as_text=True)
    assert stored(app) == 0
